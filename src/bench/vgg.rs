//! `train_vgg8_insitu`: in-situ VGG-8 (`configs/xbar_vgg8_cifar.toml`) on eight random
//! CIFAR-format images, batch 8, one epoch. The headline is wall seconds per training image of
//! the whole run (data set-up, ADC calibration, the training step and the test of eight
//! images), an upper bound on the per-image step time with calibration included; the detail
//! gives the training time alone.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backend::Backend;
use crate::config::parse;
use crate::data;
use crate::experiment::{run_on, RunOptions};

use super::case::{rand, Case};

/// Training (and test) images of the case.
const IMAGES: usize = 8;

/// Removes the case's data directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The six CIFAR-10 batch files, `IMAGES` random records each (a label byte, 3072 pixels).
fn write_cifar(dir: &Path) -> std::io::Result<()> {
    let names = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    for (f, name) in names.iter().enumerate() {
        let px = rand(IMAGES * 3072, 100 + f as u32);
        let mut bytes = Vec::with_capacity(IMAGES * 3073);
        for (i, img) in px.chunks(3072).enumerate() {
            bytes.push((i % 10) as u8);
            bytes.extend(img.iter().map(|v| (v.abs() * 255.0).min(255.0) as u8));
        }
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

pub(super) fn vgg8_case(be: &mut dyn Backend) -> anyhow::Result<Case> {
    let dir =
        TempDir(std::env::temp_dir().join(format!("insitu-bench-cifar-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0)?;
    write_cifar(&dir.0)?;
    let sets = [
        format!("data.path={:?}", dir.0.display().to_string()),
        format!("data.train_limit={IMAGES}"),
        format!("data.test_limit={IMAGES}"),
        format!("train.batch_size={IMAGES}"),
        "train.epochs=1".into(),
    ];
    let cfg = parse(
        include_str!("../../configs/xbar_vgg8_cifar.toml"),
        "bench",
        &sets,
    )?;
    let t0 = Instant::now();
    let split = data::load(&cfg.data)?;
    let r = run_on(be, &cfg, &split, &RunOptions::default())?;
    let s = t0.elapsed().as_secs_f64();
    let train: f64 = r.epochs.iter().map(|e| e.seconds).sum();
    let per_image = s / IMAGES as f64;
    let detail = format!(
        "{IMAGES} CIFAR-format images, batch {IMAGES}, 1 epoch: {s:.2} s whole run (set-up, \
         calibration, training, test), {train:.2} s training ({:.2} s per image)",
        train / IMAGES as f64
    );
    let mut c = Case::new("train_vgg8_insitu", s, per_image, "s/image", detail);
    c.samples_per_second = Some(IMAGES as f64 / s);
    Ok(c)
}
