//! One ledger core for every ledger of the project: the ICP ledger, the
//! cycles ledger and a project's own token. Balances, allowances, fees,
//! deduplication and the chain of block hashes are implemented once, over
//! stable structures; a [`LedgerKind`] says what differs (accounts, amount
//! width, the blocks' encoding and hash, configuration). The logic runs
//! unchanged in a canister and, on vector memories, in unit tests.

pub mod amount;
pub mod balances;
pub mod bytes;
pub mod cache;
pub mod fixed;
pub mod icrc;
pub mod kind;
pub mod ledger;
pub mod tip;

#[cfg(test)]
mod test_kind;

pub use amount::Amount;
pub use fixed::FixedBytes;
pub use kind::{Hash, LedgerKind, Operation};
pub use ledger::{
    Allowance, ApproveRequest, LAYOUT_VERSION, Ledger, MAX_MEMO_BYTES, PERMITTED_DRIFT_NANOS,
    SupplyChange, TransferRequest, TxError, generic_error,
};
pub use tip::Tip;
