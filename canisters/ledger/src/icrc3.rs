//! Blocks as ICRC-3 values, and their representation-independent hash.
//!
//! A block is the map `{phash?: blob, ts: nat, tx: {op: text, ...}}`. As in
//! the ICP ledger, accounts are 32-byte account identifiers (`blob`), not
//! ICRC-1 `[owner, subaccount]` arrays: the ICP ledger keys balances by
//! account identifier, and a legacy transfer has no ICRC-1 account at all.
//! The hash is computed straight from the stored block (no value tree is
//! built), and a test checks it against the generic value hash.

use crate::block::{Block, Hash, Operation, Transaction};
use candid::Nat;
use icrc_ledger_types::icrc::generic_value::{ICRC3Map, ICRC3Value};
use nns_api::AccountIdentifier;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The field names used in blocks and the `op` names, as in ICRC-3's legacy
/// (pre-`btype`) block schema.
mod key {
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
    pub const ICP_MEMO: &str = "icp_memo";
    pub const EXPECTED_ALLOWANCE: &str = "expected_allowance";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const ALL: [&str; 13] = [
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
        ICP_MEMO,
        EXPECTED_ALLOWANCE,
        EXPIRES_AT,
    ];
}

pub fn op_name(operation: &Operation) -> &'static str {
    match operation {
        Operation::Mint { .. } => "mint",
        Operation::Burn { .. } => "burn",
        Operation::Transfer { .. } => "xfer",
        Operation::Approve { .. } => "approve",
    }
}

/// The `op` names, as [`op_name`] gives them.
const OP_NAMES: [&str; 4] = ["mint", "burn", "xfer", "approve"];

type ConstantHashes = OnceLock<Vec<(&'static str, Hash)>>;

/// The hash of `name`, one of `names`: constants, so each is computed once
/// per canister lifetime rather than once per block.
fn constant_hash(hashes: &ConstantHashes, names: &[&'static str], name: &str) -> Hash {
    hashes
        .get_or_init(|| {
            names
                .iter()
                .map(|n| (*n, Sha256::digest(n.as_bytes()).into()))
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

/// The hash of a fee: nearly always the ledger's one fee, so the last one
/// hashed is kept.
fn fee_hash(fee: u64) -> Hash {
    thread_local! {
        static LAST: std::cell::Cell<Option<(u64, Hash)>> = const { std::cell::Cell::new(None) };
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

fn nat_hash(n: u64) -> Hash {
    let mut buf = [0u8; 10];
    let len = leb128(n, &mut buf);
    bytes_hash(&buf[..len])
}

/// Unsigned LEB128, as ICRC-3 hashes `nat`s and certified trees hold indices.
pub fn leb128(mut n: u64, buf: &mut [u8; 10]) -> usize {
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

/// Receives a transaction's fields; one walk over the transaction
/// ([`visit_transaction`]) feeds both the hash and the value, so the two
/// cannot disagree.
trait Fields {
    fn text(&mut self, key: &str, value: &str);
    fn blob(&mut self, key: &str, value: &[u8]);
    fn nat(&mut self, key: &str, value: u64);

    fn op(&mut self, name: &'static str) {
        self.text(key::OP, name);
    }

    fn account(&mut self, key: &str, account: &AccountIdentifier) {
        self.blob(key, account.as_bytes());
    }
}

fn visit_transaction(tx: &Transaction, f: &mut impl Fields) {
    f.op(op_name(&tx.operation));
    match &tx.operation {
        Operation::Mint { to, amount } => {
            f.account(key::TO, to);
            f.nat(key::AMT, *amount);
        }
        Operation::Burn {
            from,
            spender,
            amount,
        } => {
            f.account(key::FROM, from);
            f.nat(key::AMT, *amount);
            if let Some(spender) = spender {
                f.account(key::SPENDER, spender);
            }
        }
        Operation::Transfer {
            from,
            to,
            spender,
            amount,
            fee,
        } => {
            f.account(key::FROM, from);
            f.account(key::TO, to);
            f.nat(key::AMT, *amount);
            f.nat(key::FEE, *fee);
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
            fee,
        } => {
            f.account(key::FROM, from);
            f.account(key::SPENDER, spender);
            f.nat(key::AMT, *allowance);
            f.nat(key::FEE, *fee);
            if let Some(expected) = expected_allowance {
                f.nat(key::EXPECTED_ALLOWANCE, *expected);
            }
            if let Some(expires_at) = expires_at {
                f.nat(key::EXPIRES_AT, *expires_at);
            }
        }
    }
    if let Some(memo) = &tx.icrc1_memo {
        f.blob(key::MEMO, memo);
    }
    if tx.memo != 0 {
        f.nat(key::ICP_MEMO, tx.memo);
    }
    if let Some(time) = tx.created_at_time {
        f.nat(key::TS, time);
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
    fn text(&mut self, key: &str, value: &str) {
        self.entry(key, bytes_hash(value.as_bytes()));
    }

    fn blob(&mut self, key: &str, value: &[u8]) {
        self.entry(key, bytes_hash(value));
    }

    fn nat(&mut self, key: &str, value: u64) {
        let hash = if key == key::FEE {
            fee_hash(value)
        } else {
            nat_hash(value)
        };
        self.entry(key, hash);
    }

    fn op(&mut self, name: &'static str) {
        self.entry(key::OP, op_hash(name));
    }
}

impl Fields for ICRC3Map {
    fn text(&mut self, key: &str, value: &str) {
        self.insert(key.to_string(), ICRC3Value::Text(value.to_string()));
    }

    fn blob(&mut self, key: &str, value: &[u8]) {
        self.insert(key.to_string(), ICRC3Value::Blob(ByteBuf::from(value)));
    }

    fn nat(&mut self, key: &str, value: u64) {
        self.insert(key.to_string(), ICRC3Value::Nat(Nat::from(value)));
    }
}

/// The hash of the transaction alone: what deduplication compares.
pub fn transaction_hash(tx: &Transaction) -> Hash {
    let mut map = MapHash::new();
    visit_transaction(tx, &mut map);
    map.finish()
}

/// The block's hash given its transaction's hash: the next block's `phash`.
pub fn block_hash(block: &Block, tx_hash: Hash) -> Hash {
    let mut map = MapHash::new();
    if let Some(parent) = &block.parent_hash {
        map.blob(key::PHASH, parent);
    }
    map.nat(key::TS, block.timestamp);
    map.entry(key::TX, tx_hash);
    map.finish()
}

/// The block as the ICRC-3 value whose hash [`block_hash`] computes.
pub fn block_value(block: &Block) -> ICRC3Value {
    let mut tx = ICRC3Map::new();
    visit_transaction(&block.transaction, &mut tx);
    let mut map = ICRC3Map::new();
    if let Some(parent) = &block.parent_hash {
        map.blob(key::PHASH, parent);
    }
    map.nat(key::TS, block.timestamp);
    map.insert(key::TX.to_string(), ICRC3Value::Map(tx));
    ICRC3Value::Map(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::tests::sample_blocks;

    #[test]
    fn the_fast_hash_equals_the_generic_value_hash() {
        for block in sample_blocks() {
            let tx_hash = transaction_hash(&block.transaction);
            assert_eq!(
                block_hash(&block, tx_hash),
                block_value(&block).hash(),
                "{block:?}"
            );
        }
    }

    #[test]
    fn leb128_matches_the_standard_examples() {
        let mut buf = [0; 10];
        for (n, expected) in [
            (0u64, &[0u8][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (624_485, &[0xe5, 0x8e, 0x26]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let len = leb128(n, &mut buf);
            assert_eq!(&buf[..len], expected, "{n}");
        }
    }

    #[test]
    fn transactions_differing_in_any_field_hash_differently() {
        let blocks = sample_blocks();
        let base = blocks[2].transaction.clone();
        let mut variants = vec![base.clone()];
        let mut v = base.clone();
        v.memo = 1;
        variants.push(v);
        let mut v = base.clone();
        v.icrc1_memo = None;
        variants.push(v);
        let mut v = base.clone();
        v.created_at_time = Some(0);
        variants.push(v);
        let mut v = base.clone();
        if let Operation::Transfer { fee, .. } = &mut v.operation {
            *fee = 0;
        }
        variants.push(v);
        let hashes: std::collections::BTreeSet<_> = variants.iter().map(transaction_hash).collect();
        assert_eq!(hashes.len(), variants.len());
    }
}
