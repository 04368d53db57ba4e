//! The training chip as its own object: inference reports never carry training hardware, the
//! training chip's area tree adds up, the architectures of `[chip.training]` schedule as
//! documented, and one of them gives DFA a whole-step speed-up approaching N.

use insitu::chip::{
    estimate, ChipConfig, ChipReport, EstimateRequest, Rule, TrainingChipConfig, TrainingWorkload,
    UpdateScheme, WgKind, WgPlacement,
};
use insitu::config::{ArrayConfig, DeviceConfig};
use insitu::nn::arch::parse_shapes;

fn array() -> ArrayConfig {
    // In-situ training: one analog cell per weight.
    ArrayConfig {
        weight_bits: 5,
        cell_bits: 5,
        input_bits: 8,
        error_bits: 8,
        adc_bits: 6,
        adc_bits_backward: 8,
        ..ArrayConfig::default()
    }
}

fn device(t_write: f64) -> DeviceConfig {
    DeviceConfig {
        technology: "fefet".into(),
        t_write,
        ..DeviceConfig::default()
    }
}

fn run(
    arch: &str,
    chip: &ChipConfig,
    dev: &DeviceConfig,
    training: Option<TrainingWorkload>,
) -> ChipReport {
    let layers = parse_shapes(arch, [1, 28, 28]).unwrap();
    estimate(&EstimateRequest {
        chip,
        array: &array(),
        device: dev,
        layers: &layers,
        activity: None,
        training,
    })
    .unwrap_or_else(|e| panic!("{arch}: {e}"))
}

fn workload(rule: Rule) -> TrainingWorkload {
    TrainingWorkload {
        batch: 64,
        samples_per_epoch: 60_000,
        rule,
        classes: 10,
        dfa_scope: insitu::config::DfaScope::All,
    }
}

/// `hidden` layers of 256 and a 10-way output.
fn mlp(hidden: usize) -> String {
    let mut layers = vec!["FC256"; hidden];
    layers.push("FC10");
    layers.join("-")
}

fn architectures() -> Vec<(&'static str, TrainingChipConfig)> {
    let base = TrainingChipConfig::default();
    vec![
        ("shared", base.clone()),
        (
            "shared digital",
            TrainingChipConfig {
                wg_unit: WgKind::Digital,
                ..base.clone()
            },
        ),
        (
            "per-layer",
            TrainingChipConfig {
                wg_placement: WgPlacement::PerLayer,
                ..base.clone()
            },
        ),
        (
            "per-layer pipelined",
            TrainingChipConfig {
                wg_placement: WgPlacement::PerLayer,
                pipeline: true,
                ..base.clone()
            },
        ),
        (
            "outer product",
            TrainingChipConfig {
                update: UpdateScheme::OuterProduct,
                ..base.clone()
            },
        ),
        (
            "outer product pipelined",
            TrainingChipConfig {
                update: UpdateScheme::OuterProduct,
                pipeline: true,
                ..base
            },
        ),
    ]
}

#[test]
fn inference_figures_never_include_training_hardware() {
    let dev = device(1e-6);
    for (name, training) in architectures() {
        let chip = ChipConfig {
            training,
            ..ChipConfig::default()
        };
        let inference = run(&mlp(3), &chip, &dev, None);
        assert!(inference.training_chip.is_none());
        for rule in [Rule::Bp, Rule::Dfa] {
            let r = run(&mlp(3), &chip, &dev, Some(workload(rule)));
            // The inference chip and its figures are those of the inference-only request.
            assert_eq!(r.area_mm2.total, inference.area_mm2.total, "{name} {rule}");
            assert_eq!(r.area_mm2.subarrays, inference.area_mm2.subarrays);
            assert_eq!(r.inference.latency_s, inference.inference.latency_s);
            assert_eq!(r.inference.energy_j, inference.inference.energy_j);
            let c = r
                .training_chip
                .expect("a training request reports its chip");
            let a = &c.area_mm2;
            assert_eq!(a.inference_chip, inference.area_mm2.total);
            assert!(a.total > a.inference_chip, "{name} {rule}");
            // Each rule carries only its own error hardware.
            match rule {
                Rule::Bp => assert!(a.transposed_read.total > 0.0 && a.feedback_arrays == 0.0),
                Rule::Dfa => assert!(a.transposed_read.total == 0.0 && a.feedback_arrays > 0.0),
            }
            let outer = chip.training.update == UpdateScheme::OuterProduct;
            let wg = &a.weight_gradient;
            assert_eq!(outer, wg.pulse_translators > 0.0, "{name}");
            assert_eq!(outer, wg.units == 0.0, "{name}");
            let rel = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs();
            assert!(rel(
                a.inference_chip + a.transposed_read.total + a.feedback_arrays + wg.total,
                a.total
            ));
        }
    }
}

#[test]
fn per_layer_units_cost_area_and_remove_the_shared_queue() {
    let dev = device(1e-6);
    let shared = ChipConfig::default();
    let per_layer = ChipConfig {
        training: TrainingChipConfig {
            wg_placement: WgPlacement::PerLayer,
            ..TrainingChipConfig::default()
        },
        ..ChipConfig::default()
    };
    let a = run(&mlp(6), &shared, &dev, Some(workload(Rule::Dfa)));
    let b = run(&mlp(6), &per_layer, &dev, Some(workload(Rule::Dfa)));
    let (ca, cb) = (a.training_chip.unwrap(), b.training_chip.unwrap());
    assert_eq!((ca.wg_units, cb.wg_units), (1, 7));
    assert!(cb.area_mm2.weight_gradient.total > ca.area_mm2.weight_gradient.total);
    let (sa, sb) = (a.schedule.unwrap(), b.schedule.unwrap());
    assert!(sb.dfa_step_latency_s <= sa.dfa_step_latency_s * (1.0 + 1e-12));
}

/// DFA/BP whole-step speed-up for `hidden` equal hidden layers on `training`.
fn speedup(hidden: usize, training: &TrainingChipConfig, t_write: f64) -> f64 {
    let chip = ChipConfig {
        training: training.clone(),
        ..ChipConfig::default()
    };
    let r = run(
        &mlp(hidden),
        &chip,
        &device(t_write),
        Some(workload(Rule::Dfa)),
    );
    r.schedule.unwrap().speedup
}

#[test]
fn outer_product_with_pipelining_approaches_n() {
    let outer = TrainingChipConfig {
        update: UpdateScheme::OuterProduct,
        pipeline: true,
        ..TrainingChipConfig::default()
    };
    // Eight equal hidden layers: N = 9 weight layers. Update pulses shorter than a read (10 ns).
    let n = 9.0;
    let fast = speedup(8, &outer, 10e-9);
    println!("outer product, pipelined, 10 ns pulses: {fast:.2}x for N = 9");
    assert!(fast >= 0.6 * n, "{fast}");
    // With the FeFET's 1 us update pulses the update takes a share of DFA's period, still
    // above 0.6 N.
    let slow = speedup(8, &outer, 1e-6);
    println!("outer product, pipelined, 1 us pulses: {slow:.2}x for N = 9");
    assert!(slow >= 0.6 * n && slow < fast, "{slow}");
    // The same chip without pipelining keeps the forward pass on DFA's path: about 2x at most.
    let serial = TrainingChipConfig {
        pipeline: false,
        ..outer.clone()
    };
    let s = speedup(8, &serial, 10e-9);
    assert!(s > 1.0 && s < 2.5, "{s}");
    // A shared weight-gradient unit serializes both rules' backward passes.
    let shared = speedup(8, &TrainingChipConfig::default(), 10e-9);
    assert!(shared < 0.3 * n, "{shared}");
    // The speed-up grows with depth on the pipelined outer-product chip.
    let mut prev = 0.0;
    for hidden in 1..=7 {
        let s = speedup(hidden, &outer, 10e-9);
        assert!(s > prev, "hidden {hidden}: {s} after {prev}");
        prev = s;
    }
}

#[test]
fn training_architecture_is_validated() {
    let mut chip = ChipConfig::default();
    chip.training.update_pulses = 0;
    let e = chip.validate().unwrap_err().to_string();
    assert!(e.contains("chip.training.update_pulses"), "{e}");
    let bad: Result<ChipConfig, _> = toml::from_str("[training]\nupdate = \"instant\"\n");
    let e = bad.unwrap_err().to_string();
    assert!(e.contains("instant") && e.contains("outer_product"), "{e}");
}
