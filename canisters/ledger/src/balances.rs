//! Balances: each account that ever held tokens gets a slot, found once per
//! transaction through an index, and its balance lives in a vector at that
//! slot. A transfer between known accounts thus costs two index lookups and
//! four fixed-size reads and writes, instead of rewriting B-tree nodes for
//! every balance change.
//!
//! A slot never changes once given, so the heap keeps the slots found so
//! far: a pure cache, never stale, lost (and refilled) at an upgrade, rolled
//! back with everything else when a message traps. A lookup in it costs a
//! fraction of the stable B-tree's.

use crate::cache::DirectMapped;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableVec};
use nns_api::AccountIdentifier;
use std::cell::RefCell;

/// 2^16 places of 48 bytes: 3 MiB of heap.
const CACHED_SLOTS_BITS: u32 = 16;

/// Where an account's slot is cached: account identifiers are hashes, so
/// their leading bytes (after the checksum) spread well.
fn place_hash(key: &[u8; 32]) -> u64 {
    u64::from_le_bytes(key[4..12].try_into().expect("8 bytes"))
}

/// Where an account's balance is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot(u64);

pub struct Balances<M: Memory> {
    slots: StableBTreeMap<[u8; 32], u64, M>,
    amounts: StableVec<u64, M>,
    /// Accounts with a positive balance.
    funded: StableCell<u64, M>,
    cached_slots: RefCell<DirectMapped<[u8; 32], u64>>,
}

impl<M: Memory> Balances<M> {
    pub fn init(slots: M, amounts: M, funded: M) -> Self {
        Self {
            slots: StableBTreeMap::init(slots),
            amounts: StableVec::init(amounts),
            funded: StableCell::init(funded, 0),
            cached_slots: RefCell::new(DirectMapped::new(CACHED_SLOTS_BITS)),
        }
    }

    pub fn slot(&self, account: &AccountIdentifier) -> Option<Slot> {
        let key = account.as_bytes();
        if let Some(slot) = self.cached_slots.borrow().get(place_hash(key), key) {
            return Some(Slot(slot));
        }
        let slot = self.slots.get(key)?;
        self.cache(key, slot);
        Some(Slot(slot))
    }

    fn cache(&self, key: &[u8; 32], slot: u64) {
        self.cached_slots
            .borrow_mut()
            .put(place_hash(key), *key, slot);
    }

    /// The account's slot, created (with balance 0) if it has none.
    pub fn slot_or_new(&mut self, account: &AccountIdentifier) -> Slot {
        if let Some(slot) = self.slot(account) {
            return slot;
        }
        let slot = self.amounts.len();
        self.amounts.push(&0);
        self.slots.insert(*account.as_bytes(), slot);
        self.cache(account.as_bytes(), slot);
        Slot(slot)
    }

    pub fn get(&self, slot: Slot) -> u64 {
        self.amounts.get(slot.0).expect("slots index the vector")
    }

    pub fn balance(&self, account: &AccountIdentifier) -> u64 {
        self.slot(account).map_or(0, |slot| self.get(slot))
    }

    /// Sets a balance whose previous value the caller read as `old`.
    pub fn set(&mut self, slot: Slot, old: u64, new: u64) {
        self.amounts.set(slot.0, &new);
        match (old == 0, new == 0) {
            (true, false) => self.add_funded(1),
            (false, true) => self.add_funded(-1),
            _ => {}
        }
    }

    fn add_funded(&mut self, delta: i64) {
        let funded = self.funded.get().saturating_add_signed(delta);
        self.funded.set(funded);
    }

    /// Accounts holding tokens.
    pub fn funded_accounts(&self) -> u64 {
        *self.funded.get()
    }

    /// Accounts that ever held tokens (slots in use).
    pub fn known_accounts(&self) -> u64 {
        self.amounts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use ic_stable_structures::VectorMemory;

    fn account(n: u8) -> AccountIdentifier {
        AccountIdentifier::new(&Principal::from_slice(&[n]), None)
    }

    #[test]
    fn slots_are_stable_and_funded_accounts_counted() {
        let mut b = Balances::init(
            VectorMemory::default(),
            VectorMemory::default(),
            VectorMemory::default(),
        );
        assert_eq!(b.balance(&account(1)), 0);
        assert_eq!(b.slot(&account(1)), None);
        let one = b.slot_or_new(&account(1));
        let two = b.slot_or_new(&account(2));
        assert_ne!(one, two);
        assert_eq!(b.slot_or_new(&account(1)), one);
        b.set(one, 0, 50);
        b.set(two, 0, 7);
        assert_eq!(b.funded_accounts(), 2);
        b.set(one, 50, 0);
        assert_eq!((b.balance(&account(1)), b.balance(&account(2))), (0, 7));
        assert_eq!((b.funded_accounts(), b.known_accounts()), (1, 2));
    }

    #[test]
    fn slots_cached_on_the_heap_agree_with_the_stable_index() {
        let memories: Vec<VectorMemory> = (0..3).map(|_| VectorMemory::default()).collect();
        let open = || {
            Balances::init(
                memories[0].clone(),
                memories[1].clone(),
                memories[2].clone(),
            )
        };
        let mut b = open();
        let slots: Vec<Slot> = (0..50u8).map(|n| b.slot_or_new(&account(n))).collect();
        for (n, slot) in (0..50u8).zip(&slots) {
            b.set(*slot, 0, u64::from(n) + 1);
        }
        // As after an upgrade: an empty cache over the same stable memory.
        let after = open();
        for (n, slot) in (0..50u8).zip(&slots) {
            assert_eq!(after.slot(&account(n)), Some(*slot));
            assert_eq!(after.slot(&account(n)), Some(*slot), "from the cache");
            assert_eq!(after.balance(&account(n)), u64::from(n) + 1);
        }
        assert_eq!(after.slot(&account(99)), None);
    }
}
