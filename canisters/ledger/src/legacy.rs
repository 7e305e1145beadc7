//! The legacy ICP interface's requests, errors and blocks.

use crate::block::{Block, Operation};
use crate::ledger::{RequestShape, TransferRequest, TxError};
use candid::Principal;
use nns_api::ledger::{
    CandidBlock, CandidOperation, CandidTransaction, TimeStamp, Tokens, TransferArgs, TransferError,
};
use serde_bytes::ByteBuf;

/// A legacy transfer without `created_at_time` is stamped with the ledger's
/// time, so that it too is deduplicated, as on the real ledger.
pub fn transfer_request(caller: Principal, args: TransferArgs, now: u64) -> TransferRequest {
    TransferRequest {
        from: crate::account_ids::account_id(&caller, args.from_subaccount.as_ref()),
        to: args.to,
        spender: None,
        amount: args.amount.e8s,
        fee: Some(args.fee.e8s),
        memo: args.memo.0,
        icrc1_memo: None,
        created_at_time: Some(args.created_at_time.map_or(now, |t| t.timestamp_nanos)),
        // The legacy fee is always explicit; only the subaccount can differ
        // in form without differing in meaning.
        shape: RequestShape::default().with(
            RequestShape::EXPLICIT_FROM_SUBACCOUNT,
            args.from_subaccount == Some([0; 32]),
        ),
    }
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
            // The legacy type has no "absent": like the real ledger, show 0.
            created_at_time: TimeStamp {
                timestamp_nanos: tx.created_at_time.unwrap_or(0),
            },
        },
        timestamp: TimeStamp {
            timestamp_nanos: block.timestamp,
        },
    }
}
