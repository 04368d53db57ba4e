//! Direct Feedback Alignment for every network: every hidden weight layer l in scope gets a
//! fixed random matrix B_l (`[S_l][classes]`, S_l its output size per image before pooling) and
//! its error is `delta_l = (B_l e) * f'(a_l)`, e the output error. A conv layer's projection
//! `[B][C_out P]` is permuted into the channel-major `[C_out][B P]` map. Under
//! `DfaScope::FcHead` only the hidden FC layers get projections; the first FC layer's error is
//! backpropagated into the conv stack as under BP. With quantized feedback arrays
//! (`array.feedback_bits` > 0) the stacked matrix `[S][classes]` lives on one fixed crossbar
//! array, read once per step into every layer's block of `[B][S]`: an FC layer's error is its
//! block, a conv layer's is its block permuted into the channel-major map.

use super::instances::{instance_part, permute, view};
use super::network::{FeedbackArray, Kind, Net, NetDfa};
use crate::backend::*;
use crate::config::{DfaScope, Feedback};
use crate::nn::init;
use crate::xbar::direction::Direction;

/// Per layer: the size of its DFA signal per image (`Some(S_l)`), None where BP reaches it.
pub fn signal_sizes(net: &Net, scope: DfaScope) -> Vec<Option<usize>> {
    let last = net.layers.len() - 1;
    net.layers
        .iter()
        .enumerate()
        .map(|(l, lb)| match lb.kind {
            _ if l == last => None,
            Kind::Conv { geom, .. } => {
                (scope == DfaScope::All).then_some(geom.c_out * geom.positions())
            }
            Kind::Fc { fan_out, .. } => Some(fan_out),
        })
        .collect()
}

/// The feedback matrices of the layers with a DFA signal, in layer order, as the MLP draws
/// them (`init::feedback` over the signal sizes).
pub fn matrices(
    sizes: &[Option<usize>],
    kind: Feedback,
    classes: usize,
    seed: u64,
) -> Vec<Vec<f32>> {
    let n: Vec<usize> = sizes.iter().flatten().copied().collect();
    let stacked = init::feedback(kind, &n, classes, seed);
    let mut off = 0;
    n.iter()
        .map(|s| {
            let block = stacked[off..off + s * classes].to_vec();
            off += s * classes;
            block
        })
        .collect()
}

/// Gives `net` its DFA feedback matrices, instance i's drawn from `seeds[i]` (`[P][S_l][classes]`
/// per layer).
pub fn attach(be: &mut dyn Backend, net: &mut Net, scope: DfaScope, kind: Feedback, seeds: &[u64]) {
    let sizes = signal_sizes(net, scope);
    let classes = net.classes();
    let mut blocks: Vec<_> = seeds
        .iter()
        .map(|&seed| matrices(&sizes, kind, classes, seed).into_iter())
        .collect();
    let feedback = sizes
        .iter()
        .map(|s| {
            s.map(|_| {
                let m: Vec<f32> = blocks
                    .iter_mut()
                    .flat_map(|b| b.next().expect("one block per signal"))
                    .collect();
                let buf = be.alloc(m.len());
                be.write(buf, &m);
                buf
            })
        })
        .collect();
    let conv_max = net
        .layers
        .iter()
        .zip(&sizes)
        .filter(|(lb, s)| s.is_some() && matches!(lb.kind, Kind::Conv { .. }))
        .map(|(_, s)| s.unwrap())
        .max()
        .unwrap_or(1);
    net.dfa = Some(NetDfa {
        scope,
        feedback,
        proj: be.alloc(net.instances * net.hyper.batch * conv_max),
        array: None,
    });
}

/// Instance `inst`'s feedback matrices stacked `[S][classes]` (layer order), as its array holds
/// them.
pub fn stacked(be: &mut dyn Backend, net: &Net, inst: usize) -> Vec<f32> {
    let bufs: Vec<Buf> = net
        .dfa
        .iter()
        .flat_map(|d| d.feedback.iter().flatten().copied())
        .collect();
    bufs.into_iter()
        .flat_map(|b| instance_part(be, b, inst, net.instances))
        .collect()
}

/// Where an FC layer's error signal lives: a buffer, the offset of its first row, the row
/// length and the values between two instances' signals.
#[derive(Clone, Copy)]
pub(super) struct Rows {
    pub buf: Buf,
    pub off: u32,
    pub ld: u32,
    pub stride: u32,
}

impl Net {
    /// Whether layer `l` passes an error down to its input: always under BP; under DFA only
    /// the first FC layer and the conv stack below it, with `DfaScope::FcHead`.
    pub(super) fn passes_error(&self, l: usize) -> bool {
        match &self.dfa {
            None => true,
            Some(dfa) => {
                let first_fc = self
                    .layers
                    .iter()
                    .position(|lb| matches!(lb.kind, Kind::Fc { .. }))
                    .unwrap_or(self.layers.len() - 1);
                dfa.scope == DfaScope::FcHead && l <= first_fc
            }
        }
    }

    /// With feedback arrays: one read projects the output error onto every layer's block of
    /// the stacked signals (before the layers' backward passes use them).
    pub(super) fn dfa_project(&self, be: &mut dyn Backend, rows: usize) {
        let Some(fa) = self.dfa.as_ref().and_then(|d| d.array.as_ref()) else {
            return;
        };
        let (last, fan_out) = (
            self.layers.last().expect("a network has layers"),
            self.classes(),
        );
        let b = self.hyper.batch;
        let e = view(last.dout, fan_out, b * fan_out);
        let s = view(fa.signals, fa.width, b * fa.width);
        self.xbar_read(be, fa.id, Direction::Forward, true, e, s, rows);
    }

    /// Under DFA, writes layer `l`'s projected error `B_l e` into `dy` (its activated output's
    /// gradient, before pooling, in the layer's own layout) and returns true; false where the
    /// error arrives by backpropagation. With feedback arrays the signal is already in its
    /// block of the stacked signals (`dfa_project`).
    pub(super) fn dfa_error(&self, be: &mut dyn Backend, l: usize, dy: Buf, rows: usize) -> bool {
        let Some(fb) = self.dfa.as_ref().and_then(|d| d.feedback[l]) else {
            return false;
        };
        let dfa = self.dfa.as_ref().expect("checked above");
        if let Some(fa) = &dfa.array {
            self.array_error(be, fa, l, dy, rows);
            return true;
        }
        let last = self.layers.last().expect("a network has layers");
        let (e, classes) = (last.dout, self.classes() as u32);
        match self.layers[l].kind {
            Kind::Conv { geom: g, .. } => {
                // `[P][rows][S] = e[P][rows][classes] fb[P][S][classes]^T`, then per instance
                // `[rows][C_out][OH OW] -> [C_out][rows][OH OW]`.
                let (s, p) = (g.c_out * g.positions(), self.instances);
                let mut prj = Gemm::dense(rows as u32, s as u32, classes, false, true, p as u32);
                prj.params.stride_a = self.hyper.batch as u32 * classes;
                prj.params.stride_b = s as u32 * classes;
                be.gemm(e, fb, dfa.proj, &prj);
                let t = permute(rows, g.c_out, g.positions()).instances(p, rows * s);
                be.permute(dfa.proj, dy, &t);
            }
            Kind::Fc { fan_out, .. } => {
                let (b, fo) = (self.hyper.batch as u32, fan_out as u32);
                let p = self.instances as u32;
                let mut prj = Gemm::dense(rows as u32, fo, classes, false, true, p);
                prj.params.stride_a = b * classes;
                prj.params.stride_b = fo * classes;
                prj.params.stride_c = b * fo;
                be.gemm(e, fb, dy, &prj);
            }
        }
        true
    }

    /// With feedback arrays: conv layer `l`'s block `[B][C_out pos]` of the stacked signals
    /// permuted into its channel-major map `dy` (`[C_out][B pos]` per instance). An FC layer
    /// reads its block in place (`fc_delta`).
    fn array_error(
        &self,
        be: &mut dyn Backend,
        fa: &FeedbackArray,
        l: usize,
        dy: Buf,
        rows: usize,
    ) {
        let Kind::Conv { geom: g, .. } = self.layers[l].kind else {
            return;
        };
        let off = fa.offsets[l].expect("a layer with feedback has a block");
        let stride = self.hyper.batch * fa.width;
        let p = permute(rows, g.c_out, g.positions())
            .rows(off, fa.width)
            .instances(self.instances, stride);
        be.permute(fa.signals, dy, &p);
    }

    /// FC layer `l`'s error signal: its `dout`, or with feedback arrays its block of the stacked
    /// signals.
    pub(super) fn fc_delta(&self, l: usize) -> Rows {
        let lb = &self.layers[l];
        let fa = self.dfa.as_ref().and_then(|d| d.array.as_ref());
        match fa.and_then(|fa| fa.offsets[l].map(|off| (fa, off))) {
            Some((fa, off)) => Rows {
                buf: fa.signals,
                off: off as u32,
                ld: fa.width as u32,
                stride: (self.hyper.batch * fa.width) as u32,
            },
            None => Rows {
                buf: lb.dout,
                off: 0,
                ld: (lb.out_len(1)) as u32,
                stride: lb.out_len(self.hyper.batch) as u32,
            },
        }
    }
}
