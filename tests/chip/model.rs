//! Properties of the chip cost model: any shape works, figures are finite and positive, a
//! closed-form case adds up, scaling laws hold, schedules behave, NetWork.csv import reports
//! errors precisely, and an estimate is fast.

use std::time::Instant;

use insitu::chip::blocks::interconnect::Network;
use insitu::chip::blocks::{
    activation, adc::Adc, adder_tree, buffer, cell_array, drivers, mux, shift_add,
};
use insitu::chip::tech::Tech;
use insitu::chip::{
    estimate, netlist, AdcType, ChipConfig, ChipReport, EstimateRequest, LayerActivity, Rule,
    TrainingWorkload,
};
use insitu::config::{ArrayConfig, DeviceConfig};
use insitu::nn::arch::{parse_shapes, LayerShape};
use serde_json::Value;

fn device() -> DeviceConfig {
    DeviceConfig {
        technology: "rram".into(),
        g_max: 1e-5,
        on_off: 100.0,
        v_read: 0.1,
        t_read: 8e-9,
        ..DeviceConfig::default()
    }
}

fn run(
    arch: &str,
    input: [usize; 3],
    chip: &ChipConfig,
    array: &ArrayConfig,
    training: Option<TrainingWorkload>,
) -> ChipReport {
    let layers = parse_shapes(arch, input).unwrap();
    estimate(&EstimateRequest {
        chip,
        array,
        device: &device(),
        layers: &layers,
        activity: None,
        training,
    })
    .unwrap_or_else(|e| panic!("{arch}: {e}"))
}

fn workload(rule: Rule) -> TrainingWorkload {
    TrainingWorkload {
        batch: 4,
        samples_per_epoch: 10,
        rule,
        classes: 10,
        dfa_scope: insitu::config::DfaScope::All,
    }
}

/// The area categories sum to the total, and the energy categories to the dynamic energy; the
/// training chip's area tree sums to its total and holds the inference chip; an epoch's training
/// energy and serial latency are the sums of its phases, each phase its steps.
fn breakdown_adds_up(r: &ChipReport) {
    let a = &r.area_mm2;
    let rel = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs().max(1e-30);
    assert!(
        rel(a.breakdown.sum(), a.total),
        "{} vs {}",
        a.breakdown.sum(),
        a.total
    );
    let i = &r.inference;
    assert!(rel(i.energy_breakdown.dynamic(), i.dynamic_energy_j));
    if let Some(c) = &r.training_chip {
        let t = &c.area_mm2;
        let tr = &t.transposed_read;
        let wg = &t.weight_gradient;
        assert!(rel(tr.adc + tr.mux + tr.shift_add, tr.total));
        assert!(rel(
            wg.units + wg.accumulators + wg.buffers + wg.pulse_translators,
            wg.total
        ));
        assert!(rel(
            t.inference_chip + tr.total + t.feedback_arrays + wg.total,
            t.total
        ));
        assert!(rel(t.inference_chip, a.total));
    }
    if let Some(t) = &r.training {
        let phases = [&t.forward, &t.error, &t.weight_gradient, &t.weight_update];
        let steps = t.steps_per_epoch as f64;
        for p in phases {
            assert!(rel(p.energy_j_per_epoch, p.energy_j_per_step * steps));
            assert!(rel(p.latency_s_per_epoch, p.latency_s_per_step * steps));
        }
        let e: f64 = phases.iter().map(|p| p.energy_j_per_epoch).sum();
        let l: f64 = phases.iter().map(|p| p.latency_s_per_epoch).sum();
        assert!(
            rel(e, t.energy_j_per_epoch),
            "{e} vs {}",
            t.energy_j_per_epoch
        );
        assert!(
            rel(l, t.serial_latency_s_per_epoch),
            "{l} vs {}",
            t.serial_latency_s_per_epoch
        );
    }
}

/// Every number in the report is finite and > 0, except keys in `zero_ok`.
fn check_positive(v: &Value, path: &str, zero_ok: &[&str]) {
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            let key = path.rsplit('.').next().unwrap_or("");
            let allowed_zero =
                zero_ok.iter().any(|z| path.contains(z)) || key == "clipped_fraction";
            assert!(x.is_finite(), "{path} = {x}");
            assert!(x > 0.0 || (allowed_zero && x == 0.0), "{path} = {x}");
        }
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| check_positive(v, &format!("{path}.{k}"), zero_ok)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| check_positive(v, &format!("{path}[{i}]"), zero_ok)),
        _ => {}
    }
}

#[test]
fn any_shape_gives_finite_positive_figures() {
    let cases: [(&str, [usize; 3]); 7] = [
        ("FC1", [1, 1, 1]),
        ("FC256-FC128-FC10", [1, 28, 28]),
        ("C5k3s2p0-FC7", [3, 9, 9]),
        ("C130-M-C7-G-FC3", [5, 13, 11]),
        ("C3-FC10", [1, 1, 1]),
        ("FC1000-FC1", [3, 17, 19]),
        (
            "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
            [3, 32, 32],
        ),
    ];
    let arrays = [
        ArrayConfig::default(),
        ArrayConfig {
            rows: 100,
            cols: 37,
            parallel_rows: 33,
            weight_bits: 7,
            cell_bits: 3,
            mux: 4,
            mapping: insitu::config::Mapping::Differential,
            ..ArrayConfig::default()
        },
    ];
    let chips = [
        ChipConfig::default(),
        ChipConfig {
            subarrays_per_pe: 9,
            pes_per_tile: 1,
            adc_type: AdcType::Sar,
            interconnect: insitu::chip::Interconnect::Bus,
            replication: 3,
            speedup: true,
            pipelined: true,
            ..ChipConfig::default()
        },
    ];
    for (arch, input) in cases {
        let single = parse_shapes(arch, input).unwrap().len() == 1;
        for array in &arrays {
            for chip in &chips {
                for rule in [Rule::Bp, Rule::Dfa] {
                    let r = run(arch, input, chip, array, Some(workload(rule)));
                    let v = serde_json::to_value(&r).unwrap();
                    // A single weight layer has no error phase to pay for; the training chip's
                    // tree has empty branches (BP has no feedback arrays, DFA no transposed read).
                    let zero_ok: &[&str] = if single {
                        &[
                            "training.error",
                            "backward_latency",
                            "training_chip.area_mm2",
                        ]
                    } else {
                        &["training_chip.area_mm2"]
                    };
                    check_positive(&v, "report", zero_ok);
                    breakdown_adds_up(&r);
                    assert_eq!(
                        r.inference.layers.len(),
                        parse_shapes(arch, input).unwrap().len()
                    );
                }
                let r = run(arch, input, chip, array, None);
                check_positive(&serde_json::to_value(&r).unwrap(), "report", &[]);
                assert!(r.training.is_none() && r.schedule.is_none());
                breakdown_adds_up(&r);
                assert!(r.training_chip.is_none());
            }
        }
    }
}

#[test]
fn closed_form_single_subarray_layer() {
    // FC 100 -> 20 with one 2-bit slice (offset mapping: 20 data + 1 reference column) in one
    // 128x128 subarray; 4-bit inputs read bit-serially, 5-bit MLSA, 16 ADCs (mux 8).
    let array = ArrayConfig {
        weight_bits: 2,
        cell_bits: 2,
        input_bits: 4,
        error_bits: 4,
        adc_bits: 5,
        ..ArrayConfig::default()
    };
    let chip = ChipConfig::default();
    let dev = device();
    let layers = parse_shapes("FC20", [100, 1, 1]).unwrap();
    let act = LayerActivity {
        input_density: 0.5,
        error_density: 0.5,
        adc_conversions: 84.0,
        clipped_conversions: 2.0,
        write_pulses: 0.0,
        max_pulses_per_row: 0.0,
    };
    let r = estimate(&EstimateRequest {
        chip: &chip,
        array: &array,
        device: &dev,
        layers: &layers,
        activity: Some(std::slice::from_ref(&act)),
        training: None,
    })
    .unwrap();
    assert_eq!(r.activity, "measured");
    let t = Tech::resolve(&chip, &dev).unwrap();
    let adc = Adc {
        bits: 5,
        kind: AdcType::Mlsa,
    };
    let (cycles, sensed, rows) = (4.0, 21.0, 100.0);
    let conversions = cycles * sensed; // one pass of all 100 rows per cycle
    assert_eq!(conversions, 84.0);
    let arrays = cycles * 0.5 * rows * sensed * cell_array::cell_read_energy(&t, &dev, 0.5)
        + conversions * cell_array::bitline_energy(&t, &dev, 100);
    let adc_e = conversions * adc.energy(&t);
    let acc_bits = (5 + 4) + 2; // shift-add width + weight bits + log2(1 block)
    let shift = conversions * shift_add::energy(&t, shift_add::width(5, 4))
        + adder_tree::energy(&t, 20.0, acc_bits);
    let in_bits = 100.0 * 4.0;
    let buffers = buffer::energy(&t, in_bits + in_bits + 2.0 * 20.0 * 4.0);
    let other = cycles * 0.5 * rows * drivers::line_energy(&t, 128, t.wl_cap_per_cell(), t.vdd())
        + conversions * mux::switch_energy(&t)
        + 20.0 * activation::activation_energy(&t, 4);
    let e = &r.inference.energy_breakdown;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-30);
    assert!(close(e.arrays, arrays), "{} {}", e.arrays, arrays);
    assert!(close(e.adc, adc_e));
    assert!(close(e.shift_add_accumulation, shift));
    assert!(close(e.buffers, buffers));
    // One tile: the global network is one H-tree arm (side / 4) from the global buffer; the
    // chip side is what the area is before that network is added.
    let k = 512.0 * t.wire_pitch() * 1.2 / 4.0;
    let total = r.area_mm2.total * 1e-6;
    let side = (-k + (k * k + 4.0 * total).sqrt()) / 2.0;
    let net = Network {
        kind: insitu::chip::Interconnect::Htree,
        leaves: 1,
        side,
        bus_bits: 512,
    };
    let interconnect = (in_bits + 80.0) * net.energy_per_bit(&t);
    assert!(
        close(e.interconnect, interconnect),
        "{} {}",
        e.interconnect,
        interconnect
    );
    assert!(close(e.other, other));
    assert!(close(
        r.inference.dynamic_energy_j,
        arrays + adc_e + shift + buffers + interconnect + other
    ));
    // Latency: 4 cycles x 1 row pass x ceil(21 / 16) column steps, each WL settle + pulse + ADC;
    // the buffer stream (400 bits over a 512-bit port) hides under it; then the load/unload and
    // one adder stage (the reference-column subtraction).
    let (pitch, _) = t.cell_pitch();
    let step =
        drivers::line_delay(&t, 128, pitch, t.wl_cap_per_cell()) + dev.t_read + adc.latency(&t);
    let compute = cycles * 2.0 * step;
    let load = net.transfer_time(&t, in_bits + 80.0, 1e9);
    let latency = compute + load + 1e-9;
    assert!(
        close(r.inference.latency_s, latency),
        "{} {}",
        r.inference.latency_s,
        latency
    );
    assert!((r.inference.layers[0].clipped_fraction - 2.0 / 84.0).abs() < 1e-12);
}

#[test]
fn area_and_energy_fall_with_the_node() {
    let array = ArrayConfig::default();
    let mut last: Option<(u32, f64, f64)> = None;
    for nm in [130, 90, 65, 45, 32, 22, 14, 10, 7, 5] {
        let chip = ChipConfig {
            node_nm: nm,
            ..ChipConfig::default()
        };
        let r = run("C32-M-C64-M-FC10", [3, 16, 16], &chip, &array, None);
        let (area, energy) = (r.area_mm2.total, r.inference.energy_j);
        println!("{nm:>4} nm: {area:>9.4} mm^2 {:>9.4} uJ", energy * 1e6);
        if let Some((pnm, pa, pe)) = last {
            assert!(area < pa, "area {pnm} nm {pa} -> {nm} nm {area}");
            assert!(energy < pe, "energy {pnm} nm {pe} -> {nm} nm {energy}");
        }
        last = Some((nm, area, energy));
    }
}

#[test]
fn adc_energy_doubles_per_bit() {
    let mut prev: Option<f64> = None;
    for bits in 3..=8 {
        let array = ArrayConfig {
            adc_bits: bits,
            ..ArrayConfig::default()
        };
        let r = run(
            "FC256-FC128-FC10",
            [1, 28, 28],
            &ChipConfig::default(),
            &array,
            None,
        );
        let e = r.inference.energy_breakdown.adc;
        if let Some(p) = prev {
            let k = e / p;
            assert!((k - 2.0).abs() < 1e-9, "{bits} bits: x{k}");
        }
        prev = Some(e);
    }
}

#[test]
fn replication_trades_area_for_latency() {
    let mut prev: Option<ChipReport> = None;
    for replication in [1, 2, 4, 8] {
        let chip = ChipConfig {
            replication,
            ..ChipConfig::default()
        };
        let r = run(
            "C16-C16-M-FC10",
            [3, 16, 16],
            &chip,
            &ArrayConfig::default(),
            None,
        );
        if let Some(p) = &prev {
            assert!(r.inference.latency_s < p.inference.latency_s);
            assert!(r.area_mm2.total > p.area_mm2.total);
        }
        prev = Some(r);
    }
}

fn mlp(hidden: usize) -> String {
    let mut layers = vec!["FC256"; hidden];
    layers.push("FC10");
    layers.join("-")
}

#[test]
fn dfa_backward_ratio_falls_toward_one_over_n() {
    let mut prev = f64::INFINITY;
    println!("hidden  bp backward   dfa backward  ratio   1/N    step bp      step dfa     step speed-up");
    for n in 2..=8 {
        let w = TrainingWorkload {
            batch: 64,
            samples_per_epoch: 60_000,
            rule: Rule::Dfa,
            classes: 10,
            dfa_scope: insitu::config::DfaScope::All,
        };
        // In-situ training holds one analog cell per weight (a multi-slice weight would make BP's
        // transposed read drive its slices one after another).
        let array = ArrayConfig {
            weight_bits: 5,
            cell_bits: 5,
            ..ArrayConfig::default()
        };
        let r = run(
            &mlp(n),
            [1, 28, 28],
            &ChipConfig::default(),
            &array,
            Some(w),
        );
        let s = r.schedule.unwrap();
        println!(
            "{n:>6}  {:>10.3e}  {:>12.3e}  {:.4}  {:.4}  {:>10.3e}  {:>10.3e}  {:.3}",
            s.bp_backward_latency_s,
            s.dfa_backward_latency_s,
            s.backward_ratio,
            1.0 / n as f64,
            s.bp_step_latency_s,
            s.dfa_step_latency_s,
            s.speedup
        );
        assert!(s.backward_ratio < prev, "not decreasing at N = {n}");
        let scaled = s.backward_ratio * n as f64;
        assert!(
            scaled > 0.5 && scaled < 1.5,
            "N = {n}: ratio {}",
            s.backward_ratio
        );
        // Equal up to the greedy list schedule's order of equal-length work (1e-7 here).
        assert!(s.speedup >= 1.0 - 1e-6, "{}", s.speedup);
        prev = s.backward_ratio;
    }
}

const VGG8_CSV: &str =
    "32,32,3,3,3,128,0,1\n32,32,128,3,3,128,1,1\n16,16,128,3,3,256,0,1\n16,16,256,3,3,256,1,1\n\
8,8,256,3,3,512,0,1\n8,8,512,3,3,512,1,1\n1,1,8192,1,1,1024,0,1\n1,1,1024,1,1,10,0,1\n";

#[test]
fn netlist_matches_the_arch_string_and_reports_bad_rows() {
    let from_csv = netlist::parse(VGG8_CSV, "NetWork.csv").unwrap();
    let from_arch: Vec<LayerShape> = parse_shapes(
        "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
        [3, 32, 32],
    )
    .unwrap();
    assert_eq!(from_csv, from_arch);
    let bad = "32,32,3,3,3,128,0,1\n32,32,128,3,x,128,1,1\n";
    let e = netlist::parse(bad, "nets/NetWork.csv")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nets/NetWork.csv:2") && e.contains("column 5"),
        "{e}"
    );
    let short = "32,32,3,3,3,128,0\n";
    let e = netlist::parse(short, "a.csv").unwrap_err().to_string();
    assert!(e.contains("a.csv:1") && e.contains("8 columns"), "{e}");
    let e = netlist::load("/nonexistent/NetWork.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/NetWork.csv"), "{e}");
}

#[test]
fn vgg8_estimate_is_fast() {
    let array = ArrayConfig::default();
    let t0 = Instant::now();
    let r = run(
        "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
        [3, 32, 32],
        &ChipConfig::default(),
        &array,
        Some(TrainingWorkload {
            batch: 200,
            samples_per_epoch: 50_000,
            rule: Rule::Bp,
            classes: 10,
            dfa_scope: insitu::config::DfaScope::All,
        }),
    );
    let dt = t0.elapsed();
    println!(
        "VGG-8 inference + training estimate: {:.2} ms",
        dt.as_secs_f64() * 1e3
    );
    assert!(r.training.is_some());
    assert!(dt.as_secs_f64() < 5.0);
}

#[test]
fn request_errors_are_clear() {
    let layers = parse_shapes("FC10", [1, 4, 4]).unwrap();
    let dev = DeviceConfig {
        technology: "sram".into(),
        ..device()
    };
    let e = estimate(&EstimateRequest {
        chip: &ChipConfig::default(),
        array: &ArrayConfig::default(),
        device: &dev,
        layers: &layers,
        activity: None,
        training: None,
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("array.cell_bits"), "{e}");
    let chip = ChipConfig {
        subarrays_per_pe: 3,
        ..ChipConfig::default()
    };
    let e = estimate(&EstimateRequest {
        chip: &chip,
        array: &ArrayConfig::default(),
        device: &device(),
        layers: &layers,
        activity: None,
        training: None,
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("chip.subarrays_per_pe"), "{e}");
}
