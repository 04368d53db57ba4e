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
