//! Neurons that exist from the start, as mainnet's did at genesis: given
//! in the init argument (the NNS's init payload carries them too), their
//! stakes already on the ledger at their subaccounts. They are inserted in
//! the init message, without the allowance for new neurons that claims
//! go through, and checked as strictly as commands would check them: a
//! neuron that is not valid makes the installation fail, naming it.
//! Maturity is not given (it would be minted when disbursed): genesis
//! neurons earn it like any other.

use crate::governance::{Governance, MAX_TOPIC};
use crate::neuron::{
    DissolveState, MAX_FOLLOWEES_PER_TOPIC, NOT_AGING, Neuron, VISIBILITY_PRIVATE,
    VISIBILITY_PUBLIC,
};
use candid::Principal;
use ic_stable_structures::Memory;
use nns_api::governance as api;
use std::collections::BTreeMap;

/// The stakes of all genesis neurons together at most: a quarter of what
/// 64 bits hold, so that the totals over neurons never overflow.
const MAX_TOTAL_STAKE_E8S: u64 = u64::MAX / 4;

/// Ids of genesis neurons at most: new neurons take ids after the largest,
/// so room is left for the maximum number of them.
const MAX_GENESIS_ID: u64 = u64::MAX - 2 * crate::limits::MAX_NUMBER_OF_NEURONS;

/// Inserts `neurons`, then indexes their following (a followee may come
/// later in the list). `max_dissolve_delay` is today's maximum. The init
/// message takes them through an [`Intake`] as they are decoded.
#[cfg(test)]
pub fn add_neurons<M: Memory>(
    g: &mut Governance<M>,
    neurons: Vec<api::Neuron>,
    max_dissolve_delay: u64,
    now: u64,
) -> Result<(), String> {
    let mut intake = Intake::new(max_dissolve_delay, now);
    for given in neurons {
        intake.take(g, given)?;
    }
    intake.finish(g)
}

/// Genesis neurons taken one at a time (the init argument's are inserted
/// as they are decoded: see `genesis_arg`), their following indexed once
/// all are in.
pub struct Intake {
    max_dissolve_delay: u64,
    now: u64,
    staked: u64,
    /// Followees are indexed once all neurons are in: kept here rather than
    /// read back (a read per follower costs a B-tree descent).
    following: Vec<(u64, BTreeMap<i32, Vec<u64>>)>,
}

impl Intake {
    /// `max_dissolve_delay` is today's maximum.
    pub fn new(max_dissolve_delay: u64, now: u64) -> Self {
        Self {
            max_dissolve_delay,
            now,
            staked: 0,
            following: Vec::new(),
        }
    }

    /// Checks and inserts one neuron.
    pub fn take<M: Memory>(
        &mut self,
        g: &mut Governance<M>,
        given: api::Neuron,
    ) -> Result<(), String> {
        let neuron = from_init(given, self.max_dissolve_delay, self.now)?;
        let id = neuron.id;
        // Every total over the neurons (metrics, rewards) stays in 64 bits.
        self.staked = self
            .staked
            .checked_add(neuron.cached_neuron_stake_e8s)
            .filter(|total| *total <= MAX_TOTAL_STAKE_E8S)
            .ok_or_else(|| {
                format!(
                    "genesis neuron {id}: the stakes add up to more than {MAX_TOTAL_STAKE_E8S} e8s"
                )
            })?;
        if !neuron.followees.is_empty() {
            self.following.push((id, neuron.followees.clone()));
        }
        g.insert_genesis_neuron(neuron)
            .map_err(|e| format!("genesis neuron {id}: {}", e.error_message))
    }

    /// Indexes the following of the neurons taken.
    pub fn finish<M: Memory>(self, g: &mut Governance<M>) -> Result<(), String> {
        // Most neurons follow the same few: each followee is looked up once.
        let mut found = std::collections::BTreeSet::new();
        for (id, followees) in self.following {
            g.index_genesis_following(id, &followees, &mut found)
                .map_err(|e| format!("genesis neuron {id}: {}", e.error_message))?;
        }
        Ok(())
    }
}

/// A neuron of the init argument as governance keeps it. The fields a
/// neuron gains by living (ballots, fees, disbursements in progress,
/// spawning) must be empty; times default to `now`.
fn from_init(n: api::Neuron, max_dissolve_delay: u64, now: u64) -> Result<Neuron, String> {
    let id = n.id.ok_or("a genesis neuron without an id")?.id;
    let refuse = |why: String| format!("genesis neuron {id}: {why}");
    if id == 0 || id > MAX_GENESIS_ID {
        return Err(refuse(format!("ids go from 1 to {MAX_GENESIS_ID}")));
    }
    let controller = n.controller.ok_or_else(|| refuse("no controller".into()))?;
    if controller == Principal::anonymous() {
        return Err(refuse(
            "the anonymous principal cannot control a neuron".into(),
        ));
    }
    let mut keys = n.hot_keys.clone();
    keys.sort();
    keys.dedup();
    if keys.len() != n.hot_keys.len()
        || keys.contains(&controller)
        || keys.contains(&Principal::anonymous())
    {
        return Err(refuse(
            "hot keys must be distinct, not the controller, not anonymous".into(),
        ));
    }
    let subaccount: [u8; 32] = n
        .account
        .as_slice()
        .try_into()
        .map_err(|_| refuse(format!("an account of {} bytes, not 32", n.account.len())))?;
    if subaccount == [0; 32] {
        return Err(refuse(
            "the zero subaccount is governance's minting account".into(),
        ));
    }
    // Maturity is earned, not given: it would be minted when disbursed.
    if n.maturity_e8s_equivalent != 0 || n.staked_maturity_e8s_equivalent.unwrap_or(0) != 0 {
        return Err(refuse("maturity is not given at genesis".into()));
    }
    if n.eight_year_gang_bonus_base_e8s.unwrap_or(0) != 0
        || n.neuron_type.is_some()
        || n.kyc_verified
        || n.not_for_profit
    {
        return Err(refuse(
            "an eight-year bonus, a neuron type, KYC or not-for-profit are not taken at genesis"
                .into(),
        ));
    }
    if n.neuron_fees_e8s != 0
        || n.spawn_at_timestamp_seconds.is_some()
        || n.maturity_disbursements_in_progress
            .as_ref()
            .is_some_and(|d| !d.is_empty())
        || !n.recent_ballots.is_empty()
        || n.known_neuron_data.is_some()
    {
        return Err(refuse(
            "fees, ballots, spawning, disbursements and known-neuron data are not given at genesis"
                .into(),
        ));
    }
    if n.hot_keys.len() > crate::neuron::MAX_HOT_KEYS {
        return Err(refuse(format!(
            "more than {} hot keys",
            crate::neuron::MAX_HOT_KEYS
        )));
    }
    let or_now = |t: u64| if t == 0 { now } else { t };
    let created = or_now(n.created_timestamp_seconds);
    let (dissolve_state, aging_since) = match n.dissolve_state {
        Some(api::DissolveState::DissolveDelaySeconds(d)) if d <= max_dissolve_delay => {
            // A locked neuron ages: "not aging" is for dissolving ones.
            let since = match n.aging_since_timestamp_seconds {
                NOT_AGING => now,
                t => or_now(t),
            };
            (DissolveState::DissolveDelaySeconds(d), since)
        }
        Some(api::DissolveState::DissolveDelaySeconds(d)) => {
            return Err(refuse(format!(
                "a dissolve delay of {d} s, above the maximum of {max_dissolve_delay} s"
            )));
        }
        Some(api::DissolveState::WhenDissolvedTimestampSeconds(t)) => {
            if t > now.saturating_add(max_dissolve_delay) {
                return Err(refuse(format!(
                    "dissolved at {t}, more than the maximum dissolve delay from now"
                )));
            }
            (DissolveState::WhenDissolvedTimestampSeconds(t), NOT_AGING)
        }
        None => return Err(refuse("no dissolve state".into())),
    };
    if aging_since != NOT_AGING && aging_since > now || created > now {
        return Err(refuse("created or aging since a time to come".into()));
    }
    let visibility = match n.visibility {
        None | Some(0) => VISIBILITY_PRIVATE,
        Some(v @ (VISIBILITY_PRIVATE | VISIBILITY_PUBLIC)) => v,
        Some(v) => return Err(refuse(format!("visibility {v}: 1 (private) or 2 (public)"))),
    };
    let mut followees = BTreeMap::new();
    for (topic, list) in n.followees {
        if !(0..=MAX_TOPIC).contains(&topic) {
            return Err(refuse(format!("no topic {topic}")));
        }
        let list: Vec<u64> = list.followees.iter().map(|f| f.id).collect();
        if list.len() > MAX_FOLLOWEES_PER_TOPIC || list.contains(&id) {
            return Err(refuse(format!(
                "topic {topic}: at most {MAX_FOLLOWEES_PER_TOPIC} followees, not itself"
            )));
        }
        if !list.is_empty() && followees.insert(topic, list).is_some() {
            return Err(refuse(format!("topic {topic} is listed twice")));
        }
    }
    if n.joined_community_fund_timestamp_seconds
        .is_some_and(|t| t > now)
    {
        return Err(refuse("joined the Neurons' Fund at a time to come".into()));
    }
    let mut neuron = Neuron::new(id, controller, subaccount, n.cached_neuron_stake_e8s, now);
    neuron.hot_keys = n.hot_keys;
    neuron.created_timestamp_seconds = created;
    neuron.aging_since_timestamp_seconds = aging_since;
    neuron.dissolve_state = dissolve_state;
    neuron.auto_stake_maturity = n.auto_stake_maturity.unwrap_or(false);
    neuron.followees = followees;
    neuron.voting_power_refreshed_timestamp_seconds = n
        .voting_power_refreshed_timestamp_seconds
        .unwrap_or(now)
        .min(now);
    neuron.visibility = visibility;
    neuron.joined_community_fund_timestamp_seconds = n.joined_community_fund_timestamp_seconds;
    Ok(neuron)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::test_owner;
    use candid::Principal;

    const NOW: u64 = 1_800_000_000;
    const YEAR: u64 = crate::neuron::ONE_YEAR_SECONDS;

    fn given(id: u64, following: &[u64]) -> api::Neuron {
        let mut account = vec![0; 32];
        account[..8].copy_from_slice(&id.to_be_bytes());
        api::Neuron {
            id: Some(api::NeuronId { id }),
            controller: Some(test_owner(id)),
            hot_keys: vec![],
            account: account.into(),
            cached_neuron_stake_e8s: id.saturating_mul(100_000_000),
            neuron_fees_e8s: 0,
            created_timestamp_seconds: 0,
            aging_since_timestamp_seconds: NOW - YEAR,
            dissolve_state: Some(api::DissolveState::DissolveDelaySeconds(YEAR)),
            maturity_e8s_equivalent: 0,
            staked_maturity_e8s_equivalent: None,
            auto_stake_maturity: Some(id.is_multiple_of(2)),
            followees: if following.is_empty() {
                vec![]
            } else {
                vec![(
                    0,
                    api::Followees {
                        followees: following.iter().map(|&id| api::NeuronId { id }).collect(),
                    },
                )]
            },
            recent_ballots: vec![],
            kyc_verified: false,
            not_for_profit: false,
            neuron_type: None,
            spawn_at_timestamp_seconds: None,
            voting_power_refreshed_timestamp_seconds: None,
            deciding_voting_power: None,
            potential_voting_power: None,
            maturity_disbursements_in_progress: None,
            eight_year_gang_bonus_base_e8s: None,
            visibility: Some(VISIBILITY_PUBLIC),
            joined_community_fund_timestamp_seconds: None,
            known_neuron_data: None,
        }
    }

    #[test]
    fn genesis_neurons_are_kept_as_given_and_their_following_is_indexed() {
        let mut g = Governance::for_tests();
        // Neuron 3 follows neuron 9, which comes later in the list.
        let neurons = vec![given(3, &[9]), given(9, &[]), given(5, &[9, 3])];
        add_neurons(&mut g, neurons, 2 * YEAR, NOW).unwrap();
        let three = g.neurons().get(3).unwrap();
        assert_eq!(three.controller, test_owner(3));
        assert_eq!(three.cached_neuron_stake_e8s, 300_000_000);
        assert_eq!(three.created_timestamp_seconds, NOW, "0 is now");
        assert_eq!(three.aging_since_timestamp_seconds, NOW - YEAR);
        assert!(!three.auto_stake_maturity);
        assert!(!g.neurons().get(9).unwrap().auto_stake_maturity, "9 is odd");
        assert_eq!(g.neurons().id_by_subaccount(&three.subaccount), Some(3));
        assert_eq!(g.proposals.followers_of(9, 0), vec![3, 5]);
        assert_eq!(g.proposals.followers_of(3, 0), vec![5]);
        assert_eq!(
            g.next_neuron_id_for_tests(),
            10,
            "new ids come after the largest"
        );
    }

    #[test]
    fn a_genesis_neuron_that_is_not_valid_is_refused_by_name() {
        let cases: Vec<(Vec<api::Neuron>, &str)> = vec![
            (vec![given(1, &[]), given(1, &[])], "neuron 1 exists"),
            (
                vec![given(1, &[]), {
                    let mut n = given(2, &[]);
                    n.account = given(1, &[]).account;
                    n
                }],
                "genesis neuron 2",
            ),
            (vec![given(1, &[4])], "no such neuron"),
            (vec![given(1, &[1])], "not itself"),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.dissolve_state = Some(api::DissolveState::DissolveDelaySeconds(3 * YEAR));
                    n
                }],
                "above the maximum",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.account = vec![1; 31].into();
                    n
                }],
                "31 bytes",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.neuron_fees_e8s = 1;
                    n
                }],
                "not given at genesis",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.controller = None;
                    n
                }],
                "no controller",
            ),
            (vec![given(0, &[])], "ids go from 1"),
            (vec![given(u64::MAX - 1, &[])], "ids go from 1"),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.maturity_e8s_equivalent = 1;
                    n
                }],
                "maturity is not given",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.controller = Some(Principal::anonymous());
                    n
                }],
                "anonymous principal",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.hot_keys = vec![test_owner(1)];
                    n
                }],
                "not the controller",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.account = vec![0; 32].into();
                    n
                }],
                "minting account",
            ),
            (
                vec![given(1, &[]), {
                    let mut n = given(2, &[]);
                    n.cached_neuron_stake_e8s = u64::MAX / 4;
                    n
                }],
                "add up to more",
            ),
            (
                vec![{
                    let mut n = given(1, &[]);
                    n.aging_since_timestamp_seconds = NOW + 1;
                    n
                }],
                "a time to come",
            ),
        ];
        for (neurons, why) in cases {
            let mut g = Governance::for_tests();
            let e = add_neurons(&mut g, neurons.clone(), 2 * YEAR, NOW).unwrap_err();
            assert!(e.contains(why), "{neurons:?}: {e}");
        }
    }

    #[test]
    fn genesis_stops_at_the_maximum_number_of_neurons() {
        let mut g = Governance::for_tests();
        g.set_max_neurons_for_tests(2);
        let e = add_neurons(
            &mut g,
            (1..=3).map(|id| given(id, &[])).collect(),
            YEAR,
            NOW,
        )
        .unwrap_err();
        assert!(e.contains("maximum number of neurons"), "{e}");
    }

    #[test]
    fn a_dissolving_genesis_neuron_does_not_age() {
        let mut g = Governance::for_tests();
        let mut n = given(1, &[]);
        n.dissolve_state = Some(api::DissolveState::WhenDissolvedTimestampSeconds(NOW + 100));
        add_neurons(&mut g, vec![n], YEAR, NOW).unwrap();
        assert_eq!(
            g.neurons().get(1).unwrap().aging_since_timestamp_seconds,
            NOT_AGING
        );
    }
}
