//! Calls from a canister to the ICP ledger over its legacy interface,
//! shared by the CMC and governance.

use candid::Principal;
use ic_cdk::call::{Call, CallErrorExt, CallFailed, RejectCode};
use nns_api::AccountIdentifier;
use nns_api::ledger::{AccountBalanceArgs, Memo, Tokens, TransferArgs, TransferError};

/// A call that did not produce the ledger's answer.
#[derive(Debug)]
pub struct CallFailure {
    /// The IC's clean reject: the ledger never saw the call.
    pub clean: bool,
    /// The ledger may have carried the call out (its reply was unreadable,
    /// or the outcome is unknown). Otherwise it certainly changed nothing:
    /// a call awaited without a deadline is rejected only when the callee
    /// did not run it or trapped, and a trap rolls back.
    pub may_have_acted: bool,
    pub message: String,
}

impl CallFailure {
    pub fn from_call(e: CallFailed) -> Self {
        let unknown = matches!(&e, CallFailed::CallRejected(r)
            if r.reject_code() == Ok(RejectCode::SysUnknown));
        Self {
            clean: e.is_clean_reject(),
            may_have_acted: unknown,
            message: e.to_string(),
        }
    }

    /// The ledger answered but not in the expected type. For a read this is
    /// harmless; a transfer may have happened.
    pub fn undecodable(e: impl std::fmt::Display, is_read: bool) -> Self {
        Self {
            clean: is_read,
            may_have_acted: !is_read,
            message: format!("cannot decode the ledger's reply: {e}"),
        }
    }
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A legacy transfer out of one of the caller's subaccounts; to or from the
/// minting account it is a burn or a mint (fee 0).
pub async fn transfer(
    ledger: Principal,
    from_subaccount: Option<[u8; 32]>,
    to: AccountIdentifier,
    amount_e8s: u64,
    fee_e8s: u64,
    memo: u64,
) -> Result<Result<u64, TransferError>, CallFailure> {
    let args = TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(amount_e8s),
        fee: Tokens::from_e8s(fee_e8s),
        from_subaccount,
        to,
        created_at_time: None,
    };
    let response = Call::unbounded_wait(ledger, "transfer")
        .with_arg(args)
        .await
        .map_err(CallFailure::from_call)?;
    response
        .candid()
        .map_err(|e| CallFailure::undecodable(e, false))
}

/// The balance of `account`, in e8s.
pub async fn account_balance(
    ledger: Principal,
    account: AccountIdentifier,
) -> Result<u64, CallFailure> {
    let response = Call::unbounded_wait(ledger, "account_balance")
        .with_arg(AccountBalanceArgs { account })
        .await
        .map_err(CallFailure::from_call)?;
    let tokens: Tokens = response
        .candid()
        .map_err(|e| CallFailure::undecodable(e, true))?;
    Ok(tokens.e8s)
}

/// The ledger's transfer fee.
pub async fn transfer_fee(ledger: Principal) -> Result<u64, CallFailure> {
    let response = Call::unbounded_wait(ledger, "transfer_fee")
        .with_arg(nns_api::ledger::TransferFeeArg {})
        .await
        .map_err(CallFailure::from_call)?;
    let fee: nns_api::ledger::TransferFee = response
        .candid()
        .map_err(|e| CallFailure::undecodable(e, true))?;
    Ok(fee.transfer_fee.e8s)
}

/// The ledger's total supply, in e8s.
pub async fn total_supply(ledger: Principal) -> Result<u64, CallFailure> {
    let response = Call::unbounded_wait(ledger, "icrc1_total_supply")
        .await
        .map_err(CallFailure::from_call)?;
    let supply: candid::Nat = response
        .candid()
        .map_err(|e| CallFailure::undecodable(e, true))?;
    u64::try_from(supply.0).map_err(|e| CallFailure::undecodable(e, true))
}
