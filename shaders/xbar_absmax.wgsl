// Per-instance input range of a crossbar read: max |x| (signed) or max x over the instance's
// rows, 1 if zero, in two passes: `absmax_part` reduces part wid.x of instance wid.y's
// elements to xmax[P + p * PARTS + part]; `absmax` reduces the PARTS partial maxima to xmax[p].
// Every invocation loops at most n / (PARTS * 256) times. `wg_max` comes from reduce.wgsl or,
// where the adapter has subgroups, reduce_subgroup.wgsl.
//
// Dispatched with the read's bindings and parameters (src/gpu/xbar/read.rs), declared in
// xbar_read_params.wgsl.

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
