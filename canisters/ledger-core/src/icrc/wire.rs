//! Fast Candid decoding of the ICRC-1/2 transaction endpoints' arguments
//! and encoding of their successful replies (see
//! `canister_common::fast_candid`), shared by every ledger. Fields are read
//! in Candid's wire order, by hash of the field name; the tests check every
//! decoder against the general one.
//!
//! The public functions are `#[inline]` so that they, and the general
//! Candid decoder they fall back on, are compiled in the canister's crate,
//! next to its other Candid decoding: compiled here, every generic of the
//! decoder would exist twice in the module (measured: the ICP ledger 438 KB
//! → 480 KB gzipped).

use candid::{Nat, Principal};
use canister_common::fast_candid::{
    KnownHeader, KnownReply, Reader, decode_one, encode_nat_result,
};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{Memo, TransferArg, TransferError};
use icrc_ledger_types::icrc2::approve::{ApproveArgs, ApproveError};
use icrc_ledger_types::icrc2::transfer_from::{TransferFromArgs, TransferFromError};

fn account(r: &mut Reader) -> Option<Account> {
    // owner, subaccount
    let owner = r.principal()?;
    let subaccount = r.opt(Reader::bytes32)?;
    Some(Account { owner, subaccount })
}

fn memo(r: &mut Reader) -> Option<Option<Memo>> {
    r.opt(|r| r.blob().map(|b| Memo::from(b.to_vec())))
}

fn opt_nat(r: &mut Reader) -> Option<Option<Nat>> {
    r.opt(Reader::nat)
}

fn opt_nat64(r: &mut Reader) -> Option<Option<u64>> {
    r.opt(Reader::nat64)
}

fn subaccount(r: &mut Reader) -> Option<Option<[u8; 32]>> {
    r.opt(Reader::bytes32)
}

fn zero() -> Nat {
    Nat::from(0u8)
}

fn sample_transfer_arg() -> TransferArg {
    TransferArg {
        from_subaccount: None,
        to: Account::from(Principal::anonymous()),
        amount: zero(),
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

static TRANSFER_ARG: KnownHeader = KnownHeader::new();

fn transfer_arg(r: &mut Reader) -> Option<TransferArg> {
    // to, fee, memo, from_subaccount, created_at_time, amount
    let to = account(r)?;
    let fee = opt_nat(r)?;
    let memo = memo(r)?;
    let from_subaccount = subaccount(r)?;
    let created_at_time = opt_nat64(r)?;
    let amount = r.nat()?;
    Some(TransferArg {
        from_subaccount,
        to,
        amount,
        fee,
        memo,
        created_at_time,
    })
}

#[inline]
pub fn decode_transfer_arg(message: Vec<u8>) -> TransferArg {
    decode_one(&message, &TRANSFER_ARG, sample_transfer_arg, transfer_arg)
}

/// ICRC-4 batches: a vector of transfer arguments.
static TRANSFER_BATCH: KnownHeader = KnownHeader::new();

#[inline]
pub fn decode_transfer_batch(message: Vec<u8>) -> Vec<TransferArg> {
    decode_one(
        &message,
        &TRANSFER_BATCH,
        || vec![sample_transfer_arg()],
        |r| r.vec(transfer_arg),
    )
}

fn sample_approve_args() -> ApproveArgs {
    ApproveArgs {
        from_subaccount: None,
        spender: Account::from(Principal::anonymous()),
        amount: zero(),
        expected_allowance: None,
        expires_at: None,
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

static APPROVE_ARGS: KnownHeader = KnownHeader::new();

#[inline]
pub fn decode_approve_args(message: Vec<u8>) -> ApproveArgs {
    decode_one(&message, &APPROVE_ARGS, sample_approve_args, |r| {
        // fee, memo, from_subaccount, created_at_time, amount,
        // expected_allowance, expires_at, spender
        let fee = opt_nat(r)?;
        let memo = memo(r)?;
        let from_subaccount = subaccount(r)?;
        let created_at_time = opt_nat64(r)?;
        let amount = r.nat()?;
        let expected_allowance = opt_nat(r)?;
        let expires_at = opt_nat64(r)?;
        let spender = account(r)?;
        Some(ApproveArgs {
            from_subaccount,
            spender,
            amount,
            expected_allowance,
            expires_at,
            fee,
            memo,
            created_at_time,
        })
    })
}

fn sample_transfer_from_args() -> TransferFromArgs {
    TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(Principal::anonymous()),
        to: Account::from(Principal::anonymous()),
        amount: zero(),
        fee: None,
        memo: None,
        created_at_time: None,
    }
}

static TRANSFER_FROM_ARGS: KnownHeader = KnownHeader::new();

#[inline]
pub fn decode_transfer_from_args(message: Vec<u8>) -> TransferFromArgs {
    decode_one(
        &message,
        &TRANSFER_FROM_ARGS,
        sample_transfer_from_args,
        |r| {
            // to, fee, spender_subaccount, from, memo, created_at_time, amount
            let to = account(r)?;
            let fee = opt_nat(r)?;
            let spender_subaccount = subaccount(r)?;
            let from = account(r)?;
            let memo = memo(r)?;
            let created_at_time = opt_nat64(r)?;
            let amount = r.nat()?;
            Some(TransferFromArgs {
                spender_subaccount,
                from,
                to,
                amount,
                fee,
                memo,
                created_at_time,
            })
        },
    )
}

static TRANSFER_REPLY: KnownReply = KnownReply::new();
static APPROVE_REPLY: KnownReply = KnownReply::new();
static TRANSFER_FROM_REPLY: KnownReply = KnownReply::new();

#[inline]
pub fn encode_transfer_result(result: Result<Nat, TransferError>) -> Vec<u8> {
    encode_nat_result(result, &TRANSFER_REPLY)
}

#[inline]
pub fn encode_approve_result(result: Result<Nat, ApproveError>) -> Vec<u8> {
    encode_nat_result(result, &APPROVE_REPLY)
}

#[inline]
pub fn encode_transfer_from_result(result: Result<Nat, TransferFromError>) -> Vec<u8> {
    encode_nat_result(result, &TRANSFER_FROM_REPLY)
}

/// The general decoder for callers that must not trap (ICRC-21 consent
/// messages decode another call's argument). Not generic on purpose: the
/// decoding code for each type is compiled once, here, and serves the
/// fast decoders' fallback as well (a generic would be compiled again in
/// every crate that calls it).
fn decode_general<T: candid::CandidType + serde::de::DeserializeOwned>(
    arg: &[u8],
) -> Result<T, String> {
    candid::decode_one(arg).map_err(|e| e.to_string())
}

#[inline]
pub fn try_decode_transfer_arg(arg: &[u8]) -> Result<TransferArg, String> {
    decode_general(arg)
}

#[inline]
pub fn try_decode_approve_args(arg: &[u8]) -> Result<ApproveArgs, String> {
    decode_general(arg)
}

#[inline]
pub fn try_decode_transfer_from_args(arg: &[u8]) -> Result<TransferFromArgs, String> {
    decode_general(arg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Encode;

    use canister_common::fast_candid::assert_fast_decoder as check;

    fn principal(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn accounts() -> Vec<Account> {
        vec![
            Account::from(principal(1)),
            Account {
                owner: Principal::management_canister(),
                subaccount: Some([7; 32]),
            },
        ]
    }

    fn nats() -> Vec<Nat> {
        vec![
            zero(),
            Nat::from(127u8),
            Nat::from(u64::MAX),
            Nat::from(u128::MAX),
        ]
    }

    #[test]
    fn transfer_args_decode_like_the_general_decoder() {
        for to in accounts() {
            for n in nats() {
                let full = TransferArg {
                    from_subaccount: Some([1; 32]),
                    to,
                    amount: n.clone(),
                    fee: Some(n.clone()),
                    memo: Some(Memo::from(vec![9; 32])),
                    created_at_time: Some(u64::MAX),
                };
                check(
                    full,
                    decode_transfer_arg,
                    &TRANSFER_ARG,
                    sample_transfer_arg,
                );
                check(
                    TransferArg {
                        to,
                        amount: n,
                        ..sample_transfer_arg()
                    },
                    decode_transfer_arg,
                    &TRANSFER_ARG,
                    sample_transfer_arg,
                );
            }
        }
    }

    #[test]
    fn transfer_batches_decode_like_the_general_decoder() {
        let items: Vec<TransferArg> = accounts()
            .into_iter()
            .zip(nats())
            .map(|(to, amount)| TransferArg {
                to,
                amount,
                memo: Some(Memo::from(vec![3; 5])),
                ..sample_transfer_arg()
            })
            .collect();
        for batch in [vec![], items] {
            check(batch, decode_transfer_batch, &TRANSFER_BATCH, || {
                vec![sample_transfer_arg()]
            });
        }
    }

    #[test]
    fn approve_args_decode_like_the_general_decoder() {
        for spender in accounts() {
            for n in nats() {
                let full = ApproveArgs {
                    from_subaccount: Some([2; 32]),
                    spender,
                    amount: n.clone(),
                    expected_allowance: Some(n.clone()),
                    expires_at: Some(5),
                    fee: Some(n.clone()),
                    memo: Some(Memo::from(vec![])),
                    created_at_time: Some(6),
                };
                check(
                    full,
                    decode_approve_args,
                    &APPROVE_ARGS,
                    sample_approve_args,
                );
                check(
                    ApproveArgs {
                        spender,
                        amount: n,
                        ..sample_approve_args()
                    },
                    decode_approve_args,
                    &APPROVE_ARGS,
                    sample_approve_args,
                );
            }
        }
    }

    #[test]
    fn transfer_from_args_decode_like_the_general_decoder() {
        for from in accounts() {
            for n in nats() {
                let full = TransferFromArgs {
                    spender_subaccount: Some([3; 32]),
                    from,
                    to: Account::from(principal(4)),
                    amount: n.clone(),
                    fee: Some(n.clone()),
                    memo: Some(Memo::from(vec![1])),
                    created_at_time: Some(7),
                };
                check(
                    full,
                    decode_transfer_from_args,
                    &TRANSFER_FROM_ARGS,
                    sample_transfer_from_args,
                );
                check(
                    TransferFromArgs {
                        from,
                        amount: n,
                        ..sample_transfer_from_args()
                    },
                    decode_transfer_from_args,
                    &TRANSFER_FROM_ARGS,
                    sample_transfer_from_args,
                );
            }
        }
    }

    #[test]
    fn replies_equal_the_general_encoding() {
        for n in nats() {
            assert_eq!(
                encode_transfer_result(Ok(n.clone())),
                Encode!(&Ok::<Nat, TransferError>(n.clone())).unwrap()
            );
            assert_eq!(
                encode_approve_result(Ok(n.clone())),
                Encode!(&Ok::<Nat, ApproveError>(n.clone())).unwrap()
            );
            assert_eq!(
                encode_transfer_from_result(Ok(n.clone())),
                Encode!(&Ok::<Nat, TransferFromError>(n)).unwrap()
            );
        }
        let err = TransferError::TooOld;
        assert_eq!(
            encode_transfer_result(Err(err.clone())),
            Encode!(&Err::<Nat, TransferError>(err)).unwrap()
        );
    }
}
