// reduce.wgsl with subgroup operations, for adapters with SUBGROUP: each subgroup reduces its
// values in registers (subgroupAdd, subgroupMax), its first invocation stores the result, and
// every invocation combines the num_subgroups results in subgroup order: one barrier pair
// instead of log2(256) tree levels. The order of the additions within a subgroup is the
// device's, so sums may differ from the tree's in the last bits. (wgpu takes subgroup operations
// without an `enable` directive, on devices opened with SUBGROUP.)

struct Lane {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_id) sg: u32,
    @builtin(num_subgroups) n_sg: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
}

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

fn wg_sum(v: f32, lane: Lane) -> f32 {
    let s = subgroupAdd(v);
    if (lane.sg_lane == 0u) {
        red[lane.sg] = s;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < lane.n_sg; i++) {
        total += red[i];
    }
    workgroupBarrier();
    return total;
}

fn wg_max(v: f32, lane: Lane) -> f32 {
    let s = subgroupMax(v);
    if (lane.sg_lane == 0u) {
        red[lane.sg] = s;
    }
    workgroupBarrier();
    var top = red[0];
    for (var i = 1u; i < lane.n_sg; i++) {
        top = max(top, red[i]);
    }
    workgroupBarrier();
    return top;
}
