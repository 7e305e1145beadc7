//! The index's state and the rules that change it: the ledger's blocks as
//! received, each account's block indices and balances. Everything lives in
//! stable structures, so this module runs unchanged in the canister and, on
//! vector memories, in unit tests.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  config          StableCell   Config (Candid; see config.rs)
//! ├── 1  block index     StableLog    (index half)
//! ├── 2  block data      StableLog    the ledger's protobuf bytes, exactly as received
//! ├── 3  account blocks  BTreeMap     account id (32) ‖ block index (8, BE) → ()
//! ├── 4  balances        BTreeMap     account id (32) → e8s, for positive balances only
//! └── 5  sync stop       StableCell   why syncing stopped, if it did (Candid)
//! ```
//!
//! A block is checked before anything of it is written: it decodes, it names
//! the hash of the block before it (SHA-256 of that block's bytes), and no
//! balance it changes goes below zero or past `u64::MAX`. The first block
//! that fails stops the batch; the blocks before it stay.

use canister_common::Candid;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog};
use nns_api::AccountIdentifier;
use nns_api::icp_block::{Block, Hash, Operation, sha256};
use nns_api::index::{GetAccountIdentifierTransactionsResponse, Transaction, TransactionWithId};
use std::fmt;

type VM<M> = VirtualMemory<M>;

pub const CONFIG_MEMORY: MemoryId = MemoryId::new(0);
const BLOCK_INDEX_MEMORY: MemoryId = MemoryId::new(1);
const BLOCK_DATA_MEMORY: MemoryId = MemoryId::new(2);
const ACCOUNT_BLOCKS_MEMORY: MemoryId = MemoryId::new(3);
const BALANCES_MEMORY: MemoryId = MemoryId::new(4);
const SYNC_STOP_MEMORY: MemoryId = MemoryId::new(5);

/// Why a block from the ledger was not indexed. Each is permanent: asking
/// again gets the same block, so syncing stops until an upgrade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockError {
    Undecodable {
        index: u64,
        reason: String,
    },
    /// The block's parent hash is not the hash of the block before it (or
    /// the first block names a parent).
    BrokenChain {
        index: u64,
        expected: Option<Hash>,
        found: Option<Hash>,
    },
    /// The block takes more from an account than the account holds.
    Overdrawn {
        index: u64,
        account: AccountIdentifier,
        balance: u64,
        debit: u128,
    },
    /// The block gives an account more than `u64::MAX` e8s.
    Overflow {
        index: u64,
        account: AccountIdentifier,
        balance: u64,
        credit: u64,
    },
}

fn hash_text(hash: &Option<Hash>) -> String {
    match hash {
        Some(hash) => hash.iter().map(|b| format!("{b:02x}")).collect(),
        None => "none".into(),
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undecodable { index, reason } => {
                write!(f, "block {index} does not decode: {reason}")
            }
            Self::BrokenChain {
                index,
                expected,
                found,
            } => write!(
                f,
                "block {index} breaks the hash chain: its parent hash is {}, \
                 but the block before it hashes to {}",
                hash_text(found),
                hash_text(expected)
            ),
            Self::Overdrawn {
                index,
                account,
                balance,
                debit,
            } => write!(
                f,
                "block {index} takes {debit} e8s from account {account}, which holds {balance}"
            ),
            Self::Overflow {
                index,
                account,
                balance,
                credit,
            } => write!(
                f,
                "block {index} gives {credit} e8s to account {account}, which holds {balance}: \
                 more than 2^64 - 1 e8s"
            ),
        }
    }
}

pub struct Index<M: Memory> {
    blocks: StableLog<Vec<u8>, VM<M>, VM<M>>,
    account_blocks: StableBTreeMap<[u8; 40], (), VM<M>>,
    balances: StableBTreeMap<[u8; 32], u64, VM<M>>,
    sync_stop: StableCell<Candid<Option<String>>, VM<M>>,
}

/// Sorts an account's blocks together, oldest first.
fn account_block_key(account: &AccountIdentifier, block_index: u64) -> [u8; 40] {
    let mut key = [0; 40];
    key[..32].copy_from_slice(account.as_bytes());
    key[32..].copy_from_slice(&block_index.to_be_bytes());
    key
}

fn block_index_of(key: &[u8; 40]) -> u64 {
    u64::from_be_bytes(key[32..].try_into().expect("8 bytes"))
}

/// The accounts whose history shows a block, as on the real index: the
/// spender of a `transfer_from` or of a burn is not one of them.
fn accounts_of(operation: &Operation) -> Vec<AccountIdentifier> {
    match operation {
        Operation::Mint { to, .. } => vec![*to],
        Operation::Burn { from, .. } => vec![*from],
        Operation::Transfer { from, to, .. } => vec![*from, *to],
        Operation::Approve { from, spender, .. } => vec![*from, *spender],
    }
}

impl<M: Memory> Index<M> {
    /// Opens the index in the manager's memories: empty on a fresh memory,
    /// as it was left on a used one.
    pub fn open(manager: &MemoryManager<M>) -> Self {
        let memory = |id| manager.get(id);
        Self {
            blocks: StableLog::init(memory(BLOCK_INDEX_MEMORY), memory(BLOCK_DATA_MEMORY)),
            account_blocks: StableBTreeMap::init(memory(ACCOUNT_BLOCKS_MEMORY)),
            balances: StableBTreeMap::init(memory(BALANCES_MEMORY)),
            sync_stop: StableCell::init(memory(SYNC_STOP_MEMORY), Candid(None)),
        }
    }

    pub fn num_blocks(&self) -> u64 {
        self.blocks.len()
    }

    /// Checks and appends blocks in order, up to the first that fails.
    pub fn append_blocks<B: AsRef<[u8]>>(&mut self, blocks: &[B]) -> Result<(), BlockError> {
        let mut parent = self.blocks.last().map(|bytes| sha256(&bytes));
        for encoded in blocks {
            let encoded = encoded.as_ref();
            self.append_block(encoded, parent)?;
            parent = Some(sha256(encoded));
        }
        Ok(())
    }

    fn append_block(&mut self, encoded: &[u8], parent: Option<Hash>) -> Result<(), BlockError> {
        let index = self.blocks.len();
        let block = Block::from_protobuf(encoded).map_err(|e| BlockError::Undecodable {
            index,
            reason: e.to_string(),
        })?;
        if block.parent_hash != parent {
            return Err(BlockError::BrokenChain {
                index,
                expected: parent,
                found: block.parent_hash,
            });
        }
        let new_balances = self.balances_after(index, &block.transaction.operation)?;
        self.blocks
            .append(&encoded.to_vec())
            .unwrap_or_else(|e| panic!("cannot grow the block log: {e:?}"));
        for account in accounts_of(&block.transaction.operation) {
            self.account_blocks
                .insert(account_block_key(&account, index), ());
        }
        for (account, balance) in new_balances {
            self.set_balance(&account, balance);
        }
        Ok(())
    }

    /// The balances a block leaves, in the order to write them (a transfer
    /// to oneself debits and credits the same account), as the ledger
    /// applies it: the fee of a transfer or an approval is taken from its
    /// sender; burns and mints have none.
    fn balances_after(
        &self,
        index: u64,
        operation: &Operation,
    ) -> Result<Vec<(AccountIdentifier, u64)>, BlockError> {
        let debit = |account: &AccountIdentifier, amount: u128| {
            let balance = self.balance(account);
            u128::from(balance)
                .checked_sub(amount)
                .map(|after| (*account, u64::try_from(after).expect("at most the balance")))
                .ok_or(BlockError::Overdrawn {
                    index,
                    account: *account,
                    balance,
                    debit: amount,
                })
        };
        let credit = |account: &AccountIdentifier, balance: u64, amount: u64| {
            balance
                .checked_add(amount)
                .map(|after| (*account, after))
                .ok_or(BlockError::Overflow {
                    index,
                    account: *account,
                    balance,
                    credit: amount,
                })
        };
        Ok(match operation {
            Operation::Mint { to, amount } => vec![credit(to, self.balance(to), *amount)?],
            Operation::Burn { from, amount, .. } => vec![debit(from, u128::from(*amount))?],
            Operation::Transfer {
                from,
                to,
                amount,
                fee,
                ..
            } => {
                let after_debit = debit(from, u128::from(*amount) + u128::from(*fee))?;
                let to_balance = if to == from {
                    after_debit.1
                } else {
                    self.balance(to)
                };
                vec![after_debit, credit(to, to_balance, *amount)?]
            }
            Operation::Approve { from, fee, .. } => vec![debit(from, u128::from(*fee))?],
        })
    }

    /// Keeps only positive balances: an emptied account costs nothing.
    fn set_balance(&mut self, account: &AccountIdentifier, balance: u64) {
        if balance == 0 {
            self.balances.remove(account.as_bytes());
        } else {
            self.balances.insert(*account.as_bytes(), balance);
        }
    }

    pub fn balance(&self, account: &AccountIdentifier) -> u64 {
        self.balances.get(account.as_bytes()).unwrap_or(0)
    }

    /// Accounts with a positive balance.
    pub fn funded_accounts(&self) -> u64 {
        self.balances.len()
    }

    /// Entries of the per-account history: one per account a block shows.
    pub fn history_entries(&self) -> u64 {
        self.account_blocks.len()
    }

    /// Up to `length` blocks from `start`, in the ledger's encoding; the
    /// caller bounds `length`.
    pub fn encoded_blocks(&self, start: u64, length: u64) -> Vec<Vec<u8>> {
        let end = self.num_blocks().min(start.saturating_add(length));
        (start..end)
            .map(|i| self.blocks.get(i).expect("blocks below the length exist"))
            .collect()
    }

    /// A block that was indexed: it decoded then, so it decodes now.
    pub fn block(&self, index: u64) -> Option<Block> {
        let encoded = self.blocks.get(index)?;
        Some(Block::from_protobuf(&encoded).expect("indexed blocks decode"))
    }

    /// The indices of the account's blocks before `start` (all when
    /// `None`), newest first, at most `max_results`.
    pub fn account_block_ids(
        &self,
        account: &AccountIdentifier,
        start: Option<u64>,
        max_results: usize,
    ) -> Vec<u64> {
        let last = match start {
            None => u64::MAX,
            Some(0) => return vec![],
            Some(start) => start - 1,
        };
        self.account_blocks
            .keys_range(account_block_key(account, 0)..=account_block_key(account, last))
            .rev()
            .take(max_results)
            .map(|key| block_index_of(&key))
            .collect()
    }

    /// The account's first block.
    pub fn oldest_block_id(&self, account: &AccountIdentifier) -> Option<u64> {
        self.account_blocks
            .keys_range(account_block_key(account, 0)..=account_block_key(account, u64::MAX))
            .next()
            .map(|key| block_index_of(&key))
    }

    /// A page of the account's transactions (see [`Self::account_block_ids`])
    /// with its balance and first block.
    pub fn account_transactions(
        &self,
        account: &AccountIdentifier,
        start: Option<u64>,
        max_results: usize,
    ) -> GetAccountIdentifierTransactionsResponse {
        let transactions = self
            .account_block_ids(account, start, max_results)
            .into_iter()
            .map(|id| TransactionWithId {
                id,
                transaction: Transaction::from(
                    &self.block(id).expect("the history names indexed blocks"),
                ),
            })
            .collect();
        GetAccountIdentifierTransactionsResponse {
            balance: self.balance(account),
            transactions,
            oldest_tx_id: self.oldest_block_id(account),
        }
    }

    /// Why syncing stopped, if it did.
    pub fn sync_stop(&self) -> Option<&str> {
        self.sync_stop.get().0.as_deref()
    }

    pub fn stop_sync(&mut self, reason: String) {
        self.sync_stop.set(Candid(Some(reason)));
    }

    /// Lets syncing try again (after an upgrade, which may have named
    /// another ledger).
    pub fn resume_sync(&mut self) {
        if self.sync_stop().is_some() {
            self.sync_stop.set(Candid(None));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
