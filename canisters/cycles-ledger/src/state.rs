//! The cycles ledger's global state over the canister's stable memory: the
//! shared ledger core (memories 0–11, see `ledger_core::ledger`) and the
//! canisters created through it (memory 20), by the block that paid.

use crate::config::Config;
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableBTreeMap};
use ledger_core::Ledger;
use ledger_core::icrc::Icrc;
use std::cell::RefCell;

/// Cycles as an ICRC ledger.
pub type Cycles = Icrc<Config>;
pub type CyclesLedger = Ledger<Cycles, DefaultMemoryImpl>;
type Memory = VirtualMemory<DefaultMemoryImpl>;

const CREATED_CANISTERS: MemoryId = MemoryId::new(20);

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static LEDGER: RefCell<CyclesLedger> = RefCell::new(MEMORY.with(Ledger::open));
    /// Burn block index → the canister it paid for; read when a retry of a
    /// creation is a duplicate.
    static CREATED: RefCell<StableBTreeMap<u64, Principal, Memory>> =
        RefCell::new(StableBTreeMap::init(MEMORY.with(|m| m.get(CREATED_CANISTERS))));
}

pub fn read<R>(f: impl FnOnce(&CyclesLedger) -> R) -> R {
    LEDGER.with_borrow(f)
}

pub fn mutate<R>(f: impl FnOnce(&mut CyclesLedger) -> R) -> R {
    LEDGER.with_borrow_mut(f)
}

/// Records the canister a burn paid for, and forgets a bounded number of
/// those whose burns left the deduplication window (before block
/// `pruned_to`): a retry of them is too old to be a duplicate.
pub fn record_created(burn_block: u64, canister_id: Principal, pruned_to: u64) {
    CREATED.with_borrow_mut(|c| {
        c.insert(burn_block, canister_id);
        let old: Vec<u64> = c
            .range(..pruned_to)
            .take(ledger_core::ledger::MAX_PRUNED_PER_CALL)
            .map(|entry| *entry.key())
            .collect();
        for block in old {
            c.remove(&block);
        }
    });
}

pub fn created_by(burn_block: u64) -> Option<Principal> {
    CREATED.with_borrow(|c| c.get(&burn_block))
}
