//! What users see and keep: report provenance, config-relative paths, population summaries,
//! adapter selection, plot labels and text, and plotting the robustness study's output.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use insitu::config::{self, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::experiment::{run_on, RunOptions};
use insitu::gpu::{AdapterSelector, AdapterSummary};
use insitu::plot::{self, fit_size, number_label, text_width, Band, Kind, Spread};
use insitu::provenance::{config_hash, rfc3339_utc, Provenance};
use insitu::report::{RunReport, Stats};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-ux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The shipped in-situ BP experiment shrunk to a run of a second.
fn tiny(extra: &[&str]) -> ExperimentConfig {
    let mut sets: Vec<String> = [
        "network.hidden=[16]",
        "train.epochs=1",
        "data.train_limit=256",
        "data.test_limit=128",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sets.extend(extra.iter().map(|s| s.to_string()));
    config::parse(
        include_str!("../../configs/xbar_mlp_bp.toml"),
        "test",
        &sets,
    )
    .unwrap()
}

fn train(cfg: &ExperimentConfig) -> RunReport {
    let split = data::load(&cfg.data).unwrap();
    run_on(&mut CpuBackend::new(), cfg, &split, &RunOptions::default()).unwrap()
}

#[test]
fn timestamps_are_rfc3339_utc() {
    let at = |s: u64| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(s));
    assert_eq!(at(0), "1970-01-01T00:00:00Z");
    assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
}

#[test]
fn provenance_has_every_field_and_a_stable_config_hash() {
    let adapter = AdapterSummary {
        name: "test adapter".into(),
        backend: "vulkan".into(),
        driver: "driver 1.0".into(),
        device_type: "discrete GPU".into(),
        gemm: None,
    };
    let cfg = tiny(&[]);
    let p = Provenance::capture(Some(&adapter), Some(&cfg));
    assert_eq!(p.version, env!("CARGO_PKG_VERSION"));
    assert!(!p.commit.is_empty());
    assert!(!p.command.is_empty() && !p.host.is_empty());
    assert_eq!(p.timestamp.len(), 20, "{}", p.timestamp);
    assert!(p.timestamp.ends_with('Z') && p.timestamp.as_bytes()[10] == b'T');
    assert_eq!(
        (p.backend.as_str(), p.adapter.as_str(), p.driver.as_str()),
        ("vulkan", "test adapter", "driver 1.0")
    );
    assert_eq!(p.config_hash.len(), 16);
    assert_eq!(p.config_hash, config_hash(&tiny(&[])));
    assert_ne!(p.config_hash, config_hash(&tiny(&["seed=2"])));
}

#[test]
fn run_reports_carry_provenance() {
    let cfg = tiny(&[]);
    let r = train(&cfg);
    let v = serde_json::to_value(&r).unwrap();
    let p = &v["provenance"];
    for k in [
        "version",
        "commit",
        "command",
        "timestamp",
        "host",
        "backend",
        "adapter",
        "driver",
        "config_hash",
    ] {
        assert!(p.get(k).is_some(), "provenance.{k} missing: {p}");
    }
    assert_eq!(p["backend"], "cpu");
    assert_eq!(p["config_hash"], config_hash(&cfg).as_str());
}

#[test]
fn config_paths_resolve_against_the_config_file() {
    let dir = temp_dir("paths");
    let sub = dir.join("exp");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("run.toml");
    std::fs::write(
        &file,
        "[data]\nsource = \"idx\"\npath = \"mnist\"\n[chip]\nnetlist = \"nets/NetWork.csv\"\n\
         tech_file = \"/abs/tech.toml\"\n",
    )
    .unwrap();
    let cfg = config::load(&file, &[]).unwrap();
    assert_eq!(
        cfg.data.path.as_deref().map(Path::new),
        Some(&*sub.join("mnist"))
    );
    let chip = cfg.chip.unwrap();
    assert_eq!(
        chip.netlist.as_deref().map(Path::new),
        Some(&*sub.join("nets/NetWork.csv"))
    );
    assert_eq!(chip.tech_file.as_deref(), Some("/abs/tech.toml"));
    // Command-line values stay relative to the current directory.
    let cfg = config::load(&file, &["data.path=here".into()]).unwrap();
    assert_eq!(cfg.data.path.as_deref(), Some("here"));
    // Embedded text (no file) keeps its paths as written.
    let cfg = config::parse("[data]\nsource = \"idx\"\npath = \"d\"\n", "text", &[]).unwrap();
    assert_eq!(cfg.data.path.as_deref(), Some("d"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sweep_paths_resolve_against_the_file_that_sets_them() {
    let dir = temp_dir("sweep-paths");
    std::fs::create_dir_all(dir.join("base")).unwrap();
    std::fs::create_dir_all(dir.join("sweeps")).unwrap();
    std::fs::write(
        dir.join("base/exp.toml"),
        "[data]\nsource = \"idx\"\npath = \"images\"\n",
    )
    .unwrap();
    let with_set = "base = \"../base/exp.toml\"\n[set]\n\"chip.netlist\" = \"net.csv\"\n\
                    [[axis]]\nkey = \"seed\"\nvalues = [1]\n";
    std::fs::write(dir.join("sweeps/s.toml"), with_set).unwrap();
    let s = insitu::sweep::load(&dir.join("sweeps/s.toml")).unwrap();
    let cfg = s.config(&s.fixed).unwrap();
    let base_dir = dir.join("sweeps").join("../base");
    assert_eq!(
        cfg.data.path.as_deref().map(Path::new),
        Some(&*base_dir.join("images"))
    );
    assert_eq!(
        cfg.chip.unwrap().netlist.as_deref().map(Path::new),
        Some(&*dir.join("sweeps/net.csv"))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stats_are_mean_sample_std_min_max() {
    let s = Stats::of(&[0.8, 0.9, 1.0]);
    assert!((s.mean - 0.9).abs() < 1e-12);
    assert!((s.std - 0.1).abs() < 1e-12);
    assert_eq!((s.min, s.max, s.n), (0.8, 1.0, 3));
    let one = Stats::of(&[0.5]);
    assert_eq!((one.mean, one.std), (0.5, 0.0));
}

#[test]
fn population_result_is_the_mean_and_every_instance_keeps_its_knobs() {
    let cfg = tiny(&["population=[{seed=3}, {seed=4, c2c=0.05, nl_ltp=3.0, d2d=0.1, lr=0.05}]"]);
    let r = train(&cfg);
    assert_eq!(r.instances.len(), 2);
    let accs: Vec<f64> = r.instances.iter().map(|i| i.test_accuracy).collect();
    let mean = (accs[0] + accs[1]) / 2.0;
    assert!((r.final_.as_ref().unwrap().test_accuracy - mean).abs() < 1e-12);
    assert!((r.epochs[0].test_accuracy - mean).abs() < 1e-12);
    let sp = r.spread.as_ref().expect("a population has a spread");
    assert_eq!(sp.test_accuracy.n, 2);
    assert_eq!(sp.test_accuracy.min, accs[0].min(accs[1]));
    assert_eq!(sp.test_accuracy.max, accs[0].max(accs[1]));
    let dev = cfg.device.clone().unwrap();
    let k0 = r.instances[0].knobs.unwrap();
    let k1 = r.instances[1].knobs.unwrap();
    assert_eq!((k0.c2c, k0.nl_ltp, k0.d2d), (dev.c2c, dev.nl_ltp, dev.d2d));
    assert_eq!((k1.c2c, k1.nl_ltp, k1.d2d), (0.05, 3.0, 0.1));
    assert_eq!(k1.nl_ltd, dev.nl_ltd);
    assert_eq!((r.instances[1].seed, r.instances[1].lr), (4, 0.05));
    // The JSON holds the knobs beside each instance's numbers.
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["instances"][1]["c2c"], 0.05);
    assert!(v["spread"]["test_accuracy"]["std"].is_number());
    // One instance: no spread, the run itself.
    assert!(train(&tiny(&[])).spread.is_none());
}

#[test]
fn adapters_are_chosen_by_index_or_name() {
    assert_eq!(AdapterSelector::parse("3"), AdapterSelector::Index(3));
    assert_eq!(AdapterSelector::parse(" 0 "), AdapterSelector::Index(0));
    assert_eq!(
        AdapterSelector::parse("NVIDIA H100"),
        AdapterSelector::Name("nvidia h100".into())
    );
    assert_eq!(
        AdapterSelector::parse("llvmpipe"),
        AdapterSelector::Name("llvmpipe".into())
    );
}

#[test]
fn tick_labels_are_short_numbers() {
    for (v, s) in [
        (0.0, "0"),
        (0.02, "0.02"),
        (80.0, "80"),
        (-0.5, "-0.5"),
        (1000.0, "1000"),
        (0.0001234, "1.23e-4"),
        (2.5e-9, "2.5e-9"),
        (3.0e6, "3e6"),
        (1.23456, "1.2346"),
    ] {
        assert_eq!(number_label(v), s, "{v}");
    }
}

#[test]
fn long_labels_shrink_to_fit() {
    let long = "BP vs DFA trained in situ on FeFET-like crossbars: 6-bit ADC, NL 1.75/-1.46, \
                c2c 0 to 0.08, 4 seeds, mean and standard deviation";
    let size = fit_size(long, 870.0, 20.0);
    assert!(size < 20.0);
    assert!(text_width(long, size) <= 870.0 || size == 9.0);
    assert_eq!(fit_size("short", 870.0, 20.0), 20.0);
    // Monospaced: the dot takes a whole cell, like a digit.
    let w = text_width("40.0", 14.0);
    assert!((w - 4.0 * text_width("0", 14.0)).abs() < 1e-3, "{w}");
}

/// The dot is drawn inside its own cell (plotters alone draws it at the cell's left edge).
#[test]
fn png_text_keeps_each_glyphs_side_bearing() {
    use plotters::prelude::*;
    let font =
        ab_glyph::FontRef::try_from_slice(include_bytes!("../../src/plot/DejaVuSansMono.ttf"))
            .unwrap();
    let (w, h) = (200u32, 80u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let backend =
            plot::text::GlyphText::new(BitMapBackend::with_buffer(&mut buf, (w, h)), font);
        let root = backend.into_drawing_area();
        plot::register_font().unwrap();
        root.fill(&WHITE).unwrap();
        let style = (plot::FAMILY, 40.0).into_font().color(&BLACK);
        root.draw(&Text::new("0.0", (10, 10), style)).unwrap();
        root.present().unwrap();
    }
    // Ink columns of the text.
    let ink: Vec<u32> = (0..w)
        .filter(|&x| (0..h).any(|y| buf[((y * w + x) * 3) as usize] < 128))
        .collect();
    let cell = text_width("0", 40.0);
    // Columns of the middle cell (the dot) hold ink only away from the cell's edges.
    let (lo, hi) = (cell as u32 + 10, (2.0 * cell) as u32 + 10);
    let dot: Vec<u32> = ink.iter().copied().filter(|&x| x >= lo && x < hi).collect();
    assert!(!dot.is_empty(), "no dot drawn: {ink:?}");
    let first = dot[0] - lo;
    let last = hi - 1 - dot[dot.len() - 1];
    assert!(
        first > 3 && last > 3,
        "the dot is not centred in its cell: {first} px left, {last} px right"
    );
}

#[test]
fn robustness_output_plots() {
    let dir = temp_dir("robustness-plot");
    let csv = "knob,value,rule,test_accuracy,stopped\n\
               c2c,0,bp,0.81,\nc2c,0.01,bp,0.80,\nc2c,0,dfa,0.70,\nc2c,0.01,dfa,0.65,\n\
               adc_bits,4,bp,0.79,\nadc_bits,4,dfa,0.36,\n";
    std::fs::write(dir.join("robustness.csv"), csv).unwrap();
    let records = plot::sources::read_any(&dir).unwrap();
    assert_eq!(records.len(), 6);
    assert_eq!(records[1].overrides["c2c"], 0.01);
    assert_eq!(records[2].overrides["train.rule"], "dfa");
    let out = dir.join("c2c.svg");
    plot::plot(&plot::Options {
        logs: vec![dir.clone()],
        kind: Kind::Knob,
        x: Some("c2c".into()),
        y: None,
        group: Some("train.rule".into()),
        wheres: vec![],
        band: Band::Std,
        spread: Spread::Bars,
        title: None,
        out: out.clone(),
    })
    .unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("dfa") && svg.contains("c2c"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn shipped_sweep_csv_reads_back_as_records() {
    let text = std::fs::read_to_string("docs/figures/robustness.csv").unwrap();
    let records = plot::sources::from_csv(&text).unwrap();
    assert_eq!(records.len(), 240);
    let r = &records[0];
    assert_eq!(r.overrides["train.rule"], "bp");
    assert!(r.overrides.contains_key("device.c2c"));
    assert!(r.metrics["test_accuracy"].is_number());
    assert_eq!(r.seed, Some(1));
}

#[test]
fn the_demo_trains_in_situ_unless_asked_for_float() {
    let cfgs = insitu::cli::demo::configs(false, None).unwrap();
    assert_eq!(cfgs.len(), 2);
    for (c, rule) in cfgs.iter().zip(["BP", "DFA"]) {
        assert!(c.array.is_some(), "in situ");
        assert_eq!(c.train.rule.to_string(), rule);
        assert_eq!(c.network.hidden, vec![128, 128]);
        assert_eq!(c.train.epochs, 3);
    }
    let float = insitu::cli::demo::configs(true, Some(2)).unwrap();
    assert!(float
        .iter()
        .all(|c| c.array.is_none() && c.train.epochs == 2));
}
