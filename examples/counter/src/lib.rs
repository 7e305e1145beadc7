//! An example canister for icp-cli: a counter and a greeting, both in
//! stable memory so that they survive upgrades.

use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, StableCell};
use std::cell::RefCell;

type Memory = VirtualMemory<DefaultMemoryImpl>;

// The interface, for icp-cli and Candid UI to read from the module.
#[cfg(target_arch = "wasm32")]
#[unsafe(link_section = "icp:public candid:service")]
static CANDID_SERVICE: [u8; include_bytes!("../counter.did").len()] =
    *include_bytes!("../counter.did");

thread_local! {
    static MEMORY: MemoryManager<DefaultMemoryImpl> = MemoryManager::init(DefaultMemoryImpl::default());
    static COUNT: RefCell<StableCell<u64, Memory>> = RefCell::new(StableCell::init(
        MEMORY.with(|m| m.get(MemoryId::new(0))),
        0,
    ));
    static GREETING: RefCell<StableCell<String, Memory>> = RefCell::new(StableCell::init(
        MEMORY.with(|m| m.get(MemoryId::new(1))),
        String::new(),
    ));
}

#[ic_cdk::init]
fn init(greeting: String) {
    GREETING.with(|g| g.borrow_mut().set(greeting));
}

// Opens the stable cells now, so that an upgrade to a module whose memory
// layout does not fit traps here and is rolled back, not at the first call.
#[ic_cdk::post_upgrade]
fn post_upgrade() {
    COUNT.with(|_| ());
    GREETING.with(|_| ());
}

#[ic_cdk::update]
fn increment() -> u64 {
    COUNT.with(|count| {
        let mut count = count.borrow_mut();
        let next = count.get() + 1;
        count.set(next);
        next
    })
}

#[ic_cdk::query]
fn get() -> u64 {
    COUNT.with(|count| *count.borrow().get())
}

#[ic_cdk::query]
fn greet(name: String) -> String {
    format!("{}, {name}!", GREETING.with(|g| g.borrow().get().clone()))
}

#[ic_cdk::query]
fn whoami() -> Principal {
    ic_cdk::api::msg_caller()
}

#[cfg(test)]
mod tests {
    use super::*;

    candid::export_service!();

    #[test]
    fn the_did_file_is_the_interface_of_the_code() {
        let expected = candid_parser::utils::CandidSource::Text(include_str!("../counter.did"));
        candid_parser::utils::service_equal(
            expected,
            candid_parser::utils::CandidSource::Text(&__export_service()),
        )
        .expect("counter.did matches the code");
    }

    #[test]
    fn counts_and_greets() {
        init("Hello".into());
        assert_eq!(get(), 0);
        assert_eq!(increment(), 1);
        assert_eq!(increment(), 2);
        assert_eq!(get(), 2);
        assert_eq!(greet("Ada".into()), "Hello, Ada!");
    }
}
