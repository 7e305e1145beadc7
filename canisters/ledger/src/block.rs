//! Blocks as the ledger stores them: a compact binary form in the block log,
//! decoded only when a block is read back.

use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use ledger_core::bytes::{Reader, flag};
use nns_api::AccountIdentifier;
use std::borrow::Cow;

pub use nns_api::icp_block::{Block, Hash, Operation, Transaction};

/// A block in the block log. Its hash is not the hash of these bytes but of
/// the block's protobuf encoding (see `nns_api::icp_block`), made when it is
/// appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlock(pub Block);

// Header byte: the operation in the low nibble, presence flags above it.
const OP_MINT: u8 = 0;
const OP_BURN: u8 = 1;
const OP_TRANSFER: u8 = 2;
const OP_APPROVE: u8 = 3;
const HAS_PARENT: u8 = 1 << 4;
const HAS_CREATED_AT: u8 = 1 << 5;
const HAS_ICRC1_MEMO: u8 = 1 << 6;
const HAS_SPENDER: u8 = 1 << 7;
// Second flag byte of approvals.
const HAS_EXPECTED_ALLOWANCE: u8 = 1;
const HAS_EXPIRES_AT: u8 = 2;

impl StoredBlock {
    pub fn encode(&self) -> Vec<u8> {
        let block = &self.0;
        let tx = &block.transaction;
        let mut out = Vec::with_capacity(160);
        let (op, spender) = match &tx.operation {
            Operation::Mint { .. } => (OP_MINT, None),
            Operation::Burn { spender, .. } => (OP_BURN, spender.as_ref()),
            Operation::Transfer { spender, .. } => (OP_TRANSFER, spender.as_ref()),
            Operation::Approve { .. } => (OP_APPROVE, None),
        };
        let mut header = op;
        header |= flag(block.parent_hash.is_some(), HAS_PARENT);
        header |= flag(tx.created_at_time.is_some(), HAS_CREATED_AT);
        header |= flag(tx.icrc1_memo.is_some(), HAS_ICRC1_MEMO);
        header |= flag(spender.is_some(), HAS_SPENDER);
        out.push(header);
        out.extend_from_slice(&block.timestamp.to_le_bytes());
        if let Some(hash) = &block.parent_hash {
            out.extend_from_slice(hash);
        }
        out.extend_from_slice(&tx.memo.to_le_bytes());
        if let Some(time) = tx.created_at_time {
            out.extend_from_slice(&time.to_le_bytes());
        }
        if let Some(memo) = &tx.icrc1_memo {
            out.push(u8::try_from(memo.len()).expect("memos are validated to ≤ 32 bytes"));
            out.extend_from_slice(memo);
        }
        match &tx.operation {
            Operation::Mint { to, amount } => {
                out.extend_from_slice(to.as_bytes());
                out.extend_from_slice(&amount.to_le_bytes());
            }
            Operation::Burn { from, amount, .. } => {
                out.extend_from_slice(from.as_bytes());
                out.extend_from_slice(&amount.to_le_bytes());
            }
            Operation::Transfer {
                from,
                to,
                amount,
                fee,
                ..
            } => {
                out.extend_from_slice(from.as_bytes());
                out.extend_from_slice(to.as_bytes());
                out.extend_from_slice(&amount.to_le_bytes());
                out.extend_from_slice(&fee.to_le_bytes());
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                out.extend_from_slice(from.as_bytes());
                out.extend_from_slice(spender.as_bytes());
                out.extend_from_slice(&allowance.to_le_bytes());
                out.extend_from_slice(&fee.to_le_bytes());
                out.push(
                    flag(expected_allowance.is_some(), HAS_EXPECTED_ALLOWANCE)
                        | flag(expires_at.is_some(), HAS_EXPIRES_AT),
                );
                for value in [expected_allowance, expires_at].into_iter().flatten() {
                    out.extend_from_slice(&value.to_le_bytes());
                }
            }
        }
        if let Some(spender) = spender {
            out.extend_from_slice(spender.as_bytes());
        }
        out
    }

    /// Decodes what [`Block::encode`] wrote. The block log only ever holds
    /// such bytes, so malformed input is a bug and panics.
    pub fn decode(bytes: &[u8]) -> Self {
        let mut r = Reader(bytes);
        let header = r.byte();
        let timestamp = r.u64();
        let parent_hash = (header & HAS_PARENT != 0).then(|| r.array());
        let memo = r.u64();
        let created_at_time = (header & HAS_CREATED_AT != 0).then(|| r.u64());
        let icrc1_memo = (header & HAS_ICRC1_MEMO != 0).then(|| {
            let len = usize::from(r.byte());
            r.take(len).to_vec()
        });
        let operation = match header & 0x0f {
            OP_MINT => Operation::Mint {
                to: r.account(),
                amount: r.u64(),
            },
            OP_BURN => {
                let from = r.account();
                let amount = r.u64();
                Operation::Burn {
                    from,
                    amount,
                    spender: (header & HAS_SPENDER != 0).then(|| r.account()),
                }
            }
            OP_TRANSFER => {
                let from = r.account();
                let to = r.account();
                let amount = r.u64();
                let fee = r.u64();
                Operation::Transfer {
                    from,
                    to,
                    amount,
                    fee,
                    spender: (header & HAS_SPENDER != 0).then(|| r.account()),
                }
            }
            OP_APPROVE => {
                let from = r.account();
                let spender = r.account();
                let allowance = r.u64();
                let fee = r.u64();
                let flags = r.byte();
                Operation::Approve {
                    from,
                    spender,
                    allowance,
                    fee,
                    expected_allowance: (flags & HAS_EXPECTED_ALLOWANCE != 0).then(|| r.u64()),
                    expires_at: (flags & HAS_EXPIRES_AT != 0).then(|| r.u64()),
                }
            }
            other => panic!("unknown operation {other} in a stored block"),
        };
        assert!(r.0.is_empty(), "trailing bytes in a stored block");
        Self(Block {
            parent_hash,
            timestamp,
            transaction: Transaction {
                operation,
                memo,
                icrc1_memo,
                created_at_time,
            },
        })
    }
}

trait ReadAccount {
    fn account(&mut self) -> AccountIdentifier;
}

impl ReadAccount for Reader<'_> {
    fn account(&mut self) -> AccountIdentifier {
        AccountIdentifier::from_stored_bytes(self.array())
    }
}

impl Storable for StoredBlock {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode())
    }

    fn into_bytes(self) -> Vec<u8> {
        self.encode()
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Self::decode(&bytes)
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;

    fn account(n: u8) -> AccountIdentifier {
        AccountIdentifier::new(&Principal::from_slice(&[n, 1]), None)
    }

    fn sample_blocks() -> Vec<Block> {
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
                        spender: None,
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
                timestamp: 5,
                transaction: tx(
                    Operation::Approve {
                        from: account(1),
                        spender: account(4),
                        allowance: 0,
                        expected_allowance: None,
                        expires_at: None,
                        fee: 10_000,
                    },
                    1,
                    None,
                    None,
                ),
            },
        ]
    }

    #[test]
    fn every_kind_of_block_round_trips_through_its_encoding() {
        for block in sample_blocks() {
            let stored = StoredBlock(block);
            let bytes = stored.encode();
            assert_eq!(StoredBlock::decode(&bytes), stored);
            assert_eq!(
                StoredBlock::from_bytes(Cow::Owned(stored.clone().into_bytes())),
                stored
            );
        }
    }

    #[test]
    #[should_panic(expected = "trailing bytes")]
    fn trailing_bytes_are_detected() {
        let mut bytes = StoredBlock(sample_blocks()[0].clone()).encode();
        bytes.push(0);
        StoredBlock::decode(&bytes);
    }
}
