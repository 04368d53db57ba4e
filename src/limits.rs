//! Upper bounds on sizes that come from input (experiment files, data files, sweep specs,
//! models, netlists). Each is checked before anything is allocated or iterated, so a typo such
//! as `C4294967296` gives an error naming the field and the limit instead of an abort or a hang.

use crate::config::ConfigError;

/// Channels, FC outputs and hidden widths.
pub const MAX_WIDTH: usize = 65536;
/// Conv kernel size, stride and padding.
pub const MAX_KERNEL: usize = 64;
pub const MAX_STRIDE: usize = 64;
pub const MAX_PAD: usize = 1024;
/// Image height and width (IDX headers, `network.input`).
pub const MAX_SIDE: usize = 4096;
/// Weights of one layer, all instances of a population together (1 GiB of f32).
pub const MAX_LAYER_WEIGHTS: usize = 1 << 28;
/// Values of one image's feature map at any layer (c x h x w), and MACs per layer and image.
pub const MAX_FEATURES: usize = 1 << 28;
pub const MAX_MACS: u128 = 1 << 44;
/// Points of one sweep (also its seeds and random samples).
pub const MAX_POINTS: usize = 100_000;
/// Shards of one sweep.
pub const MAX_SHARDS: usize = 100_000;

/// `Ok(())` when `value <= limit`, else an error naming `field`.
pub fn at_most(field: &str, what: &str, value: u128, limit: u128) -> Result<(), ConfigError> {
    if value <= limit {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field: field.into(),
            value: format!("{what} = {value}"),
            allowed: format!("at most {limit}"),
        })
    }
}

/// The product of `factors`, exact (u128 cannot overflow for the few factors used here, each
/// at most 2^64).
pub fn product(factors: &[usize]) -> u128 {
    factors
        .iter()
        .fold(1u128, |a, &f| a.saturating_mul(f as u128))
}
