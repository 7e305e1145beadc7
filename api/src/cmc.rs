//! Types of the cycles-minting canister's interface (`candid/cmc.did`).

use candid::{CandidType, Deserialize, Nat, Principal};

/// One XDR is worth 10¹² cycles.
pub const CYCLES_PER_XDR: u128 = 1_000_000_000_000;
/// The real CMC's default minting limit per sliding hour.
pub const DEFAULT_CYCLES_LIMIT_PER_HOUR: u128 = 150_000_000_000_000_000;

/// How many XDR (in 10⁻⁴ XDR) one ICP buys, and when that was observed.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcpXdrConversionRate {
    pub timestamp_seconds: u64,
    pub xdr_permyriad_per_icp: u64,
}

/// Installation argument: the real CMC's `CyclesCanisterInitPayload` fields
/// that apply here, plus the initial rate and the hourly minting limit.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CyclesCanisterInitPayload {
    pub ledger_canister_id: Option<Principal>,
    pub governance_canister_id: Option<Principal>,
    /// Account identifier (64 hex digits) of the ledger's minting account.
    pub minting_account_id: Option<String>,
    pub last_purged_notification: Option<u64>,
    pub exchange_rate: Option<IcpXdrConversionRate>,
    pub cycles_limit_per_hour: Option<Nat>,
}
