//! The legacy ICP interface's requests, errors and blocks.

use crate::block::{Block, Operation};
use crate::config::Config;
use crate::ledger::{TransferRequest, TxError};
use candid::Principal;
use nns_api::ledger::{
    CandidBlock, CandidOperation, CandidTransaction, TimeStamp, Tokens, TransferArgs, TransferError,
};
use serde_bytes::ByteBuf;

/// The request a legacy `transfer` makes, or why the call is rejected: as on
/// the real ledger, mints and burns must name a zero fee, and burns below the
/// fee are refused, by a trap rather than an error reply.
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
    let fee = config.transfer_fee.e8s;
    if from == minting_account {
        if args.fee.e8s != 0 {
            return Err("the fee for minting must be zero".into());
        }
        if args.to == minting_account {
            return Err("the minting account cannot send to itself".into());
        }
    } else if args.to == minting_account {
        if args.fee.e8s != 0 {
            return Err("the fee for burning must be zero".into());
        }
        if args.amount.e8s < fee {
            return Err(format!("burns lower than {fee} e8s are not allowed"));
        }
    }
    Ok(TransferRequest {
        from,
        to: args.to,
        spender: None,
        amount: args.amount.e8s,
        fee: Some(args.fee.e8s),
        memo: args.memo.0,
        icrc1_memo: None,
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

pub fn candid_block(block: Block) -> CandidBlock {
    let tx = block.transaction;
    let tokens = Tokens::from_e8s;
    let operation = match tx.operation {
        Operation::Mint { to, amount } => CandidOperation::Mint {
            to,
            amount: tokens(amount),
        },
        Operation::Burn {
            from,
            spender,
            amount,
        } => CandidOperation::Burn {
            from,
            spender,
            amount: tokens(amount),
        },
        Operation::Transfer {
            from,
            to,
            spender,
            amount,
            fee,
        } => CandidOperation::Transfer {
            from,
            to,
            amount: tokens(amount),
            fee: tokens(fee),
            spender: spender.map(|s| ByteBuf::from(s.as_bytes().to_vec())),
        },
        Operation::Approve {
            from,
            spender,
            allowance,
            expected_allowance,
            expires_at,
            fee,
        } => CandidOperation::Approve {
            from,
            spender,
            allowance_e8s: candid::Int::from(allowance),
            allowance: tokens(allowance),
            fee: tokens(fee),
            expires_at: expires_at.map(|t| TimeStamp { timestamp_nanos: t }),
            expected_allowance: expected_allowance.map(tokens),
        },
    };
    CandidBlock {
        parent_hash: block.parent_hash.map(|h| ByteBuf::from(h.to_vec())),
        transaction: CandidTransaction {
            memo: tx.memo,
            icrc1_memo: tx.icrc1_memo.map(ByteBuf::from),
            operation: Some(operation),
            // The legacy type has no "absent": like the real ledger, show
            // the block's time.
            created_at_time: TimeStamp {
                timestamp_nanos: tx.created_at_time.unwrap_or(block.timestamp),
            },
        },
        timestamp: TimeStamp {
            timestamp_nanos: block.timestamp,
        },
    }
}
