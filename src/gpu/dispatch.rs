//! Recording dispatches and submitting them: parameter uniforms and bind groups are created on
//! first use and reused, keyed by content, so steady-state steps create nothing; `submit` puts
//! every recorded dispatch into one compute pass.

use bytemuck::Pod;

use super::backend::{BindKey, Dispatch, GpuBackend};
use super::shaders::Kernel;
use crate::backend::Buf;

/// Workgroups for a 1-D kernel over `count` items, folded into y beyond the x limit.
pub(super) fn groups_1d(count: u32, size: u32) -> [u32; 3] {
    let g = count.div_ceil(size).max(1);
    [g.min(65535), g.div_ceil(65535), 1]
}

impl GpuBackend {
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

    pub(super) fn dispatch_1d<P: Pod>(
        &mut self,
        k: &Kernel,
        params: &P,
        bufs: &[Buf],
        count: u32,
        wg: u32,
    ) {
        self.dispatch(k, &[], params, bufs, groups_1d(count, wg));
    }

    /// Submits the recorded dispatches as one compute pass (timed when timing is on).
    pub(super) fn submit(&mut self) {
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
