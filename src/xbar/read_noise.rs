//! Read noise of one conversion (docs/crossbar.md, "Read"), in one of two models:
//! - per cell: every term of the partial sum carries its own draw,
//!   I = sum_l q_l g_l (1 + read_noise z_l), z_l from `ReadNoise` `[cell, read_counter, tag, b]`;
//! - output-referred: one draw per conversion with the standard deviation the per-cell model
//!   gives the same sum, I = sum_l q_l g_l + read_noise sqrt(sum_l (q_l g_l)^2) z, z from
//!   `ReadNoise` `[conversion, read_counter, tag | OUT_REF, b]`.
//!
//! read_noise is the drifted one (`drift::read_noise_at`).

/// Tag bit of output-referred read-noise draws (`[conversion, read_counter, tag | OUT_REF, b]`
/// under the `ReadNoise` key), apart from the per-cell draws.
pub const OUT_REF: u32 = 1 << 18;

/// Output-referred read noise of one conversion: read_noise sqrt(sum (q g)^2) z, the standard
/// deviation the per-cell model gives the same sum; `terms` are the q g in line order (f32).
#[inline]
pub fn output_referred(terms: impl Iterator<Item = f32>, read_noise: f32, z: f32) -> f32 {
    let mut s2 = 0f32;
    for v in terms {
        s2 += v * v;
    }
    read_noise * s2.sqrt() * z
}
