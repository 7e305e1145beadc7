//! What became of each ledger block notified to the CMC.

use candid::{CandidType, Deserialize, Nat, Principal};
use canister_common::candid_reader::{
    self, Cursor, ReadCandid, Type, field, read_result, required, unexpected,
};
use nns_api::cmc::{NotifyError, NotifyMintCyclesSuccess};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum NotificationStatus {
    /// A notify call is working on the block (set before its first await).
    Processing,
    NotifiedTopUp(Result<Nat, NotifyError>),
    NotifiedCreateCanister(Result<Principal, NotifyError>),
    NotifiedMint(Result<NotifyMintCyclesSuccess, NotifyError>),
}

/// What a notify call may do with a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// The block is now marked `Processing` for this call.
    Started,
    Processing,
    /// Decided as a refund that the ledger has not confirmed yet.
    Refunding,
    Finished(NotificationStatus),
    /// At or below the purge horizon: `oldest_notifiable` is the horizon + 1,
    /// what the real CMC's `TransactionTooOld` carries.
    TooOld {
        oldest_notifiable: u64,
    },
}

impl ReadCandid for NotificationStatus {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const PROCESSING: u32 = field("Processing");
        const TOP_UP: u32 = field("NotifiedTopUp");
        const CREATE: u32 = field("NotifiedCreateCanister");
        const MINT: u32 = field("NotifiedMint");
        Ok(match c.variant(ty)? {
            (PROCESSING, ty) => {
                c.skip(ty)?;
                Self::Processing
            }
            (TOP_UP, ty) => Self::NotifiedTopUp(read_result(
                c,
                ty,
                |c, ty| c.nat(ty).map(Nat::from),
                read_notify_error,
            )?),
            (CREATE, ty) => Self::NotifiedCreateCanister(read_result(
                c,
                ty,
                |c, ty| c.principal(ty),
                read_notify_error,
            )?),
            (MINT, ty) => {
                Self::NotifiedMint(read_result(c, ty, read_mint_success, read_notify_error)?)
            }
            _ => return unexpected("unknown notification status"),
        })
    }
}

fn read_mint_success(c: &mut Cursor, ty: Type) -> candid_reader::Result<NotifyMintCyclesSuccess> {
    const BLOCK_INDEX: u32 = field("block_index");
    const MINTED: u32 = field("minted");
    const BALANCE: u32 = field("balance");
    let (mut block_index, mut minted, mut balance) = (None, None, None);
    c.record(ty, |c, hash, ty| {
        match hash {
            BLOCK_INDEX => block_index = Some(Nat::from(c.nat(ty)?)),
            MINTED => minted = Some(Nat::from(c.nat(ty)?)),
            BALANCE => balance = Some(Nat::from(c.nat(ty)?)),
            _ => c.skip(ty)?,
        }
        Ok(())
    })?;
    Ok(NotifyMintCyclesSuccess {
        block_index: required(block_index, "block_index")?,
        minted: required(minted, "minted")?,
        balance: required(balance, "balance")?,
    })
}

fn read_notify_error(c: &mut Cursor, ty: Type) -> candid_reader::Result<NotifyError> {
    const REFUNDED: u32 = field("Refunded");
    const PROCESSING: u32 = field("Processing");
    const TOO_OLD: u32 = field("TransactionTooOld");
    const INVALID: u32 = field("InvalidTransaction");
    const OTHER: u32 = field("Other");
    const REASON: u32 = field("reason");
    const BLOCK_INDEX: u32 = field("block_index");
    const ERROR_CODE: u32 = field("error_code");
    const ERROR_MESSAGE: u32 = field("error_message");
    Ok(match c.variant(ty)? {
        (REFUNDED, ty) => {
            let (mut reason, mut block_index) = (None, None);
            c.record(ty, |c, hash, ty| {
                match hash {
                    REASON => reason = Some(c.text(ty)?.to_string()),
                    BLOCK_INDEX => block_index = c.opt(ty, Cursor::nat64)?,
                    _ => c.skip(ty)?,
                }
                Ok(())
            })?;
            NotifyError::Refunded {
                reason: required(reason, "reason")?,
                block_index,
            }
        }
        (PROCESSING, ty) => {
            c.skip(ty)?;
            NotifyError::Processing
        }
        (TOO_OLD, ty) => NotifyError::TransactionTooOld(c.nat64(ty)?),
        (INVALID, ty) => NotifyError::InvalidTransaction(c.text(ty)?.to_string()),
        (OTHER, ty) => {
            let (mut code, mut message) = (None, None);
            c.record(ty, |c, hash, ty| {
                match hash {
                    ERROR_CODE => code = Some(c.nat64(ty)?),
                    ERROR_MESSAGE => message = Some(c.text(ty)?.to_string()),
                    _ => c.skip(ty)?,
                }
                Ok(())
            })?;
            NotifyError::Other {
                error_code: required(code, "error_code")?,
                error_message: required(message, "error_message")?,
            }
        }
        _ => return unexpected("unknown notify error"),
    })
}

impl NotificationStatus {
    pub fn top_up_result(self) -> Result<Nat, NotifyError> {
        match self {
            Self::NotifiedTopUp(result) => result,
            other => Err(other.elsewhere()),
        }
    }

    pub fn create_canister_result(self) -> Result<Principal, NotifyError> {
        match self {
            Self::NotifiedCreateCanister(result) => result,
            other => Err(other.elsewhere()),
        }
    }

    pub fn mint_result(self) -> Result<NotifyMintCyclesSuccess, NotifyError> {
        match self {
            Self::NotifiedMint(result) => result,
            other => Err(other.elsewhere()),
        }
    }

    /// The answer to a request for another operation than the block's, in
    /// the real CMC's words.
    fn elsewhere(self) -> NotifyError {
        let done_as = match self {
            Self::Processing => return NotifyError::Processing,
            Self::NotifiedTopUp(_) => "a top up request",
            Self::NotifiedCreateCanister(_) => "a create canister request",
            Self::NotifiedMint(_) => "a mint request",
        };
        NotifyError::InvalidTransaction(format!(
            "The same payment is already processed as {done_as}."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use canister_common::candid_reader::decode_first;

    #[test]
    fn every_status_reads_back_as_candid_wrote_it() {
        let errors = [
            NotifyError::Refunded {
                reason: "no such canister".into(),
                block_index: Some(7),
            },
            NotifyError::Refunded {
                reason: String::new(),
                block_index: None,
            },
            NotifyError::Processing,
            NotifyError::TransactionTooOld(3),
            NotifyError::InvalidTransaction("memo".into()),
            NotifyError::Other {
                error_code: 6,
                error_message: "limit".into(),
            },
        ];
        let mut statuses = vec![
            NotificationStatus::Processing,
            NotificationStatus::NotifiedTopUp(Ok(Nat::from(u128::MAX))),
            NotificationStatus::NotifiedCreateCanister(Ok(Principal::from_slice(&[1, 2, 3]))),
            NotificationStatus::NotifiedMint(Ok(NotifyMintCyclesSuccess {
                block_index: Nat::from(9u8),
                minted: Nat::from(u128::MAX),
                balance: Nat::from(0u8),
            })),
        ];
        for e in errors {
            statuses.push(NotificationStatus::NotifiedTopUp(Err(e.clone())));
            statuses.push(NotificationStatus::NotifiedMint(Err(e.clone())));
            statuses.push(NotificationStatus::NotifiedCreateCanister(Err(e)));
        }
        for status in statuses {
            let bytes = candid::encode_one(&status).unwrap();
            assert_eq!(decode_first(&bytes, NotificationStatus::read), Ok(status));
        }
    }
}
