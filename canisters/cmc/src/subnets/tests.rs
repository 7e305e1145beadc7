use super::*;
use nns_api::cmc::SubnetFilter;

fn subnet(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x5b])
}

fn who(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x77, 1])
}

fn set(s: &mut Subnets, who: Option<Principal>, subnets: &[u8]) -> Result<(), String> {
    s.set_authorized(SetAuthorizedSubnetworkListArgs {
        who,
        subnets: subnets.iter().map(|n| subnet(*n)).collect(),
    })
}

fn typed(name: &str, subnets: &[u8]) -> SubnetListWithType {
    SubnetListWithType {
        subnets: subnets.iter().map(|n| subnet(*n)).collect(),
        subnet_type: name.into(),
    }
}

#[test]
fn defaults_for_everyone_and_an_authorized_list_replaces_them() {
    let mut s = Subnets::default();
    assert_eq!(
        s.eligible(&who(1), None),
        Err("No subnets in which to create a canister.".into())
    );
    set(&mut s, None, &[1, 2]).unwrap();
    set(&mut s, Some(who(1)), &[3]).unwrap();
    assert_eq!(s.eligible(&who(2), None), Ok(vec![subnet(1), subnet(2)]));
    assert_eq!(s.eligible(&who(1), None), Ok(vec![subnet(3)]));
    // A default subnet stays selectable by name for everyone.
    let pick = |n| SubnetSelection::Subnet { subnet: subnet(n) };
    assert_eq!(s.eligible(&who(1), Some(&pick(1))), Ok(vec![subnet(1)]));
    assert!(
        s.eligible(&who(2), Some(&pick(3)))
            .unwrap_err()
            .contains("not authorized")
    );
    // An empty list removes the entry: who(1) is back to the defaults.
    set(&mut s, Some(who(1)), &[]).unwrap();
    assert_eq!(s.eligible(&who(1), None), Ok(vec![subnet(1), subnet(2)]));
    assert_eq!(s.authorized_lists().data, vec![]);
}

#[test]
fn typed_subnets_are_chosen_by_filter_and_kept_apart() {
    let mut s = Subnets::default();
    s.update_type(UpdateSubnetTypeArgs::Add("fiduciary".into()))
        .unwrap();
    assert!(
        s.update_type(UpdateSubnetTypeArgs::Add("fiduciary".into()))
            .unwrap_err()
            .contains("duplicate")
    );
    set(&mut s, None, &[1]).unwrap();
    let add = |s: &mut Subnets, name: &str, subnets: &[u8]| {
        s.change_assignment(ChangeSubnetTypeAssignmentArgs::Add(typed(name, subnets)))
    };
    assert!(
        add(&mut s, "fiduciary", &[1])
            .unwrap_err()
            .contains("authorized for public access")
    );
    assert!(
        add(&mut s, "gpu", &[4])
            .unwrap_err()
            .contains("does not exist")
    );
    add(&mut s, "fiduciary", &[4]).unwrap();
    assert!(
        add(&mut s, "fiduciary", &[4])
            .unwrap_err()
            .contains("already assigned")
    );
    assert!(
        set(&mut s, None, &[4])
            .unwrap_err()
            .contains("already assigned to a type")
    );
    let filter = SubnetSelection::Filter(SubnetFilter {
        subnet_type: Some("fiduciary".into()),
    });
    assert_eq!(s.eligible(&who(1), Some(&filter)), Ok(vec![subnet(4)]));
    assert_eq!(
        s.types_to_subnets().data,
        vec![("fiduciary".to_string(), vec![subnet(4)])]
    );
    assert!(
        s.update_type(UpdateSubnetTypeArgs::Remove("fiduciary".into()))
            .unwrap_err()
            .contains("has the following assigned subnets")
    );
    let remove = ChangeSubnetTypeAssignmentArgs::Remove(typed("fiduciary", &[4, 5]));
    assert!(
        s.change_assignment(remove)
            .unwrap_err()
            .contains("not assigned")
    );
    s.change_assignment(ChangeSubnetTypeAssignmentArgs::Remove(typed(
        "fiduciary",
        &[4],
    )))
    .unwrap();
    s.update_type(UpdateSubnetTypeArgs::Remove("fiduciary".into()))
        .unwrap();
    assert!(s.types.is_empty());
}

#[test]
fn the_two_ways_to_name_a_type_exclude_each_other() {
    let filter = SubnetSelection::Filter(SubnetFilter { subnet_type: None });
    assert!(selection(Some("x".into()), Some(filter.clone())).is_err());
    assert_eq!(
        selection(Some("x".into()), None),
        Ok(Some(SubnetSelection::Filter(SubnetFilter {
            subnet_type: Some("x".into())
        })))
    );
    assert_eq!(selection(None, Some(filter.clone())), Ok(Some(filter)));
}

#[test]
fn shuffling_keeps_every_subnet_and_depends_on_the_seed() {
    let list: Vec<Principal> = (0..8).map(subnet).collect();
    let orders: BTreeSet<Vec<Principal>> = (0..32u8)
        .map(|n| {
            let mut shuffled = list.clone();
            shuffle(&mut shuffled, &[n.wrapping_mul(37); 32]);
            let mut sorted = shuffled.clone();
            sorted.sort();
            let mut expected = list.clone();
            expected.sort();
            assert_eq!(sorted, expected);
            shuffled
        })
        .collect();
    assert!(orders.len() > 8, "seeds give different orders");
}

#[test]
fn an_unconfigured_cmc_places_canisters_itself_but_checks_every_selection() {
    let own = Principal::management_canister();
    let mut s = Subnets::default();
    assert_eq!(s.eligible_or_own(&who(1), None, own), Ok(vec![own]));
    let unknown = SubnetSelection::Filter(SubnetFilter {
        subnet_type: Some("gpu".into()),
    });
    assert!(s.eligible_or_own(&who(1), Some(&unknown), own).is_err());
    let named = SubnetSelection::Subnet { subnet: subnet(1) };
    assert!(s.eligible_or_own(&who(1), Some(&named), own).is_err());
    // A type added does not end the fallback; defaults set do.
    s.update_type(UpdateSubnetTypeArgs::Add("gpu".into()))
        .unwrap();
    assert_eq!(s.eligible_or_own(&who(1), None, own), Ok(vec![own]));
    set(&mut s, None, &[2]).unwrap();
    assert_eq!(s.eligible_or_own(&who(1), None, own), Ok(vec![subnet(2)]));
    // Set to nothing on purpose: nowhere to create.
    set(&mut s, None, &[]).unwrap();
    assert!(s.eligible_or_own(&who(1), None, own).is_err());
}
