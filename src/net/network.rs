//! A network's buffers on one backend (any layer graph: FC-only perceptrons and conv nets):
//! every layer's kind, weights, outputs and their gradients, the scratch the kernels share,
//! and the state of in-situ training and DFA. Conv maps are channel-major (CNHW) so that one
//! GEMM covers the batch. What runs on them: construction (`build`), forward, loss and
//! backward (`step`, with `products`, `shortcut` and `dfa`), the SGD step
//! (`weights`), and crossbar reads and programming (`xbar`).

use super::block::{BnBufs, SkipBufs};
use super::instances::Hyper;
use super::param::Param;
use super::penni_xbar::PenniXbar;
use super::xbar_steps::XbarSteps;
use crate::backend::xbar::XbarId;
use crate::backend::*;
use crate::config::DfaScope;
use crate::nn::arch::PoolKind;
use crate::nn::conv::{ConvGeom, Layout};

pub enum Kind {
    Conv {
        geom: ConvGeom,
        layout: Layout,
    },
    /// `from_conv`: (channels, pixels) of the conv maps flattened into this layer's input.
    Fc {
        fan_in: usize,
        fan_out: usize,
        from_conv: Option<(usize, usize)>,
    },
}

pub struct LayerBufs {
    pub kind: Kind,
    pub pool: Option<PoolKind>,
    pub weights: Weights,
    pub bias: Param,
    /// Post-activation output (conv `[P][C_out][B OH OW]`, FC `[P][B][N]`) and its gradient.
    pub out: Buf,
    pub dout: Buf,
    /// Pooled maps and their gradient.
    pub pooled: Option<(Buf, Buf)>,
    /// FC after conv: flattened input `[P][B][C H W]` (dense for the batch's rows) and its
    /// gradient.
    pub flat: Option<(Buf, Buf)>,
    /// Batch norm of the conv output, and then the activated maps and their gradient (`out`
    /// keeps the conv output the weight products read).
    pub bn: Option<BnBufs>,
    pub post: Option<(Buf, Buf)>,
    /// The residual shortcut this layer closes.
    pub skip: Option<SkipBufs>,
}

impl LayerBufs {
    /// What the next layer reads, and where its input gradient goes.
    pub(super) fn output(&self) -> (Buf, Buf) {
        self.pooled.unwrap_or((self.act_buf(), self.act_grad()))
    }

    /// The activated (pre-pool) output.
    pub(super) fn act_buf(&self) -> Buf {
        self.post.map_or(self.out, |p| p.0)
    }

    /// The gradient of the activated output (after `act_backward`: of its argument).
    pub(super) fn act_grad(&self) -> Buf {
        self.post.map_or(self.dout, |p| p.1)
    }

    /// Values in one instance's (pre-pool) output for `rows` images.
    pub(super) fn out_len(&self, rows: usize) -> usize {
        match &self.kind {
            Kind::Conv { geom, .. } => geom.c_out * rows * geom.positions(),
            Kind::Fc { fan_out, .. } => fan_out * rows,
        }
    }
}

/// The forms a layer's weights take.
pub enum Weights {
    Dense(Param),
    /// Bases `[P][d][k k]`, coefficients `[P][C_out][C_in][d]`, and scratch for the rebuilt
    /// kernel and its gradient `[P][C_out][C_in k k]`.
    Penni {
        d: usize,
        basis: Param,
        coef: Param,
        w: Buf,
        gw: Buf,
    },
    /// Conductances on a crossbar layer (`[C_out][C_in k k]` or `[fan_out][fan_in]`);
    /// `grad.w` is zeros, `grad.g`/`grad.v` the digital gradient and momentum that
    /// `xbar` programs into the cells. `signed`: the layer's inputs can be negative.
    Xbar {
        id: XbarId,
        signed: bool,
        grad: Param,
    },
    /// A PENNI layer on crossbars, inference only (`penni_xbar`).
    PenniXbar(Box<PenniXbar>),
}

pub struct Net {
    pub hyper: Hyper,
    /// Population instances P held in every buffer (`[P][...]`, each instance its own
    /// weights, learning rate and crossbar cells), every kernel running all P in one dispatch.
    pub instances: usize,
    pub input: [usize; 3],
    pub layers: Vec<LayerBufs>,
    /// Batch images `[B][C H W]` and labels.
    pub x: Buf,
    pub y: Buf,
    pub stats: Buf,
    pub acc: Buf,
    pub lr: Buf,
    /// Unrolled inputs (and their gradient, in turn), sized for the largest layer.
    pub(super) cols: Buf,
    pub(super) cols_t: Buf,
    pub(super) dout_t: Buf,
    /// Basis maps of PENNI layers in inference form `[P][C_in d][B OH OW]`, and as the basis
    /// GEMM writes them `[P][d C_in][B OH OW]`.
    pub(super) maps: Buf,
    pub(super) maps_t: Buf,
    /// Run PENNI layers in the two-step inference form instead of rebuilding the kernel.
    pub inference_form: bool,
    /// Crossbar state of in-situ training (read and step counters).
    pub xbar: Option<XbarSteps>,
    /// DFA feedback matrices and scope.
    pub dfa: Option<NetDfa>,
    /// Training mode (batch norm uses and updates batch statistics) or evaluation mode
    /// (running statistics).
    pub training: bool,
    /// Zero biases for activation-only passes, sized for the widest layer.
    pub(super) zeros: Buf,
    /// The first layer trained: 0, or the last layer alone (`train.last_layer_only`).
    pub trained_from: usize,
}

impl Net {
    /// Sets every instance's learning rate to `lr`.
    pub fn set_lr(&mut self, be: &mut dyn Backend, lr: f32) {
        self.set_lrs(be, &vec![lr; self.instances]);
    }

    /// Sets instance i's learning rate to `lrs[i]` (`hyper.lr` keeps instance 0's).
    pub fn set_lrs(&mut self, be: &mut dyn Backend, lrs: &[f32]) {
        self.hyper.lr = lrs[0];
        be.write(self.lr, lrs);
    }

    /// Layer `l`'s activation: the network's, identity on the output layer.
    pub(super) fn act(&self, l: usize) -> u32 {
        if l + 1 == self.layers.len() {
            Activation::Identity as u32
        } else {
            self.hyper.activation as u32
        }
    }

    /// Output classes: the width of the last layer (fully connected, checked in `new`).
    pub(super) fn classes(&self) -> usize {
        match self.layers.last().map(|lb| &lb.kind) {
            Some(Kind::Fc { fan_out, .. }) => *fan_out,
            _ => unreachable!("a network ends with a fully connected layer"),
        }
    }

    /// The input of layer `l` and where its gradient goes (None for the images).
    pub(super) fn input_of(&self, l: usize) -> (Buf, Option<Buf>) {
        if l == 0 {
            (self.x, None)
        } else {
            let (o, d) = self.layers[l - 1].output();
            (o, Some(d))
        }
    }
}

/// DFA's feedback (`dfa`).
pub struct NetDfa {
    pub scope: DfaScope,
    /// Per layer: its feedback matrix `[S_l][classes]`, None where the error arrives by BP
    /// (the output layer, and conv layers under `FcHead`).
    pub feedback: Vec<Option<Buf>>,
    /// Scratch for a conv layer's projection `[P][B][C_out OH OW]`.
    pub(super) proj: Buf,
    /// The feedback on a crossbar array, when quantized.
    pub array: Option<FeedbackArray>,
}

/// Every layer's feedback stacked on one fixed crossbar array `[S][classes]`, and the
/// projected signals `[B][S]` of the last read.
pub struct FeedbackArray {
    pub id: XbarId,
    pub signals: Buf,
    /// S, and per layer the offset of its block (None without a signal).
    pub width: usize,
    pub offsets: Vec<Option<usize>>,
}

impl FeedbackArray {
    /// Offsets of the blocks of `sizes` in the stacked signal, and its width S.
    pub fn layout(sizes: &[Option<usize>]) -> (Vec<Option<usize>>, usize) {
        let mut s = 0;
        let offsets = sizes
            .iter()
            .map(|n| {
                n.map(|n| {
                    s += n;
                    s - n
                })
            })
            .collect();
        (offsets, s)
    }
}
