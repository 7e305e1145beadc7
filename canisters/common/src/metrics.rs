//! Metrics in the Prometheus text format, for `http_request` `/metrics`.

use std::fmt::Write;

#[derive(Default)]
pub struct Metrics(String);

/// A metric's value: whole numbers are written as exact integers (an ICP
/// supply in e8s is above 2^53, where a float would round it), others as
/// floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricValue {
    Whole(u128),
    Float(f64),
}

impl std::fmt::Display for MetricValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole(n) => write!(f, "{n}"),
            Self::Float(x) => write!(f, "{x}"),
        }
    }
}

macro_rules! whole_metric_values {
    ($($t:ty),*) => {
        $(impl From<$t> for MetricValue {
            fn from(n: $t) -> Self {
                Self::Whole(n as u128)
            }
        })*
    };
}
whole_metric_values!(u8, u16, u32, u64, u128, usize);

impl From<f64> for MetricValue {
    fn from(x: f64) -> Self {
        Self::Float(x)
    }
}

impl Metrics {
    /// A value that can go up and down.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Into<MetricValue>) -> &mut Self {
        self.metric(name, "gauge", help, value.into())
    }

    /// A value that only grows.
    pub fn counter(&mut self, name: &str, help: &str, value: impl Into<MetricValue>) -> &mut Self {
        self.metric(name, "counter", help, value.into())
    }

    fn metric(&mut self, name: &str, kind: &str, help: &str, value: MetricValue) -> &mut Self {
        // Writing to a String cannot fail.
        let _ = writeln!(
            self.0,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
        self
    }

    pub fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_text_format() {
        let mut m = Metrics::default();
        m.gauge("supply", "Total supply.", 12u32)
            .counter("blocks", "Blocks made.", 3u32);
        assert_eq!(
            m.finish(),
            "# HELP supply Total supply.\n# TYPE supply gauge\nsupply 12\n\
             # HELP blocks Blocks made.\n# TYPE blocks counter\nblocks 3\n"
        );
    }

    #[test]
    fn whole_numbers_above_two_to_the_53_stay_exact() {
        let mut m = Metrics::default();
        m.counter("minted", "Minted.", 55_301_000_000_000_001u64)
            .gauge("ratio", "A ratio.", 0.25);
        let text = m.finish();
        assert!(text.contains("\nminted 55301000000000001\n"), "{text}");
        assert!(text.contains("\nratio 0.25\n"), "{text}");
    }
}
