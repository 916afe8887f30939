//! Prometheus text exposition format 0.0.4, written by hand: metric families with `# HELP` and
//! `# TYPE` lines, label escaping, label-name sanitising and the number spelling of Python's
//! `prometheus_client` (the legacy exporter), so dashboards written against the legacy host keep
//! matching (for example `fps_hist_bucket{le="20.0"}`).

use std::fmt::Write as _;

/// Content type of the text format served on `/metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The family types the text format knows and we emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
    Histogram,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
        }
    }
}

/// Python `prometheus_client`'s `floatToGoString`: `+Inf`, `-Inf`, `NaN`, and a trailing `.0` on
/// integral values; everything else in Rust's shortest round-trip spelling.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// Escapes a label value: backslash, double quote and line feed (the only escapes the format has).
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes HELP text: backslash and line feed.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Maps an arbitrary key onto the label-name grammar `[a-zA-Z_][a-zA-Z0-9_]*`.
///
/// The legacy host exposes RTCStats keys such as `inbound-rtp.framesPerSecond` verbatim, which
/// the classic text format rejects (docs/protocol.md §9.1 ambiguity); every other character
/// becomes `_`, a leading digit gets a `_` prefix, and the reserved `__` prefix is avoided.
pub fn sanitize_label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.starts_with("__") {
        out.replace_range(..2, "x_");
    }
    out
}

/// Builds one exposition document, family by family.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, help: &str, kind: MetricType) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line; label names must already satisfy the grammar.
    pub fn sample<'a, I>(&mut self, name: &str, labels: I, value: f64)
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.out.push_str(name);
        let mut first = true;
        for (k, v) in labels {
            self.out.push(if first { '{' } else { ',' });
            first = false;
            let _ = write!(self.out, "{k}=\"{}\"", escape_label_value(v));
        }
        if !first {
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&format_value(value));
        self.out.push('\n');
    }

    /// A whole single-sample gauge family.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, help, MetricType::Gauge);
        self.sample(name, [], value);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A cumulative histogram with fixed upper bounds (the `+Inf` bucket is implicit).
#[derive(Clone, Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    /// Non-cumulative counts per bound, plus one for `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
    created: f64,
}

impl Histogram {
    /// `bounds` must be ascending; `created` is the Unix time exposed as `<name>_created`.
    pub fn new(bounds: &[f64], created: f64) -> Self {
        Self {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
            created,
        }
    }

    pub fn observe(&mut self, v: f64) {
        let idx = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[idx] += 1;
        self.sum += v;
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// (upper bound, cumulative count) per bucket, `None` for `+Inf`.
    pub fn cumulative(&self) -> Vec<(Option<f64>, u64)> {
        let mut total = 0u64;
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                total += c;
                (self.bounds.get(i).copied(), total)
            })
            .collect()
    }

    /// Writes `<name>_bucket{le=…}`, `<name>_count`, `<name>_sum` and, like `prometheus_client`,
    /// a separate `<name>_created` gauge family.
    pub fn write(&self, exp: &mut Exposition, name: &str, help: &str) {
        exp.family(name, help, MetricType::Histogram);
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c;
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| format_value(*b));
            exp.sample(&bucket, [("le", le.as_str())], cumulative as f64);
        }
        exp.sample(&format!("{name}_count"), [], self.count as f64);
        exp.sample(&format!("{name}_sum"), [], self.sum);
        let created = format!("{name}_created");
        exp.gauge(&created, help, self.created);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_spelled_like_prometheus_client() {
        assert_eq!(format_value(60.0), "60.0");
        assert_eq!(format_value(0.0), "0.0");
        assert_eq!(format_value(-3.0), "-3.0");
        assert_eq!(format_value(29.97), "29.97");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
    }

    #[test]
    fn label_values_escaped() {
        assert_eq!(escape_label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label_value("x\ny"), "x\\ny");
    }

    #[test]
    fn rtcstats_keys_become_label_names() {
        assert_eq!(
            sanitize_label_name("inbound-rtp.framesPerSecond"),
            "inbound_rtp_framesPerSecond"
        );
        assert_eq!(
            sanitize_label_name("candidate-pair-CPabc/12.currentRoundTripTime"),
            "candidate_pair_CPabc_12_currentRoundTripTime"
        );
        assert_eq!(sanitize_label_name("1x"), "_1x");
        assert_eq!(sanitize_label_name("__name"), "x_name");
        assert_eq!(sanitize_label_name(""), "_");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::new(&[0.0, 20.0, 40.0, 60.0], 1_700_000_000.5);
        for v in [0.0, 15.0, 30.0, 60.0, 61.0] {
            h.observe(v);
        }
        let mut e = Exposition::new();
        h.write(&mut e, "fps_hist", "Histogram of FPS observed by client");
        let text = e.finish();
        let expected = "\
# HELP fps_hist Histogram of FPS observed by client
# TYPE fps_hist histogram
fps_hist_bucket{le=\"0.0\"} 1.0
fps_hist_bucket{le=\"20.0\"} 2.0
fps_hist_bucket{le=\"40.0\"} 3.0
fps_hist_bucket{le=\"60.0\"} 4.0
fps_hist_bucket{le=\"+Inf\"} 5.0
fps_hist_count 5.0
fps_hist_sum 166.0
# HELP fps_hist_created Histogram of FPS observed by client
# TYPE fps_hist_created gauge
fps_hist_created 1700000000.5
";
        assert_eq!(text, expected);
    }
}
