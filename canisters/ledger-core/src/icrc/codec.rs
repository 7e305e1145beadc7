//! ICRC blocks as the block log stores them: a compact binary form, decoded
//! only when a block is read back. An account takes its owner's length and
//! bytes, then a flag and the subaccount when one was given.

use crate::amount::Amount;
use crate::bytes::{Reader, flag};
use crate::icrc::{IcrcBlock, IcrcTransaction};
use crate::kind::Operation;
use candid::Principal;
use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use icrc_ledger_types::icrc1::account::Account;
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredIcrcBlock<N>(pub IcrcBlock<N>);

// First header byte: the operation in the low two bits, presence flags above.
const OP_MINT: u8 = 0;
const OP_BURN: u8 = 1;
const OP_TRANSFER: u8 = 2;
const OP_APPROVE: u8 = 3;
const HAS_PARENT: u8 = 1 << 2;
const HAS_CREATED_AT: u8 = 1 << 3;
const HAS_MEMO: u8 = 1 << 4;
const HAS_SPENDER: u8 = 1 << 5;
const HAS_TX_FEE: u8 = 1 << 6;
// Second flag byte, of approvals.
const HAS_EXPECTED_ALLOWANCE: u8 = 1;
const HAS_EXPIRES_AT: u8 = 2;

struct Writer(Vec<u8>);

impl Writer {
    fn account(&mut self, account: &Account) {
        let owner = account.owner.as_slice();
        self.0.push(owner.len() as u8);
        self.0.extend_from_slice(owner);
        match &account.subaccount {
            Some(subaccount) => {
                self.0.push(1);
                self.0.extend_from_slice(subaccount);
            }
            None => self.0.push(0),
        }
    }

    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
}

/// What the ICRC encoding reads beyond the common fields.
trait ReadIcrc {
    fn amount<N: Amount>(&mut self) -> N;
    fn account(&mut self) -> Account;
}

impl ReadIcrc for Reader<'_> {
    fn amount<N: Amount>(&mut self) -> N {
        N::read_le(self.take(N::BYTES))
    }

    fn account(&mut self) -> Account {
        let len = usize::from(self.byte());
        let owner = Principal::from_slice(self.take(len));
        let subaccount = (self.byte() == 1).then(|| self.array());
        Account { owner, subaccount }
    }
}

impl<N: Amount> StoredIcrcBlock<N> {
    pub fn encode(&self) -> Vec<u8> {
        let block = &self.0;
        let tx = &block.transaction;
        let mut w = Writer(Vec::with_capacity(160));
        let (op, spender) = match &tx.operation {
            Operation::Mint { .. } => (OP_MINT, None),
            Operation::Burn { spender, .. } => (OP_BURN, spender.as_ref()),
            Operation::Transfer { spender, .. } => (OP_TRANSFER, spender.as_ref()),
            Operation::Approve { .. } => (OP_APPROVE, None),
        };
        w.0.push(
            op | flag(block.parent_hash.is_some(), HAS_PARENT)
                | flag(tx.created_at_time.is_some(), HAS_CREATED_AT)
                | flag(tx.memo.is_some(), HAS_MEMO)
                | flag(spender.is_some(), HAS_SPENDER)
                | flag(tx.fee.is_some(), HAS_TX_FEE),
        );
        w.u64(block.timestamp);
        if let Some(hash) = &block.parent_hash {
            w.0.extend_from_slice(hash);
        }
        if let Some(time) = tx.created_at_time {
            w.u64(time);
        }
        if let Some(memo) = &tx.memo {
            w.0.push(u8::try_from(memo.len()).expect("memos are validated to ≤ 32 bytes"));
            w.0.extend_from_slice(memo);
        }
        if let Some(fee) = tx.fee {
            fee.write_le(&mut w.0);
        }
        match &tx.operation {
            Operation::Mint { to, amount } => {
                w.account(to);
                amount.write_le(&mut w.0);
            }
            Operation::Burn {
                from, amount, fee, ..
            } => {
                w.account(from);
                amount.write_le(&mut w.0);
                fee.write_le(&mut w.0);
            }
            Operation::Transfer {
                from,
                to,
                amount,
                fee,
                ..
            } => {
                w.account(from);
                w.account(to);
                amount.write_le(&mut w.0);
                fee.write_le(&mut w.0);
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                w.account(from);
                w.account(spender);
                allowance.write_le(&mut w.0);
                fee.write_le(&mut w.0);
                w.0.push(
                    flag(expected_allowance.is_some(), HAS_EXPECTED_ALLOWANCE)
                        | flag(expires_at.is_some(), HAS_EXPIRES_AT),
                );
                if let Some(expected) = expected_allowance {
                    expected.write_le(&mut w.0);
                }
                if let Some(expires_at) = expires_at {
                    w.u64(*expires_at);
                }
            }
        }
        if let Some(spender) = spender {
            w.account(spender);
        }
        w.0
    }

    /// Decodes what [`Self::encode`] wrote. The block log only ever holds
    /// such bytes, so malformed input is a bug and panics.
    pub fn decode(bytes: &[u8]) -> Self {
        let mut r = Reader(bytes);
        let header = r.byte();
        let timestamp = r.u64();
        let parent_hash = (header & HAS_PARENT != 0).then(|| r.array());
        let created_at_time = (header & HAS_CREATED_AT != 0).then(|| r.u64());
        let memo = (header & HAS_MEMO != 0).then(|| {
            let len = usize::from(r.byte());
            r.take(len).to_vec()
        });
        let fee = (header & HAS_TX_FEE != 0).then(|| r.amount());
        let spender_flag = header & HAS_SPENDER != 0;
        let mut operation = match header & 0b11 {
            OP_MINT => Operation::Mint {
                to: r.account(),
                amount: r.amount(),
            },
            OP_BURN => Operation::Burn {
                from: r.account(),
                spender: None,
                amount: r.amount(),
                fee: r.amount(),
            },
            OP_TRANSFER => Operation::Transfer {
                from: r.account(),
                to: r.account(),
                spender: None,
                amount: r.amount(),
                fee: r.amount(),
            },
            _ => {
                let from = r.account();
                let spender = r.account();
                let allowance = r.amount();
                let fee = r.amount();
                let flags = r.byte();
                let expected_allowance = (flags & HAS_EXPECTED_ALLOWANCE != 0).then(|| r.amount());
                let expires_at = (flags & HAS_EXPIRES_AT != 0).then(|| r.u64());
                Operation::Approve {
                    from,
                    spender,
                    allowance,
                    expected_allowance,
                    expires_at,
                    fee,
                }
            }
        };
        if spender_flag {
            let account = r.account();
            if let Operation::Burn { spender, .. } | Operation::Transfer { spender, .. } =
                &mut operation
            {
                *spender = Some(account);
            }
        }
        Self(IcrcBlock {
            parent_hash,
            transaction: IcrcTransaction {
                operation,
                memo,
                created_at_time,
                fee,
            },
            timestamp,
        })
    }
}

impl<N: Amount> Storable for StoredIcrcBlock<N> {
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
