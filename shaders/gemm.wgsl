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
// memory as [kk][row] and [kk][col] with rows padded by 4 values, so the staging stores of
// either orientation spread over the banks and each thread reads its block as vec4s.
//
// Double buffering (SLICES = 2): each thread fetches its share of slice s + 1 from global
// memory into registers before multiplying slice s, and stores it into the other shared slice
// afterwards, so the loads are in flight during the multiply and one barrier per slice
// suffices. With SLICES = 1 (two slices do not fit the device's workgroup memory) the slice is
// staged between two barriers. VEC4: operands are read as vec4s along their contiguous
// dimension (the host sets it when leading dimensions, offsets and strides are multiples of 4).
// Neither changes what is summed in which order: each output is the same fma chain over k.
//
// `Staged` (joined in front by `gpu::shaders`) is the type of the shared slices: f32, or f16
// in the opt-in half-precision variant (products and sums stay f32).

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
// k slice staged per step. TY BM BK and TX BN BK are multiples of 4 TX TY, at most 16 TX TY
// (gpu::tiles), so every thread stages the same number of whole vec4s, at most 16 values.
override BK: u32 = 16u;
// Shared slices per operand: 2 (double-buffered) or 1.
override SLICES: u32 = 2u;
// Global loads as vec4s along each operand's contiguous dimension.
override VEC4: bool = false;

@group(0) @binding(0) var<uniform> prm: Params;
// Buffers are allocated in whole vec4s (`GpuBackend`), so every element's vec4 is in bounds.
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// SLICES x BK x (TM + 4) and SLICES x BK x (TN + 4) values.
var<workgroup> sa: array<vec4<Staged>, SLICES * BK * (TY * BM + 4u) / 4u>;
var<workgroup> sb: array<vec4<Staged>, SLICES * BK * (TX * BN + 4u) / 4u>;

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
    if (row >= prm.m || kk >= prm.k) {
        return 0.0;
    }
    var i = base + row * prm.lda + kk;
    if (TRANS_A) {
        i = base + kk * prm.lda + row;
    }
    return a[i >> 2u][i & 3u];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
    if (col >= prm.n || kk >= prm.k) {
        return 0.0;
    }
    var i = base + kk * prm.ldb + col;
    if (TRANS_B) {
        i = base + col * prm.ldb + kk;
    }
    return b[i >> 2u][i & 3u];
}

// Four elements of A from (row, kk) along its contiguous dimension (rows if TRANS_A, else k);
// one vec4 load where all four are inside the matrix (the address is then 4-aligned).
fn load_a4(base: u32, row: u32, kk: u32) -> vec4<f32> {
    if (TRANS_A) {
        if (kk < prm.k && row + 3u < prm.m) {
            return a[(base + kk * prm.lda + row) >> 2u];
        }
        return vec4(load_a(base, row, kk), load_a(base, row + 1u, kk),
                    load_a(base, row + 2u, kk), load_a(base, row + 3u, kk));
    }
    if (row < prm.m && kk + 3u < prm.k) {
        return a[(base + row * prm.lda + kk) >> 2u];
    }
    return vec4(load_a(base, row, kk), load_a(base, row, kk + 1u),
                load_a(base, row, kk + 2u), load_a(base, row, kk + 3u));
}

// Four elements of B from (kk, col) along its contiguous dimension (k if TRANS_B, else cols).
fn load_b4(base: u32, kk: u32, col: u32) -> vec4<f32> {
    if (TRANS_B) {
        if (col < prm.n && kk + 3u < prm.k) {
            return b[(base + col * prm.ldb + kk) >> 2u];
        }
        return vec4(load_b(base, kk, col), load_b(base, kk + 1u, col),
                    load_b(base, kk + 2u, col), load_b(base, kk + 3u, col));
    }
    if (kk < prm.k && col + 3u < prm.n) {
        return b[(base + kk * prm.ldb + col) >> 2u];
    }
    return vec4(load_b(base, kk, col), load_b(base, kk, col + 1u),
                load_b(base, kk, col + 2u), load_b(base, kk, col + 3u));
}

fn width() -> u32 {
    return select(1u, 4u, VEC4);
}

// The (row or col, kk) of a thread's staging unit `e` (1 or 4 elements along the operand's
// contiguous dimension); consecutive threads take consecutive units of the contiguous
// dimension, so their loads coalesce. `along_k`: the operand is contiguous along k.
fn unit(e: u32, len: u32, along_k: bool) -> vec2<u32> {
    let w = width();
    if (along_k) {
        return vec2((e / (BK / w)), (e % (BK / w)) * w);
    }
    return vec2((e % (len / w)) * w, e / (len / w));
}

// This thread's share of A's slice from k0, in registers.
fn fetch_a(base: u32, row0: u32, k0: u32, tid: u32) -> array<f32, 16> {
    let tm = TY * BM;
    let w = width();
    var r: array<f32, 16>;
    for (var i = 0u; i < tm * BK / w / (TX * TY); i++) {
        let u = unit(tid + i * TX * TY, tm, !TRANS_A);
        if (VEC4) {
            let v = load_a4(base, row0 + u.x, k0 + u.y);
            for (var j = 0u; j < 4u; j++) {
                r[i * 4u + j] = v[j];
            }
        } else {
            r[i] = load_a(base, row0 + u.x, k0 + u.y);
        }
    }
    return r;
}

// This thread's share of B's slice from k0, in registers.
fn fetch_b(base: u32, col0: u32, k0: u32, tid: u32) -> array<f32, 16> {
    let tn = TX * BN;
    let w = width();
    var r: array<f32, 16>;
    for (var i = 0u; i < tn * BK / w / (TX * TY); i++) {
        let u = unit(tid + i * TX * TY, tn, TRANS_B);
        if (VEC4) {
            let v = load_b4(base, k0 + u.y, col0 + u.x);
            for (var j = 0u; j < 4u; j++) {
                r[i * 4u + j] = v[j];
            }
        } else {
            r[i] = load_b(base, k0 + u.y, col0 + u.x);
        }
    }
    return r;
}

// Stores fetched registers into shared slice `s` of A, laid out [kk][row].
fn put_a(s: u32, r: array<f32, 16>, tid: u32) {
    let tm = TY * BM;
    let stride = tm + 4u;
    let w = width();
    // Next element of a unit: the next row (TRANS_A) or the next kk.
    let step = select(stride, 1u, TRANS_A);
    for (var i = 0u; i < tm * BK / w / (TX * TY); i++) {
        let u = unit(tid + i * TX * TY, tm, !TRANS_A);
        let at = (s * BK + u.y) * stride + u.x;
        for (var j = 0u; j < w; j++) {
            let ia = at + j * step;
            sa[ia >> 2u][ia & 3u] = Staged(r[i * w + j]);
        }
    }
}

// Stores fetched registers into shared slice `s` of B, laid out [kk][col].
fn put_b(s: u32, r: array<f32, 16>, tid: u32) {
    let tn = TX * BN;
    let stride = tn + 4u;
    let w = width();
    let step = select(1u, stride, TRANS_B);
    for (var i = 0u; i < tn * BK / w / (TX * TY); i++) {
        let u = unit(tid + i * TX * TY, tn, TRANS_B);
        let at = (s * BK + u.y) * stride + u.x;
        for (var j = 0u; j < w; j++) {
            let ib = at + j * step;
            sb[ib >> 2u][ib & 3u] = Staged(r[i * w + j]);
        }
    }
}

@compute @workgroup_size(TX, TY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tm = TY * BM;
    let tn = TX * BN;
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
    let slices = (prm.k + BK - 1u) / BK;
    var ra = fetch_a(base_a, row0, 0u, tid);
    var rb = fetch_b(base_b, col0, 0u, tid);
    put_a(0u, ra, tid);
    put_b(0u, rb, tid);
    workgroupBarrier();
    for (var s = 0u; s < slices; s++) {
        let cur = s % SLICES;
        let more = s + 1u < slices;
        if (SLICES == 2u && more) {
            ra = fetch_a(base_a, row0, (s + 1u) * BK, tid);
            rb = fetch_b(base_b, col0, (s + 1u) * BK, tid);
        }
        for (var kk = 0u; kk < BK; kk++) {
            let ia = ((cur * BK + kk) * stride_a + lid.y * BM) >> 2u;
            let ib = ((cur * BK + kk) * stride_b + lid.x * BN) >> 2u;
            var av: array<vec4<f32>, 2>;
            var bv: array<vec4<f32>, 2>;
            for (var h = 0u; h < BM / 4u; h++) {
                av[h] = vec4<f32>(sa[ia + h]);
            }
            for (var h = 0u; h < BN / 4u; h++) {
                bv[h] = vec4<f32>(sb[ib + h]);
            }
            for (var r = 0u; r < BM; r++) {
                let x = av[r >> 2u][r & 3u];
                for (var q = 0u; q < BN; q++) {
                    acc[r * BN + q] = fma(x, bv[q >> 2u][q & 3u], acc[r * BN + q]);
                }
            }
        }
        if (SLICES == 2u) {
            // The other slice was last read before the previous barrier.
            if (more) {
                put_a(1u - cur, ra, tid);
                put_b(1u - cur, rb, tid);
            }
            workgroupBarrier();
        } else {
            workgroupBarrier();
            if (more) {
                ra = fetch_a(base_a, row0, (s + 1u) * BK, tid);
                rb = fetch_b(base_b, col0, (s + 1u) * BK, tid);
                put_a(0u, ra, tid);
                put_b(0u, rb, tid);
                workgroupBarrier();
            }
        }
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
