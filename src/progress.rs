//! Progress bars for long commands: drawn on stderr only when it is a terminal, and never
//! under `--quiet` (which also silences per-epoch progress lines).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no bars, no progress lines.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A bar over `total` items of `unit` (e.g. "samples"), labelled `prefix`.
pub fn bar(total: u64, unit: &str, prefix: &str) -> ProgressBar {
    if quiet() {
        return ProgressBar::hidden();
    }
    // indicatif's stderr target draws nothing when stderr is not a terminal.
    let b = ProgressBar::new(total);
    let template =
        format!("{{prefix}} {{bar:30}} {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        b.set_style(style);
    }
    b.set_prefix(prefix.to_string());
    b
}

/// A spinner with elapsed time for work of unknown length.
pub fn spinner(prefix: &str) -> ProgressBar {
    if quiet() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{prefix} {spinner} {elapsed} {msg}") {
        b.set_style(style);
    }
    b.set_prefix(prefix.to_string());
    b.enable_steady_tick(Duration::from_millis(200));
    b
}

/// Prints a progress line to stderr (unless quiet) without tearing `bar`.
pub fn note(bar: &ProgressBar, line: &str) {
    if !quiet() {
        bar.suspend(|| eprintln!("{line}"));
    }
}
