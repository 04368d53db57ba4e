//! The reference backend: every kernel as plain Rust on host memory.

use super::{
    act, augment, bn, conv_sparse, fill, gather, gemm, im2col, loss, metrics, pool, residual, sgd,
};
use crate::backend::AdapterSummary;
use crate::backend::*;

enum Data {
    F32(Vec<f32>),
    U32(Vec<u32>),
}

#[derive(Default)]
pub struct CpuBackend {
    bufs: Vec<Data>,
    xbars: Vec<HostXbar>,
}

impl CpuBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn f(&self, b: Buf) -> &[f32] {
        match &self.bufs[b.0] {
            Data::F32(v) => v,
            Data::U32(_) => panic!("buffer {b:?} holds u32, f32 expected"),
        }
    }

    fn u(&self, b: Buf) -> &[u32] {
        match &self.bufs[b.0] {
            Data::U32(v) => v,
            Data::F32(_) => panic!("buffer {b:?} holds f32, u32 expected"),
        }
    }

    /// Takes an f32 buffer out (to write it beside borrowed inputs); `put` returns it.
    fn take(&mut self, b: Buf) -> Vec<f32> {
        match std::mem::replace(&mut self.bufs[b.0], Data::F32(Vec::new())) {
            Data::F32(v) => v,
            Data::U32(_) => panic!("buffer {b:?} holds u32, f32 expected"),
        }
    }

    fn put(&mut self, b: Buf, v: Vec<f32>) {
        self.bufs[b.0] = Data::F32(v);
    }

    /// Runs `op` with the output buffer taken out, so inputs can be borrowed beside it.
    /// (Outputs never alias inputs in the kernels' contracts.)
    fn with_out(&mut self, out: Buf, op: impl FnOnce(&Self, &mut Vec<f32>)) {
        let mut v = match std::mem::replace(&mut self.bufs[out.0], Data::F32(Vec::new())) {
            Data::F32(v) => v,
            Data::U32(_) => panic!("buffer {out:?} holds u32, f32 expected"),
        };
        op(self, &mut v);
        self.bufs[out.0] = Data::F32(v);
    }
}

impl Backend for CpuBackend {
    fn describe(&self) -> AdapterSummary {
        AdapterSummary {
            name: "cpu reference".into(),
            backend: "cpu".into(),
            driver: format!("rustc {}", env!("CARGO_PKG_VERSION")),
            device_type: "Cpu".into(),
            gemm: None,
        }
    }

    fn alloc(&mut self, len: usize) -> Buf {
        self.bufs.push(Data::F32(vec![0.0; len]));
        Buf(self.bufs.len() - 1)
    }

    fn alloc_u32(&mut self, len: usize) -> Buf {
        self.bufs.push(Data::U32(vec![0; len]));
        Buf(self.bufs.len() - 1)
    }

    fn write(&mut self, buf: Buf, data: &[f32]) {
        match &mut self.bufs[buf.0] {
            Data::F32(v) => v[..data.len()].copy_from_slice(data),
            Data::U32(_) => panic!("buffer {buf:?} holds u32"),
        }
    }

    fn write_u32(&mut self, buf: Buf, data: &[u32]) {
        match &mut self.bufs[buf.0] {
            Data::U32(v) => v[..data.len()].copy_from_slice(data),
            Data::F32(_) => panic!("buffer {buf:?} holds f32"),
        }
    }

    fn read(&mut self, buf: Buf) -> Vec<f32> {
        self.f(buf).to_vec()
    }

    fn read_u32(&mut self, buf: Buf) -> Vec<u32> {
        self.u(buf).to_vec()
    }

    fn gemm(&mut self, a: Buf, b: Buf, c: Buf, g: &Gemm) {
        self.with_out(c, |s, out| gemm::gemm(s.f(a), s.f(b), out, g));
    }

    fn bias_act(&mut self, x: Buf, bias: Buf, p: &ActParams) {
        self.with_out(x, |s, out| act::bias_act(out, s.f(bias), p));
    }

    fn act_backward(&mut self, d: Buf, h: Buf, p: &ActParams) {
        self.with_out(d, |s, out| act::act_backward(out, s.f(h), p));
    }

    fn bias_grad(&mut self, g: Buf, d: Buf, p: &ActParams) {
        self.with_out(g, |s, out| act::bias_grad(out, s.f(d), p));
    }

    fn loss(&mut self, y: Buf, labels: Buf, dy: Buf, stats: Buf, p: &LossParams) {
        let mut st = std::mem::take(match &mut self.bufs[stats.0] {
            Data::F32(v) => v,
            Data::U32(_) => panic!("stats buffer holds u32"),
        });
        self.with_out(dy, |s, out| {
            loss::loss(s.f(y), s.u(labels), out, &mut st, p)
        });
        self.bufs[stats.0] = Data::F32(st);
    }

    fn accumulate(&mut self, stats: Buf, acc: Buf, p: &AccumulateParams) {
        self.with_out(acc, |s, out| metrics::accumulate(s.f(stats), out, p));
    }

    fn sgd(&mut self, w: Buf, v: Buf, g: Buf, lr: Buf, p: &SgdParams) {
        let mut vel = std::mem::take(match &mut self.bufs[v.0] {
            Data::F32(x) => x,
            Data::U32(_) => panic!("velocity buffer holds u32"),
        });
        self.with_out(w, |s, out| sgd::sgd(out, &mut vel, s.f(g), s.f(lr), p));
        self.bufs[v.0] = Data::F32(vel);
    }

    fn gather(&mut self, images: Buf, perm: Buf, labels: Buf, x: Buf, y: Buf, p: &GatherParams) {
        let mut ys = std::mem::take(match &mut self.bufs[y.0] {
            Data::U32(v) => v,
            Data::F32(_) => panic!("label buffer holds f32"),
        });
        self.with_out(x, |s, out| {
            gather::gather(s.f(images), s.u(perm), s.u(labels), out, &mut ys, p)
        });
        self.bufs[y.0] = Data::U32(ys);
    }

    fn augment(&mut self, x: Buf, y: Buf, p: &AugmentParams) {
        self.with_out(y, |s, out| augment::augment(s.f(x), out, p));
    }

    fn fill(&mut self, buf: Buf, p: &FillParams) {
        self.with_out(buf, |_, out| fill::fill(out, p));
    }

    fn im2col(&mut self, x: Buf, cols: Buf, p: &Im2colParams) {
        self.with_out(cols, |s, out| im2col::im2col(s.f(x), out, p));
    }

    fn col2im(&mut self, cols: Buf, x: Buf, p: &Im2colParams) {
        self.with_out(x, |s, out| im2col::col2im(s.f(cols), out, p));
    }

    fn permute(&mut self, x: Buf, y: Buf, p: &PermuteParams) {
        self.with_out(y, |s, out| im2col::permute(s.f(x), out, p));
    }

    fn pool(&mut self, x: Buf, y: Buf, p: &PoolParams) {
        self.with_out(y, |s, out| pool::forward(s.f(x), out, p));
    }

    fn pool_backward(&mut self, x: Buf, dy: Buf, dx: Buf, p: &PoolParams) {
        self.with_out(dx, |s, out| pool::backward(s.f(x), s.f(dy), out, p));
    }

    fn l1_grad(&mut self, g: Buf, w: Buf, p: &SparseParams) {
        self.with_out(g, |s, out| conv_sparse::l1_grad(out, s.f(w), p));
    }

    fn mask(&mut self, w: Buf, mask: Buf, p: &SparseParams) {
        self.with_out(w, |s, out| conv_sparse::mask(out, s.f(mask), p));
    }

    fn bn_train(
        &mut self,
        x: Buf,
        gamma: Buf,
        beta: Buf,
        y: Buf,
        save: Buf,
        running: Buf,
        p: &BnParams,
    ) {
        let mut sv = self.take(save);
        let mut run = self.take(running);
        self.with_out(y, |s, out| {
            let o = bn::TrainOut {
                y: out,
                save: &mut sv,
                running: &mut run,
            };
            bn::train(s.f(x), s.f(gamma), s.f(beta), o, p)
        });
        self.put(save, sv);
        self.put(running, run);
    }

    fn bn_infer(&mut self, x: Buf, gamma: Buf, beta: Buf, running: Buf, y: Buf, p: &BnParams) {
        self.with_out(y, |s, out| {
            bn::infer(s.f(x), s.f(gamma), s.f(beta), s.f(running), out, p)
        });
    }

    fn bn_backward(
        &mut self,
        x: Buf,
        dy: Buf,
        gamma: Buf,
        save: Buf,
        dx: Buf,
        dgamma: Buf,
        dbeta: Buf,
        p: &BnParams,
    ) {
        let mut dg = self.take(dgamma);
        let mut db = self.take(dbeta);
        self.with_out(dx, |s, out| {
            let g = bn::Grads {
                dx: out,
                dgamma: &mut dg,
                dbeta: &mut db,
            };
            bn::backward(s.f(x), s.f(dy), s.f(gamma), s.f(save), g, p)
        });
        self.put(dgamma, dg);
        self.put(dbeta, db);
    }

    fn add(&mut self, y: Buf, x: Buf, p: &AddParams) {
        self.with_out(y, |s, out| residual::add(out, s.f(x), p));
    }

    fn mark(&self) -> Mark {
        Mark {
            bufs: self.bufs.len(),
            xbars: self.xbars.len(),
            params: 0,
        }
    }

    fn release(&mut self, mark: Mark) {
        self.bufs.truncate(mark.bufs);
        self.xbars.truncate(mark.xbars);
    }

    fn live_buffers(&self) -> usize {
        self.bufs.len()
    }

    fn host_xbars(&mut self) -> &mut Vec<HostXbar> {
        &mut self.xbars
    }

    fn flush(&mut self) {}
}
