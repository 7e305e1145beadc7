//! What differs between the ledgers built on this core. A kind names its
//! account type and the key balances are stored under, its amount width,
//! its transactions and blocks (what a block records, how it is stored and
//! hashed) and its configuration. The rules — balances, allowances, fees,
//! deduplication, the chain of hashes — are the core's, the same for all.

use crate::amount::Amount;
use crate::fixed::FixedBytes;
use candid::{CandidType, Deserialize};
use ic_stable_structures::Storable;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

pub type Hash = [u8; 32];

/// What a transaction does to balances and allowances, in the core's
/// terms; each kind maps its own transactions to and from it. Fees are the
/// fees charged (the effective ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, CandidType, Deserialize)]
pub enum Operation<A, N> {
    Mint {
        to: A,
        amount: N,
    },
    Burn {
        from: A,
        spender: Option<A>,
        amount: N,
        fee: N,
    },
    Transfer {
        from: A,
        to: A,
        spender: Option<A>,
        amount: N,
        fee: N,
    },
    Approve {
        from: A,
        spender: A,
        allowance: N,
        expected_allowance: Option<N>,
        expires_at: Option<u64>,
        fee: N,
    },
}

pub trait LedgerKind: Sized + 'static {
    /// An account as transactions name it.
    type Account: Copy + Eq + Debug;
    /// The key an account's balance and allowances are stored under: equal
    /// for accounts that are the same (an ICRC account with or without the
    /// default subaccount spelled out).
    type Key: FixedBytes;
    /// Two keys end to end (owner ‖ spender).
    type PairKey: FixedBytes;
    /// An expiry time (8 bytes, big-endian) and a pair key.
    type ExpiryKey: FixedBytes;
    type Amount: Amount;
    /// What a caller may say about a transaction beyond its operation.
    type Memo: Clone + Debug + PartialEq;
    type Transaction: Clone + Debug;
    type Block: Clone + Debug;
    /// A block as the block log stores it.
    type StoredBlock: Storable;
    type Config: CandidType + DeserializeOwned + Clone;

    /// The leading bytes of a key that name the account's owner: an
    /// allowance listing runs over all of the owner's accounts (ICRC-103).
    const OWNER_PREFIX: usize;
    /// Whether an owner's burn through its own `transfer_from` needs an
    /// allowance (which no one can grant themselves): the ICP ledger's
    /// rule; ICRC ledgers let an owner spend as its own spender.
    const OWNER_SPENDER_BURN_REFUSED: bool = false;

    fn key(account: &Self::Account) -> Self::Key;
    fn account(key: &Self::Key) -> Self::Account;
    /// Where a key's slot is cached on the heap: any well-spread 64 bits.
    fn cache_place(key: &Self::Key) -> u64;

    fn minting_account(config: &Self::Config) -> Option<Self::Account>;
    fn fee(config: &Self::Config) -> Self::Amount;
    fn transaction_window_nanos(config: &Self::Config) -> u64;
    fn icrc2_enabled(config: &Self::Config) -> bool;
    /// The fee the mints of the initial balances record without charging
    /// it (the cycles ledger records its fee in every mint).
    fn recorded_mint_fee(_config: &Self::Config) -> Option<Self::Amount> {
        None
    }
    /// The length of the memo's byte string, which the core bounds.
    fn memo_len(memo: &Self::Memo) -> usize;

    /// A transaction as this kind records it. `requested_fee` is the fee
    /// the caller named, if any (some kinds record it as given).
    fn transaction(
        operation: Operation<Self::Account, Self::Amount>,
        memo: Self::Memo,
        created_at_time: Option<u64>,
        requested_fee: Option<Self::Amount>,
    ) -> Self::Transaction;
    fn operation(tx: &Self::Transaction) -> Operation<Self::Account, Self::Amount>;
    fn created_at_time(tx: &Self::Transaction) -> Option<u64>;
    /// The deduplication key: equal for transactions that are one payment.
    fn transaction_hash(tx: &Self::Transaction) -> Hash;

    fn block(parent_hash: Option<Hash>, tx: Self::Transaction, timestamp: u64) -> Self::Block;
    fn block_transaction(block: &Self::Block) -> &Self::Transaction;
    fn block_timestamp(block: &Self::Block) -> u64;
    fn set_parent_hash(block: &mut Self::Block, parent_hash: Hash);
    fn block_hash(block: &Self::Block) -> Hash;
    fn store(block: Self::Block) -> Self::StoredBlock;
    fn load(stored: Self::StoredBlock) -> Self::Block;
}

/// The pair key of `a` then `b`.
pub fn pair_key<K: LedgerKind>(a: &K::Key, b: &K::Key) -> K::PairKey {
    crate::fixed::concat(&[a.bytes(), b.bytes()])
}

pub fn expiry_key<K: LedgerKind>(expires_at: u64, pair: &K::PairKey) -> K::ExpiryKey {
    crate::fixed::concat(&[&expires_at.to_be_bytes(), pair.bytes()])
}
