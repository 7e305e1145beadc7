//! The main job: the ICP economy on the real canisters. Boots the ledger,
//! the CMC and governance on the local runtime at their well-known ids,
//! wired as on the NNS, simulates the scenario day by day with real canister
//! calls, then prints the table, writes the daily CSV and the PNG chart, and
//! checks that the canisters' figures reconcile.

use icp_economy::report;
use icp_economy::{Economy, Scenario, reconcile};
use indicatif::{ProgressBar, ProgressStyle};
use nns_harness::env::Backend;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: scripts/run.sh [options]

  --days N               days to simulate (default 30)
  --users N              users, at least 6 (default 40): one leader, a fifth
                         developers with an app canister each, the rest
                         holders with a neuron
  --seed N               seed of the deterministic scenario (default 1)
  --network-age-years Y  years since governance's genesis: sets the voting
                         reward rate, 10 % a year at 0 falling to 5 % at 8
                         (default 5.6, as the NNS in late 2026)
  --calls-per-app N      work calls each app gets on day 1 (default 200)
  --usage-growth P       growth of the work, percent a day (default 3)
  --runway-days N        developers top up when cycles would last fewer
                         days than this (default 5)
  --out DIR              where the CSV and the PNG go (default target/economy)
";

struct Options {
    scenario: Scenario,
    out: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut scenario = Scenario::default();
    let mut out = nns_harness::repo_root().join("target/economy");
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .map_err(|_| format!("{what}: '{value}' is not a number"))
        };
        let whole = |what: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what}: '{value}' is not a whole number"))
        };
        match flag.as_str() {
            "--days" => scenario.days = u32::try_from(whole(flag)?).map_err(|e| e.to_string())?,
            "--users" => scenario.users = u32::try_from(whole(flag)?).map_err(|e| e.to_string())?,
            "--seed" => scenario.seed = whole(flag)?,
            "--network-age-years" => scenario.network_age_years = number(flag)?,
            "--calls-per-app" => {
                scenario.calls_per_app = u32::try_from(whole(flag)?).map_err(|e| e.to_string())?
            }
            "--usage-growth" => scenario.usage_growth_percent = number(flag)?,
            "--runway-days" => {
                scenario.runway_days = u32::try_from(whole(flag)?).map_err(|e| e.to_string())?
            }
            "--out" => out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    scenario.validate()?;
    Ok(Options { scenario, out })
}

fn run(options: Options) -> Result<bool, String> {
    let Options { scenario, out } = options;
    let days = scenario.days;
    let users = scenario.users;
    println!(
        "Booting the ledger, the CMC and governance on the local runtime ({users} users, seed {})",
        scenario.seed
    );
    let mut economy = Economy::boot(Backend::Runtime, scenario)?;
    let progress = ProgressBar::new(u64::from(days));
    progress.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] day {pos}/{len} {msg} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    progress.set_prefix("simulating");
    let mut series = vec![economy.start.clone()];
    for day in 1..=days {
        let snapshot = economy.run_day(day)?;
        progress.set_message(format!(
            "supply {:.2} ICP",
            snapshot.supply_e8s as f64 / 1e8
        ));
        series.push(snapshot);
        progress.inc(1);
    }
    progress.finish();
    println!();

    let start = economy.start.clone();
    let end = series.last().expect("day 0 at least").clone();
    println!("The economy after {days} days, as the canisters report it\n");
    print!("{}", report::table(&start, &end, days, users));
    let a = &economy.activity;
    println!(
        "\nWorkload: {} transfers ({} refused for funds), {} work calls ({} refused: frozen), \
         {} top-ups, {} ICP → cycles ledger conversions, {} proposals, {} direct votes, \
         {} maturity disbursements, {} neurons disbursed",
        a.transfers,
        a.transfers_refused_for_funds,
        a.work_calls,
        a.work_calls_refused_frozen,
        a.top_ups,
        a.cycles_mints,
        a.proposals_made,
        a.direct_votes,
        a.maturity_disbursements,
        a.neurons_disbursed
    );

    let (sales, _) = economy.sales_summary()?;
    let s = &economy.sale_activity;
    println!(
        "\nDecentralization sales: {} launched ({} committed, {} aborted, {} not over); \
         {} participations ({} refused, {} over the maximum), {} late payments refunded; \
         {:.4} ICP locked in treasuries, {:.4} ICP refunded, \
         {:.4} ICP from the Neurons' Fund's maturity",
        s.launched,
        sales.committed,
        sales.aborted,
        sales.open_or_pending,
        s.participations,
        s.refused_participations,
        s.over_maximum,
        s.late_payments,
        sales.raised_e8s as f64 / 1e8,
        sales.refunded_e8s as f64 / 1e8,
        sales.neurons_fund_e8s as f64 / 1e8,
    );

    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let csv = out.join("economy.csv");
    std::fs::write(&csv, report::csv(&start, &series))
        .map_err(|e| format!("{}: {e}", csv.display()))?;
    let png = out.join("economy.png");
    report::chart(&start, &series, &png)?;
    println!(
        "\nDaily series: {}\nChart:        {}",
        csv.display(),
        png.display()
    );

    let checks = reconcile::reconcile(&mut economy, &end)?;
    println!("\nReconciliation\n{}", report::checks_text(&checks));
    Ok(checks.iter().all(|c| c.holds()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprint!("{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("the figures do not reconcile");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
