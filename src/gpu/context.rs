//! Headless adapter and device selection.

use std::sync::Arc;

/// Optional features used where the adapter has them.
const WANTED_FEATURES: wgpu::Features = wgpu::Features::SHADER_F16
    .union(wgpu::Features::SUBGROUP)
    .union(wgpu::Features::TIMESTAMP_QUERY)
    .union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS)
    .union(wgpu::Features::SHADER_INT64);

/// Which adapter to open: `--adapter`, else `INSITU_ADAPTER`, else `WGPU_ADAPTER_NAME`; each
/// an index into the list `insitu info` prints, or a name substring. The backends searched
/// are `WGPU_BACKEND`'s, else all.
#[derive(Debug, Clone, Default)]
pub struct AdapterChoice {
    pub name: Option<String>,
}

/// One way to name an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterSelector {
    /// Position in the adapter list (`insitu info`), from 0.
    Index(usize),
    /// Case-insensitive substring of the adapter's name.
    Name(String),
}

impl AdapterSelector {
    /// A number is an index; anything else a name substring.
    pub fn parse(text: &str) -> AdapterSelector {
        let t = text.trim();
        match t.parse::<usize>() {
            Ok(i) => AdapterSelector::Index(i),
            Err(_) => AdapterSelector::Name(t.to_lowercase()),
        }
    }
}

impl std::fmt::Display for AdapterSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdapterSelector::Index(i) => write!(f, "index {i}"),
            AdapterSelector::Name(n) => write!(f, "`{n}`"),
        }
    }
}

impl AdapterChoice {
    /// The selector in force, and whether the user gave one (flag or environment).
    pub fn selector(&self) -> Option<AdapterSelector> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        self.name
            .clone()
            .or_else(|| env("INSITU_ADAPTER"))
            .or_else(|| env("WGPU_ADAPTER_NAME"))
            .map(|s| AdapterSelector::parse(&s))
    }
}

pub use crate::backend::AdapterSummary;

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
    #[error("the adapter `{adapter}` lacks {feature}, needed by {wanted}")]
    MissingFeature {
        adapter: String,
        feature: &'static str,
        wanted: &'static str,
    },
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
        Self::open_without(choice, wgpu::Features::empty())
    }

    /// [`open`](Self::open), leaving out the optional features in `without` (tests check what
    /// happens on adapters that lack them).
    pub fn open_without(
        choice: &AdapterChoice,
        without: wgpu::Features,
    ) -> Result<Arc<GpuContext>, GpuError> {
        let inst = instance();
        let adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
        let wanted = choice.selector();
        let seen: Vec<String> = adapters
            .iter()
            .enumerate()
            .map(|(n, a)| {
                let i = a.get_info();
                format!("{n}: {} ({})", i.name, backend_name(i.backend))
            })
            .collect();
        let mut candidates: Vec<wgpu::Adapter> = adapters
            .into_iter()
            .enumerate()
            .filter(|(i, a)| match &wanted {
                Some(AdapterSelector::Index(w)) => i == w,
                Some(AdapterSelector::Name(w)) => a.get_info().name.to_lowercase().contains(w),
                None => true,
            })
            .map(|(_, a)| a)
            .collect();
        candidates.sort_by_key(|a| rank(a.get_info().device_type));
        let Some(adapter) = candidates.into_iter().next() else {
            return Err(GpuError::NoAdapter {
                filter: wanted.map(|w| format!(" matching {w}")).unwrap_or_default(),
                seen: if seen.is_empty() {
                    "none".into()
                } else {
                    seen.join(", ")
                },
            });
        };
        let info = adapter.get_info();
        let features = (WANTED_FEATURES & adapter.features()) - without;
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
            backend: backend_name(self.info.backend),
            driver: format!("{} {}", self.info.driver, self.info.driver_info)
                .trim()
                .to_string(),
            device_type: device_type_name(self.info.device_type).into(),
            gemm: None,
        }
    }
}

/// The backend as users write it in `WGPU_BACKEND`.
pub fn backend_name(b: wgpu::Backend) -> String {
    format!("{b:?}").to_lowercase()
}

/// The device type in words.
pub fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
        wgpu::DeviceType::VirtualGpu => "virtual GPU",
        wgpu::DeviceType::Cpu => "CPU (software)",
        wgpu::DeviceType::Other => "other",
    }
}
