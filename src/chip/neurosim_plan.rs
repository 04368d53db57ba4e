//! The floorplan search of the `neurosim` mode: how DNN+NeuroSim (V1.4 and V2.1 share it) sizes
//! processing elements (PEs) and tiles for a given network, which layers it maps "novel" (one PE
//! per kernel tap) and which conventionally, how many copies of a small layer fit in the idle
//! subarrays of its tile, and how many tiles each layer takes. Re-derived from the rules the
//! estimator applies; every size is a power of two in cells.
//!
//! Terms: a layer's weight matrix has `rows` = C_in k^2 and `cols` = C_out x cells per weight.
//! - Novel-mapped layers (conv layers with the network's most common kernel size and at least a
//!   subarray of rows) spread each kernel tap over its own PE: a tile holds `pes_novel` = k^2 PEs
//!   of `pe_novel` x `pe_novel` cells, and the layer needs ceil(C_in / pe) x ceil(cols / pe) tiles.
//! - Conventionally mapped layers (the rest: the first conv layer with few input channels, 1x1
//!   convs, FC layers) unroll the matrix onto tiles of `tile_conv` x `tile_conv` cells made of
//!   `pe_conv`-sized PEs.
//! - PE and tile sizes are searched from the smallest power of two holding the widest layer
//!   downward, keeping the size with the best memory utilisation.
//! - A layer smaller than its PE (or tile) is copied into the idle PEs and subarrays; the copies
//!   read different input vectors at once (the speed-up of the layer). A pipelined chip adds
//!   copies by the IFM-size rule of `sizing::speedup_copies`.

use super::sizing;
use crate::nn::arch::{LayerKind, LayerShape};

/// One layer placed by the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    pub novel: bool,
    pub tile_rows: usize,
    pub tile_cols: usize,
    /// Copies of the layer reading different positions at once (1 = none).
    pub speedup: usize,
}

impl LayerPlan {
    pub fn tiles(&self) -> usize {
        self.tile_rows * self.tile_cols
    }
}

/// The sizes the search settled on and the placement of every layer.
#[derive(Debug, Clone, PartialEq)]
pub struct NsPlan {
    /// PEs in a novel-mapped tile (the common k^2; 0 when no layer is novel-mapped).
    pub pes_novel: usize,
    /// Side of a novel-mapped PE in cells.
    pub pe_novel: usize,
    /// Side of a conventional tile in cells.
    pub tile_conv: usize,
    /// Side of a conventional PE in cells.
    pub pe_conv: usize,
    /// Cell columns per weight (weight bits / cell bits).
    pub cols_per_weight: usize,
    pub layers: Vec<LayerPlan>,
}

/// What the search needs to know.
pub struct PlanInput<'a> {
    pub layers: &'a [LayerShape],
    pub sub_rows: usize,
    pub sub_cols: usize,
    pub weight_bits: u32,
    pub cell_bits: u32,
    /// Map large conv layers one PE per kernel tap (NeuroSim's `novelMapping`).
    pub novel: bool,
    pub pipelined: bool,
    /// Pipelined speed-up degree requested (capped by `sizing::speedup_copies`).
    pub degree: usize,
}

/// NetWork.csv view of a layer: IFM side, input channels, kernel side.
fn ifm(s: &LayerShape) -> (usize, usize, usize) {
    match s.kind {
        LayerKind::Fc => (1, s.fan_in, 1),
        _ => (s.in_h, s.c_in, s.k),
    }
}

fn pow2_ceil(x: usize) -> usize {
    x.max(1).next_power_of_two()
}

/// Copies of a `rows` x `cols` block in a square region of `region` cells built from `unit`-sized
/// pieces (PEs or subarrays): along each side, the whole pieces the region has over the pieces
/// the block needs, at least 1. Only blocks with a side no larger than the region are copied.
fn dup(
    rows: usize,
    cols: usize,
    region: usize,
    unit_rows: usize,
    unit_cols: usize,
) -> (usize, usize) {
    if rows > region && cols > region {
        return (1, 1);
    }
    let need_r = rows.div_ceil(unit_rows).max(1);
    let need_c = cols.div_ceil(unit_cols).max(1);
    let have_r = region.div_ceil(unit_rows);
    let have_c = region.div_ceil(unit_cols);
    ((have_r / need_r).max(1), (have_c / need_c).max(1))
}

pub fn plan(inp: &PlanInput) -> NsPlan {
    let r = inp.sub_rows.max(1);
    let c = inp.sub_cols.max(1);
    let cpw = inp.weight_bits.div_ceil(inp.cell_bits.max(1)) as usize;
    let n = inp.layers.len();
    let shapes: Vec<(usize, usize, usize)> = inp.layers.iter().map(ifm).collect();
    let rows: Vec<usize> = shapes.iter().map(|&(_, ci, k)| ci * k * k).collect();
    let cols: Vec<usize> = inp.layers.iter().map(|s| s.fan_out * cpw).collect();

    // The kernel area most layers share (a first layer with k = 1 sets it to 1: an MLP maps
    // every layer as one-PE novel tiles).
    let mut pes_novel = 0;
    let mut most = 0;
    for &(_, _, k) in &shapes {
        let area = k * k;
        let count = 1 + shapes
            .iter()
            .filter(|&&(_, _, kj)| area != 1 && kj * kj == area)
            .count();
        if count > most {
            most = count;
            pes_novel = area;
        }
    }
    let novel: Vec<bool> = (0..n)
        .map(|i| inp.novel && shapes[i].2.pow(2) == pes_novel && rows[i] >= r)
        .collect();
    if !novel.iter().any(|&v| v) {
        pes_novel = 0;
    }
    let widest = |want: bool| {
        (0..n)
            .filter(|&i| novel[i] == want)
            .map(|i| pow2_ceil(cols[i]))
            .max()
            .unwrap_or(0)
    };

    // Novel PE size: best utilisation from the widest layer down to 4 subarrays.
    let novel_util = |pe: usize| {
        let (mut tiles, mut cells) = (0usize, 0f64);
        for i in (0..n).filter(|&i| novel[i]) {
            tiles += shapes[i].1.div_ceil(pe) * cols[i].div_ceil(pe);
            cells += (rows[i] * cols[i]) as f64;
        }
        cells / (tiles * pe * pe * pes_novel.max(1)) as f64
    };
    let mut pe_novel = widest(true).max(2 * r);
    let mut best = 0.0;
    let mut pe = pe_novel;
    while pe > 2 * r {
        let u = novel_util(pe);
        if u > best {
            best = u;
            pe_novel = pe;
        }
        pe /= 2;
    }

    // Conventional tile size, then its PE size, on one utilisation scale.
    let conv_tiles = |t: usize| -> (usize, f64) {
        let (mut tiles, mut cells) = (0usize, 0f64);
        for i in (0..n).filter(|&i| !novel[i]) {
            tiles += rows[i].div_ceil(t) * cols[i].div_ceil(t);
            cells += (rows[i] * cols[i]) as f64;
        }
        (tiles, cells / (tiles * t * t) as f64)
    };
    let mut tile_conv = widest(false).max(4 * r);
    let mut conv_count = conv_tiles(tile_conv).0;
    let mut best = 0.0;
    let mut t = tile_conv;
    while t > 4 * r {
        let (count, u) = conv_tiles(t);
        if u > best {
            best = u;
            tile_conv = t;
            conv_count = count;
        }
        t /= 2;
    }
    let pe_dups = |pe: usize| -> (Vec<(usize, usize)>, f64) {
        let mut cells = 0.0;
        let d: Vec<(usize, usize)> = (0..n)
            .map(|i| {
                if novel[i] {
                    return (1, 1);
                }
                let d = dup(rows[i], cols[i], tile_conv, pe, pe);
                cells += (d.0 * d.1 * rows[i] * cols[i]) as f64;
                d
            })
            .collect();
        let u = cells / (conv_count * tile_conv * tile_conv) as f64;
        (d, u)
    };
    let mut pe_conv = tile_conv / 2;
    let mut pe = tile_conv / 2;
    while pe > 2 * r {
        let u = pe_dups(pe).1;
        if u > best {
            best = u;
            pe_conv = pe;
        }
        pe /= 2;
    }
    let pe_dup = pe_dups(pe_conv).0;

    let pipe = if inp.pipelined {
        sizing::speedup_copies(inp.layers, inp.degree)
    } else {
        vec![1; n]
    };
    let layers = (0..n)
        .map(|i| {
            // Subarray copies inside one PE.
            let (sub_r, sub_c) = if novel[i] {
                dup(shapes[i].1, cols[i], pe_novel, r, c)
            } else {
                dup(rows[i], cols[i], pe_conv, r, c)
            };
            let (pd_r, pd_c) = pe_dup[i];
            let copies = pd_r * pd_c * sub_r * sub_c;
            let extra = if inp.pipelined {
                pipe[i].div_ceil(copies).max(1)
            } else {
                1
            };
            let (tile_rows, tile_cols) = if novel[i] {
                (shapes[i].1.div_ceil(pe_novel), cols[i].div_ceil(pe_novel))
            } else {
                (rows[i].div_ceil(tile_conv), cols[i].div_ceil(tile_conv))
            };
            LayerPlan {
                novel: novel[i],
                tile_rows: tile_rows * extra,
                tile_cols,
                speedup: copies * extra,
            }
        })
        .collect();
    NsPlan {
        pes_novel,
        pe_novel,
        tile_conv,
        pe_conv,
        cols_per_weight: cpw,
        layers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chip::netlist;

    fn input(layers: &[LayerShape], cell_bits: u32, novel: bool, pipelined: bool) -> NsPlan {
        plan(&PlanInput {
            layers,
            sub_rows: 128,
            sub_cols: 128,
            weight_bits: 8,
            cell_bits,
            novel,
            pipelined,
            degree: 8,
        })
    }

    fn vgg8() -> Vec<LayerShape> {
        netlist::parse(
            "32,32,3,3,3,128,0,1\n32,32,128,3,3,128,1,1\n16,16,128,3,3,256,0,1\n\
             16,16,256,3,3,256,1,1\n8,8,256,3,3,512,0,1\n8,8,512,3,3,512,1,1\n\
             1,1,8192,1,1,1024,0,1\n1,1,1024,1,1,10,0,1",
            "vgg8",
        )
        .unwrap()
    }

    fn mlp() -> Vec<LayerShape> {
        netlist::parse(
            "1,1,784,1,1,256,0,1\n1,1,256,1,1,128,0,1\n1,1,128,1,1,10,0,1",
            "mlp",
        )
        .unwrap()
    }

    // Expected values are NeuroSim V1.4's own floorplan printout for the same settings.
    #[test]
    fn vgg8_two_bit_cells_match_the_estimator() {
        let p = input(&vgg8(), 2, true, false);
        assert_eq!(
            (p.pes_novel, p.pe_novel, p.tile_conv, p.pe_conv),
            (9, 512, 1024, 512)
        );
        let tiles: Vec<usize> = p.layers.iter().map(|l| l.tiles()).collect();
        assert_eq!(tiles, vec![1, 1, 2, 2, 4, 4, 32, 1]);
        let sp: Vec<usize> = p.layers.iter().map(|l| l.speedup).collect();
        assert_eq!(sp, vec![16, 4, 4, 2, 2, 1, 1, 8]);
    }

    #[test]
    fn pipelined_vgg8_adds_ifm_copies() {
        let p = input(&vgg8(), 1, true, true);
        let tiles: Vec<usize> = p.layers.iter().map(|l| l.tiles()).collect();
        assert_eq!(tiles, vec![2, 8, 4, 8, 8, 8, 64, 1]);
        let sp: Vec<usize> = p.layers.iter().map(|l| l.speedup).collect();
        assert_eq!(sp, vec![16, 16, 4, 4, 2, 1, 1, 8]);
    }

    #[test]
    fn mlp_maps_every_layer_as_one_pe_tiles() {
        let p = input(&mlp(), 1, true, false);
        assert_eq!((p.pes_novel, p.pe_novel), (1, 512));
        let tiles: Vec<usize> = p.layers.iter().map(|l| l.tiles()).collect();
        assert_eq!(tiles, vec![8, 2, 1]);
        let sp: Vec<usize> = p.layers.iter().map(|l| l.speedup).collect();
        assert_eq!(sp, vec![1, 2, 16]);
        let conv = input(&mlp(), 1, false, false);
        assert_eq!((conv.tile_conv, conv.pe_conv), (1024, 512));
        let tiles: Vec<usize> = conv.layers.iter().map(|l| l.tiles()).collect();
        assert_eq!(tiles, vec![2, 1, 1]);
        let sp: Vec<usize> = conv.layers.iter().map(|l| l.speedup).collect();
        assert_eq!(sp, vec![1, 4, 64]);
    }
}
