//! Mainnet's figures the `mainnet` preset starts from, each with its public
//! source and the date it refers to (README, "Calibration"). Where no
//! public figure was found the value is an assumption and says so.

/// 2026-12-01 00:00 UTC: the simulated economy starts today.
pub const START_SECONDS: u64 = 1_796_083_200;
const DAY_SECONDS: f64 = 86_400.0;
const YEAR_SECONDS: f64 = 365.25 * DAY_SECONDS;

/// A share of the staked ICP locked between two dissolve delays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayBucket {
    pub share: f64,
    pub min_days: u64,
    pub max_days: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// ICP total supply: 553.01 M ICP on 2026-05-27 (mrnasdog.com/research/icp/full:
    /// "Total supply today, read live from the NNS governance canister, is
    /// 553.01M ICP"). Taken as the supply on 2026-12-01.
    pub supply_icp: u64,
    /// Share of the supply staked in neurons: 51.6 % (wiki.internetcomputer.org,
    /// "Total supply, circulating supply, and staked ICP", 2023-04-24: "Staked
    /// ICP: 257.1 million (51.6% of total supply)"). No later public total
    /// was found: assumed to have held.
    pub staked_share: f64,
    /// Stake by dissolve delay (same source: 78.7 % above a year, 49.6 % at
    /// 8 years). Mission 70 (2026-04-23) clamped every delay to 2 years, so
    /// the 8-year stake is at 2 years now; between 1 and 2 years 29.1 %;
    /// below a year (14 days, the minimum to vote, up to a year) 21.3 %.
    pub delay_buckets: Vec<DelayBucket>,
    /// NNS neurons: about 390 000 (dfinity/ic PR #4567, 2025-03-27: "it's
    /// already at 390K").
    pub real_neurons: u64,
    /// Ledger accounts holding ICP: no public count was found; an
    /// assumption.
    pub real_accounts: u64,
    /// Share of neurons that vote themselves rather than follow: no current
    /// public figure (2022: ~45 % of voting power took part before
    /// following was widespread, forum.dfinity.org/t/10706); an assumption.
    pub direct_voter_share: f64,
    /// Node-provider rewards: 1 028 829 ICP for March 2026 (ledgerlife.io),
    /// at about 1.74 XDR per ICP then ($2.50 on 2026-03-01, coinstats.app;
    /// 1 XDR ≈ $1.44, internetcomputer.org): ≈ 1.79 M XDR a month.
    pub node_provider_xdr_per_month: u64,
    /// Nodes: 1 030 first-generation and 391 second-generation machines
    /// (forum.dfinity.org/t/62811, early 2026).
    pub nodes: u32,
    /// Node providers: no public count was found; an assumption.
    pub real_node_providers: u32,
    /// Cycles burned by the whole network: 57.32 B cycles a second (~May
    /// 2026, mrnasdog.com/research/icp/full: "~57.32B cycles/s × 90D ÷ 1.9963
    /// XDR/ICP ≈ 223K ICP / 90D").
    pub cycles_burned_per_second: f64,
    /// Growth of that burn: 5.3 B cycles/s in September 2023
    /// (forum.dfinity.org/t/22949) to 57.32 B in May 2026, ×10.8 in 32
    /// months: +144 % a year.
    pub burn_growth_percent_per_year: f64,
    /// The ICP/XDR rate: 1.9963 XDR per ICP (~May 2026, the same source).
    pub xdr_permyriad_per_icp: u64,
    /// Governance's genesis: 2021-05-10 (wiki.internetcomputer.org), so
    /// the voting reward rate is R(5.56 years) = 5.47 % × 0.6329 (Mission
    /// 70) ≈ 3.46 % of the supply a year.
    pub genesis_seconds: u64,
}

impl Calibration {
    pub fn mainnet() -> Self {
        Self {
            supply_icp: 553_010_000,
            staked_share: 0.516,
            delay_buckets: vec![
                DelayBucket {
                    share: 0.496,
                    min_days: 730,
                    max_days: 730,
                },
                DelayBucket {
                    share: 0.291,
                    min_days: 366,
                    max_days: 729,
                },
                DelayBucket {
                    share: 0.213,
                    min_days: 14,
                    max_days: 365,
                },
            ],
            real_neurons: 390_000,
            real_accounts: 4_000_000,
            direct_voter_share: 0.10,
            node_provider_xdr_per_month: 1_790_000,
            nodes: 1_421,
            real_node_providers: 140,
            cycles_burned_per_second: 57.32e9,
            burn_growth_percent_per_year: 144.0,
            xdr_permyriad_per_icp: 19_963,
            genesis_seconds: 1_620_604_800,
        }
    }

    pub fn network_age_years(&self) -> f64 {
        START_SECONDS.saturating_sub(self.genesis_seconds) as f64 / YEAR_SECONDS
    }

    /// A node's monthly reward, in 10^-4 XDR: the month's total over the
    /// nodes.
    pub fn xdr_permyriad_per_node_per_month(&self) -> u64 {
        self.node_provider_xdr_per_month * 10_000 / u64::from(self.nodes.max(1))
    }

    /// Cycles the network burns on `day` (1 = the first) at `demand` times
    /// today's burn, growing at `growth_percent_per_year`.
    pub fn cycles_burned_on_day(&self, day: u32, demand: f64, growth_percent_per_year: f64) -> f64 {
        let years = f64::from(day.saturating_sub(1)) / 365.25;
        self.cycles_burned_per_second
            * DAY_SECONDS
            * demand
            * (1.0 + growth_percent_per_year / 100.0).powf(years)
    }

    /// ICP a year's minting comes to at the start, for comparison: voting
    /// rewards (the NNS's rate now, × 0.6329) and node providers (the
    /// month's XDR at today's rate).
    pub fn minting_icp_per_year(&self) -> (f64, f64) {
        let t = self.network_age_years().min(8.0);
        let rate = 0.05 + 0.05 * ((8.0 - t) / 8.0).powi(2);
        let voting = self.supply_icp as f64 * rate * 0.6329;
        let providers = self.node_provider_xdr_per_month as f64 * 12.0
            / (self.xdr_permyriad_per_icp as f64 / 10_000.0);
        (voting, providers)
    }

    /// ICP the network's burn comes to in a year at today's rate and burn.
    pub fn burn_icp_per_year(&self) -> f64 {
        self.cycles_burned_per_second * YEAR_SECONDS
            / 1e12
            / (self.xdr_permyriad_per_icp as f64 / 10_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_agree_with_their_sources() {
        let c = Calibration::mainnet();
        let shares: f64 = c.delay_buckets.iter().map(|b| b.share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
        assert!((c.network_age_years() - 5.56).abs() < 0.01);
        // 57.32 B cycles/s over 90 days at 1.9963 XDR/ICP ≈ 223 K ICP.
        let ninety_days = c.burn_icp_per_year() * 90.0 / 365.25;
        assert!((ninety_days - 223_000.0).abs() < 1_000.0, "{ninety_days}");
        // ≈ 1 028 829 ICP a month at March 2026's 1.74 XDR/ICP.
        let march = c.node_provider_xdr_per_month as f64 / 1.74;
        assert!((march - 1_028_829.0).abs() / 1_028_829.0 < 0.01, "{march}");
        let (voting, _) = c.minting_icp_per_year();
        assert!((voting / c.supply_icp as f64 - 0.0346).abs() < 0.0005);
        // The growth: ×10.8 in 32 months is +144 % a year.
        let yearly = (57.32f64 / 5.3).powf(12.0 / 32.0);
        assert!((yearly - 2.44).abs() < 0.01);
        let doubled = c.cycles_burned_on_day(366, 1.0, 100.0);
        assert!((doubled / c.cycles_burned_on_day(1, 1.0, 100.0) - 2.0).abs() < 0.01);
    }
}
