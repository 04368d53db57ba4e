// Sets count elements from off to a value.

struct Params {
    off: u32, count: u32, value: f32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read_write> buf: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < prm.count) {
        buf[prm.off + i] = prm.value;
    }
}
