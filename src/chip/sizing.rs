//! Network-derived sizing rules of the `neurosim` floorplan mode (DNN+NeuroSim's structure,
//! re-derived): which positions a layer reads, how many speed-up copies a pipelined layer
//! gets, and buffers sized to what they must hold.

use crate::nn::arch::{LayerKind, LayerShape};

/// Output positions read per image. `same`: the padded positions the network computes.
/// `valid`: NeuroSim reads only the positions where the kernel fits without padding,
/// ((H - K + 1) / S) x ((W - K + 1) / S), integer division in that order.
pub fn read_positions(s: &LayerShape, valid: bool) -> usize {
    if !valid || s.kind == LayerKind::Fc || (s.k <= 1 && s.stride == 1) {
        return s.positions;
    }
    let h = (s.in_h + 1).saturating_sub(s.k);
    let w = (s.in_w + 1).saturating_sub(s.k);
    (h / s.stride * w / s.stride).max(1)
}

/// Speed-up copies of a pipelined chip: the degree is capped by the ratio of the largest to the
/// smallest input size of the conv layers (beyond it no layer would idle less); a layer of input
/// size H gets ceil((H / bound)^2) copies, bound = ceil(largest / degree). FC layers get one.
pub fn speedup_copies(layers: &[LayerShape], degree: usize) -> Vec<usize> {
    let largest = layers.first().map(|s| s.in_h).unwrap_or(1).max(1);
    let smallest = layers
        .iter()
        .filter(|s| s.kind == LayerKind::Conv && s.k > 1)
        .map(|s| s.in_h)
        .min()
        .unwrap_or(largest)
        .max(1);
    let degree = degree.clamp(1, (largest / smallest).max(1));
    let bound = largest.div_ceil(degree) as f64;
    layers
        .iter()
        .map(|s| ((s.in_h as f64 / bound).powi(2).ceil() as usize).max(1))
        .collect()
}

/// Copies of a mapped layer that fit in the idle subarrays of the tiles it already owns (NeuroSim
/// duplicates small layers inside their tile at no area cost): along rows and along columns, a
/// layer spanning `blocks` <= `side_blocks` subarrays fits side_blocks / blocks times.
/// `side_blocks` = subarrays along one side of a tile.
pub fn intra_tile_copies(row_blocks: usize, col_blocks: usize, side_blocks: usize) -> usize {
    let along = |blocks: usize| {
        if blocks <= side_blocks {
            side_blocks / blocks.max(1)
        } else {
            1
        }
    };
    along(row_blocks) * along(col_blocks)
}

/// Global buffer in bits: the largest layer input (layer by layer), or half of all layer inputs
/// (pipelined: consecutive layers work on different images at once), at `input_bits` each.
pub fn global_buffer_bits(layers: &[LayerShape], input_bits: u32, pipelined: bool) -> f64 {
    let inputs = layers.iter().map(|s| (s.in_h * s.in_w * s.c_in) as f64);
    let values = if pipelined {
        inputs.sum::<f64>() / 2.0
    } else {
        inputs.fold(0.0, f64::max)
    };
    values * input_bits as f64
}

/// A unit's input-and-output register file in bits: one input vector for its `rows` rows and one
/// output value of `out_bits` per ADC lane of its `cols` columns.
pub fn io_buffer_bits(rows: usize, cols: usize, mux: u32, input_bits: u32, out_bits: usize) -> f64 {
    (rows * input_bits as usize + cols.div_ceil(mux as usize) * out_bits) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::parse_shapes;

    fn vgg8() -> Vec<LayerShape> {
        parse_shapes(
            "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
            [3, 32, 32],
        )
        .unwrap()
    }

    #[test]
    fn valid_positions_drop_the_padded_border() {
        let l = vgg8();
        let p: Vec<usize> = l.iter().map(|s| read_positions(s, true)).collect();
        assert_eq!(p, vec![900, 900, 196, 196, 36, 36, 1, 1]);
        let same: Vec<usize> = l.iter().map(|s| read_positions(s, false)).collect();
        assert_eq!(same, vec![1024, 1024, 256, 256, 64, 64, 1, 1]);
    }

    #[test]
    fn speedup_degree_is_capped_by_the_conv_input_sizes() {
        // IFM 32 / 8 caps the degree at 4: bound 8, copies (32/8)^2 = 16, (16/8)^2 = 4, 1.
        assert_eq!(speedup_copies(&vgg8(), 8), vec![16, 16, 4, 4, 1, 1, 1, 1]);
        assert_eq!(speedup_copies(&vgg8(), 2), vec![4, 4, 1, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn small_layers_fill_their_tile() {
        // 4x4 subarrays per tile: one subarray fits 16 times, 2 row blocks twice, 7 once.
        assert_eq!(intra_tile_copies(1, 1, 4), 16);
        assert_eq!(intra_tile_copies(2, 9, 4), 2);
        assert_eq!(intra_tile_copies(7, 9, 4), 1);
    }

    #[test]
    fn global_buffer_holds_the_largest_input() {
        let l = vgg8();
        assert_eq!(global_buffer_bits(&l, 8, false), (32 * 32 * 128 * 8) as f64);
        let all: usize = l.iter().map(|s| s.in_h * s.in_w * s.c_in).sum();
        assert_eq!(global_buffer_bits(&l, 8, true), (all * 8) as f64 / 2.0);
    }
}
