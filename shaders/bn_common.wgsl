// Shared by the batch-normalisation kernels: their parameters. The training kernels reduce with
// `wg_sum` (reduce.wgsl, or reduce_subgroup.wgsl where the adapter has subgroups).

struct Params {
    c: u32, n: u32, count: u32, _pad0: u32,
    eps: f32, momentum: f32, _pad1: f32, _pad2: f32,
}
