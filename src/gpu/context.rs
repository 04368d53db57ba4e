//! Headless adapter and device selection.

use std::sync::Arc;

/// Optional features used where the adapter has them.
const WANTED_FEATURES: wgpu::Features = wgpu::Features::SHADER_F16
    .union(wgpu::Features::SUBGROUP)
    .union(wgpu::Features::TIMESTAMP_QUERY)
    .union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);

/// Which adapter to open: a name substring (`--adapter`, else `WGPU_ADAPTER_NAME`) and the
/// backends to search (`WGPU_BACKEND`, else all).
#[derive(Debug, Clone, Default)]
pub struct AdapterChoice {
    pub name: Option<String>,
}

/// What a report records about the adapter that ran.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub driver: String,
    pub device_type: String,
}

/// An open device and what it can do.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::Adapter,
    pub info: wgpu::AdapterInfo,
    pub features: wgpu::Features,
    pub limits: wgpu::Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found{filter}.\n  Install a Vulkan driver (on Debian/Ubuntu without a GPU: \
         `apt-get install mesa-vulkan-drivers` for Mesa's lavapipe, then \
         `WGPU_BACKEND=vulkan WGPU_ADAPTER_NAME=llvmpipe`), or run with `--backend cpu`.\n  \
         Adapters seen: {seen}"
    )]
    NoAdapter { filter: String, seen: String },
    #[error("could not open device on adapter `{adapter}`: {source}")]
    Device {
        adapter: String,
        source: wgpu::RequestDeviceError,
    },
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    // GL adds nothing for compute and prints display-server noise on headless machines.
    desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    wgpu::Instance::new(desc)
}

/// All adapters visible to this process, with the `WGPU_BACKEND` filter applied.
pub fn list_adapters() -> Vec<wgpu::AdapterInfo> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| a.get_info())
        .collect()
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

impl GpuContext {
    /// Opens the chosen adapter with its own limits and the wanted features it supports.
    pub fn open(choice: &AdapterChoice) -> Result<Arc<GpuContext>, GpuError> {
        let inst = instance();
        let adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
        let wanted = choice
            .name
            .clone()
            .or_else(|| std::env::var("WGPU_ADAPTER_NAME").ok())
            .map(|s| s.to_lowercase());
        let seen: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?})", i.name, i.backend)
            })
            .collect();
        let mut candidates: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .filter(|a| match &wanted {
                Some(w) => a.get_info().name.to_lowercase().contains(w),
                None => true,
            })
            .collect();
        candidates.sort_by_key(|a| rank(a.get_info().device_type));
        let Some(adapter) = candidates.into_iter().next() else {
            return Err(GpuError::NoAdapter {
                filter: wanted
                    .map(|w| format!(" matching `{w}`"))
                    .unwrap_or_default(),
                seen: if seen.is_empty() {
                    "none".into()
                } else {
                    seen.join(", ")
                },
            });
        };
        let info = adapter.get_info();
        let features = WANTED_FEATURES & adapter.features();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("insitu"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|source| GpuError::Device {
            adapter: info.name.clone(),
            source,
        })?;
        Ok(Arc::new(GpuContext {
            device,
            queue,
            adapter,
            info,
            features,
            limits,
        }))
    }

    pub fn summary(&self) -> AdapterSummary {
        AdapterSummary {
            name: self.info.name.clone(),
            backend: format!("{:?}", self.info.backend).to_lowercase(),
            driver: format!("{} {}", self.info.driver, self.info.driver_info)
                .trim()
                .to_string(),
            device_type: format!("{:?}", self.info.device_type),
        }
    }
}
