//! The token ledger's state: the shared ledger core over the canister's
//! stable memory (memories 0–11, see `ledger_core::ledger`).

use crate::config::Config;
use ic_stable_structures::DefaultMemoryImpl;
use ic_stable_structures::memory_manager::MemoryManager;
use ledger_core::Ledger;
use ledger_core::icrc::Icrc;
use std::cell::RefCell;

pub type Token = Icrc<Config>;
pub type TokenLedger = Ledger<Token, DefaultMemoryImpl>;

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static LEDGER: RefCell<TokenLedger> = RefCell::new(MEMORY.with(Ledger::open));
}

pub fn read<R>(f: impl FnOnce(&TokenLedger) -> R) -> R {
    LEDGER.with_borrow(f)
}

pub fn mutate<R>(f: impl FnOnce(&mut TokenLedger) -> R) -> R {
    LEDGER.with_borrow_mut(f)
}
