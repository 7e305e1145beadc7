//! Fast Candid decoding of the ICP ledger's own transaction endpoints'
//! arguments and encoding of their replies (see
//! `canister_common::fast_candid`); the ICRC-1/2 ones are the ledger
//! core's (`ledger_core::icrc::wire`). The tests check every decoder
//! against the general one.

use candid::Principal;
use canister_common::fast_candid::{KnownHeader, KnownReply, decode_one, encode_nat64_result};
pub use ledger_core::icrc::wire::{
    decode_approve_args, decode_transfer_arg, decode_transfer_batch, decode_transfer_from_args,
    encode_approve_result, encode_transfer_from_result, encode_transfer_result,
};
use nns_api::AccountIdentifier;
use nns_api::ledger::{
    Memo as IcpMemo, TimeStamp, Tokens, TransferArgs, TransferError as IcpTransferError,
};

fn subaccount(r: &mut canister_common::fast_candid::Reader) -> Option<Option<[u8; 32]>> {
    r.opt(canister_common::fast_candid::Reader::bytes32)
}

fn sample_legacy_transfer_args() -> TransferArgs {
    TransferArgs {
        memo: IcpMemo(0),
        amount: Tokens::from_e8s(0),
        fee: Tokens::from_e8s(0),
        from_subaccount: None,
        to: AccountIdentifier::new(&Principal::anonymous(), None),
        created_at_time: None,
    }
}

static LEGACY_TRANSFER_ARGS: KnownHeader = KnownHeader::new();

pub fn decode_legacy_transfer_args(message: Vec<u8>) -> TransferArgs {
    decode_one(
        &message,
        &LEGACY_TRANSFER_ARGS,
        sample_legacy_transfer_args,
        |r| {
            // to, fee, memo, from_subaccount, created_at_time, amount
            // The general decoder would refuse it too, with a less clear message.
            let to = AccountIdentifier::from_slice(r.blob()?)
                .unwrap_or_else(|e| panic!("invalid account identifier in `to`: {e}"));
            let fee = Tokens::from_e8s(r.nat64()?);
            let memo = IcpMemo(r.nat64()?);
            let from_subaccount = subaccount(r)?;
            let created_at_time = r.opt(|r| {
                r.nat64()
                    .map(|timestamp_nanos| TimeStamp { timestamp_nanos })
            })?;
            let amount = Tokens::from_e8s(r.nat64()?);
            Some(TransferArgs {
                memo,
                amount,
                fee,
                from_subaccount,
                to,
                created_at_time,
            })
        },
    )
}

static LEGACY_TRANSFER_REPLY: KnownReply = KnownReply::new();

pub fn encode_legacy_transfer_result(result: Result<u64, IcpTransferError>) -> Vec<u8> {
    encode_nat64_result(result, &LEGACY_TRANSFER_REPLY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Encode;

    use canister_common::fast_candid::assert_fast_decoder as check;

    fn principal(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    #[test]
    fn legacy_transfer_args_decode_like_the_general_decoder() {
        for e8s in [0, 1, u64::MAX] {
            let full = TransferArgs {
                memo: IcpMemo(e8s),
                amount: Tokens::from_e8s(e8s),
                fee: Tokens::from_e8s(10_000),
                from_subaccount: Some([4; 32]),
                to: AccountIdentifier::new(&principal(5), Some(&[5; 32])),
                created_at_time: Some(TimeStamp {
                    timestamp_nanos: e8s,
                }),
            };
            check(
                full,
                decode_legacy_transfer_args,
                &LEGACY_TRANSFER_ARGS,
                sample_legacy_transfer_args,
            );
        }
        check(
            sample_legacy_transfer_args(),
            decode_legacy_transfer_args,
            &LEGACY_TRANSFER_ARGS,
            sample_legacy_transfer_args,
        );
    }

    #[test]
    #[should_panic(expected = "checksum")]
    fn a_bad_checksum_gets_the_general_decoders_error() {
        let args = sample_legacy_transfer_args();
        let mut bytes = Encode!(&args).unwrap();
        let at = bytes
            .windows(32)
            .position(|w| w == args.to.as_bytes())
            .unwrap();
        bytes[at] ^= 1;
        decode_legacy_transfer_args(bytes);
    }

    #[test]
    fn the_legacy_reply_equals_the_general_encoding() {
        assert_eq!(
            encode_legacy_transfer_result(Ok(42)),
            Encode!(&Ok::<u64, IcpTransferError>(42)).unwrap()
        );
    }
}
