//! Shared helpers of the crossbar tests.

use insitu::config::{AdcMode, ArrayConfig, DeviceConfig, Mapping};
use insitu::rng::{key, philox4x32_10, uniform, Purpose};
use insitu::xbar::{Knobs, Xbar};

/// Deterministic test values in [lo, hi).
pub fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let k = key(seed, Purpose::Init, 999);
    (0..n)
        .map(|i| lo + (hi - lo) * uniform(philox4x32_10([i as u32, 0, 0, 0], k)[0]))
        .collect()
}

/// An ideal array: huge on/off, no noise, unit ADC with 16 bits.
pub fn ideal(
    mapping: Mapping,
    weight_bits: u32,
    cell_bits: u32,
    input_bits: u32,
    dac_bits: u32,
) -> Xbar {
    Xbar {
        array: ArrayConfig {
            weight_bits,
            cell_bits,
            input_bits,
            dac_bits,
            error_bits: input_bits,
            adc_bits: 16,
            adc_bits_backward: 16,
            adc_mode: AdcMode::Unit,
            mapping,
            ..ArrayConfig::default()
        },
        device: DeviceConfig {
            on_off: 1e9,
            ..DeviceConfig::default()
        },
    }
}

/// Noise-free knobs.
pub fn quiet(seed: u64) -> Knobs {
    Knobs::from_device(&DeviceConfig::default(), 0.0, seed)
}

pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}
