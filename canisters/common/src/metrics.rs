//! Metrics in the Prometheus text format, for `http_request` `/metrics`.

use std::fmt::Write;

#[derive(Default)]
pub struct Metrics(String);

impl Metrics {
    /// A value that can go up and down.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Into<f64>) -> &mut Self {
        self.metric(name, "gauge", help, value.into())
    }

    /// A value that only grows.
    pub fn counter(&mut self, name: &str, help: &str, value: impl Into<f64>) -> &mut Self {
        self.metric(name, "counter", help, value.into())
    }

    fn metric(&mut self, name: &str, kind: &str, help: &str, value: f64) -> &mut Self {
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
}
