//! Sharding into disjoint slices and merging them back: the same points and numbers as one
//! unsharded run; merge finds missing and duplicate points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use insitu::cli::backend::BackendKind;
use insitu::sweep::{self, Shard};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-shard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn opts(out: &Path, shard: Option<Shard>) -> sweep::Options {
    sweep::Options {
        out: out.to_path_buf(),
        resume: false,
        shard,
        // Two points per run: the smoke sweep becomes 4 jobs to spread over 3 shards.
        max_population: Some(2),
        backend: BackendKind::Cpu,
        adapter: None,
        stop_after: None,
        progress: false,
    }
}

/// id -> metrics as JSON text, from a result directory.
fn results(dir: &Path) -> BTreeMap<String, String> {
    let (rs, _) = sweep::log::read(&dir.join("points.jsonl")).unwrap();
    rs.into_iter()
        .map(|r| (r.id, serde_json::to_string(&r.metrics).unwrap()))
        .collect()
}

#[test]
fn shard_parsing() {
    let s: Shard = "2/3".parse().unwrap();
    assert_eq!((s.index, s.count), (2, 3));
    for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let s = sweep::load(&repo().join("configs/sweeps/smoke.toml")).unwrap();
    let whole = tmp("whole");
    sweep::run(&s, &opts(&whole, None)).unwrap();
    let expected = results(&whole);
    assert_eq!(expected.len(), 8);

    let dirs: Vec<PathBuf> = (0..3).map(|i| tmp(&format!("part{i}"))).collect();
    let mut counts = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let sum = sweep::run(&s, &opts(d, Some(Shard { index: i, count: 3 }))).unwrap();
        counts.push(sum.points);
    }
    assert_eq!(counts.iter().sum::<usize>(), 8);
    assert!(
        counts.iter().all(|&c| c > 0),
        "every shard has work: {counts:?}"
    );
    // Disjoint slices.
    let mut seen = BTreeMap::new();
    for d in &dirs {
        for id in results(d).into_keys() {
            assert!(seen.insert(id.clone(), ()).is_none(), "{id} in two shards");
        }
    }

    let merged = tmp("merged");
    let m = sweep::merge(&dirs, &merged).unwrap();
    assert_eq!(m.points, 8);
    assert_eq!(results(&merged), expected);
    let csv = std::fs::read_to_string(merged.join("points.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9);

    // Two of three shards: the missing points are named.
    let partial = tmp("partial");
    let err = sweep::merge(&dirs[..2], &partial).unwrap_err().to_string();
    let missing = results(&dirs[2]);
    assert!(
        err.contains(&format!("{} missing points", missing.len())),
        "{err}"
    );
    for id in missing.keys() {
        assert!(err.contains(id.as_str()), "{id} not in {err}");
    }
    // A shard given twice: its points are duplicates.
    let dup = tmp("dup");
    let twice = vec![
        dirs[0].clone(),
        dirs[1].clone(),
        dirs[2].clone(),
        dirs[0].clone(),
    ];
    let err = sweep::merge(&twice, &dup).unwrap_err().to_string();
    assert!(err.contains("duplicate points"), "{err}");
    for id in results(&dirs[0]).keys() {
        assert!(err.contains(id.as_str()), "{id} not in {err}");
    }
    for d in dirs.iter().chain([&whole, &merged, &partial, &dup]) {
        let _ = std::fs::remove_dir_all(d);
    }
}
