//! Records the git commit the binary is built from (`INSITU_GIT_COMMIT`), for report
//! provenance. Outside a git checkout (a source tarball) it is "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether the crate is the top of its own git checkout (not, say, a source tarball unpacked
/// inside some other repository, whose commit would say nothing about this code).
fn own_checkout() -> bool {
    let here = std::env::var("CARGO_MANIFEST_DIR").ok();
    let top = git(&["rev-parse", "--show-toplevel"]);
    match (here, top) {
        (Some(h), Some(t)) => {
            let canon = |p: &str| std::fs::canonicalize(p).ok();
            canon(&h).is_some() && canon(&h) == canon(&t)
        }
        _ => false,
    }
}

fn main() {
    let head = own_checkout()
        .then(|| git(&["rev-parse", "HEAD"]))
        .flatten();
    let commit = match head {
        Some(hash) => {
            // Uncommitted changes to tracked files: the hash alone would not reproduce the build.
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
            if dirty {
                format!("{hash}-dirty")
            } else {
                hash
            }
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=INSITU_GIT_COMMIT={commit}");
    // Rerun when HEAD moves (checkout, commit) or the index or the sources change.
    for what in ["HEAD", "index"] {
        if let Some(p) = git(&["rev-parse", "--git-path", what]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &r]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    for dir in ["src", "shaders", "configs", "build.rs", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
