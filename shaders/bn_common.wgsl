// Shared by the batch-normalisation kernels: their parameters and a workgroup tree sum.

struct Params {
    c: u32, n: u32, count: u32, _pad0: u32,
    eps: f32, momentum: f32, _pad1: f32, _pad2: f32,
}

const WG: u32 = 256u;
var<workgroup> part: array<f32, 256>;

// Sum of `part` over the workgroup (every invocation must call it).
fn reduce(lid: u32) -> f32 {
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        workgroupBarrier();
        if (lid < s) {
            part[lid] += part[lid + s];
        }
    }
    workgroupBarrier();
    let total = part[0];
    workgroupBarrier();
    return total;
}
