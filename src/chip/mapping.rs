//! Mapping of weight matrices onto subarrays, processing elements (PEs) and tiles.
//!
//! A layer's unrolled matrix (fan_in rows x fan_out columns; a conv kernel k x k x C_in is one
//! column, im2col) becomes `data_cols` = fan_out x slices (x2 for differential) cell columns. With
//! the offset mapping each subarray keeps one reference column, so it holds cols - 1 data columns.
//! The matrix is cut into row blocks x column blocks of subarrays; blocks fill square PE grids, PEs
//! fill square tile grids; a layer owns whole tiles (layers never share a tile). Any shape works:
//! partial blocks are allowed everywhere and counted at their true size.

use serde::Serialize;

use super::config::ChipConfig;
use crate::config::ArrayConfig;
pub use crate::xbar::layout::blocks_per_subarray;
use crate::xbar::layout::column_layout;

/// Side of a square grid of `n` units.
pub fn grid_side(n: u32) -> usize {
    (n as f64).sqrt().round() as usize
}

/// A weight matrix placed on the chip.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixMap {
    /// Matrix rows (fan-in).
    pub rows: usize,
    /// Data columns in cells (fan_out x slices, doubled for differential).
    pub data_cols: usize,
    /// Column groups per weight that are shift-added (slices, x2 for differential).
    pub slice_groups: usize,
    /// Reference columns per subarray (1 for offset mapping).
    pub ref_cols: usize,
    /// Data columns one subarray holds.
    pub cols_per_block: usize,
    pub row_blocks: usize,
    pub col_blocks: usize,
    pub pe_rows: usize,
    pub pe_cols: usize,
    pub tile_rows: usize,
    pub tile_cols: usize,
    /// Copies of the whole matrix (weight replication).
    pub replication: usize,
    /// Subarrays holding data, all copies.
    pub subarrays_used: usize,
    /// Subarrays in the tiles this matrix owns, all copies.
    pub subarrays_allocated: usize,
    pub tiles: usize,
    /// Cells holding data or reference, all copies.
    pub cells_used: usize,
    /// cells_used / cells of the allocated subarrays.
    pub utilisation: f64,
}

impl MatrixMap {
    /// Rows in row block `i`.
    pub fn block_rows(&self, array: &ArrayConfig, i: usize) -> usize {
        (self.rows - i * array.rows as usize).min(array.rows as usize)
    }

    /// Data columns in column block `j`.
    pub fn block_cols(&self, j: usize) -> usize {
        (self.data_cols - j * self.cols_per_block).min(self.cols_per_block)
    }

    /// Columns sensed in one copy: data plus one reference per column block.
    pub fn sensed_cols(&self) -> usize {
        self.data_cols + self.ref_cols * self.col_blocks
    }
}

/// Places a `rows` x `fan_out` weight matrix; `replication` copies.
pub fn map_matrix(
    rows: usize,
    fan_out: usize,
    weight_bits: u32,
    array: &ArrayConfig,
    chip: &ChipConfig,
    replication: usize,
) -> MatrixMap {
    let (slice_groups, ref_cols, cols_per_block) = column_layout(weight_bits, array);
    let data_cols = fan_out * slice_groups;
    let (r, c) = (array.rows as usize, array.cols as usize);
    let row_blocks = rows.div_ceil(r);
    let col_blocks = data_cols.div_ceil(cols_per_block);
    let spe = grid_side(chip.subarrays_per_pe);
    let stile = grid_side(chip.pes_per_tile);
    let pe_rows = row_blocks.div_ceil(spe);
    let pe_cols = col_blocks.div_ceil(spe);
    let tile_rows = pe_rows.div_ceil(stile);
    let tile_cols = pe_cols.div_ceil(stile);
    let tiles = tile_rows * tile_cols * replication;
    let subarrays_allocated = tiles * (spe * spe) * (stile * stile);
    let cells_used = rows * (data_cols + ref_cols * col_blocks) * replication;
    MatrixMap {
        rows,
        data_cols,
        slice_groups,
        ref_cols,
        cols_per_block,
        row_blocks,
        col_blocks,
        pe_rows,
        pe_cols,
        tile_rows,
        tile_cols,
        replication,
        subarrays_used: row_blocks * col_blocks * replication,
        subarrays_allocated,
        tiles,
        cells_used,
        utilisation: cells_used as f64 / (subarrays_allocated * r * c) as f64,
    }
}

/// Copies of each layer: `replication` for all (capped by the layer's positions), or in speed-up
/// mode in proportion to the layer's positions relative to the layer with the fewest.
pub fn replication_plan(positions: &[usize], chip: &ChipConfig) -> Vec<usize> {
    let cap = chip.replication as usize;
    let min = positions.iter().copied().min().unwrap_or(1).max(1);
    positions
        .iter()
        .map(|&p| {
            let want = if chip.speedup { p / min } else { cap };
            want.clamp(1, cap.min(p.max(1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mapping;

    #[test]
    fn odd_shapes_map_without_gaps() {
        let array = ArrayConfig::default();
        let chip = ChipConfig::default();
        for (rows, out) in [(1, 1), (27, 128), (129, 130), (1000, 3), (8192, 1024)] {
            let m = map_matrix(rows, out, 8, &array, &chip, 1);
            assert_eq!(m.row_blocks, rows.div_ceil(128));
            let held: usize = (0..m.col_blocks).map(|j| m.block_cols(j)).sum();
            assert_eq!(held, out * 4);
            let rows_held: usize = (0..m.row_blocks).map(|i| m.block_rows(&array, i)).sum();
            assert_eq!(rows_held, rows);
            assert!(m.utilisation > 0.0 && m.utilisation <= 1.0, "{m:?}");
        }
    }

    #[test]
    fn differential_doubles_columns() {
        let chip = ChipConfig::default();
        let mut array = ArrayConfig::default();
        let a = map_matrix(100, 50, 8, &array, &chip, 1);
        array.mapping = Mapping::Differential;
        let b = map_matrix(100, 50, 8, &array, &chip, 1);
        assert_eq!(b.data_cols, 2 * a.data_cols);
        assert_eq!((a.ref_cols, b.ref_cols), (1, 0));
    }
}
