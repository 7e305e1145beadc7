//! The whole system at once: the economy calibrated to mainnet, with few
//! cohorts, on the real ledger, CMC, governance, node-rewards, sale and app
//! canisters, whose figures must reconcile.

use icp_economy::observe::Snapshot;
use icp_economy::{Economy, Scenario, reconcile, report};
use integration_tests::env::Backend;
use integration_tests::on_both_backends;

on_both_backends!(should_run_an_economy_whose_figures_reconcile);

fn small() -> Scenario {
    Scenario::small()
}

/// Runs `scenario`; returns the economy, its daily CSV and every day.
fn run(backend: Backend, scenario: Scenario) -> (Economy, String, Vec<Snapshot>) {
    let days = scenario.days;
    let mut economy = Economy::boot(backend, scenario).expect("the economy boots");
    let mut series = vec![economy.start.clone()];
    for day in 1..=days {
        series.push(economy.run_day(day).expect("every action succeeds"));
    }
    let csv = report::csv(&economy.start, &series);
    (economy, csv, series)
}

fn should_run_an_economy_whose_figures_reconcile(backend: Backend) {
    let scenario = small();
    let (mut economy, _, series) = run(backend, scenario.clone());
    let end = series.last().unwrap().clone();
    let checks = reconcile::reconcile(&mut economy, &end).expect("the figures can be read");
    let failed: Vec<_> = checks.iter().filter(|c| !c.holds()).collect();
    assert!(failed.is_empty(), "{}", report::checks_text(&checks));
    // The runtime's cycle counters add two checks; one more per finished
    // sale.
    let (sales, _) = economy.sales_summary().expect("the sales answer");
    let base = if backend == Backend::Runtime { 14 } else { 12 };
    assert_eq!(checks.len() as u64, base + sales.committed + sales.aborted);
    // Sales were made, bought into, and one failed its minimum.
    assert_eq!(economy.sale_activity.launched, 3);
    assert!(sales.committed >= 1, "{sales:?}");
    assert_eq!(sales.aborted, 1, "{sales:?}");
    assert!(sales.raised_e8s > 0 && sales.refunded_e8s > 0, "{sales:?}");

    // Mainnet's amounts: the calibrated supply at the start.
    let start = &economy.start;
    let c = &scenario.calibration;
    let e8s = icp_economy::E8S_PER_ICP;
    let calibrated = (c.supply_icp * e8s) as f64;
    assert!(
        (start.supply_e8s as f64 / calibrated - 1.0).abs() < 0.001,
        "the supply is the calibrated one ({} e8s), but for what boot minted and burned",
        start.supply_e8s
    );
    let flows = report::flows(start, &series).pop().unwrap();
    // Node providers were paid their first month, by the proposal on day 1:
    // mainnet's nodes' XDR at about the calibrated rate.
    let month_icp = c.node_provider_xdr_per_month as f64 / (c.xdr_permyriad_per_icp as f64 / 1e4);
    let paid = flows.minted_node_providers as f64 / e8s as f64;
    assert!(
        (paid / month_icp - 1.0).abs() < 0.05,
        "paid {paid} ICP for a month of {month_icp}"
    );
    // Voting rewards: about the pool's rate of the supply a day, given as
    // maturity, part of it disbursed as ICP.
    let (voting_per_year, _) = c.minting_icp_per_year();
    let accrued = flows.rewards_accrued as f64 / e8s as f64;
    let expected = voting_per_year * scenario.days as f64 / 365.25;
    assert!(
        accrued > 0.5 * expected && accrued < 1.05 * expected,
        "{accrued} ICP of rewards for {expected} at most"
    );
    assert!(flows.minted_from_maturity > 0, "maturity was disbursed");
    // The apps burned the demand asked of them: mainnet's burn, growing.
    if backend == Backend::Runtime {
        let asked: f64 = (1..=scenario.days)
            .map(|d| {
                c.cycles_burned_on_day(d, scenario.demand, scenario.demand_growth_percent_per_year)
            })
            .sum();
        let burned = (end.app_cycles_burned - start.app_cycles_burned) as f64;
        assert!(
            (burned / asked - 1.0).abs() < 0.02,
            "burned {burned:e} cycles of {asked:e} asked"
        );
        assert!(flows.burned_for_cycles > 0 && end.cmc_top_ups > start.cmc_top_ups);
    }
    assert_eq!(
        end.proposals_executed - start.proposals_executed,
        end.proposals_adopted - start.proposals_adopted
    );
    assert_eq!(
        end.proposals_failed, 0,
        "the rate changes, the node providers' month and the CMC upgrade executed"
    );
    assert_ne!(end.xdr_permyriad_per_icp, start.xdr_permyriad_per_icp);
    assert!(economy.activity.nft_sales > 0 && economy.activity.transfers > 0);
}

#[test]
fn should_run_the_same_economy_from_the_same_seed() {
    let scenario = Scenario { days: 4, ..small() };
    let (_, first, _) = run(Backend::Runtime, scenario.clone());
    let (_, again, _) = run(Backend::Runtime, scenario.clone());
    assert_eq!(first, again);
    let (_, other, _) = run(
        Backend::Runtime,
        Scenario {
            seed: 2,
            ..scenario
        },
    );
    assert_ne!(first, other);
}

#[test]
fn should_refuse_a_scenario_it_cannot_run() {
    for bad in [
        Scenario {
            neurons: 5,
            ..small()
        },
        Scenario { days: 0, ..small() },
        Scenario {
            demand: -1.0,
            ..small()
        },
    ] {
        assert!(Economy::boot(Backend::Runtime, bad).is_err());
    }
}
