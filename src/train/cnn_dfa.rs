//! Direct Feedback Alignment for conv networks: every hidden weight layer l in scope gets a
//! fixed random matrix B_l (`[S_l][classes]`, S_l its output size per image before pooling) and
//! its error is `delta_l = (B_l e) * f'(a_l)`, e the output error. A conv layer's projection
//! `[B][C_out P]` is permuted into the channel-major `[C_out][B P]` map. Under
//! `DfaScope::FcHead` only the hidden FC layers get projections; the first FC layer's error is
//! backpropagated into the conv stack as under BP.

use super::cnn_net::{permute, CnnNet, Kind};
use super::init;
use crate::backend::*;
use crate::config::{DfaScope, Feedback};
use crate::nn::pool;

pub struct CnnDfa {
    pub scope: DfaScope,
    /// Per layer: its feedback matrix `[S_l][classes]`, None where the error arrives by BP
    /// (the output layer, and conv layers under `FcHead`).
    pub feedback: Vec<Option<Buf>>,
    /// Scratch for a conv layer's projection `[B][C_out P]`.
    proj: Buf,
}

/// Per layer: the size of its DFA signal per image (`Some(S_l)`), None where BP reaches it.
pub fn signal_sizes(net: &CnnNet, scope: DfaScope) -> Vec<Option<usize>> {
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

/// Gives `net` its DFA feedback matrices.
pub fn attach(be: &mut dyn Backend, net: &mut CnnNet, scope: DfaScope, kind: Feedback, seed: u64) {
    let sizes = signal_sizes(net, scope);
    let classes = match net.layers.last().map(|lb| &lb.kind) {
        Some(Kind::Fc { fan_out, .. }) => *fan_out,
        _ => unreachable!("a conv network ends with an FC layer"),
    };
    let mut blocks = matrices(&sizes, kind, classes, seed).into_iter();
    let feedback = sizes
        .iter()
        .map(|s| {
            s.map(|_| {
                let m = blocks.next().expect("one block per signal");
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
    net.dfa = Some(CnnDfa {
        scope,
        feedback,
        proj: be.alloc(net.hyper.batch * conv_max),
    });
}

impl CnnNet {
    /// The error signals and gradients of every layer from the output error in the last
    /// layer's `dout`: DFA when the net has feedback matrices, else BP.
    pub fn errors(&self, be: &mut dyn Backend, rows: usize) {
        match &self.dfa {
            Some(dfa) => self.backward_dfa(be, dfa, rows),
            None => self.backward(be, rows),
        }
    }

    fn backward_dfa(&self, be: &mut dyn Backend, dfa: &CnnDfa, rows: usize) {
        let last = self.layers.len() - 1;
        let e = self.layers[last].dout;
        let classes = match self.layers[last].kind {
            Kind::Fc { fan_out, .. } => fan_out as u32,
            Kind::Conv { .. } => unreachable!("a conv network ends with an FC layer"),
        };
        let first_fc = self
            .layers
            .iter()
            .position(|lb| matches!(lb.kind, Kind::Fc { .. }))
            .unwrap_or(last);
        for l in (0..=last).rev() {
            let (input, din) = self.input_of(l);
            // Under FcHead the first FC layer and the conv stack below pass errors down.
            let din = din.filter(|_| dfa.scope == DfaScope::FcHead && l <= first_fc);
            let act = self.act(l);
            let lb = &self.layers[l];
            match &lb.kind {
                Kind::Conv { geom, layout } => {
                    let g = *geom;
                    let n = (rows * g.positions()) as u32;
                    match (dfa.feedback[l], lb.pool, lb.pooled) {
                        (Some(fb), _, _) => {
                            let s = (g.c_out * g.positions()) as u32;
                            let prj = Gemm::dense(rows as u32, s, classes, false, true, 1);
                            be.gemm(e, fb, dfa.proj, &prj);
                            let to_maps = permute(rows, g.c_out, g.positions());
                            be.permute(dfa.proj, lb.dout, &to_maps);
                        }
                        (None, Some(k), Some((_, dp))) => {
                            let prm =
                                pool::backward_params(k, g.c_out * rows, g.out_h(), g.out_w());
                            be.pool_backward(lb.out, dp, lb.dout, &prm);
                        }
                        (None, _, _) => {}
                    }
                    let view = ActParams {
                        rows: n,
                        cols: 1,
                        count: g.c_out as u32 * n,
                        act,
                        ld0: 1,
                        off0: 0,
                        stride0: n,
                        ld1: 1,
                        off1: 0,
                        stride1: n,
                        _pad: [0; 2],
                    };
                    be.act_backward(lb.dout, lb.out, &view);
                    let bias = ActParams {
                        count: g.c_out as u32,
                        stride0: 1,
                        ..view
                    };
                    be.bias_grad(lb.bias.g, lb.dout, &bias);
                    be.im2col(input, self.cols, &g.im2col(rows, *layout));
                    self.conv_grads(be, l, rows, din);
                }
                Kind::Fc { fan_out, .. } => {
                    let fo = *fan_out as u32;
                    if let Some(fb) = dfa.feedback[l] {
                        let prj = Gemm::dense(rows as u32, fo, classes, false, true, 1);
                        be.gemm(e, fb, lb.dout, &prj);
                    }
                    let view = ActParams {
                        rows: rows as u32,
                        cols: fo,
                        count: rows as u32 * fo,
                        act,
                        ld0: fo,
                        off0: 0,
                        stride0: 0,
                        ld1: fo,
                        off1: 0,
                        stride1: 0,
                        _pad: [0; 2],
                    };
                    be.act_backward(lb.dout, lb.out, &view);
                    be.bias_grad(lb.bias.g, lb.dout, &ActParams { count: fo, ..view });
                    let (src, dsrc) = match lb.flat {
                        Some((f, df)) => (f, din.map(|_| df)),
                        None => (input, din),
                    };
                    self.fc_grads(be, l, src, dsrc, din, rows);
                }
            }
        }
    }
}
