use super::*;
use crate::test_kind::TestKind;
use ic_stable_structures::VectorMemory;

fn key(n: u32) -> [u8; 4] {
    TestKind::key(&n)
}

fn balances(memories: &[VectorMemory]) -> Balances<TestKind, VectorMemory> {
    Balances::init(
        memories[0].clone(),
        memories[1].clone(),
        memories[2].clone(),
    )
}

#[test]
fn slots_are_stable_and_funded_accounts_counted() {
    let memories: Vec<VectorMemory> = (0..3).map(|_| VectorMemory::default()).collect();
    let mut b = balances(&memories);
    assert_eq!(b.balance(&key(1)), 0);
    assert_eq!(b.slot(&key(1)), None);
    let one = b.slot_or_new(&key(1));
    let two = b.slot_or_new(&key(2));
    assert_ne!(one, two);
    assert_eq!(b.slot_or_new(&key(1)), one);
    b.set(one, 0, 50);
    b.set(two, 0, u128::MAX);
    assert_eq!(b.funded_accounts(), 2);
    b.set(one, 50, 0);
    assert_eq!((b.balance(&key(1)), b.balance(&key(2))), (0, u128::MAX));
    assert_eq!((b.funded_accounts(), b.known_accounts()), (1, 2));
}

#[test]
fn slots_cached_on_the_heap_agree_with_the_stable_index() {
    let memories: Vec<VectorMemory> = (0..3).map(|_| VectorMemory::default()).collect();
    let mut b = balances(&memories);
    let slots: Vec<Slot> = (0..50u32).map(|n| b.slot_or_new(&key(n))).collect();
    for (n, slot) in (0..50u32).zip(&slots) {
        b.set(*slot, 0, u128::from(n) + 1);
    }
    // As after an upgrade: an empty cache over the same stable memory.
    let after = balances(&memories);
    for (n, slot) in (0..50u32).zip(&slots) {
        assert_eq!(after.slot(&key(n)), Some(*slot));
        assert_eq!(after.slot(&key(n)), Some(*slot), "from the cache");
        assert_eq!(after.balance(&key(n)), u128::from(n) + 1);
    }
    assert_eq!(after.slot(&key(99)), None);
}

#[test]
fn a_slot_expected_new_is_the_accounts_own_when_it_exists() {
    let memories: Vec<VectorMemory> = (0..3).map(|_| VectorMemory::default()).collect();
    let mut b = balances(&memories);
    let one = b.slot_or_new_expecting_new(&key(1));
    let two = b.slot_or_new_expecting_new(&key(2));
    assert_ne!(one, two);
    b.set(one, 0, 7);
    // Present already: its slot, and no new one (not from the cache).
    let mut after = balances(&memories);
    assert_eq!(after.slot_or_new_expecting_new(&key(1)), one);
    assert_eq!(after.known_accounts(), 2);
    assert_eq!(after.balance(&key(1)), 7);
    let three = after.slot_or_new_expecting_new(&key(3));
    assert_eq!(after.slot(&key(3)), Some(three));
    assert_eq!(after.known_accounts(), 3);
    // The stable index itself (no cache): each account its own slot.
    let fresh = balances(&memories);
    assert_eq!(fresh.slot(&key(1)), Some(one));
    assert_eq!(fresh.slot(&key(3)), Some(three));
    assert_ne!(one, three);
    assert_eq!(fresh.balance(&key(1)), 7);
}
