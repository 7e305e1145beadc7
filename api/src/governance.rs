//! Types of the governance canister's interface (`candid/governance.did`).

use candid::{CandidType, Deserialize, Principal};

const ONE_ICP_E8S: u64 = 100_000_000;
const ONE_DAY_SECONDS: u64 = 24 * 60 * 60;
const ONE_YEAR_SECONDS: u64 = (365 * 24 + 6) * 60 * 60;

/// Parameters of the network's economics, as the real `NetworkEconomics`
/// (the Neurons' Fund parameters do not apply and are left out; clients of
/// the real canister read them as `null`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NetworkEconomics {
    pub reject_cost_e8s: u64,
    pub neuron_minimum_stake_e8s: u64,
    pub neuron_management_fee_per_proposal_e8s: u64,
    pub minimum_icp_xdr_rate: u64,
    pub neuron_spawn_dissolve_delay_seconds: u64,
    pub maximum_node_provider_rewards_e8s: u64,
    pub transaction_fee_e8s: u64,
    pub max_proposals_to_keep_per_topic: u32,
    pub voting_power_economics: Option<VotingPowerEconomics>,
    /// This canister's own addition: the staking rules the NNS fixes in its
    /// code, as parameters (unset: mainnet's).
    pub staking_economics: Option<StakingEconomics>,
}

/// The staking and reward rules today's NNS ("Mission 70", mainnet since
/// 2026-04-23) has as constants. Every field left unset means mainnet's
/// value.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StakingEconomics {
    /// The longest dissolve delay (mainnet: 2 years).
    pub max_dissolve_delay_seconds: Option<u64>,
    /// The dissolve-delay bonus at the longest delay, in percent; the bonus
    /// grows with the square of the delay (mainnet: 200, so up to 3×).
    pub max_dissolve_delay_bonus_percentage: Option<u64>,
    /// What the eight-year gang adds to its stake, in percent of the bonus
    /// base recorded when the delay was cut (mainnet: 10).
    pub eight_year_gang_bonus_percentage: Option<u64>,
    /// The share of the daily reward pool paid out, in basis points
    /// (mainnet: 6 329, the factor 0.6329).
    pub voting_rewards_adjustment_basis_points: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct VotingPowerEconomics {
    pub start_reducing_voting_power_after_seconds: Option<u64>,
    pub clear_following_after_seconds: Option<u64>,
    pub neuron_minimum_dissolve_delay_to_vote_seconds: Option<u64>,
}

impl StakingEconomics {
    pub const MAINNET: Self = Self {
        max_dissolve_delay_seconds: Some(2 * ONE_YEAR_SECONDS),
        max_dissolve_delay_bonus_percentage: Some(200),
        eight_year_gang_bonus_percentage: Some(10),
        voting_rewards_adjustment_basis_points: Some(6_329),
    };
}

impl Default for VotingPowerEconomics {
    /// Mainnet values: reduce after half a year, clear following a twelfth
    /// of a year later, two weeks' dissolve delay to vote.
    fn default() -> Self {
        Self {
            start_reducing_voting_power_after_seconds: Some(ONE_YEAR_SECONDS / 2),
            clear_following_after_seconds: Some(ONE_YEAR_SECONDS / 12),
            neuron_minimum_dissolve_delay_to_vote_seconds: Some(14 * ONE_DAY_SECONDS),
        }
    }
}

impl Default for NetworkEconomics {
    /// Mainnet values.
    fn default() -> Self {
        Self {
            reject_cost_e8s: 25 * ONE_ICP_E8S,
            neuron_minimum_stake_e8s: ONE_ICP_E8S,
            neuron_management_fee_per_proposal_e8s: ONE_ICP_E8S / 100,
            minimum_icp_xdr_rate: 100,
            neuron_spawn_dissolve_delay_seconds: 7 * ONE_DAY_SECONDS,
            maximum_node_provider_rewards_e8s: 1_000_000 * ONE_ICP_E8S,
            transaction_fee_e8s: 10_000,
            max_proposals_to_keep_per_topic: 100,
            voting_power_economics: Some(VotingPowerEconomics::default()),
            staking_economics: Some(StakingEconomics::MAINNET),
        }
    }
}

/// Installation argument. Every field is optional: the ids default to the
/// well-known NNS ids and the economics to mainnet's.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GovernanceArg {
    pub ledger_canister_id: Option<Principal>,
    pub cmc_canister_id: Option<Principal>,
    pub economics: Option<NetworkEconomics>,
    pub genesis_timestamp_seconds: Option<u64>,
    /// The node providers governance starts with (the NNS's init payload
    /// carries them too); more are added by proposal.
    pub node_providers: Option<Vec<NodeProvider>>,
    /// The neurons governance starts with, as the NNS's init payload
    /// carries them: their stakes already on the ledger at their
    /// subaccounts. Ids, controllers, subaccounts, stakes, dissolve states,
    /// following, maturity and settings are taken; a neuron with ballots,
    /// fees, spawning or disbursements in progress makes the
    /// installation fail.
    pub neurons: Option<Vec<Neuron>>,
}

mod neurons;
mod proposals;
pub mod sns;

pub use neurons::*;
pub use proposals::*;
