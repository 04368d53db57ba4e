//! The tile shape of the fused read (`shaders/xbar_read.wgsl`) and the split of one read into
//! dispatches of bounded length.
//!
//! llvmpipe ends every loop of an invocation once the invocation has taken 65,535 loop
//! iterations in all, silently; GPU drivers reset devices whose dispatches run for seconds. The
//! host therefore estimates the loop iterations of each step (one (group, pass, slice, sign,
//! cycle) conversion) and cuts the steps into dispatches that stay within [`LOOP_BUDGET`].

use crate::xbar::geometry::Geometry;

/// Columns of a workgroup's tile (`TN`); its rows are the chosen `tiles::ReadTile`'s.
pub(super) const TILE_COLS: u32 = 64;
/// Loop iterations one invocation of the read may take per dispatch; half of llvmpipe's
/// limit leaves a margin for the estimate.
const LOOP_BUDGET: usize = 32_768;
/// Workgroup-memory words of the read besides the staged chunk (codes and counters), and words
/// per staged line (64 conductances, 16 packed input codes): `shaders/xbar_read.wgsl`.
const FIXED_WORDS: u32 = 1024 + 4;
const WORDS_PER_LINE: u32 = 80;

/// Lines staged per chunk (`CH`): the pass rounded up to 16 lines, at most what the adapter's
/// workgroup memory (`storage` bytes) holds, so that a pass is staged once and reused by every
/// sign and input cycle wherever it fits.
pub(super) fn chunk_lines(pass: usize, storage: u32) -> u32 {
    let fit = ((storage / 4).saturating_sub(FIXED_WORDS) / WORDS_PER_LINE) / 16 * 16;
    let want = (pass.div_ceil(16) * 16).min(256) as u32;
    want.min(fit).max(16)
}

/// The shader's per-step loop work, for the estimate.
pub(super) struct StepWork {
    pub ch: usize,
    /// Input rows of the tile (4 per row of invocations).
    pub tile_rows: usize,
    /// Some instance draws per-cell read noise (a 10-round Philox loop per term).
    pub cell_draws: bool,
    /// Draws per conversion (output-referred read noise, output noise).
    pub conversion_draws: usize,
}

impl StepWork {
    /// Estimated loop iterations of one invocation for a step of `n` lines; `staged`: the
    /// step stages its conductances and codes (a new (group, pass, slice) or a long pass).
    fn cost(&self, n: usize, staged: bool) -> usize {
        if n == 0 {
            return 1;
        }
        let chunks = n.div_ceil(self.ch);
        let rows = self.tile_rows;
        // Elements of an invocation's block: rows / 4 rows of 4 columns.
        let elems = rows;
        // Loops over the chunk's (row, line) pairs: staging codes and counting active rows.
        let row_loop = (rows * n).div_ceil(64) + chunks;
        let stage = if staged { n + row_loop + chunks } else { 0 };
        let per_line = if self.cell_draws {
            1 + rows / 4 + elems * 12
        } else {
            1
        };
        let block = elems * (2 + 11 * self.conversion_draws) + 16;
        chunks + stage + row_loop + n * per_line + chunks + block + 8
    }

    /// The step ranges [lo, hi) of the dispatches of one read (steps numbered as in the
    /// shader), each within [`LOOP_BUDGET`]. A pass with no lines ends its group, as in the
    /// shader.
    pub(super) fn ranges(&self, geo: &Geometry, signs: usize) -> Vec<(u32, u32)> {
        let per_gpk = signs * geo.cycles;
        let per_group = geo.n_pass * geo.slices * per_gpk;
        let n_steps = geo.n_groups * per_group;
        // Resetting the accumulators and handing them on.
        let setup = 3 * 16 + 8;
        let mut ranges = Vec::new();
        let (mut start, mut cost, mut st) = (0, setup, 0);
        let mut loaded = usize::MAX;
        while st < n_steps {
            let g = st / per_group;
            let gpk = st / per_gpk;
            let pp = (gpk / geo.slices) % geo.n_pass;
            let lo = g * geo.group + pp * geo.pass;
            let hi = (lo + geo.pass).min(((g + 1) * geo.group).min(geo.lines));
            let n = hi.saturating_sub(lo);
            let c = self.cost(n, gpk != loaded || n > self.ch);
            if cost + c > LOOP_BUDGET && st > start {
                ranges.push((start as u32, st as u32));
                start = st;
                // The next dispatch stages this step's pass afresh.
                cost = setup + self.cost(n, true);
            } else {
                cost += c;
            }
            loaded = gpk;
            st = if lo >= hi {
                (g + 1) * per_group
            } else {
                st + 1
            };
        }
        ranges.push((start as u32, n_steps as u32));
        ranges
    }
}
