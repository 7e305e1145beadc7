//! Types of the cycles-minting canister's interface (`candid/cmc.did`).

use candid::{CandidType, Deserialize, Nat, Principal};

/// One XDR is worth 10¹² cycles.
pub const CYCLES_PER_XDR: u128 = 1_000_000_000_000;
/// The real CMC's default minting limit per sliding hour.
pub const DEFAULT_CYCLES_LIMIT_PER_HOUR: u128 = 150_000_000_000_000_000;
/// The rate the real CMC starts with (its `State::default`), current and
/// average alike, until governance sets one: 100 XDR per ICP, observed on
/// 10 May 2021. A later rate must be newer than that.
pub const DEFAULT_ICP_XDR_CONVERSION_RATE: IcpXdrConversionRate = IcpXdrConversionRate {
    timestamp_seconds: 1_620_633_600,
    xdr_permyriad_per_icp: 1_000_000,
};

/// How many XDR (in 10⁻⁴ XDR) one ICP buys, and when that was observed.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcpXdrConversionRate {
    pub timestamp_seconds: u64,
    pub xdr_permyriad_per_icp: u64,
}

/// Installation argument: the real CMC's `CyclesCanisterInitPayload` fields
/// that apply here, plus the initial rate and the hourly minting limit.
///
/// As an upgrade argument, as on the real CMC, the ids, the minting account,
/// `last_purged_notification` and `exchange_rate` are ignored (they are
/// install-time settings; rates come from governance); a set
/// `cycles_limit_per_hour` replaces the limit, and one left `None` keeps it.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CyclesCanisterInitPayload {
    pub ledger_canister_id: Option<Principal>,
    pub governance_canister_id: Option<Principal>,
    /// Account identifier (64 hex digits) of the ledger's minting account.
    pub minting_account_id: Option<String>,
    pub last_purged_notification: Option<u64>,
    pub exchange_rate: Option<IcpXdrConversionRate>,
    pub cycles_limit_per_hour: Option<Nat>,
    /// Where `notify_mint_cycles` deposits (the well-known cycles ledger
    /// when `None` at install; kept when `None` at an upgrade).
    pub cycles_ledger_canister_id: Option<Principal>,
}

/// Memo of a ledger transfer that pays for a top-up: "TPUP".
pub const MEMO_TOP_UP: u64 = 0x5055_5054;
/// Memo of a ledger transfer that pays for a new canister: "CREA".
pub const MEMO_CREATE_CANISTER: u64 = 0x4145_5243;

pub type BlockIndex = u64;
pub type Cycles = Nat;

/// The settings a new canister gets (the management canister's own type).
pub use ic_management_canister_types::CanisterSettings;

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifyTopUpArg {
    pub block_index: BlockIndex,
    pub canister_id: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SubnetSelection {
    Subnet { subnet: Principal },
    Filter(SubnetFilter),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SubnetFilter {
    pub subnet_type: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NotifyCreateCanisterArg {
    pub block_index: BlockIndex,
    pub controller: Principal,
    pub subnet_type: Option<String>,
    pub subnet_selection: Option<SubnetSelection>,
    pub settings: Option<CanisterSettings>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateCanisterArg {
    pub settings: Option<CanisterSettings>,
    pub subnet_type: Option<String>,
    pub subnet_selection: Option<SubnetSelection>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum NotifyError {
    /// Final: the ICP (less fees) went back to the payer.
    Refunded {
        reason: String,
        block_index: Option<BlockIndex>,
    },
    /// Another call is processing this block; try again later.
    Processing,
    /// The block is older than the notifications the CMC remembers; the
    /// value is the oldest block index that can still be notified.
    TransactionTooOld(BlockIndex),
    InvalidTransaction(String),
    Other {
        error_code: u64,
        error_message: String,
    },
}

/// `NotifyError::Other` error codes, as the real CMC's.
pub mod notify_error_code {
    pub const INTERNAL: u64 = 1;
    pub const FAILED_TO_FETCH_BLOCK: u64 = 2;
    pub const REFUND_FAILED: u64 = 3;
    pub const BAD_SUBNET_SELECTION: u64 = 4;
    pub const UNAUTHORIZED: u64 = 5;
    pub const DEPOSIT_MEMO_TOO_LONG: u64 = 6;
}

/// Memo of a ledger transfer that pays for cycles on the cycles ledger: "MINT".
pub const MEMO_MINT_CYCLES: u64 = 0x544e_494d;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NotifyMintCyclesArg {
    pub block_index: BlockIndex,
    pub to_subaccount: Option<serde_bytes::ByteBuf>,
    pub deposit_memo: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NotifyMintCyclesSuccess {
    /// The cycles ledger's block of the deposit.
    pub block_index: Nat,
    /// Cycles minted and deposited.
    pub minted: Nat,
    /// The account's new balance on the cycles ledger.
    pub balance: Nat,
}

pub type NotifyMintCyclesResult = Result<NotifyMintCyclesSuccess, NotifyError>;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetAuthorizedSubnetworkListArgs {
    /// `None`: the default subnets, where anyone may create canisters.
    pub who: Option<Principal>,
    pub subnets: Vec<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum UpdateSubnetTypeArgs {
    Add(String),
    Remove(String),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SubnetListWithType {
    pub subnets: Vec<Principal>,
    pub subnet_type: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChangeSubnetTypeAssignmentArgs {
    Add(SubnetListWithType),
    Remove(SubnetListWithType),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SubnetTypesToSubnetsResponse {
    pub data: Vec<(String, Vec<Principal>)>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PrincipalsAuthorizedToCreateCanistersToSubnetsResponse {
    pub data: Vec<(Principal, Vec<Principal>)>,
}

pub type NotifyTopUpResult = Result<Cycles, NotifyError>;
pub type NotifyCreateCanisterResult = Result<Principal, NotifyError>;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CreateCanisterError {
    Refunded {
        refund_amount: Nat,
        create_error: String,
    },
}

pub type CreateCanisterResult = Result<Principal, CreateCanisterError>;

/// A rate with the certificate that proves it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IcpXdrConversionRateResponse {
    pub data: IcpXdrConversionRate,
    pub hash_tree: serde_bytes::ByteBuf,
    pub certificate: serde_bytes::ByteBuf,
}

/// Governance's `set_icp_xdr_conversion_rate` argument (NNS function 10).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UpdateIcpXdrConversionRatePayload {
    pub data_source: String,
    pub timestamp_seconds: u64,
    pub xdr_permyriad_per_icp: u64,
    pub reason: Option<UpdateIcpXdrConversionRatePayloadReason>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateIcpXdrConversionRatePayloadReason {
    OldRate,
    DivergedRate,
    EnableAutomaticExchangeRateUpdates,
}

/// Labels of the certified rates in the CMC's hash tree.
pub const LABEL_ICP_XDR_CONVERSION_RATE: &[u8] = b"ICP_XDR_CONVERSION_RATE";
pub const LABEL_AVERAGE_ICP_XDR_CONVERSION_RATE: &[u8] = b"AVERAGE_ICP_XDR_CONVERSION_RATE";

/// Cycles bought by `e8s` at `xdr_permyriad_per_icp`:
/// e8s × rate × 10¹² / (10⁸ × 10⁴).
pub fn cycles_for_e8s(e8s: u64, xdr_permyriad_per_icp: u64) -> u128 {
    u128::from(e8s) * u128::from(xdr_permyriad_per_icp) * CYCLES_PER_XDR / 1_000_000_000_000
}
