//! The read's panel product (`fast_read::Panels`, AVX-512) against `matrixmultiply`'s SGEMM, the
//! path it replaces: every product bit-identical (the calibrated ranges are taken from these
//! values), on awkward row, column and pass sizes and with rows of zero digits, with nothing
//! written past the product.

use insitu::xbar::fast_read::{Panels, KC};

/// Uniform values in [0, 1) from a 64-bit LCG, a quarter of them exact zeros; `digits`: small
/// integers (input digits) instead.
fn values(n: usize, seed: u64, digits: bool) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            match (u < 0.25, digits) {
                (true, _) => 0.0,
                (false, true) => (u * 4.0).floor(),
                // Several binades, so a different summation order would round differently.
                (false, false) => u * (1u32 << ((s >> 20) % 9)) as f32,
            }
        })
        .collect()
}

/// `matrixmultiply` as the read called it: digits `[m][lines]` from line `lo`, conductances
/// `[np][lines]`.
fn reference(
    dig: &[f32],
    eff: &[f32],
    lines: usize,
    (lo, hi): (usize, usize),
    m: usize,
    np: usize,
) -> Vec<f32> {
    let mut c = vec![0f32; m * np];
    // SAFETY: the strides address dig (m x lines), eff (np x lines) and c (m x np) only.
    unsafe {
        insitu::sgemm::sgemm(
            (m, hi - lo, np),
            1.0,
            (dig.as_ptr().add(lo), lines as isize, 1),
            (eff.as_ptr().add(lo), 1, lines as isize),
            0.0,
            (c.as_mut_ptr(), np as isize, 1),
        );
    }
    c
}

#[test]
fn panel_products_equal_matrixmultiply_bit_for_bit() {
    let shapes = [
        // (lines, passes)
        (1, vec![(0, 1)]),
        (5, vec![(0, 3), (3, 5)]),
        (300, vec![(0, 128), (128, 256), (256, 300)]),
        (KC + 3, vec![(0, KC), (KC, KC + 3)]),
    ];
    let mut seed = 1;
    for (lines, passes) in &shapes {
        for np in [1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 49, 130] {
            seed += 1;
            let eff = values(np * lines, seed, false);
            let Some(panels) = Panels::new(&eff, *lines, np, passes) else {
                assert!(
                    !insitu::xbar::fast_read::panels_available(),
                    "the CPU has AVX-512 but no panels were made"
                );
                return;
            };
            for m in [1, 7, 8, 9, 64, 65, 130] {
                let mut dig = values(m * lines, seed * 31 + m as u64, true);
                // Rows of zero digits (skipped by the kernel), every third one.
                for row in dig.chunks_mut(*lines).step_by(3) {
                    row.fill(0.0);
                }
                for (gp, &pass) in passes.iter().enumerate() {
                    let want = reference(&dig, &eff, *lines, pass, m, np);
                    // A guard past the product: masked stores must leave it alone.
                    let mut got = vec![f32::NAN; m * np + 64];
                    panels.product(gp, &dig, *lines, pass, m, &mut got);
                    let what = format!("lines {lines}, pass {pass:?}, np {np}, m {m}");
                    let differ = got[..m * np]
                        .iter()
                        .zip(&want)
                        .filter(|(a, b)| a.to_bits() != b.to_bits())
                        .count();
                    assert_eq!(differ, 0, "{what}: products differ");
                    assert!(
                        got[m * np..].iter().all(|v| v.is_nan()),
                        "{what}: wrote past the product"
                    );
                }
            }
        }
    }
}

#[test]
fn passes_longer_than_the_depth_block_stay_on_matrixmultiply() {
    let lines = KC + 1;
    let eff = values(4 * lines, 3, false);
    assert!(Panels::new(&eff, lines, 4, &[(0, KC + 1)]).is_none());
}
