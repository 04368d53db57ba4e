// Sparsity for compressed conv layers: the L1 subgradient on coefficients and masking of
// pruned ones (gradients before the update, values after it, so pruned entries stay zero).

struct Params {
    count: u32, _pad0: u32, _pad1: u32, lambda: f32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> v0: array<f32>;
@group(0) @binding(2) var<storage, read> v1: array<f32>;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// v0 (a gradient) += lambda * sign(v1) (the weights); sign(0) = 0.
@compute @workgroup_size(256)
fn l1_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    v0[i] += prm.lambda * sign(v1[i]);
}

// v0 *= v1 (a 0/1 mask).
@compute @workgroup_size(256)
fn mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    v0[i] *= v1[i];
}
