// Batch normalisation over channel-major maps x[C][N], inference forward: the running
// statistics ([mean][unbiased variance], see bn.wgsl), one invocation per element.

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> running: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= prm.count) {
        return;
    }
    let ch = i / prm.n;
    let istd = 1.0 / sqrt(running[prm.c + ch] + prm.eps);
    y[i] = (x[i] - running[ch]) * gamma[ch] * istd + beta[ch];
}
