//! The index's global state over the canister's stable memory (layout in
//! index.rs): its configuration and the [`Index`].

use crate::config::Config;
use crate::index::{CONFIG_MEMORY, Index};
use canister_common::StableConfig;
use ic_stable_structures::DefaultMemoryImpl;
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use std::cell::RefCell;

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static CONFIG: RefCell<StableConfig<Config, VirtualMemory<DefaultMemoryImpl>>> =
        RefCell::new(StableConfig::init(MEMORY.with(|m| m.get(CONFIG_MEMORY))));
    static INDEX: RefCell<Index<DefaultMemoryImpl>> = RefCell::new(MEMORY.with(Index::open));
}

pub fn config() -> Config {
    CONFIG.with_borrow(|c| c.get().clone())
}

pub fn set_config(config: Config) {
    CONFIG.with_borrow_mut(|c| c.set(config));
}

pub fn read<R>(f: impl FnOnce(&Index<DefaultMemoryImpl>) -> R) -> R {
    INDEX.with_borrow(f)
}

pub fn mutate<R>(f: impl FnOnce(&mut Index<DefaultMemoryImpl>) -> R) -> R {
    INDEX.with_borrow_mut(f)
}
