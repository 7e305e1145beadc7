//! Types of the ledger canister's interface (`candid/ledger.did`).

use candid::{CandidType, Deserialize, Nat};
use icrc_ledger_types::icrc1::account::Account;

/// An amount of ICP in e8s (10⁻⁸ ICP).
#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tokens {
    pub e8s: u64,
}

impl Tokens {
    pub const fn from_e8s(e8s: u64) -> Self {
        Self { e8s }
    }
}

/// The real ledger's default fee: 0.0001 ICP.
pub const DEFAULT_TRANSFER_FEE: Tokens = Tokens::from_e8s(10_000);
/// The real ledger's default deduplication window: 24 hours.
pub const DEFAULT_TRANSACTION_WINDOW: Duration = Duration {
    secs: 24 * 60 * 60,
    nanos: 0,
};
pub const DECIMALS: u8 = 8;

/// A duration in the ledger's Candid form.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    pub secs: u64,
    pub nanos: u32,
}

impl Duration {
    pub fn as_nanos(&self) -> u128 {
        u128::from(self.secs) * 1_000_000_000 + u128::from(self.nanos)
    }
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureFlags {
    pub icrc2: bool,
}

/// Installation arguments, as the real ICP ledger's `InitArgs` minus the
/// fields about archives and message sizes (nothing is archived here; extra
/// fields sent by a client of the real ledger are ignored by Candid).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Account identifier (64 hex digits) of the minting account.
    pub minting_account: String,
    pub icrc1_minting_account: Option<Account>,
    /// Initial balances: (account identifier in hex, amount).
    pub initial_values: Vec<(String, Tokens)>,
    pub transaction_window: Option<Duration>,
    pub transfer_fee: Option<Tokens>,
    pub token_symbol: Option<String>,
    pub token_name: Option<String>,
    pub feature_flags: Option<FeatureFlags>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeArgs {
    pub feature_flags: Option<FeatureFlags>,
}

/// The install argument: `Init` on install, `Upgrade` (or nothing) on upgrade.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LedgerArg {
    Init(InitArgs),
    Upgrade(Option<UpgradeArgs>),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub symbol: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub name: String,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimals {
    pub decimals: u32,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferFeeArg {}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferFee {
    pub transfer_fee: Tokens,
}

/// `icrc1_fee` and friends answer amounts as `nat`.
pub fn tokens_to_nat(tokens: Tokens) -> Nat {
    Nat::from(tokens.e8s)
}
