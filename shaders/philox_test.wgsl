// Writes Philox words and normals for a range of counters; used to check the WGSL port.

struct Params {
    key: vec2<u32>,
    count: u32,
    ctr_hi: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> words: array<u32>;
@group(0) @binding(2) var<storage, read_write> normals: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= prm.count) {
        return;
    }
    let r = philox4x32_10(vec4<u32>(i, prm.ctr_hi, 0u, 0u), prm.key);
    words[4u * i] = r.x;
    words[4u * i + 1u] = r.y;
    words[4u * i + 2u] = r.z;
    words[4u * i + 3u] = r.w;
    normals[i] = philox_normal(r.x, r.y);
}
