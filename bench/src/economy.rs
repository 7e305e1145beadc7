//! The main job's figures: the year of the mainnet preset at full scale
//! (boot, days, reconciliation, resident memory, messages a day) and the
//! break-even sweep at its default levels, one after the other. Minutes of
//! work, so not part of the full run: `scripts/bench.sh economy`.
//! `BENCH_ECONOMY_NEURONS`, `BENCH_ECONOMY_ACCOUNTS` and `BENCH_ECONOMY_DAYS`
//! shrink the year (for a quick check; the baseline has no economy figures).

use crate::report::Figures;
use icp_economy::scenario::Scenario;
use icp_economy::{Economy, reconcile, sweep};
use nns_harness::env::Backend;
use std::time::Instant;

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a whole number"))
    })
}

pub fn bench_economy(figures: &mut Figures) {
    let preset = Scenario::mainnet();
    let scenario = Scenario {
        neurons: env_or("BENCH_ECONOMY_NEURONS", preset.neurons),
        accounts: env_or("BENCH_ECONOMY_ACCOUNTS", preset.accounts),
        days: env_or("BENCH_ECONOMY_DAYS", preset.days),
        ..preset
    };
    scenario.validate().expect("a valid scenario");
    let size = format!(
        "{} neurons, {} accounts, {} days",
        scenario.neurons, scenario.accounts, scenario.days
    );
    // The peak from here on, not an earlier group's (`clear_refs` 5
    // resets the process's peak resident memory).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let mut economy = Economy::boot(Backend::Runtime, scenario.clone()).expect("the NNS boots");
    let booted = started.elapsed().as_secs_f64();
    let days_started = Instant::now();
    let mut end = economy.start.clone();
    for day in 1..=scenario.days {
        end = economy.run_day(day).expect("a simulated day");
    }
    let days = days_started.elapsed().as_secs_f64();
    let reconciling = Instant::now();
    let checks = reconcile::reconcile(&mut economy, &end).expect("the reconciliation runs");
    assert!(
        checks.iter().all(|c| c.holds()),
        "the figures reconcile: {checks:?}"
    );
    let reconciled = reconciling.elapsed().as_secs_f64();
    let messages_per_day = economy
        .env
        .executions()
        .zip(economy.start_executions)
        .map_or(0, |(end, start)| (end - start) / u64::from(scenario.days));
    let resident = crate::report::process_status_bytes("VmHWM");
    drop(economy);

    let year = "economy year";
    figures.timing(
        "economy.boot.s",
        &format!("{year} ({size}): boot"),
        booted,
        "s",
        "",
    );
    figures.timing(
        "economy.days.s",
        &format!("{year}: the days"),
        days,
        "s",
        "goal: a year's days ≤ 600 s",
    );
    figures.timing(
        "economy.reconcile.s",
        &format!("{year}: reconciliation"),
        reconciled,
        "s",
        "",
    );
    figures.timing(
        "economy.total.s",
        &format!("{year}: in all"),
        booted + days + reconciled,
        "s",
        "",
    );
    figures.cost(
        "economy.messages_per_day",
        &format!("{year}: canister messages a simulated day"),
        messages_per_day,
        "msgs",
        "",
    );
    figures.timing(
        "economy.resident.mb",
        &format!("{year}: peak resident memory"),
        resident as f64 / 1e6,
        "MB",
        "",
    );
    let swept = Instant::now();
    let sweep_scenario = sweep::scenario();
    let levels: Vec<sweep::Level> = sweep::DEFAULT_LEVELS
        .into_iter()
        .map(|demand| sweep::run_level(&sweep_scenario, demand, |_| {}).expect("a level runs"))
        .collect();
    let sweep_seconds = swept.elapsed().as_secs_f64();
    match sweep::break_even(&levels) {
        Some(answer) => eprintln!("break-even at × {answer:.1} today's burn"),
        None => eprintln!("no break-even between the default levels"),
    }
    figures.timing(
        "economy.sweep.s",
        "break-even sweep alone (5 levels × 365 days, small cohorts)",
        sweep_seconds,
        "s",
        "",
    );
}
