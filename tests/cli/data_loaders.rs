//! Loaders, error messages, normalisation, limits and shuffling, on the embedded set and on
//! fixtures written to a scratch directory.

use crate::common;

use common::synth::{
    scratch_dir, write_cifar_batch, write_idx_images, write_idx_labels, ScratchDir,
};
use insitu::data::{self, epoch_order, DataConfig, DataError, Normalize, Source};

fn idx_cfg(dir: &ScratchDir) -> DataConfig {
    DataConfig {
        source: Source::Idx,
        path: Some(dir.path().display().to_string()),
        ..Default::default()
    }
}

/// Bytes that differ per image and per pixel, so mix-ups between images show.
fn pattern(n: usize, f: usize, salt: usize) -> Vec<u8> {
    (0..n * f)
        .map(|k| ((k * 7 + salt * 31 + k / f * 13) % 256) as u8)
        .collect()
}

/// A complete IDX directory: 5 training and 3 test images of 3 x 4 pixels, labels 0..=3.
/// `ext` is "" or ".gz".
fn idx_fixture(tag: &str, ext: &str) -> (ScratchDir, Vec<u8>, Vec<u8>) {
    let dir = scratch_dir(tag).unwrap();
    let (tr, te) = (pattern(5, 12, 1), pattern(3, 12, 2));
    write_idx_images(
        dir.join(format!("train-images-idx3-ubyte{ext}")),
        5,
        3,
        4,
        &tr,
    )
    .unwrap();
    write_idx_labels(
        dir.join(format!("train-labels-idx1-ubyte{ext}")),
        &[3, 0, 1, 2, 1],
    )
    .unwrap();
    write_idx_images(
        dir.join(format!("t10k-images-idx3-ubyte{ext}")),
        3,
        3,
        4,
        &te,
    )
    .unwrap();
    write_idx_labels(dir.join(format!("t10k-labels-idx1-ubyte{ext}")), &[2, 3, 0]).unwrap();
    (dir, tr, te)
}

fn err_text(r: Result<data::Split, DataError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn embedded_set_shape_balance_and_range() {
    let s = data::mnist5k().unwrap();
    assert_eq!(s.name, "mnist5k");
    for (set, n, per) in [(&s.train, 4000, 400), (&s.test, 1000, 100)] {
        assert_eq!(set.len(), n);
        assert_eq!(set.shape, [1, 28, 28]);
        assert_eq!(set.features(), 784);
        assert_eq!(set.images.len(), n * 784);
        assert_eq!(set.classes, 10);
        let mut counts = [0; 10];
        set.labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [per; 10]);
        assert!(set.images.iter().all(|&x| (0.0..=1.0).contains(&x)));
        let mean = set.images.iter().map(|&x| x as f64).sum::<f64>() / set.images.len() as f64;
        assert!((0.11..0.15).contains(&mean), "mean {mean}");
        // Real digits use the whole range, not a degenerate constant.
        assert!(set.images.contains(&1.0) && set.images.contains(&0.0));
    }
    // The default config is the embedded set.
    assert_eq!(data::load(&DataConfig::default()).unwrap(), s);
}

#[test]
fn raw_and_gzip_idx_identical_and_values_exact() {
    let (raw_dir, tr, te) = idx_fixture("raw", "");
    let (gz_dir, _, _) = idx_fixture("gz", ".gz");
    let raw = data::load(&idx_cfg(&raw_dir)).unwrap();
    let gz = data::load(&idx_cfg(&gz_dir)).unwrap();
    assert_eq!(raw.train, gz.train);
    assert_eq!(raw.test, gz.test);
    assert_eq!(raw.train.shape, [1, 3, 4]);
    assert_eq!(raw.train.classes, 4);
    assert_eq!(raw.train.labels, vec![3, 0, 1, 2, 1]);
    assert_eq!(raw.test.labels, vec![2, 3, 0]);
    let expect: Vec<f32> = tr.iter().map(|&p| p as f32 / 255.0).collect();
    assert_eq!(raw.train.images, expect);
    assert_eq!(
        raw.test.image(2),
        &te[24..36]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect::<Vec<_>>()[..]
    );
}

#[test]
fn gzip_detected_by_content_not_name() {
    let (dir, tr, _) = idx_fixture("magic", ".gz");
    // Strip the extensions: the files stay compressed.
    for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        std::fs::rename(dir.join(format!("{f}.gz")), dir.join(f)).unwrap();
    }
    let s = data::load(&idx_cfg(&dir)).unwrap();
    assert_eq!(
        s.train.images[..12],
        tr[..12]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect::<Vec<_>>()[..]
    );
}

#[test]
fn name_overrides() {
    let dir = scratch_dir("names").unwrap();
    write_idx_images(dir.join("a.gz"), 2, 2, 2, &[0, 1, 2, 3, 4, 5, 6, 255]).unwrap();
    write_idx_labels(dir.join("b"), &[1, 0]).unwrap();
    write_idx_images(dir.join("c"), 1, 2, 2, &[9, 9, 9, 9]).unwrap();
    write_idx_labels(dir.join("d"), &[1]).unwrap();
    let cfg = DataConfig {
        train_images: Some("a".into()), // found as a.gz
        train_labels: Some("b".into()),
        test_images: Some("c".into()),
        test_labels: Some("d".into()),
        ..idx_cfg(&dir)
    };
    let s = data::load(&cfg).unwrap();
    assert_eq!(s.train.len(), 2);
    assert_eq!(s.train.images[7], 1.0);
    assert_eq!(s.test.labels, vec![1]);
}

#[test]
fn truncated_images_error_names_file_and_counts() {
    let (dir, tr, _) = idx_fixture("trunc", "");
    let path = dir.join("train-images-idx3-ubyte");
    // Header promises 5 x 3 x 4 = 60 pixel bytes; only 50 follow.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(16 + 50);
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(tr.len(), 60);
    let msg = err_text(data::load(&idx_cfg(&dir)));
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("expected 60 bytes"), "{msg}");
    assert!(msg.contains("found 50"), "{msg}");
    assert!(msg.contains("5 x 3 x 4"), "{msg}");
}

#[test]
fn truncated_gzip_stream_names_file() {
    let (dir, _, _) = idx_fixture("truncgz", ".gz");
    let path = dir.join("t10k-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = err_text(data::load(&idx_cfg(&dir)));
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("gzip"),
        "{msg}"
    );
}

#[test]
fn wrong_magic_names_expected_and_found() {
    let (dir, _, _) = idx_fixture("magicerr", "");
    // A label file where the images should be.
    let path = dir.join("train-images-idx3-ubyte");
    write_idx_labels(&path, &[0; 60]).unwrap();
    let msg = err_text(data::load(&idx_cfg(&dir)));
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("0x00000803") && msg.contains("0x00000801"),
        "{msg}"
    );
    assert!(msg.contains("an IDX labels file"), "{msg}");
}

#[test]
fn count_mismatch_names_both_files() {
    let (dir, _, _) = idx_fixture("count", "");
    write_idx_labels(dir.join("t10k-labels-idx1-ubyte"), &[0, 1]).unwrap();
    let r = data::load(&idx_cfg(&dir));
    assert!(
        matches!(
            r,
            Err(DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            })
        ),
        "{r:?}"
    );
    let msg = err_text(r);
    assert!(
        msg.contains("t10k-images-idx3-ubyte") && msg.contains("t10k-labels-idx1-ubyte"),
        "{msg}"
    );
}

#[test]
fn labels_out_of_range() {
    let (dir, _, _) = idx_fixture("range", "");
    // Training labels reach 3, so 4 classes are inferred; a test label 7 is out of range.
    write_idx_labels(dir.join("t10k-labels-idx1-ubyte"), &[0, 7, 1]).unwrap();
    let msg = err_text(data::load(&idx_cfg(&dir)));
    assert!(
        msg.contains("t10k-labels-idx1-ubyte") && msg.contains("label 7 at index 1"),
        "{msg}"
    );
    assert!(msg.contains("0..4"), "{msg}");
    // Declaring more classes allows it.
    let cfg = DataConfig {
        classes: 10,
        ..idx_cfg(&dir)
    };
    assert_eq!(data::load(&cfg).unwrap().test.classes, 10);
    let cfg = DataConfig {
        classes: 3,
        ..idx_cfg(&dir)
    };
    assert!(err_text(data::load(&cfg)).contains("train-labels-idx1-ubyte"));
}

#[test]
fn missing_file_lists_directory_and_names_tried() {
    let (dir, _, _) = idx_fixture("missing", "");
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let msg = err_text(data::load(&idx_cfg(&dir)));
    assert!(
        msg.contains("test labels") && msg.contains(&dir.path().display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains("t10k-labels-idx1-ubyte.gz") && msg.contains("t10k-labels.idx1-ubyte"),
        "{msg}"
    );
    assert!(
        msg.contains("t10k-images-idx3-ubyte"),
        "listing missing: {msg}"
    );
}

fn cifar_records(n: usize, salt: usize) -> Vec<(u8, Vec<u8>)> {
    (0..n)
        .map(|i| (((i + salt) % 10) as u8, pattern(1, 3072, i + salt * 100)))
        .collect()
}

#[test]
fn cifar_round_trip() {
    let dir = scratch_dir("cifar").unwrap();
    let nested = dir.join("cifar-10-batches-bin");
    std::fs::create_dir(&nested).unwrap();
    // Batches of different sizes, one empty and one gzipped under a plain name; 3 training
    // records in all.
    let mut all = Vec::new();
    for (b, n) in [1, 0, 2, 0, 0].into_iter().enumerate() {
        let recs = cifar_records(n, b + 1);
        let path = nested.join(format!("data_batch_{}.bin", b + 1));
        if b == 2 {
            let gz = nested.join("tmp.gz");
            write_cifar_batch(&gz, &recs).unwrap();
            std::fs::rename(&gz, &path).unwrap();
        } else {
            write_cifar_batch(&path, &recs).unwrap();
        }
        all.extend(recs);
    }
    let test = cifar_records(1, 9);
    write_cifar_batch(nested.join("test_batch.bin"), &test).unwrap();
    let cfg = DataConfig {
        source: Source::Cifar10,
        path: Some(dir.path().display().to_string()),
        ..Default::default()
    };
    let s = data::load(&cfg).unwrap();
    assert_eq!(s.train.shape, [3, 32, 32]);
    assert_eq!(s.train.classes, 10);
    assert_eq!(s.train.len(), 3);
    assert_eq!(s.test.len(), 1);
    for (i, (label, px)) in all.iter().enumerate() {
        assert_eq!(s.train.labels[i], *label as u32);
        let expect: Vec<f32> = px.iter().map(|&p| p as f32 / 255.0).collect();
        assert_eq!(s.train.image(i), &expect[..]);
    }
    assert_eq!(s.test.labels[0], test[0].0 as u32);
}

#[test]
fn cifar_truncated_and_bad_label() {
    let dir = scratch_dir("cifarbad").unwrap();
    for b in 1..=5 {
        write_cifar_batch(
            dir.join(format!("data_batch_{b}.bin")),
            &cifar_records(1, b),
        )
        .unwrap();
    }
    let test = dir.join("test_batch.bin");
    write_cifar_batch(&test, &cifar_records(2, 0)).unwrap();
    let bytes = std::fs::read(&test).unwrap();
    std::fs::write(&test, &bytes[..bytes.len() - 100]).unwrap();
    let cfg = DataConfig {
        source: Source::Cifar10,
        path: Some(dir.path().display().to_string()),
        ..Default::default()
    };
    let msg = err_text(data::load(&cfg));
    assert!(msg.contains(&test.display().to_string()), "{msg}");
    assert!(msg.contains("6046") && msg.contains("3073"), "{msg}");

    let mut recs = cifar_records(2, 0);
    recs[1].0 = 10;
    write_cifar_batch(&test, &recs).unwrap();
    let msg = err_text(data::load(&cfg));
    assert!(msg.contains("label 10 at index 1"), "{msg}");

    std::fs::remove_file(dir.join("data_batch_4.bin")).unwrap();
    let msg = err_text(data::load(&cfg));
    assert!(
        msg.contains("data_batch_4.bin") && msg.contains("data_batch_5.bin"),
        "{msg}"
    );
}

#[test]
fn standard_normalisation_on_train() {
    let cfg = DataConfig {
        normalize: Normalize::Standard,
        ..Default::default()
    };
    let s = data::load(&cfg).unwrap();
    let x = &s.train.images;
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    assert!(mean.abs() < 1e-4, "mean {mean}");
    assert!((var.sqrt() - 1.0).abs() < 1e-4, "std {}", var.sqrt());
    // The test set uses the training statistics, so it is close to but not exactly standard.
    let t = &s.test.images;
    let tm = t.iter().map(|&v| v as f64).sum::<f64>() / t.len() as f64;
    assert!(tm.abs() < 0.1 && tm != mean, "test mean {tm}");

    // Per channel, on a 3-channel fixture with very different channels.
    let dir = scratch_dir("std").unwrap();
    for b in 1..=5 {
        let recs: Vec<_> = (0..2)
            .map(|i| {
                let px = (0..3072).map(|k| ((k / 1024) * 100 + (k * 7 + i * 3 + b) % 50) as u8);
                (i as u8, px.collect())
            })
            .collect();
        write_cifar_batch(dir.join(format!("data_batch_{b}.bin")), &recs).unwrap();
    }
    write_cifar_batch(dir.join("test_batch.bin"), &cifar_records(1, 0)).unwrap();
    let cfg = DataConfig {
        source: Source::Cifar10,
        path: Some(dir.path().display().to_string()),
        normalize: Normalize::Standard,
        ..Default::default()
    };
    let s = data::load(&cfg).unwrap();
    for c in 0..3 {
        let v: Vec<f64> = (0..s.train.len())
            .flat_map(|i| s.train.image(i)[c * 1024..(c + 1) * 1024].to_vec())
            .map(|v| v as f64)
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        assert!(
            m.abs() < 1e-4 && (sd - 1.0).abs() < 1e-4,
            "channel {c}: mean {m} std {sd}"
        );
    }
}

#[test]
fn centered_range() {
    let cfg = DataConfig {
        normalize: Normalize::Centered,
        ..Default::default()
    };
    let s = data::load(&cfg).unwrap();
    let (lo, hi) = s
        .train
        .images
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert_eq!((lo, hi), (-1.0, 1.0));
}

#[test]
fn limits_apply() {
    let full = data::mnist5k().unwrap();
    let cfg = DataConfig {
        train_limit: 123,
        test_limit: 45,
        ..Default::default()
    };
    let s = data::load(&cfg).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (123, 45));
    assert_eq!(s.train.images.len(), 123 * 784);
    assert_eq!(s.train.image(122), full.train.image(122));
    assert_eq!(s.test.labels[..], full.test.labels[..45]);
    // A limit above the size keeps everything.
    let cfg = DataConfig {
        train_limit: 1_000_000,
        ..Default::default()
    };
    assert_eq!(data::load(&cfg).unwrap().train.len(), 4000);
}

#[test]
fn epoch_order_properties() {
    let n = 1000;
    let a = epoch_order(n, 42, 0);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>());
    assert_ne!(a, (0..n as u32).collect::<Vec<_>>());
    assert_eq!(a, epoch_order(n, 42, 0));
    assert_ne!(a, epoch_order(n, 42, 1));
    assert_ne!(a, epoch_order(n, 43, 0));
    // Roughly uniform: over many epochs each position receives each element about equally.
    let (m, epochs) = (5usize, 20_000u32);
    let mut hits = vec![0u32; m * m];
    for e in 0..epochs {
        for (pos, &v) in epoch_order(m, 7, e).iter().enumerate() {
            hits[pos * m + v as usize] += 1;
        }
    }
    let expect = epochs as f64 / m as f64;
    assert!(
        hits.iter()
            .all(|&h| (h as f64 - expect).abs() < 0.06 * expect),
        "{hits:?}"
    );
}

#[test]
fn config_validation_and_parsing() {
    let missing = DataConfig {
        source: Source::Idx,
        ..Default::default()
    };
    let msg = missing.validate().unwrap_err().to_string();
    assert!(msg.contains("data.path") && msg.contains("idx"), "{msg}");
    let msg = err_text(data::load(&missing));
    assert!(msg.contains("data.path"), "{msg}");

    let stray = DataConfig {
        path: Some("/x".into()),
        ..Default::default()
    };
    assert!(stray
        .validate()
        .unwrap_err()
        .to_string()
        .contains("data.path"));
    let over = DataConfig {
        train_images: Some("x".into()),
        ..Default::default()
    };
    assert!(over
        .validate()
        .unwrap_err()
        .to_string()
        .contains("data.train_images"));
    let classes = DataConfig {
        classes: 7,
        ..Default::default()
    };
    assert!(classes
        .validate()
        .unwrap_err()
        .to_string()
        .contains("data.classes"));

    let cfg: DataConfig = toml::from_str(
        "source = \"idx\"\npath = \"/d\"\nnormalize = \"standard\"\ntrain_limit = 100\n",
    )
    .unwrap();
    assert_eq!(cfg.source, Source::Idx);
    assert_eq!(cfg.normalize, Normalize::Standard);
    assert_eq!((cfg.train_limit, cfg.test_limit), (100, 0));
    cfg.validate().unwrap();
    assert_eq!(
        toml::from_str::<DataConfig>(&toml::to_string(&cfg).unwrap()).unwrap(),
        cfg
    );
    assert!(toml::from_str::<DataConfig>("sauce = \"idx\"").is_err());
    assert!(toml::from_str::<DataConfig>("source = \"mnist\"").is_err());
    assert_eq!(
        toml::from_str::<DataConfig>("").unwrap(),
        DataConfig::default()
    );
}

#[test]
fn validation_split_is_the_end_of_the_training_set_and_never_the_test_set() {
    let full = data::load(&DataConfig {
        train_limit: 1000,
        ..Default::default()
    })
    .unwrap();
    let val = data::load(&DataConfig {
        train_limit: 1000,
        val_split: 200,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(val.train.len(), 800);
    assert_eq!(val.test.len(), 200);
    let f = full.train.features();
    assert_eq!(val.train.images[..], full.train.images[..800 * f]);
    assert_eq!(val.test.images[..], full.train.images[800 * f..]);
    assert_eq!(val.test.labels[..], full.train.labels[800..]);
    assert!(val.name.contains("validation = last 200"), "{}", val.name);
    // Too large a split: a config error when the limit is known, a data error otherwise.
    let e = DataConfig {
        train_limit: 100,
        val_split: 100,
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("data.val_split") && e.contains("100"), "{e}");
    let e = err_text(data::load(&DataConfig {
        val_split: 4000,
        ..Default::default()
    }));
    assert!(
        e.contains("data.val_split = 4000") && e.contains("4000"),
        "{e}"
    );
}
