// Moves the leading axis behind the second: dst[j][i][t] = src[i][j][t], for src [a][b][s].
// Conv layers keep maps channel-major (CNHW); fully connected layers want one row per image.

struct Params {
    a: u32, b: u32, s: u32, count: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * 256u;
    if (o >= prm.count) {
        return;
    }
    let t = o % prm.s;
    let i = (o / prm.s) % prm.a;
    let j = o / (prm.s * prm.a);
    dst[o] = src[(i * prm.b + j) * prm.s + t];
}
