// Bias + activation forward, activation backward and bias gradient, over P instances.
// Two strided matrix views per call: view 0 (read_write) and view 1 (read only); element
// (p, r, c) of a view is at off + p * stride + r * ld + c. Activations: 0 identity, 1 relu,
// 2 tanh, 3 sigmoid. Derivatives are taken from the activation's output h, so the
// pre-activation need not be kept.

struct Params {
    rows: u32, cols: u32, count: u32, act: u32,
    ld0: u32, off0: u32, stride0: u32,
    ld1: u32, off1: u32, stride1: u32,
    _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> v0: array<f32>;
@group(0) @binding(2) var<storage, read> v1: array<f32>;

fn activate(z: f32) -> f32 {
    switch prm.act {
        case 1u: { return max(z, 0.0); }
        case 2u: { return tanh(z); }
        case 3u: { return 1.0 / (1.0 + exp(-z)); }
        default: { return z; }
    }
}

fn derivative(h: f32) -> f32 {
    switch prm.act {
        case 1u: { return select(0.0, 1.0, h > 0.0); }
        case 2u: { return 1.0 - h * h; }
        case 3u: { return h * (1.0 - h); }
        default: { return 1.0; }
    }
}

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// v0 = act(v0 + bias), bias row p at v1[off1 + p * stride1 + c].
@compute @workgroup_size(256)
fn bias_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    let per = prm.rows * prm.cols;
    let p = i / per;
    let r = (i % per) / prm.cols;
    let c = i % prm.cols;
    let idx = prm.off0 + p * prm.stride0 + r * prm.ld0 + c;
    v0[idx] = activate(v0[idx] + v1[prm.off1 + p * prm.stride1 + c]);
}

// v0 (an error signal) *= f'(h), h = v1.
@compute @workgroup_size(256)
fn act_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    let per = prm.rows * prm.cols;
    let p = i / per;
    let r = (i % per) / prm.cols;
    let c = i % prm.cols;
    let idx = prm.off0 + p * prm.stride0 + r * prm.ld0 + c;
    v0[idx] = v0[idx] * derivative(v1[prm.off1 + p * prm.stride1 + r * prm.ld1 + c]);
}

// v0[off0 + p * stride0 + c] = sum over rows of v1 (column sums, in row order); count = P * cols.
@compute @workgroup_size(256)
fn bias_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    let p = i / prm.cols;
    let c = i % prm.cols;
    var s = 0.0;
    for (var r = 0u; r < prm.rows; r++) {
        s += v1[prm.off1 + p * prm.stride1 + r * prm.ld1 + c];
    }
    v0[prm.off0 + p * prm.stride0 + c] = s;
}
