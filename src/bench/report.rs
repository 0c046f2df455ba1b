//! Benchmark tables: Markdown for people, JSON for plots.

use serde::Serialize;

/// One measured case.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub backend: String,
    pub op: String,
    pub shape: String,
    pub dtype: String,
    pub seconds: f64,
    pub gflops: f64,
    pub gbs: f64,
    /// Achieved fraction of the roofline (compute or bandwidth, whichever binds).
    pub roofline_pct: f64,
    pub bound: &'static str,
    pub fallbacks: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchTable {
    pub title: String,
    pub notes: Vec<String>,
    pub rows: Vec<BenchRow>,
}

impl BenchTable {
    pub fn to_markdown(&self) -> String {
        let mut s = markdown_preamble(&self.title, &self.notes);
        s.push_str("| backend | op | shape | dtype | time | GFLOP/s | GB/s | % roofline | bound | fallbacks |\n");
        s.push_str("|---|---|---|---|---:|---:|---:|---:|---|---:|\n");
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0}% | {} | {} |\n",
                r.backend,
                r.op,
                r.shape,
                r.dtype,
                format_seconds(r.seconds),
                r.gflops,
                r.gbs,
                r.roofline_pct,
                r.bound,
                r.fallbacks
            ));
        }
        s
    }

    pub fn to_json(&self) -> String {
        to_json_pretty(self)
    }
}

/// `## title`, the notes as a bullet list, and a blank line before the table.
pub(super) fn markdown_preamble(title: &str, notes: &[String]) -> String {
    let mut s = format!("## {title}\n\n");
    for n in notes {
        s.push_str(&format!("- {n}\n"));
    }
    s.push('\n');
    s
}

/// Pretty JSON of a table (an `{"error": ...}` object if it cannot serialize).
pub(super) fn to_json_pretty<T: Serialize>(table: &T) -> String {
    serde_json::to_string_pretty(table).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// A duration with a unit that keeps 2-3 significant digits (µs, ms or s).
pub(super) fn format_seconds(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}
