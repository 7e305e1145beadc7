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

use crate::amount::Amount;
use crate::cache::DirectMapped;
use crate::kind::LedgerKind;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableVec};
use std::cell::RefCell;

/// 2^16 places (48 bytes each for ICP's 32-byte keys: 3 MiB of heap).
const CACHED_SLOTS_BITS: u32 = 16;

/// Where an account's balance is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot(u64);

pub struct Balances<K: LedgerKind, M: Memory> {
    slots: StableBTreeMap<K::Key, u64, M>,
    amounts: StableVec<K::Amount, M>,
    /// Accounts with a positive balance.
    funded: StableCell<u64, M>,
    cached_slots: RefCell<DirectMapped<K::Key, u64>>,
}

impl<K: LedgerKind, M: Memory> Balances<K, M> {
    pub fn init(slots: M, amounts: M, funded: M) -> Self {
        Self {
            slots: StableBTreeMap::init(slots),
            amounts: StableVec::init(amounts),
            funded: StableCell::init(funded, 0),
            cached_slots: RefCell::new(DirectMapped::new(CACHED_SLOTS_BITS)),
        }
    }

    pub fn slot(&self, key: &K::Key) -> Option<Slot> {
        let place = K::cache_place(key);
        if let Some(slot) = self.cached_slots.borrow().get(place, key) {
            return Some(Slot(slot));
        }
        let slot = self.slots.get(key)?;
        self.cached_slots.borrow_mut().put(place, *key, slot);
        Some(Slot(slot))
    }

    /// The account's slot, created (with balance 0) if it has none.
    pub fn slot_or_new(&mut self, key: &K::Key) -> Slot {
        if let Some(slot) = self.slot(key) {
            return slot;
        }
        let slot = self.amounts.len();
        self.amounts.push(&K::Amount::ZERO);
        self.slots.insert(*key, slot);
        self.cached_slots
            .borrow_mut()
            .put(K::cache_place(key), *key, slot);
        Slot(slot)
    }

    /// [`Self::slot_or_new`] for an account most likely new (a genesis
    /// balance): one descent of the B-tree, inserting, instead of a lookup
    /// that misses and then the insert (the lookup was 30 % of a genesis of
    /// a million balances). An account already there costs a second
    /// insert, which puts its slot back.
    pub fn slot_or_new_expecting_new(&mut self, key: &K::Key) -> Slot {
        let place = K::cache_place(key);
        if let Some(slot) = self.cached_slots.borrow().get(place, key) {
            return Slot(slot);
        }
        let new = self.amounts.len();
        let slot = match self.slots.insert(*key, new) {
            None => {
                self.amounts.push(&K::Amount::ZERO);
                new
            }
            Some(existing) => {
                self.slots.insert(*key, existing);
                existing
            }
        };
        self.cached_slots.borrow_mut().put(place, *key, slot);
        Slot(slot)
    }

    pub fn get(&self, slot: Slot) -> K::Amount {
        self.amounts.get(slot.0).expect("slots index the vector")
    }

    pub fn balance(&self, key: &K::Key) -> K::Amount {
        self.slot(key)
            .map_or(K::Amount::ZERO, |slot| self.get(slot))
    }

    /// Sets a balance whose previous value the caller read as `old`.
    pub fn set(&mut self, slot: Slot, old: K::Amount, new: K::Amount) {
        self.amounts.set(slot.0, &new);
        match (old == K::Amount::ZERO, new == K::Amount::ZERO) {
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
mod tests;
