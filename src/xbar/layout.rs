//! How a weight matrix's cell columns fill subarrays: the column groups of one weight, the
//! reference columns of the offset mapping, and how many small blocks share one subarray.

use crate::config::{ArrayConfig, Mapping};

/// Cell columns per weight column (slices, x2 for differential), reference columns per
/// subarray, and data columns a subarray holds.
pub fn column_layout(weight_bits: u32, array: &ArrayConfig) -> (usize, usize, usize) {
    let slices = weight_bits.div_ceil(array.cell_bits) as usize;
    let (sides, ref_cols) = match array.mapping {
        Mapping::Offset => (1, 1),
        Mapping::Differential => (2, 0),
    };
    // A 1-column subarray with a reference column would hold no data: keep at least one.
    let cols_per_block = (array.cols as usize).saturating_sub(ref_cols).max(1);
    (slices * sides, ref_cols, cols_per_block)
}

/// How many copies of a small `rows x cols` weight block fit on the diagonal of one subarray
/// (at least 1): a block-diagonal matrix reads that many independent inputs in one read.
pub fn blocks_per_subarray(
    rows: usize,
    cols: usize,
    weight_bits: u32,
    array: &ArrayConfig,
) -> usize {
    let (slice_groups, _, cols_per_block) = column_layout(weight_bits, array);
    let by_rows = array.rows as usize / rows.max(1);
    let by_cols = cols_per_block / (cols * slice_groups).max(1);
    by_rows.min(by_cols).max(1)
}
