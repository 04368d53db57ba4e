#!/usr/bin/env bash
# GPU check for a machine with a real GPU: builds, runs the GPU-vs-CPU kernel tests, then the
# benchmark suite on the GPU, and prints a Markdown table for docs/benchmarks.md (also written
# to target/bench/gpu-check.md, with the JSON beside it), and the GEMM cases again with f16
# staging where the adapter has SHADER_F16. About 5 minutes on a recent machine.
#
#   benches/gpu-check.sh                      # best hardware adapter
#   PEAK_GFLOPS=67000 benches/gpu-check.sh    # also report the fraction of the FP32 peak
#   WGPU_ADAPTER_NAME=nvidia benches/gpu-check.sh
#
# FP32 (non-tensor) peaks for reference: H100/H200 SXM 67000, A100 19500, L4 30300,
# RTX 4090 82600 GFLOP/s. On Linux with an NVIDIA GPU, wgpu needs the Vulkan loader and the
# NVIDIA ICD (Debian/Ubuntu: `apt-get install libvulkan1` plus the driver's Vulkan package).
set -euo pipefail
cd "$(dirname "$0")/.."
export REQUIRE_GPU=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

cargo build --release --quiet
bin=target/release/insitu

# Refuse software rasterizers: their numbers say nothing about GPUs.
info=$("$bin" info 2>/dev/null || true)
echo "$info" | sed -n '1,12p'
if ! echo "$info" | grep -E '\| (DiscreteGpu|IntegratedGpu|VirtualGpu) ' >/dev/null; then
    echo "gpu-check: no hardware GPU adapter (see above); nothing to measure" >&2
    exit 1
fi

# GPU against the CPU twins on awkward shapes, every GEMM and read tile and both reduction
# variants (subgroup operations where the adapter has them, workgroup trees).
cargo test --release --quiet --test gpu
features=$(echo "$info" | sed -n 's/^optional features used: //p')

mkdir -p target/bench
peak=()
[ -n "${PEAK_GFLOPS:-}" ] && peak=(--peak-gflops "$PEAK_GFLOPS")
"$bin" --backend gpu bench --markdown ${peak[@]+"${peak[@]}"} --out target/bench/gpu-check.json \
    | grep -v '^written ' > target/bench/gpu-check.md
# The GEMM cases again with the opt-in f16 staging, where the adapter has SHADER_F16.
f16=""
if echo "$features" | grep -q shader_f16; then
    f16=target/bench/gpu-check-f16.md
    "$bin" --backend gpu --gemm f16 bench --markdown --only gemm ${peak[@]+"${peak[@]}"} \
        --out target/bench/gpu-check-f16.json | grep -v '^written ' > "$f16"
fi
{
    echo
    echo "### $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    echo "Command: \`benches/gpu-check.sh\`${PEAK_GFLOPS:+ with PEAK_GFLOPS=$PEAK_GFLOPS}"
    echo
    echo "Adapter features used: ${features:-none} (reductions use subgroup operations where"
    echo "\`subgroup\` is listed; GEMM and read tiles are chosen per problem size)."
    echo
    cat target/bench/gpu-check.md
    if [ -n "$f16" ]; then
        echo
        echo "GEMM cases with \`--gemm f16\` (operands staged in f16, f32 products and sums):"
        echo
        cat "$f16"
    fi
} | tee target/bench/gpu-check.section.md
echo
echo "gpu-check: paste the section above into docs/benchmarks.md (GPU numbers)." >&2
