//! The ICP ledger's state: the shared ledger core over the [`Icp`] kind.

pub use crate::kind::{Icp, Memos};
pub use ledger_core::generic_error;
pub use ledger_core::ledger::{LAYOUT_VERSION, MAX_MEMO_BYTES, PERMITTED_DRIFT_NANOS};

pub type Ledger<D> = ledger_core::Ledger<Icp, D>;
pub type TransferRequest = ledger_core::TransferRequest<Icp>;
pub type ApproveRequest = ledger_core::ApproveRequest<Icp>;
pub type TxError = ledger_core::TxError<u64>;

#[cfg(test)]
mod tests;
