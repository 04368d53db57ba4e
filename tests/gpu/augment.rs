//! Crop/flip augmentation: GPU and CPU bit-identical, the draws uniform over offsets and
//! flips, a known draw moves pixels where it should, and "nothing" is the identity.

use crate::common;

use common::{gpu, random};
use insitu::backend::{AugmentParams, Backend};
use insitu::cpu::CpuBackend;
use insitu::data::augment::{draw, epoch_key, params, Augment, Draw};

fn run(be: &mut dyn Backend, x: &[f32], p: &AugmentParams) -> Vec<f32> {
    let bx = be.alloc(x.len());
    let by = be.alloc(x.len());
    be.write(bx, x);
    // Poison the output so that every element must be written.
    be.write(by, &vec![f32::NAN; x.len()]);
    be.augment(bx, by, p);
    be.read(by)
}

#[test]
fn gpu_matches_cpu_bit_exactly() {
    let mut g = gpu();
    let mut c = CpuBackend::new();
    for &(shape, rows, pad, mode, first, epoch) in &[
        (
            [3usize, 7, 5],
            13usize,
            4u32,
            Augment::CropFlip,
            0usize,
            0u32,
        ),
        ([3, 7, 5], 13, 2, Augment::Crop, 29, 3),
        ([1, 9, 11], 7, 4, Augment::Flip, 5, 1),
        ([2, 3, 3], 33, 2, Augment::CropFlip, 1000, 7),
    ] {
        let x = random(rows * shape.iter().product::<usize>(), 5, -2.0, 2.0);
        let p = params(mode, pad, shape, 42, epoch, first, rows);
        let a = run(&mut g, &x, &p);
        let b = run(&mut c, &x, &p);
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{shape:?} {mode:?}"
        );
    }
}

#[test]
fn none_is_the_identity() {
    let shape = [3, 7, 5];
    let x = random(13 * 105, 6, -1.0, 1.0);
    let p = params(Augment::None, 4, shape, 1, 0, 0, 13);
    assert_eq!((p.pad, p.flip), (0, 0));
    assert_eq!(run(&mut gpu(), &x, &p), x);
    assert_eq!(run(&mut CpuBackend::new(), &x, &p), x);
}

/// The first sample index in `k`'s stream whose draw is `want`.
fn find(k: [u32; 2], pad: u32, want: Draw) -> u32 {
    (0..100_000)
        .find(|&i| draw(k, i, pad, true) == want)
        .expect("draw occurs")
}

#[test]
fn known_offsets_move_pixels() {
    let (h, w) = (6i32, 5i32);
    let x: Vec<f32> = (0..2 * h * w).map(|i| 1.0 + i as f32).collect();
    let k = epoch_key(9, 2);
    for want in [
        Draw {
            dy: -1,
            dx: 2,
            flip: false,
        },
        Draw {
            dy: 3,
            dx: -4,
            flip: true,
        },
        Draw {
            dy: 0,
            dx: 0,
            flip: true,
        },
    ] {
        let first = find(k, 4, want);
        let p = params(
            Augment::CropFlip,
            4,
            [2, h as usize, w as usize],
            9,
            2,
            first as usize,
            1,
        );
        for out in [run(&mut gpu(), &x, &p), run(&mut CpuBackend::new(), &x, &p)] {
            for ch in 0..2 {
                for y in 0..h {
                    for xo in 0..w {
                        // Cropping a zero-padded image at offset (dy, dx), then mirroring.
                        let xs = if want.flip { w - 1 - xo } else { xo };
                        let (sy, sx) = (y + want.dy, xs + want.dx);
                        let expect = if sy < 0 || sy >= h || sx < 0 || sx >= w {
                            0.0
                        } else {
                            1.0 + (ch * h * w + sy * w + sx) as f32
                        };
                        let got = out[(ch * h * w + y * w + xo) as usize];
                        assert_eq!(got, expect, "{want:?} ch {ch} y {y} x {xo}");
                    }
                }
            }
        }
    }
}

#[test]
fn offsets_and_flips_are_uniform() {
    // 9 x 9 images holding 1..=81: the centre pixel reveals (dy, dx), its neighbours the flip.
    let (n, side, pad) = (81 * 400usize, 9usize, 4u32);
    let img: Vec<f32> = (1..=81).map(|v| v as f32).collect();
    let x: Vec<f32> = img.iter().cycle().take(n * 81).copied().collect();
    let p = params(Augment::CropFlip, pad, [1, side, side], 77, 3, 12, n);
    let out = run(&mut gpu(), &x, &p);
    let (mut counts, mut flips) = (vec![0usize; 81], 0usize);
    let at = |y: i32, x: i32| {
        if (0..9).contains(&y) && (0..9).contains(&x) {
            (y * 9 + x + 1) as f32
        } else {
            0.0
        }
    };
    for r in 0..n {
        let o = &out[r * 81..(r + 1) * 81];
        let centre = o[4 * 9 + 4] as i32 - 1;
        let (dy, dx) = (centre / 9 - 4, centre % 9 - 4);
        counts[((dy + 4) * 9 + dx + 4) as usize] += 1;
        let (left, right) = (o[4 * 9 + 3], o[4 * 9 + 5]);
        let plain = (at(4 + dy, 3 + dx), at(4 + dy, 5 + dx));
        let mirrored = (at(4 + dy, 5 + dx), at(4 + dy, 3 + dx));
        if (left, right) == mirrored {
            flips += 1;
        } else {
            assert_eq!((left, right), plain, "row {r}");
        }
    }
    let e = n as f64 / 81.0;
    let sd = (e * (1.0 - 1.0 / 81.0)).sqrt();
    for (i, &c) in counts.iter().enumerate() {
        assert!(
            (c as f64 - e).abs() < 5.0 * sd,
            "offset ({}, {}) drawn {c} times, expected {e:.0} +- {sd:.0}",
            i / 9 - 4,
            i % 9 - 4
        );
    }
    let sdf = (n as f64 * 0.25).sqrt();
    assert!(
        (flips as f64 - 0.5 * n as f64).abs() < 5.0 * sdf,
        "{flips} flips of {n}"
    );
}

#[test]
fn draws_depend_on_seed_epoch_and_index_only() {
    let (a, b) = (epoch_key(1, 0), epoch_key(1, 1));
    assert_eq!(draw(a, 17, 4, true), draw(a, 17, 4, true));
    let same = (0..1000)
        .filter(|&i| draw(a, i, 4, true) == draw(b, i, 4, true))
        .count();
    // Independent draws coincide with probability 1/162.
    assert!(same < 30, "{same} equal draws across epochs");
    assert!((0..1000).all(|i| {
        let d = draw(a, i, 0, false);
        d.dx == 0 && d.dy == 0 && !d.flip
    }));
}

fn train(sets: &[&str]) -> Vec<(f64, f64)> {
    let mut s: Vec<String> = vec![
        "data.train_limit=300".into(),
        "data.test_limit=100".into(),
        "train.epochs=2".into(),
        "train.batch_size=50".into(),
    ];
    s.extend(sets.iter().map(|x| x.to_string()));
    let cfg = insitu::config::parse("", "exp.toml", &s).unwrap();
    let mut be = CpuBackend::new();
    let r = insitu::experiment::run(&mut be, &cfg, &Default::default()).unwrap();
    r.epochs
        .iter()
        .map(|e| (e.train_loss, e.test_accuracy))
        .collect()
}

#[test]
fn training_runs_augment_reproducibly() {
    for arch in ["network.arch=\"C4-M-FC10\"", "network.hidden=[32]"] {
        let aug = [
            arch,
            "data.augment=\"crop_flip\"",
            "optimizer.nesterov=true",
        ];
        let a = train(&aug);
        assert_eq!(a, train(&aug), "{arch}: same seed, same run");
        assert!(a.iter().all(|(l, _)| l.is_finite()), "{arch}: {a:?}");
        let plain = train(&[arch, "optimizer.nesterov=true"]);
        // Augmentation changes the training batches, so the losses differ.
        assert_ne!(a[0].0, plain[0].0, "{arch}");
    }
}
