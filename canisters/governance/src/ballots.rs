//! Ballots in stable memory, in pages: a proposal's ballots are written in
//! neuron-id order when it is made, 64 to a page keyed by (proposal, first
//! neuron id). A B-tree insert per ballot cost ~55 k instructions; a page
//! insert per 64 ballots makes the snapshot of 100 000 neurons ~15× cheaper,
//! and a ballot is still found with one range lookup and a binary search.
//!
//! The passes over many ballots in one message (the votes that follow a
//! vote, the day's rewards) read and write them through a [`PageCache`]:
//! they visit neurons in id order, so 64 ballots in a row share one page,
//! read from stable memory once and written back once when the pass ends.

use crate::pages::{Page, PageEntry};
use ic_stable_structures::{Memory, StableBTreeMap};

pub const BALLOTS_PER_PAGE: usize = 64;

/// A neuron's ballot: its voting power when the proposal was made, and its
/// vote (a `Vote`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BallotRecord {
    pub voting_power: u64,
    pub vote: i32,
}

impl PageEntry for BallotRecord {
    /// Voting power (u64, little-endian) and vote (a byte).
    const BYTES: usize = 9;
    const PER_PAGE: usize = BALLOTS_PER_PAGE;

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.voting_power.to_le_bytes());
        out.push(self.vote as u8);
    }

    fn read(bytes: &[u8]) -> Self {
        Self {
            voting_power: u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")),
            vote: i32::from(bytes[8]),
        }
    }
}

/// Up to [`BALLOTS_PER_PAGE`] ballots, by ascending neuron id.
pub type BallotPage = Page<BallotRecord>;

pub struct Ballots<M: Memory> {
    pages: StableBTreeMap<(u64, u64), BallotPage, M>,
}

/// Pages read during one pass, by key, with whether the pass changed them.
/// It lives only as long as the pass: [`Ballots::write_back`] consumes it,
/// and `#[must_use]` flags a pass that forgets to.
#[derive(Default)]
#[must_use = "changed ballots are lost unless written back"]
pub struct PageCache {
    pages: std::collections::BTreeMap<(u64, u64), (BallotPage, bool)>,
    /// The two pages used last, most recent first, kept out of `pages`: a
    /// cascade reads its followers in id order and their followee's ballot
    /// between each, so nearly every read is of one of these two (a search
    /// of `pages` cost about as much as the rest of a follower's check).
    hot: Vec<((u64, u64), (BallotPage, bool))>,
}

/// The most recently used pages a [`PageCache`] keeps at hand.
const HOT_PAGES: usize = 2;

impl PageCache {
    /// The cached page that holds `neuron`'s ballot on `proposal`, if one
    /// does: pages do not overlap, so a neuron between a page's first and
    /// last ids can only be there.
    fn page_holding(&mut self, proposal: u64, neuron: u64) -> Option<&mut (BallotPage, bool)> {
        let holds = |key: &(u64, u64), page: &BallotPage| key.0 == proposal && page.spans(neuron);
        let at = match self
            .hot
            .iter()
            .position(|(key, (page, _))| holds(key, page))
        {
            Some(at) => at,
            None => {
                let (&key, cached) = self.pages.range(..=(proposal, neuron)).next_back()?;
                if !holds(&key, &cached.0) {
                    return None;
                }
                let cached = self.pages.remove(&key).expect("found just now");
                self.make_hot(key, cached);
                0
            }
        };
        if at != 0 {
            self.hot[..=at].rotate_right(1);
        }
        Some(&mut self.hot[0].1)
    }

    /// Puts a page first among the hot ones; the least recently used one
    /// beyond [`HOT_PAGES`] goes back to `pages`.
    fn make_hot(&mut self, key: (u64, u64), page: (BallotPage, bool)) {
        self.hot.insert(0, (key, page));
        if self.hot.len() > HOT_PAGES {
            let (key, page) = self.hot.pop().expect("more than HOT_PAGES");
            self.pages.insert(key, page);
        }
    }

    /// Every page read, hot or not.
    fn into_pages(self) -> impl Iterator<Item = ((u64, u64), (BallotPage, bool))> {
        self.pages.into_iter().chain(self.hot)
    }
}

/// The last ballot page read of each proposal, for reads in ascending
/// neuron order (a listing's): neighbouring neurons share a page, which is
/// read once, and memory stays at one page per proposal.
#[derive(Default)]
pub struct PageCursor {
    pages: std::collections::BTreeMap<u64, BallotPage>,
}

/// Writes one proposal's ballots, in ascending neuron order, a page at a
/// time; [`BallotWriter::finish`] writes the last page.
pub struct BallotWriter {
    proposal: u64,
    page: BallotPage,
}

impl BallotWriter {
    pub fn push<M: Memory>(&mut self, ballots: &mut Ballots<M>, neuron: u64, ballot: BallotRecord) {
        debug_assert!(self.page.0.last().is_none_or(|(last, _)| *last < neuron));
        self.page.0.push((neuron, ballot));
        if self.page.0.len() == BALLOTS_PER_PAGE {
            self.flush(ballots);
        }
    }

    pub fn finish<M: Memory>(mut self, ballots: &mut Ballots<M>) {
        self.flush(ballots);
    }

    fn flush<M: Memory>(&mut self, ballots: &mut Ballots<M>) {
        let page = std::mem::take(&mut self.page);
        if let Some(&(first, _)) = page.0.first() {
            ballots.pages.insert((self.proposal, first), page);
        }
    }
}

impl<M: Memory> Ballots<M> {
    pub fn init(memory: M) -> Self {
        Self {
            pages: StableBTreeMap::init(memory),
        }
    }

    pub fn writer(&self, proposal: u64) -> BallotWriter {
        BallotWriter {
            proposal,
            page: BallotPage::default(),
        }
    }

    /// The page that would hold `neuron`'s ballot on `proposal`.
    fn page_of(&self, proposal: u64, neuron: u64) -> Option<((u64, u64), BallotPage)> {
        let entry = self
            .pages
            .range((proposal, 0)..=(proposal, neuron))
            .next_back()?;
        Some((*entry.key(), entry.value()))
    }

    pub fn get(&self, proposal: u64, neuron: u64) -> Option<BallotRecord> {
        let (_, page) = self.page_of(proposal, neuron)?;
        let at = page.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        Some(page.0[at].1)
    }

    /// Records `neuron`'s vote; `None` if it has no ballot.
    pub fn set_vote(&mut self, proposal: u64, neuron: u64, vote: i32) -> Option<BallotRecord> {
        let (key, mut page) = self.page_of(proposal, neuron)?;
        let at = page.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        page.0[at].1.vote = vote;
        let ballot = page.0[at].1;
        self.pages.insert(key, page);
        Some(ballot)
    }

    /// `neuron`'s ballot on `proposal`, its page read through `cache`.
    pub fn get_cached(
        &self,
        cache: &mut PageCache,
        proposal: u64,
        neuron: u64,
    ) -> Option<BallotRecord> {
        let page = self.cached_page(cache, proposal, neuron)?;
        let at = page.0.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        Some(page.0.0[at].1)
    }

    /// `neuron`'s ballot on `proposal`, its page read through `cursor`.
    pub fn get_near(
        &self,
        cursor: &mut PageCursor,
        proposal: u64,
        neuron: u64,
    ) -> Option<BallotRecord> {
        if !cursor
            .pages
            .get(&proposal)
            .is_some_and(|page| page.spans(neuron))
        {
            let (_, page) = self.page_of(proposal, neuron)?;
            cursor.pages.insert(proposal, page);
        }
        let page = cursor.pages.get(&proposal)?;
        let at = page.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        Some(page.0[at].1)
    }

    /// Records `neuron`'s vote in `cache`, to be written back with it;
    /// `None` if it has no ballot.
    pub fn set_vote_cached(
        &self,
        cache: &mut PageCache,
        proposal: u64,
        neuron: u64,
        vote: i32,
    ) -> Option<BallotRecord> {
        let page = self.cached_page(cache, proposal, neuron)?;
        let at = page.0.0.binary_search_by_key(&neuron, |(n, _)| *n).ok()?;
        page.0.0[at].1.vote = vote;
        page.1 = true;
        Some(page.0.0[at].1)
    }

    fn cached_page<'c>(
        &self,
        cache: &'c mut PageCache,
        proposal: u64,
        neuron: u64,
    ) -> Option<&'c mut (BallotPage, bool)> {
        if cache.page_holding(proposal, neuron).is_none() {
            let (key, page) = self.page_of(proposal, neuron)?;
            // Past the last ballot of the page before it: no ballot (and
            // that page may be cached, changed: it must not be read again).
            if !page.spans(neuron) {
                return None;
            }
            // Not cached, or it would have been found.
            cache.make_hot(key, (page, false));
        }
        cache.page_holding(proposal, neuron)
    }

    /// Writes the pages `cache` changed.
    pub fn write_back(&mut self, cache: PageCache) {
        for (key, (page, changed)) in cache.into_pages() {
            if changed {
                self.pages.insert(key, page);
            }
        }
    }

    /// Removes up to `max_pages` pages of `proposal`'s ballots; returns
    /// the pages removed (fewer than `max_pages` once none are left).
    pub fn remove_pages(&mut self, proposal: u64, max_pages: usize) -> usize {
        let keys: Vec<(u64, u64)> = self
            .pages
            .keys_range((proposal, 0)..=(proposal, u64::MAX))
            .take(max_pages)
            .collect();
        for key in &keys {
            self.pages.remove(key);
        }
        keys.len()
    }

    /// All ballots of `proposal`, by neuron id.
    pub fn of(&self, proposal: u64) -> impl Iterator<Item = (u64, BallotRecord)> + '_ {
        self.pages
            .range((proposal, 0)..=(proposal, u64::MAX))
            .flat_map(|entry| entry.value().0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::{Storable, VectorMemory};

    fn ballot(power: u64) -> BallotRecord {
        BallotRecord {
            voting_power: power,
            vote: 0,
        }
    }

    #[test]
    fn ballots_are_found_and_voted_across_pages_and_proposals() {
        let mut b = Ballots::init(VectorMemory::default());
        for proposal in [1, 2] {
            let mut w = b.writer(proposal);
            // Every third neuron id, over several pages.
            for neuron in (0..300u64).map(|k| 3 * k + proposal) {
                w.push(&mut b, neuron, ballot(neuron * 10));
            }
            w.finish(&mut b);
        }
        assert_eq!(b.get(1, 1), Some(ballot(10)));
        assert_eq!(b.get(1, 2), None, "proposal 1 has no ballot for neuron 2");
        assert_eq!(b.get(2, 2), Some(ballot(20)));
        assert_eq!(b.get(1, 3 * 299 + 1), Some(ballot((3 * 299 + 1) * 10)));
        assert_eq!(b.get(1, 0), None);
        assert_eq!(b.get(3, 1), None);
        assert_eq!(b.of(1).count(), 300);
        let voted = b.set_vote(1, 3 * 100 + 1, 2).unwrap();
        assert_eq!(voted.vote, 2);
        assert_eq!(b.get(1, 301).unwrap().vote, 2);
        assert_eq!(b.get(2, 302).unwrap().vote, 0, "other proposals untouched");
        assert_eq!(b.set_vote(1, 2, 1), None);
        let ids: Vec<u64> = b.of(2).map(|(n, _)| n).collect();
        assert_eq!(ids, (0..300u64).map(|k| 3 * k + 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_cursor_reads_as_stable_memory_and_keeps_one_page_per_proposal() {
        let mut b = Ballots::init(VectorMemory::default());
        for proposal in [1, 2] {
            let mut w = b.writer(proposal);
            for neuron in (0..200u64).map(|k| 2 * k + proposal) {
                w.push(&mut b, neuron, ballot(neuron));
            }
            w.finish(&mut b);
        }
        let mut cursor = PageCursor::default();
        // Ascending, as a listing reads, then a step back and out of range.
        for neuron in (0..410).chain([5, 0, 1_000]) {
            for proposal in [1, 2, 3] {
                assert_eq!(
                    b.get_near(&mut cursor, proposal, neuron),
                    b.get(proposal, neuron),
                    "proposal {proposal} neuron {neuron}"
                );
                assert!(cursor.pages.len() <= 2, "one page per proposal");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Reads and votes through a cache, in any order (hot pages, pages
        /// sent back to the map, neurons without a ballot between pages),
        /// are those of a plain map, and so is stable memory once written
        /// back.
        #[test]
        fn a_page_cache_behaves_as_a_map(
            ops in proptest::collection::vec((1u64..4, 0u64..450, 0i32..3), 1..300)
        ) {
            let mut b = Ballots::init(VectorMemory::default());
            let mut model = std::collections::BTreeMap::new();
            for proposal in [1, 2] {
                let mut w = b.writer(proposal);
                for neuron in (0..200u64).map(|k| 2 * k + proposal) {
                    w.push(&mut b, neuron, ballot(neuron));
                    model.insert((proposal, neuron), ballot(neuron));
                }
                w.finish(&mut b);
            }
            let mut cache = PageCache::default();
            for (proposal, neuron, vote) in ops {
                let expected = model.get(&(proposal, neuron)).copied();
                if vote == 0 {
                    proptest::prop_assert_eq!(b.get_cached(&mut cache, proposal, neuron), expected);
                } else {
                    let voted = b.set_vote_cached(&mut cache, proposal, neuron, vote);
                    let expected = expected.map(|r| BallotRecord { vote, ..r });
                    proptest::prop_assert_eq!(voted, expected);
                    if let Some(r) = expected {
                        model.insert((proposal, neuron), r);
                    }
                }
            }
            b.write_back(cache);
            for proposal in [1, 2, 3] {
                let stored: Vec<(u64, BallotRecord)> = b.of(proposal).collect();
                let modelled: Vec<(u64, BallotRecord)> = model
                    .range((proposal, 0)..=(proposal, u64::MAX))
                    .map(|(&(_, n), &r)| (n, r))
                    .collect();
                proptest::prop_assert_eq!(stored, modelled);
            }
        }
    }

    #[test]
    fn a_page_cache_reads_as_stable_memory_and_writes_back_only_its_changes() {
        let mut b = Ballots::init(VectorMemory::default());
        for proposal in [1, 2] {
            let mut w = b.writer(proposal);
            for neuron in (0..200u64).map(|k| 2 * k + 1) {
                w.push(&mut b, neuron, ballot(neuron));
            }
            w.finish(&mut b);
        }
        let mut cache = PageCache::default();
        for neuron in 0..402 {
            for proposal in [1, 2, 3] {
                assert_eq!(
                    b.get_cached(&mut cache, proposal, neuron),
                    b.get(proposal, neuron),
                    "proposal {proposal} neuron {neuron}"
                );
            }
        }
        let voted = b.set_vote_cached(&mut cache, 1, 129, 1).unwrap();
        assert_eq!(
            voted,
            BallotRecord {
                voting_power: 129,
                vote: 1
            }
        );
        assert_eq!(b.set_vote_cached(&mut cache, 1, 130, 1), None, "no ballot");
        assert_eq!(b.get_cached(&mut cache, 1, 129).unwrap().vote, 1);
        assert_eq!(b.get(1, 129).unwrap().vote, 0, "not yet written back");
        b.write_back(cache);
        assert_eq!(b.get(1, 129).unwrap().vote, 1);
        let votes: Vec<u64> = b
            .of(1)
            .filter(|(_, r)| r.vote != 0)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(votes, vec![129], "one ballot changed");
        assert!(
            b.of(2).all(|(_, r)| r.vote == 0),
            "other proposals untouched"
        );

        // A cache dropped without writing back changes nothing.
        let mut cache = PageCache::default();
        b.set_vote_cached(&mut cache, 2, 1, 2).unwrap();
        drop(cache);
        assert_eq!(b.get(2, 1).unwrap().vote, 0);
    }

    #[test]
    fn a_page_round_trips() {
        let page: BallotPage = Page(vec![
            (1, ballot(u64::MAX)),
            (
                u64::MAX,
                BallotRecord {
                    voting_power: 0,
                    vote: 2,
                },
            ),
        ]);
        assert_eq!(BallotPage::from_bytes(page.to_bytes()), page);
    }
}
