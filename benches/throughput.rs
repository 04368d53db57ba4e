//! Throughput of the GPU backend against the CPU reference: GEMM GFLOP/s, fused crossbar read,
//! float and in-situ training samples/s, population cost, chip estimate time. Writes
//! `target/bench/throughput.json`. `QUICK=1` uses small sizes (software adapters).

use insitu::cpu::CpuBackend;
use insitu::gpu::{AdapterChoice, GpuBackend, GpuContext};

fn main() -> anyhow::Result<()> {
    let quick = std::env::var("QUICK").is_ok_and(|v| v != "0");
    let ctx = GpuContext::open(&AdapterChoice::default())?;
    let opts = insitu::bench::Options {
        quick,
        ..Default::default()
    };
    let gpu = insitu::bench::run(&mut GpuBackend::new(ctx), &opts)?;
    let cpu = insitu::bench::run(&mut CpuBackend::new(), &opts)?;
    print!(
        "{}{}",
        insitu::bench::table(&gpu),
        insitu::bench::table(&cpu)
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("throughput.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&serde_json::json!({"gpu": gpu, "cpu": cpu}))?,
    )?;
    println!("written {}", path.display());
    Ok(())
}
