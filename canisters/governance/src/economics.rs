//! The staking rules in force, resolved once from the network economics:
//! every field left unset takes mainnet's value, so a network installed
//! before a field existed runs by today's NNS rules.

use crate::neuron::ONE_YEAR_SECONDS;
use nns_api::governance::{NetworkEconomics, StakingEconomics, VotingPowerEconomics};

/// Six months, as the NNS: a constant there, not a network-economics field.
pub const MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS: u64 = ONE_YEAR_SECONDS / 2;
/// Bounds a proposal may set (they keep the voting-power arithmetic exact
/// in 128 bits: see [`crate::neuron::Neuron::potential_voting_power`]).
pub const MAX_MAX_DISSOLVE_DELAY_SECONDS: u64 = 8 * ONE_YEAR_SECONDS;
pub const MAX_DISSOLVE_DELAY_BONUS_PERCENTAGE: u64 = 400;
pub const MAX_EIGHT_YEAR_GANG_BONUS_PERCENTAGE: u64 = 100;

/// What decides a neuron's voting power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VotingPowerRules {
    pub max_dissolve_delay_seconds: u64,
    pub max_dissolve_delay_bonus_percentage: u64,
    pub eight_year_gang_bonus_percentage: u64,
    pub minimum_dissolve_delay_to_vote_seconds: u64,
    pub start_reducing_voting_power_after_seconds: u64,
    pub clear_following_after_seconds: u64,
}

impl VotingPowerRules {
    pub fn of(economics: &NetworkEconomics) -> Self {
        let staking = staking(economics);
        let mainnet = StakingEconomics::MAINNET;
        let power = voting_power(economics);
        let power_mainnet = VotingPowerEconomics::default();
        let pick = |set: Option<u64>, default: Option<u64>| {
            set.or(default).expect("mainnet sets every field")
        };
        Self {
            max_dissolve_delay_seconds: pick(
                staking.max_dissolve_delay_seconds,
                mainnet.max_dissolve_delay_seconds,
            ),
            max_dissolve_delay_bonus_percentage: pick(
                staking.max_dissolve_delay_bonus_percentage,
                mainnet.max_dissolve_delay_bonus_percentage,
            ),
            eight_year_gang_bonus_percentage: pick(
                staking.eight_year_gang_bonus_percentage,
                mainnet.eight_year_gang_bonus_percentage,
            ),
            minimum_dissolve_delay_to_vote_seconds: pick(
                power.neuron_minimum_dissolve_delay_to_vote_seconds,
                power_mainnet.neuron_minimum_dissolve_delay_to_vote_seconds,
            ),
            start_reducing_voting_power_after_seconds: pick(
                power.start_reducing_voting_power_after_seconds,
                power_mainnet.start_reducing_voting_power_after_seconds,
            ),
            clear_following_after_seconds: pick(
                power.clear_following_after_seconds,
                power_mainnet.clear_following_after_seconds,
            ),
        }
    }

    pub fn mainnet() -> Self {
        Self::of(&NetworkEconomics::default())
    }

    /// How long a neuron may go without refreshing before its following
    /// is cleared.
    pub fn following_expires_after_seconds(&self) -> u64 {
        self.start_reducing_voting_power_after_seconds
            .saturating_add(self.clear_following_after_seconds)
    }
}

/// The share of the daily reward pool paid out, in basis points.
pub fn voting_rewards_adjustment_basis_points(economics: &NetworkEconomics) -> u64 {
    staking(economics)
        .voting_rewards_adjustment_basis_points
        .or(StakingEconomics::MAINNET.voting_rewards_adjustment_basis_points)
        .expect("mainnet sets it")
}

fn staking(economics: &NetworkEconomics) -> StakingEconomics {
    economics.staking_economics.unwrap_or_default()
}

fn voting_power(economics: &NetworkEconomics) -> VotingPowerEconomics {
    economics
        .voting_power_economics
        .unwrap_or(VotingPowerEconomics {
            start_reducing_voting_power_after_seconds: None,
            clear_following_after_seconds: None,
            neuron_minimum_dissolve_delay_to_vote_seconds: None,
        })
}

/// `update` over `current`, field by field: what `update` leaves unset
/// (0, or null) keeps its current value, as `ManageNetworkEconomics` does
/// on the NNS.
pub fn merge(current: &NetworkEconomics, update: &NetworkEconomics) -> NetworkEconomics {
    let nonzero = |new: u64, old: u64| if new == 0 { old } else { new };
    let current_power = voting_power(current);
    let update_power = voting_power(update);
    let current_staking = staking(current);
    let update_staking = staking(update);
    NetworkEconomics {
        reject_cost_e8s: nonzero(update.reject_cost_e8s, current.reject_cost_e8s),
        neuron_minimum_stake_e8s: nonzero(
            update.neuron_minimum_stake_e8s,
            current.neuron_minimum_stake_e8s,
        ),
        neuron_management_fee_per_proposal_e8s: nonzero(
            update.neuron_management_fee_per_proposal_e8s,
            current.neuron_management_fee_per_proposal_e8s,
        ),
        minimum_icp_xdr_rate: nonzero(update.minimum_icp_xdr_rate, current.minimum_icp_xdr_rate),
        neuron_spawn_dissolve_delay_seconds: nonzero(
            update.neuron_spawn_dissolve_delay_seconds,
            current.neuron_spawn_dissolve_delay_seconds,
        ),
        maximum_node_provider_rewards_e8s: nonzero(
            update.maximum_node_provider_rewards_e8s,
            current.maximum_node_provider_rewards_e8s,
        ),
        transaction_fee_e8s: nonzero(update.transaction_fee_e8s, current.transaction_fee_e8s),
        max_proposals_to_keep_per_topic: if update.max_proposals_to_keep_per_topic == 0 {
            current.max_proposals_to_keep_per_topic
        } else {
            update.max_proposals_to_keep_per_topic
        },
        voting_power_economics: Some(VotingPowerEconomics {
            start_reducing_voting_power_after_seconds: update_power
                .start_reducing_voting_power_after_seconds
                .or(current_power.start_reducing_voting_power_after_seconds),
            clear_following_after_seconds: update_power
                .clear_following_after_seconds
                .or(current_power.clear_following_after_seconds),
            neuron_minimum_dissolve_delay_to_vote_seconds: update_power
                .neuron_minimum_dissolve_delay_to_vote_seconds
                .or(current_power.neuron_minimum_dissolve_delay_to_vote_seconds),
        }),
        staking_economics: Some(StakingEconomics {
            max_dissolve_delay_seconds: update_staking
                .max_dissolve_delay_seconds
                .or(current_staking.max_dissolve_delay_seconds),
            max_dissolve_delay_bonus_percentage: update_staking
                .max_dissolve_delay_bonus_percentage
                .or(current_staking.max_dissolve_delay_bonus_percentage),
            eight_year_gang_bonus_percentage: update_staking
                .eight_year_gang_bonus_percentage
                .or(current_staking.eight_year_gang_bonus_percentage),
            voting_rewards_adjustment_basis_points: update_staking
                .voting_rewards_adjustment_basis_points
                .or(current_staking.voting_rewards_adjustment_basis_points),
        }),
    }
}

/// Checks economics as they would be after a change: the NNS's own checks
/// and the bounds of this canister's additions.
pub fn validate(e: &NetworkEconomics) -> Result<(), String> {
    validate_with_vote_floor(e, MINIMUM_DISSOLVE_DELAY_TO_VOTE_FLOOR_SECONDS)
}

/// Checks an installation's economics: as [`validate`], but a test network
/// may let neurons vote from any delay up to six months (a claimed neuron's
/// week, say).
pub fn validate_install(e: &NetworkEconomics) -> Result<(), String> {
    validate_with_vote_floor(e, 0)
}

/// The least minimum dissolve delay to vote a proposal may set: two weeks.
const MINIMUM_DISSOLVE_DELAY_TO_VOTE_FLOOR_SECONDS: u64 = 14 * 24 * 60 * 60;

fn validate_with_vote_floor(e: &NetworkEconomics, vote_floor: u64) -> Result<(), String> {
    if e.neuron_minimum_stake_e8s <= e.transaction_fee_e8s {
        return Err("neuron_minimum_stake_e8s must exceed transaction_fee_e8s".into());
    }
    if e.minimum_icp_xdr_rate == 0 {
        return Err("minimum_icp_xdr_rate must be positive".into());
    }
    let rules = VotingPowerRules::of(e);
    let vote = rules.minimum_dissolve_delay_to_vote_seconds;
    // As the NNS: at least two weeks, at most the delay needed to propose.
    if !(vote_floor..=MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS).contains(&vote) {
        return Err(format!(
            "neuron_minimum_dissolve_delay_to_vote_seconds must be between {vote_floor} and {MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS} (six months); it is {vote}"
        ));
    }
    if rules.start_reducing_voting_power_after_seconds == 0 {
        return Err("start_reducing_voting_power_after_seconds must be positive".into());
    }
    if rules.clear_following_after_seconds == 0 {
        return Err("clear_following_after_seconds must be positive".into());
    }
    let max_delay = rules.max_dissolve_delay_seconds;
    if !(MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS..=MAX_MAX_DISSOLVE_DELAY_SECONDS)
        .contains(&max_delay)
    {
        return Err(format!(
            "max_dissolve_delay_seconds must be between six months and eight years; it is {max_delay}"
        ));
    }
    if rules.max_dissolve_delay_bonus_percentage > MAX_DISSOLVE_DELAY_BONUS_PERCENTAGE {
        return Err(format!(
            "max_dissolve_delay_bonus_percentage may be at most {MAX_DISSOLVE_DELAY_BONUS_PERCENTAGE}"
        ));
    }
    if rules.eight_year_gang_bonus_percentage > MAX_EIGHT_YEAR_GANG_BONUS_PERCENTAGE {
        return Err(format!(
            "eight_year_gang_bonus_percentage may be at most {MAX_EIGHT_YEAR_GANG_BONUS_PERCENTAGE}"
        ));
    }
    if voting_rewards_adjustment_basis_points(e) > 10_000 {
        return Err("voting_rewards_adjustment_basis_points may be at most 10 000".into());
    }
    Ok(())
}

/// What a proposal may not change: the maximum dissolve delay only goes
/// up (lowering it would cut neurons' delays, which only the upgrade to
/// today's rules did, once).
pub fn validate_change(current: &NetworkEconomics, new: &NetworkEconomics) -> Result<(), String> {
    let (now, then) = (
        VotingPowerRules::of(current).max_dissolve_delay_seconds,
        VotingPowerRules::of(new).max_dissolve_delay_seconds,
    );
    if then < now {
        return Err(format!(
            "max_dissolve_delay_seconds may only be raised (it is {now}, asked {then})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_mean_mainnet_today() {
        let rules = VotingPowerRules::of(&NetworkEconomics {
            voting_power_economics: None,
            staking_economics: None,
            ..NetworkEconomics::default()
        });
        assert_eq!(rules, VotingPowerRules::mainnet());
        assert_eq!(rules.max_dissolve_delay_seconds, 63_115_200);
        assert_eq!(rules.max_dissolve_delay_bonus_percentage, 200);
        assert_eq!(rules.eight_year_gang_bonus_percentage, 10);
        assert_eq!(rules.minimum_dissolve_delay_to_vote_seconds, 1_209_600);
        assert_eq!(
            rules.following_expires_after_seconds(),
            15_778_800 + 2_629_800
        );
        assert_eq!(
            voting_rewards_adjustment_basis_points(&NetworkEconomics::default()),
            6_329
        );
        assert_eq!(validate(&NetworkEconomics::default()), Ok(()));
    }

    #[test]
    fn a_change_keeps_every_field_it_leaves_unset() {
        let current = NetworkEconomics {
            reject_cost_e8s: 7,
            ..NetworkEconomics::default()
        };
        let update = NetworkEconomics {
            reject_cost_e8s: 0,
            neuron_minimum_stake_e8s: 0,
            neuron_management_fee_per_proposal_e8s: 0,
            minimum_icp_xdr_rate: 0,
            neuron_spawn_dissolve_delay_seconds: 0,
            maximum_node_provider_rewards_e8s: 0,
            transaction_fee_e8s: 20_000,
            max_proposals_to_keep_per_topic: 0,
            voting_power_economics: Some(VotingPowerEconomics {
                start_reducing_voting_power_after_seconds: None,
                clear_following_after_seconds: None,
                neuron_minimum_dissolve_delay_to_vote_seconds: Some(30 * 24 * 3_600),
            }),
            staking_economics: None,
        };
        let merged = merge(&current, &update);
        assert_eq!(
            merged,
            NetworkEconomics {
                reject_cost_e8s: 7,
                transaction_fee_e8s: 20_000,
                voting_power_economics: Some(VotingPowerEconomics {
                    neuron_minimum_dissolve_delay_to_vote_seconds: Some(30 * 24 * 3_600),
                    ..VotingPowerEconomics::default()
                }),
                ..NetworkEconomics::default()
            }
        );
    }

    #[test]
    fn bounds_are_checked_as_the_nns_checks_them() {
        let with_vote_minimum = |seconds| NetworkEconomics {
            voting_power_economics: Some(VotingPowerEconomics {
                neuron_minimum_dissolve_delay_to_vote_seconds: Some(seconds),
                ..VotingPowerEconomics::default()
            }),
            ..NetworkEconomics::default()
        };
        assert!(validate(&with_vote_minimum(14 * 24 * 3_600 - 1)).is_err());
        assert!(validate(&with_vote_minimum(14 * 24 * 3_600)).is_ok());
        assert!(
            validate(&with_vote_minimum(
                MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS
            ))
            .is_ok()
        );
        assert!(
            validate(&with_vote_minimum(
                MINIMUM_DISSOLVE_DELAY_TO_PROPOSE_SECONDS + 1
            ))
            .is_err()
        );
        let with_staking = |staking| NetworkEconomics {
            staking_economics: Some(staking),
            ..NetworkEconomics::default()
        };
        assert!(
            validate(&with_staking(StakingEconomics {
                max_dissolve_delay_seconds: Some(9 * ONE_YEAR_SECONDS),
                ..StakingEconomics::MAINNET
            }))
            .is_err()
        );
        let longer = with_staking(StakingEconomics {
            max_dissolve_delay_seconds: Some(3 * ONE_YEAR_SECONDS),
            ..StakingEconomics::MAINNET
        });
        assert!(validate_change(&NetworkEconomics::default(), &longer).is_ok());
        assert!(validate_change(&longer, &NetworkEconomics::default()).is_err());
        assert!(
            validate(&with_staking(StakingEconomics {
                voting_rewards_adjustment_basis_points: Some(10_001),
                ..StakingEconomics::MAINNET
            }))
            .is_err()
        );
    }
}
