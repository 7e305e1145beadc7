//! The legacy ICP interface's requests and errors.

use crate::config::Config;
use crate::ledger::{Memos, TransferRequest, TxError};
use candid::Principal;
use nns_api::ledger::{Tokens, TransferArgs, TransferError};

/// The request a legacy `transfer` makes, or why the call is rejected: as on
/// the real ledger, mints and burns must name a zero fee, by a trap rather
/// than an error reply (burns below the minimum trap too, see
/// [`transfer_error`]).
///
/// A legacy transfer without `created_at_time` is stamped with the ledger's
/// time, so that it too is deduplicated, as on the real ledger.
pub fn transfer_request(
    caller: Principal,
    args: TransferArgs,
    config: &Config,
    now: u64,
) -> Result<TransferRequest, String> {
    let from = crate::account_ids::account_id(&caller, args.from_subaccount.as_ref());
    let minting_account = config.minting_account;
    if from == minting_account {
        if args.fee.e8s != 0 {
            return Err("the fee for minting must be zero".into());
        }
        if args.to == minting_account {
            return Err("the minting account cannot send to itself".into());
        }
    } else if args.to == minting_account && args.fee.e8s != 0 {
        return Err("the fee for burning must be zero".into());
    }
    Ok(TransferRequest {
        from,
        to: args.to,
        spender: None,
        amount: args.amount.e8s,
        fee: Some(args.fee.e8s),
        memo: Memos {
            memo: args.memo.0,
            icrc1_memo: None,
        },
        created_at_time: Some(args.created_at_time.map_or(now, |t| t.timestamp_nanos)),
    })
}

/// The legacy error type has no variant for some refusals; those become a
/// reject with the reason, as on the real ledger.
pub fn transfer_error(e: TxError, window_nanos: u64) -> Result<TransferError, String> {
    Ok(match e {
        TxError::BadFee { expected_fee } => TransferError::BadFee {
            expected_fee: Tokens::from_e8s(expected_fee),
        },
        TxError::InsufficientFunds { balance } => TransferError::InsufficientFunds {
            balance: Tokens::from_e8s(balance),
        },
        TxError::TooOld => TransferError::TxTooOld {
            allowed_window_nanos: window_nanos,
        },
        TxError::CreatedInFuture { .. } => TransferError::TxCreatedInFuture,
        TxError::Duplicate { duplicate_of } => TransferError::TxDuplicate { duplicate_of },
        TxError::BadBurn { min_burn_amount } => {
            return Err(format!(
                "burns lower than {min_burn_amount} e8s are not allowed"
            ));
        }
        TxError::Generic { message, .. } => return Err(message),
        other => return Err(format!("{other:?}")),
    })
}
