//! The GEMM's staging variants: double-buffered or single shared slices and vec4 or scalar
//! global loads give bit-identical results (the same fma chain per output) that match the CPU
//! twin; the opt-in f16 staging stays within its rounding bound, and is refused where the
//! adapter lacks SHADER_F16.

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::*;
use insitu::cpu::CpuBackend;
use insitu::gpu::gemm_variants::{vec4_aligned, GemmPrecision};
use insitu::gpu::tiles::GemmTile;
use insitu::gpu::{AdapterChoice, GpuBackend, GpuContext};

/// A GEMM whose leading dimensions are rounded up to multiples of 4 (`pad`) or left natural,
/// with operands at `off` and natural instance strides.
fn spec(
    (m, n, k): (u32, u32, u32),
    (ta, tb): (bool, bool),
    batch: u32,
    pad: bool,
    off: u32,
) -> Gemm {
    let round = |v: u32| if pad { v.next_multiple_of(4) } else { v };
    let mut g = Gemm::dense(m, n, k, ta, tb, batch);
    let p = &mut g.params;
    p.lda = round(p.lda);
    p.ldb = round(p.ldb);
    p.ldc = n + 1;
    p.off_a = off;
    p.off_b = off;
    p.off_c = 1;
    p.stride_a = if ta { k } else { m } * p.lda;
    p.stride_b = if tb { n } else { k } * p.ldb;
    p.stride_c = m * p.ldc;
    p.alpha = 0.75;
    p.beta = 0.5;
    g
}

/// Operands A, B and the initial C of `g`, drawn from `seed`, scaled by `scale`.
fn operands(g: &Gemm, seed: u32, scale: f32) -> [Vec<f32>; 3] {
    let p = &g.params;
    let len = |off: u32, stride: u32| (off + stride * g.batch) as usize;
    [
        random(len(p.off_a, p.stride_a), seed, -scale, scale),
        random(len(p.off_b, p.stride_b), seed + 1, -scale, scale),
        random(len(p.off_c, p.stride_c), seed + 2, -1.0, 1.0),
    ]
}

fn run(be: &mut dyn Backend, g: &Gemm, [a, b, c]: &[Vec<f32>; 3]) -> Vec<f32> {
    let mark = be.mark();
    let (ba, bb, bc) = (be.alloc(a.len()), be.alloc(b.len()), be.alloc(c.len()));
    be.write(ba, a);
    be.write(bb, b);
    be.write(bc, c);
    be.gemm(ba, bb, bc, g);
    let out = be.read(bc);
    be.release(mark);
    out
}

/// Shapes around the tiles and k slices, each with natural and padded leading dimensions.
fn shapes() -> Vec<(u32, u32, u32, u32)> {
    vec![
        (1, 1, 1, 1),
        (5, 7, 9, 2),
        (17, 63, 19, 1),
        (36, 68, 20, 2),
        (64, 64, 64, 1),
        (65, 129, 33, 1),
        (130, 150, 47, 1),
    ]
}

const ORIENTATIONS: [(bool, bool); 3] = [(false, true), (false, false), (true, false)];

#[test]
fn staging_variants_are_bit_identical_and_match_cpu() {
    let mut g = gpu();
    let mut cpu = CpuBackend::new();
    let mut vec4_runs = 0;
    for tile in GemmTile::ALL {
        g.force_gemm_tile = Some(tile);
        for (ta, tb) in ORIENTATIONS {
            for (m, n, k, p) in shapes() {
                for (pad, off) in [(false, 0), (true, 0), (true, 4), (true, 3)] {
                    let s = spec((m, n, k), (ta, tb), p, pad, off);
                    let ops = operands(&s, m + n + k, 1.0);
                    let want = run(&mut cpu, &s, &ops);
                    let mut first: Option<Vec<f32>> = None;
                    for slices in [1, 2] {
                        for scalar in [false, true] {
                            g.force_gemm_slices = Some(slices);
                            g.force_scalar_gemm_loads = scalar;
                            vec4_runs += (!scalar && vec4_aligned(&s.params)) as usize;
                            let got = run(&mut g, &s, &ops);
                            let what = format!(
                                "{tile:?} m{m} n{n} k{k} P{p} ta{ta} tb{tb} pad{pad} off{off} \
                                 slices{slices} scalar{scalar}"
                            );
                            let err = max_rel_err(&got, &want);
                            assert!(err < 1e-5, "{what}: rel err {err} against the CPU");
                            match &first {
                                None => first = Some(got),
                                Some(f) => assert!(
                                    f.iter().zip(&got).all(|(x, y)| x.to_bits() == y.to_bits()),
                                    "{what}: differs bitwise from single-slice vec4 staging"
                                ),
                            }
                        }
                    }
                }
            }
        }
    }
    g.force_gemm_slices = None;
    g.force_scalar_gemm_loads = false;
    assert!(vec4_runs > 0, "no case took the vec4 loads");
}

#[test]
fn vec4_loads_need_aligned_rows() {
    let mut s = Gemm::dense(8, 8, 8, false, true, 2);
    assert!(vec4_aligned(&s.params));
    s.params.off_a = 2;
    assert!(!vec4_aligned(&s.params));
    let s = Gemm::dense(8, 8, 6, false, true, 1);
    assert!(!vec4_aligned(&s.params), "lda 6");
}

#[test]
fn double_buffering_where_two_slices_fit() {
    use insitu::gpu::gemm_variants::slices;
    // 64 x 64, k slices of 16: (68 + 68) x 16 values per slice.
    let one = 136 * 16;
    assert_eq!(slices(GemmTile::Square64, 4, 2 * one * 4), 2);
    assert_eq!(slices(GemmTile::Square64, 4, 2 * one * 4 - 1), 1);
    assert_eq!(slices(GemmTile::Square64, 2, 2 * one * 2), 2);
    // Every tile double-buffers within WebGPU's default 16 KiB once staged in f16.
    for t in GemmTile::ALL {
        assert_eq!(slices(t, 2, 16384), 2, "{t:?}");
    }
}

/// |f16(x) - x| <= 2^-10 |x| + 2^-14: one ulp of a normal f16 (WGSL may round either way),
/// or a subnormal flushed to zero.
fn f16_err(x: f64) -> f64 {
    x.abs() * 2f64.powi(-10) + 2f64.powi(-14)
}

/// Per output, the bound on |f16-staged GEMM - f32 CPU GEMM|: the operands' rounding to f16
/// (exact f32 products of f16 values), plus both sides' f32 summation (k 2^-24 each of the sum
/// of |products|) and the rounding of alpha x and beta c.
fn f16_bound(g: &Gemm, [a, b, c]: &[Vec<f32>; 3]) -> Vec<f64> {
    let p = &g.params;
    let mut out = vec![0.0; c.len()];
    for inst in 0..g.batch {
        let (ba, bb) = (p.off_a + inst * p.stride_a, p.off_b + inst * p.stride_b);
        for i in 0..p.m {
            for j in 0..p.n {
                let (mut round, mut mag) = (0.0, 0.0);
                for l in 0..p.k {
                    let ia = if g.trans_a {
                        l * p.lda + i
                    } else {
                        i * p.lda + l
                    };
                    let ib = if g.trans_b {
                        j * p.ldb + l
                    } else {
                        l * p.ldb + j
                    };
                    let (x, y) = (a[(ba + ia) as usize] as f64, b[(bb + ib) as usize] as f64);
                    let (ex, ey) = (f16_err(x), f16_err(y));
                    round += ex * y.abs() + x.abs() * ey + ex * ey;
                    mag += (x.abs() + ex) * (y.abs() + ey);
                }
                let ic = (p.off_c + inst * p.stride_c + i * p.ldc + j) as usize;
                let sums = 2.0 * p.k as f64 * 2f64.powi(-24) * mag;
                let alpha = p.alpha.abs() as f64;
                let last = 2f64.powi(-23) * (alpha * mag + (p.beta as f64 * c[ic] as f64).abs());
                out[ic] = alpha * (round + sums) + last;
            }
        }
    }
    out
}

fn has_f16(g: &GpuBackend) -> bool {
    g.ctx.features.contains(wgpu::Features::SHADER_F16)
}

#[test]
fn f16_staging_stays_within_its_rounding_bound() {
    let mut g = gpu();
    if !has_f16(&g) {
        let e = g.set_gemm_precision(GemmPrecision::F16).unwrap_err();
        assert!(e.to_string().contains("SHADER_F16"), "{e}");
        eprintln!("the adapter lacks SHADER_F16: only its refusal is checked");
        return;
    }
    let mut cpu = CpuBackend::new();
    let mut rounded = 0;
    for tile in GemmTile::ALL {
        g.force_gemm_tile = Some(tile);
        for (ta, tb) in ORIENTATIONS {
            for (m, n, k, p) in [(17, 63, 19, 1), (36, 68, 200, 2), (65, 129, 33, 1)] {
                for scale in [1.0, 300.0] {
                    let s = spec((m, n, k), (ta, tb), p, true, 4);
                    let ops = operands(&s, m + k, scale);
                    let want = run(&mut cpu, &s, &ops);
                    g.set_gemm_precision(GemmPrecision::F32).unwrap();
                    let full = run(&mut g, &s, &ops);
                    g.set_gemm_precision(GemmPrecision::F16).unwrap();
                    let half = run(&mut g, &s, &ops);
                    let bound = f16_bound(&s, &ops);
                    for (i, ((h, w), e)) in half.iter().zip(&want).zip(&bound).enumerate() {
                        let err = (*h as f64 - *w as f64).abs();
                        assert!(
                            err <= *e,
                            "{tile:?} m{m} n{n} k{k} ta{ta} tb{tb} x{scale}: C[{i}] = {h}, \
                             CPU {w}: error {err:e} over the bound {e:e}"
                        );
                    }
                    rounded += half.iter().zip(&full).filter(|(h, f)| h != f).count();
                }
            }
        }
    }
    assert!(
        rounded > 0,
        "f16 staging never changed a result: is it in use?"
    );
}

#[test]
fn f16_staging_is_exact_on_values_f16_holds() {
    let mut g = gpu();
    if !has_f16(&g) {
        // Nothing to compare: the adapter must refuse f16 instead.
        assert!(g.set_gemm_precision(GemmPrecision::F16).is_err());
        return;
    }
    // Multiples of 1/8 up to 8: exact in f16, and every product and sum exact in f32.
    let s = spec((33, 70, 40), (false, true), 2, true, 0);
    let [a, b, c] = operands(&s, 9, 64.0);
    let eighth = |v: &Vec<f32>| {
        v.iter()
            .map(|x| (x / 8.0).round() / 8.0)
            .collect::<Vec<_>>()
    };
    let ops = [eighth(&a), eighth(&b), eighth(&c)];
    let full = run(&mut g, &s, &ops);
    assert_eq!(
        g.describe().gemm,
        None,
        "f32 reports name no GEMM precision"
    );
    g.set_gemm_precision(GemmPrecision::F16).unwrap();
    let half = run(&mut g, &s, &ops);
    assert_eq!(half, full);
    // Reports and benchmarks record the precision that changed the numbers.
    assert_eq!(g.describe().gemm.as_deref(), Some("f16 staging"));
}

#[test]
fn f16_gemm_is_refused_without_the_feature() {
    let ctx = GpuContext::open_without(&AdapterChoice::default(), wgpu::Features::SHADER_F16)
        .expect("GPU tests need an adapter");
    let mut g = GpuBackend::new(ctx);
    let e = g.set_gemm_precision(GemmPrecision::F16).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("SHADER_F16") && msg.contains("--gemm"),
        "{msg}"
    );
    assert_eq!(g.gemm_precision(), GemmPrecision::F32);
    g.set_gemm_precision(GemmPrecision::F32).unwrap();
}
