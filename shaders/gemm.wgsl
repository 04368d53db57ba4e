// Batched tiled matrix multiply: C[p] = alpha op(A[p]) op(B[p]) + beta C[p], p = instance.
// op(A) is m x k, op(B) is k x n. TRANS_A: A is stored k x m; TRANS_B: B is stored n x k.
// Training uses three orientations: forward X W^T (TRANS_B), error D W (none), weight gradient
// D^T X (TRANS_A). A zero instance stride shares an operand across instances.

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

const TILE: u32 = 64u;   // output tile edge
const TK: u32 = 16u;     // k depth of a shared tile
const THREADS: u32 = 256u;

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> sa: array<f32, 1024>; // [kk][row]
var<workgroup> sb: array<f32, 1024>; // [kk][col]

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
    let p = wg.z;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;
    let base_a = prm.off_a + p * prm.stride_a;
    let base_b = prm.off_b + p * prm.stride_b;
    var acc: array<f32, 16>;
    for (var k0 = 0u; k0 < prm.k; k0 += TK) {
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * THREADS;
            // Consecutive threads walk the operand's contiguous dimension.
            var ar = e / TK;
            var ak = e % TK;
            if (TRANS_A) {
                ar = e % TILE;
                ak = e / TILE;
            }
            sa[ak * TILE + ar] = load_a(base_a, row0 + ar, k0 + ak);
            var bc = e % TILE;
            var bk = e / TILE;
            if (TRANS_B) {
                bc = e / TK;
                bk = e % TK;
            }
            sb[bk * TILE + bc] = load_b(base_b, k0 + bk, col0 + bc);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var r = 0u; r < 4u; r++) {
                av[r] = sa[kk * TILE + lid.y + 16u * r];
                bv[r] = sb[kk * TILE + lid.x + 16u * r];
            }
            for (var r = 0u; r < 4u; r++) {
                for (var q = 0u; q < 4u; q++) {
                    acc[r * 4u + q] = fma(av[r], bv[q], acc[r * 4u + q]);
                }
            }
        }
        workgroupBarrier();
    }
    let base_c = prm.off_c + p * prm.stride_c;
    for (var r = 0u; r < 4u; r++) {
        let row = row0 + lid.y + 16u * r;
        for (var q = 0u; q < 4u; q++) {
            let col = col0 + lid.x + 16u * q;
            if (row < prm.m && col < prm.n) {
                let idx = base_c + row * prm.ldc + col;
                var v = prm.alpha * acc[r * 4u + q];
                if (prm.beta != 0.0) {
                    v += prm.beta * c[idx];
                }
                c[idx] = v;
            }
        }
    }
}
