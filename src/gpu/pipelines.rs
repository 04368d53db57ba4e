//! Compute pipelines created once and cached by (shader, entry point, override constants).

use std::collections::HashMap;
use std::sync::Arc;

use super::shaders::{self, Access, Kernel};

pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// (module, entry point, override constants).
type Key = (&'static str, &'static str, Vec<(&'static str, u64)>);

#[derive(Default)]
pub struct PipelineCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<Key, Arc<Pipeline>>,
}

impl PipelineCache {
    /// The pipeline of `k` with `constants`; `subgroup`: from the module variant that reduces
    /// with subgroup operations, where `k` has one (the device must have SUBGROUP).
    pub fn get(
        &mut self,
        device: &wgpu::Device,
        k: &Kernel,
        constants: &[(&'static str, f64)],
        subgroup: bool,
    ) -> Arc<Pipeline> {
        let int64 = device.features().contains(wgpu::Features::SHADER_INT64);
        let name = shaders::module_name(k.shader, int64, subgroup);
        let key: Key = (
            name,
            k.entry,
            constants.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
        );
        if let Some(p) = self.pipelines.get(&key) {
            return p.clone();
        }
        let module = self.modules.entry(name).or_insert_with(|| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(shaders::source(name).into()),
            })
        });
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }];
        for (i, a) in k.bindings.iter().enumerate() {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: i as u32 + 1,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: *a == Access::Read,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(k.entry),
            entries: &entries,
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(k.entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(k.entry),
            layout: Some(&pl),
            module,
            entry_point: Some(k.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        let p = Arc::new(Pipeline { pipeline, layout });
        self.pipelines.insert(key, p.clone());
        p
    }
}
