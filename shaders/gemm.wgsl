// Batched tiled matrix multiply: C[p] = alpha op(A[p]) op(B[p]) + beta C[p], p = instance.
// op(A) is m x k, op(B) is k x n. TRANS_A: A is stored k x m; TRANS_B: B is stored n x k.
// Training uses three orientations: forward X W^T (TRANS_B), error D W (none), weight gradient
// D^T X (TRANS_A). A zero instance stride shares an operand across instances.
//
// A workgroup of 16 x 16 threads computes a TILE x TILE block of C, TILE = 16 BLOCK; each
// thread owns a contiguous BLOCK x BLOCK block of it in registers (BLOCK = 4 for small
// problems, 8 for large ones: more reuse per shared-memory read, fewer workgroups). The k
// dimension is walked in slices of BK = 1024 / TILE, staged in shared memory as [kk][row] and
// [kk][col] with rows padded by 4 floats, so the staging stores of either orientation spread
// over the banks and each thread reads its BLOCK values as vec4s.

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
// Register block edge: 4 (64 x 64 tiles) or 8 (128 x 128 tiles).
override BLOCK: u32 = 4u;

const THREADS: u32 = 256u;
// Staged elements per operand and slice: TILE * BK = 1024 (4 per thread).
const STAGED: u32 = 1024u;

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// BK x (TILE + 4) floats: 16 x 68 = 1088 at BLOCK 4, 8 x 132 = 1056 at BLOCK 8.
var<workgroup> sa: array<vec4<f32>, 272>;
var<workgroup> sb: array<vec4<f32>, 272>;

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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tile = 16u * BLOCK;
    let bk = STAGED / tile;
    let stride = tile + 4u; // padded shared row, a multiple of 4
    let p = wg.z;
    let row0 = wg.y * tile;
    let col0 = wg.x * tile;
    let tid = lid.y * 16u + lid.x;
    let base_a = prm.off_a + p * prm.stride_a;
    let base_b = prm.off_b + p * prm.stride_b;
    var acc: array<f32, 64>;
    for (var i = 0u; i < BLOCK * BLOCK; i++) {
        acc[i] = 0.0;
    }
    for (var k0 = 0u; k0 < prm.k; k0 += bk) {
        for (var i = 0u; i < STAGED / THREADS; i++) {
            let e = tid + i * THREADS;
            // Consecutive threads walk each operand's contiguous dimension.
            var ar = e / bk;
            var ak = e % bk;
            if (TRANS_A) {
                ar = e % tile;
                ak = e / tile;
            }
            let ia = ak * stride + ar;
            sa[ia >> 2u][ia & 3u] = load_a(base_a, row0 + ar, k0 + ak);
            var bc = e % tile;
            var bkk = e / tile;
            if (TRANS_B) {
                bc = e / bk;
                bkk = e % bk;
            }
            let ib = bkk * stride + bc;
            sb[ib >> 2u][ib & 3u] = load_b(base_b, k0 + bkk, col0 + bc);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < bk; kk++) {
            let ra = (kk * stride + lid.y * BLOCK) >> 2u;
            let rb = (kk * stride + lid.x * BLOCK) >> 2u;
            var av: array<vec4<f32>, 2>;
            var bv: array<vec4<f32>, 2>;
            for (var h = 0u; h < BLOCK / 4u; h++) {
                av[h] = sa[ra + h];
                bv[h] = sb[rb + h];
            }
            for (var r = 0u; r < BLOCK; r++) {
                let x = av[r >> 2u][r & 3u];
                for (var q = 0u; q < BLOCK; q++) {
                    acc[r * BLOCK + q] = fma(x, bv[q >> 2u][q & 3u], acc[r * BLOCK + q]);
                }
            }
        }
        workgroupBarrier();
    }
    let base_c = prm.off_c + p * prm.stride_c;
    for (var r = 0u; r < BLOCK; r++) {
        let row = row0 + lid.y * BLOCK + r;
        if (row >= prm.m) {
            break;
        }
        for (var q = 0u; q < BLOCK; q++) {
            let col = col0 + lid.x * BLOCK + q;
            if (col < prm.n) {
                let idx = base_c + row * prm.ldc + col;
                var v = prm.alpha * acc[r * BLOCK + q];
                if (prm.beta != 0.0) {
                    v += prm.beta * c[idx];
                }
                c[idx] = v;
            }
        }
    }
}
