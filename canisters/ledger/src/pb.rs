//! The arguments and replies of the `*_pb` endpoints: protobuf messages of
//! the real ledger's `ic_ledger.pb.v1` package, which Rosetta and hardware
//! wallets still speak. Field numbers are those of its `.proto` files.

use nns_api::AccountIdentifier;
use nns_api::ledger::{Memo, TimeStamp, Tokens, TransferArgs};
use nns_api::protobuf::{self, DecodeError, Reader};

/// The fee `send_pb` assumes when the request names none, as the real one.
const DEFAULT_MAX_FEE_E8S: u64 = 10_000;

/// Reads `SendRequest{1 memo, 2 payment{1 receiver_gets}, 3 max_fee,
/// 4 from_subaccount, 5 to, 6 created_at (obsolete), 7 created_at_time}`.
pub fn send_request(bytes: &[u8]) -> Result<TransferArgs, DecodeError> {
    let mut memo = 0;
    let mut amount = None;
    let mut fee = DEFAULT_MAX_FEE_E8S;
    let mut from_subaccount = None;
    let mut to = None;
    let mut created_at_time = None;
    let mut fields = Reader::new(bytes);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => memo = value.wrapped_u64()?,
            2 => {
                let mut payment = Reader::new(value.as_bytes()?);
                while let Some((field, value)) = payment.next_field()? {
                    if field == 1 {
                        amount = Some(value.wrapped_u64()?);
                    }
                }
            }
            3 => fee = value.wrapped_u64()?,
            4 => {
                let subaccount: [u8; 32] = value
                    .wrapped_bytes()?
                    .try_into()
                    .map_err(|_| DecodeError("a subaccount is 32 bytes".into()))?;
                from_subaccount = Some(subaccount);
            }
            5 => to = Some(account_identifier(value.wrapped_bytes()?)?),
            7 => created_at_time = Some(value.wrapped_u64()?),
            _ => {}
        }
    }
    Ok(TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(
            amount.ok_or_else(|| DecodeError("the payment is missing".into()))?,
        ),
        fee: Tokens::from_e8s(fee),
        from_subaccount,
        to: to.ok_or_else(|| DecodeError("the \"to\" field is missing".into()))?,
        created_at_time: created_at_time.map(|timestamp_nanos| TimeStamp { timestamp_nanos }),
    })
}

fn account_identifier(bytes: &[u8]) -> Result<AccountIdentifier, DecodeError> {
    AccountIdentifier::from_slice_or_hash(bytes)
        .map_err(|e| DecodeError(format!("invalid account identifier: {e}")))
}

/// Reads a message whose only field 1 is a `uint64` (`BlockRequest`), or
/// a wrapper of one (`AccountBalanceRequest` holds an account identifier).
fn first_field(bytes: &[u8]) -> Result<Option<protobuf::Value<'_>>, DecodeError> {
    let mut found = None;
    let mut fields = Reader::new(bytes);
    while let Some((field, value)) = fields.next_field()? {
        if field == 1 {
            found = Some(value);
        }
    }
    Ok(found)
}

/// `BlockRequest{1 block_height}`.
pub fn block_request(bytes: &[u8]) -> Result<u64, DecodeError> {
    first_field(bytes)?.map_or(Ok(0), |value| value.as_u64())
}

/// `AccountBalanceRequest{1 account}`.
pub fn account_balance_request(bytes: &[u8]) -> Result<AccountIdentifier, DecodeError> {
    let value = first_field(bytes)?.ok_or_else(|| DecodeError("the account is missing".into()))?;
    account_identifier(value.wrapped_bytes()?)
}

/// `GetBlocksRequest` and `IterBlocksRequest`: `{1 start, 2 length}`.
pub fn range_request(bytes: &[u8]) -> Result<(u64, u64), DecodeError> {
    let (mut start, mut length) = (0, 0);
    let mut fields = Reader::new(bytes);
    while let Some((field, value)) = fields.next_field()? {
        match field {
            1 => start = value.as_u64()?,
            2 => length = value.as_u64()?,
            _ => {}
        }
    }
    Ok((start, length))
}

/// Requests without fields (`TipOfChainRequest`, `TransferFeeRequest`,
/// `TotalSupplyRequest`) must still be well-formed.
pub fn empty_request(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut fields = Reader::new(bytes);
    while fields.next_field()?.is_some() {}
    Ok(())
}

/// `BlockIndex{1 height}`, `send_pb`'s reply.
pub fn block_index(height: u64) -> Vec<u8> {
    protobuf::encode(|w| {
        w.uint64(1, height);
    })
}

/// `Tokens{1 e8s}`, the reply of `account_balance_pb` and `total_supply_pb`.
pub fn tokens(e8s: u64) -> Vec<u8> {
    protobuf::encode(|w| {
        w.uint64(1, e8s);
    })
}

/// `TransferFeeResponse{1 transfer_fee}`.
pub fn transfer_fee_response(e8s: u64) -> Vec<u8> {
    protobuf::encode(|w| {
        w.wrapped_uint64(1, e8s);
    })
}

/// `TipOfChainResponse{1 certification, 2 chain_length}`; the real ledger
/// puts the tip's index in `chain_length`.
pub fn tip_of_chain_response(certificate: Option<&[u8]>, tip_index: u64) -> Vec<u8> {
    protobuf::encode(|w| {
        if let Some(certificate) = certificate {
            w.wrapped_bytes(1, certificate);
        }
        w.wrapped_uint64(2, tip_index);
    })
}

/// `BlockResponse{oneof {1 EncodedBlock block}}`; nothing for a block that
/// does not exist.
pub fn block_response(block: Option<&[u8]>) -> Vec<u8> {
    protobuf::encode(|w| {
        if let Some(block) = block {
            w.wrapped_bytes(1, block);
        }
    })
}

/// `EncodedBlocks{repeated EncodedBlock blocks = 1}`, which is also
/// `IterBlocksResponse`.
fn write_encoded_blocks(w: &mut protobuf::Writer, blocks: &[Vec<u8>]) {
    for block in blocks {
        // Each `EncodedBlock{1 block}` is present even if empty.
        w.message(1, |w| {
            w.bytes(1, block);
        });
    }
}

pub fn iter_blocks_response(blocks: &[Vec<u8>]) -> Vec<u8> {
    protobuf::encode(|w| write_encoded_blocks(w, blocks))
}

/// `GetBlocksResponse{oneof {1 EncodedBlocks blocks, 2 string error}}`.
pub fn get_blocks_response(result: Result<&[Vec<u8>], &str>) -> Vec<u8> {
    protobuf::encode(|w| match result {
        Ok(blocks) => {
            w.message(1, |w| write_encoded_blocks(w, blocks));
        }
        Err(error) => {
            w.bytes(2, error.as_bytes());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    fn to() -> AccountIdentifier {
        AccountIdentifier::new(&Principal::from_slice(&[9, 1]), None)
    }

    #[test]
    fn a_send_request_reads_every_field_and_defaults_as_the_real_one() {
        let to = to();
        let bytes = protobuf::encode(|w| {
            w.wrapped_uint64(1, 77)
                .message(2, |w| {
                    w.wrapped_uint64(1, 5_000);
                })
                .wrapped_uint64(3, 10_000)
                .wrapped_bytes(4, &[3; 32])
                .wrapped_bytes(5, to.as_bytes())
                .wrapped_uint64(6, 999)
                .wrapped_uint64(7, 1_234);
        });
        let args = send_request(&bytes).unwrap();
        assert_eq!(args.memo, Memo(77));
        assert_eq!(args.amount, Tokens::from_e8s(5_000));
        assert_eq!(args.fee, Tokens::from_e8s(10_000));
        assert_eq!(args.from_subaccount, Some([3; 32]));
        assert_eq!(args.to, to);
        assert_eq!(
            args.created_at_time,
            Some(TimeStamp {
                timestamp_nanos: 1_234
            })
        );

        // Only the payment and the destination are required.
        let bytes = protobuf::encode(|w| {
            w.message(2, |w| {
                w.wrapped_uint64(1, 1);
            })
            .wrapped_bytes(5, to.as_bytes());
        });
        let args = send_request(&bytes).unwrap();
        assert_eq!((args.memo, args.fee), (Memo(0), Tokens::from_e8s(10_000)));
        assert_eq!((args.from_subaccount, args.created_at_time), (None, None));
        assert!(send_request(&[]).unwrap_err().0.contains("payment"));
    }

    #[test]
    fn a_bad_account_identifier_or_subaccount_is_refused() {
        let mut bad = *to().as_bytes();
        bad[0] ^= 1;
        let bytes = protobuf::encode(|w| {
            w.message(2, |_| {}).wrapped_bytes(5, &bad);
        });
        assert!(send_request(&bytes).unwrap_err().0.contains("checksum"));
        let bytes = protobuf::encode(|w| {
            w.wrapped_bytes(1, &bad[..31]);
        });
        assert!(account_balance_request(&bytes).is_err());
        let bytes = protobuf::encode(|w| {
            w.wrapped_bytes(4, &[0; 31]);
        });
        assert!(send_request(&bytes).unwrap_err().0.contains("subaccount"));
    }

    #[test]
    fn replies_are_the_messages_the_proto_files_define() {
        assert_eq!(block_index(300), [0x08, 0xac, 0x02]);
        assert_eq!(tokens(0), Vec::<u8>::new());
        assert_eq!(
            transfer_fee_response(10_000),
            [0x0a, 0x03, 0x08, 0x90, 0x4e]
        );
        assert_eq!(
            tip_of_chain_response(Some(&[1, 2]), 0),
            [0x0a, 0x04, 0x0a, 0x02, 1, 2, 0x12, 0x00]
        );
        assert_eq!(block_response(None), Vec::<u8>::new());
        assert_eq!(block_response(Some(&[5])), [0x0a, 0x03, 0x0a, 0x01, 5]);
        let blocks = vec![vec![1], vec![2, 3]];
        assert_eq!(
            iter_blocks_response(&blocks),
            [0x0a, 0x03, 0x0a, 0x01, 1, 0x0a, 0x04, 0x0a, 0x02, 2, 3]
        );
        assert_eq!(
            get_blocks_response(Ok(&blocks)),
            [
                0x0a, 0x0b, 0x0a, 0x03, 0x0a, 0x01, 1, 0x0a, 0x04, 0x0a, 0x02, 2, 3
            ]
        );
        assert_eq!(get_blocks_response(Err("no")), [0x12, 0x02, b'n', b'o']);
    }

    #[test]
    fn requests_read_their_fields() {
        assert_eq!(block_request(&[0x08, 0x07]), Ok(7));
        assert_eq!(block_request(&[]), Ok(0));
        assert_eq!(range_request(&[0x08, 0x02, 0x10, 0x05]), Ok((2, 5)));
        assert_eq!(empty_request(&[]), Ok(()));
        assert!(empty_request(&[0x0a, 0x05]).is_err());
        let account = to();
        let bytes = protobuf::encode(|w| {
            w.wrapped_bytes(1, account.as_bytes());
        });
        assert_eq!(account_balance_request(&bytes), Ok(account));
    }
}
