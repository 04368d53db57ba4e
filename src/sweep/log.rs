//! The result log: one JSON line per finished point, appended and flushed as it finishes, so
//! that a killed sweep loses only the points in flight. A torn last line (killed mid-write) is
//! dropped when the log is reopened.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::metrics::EpochRow;

pub const LOG: &str = "points.jsonl";
pub const CSV: &str = "points.csv";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    /// The point's training loss diverged (its `error` says where).
    Diverged,
}

/// One finished point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub index: usize,
    pub overrides: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub metrics: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<Vec<EpochRow>>,
    /// Wall time of the run that produced the point, divided by the points it trained.
    pub seconds: f64,
    /// Points trained together in that run.
    pub population: usize,
    pub adapter: String,
    pub backend: String,
    pub version: String,
    /// Git commit of the code that produced the point (see `Provenance`).
    #[serde(default)]
    pub commit: String,
}

/// Reads a log; a torn final line is skipped. Returns the records and the byte length of the
/// complete lines.
pub fn read(path: &Path) -> anyhow::Result<(Vec<Record>, u64)> {
    let f = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = BufReader::new(f);
    let mut records = Vec::new();
    let mut good = 0u64;
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let len = reader.read_line(&mut line)?;
        if len == 0 {
            break;
        }
        n += 1;
        let complete = line.ends_with('\n');
        match serde_json::from_str::<Record>(line.trim_end()) {
            Ok(r) if complete => {
                records.push(r);
                good += len as u64;
            }
            // Only the last line can be torn by a kill; anything else is corruption.
            _ if !complete => break,
            Ok(_) => unreachable!(),
            Err(e) => anyhow::bail!("{}:{n}: not a point record: {e}", path.display()),
        }
    }
    Ok((records, good))
}

/// Appends records, each flushed to the file system before the next point starts.
pub struct Writer {
    file: File,
    pub path: PathBuf,
}

impl Writer {
    /// Opens `dir/points.jsonl` for appending, cutting a torn last line; returns the records
    /// already there.
    pub fn open(dir: &Path) -> anyhow::Result<(Writer, Vec<Record>)> {
        let path = dir.join(LOG);
        let records = if path.exists() {
            let (records, good) = read(&path)?;
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(good)?;
            records
        } else {
            vec![]
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok((Writer { file, path }, records))
    }

    pub fn append(&mut self, r: &Record) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(r)?;
        line.push(b'\n');
        // One write per line: a kill leaves whole lines and at most one torn one.
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        Ok(())
    }
}
