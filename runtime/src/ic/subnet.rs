//! The IC's topology as the runtime has it: subnets, each with its id, kind
//! and canister range, and the routing of a canister id to its subnet.
//!
//! The default topology is mainnet's in the parts that matter to the NNS:
//! the NNS subnet (system, its range holds every well-known NNS id), the
//! Internet Identity subnet (system, its range holds the cycles ledger's
//! id) and one application subnet, where canisters are created unless
//! asked otherwise, and which alone charges cycles.

use candid::Principal;
use std::ops::RangeInclusive;

/// What a subnet is for; the names are PocketIC's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubnetKind {
    /// The NNS subnet: system, charges nothing.
    Nns,
    /// The Internet Identity subnet: system, charges nothing.
    II,
    /// An application subnet: canisters pay for what they use.
    Application,
}

impl SubnetKind {
    pub fn is_system(self) -> bool {
        matches!(self, Self::Nns | Self::II)
    }
}

/// Canister indexes a subnet allocates from (the first 8 bytes of an
/// opaque canister id, big-endian), both ends included.
pub type IndexRange = RangeInclusive<u64>;

#[derive(Clone, Debug)]
pub struct Subnet {
    pub id: Principal,
    pub kind: SubnetKind,
    pub range: IndexRange,
    /// Where the search for a fresh canister id starts.
    next_index: u64,
}

impl Subnet {
    fn new(id: Principal, kind: SubnetKind, range: IndexRange) -> Self {
        Self {
            id,
            kind,
            next_index: *range.start(),
            range,
        }
    }

    /// The first and last canister ids of the range.
    pub fn canister_range(&self) -> (Principal, Principal) {
        (
            canister_id(*self.range.start()),
            canister_id(*self.range.end()),
        )
    }
}

/// The NNS subnet's id: as on mainnet (`tdb26-…` of mainnet's key), the
/// self-authenticating id of the root key, which is the NNS subnet's key;
/// clients rely on it to name the subnet of a certificate that carries no
/// delegation.
pub fn nns_subnet_id() -> Principal {
    Principal::self_authenticating(crate::certification::root_key_der())
}

/// The Internet Identity subnet's id on mainnet.
pub const II_SUBNET_ID: &str = "uzr34-akd3s-xrdag-3ql62-ocgoh-ld2ao-tamcv-54e7j-krwgb-2gm4z-oqe";

/// The NNS subnet's range on mainnet.
const NNS_RANGE: IndexRange = 0..=0xF_FFFF;
/// The application subnet's range: right above the NNS's, so that the
/// canisters the runtime creates keep the ids they always had.
const APPLICATION_RANGE: IndexRange = 0x10_0000..=0x1F_FFFF;
/// The Internet Identity subnet's range on mainnet.
const II_RANGE: IndexRange = 0x210_0000..=0x21F_FFFF;

/// The canister id of index `index`: 8 bytes and the opaque-id suffix 0x01 0x01.
pub fn canister_id(index: u64) -> Principal {
    let mut bytes = [0u8; 10];
    bytes[..8].copy_from_slice(&index.to_be_bytes());
    bytes[8..].copy_from_slice(&[1, 1]);
    Principal::from_slice(&bytes)
}

/// The index of an opaque canister id, `None` for other principals.
pub fn canister_index(id: &Principal) -> Option<u64> {
    let bytes = <[u8; 10]>::try_from(id.as_slice()).ok()?;
    (bytes[8..] == [1, 1]).then(|| u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")))
}

#[derive(Clone, Debug)]
pub struct Topology {
    subnets: Vec<Subnet>,
}

impl Default for Topology {
    fn default() -> Self {
        let text = |id| Principal::from_text(id).expect("a valid subnet id");
        Self {
            subnets: vec![
                Subnet::new(nns_subnet_id(), SubnetKind::Nns, NNS_RANGE),
                Subnet::new(
                    Principal::self_authenticating(b"ic-runtime application subnet 1"),
                    SubnetKind::Application,
                    APPLICATION_RANGE,
                ),
                Subnet::new(text(II_SUBNET_ID), SubnetKind::II, II_RANGE),
            ],
        }
    }
}

impl Topology {
    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    pub fn subnet(&self, id: &Principal) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.id == *id)
    }

    pub fn is_subnet_id(&self, id: &Principal) -> bool {
        self.subnet(id).is_some()
    }

    /// The subnet new canisters go to unless one is named.
    pub fn default_subnet(&self) -> &Subnet {
        self.of_kind(SubnetKind::Application)
            .expect("the topology has an application subnet")
    }

    pub fn of_kind(&self, kind: SubnetKind) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.kind == kind)
    }

    /// The subnet whose range holds `canister`. An id in no range (a
    /// canister created with a specified id outside every range) lives on
    /// the default subnet.
    pub fn subnet_of(&self, canister: &Principal) -> &Subnet {
        canister_index(canister)
            .and_then(|index| self.subnets.iter().find(|s| s.range.contains(&index)))
            .unwrap_or_else(|| self.default_subnet())
    }

    /// Where each subnet's search for a fresh id starts: a saved state
    /// keeps it, so that ids of deleted canisters are not given again.
    pub fn next_indexes(&self) -> Vec<(Principal, u64)> {
        self.subnets.iter().map(|s| (s.id, s.next_index)).collect()
    }

    pub fn set_next_index(&mut self, subnet: &Principal, next_index: u64) {
        if let Some(subnet) = self.subnets.iter_mut().find(|s| s.id == *subnet) {
            subnet.next_index = next_index.max(*subnet.range.start());
        }
    }

    /// A fresh id on `subnet` for which `taken` is false; `None` when the
    /// range is full.
    pub fn fresh_canister_id(
        &mut self,
        subnet: &Principal,
        taken: impl Fn(&Principal) -> bool,
    ) -> Option<Principal> {
        let subnet = self.subnets.iter_mut().find(|s| s.id == *subnet)?;
        while subnet.next_index <= *subnet.range.end() {
            let id = canister_id(subnet.next_index);
            subnet.next_index += 1;
            if !taken(&id) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ids_route_to_their_mainnet_subnets() {
        let topology = Topology::default();
        let kind = |text| {
            topology
                .subnet_of(&Principal::from_text(text).unwrap())
                .kind
        };
        // The ICP ledger, the CMC and governance are on the NNS subnet.
        for id in [
            "ryjl3-tyaaa-aaaaa-aaaba-cai",
            "rkp4c-7iaaa-aaaaa-aaaca-cai",
            "rrkah-fqaaa-aaaaa-aaaaq-cai",
        ] {
            assert_eq!(kind(id), SubnetKind::Nns, "{id}");
        }
        // The cycles ledger is on the Internet Identity subnet.
        assert_eq!(kind("um5iw-rqaaa-aaaaq-qaaba-cai"), SubnetKind::II);
        assert_eq!(kind("aaaaa-aa"), SubnetKind::Application);
        let nns = topology.of_kind(SubnetKind::Nns).unwrap();
        assert_eq!(nns.id, nns_subnet_id());
        assert_eq!(canister_index(&nns.canister_range().1), Some(0xF_FFFF));
    }

    #[test]
    fn fresh_ids_stay_in_their_subnets_range_and_skip_taken_ones() {
        let mut topology = Topology::default();
        let app = topology.default_subnet().id;
        let first = canister_id(0x10_0000);
        let id = topology.fresh_canister_id(&app, |id| *id == first).unwrap();
        assert_eq!(id, canister_id(0x10_0001));
        assert_eq!(topology.subnet_of(&id).id, app);
        let ii = topology.of_kind(SubnetKind::II).unwrap().id;
        let on_ii = topology.fresh_canister_id(&ii, |_| false).unwrap();
        assert_eq!(canister_index(&on_ii), Some(0x210_0000));
        assert!(
            topology.fresh_canister_id(&ii, |_| true).is_none(),
            "a full range"
        );
    }
}
