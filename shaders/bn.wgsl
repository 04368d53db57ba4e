// Batch normalisation over channel-major maps x[C][N] (N = batch * pixels), training forward:
// batch statistics, one workgroup per channel, workgroup reductions (`wg_sum`).
// `save` holds [mean][1/sqrt(var + eps)] per channel for the backward pass; `running` holds
// [running mean][running unbiased variance], updated as r = (1 - momentum) r + momentum batch.
// Params come from bn_common.wgsl, `Lane` and `wg_sum` from reduce.wgsl.

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> save: array<f32>;
@group(0) @binding(6) var<storage, read_write> running: array<f32>;

@compute @workgroup_size(256)
fn train(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let lid = lane.lid;
    let ch = wid.x;
    let base = ch * prm.n;
    var s = 0.0;
    for (var j = lid; j < prm.n; j += WG) {
        s += x[base + j];
    }
    let mean = wg_sum(s, lane) / f32(prm.n);
    // Two passes (mean, then squared deviations) keep the variance accurate for large means.
    var q = 0.0;
    for (var j = lid; j < prm.n; j += WG) {
        let d = x[base + j] - mean;
        q += d * d;
    }
    let var_b = wg_sum(q, lane) / f32(prm.n);
    let istd = 1.0 / sqrt(var_b + prm.eps);
    let g = gamma[ch] * istd;
    let b = beta[ch];
    for (var j = lid; j < prm.n; j += WG) {
        y[base + j] = (x[base + j] - mean) * g + b;
    }
    if (lid == 0u) {
        save[ch] = mean;
        save[prm.c + ch] = istd;
        let unbiased = var_b * f32(prm.n) / f32(max(prm.n, 2u) - 1u);
        let m = prm.momentum;
        running[ch] = (1.0 - m) * running[ch] + m * mean;
        running[prm.c + ch] = (1.0 - m) * running[prm.c + ch] + m * unbiased;
    }
}
