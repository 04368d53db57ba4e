// Output loss and its gradient, per (instance, row), with per-row statistics.
// kind 0: softmax cross-entropy on logits; kind 1: mean squared error on outputs against one-hot.
// dy = dLoss/dy scaled by `scale` (1 / batch); stats[(p * rows + r) * 2] = (loss, correct).

struct Params {
    rows: u32, classes: u32, count: u32, kind: u32,
    off_y: u32, stride_y: u32, _pad0: u32, _pad1: u32,
    scale: f32, _pad2: f32, _pad3: f32, _pad4: f32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= prm.count) {
        return;
    }
    let p = i / prm.rows;
    let r = i % prm.rows;
    let base = prm.off_y + p * prm.stride_y + r * prm.classes;
    let label = labels[r];
    // argmax, first maximum wins (as the CPU twin).
    var best = 0u;
    var top = y[base];
    for (var c = 1u; c < prm.classes; c++) {
        if (y[base + c] > top) {
            top = y[base + c];
            best = c;
        }
    }
    var loss = 0.0;
    if (prm.kind == 0u) {
        var sum = 0.0;
        for (var c = 0u; c < prm.classes; c++) {
            sum += exp(y[base + c] - top);
        }
        let log_sum = log(sum);
        for (var c = 0u; c < prm.classes; c++) {
            let prob = exp(y[base + c] - top) / sum;
            let onehot = select(0.0, 1.0, c == label);
            dy[base + c] = (prob - onehot) * prm.scale;
        }
        loss = log_sum + top - y[base + label];
    } else {
        for (var c = 0u; c < prm.classes; c++) {
            let diff = y[base + c] - select(0.0, 1.0, c == label);
            loss += 0.5 * diff * diff;
            dy[base + c] = diff * prm.scale;
        }
    }
    stats[2u * i] = loss;
    stats[2u * i + 1u] = select(0.0, 1.0, best == label);
}
