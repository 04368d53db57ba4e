//! Tile shapes of the GEMM (`shaders/gemm.wgsl`) and of the fused crossbar read
//! (`shaders/xbar_read.wgsl`), chosen on the host from the problem's size.
//!
//! Small batches are common (tests, small runs, inference, one image of a conv net): a 64-row
//! tile over a batch of 8 computes mostly padding, which a software adapter pays in full and a
//! GPU pays in idle lanes. Each kernel therefore has a few tile shapes (override constants of
//! one shader), and `choose` picks one from the problem's size. The backend can pin a shape
//! (`GpuBackend::force_gemm_tile`, `force_read_tile`) so that tests run every shape.

/// A tile shape of the GEMM: `tx` x `ty` threads, each owning a `bm` x `bn` block of C, with
/// k staged `bk` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GemmTile {
    /// 16 x 64 (64 threads of 4 x 4): few rows, as the forward and error products of a small
    /// batch.
    Rows16,
    /// 64 x 16 (64 threads of 4 x 4): few columns, as the forward product of a layer with few
    /// outputs.
    Cols16,
    /// 64 x 64 (256 threads of 4 x 4).
    Square64,
    /// 128 x 128 (256 threads of 8 x 8): more reuse per shared-memory read, fewer workgroups.
    Square128,
}

impl GemmTile {
    pub const ALL: [GemmTile; 4] = [
        GemmTile::Rows16,
        GemmTile::Cols16,
        GemmTile::Square64,
        GemmTile::Square128,
    ];

    /// (tx, ty, bm, bn, bk): the shader's override constants. The shader needs bm, bn in
    /// {4, 8} (whole vec4s, at most 64 accumulators) and ty bm bk, tx bn bk multiples of tx ty
    /// (every thread stages the same number of values).
    pub fn shape(self) -> (u32, u32, u32, u32, u32) {
        match self {
            GemmTile::Rows16 => (16, 4, 4, 4, 16),
            GemmTile::Cols16 => (4, 16, 4, 4, 16),
            GemmTile::Square64 => (16, 16, 4, 4, 16),
            GemmTile::Square128 => (16, 16, 8, 8, 8),
        }
    }

    /// Rows of C a workgroup computes.
    pub fn rows(self) -> u32 {
        let (_, ty, bm, _, _) = self.shape();
        ty * bm
    }

    /// Columns of C a workgroup computes.
    pub fn cols(self) -> u32 {
        let (tx, _, _, bn, _) = self.shape();
        tx * bn
    }

    /// Workgroups covering an `m` x `n` product of `batch` instances.
    pub fn groups(self, m: u32, n: u32, batch: u32) -> [u32; 3] {
        [
            n.div_ceil(self.cols()).max(1),
            m.div_ceil(self.rows()).max(1),
            batch,
        ]
    }

    /// The override constants of this tile in one orientation.
    pub fn constants(self, trans_a: bool, trans_b: bool) -> Vec<(&'static str, f64)> {
        let (tx, ty, bm, bn, bk) = self.shape();
        vec![
            ("TRANS_A", trans_a as u8 as f64),
            ("TRANS_B", trans_b as u8 as f64),
            ("TX", tx as f64),
            ("TY", ty as f64),
            ("BM", bm as f64),
            ("BN", bn as f64),
            ("BK", bk as f64),
        ]
    }

    /// The tile for an `m` x `n` product of `batch` instances: 128 x 128 once that still gives
    /// at least 16 workgroups (large problems); else a 64-thread tile (16 x 64 or 64 x 16)
    /// where it cuts the padded elements of C by at least a fifth against 64 x 64 (its staged
    /// values are reused fewer times, so small savings do not pay), the one that pads least.
    pub fn choose(m: u32, n: u32, batch: u32) -> GemmTile {
        let big_tiles = m.div_ceil(128) as u64 * n.div_ceil(128) as u64 * batch as u64;
        if m >= 128 && n >= 128 && big_tiles >= 16 {
            return GemmTile::Square128;
        }
        let padded = |t: GemmTile| {
            let (r, c) = (t.rows() as u64, t.cols() as u64);
            (m as u64).div_ceil(r) * r * (n as u64).div_ceil(c) * c
        };
        let square = padded(GemmTile::Square64);
        [GemmTile::Rows16, GemmTile::Cols16]
            .into_iter()
            .filter(|&t| 5 * padded(t) <= 4 * square)
            .min_by_key(|&t| padded(t))
            .unwrap_or(GemmTile::Square64)
    }
}

/// A tile shape of the fused read: 64 columns and 4, 8 or 16 input rows (batch rows of one
/// instance) per workgroup of 64 invocations, each owning `rows / 4` rows of 4 columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadTile {
    Rows4,
    Rows8,
    Rows16,
}

impl ReadTile {
    pub const ALL: [ReadTile; 3] = [ReadTile::Rows4, ReadTile::Rows8, ReadTile::Rows16];

    /// Input rows of a workgroup's tile.
    pub fn rows(self) -> u32 {
        match self {
            ReadTile::Rows4 => 4,
            ReadTile::Rows8 => 8,
            ReadTile::Rows16 => 16,
        }
    }

    /// Rows of one invocation's register block (the shader's `BR`).
    pub fn block_rows(self) -> u32 {
        self.rows() / 4
    }

    /// The smallest tile that holds `rows` input rows in one workgroup, 16 rows beyond: every
    /// workgroup stages its pass's conductances afresh, so more, smaller tiles over a large
    /// batch would stage the same conductances more often.
    pub fn choose(rows: u32) -> ReadTile {
        ReadTile::ALL
            .into_iter()
            .find(|t| rows <= t.rows())
            .unwrap_or(ReadTile::Rows16)
    }
}
