//! The ledger's own encoders (`nns_api::icp_block`, which the canister and
//! the index run) against the independent references of this crate: the
//! real `.proto` files compiled at test time, and the real types' packed
//! CBOR. Random blocks of every kind must agree byte for byte.

#[cfg(test)]
mod tests {
    use crate::{icp_proto, icp_tx_hash};
    use candid::Principal;
    use nns_api::AccountIdentifier;
    use nns_api::icp_block::{Block, Operation, Transaction};
    use nns_api::ledger::{CandidBlock, TimeStamp};
    use proptest::prelude::*;

    fn account() -> impl Strategy<Value = AccountIdentifier> {
        (any::<[u8; 4]>(), proptest::option::of(any::<[u8; 32]>())).prop_map(
            |(principal, subaccount)| {
                AccountIdentifier::new(&Principal::from_slice(&principal), subaccount.as_ref())
            },
        )
    }

    /// Amounts around the varint and CBOR length boundaries, zero included.
    fn amount() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            0u64..300,
            prop::sample::select(vec![23, 24, 255, 256, 65_535, 65_536, u64::from(u32::MAX)]),
            any::<u64>(),
        ]
    }

    fn operation() -> impl Strategy<Value = Operation> {
        let opt_account = || proptest::option::of(account());
        let opt_amount = || proptest::option::of(amount());
        prop_oneof![
            (account(), amount()).prop_map(|(to, amount)| Operation::Mint { to, amount }),
            (account(), opt_account(), amount()).prop_map(|(from, spender, amount)| {
                Operation::Burn {
                    from,
                    spender,
                    amount,
                }
            }),
            (account(), account(), opt_account(), amount(), amount()).prop_map(
                |(from, to, spender, amount, fee)| Operation::Transfer {
                    from,
                    to,
                    spender,
                    amount,
                    fee,
                }
            ),
            (
                account(),
                account(),
                amount(),
                opt_amount(),
                opt_amount(),
                amount()
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

    fn block() -> impl Strategy<Value = Block> {
        (
            proptest::option::of(any::<[u8; 32]>()),
            operation(),
            amount(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=32)),
            proptest::option::of(amount()),
            amount(),
        )
            .prop_map(
                |(parent_hash, operation, memo, icrc1_memo, created_at_time, timestamp)| Block {
                    parent_hash,
                    transaction: Transaction {
                        operation,
                        memo,
                        icrc1_memo,
                        created_at_time,
                    },
                    timestamp,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").map_or(256, |n| n.parse().unwrap())
        ))]

        #[test]
        fn blocks_and_transaction_hashes_agree_with_the_references(block in block()) {
            let Some(pool) = icp_proto::descriptors_or_skip() else {
                return Ok(());
            };
            let created_at_time = block
                .transaction
                .created_at_time
                .map(|timestamp_nanos| TimeStamp { timestamp_nanos });
            let candid = CandidBlock::from(block.clone());
            let bytes = block.to_protobuf();
            prop_assert_eq!(
                &icp_proto::encode_block_with_created_at_time(&pool, &candid, created_at_time),
                &bytes
            );
            prop_assert_eq!(
                icp_proto::decode_block_with_created_at_time(&pool, &bytes),
                (candid.clone(), created_at_time)
            );
            prop_assert_eq!(block.hash(), icp_proto::block_hash(&bytes));
            prop_assert_eq!(
                block.transaction.hash(),
                icp_tx_hash::transaction_hash_with_created_at_time(
                    &candid.transaction,
                    created_at_time
                )
            );
        }
    }
}
