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

    /// Under DFA, writes layer `l`'s projected error `B_l e` into `dy` (its activated output's
    /// gradient, before pooling, in the layer's own layout) and returns true; false where the
    /// error arrives by backpropagation.
    pub(super) fn dfa_error(&self, be: &mut dyn Backend, l: usize, dy: Buf, rows: usize) -> bool {
        let Some(fb) = self.dfa.as_ref().and_then(|d| d.feedback[l]) else {
            return false;
        };
        let dfa = self.dfa.as_ref().expect("checked above");
        let last = self.layers.last().expect("a network has layers");
        let Kind::Fc { fan_out, .. } = last.kind else {
            unreachable!("a conv network ends with an FC layer")
        };
        let (e, classes) = (last.dout, fan_out as u32);
        match self.layers[l].kind {
            Kind::Conv { geom: g, .. } => {
                let s = (g.c_out * g.positions()) as u32;
                let prj = Gemm::dense(rows as u32, s, classes, false, true, 1);
                be.gemm(e, fb, dfa.proj, &prj);
                be.permute(dfa.proj, dy, &permute(rows, g.c_out, g.positions()));
            }
            Kind::Fc { fan_out, .. } => {
                let prj = Gemm::dense(rows as u32, fan_out as u32, classes, false, true, 1);
                be.gemm(e, fb, dy, &prj);
            }
        }
        true
    }
}
