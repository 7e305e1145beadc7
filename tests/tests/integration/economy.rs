//! The whole system at once: a small simulated economy on the real ledger,
//! CMC, governance and app canisters, whose figures must reconcile.

use icp_economy::{Economy, Scenario, reconcile, report};
use integration_tests::env::Backend;
use integration_tests::on_both_backends;

on_both_backends!(should_run_an_economy_whose_figures_reconcile);

fn small() -> Scenario {
    Scenario {
        days: 16,
        users: 12,
        ..Scenario::default()
    }
}

/// Runs `scenario`; returns the economy, its daily CSV and the last day.
fn run(backend: Backend, scenario: Scenario) -> (Economy, String, icp_economy::observe::Snapshot) {
    let days = scenario.days;
    let mut economy = Economy::boot(backend, scenario).expect("the economy boots");
    let mut series = vec![economy.start.clone()];
    for day in 1..=days {
        series.push(economy.run_day(day).expect("every action succeeds"));
    }
    let csv = report::csv(&economy.start, &series);
    let end = series.pop().unwrap();
    (economy, csv, end)
}

fn should_run_an_economy_whose_figures_reconcile(backend: Backend) {
    let (mut economy, _, end) = run(backend, small());
    let checks = reconcile::reconcile(&mut economy, &end).expect("the figures can be read");
    let failed: Vec<_> = checks.iter().filter(|c| !c.holds()).collect();
    assert!(failed.is_empty(), "{}", report::checks_text(&checks));
    // One more check per finished sale.
    let (sales, _) = economy.sales_summary().expect("the sales answer");
    let base = if backend == Backend::Runtime { 13 } else { 11 };
    assert_eq!(checks.len() as u64, base + sales.committed + sales.aborted);
    // Sales were made, bought into, and one failed its minimum.
    assert_eq!(economy.sale_activity.launched, 3);
    assert!(sales.committed >= 1, "{sales:?}");
    assert_eq!(sales.aborted, 1, "{sales:?}");
    assert!(economy.sale_activity.participations > 0);
    assert!(sales.raised_e8s > 0 && sales.refunded_e8s > 0, "{sales:?}");

    // Everything the economy is made of happened.
    let start = &economy.start;
    assert!(
        end.ledger_minted_e8s > start.ledger_minted_e8s,
        "rewards were minted"
    );
    assert!(
        end.cmc_icp_burned_e8s > start.cmc_icp_burned_e8s,
        "ICP was burned for cycles"
    );
    assert_eq!(end.cmc_canisters_created, 2);
    if backend == Backend::Runtime {
        // The runtime puts the CMC's canisters on an application subnet,
        // which charges; a PocketIC server creates them on the CMC's own
        // NNS subnet, which charges nothing, so its apps never run low.
        assert!(end.app_cycles_burned > 0, "the apps burned cycles");
        assert!(end.cmc_top_ups > 0, "developers topped up");
    }
    assert!(end.proposals_adopted >= 5 && end.proposals_rejected >= 1);
    assert_eq!(end.proposals_executed, end.proposals_adopted);
    assert_eq!(
        end.proposals_failed, 0,
        "the rate changes and the CMC upgrade executed"
    );
    assert_ne!(end.xdr_permyriad_per_icp, start.xdr_permyriad_per_icp);
    assert_eq!(
        economy.activity.neurons_disbursed, 1,
        "the short neuron dissolved"
    );
    assert!(economy.activity.maturity_disbursements > 0);
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
            users: 5,
            ..small()
        },
        Scenario { days: 0, ..small() },
        Scenario {
            network_age_years: -1.0,
            ..small()
        },
    ] {
        assert!(Economy::boot(Backend::Runtime, bad).is_err());
    }
}
