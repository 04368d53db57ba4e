//! WAGE quantizers (Wu, Li, Chen, Shi, "Training and inference with integers in deep neural
//! networks", ICLR 2018) as DNN+NeuroSim V2 applies them to weights, activations and errors.
//!
//! With sigma(k) = 2^(1-k), the grid step of k bits in [-1, 1]:
//! - Q(x, k) = sigma(k) round(x / sigma(k)) (round half to even),
//! - C(x, k) = clip(x, -1 + sigma(k), 1 - sigma(k)),
//! - shift(x) = 2^round(log2 x), the power of two nearest x in the log domain,
//! - errors: QE(e, k) = Q(C(e / shift(max |e|), k), k), so every error tensor is rescaled by a
//!   power of two to a largest magnitude in [2^-0.5, 2^0.5] before quantization.

/// Grid step of `bits` bits in [-1, 1]: 2^(1 - bits).
pub fn sigma(bits: u32) -> f32 {
    (2.0f32).powi(1 - bits as i32)
}

/// Q(x, k): nearest multiple of sigma(k), ties to even.
pub fn quantize(x: f32, bits: u32) -> f32 {
    let s = sigma(bits);
    (x / s).round_ties_even() * s
}

/// C(x, k): clip to [-1 + sigma(k), 1 - sigma(k)].
pub fn clip(x: f32, bits: u32) -> f32 {
    let m = 1.0 - sigma(bits);
    x.clamp(-m, m)
}

/// shift(x) = 2^round(log2 x) for x > 0.
pub fn shift(x: f32) -> f32 {
    (2.0f32).powf(x.log2().round_ties_even())
}

/// QE in place: rescales `e` by the power of two nearest its largest magnitude, then clips and
/// quantizes to `bits`. An all-zero tensor stays zero.
pub fn quantize_error(e: &mut [f32], bits: u32) {
    if normalize_by_shift(e) {
        e.iter_mut()
            .for_each(|v| *v = quantize(clip(*v, bits), bits));
    }
}

/// Divides `x` in place by shift(max |x|) (NeuroSim normalises the velocity so); returns false
/// for an all-zero tensor, which is left as is.
pub fn normalize_by_shift(x: &mut [f32]) -> bool {
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        return false;
    }
    let s = shift(max);
    x.iter_mut().for_each(|v| *v /= s);
    true
}

/// Stochastic rounding with a uniform draw u in [0, 1): floor(x + u), so E = x.
pub fn stochastic_round(x: f32, u: f32) -> f32 {
    (x + u).floor()
}

/// WAGE initialisation of a layer with `fan_in` inputs: the half-width of the uniform draw,
/// max(beta sigma(k_w), sqrt(3 / fan_in)), and the layer's power-of-two output scale
/// alpha = max(shift(beta sigma(k_w) / sqrt(3 / fan_in)), 1) that divides its outputs.
pub fn init_limit_and_scale(fan_in: usize, weight_bits: u32, beta: f64) -> (f32, f32) {
    let float_limit = (3.0 / fan_in as f64).sqrt();
    let min_limit = beta * sigma(weight_bits) as f64;
    let scale = (2.0f64)
        .powf((min_limit / float_limit).log2().round())
        .max(1.0);
    (min_limit.max(float_limit) as f32, scale as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_and_c_closed_form() {
        assert_eq!(sigma(5), 1.0 / 16.0);
        assert_eq!(sigma(8), 1.0 / 128.0);
        // 0.1 * 16 = 1.6 -> 2 steps; 0.03125 * 16 = 0.5 -> ties to even 0; 0.09375 -> 1.5 -> 2.
        assert_eq!(quantize(0.1, 5), 0.125);
        assert_eq!(quantize(0.03125, 5), 0.0);
        assert_eq!(quantize(0.09375, 5), 0.125);
        assert_eq!(quantize(-0.1, 5), -0.125);
        // Q does not clip; C does, to one step inside +-1.
        assert_eq!(quantize(1.5, 5), 1.5);
        assert_eq!(clip(1.5, 5), 0.9375);
        assert_eq!(clip(-2.0, 8), -127.0 / 128.0);
        assert_eq!(clip(0.3, 8), 0.3);
        // Every value Q(C(x, 8), 8) lies on the 255-value grid.
        for i in -300..300 {
            let y = quantize(clip(i as f32 / 211.0, 8), 8);
            assert_eq!((y * 128.0).fract(), 0.0);
            assert!(y.abs() <= 127.0 / 128.0);
        }
    }

    #[test]
    fn shift_is_nearest_power_of_two_in_log() {
        assert_eq!(shift(1.0), 1.0);
        assert_eq!(shift(3.0), 4.0); // log2 3 = 1.58
        assert_eq!(shift(2.8), 2.0); // 1.485 -> 1
        assert_eq!(shift(0.3), 0.25); // log2 0.3 = -1.74 -> -2
        assert_eq!(shift(0.7), 0.5); // -0.51 -> -1
        assert_eq!(shift(0.72), 1.0); // -0.47 -> 0
    }

    #[test]
    fn error_quantizer_rescales_by_power_of_two() {
        // max 3 -> shift 4: values / 4, then 8-bit grid.
        let mut e = vec![3.0, -1.0, 0.001, 0.0];
        quantize_error(&mut e, 8);
        assert_eq!(e, vec![0.75, -0.25, 0.0, 0.0]);
        // max 5 -> shift 4 -> 1.25 clips to 127/128.
        let mut e = vec![5.0, 0.5];
        quantize_error(&mut e, 8);
        assert_eq!(e, vec![127.0 / 128.0, 0.125]);
        let mut z = vec![0.0; 3];
        quantize_error(&mut z, 8);
        assert_eq!(z, vec![0.0; 3]);
        let mut v = vec![0.0, 6.0, -3.0];
        assert!(normalize_by_shift(&mut v));
        assert_eq!(v, vec![0.0, 0.75, -0.375]);
    }

    #[test]
    fn stochastic_rounding_is_unbiased_on_a_grid_of_draws() {
        let n = 1000;
        for x in [0.3f32, -1.7, 2.0, -0.05] {
            let mean: f32 = (0..n)
                .map(|i| stochastic_round(x, (i as f32 + 0.5) / n as f32))
                .sum::<f32>()
                / n as f32;
            assert!((mean - x).abs() < 1e-3, "{x}: {mean}");
        }
    }

    #[test]
    fn init_matches_wage_rule() {
        // 5-bit weights, beta 24: limit 1.5; sqrt(3/784) = 0.0619 -> ratio 24.2 -> scale 32.
        let (l, s) = init_limit_and_scale(784, 5, 24.0);
        assert_eq!((l, s), (1.5, 32.0));
        // fan_in 256: ratio 13.9 -> 16; fan_in 128: ratio 9.8 -> 8.
        assert_eq!(init_limit_and_scale(256, 5, 24.0).1, 16.0);
        assert_eq!(init_limit_and_scale(128, 5, 24.0).1, 8.0);
        // WAGE's beta 1.5 with 2-bit weights: limit 0.75 unless the float limit is larger.
        let (l, s) = init_limit_and_scale(2, 2, 1.5);
        assert!((l - (1.5f32).sqrt()).abs() < 1e-6);
        assert_eq!(s, 1.0);
    }
}
