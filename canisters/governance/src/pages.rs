//! Pages of small fixed-size entries by ascending neuron id, stored as one
//! B-tree value each: a B-tree operation costs tens of thousands of
//! instructions, so passes over many neurons (a proposal's ballots, the
//! day's maturity credits) write a page per 64 neurons instead of an
//! entry per neuron.

use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use std::borrow::Cow;

/// What a page holds per neuron, after the neuron's id.
pub trait PageEntry: Copy {
    /// Encoded bytes, without the id.
    const BYTES: usize;
    /// The most entries a page holds.
    const PER_PAGE: usize;
    fn write(&self, out: &mut Vec<u8>);
    fn read(bytes: &[u8]) -> Self;
}

/// Up to `E::PER_PAGE` entries, by ascending neuron id; encoded as each
/// id (u64, little-endian) followed by its entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<E>(pub Vec<(u64, E)>);

impl<E> Page<E> {
    /// Whether `id` lies between the page's first and last ids: pages do
    /// not overlap, so only this page can hold it.
    pub fn spans(&self, id: u64) -> bool {
        matches!((self.0.first(), self.0.last()),
            (Some(&(first, _)), Some(&(last, _))) if first <= id && id <= last)
    }
}

impl<E> Default for Page<E> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<E: PageEntry> Storable for Page<E> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let mut out = Vec::with_capacity(self.0.len() * (8 + E::BYTES));
        for (neuron, entry) in &self.0 {
            out.extend_from_slice(&neuron.to_le_bytes());
            entry.write(&mut out);
        }
        Cow::Owned(out)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Self(
            bytes
                .chunks_exact(8 + E::BYTES)
                .map(|entry| {
                    let neuron = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
                    (neuron, E::read(&entry[8..]))
                })
                .collect(),
        )
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: (E::PER_PAGE * (8 + E::BYTES)) as u32,
        is_fixed_size: false,
    };
}
