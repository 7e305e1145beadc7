//! The index's configuration: which ledger it follows and how often it asks
//! for new blocks when it has caught up.

use candid::{CandidType, Deserialize, Principal};
use nns_api::index::{
    DEFAULT_RETRIEVE_BLOCKS_FROM_LEDGER_INTERVAL_SECONDS, IndexArg, InitArg, UpgradeArg,
};
use std::time::Duration;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub ledger_id: Principal,
    pub retrieve_blocks_from_ledger_interval_seconds: u64,
}

impl Config {
    /// Install needs `Init`: without a ledger the index has nothing to follow.
    pub fn from_init(arg: Option<IndexArg>) -> Result<Self, String> {
        let Some(IndexArg::Init(InitArg {
            ledger_id,
            retrieve_blocks_from_ledger_interval_seconds,
        })) = arg
        else {
            return Err(
                "installing the index needs `opt variant { Init = record { ledger_id = … } }`"
                    .into(),
            );
        };
        let interval = retrieve_blocks_from_ledger_interval_seconds
            .unwrap_or(DEFAULT_RETRIEVE_BLOCKS_FROM_LEDGER_INTERVAL_SECONDS);
        Ok(Self {
            ledger_id,
            retrieve_blocks_from_ledger_interval_seconds: checked_interval(interval)?,
        })
    }

    /// An upgrade keeps what its argument leaves out. Another ledger may be
    /// named (e.g. the same chain under a new id): its blocks must continue
    /// the chain already indexed, which the sync checks.
    pub fn apply_upgrade(&mut self, arg: Option<IndexArg>) -> Result<(), String> {
        let UpgradeArg {
            ledger_id,
            retrieve_blocks_from_ledger_interval_seconds,
        } = match arg {
            None => return Ok(()),
            Some(IndexArg::Upgrade(upgrade)) => upgrade,
            Some(IndexArg::Init(_)) => {
                return Err("upgrading the index takes the Upgrade variant, not Init".into());
            }
        };
        if let Some(interval) = retrieve_blocks_from_ledger_interval_seconds {
            self.retrieve_blocks_from_ledger_interval_seconds = checked_interval(interval)?;
        }
        if let Some(ledger_id) = ledger_id {
            self.ledger_id = ledger_id;
        }
        Ok(())
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.retrieve_blocks_from_ledger_interval_seconds)
    }
}

/// A zero interval would ask the ledger in every round.
fn checked_interval(seconds: u64) -> Result<u64, String> {
    if seconds == 0 {
        return Err("retrieve_blocks_from_ledger_interval_seconds must be at least 1".into());
    }
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Principal {
        nns_api::ids::LEDGER_CANISTER_ID
    }

    fn init(interval: Option<u64>) -> Option<IndexArg> {
        Some(IndexArg::Init(InitArg {
            ledger_id: ledger(),
            retrieve_blocks_from_ledger_interval_seconds: interval,
        }))
    }

    #[test]
    fn install_takes_the_ledger_and_defaults_the_interval_to_a_second() {
        let config = Config::from_init(init(None)).unwrap();
        assert_eq!(config.ledger_id, ledger());
        assert_eq!(config.interval(), Duration::from_secs(1));
        assert_eq!(
            Config::from_init(init(Some(10))).unwrap().interval(),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn install_refuses_no_argument_an_upgrade_and_a_zero_interval() {
        assert!(Config::from_init(None).unwrap_err().contains("Init"));
        let upgrade = Some(IndexArg::Upgrade(UpgradeArg::default()));
        assert!(Config::from_init(upgrade).unwrap_err().contains("Init"));
        assert!(
            Config::from_init(init(Some(0)))
                .unwrap_err()
                .contains("at least 1")
        );
    }

    #[test]
    fn an_upgrade_changes_only_what_it_names() {
        let mut config = Config::from_init(init(Some(5))).unwrap();
        config.apply_upgrade(None).unwrap();
        config
            .apply_upgrade(Some(IndexArg::Upgrade(UpgradeArg::default())))
            .unwrap();
        assert_eq!(config, Config::from_init(init(Some(5))).unwrap());

        let other = Principal::from_slice(&[7]);
        config
            .apply_upgrade(Some(IndexArg::Upgrade(UpgradeArg {
                ledger_id: Some(other),
                retrieve_blocks_from_ledger_interval_seconds: None,
            })))
            .unwrap();
        assert_eq!((config.ledger_id, config.interval().as_secs()), (other, 5));
        config
            .apply_upgrade(Some(IndexArg::Upgrade(UpgradeArg {
                ledger_id: None,
                retrieve_blocks_from_ledger_interval_seconds: Some(30),
            })))
            .unwrap();
        assert_eq!((config.ledger_id, config.interval().as_secs()), (other, 30));
    }

    #[test]
    fn an_upgrade_refuses_init_and_a_zero_interval_and_then_changes_nothing() {
        let mut config = Config::from_init(init(None)).unwrap();
        let before = config.clone();
        assert!(config.apply_upgrade(init(Some(3))).is_err());
        let zero = Some(IndexArg::Upgrade(UpgradeArg {
            ledger_id: Some(Principal::from_slice(&[9])),
            retrieve_blocks_from_ledger_interval_seconds: Some(0),
        }));
        assert!(config.apply_upgrade(zero).is_err());
        assert_eq!(config, before);
    }
}
