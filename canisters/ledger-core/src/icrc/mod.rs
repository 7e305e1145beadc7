//! ICRC ledgers as a kind of the core: accounts are ICRC-1 accounts, blocks
//! are ICRC-3 values hashed representation-independently, and a
//! transaction is deduplicated by the hash of the request as given (an
//! explicit default subaccount or fee makes another transaction), as on
//! DFINITY's ICRC ledgers. The cycles ledger is one configuration of it; a
//! project's token is another.

pub mod certification;
pub mod codec;
pub mod endpoints;
pub mod errors;
pub mod requests;
pub mod service;
pub mod value;
pub mod wire;

use crate::amount::Amount;
use crate::kind::{Hash, LedgerKind, Operation};
use candid::{CandidType, Principal};
use icrc_ledger_types::icrc1::account::Account;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::marker::PhantomData;

/// What an ICRC ledger's configuration decides.
pub trait IcrcConfig: CandidType + DeserializeOwned + Clone + Debug + PartialEq + 'static {
    type Amount: Amount;
    fn minting_account(&self) -> Option<Account>;
    fn fee(&self) -> Self::Amount;
    fn transaction_window_nanos(&self) -> u64;
    fn icrc2_enabled(&self) -> bool {
        true
    }
    /// The fee the mints of the initial balances record (see
    /// [`LedgerKind::recorded_mint_fee`]).
    fn recorded_mint_fee(&self) -> Option<Self::Amount> {
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icrc<C>(PhantomData<C>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcrcTransaction<N> {
    /// With the fees charged.
    pub operation: Operation<Account, N>,
    pub memo: Option<Vec<u8>>,
    pub created_at_time: Option<u64>,
    /// The fee the transaction records: the caller's, when a transfer or
    /// approval names one; what a deposit kept, for its mint.
    pub fee: Option<N>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcrcBlock<N> {
    pub parent_hash: Option<Hash>,
    pub transaction: IcrcTransaction<N>,
    pub timestamp: u64,
}

impl<N: Amount> IcrcBlock<N> {
    /// The block's own `fee` field: the fee charged when the transaction
    /// does not record it (0 for mints, which charge none).
    pub fn effective_fee(&self) -> Option<N> {
        let tx = &self.transaction;
        match tx.operation {
            Operation::Mint { .. } => Some(N::ZERO),
            Operation::Burn { fee, .. } => Some(fee),
            Operation::Transfer { fee, .. } | Operation::Approve { fee, .. } => {
                tx.fee.is_none().then_some(fee)
            }
        }
    }
}

/// Principals are at most 29 bytes.
const OWNER_BYTES: usize = 29;
/// A key: the owner's length, the owner (zero-padded), the subaccount (the
/// default one when none). Keys sort as the real ledgers order accounts:
/// principals by length, then bytes.
pub type AccountKey = [u8; 1 + OWNER_BYTES + 32];

pub fn account_key(account: &Account) -> AccountKey {
    let owner = account.owner.as_slice();
    let mut key = [0; 1 + OWNER_BYTES + 32];
    key[0] = owner.len() as u8;
    key[1..1 + owner.len()].copy_from_slice(owner);
    key[1 + OWNER_BYTES..].copy_from_slice(account.effective_subaccount());
    key
}

pub fn key_account(key: &AccountKey) -> Account {
    let len = usize::from(key[0]);
    Account {
        owner: Principal::from_slice(&key[1..1 + len]),
        subaccount: Some(key[1 + OWNER_BYTES..].try_into().expect("32 bytes")),
    }
}

impl<C: IcrcConfig> LedgerKind for Icrc<C> {
    type Account = Account;
    type Key = AccountKey;
    type PairKey = [u8; 2 * (1 + OWNER_BYTES + 32)];
    type ExpiryKey = [u8; 8 + 2 * (1 + OWNER_BYTES + 32)];
    type Amount = C::Amount;
    type Memo = Option<Vec<u8>>;
    type Transaction = IcrcTransaction<C::Amount>;
    type Block = IcrcBlock<C::Amount>;
    type StoredBlock = codec::StoredIcrcBlock<C::Amount>;
    type Config = C;

    const OWNER_PREFIX: usize = 1 + OWNER_BYTES;

    fn key(account: &Account) -> AccountKey {
        account_key(account)
    }

    fn account(key: &AccountKey) -> Account {
        key_account(key)
    }

    fn cache_place(key: &AccountKey) -> u64 {
        crate::cache::fnv1a(&[&key[..]])
    }

    fn minting_account(config: &C) -> Option<Account> {
        config.minting_account()
    }

    fn fee(config: &C) -> C::Amount {
        config.fee()
    }

    fn transaction_window_nanos(config: &C) -> u64 {
        config.transaction_window_nanos()
    }

    fn icrc2_enabled(config: &C) -> bool {
        config.icrc2_enabled()
    }

    fn recorded_mint_fee(config: &C) -> Option<C::Amount> {
        config.recorded_mint_fee()
    }

    fn memo_len(memo: &Option<Vec<u8>>) -> usize {
        memo.as_ref().map_or(0, Vec::len)
    }

    fn transaction(
        operation: Operation<Account, C::Amount>,
        memo: Option<Vec<u8>>,
        created_at_time: Option<u64>,
        requested_fee: Option<C::Amount>,
    ) -> IcrcTransaction<C::Amount> {
        IcrcTransaction {
            operation,
            memo,
            created_at_time,
            fee: requested_fee,
        }
    }

    fn operation(tx: &IcrcTransaction<C::Amount>) -> Operation<Account, C::Amount> {
        tx.operation
    }

    fn created_at_time(tx: &IcrcTransaction<C::Amount>) -> Option<u64> {
        tx.created_at_time
    }

    fn transaction_hash(tx: &IcrcTransaction<C::Amount>) -> Hash {
        value::transaction_hash(tx)
    }

    fn block(
        parent_hash: Option<Hash>,
        transaction: IcrcTransaction<C::Amount>,
        timestamp: u64,
    ) -> IcrcBlock<C::Amount> {
        IcrcBlock {
            parent_hash,
            transaction,
            timestamp,
        }
    }

    fn block_transaction(block: &IcrcBlock<C::Amount>) -> &IcrcTransaction<C::Amount> {
        &block.transaction
    }

    fn block_timestamp(block: &IcrcBlock<C::Amount>) -> u64 {
        block.timestamp
    }

    fn set_parent_hash(block: &mut IcrcBlock<C::Amount>, parent_hash: Hash) {
        block.parent_hash = Some(parent_hash);
    }

    fn block_hash(block: &IcrcBlock<C::Amount>) -> Hash {
        value::block_hash(block)
    }

    fn store(block: IcrcBlock<C::Amount>) -> codec::StoredIcrcBlock<C::Amount> {
        codec::StoredIcrcBlock(block)
    }

    fn load(stored: codec::StoredIcrcBlock<C::Amount>) -> IcrcBlock<C::Amount> {
        stored.0
    }
}
