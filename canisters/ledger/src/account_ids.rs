//! Account identifiers remembered on the heap: deriving one costs a SHA-224
//! (about 5 000 instructions), and the same accounts recur from call to
//! call. A pure memo of a deterministic function, so it is never stale; it
//! is lost at an upgrade and rolled back with a trapping message.

use candid::Principal;
use ledger_core::cache::{DirectMapped, fnv1a};
use nns_api::AccountIdentifier;
use std::cell::RefCell;

/// 2^15 places of about 100 bytes: 3 MiB of heap.
const PLACES_BITS: u32 = 15;

type Key = (Principal, [u8; 32]);

thread_local! {
    static REMEMBERED: RefCell<DirectMapped<Key, AccountIdentifier>> =
        const { RefCell::new(DirectMapped::new(PLACES_BITS)) };
}

/// `AccountIdentifier::new(owner, subaccount)`, from memory when it can.
pub fn account_id(owner: &Principal, subaccount: Option<&[u8; 32]>) -> AccountIdentifier {
    // No subaccount is the all-zero one.
    let key = (*owner, subaccount.copied().unwrap_or([0; 32]));
    let hash = fnv1a(&[owner.as_slice(), &key.1]);
    REMEMBERED.with_borrow_mut(|remembered| {
        if let Some(id) = remembered.get(hash, &key) {
            return id;
        }
        let id = AccountIdentifier::new(owner, Some(&key.1));
        remembered.put(hash, key, id);
        id
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_identifiers_are_the_derived_ones() {
        for n in 0..20u8 {
            let owner = Principal::from_slice(&[n, 7]);
            let sub = [n; 32];
            for _ in 0..2 {
                assert_eq!(
                    account_id(&owner, None),
                    AccountIdentifier::new(&owner, None)
                );
                assert_eq!(
                    account_id(&owner, Some(&[0; 32])),
                    AccountIdentifier::new(&owner, None)
                );
                assert_eq!(
                    account_id(&owner, Some(&sub)),
                    AccountIdentifier::new(&owner, Some(&sub))
                );
            }
        }
    }
}
