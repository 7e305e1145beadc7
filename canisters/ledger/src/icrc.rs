//! ICRC-1/2 requests and replies to and from the ledger's own types.

use crate::ledger::{ApproveRequest, Memos, TransferRequest, TxError};
use candid::{Nat, Principal};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::approve::ApproveArgs;
use icrc_ledger_types::icrc2::transfer_from::TransferFromArgs;
pub use ledger_core::icrc::errors::{approve_error, transfer_error, transfer_from_error};
use nns_api::AccountIdentifier;
use nns_api::ledger::TransferBatchError;

pub fn account_id(account: &Account) -> AccountIdentifier {
    crate::account_ids::account_id(&account.owner, account.subaccount.as_ref())
}

pub fn caller_account(caller: Principal, subaccount: Option<[u8; 32]>) -> AccountIdentifier {
    crate::account_ids::account_id(&caller, subaccount.as_ref())
}

/// Amounts are `nat` on the wire but ICP fits in 64 bits: no balance covers
/// a larger amount, which is refused as the real ledger refuses it.
fn amount(
    n: &Nat,
    from: &AccountIdentifier,
    balance: impl FnOnce(&AccountIdentifier) -> u64,
) -> Result<u64, TxError> {
    u64::try_from(&n.0).map_err(|_| TxError::InsufficientFunds {
        balance: balance(from),
    })
}

/// A fee that does not fit in 64 bits cannot be the ledger's fee; it maps to
/// a value that fails the fee check.
pub fn fee(n: &Option<Nat>) -> Option<u64> {
    n.as_ref().map(|n| u64::try_from(&n.0).unwrap_or(u64::MAX))
}

fn memo(m: Option<Memo>) -> Option<Vec<u8>> {
    m.map(|m| m.0.into_vec())
}

pub fn transfer_request(
    caller: Principal,
    arg: TransferArg,
    balance: impl FnOnce(&AccountIdentifier) -> u64,
) -> Result<TransferRequest, TxError> {
    let from = caller_account(caller, arg.from_subaccount);
    Ok(TransferRequest {
        amount: amount(&arg.amount, &from, balance)?,
        from,
        to: account_id(&arg.to),
        spender: None,
        fee: fee(&arg.fee),
        memo: Memos::icrc1(memo(arg.memo)),
        created_at_time: arg.created_at_time,
    })
}

pub fn transfer_from_request(
    caller: Principal,
    arg: TransferFromArgs,
    balance: impl FnOnce(&AccountIdentifier) -> u64,
) -> Result<TransferRequest, TxError> {
    let from = account_id(&arg.from);
    Ok(TransferRequest {
        amount: amount(&arg.amount, &from, balance)?,
        from,
        to: account_id(&arg.to),
        // Recorded even when it is the owner, who needs no allowance: an
        // owner's transfer_from is another transaction than their transfer.
        spender: Some(caller_account(caller, arg.spender_subaccount)),
        fee: fee(&arg.fee),
        memo: Memos::icrc1(memo(arg.memo)),
        created_at_time: arg.created_at_time,
    })
}

pub fn approve_request(caller: Principal, arg: ApproveArgs) -> ApproveRequest {
    // Like the real ledgers, an allowance beyond the largest balance is
    // capped: it already allows spending everything.
    let saturate = |n: &Nat| u64::try_from(&n.0).unwrap_or(u64::MAX);
    ApproveRequest {
        from: caller_account(caller, arg.from_subaccount),
        spender: account_id(&arg.spender),
        allowance: saturate(&arg.amount),
        expected_allowance: arg.expected_allowance.as_ref().map(saturate),
        expires_at: arg.expires_at,
        fee: fee(&arg.fee),
        memo: Memos::icrc1(memo(arg.memo)),
        created_at_time: arg.created_at_time,
    }
}

pub fn batch_error(e: TxError) -> TransferBatchError {
    match transfer_error(e) {
        TransferError::BadFee { expected_fee } => TransferBatchError::BadFee { expected_fee },
        TransferError::BadBurn { min_burn_amount } => {
            TransferBatchError::BadBurn { min_burn_amount }
        }
        TransferError::InsufficientFunds { balance } => {
            TransferBatchError::InsufficientFunds { balance }
        }
        TransferError::TooOld => TransferBatchError::TooOld,
        TransferError::CreatedInFuture { ledger_time } => {
            TransferBatchError::CreatedInFuture { ledger_time }
        }
        TransferError::TemporarilyUnavailable => TransferBatchError::TemporarilyUnavailable,
        TransferError::Duplicate { duplicate_of } => TransferBatchError::Duplicate { duplicate_of },
        TransferError::GenericError {
            error_code,
            message,
        } => TransferBatchError::GenericError {
            error_code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_beyond_64_bits_are_insufficient_funds_and_fees_fail_the_check() {
        let huge = Nat::from(u128::from(u64::MAX) + 1);
        let from = AccountIdentifier::new(&Principal::from_slice(&[1]), None);
        let balance_of = |a: &AccountIdentifier| {
            assert_eq!(*a, from, "the balance read is the payer's");
            42
        };
        assert_eq!(
            amount(&huge, &from, balance_of),
            Err(TxError::InsufficientFunds { balance: 42 })
        );
        assert_eq!(amount(&Nat::from(7u8), &from, balance_of), Ok(7));
        assert_eq!(fee(&Some(huge)), Some(u64::MAX));
        assert_eq!(fee(&None), None);
    }

    #[test]
    fn transfer_from_records_the_spender_even_when_it_is_the_owner() {
        let owner = Principal::from_slice(&[1]);
        let arg = TransferFromArgs {
            spender_subaccount: None,
            from: Account::from(owner),
            to: Account::from(Principal::from_slice(&[2])),
            amount: Nat::from(1u8),
            fee: None,
            memo: None,
            created_at_time: None,
        };
        assert_eq!(
            transfer_from_request(owner, arg.clone(), |_| 0)
                .unwrap()
                .spender,
            Some(AccountIdentifier::new(&owner, None))
        );
        let other = Principal::from_slice(&[3]);
        assert_eq!(
            transfer_from_request(other, arg, |_| 0).unwrap().spender,
            Some(AccountIdentifier::new(&other, None))
        );
    }

    #[test]
    fn huge_allowances_saturate() {
        let arg = ApproveArgs {
            from_subaccount: None,
            spender: Account::from(Principal::from_slice(&[2])),
            amount: Nat::from(u128::MAX),
            expected_allowance: Some(Nat::from(u128::MAX)),
            expires_at: None,
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let req = approve_request(Principal::from_slice(&[1]), arg);
        assert_eq!(req.allowance, u64::MAX);
        assert_eq!(req.expected_allowance, Some(u64::MAX));
    }

    #[test]
    fn errors_without_a_variant_of_their_own_stay_descriptive() {
        match transfer_error(TxError::InsufficientAllowance { allowance: 3 }) {
            TransferError::GenericError { message, .. } => {
                assert!(message.contains("InsufficientAllowance"))
            }
            other => panic!("{other:?}"),
        }
    }
}
