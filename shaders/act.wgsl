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

// Columns per workgroup of `bias_grad`: the column count rounded up to a power of two, at most
// 32; the other 256 / tc invocations of a column split its rows. Mirrored by the host's dispatch.
fn col_tile(cols: u32) -> u32 {
    if (cols <= 1u) {
        return 1u;
    }
    return min(32u, 1u << (32u - countLeadingZeros(cols - 1u)));
}

var<workgroup> part: array<f32, 256>;

// v0[off0 + p * stride0 + c] = sum over rows of v1 (column sums); count = P * cols. A workgroup
// takes tc columns of one instance: each of its 256 / tc lanes per column sums every lanes-th
// row, then a tree in workgroup memory adds the lanes (a fixed order: reproducible).
@compute @workgroup_size(256)
fn bias_grad(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tc = col_tile(prm.cols);
    let lanes = 256u / tc;
    let tiles = (prm.cols + tc - 1u) / tc;
    let w = wid.x + wid.y * nwg.x;
    if (w >= (prm.count / prm.cols) * tiles) {
        return;
    }
    let p = w / tiles;
    let c = (w % tiles) * tc + lid % tc;
    let lane = lid / tc;
    var s = 0.0;
    if (c < prm.cols) {
        let base = prm.off1 + p * prm.stride1 + c;
        for (var r = lane; r < prm.rows; r += lanes) {
            s += v1[base + r * prm.ld1];
        }
    }
    part[lid] = s;
    for (var h = lanes / 2u; h > 0u; h >>= 1u) {
        workgroupBarrier();
        if (lane < h) {
            part[lid] += part[lid + h * tc];
        }
    }
    workgroupBarrier();
    if (lane == 0u && c < prm.cols) {
        v0[prm.off0 + p * prm.stride0 + c] = part[lid];
    }
}
