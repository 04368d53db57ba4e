//! The operations training is written in, implemented by the GPU (`gpu::GpuBackend`) and by the
//! plain-Rust reference (`cpu::CpuBackend`). Training code is generic over [`Backend`], so the
//! two paths run the same algorithm and the CPU one is the oracle for the GPU one.

pub mod adapter;
pub mod buf;
pub mod calibration;
pub mod kernels;
pub mod ops;
pub mod xbar;

pub use adapter::AdapterSummary;
pub use buf::{Buf, Mark};
pub use ops::*;
pub use xbar::{input_range, HostXbar, MatView, XbarActivity, XbarId, XbarRead};

use crate::xbar::{Knobs, LayerCells, Xbar};

pub trait Backend {
    /// Name, backend and driver of what runs the kernels.
    fn describe(&self) -> AdapterSummary;
    /// The most 4-byte values one buffer may hold (the adapter's binding limit on a GPU).
    fn max_buffer_values(&self) -> usize {
        usize::MAX
    }
    /// A zeroed f32 buffer.
    fn alloc(&mut self, len: usize) -> Buf;
    /// A zeroed u32 buffer.
    fn alloc_u32(&mut self, len: usize) -> Buf;
    fn write(&mut self, buf: Buf, data: &[f32]);
    fn write_u32(&mut self, buf: Buf, data: &[u32]);
    /// Reads a buffer back (completes all queued work first).
    fn read(&mut self, buf: Buf) -> Vec<f32>;
    fn read_u32(&mut self, buf: Buf) -> Vec<u32>;

    /// What the backend holds now, for [`Backend::release`].
    fn mark(&self) -> Mark;
    /// Frees every buffer and crossbar layer created since `mark` (queued work is submitted
    /// first); their handles are invalid afterwards and new ones reuse their numbers. One run
    /// after another on the same backend (a sweep's jobs) keeps memory flat this way.
    fn release(&mut self, mark: Mark);
    /// Buffers currently allocated.
    fn live_buffers(&self) -> usize;

    fn gemm(&mut self, a: Buf, b: Buf, c: Buf, g: &Gemm);
    fn bias_act(&mut self, x: Buf, bias: Buf, p: &ActParams);
    fn act_backward(&mut self, d: Buf, h: Buf, p: &ActParams);
    fn bias_grad(&mut self, g: Buf, d: Buf, p: &ActParams);
    fn loss(&mut self, y: Buf, labels: Buf, dy: Buf, stats: Buf, p: &LossParams);
    fn accumulate(&mut self, stats: Buf, acc: Buf, p: &AccumulateParams);
    fn sgd(&mut self, w: Buf, v: Buf, g: Buf, lr: Buf, p: &SgdParams);
    #[allow(clippy::too_many_arguments)]
    fn gather(&mut self, images: Buf, perm: Buf, labels: Buf, x: Buf, y: Buf, p: &GatherParams);
    fn fill(&mut self, buf: Buf, p: &FillParams);
    /// Training augmentation: `y` = the images of `x` randomly cropped and flipped
    /// (`AugmentParams`, count = rows C H W; `x` and `y` distinct).
    fn augment(&mut self, x: Buf, y: Buf, p: &AugmentParams);
    /// Unrolls conv inputs into columns (`Im2colParams`, count = k k C x B OH OW).
    fn im2col(&mut self, x: Buf, cols: Buf, p: &Im2colParams);
    /// The adjoint of `im2col`: sums column gradients back onto the input (count = B C H W).
    fn col2im(&mut self, cols: Buf, x: Buf, p: &Im2colParams);
    /// `y[b][a][s] = x[a][b][s]`.
    fn permute(&mut self, x: Buf, y: Buf, p: &PermuteParams);
    /// Non-overlapping max or average pooling, `y` = pooled `x`.
    fn pool(&mut self, x: Buf, y: Buf, p: &PoolParams);
    /// Pooling gradient: `dx` from the pooled maps' gradient `dy` (and `x` for max).
    fn pool_backward(&mut self, x: Buf, dy: Buf, dx: Buf, p: &PoolParams);
    /// `g += lambda sign(w)` (the L1 penalty's subgradient).
    fn l1_grad(&mut self, g: Buf, w: Buf, p: &SparseParams);
    /// `w *= mask`.
    fn mask(&mut self, w: Buf, mask: Buf, p: &SparseParams);
    /// Batch normalisation, training mode: `y = gamma (x - mean) / sqrt(var + eps) + beta` with
    /// the batch's per-channel mean and biased variance of `x[c][n]`; `save` gets
    /// `[mean][1/sqrt(var + eps)]`, `running` (`[mean][unbiased var]`) moves by `momentum`.
    #[allow(clippy::too_many_arguments)]
    fn bn_train(
        &mut self,
        x: Buf,
        gamma: Buf,
        beta: Buf,
        y: Buf,
        save: Buf,
        running: Buf,
        p: &BnParams,
    );
    /// Batch normalisation, inference mode, with the running statistics.
    fn bn_infer(&mut self, x: Buf, gamma: Buf, beta: Buf, running: Buf, y: Buf, p: &BnParams);
    /// Batch normalisation gradients from the output gradient `dy` and the statistics saved by
    /// `bn_train`: `dx` (written), `dgamma`, `dbeta` (written, not accumulated).
    #[allow(clippy::too_many_arguments)]
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
    );
    /// `y += x` (residual additions and the gradient they route).
    fn add(&mut self, y: Buf, x: Buf, p: &AddParams);
    /// Submits queued work (one command buffer per call); a no-op on the CPU.
    fn flush(&mut self);

    /// Starts timing submitted work on the device (where timestamp queries exist).
    fn start_timing(&mut self) {}

    /// Device seconds of the work submitted since `start_timing` or the last call; `None`
    /// where the backend cannot time its work.
    fn device_seconds(&mut self) -> Option<f64> {
        None
    }

    /// Host copies of crossbar layers: the storage of the host implementations below. A backend
    /// that keeps its crossbars elsewhere (the GPU) overrides every crossbar operation instead.
    fn host_xbars(&mut self) -> &mut Vec<HostXbar>;

    /// Creates P instances of a crossbar layer (one `LayerCells` and `Knobs` per instance,
    /// equal shapes). Settings must already be validated.
    fn xbar_create(&mut self, cfg: &Xbar, layers: Vec<LayerCells>, knobs: Vec<Knobs>) -> XbarId {
        let mut layers = layers;
        for (l, k) in layers.iter_mut().zip(&knobs) {
            crate::xbar::drift_compensation::calibrate_gain(l, cfg, k);
        }
        let store = self.host_xbars();
        store.push(HostXbar {
            cfg: cfg.clone(),
            layers,
            knobs,
            activity: XbarActivity::default(),
            cache: Vec::new(),
        });
        XbarId(store.len() - 1)
    }

    /// Quantized analog read of `op.rows` vectors per instance: forward y = W x
    /// ([rows][fan_in] -> [rows][fan_out]) or transposed y = W^T x. Each instance's inputs are
    /// scaled by their own range (`xbar::input_range`).
    fn xbar_read(&mut self, id: XbarId, x: MatView, y: MatView, op: &XbarRead) {
        host_read(self, id, x, y, op, false);
    }

    /// Calibrating read (`adc_mode = "calibrated"`): each instance's ADC range of `op.dir` is
    /// set from this read's own data-column partial sums (`xbar::read::calibrate_read_with`,
    /// the sums taken with read counter 0), then the inputs are read through it as by
    /// [`Backend::xbar_read`] (counted in the activity as a read). An instance whose inputs
    /// are out of range keeps its range and reads NaN.
    fn xbar_calibrate_read(&mut self, id: XbarId, x: MatView, y: MatView, op: &XbarRead) {
        host_read(self, id, x, y, op, true);
    }

    /// Whether [`Backend::xbar_calibrate_read`] on layers without read noise gives the host's
    /// ranges on the device, so that a calibration pass may run the network on this backend
    /// rather than on a host copy.
    fn calibrates_on_device(&self) -> bool {
        false
    }

    /// Programs every instance's cells with the update -lr * grad; `grad` is [P][out][in].
    /// `step` keys the rounding and cycle-to-cycle draws.
    fn xbar_program(&mut self, id: XbarId, grad: Buf, step: u32) {
        let g = self.read(grad);
        self.host_xbars()[id.0].program(&g, step);
    }

    /// The cells as the device holds them now, one per instance.
    fn xbar_cells(&mut self, id: XbarId) -> Vec<LayerCells> {
        self.host_xbars()[id.0].layers.clone()
    }

    /// Activity since creation, summed over instances.
    fn xbar_activity(&mut self, id: XbarId) -> XbarActivity {
        self.host_xbars()[id.0].activity.clone()
    }

    /// Sets the calibrated ADC ranges, per instance (forward, transposed).
    fn xbar_set_adc(
        &mut self,
        id: XbarId,
        ranges: &[[Option<crate::xbar::adc_range::AdcRange>; 2]],
    ) {
        for (l, r) in self.host_xbars()[id.0].layers.iter_mut().zip(ranges) {
            l.set_adc_range(crate::xbar::Direction::Forward, r[0]);
            l.set_adc_range(crate::xbar::Direction::Transposed, r[1]);
        }
    }
}

/// The host crossbar read of [`Backend::xbar_read`] (with `calibrate`, of
/// [`Backend::xbar_calibrate_read`]) on any backend: inputs and outputs go through the
/// backend's buffers, the read through `HostXbar::read`.
fn host_read<B: Backend + ?Sized>(
    be: &mut B,
    id: XbarId,
    x: MatView,
    y: MatView,
    op: &XbarRead,
    calibrate: bool,
) {
    let xs = be.read(x.buf);
    // One instance writing rows [0, rows) of y back to back: the read's output is y's start,
    // written as it is (`Backend::write` writes a prefix) without a copy of the rest of y.
    let direct = be.host_xbars()[id.0].writes_prefix(y, op);
    let mut ys = if direct { Vec::new() } else { be.read(y.buf) };
    be.host_xbars()[id.0].read(&xs, x, &mut ys, y, op, calibrate);
    be.write(y.buf, &ys);
    // Kept for the next read's output: a fresh buffer of this size costs its pages again.
    crate::xbar::fast_read::recycle_output(ys);
}

/// Refuses a buffer of `len` values that `be` cannot bind, naming what it holds.
pub fn check_buffer(be: &dyn Backend, what: &str, len: usize) -> anyhow::Result<()> {
    let max = be.max_buffer_values();
    anyhow::ensure!(
        len <= max,
        "{what} needs a buffer of {len} values ({} MiB); {} binds at most {max} values ({} MiB) \
         per buffer: make the network, batch or population smaller, or use --backend cpu",
        (len as u64 * 4) >> 20,
        be.describe().name,
        (max as u64 * 4) >> 20
    );
    Ok(())
}

/// Refuses a crossbar layer of `p` instances like `layer` whose cells, programming curves or
/// effective-conductance tables need a buffer larger than the backend binds.
pub fn check_cells(
    be: &dyn Backend,
    what: &str,
    layer: &LayerCells,
    p: usize,
) -> anyhow::Result<()> {
    let (k, n, s, sets) = (layer.fan_in, layer.fan_out, layer.slices, layer.sets());
    let refs = if layer.mapping == crate::config::Mapping::Offset {
        2
    } else {
        0
    };
    let largest = [
        p * layer.total_cells(),
        p * layer.cells.len() * 2,
        p * s * k * (sets * n + refs),
        p * s * n * (sets * k + refs),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    check_buffer(be, &format!("the crossbar cells of {what}"), largest)
}
