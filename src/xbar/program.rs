//! In-situ programming of one cell per weight (docs/crossbar.md, "Programming").
//!
//! Per weight (index j * K + i of the `[out][in]` gradient):
//! dw = -lr * grad; dw_1 = (w_max - w_min) / P_max = 2 s / P_max;
//! n = round(dw / dw_1) (stochastic: floor(v + u), u from `Rounding` `[weight, step, 0, 0]`;
//! nearest: floor(v + 0.5)), clipped to +-max_pulses_per_update; all f32.
//! Offset mapping: the cell gets n pulses. Differential: the + cell gets n and the - cell -n, so
//! a pulse moves w by dw_1 as in the offset case. Each cell then follows `device::apply_pulses`
//! with its frozen NL curve (`NlD2d`) and c2c draw `C2c` `[cell, step, 0, 0]` under the
//! device's `c2c_law` (`device::apply_update`).
//!
//! SET-only devices (`device.set_only`, PCM: RESET is abrupt, so only gradual SET carries
//! updates; differential mapping only): n > 0 SETs the + cell by n, n < 0 SETs the - cell by |n|,
//! and a pair with a saturated cell is refreshed ([`refresh`]); refresh pulses count as its SET
//! pulses plus one RESET per cell.

mod linear;

use multiversion::multiversion;
use rayon::prelude::*;

use crate::config::{C2cLaw, ConfigError, Rounding};
use crate::rng::{normal, philox4x32_10, Purpose};

use super::device::{apply_update, floor, g_after_ltp, ltp_pulses_at, CellCurve};
use super::draws::{stream_key, uniform_at};
use super::knobs::Knobs;
use super::mapping::{cell_curve, nominal_curve, LayerCells};
use crate::config::Xbar;

/// Write activity of one update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteCounters {
    /// Sum of |n| over cells.
    pub pulses: u64,
    /// Cells that received at least one pulse.
    pub cells_written: u64,
    /// Per row (input index i): the largest |n| over the row's cells (write latency).
    pub row_max: Vec<u32>,
}

impl WriteCounters {
    /// Sum over rows of the per-row maximum (rows written one after another).
    pub fn sum_row_max(&self) -> u64 {
        self.row_max.iter().map(|&v| v as u64).sum()
    }
}

/// Pulse count of one weight update (before the device).
#[inline]
pub fn pulse_count(dw: f32, dw_1: f32, rounding: Rounding, u: f32, max_pulses: u32) -> i32 {
    let v = dw / dw_1;
    let n = match rounding {
        Rounding::Stochastic => floor(v + u),
        Rounding::Nearest => floor(v + 0.5),
    };
    let m = max_pulses as f32;
    n.clamp(-m, m) as i32
}

/// Applies one update `-lr * grad` (`grad` is `[out][in]`, after any momentum) to a layer mapped
/// by `mapping::map_for_training`. `step` keys the rounding and c2c draws.
pub fn program(
    layer: &mut LayerCells,
    grad: &[f32],
    cfg: &Xbar,
    knobs: &Knobs,
    step: u32,
) -> Result<WriteCounters, ConfigError> {
    program_with(layer, grad, cfg, knobs, step, true)
}

/// [`program`]; `fast` false keeps every row on the per-cell loop (the oracle of the tests).
fn program_with(
    layer: &mut LayerCells,
    grad: &[f32],
    cfg: &Xbar,
    knobs: &Knobs,
    step: u32,
    fast: bool,
) -> Result<WriteCounters, ConfigError> {
    cfg.validate(true)?;
    let (n_out, k_in) = (layer.fan_out, layer.fan_in);
    assert_eq!(
        grad.len(),
        n_out * k_in,
        "gradient must be fan_out x fan_in"
    );
    assert_eq!(layer.slices, 1, "programming needs one cell per weight");
    let dev = &cfg.device;
    let base = nominal_curve(cfg, knobs);
    let dw_1 = 2.0 * layer.scale / base.p_max;
    let key_round = stream_key(knobs.seed, Purpose::Rounding, layer.instance, layer.layer);
    let key_c2c = stream_key(knobs.seed, Purpose::C2c, layer.instance, layer.layer);
    let key_nl = stream_key(knobs.seed, Purpose::NlD2d, layer.instance, layer.layer);
    let sets = layer.sets();
    let per_set = n_out * k_in;
    // Cells are `[set][out][in]` (one slice): each output row j owns a contiguous row of every
    // set, so rows are programmed in parallel. Draws are keyed by cell and step, and the
    // counters are sums and maxima, so the result does not depend on the split.
    let (pos, neg) = layer.cells.split_at_mut(per_set);
    let mut neg_rows: Vec<Option<&mut [f32]>> = if sets == 2 {
        neg.chunks_mut(k_in.max(1)).map(Some).collect()
    } else {
        (0..n_out).map(|_| None).collect()
    };
    let empty = || Scratch {
        wc: WriteCounters {
            row_max: vec![0; k_in],
            ..Default::default()
        },
        pulses: vec![0i32; k_in],
        cells: Vec::new(),
        words: Vec::new(),
        z: vec![0f32; k_in],
    };
    let counts = Counts {
        key: key_round,
        step,
        lr: knobs.lr,
        dw_1,
        rounding: dev.rounding,
        max_pulses: dev.max_pulses_per_update,
    };
    let noisy = knobs.c2c > 0.0;
    // Every cell on the nominal linear curve (the ideal device): rows take the branch-free
    // path of `linear_row`, which vectorizes.
    let linear = !dev.set_only
        && base.a_ltp == 0.0
        && base.a_ltd == 0.0
        && knobs.nl_d2d == 0.0
        && knobs.up_down_d2d == 0.0
        && knobs.bounds_d2d == 0.0;
    let lin = Linear {
        curve: base,
        c2c: knobs.c2c,
        per_pulse: dev.c2c_law == C2cLaw::PerPulse,
        key: key_c2c,
        step,
        n_out,
        noisy,
    };
    let wc = pos
        .par_chunks_mut(k_in.max(1))
        .zip(neg_rows.par_iter_mut())
        .enumerate()
        .fold(empty, |mut sc, (j, (prow, nrow))| {
            counts.row(&mut sc.pulses, &grad[j * k_in..(j + 1) * k_in], j * k_in);
            if linear && fast {
                lin.row(j, prow, nrow.as_deref_mut(), &mut sc);
                return sc;
            }
            let Scratch {
                wc,
                pulses,
                cells,
                words,
                ..
            } = &mut sc;
            // The c2c draws of the cells written, in the order the loop below takes them,
            // computed in one loop that vectorizes (the normals are the same).
            if noisy {
                cells.clear();
                for (i, &n) in pulses.iter().enumerate() {
                    if n != 0 {
                        for set in 0..sets {
                            if !(dev.set_only && (set == 0) != (n > 0)) {
                                // `LayerCells::cell_index(set, j, i, 0)`.
                                cells.push(((set * n_out + j) * k_in + i) as u32);
                            }
                        }
                    }
                }
                c2c_words(key_c2c, step, 0, cells, words);
            }
            let mut draw = words.iter();
            for (i, &n) in pulses.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                for set in 0..sets {
                    let n_cell = if set == 0 { n } else { -n };
                    if dev.set_only && n_cell < 0 {
                        continue;
                    }
                    // `LayerCells::cell_index(set, j, i, 0)`.
                    let idx = (set * n_out + j) * k_in + i;
                    let cell = match (set, nrow.as_deref_mut()) {
                        (0, _) => &mut prow[i],
                        (_, Some(nr)) => &mut nr[i],
                        (_, None) => unreachable!("a second set exists only when differential"),
                    };
                    let c = cell_curve(&base, knobs, key_nl, idx);
                    let z = match draw.next() {
                        Some(&[w0, w1]) if noisy => normal(w0, w1),
                        _ => 0.0,
                    };
                    *cell = apply_update(*cell, n_cell, &c, knobs.c2c, dev.c2c_law, z);
                    wc.pulses += n.unsigned_abs() as u64;
                    wc.cells_written += 1;
                    wc.row_max[i] = wc.row_max[i].max(n.unsigned_abs());
                }
                if let (true, Some(nr)) = (dev.set_only, nrow.as_deref_mut()) {
                    let (ip, im) = (j * k_in + i, (n_out + j) * k_in + i);
                    let (cp, cm) = (
                        cell_curve(&base, knobs, key_nl, ip),
                        cell_curve(&base, knobs, key_nl, im),
                    );
                    if let Some((gp, gm, p)) = refresh(prow[i], nr[i], &cp, &cm) {
                        prow[i] = gp;
                        nr[i] = gm;
                        wc.pulses += p as u64 + 2;
                        wc.cells_written += 2;
                        wc.row_max[i] = wc.row_max[i].max(p);
                    }
                }
            }
            sc
        })
        .map(|sc| sc.wc)
        .reduce(
            || WriteCounters {
                row_max: vec![0; k_in],
                ..Default::default()
            },
            |mut a, b| {
                a.pulses += b.pulses;
                a.cells_written += b.cells_written;
                for (x, y) in a.row_max.iter_mut().zip(&b.row_max) {
                    *x = (*x).max(*y);
                }
                a
            },
        );
    Ok(wc)
}

/// What a row on the nominal linear curve needs (see `program`'s `linear`).
struct Linear {
    curve: CellCurve,
    c2c: f32,
    per_pulse: bool,
    key: [u32; 2],
    step: u32,
    n_out: usize,
    noisy: bool,
}

/// One task's state across the rows it programs: its counters and reused buffers.
struct Scratch {
    wc: WriteCounters,
    /// Pulse counts of the current row.
    pulses: Vec<i32>,
    /// Indices of the row's cells that get a c2c draw, in programming order.
    cells: Vec<u32>,
    /// Philox words 0 and 1 of each of those cells' draws.
    words: Vec<[u32; 2]>,
    /// c2c normals of the row's cells (0 where unwritten), for `Linear::row`.
    z: Vec<f32>,
}

/// Words 0 and 1 of the c2c draws `[first + cell, step, 0, 0]` of `cells` into `words` (`normal` of
/// them is `draws::normal_at`). One loop without branches, so the Philox rounds vectorize
/// (AVX-512 or AVX2 picked at run time; the same operations, so the same words).
fn c2c_words(key: [u32; 2], step: u32, first: u32, cells: &[u32], words: &mut Vec<[u32; 2]>) {
    words.clear();
    words.resize(cells.len(), [0; 2]);
    c2c_words_impl(key, step, first, cells, words)
}

#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn c2c_words_impl(key: [u32; 2], step: u32, first: u32, cells: &[u32], words: &mut [[u32; 2]]) {
    for (w, &c) in words.iter_mut().zip(cells) {
        let r = philox4x32_10([first.wrapping_add(c), step, 0, 0], key);
        *w = [r[0], r[1]];
    }
}

/// What the pulse counts of an update depend on besides the gradient.
struct Counts {
    key: [u32; 2],
    step: u32,
    lr: f32,
    dw_1: f32,
    rounding: Rounding,
    max_pulses: u32,
}

impl Counts {
    /// Pulse counts of the weights `w0..w0 + grad.len()` into `n`. A separate loop with no
    /// cell state, so the rounding draws vectorize (AVX-512 or AVX2 picked at run time; the
    /// operations are the same, so are the counts).
    fn row(&self, n: &mut [i32], grad: &[f32], w0: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F.
                return unsafe { self.row_avx512(n, grad, w0) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { self.row_avx2(n, grad, w0) };
            }
        }
        self.row_impl(n, grad, w0)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn row_avx512(&self, n: &mut [i32], grad: &[f32], w0: usize) {
        self.row_impl(n, grad, w0)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn row_avx2(&self, n: &mut [i32], grad: &[f32], w0: usize) {
        self.row_impl(n, grad, w0)
    }

    #[inline(always)]
    fn row_impl(&self, n: &mut [i32], grad: &[f32], w0: usize) {
        match self.rounding {
            Rounding::Stochastic => {
                for (i, (c, &g)) in n.iter_mut().zip(grad).enumerate() {
                    let u = uniform_at(self.key, [(w0 + i) as u32, self.step, 0, 0]);
                    *c = pulse_count(-self.lr * g, self.dw_1, self.rounding, u, self.max_pulses);
                }
            }
            Rounding::Nearest => {
                for (c, &g) in n.iter_mut().zip(grad) {
                    *c = pulse_count(-self.lr * g, self.dw_1, self.rounding, 0.0, self.max_pulses);
                }
            }
        }
    }
}

/// SET-only pair refresh: when either cell of a differential pair is within half a pulse of
/// G_max, both are RESET to G_min and the difference g+ - g- is SET back onto the cell that held
/// the larger conductance, as the pulse count on its potentiation curve nearest the target.
/// Returns the new (g+, g-, SET pulses), or `None` when neither cell is saturated.
pub fn refresh(gp: f32, gm: f32, cp: &CellCurve, cm: &CellCurve) -> Option<(f32, f32, u32)> {
    let full = |g: f32, c: &CellCurve| ltp_pulses_at(g, c) >= c.p_max - 0.5;
    if !full(gp, cp) && !full(gm, cm) {
        return None;
    }
    let c = if gp >= gm { cp } else { cm };
    let target = c.g_min + (gp - gm).abs();
    let p = (ltp_pulses_at(target, c) + 0.5).floor().clamp(0.0, c.p_max);
    let g = g_after_ltp(p, c);
    Some(if gp >= gm {
        (g, cm.g_min, p as u32)
    } else {
        (cp.g_min, g, p as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SET-only pairs: a positive update SETs only the + cell, a negative one only the - cell
    /// (no cell is ever depressed), and repeated updates of one sign end in a refresh that keeps
    /// the weight while freeing the saturated cell.
    #[test]
    fn set_only_pairs_only_potentiate_and_refresh() {
        use crate::config::{DeviceConfig, Mapping};
        use crate::xbar::mapping::map_for_training;
        let mut cfg = Xbar::default();
        (cfg.array.weight_bits, cfg.array.cell_bits) = (5, 5);
        cfg.array.mapping = Mapping::Differential;
        cfg.device = DeviceConfig {
            levels: 20,
            on_off: 50.0,
            nl_ltp: 2.0,
            nl_ltd: -9.0,
            set_only: true,
            max_pulses_per_update: 19,
            ..DeviceConfig::default()
        };
        let knobs = Knobs::from_device(&cfg.device, 0.1, 3);
        let mut l = map_for_training(&[0.0], 1, 1, 1.0, &cfg, &knobs, 0, 0).unwrap();
        let (ip, im) = (l.cell_index(0, 0, 0, 0), l.cell_index(1, 0, 0, 0));
        let w = |l: &LayerCells| l.cells[ip] - l.cells[im];
        // dw_1 = 2 / 19: a gradient of -1 at lr 0.1 is about one pulse.
        let (gp, gm) = (l.cells[ip], l.cells[im]);
        program(&mut l, &[-1.0], &cfg, &knobs, 0).unwrap();
        assert!(l.cells[ip] > gp && l.cells[im] == gm, "positive update");
        let (gp, gm) = (l.cells[ip], l.cells[im]);
        program(&mut l, &[1.0], &cfg, &knobs, 1).unwrap();
        assert!(l.cells[ip] == gp && l.cells[im] > gm, "negative update");
        // Drive the + cell into saturation: a refresh resets the - cell to G_min.
        let mut refreshed = false;
        for step in 2..60 {
            let before = w(&l);
            let wc = program(&mut l, &[-3.0], &cfg, &knobs, step).unwrap();
            if wc.cells_written > 1 {
                refreshed = true;
                assert_eq!(l.cells[im], l.g_min);
                assert!(w(&l) >= before - 0.2, "refresh keeps the weight");
                break;
            }
        }
        assert!(refreshed, "no refresh");
    }

    /// A saturated pair is reset and its difference re-programmed on the larger cell's curve;
    /// an unsaturated one is left alone.
    #[test]
    fn set_only_refresh() {
        let c = CellCurve::nominal(50, 100.0, 2.0, -9.0);
        let g = |p: f32| g_after_ltp(p, &c);
        assert_eq!(refresh(g(30.0), g(10.0), &c, &c), None);
        let (gp, gm, p) = refresh(g(49.0), g(20.0), &c, &c).unwrap();
        assert_eq!(gm, c.g_min);
        let want = c.g_min + (g(49.0) - g(20.0));
        assert_eq!(gp, g(p as f32));
        // The re-programmed weight is within half a pulse step of the old one.
        let step = g(p as f32 + 1.0) - g(p as f32);
        assert!((gp - want).abs() <= step, "{gp} vs {want}");
        let (gp, gm, _) = refresh(g(5.0), g(49.0), &c, &c).unwrap();
        assert_eq!(gp, c.g_min);
        assert!(gm > c.g_min && gm < g(49.0));
    }
}
