//! ICRC-1/2 arguments as the core's requests. Accounts stay as the caller
//! spelled them (the block records them so); amounts are `nat` on the wire
//! and the ledger's width inside.

use crate::amount::Amount;
use crate::icrc::{Icrc, IcrcConfig};
use crate::ledger::{ApproveRequest, TransferRequest, TxError};
use candid::{Nat, Principal};
use icrc_ledger_types::icrc1::account::{Account, Subaccount};
use icrc_ledger_types::icrc1::transfer::TransferArg;
use icrc_ledger_types::icrc2::approve::ApproveArgs;
use icrc_ledger_types::icrc2::transfer_from::TransferFromArgs;

pub fn caller_account(caller: Principal, subaccount: Option<Subaccount>) -> Account {
    Account {
        owner: caller,
        subaccount,
    }
}

/// The amount, if it fits: no balance covers a larger one, which is refused
/// as insufficient funds.
pub fn amount<N: Amount>(n: &Nat, balance: impl FnOnce() -> N) -> Result<N, TxError<N>> {
    u128::try_from(&n.0)
        .ok()
        .and_then(N::from_u128)
        .ok_or_else(|| TxError::InsufficientFunds { balance: balance() })
}

/// A fee too large for the ledger's width cannot be its fee: it becomes
/// the largest amount, which fails the fee check.
pub fn fee<N: Amount>(n: &Option<Nat>) -> Option<N> {
    n.as_ref().map(|n| saturate(n))
}

/// Allowances beyond the largest amount allow everything: capped.
pub fn saturate<N: Amount>(n: &Nat) -> N {
    u128::try_from(&n.0)
        .ok()
        .and_then(N::from_u128)
        .unwrap_or(N::MAX)
}

pub fn transfer_request<C: IcrcConfig>(
    caller: Principal,
    arg: TransferArg,
    balance: impl FnOnce(&Account) -> C::Amount,
) -> Result<TransferRequest<Icrc<C>>, TxError<C::Amount>> {
    let from = caller_account(caller, arg.from_subaccount);
    Ok(TransferRequest {
        amount: amount(&arg.amount, || balance(&from))?,
        from,
        to: arg.to,
        spender: None,
        fee: fee(&arg.fee),
        memo: arg.memo.map(|m| m.0.into_vec()),
        created_at_time: arg.created_at_time,
    })
}

pub fn transfer_from_request<C: IcrcConfig>(
    caller: Principal,
    arg: TransferFromArgs,
    balance: impl FnOnce(&Account) -> C::Amount,
) -> Result<TransferRequest<Icrc<C>>, TxError<C::Amount>> {
    Ok(TransferRequest {
        amount: amount(&arg.amount, || balance(&arg.from))?,
        from: arg.from,
        to: arg.to,
        spender: Some(caller_account(caller, arg.spender_subaccount)),
        fee: fee(&arg.fee),
        memo: arg.memo.map(|m| m.0.into_vec()),
        created_at_time: arg.created_at_time,
    })
}

pub fn approve_request<C: IcrcConfig>(
    caller: Principal,
    arg: ApproveArgs,
) -> ApproveRequest<Icrc<C>> {
    ApproveRequest {
        from: caller_account(caller, arg.from_subaccount),
        spender: arg.spender,
        allowance: saturate(&arg.amount),
        expected_allowance: arg.expected_allowance.as_ref().map(saturate),
        expires_at: arg.expires_at,
        fee: fee(&arg.fee),
        memo: arg.memo.map(|m| m.0.into_vec()),
        created_at_time: arg.created_at_time,
    }
}
