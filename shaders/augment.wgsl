// Random crop (zero padding) and horizontal flip of a batch [rows][c h w], as
// src/cpu/augment.rs: row r draws Philox block (first + r, 0, 0, 0) under (key0, key1);
// dy, dx = hi(word * (2 pad + 1)) - pad from words 0 and 1, flip = word 2's top bit.
// y[r][ch][oy][ox] = x[r][ch][oy + dy][(flip ? w - 1 - ox : ox) + dx], 0 outside.

struct Params {
    rows: u32, c: u32, h: u32, w: u32,
    count: u32, pad: u32, flip: u32, first: u32,
    key0: u32, key1: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= prm.count) {
        return;
    }
    let plane = prm.h * prm.w;
    let r = i / (prm.c * plane);
    let base = i - (i % plane);
    let ox = i32((i % plane) % prm.w);
    let oy = i32((i % plane) / prm.w);
    let word = philox4x32_10(vec4<u32>(prm.first + r, 0u, 0u, 0u), vec2<u32>(prm.key0, prm.key1));
    let span = 2u * prm.pad + 1u;
    let dy = i32(philox_mulhilo(word.x, span).x) - i32(prm.pad);
    let dx = i32(philox_mulhilo(word.y, span).x) - i32(prm.pad);
    let flipped = prm.flip != 0u && (word.z >> 31u) == 1u;
    let w = i32(prm.w);
    let h = i32(prm.h);
    var sx = ox;
    if (flipped) {
        sx = w - 1 - ox;
    }
    sx = sx + dx;
    let sy = oy + dy;
    if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
        y[i] = x[base + u32(sy * w + sx)];
    } else {
        y[i] = 0.0;
    }
}
