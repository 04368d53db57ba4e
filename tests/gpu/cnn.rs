//! Conv kernels (im2col, col2im, permute, pooling, sparsity) on the GPU against their CPU twins,
//! on awkward shapes (odd sizes, strides, padding, both input layouts).

use crate::common;

use common::{gpu, max_rel_err, random};
use insitu::backend::*;
use insitu::cpu::CpuBackend;
use insitu::nn::arch::PoolKind;
use insitu::nn::conv::{ConvGeom, Layout};
use insitu::nn::pool;

fn on_both(
    len_in: usize,
    len_out: usize,
    input: &[f32],
    f: impl Fn(&mut dyn Backend, Buf, Buf),
) -> (Vec<f32>, Vec<f32>) {
    let mut outs = Vec::new();
    let mut g = gpu();
    let mut c = CpuBackend::new();
    for be in [&mut g as &mut dyn Backend, &mut c as &mut dyn Backend] {
        let x = be.alloc(len_in);
        be.write(x, input);
        let y = be.alloc(len_out);
        // Poison the output so that unwritten elements show.
        be.write(y, &vec![f32::NAN; len_out]);
        f(be, x, y);
        outs.push(be.read(y));
    }
    (outs.remove(0), outs.remove(0))
}

const GEOMS: &[(usize, usize, usize, usize, usize, usize, usize)] = &[
    // (batch, c, h, w, k, stride, pad)
    (2, 3, 7, 5, 3, 2, 1),
    (3, 2, 4, 6, 5, 1, 2),
    (1, 4, 5, 5, 1, 1, 0),
    (2, 1, 9, 8, 4, 3, 0),
    (2, 3, 6, 7, 2, 1, 1),
];

#[test]
fn im2col_and_col2im_match_cpu() {
    for &(b, c, h, w, k, stride, pad) in GEOMS {
        let g = ConvGeom {
            c_in: c,
            h,
            w,
            c_out: 1,
            k,
            stride,
            pad,
        };
        for layout in [Layout::Nchw, Layout::Cnhw] {
            let n_in = b * c * h * w;
            let n_cols = g.fan_in() * b * g.positions();
            let x = random(n_in, 1, -1.0, 1.0);
            let p = g.im2col(b, layout);
            let (gc, cc) = on_both(n_in, n_cols, &x, |be, x, y| be.im2col(x, y, &p));
            assert_eq!(
                gc,
                cc,
                "im2col {:?} {layout:?}",
                (b, c, h, w, k, stride, pad)
            );
            let cols = random(n_cols, 2, -1.0, 1.0);
            let p = g.col2im(b, layout);
            let (gd, cd) = on_both(n_cols, n_in, &cols, |be, x, y| be.col2im(x, y, &p));
            assert!(
                max_rel_err(&gd, &cd) < 1e-6,
                "col2im {:?} {layout:?}",
                (b, c, h, w, k, stride, pad)
            );
        }
    }
}

#[test]
fn col2im_is_the_adjoint_of_im2col() {
    // <im2col(x), c> = <x, col2im(c)> for every shape: the backward pass is exact.
    let mut be = CpuBackend::new();
    for &(b, c, h, w, k, stride, pad) in GEOMS {
        let g = ConvGeom {
            c_in: c,
            h,
            w,
            c_out: 1,
            k,
            stride,
            pad,
        };
        let (n_in, n_cols) = (b * c * h * w, g.fan_in() * b * g.positions());
        let x = random(n_in, 3, -1.0, 1.0);
        let cv = random(n_cols, 4, -1.0, 1.0);
        let (xb, cb, ob, ib) = (
            be.alloc(n_in),
            be.alloc(n_cols),
            be.alloc(n_cols),
            be.alloc(n_in),
        );
        be.write(xb, &x);
        be.write(cb, &cv);
        be.im2col(xb, ob, &g.im2col(b, Layout::Cnhw));
        be.col2im(cb, ib, &g.col2im(b, Layout::Cnhw));
        let lhs: f64 = be
            .read(ob)
            .iter()
            .zip(&cv)
            .map(|(a, b)| (*a as f64) * (*b as f64))
            .sum();
        let rhs: f64 = x
            .iter()
            .zip(be.read(ib))
            .map(|(a, b)| (*a as f64) * (b as f64))
            .sum();
        assert!(
            (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
            "{lhs} vs {rhs}"
        );
    }
}

#[test]
fn permute_matches_cpu() {
    for (a, b, s) in [(3, 5, 7), (1, 4, 1), (17, 3, 2)] {
        let x = random(a * b * s, 5, -1.0, 1.0);
        let p = PermuteParams::new(a, b, s);
        let (g, c) = on_both(x.len(), x.len(), &x, |be, x, y| be.permute(x, y, &p));
        assert_eq!(g, c);
        if a > 1 {
            assert_eq!(c[s], x[b * s], "y[0][1][0] = x[1][0][0]");
        }
    }
    // Two instances of a block (offset 3, rows 11 apart), and two sharing one source.
    for (stride, len) in [(4 * 11, 3 + 8 * 11), (0, 3 + 4 * 11)] {
        let x = random(len, 6, -1.0, 1.0);
        let p = PermuteParams::new(4, 3, 2).instances(2, stride).rows(3, 11);
        let (g, c) = on_both(x.len(), 48, &x, |be, x, y| be.permute(x, y, &p));
        assert_eq!(g, c);
        assert_eq!(
            c[24 + 2],
            x[3 + stride + 11],
            "y[1][0][1][0] = x[1][1][0][0]"
        );
    }
}

#[test]
fn pooling_matches_cpu_forward_and_backward() {
    for kind in [PoolKind::Max, PoolKind::Avg, PoolKind::Global] {
        for (planes, h, w) in [(3, 5, 7), (2, 4, 4), (5, 6, 3)] {
            let x = random(planes * h * w, 6, -1.0, 1.0);
            let p = pool::params(kind, planes, h, w);
            let n_out = p.count as usize;
            let (g, c) = on_both(x.len(), n_out, &x, |be, x, y| be.pool(x, y, &p));
            assert!(
                max_rel_err(&g, &c) < 1e-6,
                "{kind:?} forward {planes}x{h}x{w}"
            );
            let dy = random(n_out, 7, -1.0, 1.0);
            let pb = pool::backward_params(kind, planes, h, w);
            let mut outs = Vec::new();
            let mut gb = gpu();
            let mut cb = CpuBackend::new();
            for be in [&mut gb as &mut dyn Backend, &mut cb as &mut dyn Backend] {
                let (xb, dyb, dxb) = (be.alloc(x.len()), be.alloc(n_out), be.alloc(x.len()));
                be.write(xb, &x);
                be.write(dyb, &dy);
                be.write(dxb, &vec![f32::NAN; x.len()]);
                be.pool_backward(xb, dyb, dxb, &pb);
                outs.push(be.read(dxb));
            }
            assert!(
                max_rel_err(&outs[0], &outs[1]) < 1e-6,
                "{kind:?} backward {planes}x{h}x{w}"
            );
            // Gradient mass is conserved for the inputs inside windows.
            let s: f32 = outs[1].iter().sum();
            assert!(
                (s - dy.iter().sum::<f32>()).abs() < 1e-4,
                "{kind:?} backward sum"
            );
        }
    }
}

#[test]
fn l1_and_mask_match_cpu() {
    let n = 1000;
    let mut w = random(n, 8, -1.0, 1.0);
    w[3] = 0.0;
    let m: Vec<f32> = (0..n).map(|i| (i % 3 != 0) as u8 as f32).collect();
    let p = SparseParams {
        count: n as u32,
        _pad: [0; 2],
        lambda: 0.25,
    };
    let mut res = Vec::new();
    let mut gb = gpu();
    let mut cb = CpuBackend::new();
    for be in [&mut gb as &mut dyn Backend, &mut cb as &mut dyn Backend] {
        let (g, wb, mb) = (be.alloc(n), be.alloc(n), be.alloc(n));
        be.write(g, &vec![1.0; n]);
        be.write(wb, &w);
        be.write(mb, &m);
        be.l1_grad(g, wb, &p);
        be.mask(g, mb, &p);
        res.push(be.read(g));
    }
    assert_eq!(res[0], res[1]);
    assert_eq!(res[1][3], 0.0);
    assert_eq!(res[1][4], 1.0 + 0.25 * w[4].signum());
}
