//! Sweep expansion (grid, zip, random, seeds, paired keys) and up-front validation.

use std::path::PathBuf;

use insitu::sweep::{self, spec::parse, Sweep};

fn spec(text: &str) -> Sweep {
    try_spec(text).unwrap()
}

fn try_spec(text: &str) -> anyhow::Result<Sweep> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/sweeps/test.toml");
    parse(text, &here)
}

fn value(p: &sweep::Point, key: &str) -> toml::Value {
    p.overrides
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("{key} not in {:?}", p.overrides))
}

#[test]
fn grid_is_the_product_with_seeds_innermost() {
    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        seeds = [3, 7]
        [[axis]]
        key = "device.c2c"
        values = [0.0, 0.01, 0.02]
        [[axis]]
        key = "train.rule"
        values = ["bp", "dfa"]"#,
    );
    let pts = sweep::expand(&s).unwrap();
    assert_eq!(pts.len(), 3 * 2 * 2);
    assert_eq!(value(&pts[0], "device.c2c").as_float(), Some(0.0));
    assert_eq!(value(&pts[0], "train.rule").as_str(), Some("bp"));
    assert_eq!((pts[0].seed, pts[1].seed), (Some(3), Some(7)));
    assert_eq!(value(&pts[2], "train.rule").as_str(), Some("dfa"));
    assert_eq!(value(&pts[4], "device.c2c").as_float(), Some(0.01));
    assert_eq!(value(&pts[11], "device.c2c").as_float(), Some(0.02));
    for (i, p) in pts.iter().enumerate() {
        assert_eq!(p.index, i);
    }
    let mut ids: Vec<&String> = pts.iter().map(|p| &p.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), pts.len(), "ids are unique");
    // Ids depend only on the point: expanding again gives the same ones.
    let again = sweep::expand(&s).unwrap();
    assert_eq!(pts, again);
}

#[test]
fn zip_pairs_values_and_paired_keys_move_together() {
    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        mode = "zip"
        seeds = 2
        [[axis]]
        key = "device.c2c"
        values = [0.0, 0.05]
        [[axis]]
        keys = ["device.nl_ltp", "device.nl_ltd"]
        values = [[1.0, -1.0], [3.0, -2.5]]"#,
    );
    let pts = sweep::expand(&s).unwrap();
    assert_eq!(pts.len(), 2 * 2);
    assert_eq!((pts[0].seed, pts[1].seed), (Some(1), Some(2)));
    assert_eq!(value(&pts[2], "device.c2c").as_float(), Some(0.05));
    assert_eq!(value(&pts[2], "device.nl_ltp").as_float(), Some(3.0));
    assert_eq!(value(&pts[2], "device.nl_ltd").as_float(), Some(-2.5));
    assert_eq!(value(&pts[0], "device.nl_ltd").as_float(), Some(-1.0));

    let err = try_spec(
        r#"base = "../xbar_mlp_bp.toml"
        mode = "zip"
        [[axis]]
        key = "device.c2c"
        values = [0.0, 0.05]
        [[axis]]
        key = "array.adc_bits"
        values = [4, 5, 6]"#,
    )
    .and_then(|s| sweep::expand(&s))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("array.adc_bits") && err.contains("3 values"),
        "{err}"
    );
}

#[test]
fn random_draws_within_ranges_reproducibly() {
    let text = r#"base = "../xbar_mlp_bp.toml"
        mode = "random"
        samples = 50
        seed = 9
        [[axis]]
        key = "optimizer.lr"
        range = [0.001, 1.0]
        log = true
        [[axis]]
        key = "array.adc_bits"
        range = [3, 8]
        [[axis]]
        key = "device.c2c"
        range = [0.0, 0.1]
        [[axis]]
        key = "train.rule"
        values = ["bp", "dfa"]"#;
    let pts = sweep::expand(&spec(text)).unwrap();
    assert_eq!(pts.len(), 50);
    let mut rules = std::collections::HashSet::new();
    let mut below = 0;
    for p in &pts {
        let lr = value(p, "optimizer.lr").as_float().unwrap();
        assert!((0.001..=1.0).contains(&lr), "{lr}");
        below += (lr < 0.0316) as usize;
        let bits = value(p, "array.adc_bits").as_integer().unwrap();
        assert!((3..=8).contains(&bits), "{bits}");
        let c2c = value(p, "device.c2c").as_float().unwrap();
        assert!((0.0..=0.1).contains(&c2c));
        rules.insert(value(p, "train.rule").as_str().unwrap().to_string());
    }
    // Log-uniform: about half the draws lie below the geometric middle.
    assert!((10..=40).contains(&below), "{below} of 50 below the middle");
    assert_eq!(rules.len(), 2);
    assert_eq!(pts, sweep::expand(&spec(text)).unwrap());
    let other = sweep::expand(&spec(&text.replace("seed = 9", "seed = 10"))).unwrap();
    assert_ne!(pts, other);
}

#[test]
fn invalid_points_are_named_with_their_key_before_anything_runs() {
    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        seeds = 2
        [[axis]]
        key = "device.c2c"
        values = [0.01, 2.5]"#,
    );
    let err = format!("{:#}", sweep::plan(&s, None).err().expect("invalid"));
    assert!(err.contains("2 of 4 points are invalid"), "{err}");
    assert!(
        err.contains("point #2") && err.contains("point #3"),
        "{err}"
    );
    assert!(err.contains("device.c2c=2.5"), "{err}");
    assert!(!err.contains("point #0"), "{err}");

    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        [[axis]]
        key = "network.hiden"
        values = [[32]]"#,
    );
    let err = format!("{:#}", sweep::plan(&s, None).err().expect("invalid"));
    assert!(err.contains("point #0") && err.contains("hiden"), "{err}");

    let s = spec(
        r#"base = "../xbar_mlp_bp.toml"
        metrics = ["test_accuracy", "cost.area_mm2.totl"]"#,
    );
    let err = format!("{:#}", sweep::plan(&s, None).err().expect("invalid"));
    assert!(err.contains("cost.area_mm2.totl"), "{err}");
}

#[test]
fn spec_mistakes_are_reported() {
    let cases = [
        (
            "base = \"../xbar_mlp_bp.toml\"\nmode = \"random\"\n[[axis]]\nkey = \"device.c2c\"\nrange = [0.0, 0.1]",
            "samples",
        ),
        (
            "base = \"../xbar_mlp_bp.toml\"\n[[axis]]\nkey = \"seed\"\nvalues = [1, 2]",
            "seeds",
        ),
        (
            "base = \"../xbar_mlp_bp.toml\"\n[[axis]]\nkeys = [\"device.nl_ltp\", \"device.nl_ltd\"]\nvalues = [1.0]",
            "2 entries",
        ),
        ("base = \"../missing.toml\"", "missing.toml"),
    ];
    for (text, needle) in cases {
        let err = try_spec(text)
            .and_then(|s| sweep::expand(&s))
            .map(|_| ())
            .expect_err(text);
        let msg = format!("{err:#}");
        assert!(msg.contains(needle), "{needle} not in {msg}");
    }
}
