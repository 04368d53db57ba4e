// Residual addition y += x over `count` values: a block's shortcut added to its main path, and
// in the backward pass the shortcut's gradient added to the block input's gradient.

struct Params {
    count: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= prm.count) {
        return;
    }
    y[i] += x[i];
}
