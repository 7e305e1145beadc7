//! Maturity credited to neurons by the daily rewards and not yet folded
//! into their records, in pages: up to 64 (neuron id, e8s) entries by
//! ascending id, keyed by their first id, pages not overlapping.
//!
//! A B-tree operation costs tens of thousands of instructions (a node
//! load reads each of its keys and value sizes separately), so crediting
//! 100 000 neurons one B-tree write each cost 5.7 B instructions a day;
//! a rewards chunk writes its credits a page at a time instead, and a
//! neuron's credit is found with one range lookup and a binary search.

use crate::pages::{Page, PageEntry};
use ic_stable_structures::{Memory, StableBTreeMap};

pub const CREDITS_PER_PAGE: usize = 64;

/// A neuron's credit: e8s (u64, little-endian).
impl PageEntry for u64 {
    const BYTES: usize = 8;
    const PER_PAGE: usize = CREDITS_PER_PAGE;

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }

    fn read(bytes: &[u8]) -> Self {
        u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
    }
}

/// Up to [`CREDITS_PER_PAGE`] credits, by ascending neuron id.
pub type CreditPage = Page<u64>;

pub struct Credits<M: Memory> {
    pages: StableBTreeMap<u64, CreditPage, M>,
}

impl<M: Memory> Credits<M> {
    pub fn init(memory: M) -> Self {
        Self {
            pages: StableBTreeMap::init(memory),
        }
    }

    /// The page that would hold `neuron`'s credit: the last one starting
    /// at or before it.
    fn page_of(&self, neuron: u64) -> Option<(u64, CreditPage)> {
        let entry = self.pages.range(..=neuron).next_back()?;
        Some((*entry.key(), entry.value()))
    }

    pub fn get(&self, neuron: u64) -> Option<u64> {
        let (_, page) = self.page_of(neuron)?;
        let at = page.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        Some(page.0[at].1)
    }

    /// Removes and returns `neuron`'s credit, if it has one.
    pub fn take(&mut self, neuron: u64) -> Option<u64> {
        let (key, mut page) = self.page_of(neuron)?;
        let at = page.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        let (_, e8s) = page.0.remove(at);
        match page.0.first() {
            None => {
                self.pages.remove(&key);
            }
            Some(&(first, _)) if first != key => {
                self.pages.remove(&key);
                self.pages.insert(first, page);
            }
            Some(_) => {
                self.pages.insert(key, page);
            }
        }
        Some(e8s)
    }

    /// Adds `credits` (ids strictly ascending) to what the neurons have:
    /// the pages over their range are read, merged with them and written
    /// again, full.
    pub fn add(&mut self, credits: &[(u64, u64)]) {
        let (Some(&(first, _)), Some(&(last, _))) = (credits.first(), credits.last()) else {
            return;
        };
        assert!(
            credits.windows(2).all(|w| w[0].0 < w[1].0),
            "credits by ascending neuron id"
        );
        // The page before `first` may reach into the range; the others
        // that start within it are in it.
        let before = self.page_of(first).map(|(key, _)| key);
        let mut keys: Vec<u64> = before.into_iter().collect();
        keys.extend(
            self.pages
                .keys_range(first..=last)
                .filter(|key| before != Some(*key)),
        );
        let mut held: Vec<(u64, u64)> = Vec::new();
        for key in &keys {
            let page = self.pages.remove(key).expect("listed just now");
            held.extend(page.0);
        }
        let merged = merge(&held, credits);
        for page in merged.chunks(CREDITS_PER_PAGE) {
            self.pages.insert(page[0].0, Page(page.to_vec()));
        }
    }

    /// The credits from neuron `first` on, by ascending id.
    pub fn iter_from(&self, first: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let start = self.page_of(first).map_or(first, |(key, _)| key);
        self.pages
            .range(start..)
            .flat_map(|entry| entry.value().0)
            .skip_while(move |(neuron, _)| *neuron < first)
    }

    #[cfg(test)]
    pub fn pages(&self) -> u64 {
        self.pages.len()
    }
}

/// Two lists sorted by id, merged, the amounts of an id in both added.
fn merge(held: &[(u64, u64)], new: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(held.len() + new.len());
    let (mut h, mut n) = (held.iter().peekable(), new.iter().peekable());
    loop {
        let next = match (h.peek(), n.peek()) {
            (Some(&&a), Some(&&b)) if a.0 == b.0 => {
                h.next();
                n.next();
                (a.0, a.1.checked_add(b.1).expect("maturity fits in u64"))
            }
            (Some(&&a), Some(&&b)) if a.0 < b.0 => *h.next().expect("peeked"),
            (Some(_), Some(_)) | (None, Some(_)) => *n.next().expect("peeked"),
            (Some(_), None) => *h.next().expect("peeked"),
            (None, None) => return out,
        };
        out.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn credits() -> Credits<VectorMemory> {
        Credits::init(VectorMemory::default())
    }

    #[test]
    fn credits_add_up_and_are_taken_once() {
        let mut c = credits();
        c.add(&[(3, 10), (5, 1)]);
        c.add(&[(1, 2), (3, 5), (9, 4)]);
        assert_eq!(c.get(3), Some(15));
        assert_eq!(c.get(4), None);
        assert_eq!(
            c.iter_from(2).collect::<Vec<_>>(),
            vec![(3, 15), (5, 1), (9, 4)]
        );
        assert_eq!(c.take(1), Some(2));
        assert_eq!(c.take(1), None);
        assert_eq!(
            c.iter_from(0).collect::<Vec<_>>(),
            vec![(3, 15), (5, 1), (9, 4)]
        );
        assert_eq!(
            c.get(3),
            Some(15),
            "found after its page's first id changed"
        );
    }

    #[test]
    fn a_day_of_credits_fills_pages() {
        let mut c = credits();
        let day: Vec<(u64, u64)> = (1..=1_000).map(|id| (id * 3, id)).collect();
        for chunk in day.chunks(300) {
            c.add(chunk);
        }
        assert_eq!(c.pages(), 1_000u64.div_ceil(CREDITS_PER_PAGE as u64));
        c.add(&day);
        assert_eq!(c.pages(), 1_000u64.div_ceil(CREDITS_PER_PAGE as u64));
        assert_eq!(c.get(300), Some(200));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(Vec<(u64, u64)>),
        Take(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::btree_map(0u64..400, 1u64..1_000, 0..150)
                .prop_map(|m| Op::Add(m.into_iter().collect())),
            (0u64..400).prop_map(Op::Take),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Against a map: every credit is found, summed, taken once, and
        /// the pages never overlap nor exceed their size.
        #[test]
        fn credits_behave_as_a_map(ops in proptest::collection::vec(op(), 1..40)) {
            let mut c = credits();
            let mut model: BTreeMap<u64, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Add(list) => {
                        c.add(&list);
                        for (id, e8s) in list {
                            *model.entry(id).or_default() += e8s;
                        }
                    }
                    Op::Take(id) => prop_assert_eq!(c.take(id), model.remove(&id)),
                }
                let all: Vec<(u64, u64)> = c.iter_from(0).collect();
                prop_assert_eq!(&all, &model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
                for id in 0..400 {
                    prop_assert_eq!(c.get(id), model.get(&id).copied());
                }
                let from: Vec<(u64, u64)> = c.iter_from(200).collect();
                prop_assert_eq!(from, model.range(200..).map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
                let mut last = None;
                for entry in c.pages.iter() {
                    let page = entry.value();
                    prop_assert!(!page.0.is_empty() && page.0.len() <= CREDITS_PER_PAGE);
                    prop_assert_eq!(*entry.key(), page.0[0].0);
                    prop_assert!(last.is_none_or(|l| l < page.0[0].0));
                    last = page.0.last().map(|e| e.0);
                }
            }
        }
    }
}
