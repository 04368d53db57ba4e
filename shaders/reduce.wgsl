// Workgroup-wide sums and maxima over the 256 invocations of a reducing kernel, a tree in
// workgroup memory. The kernels take their invocation ids as a `Lane` so that the subgroup
// variant (reduce_subgroup.wgsl, same functions) can add the subgroup ids it needs. Every
// invocation must call these in uniform control flow.

struct Lane {
    @builtin(local_invocation_index) lid: u32,
}

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

// Sum of `v` over the workgroup, in a fixed order.
fn wg_sum(v: f32, lane: Lane) -> f32 {
    red[lane.lid] = v;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lane.lid < s) {
            red[lane.lid] += red[lane.lid + s];
        }
    }
    workgroupBarrier();
    let total = red[0];
    workgroupBarrier();
    return total;
}

// Maximum of `v` over the workgroup.
fn wg_max(v: f32, lane: Lane) -> f32 {
    red[lane.lid] = v;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lane.lid < s) {
            red[lane.lid] = max(red[lane.lid], red[lane.lid + s]);
        }
    }
    workgroupBarrier();
    let top = red[0];
    workgroupBarrier();
    return top;
}
