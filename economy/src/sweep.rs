//! The break-even sweep: the same calibrated economy run at several levels
//! of computation demand (multiples of mainnet's burn today, growing at the
//! calibrated rate), to find the level at which the total supply stops
//! growing over the horizon.

use crate::observe::Snapshot;
use crate::report::{COLORS, Series, draw};
use crate::{E8S_PER_ICP, Economy, Scenario};
use nns_harness::env::Backend;
use std::path::Path;

/// The sweep's demand levels unless told otherwise: multiples of today's
/// burn.
pub const DEFAULT_LEVELS: [f64; 5] = [1.0, 10.0, 20.0, 40.0, 80.0];

/// The sweep's economy: mainnet's amounts with few cohorts (the amounts do
/// not depend on how many holders share them), for a year.
pub fn scenario() -> Scenario {
    Scenario {
        days: 365,
        ..Scenario::small()
    }
}

/// One level's run: the supply day by day and what moved it.
#[derive(Clone, Debug)]
pub struct Level {
    pub demand: f64,
    pub days: Vec<Snapshot>,
}

impl Level {
    pub fn supply_change_e8s(&self) -> i128 {
        let first = self.days.first().map_or(0, |s| s.supply_e8s);
        let last = self.days.last().map_or(0, |s| s.supply_e8s);
        i128::from(last) - i128::from(first)
    }

    pub fn minted_e8s(&self) -> u64 {
        let (first, last) = (&self.days[0], self.days.last().expect("a day"));
        last.ledger_minted_e8s - first.ledger_minted_e8s
    }

    pub fn burned_for_cycles_e8s(&self) -> u64 {
        let (first, last) = (&self.days[0], self.days.last().expect("a day"));
        last.cmc_icp_burned_e8s - first.cmc_icp_burned_e8s
    }
}

/// Runs `scenario` at `demand`; `day_done` is told each day.
pub fn run_level(
    scenario: &Scenario,
    demand: f64,
    mut day_done: impl FnMut(u32),
) -> Result<Level, String> {
    let scenario = Scenario {
        demand,
        ..scenario.clone()
    };
    let days = scenario.days;
    let mut economy = Economy::boot(Backend::Runtime, scenario)?;
    let mut series = vec![economy.start.clone()];
    for day in 1..=days {
        series.push(economy.run_day(day)?);
        day_done(day);
    }
    Ok(Level {
        demand,
        days: series,
    })
}

/// The demand at which the supply's change over the horizon is zero,
/// interpolated linearly between the two levels around it (levels in
/// increasing demand); `None` if no two levels straddle it.
pub fn break_even(levels: &[Level]) -> Option<f64> {
    levels.windows(2).find_map(|pair| {
        let (a, b) = (&pair[0], &pair[1]);
        let (ca, cb) = (a.supply_change_e8s() as f64, b.supply_change_e8s() as f64);
        (ca >= 0.0 && cb <= 0.0 && ca != cb)
            .then(|| a.demand + (b.demand - a.demand) * ca / (ca - cb))
    })
}

/// The supply's trajectory at each level, in one chart.
pub fn chart(levels: &[Level], path: &Path) -> Result<(), String> {
    let lines: Vec<Series> = levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let start = level.days[0].supply_e8s as f64;
            (
                format!("demand × {} of today's", level.demand),
                COLORS[i % COLORS.len()],
                level
                    .days
                    .iter()
                    .enumerate()
                    .map(|(d, s)| {
                        (
                            d as f64,
                            (s.supply_e8s as f64 - start) / E8S_PER_ICP as f64 / 1e6,
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let panels = vec![(
        "Change of the ICP supply at each level of computation demand (M ICP)".to_string(),
        lines,
    )];
    draw(path, &panels, "day", "M ICP").map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(demand: f64, change: i64) -> Level {
        let start = Snapshot {
            supply_e8s: 1_000_000,
            ..Snapshot::default()
        };
        let end = Snapshot {
            supply_e8s: (1_000_000 + change) as u64,
            ..Snapshot::default()
        };
        Level {
            demand,
            days: vec![start, end],
        }
    }

    #[test]
    fn break_even_is_interpolated_where_the_change_crosses_zero() {
        let levels = [level(1.0, 300), level(10.0, 100), level(20.0, -100)];
        assert_eq!(break_even(&levels), Some(15.0));
        assert_eq!(break_even(&levels[..2]), None, "still growing");
    }
}
