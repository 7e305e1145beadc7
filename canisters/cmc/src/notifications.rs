//! What became of each ledger block notified to the CMC.

use candid::{CandidType, Deserialize, Nat, Principal};
use nns_api::cmc::NotifyError;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum NotificationStatus {
    /// A notify call is working on the block (set before its first await).
    Processing,
    NotifiedTopUp(Result<Nat, NotifyError>),
    NotifiedCreateCanister(Result<Principal, NotifyError>),
}

/// What a notify call may do with a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// The block is now marked `Processing` for this call.
    Started,
    Processing,
    Finished(NotificationStatus),
    TooOld {
        last_purged: u64,
    },
}

impl NotificationStatus {
    pub fn top_up_result(self) -> Result<Nat, NotifyError> {
        match self {
            Self::NotifiedTopUp(result) => result,
            Self::Processing => Err(NotifyError::Processing),
            Self::NotifiedCreateCanister(_) => Err(NotifyError::InvalidTransaction(
                "the block was already used to create a canister".into(),
            )),
        }
    }

    pub fn create_canister_result(self) -> Result<Principal, NotifyError> {
        match self {
            Self::NotifiedCreateCanister(result) => result,
            Self::Processing => Err(NotifyError::Processing),
            Self::NotifiedTopUp(_) => Err(NotifyError::InvalidTransaction(
                "the block was already used to top up a canister".into(),
            )),
        }
    }
}
