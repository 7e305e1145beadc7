//! Where the CMC creates canisters, as the real CMC decides it: the default
//! subnets (anyone), subnets authorized for particular principals (which
//! then use only those), and typed subnets chosen by a filter. Governance
//! alone changes the lists; a subnet has at most one type, and a typed
//! subnet is neither default nor authorized. The texts of the refusals are
//! the real CMC's.

use candid::{CandidType, Deserialize, Principal};
use nns_api::cmc::{
    ChangeSubnetTypeAssignmentArgs, PrincipalsAuthorizedToCreateCanistersToSubnetsResponse,
    SetAuthorizedSubnetworkListArgs, SubnetListWithType, SubnetSelection,
    SubnetTypesToSubnetsResponse, UpdateSubnetTypeArgs,
};
use std::collections::{BTreeMap, BTreeSet};

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Subnets {
    /// Whether governance ever set the default subnets (see
    /// [`Subnets::eligible_or_own`]).
    pub defaults_set: bool,
    pub default_subnets: Vec<Principal>,
    pub authorized: BTreeMap<Principal, Vec<Principal>>,
    pub types: BTreeMap<String, BTreeSet<Principal>>,
}

impl Subnets {
    fn type_of(&self, subnet: &Principal) -> Option<&String> {
        self.types
            .iter()
            .find(|(_, subnets)| subnets.contains(subnet))
            .map(|(name, _)| name)
    }

    fn is_public_or_authorized(&self, subnet: &Principal) -> bool {
        self.default_subnets.contains(subnet)
            || self.authorized.values().any(|list| list.contains(subnet))
    }

    /// `who = None` replaces the default subnets; `Some(p)` replaces p's
    /// list, and an empty list removes p's entry.
    pub fn set_authorized(&mut self, args: SetAuthorizedSubnetworkListArgs) -> Result<(), String> {
        let typed: Vec<&Principal> = args
            .subnets
            .iter()
            .filter(|s| self.type_of(s).is_some())
            .collect();
        if !typed.is_empty() {
            return Err(format!(
                "Subnets {typed:?} are already assigned to a type and cannot be authorized."
            ));
        }
        match args.who {
            None => {
                self.defaults_set = true;
                self.default_subnets = args.subnets;
            }
            Some(who) if args.subnets.is_empty() => {
                self.authorized.remove(&who);
            }
            Some(who) => {
                self.authorized.insert(who, args.subnets);
            }
        }
        Ok(())
    }

    pub fn update_type(&mut self, args: UpdateSubnetTypeArgs) -> Result<(), String> {
        match args {
            UpdateSubnetTypeArgs::Add(name) => {
                if self.types.contains_key(&name) {
                    return Err(format!("Cannot add duplicate subnet type {name}."));
                }
                self.types.insert(name, BTreeSet::new());
            }
            UpdateSubnetTypeArgs::Remove(name) => match self.types.get(&name) {
                None => {
                    return Err(format!(
                        "The subnet type provided {name} does not exist and cannot be removed."
                    ));
                }
                Some(subnets) if !subnets.is_empty() => {
                    return Err(format!(
                        "The subnet type provided {name} has the following assigned subnets \
                         {subnets:?} and cannot be removed."
                    ));
                }
                Some(_) => {
                    self.types.remove(&name);
                }
            },
        }
        Ok(())
    }

    pub fn change_assignment(
        &mut self,
        args: ChangeSubnetTypeAssignmentArgs,
    ) -> Result<(), String> {
        match args {
            ChangeSubnetTypeAssignmentArgs::Add(SubnetListWithType {
                subnets,
                subnet_type,
            }) => {
                let assigned: Vec<SubnetListWithType> = self
                    .types
                    .iter()
                    .filter_map(|(name, members)| {
                        let found: Vec<Principal> = subnets
                            .iter()
                            .filter(|s| members.contains(s))
                            .copied()
                            .collect();
                        (!found.is_empty()).then(|| SubnetListWithType {
                            subnets: found,
                            subnet_type: name.clone(),
                        })
                    })
                    .collect();
                if !assigned.is_empty() {
                    return Err(format!(
                        "Some of the provided subnets are already assigned to a type {assigned:?}."
                    ));
                }
                let authorized: Vec<&Principal> = subnets
                    .iter()
                    .filter(|s| self.is_public_or_authorized(s))
                    .collect();
                if !authorized.is_empty() {
                    return Err(format!(
                        "The provided subnets {authorized:?} are authorized for public access \
                         and cannot be assigned a type."
                    ));
                }
                let Some(members) = self.types.get_mut(&subnet_type) else {
                    return Err(missing_type(&subnet_type));
                };
                members.extend(subnets);
            }
            ChangeSubnetTypeAssignmentArgs::Remove(SubnetListWithType {
                subnets,
                subnet_type,
            }) => {
                let Some(members) = self.types.get_mut(&subnet_type) else {
                    return Err(missing_type(&subnet_type));
                };
                let not_assigned: Vec<Principal> = subnets
                    .iter()
                    .filter(|s| !members.contains(s))
                    .copied()
                    .collect();
                if !not_assigned.is_empty() {
                    let list = SubnetListWithType {
                        subnets: not_assigned,
                        subnet_type,
                    };
                    return Err(format!(
                        "The provided subnets are not assigned to a type {list:?}."
                    ));
                }
                for subnet in &subnets {
                    members.remove(subnet);
                }
            }
        }
        Ok(())
    }

    /// The subnets `controller` may create a canister on for `selection`,
    /// in the lists' order (the caller shuffles them).
    pub fn eligible(
        &self,
        controller: &Principal,
        selection: Option<&SubnetSelection>,
    ) -> Result<Vec<Principal>, String> {
        let own_or_default = || {
            self.authorized
                .get(controller)
                .unwrap_or(&self.default_subnets)
                .clone()
        };
        let subnets = match selection {
            None => own_or_default(),
            Some(SubnetSelection::Filter(filter)) => match &filter.subnet_type {
                None => own_or_default(),
                Some(name) => self
                    .types
                    .get(name)
                    .ok_or_else(|| format!("Provided subnet type {name} does not exist"))?
                    .iter()
                    .copied()
                    .collect(),
            },
            Some(SubnetSelection::Subnet { subnet }) => {
                let allowed = self.default_subnets.contains(subnet)
                    || self
                        .authorized
                        .get(controller)
                        .is_some_and(|list| list.contains(subnet))
                    || self.type_of(subnet).is_some();
                if !allowed {
                    return Err(format!(
                        "Subnet {subnet} does not exist or {controller} is not authorized to \
                         deploy to that subnet."
                    ));
                }
                vec![*subnet]
            }
        };
        if subnets.is_empty() {
            return Err("No subnets in which to create a canister.".into());
        }
        Ok(subnets)
    }

    /// As [`Self::eligible`], except that where the default subnets would
    /// be used and governance never set them (a fresh deployment), `own`
    /// (the CMC's own subnet's management canister) places the canister.
    pub fn eligible_or_own(
        &self,
        controller: &Principal,
        selection: Option<&SubnetSelection>,
        own: Principal,
    ) -> Result<Vec<Principal>, String> {
        let uses_defaults = !self.authorized.contains_key(controller)
            && match selection {
                None => true,
                Some(SubnetSelection::Filter(filter)) => filter.subnet_type.is_none(),
                Some(SubnetSelection::Subnet { .. }) => false,
            };
        if uses_defaults && !self.defaults_set {
            return Ok(vec![own]);
        }
        self.eligible(controller, selection)
    }

    pub fn types_to_subnets(&self) -> SubnetTypesToSubnetsResponse {
        SubnetTypesToSubnetsResponse {
            data: self
                .types
                .iter()
                .map(|(name, subnets)| (name.clone(), subnets.iter().copied().collect()))
                .collect(),
        }
    }

    pub fn authorized_lists(&self) -> PrincipalsAuthorizedToCreateCanistersToSubnetsResponse {
        PrincipalsAuthorizedToCreateCanistersToSubnetsResponse {
            data: self
                .authorized
                .iter()
                .map(|(who, subnets)| (*who, subnets.clone()))
                .collect(),
        }
    }
}

fn missing_type(name: &str) -> String {
    format!("Cannot add subnets to the subnet type {name} as this subnet type does not exist.")
}

/// The deprecated `subnet_type` and `subnet_selection` as one selection.
pub fn selection(
    subnet_type: Option<String>,
    subnet_selection: Option<SubnetSelection>,
) -> Result<Option<SubnetSelection>, String> {
    match (subnet_type, subnet_selection) {
        (Some(_), Some(_)) => {
            Err("Cannot specify subnet_type and subnet_selection at the same time.".into())
        }
        (Some(name), None) => Ok(Some(SubnetSelection::Filter(nns_api::cmc::SubnetFilter {
            subnet_type: Some(name),
        }))),
        (None, selection) => Ok(selection),
    }
}

/// `list` in an order drawn from `seed` (Fisher–Yates, 8 bytes of the seed
/// per draw, cycling): which subnet a canister lands on is not the
/// caller's to pick beyond the selection.
pub fn shuffle(list: &mut [Principal], seed: &[u8; 32]) {
    for i in (1..list.len()).rev() {
        let at = (i * 8) % 32;
        let draw =
            u64::from_le_bytes(seed[at..at + 8].try_into().expect("8 bytes")).rotate_left(i as u32);
        list.swap(i, (draw % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests;
