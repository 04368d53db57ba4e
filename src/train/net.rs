//! A multi-layer perceptron's buffers for P instances on one backend, and the kernels of one
//! training step: forward, loss, error signals (BP chain or DFA fan-out), gradients, update.

use crate::backend::*;

use crate::backend::xbar::{MatView, XbarId, XbarRead};
use crate::config::Rule;
use crate::xbar::read::Direction;

/// Crossbar arrays holding the weights (in-situ training) and, for DFA, the feedback.
pub struct XbarNet {
    pub layers: Vec<XbarId>,
    /// Quantized feedback arrays (`array.feedback_bits` > 0); else the projection is ideal.
    pub feedback: Option<XbarId>,
    /// Whether layer l's inputs can be negative (signed read).
    pub signed_inputs: Vec<bool>,
    /// Zeros standing in for the weights in the programming step (largest layer, P times).
    pub zero_weights: Buf,
    /// Read and step counters, and the programming step.
    pub steps: super::program::XbarSteps,
    /// `calibrated` ADC ranges: how to recalibrate them during training.
    pub recalibration: Option<super::calibrate::Recalibration>,
}

/// Shapes and hyper-parameters fixed for a run.
#[derive(Debug, Clone)]
pub struct NetSpec {
    /// Layer widths [inputs, hidden..., classes].
    pub sizes: Vec<usize>,
    pub instances: usize,
    /// Largest batch; buffers are laid out for it.
    pub batch: usize,
    pub activation: Activation,
    pub loss: LossKind,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
}

pub struct Net {
    pub spec: NetSpec,
    pub w: Vec<Buf>,
    pub b: Vec<Buf>,
    pub vw: Vec<Buf>,
    pub vb: Vec<Buf>,
    pub gw: Vec<Buf>,
    pub gb: Vec<Buf>,
    /// Post-activation outputs of every layer (the last holds the network's outputs).
    pub h: Vec<Buf>,
    /// Error signals of every layer under BP; the output layer's is also DFA's error e.
    pub d: Vec<Buf>,
    /// DFA: stacked feedback [P][S][C] and projected signals [P][B][S], S = sum of hidden widths.
    pub feedback: Option<Buf>,
    pub proj: Option<Buf>,
    /// Batch inputs [B][features] (shared by all instances) and labels [B].
    pub x: Buf,
    pub y: Buf,
    /// Per-row (loss, correct) and per-instance accumulators [P][4].
    pub stats: Buf,
    pub acc: Buf,
    /// Per-instance learning rate [P].
    pub lr: Buf,
    /// Present when the weights live on simulated crossbars.
    pub xbar: Option<XbarNet>,
}

impl Net {
    pub fn layers(&self) -> usize {
        self.spec.sizes.len() - 1
    }

    fn hidden_total(spec: &NetSpec) -> usize {
        spec.sizes[1..spec.sizes.len() - 1].iter().sum()
    }

    /// Allocates every buffer; `weights[l]` holds P x fan_out x fan_in initial weights,
    /// `feedback` the stacked DFA matrix per instance (P x S x C) when DFA is used.
    pub fn new(
        be: &mut dyn Backend,
        spec: NetSpec,
        weights: &[Vec<f32>],
        feedback: Option<&[f32]>,
        lr: &[f32],
    ) -> Net {
        let (p, bsz) = (spec.instances, spec.batch);
        let mut net = Net {
            w: vec![],
            b: vec![],
            vw: vec![],
            vb: vec![],
            gw: vec![],
            gb: vec![],
            h: vec![],
            d: vec![],
            feedback: None,
            proj: None,
            x: be.alloc(bsz * spec.sizes[0]),
            y: be.alloc_u32(bsz),
            stats: be.alloc(2 * p * bsz),
            acc: be.alloc(4 * p),
            lr: be.alloc(p),
            xbar: None,
            spec,
        };
        be.write(net.lr, lr);
        for (l, init) in weights.iter().enumerate().take(net.layers()) {
            let (fi, fo) = (net.spec.sizes[l], net.spec.sizes[l + 1]);
            let w = be.alloc(p * fi * fo);
            be.write(w, init);
            net.w.push(w);
            net.b.push(be.alloc(p * fo));
            net.vw.push(be.alloc(p * fi * fo));
            net.vb.push(be.alloc(p * fo));
            net.gw.push(be.alloc(p * fi * fo));
            net.gb.push(be.alloc(p * fo));
            net.h.push(be.alloc(p * bsz * fo));
            net.d.push(be.alloc(p * bsz * fo));
        }
        if let Some(fb) = feedback {
            let s = Self::hidden_total(&net.spec);
            let buf = be.alloc(fb.len());
            be.write(buf, fb);
            net.feedback = Some(buf);
            net.proj = Some(be.alloc(p * bsz * s.max(1)));
        }
        net
    }

    /// View of layer l's activations (l = 0 is the shared input).
    pub fn input_view(&self, l: usize) -> MatView {
        if l == 0 {
            MatView {
                buf: self.x,
                off: 0,
                ld: self.spec.sizes[0] as u32,
                stride: 0,
            }
        } else {
            self.out_view(self.h[l - 1], l - 1)
        }
    }

    fn out_view(&self, buf: Buf, l: usize) -> MatView {
        let n = self.spec.sizes[l + 1] as u32;
        MatView {
            buf,
            off: 0,
            ld: n,
            stride: self.spec.batch as u32 * n,
        }
    }

    /// Where layer l's error signal lives under `rule`.
    pub fn delta_view(&self, l: usize, rule: Rule) -> MatView {
        let last = self.layers() - 1;
        match (rule, self.proj) {
            (Rule::Dfa, Some(proj)) if l < last => {
                let s = Self::hidden_total(&self.spec) as u32;
                let off: usize = self.spec.sizes[1..l + 1].iter().sum();
                MatView {
                    buf: proj,
                    off: off as u32,
                    ld: s,
                    stride: self.spec.batch as u32 * s,
                }
            }
            _ => self.out_view(self.d[l], l),
        }
    }

    fn act_code(&self, l: usize) -> u32 {
        if l + 1 == self.layers() {
            Activation::Identity as u32
        } else {
            self.spec.activation as u32
        }
    }

    /// Forward pass of `rows` samples already in `x`.
    pub fn forward(&self, be: &mut dyn Backend, rows: usize) {
        let p = self.spec.instances as u32;
        for l in 0..self.layers() {
            let (fi, fo) = (self.spec.sizes[l] as u32, self.spec.sizes[l + 1] as u32);
            let a = self.input_view(l);
            let c = self.out_view(self.h[l], l);
            if let Some(x) = &self.xbar {
                let op = XbarRead {
                    dir: Direction::Forward,
                    signed: x.signed_inputs[l],
                    rows: rows as u32,
                    read_counter: x.steps.next_read(),
                };
                be.xbar_read(x.layers[l], a, c, &op);
            } else {
                let mut g = Gemm::dense(rows as u32, fo, fi, false, true, p);
                g.params.lda = a.ld;
                g.params.stride_a = a.stride;
                g.params.stride_b = fo * fi;
                g.params.stride_c = c.stride;
                be.gemm(a.buf, self.w[l], c.buf, &g);
            }
            be.bias_act(
                c.buf,
                self.b[l],
                &ActParams {
                    rows: rows as u32,
                    cols: fo,
                    count: p * rows as u32 * fo,
                    act: self.act_code(l),
                    ld0: c.ld,
                    off0: 0,
                    stride0: c.stride,
                    ld1: 0,
                    off1: 0,
                    stride1: fo,
                    _pad: [0; 2],
                },
            );
        }
    }

    /// Loss and output error for the labels in `y`, statistics added to `acc`.
    pub fn loss(&self, be: &mut dyn Backend, rows: usize) {
        let last = self.layers() - 1;
        let classes = self.spec.sizes[last + 1] as u32;
        let p = self.spec.instances as u32;
        be.loss(
            self.h[last],
            self.y,
            self.d[last],
            self.stats,
            &LossParams {
                rows: rows as u32,
                classes,
                count: p * rows as u32,
                kind: self.spec.loss as u32,
                off_y: 0,
                stride_y: self.spec.batch as u32 * classes,
                _pad0: [0; 2],
                scale: 1.0 / rows as f32,
                _pad1: [0.0; 3],
            },
        );
        be.accumulate(
            self.stats,
            self.acc,
            &AccumulateParams {
                rows: rows as u32,
                count: p,
                _pad: [0; 2],
            },
        );
    }

    fn act_backward(&self, be: &mut dyn Backend, d: MatView, l: usize, rows: usize) {
        let h = self.out_view(self.h[l], l);
        let cols = self.spec.sizes[l + 1] as u32;
        be.act_backward(
            d.buf,
            h.buf,
            &ActParams {
                rows: rows as u32,
                cols,
                count: self.spec.instances as u32 * rows as u32 * cols,
                act: self.act_code(l),
                ld0: d.ld,
                off0: d.off,
                stride0: d.stride,
                ld1: h.ld,
                off1: 0,
                stride1: h.stride,
                _pad: [0; 2],
            },
        );
    }

    /// Error signals of the hidden layers from the output error in `d[last]`.
    pub fn backward(&self, be: &mut dyn Backend, rows: usize, rule: Rule) {
        let p = self.spec.instances as u32;
        let last = self.layers() - 1;
        match rule {
            Rule::Bp => {
                for l in (1..=last).rev() {
                    let (fi, fo) = (self.spec.sizes[l] as u32, self.spec.sizes[l + 1] as u32);
                    let src = self.delta_view(l, rule);
                    let dst = self.delta_view(l - 1, rule);
                    if let Some(x) = &self.xbar {
                        let op = XbarRead {
                            dir: Direction::Transposed,
                            signed: true,
                            rows: rows as u32,
                            read_counter: x.steps.next_read(),
                        };
                        be.xbar_read(x.layers[l], src, dst, &op);
                    } else {
                        let mut g = Gemm::dense(rows as u32, fi, fo, false, false, p);
                        g.params.lda = src.ld;
                        g.params.stride_a = src.stride;
                        g.params.stride_b = fo * fi;
                        g.params.ldc = dst.ld;
                        g.params.stride_c = dst.stride;
                        be.gemm(src.buf, self.w[l], dst.buf, &g);
                    }
                    self.act_backward(be, dst, l - 1, rows);
                }
            }
            Rule::Dfa => {
                let (Some(fb), Some(proj)) = (self.feedback, self.proj) else {
                    panic!("DFA step on a network built without feedback matrices");
                };
                if last == 0 {
                    return;
                }
                let classes = self.spec.sizes[last + 1] as u32;
                let s = Self::hidden_total(&self.spec) as u32;
                let e = self.delta_view(last, rule);
                // One product gives every hidden layer's signal: E B^T, B stacked.
                let out = MatView {
                    buf: proj,
                    off: 0,
                    ld: s,
                    stride: self.spec.batch as u32 * s,
                };
                match self.xbar.as_ref().and_then(|x| x.feedback.map(|f| (x, f))) {
                    Some((x, fb_array)) => {
                        let op = XbarRead {
                            dir: Direction::Forward,
                            signed: true,
                            rows: rows as u32,
                            read_counter: x.steps.next_read(),
                        };
                        be.xbar_read(fb_array, e, out, &op);
                    }
                    None => {
                        let mut g = Gemm::dense(rows as u32, s, classes, false, true, p);
                        g.params.lda = e.ld;
                        g.params.stride_a = e.stride;
                        g.params.stride_b = s * classes;
                        g.params.stride_c = out.stride;
                        be.gemm(e.buf, fb, proj, &g);
                    }
                }
                for l in 0..last {
                    self.act_backward(be, self.delta_view(l, rule), l, rows);
                }
            }
        }
    }

    /// Weight and bias gradients of every layer from its error signal.
    pub fn gradients(&self, be: &mut dyn Backend, rows: usize, rule: Rule) {
        let p = self.spec.instances as u32;
        for l in 0..self.layers() {
            let (fi, fo) = (self.spec.sizes[l] as u32, self.spec.sizes[l + 1] as u32);
            let d = self.delta_view(l, rule);
            let a = self.input_view(l);
            let mut g = Gemm::dense(fo, fi, rows as u32, true, false, p);
            g.params.lda = d.ld;
            g.params.off_a = d.off;
            g.params.stride_a = d.stride;
            g.params.ldb = a.ld;
            g.params.stride_b = a.stride;
            be.gemm(d.buf, a.buf, self.gw[l], &g);
            be.bias_grad(
                self.gb[l],
                d.buf,
                &ActParams {
                    rows: rows as u32,
                    cols: fo,
                    count: p * fo,
                    act: 0,
                    ld0: 0,
                    off0: 0,
                    stride0: fo,
                    ld1: d.ld,
                    off1: d.off,
                    stride1: d.stride,
                    _pad: [0; 2],
                },
            );
        }
    }

    /// SGD with momentum on the given layers. On crossbars the weights' update (after the
    /// digital momentum) is programmed as pulses; biases stay digital.
    pub fn update(&self, be: &mut dyn Backend, layers: std::ops::Range<usize>) {
        let p = self.spec.instances as u32;
        let step = self.xbar.as_ref().map(|x| x.steps.next_step());
        for l in layers {
            let (fi, fo) = (self.spec.sizes[l] as u32, self.spec.sizes[l + 1] as u32);
            for (w, v, g, n, weights) in [
                (self.w[l], self.vw[l], self.gw[l], fi * fo, true),
                (self.b[l], self.vb[l], self.gb[l], fo, false),
            ] {
                let sp = SgdParams {
                    n,
                    count: p * n,
                    off: 0,
                    nesterov: self.spec.nesterov as u32,
                    momentum: self.spec.momentum,
                    weight_decay: self.spec.weight_decay,
                    _pad1: [0.0; 2],
                };
                match (&self.xbar, weights, step) {
                    (Some(x), true, Some(step)) => {
                        x.steps
                            .program(be, x.layers[l], x.zero_weights, v, g, &sp, step)
                    }
                    _ => be.sgd(w, v, g, self.lr, &sp),
                }
            }
        }
    }
}
