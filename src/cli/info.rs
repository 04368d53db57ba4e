//! `insitu info`: adapters, the chosen one, its features and limits.

use crate::gpu::context::{backend_name, device_type_name};
use crate::gpu::{list_adapters, AdapterChoice, GpuContext};

pub fn run(adapter: Option<String>) -> anyhow::Result<()> {
    println!(
        "insitu {} (commit {})",
        env!("CARGO_PKG_VERSION"),
        crate::provenance::COMMIT
    );
    let all = list_adapters();
    println!(
        "adapters ({}; choose one with --adapter INDEX or NAME, or INSITU_ADAPTER):",
        all.len()
    );
    for (i, a) in all.iter().enumerate() {
        println!(
            "  {i}: {} | {} | {} | driver {} {}",
            a.name,
            backend_name(a.backend),
            device_type_name(a.device_type),
            a.driver,
            a.driver_info
        );
    }
    let ctx = GpuContext::open(&AdapterChoice { name: adapter })?;
    let s = ctx.summary();
    println!("chosen: {} ({}, {})", s.name, s.backend, s.driver);
    let names: Vec<&str> = ctx.features.iter_names().map(|(n, _)| n).collect();
    println!(
        "optional features used: {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ").to_lowercase()
        }
    );
    println!(
        "subgroup size: {}..{}",
        ctx.info.subgroup_min_size, ctx.info.subgroup_max_size
    );
    let l = &ctx.limits;
    println!("limits:");
    println!("  max_buffer_size: {}", l.max_buffer_size);
    println!(
        "  max_storage_buffer_binding_size: {}",
        l.max_storage_buffer_binding_size
    );
    println!(
        "  max_storage_buffers_per_shader_stage: {}",
        l.max_storage_buffers_per_shader_stage
    );
    println!(
        "  max_compute_workgroup_storage_size: {}",
        l.max_compute_workgroup_storage_size
    );
    println!(
        "  max_compute_invocations_per_workgroup: {}",
        l.max_compute_invocations_per_workgroup
    );
    println!(
        "  max_compute_workgroups_per_dimension: {}",
        l.max_compute_workgroups_per_dimension
    );
    Ok(())
}
