//! Calls from a canister to the ICP ledger over its legacy interface,
//! shared by the CMC and governance.

use crate::candid_reader::{self, Cursor, Type, decode_first, field};
use crate::fast_candid::KnownTypes;
use candid::Principal;
use ic_cdk::call::{Call, CallErrorExt, CallFailed, RejectCode};
use nns_api::AccountIdentifier;
use nns_api::ledger::{
    AccountBalanceArgs, Memo, Tokens, TransferArgs, TransferError, TransferResult,
};

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

/// The transfer's argument type. Governance mints each maturity
/// disbursement with a transfer: the general encoder's type building cost
/// more than the transfer itself.
static TRANSFER_ARGS: KnownTypes<TransferArgs> = KnownTypes::new();

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
    transfer_at(ledger, from_subaccount, to, amount_e8s, fee_e8s, memo, None).await
}

/// As [`transfer`], stamped `created_at_time` (nanoseconds): the ledger
/// answers a repeat of the same transfer within its window with
/// `TxDuplicate`, so that a transfer whose outcome was not learned can be
/// sent again without being made twice.
pub async fn transfer_at(
    ledger: Principal,
    from_subaccount: Option<[u8; 32]>,
    to: AccountIdentifier,
    amount_e8s: u64,
    fee_e8s: u64,
    memo: u64,
    created_at_time: Option<u64>,
) -> Result<Result<u64, TransferError>, CallFailure> {
    let args = TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(amount_e8s),
        fee: Tokens::from_e8s(fee_e8s),
        from_subaccount,
        to,
        created_at_time: created_at_time.map(|nanos| nns_api::ledger::TimeStamp {
            timestamp_nanos: nanos,
        }),
    };
    let response = Call::unbounded_wait(ledger, "transfer")
        .take_raw_args(TRANSFER_ARGS.encode(&args))
        .await
        .map_err(CallFailure::from_call)?;
    decode_transfer_result(&response).map_err(|e| CallFailure::undecodable(e, false))
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
    decode_first(&response, read_tokens).map_err(|e| CallFailure::undecodable(e, true))
}

/// The ledger's transfer fee.
pub async fn transfer_fee(ledger: Principal) -> Result<u64, CallFailure> {
    let response = Call::unbounded_wait(ledger, "transfer_fee")
        .with_arg(nns_api::ledger::TransferFeeArg {})
        .await
        .map_err(CallFailure::from_call)?;
    decode_first(&response, |c, ty| c.field(ty, "transfer_fee", read_tokens))
        .map_err(|e| CallFailure::undecodable(e, true))
}

/// The ledger's total supply, in e8s.
pub async fn total_supply(ledger: Principal) -> Result<u64, CallFailure> {
    let response = Call::unbounded_wait(ledger, "icrc1_total_supply")
        .await
        .map_err(CallFailure::from_call)?;
    let supply = decode_first(&response, |c, ty| c.nat(ty))
        .map_err(|e| CallFailure::undecodable(e, true))?;
    u64::try_from(supply).map_err(|e| CallFailure::undecodable(e, true))
}

// The ledger's replies, read with `candid_reader` (see there why).

/// `Tokens`: `record { e8s : nat64 }`, in e8s.
pub fn read_tokens(c: &mut Cursor, ty: Type) -> candid_reader::Result<u64> {
    c.field(ty, "e8s", Cursor::nat64)
}

/// `TimeStamp`: `record { timestamp_nanos : nat64 }`.
pub fn read_timestamp(c: &mut Cursor, ty: Type) -> candid_reader::Result<u64> {
    c.field(ty, "timestamp_nanos", Cursor::nat64)
}

/// The legacy `transfer`'s reply, `variant { Ok : nat64; Err : TransferError }`.
pub fn decode_transfer_result(reply: &[u8]) -> candid_reader::Result<TransferResult> {
    const OK: u32 = field("Ok");
    const ERR: u32 = field("Err");
    decode_first(reply, |c, ty| match c.variant(ty)? {
        (OK, ty) => c.nat64(ty).map(Ok),
        (ERR, ty) => read_transfer_error(c, ty).map(Err),
        _ => Err(candid_reader::DecodeError("unknown transfer result".into())),
    })
}

fn read_transfer_error(c: &mut Cursor, ty: Type) -> candid_reader::Result<TransferError> {
    const BAD_FEE: u32 = field("BadFee");
    const INSUFFICIENT_FUNDS: u32 = field("InsufficientFunds");
    const TX_TOO_OLD: u32 = field("TxTooOld");
    const TX_CREATED_IN_FUTURE: u32 = field("TxCreatedInFuture");
    const TX_DUPLICATE: u32 = field("TxDuplicate");
    let tokens = |c: &mut Cursor, ty, name| c.field(ty, name, read_tokens).map(Tokens::from_e8s);
    Ok(match c.variant(ty)? {
        (BAD_FEE, ty) => TransferError::BadFee {
            expected_fee: tokens(c, ty, "expected_fee")?,
        },
        (INSUFFICIENT_FUNDS, ty) => TransferError::InsufficientFunds {
            balance: tokens(c, ty, "balance")?,
        },
        (TX_TOO_OLD, ty) => TransferError::TxTooOld {
            allowed_window_nanos: c.field(ty, "allowed_window_nanos", Cursor::nat64)?,
        },
        (TX_CREATED_IN_FUTURE, ty) => {
            c.skip(ty)?;
            TransferError::TxCreatedInFuture
        }
        (TX_DUPLICATE, ty) => TransferError::TxDuplicate {
            duplicate_of: c.field(ty, "duplicate_of", Cursor::nat64)?,
        },
        _ => return Err(candid_reader::DecodeError("unknown transfer error".into())),
    })
}

/// An ICRC-1 transfer out of one of the caller's subaccounts (the
/// project's token ledger; any ICRC-1 ledger). Decoded with Candid: these
/// calls are few (a sale's token releases), so the generic decoder's cost
/// does not matter here.
pub async fn icrc1_transfer(
    ledger: Principal,
    arg: icrc_ledger_types::icrc1::transfer::TransferArg,
) -> Result<Result<candid::Nat, icrc_ledger_types::icrc1::transfer::TransferError>, CallFailure> {
    let response = Call::unbounded_wait(ledger, "icrc1_transfer")
        .with_arg(arg)
        .await
        .map_err(CallFailure::from_call)?;
    response
        .candid::<Result<candid::Nat, icrc_ledger_types::icrc1::transfer::TransferError>>()
        .map_err(|e| CallFailure::undecodable(e, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{CandidType, Encode, Nat};

    #[test]
    fn transfer_arguments_encode_as_candid_encodes_them() {
        for from_subaccount in [None, Some([7; 32])] {
            for created_at_time in [None, Some(1_700_000_000_000_000_000)] {
                let args = TransferArgs {
                    memo: Memo(42),
                    amount: Tokens::from_e8s(123),
                    fee: Tokens::from_e8s(0),
                    from_subaccount,
                    to: AccountIdentifier::new(&Principal::anonymous(), None),
                    created_at_time: created_at_time.map(|nanos| nns_api::ledger::TimeStamp {
                        timestamp_nanos: nanos,
                    }),
                };
                assert_eq!(
                    TRANSFER_ARGS.encode(&args),
                    candid::encode_one(&args).unwrap()
                );
            }
        }
    }

    #[test]
    fn every_transfer_result_reads_as_candid_encoded_it() {
        let results: Vec<TransferResult> = vec![
            Ok(0),
            Ok(u64::MAX),
            Err(TransferError::BadFee {
                expected_fee: Tokens::from_e8s(10_000),
            }),
            Err(TransferError::InsufficientFunds {
                balance: Tokens::from_e8s(3),
            }),
            Err(TransferError::TxTooOld {
                allowed_window_nanos: 86_400_000_000_000,
            }),
            Err(TransferError::TxCreatedInFuture),
            Err(TransferError::TxDuplicate { duplicate_of: 42 }),
        ];
        for result in results {
            let reply = Encode!(&result).unwrap();
            assert_eq!(decode_transfer_result(&reply), Ok(result));
        }
    }

    #[test]
    fn a_reply_with_more_cases_and_fields_than_ours_still_reads() {
        #[derive(CandidType)]
        struct WideTokens {
            e8s: u64,
            note: String,
        }
        #[derive(CandidType)]
        enum WideError {
            SomethingNew,
            InsufficientFunds { balance: WideTokens, hint: Vec<u8> },
        }
        #[derive(CandidType)]
        enum WideResult {
            Ok(u64),
            Err(WideError),
        }
        let reply = Encode!(&WideResult::Err(WideError::InsufficientFunds {
            balance: WideTokens {
                e8s: 9,
                note: "n".into()
            },
            hint: vec![1, 2],
        }))
        .unwrap();
        assert_eq!(
            decode_transfer_result(&reply),
            Ok(Err(TransferError::InsufficientFunds {
                balance: Tokens::from_e8s(9)
            }))
        );
        let unknown = Encode!(&WideResult::Err(WideError::SomethingNew)).unwrap();
        assert!(decode_transfer_result(&unknown).is_err());
        let _ = WideResult::Ok(0);
    }

    #[test]
    fn balances_fees_and_supplies_read_as_encoded() {
        let tokens = Encode!(&Tokens::from_e8s(123)).unwrap();
        assert_eq!(decode_first(&tokens, read_tokens), Ok(123));
        let fee = Encode!(&nns_api::ledger::TransferFee {
            transfer_fee: Tokens::from_e8s(10_000)
        })
        .unwrap();
        assert_eq!(
            decode_first(&fee, |c, ty| c.field(ty, "transfer_fee", read_tokens)),
            Ok(10_000)
        );
        let supply = Encode!(&Nat::from(u64::MAX)).unwrap();
        assert_eq!(
            decode_first(&supply, |c, ty| c.nat(ty)),
            Ok(u128::from(u64::MAX))
        );
        assert!(decode_first(&Encode!(&"text").unwrap(), read_tokens).is_err());
    }
}
