use super::*;
use crate::icrc::codec::StoredIcrcBlock;
use candid::Principal;
use ic_stable_structures::Storable;
use proptest::prelude::*;

fn account() -> impl Strategy<Value = Account> {
    (
        proptest::collection::vec(any::<u8>(), 0..=29),
        proptest::option::of(any::<[u8; 32]>()),
    )
        .prop_map(|(owner, subaccount)| Account {
            owner: Principal::from_slice(&owner),
            subaccount,
        })
}

fn operation() -> impl Strategy<Value = Operation<Account, u128>> {
    let n = || prop_oneof![Just(0u128), any::<u128>(), 0..1_000_000_000u128];
    prop_oneof![
        (account(), n()).prop_map(|(to, amount)| Operation::Mint { to, amount }),
        (account(), proptest::option::of(account()), n(), n()).prop_map(
            |(from, spender, amount, fee)| Operation::Burn {
                from,
                spender,
                amount,
                fee
            }
        ),
        (
            account(),
            account(),
            proptest::option::of(account()),
            n(),
            n()
        )
            .prop_map(|(from, to, spender, amount, fee)| Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee
            }),
        (
            account(),
            account(),
            n(),
            proptest::option::of(n()),
            proptest::option::of(any::<u64>()),
            n()
        )
            .prop_map(
                |(from, spender, allowance, expected_allowance, expires_at, fee)| {
                    Operation::Approve {
                        from,
                        spender,
                        allowance,
                        expected_allowance,
                        expires_at,
                        fee,
                    }
                }
            ),
    ]
}

fn block() -> impl Strategy<Value = IcrcBlock<u128>> {
    (
        operation(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=32)),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u128>()),
        proptest::option::of(any::<[u8; 32]>()),
        any::<u64>(),
    )
        .prop_map(
            |(operation, memo, created_at_time, fee, parent_hash, timestamp)| IcrcBlock {
                parent_hash,
                transaction: IcrcTransaction {
                    operation,
                    memo,
                    created_at_time,
                    fee,
                },
                timestamp,
            },
        )
}

proptest! {
    #[test]
    fn the_fast_hash_is_the_generic_value_hash(block in block()) {
        prop_assert_eq!(block_hash(&block), block_value(&block).hash());
        let ICRC3Value::Map(map) = block_value(&block) else { unreachable!() };
        prop_assert_eq!(transaction_hash(&block.transaction), map[key::TX].clone().hash());
    }

    #[test]
    fn stored_blocks_read_back_unchanged(block in block()) {
        let stored = StoredIcrcBlock(block.clone());
        prop_assert_eq!(StoredIcrcBlock::<u128>::from_bytes(stored.to_bytes()).0, block);
    }
}

#[test]
fn a_transfer_is_the_map_the_cycles_ledger_writes() {
    let owner = Principal::from_slice(&[1, 2, 3]);
    let from = Account {
        owner,
        subaccount: None,
    };
    // An explicit default subaccount is kept as given.
    let to = Account {
        owner,
        subaccount: Some([0; 32]),
    };
    let block = IcrcBlock {
        parent_hash: Some([7; 32]),
        transaction: IcrcTransaction {
            operation: Operation::Transfer {
                from,
                to,
                spender: None,
                amount: 5u128,
                fee: 100_000_000,
            },
            memo: Some(vec![9]),
            created_at_time: Some(42),
            fee: None,
        },
        timestamp: 1_000,
    };
    let blob = |b: &[u8]| ICRC3Value::Blob(ByteBuf::from(b.to_vec()));
    let nat = |n: u128| ICRC3Value::Nat(Nat::from(n));
    let tx = ICRC3Map::from([
        ("op".to_string(), ICRC3Value::Text("xfer".into())),
        (
            "from".to_string(),
            ICRC3Value::Array(vec![blob(&[1, 2, 3])]),
        ),
        (
            "to".to_string(),
            ICRC3Value::Array(vec![blob(&[1, 2, 3]), blob(&[0; 32])]),
        ),
        ("amt".to_string(), nat(5)),
        ("memo".to_string(), blob(&[9])),
        ("ts".to_string(), nat(42)),
    ]);
    let expected = ICRC3Value::Map(ICRC3Map::from([
        ("phash".to_string(), blob(&[7; 32])),
        ("ts".to_string(), nat(1_000)),
        // The caller named no fee: the block records the one charged.
        ("fee".to_string(), nat(100_000_000)),
        ("tx".to_string(), ICRC3Value::Map(tx)),
    ]));
    assert_eq!(block_value(&block), expected);
    // Naming the fee moves it into the transaction: another request.
    let mut named = block.clone();
    named.transaction.fee = Some(100_000_000);
    assert_ne!(
        transaction_hash(&named.transaction),
        transaction_hash(&block.transaction)
    );
    let ICRC3Value::Map(map) = block_value(&named) else {
        unreachable!()
    };
    assert!(!map.contains_key("fee"));
}

#[test]
fn leb128_matches_the_standard_examples() {
    let mut buf = [0; 19];
    for (n, expected) in [
        (0u128, &[0u8][..]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (624_485, &[0xe5, 0x8e, 0x26]),
    ] {
        let len = leb128(n, &mut buf);
        assert_eq!(&buf[..len], expected, "{n}");
    }
    assert_eq!(leb128(u128::MAX, &mut buf), 19);
}

#[test]
fn the_tip_tree_holds_the_standard_labels() {
    use crate::icrc::certification::{tip_root_hash, tip_tree_cbor};
    use ic_certification::{HashTree, LookupResult};
    let tip = Some((624_485, [9; 32]));
    let tree: HashTree = serde_cbor::from_slice(&tip_tree_cbor(tip)).unwrap();
    assert_eq!(tree.digest(), tip_root_hash(tip));
    assert_eq!(
        tree.lookup_path([b"last_block_hash"]),
        LookupResult::Found(&[9; 32][..])
    );
    assert_eq!(
        tree.lookup_path([b"last_block_index"]),
        LookupResult::Found(&[0xe5, 0x8e, 0x26][..])
    );
}
