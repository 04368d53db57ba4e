//! What a sweep leaves behind: a CSV that parses, and plots in SVG and PNG.

use std::path::{Path, PathBuf};

use insitu::cli::backend::BackendKind;
use insitu::plot::{self, Band, Kind};
use insitu::sweep;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-output-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn smoke_run(out: &Path) {
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/sweeps/smoke.toml");
    let s = sweep::load(&spec).unwrap();
    let o = sweep::Options {
        out: out.to_path_buf(),
        resume: true,
        shard: None,
        max_population: None,
        backend: BackendKind::Cpu,
        adapter: None,
        stop_after: None,
        progress: false,
    };
    sweep::run(&s, &o).unwrap();
}

/// RFC 4180 fields of one line.
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    assert!(!quoted, "unterminated quote in {line}");
    out
}

#[test]
fn csv_has_a_header_and_one_row_per_point() {
    let dir = tmp("csv");
    smoke_run(&dir);
    let text = std::fs::read_to_string(dir.join("points.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9);
    let header = fields(lines[0]);
    for col in [
        "id",
        "status",
        "device.c2c",
        "train.rule",
        "seed",
        "test_accuracy",
        "cost.area_mm2.total",
        "cost.area_mm2.breakdown.adc",
    ] {
        assert!(header.iter().any(|h| h == col), "{col} not in {header:?}");
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (i, line) in lines[1..].iter().enumerate() {
        let f = fields(line);
        assert_eq!(f.len(), header.len(), "row {i}: {line}");
        assert_eq!(f[col("index")], i.to_string());
        assert_eq!(f[col("status")], "ok");
        let acc: f64 = f[col("test_accuracy")].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        let _: f64 = f[col("device.c2c")].parse().unwrap();
        assert!(f[col("train.rule")] == "bp" || f[col("train.rule")] == "dfa");
    }
    // Quoting: a value with commas and quotes stays one field.
    let mut r = sweep::log::read(&dir.join("points.jsonl")).unwrap().0[0].clone();
    r.error = Some("bad \"value\", here".into());
    let one = sweep::csv::render(&[r]);
    let row = fields(one.lines().nth(1).unwrap());
    assert_eq!(row.last().unwrap(), "bad \"value\", here");
    let _ = std::fs::remove_dir_all(dir);
}

fn opts(dir: &Path, kind: Kind, x: Option<&str>, out: &str) -> plot::Options {
    plot::Options {
        logs: vec![dir.to_path_buf()],
        kind,
        x: x.map(String::from),
        y: None,
        group: Some("train.rule".into()),
        wheres: vec![],
        band: Band::MinMax,
        spread: plot::Spread::Band,
        title: None,
        out: dir.join(out),
    }
}

#[test]
fn plots_write_svg_and_png() {
    let dir = tmp("plot");
    smoke_run(&dir);
    for (kind, x, name) in [
        (Kind::Knob, Some("device.c2c"), "knob"),
        (Kind::Curves, None, "curves"),
        (Kind::Bars, Some("train.rule"), "bars"),
    ] {
        for ext in ["svg", "png"] {
            let file = format!("{name}.{ext}");
            let mut o = opts(&dir, kind, x, &file);
            if kind == Kind::Bars {
                o.group = None;
            }
            plot::plot(&o).unwrap_or_else(|e| panic!("{file}: {e:#}"));
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            assert!(bytes.len() > 1000, "{file}: {} bytes", bytes.len());
            if ext == "png" {
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{file}");
            } else {
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.contains("<svg") && text.contains("dfa"), "{file}");
            }
        }
    }
    // Unknown keys are named with the ones there are.
    let err = plot::plot(&opts(&dir, Kind::Knob, Some("device.c2"), "x.svg")).unwrap_err();
    assert!(format!("{err:#}").contains("device.c2c"), "{err:#}");
    let _ = std::fs::remove_dir_all(dir);
}
