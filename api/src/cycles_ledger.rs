//! Types of the cycles ledger's interface (`candid/cycles-ledger.did`, the
//! official interface of DFINITY's cycles ledger). The ICRC-1/2/3/103
//! types are `icrc-ledger-types`'.

use candid::{CandidType, Deserialize, Nat, Principal};
use icrc_ledger_types::icrc::generic_value::ICRC3Value;
use icrc_ledger_types::icrc1::account::{Account, Subaccount};
use icrc_ledger_types::icrc3::blocks::GetBlocksRequest;

pub use crate::cmc::SubnetSelection;

pub type BlockIndex = Nat;

/// The fee of every operation, in cycles (the real cycles ledger's).
pub const FEE: u128 = 100_000_000;
pub const DECIMALS: u8 = 12;
pub const TOKEN_NAME: &str = "Trillion Cycles";
pub const TOKEN_SYMBOL: &str = "TCYCLES";
pub const MAX_MEMO_LENGTH: u64 = 32;
/// The most blocks `icrc3_get_blocks` returns unless configured otherwise.
pub const DEFAULT_MAX_BLOCKS_PER_REQUEST: u64 = 100;
/// The most allowances `icrc103_get_allowances` returns.
pub const MAX_TAKE_ALLOWANCES: u64 = 500;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LedgerArgs {
    Init(InitArgs),
    Upgrade(Option<UpgradeArgs>),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    pub max_blocks_per_request: u64,
    pub index_id: Option<Principal>,
    pub initial_balances: Option<Vec<(Account, Nat)>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChangeIndexId {
    Unset,
    SetTo(Principal),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeArgs {
    pub max_blocks_per_request: Option<u64>,
    pub change_index_id: Option<ChangeIndexId>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DepositArgs {
    pub to: Account,
    pub memo: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DepositResult {
    pub block_index: BlockIndex,
    pub balance: Nat,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WithdrawArgs {
    pub amount: Nat,
    pub from_subaccount: Option<Subaccount>,
    pub to: Principal,
    pub created_at_time: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WithdrawFromArgs {
    pub spender_subaccount: Option<Subaccount>,
    pub from: Account,
    pub to: Principal,
    pub amount: Nat,
    pub created_at_time: Option<u64>,
}

/// How a call was rejected, in the order of the interface's variants.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionCode {
    NoError,
    CanisterError,
    SysTransient,
    DestinationInvalid,
    Unknown,
    SysFatal,
    CanisterReject,
}

impl RejectionCode {
    /// From the IC's numeric reject code.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::NoError,
            1 => Self::SysFatal,
            2 => Self::SysTransient,
            3 => Self::DestinationInvalid,
            4 => Self::CanisterReject,
            5 => Self::CanisterError,
            _ => Self::Unknown,
        }
    }
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum WithdrawError {
    BadFee {
        expected_fee: Nat,
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
    FailedToWithdraw {
        fee_block: Option<Nat>,
        rejection_code: RejectionCode,
        rejection_reason: String,
    },
    GenericError {
        error_code: Nat,
        message: String,
    },
    InvalidReceiver {
        receiver: Principal,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum WithdrawFromError {
    InsufficientFunds {
        balance: Nat,
    },
    InsufficientAllowance {
        allowance: Nat,
    },
    TooOld,
    CreatedInFuture {
        ledger_time: u64,
    },
    TemporarilyUnavailable,
    Duplicate {
        duplicate_of: Nat,
    },
    FailedToWithdrawFrom {
        withdraw_from_block: Option<Nat>,
        refund_block: Option<Nat>,
        approval_refund_block: Option<Nat>,
        rejection_code: RejectionCode,
        rejection_reason: String,
    },
    GenericError {
        error_code: Nat,
        message: String,
    },
    InvalidReceiver {
        receiver: Principal,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CanisterSettings {
    pub controllers: Option<Vec<Principal>>,
    pub compute_allocation: Option<Nat>,
    pub memory_allocation: Option<Nat>,
    pub freezing_threshold: Option<Nat>,
    pub reserved_cycles_limit: Option<Nat>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct CmcCreateCanisterArgs {
    pub settings: Option<CanisterSettings>,
    pub subnet_selection: Option<SubnetSelection>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateCanisterArgs {
    pub from_subaccount: Option<Subaccount>,
    pub created_at_time: Option<u64>,
    pub amount: Nat,
    pub creation_args: Option<CmcCreateCanisterArgs>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateCanisterFromArgs {
    pub from: Account,
    pub spender_subaccount: Option<Subaccount>,
    pub created_at_time: Option<u64>,
    pub amount: Nat,
    pub creation_args: Option<CmcCreateCanisterArgs>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateCanisterSuccess {
    pub block_id: BlockIndex,
    pub canister_id: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CreateCanisterError {
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
        canister_id: Option<Principal>,
    },
    FailedToCreate {
        fee_block: Option<BlockIndex>,
        refund_block: Option<BlockIndex>,
        error: String,
    },
    GenericError {
        message: String,
        error_code: Nat,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CreateCanisterFromError {
    InsufficientFunds {
        balance: Nat,
    },
    InsufficientAllowance {
        allowance: Nat,
    },
    TooOld,
    CreatedInFuture {
        ledger_time: u64,
    },
    TemporarilyUnavailable,
    Duplicate {
        duplicate_of: Nat,
        canister_id: Option<Principal>,
    },
    FailedToCreateFrom {
        create_from_block: Option<BlockIndex>,
        refund_block: Option<BlockIndex>,
        approval_refund_block: Option<BlockIndex>,
        rejection_code: RejectionCode,
        rejection_reason: String,
    },
    GenericError {
        message: String,
        error_code: Nat,
    },
}

/// What the CMC's `create_canister` answers (its `CreateCanisterError`
/// carries the cycles it returns).
pub type CmcCreateCanisterResult = Result<Principal, crate::cmc::CreateCanisterError>;

/// A block as `icrc3_get_blocks` serves it: the interface's `Value`,
/// which has a `Nat64` variant besides ICRC-3's own (never produced here).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(candid::Int),
    Map(Vec<(String, Value)>),
    Nat(Nat),
    Nat64(u64),
    Blob(serde_bytes::ByteBuf),
    Text(String),
    Array(Vec<Value>),
}

impl From<ICRC3Value> for Value {
    fn from(value: ICRC3Value) -> Self {
        match value {
            ICRC3Value::Int(n) => Self::Int(n),
            ICRC3Value::Nat(n) => Self::Nat(n),
            ICRC3Value::Blob(b) => Self::Blob(b),
            ICRC3Value::Text(t) => Self::Text(t),
            ICRC3Value::Array(a) => Self::Array(a.into_iter().map(Self::from).collect()),
            ICRC3Value::Map(m) => Self::Map(m.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

impl From<Value> for ICRC3Value {
    /// `Nat64` becomes `Nat`: ICRC-3 hashes them alike.
    fn from(value: Value) -> Self {
        match value {
            Value::Int(n) => Self::Int(n),
            Value::Nat(n) => Self::Nat(n),
            Value::Nat64(n) => Self::Nat(Nat::from(n)),
            Value::Blob(b) => Self::Blob(b),
            Value::Text(t) => Self::Text(t),
            Value::Array(a) => Self::Array(a.into_iter().map(Self::from).collect()),
            Value::Map(m) => Self::Map(m.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlockWithId {
    pub id: Nat,
    pub block: Value,
}

candid::define_function!(pub GetBlocksCallback : (Vec<GetBlocksRequest>) -> (GetBlocksResult) query);

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct ArchivedBlocks {
    pub args: Vec<GetBlocksRequest>,
    pub callback: GetBlocksCallback,
}

#[derive(CandidType, Deserialize, Clone, Debug)]
pub struct GetBlocksResult {
    pub log_length: Nat,
    pub blocks: Vec<BlockWithId>,
    /// Always empty: the cycles ledger keeps every block.
    pub archived_blocks: Vec<ArchivedBlocks>,
}
