//! GPU time of submitted work from timestamp queries: one begin/end pair per compute pass
//! (one pass per `flush`), resolved and summed when asked or when the query set fills.

const PAIRS: u32 = 1024;

pub struct GpuTimer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    used: u32,
    /// Nanoseconds per timestamp tick.
    period: f64,
    total_ns: f64,
}

impl GpuTimer {
    /// `None` when the adapter cannot write timestamps in passes.
    pub fn new(ctx: &super::GpuContext) -> Option<GpuTimer> {
        if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let d = &ctx.device;
        let size = (2 * PAIRS as u64) * 8;
        Some(GpuTimer {
            set: d.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * PAIRS,
            }),
            resolve: d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps resolve"),
                size,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps readback"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            used: 0,
            period: ctx.queue.get_timestamp_period() as f64,
            total_ns: 0.0,
        })
    }

    pub fn full(&self) -> bool {
        self.used == PAIRS
    }

    /// The timestamp writes of the next pass.
    pub fn next_pass(&mut self) -> wgpu::ComputePassTimestampWrites<'_> {
        let i = self.used;
        self.used += 1;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(2 * i),
            end_of_pass_write_index: Some(2 * i + 1),
        }
    }

    /// Reads back every written pair (after the passes were submitted) into the total.
    pub fn collect(&mut self, ctx: &super::GpuContext) {
        if self.used == 0 {
            return;
        }
        let n = 2 * self.used;
        let bytes = n as u64 * 8;
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        enc.resolve_query_set(&self.set, 0..n, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, bytes);
        ctx.queue.submit([enc.finish()]);
        let slice = self.readback.slice(..bytes);
        slice.map_async(wgpu::MapMode::Read, |r| r.expect("map timestamps"));
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("device lost while reading timestamps");
        {
            let view = slice.get_mapped_range().expect("mapped timestamps");
            let ticks: &[u64] = bytemuck::cast_slice(&view);
            for pair in ticks.chunks(2) {
                self.total_ns += pair[1].saturating_sub(pair[0]) as f64 * self.period;
            }
        }
        self.readback.unmap();
        self.used = 0;
    }

    /// Seconds accumulated since the last call (collect first).
    pub fn take_seconds(&mut self) -> f64 {
        let s = self.total_ns * 1e-9;
        self.total_ns = 0.0;
        s
    }
}
