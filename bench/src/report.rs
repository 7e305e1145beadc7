//! The benchmark's one table: every figure with its anchor (the real NNS's
//! figure or the goal), compared with the committed baseline. Figures that
//! are exact (instructions, bytes) are the same on every run, so one more
//! than 10 % worse than its baseline is a regression; figures that are
//! timings are compared too, but vary with the machine and only warn.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Regressions beyond this, in percent, are flagged.
pub const TOLERANCE_PERCENT: f64 = 10.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Counted: instructions, bytes. The same sources give the same figure.
    Exact,
    /// Timed: depends on the machine and its load.
    Timing,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Stable name, the baseline's key.
    pub key: String,
    pub label: String,
    pub value: f64,
    pub unit: &'static str,
    pub better: Better,
    pub kind: Kind,
    /// The real NNS's figure, or the goal, as text.
    pub anchor: String,
}

#[derive(Default)]
pub struct Figures(pub Vec<Figure>);

impl Figures {
    /// An exact figure where lower is better (instructions, bytes).
    pub fn cost(&mut self, key: &str, label: &str, value: u64, unit: &'static str, anchor: &str) {
        self.0.push(Figure {
            key: key.into(),
            label: label.into(),
            value: value as f64,
            unit,
            better: Better::Lower,
            kind: Kind::Exact,
            anchor: anchor.into(),
        });
    }

    /// A timed cost where lower is better (µs, ms, resident memory).
    pub fn timing(&mut self, key: &str, label: &str, value: f64, unit: &'static str, anchor: &str) {
        self.0.push(Figure {
            key: key.into(),
            label: label.into(),
            value,
            unit,
            better: Better::Lower,
            kind: Kind::Timing,
            anchor: anchor.into(),
        });
    }

    /// A timed rate where higher is better (calls per second).
    pub fn rate(&mut self, key: &str, label: &str, value: f64, unit: &'static str, anchor: &str) {
        self.0.push(Figure {
            key: key.into(),
            label: label.into(),
            value,
            unit,
            better: Better::Higher,
            kind: Kind::Timing,
            anchor: anchor.into(),
        });
    }
}

/// `key<TAB>value` lines; `#` starts a comment.
pub fn parse_baseline(text: &str) -> Result<BTreeMap<String, f64>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (key, value) = line
                .split_once('\t')
                .ok_or_else(|| format!("not `key<TAB>value`: {line}"))?;
            let value = value
                .trim()
                .parse()
                .map_err(|_| format!("not a number: {line}"))?;
            Ok((key.to_string(), value))
        })
        .collect()
}

pub fn format_baseline(figures: &[Figure]) -> String {
    let mut out = String::from(
        "# Benchmark baseline: scripts/bench.sh --save-baseline writes it; scripts/bench.sh\n\
         # compares with it. key<TAB>value, for the default sizes.\n",
    );
    for f in figures {
        let _ = writeln!(out, "{}\t{}", f.key, f.value);
    }
    out
}

/// How much worse than `baseline` the figure is, in percent (negative:
/// better).
pub fn worse_by_percent(figure: &Figure, baseline: f64) -> f64 {
    if baseline == 0.0 {
        return 0.0;
    }
    let change = (figure.value - baseline) / baseline * 100.0;
    match figure.better {
        Better::Lower => change,
        Better::Higher => -change,
    }
}

/// What the comparison found.
#[derive(Debug, Default, PartialEq)]
pub struct Verdict {
    /// Exact figures more than the tolerance worse: these fail the run.
    pub regressions: Vec<String>,
    /// Timings more than the tolerance worse: reported only.
    pub slower: Vec<String>,
    /// Figures the baseline does not have.
    pub new: Vec<String>,
}

pub fn judge(figures: &[Figure], baseline: &BTreeMap<String, f64>) -> Verdict {
    let mut verdict = Verdict::default();
    for f in figures {
        let Some(&base) = baseline.get(&f.key) else {
            verdict.new.push(f.key.clone());
            continue;
        };
        if worse_by_percent(f, base) > TOLERANCE_PERCENT {
            match f.kind {
                Kind::Exact => verdict.regressions.push(f.key.clone()),
                Kind::Timing => verdict.slower.push(f.key.clone()),
            }
        }
    }
    verdict
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let digits = format!("{}", value as i64);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 && c != '-' {
                out.push(' ');
            }
            out.push(c);
        }
        out
    } else {
        format!("{value:.1}")
    }
}

/// The table, one line a figure, with the baseline's change where it has one.
pub fn table(figures: &[Figure], baseline: Option<&BTreeMap<String, f64>>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<44} {:>14} {:<8} {:>10}  real NNS / goal",
        "figure", "value", "unit", "vs base"
    );
    for f in figures {
        let change = baseline
            .and_then(|b| b.get(&f.key))
            .map(|&base| {
                let worse = worse_by_percent(f, base);
                let mark = if worse > TOLERANCE_PERCENT {
                    match f.kind {
                        Kind::Exact => " !!",
                        Kind::Timing => " ~",
                    }
                } else {
                    ""
                };
                let change = if base == 0.0 {
                    0.0
                } else {
                    (f.value - base) / base * 100.0
                };
                format!("{change:+.1}%{mark}")
            })
            .unwrap_or_else(|| "new".into());
        let _ = writeln!(
            out,
            "{:<44} {:>14} {:<8} {:>10}  {}",
            f.label,
            number(f.value),
            f.unit,
            change,
            f.anchor
        );
    }
    out
}

/// A field of `/proc/self/status` counted in kB (`VmRSS`, `VmHWM`), in
/// bytes; 0 where there is no such file.
pub fn process_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_status_gives_its_memory() {
        let resident = process_status_bytes("VmRSS");
        assert!(resident > 1024 * 1024, "{resident}");
        assert!(process_status_bytes("VmHWM") >= resident);
        assert_eq!(process_status_bytes("NoSuchField"), 0);
    }

    fn figures() -> Figures {
        let mut f = Figures::default();
        f.cost(
            "ledger.transfer",
            "icrc1_transfer",
            200_000,
            "instr",
            "~311 k",
        );
        f.rate("ledger.tps", "transfers per second", 1_000.0, "1/s", "");
        f
    }

    #[test]
    fn an_exact_figure_more_than_ten_percent_worse_is_a_regression() {
        let f = figures().0;
        let base = |transfer: f64, tps: f64| {
            BTreeMap::from([
                ("ledger.transfer".into(), transfer),
                ("ledger.tps".into(), tps),
            ])
        };
        assert_eq!(judge(&f, &base(200_000.0, 1_000.0)), Verdict::default());
        // 200 000 against 181 000 is 10.5 % more instructions.
        let verdict = judge(&f, &base(181_000.0, 1_000.0));
        assert_eq!(verdict.regressions, vec!["ledger.transfer".to_string()]);
        // 182 000: 9.9 %, within the tolerance; cheaper is never flagged.
        assert!(judge(&f, &base(182_000.0, 1_000.0)).regressions.is_empty());
        assert!(judge(&f, &base(400_000.0, 1_000.0)).regressions.is_empty());
        // Fewer calls a second is worse, but timings only warn.
        let verdict = judge(&f, &base(200_000.0, 1_200.0));
        assert_eq!(verdict.slower, vec!["ledger.tps".to_string()]);
        assert!(verdict.regressions.is_empty());
        // A figure the baseline lacks is new, not judged.
        assert_eq!(
            judge(&f, &BTreeMap::new()).new,
            vec!["ledger.transfer".to_string(), "ledger.tps".to_string()]
        );
    }

    #[test]
    fn the_baseline_round_trips_and_bad_lines_are_refused() {
        let f = figures().0;
        let parsed = parse_baseline(&format_baseline(&f)).unwrap();
        assert_eq!(parsed["ledger.transfer"], 200_000.0);
        assert_eq!(parsed["ledger.tps"], 1_000.0);
        assert!(parse_baseline("no tab here").is_err());
        assert!(parse_baseline("key\tnot-a-number").is_err());
    }

    #[test]
    fn the_table_shows_the_change_and_marks_regressions() {
        let f = figures().0;
        let base = BTreeMap::from([("ledger.transfer".into(), 100_000.0)]);
        let text = table(&f, Some(&base));
        assert!(text.contains("200 000"), "{text}");
        assert!(text.contains("+100.0% !!"), "{text}");
        assert!(text.contains("new"), "{text}");
    }
}
