//! The main job: the ICP economy on the real canisters, calibrated to
//! mainnet. Boots the NNS canisters on the local runtime at their
//! well-known ids, simulates day by day with real canister calls, then
//! prints the table, writes the daily CSV and the chart, and checks that
//! the canisters' figures reconcile. `break-even` runs the economy at
//! several levels of computation demand and finds where the supply stops
//! growing.

use icp_economy::calibration::Calibration;
use icp_economy::{Economy, Scenario, reconcile, report, sweep};
use indicatif::{ProgressBar, ProgressStyle};
use nns_harness::env::Backend;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: scripts/run.sh [break-even] [options]

  (no command)           a year of mainnet's economy (--preset mainnet)
  break-even             the same economy at several levels of computation
                         demand (small cohorts, a year each): where does
                         the supply stop growing?

  --preset P             mainnet (default: 100 000 neurons, 1 000 000
                         accounts, 30 apps, 365 days) or small (24
                         neurons, 12 accounts, 6 apps, 16 days); the
                         amounts are mainnet's in both
  --days N               days to simulate
  --seed N               seed of the deterministic scenario (default 1)
  --neurons N            simulated neurons (each stands for mainnet's
                         390 000 / N)
  --accounts N           simulated accounts holding the liquid ICP
  --apps N               app canisters (mail, social, NFT marketplace)
  --node-providers N     node providers governance pays monthly
  --demand X             computation demand on day 1, × mainnet's burn
                         today (57.32 B cycles/s; default 1)
  --demand-growth P      its growth, percent a year (default 144)
  --transfers-per-day N  ICP transfers between accounts a day
  --runway-days N        apps are topped up when their cycles would last
                         fewer days than this
  --no-sales             no decentralization sales
  --levels X,Y,...       break-even: the demand levels (default
                         1,10,20,40,80)
  --no-break-even        the year only: without it, the mainnet preset's
                         year runs the break-even sweep alongside, in a
                         process of its own on another core, and prints
                         its answer after the year's report
  --out DIR              where the CSV and the charts go (default
                         target/economy)
";

struct Options {
    break_even: bool,
    /// The year's run starts the break-even sweep alongside.
    sweep_alongside: bool,
    scenario: Scenario,
    levels: Vec<f64>,
    out: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut args: Vec<&String> = args.iter().collect();
    let break_even = args.first().is_some_and(|a| a.as_str() == "break-even");
    if break_even {
        args.remove(0);
    }
    // The preset first: the other options change it.
    let preset = args
        .iter()
        .position(|a| a.as_str() == "--preset")
        .map(|i| args.get(i + 1).map(|v| v.as_str()).unwrap_or(""));
    let mut scenario = match preset {
        None if break_even => sweep::scenario(),
        None | Some("mainnet") => Scenario::mainnet(),
        Some("small") => Scenario::small(),
        Some(other) => return Err(format!("unknown preset '{other}': mainnet or small")),
    };
    let mut levels = sweep::DEFAULT_LEVELS.to_vec();
    let mut sweep_alongside = !break_even && matches!(preset, None | Some("mainnet"));
    let mut out = nns_harness::repo_root().join("target/economy");
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--no-sales" {
            scenario.sales = false;
            continue;
        }
        if flag == "--no-break-even" {
            sweep_alongside = false;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{what}: '{value}' is not a number"))
        };
        let whole = |what: &str| -> Result<u32, String> {
            value
                .parse::<u32>()
                .map_err(|_| format!("{what}: '{value}' is not a whole number"))
        };
        match flag.as_str() {
            "--preset" => {}
            "--days" => scenario.days = whole(flag)?,
            "--seed" => scenario.seed = u64::from(whole(flag)?),
            "--neurons" => scenario.neurons = whole(flag)?,
            "--accounts" => scenario.accounts = whole(flag)?,
            "--apps" => scenario.apps = whole(flag)?,
            "--node-providers" => scenario.node_providers = whole(flag)?,
            "--demand" => scenario.demand = number(flag)?,
            "--demand-growth" => scenario.demand_growth_percent_per_year = number(flag)?,
            "--transfers-per-day" => scenario.transfers_per_day = whole(flag)?,
            "--runway-days" => scenario.runway_days = whole(flag)?,
            "--levels" => {
                levels = value
                    .split(',')
                    .map(|l| {
                        l.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite() && *v >= 0.0)
                            .ok_or_else(|| format!("--levels: '{l}' is not a demand level"))
                    })
                    .collect::<Result<_, _>>()?;
                if levels.len() < 2 || levels.windows(2).any(|w| w[0] >= w[1]) {
                    return Err("--levels: at least two, in increasing order".into());
                }
            }
            "--out" => out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    scenario.validate()?;
    for &level in &levels {
        Scenario {
            demand: level,
            ..scenario.clone()
        }
        .validate()?;
    }
    Ok(Options {
        break_even,
        sweep_alongside,
        scenario,
        levels,
        out,
    })
}

fn progress_bar(days: u32, prefix: String) -> ProgressBar {
    let bar = ProgressBar::new(u64::from(days));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:40}] day {pos}/{len} {msg} ({elapsed}, about {eta} left)",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}

fn run(scenario: Scenario, out: PathBuf) -> Result<bool, String> {
    let days = scenario.days;
    println!(
        "Booting the NNS on the local runtime: {} neurons, {} accounts, {} apps, {} node providers \
         (mainnet's amounts: {} M ICP), seed {}",
        scenario.neurons,
        scenario.accounts,
        scenario.apps,
        scenario.node_providers,
        scenario.calibration.supply_icp / 1_000_000,
        scenario.seed
    );
    let booted = Instant::now();
    let mut economy = Economy::boot(Backend::Runtime, scenario.clone())?;
    println!(
        "Booted in {:.0} s (the run starts on simulated {})",
        booted.elapsed().as_secs_f64(),
        economy.start.time_seconds
    );
    let progress = progress_bar(days, "simulating".into());
    let started = Instant::now();
    let mut series = vec![economy.start.clone()];
    for day in 1..=days {
        let snapshot = economy.run_day(day)?;
        progress.set_message(format!(
            "supply {:.3} M ICP",
            snapshot.supply_e8s as f64 / 1e14
        ));
        series.push(snapshot);
        progress.inc(1);
    }
    progress.finish();
    let wall = started.elapsed().as_secs_f64();
    println!();

    let executions_per_day = economy
        .env
        .executions()
        .zip(economy.start_executions)
        .map(|(end, start)| (end - start) as f64 / f64::from(days));
    println!(
        "The economy after {days} days, as the canisters report it ({wall:.0} s, {:.2} s a day)\n",
        wall / f64::from(days)
    );
    print!(
        "{}",
        report::table(&scenario, &economy.start, &series, executions_per_day)
    );
    let per_day: Vec<String> = economy
        .instructions_by_canister()
        .into_iter()
        .zip(&economy.start_instructions)
        .map(|((name, end), (_, start))| {
            let billions = (end - start) as f64 / 1e9 / f64::from(days);
            format!("{name} {billions:.1} B")
        })
        .collect();
    if !per_day.is_empty() {
        println!(
            "\nInstructions a simulated day, as the IC meters them: {}",
            per_day.join(", ")
        );
    }
    let a = &economy.activity;
    println!(
        "\nWorkload: {} transfers ({} refused for funds), {} NFT sales, {} app batches \
         ({} requests, {} refused: frozen), {} queries, {} top-ups ({:.0} ICP bought by developers \
         on the market), {} ICP → cycles ledger conversions, {} proposals, {} direct votes, {} maturity disbursements, {} neurons \
         disbursed, {} confirmations of following; {} update calls by the users",
        a.transfers,
        a.transfers_refused_for_funds,
        a.nft_sales,
        a.batches,
        a.served_requests,
        a.batches_refused_frozen,
        a.queries,
        a.top_ups,
        a.icp_bought_for_cycles_e8s as f64 / 1e8,
        a.cycles_mints,
        a.proposals_made,
        a.direct_votes,
        a.maturity_disbursements,
        a.neurons_disbursed,
        a.voting_power_refreshes,
        a.messages
    );
    if scenario.sales {
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
    }
    println!(
        "\nThe apps' executed work stands for the network's computation: each batch burns \
         the cycles of its share of mainnet's demand ({:.2} B cycles/s × {} on day 1, \
         +{:.0} % a year) with ic0.cycles_burn128 beyond what it executes.",
        scenario.calibration.cycles_burned_per_second / 1e9,
        scenario.demand,
        scenario.demand_growth_percent_per_year
    );

    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let csv = out.join("economy.csv");
    std::fs::write(&csv, report::csv(&economy.start, &series))
        .map_err(|e| format!("{}: {e}", csv.display()))?;
    let png = out.join("economy.png");
    report::chart(&economy.start, &series, &png)?;
    println!(
        "\nDaily series: {}\nChart:        {}",
        csv.display(),
        png.display()
    );

    let end = series.last().expect("day 0 at least").clone();
    let reconciling = Instant::now();
    // No steady tick: a drawing thread would make every heap-protection
    // change of the runtime interrupt the other core.
    let spinner = ProgressBar::new_spinner();
    let mut stages: Vec<(&'static str, Instant)> = vec![];
    let checks = reconcile::reconcile_reporting(&mut economy, &end, &mut |stage| {
        spinner.set_message(format!("reconciling {stage}"));
        spinner.tick();
        stages.push((stage, Instant::now()));
    })?;
    spinner.finish_and_clear();
    let ends = stages.iter().skip(1).map(|s| s.1).chain([Instant::now()]);
    let timings: Vec<String> = stages
        .iter()
        .zip(ends)
        .map(|((stage, began), ended)| format!("{stage} {:.0} s", (ended - *began).as_secs_f64()))
        .collect();
    println!(
        "\nReconciliation (in {:.0} s: {})\n{}",
        reconciling.elapsed().as_secs_f64(),
        timings.join(", "),
        report::checks_text(&checks)
    );
    Ok(checks.iter().all(|c| c.holds()))
}

/// The year's run, with the break-even sweep (default levels, small
/// cohorts) in a child process: a process of its own, so that it runs on
/// the other core without sharing the runtime's address space (whose heap
/// journal makes every thread of it pay for the others' page-table
/// changes). Its answer is printed after the year's reconciliation.
fn run_with_sweep(scenario: Scenario, levels: &[f64], out: PathBuf) -> Result<bool, String> {
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("the simulator's path: {e}"))?;
    // The options that change the answer go along; the year's size does
    // not (the sweep's cohorts are small, its horizon a year).
    let levels: Vec<String> = levels.iter().map(f64::to_string).collect();
    let mut command = std::process::Command::new(exe);
    command
        .args(["break-even", "--levels", &levels.join(",")])
        .args(["--seed", &scenario.seed.to_string()])
        .args([
            "--demand-growth",
            &scenario.demand_growth_percent_per_year.to_string(),
        ])
        .arg("--out")
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if !scenario.sales {
        command.arg("--no-sales");
    }
    let child = command
        .spawn()
        .map_err(|e| format!("starting the break-even sweep: {e}"))?;
    let mut sweep = KillOnDrop(Some(child));
    let year = run(scenario, out);
    let mut child = sweep.0.take().expect("taken once");
    if year.is_err() {
        let _ = child.kill();
    } else if child.try_wait().is_ok_and(|done| done.is_none()) {
        println!("\nWaiting for the break-even sweep…");
    }
    let swept = child.wait_with_output();
    let year = year?;
    let swept = swept.map_err(|e| format!("the break-even sweep: {e}"))?;
    println!("\nThe break-even sweep, run alongside (alone: scripts/run.sh break-even):\n");
    print!("{}", String::from_utf8_lossy(&swept.stdout));
    if !swept.status.success() {
        if !year {
            eprintln!("the figures do not reconcile");
        }
        return Err(format!(
            "the break-even sweep failed ({}): {}",
            swept.status,
            String::from_utf8_lossy(&swept.stderr).trim()
        ));
    }
    Ok(year)
}

/// A child process killed (and reaped) when its handle is dropped, as when
/// the year's run panics: the sweep does not run on alone.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn break_even(scenario: Scenario, levels: Vec<f64>, out: PathBuf) -> Result<bool, String> {
    let c: Calibration = scenario.calibration.clone();
    println!(
        "Break-even: {} days at each of the demand levels {:?} (× mainnet's {:.2} B cycles/s \
         today, +{:.0} % a year), {} neurons, {} accounts, {} apps",
        scenario.days,
        levels,
        c.cycles_burned_per_second / 1e9,
        scenario.demand_growth_percent_per_year,
        scenario.neurons,
        scenario.accounts,
        scenario.apps
    );
    let started = Instant::now();
    let mut results = vec![];
    for &demand in &levels {
        let bar = progress_bar(scenario.days, format!("demand × {demand:<5}"));
        let level = sweep::run_level(&scenario, demand, |_| bar.inc(1))?;
        bar.finish();
        results.push(level);
    }
    let wall = started.elapsed().as_secs_f64();
    println!();
    println!(
        "{:>10}  {:>16}  {:>16}  {:>16}",
        "demand", "minted (M ICP)", "burned (M ICP)", "supply (M ICP)"
    );
    for level in &results {
        println!(
            "{:>10}  {:>16.3}  {:>16.3}  {:>+16.3}",
            format!("× {}", level.demand),
            level.minted_e8s() as f64 / 1e14,
            level.burned_for_cycles_e8s() as f64 / 1e14,
            level.supply_change_e8s() as f64 / 1e14
        );
    }
    let (voting, providers) = c.minting_icp_per_year();
    let burn = c.burn_icp_per_year();
    println!(
        "\nInputs: supply {} M ICP; voting rewards {:.1} M ICP a year (R at {:.2} years × \
         0.6329), node providers {:.1} M ICP a year ({:.2} M XDR a month at {:.4} XDR/ICP); \
         today's burn {:.2} M ICP a year; its growth +{:.0} % a year. Wall time {wall:.0} s.",
        c.supply_icp / 1_000_000,
        voting / 1e6,
        c.network_age_years(),
        providers / 1e6,
        c.node_provider_xdr_per_month as f64 / 1e6,
        c.xdr_permyriad_per_icp as f64 / 1e4,
        burn / 1e6,
        scenario.demand_growth_percent_per_year
    );
    match sweep::break_even(&results) {
        Some(demand) => println!(
            "\nAnswer: over {} days the supply stops growing when computation demand starts at \
             × {demand:.1} today's burn ({:.0} B cycles/s) and grows +{:.0} % a year.",
            scenario.days,
            demand * c.cycles_burned_per_second / 1e9,
            scenario.demand_growth_percent_per_year
        ),
        None => println!(
            "\nAnswer: no level straddles zero; widen --levels (the supply changed by {:?} M ICP)",
            results
                .iter()
                .map(|l| (l.supply_change_e8s() as f64 / 1e14 * 1e3).round() / 1e3)
                .collect::<Vec<_>>()
        ),
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let png = out.join("break-even.png");
    sweep::chart(&results, &png)?;
    println!("Chart: {}", png.display());
    Ok(true)
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
    let result = if options.break_even {
        break_even(options.scenario, options.levels, options.out)
    } else if options.sweep_alongside {
        run_with_sweep(options.scenario, &options.levels, options.out)
    } else {
        run(options.scenario, options.out)
    };
    match result {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Options {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse(&args).unwrap()
    }

    #[test]
    fn the_mainnet_year_runs_the_sweep_alongside_unless_told_not_to() {
        assert!(parsed(&[]).sweep_alongside);
        assert!(parsed(&["--preset", "mainnet", "--days", "30"]).sweep_alongside);
        assert!(!parsed(&["--no-break-even"]).sweep_alongside);
        assert!(!parsed(&["--preset", "small"]).sweep_alongside);
        let sweep = parsed(&["break-even"]);
        assert!(sweep.break_even && !sweep.sweep_alongside);
    }
}
