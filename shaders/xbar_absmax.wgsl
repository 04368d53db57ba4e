// Per-instance input range of a crossbar read: max |x| (signed) or max x over the instance's
// rows, 1 if zero, in two passes: `absmax_part` reduces part wid.x of instance wid.y's
// elements to xmax[P + p * PARTS + part]; `absmax` reduces the PARTS partial maxima to xmax[p].
// Every invocation loops at most n / (PARTS * 256) times. `wg_max` comes from reduce.wgsl or,
// where the adapter has subgroups, reduce_subgroup.wgsl.
//
// Dispatched with the read's bindings and parameters (src/gpu/xbar/read.rs); these are the
// leading fields of its parameters (shaders/xbar_read.wgsl) and the bindings it uses.

struct Params {
    lines: u32, outs: u32, ncol: u32, group: u32,
    n_groups: u32, n_pass: u32, pass_len: u32, slices: u32,
    cycles: u32, dac_bits: u32, in_bits: u32, max_code: u32,
    cell_bits: u32, offset: u32, signed_in: u32, transposed: u32,
    batch: u32, slot: u32, x_off: u32, x_ld: u32,
    x_stride: u32, y_off: u32, y_ld: u32, y_stride: u32,
    n_inst: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(4) var<storage, read> xin: array<f32>;
@group(0) @binding(5) var<storage, read_write> xmax: array<f32>;

const PARTS: u32 = 64u;

@compute @workgroup_size(256)
fn absmax_part(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let p = wid.y;
    let n = prm.batch * prm.lines;
    let per = (n + PARTS - 1u) / PARTS;
    let end = min(n, (wid.x + 1u) * per);
    var m = 0.0;
    for (var e = wid.x * per + lane.lid; e < end; e += WG) {
        let r = e / prm.lines;
        let l = e % prm.lines;
        let v = xin[prm.x_off + p * prm.x_stride + r * prm.x_ld + l];
        m = max(m, select(v, abs(v), prm.signed_in != 0u));
    }
    let top = wg_max(m, lane);
    if (lane.lid == 0u) {
        xmax[prm.n_inst + p * PARTS + wid.x] = top;
    }
}

@compute @workgroup_size(256)
fn absmax(@builtin(workgroup_id) wid: vec3<u32>, lane: Lane) {
    let p = wid.x;
    var m = 0.0;
    if (lane.lid < PARTS) {
        m = xmax[prm.n_inst + p * PARTS + lane.lid];
    }
    let top = wg_max(m, lane);
    if (lane.lid == 0u) {
        xmax[p] = select(1.0, top, top > 0.0);
    }
}
