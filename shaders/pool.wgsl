// Non-overlapping pooling: kh x kw windows with stride equal to the window, no padding, floor
// (2x2 max / average pool, and global average pool with the window the whole map). Maps are
// `planes` contiguous h x w planes, so the layout of the planes (NCHW or CNHW) does not matter.
// Max ties go to the first element of the window in row order, forward and backward alike.

struct Params {
    planes: u32, h: u32, w: u32, kh: u32,
    kw: u32, oh: u32, ow: u32, op: u32,
    count: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// Forward writes the pooled maps to `out`; backward reads their gradient `dy` and writes the
// input gradient to `out`.
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// Index in x of the window's maximum (first on ties).
fn argmax(p: u32, oy: u32, ox: u32) -> u32 {
    var best = p * prm.h * prm.w + (oy * prm.kh) * prm.w + ox * prm.kw;
    var top = x[best];
    for (var i = 0u; i < prm.kh; i++) {
        for (var j = 0u; j < prm.kw; j++) {
            let idx = p * prm.h * prm.w + (oy * prm.kh + i) * prm.w + ox * prm.kw + j;
            if (x[idx] > top) {
                top = x[idx];
                best = idx;
            }
        }
    }
    return best;
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = linear_id(gid, nwg);
    if (o >= prm.count) {
        return;
    }
    let ox = o % prm.ow;
    let oy = (o / prm.ow) % prm.oh;
    let p = o / (prm.ow * prm.oh);
    if (prm.op == 0u) {
        out[o] = x[argmax(p, oy, ox)];
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < prm.kh; i++) {
        for (var j = 0u; j < prm.kw; j++) {
            s += x[p * prm.h * prm.w + (oy * prm.kh + i) * prm.w + ox * prm.kw + j];
        }
    }
    out[o] = s / f32(prm.kh * prm.kw);
}

// One invocation per input element: each lies in at most one window, so dx is written once.
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    let xx = i % prm.w;
    let yy = (i / prm.w) % prm.h;
    let p = i / (prm.w * prm.h);
    let oy = yy / prm.kh;
    let ox = xx / prm.kw;
    var g = 0.0;
    if (oy < prm.oh && ox < prm.ow) {
        let o = (p * prm.oh + oy) * prm.ow + ox;
        if (prm.op == 0u) {
            g = select(0.0, dy[o], argmax(p, oy, ox) == i);
        } else {
            g = dy[o] / f32(prm.kh * prm.kw);
        }
    }
    out[i] = g;
}
