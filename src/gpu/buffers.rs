//! Storage buffers: creation in whole vec4s, and reading back through a reused staging buffer.

use super::backend::GpuBackend;
use crate::backend::{Backend, Buf};

impl GpuBackend {
    /// The wgpu buffer behind a handle.
    pub(super) fn raw_buffer(&self, buf: Buf) -> &wgpu::Buffer {
        &self.bufs[buf.0].0
    }

    /// A buffer of `len` values, allocated in whole vec4s: the GEMM binds its operands as
    /// arrays of vec4s, and every value must lie in one.
    pub(super) fn create(&mut self, len: usize) -> Buf {
        let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (len.max(1) * 4).next_multiple_of(16) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.bufs.push((buf, len));
        Buf(self.bufs.len() - 1)
    }

    pub(super) fn read_bytes(&mut self, buf: Buf) -> Vec<u8> {
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
