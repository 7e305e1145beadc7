//! Balances: each account that ever held tokens gets a slot, found once per
//! transaction through an index, and its balance lives in a vector at that
//! slot. A transfer between known accounts thus costs two index lookups and
//! four fixed-size reads and writes, instead of rewriting B-tree nodes for
//! every balance change.

use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableVec};
use nns_api::AccountIdentifier;

/// Where an account's balance is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot(u64);

pub struct Balances<M: Memory> {
    slots: StableBTreeMap<[u8; 32], u64, M>,
    amounts: StableVec<u64, M>,
    /// Accounts with a positive balance.
    funded: StableCell<u64, M>,
}

impl<M: Memory> Balances<M> {
    pub fn init(slots: M, amounts: M, funded: M) -> Self {
        Self {
            slots: StableBTreeMap::init(slots),
            amounts: StableVec::init(amounts),
            funded: StableCell::init(funded, 0),
        }
    }

    pub fn slot(&self, account: &AccountIdentifier) -> Option<Slot> {
        self.slots.get(account.as_bytes()).map(Slot)
    }

    /// The account's slot, created (with balance 0) if it has none.
    pub fn slot_or_new(&mut self, account: &AccountIdentifier) -> Slot {
        if let Some(slot) = self.slot(account) {
            return slot;
        }
        let slot = self.amounts.len();
        self.amounts.push(&0);
        self.slots.insert(*account.as_bytes(), slot);
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
}
