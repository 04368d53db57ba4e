//! Output paths are checked before any work starts: an hour of training must not end in
//! "No such file or directory". Errors name the path.

use std::path::Path;

use anyhow::Context;

/// Creates `dir` (and its parents) and checks a file can be written in it.
pub fn check_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{what} {}: cannot create the directory", dir.display()))?;
    let probe = dir.join(format!(".insitu-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("{what} {}: the directory is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Checks that the file `path` can be written: its directory exists (it is created) and is
/// writable, and `path` itself is not a directory.
pub fn check_file(path: &Path, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.is_dir(),
        "{what} {}: is a directory; give a file name",
        path.display()
    );
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_dir(parent, what).with_context(|| format!("{what} {}", path.display()))
}

/// `check_file` on each given path.
pub fn check_files(paths: &[(&Option<std::path::PathBuf>, &str)]) -> anyhow::Result<()> {
    for (p, what) in paths {
        if let Some(p) = p {
            check_file(p, what)?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path`, the error naming the path.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
