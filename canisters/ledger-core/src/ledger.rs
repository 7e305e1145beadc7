//! A ledger's state and the rules that change it, for every [`LedgerKind`].
//! Everything lives in stable structures, so this module runs unchanged in a
//! canister and, on a vector memory, in unit tests.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  config             StableCell   Config (Candid)
//! ├── 1  tip                StableCell   Tip: layout version, last hash, totals
//! ├── 2  block index        StableLog    (index half)
//! ├── 3  block data         StableLog    the kind's stored block
//! ├── 4  balance slots      BTreeMap     account key → slot (see balances.rs)
//! ├── 5  allowances         BTreeMap     from key ‖ spender key → amount, expiry
//! ├── 6  approval expiries  BTreeMap     expires_at (8, BE) ‖ from ‖ spender → ()
//! ├── 7  dedup              BTreeMap     transaction hash → block index
//! ├── 8  dedup queue        BTreeMap     (layouts 1–5) block time ‖ block index (BE) → transaction hash
//! ├── 9  balance amounts    StableVec    amount, by slot
//! ├── 10 funded accounts    StableCell   accounts with a positive balance
//! └── 11 re-hashed blocks   StableVec    hash of block i, for blocks made by layouts 1–4
//! ```
//!
//! The ICP ledger's layouts 1–4 hashed blocks and transactions as ICRC-3 values (1 also
//! salted dedup keys by the request's shape; 3 marked their re-keying).
//! Layout 6 hashes them as the kind says (for ICP: as the real ICP ledger).
//! Ledgers of other kinds start at layout 6.
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

use crate::amount::Amount;
use crate::balances::{Balances, Slot};
use crate::fixed::FixedBytes;
use crate::kind::{Hash, LedgerKind, Operation, expiry_key, pair_key};
use crate::tip::Tip;
use canister_common::StableConfig;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog, StableVec, Storable};
use std::borrow::Cow;

/// Bumped whenever the stable layout changes; an older build refuses to run
/// on a newer layout (no silent downgrades).
pub const LAYOUT_VERSION: u32 = 6;
/// Hashes of layouts 1–4 are being replaced by the kind's.
const MIGRATING_LAYOUT: u32 = 5;
/// How far in the future `created_at_time` may be (the real ledgers' drift).
pub const PERMITTED_DRIFT_NANOS: u64 = 60_000_000_000;
/// Expired approvals and dedup entries removed per transaction, so that a
/// backlog is worked off without any message doing unbounded work.
pub const MAX_PRUNED_PER_CALL: usize = 100;
pub const MAX_MEMO_BYTES: usize = 32;

type VM<D> = VirtualMemory<D>;
/// An allowance listed: owner, spender, amount and expiry.
pub type GrantedAllowance<K> = (
    <K as LedgerKind>::Account,
    <K as LedgerKind>::Account,
    Allowance<<K as LedgerKind>::Amount>,
);
/// An account's balance slot and the balance read from it.
type Funds<K> = (Slot, <K as LedgerKind>::Amount);

/// Why a transaction was refused; the endpoints map it to each interface's
/// own error type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxError<N> {
    BadFee { expected_fee: N },
    BadBurn { min_burn_amount: N },
    InsufficientFunds { balance: N },
    InsufficientAllowance { allowance: N },
    AllowanceChanged { current_allowance: N },
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

fn generic<N>(error_code: u64, message: impl Into<String>) -> TxError<N> {
    TxError::Generic {
        error_code,
        message: message.into(),
    }
}

/// A request to move tokens: a transfer, a mint (from the minting account)
/// or a burn (to it). `spender` is set for every `transfer_from`, the
/// owner's own included, as the real ledgers record it.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferRequest<K: LedgerKind> {
    pub from: K::Account,
    pub to: K::Account,
    pub spender: Option<K::Account>,
    pub amount: K::Amount,
    /// The fee the caller expects to pay; `None` accepts the ledger's fee.
    pub fee: Option<K::Amount>,
    pub memo: K::Memo,
    pub created_at_time: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApproveRequest<K: LedgerKind> {
    pub from: K::Account,
    pub spender: K::Account,
    pub allowance: K::Amount,
    pub expected_allowance: Option<K::Amount>,
    pub expires_at: Option<u64>,
    pub fee: Option<K::Amount>,
    pub memo: K::Memo,
    pub created_at_time: Option<u64>,
}

/// A mint or burn the ledger's own canister makes (a deposit of cycles, a
/// withdrawal): no minting account is involved. A burn pays the ledger's
/// fee on top of the amount.
#[derive(Clone, Debug, PartialEq)]
pub struct SupplyChange<K: LedgerKind> {
    pub account: K::Account,
    pub spender: Option<K::Account>,
    pub amount: K::Amount,
    pub memo: K::Memo,
    pub created_at_time: Option<u64>,
    /// A fee a mint's transaction records without charging it (the cycles
    /// ledger's deposits record the fee they kept before minting).
    pub recorded_fee: Option<K::Amount>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowance<N> {
    pub amount: N,
    pub expires_at: Option<u64>,
}

impl<N> Allowance<N> {
    fn is_live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

impl<N: Amount> Storable for Allowance<N> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(N::BYTES + 8);
        self.amount.write_le(&mut out);
        // 0 never is a real expiry: approvals expiring at or before now are refused.
        out.extend_from_slice(&self.expires_at.unwrap_or(0).to_le_bytes());
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let amount = N::read_le(&bytes);
        let expires_at =
            u64::from_le_bytes(bytes[N::BYTES..N::BYTES + 8].try_into().expect("8 bytes"));
        Self {
            amount,
            expires_at: (expires_at != 0).then_some(expires_at),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: (N::BYTES + 8) as u32,
        is_fixed_size: true,
    };
}

pub struct Ledger<K: LedgerKind, D: Memory> {
    config: StableConfig<K::Config, VM<D>>,
    tip: StableCell<Tip<K::Amount>, VM<D>>,
    blocks: StableLog<K::StoredBlock, VM<D>, VM<D>>,
    balances: Balances<K, VM<D>>,
    allowances: StableBTreeMap<K::PairKey, Allowance<K::Amount>, VM<D>>,
    approval_expiries: StableBTreeMap<K::ExpiryKey, (), VM<D>>,
    dedup: StableBTreeMap<Hash, u64, VM<D>>,
    dedup_queue: StableBTreeMap<[u8; 16], Hash, VM<D>>,
    /// The kind's hash of each block made before layout 6.
    rehashed: StableVec<Hash, VM<D>>,
    /// While migrating: the dedup queue key to re-key from. Not stored: an
    /// upgrade during the migration starts re-keying over, which gives the
    /// entries already done the same keys.
    dedup_migration: Option<[u8; 16]>,
    /// While minting the genesis balances (not stored): credited accounts
    /// are taken to be new.
    minting_genesis: bool,
}

/// Layouts 1–5 queued dedup entries under this key.
#[cfg(any(test, feature = "testing"))]
fn dedup_queue_key(timestamp: u64, index: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&timestamp.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

impl<K: LedgerKind, D: Memory> Ledger<K, D> {
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
            minting_genesis: false,
        }
    }

    /// First install: stores the configuration and mints the initial
    /// balances as blocks, so that every token is accounted for on chain.
    pub fn install(
        &mut self,
        config: K::Config,
        initial_balances: &[(K::Account, K::Amount)],
        now: u64,
    ) -> Result<(), String>
    where
        K::Memo: Default,
    {
        self.config.set(config);
        self.tip.set(Tip {
            layout_version: LAYOUT_VERSION,
            ..Tip::default()
        });
        for (to, amount) in initial_balances {
            self.mint_initial(*to, *amount, now)?;
        }
        Ok(())
    }

    /// Mints one initial balance of an installation (which may also hand
    /// them over one at a time after [`Self::install`], as they are
    /// decoded), as a mint block.
    pub fn mint_initial(
        &mut self,
        to: K::Account,
        amount: K::Amount,
        now: u64,
    ) -> Result<(), String>
    where
        K::Memo: Default,
    {
        let config = self.config.get();
        if K::minting_account(config).map(|a| K::key(&a)) == Some(K::key(&to)) {
            return Err("initial_values: the minting account cannot hold a balance".into());
        }
        let mint = SupplyChange {
            account: to,
            spender: None,
            amount,
            memo: K::Memo::default(),
            created_at_time: None,
            recorded_fee: K::recorded_mint_fee(config),
        };
        self.minting_genesis = true;
        let minted = self.mint(mint, now);
        self.minting_genesis = false;
        minted
            .map(|_| ())
            .map_err(|e| format!("initial_values: {e:?}"))
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

    /// Keys up to `max_entries` dedup entries by the kind's hash of the
    /// transaction their block records; returns how many it visited.
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
            let Some(stored) = self.blocks.get(index) else {
                continue;
            };
            let key = K::transaction_hash(K::block_transaction(&K::load(stored)));
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
            self.rehashed.push(&K::block_hash(&block));
        }
    }

    pub fn config(&self) -> &K::Config {
        self.config.get()
    }

    pub fn update_config(&mut self, f: impl FnOnce(&mut K::Config)) {
        self.config.update(f);
    }

    pub fn tip(&self) -> &Tip<K::Amount> {
        self.tip.get()
    }

    pub fn set_last_upgrade_instructions(&mut self, instructions: u64) {
        let mut tip = *self.tip.get();
        tip.last_upgrade_instructions = instructions;
        self.tip.set(tip);
    }

    pub fn balance(&self, account: &K::Account) -> K::Amount {
        self.balances.balance(&K::key(account))
    }

    /// Accounts with a positive balance.
    pub fn number_of_accounts(&self) -> u64 {
        self.balances.funded_accounts()
    }

    pub fn chain_length(&self) -> u64 {
        self.blocks.len()
    }

    /// A block as the kind makes it: a block from before layout 6 names its
    /// parent by the re-hashed hash.
    pub fn block(&self, index: u64) -> Option<K::Block> {
        let mut block = K::load(self.blocks.get(index)?);
        if let Some(parent) = index.checked_sub(1)
            && let Some(hash) = self.rehashed.get(parent)
        {
            K::set_parent_hash(&mut block, hash);
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
        from: &K::Account,
        spender: &K::Account,
        now: u64,
    ) -> Allowance<K::Amount> {
        self.allowances
            .get(&pair_key::<K>(&K::key(from), &K::key(spender)))
            .filter(|a| a.is_live(now))
            .unwrap_or_default()
    }

    /// The live allowances granted by `from` and, after them, by the other
    /// accounts of its owner, in key order, starting after `from`'s to
    /// `after` (exclusive); at most `take`, reading only those entries.
    pub fn allowances_of(
        &self,
        from: &K::Account,
        after: Option<&K::Account>,
        take: usize,
        now: u64,
    ) -> Vec<GrantedAllowance<K>> {
        use std::ops::Bound::{Excluded, Included};
        let from = K::key(from);
        let start = match after {
            Some(spender) => Excluded(pair_key::<K>(&from, &K::key(spender))),
            None => Included(pair_key::<K>(&from, &K::Key::zeroed())),
        };
        let mut last = K::PairKey::filled(0xff);
        last.bytes_mut()[..K::OWNER_PREFIX].copy_from_slice(&from.bytes()[..K::OWNER_PREFIX]);
        let split = |pair: &K::PairKey| {
            let (mut owner, mut spender) = (K::Key::zeroed(), K::Key::zeroed());
            owner
                .bytes_mut()
                .copy_from_slice(&pair.bytes()[..K::Key::LEN]);
            spender
                .bytes_mut()
                .copy_from_slice(&pair.bytes()[K::Key::LEN..]);
            (K::account(&owner), K::account(&spender))
        };
        self.allowances
            .range((start, Included(last)))
            .map(|entry| entry.into_pair())
            .filter(|(_, allowance)| allowance.is_live(now))
            .take(take)
            .map(|(key, allowance)| {
                let (owner, spender) = split(&key);
                (owner, spender, allowance)
            })
            .collect()
    }

    /// Mints to an account on the ledger's own authority (initial balances,
    /// deposits); no fee.
    pub fn mint(&mut self, req: SupplyChange<K>, now: u64) -> Result<u64, TxError<K::Amount>> {
        check_memo::<K>(&req.memo)?;
        let operation = Operation::Mint {
            to: req.account,
            amount: req.amount,
        };
        let tx = K::transaction(operation, req.memo, req.created_at_time, req.recorded_fee);
        self.execute(tx, now)
    }

    /// Burns from an account on the ledger's own authority (a withdrawal):
    /// the amount and the ledger's fee, drawing on the spender's allowance
    /// when one is named.
    pub fn burn(&mut self, req: SupplyChange<K>, now: u64) -> Result<u64, TxError<K::Amount>> {
        check_memo::<K>(&req.memo)?;
        let operation = Operation::Burn {
            from: req.account,
            spender: req.spender,
            amount: req.amount,
            fee: K::fee(self.config()),
        };
        let tx = K::transaction(operation, req.memo, req.created_at_time, None);
        self.execute(tx, now)
    }

    /// Transfers, mints or burns, as the accounts involved decide.
    pub fn transfer(
        &mut self,
        req: TransferRequest<K>,
        now: u64,
    ) -> Result<u64, TxError<K::Amount>> {
        let minting_account = K::minting_account(self.config()).map(|a| K::key(&a));
        let fee = K::fee(self.config());
        check_memo::<K>(&req.memo)?;
        let (from, to) = (Some(K::key(&req.from)), Some(K::key(&req.to)));
        let operation = if minting_account.is_some() && from == minting_account {
            if req.spender.is_some() {
                return Err(generic(
                    generic_error::MINTING_ACCOUNT_MISUSE,
                    "the minting account cannot delegate mints",
                ));
            }
            if to == minting_account {
                return Err(generic(
                    generic_error::MINTING_ACCOUNT_MISUSE,
                    "the minting account cannot send to itself",
                ));
            }
            expect_fee(req.fee, K::Amount::ZERO)?;
            Operation::Mint {
                to: req.to,
                amount: req.amount,
            }
        } else if minting_account.is_some() && to == minting_account {
            expect_fee(req.fee, K::Amount::ZERO)?;
            // As on the real ICP ledger: at least the fee, or the whole
            // balance when it is smaller, and never nothing.
            let min_burn_amount = fee.min(self.balance(&req.from));
            if req.amount < min_burn_amount {
                return Err(TxError::BadBurn { min_burn_amount });
            }
            if req.amount == K::Amount::ZERO {
                return Err(TxError::BadBurn {
                    min_burn_amount: fee,
                });
            }
            Operation::Burn {
                from: req.from,
                spender: req.spender,
                amount: req.amount,
                fee: K::Amount::ZERO,
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
        let tx = K::transaction(operation, req.memo, req.created_at_time, req.fee);
        self.execute(tx, now)
    }

    pub fn approve(&mut self, req: ApproveRequest<K>, now: u64) -> Result<u64, TxError<K::Amount>> {
        let config = self.config();
        if !K::icrc2_enabled(config) {
            return Err(generic(
                generic_error::ICRC2_DISABLED,
                "ICRC-2 is disabled on this ledger",
            ));
        }
        let from = K::key(&req.from);
        if K::minting_account(config).is_some_and(|minting| K::key(&minting) == from) {
            return Err(generic(
                generic_error::MINTING_ACCOUNT_MISUSE,
                "the minting account cannot approve",
            ));
        }
        if from == K::key(&req.spender) {
            return Err(generic(
                generic_error::SELF_APPROVAL,
                "self-approval is not allowed",
            ));
        }
        check_memo::<K>(&req.memo)?;
        let fee = K::fee(config);
        expect_fee(req.fee, fee)?;
        let operation = Operation::Approve {
            from: req.from,
            spender: req.spender,
            allowance: req.allowance,
            expected_allowance: req.expected_allowance,
            expires_at: req.expires_at,
            fee,
        };
        let tx = K::transaction(operation, req.memo, req.created_at_time, req.fee);
        self.execute(tx, now)
    }

    /// Checks time and deduplication, applies the operation, appends the
    /// block. Nothing is written unless every check passes.
    ///
    /// A transaction is deduplicated by the kind's hash of what its block
    /// records: the ICP ledger records accounts as account identifiers and
    /// the effective fee, so requests that spell one payment differently
    /// are one; an ICRC ledger records the request as given.
    fn execute(&mut self, tx: K::Transaction, now: u64) -> Result<u64, TxError<K::Amount>> {
        // The canister refuses earlier; the blocks' hashes depend on it.
        assert!(self.is_ready(), "The Ledger is not ready");
        let window = K::transaction_window_nanos(self.config());
        let created_at_time = K::created_at_time(&tx);
        if let Some(created) = created_at_time {
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
        let tx_hash = created_at_time.map(|_| K::transaction_hash(&tx));
        if let Some(tx_hash) = tx_hash
            && let Some(duplicate_of) = self.dedup.insert(tx_hash, index)
        {
            self.dedup.insert(tx_hash, duplicate_of);
            return Err(TxError::Duplicate { duplicate_of });
        }
        let operation = K::operation(&tx);
        if let Err(e) = self.apply(&operation, now) {
            if let Some(tx_hash) = tx_hash {
                self.dedup.remove(&tx_hash);
            }
            return Err(e);
        }

        let block = K::block(self.last_block().map(|(_, hash)| hash), tx, now);
        let hash = K::block_hash(&block);
        self.blocks
            .append(&K::store(block))
            .expect("stable memory can grow for the block log");
        let mut tip = *self.tip.get();
        tip.last_hash = hash;
        tip.record(&operation);
        self.tip.set(tip);
        Ok(index)
    }

    /// Checks the operation against balances and allowances, then applies
    /// it. Every check precedes the first write.
    fn apply(
        &mut self,
        operation: &Operation<K::Account, K::Amount>,
        now: u64,
    ) -> Result<(), TxError<K::Amount>> {
        match operation {
            Operation::Mint { to, amount } => {
                // The running total of mints bounds the supply and every
                // other total (burns and fees never exceed it).
                if self.tip.get().minted.checked_add(*amount).is_none() {
                    return Err(generic(
                        generic_error::SUPPLY_OVERFLOW,
                        "the mint would overflow the total supply",
                    ));
                }
                self.credit(&K::key(to), *amount);
            }
            Operation::Burn {
                from,
                spender,
                amount,
                fee,
            } => {
                let from = K::key(from);
                let spender = spender.as_ref().map(K::key);
                // As on the real ICP ledger, an owner's burn through
                // transfer_from needs an allowance too, which no one can
                // grant themselves.
                if K::OWNER_SPENDER_BURN_REFUSED && spender == Some(from) {
                    return Err(TxError::InsufficientAllowance {
                        allowance: K::Amount::ZERO,
                    });
                }
                self.debit(&from, spender.as_ref(), *amount, *fee, now)?;
            }
            Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => {
                let from = K::key(from);
                let spender = spender.as_ref().map(K::key);
                self.debit(&from, spender.as_ref(), *amount, *fee, now)?;
                // After the debit: `to` may be `from`.
                self.credit(&K::key(to), *amount);
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                let from = K::key(from);
                // The real ledger's order: the fee, then the expiry, then
                // the expected allowance.
                let funds = self.funds_covering(&from, *fee)?;
                if let Some(expires_at) = expires_at
                    && *expires_at <= now
                {
                    return Err(TxError::Expired { ledger_time: now });
                }
                let key = pair_key::<K>(&from, &K::key(spender));
                let current = self.allowances.get(&key);
                if let Some(expected) = expected_allowance {
                    let current_allowance = current
                        .filter(|a| a.is_live(now))
                        .map_or(K::Amount::ZERO, |a| a.amount);
                    if current_allowance != *expected {
                        return Err(TxError::AllowanceChanged { current_allowance });
                    }
                }
                let (slot, balance) = self.slot_of(&from, funds);
                self.set_balance(slot, balance, *fee);
                if let Some(old) = current.and_then(|a| a.expires_at) {
                    self.approval_expiries.remove(&expiry_key::<K>(old, &key));
                }
                if *allowance == K::Amount::ZERO {
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
                            .insert(expiry_key::<K>(*expires_at, &key), ());
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes `amount + fee` from `from`, drawing on the spender's allowance
    /// when a third party spends. Every check precedes the first write.
    fn debit(
        &mut self,
        from: &K::Key,
        spender: Option<&K::Key>,
        amount: K::Amount,
        fee: K::Amount,
        now: u64,
    ) -> Result<(), TxError<K::Amount>> {
        let total = amount
            .checked_add(fee)
            .ok_or_else(|| TxError::InsufficientFunds {
                balance: self.balances.balance(from),
            })?;
        let allowance = self.check_allowance(from, spender, total, now)?;
        let funds = self.funds_covering(from, total)?;
        let (slot, balance) = self.slot_of(from, funds);
        self.use_allowance(from, spender, allowance, total);
        self.set_balance(slot, balance, total);
        Ok(())
    }

    /// Lowers a balance read as `balance` by `debit`, which it covers.
    fn set_balance(&mut self, slot: Slot, balance: K::Amount, debit: K::Amount) {
        let left = balance
            .checked_sub(debit)
            .expect("the balance covers the debit");
        self.balances.set(slot, balance, left);
    }

    /// The account's slot and balance, if the balance covers `needed`
    /// (`None`: an account that never held tokens, covering a zero debit).
    /// Callers write through the slot rather than looking the account up
    /// again.
    fn funds_covering(
        &self,
        account: &K::Key,
        needed: K::Amount,
    ) -> Result<Option<Funds<K>>, TxError<K::Amount>> {
        let found = self
            .balances
            .slot(account)
            .map(|slot| (slot, self.balances.get(slot)));
        match found {
            Some((_, balance)) if balance >= needed => Ok(found),
            None if needed == K::Amount::ZERO => Ok(None),
            other => Err(TxError::InsufficientFunds {
                balance: other.map_or(K::Amount::ZERO, |(_, balance)| balance),
            }),
        }
    }

    /// The slot [`Self::funds_covering`] found, or a new one.
    fn slot_of(&mut self, account: &K::Key, funds: Option<(Slot, K::Amount)>) -> (Slot, K::Amount) {
        funds.unwrap_or_else(|| (self.balances.slot_or_new(account), K::Amount::ZERO))
    }

    /// The allowance a spender draws on, if the spender is a third party.
    fn check_allowance(
        &self,
        from: &K::Key,
        spender: Option<&K::Key>,
        needed: K::Amount,
        now: u64,
    ) -> Result<Option<Allowance<K::Amount>>, TxError<K::Amount>> {
        let Some(spender) = spender.filter(|s| *s != from) else {
            return Ok(None);
        };
        let allowance = self
            .allowances
            .get(&pair_key::<K>(from, spender))
            .filter(|a| a.is_live(now))
            .unwrap_or_default();
        if allowance.amount < needed {
            return Err(TxError::InsufficientAllowance {
                allowance: allowance.amount,
            });
        }
        Ok(Some(allowance))
    }

    fn use_allowance(
        &mut self,
        from: &K::Key,
        spender: Option<&K::Key>,
        allowance: Option<Allowance<K::Amount>>,
        used: K::Amount,
    ) {
        let (Some(spender), Some(allowance)) = (spender, allowance) else {
            return;
        };
        let key = pair_key::<K>(from, spender);
        let left = allowance
            .amount
            .checked_sub(used)
            .expect("checked against the allowance");
        if left == K::Amount::ZERO {
            self.allowances.remove(&key);
            if let Some(expires_at) = allowance.expires_at {
                self.approval_expiries
                    .remove(&expiry_key::<K>(expires_at, &key));
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

    fn credit(&mut self, account: &K::Key, amount: K::Amount) {
        // Crediting nothing (a zero-amount transfer) stores no empty account.
        if amount == K::Amount::ZERO {
            return;
        }
        let slot = if self.minting_genesis {
            self.balances.slot_or_new_expecting_new(account)
        } else {
            self.balances.slot_or_new(account)
        };
        let balance = self.balances.get(slot);
        let credited = balance
            .checked_add(amount)
            .expect("every balance is part of the total supply");
        self.balances.set(slot, balance, credited);
    }

    /// Removes a bounded number of expired approvals and dedup entries.
    fn prune(&mut self, now: u64) {
        for _ in 0..MAX_PRUNED_PER_CALL {
            let Some((key, ())) = self.approval_expiries.first_key_value() else {
                break;
            };
            let expires_at = u64::from_be_bytes(key.bytes()[..8].try_into().expect("8 bytes"));
            if expires_at > now {
                break;
            }
            self.approval_expiries.remove(&key);
            let mut pair = K::PairKey::zeroed();
            pair.bytes_mut().copy_from_slice(&key.bytes()[8..]);
            self.allowances.remove(&pair);
        }
        // Dedup entries leave in block order: the blocks are the queue.
        let window = K::transaction_window_nanos(self.config());
        let mut tip = *self.tip.get();
        let start = tip.dedup_pruned_to;
        let end = self.blocks.len().min(start + MAX_PRUNED_PER_CALL as u64);
        for index in start..end {
            let block = K::load(self.blocks.get(index).expect("index below the length"));
            // A transaction is accepted only while created_at_time + window ≥ now,
            // and created_at_time ≤ block time + drift.
            if K::block_timestamp(&block)
                .saturating_add(window)
                .saturating_add(PERMITTED_DRIFT_NANOS)
                >= now
            {
                break;
            }
            let tx = K::block_transaction(&block);
            if K::created_at_time(tx).is_some() {
                let tx_hash = K::transaction_hash(tx);
                // Another block may hold the key (the ICP ledger's layout 1
                // could record a payment twice): only this block's entry
                // leaves.
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

/// Reaches into the structures, for tests that build ledgers as earlier
/// layouts left them.
#[cfg(any(test, feature = "testing"))]
impl<K: LedgerKind, D: Memory> Ledger<K, D> {
    pub fn set_tip(&mut self, tip: Tip<K::Amount>) {
        self.tip.set(tip);
    }

    /// Moves block `index`'s dedup entry from `key` to `old_key` and queues
    /// it as layouts 1–5 did.
    pub fn rekey_as_old_layout(&mut self, key: &Hash, old_key: Hash, index: u64, timestamp: u64) {
        self.dedup.remove(key);
        self.dedup.insert(old_key, index);
        self.dedup_queue
            .insert(dedup_queue_key(timestamp, index), old_key);
    }

    pub fn remove_dedup_entry(&mut self, key: &Hash) {
        self.dedup.remove(key);
    }

    pub fn rehashed_blocks(&self) -> u64 {
        self.rehashed.len()
    }
}

fn expect_fee<N: Amount>(given: Option<N>, expected_fee: N) -> Result<(), TxError<N>> {
    match given {
        Some(fee) if fee != expected_fee => Err(TxError::BadFee { expected_fee }),
        _ => Ok(()),
    }
}

fn check_memo<K: LedgerKind>(memo: &K::Memo) -> Result<(), TxError<K::Amount>> {
    let len = K::memo_len(memo);
    if len > MAX_MEMO_BYTES {
        return Err(generic(
            generic_error::MEMO_TOO_LONG,
            format!("the memo is {len} bytes long; at most {MAX_MEMO_BYTES} are allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod model_tests;
