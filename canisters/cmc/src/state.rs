//! The CMC's state, all in stable memory.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! └── 0  CONFIG  StableConfig<Config>
//! ```

use crate::config::Config;
use canister_common::StableConfig;
use ic_stable_structures::DefaultMemoryImpl;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use std::cell::RefCell;

const CONFIG_MEMORY_ID: MemoryId = MemoryId::new(0);

type Memory = VirtualMemory<DefaultMemoryImpl>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());

    static CONFIG: RefCell<StableConfig<Config, Memory>> =
        RefCell::new(StableConfig::init(MEMORY_MANAGER.with(|m| m.get(CONFIG_MEMORY_ID))));
}

pub fn set_config(config: Config) {
    CONFIG.with(|c| c.borrow_mut().set(config));
}

pub fn read_config<R>(f: impl FnOnce(&Config) -> R) -> R {
    CONFIG.with(|c| f(c.borrow().get()))
}
