//! The run's outputs: the final table, the daily series as CSV and a chart
//! of supply, minted and burned ICP as PNG.

use super::E8S_PER_ICP;
use super::observe::Snapshot;
use super::reconcile::Check;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

fn icp(e8s: i128) -> String {
    format!("{:.4}", e8s as f64 / E8S_PER_ICP as f64)
}

fn delta(end: u64, start: u64) -> i128 {
    i128::from(end) - i128::from(start)
}

/// Net change of the supply, in percent a year.
pub fn inflation_percent_per_year(start: &Snapshot, end: &Snapshot) -> f64 {
    let seconds = end.time_seconds.saturating_sub(start.time_seconds).max(1) as f64;
    let change = delta(end.supply_e8s, start.supply_e8s) as f64 / start.supply_e8s.max(1) as f64;
    change * (365.25 * 24.0 * 3600.0 / seconds) * 100.0
}

/// The final table: what the economy did between `start` and `end`.
pub fn table(start: &Snapshot, end: &Snapshot, days: u32, users: u32) -> String {
    let burned_for_cycles = delta(end.cmc_icp_burned_e8s, start.cmc_icp_burned_e8s);
    let burned_other = delta(end.ledger_burned_e8s, start.ledger_burned_e8s) - burned_for_cycles;
    let rows: Vec<(&str, String)> = vec![
        ("days simulated", days.to_string()),
        ("users", users.to_string()),
        ("ICP supply at start", icp(start.supply_e8s.into())),
        ("ICP supply at end", icp(end.supply_e8s.into())),
        (
            "ICP minted (voting rewards)",
            icp(delta(end.ledger_minted_e8s, start.ledger_minted_e8s)),
        ),
        ("ICP burned for cycles (CMC)", icp(burned_for_cycles)),
        ("ICP burned as neuron fees", icp(burned_other)),
        (
            "ICP burned as transaction fees",
            icp(delta(end.ledger_fees_e8s, start.ledger_fees_e8s)),
        ),
        (
            "net inflation (% a year)",
            format!("{:+.3}", inflation_percent_per_year(start, end)),
        ),
        ("ICP staked in neurons", icp(end.staked_e8s.into())),
        (
            "maturity held (staked + unstaked)",
            icp((end.maturity_e8s + end.staked_maturity_e8s).into()),
        ),
        ("neurons", end.neurons.to_string()),
        (
            "proposals adopted / rejected",
            format!("{} / {}", end.proposals_adopted, end.proposals_rejected),
        ),
        (
            "adopted proposals executed / failed",
            format!("{} / {}", end.proposals_executed, end.proposals_failed),
        ),
        (
            "canisters created / top-ups (CMC)",
            format!("{} / {}", end.cmc_canisters_created, end.cmc_top_ups),
        ),
        (
            "cycles minted (CMC)",
            (end.cmc_cycles_minted - start.cmc_cycles_minted).to_string(),
        ),
        (
            "cycles burned by app canisters",
            (end.app_cycles_burned - start.app_cycles_burned).to_string(),
        ),
        (
            "cycles held by app canisters",
            end.app_cycles_balance.to_string(),
        ),
        (
            "cycles on the cycles ledger / its blocks",
            format!(
                "{} / {}",
                end.cycles_ledger_supply, end.cycles_ledger_blocks
            ),
        ),
        (
            "ICP/XDR rate at start / end",
            format!(
                "{:.4} / {:.4}",
                start.xdr_permyriad_per_icp as f64 / 1e4,
                end.xdr_permyriad_per_icp as f64 / 1e4
            ),
        ),
        ("ledger blocks", end.blocks.to_string()),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in rows {
        let _ = writeln!(out, "{name:<width$}  {value:>24}");
    }
    out
}

pub fn checks_text(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let mark = if c.holds() { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "{mark} {}: {} = {}", c.what, c.left, c.right);
    }
    out
}

pub const CSV_HEADER: &str = "day,time_seconds,supply_e8s,minted_e8s,burned_for_cycles_e8s,\
burned_neuron_fees_e8s,transaction_fees_e8s,staked_e8s,maturity_e8s,neurons,\
proposals_adopted,proposals_rejected,cycles_minted,cycles_burned,app_cycles,\
xdr_permyriad_per_icp,blocks";

/// One line a day; the ICP flows count from `start`.
pub fn csv(start: &Snapshot, days: &[Snapshot]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for (day, s) in days.iter().enumerate() {
        let for_cycles = delta(s.cmc_icp_burned_e8s, start.cmc_icp_burned_e8s);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            day,
            s.time_seconds,
            s.supply_e8s,
            delta(s.ledger_minted_e8s, start.ledger_minted_e8s),
            for_cycles,
            delta(s.ledger_burned_e8s, start.ledger_burned_e8s) - for_cycles,
            delta(s.ledger_fees_e8s, start.ledger_fees_e8s),
            s.staked_e8s,
            s.maturity_e8s + s.staked_maturity_e8s,
            s.neurons,
            s.proposals_adopted,
            s.proposals_rejected,
            s.cmc_cycles_minted - start.cmc_cycles_minted,
            s.app_cycles_burned - start.app_cycles_burned,
            s.app_cycles_balance,
            s.xdr_permyriad_per_icp,
            s.blocks,
        );
    }
    out
}

type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// One panel a flow, as they differ by orders of magnitude: supply; minted
/// since the start; burned since the start.
pub fn chart(start: &Snapshot, days: &[Snapshot], path: &Path) -> Result<(), String> {
    // Text needs a font; this one is embedded, so no system fonts are needed.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded font does not load")?;
    let series = |f: &dyn Fn(&Snapshot) -> i128| -> Vec<(f64, f64)> {
        days.iter()
            .enumerate()
            .map(|(i, s)| (i as f64, f(s) as f64 / E8S_PER_ICP as f64))
            .collect()
    };
    let for_cycles = |s: &Snapshot| delta(s.cmc_icp_burned_e8s, start.cmc_icp_burned_e8s);
    let panels: Vec<(&str, Vec<Series>)> = vec![
        (
            "ICP total supply",
            vec![(
                "supply",
                RGBColor(0x1f, 0x77, 0xb4),
                series(&|s| s.supply_e8s.into()),
            )],
        ),
        (
            "ICP minted since the start",
            vec![(
                "minted (voting rewards)",
                RGBColor(0x2c, 0xa0, 0x2c),
                series(&|s| delta(s.ledger_minted_e8s, start.ledger_minted_e8s)),
            )],
        ),
        (
            "ICP burned since the start",
            vec![
                (
                    "burned for cycles",
                    RGBColor(0xd6, 0x27, 0x28),
                    series(&for_cycles),
                ),
                (
                    "burned as fees",
                    RGBColor(0xff, 0x7f, 0x0e),
                    series(&|s| {
                        delta(s.ledger_fees_e8s, start.ledger_fees_e8s)
                            + delta(s.ledger_burned_e8s, start.ledger_burned_e8s)
                            - for_cycles(s)
                    }),
                ),
            ],
        ),
    ];
    draw(path, &panels).map_err(|e| format!("{}: {e}", path.display()))
}

fn draw(path: &Path, panels: &[(&str, Vec<Series>)]) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1200, 1200)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (title, lines)) in areas.iter().zip(panels) {
        let points = || lines.iter().flat_map(|(_, _, p)| p.iter().copied());
        let last_day = points().map(|p| p.0).fold(1.0, f64::max);
        let (low, high) = points().fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.1), h.max(p.1)));
        let pad = ((high - low) * 0.1).max(high.abs() * 1e-6).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(*title, ("sans-serif", 24))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..last_day, (low - pad)..(high + pad))?;
        chart
            .configure_mesh()
            .x_desc("day")
            .y_desc("ICP")
            .label_style(("sans-serif", 16))
            .draw()?;
        for (name, color, points) in lines {
            let color = *color;
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 18))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
