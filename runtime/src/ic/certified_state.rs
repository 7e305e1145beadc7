//! The certified state: each subnet's state tree as the IC certifies it at
//! the end of a round, and the certificates cut from it for `read_state`.
//!
//! A subnet's tree holds `/time`, `/subnet` (every subnet's public key and
//! canister ranges, its own nodes' keys), `/canister/<id>/…` of its own
//! canisters (certified data, module hash, controllers, metadata) and
//! `/request_status/<id>/…` of the ingress messages addressed to it, and
//! every subnet's `/canister_ranges/<subnet>/<shard>`. The
//! NNS subnet signs with the root key; every other subnet with a key of its
//! own, which a delegation certificate of the NNS vouches for.
//!
//! Trees are `ic_certification::NestedTree`s, which keep every node's hash,
//! so a round rehashes only what changed, and a subnet signs at most once
//! per round, when a certificate of that round is first asked for.

use crate::certification::{NodeKey, SubnetKey, encode_certificate, leb128};
use crate::error::RejectResponse;
use crate::ic::messages::Outcome;
use crate::ic::state::Canister;
use crate::ic::subnet::{SubnetKind, Topology};
use crate::module::Metadata;
use candid::Principal;
use ic_certification::{AsHashTree, Delegation, HashTree, NestedTree, merge_hash_trees};
use std::collections::{BTreeMap, BTreeSet};

type Tree = NestedTree<Vec<u8>, Vec<u8>>;

/// A path in the state tree: its labels.
pub type Path = Vec<Vec<u8>>;

/// How a delegation states the subnet's canister ranges, as the replica
/// does: `/api/v2` in `/subnet/<id>/canister_ranges`, the canister
/// endpoints of `/api/v3` and `/api/v4` in the sharded
/// `/canister_ranges/<id>/<shard>`, subnet endpoints not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RangesForm {
    SubnetSubtree,
    Sharded,
    None,
}

/// What the tree says of one canister; rewritten when it changes.
#[derive(Clone, PartialEq, Eq)]
struct CanisterEntry {
    certified_data: Vec<u8>,
    controllers: Vec<Principal>,
    module_hash: Option<[u8; 32]>,
    version: u64,
}

impl CanisterEntry {
    fn of(canister: &Canister) -> Self {
        Self {
            certified_data: canister.certified_data.clone(),
            controllers: canister.controllers().to_vec(),
            module_hash: canister.code.as_ref().map(|code| code.compiled.hash),
            version: canister.version,
        }
    }
}

/// An ingress message whose status the tree publishes.
struct Ingress {
    subnet: Principal,
    sender: Principal,
    receiver: Principal,
}

/// One subnet's keys and tree.
pub struct SubnetState {
    pub key: SubnetKey,
    pub node: NodeKey,
    tree: Tree,
    canisters: BTreeMap<Principal, CanisterEntry>,
    /// The signature of the tree as it is now, once asked for.
    signature: Option<[u8; 48]>,
    /// The delegations of this subnet signed by the root in its current
    /// round, once asked for.
    delegations: BTreeMap<RangesForm, Delegation>,
}

/// Every subnet's certified state, and the ingress messages it tracks.
pub struct CertifiedState {
    subnets: BTreeMap<Principal, SubnetState>,
    root: Principal,
    ingress: BTreeMap<Vec<u8>, Ingress>,
    /// Messages by expiry: past it, a message's answer is dropped (its
    /// status becomes `done`); one window later, it leaves the tree.
    by_expiry: BTreeSet<(u64, Vec<u8>)>,
    /// Messages whose status is `done`, by the time they leave the tree.
    done: BTreeSet<(u64, Vec<u8>)>,
}

/// How long an ingress message may be valid: `ingress_expiry` at most this
/// far ahead, as the IC allows (5 minutes and a little drift).
pub const MAX_INGRESS_TTL_NANOS: u64 = 5 * 60 * 1_000_000_000;

fn labels(path: &[&[u8]]) -> Path {
    path.iter().map(|label| label.to_vec()).collect()
}

/// A CBOR data item with the self-describing tag, as the state tree
/// encodes controllers.
fn self_describing_cbor(value: &impl serde::Serialize) -> Vec<u8> {
    let mut serializer = serde_cbor::Serializer::new(Vec::new());
    serializer
        .self_describe()
        .expect("writing to a vector cannot fail");
    value
        .serialize(&mut serializer)
        .expect("plain values encode");
    serializer.into_inner()
}

fn ranges_cbor(ranges: &[(Principal, Principal)]) -> Vec<u8> {
    serde_cbor::to_vec(&ranges).expect("principals encode")
}

impl CertifiedState {
    /// Keys derive from each subnet's id: a network restarted on the same
    /// topology keeps them.
    pub fn new(topology: &Topology, time: u64) -> Self {
        let mut subnets = BTreeMap::new();
        let root = topology
            .of_kind(SubnetKind::Nns)
            .expect("the topology has an NNS subnet")
            .id;
        for subnet in topology.subnets() {
            let key = if subnet.id == root {
                SubnetKey::derive(crate::certification::ROOT_KEY_SEED)
            } else {
                SubnetKey::derive(&[b"ic-runtime subnet key ", subnet.id.as_slice()].concat())
            };
            let node = NodeKey::derive(&[b"ic-runtime node key ", subnet.id.as_slice()].concat());
            subnets.insert(
                subnet.id,
                SubnetState {
                    key,
                    node,
                    tree: Tree::default(),
                    canisters: BTreeMap::new(),
                    signature: None,
                    delegations: BTreeMap::new(),
                },
            );
        }
        let mut state = Self {
            subnets,
            root,
            ingress: BTreeMap::new(),
            by_expiry: BTreeSet::new(),
            done: BTreeSet::new(),
        };
        state.write_topology(topology);
        state.set_time(time);
        state
    }

    pub fn root_subnet(&self) -> Principal {
        self.root
    }

    pub fn subnet(&self, id: &Principal) -> Option<&SubnetState> {
        self.subnets.get(id)
    }

    /// `/subnet/…` and `/canister_ranges/…` in every tree.
    fn write_topology(&mut self, topology: &Topology) {
        let keys: Vec<(Principal, Vec<u8>)> = self
            .subnets
            .iter()
            .map(|(id, s)| (*id, s.key.public_key_der().to_vec()))
            .collect();
        for (own_id, own) in &mut self.subnets {
            for subnet in topology.subnets() {
                let id = subnet.id.as_slice();
                let ranges = ranges_cbor(&[subnet.canister_range()]);
                let key = &keys.iter().find(|(k, _)| *k == subnet.id).expect("keyed").1;
                own.tree
                    .insert(&labels(&[b"subnet", id, b"public_key"]), key.clone());
                own.tree.insert(
                    &labels(&[b"subnet", id, b"canister_ranges"]),
                    ranges.clone(),
                );
                let kind: &[u8] = if subnet.kind.is_system() {
                    b"system"
                } else {
                    b"application"
                };
                own.tree
                    .insert(&labels(&[b"subnet", id, b"type"]), kind.to_vec());
                let shard = subnet.canister_range().0;
                own.tree
                    .insert(&labels(&[b"canister_ranges", id, shard.as_slice()]), ranges);
            }
            let node = own.node.node_id();
            own.tree.insert(
                &labels(&[
                    b"subnet",
                    own_id.as_slice(),
                    b"node",
                    node.as_slice(),
                    b"public_key",
                ]),
                own.node.public_key_der(),
            );
        }
    }

    fn set_time(&mut self, time: u64) {
        for subnet in self.subnets.values_mut() {
            subnet.tree.insert(&labels(&[b"time"]), leb128(time));
        }
    }

    /// Starts tracking the status of an ingress message addressed to
    /// `subnet`; it enters the tree at the end of the next round.
    pub fn track_ingress(
        &mut self,
        message_id: Vec<u8>,
        subnet: Principal,
        sender: Principal,
        receiver: Principal,
        expiry: u64,
    ) {
        self.by_expiry.insert((expiry, message_id.clone()));
        let ingress = Ingress {
            subnet,
            sender,
            receiver,
        };
        self.ingress.insert(message_id, ingress);
    }

    /// Whether a message with this id was accepted and has not expired.
    pub fn knows_ingress(&self, message_id: &[u8]) -> bool {
        self.ingress.contains_key(message_id)
    }

    /// The canister a tracked message was sent to.
    pub fn ingress_receiver(&self, message_id: &[u8]) -> Option<Principal> {
        self.ingress.get(message_id).map(|i| i.receiver)
    }

    /// The sender of a tracked message, which alone may read its status.
    pub fn ingress_sender(&self, message_id: &[u8]) -> Option<Principal> {
        self.ingress.get(message_id).map(|i| i.sender)
    }

    /// The tree as certified at the end of a round at `time`: the time,
    /// every changed canister, the status of `touched` messages; messages
    /// past their expiry turn `done` (their ids returned: the caller drops
    /// their answers), and leave the tree one window later.
    pub fn end_round<'a>(
        &mut self,
        time: u64,
        topology: &Topology,
        canisters: impl Iterator<Item = (&'a Principal, &'a Canister)>,
        touched: Vec<(Vec<u8>, Option<Outcome>)>,
        answered: impl Fn(&[u8]) -> bool,
    ) -> Vec<Vec<u8>> {
        self.set_time(time);
        self.write_canisters(topology, canisters);
        for (message_id, outcome) in touched {
            if let Some(ingress) = self.ingress.get(&message_id) {
                let subnet = self.subnets.get_mut(&ingress.subnet).expect("known subnet");
                write_status(&mut subnet.tree, &message_id, outcome.as_ref());
            }
        }
        let expired = self.expire(time, answered);
        // A new round: new signatures, and delegations with the root's new time.
        for subnet in self.subnets.values_mut() {
            subnet.signature = None;
            subnet.delegations.clear();
        }
        expired
    }

    fn write_canisters<'a>(
        &mut self,
        topology: &Topology,
        canisters: impl Iterator<Item = (&'a Principal, &'a Canister)>,
    ) {
        let mut present = BTreeSet::new();
        for (id, canister) in canisters {
            present.insert(*id);
            let subnet_id = topology.subnet_of(id).id;
            let subnet = self.subnets.get_mut(&subnet_id).expect("known subnet");
            let entry = CanisterEntry::of(canister);
            if subnet.canisters.get(id) == Some(&entry) {
                continue;
            }
            let metadata = canister.code.as_ref().map(|code| &code.compiled.metadata);
            write_canister(&mut subnet.tree, id, &entry, metadata);
            subnet.canisters.insert(*id, entry);
        }
        for subnet in self.subnets.values_mut() {
            let gone: Vec<Principal> = subnet
                .canisters
                .keys()
                .filter(|id| !present.contains(id))
                .copied()
                .collect();
            for id in gone {
                subnet.canisters.remove(&id);
                subnet.tree.delete(&labels(&[b"canister", id.as_slice()]));
            }
        }
    }

    fn expire(&mut self, time: u64, answered: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let mut expired = Vec::new();
        let mut still_running = Vec::new();
        while let Some((expiry, _)) = self.by_expiry.first() {
            if *expiry >= time {
                break;
            }
            let (expiry, message_id) = self.by_expiry.pop_first().expect("checked");
            // A message still being processed keeps its status until it is
            // answered: a status never goes back from `done`.
            if !answered(&message_id) {
                still_running.push(message_id);
                continue;
            }
            if let Some(ingress) = self.ingress.get(&message_id) {
                let subnet = self.subnets.get_mut(&ingress.subnet).expect("known subnet");
                let path = labels(&[b"request_status", &message_id]);
                subnet.tree.delete(&path);
                subnet.tree.insert(
                    &labels(&[b"request_status", &message_id, b"status"]),
                    b"done".to_vec(),
                );
                self.done.insert((
                    expiry.saturating_add(MAX_INGRESS_TTL_NANOS),
                    message_id.clone(),
                ));
                expired.push(message_id);
            }
        }
        for message_id in still_running {
            self.by_expiry.insert((time, message_id));
        }
        while let Some((until, _)) = self.done.first() {
            if *until >= time {
                break;
            }
            let (_, message_id) = self.done.pop_first().expect("checked");
            if let Some(ingress) = self.ingress.remove(&message_id) {
                let subnet = self.subnets.get_mut(&ingress.subnet).expect("known subnet");
                subnet
                    .tree
                    .delete(&labels(&[b"request_status", &message_id]));
            }
        }
        expired
    }

    /// Whether `path` names something this subnet's tree may hold.
    pub fn lookup(&self, subnet: &Principal, path: &[&[u8]]) -> Option<&Vec<u8>> {
        let path: Path = labels(path);
        self.subnets.get(subnet)?.tree.get(&path)
    }

    /// A certificate of `subnet`'s current tree pruned to `paths` (and
    /// `/time`), with the root's delegation unless `subnet` is the root.
    pub fn certificate(
        &mut self,
        subnet_id: &Principal,
        paths: &[Path],
        form: RangesForm,
    ) -> Vec<u8> {
        let root = self.root;
        let delegation = (*subnet_id != root).then(|| self.delegation(subnet_id, form));
        let subnet = self.subnets.get_mut(subnet_id).expect("a known subnet");
        let tree = witness(&subnet.tree, paths);
        let signature = *subnet
            .signature
            .get_or_insert_with(|| subnet.key.sign_state_root(&subnet.tree.root_hash()));
        encode_certificate(tree, signature, delegation)
    }

    /// The root's certificate that `subnet_id`'s key is the subnet's and
    /// which canisters it holds.
    fn delegation(&mut self, subnet_id: &Principal, form: RangesForm) -> Delegation {
        let root = self.root;
        if let Some(delegation) = self
            .subnets
            .get(subnet_id)
            .and_then(|s| s.delegations.get(&form))
        {
            return delegation.clone();
        }
        let id = subnet_id.as_slice();
        let mut paths = vec![labels(&[b"subnet", id, b"public_key"])];
        match form {
            RangesForm::SubnetSubtree => paths.push(labels(&[b"subnet", id, b"canister_ranges"])),
            RangesForm::Sharded => paths.push(labels(&[b"canister_ranges", id])),
            RangesForm::None => {}
        }
        let certificate = self.certificate(&root, &paths, form);
        let delegation = Delegation {
            subnet_id: id.to_vec(),
            certificate,
        };
        self.subnets
            .get_mut(subnet_id)
            .expect("a known subnet")
            .delegations
            .insert(form, delegation.clone());
        delegation
    }
}

/// The tree pruned to `paths` and `/time`: what lies under each path in
/// full, proofs of absence where nothing does.
fn witness(tree: &Tree, paths: &[Path]) -> HashTree {
    let time = tree.witness(&labels(&[b"time"]));
    paths
        .iter()
        .map(|path| tree.witness(path))
        .fold(time, merge_hash_trees)
}

fn write_canister(
    tree: &mut Tree,
    id: &Principal,
    entry: &CanisterEntry,
    metadata: Option<&BTreeMap<String, Metadata>>,
) {
    let id = id.as_slice();
    // The whole subtree is rewritten: metadata of an old module must go.
    tree.delete(&labels(&[b"canister", id]));
    tree.insert(
        &labels(&[b"canister", id, b"certified_data"]),
        entry.certified_data.clone(),
    );
    // Principals encode as CBOR byte strings (serde_cbor is not human-readable).
    tree.insert(
        &labels(&[b"canister", id, b"controllers"]),
        self_describing_cbor(&entry.controllers),
    );
    if let Some(hash) = entry.module_hash {
        tree.insert(&labels(&[b"canister", id, b"module_hash"]), hash.to_vec());
    }
    for (name, section) in metadata.into_iter().flatten() {
        tree.insert(
            &labels(&[b"canister", id, b"metadata", name.as_bytes()]),
            section.content.clone(),
        );
    }
}

/// `/request_status/<id>/…`: `processing` until answered, then `replied`
/// with the reply or `rejected` with the reject's code, message and error code.
fn write_status(tree: &mut Tree, message_id: &[u8], outcome: Option<&Outcome>) {
    let at = |field: &[u8]| labels(&[b"request_status", message_id, field]);
    tree.delete(&labels(&[b"request_status", message_id]));
    match outcome {
        None => tree.insert(&at(b"status"), b"processing".to_vec()),
        Some(Ok(reply)) => {
            tree.insert(&at(b"status"), b"replied".to_vec());
            tree.insert(&at(b"reply"), reply.clone());
        }
        Some(Err(RejectResponse {
            reject_code,
            reject_message,
            error_code,
            ..
        })) => {
            tree.insert(&at(b"status"), b"rejected".to_vec());
            tree.insert(&at(b"reject_code"), leb128(*reject_code as u64));
            tree.insert(&at(b"reject_message"), reject_message.as_bytes().to_vec());
            tree.insert(&at(b"error_code"), error_code.to_string().into_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ic::subnet::SubnetKind;
    use ic_certification::{Certificate, LookupResult};

    fn verify(certificate: &Certificate, key_der: &[u8]) {
        let message = crate::certification::with_domain_separator(
            "ic-state-root",
            &certificate.tree.digest(),
        );
        let key = &key_der[key_der.len() - 96..];
        ic_verify_bls_signature::verify_bls_signature(&certificate.signature, &message, key)
            .expect("the signature verifies");
    }

    #[test]
    fn certificates_are_pruned_signed_and_delegated_as_a_replica_does() {
        let topology = Topology::default();
        let mut state = CertifiedState::new(&topology, 1_000);
        let app = topology.of_kind(SubnetKind::Application).unwrap().id;
        let id = vec![7u8; 32];
        let sender = Principal::from_slice(&[9]);
        state.track_ingress(id.clone(), app, sender, Principal::anonymous(), 5_000);
        let touched = vec![(id.clone(), Some(Ok(b"DIDL\x00\x00".to_vec())))];
        state.end_round(2_000, &topology, std::iter::empty(), touched, |_| true);

        let path = vec![b"request_status".to_vec(), id.clone()];
        for form in [RangesForm::SubnetSubtree, RangesForm::Sharded] {
            let bytes = state.certificate(&app, std::slice::from_ref(&path), form);
            let certificate: Certificate = serde_cbor::from_slice(&bytes).unwrap();
            let reply = certificate
                .tree
                .lookup_path([b"request_status".as_slice(), &id, b"reply"]);
            assert_eq!(reply, LookupResult::Found(b"DIDL\x00\x00"));
            // Only what was asked, and the time: the canisters are pruned.
            assert!(matches!(
                certificate.tree.lookup_path([b"subnet".as_slice()]),
                LookupResult::Unknown
            ));
            // Signed by the application subnet's key, which the root vouches for.
            let delegation = certificate.delegation.clone().expect("a delegation");
            assert_eq!(delegation.subnet_id, app.as_slice());
            let vouching: Certificate = serde_cbor::from_slice(&delegation.certificate).unwrap();
            verify(&vouching, &crate::certification::root_key_der());
            let LookupResult::Found(key) =
                vouching
                    .tree
                    .lookup_path([b"subnet".as_slice(), app.as_slice(), b"public_key"])
            else {
                panic!("the delegation names the subnet's key")
            };
            verify(&certificate, key);
            let flat = vouching.tree.lookup_path([
                b"subnet".as_slice(),
                app.as_slice(),
                b"canister_ranges",
            ]);
            let sharded = vouching
                .tree
                .lookup_subtree([b"canister_ranges".as_slice(), app.as_slice()]);
            match form {
                RangesForm::SubnetSubtree => assert!(matches!(flat, LookupResult::Found(_))),
                _ => assert!(matches!(
                    sharded,
                    ic_certification::SubtreeLookupResult::Found(_)
                )),
            }
        }
        // The NNS subnet signs with the root key, without a delegation.
        let nns = state.root_subnet();
        let bytes = state.certificate(&nns, &[vec![b"time".to_vec()]], RangesForm::Sharded);
        let certificate: Certificate = serde_cbor::from_slice(&bytes).unwrap();
        assert!(certificate.delegation.is_none());
        verify(&certificate, &crate::certification::root_key_der());
    }

    #[test]
    fn a_status_turns_done_at_expiry_once_answered_and_leaves_later() {
        let topology = Topology::default();
        let mut state = CertifiedState::new(&topology, 0);
        let app = topology.of_kind(SubnetKind::Application).unwrap().id;
        let id = vec![1u8; 32];
        state.track_ingress(
            id.clone(),
            app,
            Principal::anonymous(),
            Principal::anonymous(),
            10,
        );
        let status = |state: &CertifiedState| {
            state
                .lookup(&app, &[b"request_status", &id, b"status"])
                .cloned()
        };
        // Still running past its expiry: it keeps its status.
        state.end_round(
            5,
            &topology,
            std::iter::empty(),
            vec![(id.clone(), None)],
            |_| true,
        );
        assert_eq!(status(&state).as_deref(), Some(&b"processing"[..]));
        assert!(
            state
                .end_round(20, &topology, std::iter::empty(), vec![], |_| false)
                .is_empty()
        );
        assert_eq!(status(&state).as_deref(), Some(&b"processing"[..]));
        // Answered: done at the next round, its answer dropped; gone a window later.
        let touched = vec![(id.clone(), Some(Ok(vec![1])))];
        let expired = state.end_round(30, &topology, std::iter::empty(), touched, |_| true);
        assert_eq!(expired, vec![id.clone()]);
        assert_eq!(status(&state).as_deref(), Some(&b"done"[..]));
        state.end_round(
            30 + MAX_INGRESS_TTL_NANOS + 1,
            &topology,
            std::iter::empty(),
            vec![],
            |_| true,
        );
        assert_eq!(status(&state), None);
        assert!(!state.knows_ingress(&id));
    }
}
