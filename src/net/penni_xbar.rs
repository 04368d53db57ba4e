//! A PENNI conv layer in inference form on crossbars (no programming). The basis step is one
//! small array (`k^2` rows = kernel taps, `d` columns = bases) read once per input channel and
//! output pixel: the unrolled inputs `[B P C_in][k k]` read forward give `[B P][C_in d]`, the
//! basis maps with column `j = i d + b`. The coefficient matrix `[C_out][d C_in]` goes on a
//! second array holding only its used inputs (columns `j` some output reads) and live outputs,
//! so the maps are gathered before that read and its outputs scattered back into
//! `[C_out][B P]`, dropped outputs exactly zero before the bias. The reads run in
//! `products`.

use crate::backend::xbar::XbarId;
use crate::backend::*;
use crate::nn::conv::ConvGeom;
use crate::nn::model::Penni;

/// The coefficient array and the index maps around it (absent when every coefficient is 0).
pub struct CoefXbar {
    pub id: XbarId,
    /// Used basis-map columns `j = i d + b`, ascending: the array's inputs.
    pub used_in: Vec<usize>,
    /// Live outputs, ascending: the array's outputs.
    pub used_out: Vec<usize>,
    /// `used_in` on the backend, and per output its row among the read outputs (`used_out`'s
    /// length, a zero row, for dropped outputs).
    pub(super) in_idx: Buf,
    pub(super) out_idx: Buf,
    /// Label buffers the row gather needs beside the maps (never read).
    pub(super) labels: Buf,
    pub(super) labels_out: Buf,
}

/// A PENNI layer on crossbars, with the scratch its gathers need.
pub struct PenniXbar {
    pub d: usize,
    pub basis: XbarId,
    /// The layer's inputs can be negative (the basis maps always can).
    pub signed: bool,
    pub coef: Option<CoefXbar>,
    /// Scratch sized for a full batch: `max(C_in d, used outputs + 1) x B P` and
    /// `max(used inputs, used outputs) x B P`.
    pub(super) s1: Buf,
    pub(super) s2: Buf,
}

/// The used inputs and live outputs of coefficients `[C_out][J]`, and the compacted matrix.
pub fn compact(coef: &[f32], c_out: usize, j: usize) -> (Vec<usize>, Vec<usize>, Vec<f32>) {
    let used_in: Vec<usize> = (0..j)
        .filter(|&c| (0..c_out).any(|o| coef[o * j + c] != 0.0))
        .collect();
    let used_out: Vec<usize> = (0..c_out)
        .filter(|&o| coef[o * j..(o + 1) * j].iter().any(|&v| v != 0.0))
        .collect();
    let w = used_out
        .iter()
        .flat_map(|&o| used_in.iter().map(move |&c| coef[o * j + c]))
        .collect();
    (used_in, used_out, w)
}

impl PenniXbar {
    /// Buffers for a layer of geometry `g` and batches of `batch` images; `coef` holds the
    /// coefficient array created from [`compact`]'s matrix, with its index sets.
    pub fn new(
        be: &mut dyn Backend,
        g: &ConvGeom,
        d: usize,
        batch: usize,
        basis: XbarId,
        signed: bool,
        coef: Option<(XbarId, Vec<usize>, Vec<usize>)>,
    ) -> PenniXbar {
        let n = batch * g.positions();
        let j = g.c_in * d;
        let (ui, uo) = coef.as_ref().map_or((0, 0), |(_, a, b)| (a.len(), b.len()));
        let coef = coef.map(|(id, used_in, used_out)| {
            let in_idx = be.alloc_u32(used_in.len());
            be.write_u32(
                in_idx,
                &used_in.iter().map(|&v| v as u32).collect::<Vec<_>>(),
            );
            let mut rows = vec![used_out.len() as u32; g.c_out];
            for (r, &o) in used_out.iter().enumerate() {
                rows[o] = r as u32;
            }
            let out_idx = be.alloc_u32(g.c_out);
            be.write_u32(out_idx, &rows);
            let labels = be.alloc_u32(j.max(used_out.len() + 1));
            let labels_out = be.alloc_u32(used_in.len().max(g.c_out));
            CoefXbar {
                id,
                used_in,
                used_out,
                in_idx,
                out_idx,
                labels,
                labels_out,
            }
        });
        PenniXbar {
            d,
            basis,
            signed,
            coef,
            s1: be.alloc(j.max(uo + 1) * n),
            s2: be.alloc(ui.max(uo).max(1) * n),
        }
    }
}

impl PenniXbar {
    /// The nominal weights stored on the arrays, dropped coefficients zero.
    pub fn decode(&self, be: &mut dyn Backend, g: &ConvGeom) -> Penni {
        let j = g.c_in * self.d;
        let mut coef = vec![0.0; g.c_out * j];
        if let Some(c) = &self.coef {
            let w = be.xbar_cells(c.id)[0].decode_weights();
            for (r, &o) in c.used_out.iter().enumerate() {
                for (q, &i) in c.used_in.iter().enumerate() {
                    coef[o * j + i] = w[r * c.used_in.len() + q];
                }
            }
        }
        Penni {
            d: self.d,
            basis: be.xbar_cells(self.basis)[0].decode_weights(),
            coef,
        }
    }
}
