//! Types of the ledger canister's interface (`candid/ledger.did`).

use crate::{AccountIdentifier, Subaccount};
use candid::{CandidType, Deserialize, Nat};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc3::archive::QueryArchiveFn;

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
    /// The minting account in ICRC form; it must be the `minting_account`.
    pub icrc1_minting_account: Option<Account>,
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

/// Index of a block in the chain.
pub type BlockIndex = u64;

/// The legacy interface's numeric memo.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memo(pub u64);

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeStamp {
    pub timestamp_nanos: u64,
}

/// Arguments of the legacy `transfer`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferArgs {
    pub memo: Memo,
    pub amount: Tokens,
    pub fee: Tokens,
    pub from_subaccount: Option<Subaccount>,
    pub to: AccountIdentifier,
    pub created_at_time: Option<TimeStamp>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum TransferError {
    BadFee { expected_fee: Tokens },
    InsufficientFunds { balance: Tokens },
    TxTooOld { allowed_window_nanos: u64 },
    TxCreatedInFuture,
    TxDuplicate { duplicate_of: BlockIndex },
}

pub type TransferResult = Result<BlockIndex, TransferError>;

/// Arguments of `send_dfx`: `transfer`'s, the destination as 64 hex digits.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SendArgs {
    pub memo: Memo,
    pub amount: Tokens,
    pub fee: Tokens,
    pub from_subaccount: Option<Subaccount>,
    pub to: String,
    pub created_at_time: Option<TimeStamp>,
}

/// Arguments of `get_allowances`: the allowances an account granted, by
/// spender, after `prev_spender_id`, at most `take`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetAllowancesArgs {
    pub from_account_id: String,
    pub prev_spender_id: Option<String>,
    pub take: Option<u64>,
}

/// One entry of `get_allowances`' answer (its type is a vector of them).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AllowanceEntry {
    pub from_account_id: String,
    pub to_spender_id: String,
    pub allowance: Tokens,
    pub expires_at: Option<u64>,
}

/// The most entries one `get_allowances` answer holds, as the real ledger's.
pub const MAX_TAKE_ALLOWANCES: u64 = 500;

/// Arguments of `remove_approval`: an approval of nothing to `spender`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RemoveApprovalArgs {
    pub from_subaccount: Option<Subaccount>,
    pub spender: AccountIdentifier,
    pub fee: Option<candid::Nat>,
}

/// Arguments of `account_balance_dfx`: the account as 64 hex digits.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccountBalanceArgsDfx {
    pub account: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccountBalanceArgs {
    pub account: AccountIdentifier,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetBlocksArgs {
    pub start: BlockIndex,
    pub length: u64,
}

/// A block as the legacy `query_blocks` shows it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CandidBlock {
    pub parent_hash: Option<serde_bytes::ByteBuf>,
    pub transaction: CandidTransaction,
    pub timestamp: TimeStamp,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CandidTransaction {
    pub memo: u64,
    pub icrc1_memo: Option<serde_bytes::ByteBuf>,
    pub operation: Option<CandidOperation>,
    pub created_at_time: TimeStamp,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CandidOperation {
    Mint {
        to: AccountIdentifier,
        amount: Tokens,
    },
    Burn {
        from: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        amount: Tokens,
    },
    Transfer {
        from: AccountIdentifier,
        to: AccountIdentifier,
        amount: Tokens,
        fee: Tokens,
        spender: Option<serde_bytes::ByteBuf>,
    },
    Approve {
        from: AccountIdentifier,
        spender: AccountIdentifier,
        allowance_e8s: candid::Int,
        allowance: Tokens,
        fee: Tokens,
        expires_at: Option<TimeStamp>,
        expected_allowance: Option<Tokens>,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlockRange {
    pub blocks: Vec<CandidBlock>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum QueryArchiveError {
    BadFirstBlockIndex {
        requested_index: BlockIndex,
        first_valid_index: BlockIndex,
    },
    Other {
        error_code: u64,
        error_message: String,
    },
}

pub type QueryArchiveResult = Result<BlockRange, QueryArchiveError>;

/// Where archived blocks would be fetched; this ledger archives nothing, so
/// replies always carry an empty list of these.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ArchivedBlocksRange {
    pub start: BlockIndex,
    pub length: u64,
    pub callback: QueryArchiveFn<GetBlocksArgs, QueryArchiveResult>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct QueryBlocksResponse {
    pub chain_length: u64,
    pub certificate: Option<serde_bytes::ByteBuf>,
    pub blocks: Vec<CandidBlock>,
    pub first_block_index: BlockIndex,
    pub archived_blocks: Vec<ArchivedBlocksRange>,
}

/// What an archive's `get_encoded_blocks` answers.
pub type GetEncodedBlocksResult = Result<Vec<serde_bytes::ByteBuf>, QueryArchiveError>;

/// Where archived blocks would be fetched in their protobuf encoding; this
/// ledger archives nothing, so replies carry an empty list of these.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ArchivedEncodedBlocksRange {
    pub callback: QueryArchiveFn<GetBlocksArgs, GetEncodedBlocksResult>,
    pub start: BlockIndex,
    pub length: u64,
}

/// `query_encoded_blocks`: blocks as the protobuf `Block` bytes whose
/// SHA-256 is the block hash (see `crate::icp_block`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct QueryEncodedBlocksResponse {
    pub certificate: Option<serde_bytes::ByteBuf>,
    pub blocks: Vec<serde_bytes::ByteBuf>,
    pub chain_length: u64,
    pub first_block_index: BlockIndex,
    pub archived_blocks: Vec<ArchivedEncodedBlocksRange>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Archive {
    pub canister_id: candid::Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Archives {
    pub archives: Vec<Archive>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TipOfChainRes {
    pub certification: Option<serde_bytes::ByteBuf>,
    pub tip_index: BlockIndex,
}

/// `icrc1_supported_standards` and `icrc10_supported_standards` entries.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StandardRecord {
    pub name: String,
    pub url: String,
}

/// Most blocks one `query_blocks` or `icrc3_get_blocks` reply carries, as on
/// the real ledger; clients page through longer ranges.
pub const MAX_BLOCKS_PER_RESPONSE: u64 = 2_000;

/// ICRC-4 (draft): most transfers one `icrc4_transfer_batch` takes, and most
/// accounts one `icrc4_balance_of_batch` answers.
pub const MAX_TRANSFER_BATCH: u64 = 1_000;
pub const MAX_BALANCE_BATCH: u64 = 10_000;

/// Why one item of an ICRC-4 batch failed: ICRC-1's errors plus the batch's.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum TransferBatchError {
    BadFee {
        expected_fee: Nat,
    },
    BadBurn {
        min_burn_amount: Nat,
    },
    InsufficientFunds {
        balance: Nat,
    },
    TooOld,
    CreatedInFuture {
        ledger_time: u64,
    },
    TemporarilyUnavailable,
    Duplicate {
        duplicate_of: Nat,
    },
    GenericError {
        error_code: Nat,
        message: String,
    },
    /// The batch is longer than `icrc4_maximum_update_batch_size`.
    TooManyRequests {
        limit: Nat,
    },
    GenericBatchError {
        error_code: Nat,
        message: String,
    },
}

pub type TransferBatchResult = Result<Nat, TransferBatchError>;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BalanceQueryArgs {
    pub accounts: Vec<Account>,
}
