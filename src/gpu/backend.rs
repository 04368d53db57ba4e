//! The GPU backend: kernels are recorded as dispatches and submitted together, one command
//! buffer per `flush` (a whole training step). Parameter uniforms and bind groups are created
//! on first use and reused, keyed by content, so steady-state steps create nothing.

use std::collections::HashMap;
use std::sync::Arc;

use bytemuck::Pod;

use super::context::{AdapterSummary, GpuContext};
use super::pipelines::{Pipeline, PipelineCache};
use super::shaders::{self, Kernel};
use super::tiles::{GemmTile, ReadTile};
use crate::backend::*;

struct Dispatch {
    pipeline: Arc<Pipeline>,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
}

/// (shader, entry point, override constants, subgroup variant, uniform, buffers).
type BindKey = (
    &'static str,
    &'static str,
    Vec<(&'static str, u64)>,
    bool,
    usize,
    Vec<usize>,
);

pub struct GpuBackend {
    pub ctx: Arc<GpuContext>,
    pipelines: PipelineCache,
    bufs: Vec<(wgpu::Buffer, usize)>,
    uniforms: Vec<wgpu::Buffer>,
    uniform_index: HashMap<Vec<u8>, usize>,
    bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    pending: Vec<Dispatch>,
    staging: Option<wgpu::Buffer>,
    /// Timestamp queries around every submitted pass, when timing is on.
    timer: Option<super::timing::GpuTimer>,
    /// Crossbar layers resident on the GPU (`super::xbar`).
    pub(super) gpu_xbars: Vec<super::xbar::GpuXbar>,
    /// Tile shapes pinned for every GEMM and crossbar read (tests run each shape); `None`:
    /// chosen from each problem's size (`super::tiles`).
    pub force_gemm_tile: Option<GemmTile>,
    pub force_read_tile: Option<ReadTile>,
    /// Reduce with workgroup-memory trees even where the adapter has subgroup operations
    /// (tests check both).
    pub force_plain_reductions: bool,
}

/// Workgroups for a 1-D kernel over `count` items, folded into y beyond the x limit.
fn groups_1d(count: u32, size: u32) -> [u32; 3] {
    let g = count.div_ceil(size).max(1);
    [g.min(65535), g.div_ceil(65535), 1]
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
        }
    }

    fn uniform<P: Pod>(&mut self, params: &P) -> usize {
        let bytes = bytemuck::bytes_of(params).to_vec();
        if let Some(&i) = self.uniform_index.get(&bytes) {
            return i;
        }
        let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.ctx.queue.write_buffer(&buf, 0, &bytes);
        self.uniforms.push(buf);
        self.uniform_index.insert(bytes, self.uniforms.len() - 1);
        self.uniforms.len() - 1
    }

    /// Records one dispatch of `k` with `params` over `bufs`.
    pub fn dispatch<P: Pod>(
        &mut self,
        k: &Kernel,
        constants: &[(&'static str, f64)],
        params: &P,
        bufs: &[Buf],
        groups: [u32; 3],
    ) {
        assert_eq!(bufs.len(), k.bindings.len(), "{}: binding count", k.entry);
        let pipeline =
            self.pipelines
                .get(&self.ctx.device, k, constants, self.subgroup_reductions());
        let u = self.uniform(params);
        let key: BindKey = (
            k.shader,
            k.entry,
            constants.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
            self.subgroup_reductions(),
            u,
            bufs.iter().map(|b| b.0).collect(),
        );
        let bind_group = match self.bind_groups.get(&key) {
            Some(bg) => bg.clone(),
            None => {
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.uniforms[u].as_entire_binding(),
                }];
                for (i, b) in bufs.iter().enumerate() {
                    entries.push(wgpu::BindGroupEntry {
                        binding: i as u32 + 1,
                        resource: self.bufs[b.0].0.as_entire_binding(),
                    });
                }
                let bg = self
                    .ctx
                    .device
                    .create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(k.entry),
                        layout: &pipeline.layout,
                        entries: &entries,
                    });
                self.bind_groups.insert(key, bg.clone());
                bg
            }
        };
        self.pending.push(Dispatch {
            pipeline,
            bind_group,
            groups,
        });
    }

    /// Whether reductions use subgroup operations: the adapter has SUBGROUP and they are not
    /// switched off (`force_plain_reductions`).
    pub fn subgroup_reductions(&self) -> bool {
        !self.force_plain_reductions && self.ctx.features.contains(wgpu::Features::SUBGROUP)
    }

    fn dispatch_1d<P: Pod>(&mut self, k: &Kernel, params: &P, bufs: &[Buf], count: u32, wg: u32) {
        self.dispatch(k, &[], params, bufs, groups_1d(count, wg));
    }

    /// The wgpu buffer behind a handle.
    pub(super) fn raw_buffer(&self, buf: Buf) -> &wgpu::Buffer {
        &self.bufs[buf.0].0
    }

    fn create(&mut self, len: usize) -> Buf {
        let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.bufs.push((buf, len));
        Buf(self.bufs.len() - 1)
    }

    fn read_bytes(&mut self, buf: Buf) -> Vec<u8> {
        self.flush();
        let (src, len) = (&self.bufs[buf.0].0, self.bufs[buf.0].1);
        let size = (len.max(1) * 4) as u64;
        if self.staging.as_ref().is_none_or(|s| s.size() < size) {
            self.staging = Some(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("staging"),
                size: size.next_power_of_two(),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let staging = self.staging.as_ref().unwrap();
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, staging, 0, size);
        self.ctx.queue.submit([enc.finish()]);
        let slice = staging.slice(..size);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("map staging buffer"));
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("device lost while reading back");
        let out = slice.get_mapped_range().expect("mapped range").to_vec();
        staging.unmap();
        out[..len * 4].to_vec()
    }
}

impl Backend for GpuBackend {
    fn describe(&self) -> AdapterSummary {
        self.ctx.summary()
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
        let (m, n) = (g.params.m, g.params.n);
        let tile = (self.force_gemm_tile).unwrap_or_else(|| GemmTile::choose(m, n, g.batch));
        let groups = tile.groups(m, n, g.batch);
        let constants = tile.constants(g.trans_a, g.trans_b);
        self.dispatch(&shaders::GEMM, &constants, &g.params, &[a, b, c], groups);
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

    fn xbar_program(&mut self, id: XbarId, grad: Buf, step: u32) {
        super::xbar::program(self, id, grad, step);
    }

    fn xbar_cells(&mut self, id: XbarId) -> Vec<crate::xbar::LayerCells> {
        super::xbar::cells(self, id)
    }

    fn xbar_activity(&mut self, id: XbarId) -> XbarActivity {
        super::xbar::activity(self, id)
    }

    fn xbar_set_adc(&mut self, id: XbarId, ranges: &[[Option<crate::xbar::adc::AdcRange>; 2]]) {
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
        if self.pending.is_empty() {
            return;
        }
        if let Some(t) = self.timer.as_mut().filter(|t| t.full()) {
            t.collect(&self.ctx);
        }
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: self.timer.as_mut().map(|t| t.next_pass()),
            });
            for d in &self.pending {
                pass.set_pipeline(&d.pipeline.pipeline);
                pass.set_bind_group(0, &d.bind_group, &[]);
                pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
            }
        }
        self.pending.clear();
        self.ctx.queue.submit([enc.finish()]);
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
