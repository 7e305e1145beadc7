//! What the follower index says about each follower, so that the votes
//! that follow a vote are decided without reading the followers' neurons
//! (a lookup among 100 000 neurons costs a descent of their B-tree, most
//! of a cascade's work): an entry keyed followee ‖ topic ‖ follower holds
//! the follower's followees on that topic and the topics it follows
//! specifically, to which its catch-all following does not apply.
//!
//! Entries written before this existed are empty; for them, and for the
//! rare catch-all entry of a follower that also follows the topic
//! specifically, the cascade reads the neuron.

use crate::neuron::MAX_FOLLOWEES_PER_TOPIC;
use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An index entry: what is known about the follower, if anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowEntry(pub Option<Following>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Following {
    /// Bit `t` is set when the follower has followees on topic `t` (the
    /// catch-all, topic 0, is not counted).
    pub specific_topics: u32,
    /// The follower's followees on the entry's topic.
    pub followees: Vec<u64>,
}

// Topics are bits of a u32.
const _: () = assert!(crate::governance::MAX_TOPIC < 32);

/// The topics of `followees` other than the catch-all, as bits.
pub fn specific_topics(followees: &BTreeMap<i32, Vec<u64>>) -> u32 {
    followees
        .keys()
        .filter(|t| (1..32).contains(*t))
        .fold(0u32, |mask, t| mask | 1 << t)
}

impl FollowEntry {
    /// The entry of each of `followees`' followees on `topic`.
    pub fn of(followees: &BTreeMap<i32, Vec<u64>>, topic: i32) -> Self {
        Self(Some(Following {
            specific_topics: specific_topics(followees),
            followees: followees.get(&topic).cloned().unwrap_or_default(),
        }))
    }
}

impl Storable for FollowEntry {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        let Some(f) = &self.0 else {
            return Cow::Borrowed(&[]);
        };
        let mut out = Vec::with_capacity(4 + 8 * f.followees.len());
        out.extend_from_slice(&f.specific_topics.to_le_bytes());
        for id in &f.followees {
            out.extend_from_slice(&id.to_le_bytes());
        }
        Cow::Owned(out)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        if bytes.len() < 4 {
            return Self(None);
        }
        let specific_topics = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
        let followees = bytes[4..]
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        Self(Some(Following {
            specific_topics,
            followees,
        }))
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: (4 + 8 * MAX_FOLLOWEES_PER_TOPIC) as u32,
        is_fixed_size: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_round_trips_and_an_old_empty_one_reads_as_unknown() {
        let followees = BTreeMap::from([(0, vec![7, 9]), (4, vec![u64::MAX]), (14, vec![1])]);
        let entry = FollowEntry::of(&followees, 0);
        assert_eq!(
            entry,
            FollowEntry(Some(Following {
                specific_topics: 1 << 4 | 1 << 14,
                followees: vec![7, 9],
            }))
        );
        let bytes = entry.to_bytes().into_owned();
        assert_eq!(FollowEntry::from_bytes(Cow::Owned(bytes)), entry);
        let full = FollowEntry::of(
            &BTreeMap::from([(3, (1..=MAX_FOLLOWEES_PER_TOPIC as u64).collect())]),
            3,
        );
        let Bound::Bounded { max_size, .. } = FollowEntry::BOUND else {
            unreachable!()
        };
        assert_eq!(full.to_bytes().len(), max_size as usize);
        assert_eq!(
            FollowEntry::from_bytes(Cow::Borrowed(&[])),
            FollowEntry(None)
        );
        assert_eq!(FollowEntry(None).to_bytes().len(), 0);
    }

    /// An index written when its values were `()` (pages sized for empty
    /// values) is read and extended with summaries after an upgrade.
    #[test]
    fn an_index_of_empty_values_takes_summaries_after_an_upgrade() {
        use ic_stable_structures::{StableBTreeMap, VectorMemory};
        let memory = VectorMemory::default();
        let mut old: StableBTreeMap<[u8; 20], (), _> = StableBTreeMap::init(memory.clone());
        for k in 0..500u64 {
            old.insert(crate::proposals::follow_key(k, 0, k + 1), ());
        }
        drop(old);
        let mut new: StableBTreeMap<[u8; 20], FollowEntry, _> = StableBTreeMap::init(memory);
        assert_eq!(new.len(), 500);
        assert!(new.iter().all(|e| e.value() == FollowEntry(None)));
        let full: Vec<u64> = (1..=MAX_FOLLOWEES_PER_TOPIC as u64).collect();
        let entry = FollowEntry::of(&BTreeMap::from([(0, full)]), 0);
        for k in 0..1_000u64 {
            new.insert(crate::proposals::follow_key(k, 0, k + 1), entry.clone());
        }
        assert_eq!(new.len(), 1_000);
        assert!(new.iter().all(|e| e.value() == entry));
    }
}
