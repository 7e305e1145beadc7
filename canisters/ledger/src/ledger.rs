//! The ledger's state and the rules that change it. Everything lives in
//! stable structures, so this module runs unchanged in a canister and, on a
//! vector memory, in unit tests.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  config             StableCell   Config (Candid)
//! ├── 1  tip                StableCell   Tip: layout version, last hash, totals
//! ├── 2  block index        StableLog    (index half)
//! ├── 3  block data         StableLog    Block (compact binary, see block.rs)
//! ├── 4  balance slots      BTreeMap     account id (32) → slot (see balances.rs)
//! ├── 5  allowances         BTreeMap     from (32) ‖ spender (32) → amount, expiry
//! ├── 6  approval expiries  BTreeMap     expires_at (8, BE) ‖ from ‖ spender → ()
//! ├── 7  dedup              BTreeMap     transaction hash → block index
//! ├── 8  dedup queue        BTreeMap     (layouts 1–5) block time ‖ block index (BE) → transaction hash
//! ├── 9  balance amounts    StableVec    e8s, by slot
//! ├── 10 funded accounts    StableCell   accounts with a positive balance
//! └── 11 re-hashed blocks   StableVec    hash of block i, for blocks made by layouts 1–4
//! ```
//!
//! Layouts 1–4 hashed blocks and transactions as ICRC-3 values (1 also
//! salted dedup keys by the request's shape; 3 marked their re-keying).
//! Layout 6 hashes them as the real ICP ledger does ([`nns_api::icp_block`]).
//! An upgrade from 1–4 records 5 (every earlier build refuses the memory
//! from then on: each refuses a version above its own) and migrates while
//! the ledger refuses transactions ([`Ledger::is_ready`]): it re-keys every
//! dedup entry by its block's transaction hash, and re-hashes the old blocks
//! in order into memory 11, which from then on supplies their parent hashes
//! (the old blocks keep their stored bytes). Both steps resume after an
//! upgrade mid-way (re-keying is idempotent; re-hashing goes on from the
//! last hash stored). Then it empties the dedup queue, which layout 6 does
//! without: dedup entries leave in block order, from the tip's
//! `dedup_pruned_to` on, each found again by hashing its block's
//! transaction. And it records 6.

use crate::balances::{Balances, Slot};
use crate::block::{Block, Hash, Operation, StoredBlock, Transaction};
use crate::config::Config;
use crate::tip::Tip;
use canister_common::StableConfig;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog, StableVec, Storable};
use nns_api::AccountIdentifier;
use std::borrow::Cow;

/// Bumped whenever the stable layout changes; an older build refuses to run
/// on a newer layout (no silent downgrades).
pub const LAYOUT_VERSION: u32 = 6;
/// Hashes of layouts 1–4 are being replaced by the real ledger's.
const MIGRATING_LAYOUT: u32 = 5;
/// How far in the future `created_at_time` may be (the real ledger's drift).
pub const PERMITTED_DRIFT_NANOS: u64 = 60_000_000_000;
/// Expired approvals and dedup entries removed per transaction, so that a
/// backlog is worked off without any message doing unbounded work.
pub const MAX_PRUNED_PER_CALL: usize = 100;

type VM<D> = VirtualMemory<D>;

/// Why a transaction was refused; the endpoints map it to each interface's
/// own error type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxError {
    BadFee { expected_fee: u64 },
    BadBurn { min_burn_amount: u64 },
    InsufficientFunds { balance: u64 },
    InsufficientAllowance { allowance: u64 },
    AllowanceChanged { current_allowance: u64 },
    Expired { ledger_time: u64 },
    TooOld,
    CreatedInFuture { ledger_time: u64 },
    Duplicate { duplicate_of: u64 },
    Generic { error_code: u64, message: String },
}

/// Error codes of `TxError::Generic`.
pub mod generic_error {
    // 1 meant "zero amount": zero amounts are transactions, as on the real ledger.
    pub const SUPPLY_OVERFLOW: u64 = 2;
    pub const MINTING_ACCOUNT_MISUSE: u64 = 3;
    pub const SELF_APPROVAL: u64 = 4;
    pub const ICRC2_DISABLED: u64 = 5;
    // 6 meant "anonymous caller": the anonymous principal holds and moves
    // tokens, as on the real ledger.
    pub const MEMO_TOO_LONG: u64 = 7;
    // 8 meant "amount beyond 64 bits": that is InsufficientFunds, as on the
    // real ledger.
    /// A refusal the called interface has no variant for.
    pub const UNEXPECTED: u64 = 9;
}

fn generic(error_code: u64, message: impl Into<String>) -> TxError {
    TxError::Generic {
        error_code,
        message: message.into(),
    }
}

/// A request to move tokens: a transfer, a mint (from the minting account)
/// or a burn (to it). `spender` is set for every `transfer_from`, the
/// owner's own included, as the real ledger records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRequest {
    pub from: AccountIdentifier,
    pub to: AccountIdentifier,
    pub spender: Option<AccountIdentifier>,
    pub amount: u64,
    /// The fee the caller expects to pay; `None` accepts the ledger's fee.
    pub fee: Option<u64>,
    pub memo: u64,
    pub icrc1_memo: Option<Vec<u8>>,
    pub created_at_time: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApproveRequest {
    pub from: AccountIdentifier,
    pub spender: AccountIdentifier,
    pub allowance: u64,
    pub expected_allowance: Option<u64>,
    pub expires_at: Option<u64>,
    pub fee: Option<u64>,
    pub icrc1_memo: Option<Vec<u8>>,
    pub created_at_time: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowance {
    pub amount: u64,
    pub expires_at: Option<u64>,
}

impl Allowance {
    fn is_live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

impl Storable for Allowance {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.amount.to_le_bytes());
        // 0 never is a real expiry: approvals expiring at or before now are refused.
        out.extend_from_slice(&self.expires_at.unwrap_or(0).to_le_bytes());
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let amount = u64::from_le_bytes(bytes[..8].try_into().expect("16 bytes"));
        let expires_at = u64::from_le_bytes(bytes[8..16].try_into().expect("16 bytes"));
        Self {
            amount,
            expires_at: (expires_at != 0).then_some(expires_at),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: 16,
        is_fixed_size: true,
    };
}

pub struct Ledger<D: Memory> {
    config: StableConfig<Config, VM<D>>,
    tip: StableCell<Tip, VM<D>>,
    blocks: StableLog<StoredBlock, VM<D>, VM<D>>,
    balances: Balances<VM<D>>,
    allowances: StableBTreeMap<[u8; 64], Allowance, VM<D>>,
    approval_expiries: StableBTreeMap<[u8; 72], (), VM<D>>,
    dedup: StableBTreeMap<Hash, u64, VM<D>>,
    dedup_queue: StableBTreeMap<[u8; 16], Hash, VM<D>>,
    /// The real ledger's hash of each block made before layout 6.
    rehashed: StableVec<Hash, VM<D>>,
    /// While migrating: the dedup queue key to re-key from. Not stored: an
    /// upgrade during the migration starts re-keying over, which gives the
    /// entries already done the same keys.
    dedup_migration: Option<[u8; 16]>,
}

fn pair_key(a: &AccountIdentifier, b: &AccountIdentifier) -> [u8; 64] {
    let mut key = [0; 64];
    key[..32].copy_from_slice(a.as_bytes());
    key[32..].copy_from_slice(b.as_bytes());
    key
}

fn expiry_key(expires_at: u64, pair: &[u8; 64]) -> [u8; 72] {
    let mut key = [0; 72];
    key[..8].copy_from_slice(&expires_at.to_be_bytes());
    key[8..].copy_from_slice(pair);
    key
}

/// Layouts 1–5 queued dedup entries under this key (tests write such queues).
#[cfg(test)]
fn dedup_queue_key(timestamp: u64, index: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&timestamp.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

impl<D: Memory> Ledger<D> {
    /// Opens the structures in their memories (empty on first use).
    pub fn open(manager: &MemoryManager<D>) -> Self {
        let memory = |id| manager.get(MemoryId::new(id));
        Self {
            config: StableConfig::init(memory(0)),
            tip: StableCell::init(memory(1), Tip::default()),
            blocks: StableLog::init(memory(2), memory(3)),
            balances: Balances::init(memory(4), memory(9), memory(10)),
            allowances: StableBTreeMap::init(memory(5)),
            approval_expiries: StableBTreeMap::init(memory(6)),
            dedup: StableBTreeMap::init(memory(7)),
            dedup_queue: StableBTreeMap::init(memory(8)),
            rehashed: StableVec::init(memory(11)),
            dedup_migration: None,
        }
    }

    /// First install: stores the configuration and mints the initial
    /// balances as blocks, so that every token is accounted for on chain.
    pub fn install(
        &mut self,
        config: Config,
        initial_balances: &[(AccountIdentifier, u64)],
        now: u64,
    ) -> Result<(), String> {
        let minting_account = config.minting_account;
        self.config.set(config);
        self.tip.set(Tip {
            layout_version: LAYOUT_VERSION,
            ..Tip::default()
        });
        for (to, amount) in initial_balances {
            if *to == minting_account {
                return Err("initial_values: the minting account cannot hold a balance".into());
            }
            self.mint(*to, *amount, now)
                .map_err(|e| format!("initial_values: {e:?}"))?;
        }
        Ok(())
    }

    /// Refuses to run on a layout written by a newer build.
    pub fn check_layout(&self) -> Result<(), String> {
        let stored = self.tip.get().layout_version;
        if stored > LAYOUT_VERSION {
            return Err(format!(
                "stable memory has layout version {stored}, newer than this build's \
                 {LAYOUT_VERSION}: downgrades are refused"
            ));
        }
        Ok(())
    }

    /// On upgrade from a layout before 6: records that the ledger migrates
    /// (see the module's doc); transactions are refused until
    /// [`Self::migrate`] is done.
    pub fn start_migration(&mut self) {
        let mut tip = *self.tip.get();
        if tip.layout_version < LAYOUT_VERSION {
            tip.layout_version = MIGRATING_LAYOUT;
            self.dedup_migration = Some([0; 16]);
        }
        self.tip.set(tip);
    }

    /// Whether the ledger takes transactions: not while it migrates.
    pub fn is_ready(&self) -> bool {
        self.tip.get().layout_version == LAYOUT_VERSION
    }

    /// Does up to `max_steps` steps of the migration (a dedup entry
    /// re-keyed or a block re-hashed); returns whether it is done.
    pub fn migrate(&mut self, max_steps: usize) -> bool {
        if self.is_ready() {
            return true;
        }
        let rekeyed = self.rekey_dedup(max_steps);
        self.rehash_blocks(max_steps - rekeyed);
        if self.dedup_migration.is_some() || self.rehashed.len() < self.blocks.len() {
            return false;
        }
        let mut tip = *self.tip.get();
        if let Some(last) = self.rehashed.len().checked_sub(1) {
            tip.last_hash = self.rehashed.get(last).expect("re-hashed above");
        }
        // From now on the blocks are the dedup queue: pruning starts at the
        // oldest block the old queue still held.
        tip.dedup_pruned_to = self
            .dedup_queue
            .first_key_value()
            .map_or(self.blocks.len(), |(key, _)| {
                u64::from_be_bytes(key[8..].try_into().expect("8 bytes"))
            });
        self.dedup_queue.clear_new();
        tip.layout_version = LAYOUT_VERSION;
        self.tip.set(tip);
        true
    }

    /// Keys up to `max_entries` dedup entries by the real ledger's hash of
    /// the transaction their block records; returns how many it visited.
    /// Doing an entry again changes nothing, so an upgrade during the
    /// migration may start over.
    fn rekey_dedup(&mut self, max_entries: usize) -> usize {
        let Some(from) = self.dedup_migration else {
            return 0;
        };
        let batch: Vec<([u8; 16], Hash)> = self
            .dedup_queue
            .range(from..)
            .take(max_entries.saturating_add(1))
            .map(|entry| entry.into_pair())
            .collect();
        for (queue_key, old_key) in batch.iter().take(max_entries) {
            let index = u64::from_be_bytes(queue_key[8..].try_into().expect("8 bytes"));
            let Some(StoredBlock(block)) = self.blocks.get(index) else {
                continue;
            };
            let key = block.transaction.hash();
            if key == *old_key {
                continue;
            }
            if self.dedup.get(old_key) == Some(index) {
                self.dedup.remove(old_key);
            }
            // Layout 1 could record one payment twice (the same transaction
            // spelled two ways); the first block stays the one reported.
            // Dropping the key with the first block's queue entry is safe:
            // both share created_at_time, so a retry is too old by then.
            if self.dedup.get(&key).is_none_or(|first| first > index) {
                self.dedup.insert(key, index);
            }
        }
        match batch.get(max_entries) {
            Some((next, _)) => self.dedup_migration = Some(*next),
            None => self.dedup_migration = None,
        }
        batch.len().min(max_entries)
    }

    /// Re-hashes up to `max_blocks` blocks after the last one re-hashed,
    /// each naming its parent by the parent's new hash.
    fn rehash_blocks(&mut self, max_blocks: usize) {
        let start = self.rehashed.len();
        let end = self.blocks.len().min(start + max_blocks as u64);
        for index in start..end {
            let block = self.block(index).expect("index below the chain length");
            self.rehashed.push(&block.hash());
        }
    }

    pub fn config(&self) -> &Config {
        self.config.get()
    }

    pub fn update_config(&mut self, f: impl FnOnce(&mut Config)) {
        self.config.update(f);
    }

    pub fn tip(&self) -> &Tip {
        self.tip.get()
    }

    pub fn set_last_upgrade_instructions(&mut self, instructions: u64) {
        let mut tip = *self.tip.get();
        tip.last_upgrade_instructions = instructions;
        self.tip.set(tip);
    }

    pub fn balance(&self, account: &AccountIdentifier) -> u64 {
        self.balances.balance(account)
    }

    /// Accounts with a positive balance.
    pub fn number_of_accounts(&self) -> u64 {
        self.balances.funded_accounts()
    }

    pub fn chain_length(&self) -> u64 {
        self.blocks.len()
    }

    /// A block as the real ledger would have made it: a block from before
    /// layout 6 names its parent by the re-hashed hash.
    pub fn block(&self, index: u64) -> Option<Block> {
        let StoredBlock(mut block) = self.blocks.get(index)?;
        if let Some(parent) = index.checked_sub(1)
            && let Some(hash) = self.rehashed.get(parent)
        {
            block.parent_hash = Some(hash);
        }
        Some(block)
    }

    /// The index and hash of the last block, if any.
    pub fn last_block(&self) -> Option<(u64, Hash)> {
        let len = self.blocks.len();
        (len > 0).then(|| (len - 1, self.tip.get().last_hash))
    }

    pub fn stable_memory_bytes(&self) -> u64 {
        self.blocks.log_size_bytes()
    }

    pub fn allowance(
        &self,
        from: &AccountIdentifier,
        spender: &AccountIdentifier,
        now: u64,
    ) -> Allowance {
        self.allowances
            .get(&pair_key(from, spender))
            .filter(|a| a.is_live(now))
            .unwrap_or_default()
    }

    /// The live allowances `from` granted, by spender, after `after`'s
    /// (exclusive), at most `take`; reads only those entries.
    pub fn allowances_of(
        &self,
        from: &AccountIdentifier,
        after: Option<&AccountIdentifier>,
        take: usize,
        now: u64,
    ) -> Vec<(AccountIdentifier, Allowance)> {
        use std::ops::Bound::{Excluded, Included};
        let prefixed = |spender: [u8; 32]| {
            let mut key = [0; 64];
            key[..32].copy_from_slice(from.as_bytes());
            key[32..].copy_from_slice(&spender);
            key
        };
        let start = match after {
            Some(spender) => Excluded(pair_key(from, spender)),
            None => Included(prefixed([0; 32])),
        };
        self.allowances
            .range((start, Included(prefixed([0xff; 32]))))
            .map(|entry| entry.into_pair())
            .filter(|(_, allowance)| allowance.is_live(now))
            .take(take)
            .map(|(key, allowance)| {
                let spender = AccountIdentifier::from_slice(&key[32..])
                    .expect("stored spenders are valid account identifiers");
                (spender, allowance)
            })
            .collect()
    }

    /// A mint on behalf of the ledger itself (initial balances).
    fn mint(&mut self, to: AccountIdentifier, amount: u64, now: u64) -> Result<u64, TxError> {
        let request = TransferRequest {
            from: self.config().minting_account,
            to,
            spender: None,
            amount,
            fee: None,
            memo: 0,
            icrc1_memo: None,
            created_at_time: None,
        };
        self.transfer(request, now)
    }

    /// Transfers, mints or burns, as the accounts involved decide.
    pub fn transfer(&mut self, req: TransferRequest, now: u64) -> Result<u64, TxError> {
        let minting_account = self.config().minting_account;
        let fee = self.config().transfer_fee.e8s;
        check_memo(&req.icrc1_memo)?;
        let operation = if req.from == minting_account {
            if req.spender.is_some() {
                return Err(generic(
                    generic_error::MINTING_ACCOUNT_MISUSE,
                    "the minting account cannot delegate mints",
                ));
            }
            if req.to == minting_account {
                return Err(generic(
                    generic_error::MINTING_ACCOUNT_MISUSE,
                    "the minting account cannot send to itself",
                ));
            }
            expect_fee(req.fee, 0)?;
            Operation::Mint {
                to: req.to,
                amount: req.amount,
            }
        } else if req.to == minting_account {
            expect_fee(req.fee, 0)?;
            // As on the real ledger: at least the fee, or the whole balance
            // when it is smaller, and never nothing.
            let min_burn_amount = fee.min(self.balance(&req.from));
            if req.amount < min_burn_amount {
                return Err(TxError::BadBurn { min_burn_amount });
            }
            if req.amount == 0 {
                return Err(TxError::BadBurn {
                    min_burn_amount: fee,
                });
            }
            Operation::Burn {
                from: req.from,
                spender: req.spender,
                amount: req.amount,
            }
        } else {
            expect_fee(req.fee, fee)?;
            Operation::Transfer {
                from: req.from,
                to: req.to,
                spender: req.spender,
                amount: req.amount,
                fee,
            }
        };
        let tx = Transaction {
            operation,
            memo: req.memo,
            icrc1_memo: req.icrc1_memo,
            created_at_time: req.created_at_time,
        };
        self.execute(tx, now)
    }

    pub fn approve(&mut self, req: ApproveRequest, now: u64) -> Result<u64, TxError> {
        let config = self.config();
        if !config.icrc2_enabled {
            return Err(generic(
                generic_error::ICRC2_DISABLED,
                "ICRC-2 is disabled on this ledger",
            ));
        }
        if req.from == config.minting_account {
            return Err(generic(
                generic_error::MINTING_ACCOUNT_MISUSE,
                "the minting account cannot approve",
            ));
        }
        if req.from == req.spender {
            return Err(generic(
                generic_error::SELF_APPROVAL,
                "self-approval is not allowed",
            ));
        }
        check_memo(&req.icrc1_memo)?;
        let fee = config.transfer_fee.e8s;
        expect_fee(req.fee, fee)?;
        let tx = Transaction {
            operation: Operation::Approve {
                from: req.from,
                spender: req.spender,
                allowance: req.allowance,
                expected_allowance: req.expected_allowance,
                expires_at: req.expires_at,
                fee,
            },
            memo: 0,
            icrc1_memo: req.icrc1_memo,
            created_at_time: req.created_at_time,
        };
        self.execute(tx, now)
    }

    /// Checks time and deduplication, applies the operation, appends the
    /// block. Nothing is written unless every check passes.
    ///
    /// A transaction is deduplicated by what the block records (accounts as
    /// account identifiers, the effective fee, both memos, created_at_time),
    /// as on the real ICP ledger: requests that spell the same transaction
    /// differently (an explicit default subaccount or fee, the legacy or the
    /// ICRC-1 endpoint) are one payment.
    fn execute(&mut self, tx: Transaction, now: u64) -> Result<u64, TxError> {
        // The canister refuses earlier; the blocks' hashes depend on it.
        assert!(self.is_ready(), "The Ledger is not ready");
        let window = self.config().transaction_window_nanos;
        if let Some(created) = tx.created_at_time {
            if created.saturating_add(window) < now {
                return Err(TxError::TooOld);
            }
            if created > now.saturating_add(PERMITTED_DRIFT_NANOS) {
                return Err(TxError::CreatedInFuture { ledger_time: now });
            }
        }
        self.prune(now);
        let index = self.blocks.len();
        // One write serves as both the duplicate check and the new entry;
        // the rare refusals undo it.
        let tx_hash = tx.created_at_time.map(|_| tx.hash());
        if let Some(tx_hash) = tx_hash
            && let Some(duplicate_of) = self.dedup.insert(tx_hash, index)
        {
            self.dedup.insert(tx_hash, duplicate_of);
            return Err(TxError::Duplicate { duplicate_of });
        }
        if let Err(e) = self.apply(&tx.operation, now) {
            if let Some(tx_hash) = tx_hash {
                self.dedup.remove(&tx_hash);
            }
            return Err(e);
        }

        let block = Block {
            parent_hash: self.last_block().map(|(_, hash)| hash),
            transaction: tx,
            timestamp: now,
        };
        let hash = block.hash();
        let block = StoredBlock(block);
        self.blocks
            .append(&block)
            .expect("stable memory can grow for the block log");
        let StoredBlock(block) = block;
        let mut tip = *self.tip.get();
        tip.last_hash = hash;
        tip.record(&block.transaction.operation);
        self.tip.set(tip);
        Ok(index)
    }

    /// Checks the operation against balances and allowances, then applies
    /// it. Every check precedes the first write.
    fn apply(&mut self, operation: &Operation, now: u64) -> Result<(), TxError> {
        match operation {
            Operation::Mint { to, amount } => {
                if self.tip.get().total_supply().checked_add(*amount).is_none() {
                    return Err(generic(
                        generic_error::SUPPLY_OVERFLOW,
                        "the mint would overflow the total supply",
                    ));
                }
                self.credit(to, *amount);
            }
            Operation::Burn {
                from,
                spender,
                amount,
            } => {
                // As on the real ledger, an owner's burn through
                // transfer_from needs an allowance too, which no one can
                // grant themselves.
                if spender.as_ref() == Some(from) {
                    return Err(TxError::InsufficientAllowance { allowance: 0 });
                }
                let allowance = self.check_allowance(from, spender.as_ref(), *amount, now)?;
                let (slot, balance) = self.balance_covering(from, *amount)?;
                self.use_allowance(from, spender.as_ref(), allowance, *amount);
                self.balances.set(slot, balance, balance - amount);
            }
            Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => {
                let total = amount
                    .checked_add(*fee)
                    .ok_or_else(|| TxError::InsufficientFunds {
                        balance: self.balance(from),
                    })?;
                let allowance = self.check_allowance(from, spender.as_ref(), total, now)?;
                let (slot, balance) = self.balance_covering(from, total)?;
                self.use_allowance(from, spender.as_ref(), allowance, total);
                self.balances.set(slot, balance, balance - total);
                // Read after the debit: `to` may be `from`.
                self.credit(to, *amount);
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                // The real ledger's order: the fee, then the expiry, then
                // the expected allowance.
                let funds = self.funds_covering(from, *fee)?;
                if let Some(expires_at) = expires_at
                    && *expires_at <= now
                {
                    return Err(TxError::Expired { ledger_time: now });
                }
                let key = pair_key(from, spender);
                let current = self.allowances.get(&key);
                if let Some(expected) = expected_allowance {
                    let current_allowance =
                        current.filter(|a| a.is_live(now)).map_or(0, |a| a.amount);
                    if current_allowance != *expected {
                        return Err(TxError::AllowanceChanged { current_allowance });
                    }
                }
                let (slot, balance) = self.slot_of(from, funds);
                self.balances.set(slot, balance, balance - fee);
                if let Some(old) = current.and_then(|a| a.expires_at) {
                    self.approval_expiries.remove(&expiry_key(old, &key));
                }
                if *allowance == 0 {
                    self.allowances.remove(&key);
                } else {
                    self.allowances.insert(
                        key,
                        Allowance {
                            amount: *allowance,
                            expires_at: *expires_at,
                        },
                    );
                    if let Some(expires_at) = expires_at {
                        self.approval_expiries
                            .insert(expiry_key(*expires_at, &key), ());
                    }
                }
            }
        }
        Ok(())
    }

    /// The account's slot and balance, if the balance covers `needed`.
    /// Callers write through the slot rather than looking the account up
    /// again.
    fn balance_covering(
        &mut self,
        account: &AccountIdentifier,
        needed: u64,
    ) -> Result<(Slot, u64), TxError> {
        let funds = self.funds_covering(account, needed)?;
        Ok(self.slot_of(account, funds))
    }

    /// As [`Self::balance_covering`], without writing: an account that never
    /// held tokens (covering a zero debit) has no slot yet.
    fn funds_covering(
        &self,
        account: &AccountIdentifier,
        needed: u64,
    ) -> Result<Option<(Slot, u64)>, TxError> {
        let found = self
            .balances
            .slot(account)
            .map(|slot| (slot, self.balances.get(slot)));
        match found {
            Some((_, balance)) if balance >= needed => Ok(found),
            // A zero debit (an approval on a ledger without fees) from an
            // account that never held tokens.
            None if needed == 0 => Ok(None),
            other => Err(TxError::InsufficientFunds {
                balance: other.map_or(0, |(_, balance)| balance),
            }),
        }
    }

    /// The slot [`Self::funds_covering`] found, or a new one.
    fn slot_of(&mut self, account: &AccountIdentifier, funds: Option<(Slot, u64)>) -> (Slot, u64) {
        funds.unwrap_or_else(|| (self.balances.slot_or_new(account), 0))
    }

    /// The allowance a spender draws on, if the spender is a third party.
    fn check_allowance(
        &self,
        from: &AccountIdentifier,
        spender: Option<&AccountIdentifier>,
        needed: u64,
        now: u64,
    ) -> Result<Option<Allowance>, TxError> {
        let Some(spender) = spender.filter(|s| *s != from) else {
            return Ok(None);
        };
        let allowance = self.allowance(from, spender, now);
        if allowance.amount < needed {
            return Err(TxError::InsufficientAllowance {
                allowance: allowance.amount,
            });
        }
        Ok(Some(allowance))
    }

    fn use_allowance(
        &mut self,
        from: &AccountIdentifier,
        spender: Option<&AccountIdentifier>,
        allowance: Option<Allowance>,
        used: u64,
    ) {
        let (Some(spender), Some(allowance)) = (spender, allowance) else {
            return;
        };
        let key = pair_key(from, spender);
        let left = allowance.amount - used;
        if left == 0 {
            self.allowances.remove(&key);
            if let Some(expires_at) = allowance.expires_at {
                self.approval_expiries.remove(&expiry_key(expires_at, &key));
            }
        } else {
            self.allowances.insert(
                key,
                Allowance {
                    amount: left,
                    ..allowance
                },
            );
        }
    }

    fn credit(&mut self, account: &AccountIdentifier, amount: u64) {
        // Crediting nothing (a zero-amount transfer) stores no empty account.
        if amount == 0 {
            return;
        }
        let slot = self.balances.slot_or_new(account);
        let balance = self.balances.get(slot);
        // Cannot overflow: every balance is part of the total supply, a u64.
        self.balances.set(slot, balance, balance + amount);
    }

    /// Removes a bounded number of expired approvals and dedup entries.
    fn prune(&mut self, now: u64) {
        for _ in 0..MAX_PRUNED_PER_CALL {
            let Some((key, ())) = self.approval_expiries.first_key_value() else {
                break;
            };
            let expires_at = u64::from_be_bytes(key[..8].try_into().expect("8 bytes"));
            if expires_at > now {
                break;
            }
            self.approval_expiries.remove(&key);
            self.allowances
                .remove(&key[8..].try_into().expect("64 bytes"));
        }
        // Dedup entries leave in block order: the blocks are the queue.
        let window = self.config().transaction_window_nanos;
        let mut tip = *self.tip.get();
        let start = tip.dedup_pruned_to;
        let end = self.blocks.len().min(start + MAX_PRUNED_PER_CALL as u64);
        for index in start..end {
            let StoredBlock(block) = self.blocks.get(index).expect("index below the length");
            // A transaction is accepted only while created_at_time + window ≥ now,
            // and created_at_time ≤ block time + drift.
            if block
                .timestamp
                .saturating_add(window)
                .saturating_add(PERMITTED_DRIFT_NANOS)
                >= now
            {
                break;
            }
            if block.transaction.created_at_time.is_some() {
                let tx_hash = block.transaction.hash();
                // Another block may hold the key (layout 1 could record a
                // payment twice): only this block's entry leaves.
                if let Some(holder) = self.dedup.remove(&tx_hash)
                    && holder != index
                {
                    self.dedup.insert(tx_hash, holder);
                }
            }
            tip.dedup_pruned_to = index + 1;
        }
        if tip.dedup_pruned_to != start {
            self.tip.set(tip);
        }
    }

    /// Number of live dedup entries (for tests and metrics).
    pub fn dedup_entries(&self) -> u64 {
        self.dedup.len()
    }

    /// Number of stored approvals (for tests and metrics).
    pub fn approvals(&self) -> u64 {
        self.allowances.len()
    }
}

fn expect_fee(given: Option<u64>, expected_fee: u64) -> Result<(), TxError> {
    match given {
        Some(fee) if fee != expected_fee => Err(TxError::BadFee { expected_fee }),
        _ => Ok(()),
    }
}

pub const MAX_MEMO_BYTES: usize = 32;

fn check_memo(memo: &Option<Vec<u8>>) -> Result<(), TxError> {
    match memo {
        Some(memo) if memo.len() > MAX_MEMO_BYTES => Err(generic(
            generic_error::MEMO_TOO_LONG,
            format!(
                "the memo is {} bytes long; at most {MAX_MEMO_BYTES} are allowed",
                memo.len()
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
