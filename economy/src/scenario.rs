//! The parameters of a run: how many cohorts of each kind stand for
//! mainnet's holders, how much computation is asked for, and how long.

use crate::calibration::Calibration;

/// The parameters of a run; the same scenario gives the same run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub days: u32,
    pub seed: u64,
    /// Simulated neurons; each stands for `real_neurons / neurons` of
    /// mainnet's, and together they hold mainnet's whole stake.
    pub neurons: u32,
    /// Simulated ledger accounts holding the liquid ICP; each stands for
    /// `real_accounts / accounts` of mainnet's.
    pub accounts: u32,
    /// Application canisters, each of one developer, of the three kinds
    /// (mail, social, NFT marketplace) in turn.
    pub apps: u32,
    /// Node providers governance pays monthly (together they run all of
    /// mainnet's nodes).
    pub node_providers: u32,
    /// Computation asked for on the first day, as a multiple of mainnet's
    /// burn (1 = today's 57 B cycles a second).
    pub demand: f64,
    /// How much that demand grows, in percent a year.
    pub demand_growth_percent_per_year: f64,
    /// ICP transfers between accounts each day (each standing for mainnet's
    /// transfers of `real_accounts / accounts` accounts).
    pub transfers_per_day: u32,
    /// A developer tops its app up when the cycles left would last fewer
    /// days than this at the last day's burn (and then buys twice as many).
    pub runway_days: u32,
    /// Whether projects raise ICP in decentralization sales.
    pub sales: bool,
    pub calibration: Calibration,
}

impl Scenario {
    /// Mainnet, calibrated, for a year: 100 000 neurons and a million
    /// accounts standing for mainnet's, 30 apps.
    pub fn mainnet() -> Self {
        let calibration = Calibration::mainnet();
        Self {
            days: 365,
            seed: 1,
            neurons: 100_000,
            accounts: 1_000_000,
            apps: 30,
            node_providers: 20,
            demand: 1.0,
            demand_growth_percent_per_year: calibration.burn_growth_percent_per_year,
            transfers_per_day: 200,
            runway_days: 5,
            sales: true,
            calibration,
        }
    }

    /// The same economy with few cohorts, for tests and the break-even
    /// sweep: the amounts are mainnet's, only the number of holders is
    /// smaller.
    pub fn small() -> Self {
        Self {
            days: 16,
            neurons: 24,
            accounts: 12,
            apps: 6,
            node_providers: 3,
            transfers_per_day: 24,
            ..Self::mainnet()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.days == 0 {
            return Err("at least one day".into());
        }
        if !(10..=500_000).contains(&self.neurons) {
            return Err(format!(
                "between 10 and 500 000 neurons (governance's maximum), not {}",
                self.neurons
            ));
        }
        if !(6..=4_000_000).contains(&self.accounts) {
            return Err(format!(
                "between 6 and 4 000 000 accounts, not {}",
                self.accounts
            ));
        }
        if !(3..=1_000).contains(&self.apps) {
            return Err(format!("between 3 and 1 000 apps, not {}", self.apps));
        }
        if !(1..=1_000).contains(&self.node_providers) {
            return Err(format!(
                "between 1 and 1 000 node providers, not {}",
                self.node_providers
            ));
        }
        if !(0.0..=10_000.0).contains(&self.demand) {
            return Err("demand is between 0 and 10 000 times today's".into());
        }
        if !(-90.0..=10_000.0).contains(&self.demand_growth_percent_per_year) {
            return Err("demand growth is between -90 % and 10 000 % a year".into());
        }
        Ok(())
    }

    /// Mainnet's neurons each simulated neuron stands for.
    pub fn neurons_per_cohort(&self) -> f64 {
        self.calibration.real_neurons as f64 / f64::from(self.neurons)
    }

    /// Mainnet's accounts each simulated account stands for.
    pub fn accounts_per_cohort(&self) -> f64 {
        self.calibration.real_accounts as f64 / f64::from(self.accounts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presets_are_valid_and_bad_ones_are_refused() {
        assert!(Scenario::mainnet().validate().is_ok());
        assert!(Scenario::small().validate().is_ok());
        for bad in [
            Scenario {
                days: 0,
                ..Scenario::small()
            },
            Scenario {
                neurons: 9,
                ..Scenario::small()
            },
            Scenario {
                apps: 2,
                ..Scenario::small()
            },
            Scenario {
                demand: -1.0,
                ..Scenario::small()
            },
        ] {
            assert!(bad.validate().is_err());
        }
        let s = Scenario::mainnet();
        assert_eq!(s.neurons_per_cohort(), 3.9);
    }
}
