// Convolution unrolling. Input element (b, c, y, x) is at b * sb + c * sc + y * w + x, so the
// same kernels read NCHW images and the channel-major CNHW maps conv layers produce.
// cols[(c * k + ky) * k + kx][b * oh * ow + oy * ow + ox]: row = one weight of a k x k x C
// kernel (one crossbar row), column = one output pixel of the batch (one crossbar read).

struct Params {
    batch: u32, c: u32, h: u32, w: u32,
    k: u32, stride: u32, pad: u32, count: u32,
    oh: u32, ow: u32, sb: u32, sc: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// dst = cols, one invocation per column element; padding reads as zero.
@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    let npix = prm.batch * prm.oh * prm.ow;
    let row = i / npix;
    let col = i % npix;
    let kx = row % prm.k;
    let ky = (row / prm.k) % prm.k;
    let c = row / (prm.k * prm.k);
    let b = col / (prm.oh * prm.ow);
    let ox = col % prm.ow;
    let oy = (col / prm.ow) % prm.oh;
    let y = i32(oy * prm.stride + ky) - i32(prm.pad);
    let x = i32(ox * prm.stride + kx) - i32(prm.pad);
    var v = 0.0;
    if (y >= 0 && x >= 0 && y < i32(prm.h) && x < i32(prm.w)) {
        v = src[b * prm.sb + c * prm.sc + u32(y) * prm.w + u32(x)];
    }
    dst[i] = v;
}

// dst = the input-shaped sum of every column element that read it (the adjoint of im2col),
// one invocation per input element, so no two invocations write the same place.
@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= prm.count) {
        return;
    }
    let x = i % prm.w;
    let y = (i / prm.w) % prm.h;
    let c = (i / (prm.w * prm.h)) % prm.c;
    let b = i / (prm.w * prm.h * prm.c);
    let npix = prm.batch * prm.oh * prm.ow;
    var s = 0.0;
    for (var ky = 0u; ky < prm.k; ky++) {
        let ty = i32(y + prm.pad) - i32(ky);
        if (ty < 0 || u32(ty) % prm.stride != 0u) {
            continue;
        }
        let oy = u32(ty) / prm.stride;
        if (oy >= prm.oh) {
            continue;
        }
        for (var kx = 0u; kx < prm.k; kx++) {
            let tx = i32(x + prm.pad) - i32(kx);
            if (tx < 0 || u32(tx) % prm.stride != 0u) {
                continue;
            }
            let ox = u32(tx) / prm.stride;
            if (ox >= prm.ow) {
                continue;
            }
            let row = (c * prm.k + ky) * prm.k + kx;
            s += src[row * npix + (b * prm.oh + oy) * prm.ow + ox];
        }
    }
    dst[b * prm.sb + c * prm.sc + y * prm.w + x] = s;
}
