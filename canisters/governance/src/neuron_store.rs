//! Neurons in stable memory, by id, with indexes by staking subaccount and
//! by principal (controller or hot key), so that claiming, refreshing and
//! `list_neurons` never scan all neurons.
//!
//! The day's voting rewards go to maturity credited apart ([`Credits`]): a
//! neuron is read with its credit added and written with it folded in.
//! Rewriting each rewarded neuron's record (its B-tree node of ~11 records
//! with it) cost 57 K instructions a neuron every day.

use crate::credits::Credits;
use crate::neuron::{DissolveState, Neuron};
use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};

/// A principal (at most 29 bytes), length-prefixed to a fixed 30 bytes,
/// then a neuron id, big-endian so that a principal's neurons sort by id.
type PrincipalKey = [u8; 38];

/// The principal part of a [`PrincipalKey`].
type PrincipalPrefix = [u8; 30];

fn prefix(key: &PrincipalKey) -> PrincipalPrefix {
    key[..30].try_into().expect("30 bytes")
}

/// Where counting the index stands: `[0; 39]` when every entry is counted,
/// else `1` followed by the first key not yet counted.
type CountingCursor = [u8; 39];
const ALL_COUNTED: CountingCursor = [0; 39];

fn counting_from(key: &PrincipalKey) -> CountingCursor {
    let mut cursor = [1; 39];
    cursor[1..].copy_from_slice(key);
    cursor
}

fn principal_key(principal: &Principal, neuron_id: u64) -> PrincipalKey {
    let bytes = principal.as_slice();
    let mut key = [0; 38];
    key[0] = bytes.len() as u8;
    key[1..1 + bytes.len()].copy_from_slice(bytes);
    key[30..].copy_from_slice(&neuron_id.to_be_bytes());
    key
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    NeuronExists(u64),
    SubaccountInUse(u64),
    NoSuchNeuron(u64),
}

pub struct NeuronStore<M: Memory> {
    neurons: StableBTreeMap<u64, Neuron, M>,
    by_subaccount: StableBTreeMap<[u8; 32], u64, M>,
    /// The value says whether the neuron holds anything, so that listing a
    /// principal's non-empty neurons reads no neuron.
    by_principal: StableBTreeMap<PrincipalKey, bool, M>,
    /// Per principal, how many neurons it is listed under and how many of
    /// them hold anything: a listing knows its number of pages without
    /// reading the principal's whole index.
    counts: StableBTreeMap<PrincipalPrefix, (u64, u64), M>,
    /// A store written before `counts` existed is counted in steps after
    /// the upgrade ([`NeuronStore::count_some`]); until then entries from
    /// the cursor on are not in `counts`.
    counting: StableCell<CountingCursor, M>,
    /// (dissolved at, neuron id) of the dissolving and dissolved neurons
    /// holding staked maturity: what the unstaking task looks at.
    unstake: StableBTreeMap<(u64, u64), (), M>,
    /// The first neuron id not yet entered in `unstake` by a store written
    /// before that index existed; [`UNSTAKE_INDEXED`] once all are.
    unstake_indexing: StableCell<u64, M>,
    /// Maturity credited to a neuron (by the rewards) since its record was
    /// last written; it is staked maturity if the neuron auto-stakes. Only
    /// for neurons whose unstake entry does not depend on it: neurons that
    /// do not auto-stake or whose delay counts ([`can_credit`]).
    credited: Credits<M>,
}

/// The `unstake_indexing` cursor of a complete index.
const UNSTAKE_INDEXED: u64 = u64::MAX;

/// Neurons entered in the unstake index per [`NeuronStore::index_unstake_some`] step.
pub const UNSTAKE_INDEXED_PER_STEP: usize = 5_000;

/// A neuron's entry in the unstake index, if it has one: dissolving or
/// dissolved (its delay no longer counts up), with staked maturity.
fn unstake_key(neuron: &Neuron) -> Option<(u64, u64)> {
    if neuron.staked_maturity_e8s_equivalent == 0 {
        return None;
    }
    match neuron.dissolve_state {
        DissolveState::WhenDissolvedTimestampSeconds(t) => Some((t, neuron.id)),
        DissolveState::DissolveDelaySeconds(0) => Some((0, neuron.id)),
        DissolveState::DissolveDelaySeconds(_) => None,
    }
}

/// Index entries counted per [`NeuronStore::count_some`] step.
pub const COUNTED_PER_STEP: usize = 20_000;

impl<M: Memory> NeuronStore<M> {
    pub fn init(
        neurons: M,
        by_subaccount: M,
        by_principal: M,
        counts: M,
        counting: M,
        unstake: (M, M),
        credited: M,
    ) -> Self {
        let counts_are_new = counts.size() == 0;
        let unstake_is_new = unstake.0.size() == 0;
        let by_principal = StableBTreeMap::init(by_principal);
        let cursor = if counts_are_new && !by_principal.is_empty() {
            counting_from(&[0; 38])
        } else {
            ALL_COUNTED
        };
        let neurons = StableBTreeMap::init(neurons);
        let unstake_cursor = if unstake_is_new && !neurons.is_empty() {
            0
        } else {
            UNSTAKE_INDEXED
        };
        Self {
            neurons,
            by_subaccount: StableBTreeMap::init(by_subaccount),
            by_principal,
            counts: StableBTreeMap::init(counts),
            counting: StableCell::init(counting, cursor),
            unstake: StableBTreeMap::init(unstake.0),
            unstake_indexing: StableCell::init(unstake.1, unstake_cursor),
            credited: Credits::init(credited),
        }
    }

    /// Whether the unstake index covers every neuron.
    pub fn unstake_index_complete(&self) -> bool {
        *self.unstake_indexing.get() == UNSTAKE_INDEXED
    }

    /// Enters up to [`UNSTAKE_INDEXED_PER_STEP`] more neurons of a store
    /// written before the unstake index existed; `true` while some remain.
    pub fn index_unstake_some(&mut self) -> bool {
        let from = *self.unstake_indexing.get();
        if from == UNSTAKE_INDEXED {
            return false;
        }
        let mut next = UNSTAKE_INDEXED;
        let mut keys = vec![];
        for (k, entry) in self.neurons.range(from..).enumerate() {
            if k == UNSTAKE_INDEXED_PER_STEP {
                next = *entry.key();
                break;
            }
            keys.extend(unstake_key(&entry.value()));
        }
        for key in keys {
            self.unstake.insert(key, ());
        }
        self.unstake_indexing.set(next);
        next != UNSTAKE_INDEXED
    }

    /// Up to `limit` neurons holding staked maturity that were dissolved by
    /// `now` (and perhaps a few that changed since), oldest first.
    pub fn ready_to_unstake(&self, now: u64, limit: usize) -> Vec<u64> {
        self.unstake
            .keys_range(..=(now, u64::MAX))
            .take(limit)
            .map(|(_, id)| id)
            .collect()
    }

    fn reindex_unstake(&mut self, before: Option<(u64, u64)>, after: Option<(u64, u64)>) {
        if before == after {
            return;
        }
        if let Some(key) = before {
            self.unstake.remove(&key);
        }
        if let Some(key) = after {
            self.unstake.insert(key, ());
        }
    }

    /// Whether `counts` covers the whole index.
    pub fn counts_complete(&self) -> bool {
        *self.counting.get() == ALL_COUNTED
    }

    /// Counts up to [`COUNTED_PER_STEP`] more index entries; `true` while
    /// some remain.
    pub fn count_some(&mut self) -> bool {
        let cursor = *self.counting.get();
        if cursor == ALL_COUNTED {
            return false;
        }
        let from: PrincipalKey = cursor[1..].try_into().expect("38 bytes");
        let entries: Vec<(PrincipalKey, bool)> = self
            .by_principal
            .range(from..)
            .take(COUNTED_PER_STEP + 1)
            .map(|e| (*e.key(), e.value()))
            .collect();
        for (key, holds) in entries.iter().take(COUNTED_PER_STEP) {
            self.add_to_counts(key, 1, i64::from(*holds));
        }
        let next = entries
            .get(COUNTED_PER_STEP)
            .map(|(key, _)| counting_from(key));
        self.counting.set(next.unwrap_or(ALL_COUNTED));
        next.is_some()
    }

    /// (listed, holding) for `principal`, once counting is complete.
    pub fn counts_of(&self, principal: &Principal) -> Option<(u64, u64)> {
        self.counts_complete().then(|| {
            self.counts
                .get(&prefix(&principal_key(principal, 0)))
                .unwrap_or((0, 0))
        })
    }

    fn add_to_counts(&mut self, key: &PrincipalKey, listed: i64, holding: i64) {
        let prefix = prefix(key);
        let (l, h) = self.counts.get(&prefix).unwrap_or((0, 0));
        let (l, h) = (
            l.checked_add_signed(listed)
                .expect("counts match the index"),
            h.checked_add_signed(holding)
                .expect("counts match the index"),
        );
        if l == 0 {
            self.counts.remove(&prefix);
        } else {
            self.counts.insert(prefix, (l, h));
        }
    }

    /// Whether `key` is among the entries counted so far.
    fn is_counted(&self, key: &PrincipalKey) -> bool {
        let cursor = self.counting.get();
        *cursor == ALL_COUNTED || key[..] < cursor[1..]
    }

    fn set_entry(&mut self, key: PrincipalKey, holds: bool) {
        let old = self.by_principal.insert(key, holds);
        if self.is_counted(&key) {
            let listed = i64::from(old.is_none());
            let holding = i64::from(holds) - i64::from(old.unwrap_or(false));
            self.add_to_counts(&key, listed, holding);
        }
    }

    fn remove_entry(&mut self, key: PrincipalKey) {
        if let Some(held) = self.by_principal.remove(&key)
            && self.is_counted(&key)
        {
            self.add_to_counts(&key, -1, -i64::from(held));
        }
    }

    pub fn len(&self) -> u64 {
        self.neurons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.neurons.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<Neuron> {
        let record = self.neurons.get(&id)?;
        Some(with_credit(record, self.credited.get(id)))
    }

    /// Credits maturity (staked if the neuron auto-stakes) to neurons, as
    /// just read and by ascending id, without writing their records.
    pub(crate) fn credit(&mut self, credits: &[(&Neuron, u64)]) {
        let mut list = Vec::with_capacity(credits.len());
        for &(neuron, e8s) in credits {
            assert!(can_credit(neuron), "a credit its unstake entry knows of");
            debug_assert_eq!(self.get(neuron.id).as_ref(), Some(neuron), "read just now");
            // Checked now: reading the neuron adds the credit to its maturity.
            let held = if neuron.auto_stake_maturity {
                neuron.staked_maturity_e8s_equivalent
            } else {
                neuron.maturity_e8s_equivalent
            };
            held.checked_add(e8s).expect("maturity fits in u64");
            list.push((neuron.id, e8s));
        }
        self.credited.add(&list);
    }

    pub fn contains(&self, id: u64) -> bool {
        self.neurons.contains_key(&id)
    }

    pub fn id_by_subaccount(&self, subaccount: &[u8; 32]) -> Option<u64> {
        self.by_subaccount.get(subaccount)
    }

    pub fn insert(&mut self, neuron: Neuron) -> Result<(), StoreError> {
        if self.neurons.contains_key(&neuron.id) {
            return Err(StoreError::NeuronExists(neuron.id));
        }
        if let Some(other) = self.by_subaccount.get(&neuron.subaccount) {
            return Err(StoreError::SubaccountInUse(other));
        }
        self.by_subaccount.insert(neuron.subaccount, neuron.id);
        self.reindex_unstake(None, unstake_key(&neuron));
        let holds = !neuron.is_empty();
        for principal in principals(&neuron) {
            self.set_entry(principal_key(&principal, neuron.id), holds);
        }
        self.neurons.insert(neuron.id, neuron);
        Ok(())
    }

    /// Changes a neuron; the indexes follow changes of controller and hot
    /// keys. The subaccount and id never change.
    pub fn update<R>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut Neuron) -> R,
    ) -> Result<R, StoreError> {
        let record = self.neurons.get(&id).ok_or(StoreError::NoSuchNeuron(id))?;
        let credit = self.credited.get(id);
        let before = with_credit(record, credit);
        let mut neuron = before.clone();
        let result = f(&mut neuron);
        self.store(&before, neuron, credit);
        Ok(result)
    }

    /// Stores `after` in place of `before`, the neuron as just read from
    /// the store (a pass over many neurons reads them in order, once), and
    /// keeps the indexes in step.
    pub(crate) fn replace(&mut self, before: &Neuron, after: Neuron) {
        let credit = self.credited.get(before.id);
        self.store(before, after, credit);
    }

    /// [`Self::update`] of a neuron already in hand: `f` changes a copy of
    /// `before` (as just read, see [`Self::replace`]), which is stored.
    pub(crate) fn update_read<R>(
        &mut self,
        before: &Neuron,
        f: impl FnOnce(&mut Neuron) -> R,
    ) -> R {
        let mut after = before.clone();
        let result = f(&mut after);
        self.replace(before, after);
        result
    }

    /// [`Self::replace`], `credit` being `before`'s credit.
    fn store(&mut self, before: &Neuron, after: Neuron, credit: Option<u64>) {
        let id = before.id;
        debug_assert_eq!(self.get(id).as_ref(), Some(before), "read just now");
        assert_eq!(after.id, id, "a neuron's id never changes");
        self.reindex_unstake(unstake_key(before), unstake_key(&after));
        let (was, held) = (principals(before), !before.is_empty());
        let (is, holds) = (principals(&after), !after.is_empty());
        for gone in was.iter().filter(|p| !is.contains(p)) {
            self.remove_entry(principal_key(gone, id));
        }
        for p in is.iter().filter(|p| held != holds || !was.contains(p)) {
            self.set_entry(principal_key(p, id), holds);
        }
        // `before` had the credit added, so `after` has it too: either the
        // record is written without it and the credit stays (rewriting its
        // page costs more than the record), or it is folded in.
        let record = match credit {
            Some(e8s) => match without_credit(before, &after, e8s) {
                Some(record) => record,
                None => {
                    self.credited.take(id);
                    after
                }
            },
            None => after,
        };
        self.neurons.insert(id, record);
    }

    pub fn remove(&mut self, id: u64) -> Result<Neuron, StoreError> {
        let record = self
            .neurons
            .remove(&id)
            .ok_or(StoreError::NoSuchNeuron(id))?;
        let neuron = with_credit(record, self.credited.take(id));
        self.by_subaccount.remove(&neuron.subaccount);
        self.reindex_unstake(unstake_key(&neuron), None);
        for principal in principals(&neuron) {
            self.remove_entry(principal_key(&principal, id));
        }
        Ok(neuron)
    }

    /// Neuron ids from `first` on, in order.
    pub fn ids_from(&self, first: u64) -> impl Iterator<Item = u64> + '_ {
        self.neurons.keys_range(first..)
    }

    /// The neurons from id `first` on, in id order.
    pub fn iter_from(&self, first: u64) -> impl Iterator<Item = (u64, Neuron)> + '_ {
        // Both maps in id order, side by side: a credit is found without a
        // lookup of its own.
        let mut credits = self.credited.iter_from(first).peekable();
        self.neurons.range(first..).map(move |e| {
            let id = *e.key();
            // Every credit belongs to a neuron (`remove` takes it); one
            // that did not would be passed over, not shift the others.
            while credits.next_if(|&(credited, _)| credited < id).is_some() {
                debug_assert!(false, "a credit without its neuron");
            }
            let credit = credits
                .next_if(|&(credited, _)| credited == id)
                .map(|(_, c)| c);
            (id, with_credit(e.value(), credit))
        })
    }

    /// All neurons, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Neuron)> + '_ {
        self.iter_from(0)
    }

    /// Ids of the neurons `principal` controls or holds a hot key of, in
    /// order, starting after `after`, at most `limit`.
    pub fn ids_of(&self, principal: &Principal, after: Option<u64>, limit: usize) -> Vec<u64> {
        self.listed_under(principal, after)
            .take(limit)
            .map(|(id, _)| id)
            .collect()
    }

    /// The ids listed under `principal` in order, without the empty neurons
    /// unless `include_empty`; reads only the index, lazily.
    pub fn ids_listed_under(
        &self,
        principal: &Principal,
        include_empty: bool,
    ) -> impl Iterator<Item = u64> + '_ {
        self.listed_under(principal, None)
            .filter(move |&(_, holds)| include_empty || holds)
            .map(|(id, _)| id)
    }

    /// Whether neuron `id` is among [`Self::ids_listed_under`]'s.
    pub fn lists(&self, principal: &Principal, id: u64, include_empty: bool) -> bool {
        self.by_principal
            .get(&principal_key(principal, id))
            .is_some_and(|holds| include_empty || holds)
    }

    fn listed_under(
        &self,
        principal: &Principal,
        after: Option<u64>,
    ) -> impl Iterator<Item = (u64, bool)> + '_ {
        let first = match after {
            None => Some(0),
            Some(id) => id.checked_add(1),
        };
        let range =
            first.map(|first| principal_key(principal, first)..=principal_key(principal, u64::MAX));
        range
            .into_iter()
            .flat_map(|range| self.by_principal.range(range))
            .map(|entry| {
                let id = u64::from_be_bytes(entry.key()[30..].try_into().expect("8 bytes"));
                (id, entry.value())
            })
    }
}

/// A neuron's record with the maturity credited since it was written.
fn with_credit(mut record: Neuron, credit: Option<u64>) -> Neuron {
    if let Some(e8s) = credit {
        let held = record.rewarded_maturity_mut();
        *held = held.checked_add(e8s).expect("checked when credited");
    }
    record
}

/// Whether rewards can credit `neuron` without writing its record: a
/// credit to a dissolving or dissolved neuron that auto-stakes would give
/// it staked maturity to unstake, which its unstake entry must know of,
/// and one to a neuron holding nothing (merged away after it voted) would
/// make it hold something, which the principal index must know of.
pub fn can_credit(neuron: &Neuron) -> bool {
    !neuron.is_empty()
        && (!neuron.auto_stake_maturity
            || matches!(neuron.dissolve_state, DissolveState::DissolveDelaySeconds(d) if d > 0))
}

/// `after`'s record without `e8s` credited, if the credit can stay
/// credited: the neuron still auto-stakes as it did (so the credit still
/// counts where it did), can still be credited, and holds the credit still.
fn without_credit(before: &Neuron, after: &Neuron, e8s: u64) -> Option<Neuron> {
    if after.auto_stake_maturity != before.auto_stake_maturity || !can_credit(after) {
        return None;
    }
    let mut record = after.clone();
    let held = record.rewarded_maturity_mut();
    *held = held.checked_sub(e8s)?;
    Some(record)
}

/// The principals a neuron is listed under, without repeats.
fn principals(neuron: &Neuron) -> Vec<Principal> {
    let mut all = vec![neuron.controller];
    for key in &neuron.hot_keys {
        if !all.contains(key) {
            all.push(*key);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn store() -> NeuronStore<VectorMemory> {
        let m = VectorMemory::default;
        NeuronStore::init(m(), m(), m(), m(), m(), (m(), m()), m())
    }

    /// The counts as a full read of the index gives them.
    fn recounted(s: &NeuronStore<VectorMemory>, principal: &Principal) -> (u64, u64) {
        let all = s.ids_listed_under(principal, true).count() as u64;
        let holding = s.ids_listed_under(principal, false).count() as u64;
        (all, holding)
    }

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn neuron(id: u64, controller: Principal) -> Neuron {
        Neuron::new(id, controller, [id as u8; 32], 100, 0)
    }

    #[test]
    fn neurons_are_found_by_id_subaccount_and_principal() {
        let mut s = store();
        s.insert(neuron(7, p(1))).unwrap();
        s.insert(neuron(3, p(1))).unwrap();
        s.insert(neuron(5, p(2))).unwrap();
        assert_eq!(s.get(7).unwrap().controller, p(1));
        assert_eq!(s.id_by_subaccount(&[5; 32]), Some(5));
        assert_eq!(s.ids_of(&p(1), None, 10), vec![3, 7]);
        assert_eq!(s.ids_of(&p(1), Some(3), 10), vec![7]);
        assert_eq!(s.ids_of(&p(1), None, 1), vec![3]);
        assert!(s.ids_of(&p(3), None, 10).is_empty());
        assert_eq!(s.insert(neuron(7, p(3))), Err(StoreError::NeuronExists(7)));
        let mut clash = neuron(8, p(3));
        clash.subaccount = [5; 32];
        assert_eq!(s.insert(clash), Err(StoreError::SubaccountInUse(5)));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn hot_keys_are_indexed_as_they_change() {
        let mut s = store();
        s.insert(neuron(1, p(1))).unwrap();
        s.update(1, |n| n.add_hot_key(p(9))).unwrap().unwrap();
        assert_eq!(s.ids_of(&p(9), None, 10), vec![1]);
        s.update(1, |n| n.remove_hot_key(&p(9))).unwrap().unwrap();
        assert!(s.ids_of(&p(9), None, 10).is_empty());
        assert_eq!(s.update(2, |_| ()), Err(StoreError::NoSuchNeuron(2)));
        let removed = s.remove(1).unwrap();
        assert_eq!(removed.id, 1);
        assert!(s.ids_of(&p(1), None, 10).is_empty());
        assert_eq!(s.id_by_subaccount(&[1; 32]), None);
        assert!(s.is_empty());
    }

    #[test]
    fn the_index_knows_which_neurons_are_empty() {
        let mut s = store();
        s.insert(neuron(1, p(1))).unwrap();
        s.insert(Neuron::new(2, p(1), [2; 32], 0, 0)).unwrap();
        s.update(1, |n| n.hot_keys.push(p(2))).unwrap();
        assert_eq!(
            s.ids_listed_under(&p(1), false).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(
            s.ids_listed_under(&p(1), true).collect::<Vec<_>>(),
            vec![1, 2]
        );
        s.update(1, |n| n.cached_neuron_stake_e8s = 0).unwrap();
        s.update(2, |n| n.maturity_e8s_equivalent = 5).unwrap();
        assert_eq!(
            s.ids_listed_under(&p(1), false).collect::<Vec<_>>(),
            vec![2]
        );
        assert!(
            s.ids_listed_under(&p(2), false)
                .collect::<Vec<_>>()
                .is_empty(),
            "for hot keys too"
        );
        assert_eq!(s.ids_listed_under(&p(2), true).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn principals_of_different_lengths_do_not_mix() {
        let mut s = store();
        let short = Principal::from_slice(&[1]);
        let longer = Principal::from_slice(&[1, 0]);
        s.insert(neuron(1, short)).unwrap();
        s.insert(neuron(2, longer)).unwrap();
        assert_eq!(s.ids_of(&short, None, 10), vec![1]);
        assert_eq!(s.ids_of(&longer, None, 10), vec![2]);
        assert_eq!(s.ids_of(&short, Some(u64::MAX), 10), Vec::<u64>::new());
    }

    #[test]
    fn counts_follow_every_change_of_the_index() {
        let mut s = store();
        let principals = [p(1), p(2), p(3)];
        for id in 1..=30u64 {
            let stake = if id % 4 == 0 { 0 } else { 100 };
            s.insert(Neuron::new(
                id,
                principals[(id % 3) as usize],
                [id as u8; 32],
                stake,
                0,
            ))
            .unwrap();
        }
        for id in (1..=30u64).step_by(5) {
            s.update(id, |n| n.hot_keys.push(p(9))).unwrap();
            s.update(id + 1, |n| n.cached_neuron_stake_e8s = 0).unwrap();
            s.update(id + 2, |n| n.controller = p(3)).unwrap();
        }
        s.update(1, |n| n.hot_keys.clear()).unwrap();
        s.remove(3).unwrap();
        s.remove(6).unwrap();
        for who in [p(1), p(2), p(3), p(9), p(4)] {
            assert_eq!(s.counts_of(&who), Some(recounted(&s, &who)), "{who}");
        }
        assert_eq!(s.counts_of(&p(4)), Some((0, 0)));
    }

    #[test]
    fn a_store_without_counts_is_counted_in_steps_while_it_changes() {
        let m: Vec<VectorMemory> = (0..3).map(|_| VectorMemory::default()).collect();
        let fresh = || {
            NeuronStore::init(
                m[0].clone(),
                m[1].clone(),
                m[2].clone(),
                VectorMemory::default(),
                VectorMemory::default(),
                (VectorMemory::default(), VectorMemory::default()),
                VectorMemory::default(),
            )
        };
        let mut old = fresh();
        let count = 2 * COUNTED_PER_STEP as u64 + 7;
        for id in 1..=count {
            old.insert(Neuron::new(
                id,
                p((id % 2) as u8),
                id_subaccount(id),
                100,
                0,
            ))
            .unwrap();
        }
        // As after an upgrade from a version without counts.
        let mut s = fresh();
        assert!(!s.counts_complete());
        assert_eq!(s.counts_of(&p(0)), None);
        assert!(s.count_some());
        // Changes both behind and ahead of the cursor.
        s.update(2, |n| n.cached_neuron_stake_e8s = 0).unwrap();
        s.update(count - 1, |n| n.cached_neuron_stake_e8s = 0)
            .unwrap();
        s.update(4, |n| n.controller = p(5)).unwrap();
        s.remove(count).unwrap();
        assert!(s.count_some());
        assert!(!s.count_some());
        assert!(s.counts_complete());
        for who in [p(0), p(1), p(5)] {
            assert_eq!(s.counts_of(&who), Some(recounted(&s, &who)), "{who}");
        }
        assert_eq!(s.counts_of(&p(5)), Some((1, 1)));
    }

    fn id_subaccount(id: u64) -> [u8; 32] {
        let mut subaccount = [0; 32];
        subaccount[..8].copy_from_slice(&id.to_be_bytes());
        subaccount
    }
}

#[cfg(test)]
mod unstake_index_tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn neuron(id: u64, staked: u64, state: DissolveState) -> Neuron {
        let mut subaccount = [0; 32];
        subaccount[..8].copy_from_slice(&id.to_be_bytes());
        let mut n = Neuron::new(id, Principal::from_slice(&[1]), subaccount, 100, 0);
        n.staked_maturity_e8s_equivalent = staked;
        n.dissolve_state = state;
        n
    }

    #[test]
    fn the_index_holds_dissolving_and_dissolved_neurons_with_staked_maturity() {
        let m = VectorMemory::default;
        let mut s = NeuronStore::init(m(), m(), m(), m(), m(), (m(), m()), m());
        s.insert(neuron(
            1,
            5,
            DissolveState::WhenDissolvedTimestampSeconds(50),
        ))
        .unwrap();
        s.insert(neuron(2, 5, DissolveState::DissolveDelaySeconds(10)))
            .unwrap();
        s.insert(neuron(3, 0, DissolveState::DissolveDelaySeconds(0)))
            .unwrap();
        s.insert(neuron(4, 5, DissolveState::DissolveDelaySeconds(0)))
            .unwrap();
        assert_eq!(s.ready_to_unstake(49, 10), vec![4]);
        assert_eq!(s.ready_to_unstake(50, 10), vec![4, 1]);
        s.update(2, |n| {
            n.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(30)
        })
        .unwrap();
        s.update(3, |n| n.staked_maturity_e8s_equivalent = 1)
            .unwrap();
        s.update(4, |n| n.staked_maturity_e8s_equivalent = 0)
            .unwrap();
        assert_eq!(s.ready_to_unstake(50, 10), vec![3, 2, 1]);
        assert_eq!(s.ready_to_unstake(50, 2), vec![3, 2]);
        s.remove(2).unwrap();
        assert_eq!(s.ready_to_unstake(u64::MAX, 10), vec![3, 1]);
    }

    #[test]
    fn a_store_without_the_index_is_indexed_in_steps() {
        let m: Vec<VectorMemory> = (0..5).map(|_| VectorMemory::default()).collect();
        let count = UNSTAKE_INDEXED_PER_STEP as u64 + 3;
        {
            let mut old = NeuronStore::init(
                m[0].clone(),
                m[1].clone(),
                m[2].clone(),
                m[3].clone(),
                m[4].clone(),
                (VectorMemory::default(), VectorMemory::default()),
                VectorMemory::default(),
            );
            for id in 1..=count {
                old.insert(neuron(id, id % 2, DissolveState::DissolveDelaySeconds(0)))
                    .unwrap();
            }
        }
        let mut s = NeuronStore::init(
            m[0].clone(),
            m[1].clone(),
            m[2].clone(),
            m[3].clone(),
            m[4].clone(),
            (VectorMemory::default(), VectorMemory::default()),
            VectorMemory::default(),
        );
        assert!(!s.unstake_index_complete());
        assert!(s.index_unstake_some());
        assert!(!s.index_unstake_some());
        assert!(s.unstake_index_complete());
        let odd: Vec<u64> = (1..=count).filter(|id| id % 2 == 1).collect();
        assert_eq!(s.ready_to_unstake(0, usize::MAX), odd);
    }
}

#[cfg(test)]
mod credit_tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn store_of(neurons: &[(u64, bool, DissolveState)]) -> NeuronStore<VectorMemory> {
        let m = VectorMemory::default;
        let mut s = NeuronStore::init(m(), m(), m(), m(), m(), (m(), m()), m());
        for &(id, auto_stake, state) in neurons {
            let mut subaccount = [0; 32];
            subaccount[..8].copy_from_slice(&id.to_be_bytes());
            let mut n = Neuron::new(id, Principal::from_slice(&[1]), subaccount, 100, 0);
            n.maturity_e8s_equivalent = 10;
            n.staked_maturity_e8s_equivalent = 20;
            n.auto_stake_maturity = auto_stake;
            n.dissolve_state = state;
            s.insert(n).unwrap();
        }
        s
    }

    fn maturity(s: &NeuronStore<VectorMemory>, id: u64) -> (u64, u64) {
        let n = s.get(id).unwrap();
        (n.maturity_e8s_equivalent, n.staked_maturity_e8s_equivalent)
    }

    const LOCKED: DissolveState = DissolveState::DissolveDelaySeconds(1_000);

    #[test]
    fn a_credit_is_read_with_the_neuron_and_folded_into_its_next_write() {
        let mut s = store_of(&[(1, false, LOCKED), (2, true, LOCKED), (3, false, LOCKED)]);
        for e8s in [5, 1] {
            let (one, two) = (s.get(1).unwrap(), s.get(2).unwrap());
            s.credit(&[(&one, e8s), (&two, e8s)]);
        }
        assert_eq!(maturity(&s, 1), (16, 20));
        assert_eq!(maturity(&s, 2), (10, 26));
        assert_eq!(maturity(&s, 3), (10, 20));
        let listed: Vec<(u64, u64, u64)> = s
            .iter()
            .map(|(id, n)| {
                (
                    id,
                    n.maturity_e8s_equivalent,
                    n.staked_maturity_e8s_equivalent,
                )
            })
            .collect();
        assert_eq!(listed, vec![(1, 16, 20), (2, 10, 26), (3, 10, 20)]);
        let from_two: Vec<u64> = s
            .iter_from(2)
            .map(|(_, n)| n.staked_maturity_e8s_equivalent)
            .collect();
        assert_eq!(from_two, vec![26, 20]);
        // A write folds the credit in: it is not added twice.
        s.update(2, |n| n.auto_stake_maturity = false).unwrap();
        assert_eq!(maturity(&s, 2), (10, 26));
        let n = s.get(2).unwrap();
        s.credit(&[(&n, 4)]);
        assert_eq!(maturity(&s, 2), (14, 26));
        assert_eq!(s.remove(1).unwrap().maturity_e8s_equivalent, 16);
        assert_eq!(
            s.credited.get(1),
            None,
            "the removed neuron's credit is gone"
        );
        assert_eq!(s.credited.get(2), Some(4));
    }

    #[test]
    fn a_write_keeps_a_credit_the_neuron_still_holds_and_folds_any_other() {
        let mut s = store_of(&[(1, false, LOCKED), (2, true, LOCKED)]);
        let (one, two) = (s.get(1).unwrap(), s.get(2).unwrap());
        s.credit(&[(&one, 7), (&two, 7)]);
        // The maturity stays: the record is written without the credit.
        s.update(1, |n| n.cached_neuron_stake_e8s = 99).unwrap();
        assert_eq!(maturity(&s, 1), (17, 20));
        assert_eq!(s.credited.get(1), Some(7));
        // Less maturity than credited left: folded.
        s.update(1, |n| n.maturity_e8s_equivalent = 3).unwrap();
        assert_eq!(maturity(&s, 1), (3, 20));
        assert_eq!(s.credited.get(1), None);
        // Dissolving while auto-staking: its staked maturity must be in the
        // record the unstake index reads.
        s.update(2, |n| {
            n.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(9)
        })
        .unwrap();
        assert_eq!(s.credited.get(2), None);
        assert_eq!(
            s.neurons.get(&2).unwrap().staked_maturity_e8s_equivalent,
            27
        );
        assert_eq!(s.ready_to_unstake(9, 5), vec![2]);
    }

    #[test]
    fn only_a_neuron_whose_unstake_entry_ignores_its_maturity_is_credited() {
        let dissolving = DissolveState::WhenDissolvedTimestampSeconds(5);
        let dissolved = DissolveState::DissolveDelaySeconds(0);
        let mut s = store_of(&[
            (1, false, dissolving),
            (2, true, LOCKED),
            (3, true, dissolving),
            (4, true, dissolved),
            (5, false, LOCKED),
        ]);
        // Merged away: it holds nothing, and the index lists it so.
        s.update(5, |n| {
            n.cached_neuron_stake_e8s = 0;
            n.maturity_e8s_equivalent = 0;
            n.staked_maturity_e8s_equivalent = 0;
        })
        .unwrap();
        let can = |id| can_credit(&s.get(id).unwrap());
        assert_eq!(
            (can(1), can(2), can(3), can(4), can(5)),
            (true, true, false, false, false)
        );
    }

    #[test]
    #[should_panic(expected = "a credit its unstake entry knows of")]
    fn a_dissolving_auto_staking_neuron_is_not_credited() {
        let mut s = store_of(&[(1, true, DissolveState::WhenDissolvedTimestampSeconds(5))]);
        let n = s.get(1).unwrap();
        s.credit(&[(&n, 1)]);
    }
}
