//! The Neurons' Fund's part in the sale as NNS governance settled it: its
//! neurons and their final amounts, kept once settled (stable memory 7).

use canister_common::Candid;
use ic_stable_structures::StableCell;
use nns_api::governance::sns::NeuronsFundNeuron;
use nns_api::swap::{CfNeuron, CfParticipant};

fn cell() -> StableCell<Candid<Option<Vec<NeuronsFundNeuron>>>, crate::VM> {
    StableCell::init(crate::memory(7), Candid(None))
}

/// The settled portions, once governance answered.
pub fn portions() -> Option<Vec<NeuronsFundNeuron>> {
    cell().get().0.clone()
}

pub fn keep(portions: Vec<NeuronsFundNeuron>) {
    cell().set(Candid(Some(portions)));
}

pub fn total(portions: &[NeuronsFundNeuron]) -> u64 {
    portions
        .iter()
        .filter_map(|p| p.amount_icp_e8s)
        .fold(0, u64::saturating_add)
}

/// The Fund's participants (its neurons' controllers), each with its
/// neurons, in order of first appearance.
pub fn participants(portions: &[NeuronsFundNeuron]) -> Vec<CfParticipant> {
    let mut participants: Vec<CfParticipant> = Vec::new();
    let mut place = std::collections::BTreeMap::new();
    for p in portions {
        let neuron = CfNeuron {
            has_created_neuron_recipes: Some(false),
            hotkeys: p.hotkeys.clone(),
            nns_neuron_id: p.nns_neuron_id.unwrap_or(0),
            amount_icp_e8s: p.amount_icp_e8s.unwrap_or(0),
        };
        let index = *place.entry(p.controller).or_insert_with(|| {
            participants.push(CfParticipant {
                controller: p.controller,
                hotkey_principal: p.controller.map(|c| c.to_text()).unwrap_or_default(),
                cf_neurons: Vec::new(),
            });
            participants.len() - 1
        });
        participants[index].cf_neurons.push(neuron);
    }
    participants
}

/// (participants, neurons) of the settled Fund participation.
pub fn count() -> (u64, u64) {
    let portions = portions().unwrap_or_default();
    (participants(&portions).len() as u64, portions.len() as u64)
}
