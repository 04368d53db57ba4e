// Copies a batch of resident samples, in the order of a permutation, into the input buffer:
// x[r][f] = images[perm[start + r]][f]; y[r] = labels[perm[start + r]].

struct Params {
    rows: u32, features: u32, start: u32, count: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> images: array<f32>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= prm.count) {
        return;
    }
    let r = i / prm.features;
    let f = i % prm.features;
    let src = perm[prm.start + r];
    x[i] = images[src * prm.features + f];
    if (f == 0u) {
        y[r] = labels[src];
    }
}
