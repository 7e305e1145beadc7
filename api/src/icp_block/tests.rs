use super::*;
use candid::Principal;

fn account(n: u8) -> AccountIdentifier {
    AccountIdentifier::new(&Principal::from_slice(&[n, 1]), None)
}

fn hex32(text: &str) -> [u8; 32] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// The real ledger's published transaction-hash vector (its `src/lib.rs`).
#[test]
fn the_real_ledgers_transaction_hash_vector_is_reproduced() {
    let from = "e7a879ea563d273c46dd28c1584eaa132fad6f3e316615b3eb657d067f3519b5";
    let to = "207ec07185bedd0f2176ec2760057b8b7bc619a94d60e70fbc91af322a9f7e93";
    let tx = Transaction {
        operation: Operation::Transfer {
            from: AccountIdentifier::from_hex(from).unwrap(),
            to: AccountIdentifier::from_hex(to).unwrap(),
            spender: None,
            amount: 11_541_900_000,
            fee: 10_000,
        },
        memo: 5_432_845_643_782_906_771,
        icrc1_memo: None,
        created_at_time: Some(1_621_901_572_293_430_780),
    };
    let expected_cbor = [
        "a300a102a4007840",
        &hex::encode(from),
        "017840",
        &hex::encode(to),
        "02a1001b00000002aff36ae003a100192710011b4b6558541d356393",
        "02a1001b168226e305328dfc",
    ]
    .concat();
    assert_eq!(hex::encode(tx.to_cbor()), expected_cbor);
    assert_eq!(
        tx.hash(),
        hex32("be31664ef154456aec5df2e4acc7f23a715ad8ea33ad9dbcbb7e6e90bc5a8b8f")
    );
}

#[test]
fn absent_options_are_null_or_left_out_as_the_real_types_say() {
    let approve = Transaction {
        operation: Operation::Approve {
            from: account(1),
            spender: account(2),
            allowance: 5,
            expected_allowance: None,
            expires_at: Some(300),
            fee: 0,
        },
        memo: 0,
        icrc1_memo: Some(vec![0xab]),
        created_at_time: None,
    };
    let cbor = hex::encode(approve.to_cbor());
    // Four transaction fields (the memo is given), variant 3 with six fields.
    assert!(cbor.starts_with("a400a103a6007840"), "{cbor}");
    // expected_allowance null, expires_at {0: 300}, fee {0: 0}.
    assert!(cbor.contains("03f604a10019012c05a10000"), "{cbor}");
    // memo 0, created_at_time null, icrc1_memo as bytes.
    assert!(cbor.ends_with("010002f60341ab"), "{cbor}");

    let burn = Transaction {
        operation: Operation::Burn {
            from: account(1),
            spender: None,
            amount: 1,
        },
        memo: 24,
        icrc1_memo: None,
        created_at_time: None,
    };
    let cbor = hex::encode(burn.to_cbor());
    assert!(cbor.starts_with("a300a100a2007840"), "{cbor}");
    assert!(
        cbor.ends_with("01a100010118 1802f6".replace(' ', "").as_str()),
        "{cbor}"
    );
}

pub fn sample_blocks() -> Vec<Block> {
    let tx = |operation, memo, icrc1_memo: Option<&[u8]>, created_at_time| Transaction {
        operation,
        memo,
        icrc1_memo: icrc1_memo.map(<[u8]>::to_vec),
        created_at_time,
    };
    vec![
        Block {
            parent_hash: None,
            timestamp: 1,
            transaction: tx(
                Operation::Mint {
                    to: account(1),
                    amount: 100_000_000,
                },
                0,
                None,
                None,
            ),
        },
        Block {
            parent_hash: Some([7; 32]),
            timestamp: 2,
            transaction: tx(
                Operation::Burn {
                    from: account(1),
                    spender: Some(account(2)),
                    amount: 5,
                },
                9,
                Some(b"burn"),
                Some(3),
            ),
        },
        Block {
            parent_hash: Some([8; 32]),
            timestamp: u64::MAX,
            transaction: tx(
                Operation::Transfer {
                    from: account(1),
                    to: account(3),
                    spender: Some(account(5)),
                    amount: u64::MAX,
                    fee: 10_000,
                },
                u64::MAX,
                Some(&[0xff; 32]),
                None,
            ),
        },
        Block {
            parent_hash: Some([9; 32]),
            timestamp: 4,
            transaction: tx(
                Operation::Approve {
                    from: account(1),
                    spender: account(4),
                    allowance: 50,
                    expected_allowance: Some(0),
                    expires_at: Some(1_000),
                    fee: 10_000,
                },
                0,
                Some(b""),
                Some(4),
            ),
        },
        Block {
            parent_hash: Some([10; 32]),
            timestamp: 0,
            transaction: tx(
                Operation::Transfer {
                    from: account(1),
                    to: account(4),
                    spender: None,
                    amount: 0,
                    fee: 0,
                },
                1,
                None,
                None,
            ),
        },
    ]
}

#[test]
fn every_kind_of_block_round_trips_through_protobuf() {
    for block in sample_blocks() {
        assert_eq!(Block::from_protobuf(&block.to_protobuf()), Ok(block));
    }
}

#[test]
fn a_mint_encodes_field_by_field_as_prost_does() {
    let to = account(1);
    let block = &sample_blocks()[0];
    let mut expected = vec![0x12, 0x02, 0x08, 0x01]; // timestamp {1}
    expected.extend_from_slice(&[0x1a, 0x2f]); // transaction, 47 bytes
    expected.extend_from_slice(&[0x12, 0x2b]); // mint, 43 bytes
    expected.extend_from_slice(&[0x12, 0x22, 0x0a, 0x20]); // to {hash: 32 bytes}
    expected.extend_from_slice(to.as_bytes());
    expected.extend_from_slice(&[0x1a, 0x05, 0x08, 0x80, 0xc2, 0xd7, 0x2f]); // amount 1e8
    expected.extend_from_slice(&[0x22, 0x00]); // memo {} (0 is left out)
    assert_eq!(block.to_protobuf(), expected);
    assert_eq!(block.hash(), sha256(&expected));
}

#[test]
fn zero_tokens_are_present_and_unknown_fields_are_skipped() {
    let block = &sample_blocks()[4];
    let bytes = block.to_protobuf();
    // amount {} and max_fee {} inside send.
    let hex = hex::encode(&bytes);
    assert!(hex.contains("1a002200"), "{hex}");
    let mut extended = bytes.clone();
    extended.extend_from_slice(&[0x78, 0x05]); // field 15, varint 5
    assert_eq!(Block::from_protobuf(&extended).as_ref(), Ok(block));
}

#[test]
fn malformed_blocks_are_errors() {
    assert!(Block::from_protobuf(&[]).is_err());
    let mut bytes = sample_blocks()[2].to_protobuf();
    bytes.truncate(bytes.len() - 1);
    assert!(Block::from_protobuf(&bytes).is_err());
    // A 31-byte parent hash.
    let mut bytes = vec![0x0a, 0x21, 0x0a, 0x1f];
    bytes.extend_from_slice(&[0; 31]);
    bytes.extend_from_slice(&sample_blocks()[0].to_protobuf());
    assert!(Block::from_protobuf(&bytes).is_err());
}
