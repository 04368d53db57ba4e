//! Property tests of every reader of outside input: IDX and CIFAR files, safetensors models,
//! NetWork.csv, experiment TOML with overrides, and sweep specs. Whatever the bytes, a reader
//! returns a value or an error; it never panics, aborts or hangs. Case counts are bounded so the
//! set runs in seconds; inputs that once broke a reader live in `tests/fuzz_corpus/` and are
//! replayed by `corpus_inputs_are_refused_cleanly`.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus")
}

/// Runs `test` on `cases` inputs from `strategy` and returns how many ran.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u32 {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner.run(&strategy, test).unwrap();
    cases
}

/// An IDX header with small or extreme dimensions and a payload of up to 64 bytes.
fn idx_bytes() -> impl Strategy<Value = Vec<u8>> {
    let dim = prop_oneof![0u32..5, Just(65535u32), Just(u32::MAX), any::<u32>()];
    (
        prop_oneof![Just(0x0803u32), Just(0x0801u32), any::<u32>()],
        dim.clone(),
        dim.clone(),
        dim,
        proptest::collection::vec(any::<u8>(), 0..64),
        0usize..20,
    )
        .prop_map(|(magic, n, h, w, payload, cut)| {
            let mut b = magic.to_be_bytes().to_vec();
            for d in [n, h, w] {
                b.extend(d.to_be_bytes());
            }
            b.extend(payload);
            b.truncate(b.len().saturating_sub(cut));
            b
        })
}

#[test]
fn idx_readers_never_panic() {
    use insitu::data::idx::{parse_images, parse_labels};
    let n = check(2000, idx_bytes(), |b| {
        if let Ok(im) = parse_images(&b, "fuzz") {
            prop_assert_eq!(im.pixels.len(), im.n * im.h * im.w);
            prop_assert!(im.h <= insitu::limits::MAX_SIDE && im.w <= insitu::limits::MAX_SIDE);
        }
        if let Ok(l) = parse_labels(&b, "fuzz") {
            prop_assert_eq!(l.len() + 8, b.len());
        }
        Ok(())
    });
    let m = check(500, proptest::collection::vec(any::<u8>(), 0..128), |b| {
        let _ = parse_images(&b, "fuzz");
        let _ = parse_labels(&b, "fuzz");
        let _ = insitu::data::file::gunzip_if_needed(b, "fuzz");
        Ok(())
    });
    eprintln!("idx: {} cases", n + m);
}

#[test]
fn cifar_reader_never_panics() {
    use insitu::data::cifar::{parse_batch, RECORD};
    let n = check(
        300,
        (0usize..3, any::<u8>(), 0usize..3, any::<u8>()).prop_map(|(records, label, extra, v)| {
            let mut b = vec![v; records * RECORD + extra];
            if !b.is_empty() {
                b[0] = label;
            }
            b
        }),
        |b| {
            if let Ok(d) = parse_batch(&b, "fuzz") {
                prop_assert!(d.labels.iter().all(|&l| l < 10));
                prop_assert_eq!(d.pixels.len(), d.labels.len() * 3072);
            }
            Ok(())
        },
    );
    eprintln!("cifar: {n} cases");
}

fn model_bytes() -> Vec<u8> {
    let m =
        insitu::nn::model::Model::init("C4b-R4-M-FC3", [1, 6, 6], 3, insitu::config::Init::He, 1)
            .unwrap();
    insitu::model_io::to_bytes(&m)
}

#[test]
fn safetensors_reader_never_panics() {
    use insitu::model_io::from_bytes;
    let good = model_bytes();
    assert!(from_bytes(&good).is_ok());
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    // Byte flips and cuts anywhere, most of them in the JSON header where the structure is.
    let edits =
        proptest::collection::vec((0..8 + header_len + 64, any::<u8>(), any::<bool>()), 1..6);
    let n = check(1500, (edits, 0usize..64), |(edits, cut)| {
        let mut b = good.clone();
        for (at, v, set) in edits {
            let at = at.min(b.len() - 1);
            b[at] = if set { v } else { b[at] ^ v };
        }
        b.truncate(b.len() - cut.min(b.len()));
        if let Ok(m) = from_bytes(&b) {
            m.validate()
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        }
        Ok(())
    });
    // Headers that are valid JSON with hostile numbers.
    let hostile = prop_oneof![
        Just("18446744073709551615".to_string()),
        Just("0".to_string()),
        Just("4294967296".to_string()),
        Just("-1".to_string()),
        (0u64..100).prop_map(|v| v.to_string()),
    ];
    let m = check(
        500,
        (hostile.clone(), hostile.clone(), hostile.clone(), hostile),
        |(a, b, c, d)| {
            let header = format!(
                "{{\"__metadata__\":{{\"format\":\"insitu-cnn\",\"input\":\"1,{a},{b}\",\
                 \"layers.0\":\"conv k={c} stride={d} pad=0 pool=none\"}},\
                 \"layers.0.weight\":{{\"dtype\":\"F32\",\"shape\":[{a},{b},{c},{d}],\
                 \"data_offsets\":[0,{d}]}},\"layers.0.bias\":{{\"dtype\":\"F32\",\
                 \"shape\":[{a}],\"data_offsets\":[0,{c}]}}}}"
            );
            let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
            bytes.extend(header.as_bytes());
            bytes.extend([0u8; 64]);
            let _ = from_bytes(&bytes);
            Ok(())
        },
    );
    eprintln!("safetensors: {} cases", n + m);
}

#[test]
fn netlist_reader_never_panics() {
    use insitu::chip::netlist::parse;
    let cell = prop_oneof![
        (0u64..40).prop_map(|v| v.to_string()),
        Just("1e30".to_string()),
        Just("18446744073709551615".to_string()),
        Just("1e18".to_string()),
        Just("-1".to_string()),
        Just("2.5".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("".to_string()),
        "[a-z#]{0,3}",
    ];
    let row = proptest::collection::vec(cell, 0..10).prop_map(|c| c.join(","));
    let n = check(2000, proptest::collection::vec(row, 0..5), |rows| {
        let text = rows.join("\n");
        if let Ok(layers) = parse(&text, "fuzz.csv") {
            for l in &layers {
                prop_assert!(l.fan_in * l.fan_out <= insitu::limits::MAX_LAYER_WEIGHTS);
            }
        }
        Ok(())
    });
    eprintln!("netlist: {n} cases");
}

/// `--set` overrides drawn from the experiment's fields with awkward values.
fn overrides() -> impl Strategy<Value = Vec<String>> {
    let key = prop_oneof![
        Just("network.hidden"),
        Just("network.arch"),
        Just("network.input"),
        Just("train.epochs"),
        Just("train.batch_size"),
        Just("train.max_loss"),
        Just("optimizer.lr"),
        Just("optimizer.momentum"),
        Just("array.rows"),
        Just("array.cols"),
        Just("array.adc_bits"),
        Just("array.weight_bits"),
        Just("array.cell_bits"),
        Just("device.preset"),
        Just("device.levels"),
        Just("device.c2c"),
        Just("data.classes"),
        Just("data.train_limit"),
        Just("population"),
        Just("chip.node_nm"),
        Just("chip.subarrays_per_pe"),
        Just("compress.rank"),
        Just("seed"),
    ];
    let value = prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1e300".to_string()),
        Just("nan".to_string()),
        Just("18446744073709551615".to_string()),
        Just("[65536, 65536]".to_string()),
        Just("[0]".to_string()),
        Just("[]".to_string()),
        Just("\"C4294967296-FC10\"".to_string()),
        Just("\"FC256-FC10\"".to_string()),
        Just("\"C16p9999-FC10\"".to_string()),
        Just("\"C8-M-M-FC10\"".to_string()),
        Just("\"R8-FC10\"".to_string()),
        Just("[3, 32, 32]".to_string()),
        Just("[{lr=1e300}]".to_string()),
        Just("[{c2c=0.5}]".to_string()),
        Just("\"rram\"".to_string()),
        Just("{a=1}".to_string()),
        (0u32..300).prop_map(|v| v.to_string()),
        "[a-z]{0,4}",
    ];
    proptest::collection::vec((key, value).prop_map(|(k, v)| format!("{k}={v}")), 0..5)
}

#[test]
fn experiment_parser_never_panics() {
    let base = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/xbar_mlp_bp.toml"),
    )
    .unwrap();
    let n = check(1500, (overrides(), any::<bool>()), |(sets, with_base)| {
        let text = if with_base { base.as_str() } else { "" };
        if let Ok(cfg) = insitu::config::parse(text, "fuzz.toml", &sets) {
            // A valid experiment estimates (shapes only) without panicking.
            let _ = insitu::chip::experiment::report(&cfg, None);
        }
        Ok(())
    });
    let m = check(500, "[ -~\n]{0,120}", |text| {
        let _ = insitu::config::parse(&text, "fuzz.toml", &[]);
        Ok(())
    });
    eprintln!("experiment toml: {} cases", n + m);
}

#[test]
fn sweep_spec_reader_never_panics() {
    let dir = std::env::temp_dir().join(format!("insitu-fuzz-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("base.toml"), "[train]\nepochs = 1\n").unwrap();
    let values = prop_oneof![
        Just("[0, 0.0]".to_string()),
        Just("[]".to_string()),
        Just("[1, 2, 3]".to_string()),
        Just("[[1, 2], [3]]".to_string()),
        Just("[\"bp\", \"dfa\"]".to_string()),
        Just("[1e300, -1]".to_string()),
    ];
    let axis = (
        prop_oneof![
            Just("optimizer.lr"),
            Just("seed"),
            Just("train.rule"),
            Just("device.c2c")
        ],
        values,
        prop_oneof![Just(""), Just("range = [0.1, 1.0]\n"), Just("log = true\n")],
    )
        .prop_map(|(k, v, extra)| format!("[[axis]]\nkey = \"{k}\"\nvalues = {v}\n{extra}"));
    let head = (
        prop_oneof![Just("grid"), Just("zip"), Just("random"), Just("x")],
        prop_oneof![
            Just("".to_string()),
            Just("seeds = 1000000000000\n".to_string()),
            Just("seeds = 0\n".to_string()),
            Just("seeds = [1, 1]\n".to_string()),
            (1u64..5).prop_map(|n| format!("seeds = {n}\n")),
        ],
        prop_oneof![
            Just("".to_string()),
            Just("samples = 1000000000000\n".to_string()),
            Just("samples = 3\n".to_string()),
            Just("max_population = 0\n".to_string()),
        ],
    );
    let n = check(
        800,
        (head, proptest::collection::vec(axis, 0..4)),
        |((mode, seeds, samples), axes)| {
            let text = format!(
                "base = \"base.toml\"\nmode = \"{mode}\"\n{seeds}{samples}{}",
                axes.join("")
            );
            if let Ok(s) = insitu::sweep::spec::parse(&text, &dir.join("s.toml")) {
                if let Ok(points) = insitu::sweep::expand(&s) {
                    prop_assert!(points.len() <= insitu::limits::MAX_POINTS);
                    let _ = insitu::sweep::plan(&s, None);
                }
            }
            Ok(())
        },
    );
    eprintln!("sweep spec: {n} cases");
}

/// Every file of the corpus is refused with an error (each once crashed, hung or was wrongly
/// accepted); the file's extension says which reader it is for.
#[test]
fn corpus_inputs_are_refused_cleanly() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let refused = match path.extension().and_then(|e| e.to_str()) {
            Some("idx") => insitu::data::idx::parse_images(&bytes, &name).is_err(),
            Some("safetensors") => insitu::model_io::from_bytes(&bytes).is_err(),
            Some("csv") => insitu::chip::netlist::parse(&text, &name).is_err(),
            Some("toml") if name.starts_with("sweep") => {
                std::fs::write(corpus_tmp().join("base.toml"), "").unwrap();
                let s = insitu::sweep::spec::parse(&text, &corpus_tmp().join(&name)).unwrap();
                insitu::sweep::expand(&s).is_err()
            }
            Some("toml") => insitu::config::parse(&text, &name, &[]).is_err(),
            _ => continue,
        };
        assert!(refused, "{name} was accepted");
        seen += 1;
    }
    assert!(seen >= 8, "corpus has {seen} inputs");
}

fn corpus_tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("insitu-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
