//! Bad experiment files get errors that name the field, the value and what is allowed.

use insitu::config::parse;

fn err(text: &str, sets: &[&str]) -> String {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    match parse(text, "exp.toml", &sets) {
        Ok(_) => panic!("expected an error for {text:?} {sets:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_field_is_named() {
    let e = err("[train]\nepocs = 3\n", &[]);
    assert!(e.contains("epocs") && e.contains("exp.toml"), "{e}");
}

#[test]
fn bad_values_name_field_value_and_range() {
    let e = err("[train]\nbatch_size = 0\n", &[]);
    assert!(
        e.contains("train.batch_size") && e.contains('0') && e.contains("1..=65536"),
        "{e}"
    );
    let e = err("", &["optimizer.momentum=1.5"]);
    assert!(e.contains("optimizer.momentum") && e.contains("1.5"), "{e}");
    let e = err("[network]\ninit = \"zero\"\n", &[]);
    assert!(e.contains("network.init"), "{e}");
    let e = err("[array]\nparallel_rows = 200\n", &[]);
    assert!(
        e.contains("array.parallel_rows") && e.contains("200"),
        "{e}"
    );
    let e = err("[train]\nrule = \"hebb\"\n", &[]);
    assert!(
        e.contains("hebb") && e.contains("bp") && e.contains("dfa"),
        "{e}"
    );
    let e = err("", &["population=[{lr=-1.0}]"]);
    assert!(e.contains("population[0].lr"), "{e}");
}

#[test]
fn set_overrides_apply() {
    let cfg = parse(
        "",
        "x",
        &["train.epochs=3".into(), "network.hidden=[10]".into()],
    )
    .unwrap();
    assert_eq!(cfg.train.epochs, 3);
    assert_eq!(cfg.network.hidden, vec![10]);
    let e = parse("", "x", &["train.epochs".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("key=value"), "{e}");
}

#[test]
fn shipped_configs_parse() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/configs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            insitu::config::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn optimizer_and_augment_fields_are_checked() {
    let e = err("[data]\naugment = \"rotate\"\n", &[]);
    assert!(
        e.contains("rotate") && e.contains("crop_flip") && e.contains("augment"),
        "{e}"
    );
    let e = err("[data]\naugment = \"crop_flip\"\ncrop_pad = 0\n", &[]);
    assert!(e.contains("data.crop_pad") && e.contains("1..=64"), "{e}");
    let e = err(
        "[data]\naugment = \"crop\"\ncrop_pad = 8\n[network]\ninput = [3, 8, 8]\n",
        &[],
    );
    assert!(e.contains("data.crop_pad") && e.contains("8 x 8"), "{e}");
    let e = err("", &["optimizer.lr_drops=[0.5, 1.5]"]);
    assert!(e.contains("optimizer.lr_drops") && e.contains("1.5"), "{e}");
    let e = err("", &["optimizer.lr_decay=0.0"]);
    assert!(
        e.contains("optimizer.lr_decay") && e.contains("(0, 1]"),
        "{e}"
    );
    let e = err("", &["optimizer.nesterov=true", "optimizer.momentum=0.0"]);
    assert!(e.contains("optimizer.nesterov"), "{e}");
    let e = err("[optimizer]\nlr_drops = [0.5]\n[array]\n", &[]);
    assert!(
        e.contains("optimizer.lr_drops") && e.contains("[array]"),
        "{e}"
    );
    let cfg = parse(
        "[data]\naugment = \"crop_flip\"\n[optimizer]\nnesterov = true\nlr_drops = [0.5]\n",
        "x",
        &[],
    )
    .unwrap();
    assert_eq!(cfg.data.crop_pad, 4);
    assert!(cfg.optimizer.nesterov);
}
