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
}

impl Config {
    pub fn from_init(arg: GovernanceArg) -> Result<Self, String> {
        let economics = arg.economics.unwrap_or_default();
        if economics.neuron_minimum_stake_e8s <= economics.transaction_fee_e8s {
            return Err(
                "economics: neuron_minimum_stake_e8s must exceed transaction_fee_e8s".into(),
            );
        }
        Ok(Self {
            ledger_canister_id: arg.ledger_canister_id.unwrap_or(LEDGER_CANISTER_ID),
            cmc_canister_id: arg.cmc_canister_id.unwrap_or(CYCLES_MINTING_CANISTER_ID),
            economics,
            genesis_timestamp_seconds: arg.genesis_timestamp_seconds,
        })
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
