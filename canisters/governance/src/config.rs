//! Governance's configuration: validated from the install argument and kept
//! in stable memory.

use candid::{CandidType, Deserialize, Principal};
use nns_api::governance::{GovernanceArg, NetworkEconomics};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, LEDGER_CANISTER_ID};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub ledger_canister_id: Principal,
    pub cmc_canister_id: Principal,
    pub economics: NetworkEconomics,
    /// The start of the reward schedule; `None` means "the time of install".
    pub genesis_timestamp_seconds: Option<u64>,
    /// Which rules the economics were written under: `None` before
    /// "Mission 70" (see [`Config::adopt_mission_70`]).
    pub economics_version: Option<u32>,
}

/// The economics version of today's rules.
pub const MISSION_70: u32 = 1;

/// The defaults before "Mission 70": six months' delay to vote, following
/// cleared 30 days after voting power starts fading.
const OLD_MINIMUM_DISSOLVE_DELAY_TO_VOTE_SECONDS: u64 = 15_778_800;
const OLD_CLEAR_FOLLOWING_AFTER_SECONDS: u64 = 30 * 24 * 60 * 60;

impl Config {
    pub fn from_init(arg: GovernanceArg) -> Result<Self, String> {
        let economics = arg.economics.unwrap_or_default();
        crate::economics::validate_install(&economics).map_err(|e| format!("economics: {e}"))?;
        Ok(Self {
            ledger_canister_id: arg.ledger_canister_id.unwrap_or(LEDGER_CANISTER_ID),
            cmc_canister_id: arg.cmc_canister_id.unwrap_or(CYCLES_MINTING_CANISTER_ID),
            economics,
            genesis_timestamp_seconds: arg.genesis_timestamp_seconds,
            economics_version: Some(MISSION_70),
        })
    }

    /// Brings economics written before "Mission 70" to today's rules, as
    /// the NNS's upgrade did: the old defaults of the voting minimum and of
    /// the clearing period become the new ones (a value set otherwise is
    /// kept); the staking rules unset mean today's. Returns whether
    /// anything changed.
    pub fn adopt_mission_70(&mut self) -> bool {
        if self.economics_version.is_some() {
            return false;
        }
        self.economics_version = Some(MISSION_70);
        let today = nns_api::governance::VotingPowerEconomics::default();
        if let Some(power) = self.economics.voting_power_economics.as_mut() {
            if power.neuron_minimum_dissolve_delay_to_vote_seconds
                == Some(OLD_MINIMUM_DISSOLVE_DELAY_TO_VOTE_SECONDS)
            {
                power.neuron_minimum_dissolve_delay_to_vote_seconds =
                    today.neuron_minimum_dissolve_delay_to_vote_seconds;
            }
            if power.clear_following_after_seconds == Some(OLD_CLEAR_FOLLOWING_AFTER_SECONDS) {
                power.clear_following_after_seconds = today.clear_following_after_seconds;
            }
            // Within today's bounds: at most the six months to propose
            // (so a proposer always has a ballot), at least two weeks.
            power.neuron_minimum_dissolve_delay_to_vote_seconds = power
                .neuron_minimum_dissolve_delay_to_vote_seconds
                .map(|d| {
                    d.clamp(
                        14 * 24 * 60 * 60,
                        OLD_MINIMUM_DISSOLVE_DELAY_TO_VOTE_SECONDS,
                    )
                });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_argument_means_the_nns_wiring_and_mainnet_economics() {
        let config = Config::from_init(GovernanceArg::default()).unwrap();
        assert_eq!(config.ledger_canister_id, LEDGER_CANISTER_ID);
        assert_eq!(config.cmc_canister_id, CYCLES_MINTING_CANISTER_ID);
        assert_eq!(config.economics.neuron_minimum_stake_e8s, 100_000_000);
        assert_eq!(config.economics.reject_cost_e8s, 2_500_000_000);
    }

    #[test]
    fn economics_written_before_mission_70_take_todays_defaults_but_keep_choices() {
        use nns_api::governance::VotingPowerEconomics;
        let old = |vote: u64, clear: u64| Config {
            economics: NetworkEconomics {
                voting_power_economics: Some(VotingPowerEconomics {
                    start_reducing_voting_power_after_seconds: Some(15_778_800),
                    clear_following_after_seconds: Some(clear),
                    neuron_minimum_dissolve_delay_to_vote_seconds: Some(vote),
                }),
                staking_economics: None,
                ..NetworkEconomics::default()
            },
            economics_version: None,
            ..Config::from_init(GovernanceArg::default()).unwrap()
        };
        let mut config = old(15_778_800, 2_592_000);
        assert!(config.adopt_mission_70());
        assert!(!config.adopt_mission_70(), "once");
        let power = config.economics.voting_power_economics.unwrap();
        assert_eq!(
            power.neuron_minimum_dissolve_delay_to_vote_seconds,
            Some(1_209_600)
        );
        assert_eq!(power.clear_following_after_seconds, Some(2_629_800));
        let mut chosen = old(20 * 86_400, 40 * 86_400);
        chosen.adopt_mission_70();
        let power = chosen.economics.voting_power_economics.unwrap();
        assert_eq!(
            power.neuron_minimum_dissolve_delay_to_vote_seconds,
            Some(20 * 86_400)
        );
        assert_eq!(power.clear_following_after_seconds, Some(40 * 86_400));
    }

    #[test]
    fn a_minimum_stake_below_the_fee_is_refused() {
        let economics = NetworkEconomics {
            neuron_minimum_stake_e8s: 10_000,
            ..Default::default()
        };
        let arg = GovernanceArg {
            economics: Some(economics),
            ..Default::default()
        };
        assert!(Config::from_init(arg).is_err());
    }
}
