// SGD with momentum and weight decay, per instance learning rate (PyTorch's formulation):
// d = g + weight_decay w; v = momentum v + d; w -= lr[p] (nesterov ? d + momentum v : v).
// Elements off + i, i < count, p = i / n.

struct Params {
    n: u32, count: u32, off: u32, nesterov: u32,
    momentum: f32, weight_decay: f32, _pad1: f32, _pad2: f32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> lr: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= prm.count) {
        return;
    }
    let j = prm.off + i;
    let d = g[j] + prm.weight_decay * w[j];
    let vel = prm.momentum * v[j] + d;
    v[j] = vel;
    var step = vel;
    if (prm.nesterov != 0u) {
        step = d + prm.momentum * vel;
    }
    w[j] = w[j] - lr[i / prm.n] * step;
}
