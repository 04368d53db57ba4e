//! The weight products of a network's layers: forward (`out = W cols`, `out = x W^T`),
//! and the weight and input gradients of the backward pass. Every way a layer may hold its
//! weights (dense, PENNI basis and coefficients) is handled here, so the layer sequencing in
//! `net` does not depend on it. On crossbars the products are reads of the arrays: a conv
//! reads its unrolled inputs as rows `[B OH OW][C_in k k]` (one kernel per crossbar column) and
//! the result `[B OH OW][C_out]` is permuted back to the channel-major map. Every product runs
//! all P instances of the network at once (`ConvOps`, per-instance strides).

use super::conv_instances::ConvOps;
use super::dfa::Rows;
use super::instances::{permute, view};
use super::network::{Kind, Net, Weights};
use super::penni_xbar::PenniXbar;
use crate::backend::*;
use crate::nn::conv::ConvGeom;
use crate::xbar::direction::Direction;

impl Net {
    /// Conv layer `l` over `rows` images of every instance.
    pub(super) fn conv_ops(&self, l: usize, rows: usize) -> ConvOps {
        let Kind::Conv { geom, layout } = self.layers[l].kind else {
            unreachable!("conv_ops of a conv layer")
        };
        ConvOps {
            g: geom,
            layout,
            p: self.instances,
            rows,
        }
    }

    /// Conv layer `l`: `out[C_out][B OH OW] = W cols` per instance, the columns already
    /// unrolled in `cols`.
    pub(super) fn conv_product(&self, be: &mut dyn Backend, l: usize, rows: usize) {
        let lb = &self.layers[l];
        let ops = self.conv_ops(l, rows);
        let g = ops.g;
        match &lb.weights {
            Weights::Dense(w) => be.gemm(w.w, self.cols, lb.out, &ops.forward_gemm()),
            Weights::Xbar { id, signed, .. } => {
                be.permute(self.cols, self.cols_t, &ops.cols_transpose());
                let ((fi, si), (fo, so)) = ops.read_rows();
                let (x, y) = (view(self.cols_t, fi, si), view(self.dout_t, fo, so));
                let dir = Direction::Forward;
                self.xbar_read(be, *id, dir, *signed, x, y, ops.n());
                be.permute(self.dout_t, lb.out, &ops.read_untranspose());
            }
            Weights::PenniXbar(px) => self.penni_xbar(be, &g, px, lb.out, rows),
            Weights::Penni { d, basis, coef, .. } if self.inference_form => {
                self.penni_inference(be, &ops, *d, basis.w, coef.w, lb.out)
            }
            Weights::Penni {
                d, basis, coef, w, ..
            } => {
                // W[p][(o, i)][k k] = C[p][(o, i)][d] V[p][d][k k]
                let kk = (g.k * g.k) as u32;
                let (rows_c, p) = ((g.c_out * g.c_in) as u32, self.instances as u32);
                let rebuild = Gemm::dense(rows_c, kk, *d as u32, false, false, p);
                be.gemm(coef.w, basis.w, *w, &rebuild);
                be.gemm(*w, self.cols, lb.out, &ops.forward_gemm());
            }
        }
    }

    /// PENNI inference form: basis maps `[p][b][i][n] = V[p][b] * channel i` (the unrolled
    /// inputs permuted to `[k k][C_in n]`, one GEMM per instance, batched), permuted to
    /// `[p][i d + b][n]`, then `out[p] = C[p][C_out][C_in d] maps[p]`.
    fn penni_inference(
        &self,
        be: &mut dyn Backend,
        ops: &ConvOps,
        d: usize,
        basis: Buf,
        coef: Buf,
        out: Buf,
    ) {
        let (g, p, n) = (&ops.g, self.instances as u32, ops.n());
        let (kk, ci) = (g.k * g.k, g.c_in);
        be.permute(self.cols, self.cols_t, &ops.taps_first());
        let mut step = Gemm::dense(d as u32, (ci * n) as u32, kk as u32, false, false, p);
        step.params.stride_b = ops.cols_stride();
        be.gemm(basis, self.cols_t, self.maps_t, &step);
        let back = permute(d, ci, n).instances(self.instances, d * ci * n);
        be.permute(self.maps_t, self.maps, &back);
        let mix = Gemm::dense(g.c_out as u32, n as u32, (d * ci) as u32, false, false, p);
        be.gemm(coef, self.maps, out, &mix);
    }

    /// Conv layer `l`'s weight gradient from its `dout` and the unrolled input in `cols`, and,
    /// with `din`, the gradient of its input map (written, not added).
    pub(super) fn conv_grads(&self, be: &mut dyn Backend, l: usize, rows: usize, din: Option<Buf>) {
        let lb = &self.layers[l];
        let ops = self.conv_ops(l, rows);
        let g = ops.g;
        let (wbuf, gw) = match &lb.weights {
            Weights::Dense(w) => (w.w, w.g),
            Weights::Penni { w, gw, .. } => (*w, *gw),
            Weights::Xbar { grad, .. } => (grad.w, grad.g),
            Weights::PenniXbar(_) => unreachable!("PENNI layers on crossbars infer only"),
        };
        be.permute(self.cols, self.cols_t, &ops.cols_transpose());
        be.gemm(lb.dout, self.cols_t, gw, &ops.weight_grad_gemm());
        if let Weights::Penni { d, basis, coef, .. } = &lb.weights {
            let (rows_c, kk, d) = ((g.c_out * g.c_in) as u32, (g.k * g.k) as u32, *d as u32);
            let p = self.instances as u32;
            // dC[p] = dW[p] V[p]^T, dV[p] = C[p]^T dW[p]
            let dc = Gemm::dense(rows_c, d, kk, false, true, p);
            be.gemm(gw, basis.w, coef.g, &dc);
            let dv = Gemm::dense(d, kk, rows_c, true, false, p);
            be.gemm(coef.w, gw, basis.g, &dv);
        }
        if let Some(din) = din {
            be.permute(lb.dout, self.dout_t, &ops.error_transpose());
            if let Weights::Xbar { id, .. } = &lb.weights {
                let (fi, fo, n) = (g.fan_in(), g.c_out, ops.n());
                let (x, y) = (view(self.dout_t, fo, fo * n), view(self.cols_t, fi, fi * n));
                self.xbar_read(be, *id, Direction::Transposed, true, x, y, n);
            } else {
                be.gemm(self.dout_t, wbuf, self.cols_t, &ops.input_grad_gemm());
            }
            be.permute(self.cols_t, self.cols, &ops.cols_untranspose());
            be.col2im(self.cols, din, &ops.col2im());
        }
    }

    /// FC layer `l`: `out[B][N] = src W^T` (the bias and activation follow in `net`).
    pub(super) fn fc_product(&self, be: &mut dyn Backend, l: usize, src: Buf, rows: usize) {
        let lb = &self.layers[l];
        let Kind::Fc {
            fan_in, fan_out, ..
        } = lb.kind
        else {
            unreachable!("fc_product on a fully connected layer")
        };
        let (x, y) = (
            view(src, fan_in, self.in_stride(l, rows)),
            view(lb.out, fan_out, self.out_stride(l)),
        );
        let w = match &lb.weights {
            Weights::Dense(w) => w,
            Weights::Xbar { id, signed, .. } => {
                return self.xbar_read(be, *id, Direction::Forward, *signed, x, y, rows);
            }
            Weights::Penni { .. } | Weights::PenniXbar(_) => {
                unreachable!("fully connected layers are dense")
            }
        };
        let (fi, fo, p) = (fan_in as u32, fan_out as u32, self.instances as u32);
        let mut g = Gemm::dense(rows as u32, fo, fi, false, true, p);
        g.params.stride_a = x.stride;
        g.params.stride_b = fo * fi;
        g.params.stride_c = y.stride;
        be.gemm(src, w.w, lb.out, &g);
    }

    /// FC layer `l`'s weight gradient from its error signal `d`, and with `dsrc` and `din` the
    /// gradient of its input (`dsrc` in the layer's row layout, permuted into `din`'s map
    /// layout after a conv).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fc_grads(
        &self,
        be: &mut dyn Backend,
        l: usize,
        d: Rows,
        src: Buf,
        dsrc: Option<Buf>,
        din: Option<Buf>,
        rows: usize,
    ) {
        let lb = &self.layers[l];
        let Kind::Fc {
            fan_in,
            fan_out,
            from_conv,
        } = &lb.kind
        else {
            unreachable!("fc_grads on a fully connected layer")
        };
        let w = match &lb.weights {
            Weights::Dense(w) | Weights::Xbar { grad: w, .. } => w,
            Weights::Penni { .. } | Weights::PenniXbar(_) => {
                unreachable!("fully connected layers are dense")
            }
        };
        let (fi, fo, p) = (*fan_in as u32, *fan_out as u32, self.instances as u32);
        let mut gw = Gemm::dense(fo, fi, rows as u32, true, false, p);
        gw.params.lda = d.ld;
        gw.params.off_a = d.off;
        gw.params.stride_a = d.stride;
        gw.params.stride_b = self.in_stride(l, rows) as u32;
        gw.params.stride_c = fo * fi;
        be.gemm(d.buf, src, w.g, &gw);
        if let (Some(dsrc), Some(din)) = (dsrc, din) {
            // Signals with an input gradient are the layer's own `dout` (checked in attach).
            debug_assert!(d.buf == lb.dout);
            let x = view(lb.dout, *fan_out, self.out_stride(l));
            let y = view(dsrc, *fan_in, self.in_stride(l, rows));
            if let Weights::Xbar { id, .. } = &lb.weights {
                self.xbar_read(be, *id, Direction::Transposed, true, x, y, rows);
            } else {
                let mut g = Gemm::dense(rows as u32, fi, fo, false, false, p);
                g.params.stride_a = x.stride;
                g.params.stride_b = fo * fi;
                g.params.stride_c = y.stride;
                be.gemm(lb.dout, w.w, dsrc, &g);
            }
            if let Some((c, hw)) = from_conv {
                let prm = permute(rows, *c, *hw).instances(self.instances, rows * fan_in);
                be.permute(dsrc, din, &prm);
            }
        }
    }

    /// `out[C_out][B P]` of a PENNI layer on crossbars from the unrolled inputs in `cols`.
    pub(super) fn penni_xbar(
        &self,
        be: &mut dyn Backend,
        g: &ConvGeom,
        px: &PenniXbar,
        out: Buf,
        rows: usize,
    ) {
        let n = rows * g.positions();
        let (kk, j) = (g.k * g.k, g.c_in * px.d);
        let Some(c) = &px.coef else {
            let count = (g.c_out * n) as u32;
            return be.fill(
                out,
                &FillParams {
                    off: 0,
                    count,
                    value: 0.0,
                    _pad: 0,
                },
            );
        };
        let (ui, uo) = (c.used_in.len(), c.used_out.len());
        // [C_in k k][B P] -> [B P C_in][k k], read per (pixel, channel): maps [B P][C_in d].
        be.permute(self.cols, self.cols_t, &g.cols_transpose(rows));
        let (x, y) = (view(self.cols_t, kk, 0), view(self.maps, px.d, 0));
        let dir = Direction::Forward;
        self.xbar_read(be, px.basis, dir, px.signed, x, y, n * g.c_in);
        // Used columns only: [B P][J] -> [J][B P], gather rows, back to [B P][used].
        be.permute(self.maps, px.s1, &permute(n, j, 1));
        gather_rows(be, px.s1, c.in_idx, (c.labels, c.labels_out), px.s2, ui, n);
        be.permute(px.s2, px.s1, &permute(ui, n, 1));
        let (x, y) = (view(px.s1, ui, 0), view(px.s2, uo, 0));
        self.xbar_read(be, c.id, Direction::Forward, true, x, y, n);
        // [B P][used out] -> [used out][B P] plus a zero row that dropped outputs gather.
        be.permute(px.s2, px.s1, &permute(n, uo, 1));
        let zero = FillParams {
            off: (uo * n) as u32,
            count: n as u32,
            value: 0.0,
            _pad: 0,
        };
        be.fill(px.s1, &zero);
        gather_rows(
            be,
            px.s1,
            c.out_idx,
            (c.labels, c.labels_out),
            out,
            g.c_out,
            n,
        );
    }

    /// Values between two instances' inputs (and input gradients) of FC layer `l` for `rows`
    /// images: 0 for the shared images, `rows` rows for maps flattened after a conv (dense
    /// like the maps), a full batch after an FC layer.
    pub(super) fn in_stride(&self, l: usize, rows: usize) -> usize {
        match self.layers[l].kind {
            _ if l == 0 => 0,
            Kind::Fc {
                fan_in,
                from_conv: Some(_),
                ..
            } => rows * fan_in,
            Kind::Fc { fan_in, .. } => self.hyper.batch * fan_in,
            Kind::Conv { .. } => 0,
        }
    }

    /// Values between two instances' outputs (and output errors) of FC layer `l`.
    pub(super) fn out_stride(&self, l: usize) -> usize {
        self.layers[l].out_len(self.hyper.batch)
    }
}

fn gather_rows(
    be: &mut dyn Backend,
    src: Buf,
    idx: Buf,
    labels: (Buf, Buf),
    dst: Buf,
    rows: usize,
    n: usize,
) {
    be.gather(
        src,
        idx,
        labels.0,
        dst,
        labels.1,
        &GatherParams {
            rows: rows as u32,
            features: n as u32,
            start: 0,
            count: (rows * n) as u32,
        },
    );
}
