//! The governance canister's state, all in stable memory except the locks
//! of neurons with a ledger call in flight.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  CONFIG          StableConfig<Config>
//! ├── 1  NEURONS         StableBTreeMap<neuron id, Candid<Neuron>>
//! ├── 2  BY_SUBACCOUNT   StableBTreeMap<subaccount, neuron id>
//! ├── 3  BY_PRINCIPAL    StableBTreeMap<(principal, neuron id), ()>
//! ├── 4  DUE             StableBTreeMap<(due time, neuron id), ()>
//! └── 5  NEXT_NEURON_ID  StableCell<u64>
//! ```

use crate::config::Config;
use crate::governance::{Governance, Memories};
use canister_common::StableConfig;
use ic_stable_structures::DefaultMemoryImpl;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use std::cell::RefCell;

const CONFIG_MEMORY_ID: MemoryId = MemoryId::new(0);
const NEURONS_MEMORY_ID: MemoryId = MemoryId::new(1);
const BY_SUBACCOUNT_MEMORY_ID: MemoryId = MemoryId::new(2);
const BY_PRINCIPAL_MEMORY_ID: MemoryId = MemoryId::new(3);
const DUE_MEMORY_ID: MemoryId = MemoryId::new(4);
const NEXT_NEURON_ID_MEMORY_ID: MemoryId = MemoryId::new(5);

pub type Memory = VirtualMemory<DefaultMemoryImpl>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());

    static CONFIG: RefCell<StableConfig<Config, Memory>> =
        RefCell::new(StableConfig::init(memory(CONFIG_MEMORY_ID)));

    static GOVERNANCE: RefCell<Governance<Memory>> = RefCell::new(Governance::init(
        Memories {
            neurons: memory(NEURONS_MEMORY_ID),
            by_subaccount: memory(BY_SUBACCOUNT_MEMORY_ID),
            by_principal: memory(BY_PRINCIPAL_MEMORY_ID),
            due: memory(DUE_MEMORY_ID),
            next_neuron_id: memory(NEXT_NEURON_ID_MEMORY_ID),
        },
        ic_cdk::api::canister_self(),
    ));
}

fn memory(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with(|m| m.get(id))
}

pub fn set_config(config: Config) {
    CONFIG.with(|c| c.borrow_mut().set(config));
}

pub fn read_config<R>(f: impl FnOnce(&Config) -> R) -> R {
    CONFIG.with(|c| f(c.borrow().get()))
}

pub fn read<R>(f: impl FnOnce(&Governance<Memory>) -> R) -> R {
    GOVERNANCE.with(|g| f(&g.borrow()))
}

pub fn mutate<R>(f: impl FnOnce(&mut Governance<Memory>) -> R) -> R {
    GOVERNANCE.with(|g| f(&mut g.borrow_mut()))
}
