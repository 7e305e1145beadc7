//! A small kind for the core's own tests: accounts are numbers, amounts are
//! 128-bit, blocks are stored as Candid and hashed with a toy hash (the
//! core does not care what the hash is, only that it chains).

use crate::kind::{Hash, LedgerKind, Operation};
use crate::ledger::Ledger;
use candid::{CandidType, Deserialize};
use ic_stable_structures::memory_manager::MemoryManager;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Storable, VectorMemory};
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestKind;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct TestConfig {
    pub minting_account: Option<u32>,
    pub fee: u128,
    pub window: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct TestTx {
    pub operation: Operation<u32, u128>,
    pub memo: Vec<u8>,
    pub created_at_time: Option<u64>,
    pub requested_fee: Option<u128>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
pub struct TestBlock {
    pub parent: Option<Hash>,
    pub tx: TestTx,
    pub timestamp: u64,
}

pub struct Stored(TestBlock);

impl Storable for Stored {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(candid::encode_one(&self.0).expect("encodes"))
    }
    fn into_bytes(self) -> Vec<u8> {
        candid::encode_one(&self.0).expect("encodes")
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Self(candid::decode_one(&bytes).expect("decodes"))
    }
    const BOUND: Bound = Bound::Unbounded;
}

/// FNV-1a spread over 32 bytes: enough for a chain in tests.
pub fn toy_hash(bytes: &[u8]) -> Hash {
    let mut out = [0; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let h = crate::cache::fnv1a(&[&[i as u8], bytes]);
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    out
}

impl LedgerKind for TestKind {
    type Account = u32;
    type Key = [u8; 4];
    type PairKey = [u8; 8];
    type ExpiryKey = [u8; 16];
    type Amount = u128;
    type Memo = Vec<u8>;
    type Transaction = TestTx;
    type Block = TestBlock;
    type StoredBlock = Stored;
    type Config = TestConfig;

    const OWNER_PREFIX: usize = 4;

    fn key(account: &u32) -> [u8; 4] {
        account.to_be_bytes()
    }
    fn account(key: &[u8; 4]) -> u32 {
        u32::from_be_bytes(*key)
    }
    fn cache_place(key: &[u8; 4]) -> u64 {
        u64::from(u32::from_be_bytes(*key))
    }
    fn minting_account(config: &TestConfig) -> Option<u32> {
        config.minting_account
    }
    fn fee(config: &TestConfig) -> u128 {
        config.fee
    }
    fn transaction_window_nanos(config: &TestConfig) -> u64 {
        config.window
    }
    fn icrc2_enabled(_: &TestConfig) -> bool {
        true
    }
    fn memo_len(memo: &Vec<u8>) -> usize {
        memo.len()
    }
    fn transaction(
        operation: Operation<u32, u128>,
        memo: Vec<u8>,
        created_at_time: Option<u64>,
        requested_fee: Option<u128>,
    ) -> TestTx {
        TestTx {
            operation,
            memo,
            created_at_time,
            requested_fee,
        }
    }
    fn operation(tx: &TestTx) -> Operation<u32, u128> {
        tx.operation
    }
    fn created_at_time(tx: &TestTx) -> Option<u64> {
        tx.created_at_time
    }
    fn transaction_hash(tx: &TestTx) -> Hash {
        toy_hash(&candid::encode_one(tx).expect("encodes"))
    }
    fn block(parent: Option<Hash>, tx: TestTx, timestamp: u64) -> TestBlock {
        TestBlock {
            parent,
            tx,
            timestamp,
        }
    }
    fn block_transaction(block: &TestBlock) -> &TestTx {
        &block.tx
    }
    fn block_timestamp(block: &TestBlock) -> u64 {
        block.timestamp
    }
    fn set_parent_hash(block: &mut TestBlock, parent: Hash) {
        block.parent = Some(parent);
    }
    fn block_hash(block: &TestBlock) -> Hash {
        toy_hash(&candid::encode_one(block).expect("encodes"))
    }
    fn store(block: TestBlock) -> Stored {
        Stored(block)
    }
    fn load(stored: Stored) -> TestBlock {
        stored.0
    }
}

pub fn test_ledger(config: TestConfig) -> Ledger<TestKind, VectorMemory> {
    let mut ledger = Ledger::open(&MemoryManager::init(VectorMemory::default()));
    ledger.install(config, &[], 0).expect("installs");
    ledger
}

/// Property-test cases: `default` in CI, more with `PROPTEST_CASES`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
