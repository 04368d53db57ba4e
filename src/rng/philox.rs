//! Philox4x32-10 (Salmon et al., SC'11) and the draws built on it.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// What a stream of draws is for; part of the key so that streams never overlap.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Init = 1,
    Shuffle = 2,
    Feedback = 3,
    D2d = 4,
    NlD2d = 5,
    Stuck = 6,
    ReadNoise = 7,
    OutputNoise = 8,
    C2c = 9,
    Rounding = 10,
    Dropout = 11,
    Sample = 12,
    Augment = 13,
    Drift = 14,
}

#[inline]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// Ten rounds of Philox4x32 on `ctr` under `key`. Always inlined, so that loops over
/// counters vectorize.
#[inline(always)]
pub fn philox4x32_10(mut ctr: [u32; 4], mut key: [u32; 2]) -> [u32; 4] {
    for round in 0..10 {
        if round > 0 {
            key[0] = key[0].wrapping_add(W0);
            key[1] = key[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, ctr[0]);
        let (hi1, lo1) = mulhilo(M1, ctr[2]);
        ctr = [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0];
    }
    ctr
}

/// The key of a stream: the 64-bit seed folded with a purpose and a sub-stream id
/// (layer, instance, ...), mixed so nearby seeds give unrelated streams.
pub fn key(seed: u64, purpose: Purpose, stream: u32) -> [u32; 2] {
    let mixed = philox4x32_10(
        [seed as u32, (seed >> 32) as u32, purpose as u32, stream],
        [0x5EED_0001, 0x1A5E_0002],
    );
    [mixed[0], mixed[1]]
}

/// Uniform in (0, 1) from one 32-bit word: (u + 0.5) / 2^32, never 0 or 1.
#[inline]
pub fn uniform(word: u32) -> f32 {
    ((word >> 8) as f32 + 0.5) * (1.0 / 16_777_216.0)
}

/// Standard normal by Box-Muller from two words (f32, as the shader computes it).
pub fn normal(w0: u32, w1: u32) -> f32 {
    let u1 = uniform(w0);
    let u2 = uniform(w1);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random123_known_answer() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn gaussian_statistics() {
        let k = key(7, Purpose::ReadNoise, 0);
        let n = 200_000u32;
        let (mut s, mut s2, mut in1, mut in2, mut in3) = (0f64, 0f64, 0, 0, 0);
        for i in 0..n {
            let w = philox4x32_10([i, 0, 0, 0], k);
            let z = normal(w[0], w[1]) as f64;
            s += z;
            s2 += z * z;
            in1 += (z.abs() < 1.0) as u32;
            in2 += (z.abs() < 2.0) as u32;
            in3 += (z.abs() < 3.0) as u32;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        let f = |c: u32| c as f64 / n as f64;
        assert!((f(in1) - 0.6827).abs() < 0.005);
        assert!((f(in2) - 0.9545).abs() < 0.003);
        assert!((f(in3) - 0.9973).abs() < 0.001);
    }
}
