//! Neurons in stable memory, by id, with indexes by staking subaccount and
//! by principal (controller or hot key), so that claiming, refreshing and
//! `list_neurons` never scan all neurons.

use crate::neuron::Neuron;
use candid::Principal;
use ic_stable_structures::{Memory, StableBTreeMap};

/// A principal (at most 29 bytes), length-prefixed to a fixed 30 bytes,
/// then a neuron id, big-endian so that a principal's neurons sort by id.
type PrincipalKey = [u8; 38];

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
}

impl<M: Memory> NeuronStore<M> {
    pub fn init(neurons: M, by_subaccount: M, by_principal: M) -> Self {
        Self {
            neurons: StableBTreeMap::init(neurons),
            by_subaccount: StableBTreeMap::init(by_subaccount),
            by_principal: StableBTreeMap::init(by_principal),
        }
    }

    pub fn len(&self) -> u64 {
        self.neurons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.neurons.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<Neuron> {
        self.neurons.get(&id)
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
        let holds = !neuron.is_empty();
        for principal in principals(&neuron) {
            self.by_principal
                .insert(principal_key(&principal, neuron.id), holds);
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
        let mut neuron = self.get(id).ok_or(StoreError::NoSuchNeuron(id))?;
        let (before, held) = (principals(&neuron), !neuron.is_empty());
        let result = f(&mut neuron);
        assert_eq!(neuron.id, id, "a neuron's id never changes");
        let (after, holds) = (principals(&neuron), !neuron.is_empty());
        for gone in before.iter().filter(|p| !after.contains(p)) {
            self.by_principal.remove(&principal_key(gone, id));
        }
        for p in after
            .iter()
            .filter(|p| held != holds || !before.contains(p))
        {
            self.by_principal.insert(principal_key(p, id), holds);
        }
        self.neurons.insert(id, neuron);
        Ok(result)
    }

    pub fn remove(&mut self, id: u64) -> Result<Neuron, StoreError> {
        let neuron = self
            .neurons
            .remove(&id)
            .ok_or(StoreError::NoSuchNeuron(id))?;
        self.by_subaccount.remove(&neuron.subaccount);
        for principal in principals(&neuron) {
            self.by_principal.remove(&principal_key(&principal, id));
        }
        Ok(neuron)
    }

    /// Neuron ids from `first` on, in order.
    pub fn ids_from(&self, first: u64) -> impl Iterator<Item = u64> + '_ {
        self.neurons.keys_range(first..)
    }

    /// All neurons, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Neuron)> + '_ {
        self.neurons.iter().map(|e| (*e.key(), e.value()))
    }

    /// Ids of the neurons `principal` controls or holds a hot key of, in
    /// order, starting after `after`, at most `limit`.
    pub fn ids_of(&self, principal: &Principal, after: Option<u64>, limit: usize) -> Vec<u64> {
        self.listed_under(principal, after)
            .take(limit)
            .map(|(id, _)| id)
            .collect()
    }

    /// All ids listed under `principal`, without the empty neurons unless
    /// `include_empty`; reads only the index.
    pub fn all_ids_of(&self, principal: &Principal, include_empty: bool) -> Vec<u64> {
        self.listed_under(principal, None)
            .filter(|&(_, holds)| include_empty || holds)
            .map(|(id, _)| id)
            .collect()
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
        NeuronStore::init(
            VectorMemory::default(),
            VectorMemory::default(),
            VectorMemory::default(),
        )
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
        assert_eq!(s.all_ids_of(&p(1), false), vec![1]);
        assert_eq!(s.all_ids_of(&p(1), true), vec![1, 2]);
        s.update(1, |n| n.cached_neuron_stake_e8s = 0).unwrap();
        s.update(2, |n| n.maturity_e8s_equivalent = 5).unwrap();
        assert_eq!(s.all_ids_of(&p(1), false), vec![2]);
        assert!(s.all_ids_of(&p(2), false).is_empty(), "for hot keys too");
        assert_eq!(s.all_ids_of(&p(2), true), vec![1]);
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
}
