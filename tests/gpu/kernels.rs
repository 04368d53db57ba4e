//! Every GPU kernel against its CPU twin on random shapes, including awkward sizes.

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::*;
use insitu::cpu::CpuBackend;
use insitu::gpu::shaders;
use insitu::gpu::tiles::{GemmTile, ReadTile};
use insitu::gpu::GpuBackend;
use insitu::rng::{key, normal, philox4x32_10, Purpose};

/// Sizes around the GEMM tiles (16, 64, 128) and the shared-k slices (8, 16).
const SIZES: &[u32] = &[1, 15, 17, 63, 64, 65, 100, 129];

fn both() -> (insitu::gpu::GpuBackend, CpuBackend) {
    (gpu(), CpuBackend::new())
}

#[test]
fn philox_matches_rust_bit_for_bit() {
    let mut g = gpu();
    let n = 4096u32;
    let k = key(99, Purpose::ReadNoise, 3);
    let words = g.alloc_u32(4 * n as usize);
    let normals = g.alloc(n as usize);
    #[repr(C)]
    #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    struct P {
        key: [u32; 2],
        count: u32,
        ctr_hi: u32,
    }
    let p = P {
        key: k,
        count: n,
        ctr_hi: 7,
    };
    g.dispatch(
        &shaders::PHILOX_TEST,
        &[],
        &p,
        &[words, normals],
        [n / 64, 1, 1],
    );
    let w = g.read_u32(words);
    let z = g.read(normals);
    for i in 0..n {
        let r = philox4x32_10([i, 7, 0, 0], k);
        assert_eq!(&w[4 * i as usize..4 * i as usize + 4], &r, "counter {i}");
        let zc = normal(r[0], r[1]);
        assert!(
            (z[i as usize] - zc).abs() < 1e-4 * (1.0 + zc.abs()),
            "normal {i}"
        );
    }
    // The known-answer vector through the GPU path.
    let p0 = P {
        key: [0, 0],
        count: 1,
        ctr_hi: 0,
    };
    g.dispatch(
        &shaders::PHILOX_TEST,
        &[],
        &p0,
        &[words, normals],
        [1, 1, 1],
    );
    assert_eq!(
        &g.read_u32(words)[..4],
        &[0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
}

/// The native 64-bit Philox multiply (chosen where the adapter has SHADER_INT64) and the 32-bit
/// emulation give the same streams, equal to the Rust generator's.
#[test]
fn philox_native_and_emulated_streams_agree() {
    let mut g = gpu();
    let int64 = g.ctx.features.contains(wgpu::Features::SHADER_INT64);
    eprintln!("adapter SHADER_INT64: {int64}");
    let n = 8192u32;
    let words = g.alloc_u32(4 * n as usize);
    let normals = g.alloc(n as usize);
    #[repr(C)]
    #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
    struct P {
        key: [u32; 2],
        count: u32,
        ctr_hi: u32,
    }
    for (seed, ctr_hi) in [(1u64, 0u32), (77, 0xffff_ffff), (123_456_789, 31)] {
        let k = key(seed, Purpose::C2c, seed as u32);
        let p = P {
            key: k,
            count: n,
            ctr_hi,
        };
        let mut streams = Vec::new();
        for kernel in [&shaders::PHILOX_TEST, &shaders::PHILOX_TEST_MUL32] {
            g.dispatch(kernel, &[], &p, &[words, normals], [n / 64, 1, 1]);
            streams.push(g.read_u32(words));
        }
        assert_eq!(streams[0], streams[1], "seed {seed}: native vs emulated");
        for i in (0..n).step_by(7) {
            let r = philox4x32_10([i, ctr_hi, 0, 0], k);
            assert_eq!(&streams[0][4 * i as usize..][..4], &r, "counter {i}");
        }
    }
}

/// Bias gradients (column sums) of conv-like shapes: one column of many rows per instance,
/// and strided views with padding, against the sequential CPU sum.
#[test]
fn bias_grad_reduces_long_columns() {
    for &(rows, cols, p, ld) in &[
        (5000u32, 1u32, 7u32, 1u32),
        (300, 45, 2, 47),
        (3, 70, 1, 70),
    ] {
        let (mut g, mut c) = both();
        let stride = rows * ld + 3;
        let d = random((p * stride) as usize, 12, -1.0, 1.0);
        let ap = ActParams {
            rows,
            cols,
            count: p * cols,
            act: 0,
            ld0: cols,
            off0: 1,
            stride0: cols + 2,
            ld1: ld,
            off1: 0,
            stride1: stride,
            _pad: [0; 2],
        };
        let glen = (1 + p * (cols + 2)) as usize;
        let mut outs = Vec::new();
        for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
            let (bd, bg) = (be.alloc(d.len()), be.alloc(glen));
            be.write(bd, &d);
            be.write(bg, &vec![5.0; glen]);
            be.bias_grad(bg, bd, &ap);
            outs.push(be.read(bg));
        }
        let err = max_rel_err(&outs[0], &outs[1]);
        assert!(err < 1e-5, "{rows}x{cols}x{p}: {err}");
    }
}

/// The GEMM tiles checked: each pinned in turn, then the one each size picks.
fn gemm_tiles() -> Vec<Option<GemmTile>> {
    GemmTile::ALL.map(Some).into_iter().chain([None]).collect()
}

/// One GEMM on both backends from the same random operands; the GPU's tile pinned to `tile`.
#[allow(clippy::too_many_arguments)]
fn run_gemm(
    g: &mut GpuBackend,
    c: &mut CpuBackend,
    tile: Option<GemmTile>,
    (m, n, k): (u32, u32, u32),
    ta: bool,
    tb: bool,
    batch: u32,
    beta: f32,
) {
    g.force_gemm_tile = tile;
    let mut spec = Gemm::dense(m, n, k, ta, tb, batch);
    spec.params.alpha = 0.75;
    spec.params.beta = beta;
    let a = random((m * k * batch) as usize, 1, -1.0, 1.0);
    let b = random((k * n * batch) as usize, 2, -1.0, 1.0);
    let c0 = random((m * n * batch) as usize, 3, -1.0, 1.0);
    let mut outs = Vec::new();
    for be in [g as &mut dyn Backend, c as &mut dyn Backend] {
        let mark = be.mark();
        let (ba, bb, bc) = (be.alloc(a.len()), be.alloc(b.len()), be.alloc(c0.len()));
        be.write(ba, &a);
        be.write(bb, &b);
        be.write(bc, &c0);
        be.gemm(ba, bb, bc, &spec);
        outs.push(be.read(bc));
        be.release(mark);
    }
    let err = max_rel_err(&outs[0], &outs[1]);
    assert!(
        err < 1e-5,
        "gemm m{m} n{n} k{k} ta{ta} tb{tb} P{batch} tile {tile:?}: rel err {err}"
    );
}

/// The tile each problem size picks: small tiles for small batches and few outputs, the
/// 128-wide one for large problems; each tile's workgroups cover the product.
#[test]
fn tiles_follow_the_problem_size() {
    let pick = GemmTile::choose;
    assert_eq!(pick(8, 256, 1), GemmTile::Rows16);
    assert_eq!(pick(16, 784, 1), GemmTile::Rows16);
    assert_eq!(pick(10, 64, 1), GemmTile::Rows16);
    assert_eq!(pick(40, 512, 1), GemmTile::Rows16);
    assert_eq!(pick(64, 10, 1), GemmTile::Cols16);
    assert_eq!(pick(64, 256, 1), GemmTile::Square64);
    assert_eq!(pick(256, 784, 1), GemmTile::Square64);
    assert_eq!(pick(1024, 1024, 1), GemmTile::Square128);
    for t in GemmTile::ALL {
        assert_eq!(t.groups(t.rows() + 1, t.cols(), 3), [1, 2, 3], "{t:?}");
        // What shaders/gemm.wgsl assumes of a tile.
        let (tx, ty, bm, bn, bk) = t.shape();
        assert!([4, 8].contains(&bm) && [4, 8].contains(&bn), "{t:?}");
        assert_eq!((ty * bm * bk) % (tx * ty), 0, "{t:?}: staging of A");
        assert_eq!((tx * bn * bk) % (tx * ty), 0, "{t:?}: staging of B");
        assert!(tx * ty <= 256, "{t:?}");
    }
    assert_eq!(ReadTile::choose(3), ReadTile::Rows4);
    assert_eq!(ReadTile::choose(5), ReadTile::Rows8);
    assert_eq!(ReadTile::choose(16), ReadTile::Rows16);
    assert_eq!(ReadTile::choose(64), ReadTile::Rows16);
    for t in ReadTile::ALL {
        assert_eq!(t.block_rows() * 4, t.rows());
    }
}

#[test]
fn gemm_three_orientations_match_cpu() {
    let (mut g, mut c) = both();
    for tile in gemm_tiles() {
        for (ta, tb) in [(false, true), (false, false), (true, false)] {
            for &m in SIZES {
                for &n in &[1, 17, 63, 65, 129] {
                    for &k in &[1, 17, 64, 100] {
                        run_gemm(&mut g, &mut c, tile, (m, n, k), ta, tb, 1, 0.0);
                    }
                }
            }
            run_gemm(&mut g, &mut c, tile, (33, 70, 19), ta, tb, 3, 0.5);
        }
    }
}

#[test]
fn gemm_large_tiles_match_cpu() {
    // Shapes that pick the 8 x 8 register blocks (128-wide tiles), ragged at every edge, under
    // every tile.
    for &(m, n, _, p) in &[(520, 515, 33, 1), (129, 700, 17, 2), (1100, 300, 9, 1)] {
        assert_eq!(
            GemmTile::choose(m, n, p),
            GemmTile::Square128,
            "{m}x{n} P{p}"
        );
    }
    let (mut g, mut c) = both();
    for tile in gemm_tiles() {
        for (ta, tb) in [(false, true), (false, false), (true, false)] {
            for &(m, n, k, p) in &[(520, 515, 33, 1), (129, 700, 17, 2), (1100, 300, 9, 1)] {
                run_gemm(&mut g, &mut c, tile, (m, n, k), ta, tb, p, 0.0);
            }
            run_gemm(&mut g, &mut c, tile, (300, 260, 40), ta, tb, 2, 0.5);
        }
    }
}

#[test]
fn gemm_shared_operand_and_offsets() {
    // A shared across 2 instances (stride 0), operands at offsets with padded leading dims.
    let (mut g, mut c) = both();
    for tile in gemm_tiles() {
        g.force_gemm_tile = tile;
        let (m, n, k, p) = (5u32, 7u32, 9u32, 2u32);
        let mut spec = Gemm::dense(m, n, k, false, true, p);
        spec.params.stride_a = 0;
        spec.params.off_a = 3;
        spec.params.lda = k + 2;
        spec.params.off_c = 1;
        spec.params.ldc = n + 3;
        spec.params.stride_c = m * (n + 3);
        let a = random(3 + (m * (k + 2)) as usize, 4, -1.0, 1.0);
        let b = random((n * k * p) as usize, 5, -1.0, 1.0);
        let mut outs = Vec::new();
        for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
            let (ba, bb, bc) = (
                be.alloc(a.len()),
                be.alloc(b.len()),
                be.alloc(1 + (spec.params.stride_c * p) as usize),
            );
            be.write(ba, &a);
            be.write(bb, &b);
            be.gemm(ba, bb, bc, &spec);
            outs.push(be.read(bc));
        }
        assert!(max_rel_err(&outs[0], &outs[1]) < 1e-5, "tile {tile:?}");
    }
}

pub(crate) fn act_params(rows: u32, cols: u32, p: u32, act: u32) -> ActParams {
    ActParams {
        rows,
        cols,
        count: p * rows * cols,
        act,
        ld0: cols,
        off0: 0,
        stride0: rows * cols,
        ld1: cols,
        off1: 0,
        stride1: rows * cols,
        _pad: [0; 2],
    }
}

#[test]
fn activations_match_cpu() {
    for act in 0..4u32 {
        for &(rows, cols, p) in &[(1u32, 1u32, 1u32), (7, 300, 2), (64, 10, 1), (33, 257, 3)] {
            let (mut g, mut c) = both();
            let x = random((p * rows * cols) as usize, 6, -3.0, 3.0);
            let bias = random((p * cols) as usize, 7, -1.0, 1.0);
            let d = random(x.len(), 8, -1.0, 1.0);
            let mut outs = Vec::new();
            for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
                let (bx, bb, bd, bg) = (
                    be.alloc(x.len()),
                    be.alloc(bias.len()),
                    be.alloc(d.len()),
                    be.alloc(bias.len()),
                );
                be.write(bx, &x);
                be.write(bb, &bias);
                be.write(bd, &d);
                let mut ap = act_params(rows, cols, p, act);
                ap.stride1 = cols; // bias rows
                be.bias_act(bx, bb, &ap);
                ap.stride1 = rows * cols;
                be.act_backward(bd, bx, &ap);
                ap.count = p * cols;
                ap.stride0 = cols;
                be.bias_grad(bg, bd, &ap);
                outs.push((be.read(bx), be.read(bd), be.read(bg)));
            }
            let tol = 1e-5;
            assert!(
                max_rel_err(&outs[0].0, &outs[1].0) < tol,
                "act {act} forward"
            );
            assert!(
                max_rel_err(&outs[0].1, &outs[1].1) < tol,
                "act {act} backward"
            );
            assert!(
                max_rel_err(&outs[0].2, &outs[1].2) < 1e-4,
                "act {act} bias grad"
            );
        }
    }
}

#[test]
fn losses_and_metrics_match_cpu() {
    for kind in [LossKind::CrossEntropy, LossKind::Mse] {
        for &(rows, classes, p) in &[(1u32, 2u32, 1u32), (37, 10, 2), (64, 17, 1)] {
            let (mut g, mut c) = both();
            let y = random((p * rows * classes) as usize, 9, -4.0, 4.0);
            let labels: Vec<u32> = random(rows as usize, 10, 0.0, classes as f32)
                .iter()
                .map(|v| (*v as u32).min(classes - 1))
                .collect();
            let lp = LossParams {
                rows,
                classes,
                count: p * rows,
                kind: kind as u32,
                off_y: 0,
                stride_y: rows * classes,
                _pad0: [0; 2],
                scale: 1.0 / rows as f32,
                _pad1: [0.0; 3],
            };
            let mut outs = Vec::new();
            for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
                let (by, bl, bd, bs, ba) = (
                    be.alloc(y.len()),
                    be.alloc_u32(labels.len()),
                    be.alloc(y.len()),
                    be.alloc(2 * (p * rows) as usize),
                    be.alloc(4 * p as usize),
                );
                be.write(by, &y);
                be.write_u32(bl, &labels);
                be.loss(by, bl, bd, bs, &lp);
                let acc = AccumulateParams {
                    rows,
                    count: p,
                    _pad: [0; 2],
                };
                be.accumulate(bs, ba, &acc);
                be.accumulate(bs, ba, &acc);
                outs.push((be.read(bd), be.read(bs), be.read(ba)));
            }
            assert!(max_rel_err(&outs[0].0, &outs[1].0) < 1e-5, "{kind:?} grad");
            assert!(max_rel_err(&outs[0].1, &outs[1].1) < 1e-5, "{kind:?} stats");
            assert!(max_rel_err(&outs[0].2, &outs[1].2) < 1e-5, "{kind:?} acc");
            // Correct counts are integers and agree exactly.
            for i in 0..p as usize {
                assert_eq!(outs[0].2[4 * i + 1], outs[1].2[4 * i + 1]);
            }
        }
    }
}

#[test]
fn sgd_gather_fill_match_cpu() {
    for &(n, p) in &[(1u32, 1u32), (255, 3), (1000, 2)] {
        let (mut g, mut c) = both();
        let w = random((n * p) as usize, 11, -1.0, 1.0);
        let v = random(w.len(), 12, -0.1, 0.1);
        let gr = random(w.len(), 13, -1.0, 1.0);
        let lr = random(p as usize, 14, 0.01, 0.2);
        let sp = SgdParams {
            n,
            count: n * p,
            off: 0,
            nesterov: 0,
            momentum: 0.9,
            weight_decay: 1e-4,
            _pad1: [0.0; 2],
        };
        let mut outs = Vec::new();
        for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
            let (bw, bv, bg, bl) = (
                be.alloc(w.len()),
                be.alloc(v.len()),
                be.alloc(gr.len()),
                be.alloc(lr.len()),
            );
            be.write(bw, &w);
            be.write(bv, &v);
            be.write(bg, &gr);
            be.write(bl, &lr);
            be.sgd(bw, bv, bg, bl, &sp);
            be.fill(
                bg,
                &FillParams {
                    off: 1.min(n * p - 1),
                    count: n * p - 1.min(n * p - 1),
                    value: 2.5,
                    _pad: 0,
                },
            );
            outs.push((be.read(bw), be.read(bv), be.read(bg)));
        }
        assert!(max_rel_err(&outs[0].0, &outs[1].0) < 1e-6);
        assert!(max_rel_err(&outs[0].1, &outs[1].1) < 1e-6);
        assert_eq!(outs[0].2, outs[1].2);
    }
    // Gather: 50 samples of 13 features, a batch of 7 from position 20 of a permutation.
    let (mut g, mut c) = both();
    let images = random(50 * 13, 15, 0.0, 1.0);
    let labels: Vec<u32> = (0..50).map(|i| i % 10).collect();
    let perm: Vec<u32> = (0..50).map(|i| (i * 17) % 50).collect();
    let gp = GatherParams {
        rows: 7,
        features: 13,
        start: 20,
        count: 7 * 13,
    };
    let mut outs = Vec::new();
    for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
        let (bi, bp, bl, bx, by) = (
            be.alloc(images.len()),
            be.alloc_u32(50),
            be.alloc_u32(50),
            be.alloc(7 * 13),
            be.alloc_u32(7),
        );
        be.write(bi, &images);
        be.write_u32(bp, &perm);
        be.write_u32(bl, &labels);
        be.gather(bi, bp, bl, bx, by, &gp);
        outs.push((be.read(bx), be.read_u32(by)));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[1].1[0], labels[perm[20] as usize]);
}
