//! What a report records about the device that ran: a GPU adapter or the CPU reference.

/// Adapter name, API backend, driver and device type, as reports and benchmarks record them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub driver: String,
    pub device_type: String,
    /// A GEMM precision other than the default f32 (`--gemm f16`), which changes results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemm: Option<String>,
}
