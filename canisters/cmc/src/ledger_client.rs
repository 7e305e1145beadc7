//! The CMC's calls to the ledger: read a notified block, and burn or
//! refund with a fixed `created_at_time`, so that the ledger deduplicates
//! a retry.

use candid::Principal;
use canister_common::candid_reader::{self, Cursor, DecodeError, Type, decode_first, field};
use canister_common::ledger_client::{
    CallFailure, decode_transfer_result, read_timestamp, read_tokens,
};
use ic_cdk::call::Call;
use nns_api::AccountIdentifier;
use nns_api::ledger::{
    CandidBlock, CandidOperation, CandidTransaction, GetBlocksArgs, Memo, TimeStamp, Tokens,
    TransferArgs, TransferError,
};
use serde_bytes::ByteBuf;

/// A legacy transfer out of one of the CMC's subaccounts (to the minting
/// account: a burn, fee 0), stamped `created_at_time` (nanoseconds).
pub async fn transfer(
    ledger: Principal,
    from_subaccount: [u8; 32],
    to: AccountIdentifier,
    amount_e8s: u64,
    fee_e8s: u64,
    memo: u64,
    created_at_time: u64,
) -> Result<Result<u64, TransferError>, CallFailure> {
    let args = TransferArgs {
        memo: Memo(memo),
        amount: Tokens::from_e8s(amount_e8s),
        fee: Tokens::from_e8s(fee_e8s),
        from_subaccount: Some(from_subaccount),
        to,
        created_at_time: Some(TimeStamp {
            timestamp_nanos: created_at_time,
        }),
    };
    let response = Call::unbounded_wait(ledger, "transfer")
        .with_arg(args)
        .await
        .map_err(CallFailure::from_call)?;
    decode_transfer_result(&response).map_err(|e| CallFailure::undecodable(e, false))
}

/// The block at `index`, or `None` if the chain is shorter.
pub async fn fetch_block(
    ledger: Principal,
    index: u64,
) -> Result<Option<CandidBlock>, CallFailure> {
    let response = Call::unbounded_wait(ledger, "query_blocks")
        .with_arg(GetBlocksArgs {
            start: index,
            length: 1,
        })
        .await
        .map_err(CallFailure::from_call)?;
    decode_first_block(&response, index).map_err(|e| CallFailure::undecodable(e, true))
}

/// The first block of a `QueryBlocksResponse` if it is block `index`. Only
/// transfers are kept as operations: any other operation reads as `None`,
/// which for the CMC means the same (the block cannot pay for anything).
pub fn decode_first_block(reply: &[u8], index: u64) -> candid_reader::Result<Option<CandidBlock>> {
    const FIRST_BLOCK_INDEX: u32 = field("first_block_index");
    const BLOCKS: u32 = field("blocks");
    decode_first(reply, |c, ty| {
        let (mut first_index, mut block) = (None, None);
        c.record(ty, |c, hash, ty| {
            match hash {
                FIRST_BLOCK_INDEX => first_index = Some(c.nat64(ty)?),
                BLOCKS => c.vec(ty, |c, i, ty| {
                    if i == 0 {
                        block = Some(read_block(c, ty)?);
                        Ok(())
                    } else {
                        c.skip(ty)
                    }
                })?,
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        let first_index = candid_reader::required(first_index, "first_block_index")?;
        Ok(block.filter(|_| first_index == index))
    })
}

fn read_block(c: &mut Cursor, ty: Type) -> candid_reader::Result<CandidBlock> {
    const PARENT_HASH: u32 = field("parent_hash");
    const TRANSACTION: u32 = field("transaction");
    const TIMESTAMP: u32 = field("timestamp");
    let (mut parent_hash, mut transaction, mut timestamp) = (None, None, None);
    c.record(ty, |c, hash, ty| {
        match hash {
            PARENT_HASH => parent_hash = c.opt(ty, read_byte_buf)?,
            TRANSACTION => transaction = Some(read_transaction(c, ty)?),
            TIMESTAMP => timestamp = Some(read_timestamp(c, ty)?),
            _ => c.skip(ty)?,
        }
        Ok(())
    })?;
    Ok(CandidBlock {
        parent_hash,
        transaction: candid_reader::required(transaction, "transaction")?,
        timestamp: TimeStamp {
            timestamp_nanos: candid_reader::required(timestamp, "timestamp")?,
        },
    })
}

fn read_byte_buf(c: &mut Cursor, ty: Type) -> candid_reader::Result<ByteBuf> {
    c.blob(ty).map(|b| ByteBuf::from(b.to_vec()))
}

fn read_transaction(c: &mut Cursor, ty: Type) -> candid_reader::Result<CandidTransaction> {
    const MEMO: u32 = field("memo");
    const ICRC1_MEMO: u32 = field("icrc1_memo");
    const OPERATION: u32 = field("operation");
    const CREATED_AT_TIME: u32 = field("created_at_time");
    let (mut memo, mut icrc1_memo, mut operation, mut created_at) = (None, None, None, None);
    c.record(ty, |c, hash, ty| {
        match hash {
            MEMO => memo = Some(c.nat64(ty)?),
            ICRC1_MEMO => icrc1_memo = c.opt(ty, read_byte_buf)?,
            OPERATION => operation = c.opt(ty, read_transfer)?.flatten(),
            CREATED_AT_TIME => created_at = Some(read_timestamp(c, ty)?),
            _ => c.skip(ty)?,
        }
        Ok(())
    })?;
    Ok(CandidTransaction {
        memo: candid_reader::required(memo, "memo")?,
        icrc1_memo,
        operation,
        created_at_time: TimeStamp {
            timestamp_nanos: candid_reader::required(created_at, "created_at_time")?,
        },
    })
}

/// The operation if it is a `Transfer`; other operations are skipped.
fn read_transfer(c: &mut Cursor, ty: Type) -> candid_reader::Result<Option<CandidOperation>> {
    const TRANSFER: u32 = field("Transfer");
    const FROM: u32 = field("from");
    const TO: u32 = field("to");
    const AMOUNT: u32 = field("amount");
    const FEE: u32 = field("fee");
    const SPENDER: u32 = field("spender");
    let (case, ty) = c.variant(ty)?;
    if case != TRANSFER {
        c.skip(ty)?;
        return Ok(None);
    }
    let (mut from, mut to, mut amount, mut fee, mut spender) = (None, None, None, None, None);
    c.record(ty, |c, hash, ty| {
        match hash {
            FROM => from = Some(read_account(c, ty)?),
            TO => to = Some(read_account(c, ty)?),
            AMOUNT => amount = Some(read_tokens(c, ty)?),
            FEE => fee = Some(read_tokens(c, ty)?),
            SPENDER => spender = c.opt(ty, read_byte_buf)?,
            _ => c.skip(ty)?,
        }
        Ok(())
    })?;
    Ok(Some(CandidOperation::Transfer {
        from: candid_reader::required(from, "from")?,
        to: candid_reader::required(to, "to")?,
        amount: Tokens::from_e8s(candid_reader::required(amount, "amount")?),
        fee: Tokens::from_e8s(candid_reader::required(fee, "fee")?),
        spender,
    }))
}

fn read_account(c: &mut Cursor, ty: Type) -> candid_reader::Result<AccountIdentifier> {
    let bytes = c.blob(ty)?;
    AccountIdentifier::from_slice(bytes)
        .map_err(|e| DecodeError(format!("account identifier: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Encode;
    use icrc_ledger_types::icrc3::archive::QueryArchiveFn;
    use nns_api::ledger::{ArchivedBlocksRange, QueryBlocksResponse};

    fn account(n: u8) -> AccountIdentifier {
        AccountIdentifier::new(&Principal::from_slice(&[n]), None)
    }

    fn block(operation: CandidOperation, n: u8) -> CandidBlock {
        CandidBlock {
            parent_hash: (n > 0).then(|| ByteBuf::from(vec![n; 32])),
            transaction: CandidTransaction {
                memo: u64::from(n) * 1_000,
                icrc1_memo: n.is_multiple_of(2).then(|| ByteBuf::from(vec![n; 8])),
                operation: Some(operation),
                created_at_time: TimeStamp {
                    timestamp_nanos: u64::from(n) + 7,
                },
            },
            timestamp: TimeStamp {
                timestamp_nanos: u64::from(n) << 40,
            },
        }
    }

    fn transfer(n: u8, spender: Option<u8>) -> CandidOperation {
        CandidOperation::Transfer {
            from: account(n),
            to: account(n + 1),
            amount: Tokens::from_e8s(u64::from(n) * 100_000_000),
            fee: Tokens::from_e8s(10_000),
            spender: spender.map(|s| ByteBuf::from(account(s).as_bytes().to_vec())),
        }
    }

    fn others() -> Vec<CandidOperation> {
        vec![
            CandidOperation::Mint {
                to: account(1),
                amount: Tokens::from_e8s(5),
            },
            CandidOperation::Burn {
                from: account(2),
                spender: Some(account(3)),
                amount: Tokens::from_e8s(6),
            },
            CandidOperation::Approve {
                from: account(4),
                spender: account(5),
                allowance_e8s: candid::Int::from(-1),
                allowance: Tokens::from_e8s(7),
                fee: Tokens::from_e8s(10_000),
                expires_at: Some(TimeStamp { timestamp_nanos: 9 }),
                expected_allowance: None,
            },
        ]
    }

    fn response(first_block_index: u64, blocks: Vec<CandidBlock>) -> Vec<u8> {
        let callback: QueryArchiveFn<GetBlocksArgs, nns_api::ledger::QueryArchiveResult> =
            QueryArchiveFn::new(Principal::from_slice(&[9]), "get_blocks");
        Encode!(&QueryBlocksResponse {
            chain_length: 99,
            certificate: Some(ByteBuf::from(vec![1, 2, 3])),
            blocks,
            first_block_index,
            archived_blocks: vec![ArchivedBlocksRange {
                start: 0,
                length: 3,
                callback,
            }],
        })
        .unwrap()
    }

    #[test]
    fn a_transfer_block_reads_exactly_as_candid_encoded_it() {
        for (n, spender) in [(0, None), (1, Some(7)), (2, None)] {
            let expected = block(transfer(n, spender), n);
            let reply = response(5, vec![expected.clone(), block(transfer(9, None), 9)]);
            assert_eq!(decode_first_block(&reply, 5), Ok(Some(expected)));
        }
    }

    #[test]
    fn other_operations_read_as_no_operation() {
        for operation in others() {
            let reply = response(5, vec![block(operation, 3)]);
            let read = decode_first_block(&reply, 5).unwrap().unwrap();
            assert_eq!(read.transaction.operation, None);
            assert_eq!(read.transaction.memo, 3_000);
        }
    }

    #[test]
    fn no_block_or_another_block_is_none() {
        assert_eq!(decode_first_block(&response(5, vec![]), 5), Ok(None));
        let reply = response(4, vec![block(transfer(1, None), 1)]);
        assert_eq!(decode_first_block(&reply, 5), Ok(None));
    }

    #[test]
    fn malformed_replies_are_errors() {
        let reply = response(5, vec![block(transfer(1, None), 1)]);
        for len in [0, 4, 10, reply.len() / 2, reply.len() - 1] {
            assert!(decode_first_block(&reply[..len], 5).is_err());
        }
        assert!(decode_first_block(&Encode!(&5u64).unwrap(), 5).is_err());
        // An account identifier with a bad checksum.
        let good = account(1);
        let mut bad = *good.as_bytes();
        bad[0] ^= 1;
        let reply = response(5, vec![block(transfer(1, None), 1)]);
        let corrupted = replace(&reply, good.as_bytes(), &bad);
        assert!(
            decode_first_block(&corrupted, 5)
                .unwrap_err()
                .0
                .contains("account identifier")
        );
    }

    fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
        let at = haystack
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        let mut out = haystack.to_vec();
        out[at..at + needle.len()].copy_from_slice(with);
        out
    }

    #[test]
    fn the_reader_agrees_with_candid_on_a_real_shape() {
        // The serde decoder, kept for tests only, on the same bytes.
        let expected = block(transfer(2, Some(4)), 2);
        let reply = response(8, vec![expected.clone()]);
        let decoded: QueryBlocksResponse = candid::decode_one(&reply).unwrap();
        assert_eq!(decoded.blocks[0], expected);
        assert_eq!(decode_first_block(&reply, 8), Ok(Some(expected)));
    }
}
