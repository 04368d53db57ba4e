// Moves the leading axis behind the second: dst[p][j][i][t] = src[p][i][j][t], for src
// [P][a][b][s] whose rows i are `row` values apart from `off` and instances `stride` apart.
// Conv layers keep maps channel-major (CNHW); fully connected layers want one row per image.

struct Params {
    a: u32, b: u32, s: u32, count: u32,
    off: u32, row: u32, stride: u32, _pad: u32,
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
    let per = prm.a * prm.b * prm.s;
    let p = o / per;
    let q = o % per;
    let t = q % prm.s;
    let i = (q / prm.s) % prm.a;
    let j = q / (prm.s * prm.a);
    dst[o] = src[prm.off + p * prm.stride + i * prm.row + j * prm.s + t];
}
