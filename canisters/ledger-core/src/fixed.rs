//! Fixed-size byte keys of the stable maps. Each ledger kind picks array
//! lengths for its account keys (32 bytes for an ICP account identifier, 62
//! for an ICRC account); the core builds pair and expiry keys from them
//! without allocating.

use ic_stable_structures::Storable;
use std::fmt::Debug;

pub trait FixedBytes: Storable + Ord + Copy + Debug + 'static {
    const LEN: usize;
    fn zeroed() -> Self;
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];

    /// All bytes `fill` (for the ends of key ranges).
    fn filled(fill: u8) -> Self {
        let mut key = Self::zeroed();
        key.bytes_mut().fill(fill);
        key
    }
}

impl<const N: usize> FixedBytes for [u8; N] {
    const LEN: usize = N;

    fn zeroed() -> Self {
        [0; N]
    }

    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// `parts` laid end to end; they must fill the key exactly.
pub fn concat<K: FixedBytes>(parts: &[&[u8]]) -> K {
    let mut key = K::zeroed();
    let mut at = 0;
    for part in parts {
        key.bytes_mut()[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    debug_assert_eq!(at, K::LEN, "the parts fill the key");
    key
}
