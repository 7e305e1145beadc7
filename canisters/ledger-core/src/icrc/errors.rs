//! ICRC-1/2 errors from the core's refusals.

use crate::amount::Amount;
use crate::ledger::{TxError, generic_error};
use candid::Nat;
use icrc_ledger_types::icrc1::transfer::TransferError;
use icrc_ledger_types::icrc2::approve::ApproveError;
use icrc_ledger_types::icrc2::transfer_from::TransferFromError;
use std::fmt::Debug;

pub fn nat<N: Amount>(n: N) -> Nat {
    Nat::from(n.to_u128())
}

fn generic(error_code: u64, message: String) -> (Nat, String) {
    (Nat::from(error_code), message)
}

/// A refusal that an interface has no variant for becomes a generic error
/// that still says what happened.
fn unexpected<N: Debug>(e: &TxError<N>) -> (Nat, String) {
    generic(generic_error::UNEXPECTED, format!("{e:?}"))
}

pub fn transfer_error<N: Amount>(e: TxError<N>) -> TransferError {
    match e {
        TxError::BadFee { expected_fee } => TransferError::BadFee {
            expected_fee: nat(expected_fee),
        },
        TxError::BadBurn { min_burn_amount } => TransferError::BadBurn {
            min_burn_amount: nat(min_burn_amount),
        },
        TxError::InsufficientFunds { balance } => TransferError::InsufficientFunds {
            balance: nat(balance),
        },
        TxError::TooOld => TransferError::TooOld,
        TxError::CreatedInFuture { ledger_time } => TransferError::CreatedInFuture { ledger_time },
        TxError::Duplicate { duplicate_of } => TransferError::Duplicate {
            duplicate_of: Nat::from(duplicate_of),
        },
        TxError::Generic {
            error_code,
            message,
        } => TransferError::GenericError {
            error_code: Nat::from(error_code),
            message,
        },
        other => {
            let (error_code, message) = unexpected(&other);
            TransferError::GenericError {
                error_code,
                message,
            }
        }
    }
}

pub fn transfer_from_error<N: Amount>(e: TxError<N>) -> TransferFromError {
    match e {
        TxError::BadFee { expected_fee } => TransferFromError::BadFee {
            expected_fee: nat(expected_fee),
        },
        TxError::BadBurn { min_burn_amount } => TransferFromError::BadBurn {
            min_burn_amount: nat(min_burn_amount),
        },
        TxError::InsufficientFunds { balance } => TransferFromError::InsufficientFunds {
            balance: nat(balance),
        },
        TxError::InsufficientAllowance { allowance } => TransferFromError::InsufficientAllowance {
            allowance: nat(allowance),
        },
        TxError::TooOld => TransferFromError::TooOld,
        TxError::CreatedInFuture { ledger_time } => {
            TransferFromError::CreatedInFuture { ledger_time }
        }
        TxError::Duplicate { duplicate_of } => TransferFromError::Duplicate {
            duplicate_of: Nat::from(duplicate_of),
        },
        TxError::Generic {
            error_code,
            message,
        } => TransferFromError::GenericError {
            error_code: Nat::from(error_code),
            message,
        },
        other => {
            let (error_code, message) = unexpected(&other);
            TransferFromError::GenericError {
                error_code,
                message,
            }
        }
    }
}

pub fn approve_error<N: Amount>(e: TxError<N>) -> ApproveError {
    match e {
        TxError::BadFee { expected_fee } => ApproveError::BadFee {
            expected_fee: nat(expected_fee),
        },
        TxError::InsufficientFunds { balance } => ApproveError::InsufficientFunds {
            balance: nat(balance),
        },
        TxError::AllowanceChanged { current_allowance } => ApproveError::AllowanceChanged {
            current_allowance: nat(current_allowance),
        },
        TxError::Expired { ledger_time } => ApproveError::Expired { ledger_time },
        TxError::TooOld => ApproveError::TooOld,
        TxError::CreatedInFuture { ledger_time } => ApproveError::CreatedInFuture { ledger_time },
        TxError::Duplicate { duplicate_of } => ApproveError::Duplicate {
            duplicate_of: Nat::from(duplicate_of),
        },
        TxError::Generic {
            error_code,
            message,
        } => ApproveError::GenericError {
            error_code: Nat::from(error_code),
            message,
        },
        other => {
            let (error_code, message) = unexpected(&other);
            ApproveError::GenericError {
                error_code,
                message,
            }
        }
    }
}
