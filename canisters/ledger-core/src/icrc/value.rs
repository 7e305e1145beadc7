//! ICRC blocks as ICRC-3 values, and their representation-independent
//! hash, in the schema DFINITY's cycles ledger writes: a block is
//! `{phash?: blob, ts: nat, fee?: nat, tx: {op: text, ...}}` with `op` one of
//! `mint`, `burn`, `xfer`, `approve`; accounts are `[owner]` or
//! `[owner, subaccount]` as the caller gave them; every number is a `nat`.
//! The hash is computed straight from the block (no value tree is built);
//! a test checks it against the generic value hash.

use crate::amount::Amount;
use crate::icrc::{IcrcBlock, IcrcTransaction};
use crate::kind::{Hash, Operation};
use candid::Nat;
use icrc_ledger_types::icrc::generic_value::{ICRC3Map, ICRC3Value};
use icrc_ledger_types::icrc1::account::Account;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Field names and `op` names of the schema.
pub mod key {
    pub const PHASH: &str = "phash";
    pub const TS: &str = "ts";
    pub const TX: &str = "tx";
    pub const OP: &str = "op";
    pub const FROM: &str = "from";
    pub const TO: &str = "to";
    pub const SPENDER: &str = "spender";
    pub const AMT: &str = "amt";
    pub const FEE: &str = "fee";
    pub const MEMO: &str = "memo";
    pub const EXPECTED_ALLOWANCE: &str = "expected_allowance";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const ALL: [&str; 12] = [
        PHASH,
        TS,
        TX,
        OP,
        FROM,
        TO,
        SPENDER,
        AMT,
        FEE,
        MEMO,
        EXPECTED_ALLOWANCE,
        EXPIRES_AT,
    ];
}

pub fn op_name<A, N>(operation: &Operation<A, N>) -> &'static str {
    match operation {
        Operation::Mint { .. } => "mint",
        Operation::Burn { .. } => "burn",
        Operation::Transfer { .. } => "xfer",
        Operation::Approve { .. } => "approve",
    }
}

const OP_NAMES: [&str; 4] = ["mint", "burn", "xfer", "approve"];

type ConstantHashes = OnceLock<Vec<(&'static str, Hash)>>;

/// The hash of `name`, one of `names`: constants, so each is computed once
/// per canister lifetime rather than once per block.
fn constant_hash(hashes: &ConstantHashes, names: &[&'static str], name: &str) -> Hash {
    hashes
        .get_or_init(|| {
            names
                .iter()
                .map(|n| (*n, bytes_hash(n.as_bytes())))
                .collect()
        })
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, h)| *h)
        .expect("the name is one of the constants")
}

fn key_hash(key: &str) -> Hash {
    static HASHES: ConstantHashes = OnceLock::new();
    constant_hash(&HASHES, &key::ALL, key)
}

fn op_hash(op: &str) -> Hash {
    static HASHES: ConstantHashes = OnceLock::new();
    constant_hash(&HASHES, &OP_NAMES, op)
}

fn bytes_hash(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

fn nat_hash(n: u128) -> Hash {
    let mut buf = [0u8; 19];
    let len = leb128(n, &mut buf);
    bytes_hash(&buf[..len])
}

/// The hash of a fee: nearly always the ledger's one fee, so the last one
/// hashed is kept.
fn fee_hash(fee: u128) -> Hash {
    thread_local! {
        static LAST: std::cell::Cell<Option<(u128, Hash)>> = const { std::cell::Cell::new(None) };
    }
    LAST.with(|last| match last.get() {
        Some((cached, hash)) if cached == fee => hash,
        _ => {
            let hash = nat_hash(fee);
            last.set(Some((fee, hash)));
            hash
        }
    })
}

/// Unsigned LEB128, as ICRC-3 hashes `nat`s and certified trees hold indices.
pub fn leb128(mut n: u128, buf: &mut [u8; 19]) -> usize {
    let mut i = 0;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf[i] = byte;
            return i + 1;
        }
        buf[i] = byte | 0x80;
        i += 1;
    }
}

/// Receives a map's fields; one walk over the transaction feeds both the
/// hash and the value, so the two cannot disagree.
trait Fields {
    fn text(&mut self, key: &str, value: &'static str);
    fn blob(&mut self, key: &str, value: &[u8]);
    fn nat(&mut self, key: &str, value: u128);
    fn account(&mut self, key: &str, account: &Account);
}

fn visit_transaction<N: Amount>(tx: &IcrcTransaction<N>, f: &mut impl Fields) {
    f.text(key::OP, op_name(&tx.operation));
    match &tx.operation {
        Operation::Mint { to, amount } => {
            f.account(key::TO, to);
            f.nat(key::AMT, amount.to_u128());
        }
        Operation::Burn {
            from,
            spender,
            amount,
            ..
        } => {
            f.account(key::FROM, from);
            f.nat(key::AMT, amount.to_u128());
            if let Some(spender) = spender {
                f.account(key::SPENDER, spender);
            }
        }
        Operation::Transfer {
            from,
            to,
            spender,
            amount,
            ..
        } => {
            f.account(key::FROM, from);
            f.account(key::TO, to);
            f.nat(key::AMT, amount.to_u128());
            if let Some(spender) = spender {
                f.account(key::SPENDER, spender);
            }
        }
        Operation::Approve {
            from,
            spender,
            allowance,
            expected_allowance,
            expires_at,
            ..
        } => {
            f.account(key::FROM, from);
            f.account(key::SPENDER, spender);
            f.nat(key::AMT, allowance.to_u128());
            if let Some(expected) = expected_allowance {
                f.nat(key::EXPECTED_ALLOWANCE, expected.to_u128());
            }
            if let Some(expires_at) = expires_at {
                f.nat(key::EXPIRES_AT, u128::from(*expires_at));
            }
        }
    }
    if let Some(fee) = tx.fee {
        f.nat(key::FEE, fee.to_u128());
    }
    if let Some(memo) = &tx.memo {
        f.blob(key::MEMO, memo);
    }
    if let Some(time) = tx.created_at_time {
        f.nat(key::TS, u128::from(time));
    }
}

/// Hashes a map from its (key hash, value hash) entries.
struct MapHash(Vec<(Hash, Hash)>);

impl MapHash {
    fn new() -> Self {
        Self(Vec::with_capacity(10))
    }

    fn entry(&mut self, key: &str, value: Hash) {
        self.0.push((key_hash(key), value));
    }

    fn finish(&mut self) -> Hash {
        self.0.sort_unstable();
        let mut hasher = Sha256::new();
        for (k, v) in &self.0 {
            hasher.update(k);
            hasher.update(v);
        }
        hasher.finalize().into()
    }
}

impl Fields for MapHash {
    fn text(&mut self, key: &str, value: &'static str) {
        // Only `op` is text.
        self.entry(key, op_hash(value));
    }

    fn blob(&mut self, key: &str, value: &[u8]) {
        self.entry(key, bytes_hash(value));
    }

    fn nat(&mut self, key: &str, value: u128) {
        let hash = if key == key::FEE {
            fee_hash(value)
        } else {
            nat_hash(value)
        };
        self.entry(key, hash);
    }

    fn account(&mut self, key: &str, account: &Account) {
        let mut array = Sha256::new();
        array.update(bytes_hash(account.owner.as_slice()));
        if let Some(subaccount) = &account.subaccount {
            array.update(bytes_hash(subaccount));
        }
        self.entry(key, array.finalize().into());
    }
}

impl Fields for ICRC3Map {
    fn text(&mut self, key: &str, value: &'static str) {
        self.insert(key.to_string(), ICRC3Value::Text(value.to_string()));
    }

    fn blob(&mut self, key: &str, value: &[u8]) {
        self.insert(key.to_string(), ICRC3Value::Blob(ByteBuf::from(value)));
    }

    fn nat(&mut self, key: &str, value: u128) {
        self.insert(key.to_string(), ICRC3Value::Nat(Nat::from(value)));
    }

    fn account(&mut self, key: &str, account: &Account) {
        self.insert(key.to_string(), account_value(account));
    }
}

pub fn account_value(account: &Account) -> ICRC3Value {
    let mut parts = vec![ICRC3Value::Blob(ByteBuf::from(account.owner.as_slice()))];
    if let Some(subaccount) = &account.subaccount {
        parts.push(ICRC3Value::Blob(ByteBuf::from(subaccount.to_vec())));
    }
    ICRC3Value::Array(parts)
}

/// The hash of the transaction alone: what deduplication compares.
pub fn transaction_hash<N: Amount>(tx: &IcrcTransaction<N>) -> Hash {
    let mut map = MapHash::new();
    visit_transaction(tx, &mut map);
    map.finish()
}

fn visit_block<N: Amount>(block: &IcrcBlock<N>, f: &mut impl Fields) {
    if let Some(parent) = &block.parent_hash {
        f.blob(key::PHASH, parent);
    }
    f.nat(key::TS, u128::from(block.timestamp));
    if let Some(fee) = block.effective_fee() {
        f.nat(key::FEE, fee.to_u128());
    }
}

/// The block's hash: the next block's `phash`.
pub fn block_hash<N: Amount>(block: &IcrcBlock<N>) -> Hash {
    let mut map = MapHash::new();
    visit_block(block, &mut map);
    map.entry(key::TX, transaction_hash(&block.transaction));
    map.finish()
}

/// The block as the ICRC-3 value whose hash [`block_hash`] computes.
pub fn block_value<N: Amount>(block: &IcrcBlock<N>) -> ICRC3Value {
    let mut tx = ICRC3Map::new();
    visit_transaction(&block.transaction, &mut tx);
    let mut map = ICRC3Map::new();
    visit_block(block, &mut map);
    map.insert(key::TX.to_string(), ICRC3Value::Map(tx));
    ICRC3Value::Map(map)
}

#[cfg(test)]
mod tests;
