//! A benchmark report printed for people: a fixed-width table for the terminal and the same
//! as a Markdown table (docs/benchmarks.md).

use super::case::BenchReport;

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// A table for people.
pub fn table(r: &BenchReport) -> String {
    let mut s = format!(
        "{} ({}, {}, {})\n",
        r.adapter.name, r.adapter.backend, r.adapter.device_type, r.adapter.driver
    );
    s.push_str(&format!(
        "  {:<30} {:>11} {:<15} {:>9} {:>10} {:>9} {:>9} {:>9} {:>7}\n",
        "case", "value", "unit", "GFLOP/s", "samples/s", "wall s", "device s", "cpu s", "% peak"
    ));
    for c in &r.cases {
        s.push_str(&format!(
            "  {:<30} {:>11.4e} {:<15} {:>9} {:>10} {:>9.3} {:>9} {:>9} {:>7}  {}\n",
            c.name,
            c.value,
            c.unit,
            opt(c.gflops, |g| format!("{g:.2}")),
            opt(c.samples_per_second, |v| format!("{v:.0}")),
            c.seconds,
            opt(c.device_seconds, |d| format!("{d:.3}")),
            opt(c.cpu_seconds, |d| format!("{d:.2}")),
            opt(c.peak_fraction, |f| format!("{:.1}", 100.0 * f)),
            c.detail
        ));
    }
    s
}

/// The same as a Markdown table (docs/benchmarks.md).
pub fn markdown(r: &BenchReport) -> String {
    let mut s = format!(
        "Adapter: {} ({}, {}, {}); insitu {}{}\n\n",
        r.adapter.name,
        r.adapter.backend,
        r.adapter.device_type,
        r.adapter.driver,
        r.version,
        opt(r.peak_gflops, |p| format!(", FP32 peak {p} GFLOP/s"))
    );
    s.push_str("| case | value | unit | GFLOP/s | MAC/s | cell-reads/s | samples/s | wall s | device s | % peak | detail |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in &r.cases {
        s.push_str(&format!(
            "| {} | {:.4e} | {} | {} | {} | {} | {} | {:.3} | {} | {} | {} |\n",
            c.name,
            c.value,
            c.unit,
            opt(c.gflops, |g| format!("{g:.2}")),
            opt(c.macs_per_second, |v| format!("{v:.3e}")),
            opt(c.cell_reads_per_second, |v| format!("{v:.3e}")),
            opt(c.samples_per_second, |v| format!("{v:.0}")),
            c.seconds,
            opt(c.device_seconds, |d| format!("{d:.3}")),
            opt(c.peak_fraction, |f| format!("{:.1}", 100.0 * f)),
            c.detail
        ));
    }
    s
}
