//! The GPU backend: kernels are recorded as dispatches (`super::dispatch`) and submitted
//! together, one command buffer per `flush` (a whole training step); buffers in
//! `super::buffers`, the GEMM's variants in `super::gemm`.

use std::collections::HashMap;
use std::sync::Arc;

use bytemuck::Pod;

use super::context::{AdapterSummary, GpuContext};
use super::pipelines::{Pipeline, PipelineCache};
use super::shaders::{self, Kernel};
use super::tiles::{GemmTile, ReadTile};
use crate::backend::*;

/// One recorded dispatch.
pub(super) struct Dispatch {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) bind_group: wgpu::BindGroup,
    pub(super) groups: [u32; 3],
}

/// (shader, entry point, override constants, subgroup variant, uniform, buffers).
pub(super) type BindKey = (
    &'static str,
    &'static str,
    Vec<(&'static str, u64)>,
    bool,
    usize,
    Vec<usize>,
);

pub struct GpuBackend {
    pub ctx: Arc<GpuContext>,
    pub(super) pipelines: PipelineCache,
    pub(super) bufs: Vec<(wgpu::Buffer, usize)>,
    pub(super) uniforms: Vec<wgpu::Buffer>,
    pub(super) uniform_index: HashMap<Vec<u8>, usize>,
    pub(super) bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    pub(super) pending: Vec<Dispatch>,
    pub(super) staging: Option<wgpu::Buffer>,
    /// Timestamp queries around every submitted pass, when timing is on.
    pub(super) timer: Option<super::timing::GpuTimer>,
    /// Crossbar layers resident on the GPU (`super::xbar`).
    pub(super) gpu_xbars: Vec<super::xbar::GpuXbar>,
    /// Tile shapes pinned for every GEMM and crossbar read (tests run each shape); `None`:
    /// chosen from each problem's size (`super::tiles`).
    pub force_gemm_tile: Option<GemmTile>,
    pub force_read_tile: Option<ReadTile>,
    /// Reduce with workgroup-memory trees even where the adapter has subgroup operations
    /// (tests check both).
    pub force_plain_reductions: bool,
    /// The GEMM's staged slices in f32 (default) or f16 (`set_gemm_precision`).
    pub(super) gemm_precision: super::gemm_variants::GemmPrecision,
    /// Shared slices of every GEMM pinned to 1 or 2 (tests check both); `None`: 2 where they
    /// fit the device's workgroup memory.
    pub force_gemm_slices: Option<u32>,
    /// Scalar global loads in every GEMM even where vec4 loads are aligned (tests check both).
    pub force_scalar_gemm_loads: bool,
}

impl GpuBackend {
    pub fn new(ctx: Arc<GpuContext>) -> Self {
        GpuBackend {
            ctx,
            pipelines: PipelineCache::default(),
            bufs: Vec::new(),
            uniforms: Vec::new(),
            uniform_index: HashMap::new(),
            bind_groups: HashMap::new(),
            pending: Vec::new(),
            staging: None,
            timer: None,
            gpu_xbars: Vec::new(),
            force_gemm_tile: None,
            force_read_tile: None,
            force_plain_reductions: false,
            gemm_precision: super::gemm_variants::GemmPrecision::F32,
            force_gemm_slices: None,
            force_scalar_gemm_loads: false,
        }
    }
}

impl Backend for GpuBackend {
    fn describe(&self) -> AdapterSummary {
        let f16 = self.gemm_precision() == super::gemm_variants::GemmPrecision::F16;
        AdapterSummary {
            gemm: f16.then(|| "f16 staging".into()),
            ..self.ctx.summary()
        }
    }

    fn max_buffer_values(&self) -> usize {
        let l = &self.ctx.limits;
        l.max_storage_buffer_binding_size.min(l.max_buffer_size) as usize / 4
    }

    fn alloc(&mut self, len: usize) -> Buf {
        self.create(len)
    }

    fn alloc_u32(&mut self, len: usize) -> Buf {
        self.create(len)
    }

    fn write(&mut self, buf: Buf, data: &[f32]) {
        // Queue writes land before the next submission: submit what is recorded first.
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.bufs[buf.0].0, 0, bytemuck::cast_slice(data));
    }

    fn write_u32(&mut self, buf: Buf, data: &[u32]) {
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.bufs[buf.0].0, 0, bytemuck::cast_slice(data));
    }

    fn read(&mut self, buf: Buf) -> Vec<f32> {
        bytemuck::pod_collect_to_vec(&self.read_bytes(buf))
    }

    fn read_u32(&mut self, buf: Buf) -> Vec<u32> {
        bytemuck::pod_collect_to_vec(&self.read_bytes(buf))
    }

    fn gemm(&mut self, a: Buf, b: Buf, c: Buf, g: &Gemm) {
        self.record_gemm(a, b, c, g);
    }

    fn bias_act(&mut self, x: Buf, bias: Buf, p: &ActParams) {
        self.dispatch_1d(&shaders::BIAS_ACT, p, &[x, bias], p.count, 256);
    }

    fn act_backward(&mut self, d: Buf, h: Buf, p: &ActParams) {
        self.dispatch_1d(&shaders::ACT_BACKWARD, p, &[d, h], p.count, 256);
    }

    fn bias_grad(&mut self, g: Buf, d: Buf, p: &ActParams) {
        // One workgroup per tile of `col_tile` columns of an instance (shaders/act.wgsl).
        let tile = if p.cols <= 1 {
            1
        } else {
            p.cols.next_power_of_two().min(32)
        };
        let instances = p.count / p.cols.max(1);
        let tiles = instances * p.cols.div_ceil(tile);
        self.dispatch_1d(&shaders::BIAS_GRAD, p, &[g, d], tiles, 1);
    }

    fn loss(&mut self, y: Buf, labels: Buf, dy: Buf, stats: Buf, p: &LossParams) {
        self.dispatch_1d(&shaders::LOSS, p, &[y, labels, dy, stats], p.count, 64);
    }

    fn accumulate(&mut self, stats: Buf, acc: Buf, p: &AccumulateParams) {
        self.dispatch_1d(&shaders::ACCUMULATE, p, &[stats, acc], p.count, 64);
    }

    fn sgd(&mut self, w: Buf, v: Buf, g: Buf, lr: Buf, p: &SgdParams) {
        self.dispatch_1d(&shaders::SGD, p, &[w, v, g, lr], p.count, 256);
    }

    fn gather(&mut self, images: Buf, perm: Buf, labels: Buf, x: Buf, y: Buf, p: &GatherParams) {
        self.dispatch_1d(
            &shaders::GATHER,
            p,
            &[images, perm, labels, x, y],
            p.count,
            256,
        );
    }

    fn augment(&mut self, x: Buf, y: Buf, p: &AugmentParams) {
        self.dispatch_1d(&shaders::AUGMENT, p, &[x, y], p.count, 256);
    }

    fn fill(&mut self, buf: Buf, p: &FillParams) {
        self.dispatch_1d(&shaders::FILL, p, &[buf], p.count, 256);
    }

    fn im2col(&mut self, x: Buf, cols: Buf, p: &Im2colParams) {
        self.dispatch_1d(&shaders::IM2COL, p, &[x, cols], p.count, 256);
    }

    fn col2im(&mut self, cols: Buf, x: Buf, p: &Im2colParams) {
        self.dispatch_1d(&shaders::COL2IM, p, &[cols, x], p.count, 256);
    }

    fn permute(&mut self, x: Buf, y: Buf, p: &PermuteParams) {
        self.dispatch_1d(&shaders::PERMUTE, p, &[x, y], p.count, 256);
    }

    fn pool(&mut self, x: Buf, y: Buf, p: &PoolParams) {
        self.dispatch_1d(&shaders::POOL_FORWARD, p, &[x, y], p.count, 256);
    }

    fn pool_backward(&mut self, x: Buf, dy: Buf, dx: Buf, p: &PoolParams) {
        self.dispatch_1d(&shaders::POOL_BACKWARD, p, &[x, dx, dy], p.count, 256);
    }

    fn l1_grad(&mut self, g: Buf, w: Buf, p: &SparseParams) {
        self.dispatch_1d(&shaders::L1_GRAD, p, &[g, w], p.count, 256);
    }

    fn mask(&mut self, w: Buf, mask: Buf, p: &SparseParams) {
        self.dispatch_1d(&shaders::MASK, p, &[w, mask], p.count, 256);
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
        let bufs = [x, gamma, beta, y, save, running];
        self.dispatch(&shaders::BN_TRAIN, &[], p, &bufs, [p.c, 1, 1]);
    }

    fn bn_infer(&mut self, x: Buf, gamma: Buf, beta: Buf, running: Buf, y: Buf, p: &BnParams) {
        let bufs = [x, gamma, beta, running, y];
        self.dispatch_1d(&shaders::BN_INFER, p, &bufs, p.count, 256);
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
        let bufs = [x, dy, gamma, save, dx, dgamma, dbeta];
        self.dispatch(&shaders::BN_BACKWARD, &[], p, &bufs, [p.c, 1, 1]);
    }

    fn add(&mut self, y: Buf, x: Buf, p: &AddParams) {
        self.dispatch_1d(&shaders::ADD, p, &[y, x], p.count, 256);
    }

    fn mark(&self) -> Mark {
        Mark {
            bufs: self.bufs.len(),
            xbars: self.gpu_xbars.len(),
            params: self.uniforms.len(),
        }
    }

    fn release(&mut self, mark: Mark) {
        self.flush();
        self.gpu_xbars.truncate(mark.xbars);
        self.bufs.truncate(mark.bufs);
        self.uniforms.truncate(mark.params);
        self.uniform_index.retain(|_, u| *u < mark.params);
        // Cached bind groups hold their buffers alive and would bind freed numbers' new owners.
        self.bind_groups
            .retain(|k, _| k.4 < mark.params && k.5.iter().all(|&b| b < mark.bufs));
    }

    fn live_buffers(&self) -> usize {
        self.bufs.len()
    }

    /// Crossbar layers live on the device (`gpu_xbars`), and every crossbar operation is
    /// overridden, so there is no host store to hand out.
    fn host_xbars(&mut self) -> &mut Vec<HostXbar> {
        panic!("the GPU backend keeps crossbar layers on the device; host copies exist only on the CPU backend")
    }

    fn xbar_create(
        &mut self,
        cfg: &crate::xbar::Xbar,
        layers: Vec<crate::xbar::LayerCells>,
        knobs: Vec<crate::xbar::Knobs>,
    ) -> XbarId {
        super::xbar::create(self, cfg, layers, knobs)
    }

    fn xbar_read(&mut self, id: XbarId, x: MatView, y: MatView, op: &XbarRead) {
        super::xbar::read(self, id, x, y, op);
    }

    fn xbar_calibrate_read(&mut self, id: XbarId, x: MatView, y: MatView, op: &XbarRead) {
        super::xbar::calibrate_read(self, id, x, y, op);
    }

    fn calibrates_on_device(&self) -> bool {
        true
    }

    fn xbar_program(&mut self, id: XbarId, grad: Buf, step: u32) {
        super::xbar::program(self, id, grad, step);
    }

    fn xbar_cells(&mut self, id: XbarId) -> Vec<crate::xbar::LayerCells> {
        super::xbar::cells(self, id)
    }

    fn xbar_activity(&mut self, id: XbarId) -> XbarActivity {
        super::xbar::activity(self, id)
    }

    fn xbar_set_adc(
        &mut self,
        id: XbarId,
        ranges: &[[Option<crate::xbar::adc_range::AdcRange>; 2]],
    ) {
        super::xbar::set_adc(self, id, ranges);
    }

    fn start_timing(&mut self) {
        self.timer = super::timing::GpuTimer::new(&self.ctx);
    }

    fn device_seconds(&mut self) -> Option<f64> {
        self.flush();
        let ctx = self.ctx.clone();
        self.timer.as_mut().map(|t| {
            t.collect(&ctx);
            t.take_seconds()
        })
    }

    fn flush(&mut self) {
        self.submit();
    }
}

impl GpuBackend {
    /// One histogram pass of a calibrating read (`shaders/xbar_read.wgsl`, `read_histogram`)
    /// of layer `id`: per instance, the `[2][HIST_BINS]` counts of the read's data-column
    /// levels at its `levels` entry (`backend::calibration`). `y` is bound, not written.
    pub fn xbar_histogram(
        &mut self,
        id: XbarId,
        (x, y): (MatView, MatView),
        op: &XbarRead,
        levels: &[crate::backend::calibration::HistLevel],
    ) -> Vec<Vec<u32>> {
        super::xbar::histogram(self, id, (x, y), op, levels)
    }
}

impl super::xbar::Host for GpuBackend {
    fn xbars(&mut self) -> &mut Vec<super::xbar::GpuXbar> {
        &mut self.gpu_xbars
    }

    fn dispatch<P: Pod>(
        &mut self,
        k: &Kernel,
        constants: &[(&'static str, f64)],
        params: &P,
        bufs: &[Buf],
        groups: [u32; 3],
    ) {
        GpuBackend::dispatch(self, k, constants, params, bufs, groups);
    }

    fn write_words(&mut self, buf: Buf, at: usize, words: &[u32]) {
        let raw = self.raw_buffer(buf);
        self.ctx
            .queue
            .write_buffer(raw, (at * 4) as u64, bytemuck::cast_slice(words));
    }

    fn workgroup_storage(&self) -> u32 {
        self.ctx.device.limits().max_compute_workgroup_storage_size
    }

    fn read_tile(&self, rows: u32) -> ReadTile {
        self.force_read_tile
            .unwrap_or_else(|| ReadTile::choose(rows))
    }
}
