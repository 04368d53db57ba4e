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

fn main() {
    let commit = match git(&["rev-parse", "HEAD"]) {
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
