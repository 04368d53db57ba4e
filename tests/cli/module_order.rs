//! The module order: every `crate::` path in `src/` names a module at the same layer or below
//! its own. Layers, bottom first (docs/architecture.md):
//!
//! config/limits/progress/sgemm -> rng -> xbar -> backend -> cpu, gpu -> nn, data, model_io ->
//! train, provenance -> chip -> compress, sweep, study, bench -> plot -> cli.
//!
//! The imports that still point up are listed in `KNOWN_UPWARD`; the test fails when a new one
//! appears and when a listed one is gone (so the list only shrinks).

use std::collections::BTreeSet;
use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["config", "limits", "progress", "sgemm"],
    &["rng"],
    &["xbar"],
    &["backend"],
    &["cpu", "gpu"],
    &["nn", "data", "model_io"],
    &["train", "provenance"],
    &["chip"],
    &["compress", "sweep", "study", "bench"],
    &["plot"],
    &["cli"],
];

/// Upward imports that remain, as (module, imported module).
const KNOWN_UPWARD: &[(&str, &str)] = &[
    ("config", "backend"),
    ("config", "chip"),
    ("config", "compress"),
    ("config", "data"),
    ("config", "nn"),
    ("config", "xbar"),
    ("cpu", "data"),
    ("nn", "chip"),
    ("nn", "train"),
    ("provenance", "sweep"),
    ("sweep", "cli"),
    ("train", "chip"),
];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no layer in tests/module_order.rs"))
}

/// The top-level module of a file under `src/` (`src/xbar/read.rs` -> `xbar`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `crate::name` paths in code (comment lines skipped).
fn imported(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn no_new_upward_imports() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = BTreeSet::new();
    let mut new = Vec::new();
    for f in &files {
        let Some(from) = module_of(&src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for to in imported(&text) {
            if to == from || layer(&to) <= layer(&from) {
                continue;
            }
            upward.insert((from.clone(), to.clone()));
            if !KNOWN_UPWARD.contains(&(from.as_str(), to.as_str())) {
                new.push(format!("{} imports crate::{to}", f.display()));
            }
        }
    }
    assert!(
        new.is_empty(),
        "imports that point up the module order:\n{}",
        new.join("\n")
    );
    let gone: Vec<_> = KNOWN_UPWARD
        .iter()
        .filter(|(a, b)| !upward.contains(&(a.to_string(), b.to_string())))
        .collect();
    assert!(
        gone.is_empty(),
        "no longer imported, remove from KNOWN_UPWARD: {gone:?}"
    );
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(m) = line.trim().strip_prefix("pub mod ") {
            layer(m.trim_end_matches(';'));
        }
    }
}
