//! The run's outputs: the final table, the daily series as CSV, and the
//! chart of the supply and of minted against burned ICP over time.

use super::E8S_PER_ICP;
use super::observe::Snapshot;
use super::reconcile::Check;
use crate::Scenario;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

fn icp(e8s: i128) -> String {
    let whole = e8s as f64 / E8S_PER_ICP as f64;
    if whole.abs() >= 1e6 {
        format!("{:.3} M", whole / 1e6)
    } else {
        format!("{whole:.2}")
    }
}

fn delta(end: u64, start: u64) -> i128 {
    i128::from(end) - i128::from(start)
}

/// What the series says, day by day, from `start`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flows {
    pub minted_node_providers: i128,
    /// Minted otherwise: maturity disbursed (voting rewards), the Neurons'
    /// Fund's sale participations.
    pub minted_from_maturity: i128,
    pub burned_for_cycles: i128,
    /// Burned otherwise (neuron fees) and transaction fees.
    pub burned_as_fees: i128,
    /// Voting rewards given as maturity (governance's reward events).
    pub rewards_accrued: i128,
}

/// The flows from `start` to each day of `days` (the first is `start`).
pub fn flows(start: &Snapshot, days: &[Snapshot]) -> Vec<Flows> {
    let mut accrued = 0i128;
    let mut last_round = start.reward_event_day;
    days.iter()
        .map(|s| {
            if s.reward_event_day > last_round {
                accrued += i128::from(s.reward_event_distributed_e8s);
                last_round = s.reward_event_day;
            }
            let minted = delta(s.ledger_minted_e8s, start.ledger_minted_e8s);
            let providers = delta(s.node_provider_e8s, start.node_provider_e8s);
            let for_cycles = delta(s.cmc_icp_burned_e8s, start.cmc_icp_burned_e8s);
            Flows {
                minted_node_providers: providers,
                minted_from_maturity: minted - providers,
                burned_for_cycles: for_cycles,
                burned_as_fees: delta(s.ledger_burned_e8s, start.ledger_burned_e8s) - for_cycles
                    + delta(s.ledger_fees_e8s, start.ledger_fees_e8s),
                rewards_accrued: accrued,
            }
        })
        .collect()
}

/// Net change of the supply, in percent a year.
pub fn inflation_percent_per_year(start: &Snapshot, end: &Snapshot) -> f64 {
    let seconds = end.time_seconds.saturating_sub(start.time_seconds).max(1) as f64;
    let change = delta(end.supply_e8s, start.supply_e8s) as f64 / start.supply_e8s.max(1) as f64;
    change * (365.25 * 24.0 * 3600.0 / seconds) * 100.0
}

/// The final table: what the economy did between `start` and the last day
/// of `days`, as the canisters report it.
pub fn table(
    scenario: &Scenario,
    start: &Snapshot,
    days: &[Snapshot],
    executions_per_day: Option<f64>,
) -> String {
    let end = days.last().expect("the start at least");
    let f = flows(start, days).pop().unwrap_or_default();
    let simulated = days.len().saturating_sub(1).max(1) as f64;
    let cycles_burned = end.app_cycles_burned - start.app_cycles_burned;
    let rows: Vec<(&str, String)> = vec![
        ("days simulated", (days.len() - 1).to_string()),
        (
            "neurons (each stands for)",
            format!(
                "{} ({:.0})",
                scenario.neurons,
                scenario.neurons_per_cohort()
            ),
        ),
        (
            "accounts (each stands for)",
            format!(
                "{} ({:.0})",
                scenario.accounts,
                scenario.accounts_per_cohort()
            ),
        ),
        (
            "apps / node providers",
            format!("{} / {}", scenario.apps, scenario.node_providers),
        ),
        ("ICP supply at start", icp(start.supply_e8s.into())),
        ("ICP supply at end", icp(end.supply_e8s.into())),
        (
            "net change of the supply (% a year)",
            format!("{:+.3}", inflation_percent_per_year(start, end)),
        ),
        (
            "ICP minted for node providers",
            icp(f.minted_node_providers),
        ),
        (
            "ICP minted from maturity (voting rewards)",
            icp(f.minted_from_maturity),
        ),
        ("voting rewards given as maturity", icp(f.rewards_accrued)),
        ("ICP burned for cycles (CMC)", icp(f.burned_for_cycles)),
        ("ICP burned as fees", icp(f.burned_as_fees)),
        ("ICP staked in neurons", icp(end.staked_e8s.into())),
        (
            "maturity held (staked + unstaked)",
            icp((end.maturity_e8s + end.staked_maturity_e8s).into()),
        ),
        (
            "cycles burned by apps (a second, on average)",
            format!(
                "{:.3e} ({:.2} B/s)",
                cycles_burned as f64,
                cycles_burned as f64 / (simulated * 86_400.0) / 1e9
            ),
        ),
        (
            "cycles minted (CMC)",
            format!(
                "{:.3e}",
                (end.cmc_cycles_minted - start.cmc_cycles_minted) as f64
            ),
        ),
        (
            "proposals adopted / rejected",
            format!(
                "{} / {}",
                end.proposals_adopted - start.proposals_adopted,
                end.proposals_rejected - start.proposals_rejected
            ),
        ),
        (
            "adopted proposals executed / failed",
            format!(
                "{} / {}",
                end.proposals_executed - start.proposals_executed,
                end.proposals_failed - start.proposals_failed
            ),
        ),
        (
            "canisters created / top-ups (CMC)",
            format!("{} / {}", end.cmc_canisters_created, end.cmc_top_ups),
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
        (
            "canister messages a simulated day",
            executions_per_day.map_or("not counted".into(), |m| format!("{m:.0}")),
        ),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in rows {
        let _ = writeln!(out, "{name:<width$}  {value:>26}");
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

pub const CSV_HEADER: &str = "day,time_seconds,supply_e8s,minted_node_providers_e8s,\
minted_from_maturity_e8s,rewards_accrued_e8s,burned_for_cycles_e8s,burned_as_fees_e8s,\
staked_e8s,maturity_e8s,neurons,proposals_adopted,proposals_rejected,cycles_minted,\
cycles_burned,app_cycles,xdr_permyriad_per_icp,blocks";

/// One line a day; the ICP flows count from `start`.
pub fn csv(start: &Snapshot, days: &[Snapshot]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for (day, (s, f)) in days.iter().zip(flows(start, days)).enumerate() {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            day,
            s.time_seconds,
            s.supply_e8s,
            f.minted_node_providers,
            f.minted_from_maturity,
            f.rewards_accrued,
            f.burned_for_cycles,
            f.burned_as_fees,
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

pub type Series = (String, RGBColor, Vec<(f64, f64)>);

pub const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Two panels: the supply; and ICP minted (node providers, voting rewards)
/// against ICP burned (cycles, fees), cumulated since the start, in
/// millions of ICP.
pub fn chart(start: &Snapshot, days: &[Snapshot], path: &Path) -> Result<(), String> {
    let flows = flows(start, days);
    let millions = |e8s: i128| e8s as f64 / E8S_PER_ICP as f64 / 1e6;
    let line = |name: &str, color: usize, f: &dyn Fn(usize) -> i128| -> Series {
        (
            name.into(),
            COLORS[color],
            (0..days.len())
                .map(|i| (i as f64, millions(f(i))))
                .collect(),
        )
    };
    let panels = vec![
        (
            "ICP total supply (M ICP)".to_string(),
            vec![line("supply", 0, &|i| days[i].supply_e8s.into())],
        ),
        (
            "Minted against burned since the start (M ICP)".to_string(),
            vec![
                line("minted: node providers", 1, &|i| {
                    flows[i].minted_node_providers
                }),
                line("minted: voting rewards (maturity disbursed)", 4, &|i| {
                    flows[i].minted_from_maturity
                }),
                line("voting rewards given as maturity", 5, &|i| {
                    flows[i].rewards_accrued
                }),
                line("burned: cycles", 2, &|i| flows[i].burned_for_cycles),
                line("burned: fees", 3, &|i| flows[i].burned_as_fees),
            ],
        ),
    ];
    draw(path, &panels, "day", "M ICP").map_err(|e| format!("{}: {e}", path.display()))
}

/// The corner of a panel where the legend covers the fewest points: a
/// falling line leaves the lower left empty, a rising one the upper left.
fn emptiest_corner(lines: &[Series], last_x: f64, (low, high): (f64, f64)) -> SeriesLabelPosition {
    // The legend's box: about two fifths of the width, a third of the
    // height for five lines.
    let (width, height) = (
        0.4 * last_x,
        (high - low) * (0.1 + 0.06 * lines.len() as f64),
    );
    let covered = |left: bool, upper: bool| {
        lines
            .iter()
            .flat_map(|(_, _, points)| points.iter())
            .filter(|(x, y)| {
                let across = if left {
                    *x <= width
                } else {
                    *x >= last_x - width
                };
                let down = if upper {
                    *y >= high - height
                } else {
                    *y <= low + height
                };
                across && down
            })
            .count()
    };
    [
        (SeriesLabelPosition::UpperLeft, true, true),
        (SeriesLabelPosition::LowerLeft, true, false),
        (SeriesLabelPosition::UpperRight, false, true),
        (SeriesLabelPosition::LowerRight, false, false),
    ]
    .into_iter()
    .min_by_key(|(_, left, upper)| covered(*left, *upper))
    .map(|(corner, _, _)| corner)
    .expect("four corners")
}

/// Panels of lines, one above the other.
pub fn draw(
    path: &Path,
    panels: &[(String, Vec<Series>)],
    x_desc: &str,
    y_desc: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    // Text needs a font; this one is embedded, so no system fonts are needed.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded font does not load")?;
    let root = BitMapBackend::new(path, (1200, 500 * panels.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (title, lines)) in areas.iter().zip(panels) {
        let points = || lines.iter().flat_map(|(_, _, p)| p.iter().copied());
        let last_x = points().map(|p| p.0).fold(1.0, f64::max);
        let (low, high) = points().fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.1), h.max(p.1)));
        let pad = ((high - low) * 0.1).max(high.abs() * 1e-6).max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(title.as_str(), ("sans-serif", 24))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..last_x, (low - pad)..(high + pad))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(("sans-serif", 16))
            .draw()?;
        for (name, color, points) in lines {
            let color = *color;
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(emptiest_corner(lines, last_x, (low - pad, high + pad)))
            .label_font(("sans-serif", 18))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: impl Fn(f64) -> f64) -> Series {
        (
            "line".into(),
            COLORS[0],
            (0..=100).map(|x| (x as f64, f(x as f64))).collect(),
        )
    }

    #[test]
    fn the_legend_goes_where_the_lines_are_not() {
        let falling = [line(|x| -x), line(|x| -2.0 * x)];
        assert!(matches!(
            emptiest_corner(&falling, 100.0, (-200.0, 0.0)),
            SeriesLabelPosition::LowerLeft
        ));
        let rising = [line(|x| x), line(|x| 0.5 * x)];
        assert!(matches!(
            emptiest_corner(&rising, 100.0, (0.0, 100.0)),
            SeriesLabelPosition::UpperLeft
        ));
        let peak = [line(|x| 100.0 - (x - 50.0).abs())];
        assert!(matches!(
            emptiest_corner(&peak, 100.0, (50.0, 100.0)),
            SeriesLabelPosition::UpperLeft | SeriesLabelPosition::UpperRight
        ));
    }
}
