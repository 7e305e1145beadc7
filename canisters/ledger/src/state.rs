//! The ledger's one piece of global state: the [`Ledger`] over the
//! canister's stable memory (layout documented in `ledger.rs`).

use crate::ledger::Ledger;
use ic_stable_structures::DefaultMemoryImpl;
use ic_stable_structures::memory_manager::MemoryManager;
use std::cell::RefCell;

thread_local! {
    static LEDGER: RefCell<Ledger<DefaultMemoryImpl>> = RefCell::new(Ledger::open(
        &MemoryManager::init(DefaultMemoryImpl::default()),
    ));
}

pub fn read<R>(f: impl FnOnce(&Ledger<DefaultMemoryImpl>) -> R) -> R {
    LEDGER.with(|l| f(&l.borrow()))
}

pub fn mutate<R>(f: impl FnOnce(&mut Ledger<DefaultMemoryImpl>) -> R) -> R {
    LEDGER.with(|l| f(&mut l.borrow_mut()))
}
