//! The small record rewritten with every block: the last block's hash and the
//! running totals from which the supply follows. Fixed-size binary, so that
//! writing it costs the same few bytes each time.

use crate::block::{Hash, Operation};
use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tip {
    pub layout_version: u32,
    /// Hash of the last block; meaningless while the chain is empty.
    pub last_hash: Hash,
    pub minted: u64,
    /// Burned by burn operations (e.g. ICP converted into cycles).
    pub burned: u64,
    /// Burned as transfer and approval fees.
    pub fees_burned: u64,
    pub last_upgrade_instructions: u64,
    /// The first block whose dedup entry may remain: older ones have left
    /// the transaction window and their entries are gone.
    pub dedup_pruned_to: u64,
}

const SIZE: usize = 4 + 32 + 8 * 5;
/// Layouts 1–5 stored the tip without `dedup_pruned_to`.
const OLD_SIZE: usize = 4 + 32 + 8 * 4;

impl Tip {
    pub fn total_supply(&self) -> u64 {
        self.minted - self.burned - self.fees_burned
    }

    pub fn record(&mut self, operation: &Operation) {
        match operation {
            Operation::Mint { amount, .. } => self.minted += amount,
            Operation::Burn { amount, .. } => self.burned += amount,
            Operation::Transfer { fee, .. } | Operation::Approve { fee, .. } => {
                self.fees_burned += fee
            }
        }
    }
}

impl Storable for Tip {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIZE);
        out.extend_from_slice(&self.layout_version.to_le_bytes());
        out.extend_from_slice(&self.last_hash);
        for n in [
            self.minted,
            self.burned,
            self.fees_burned,
            self.last_upgrade_instructions,
            self.dedup_pruned_to,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        Self {
            layout_version: u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")),
            last_hash: bytes[4..36].try_into().expect("32 bytes"),
            minted: u64_at(36),
            burned: u64_at(44),
            fees_burned: u64_at(52),
            last_upgrade_instructions: u64_at(60),
            dedup_pruned_to: if bytes.len() > OLD_SIZE {
                u64_at(68)
            } else {
                0
            },
        }
    }

    // Not fixed: a tip written by layouts 1–5 is shorter.
    const BOUND: Bound = Bound::Bounded {
        max_size: SIZE as u32,
        is_fixed_size: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let tip = Tip {
            layout_version: 1,
            last_hash: [5; 32],
            minted: 10,
            burned: 2,
            fees_burned: 3,
            last_upgrade_instructions: u64::MAX,
            dedup_pruned_to: 9,
        };
        assert_eq!(Tip::from_bytes(tip.to_bytes()), tip);
        assert_eq!(tip.total_supply(), 5);
        // A tip of an earlier layout reads with nothing pruned yet.
        let old = Tip::from_bytes(Cow::Owned(tip.into_bytes()[..OLD_SIZE].to_vec()));
        assert_eq!(
            old,
            Tip {
                dedup_pruned_to: 0,
                ..tip
            }
        );
    }
}
