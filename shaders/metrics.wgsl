// Adds a batch's per-row statistics into per-instance accumulators, in row order:
// acc[p * 4 + 0] += loss sum, + 1 += correct, + 2 += rows seen.

struct Params {
    rows: u32, count: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= prm.count) {
        return;
    }
    var loss = 0.0;
    var correct = 0.0;
    for (var r = 0u; r < prm.rows; r++) {
        loss += stats[2u * (p * prm.rows + r)];
        correct += stats[2u * (p * prm.rows + r) + 1u];
    }
    acc[4u * p] += loss;
    acc[4u * p + 1u] += correct;
    acc[4u * p + 2u] += f32(prm.rows);
}
