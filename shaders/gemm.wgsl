// Batched tiled matrix multiply: C[p] = alpha op(A[p]) op(B[p]) + beta C[p], p = instance.
// op(A) is m x k, op(B) is k x n. TRANS_A: A is stored k x m; TRANS_B: B is stored n x k.
// Training uses three orientations: forward X W^T (TRANS_B), error D W (none), weight gradient
// D^T X (TRANS_A). A zero instance stride shares an operand across instances.
//
// A workgroup of TX x TY threads computes a TM x TN block of C (TM = TY BM, TN = TX BN); each
// thread owns a contiguous BM x BN block of it in registers. The host picks the tile from the
// problem's size (`gpu::tiles`): 16 x 64 or 64 x 16 where one side is a small batch or a few
// outputs, 64 x 64, or 128 x 128 (8 x 8 blocks: more reuse per shared-memory read, fewer
// workgroups) for large problems. The k dimension is walked in slices of BK, staged in shared
// memory as [kk][row] and [kk][col] with rows padded by 4 floats, so the staging stores of
// either orientation spread over the banks and each thread reads its block as vec4s.

struct Params {
    m: u32, n: u32, k: u32,
    lda: u32, ldb: u32, ldc: u32,
    off_a: u32, off_b: u32, off_c: u32,
    stride_a: u32, stride_b: u32, stride_c: u32,
    alpha: f32, beta: f32,
    _pad0: u32, _pad1: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Threads along the columns (TX) and rows (TY) of the tile.
override TX: u32 = 16u;
override TY: u32 = 16u;
// Register block of a thread: BM rows x BN columns, each 4 or 8.
override BM: u32 = 4u;
override BN: u32 = 4u;
// k slice staged per step. TY BM BK and TX BN BK are multiples of TX TY (gpu::tiles), so every
// thread stages the same number of values: no divergent staging loops.
override BK: u32 = 16u;

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// BK x (TM + 4) and BK x (TN + 4) floats.
var<workgroup> sa: array<vec4<f32>, BK * (TY * BM + 4u) / 4u>;
var<workgroup> sb: array<vec4<f32>, BK * (TX * BN + 4u) / 4u>;

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
    if (row >= prm.m || kk >= prm.k) {
        return 0.0;
    }
    if (TRANS_A) {
        return a[base + kk * prm.lda + row];
    }
    return a[base + row * prm.lda + kk];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
    if (col >= prm.n || kk >= prm.k) {
        return 0.0;
    }
    if (TRANS_B) {
        return b[base + col * prm.ldb + kk];
    }
    return b[base + kk * prm.ldb + col];
}

@compute @workgroup_size(TX, TY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tm = TY * BM;
    let tn = TX * BN;
    let threads = TX * TY;
    // Padded shared rows, multiples of 4.
    let stride_a = tm + 4u;
    let stride_b = tn + 4u;
    let p = wg.z;
    let row0 = wg.y * tm;
    let col0 = wg.x * tn;
    let tid = lid.y * TX + lid.x;
    let base_a = prm.off_a + p * prm.stride_a;
    let base_b = prm.off_b + p * prm.stride_b;
    var acc: array<f32, 64>;
    for (var i = 0u; i < BM * BN; i++) {
        acc[i] = 0.0;
    }
    for (var k0 = 0u; k0 < prm.k; k0 += BK) {
        // Consecutive threads walk each operand's contiguous dimension.
        for (var i = 0u; i < tm * BK / threads; i++) {
            let e = tid + i * threads;
            var ar = e / BK;
            var ak = e % BK;
            if (TRANS_A) {
                ar = e % tm;
                ak = e / tm;
            }
            let ia = ak * stride_a + ar;
            sa[ia >> 2u][ia & 3u] = load_a(base_a, row0 + ar, k0 + ak);
        }
        for (var i = 0u; i < tn * BK / threads; i++) {
            let e = tid + i * threads;
            var bc = e % tn;
            var bkk = e / tn;
            if (TRANS_B) {
                bc = e / BK;
                bkk = e % BK;
            }
            let ib = bkk * stride_b + bc;
            sb[ib >> 2u][ib & 3u] = load_b(base_b, k0 + bkk, col0 + bc);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let ra = (kk * stride_a + lid.y * BM) >> 2u;
            let rb = (kk * stride_b + lid.x * BN) >> 2u;
            var av: array<vec4<f32>, 2>;
            var bv: array<vec4<f32>, 2>;
            for (var h = 0u; h < BM / 4u; h++) {
                av[h] = sa[ra + h];
            }
            for (var h = 0u; h < BN / 4u; h++) {
                bv[h] = sb[rb + h];
            }
            for (var r = 0u; r < BM; r++) {
                let x = av[r >> 2u][r & 3u];
                for (var q = 0u; q < BN; q++) {
                    acc[r * BN + q] = fma(x, bv[q >> 2u][q & 3u], acc[r * BN + q]);
                }
            }
        }
        workgroupBarrier();
    }
    let base_c = prm.off_c + p * prm.stride_c;
    for (var r = 0u; r < BM; r++) {
        let row = row0 + lid.y * BM + r;
        if (row >= prm.m) {
            break;
        }
        for (var q = 0u; q < BN; q++) {
            let col = col0 + lid.x * BN + q;
            if (col < prm.n) {
                let idx = base_c + row * prm.ldc + col;
                var v = prm.alpha * acc[r * BN + q];
                if (prm.beta != 0.0) {
                    v += prm.beta * c[idx];
                }
                c[idx] = v;
            }
        }
    }
}
