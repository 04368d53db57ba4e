//! `train.dfa_scope` in the cost model: under `fc_head` only the hidden FC layers have feedback
//! arrays, and the conv layers' errors come by BP's transposed reads, in a chain that starts
//! from the first FC layer's error.

use insitu::chip::{
    estimate, ChipConfig, ChipReport, EstimateRequest, Rule, TrainingChipConfig, TrainingWorkload,
    UpdateScheme, WgPlacement,
};
use insitu::config::{ArrayConfig, DeviceConfig, DfaScope};
use insitu::nn::arch::parse_shapes;

fn array() -> ArrayConfig {
    ArrayConfig {
        weight_bits: 5,
        cell_bits: 5,
        adc_bits_backward: 8,
        ..ArrayConfig::default()
    }
}

fn run(arch: &str, chip: &ChipConfig, rule: Rule, dfa_scope: DfaScope) -> ChipReport {
    let layers = parse_shapes(arch, [1, 28, 28]).unwrap();
    estimate(&EstimateRequest {
        chip,
        array: &array(),
        device: &DeviceConfig::default(),
        layers: &layers,
        activity: None,
        training: Some(TrainingWorkload {
            batch: 16,
            samples_per_epoch: 1000,
            rule,
            classes: 10,
            dfa_scope,
        }),
    })
    .unwrap_or_else(|e| panic!("{arch}: {e}"))
}

fn chips() -> Vec<(&'static str, ChipConfig)> {
    let with = |training: TrainingChipConfig| ChipConfig {
        training,
        ..ChipConfig::default()
    };
    let base = TrainingChipConfig::default();
    vec![
        ("shared", with(base.clone())),
        (
            "per-layer pipelined",
            with(TrainingChipConfig {
                wg_placement: WgPlacement::PerLayer,
                pipeline: true,
                ..base.clone()
            }),
        ),
        (
            "outer product pipelined",
            with(TrainingChipConfig {
                update: UpdateScheme::OuterProduct,
                pipeline: true,
                ..base
            }),
        ),
    ]
}

fn json(r: &ChipReport) -> String {
    serde_json::to_string(r).unwrap()
}

#[test]
fn an_mlp_costs_the_same_under_either_scope() {
    for (name, chip) in chips() {
        for rule in [Rule::Bp, Rule::Dfa] {
            let all = run("FC128-FC64-FC10", &chip, rule, DfaScope::All);
            let mut head = run("FC128-FC64-FC10", &chip, rule, DfaScope::FcHead);
            // The report names the scope; its figures are those of `all`.
            let s = head.schedule.as_mut().unwrap();
            assert_eq!(s.dfa_scope, DfaScope::FcHead);
            s.dfa_scope = DfaScope::All;
            assert_eq!(json(&all), json(&head), "{name} {rule}");
        }
    }
}

#[test]
fn fc_head_gives_the_conv_stack_transposed_reads() {
    // Three hidden FC layers: their fan-out replaces three of BP's transposed reads. (With
    // one, fc_head's error phase is BP's with the top read swapped for a feedback read.)
    let arch = "C8-M-C16-M-FC128-FC64-FC64-FC10";
    let le = |x: f64, y: f64| x <= y * (1.0 + 1e-12);
    for (name, chip) in chips() {
        let all = run(arch, &chip, Rule::Dfa, DfaScope::All);
        let head = run(arch, &chip, Rule::Dfa, DfaScope::FcHead);
        let bp = run(arch, &chip, Rule::Bp, DfaScope::FcHead);
        let area = |r: &ChipReport| r.training_chip.clone().unwrap().area_mm2;
        let (a_all, a_head, a_bp) = (area(&all), area(&head), area(&bp));
        // Feedback arrays only for the hidden FC layers; the arrays of conv2 and fc3 are read
        // transposed, BP's are all.
        assert!(a_head.feedback_arrays > 0.0, "{name}");
        assert!(a_head.feedback_arrays < a_all.feedback_arrays, "{name}");
        assert_eq!(a_all.transposed_read.total, 0.0);
        assert!(a_head.transposed_read.total > 0.0, "{name}");
        assert!(
            a_head.transposed_read.total < a_bp.transposed_read.total,
            "{name}"
        );
        let rel = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs();
        assert!(rel(
            a_head.inference_chip
                + a_head.transposed_read.total
                + a_head.feedback_arrays
                + a_head.weight_gradient.total,
            a_head.total
        ));
        // The error phase of one image: DFA-all's fan-out < fc_head's fan-out then chain < BP.
        let s = |r: &ChipReport| r.schedule.clone().unwrap();
        let (s_all, s_head) = (s(&all), s(&head));
        assert!(
            s_all.dfa_backward_latency_s < s_head.dfa_backward_latency_s,
            "{name}"
        );
        assert!(
            s_head.dfa_backward_latency_s < s_head.bp_backward_latency_s,
            "{name}"
        );
        assert_eq!(s_all.bp_backward_latency_s, s_head.bp_backward_latency_s);
        // The whole step lies between them too, and the DFA figures a BP run reports are the
        // scope's.
        assert!(
            le(s_all.dfa_step_latency_s, s_head.dfa_step_latency_s),
            "{name}"
        );
        assert!(
            le(s_head.dfa_step_latency_s, s_head.bp_step_latency_s),
            "{name}"
        );
        assert_eq!(s(&bp).dfa_step_latency_s, s_head.dfa_step_latency_s);
        assert_eq!(s(&bp).dfa_chip_area_mm2, a_head.total);
        // The error phase of the step: the report's DFA error phase is the one-image latency
        // per image, and its energy adds the chain's transposed reads.
        let t = |r: &ChipReport| r.training.clone().unwrap();
        let (t_all, t_head) = (t(&all), t(&head));
        assert!(rel(
            t_head.error.latency_s_per_step,
            16.0 * s_head.dfa_backward_latency_s
        ));
        assert!(rel(
            t_all.error.latency_s_per_step,
            16.0 * s_all.dfa_backward_latency_s
        ));
        assert!(t_head.error.energy_j_per_step > 0.0);
        assert!(
            t_head.error.energy_j_per_step
                < t(&bp).error.energy_j_per_step + t_all.error.energy_j_per_step
        );
    }
}

#[test]
fn without_a_hidden_fc_layer_fc_head_is_bp() {
    for (name, chip) in chips() {
        let head = run("C8-M-C16-M-FC10", &chip, Rule::Dfa, DfaScope::FcHead);
        let bp = run("C8-M-C16-M-FC10", &chip, Rule::Bp, DfaScope::FcHead);
        let a = head.training_chip.clone().unwrap().area_mm2;
        assert_eq!(a.feedback_arrays, 0.0, "{name}");
        let s = head.schedule.unwrap();
        assert_eq!(s.dfa_backward_latency_s, s.bp_backward_latency_s, "{name}");
        let (th, tb) = (head.training.unwrap(), bp.training.unwrap());
        assert_eq!(
            th.error.energy_j_per_step, tb.error.energy_j_per_step,
            "{name}"
        );
    }
}
