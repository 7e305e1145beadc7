//! An independent reference for the real ICP ledger's transaction hash (its
//! deduplication key; `docs/icp-ledger-formats.md`): SHA-256 of the
//! transaction serialized by `serde_cbor::ser::to_vec_packed`.
//!
//! The real ledger hashes its Rust `Transaction` through serde derive; the
//! structs below mirror those types (field order, skipped fields and all) and
//! share nothing with the canister. In serde_cbor's packed format a struct is
//! a map keyed by field index (a skipped field still uses up its index, and
//! the map's length counts only the fields written), an enum's struct variant
//! is `{variant index: {fields}}`, a newtype (`Memo`) is its content, `None`
//! is null and `Some(x)` is `x`.
//!
//! The Candid transaction (`nns_api::ledger::CandidTransaction`) always
//! carries a `created_at_time` (the block's timestamp when the transaction had
//! none); [`transaction_hash`] takes it as given, and
//! [`transaction_hash_with_created_at_time`] takes the transaction's own.

use nns_api::AccountIdentifier;
use nns_api::ledger::{CandidOperation, CandidTransaction, TimeStamp as CandidTimeStamp};
use serde::{Serialize, Serializer};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

/// `icp_ledger::Transaction`.
#[derive(Serialize)]
struct Transaction {
    operation: Operation,
    memo: Memo,
    created_at_time: Option<TimeStamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icrc1_memo: Option<ByteBuf>,
}

/// `icp_ledger::Memo(u64)`.
#[derive(Serialize)]
struct Memo(u64);

/// `icp_ledger::Operation`, variants in their order (the packed index).
#[derive(Serialize)]
enum Operation {
    Burn {
        from: AccountIdHex,
        amount: Tokens,
        #[serde(skip_serializing_if = "Option::is_none")]
        spender: Option<AccountIdHex>,
    },
    Mint {
        to: AccountIdHex,
        amount: Tokens,
    },
    Transfer {
        from: AccountIdHex,
        to: AccountIdHex,
        amount: Tokens,
        fee: Tokens,
        #[serde(skip_serializing_if = "Option::is_none")]
        spender: Option<AccountIdHex>,
    },
    Approve {
        from: AccountIdHex,
        spender: AccountIdHex,
        allowance: Tokens,
        expected_allowance: Option<Tokens>,
        expires_at: Option<TimeStamp>,
        fee: Tokens,
    },
}

/// `ic_ledger_core::tokens::Tokens`.
#[derive(Serialize, Clone, Copy)]
struct Tokens {
    e8s: u64,
}

/// `ic_ledger_core::timestamp::TimeStamp`.
#[derive(Serialize, Clone, Copy)]
struct TimeStamp {
    timestamp_nanos: u64,
}

/// `icp_ledger::AccountIdentifier`, which serializes as its 64-character
/// lowercase hex text (checksum included).
struct AccountIdHex([u8; 32]);

impl Serialize for AccountIdHex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        serializer.serialize_str(&text)
    }
}

fn account(id: &AccountIdentifier) -> AccountIdHex {
    AccountIdHex(*id.as_bytes())
}

fn tokens(tokens: nns_api::ledger::Tokens) -> Tokens {
    Tokens { e8s: tokens.e8s }
}

fn timestamp(time: CandidTimeStamp) -> TimeStamp {
    TimeStamp {
        timestamp_nanos: time.timestamp_nanos,
    }
}

fn mirror(tx: &CandidTransaction, created_at_time: Option<CandidTimeStamp>) -> Transaction {
    let operation = match tx
        .operation
        .as_ref()
        .expect("a transaction has an operation")
    {
        CandidOperation::Burn {
            from,
            spender,
            amount,
        } => Operation::Burn {
            from: account(from),
            amount: tokens(*amount),
            spender: spender.as_ref().map(account),
        },
        CandidOperation::Mint { to, amount } => Operation::Mint {
            to: account(to),
            amount: tokens(*amount),
        },
        CandidOperation::Transfer {
            from,
            to,
            amount,
            fee,
            spender,
        } => Operation::Transfer {
            from: account(from),
            to: account(to),
            amount: tokens(*amount),
            fee: tokens(*fee),
            spender: spender.as_ref().map(|bytes| {
                AccountIdHex(bytes.as_slice().try_into().unwrap_or_else(|_| {
                    panic!(
                        "a spender account identifier has 32 bytes, not {}",
                        bytes.len()
                    )
                }))
            }),
        },
        CandidOperation::Approve {
            from,
            spender,
            allowance_e8s: _,
            allowance,
            fee,
            expires_at,
            expected_allowance,
        } => Operation::Approve {
            from: account(from),
            spender: account(spender),
            allowance: tokens(*allowance),
            expected_allowance: expected_allowance.map(tokens),
            expires_at: expires_at.map(timestamp),
            fee: tokens(*fee),
        },
    };
    Transaction {
        operation,
        memo: Memo(tx.memo),
        created_at_time: created_at_time.map(timestamp),
        icrc1_memo: tx.icrc1_memo.clone(),
    }
}

/// The packed CBOR the real ledger hashes, for a transaction created at
/// `created_at_time` (the Candid `created_at_time` is ignored).
pub fn transaction_cbor(
    tx: &CandidTransaction,
    created_at_time: Option<CandidTimeStamp>,
) -> Vec<u8> {
    serde_cbor::ser::to_vec_packed(&mirror(tx, created_at_time))
        .expect("serde_cbor serializes a transaction")
}

/// The real ledger's hash of a transaction shown in Candid, taking its
/// `created_at_time` as given.
pub fn transaction_hash(tx: &CandidTransaction) -> [u8; 32] {
    transaction_hash_with_created_at_time(tx, Some(tx.created_at_time))
}

/// The real ledger's hash of a transaction created at `created_at_time`
/// (`None`: not given; serialized as null).
pub fn transaction_hash_with_created_at_time(
    tx: &CandidTransaction,
    created_at_time: Option<CandidTimeStamp>,
) -> [u8; 32] {
    Sha256::digest(transaction_cbor(tx, created_at_time)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nns_api::ledger::Tokens as CandidTokens;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn id(text: &str) -> AccountIdentifier {
        AccountIdentifier::from_hex(text).unwrap()
    }

    fn tx(operation: CandidOperation, memo: u64, created_at_time: u64) -> CandidTransaction {
        CandidTransaction {
            memo,
            icrc1_memo: None,
            operation: Some(operation),
            created_at_time: CandidTimeStamp {
                timestamp_nanos: created_at_time,
            },
        }
    }

    /// CBOR text string of 64 characters: `78 40` then the text.
    fn text64(text: &str) -> Vec<u8> {
        assert_eq!(text.len(), 64);
        let mut bytes = vec![0x78, 0x40];
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    /// CBOR unsigned integer of 8 bytes: `1b` then big-endian.
    fn u64_8(n: u64) -> Vec<u8> {
        assert!(n > u64::from(u32::MAX));
        let mut bytes = vec![0x1b];
        bytes.extend_from_slice(&n.to_be_bytes());
        bytes
    }

    const FROM: &str = "e7a879ea563d273c46dd28c1584eaa132fad6f3e316615b3eb657d067f3519b5";
    const TO: &str = "207ec07185bedd0f2176ec2760057b8b7bc619a94d60e70fbc91af322a9f7e93";

    fn published() -> CandidTransaction {
        tx(
            CandidOperation::Transfer {
                from: id(FROM),
                to: id(TO),
                amount: CandidTokens {
                    e8s: 11_541_900_000,
                },
                fee: CandidTokens { e8s: 10_000 },
                spender: None,
            },
            5_432_845_643_782_906_771,
            1_621_901_572_293_430_780,
        )
    }

    /// dfinity/ic `rs/ledger_suite/icp/src/lib.rs`, test `transaction_hash`.
    #[test]
    fn icp_tx_hash_published_vector() {
        let transfer = published();
        // The packed CBOR, written out by hand.
        let mut expected = vec![0xa3]; // Transaction: 3 fields (icrc1_memo left out)
        expected.extend_from_slice(&[0x00, 0xa1, 0x02, 0xa4]); // 0 operation: {2 Transfer: 4 fields}
        expected.push(0x00); // from
        expected.extend(text64(FROM));
        expected.push(0x01); // to
        expected.extend(text64(TO));
        expected.extend_from_slice(&[0x02, 0xa1, 0x00]); // amount: {0 e8s:
        expected.extend(u64_8(11_541_900_000));
        expected.extend_from_slice(&[0x03, 0xa1, 0x00, 0x19, 0x27, 0x10]); // fee: {0: 10 000}
        expected.push(0x01); // 1 memo
        expected.extend(u64_8(5_432_845_643_782_906_771));
        expected.extend_from_slice(&[0x02, 0xa1, 0x00]); // 2 created_at_time: {0 timestamp_nanos:
        expected.extend(u64_8(1_621_901_572_293_430_780));
        assert_eq!(
            hex(&transaction_cbor(&transfer, Some(transfer.created_at_time))),
            hex(&expected)
        );
        assert_eq!(
            hex(&transaction_hash(&transfer)),
            "be31664ef154456aec5df2e4acc7f23a715ad8ea33ad9dbcbb7e6e90bc5a8b8f"
        );
    }

    /// A skipped field keeps its index; `None` in a field that is not
    /// skipped is null; `Some(x)` is `x`.
    #[test]
    fn icp_tx_hash_skipped_fields_keep_their_index() {
        let mut transfer = published();
        let transfer_with = |spender: Option<AccountIdentifier>| CandidOperation::Transfer {
            from: id(FROM),
            to: id(TO),
            amount: CandidTokens { e8s: 1 },
            fee: CandidTokens { e8s: 2 },
            spender: spender.map(|s| ByteBuf::from(s.as_bytes().to_vec())),
        };
        transfer.operation = Some(transfer_with(Some(id(TO))));
        transfer.icrc1_memo = Some(ByteBuf::from(vec![7, 8]));
        let cbor = transaction_cbor(&transfer, None);
        let mut expected = vec![0xa4, 0x00, 0xa1, 0x02, 0xa5, 0x00];
        expected.extend(text64(FROM));
        expected.push(0x01);
        expected.extend(text64(TO));
        expected.extend_from_slice(&[0x02, 0xa1, 0x00, 0x01, 0x03, 0xa1, 0x00, 0x02, 0x04]);
        expected.extend(text64(TO)); // 4 spender
        expected.push(0x01);
        expected.extend(u64_8(5_432_845_643_782_906_771));
        expected.extend_from_slice(&[0x02, 0xf6]); // created_at_time: null
        expected.extend_from_slice(&[0x03, 0x42, 0x07, 0x08]); // icrc1_memo: bytes
        assert_eq!(hex(&cbor), hex(&expected));

        // Burn without spender: 2 fields, {0 from, 1 amount}; with: {…, 2 spender}.
        let burn = |spender| {
            tx(
                CandidOperation::Burn {
                    from: id(FROM),
                    spender,
                    amount: CandidTokens { e8s: 3 },
                },
                0,
                0,
            )
        };
        let mut expected = vec![0xa3, 0x00, 0xa1, 0x00, 0xa2, 0x00];
        expected.extend(text64(FROM));
        expected.extend_from_slice(&[0x01, 0xa1, 0x00, 0x03]);
        expected.extend_from_slice(&[0x01, 0x00, 0x02, 0xa1, 0x00, 0x00]);
        assert_eq!(
            hex(&transaction_cbor(
                &burn(None),
                Some(CandidTimeStamp { timestamp_nanos: 0 })
            )),
            hex(&expected)
        );
        let cbor = transaction_cbor(&burn(Some(id(TO))), None);
        let mut expected = vec![0xa3, 0x00, 0xa1, 0x00, 0xa3, 0x00];
        expected.extend(text64(FROM));
        expected.extend_from_slice(&[0x01, 0xa1, 0x00, 0x03, 0x02]);
        expected.extend(text64(TO));
        expected.extend_from_slice(&[0x01, 0x00, 0x02, 0xf6]);
        assert_eq!(hex(&cbor), hex(&expected));

        // Approve (variant 3): every field written, options as null or value.
        let approve = |expected_allowance, expires_at| {
            tx(
                CandidOperation::Approve {
                    from: id(FROM),
                    spender: id(TO),
                    allowance_e8s: candid::Int::from(4u64),
                    allowance: CandidTokens { e8s: 4 },
                    fee: CandidTokens { e8s: 5 },
                    expires_at,
                    expected_allowance,
                },
                0,
                0,
            )
        };
        let cbor = transaction_cbor(&approve(None, None), None);
        let mut expected = vec![0xa3, 0x00, 0xa1, 0x03, 0xa6, 0x00];
        expected.extend(text64(FROM));
        expected.push(0x01);
        expected.extend(text64(TO));
        expected.extend_from_slice(&[0x02, 0xa1, 0x00, 0x04, 0x03, 0xf6, 0x04, 0xf6]);
        expected.extend_from_slice(&[0x05, 0xa1, 0x00, 0x05, 0x01, 0x00, 0x02, 0xf6]);
        assert_eq!(hex(&cbor), hex(&expected));
        let cbor = transaction_cbor(
            &approve(
                Some(CandidTokens { e8s: 6 }),
                Some(CandidTimeStamp { timestamp_nanos: 7 }),
            ),
            None,
        );
        let mut expected = vec![0xa3, 0x00, 0xa1, 0x03, 0xa6, 0x00];
        expected.extend(text64(FROM));
        expected.push(0x01);
        expected.extend(text64(TO));
        expected.extend_from_slice(&[0x02, 0xa1, 0x00, 0x04, 0x03, 0xa1, 0x00, 0x06]);
        expected.extend_from_slice(&[0x04, 0xa1, 0x00, 0x07, 0x05, 0xa1, 0x00, 0x05]);
        expected.extend_from_slice(&[0x01, 0x00, 0x02, 0xf6]);
        assert_eq!(hex(&cbor), hex(&expected));

        // Mint (variant 1).
        let mint = tx(
            CandidOperation::Mint {
                to: id(TO),
                amount: CandidTokens { e8s: 8 },
            },
            9,
            0,
        );
        let mut expected = vec![0xa3, 0x00, 0xa1, 0x01, 0xa2, 0x00];
        expected.extend(text64(TO));
        expected.extend_from_slice(&[0x01, 0xa1, 0x00, 0x08, 0x01, 0x09, 0x02, 0xf6]);
        assert_eq!(hex(&transaction_cbor(&mint, None)), hex(&expected));
    }

    /// Vectors of a third-party implementation (cordialsys/crosschain,
    /// `chain/internet_computer/client/types`, Go tests `TestBurnHash`,
    /// `TestMintHash`), apparently taken from mainnet blocks; not published
    /// by DFINITY.
    #[test]
    fn icp_tx_hash_third_party_vectors() {
        let burn = tx(
            CandidOperation::Burn {
                from: id("302b51fc2f5d5ce630fd1ca725c8ef01d2f01523ba531f4e581aa964ea1b2674"),
                spender: None,
                amount: CandidTokens { e8s: 59_445_250 },
            },
            0,
            1_753_126_813_775_314_320,
        );
        assert_eq!(
            hex(&transaction_hash(&burn)),
            "1d1ce5312021042e67140ed2abcc81d2f5e2e073c65e66343876bf5a220ace88"
        );
        let mint = tx(
            CandidOperation::Mint {
                to: id("8d5a08a6389cb2f75ca7fc74eb71c84ce15149b356fc1a573a5e8db1d50cfb0f"),
                amount: CandidTokens { e8s: 941_545_518 },
            },
            1_753_130_853,
            1_753_130_853_654_425_885,
        );
        assert_eq!(
            hex(&transaction_hash(&mint)),
            "6def16f7d258e25aa061a3890b75f1bffa5b6d019efe2a713378e788d6b11973"
        );
    }
}
