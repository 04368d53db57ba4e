//! Programming rows of a device whose cells all follow the nominal linear curve (the ideal
//! preset): the per-cell loop of `program` as whole-row loops that vectorize, equal bit for bit.

use crate::config::C2cLaw;
use crate::rng::normal;
use multiversion::multiversion;

use super::super::device::apply_update_linear;
use super::{c2c_words, Linear, Scratch};

impl Linear {
    /// Programs output row `j` (pulse counts in `sc.pulses`) of the + cells `prow` and, when
    /// differential, the - cells `nrow`: the per-cell loop's counters, draws and
    /// `apply_update`, as whole-row loops that vectorize.
    pub(super) fn row(
        &self,
        j: usize,
        prow: &mut [f32],
        nrow: Option<&mut [f32]>,
        sc: &mut Scratch,
    ) {
        let k_in = prow.len();
        let sets = 1 + nrow.is_some() as u64;
        // The counters, and the positions i of the written cells (compacted without branches).
        sc.cells.resize(k_in, 0);
        let (mut pulses, mut written) = (0u64, 0usize);
        for (i, (m, &n)) in sc.wc.row_max.iter_mut().zip(&sc.pulses).enumerate() {
            let a = n.unsigned_abs();
            *m = (*m).max(a);
            pulses += a as u64;
            sc.cells[written] = i as u32;
            written += (n != 0) as usize;
        }
        sc.cells.truncate(written);
        sc.wc.pulses += sets * pulses;
        sc.wc.cells_written += sets * written as u64;
        if written == 0 {
            return;
        }
        for (set, cells) in [Some(prow), nrow].into_iter().flatten().enumerate() {
            if self.noisy {
                // `LayerCells::cell_index(set, j, i, 0)` is `first + i`.
                let first = ((set * self.n_out + j) * k_in) as u32;
                c2c_words(self.key, self.step, first, &sc.cells, &mut sc.words);
                for (&i, &[w0, w1]) in sc.cells.iter().zip(&sc.words) {
                    sc.z[i as usize] = normal(w0, w1);
                }
            }
            apply_row(self, cells, &sc.pulses, set == 1, &sc.z);
        }
        // Unwritten cells keep z = 0 for the next row.
        for &i in &sc.cells {
            sc.z[i as usize] = 0.0;
        }
    }
}

/// `apply_update_linear` of every cell of a row (`negate`: the - cells get -n pulses).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn apply_row(lin: &Linear, cells: &mut [f32], pulses: &[i32], negate: bool, z: &[f32]) {
    let law = if lin.per_pulse {
        C2cLaw::PerPulse
    } else {
        C2cLaw::PerUpdate
    };
    let sign = if negate { -1 } else { 1 };
    for ((g, &n), &z) in cells.iter_mut().zip(pulses).zip(z) {
        *g = apply_update_linear(*g, sign * n, &lin.curve, lin.c2c, law, z);
    }
}

#[cfg(test)]
mod tests {
    use super::super::program_with;
    use crate::config::{C2cLaw, Rounding};
    use crate::xbar::knobs::Knobs;
    use crate::xbar::mapping::LayerCells;
    use crate::xbar::Xbar;

    /// Rows on the nominal linear curve (the whole-row path) program the same cells and
    /// counters, bit for bit, as the per-cell loop.
    #[test]
    fn linear_rows_equal_the_per_cell_loop() {
        use crate::config::{DeviceConfig, Mapping};
        use crate::xbar::mapping::map_for_training;
        let mut seed = 7u64;
        for mapping in [Mapping::Offset, Mapping::Differential] {
            for law in [C2cLaw::PerPulse, C2cLaw::PerUpdate] {
                for (c2c, rounding) in [(0.0, Rounding::Nearest), (0.02, Rounding::Stochastic)] {
                    let mut cfg = Xbar::default();
                    (cfg.array.weight_bits, cfg.array.cell_bits) = (6, 6);
                    cfg.array.mapping = mapping;
                    cfg.device = DeviceConfig {
                        levels: 64,
                        on_off: 20.0,
                        nl_ltp: 0.0,
                        nl_ltd: 0.0,
                        c2c,
                        c2c_law: law,
                        rounding,
                        max_pulses_per_update: 9,
                        ..DeviceConfig::default()
                    };
                    let knobs = Knobs::from_device(&cfg.device, 0.2, seed);
                    let (n, k) = (13, 37);
                    let w: Vec<f32> = (0..n * k)
                        .map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * 0.9)
                        .collect();
                    let mut fast = map_for_training(&w, n, k, 1.0, &cfg, &knobs, 1, 2).unwrap();
                    let mut slow = fast.clone();
                    for step in 0..4 {
                        let grad: Vec<f32> = (0..n * k)
                            .map(|i| {
                                ((i as u64 * 2654435761 + seed * 97 + step) % 1000) as f32 / 100.0
                                    - 5.0
                            })
                            .collect();
                        let step = step as u32;
                        let a = program_with(&mut fast, &grad, &cfg, &knobs, step, true).unwrap();
                        let b = program_with(&mut slow, &grad, &cfg, &knobs, step, false).unwrap();
                        assert_eq!(a, b, "{mapping:?} {law:?} c2c {c2c}: counters");
                        assert!(a.pulses > 0);
                        let bits = |l: &LayerCells| -> Vec<u32> {
                            l.cells.iter().map(|v| v.to_bits()).collect()
                        };
                        assert_eq!(bits(&fast), bits(&slow), "{mapping:?} {law:?} c2c {c2c}");
                    }
                    seed += 1;
                }
            }
        }
    }
}
