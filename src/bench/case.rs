//! A benchmark run's report, one case's result, and the inputs the cases draw.

use serde::Serialize;

use crate::gpu::AdapterSummary;

/// What ran, on which adapter, and every case's result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub version: String,
    pub adapter: AdapterSummary,
    pub quick: bool,
    /// The adapter's FP32 peak in GFLOP/s, when given.
    pub peak_gflops: Option<f64>,
    pub cases: Vec<Case>,
    pub wall_seconds: f64,
}

/// One case: its headline number with the rates a reader compares across adapters.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub name: String,
    /// Wall-clock seconds of the timed work.
    pub seconds: f64,
    /// Device seconds from timestamp queries around every submitted pass (GPU backends with
    /// timestamp support; `None` otherwise).
    pub device_seconds: Option<f64>,
    /// Process CPU seconds (user + system, all threads) over the case, where known.
    pub cpu_seconds: Option<f64>,
    /// The headline number and its unit.
    pub value: f64,
    pub unit: String,
    pub macs_per_second: Option<f64>,
    pub gflops: Option<f64>,
    pub cell_reads_per_second: Option<f64>,
    pub samples_per_second: Option<f64>,
    /// GFLOP/s over the peak given with `--peak-gflops`.
    pub peak_fraction: Option<f64>,
    pub detail: String,
}

impl Case {
    pub(super) fn new(
        name: impl Into<String>,
        seconds: f64,
        value: f64,
        unit: &str,
        detail: String,
    ) -> Case {
        Case {
            name: name.into(),
            seconds,
            device_seconds: None,
            cpu_seconds: None,
            value,
            unit: unit.into(),
            macs_per_second: None,
            gflops: None,
            cell_reads_per_second: None,
            samples_per_second: None,
            peak_fraction: None,
            detail,
        }
    }

    /// Sets MAC/s and GFLOP/s from a MAC count done in `seconds`.
    pub(super) fn with_macs(mut self, macs: f64) -> Case {
        self.macs_per_second = Some(macs / self.seconds);
        self.gflops = Some(2.0 * macs / self.seconds / 1e9);
        self
    }
}

/// `n` uniform values in [-1, 1] from a fixed stream.
pub(super) fn rand(n: usize, stream: u32) -> Vec<f32> {
    crate::nn::init::uniform_sym(n, 1.0, 7, crate::rng::Purpose::Sample, stream)
}
