//! The cost model against DNN+NeuroSim's own estimators, case by case.
//!
//! `tests/fixtures/neurosim/matrix.json` holds figures regenerated from the NeuroSim code
//! (version, commit, settings and inputs of each case; `scripts/neurosim_matrix.py` reproduces
//! them). This test estimates every case with the same settings and the same fixed input bit
//! densities, prints the ratio insitu / NeuroSim of every figure, and fails when a ratio leaves
//! the bounds stored in `tests/fixtures/neurosim/bounds.json` (a regression either way).
//! `INSITU_WRITE_BOUNDS=1` rewrites the bounds around today's ratios.

use std::collections::BTreeMap;

use insitu::chip::{
    estimate, netlist, ChipConfig, ChipReport, EstimateRequest, FloorplanMode, LayerActivity,
    NeurosimVersion, Rule, SignedRead, TrainingChipConfig, TrainingWorkload,
};
use insitu::config::{AdcMode, ArrayConfig, DeviceConfig, Mapping};
use serde_json::Value;

const DIR: &str = "tests/fixtures/neurosim";
/// Half-width of a stored bound around the ratio it was written from (x / 1.05 .. x * 1.05).
const BOUND_SLACK: f64 = 1.05;
/// Headline figures (of 51) that must stay within +-30% of NeuroSim, and within 2x.
const MIN_WITHIN_30: usize = 46;
const MIN_WITHIN_2X: usize = 51;

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("fixture field {k} missing in {v}"))
}

fn u(v: &Value, k: &str) -> u32 {
    f(v, k) as u32
}

/// The chip, array and device of a case, as NeuroSim set them.
fn configs(case: &Value) -> (ChipConfig, ArrayConfig, DeviceConfig) {
    let s = &case["settings"];
    let memory = s["memory"].as_str().unwrap().to_string();
    let v21 = case["version"] == "V2.1";
    let array = ArrayConfig {
        rows: u(s, "rows"),
        cols: u(s, "cols"),
        parallel_rows: u(s, "parallel_rows"),
        weight_bits: u(s, "weight_bits"),
        cell_bits: u(s, "cell_bits"),
        mapping: Mapping::Offset,
        input_bits: u(s, "input_bits"),
        dac_bits: 1,
        adc_bits: u(s, "adc_bits"),
        adc_mode: AdcMode::Unit,
        error_bits: u(s, "input_bits"),
        adc_bits_backward: if v21 {
            u(s, "adc_bits_backward")
        } else {
            u(s, "adc_bits")
        },
        mux: u(s, "mux"),
        ..ArrayConfig::default()
    };
    let device = DeviceConfig {
        technology: memory.clone(),
        g_max: 1.0 / f(s, "r_on"),
        on_off: f(s, "on_off"),
        v_read: f(s, "read_voltage"),
        t_read: f(s, "read_pulse_s"),
        v_write: f(s, "write_voltage"),
        t_write: s["write_pulse_s"].as_f64().unwrap_or(100e-9),
        levels: s["levels"].as_u64().map(|l| l as u32).unwrap_or(32),
        max_pulses_per_update: s["levels"].as_u64().map(|l| l as u32).unwrap_or(32),
        ..DeviceConfig::default()
    };
    let pipelined = s["pipelined"].as_bool().unwrap();
    let speedup = u(s, "speedup_degree");
    // V2.1 applies signed errors in two's complement, bit-serially.
    let mut training = TrainingChipConfig::default();
    if v21 {
        training.signed_error = SignedRead::TwosComplement;
    }
    let chip = ChipConfig {
        node_nm: u(s, "node"),
        training,
        floorplan: FloorplanMode::Neurosim,
        novel_mapping: s["novel"].as_bool().unwrap_or(true),
        neurosim_version: if v21 {
            NeurosimVersion::V2_1
        } else {
            NeurosimVersion::V1_4
        },
        memory: Some(memory),
        pipelined,
        speedup: speedup > 1,
        replication: speedup.max(1),
        ..ChipConfig::default()
    };
    (chip, array, device)
}

/// (figure name, insitu, NeuroSim) of a case. Headline figures are area, latency (cycle time
/// when pipelined) and dynamic energy; training cases add their phases per epoch.
fn figures(case: &Value, r: &ChipReport) -> Vec<(String, f64, f64, bool)> {
    let n = &case["figures"];
    // Area in named blocks: V1.4's total is a layout bounding box that level shifters (writes
    // above 1.5 V) widen beyond the blocks; it is listed too, but not as a headline figure.
    let blocks: f64 = [
        "area_array_um2",
        "area_ic_um2",
        "area_adc_um2",
        "area_accum_um2",
        "area_other_um2",
    ]
    .iter()
    .map(|k| f(n, k))
    .sum::<f64>()
        + n["area_wg_um2"].as_f64().unwrap_or(0.0);
    // A training case is held against the training chip, an inference case the inference chip.
    let area = r
        .training_chip
        .as_ref()
        .map_or(r.area_mm2.total, |c| c.area_mm2.total);
    let mut out = vec![
        ("area mm2".to_string(), area, blocks / 1e6, true),
        (
            "bounding box mm2".to_string(),
            area,
            f(n, "area_um2") / 1e6,
            false,
        ),
    ];
    if case["version"] == "V1.4" {
        let i = &r.inference;
        let lat = if i.pipelined {
            1.0 / i.images_per_s
        } else {
            i.latency_s
        };
        let name = if i.pipelined {
            "cycle us"
        } else {
            "latency us"
        };
        out.push((name.into(), lat * 1e6, f(n, "latency_ns") / 1e3, true));
        out.push((
            "energy uJ".into(),
            i.dynamic_energy_j * 1e6,
            f(n, "energy_pj") / 1e6,
            true,
        ));
        return out;
    }
    match &r.training {
        // With training estimation off, V2.1's "per epoch" figures are those of one image.
        None => {
            let images = 1.0;
            let i = &r.inference;
            out.push((
                "latency us".into(),
                i.latency_s * 1e6,
                f(n, "fw_latency_ns_epoch") / 1e3 / images,
                true,
            ));
            out.push((
                "energy uJ".into(),
                i.dynamic_energy_j * 1e6,
                f(n, "fw_energy_pj_epoch") / 1e6 / images,
                true,
            ));
        }
        Some(t) => {
            let phases = [
                ("fw", &t.forward),
                ("ag", &t.error),
                ("wg", &t.weight_gradient),
                ("wu", &t.weight_update),
            ];
            let lat: f64 = phases.iter().map(|(_, p)| p.latency_s_per_epoch).sum();
            let en: f64 = phases.iter().map(|(_, p)| p.energy_j_per_epoch).sum();
            let ns_lat: f64 = phases
                .iter()
                .map(|(k, _)| f(n, &format!("{k}_latency_ns_epoch")))
                .sum::<f64>()
                / 1e9;
            let ns_en: f64 = phases
                .iter()
                .map(|(k, _)| f(n, &format!("{k}_energy_pj_epoch")))
                .sum::<f64>()
                / 1e12;
            out.push(("epoch s".into(), lat, ns_lat, true));
            out.push(("epoch J".into(), en, ns_en, true));
            for (k, p) in phases {
                out.push((
                    format!("{k} s/epoch"),
                    p.latency_s_per_epoch,
                    f(n, &format!("{k}_latency_ns_epoch")) / 1e9,
                    false,
                ));
                out.push((
                    format!("{k} J/epoch"),
                    p.energy_j_per_epoch,
                    f(n, &format!("{k}_energy_pj_epoch")) / 1e12,
                    false,
                ));
            }
        }
    }
    out
}

fn estimate_case(case: &Value) -> ChipReport {
    let (chip, array, device) = configs(case);
    let net = format!("{DIR}/net_{}.csv", case["network"].as_str().unwrap());
    let layers = netlist::load(&net).unwrap();
    let s = &case["settings"];
    let training = s["training"]
        .as_bool()
        .unwrap_or(false)
        .then(|| TrainingWorkload {
            batch: f(s, "batch") as usize,
            samples_per_epoch: (f(s, "batch") * f(s, "iterations")) as usize,
            rule: Rule::Bp,
            classes: layers.last().unwrap().fan_out,
            dfa_scope: insitu::config::DfaScope::All,
        });
    // Training: the fixture's previous weights differ from the current ones in 10% of the
    // weights by one weight step, levels / (2^weight_bits - 1) pulses; inputs at the fixed
    // densities. Inference uses the typical activity (the same densities).
    let activity: Option<Vec<LayerActivity>> = training.map(|_| {
        let step = (device.levels as f64 / ((1u64 << array.weight_bits) - 1) as f64).ceil();
        layers
            .iter()
            .enumerate()
            .map(|(l, s)| LayerActivity {
                input_density: if l == 0 { 0.5 } else { 0.25 },
                error_density: 0.25,
                adc_conversions: 0.0,
                clipped_conversions: 0.0,
                write_pulses: 0.1 * s.weights() as f64 * step,
                max_pulses_per_row: step,
            })
            .collect()
    });
    estimate(&EstimateRequest {
        chip: &chip,
        array: &array,
        device: &device,
        layers: &layers,
        activity: activity.as_deref(),
        training,
    })
    .unwrap_or_else(|e| panic!("case {}: {e}", case["id"]))
}

#[test]
fn matrix_ratios_stay_within_stored_bounds() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/matrix.json")).unwrap())
            .unwrap();
    let bounds_path = format!("{DIR}/bounds.json");
    let bounds: BTreeMap<String, [f64; 2]> = std::fs::read_to_string(&bounds_path)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();
    let write = std::env::var("INSITU_WRITE_BOUNDS").is_ok_and(|v| v == "1");
    let mut new_bounds = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut headline, mut within30, mut within2x) = (0, 0, 0);
    println!("| case | NeuroSim | figure | insitu | NeuroSim | ratio |");
    println!("|---|---|---|---|---|---|");
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        let r = estimate_case(case);
        if std::env::var("INSITU_MATRIX_DETAIL").is_ok_and(|v| v == "1") {
            // Breakdowns for comparing block by block with NeuroSim's own printout.
            println!(
                "<!-- {id}: area {} energy {} layers {} -->",
                serde_json::to_string(&r.area_mm2.breakdown).unwrap(),
                serde_json::to_string(&r.inference.energy_breakdown).unwrap(),
                serde_json::to_string(
                    &r.inference
                        .layers
                        .iter()
                        .map(|l| (l.latency_s * 1e9, l.tiles, l.replication))
                        .collect::<Vec<_>>()
                )
                .unwrap()
            );
        }
        for (name, ours, theirs, head) in figures(case, &r) {
            let ratio = ours / theirs;
            let mark = if !head || (0.7..=1.3).contains(&ratio) {
                ""
            } else if (0.5..=2.0).contains(&ratio) {
                " *"
            } else {
                " **"
            };
            println!(
                "| {id} | {} | {name} | {ours:.4} | {theirs:.4} | {ratio:.2}{mark} |",
                case["version"].as_str().unwrap()
            );
            if head {
                headline += 1;
                within30 += (0.7..=1.3).contains(&ratio) as usize;
                within2x += (0.5..=2.0).contains(&ratio) as usize;
            }
            let key = format!("{id}/{name}");
            new_bounds.insert(key.clone(), [ratio / BOUND_SLACK, ratio * BOUND_SLACK]);
            match bounds.get(&key) {
                Some(&[lo, hi]) if ratio >= lo && ratio <= hi => {}
                Some(&[lo, hi]) => failures.push(format!(
                    "{key}: ratio {ratio:.3} outside [{lo:.3}, {hi:.3}]"
                )),
                None => failures.push(format!("{key}: no stored bound (ratio {ratio:.3})")),
            }
        }
    }
    println!(
        "\nheadline figures: {headline}, within +-30%: {within30} ({:.0}%), within 2x: {within2x}",
        100.0 * within30 as f64 / headline as f64
    );
    if write {
        let text = serde_json::to_string_pretty(&new_bounds).unwrap();
        std::fs::write(&bounds_path, text + "\n").unwrap();
        println!("wrote {bounds_path}");
        return;
    }
    assert!(
        failures.is_empty(),
        "ratios outside their bounds:\n{}",
        failures.join("\n")
    );
    assert!(
        within30 >= MIN_WITHIN_30 && within2x >= MIN_WITHIN_2X,
        "{within30} headline figures within +-30% (at least {MIN_WITHIN_30}), {within2x} within 2x \
         (at least {MIN_WITHIN_2X})"
    );
}

/// The training chip against NeuroSim V2.1's code: VGG-8's training chip area within +-30% and
/// every phase's latency and energy per epoch within 2x. The MLP cases are printed: their
/// inference chip is off by more than the training additions (see the matrix test).
///
/// Programming energy is held against `wu_energy_pj_epoch_rowavg`, V2.1 run with its programming
/// statistics averaged over the rows that have each phase (docs/cost-model.md): the stock code
/// divides a subarray's depression columns by its rows that have only depressions, which
/// multiplies the energy of about one subarray in six by ~130. Every case that carries that figure
/// is asserted.
///
/// `KNOWN_GAPS` holds the figures still outside the band, each with the band it is held to so it
/// cannot drift further; a gap that closes must be removed from the list.
const KNOWN_GAPS: &[(&str, &str, f64, f64)] = &[];

#[test]
fn training_chip_within_bounds_of_v21() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/matrix.json")).unwrap())
            .unwrap();
    let mut bad = Vec::new();
    for case in cases
        .iter()
        .filter(|c| c["settings"]["training"].as_bool() == Some(true))
    {
        let id = case["id"].as_str().unwrap();
        let r = estimate_case(case);
        let rowavg = case["figures"]["wu_energy_pj_epoch_rowavg"].as_f64();
        for (name, ours, theirs, _) in figures(case, &r) {
            let ratio = ours / theirs;
            let (lo, hi) = if name == "area mm2" {
                (0.7, 1.3)
            } else if name.contains("/epoch") {
                (0.5, 2.0)
            } else {
                continue;
            };
            println!("{id} {name}: {ours:.4} vs {theirs:.4} = {ratio:.2}");
            if name == "wu J/epoch" {
                match rowavg {
                    Some(pj) => {
                        let ratio = ours / (pj / 1e12);
                        let gap = KNOWN_GAPS.iter().find(|g| g.0 == id && g.1 == name);
                        if let Some(&(_, _, glo, ghi)) = gap {
                            println!("{id} {name} (row-averaged V2.1): {ratio:.2}, known gap");
                            if (lo..=hi).contains(&ratio) {
                                bad.push(format!(
                                    "{id} {name}: gap closed, remove it from KNOWN_GAPS"
                                ));
                            } else if !(glo..=ghi).contains(&ratio) {
                                bad.push(format!(
                                    "{id} {name}: ratio {ratio:.3} outside its known-gap band [{glo}, {ghi}]"
                                ));
                            }
                            continue;
                        }
                        println!("{id} {name} (row-averaged V2.1): {ratio:.2}");
                        if !(lo..=hi).contains(&ratio) {
                            bad.push(format!(
                                "{id} {name} against the row-averaged V2.1 figure: ratio \
                                 {ratio:.3} outside [{lo}, {hi}]"
                            ));
                        }
                    }
                    None => println!("{id} {name}: no row-averaged V2.1 figure, not asserted"),
                }
                continue;
            }
            if case["network"] == "vgg8" && !(lo..=hi).contains(&ratio) {
                bad.push(format!(
                    "{id} {name}: ratio {ratio:.3} outside [{lo}, {hi}]"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
