//! The small record rewritten with every block: the last block's hash and the
//! running totals from which the supply follows. Fixed-size binary, so that
//! writing it costs the same few bytes each time.

use crate::amount::Amount;
use crate::kind::{Hash, Operation};
use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tip<N> {
    pub layout_version: u32,
    /// Hash of the last block; meaningless while the chain is empty.
    pub last_hash: Hash,
    pub minted: N,
    /// Burned by burn operations (e.g. ICP converted into cycles).
    pub burned: N,
    /// Burned as fees.
    pub fees_burned: N,
    pub last_upgrade_instructions: u64,
    /// The first block whose dedup entry may remain: older ones have left
    /// the transaction window and their entries are gone.
    pub dedup_pruned_to: u64,
}

impl<N: Amount> Tip<N> {
    /// Bytes of the stored form.
    const SIZE: usize = 4 + 32 + 3 * N::BYTES + 8 + 8;
    /// The ICP ledger's layouts 1–5 stored the tip without `dedup_pruned_to`.
    const OLD_SIZE: usize = Self::SIZE - 8;

    pub fn total_supply(&self) -> N {
        self.minted
            .checked_sub(self.burned)
            .and_then(|n| n.checked_sub(self.fees_burned))
            .expect("no more is burned than was minted")
    }

    /// Adds a block's operation to the totals. Cannot overflow: mints are
    /// refused when the supply would, and every burn is of minted tokens.
    pub fn record<A>(&mut self, operation: &Operation<A, N>) {
        let add = |total: &mut N, n: N| *total = total.checked_add(n).expect("totals fit");
        match operation {
            Operation::Mint { amount, .. } => add(&mut self.minted, *amount),
            Operation::Burn { amount, fee, .. } => {
                add(&mut self.burned, *amount);
                add(&mut self.fees_burned, *fee);
            }
            Operation::Transfer { fee, .. } | Operation::Approve { fee, .. } => {
                add(&mut self.fees_burned, *fee)
            }
        }
    }
}

impl<N: Amount> Storable for Tip<N> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::SIZE);
        out.extend_from_slice(&self.layout_version.to_le_bytes());
        out.extend_from_slice(&self.last_hash);
        for n in [self.minted, self.burned, self.fees_burned] {
            n.write_le(&mut out);
        }
        for n in [self.last_upgrade_instructions, self.dedup_pruned_to] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let amount_at = |i: usize| N::read_le(&bytes[36 + i * N::BYTES..]);
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let after_amounts = 36 + 3 * N::BYTES;
        Self {
            layout_version: u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")),
            last_hash: bytes[4..36].try_into().expect("32 bytes"),
            minted: amount_at(0),
            burned: amount_at(1),
            fees_burned: amount_at(2),
            last_upgrade_instructions: u64_at(after_amounts),
            dedup_pruned_to: if bytes.len() > Self::OLD_SIZE {
                u64_at(after_amounts + 8)
            } else {
                0
            },
        }
    }

    // Not fixed: a tip written by the ICP ledger's layouts 1–5 is shorter.
    const BOUND: Bound = Bound::Bounded {
        max_size: Self::SIZE as u32,
        is_fixed_size: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<N: Amount>(n: impl Fn(u8) -> N) -> Tip<N> {
        Tip {
            layout_version: 1,
            last_hash: [5; 32],
            minted: n(10),
            burned: n(2),
            fees_burned: n(3),
            last_upgrade_instructions: u64::MAX,
            dedup_pruned_to: 9,
        }
    }

    #[test]
    fn round_trips_at_both_widths() {
        let tip = sample(u64::from);
        assert_eq!(
            tip.to_bytes().len(),
            4 + 32 + 8 * 5,
            "the ICP ledger's layout"
        );
        assert_eq!(Tip::from_bytes(tip.to_bytes()), tip);
        assert_eq!(tip.total_supply(), 5);
        let wide = sample(|n| u128::from(n) << 70);
        assert_eq!(Tip::from_bytes(wide.to_bytes()), wide);
        assert_eq!(wide.total_supply(), 5 << 70);
    }

    #[test]
    fn a_tip_without_the_pruning_mark_reads_with_nothing_pruned() {
        let tip = sample(u64::from);
        let old = Tip::<u64>::from_bytes(Cow::Owned(
            tip.into_bytes()[..Tip::<u64>::OLD_SIZE].to_vec(),
        ));
        assert_eq!(
            old,
            Tip {
                dedup_pruned_to: 0,
                ..tip
            }
        );
    }

    #[test]
    fn burns_count_their_fees() {
        let mut tip = Tip::<u128>::default();
        tip.record(&Operation::<(), u128>::Mint {
            to: (),
            amount: 500,
        });
        tip.record(&Operation::<(), u128>::Burn {
            from: (),
            spender: None,
            amount: 100,
            fee: 7,
        });
        assert_eq!(
            (tip.burned, tip.fees_burned, tip.total_supply()),
            (100, 7, 393)
        );
    }
}
