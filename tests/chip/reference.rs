//! The cost model against NeuroSim's published VGG-8 / CIFAR-10 figures (DNN+NeuroSim V1.4
//! inference example and table, V2 training example). Targets: inference area, latency and energy
//! within +-30%; the TOPS/W ordering of the 1-bit-cell table; training phases within a factor 2.

use insitu::chip::{
    estimate, print_table, ChipConfig, ChipReport, EstimateRequest, Rule, TrainingChipConfig,
    TrainingWorkload, WgKind,
};
use insitu::config::{AdcMode, ArrayConfig, DeviceConfig, Mapping};
use insitu::nn::arch::{parse_shapes, LayerShape};

const VGG8: &str = "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10";

fn vgg8() -> Vec<LayerShape> {
    parse_shapes(VGG8, [3, 32, 32]).unwrap()
}

/// The V1.4 example: 8-bit weights and activations, 2 bits per cell, 128x128, 5-bit ADC,
/// 8 columns per ADC, all rows read at once.
fn inference_array() -> ArrayConfig {
    ArrayConfig {
        rows: 128,
        cols: 128,
        parallel_rows: 128,
        weight_bits: 8,
        cell_bits: 2,
        mapping: Mapping::Offset,
        input_bits: 8,
        dac_bits: 1,
        adc_bits: 5,
        adc_mode: AdcMode::Unit,
        mux: 8,
        ..ArrayConfig::default()
    }
}

/// RRAM of the example: 100 kOhm on, 10 MOhm off.
fn rram() -> DeviceConfig {
    DeviceConfig {
        technology: "rram".into(),
        g_max: 1e-5,
        on_off: 100.0,
        v_read: 0.1,
        t_read: 8e-9,
        ..DeviceConfig::default()
    }
}

fn sram() -> DeviceConfig {
    DeviceConfig {
        technology: "sram".into(),
        ..rram()
    }
}

/// The V2 training example: one 5-bit cell per 5-bit weight, 8-bit activations and errors,
/// 5-bit forward and 6-bit backward ADCs.
fn training_array() -> ArrayConfig {
    ArrayConfig {
        weight_bits: 5,
        cell_bits: 5,
        adc_bits: 5,
        adc_bits_backward: 6,
        error_bits: 8,
        ..inference_array()
    }
}

/// FeFET-like analog synapse: 32 levels, on/off 10, +-4 V 100 ns programming pulses.
fn fefet() -> DeviceConfig {
    DeviceConfig {
        technology: "fefet".into(),
        g_max: 2e-6,
        on_off: 10.0,
        levels: 32,
        max_pulses_per_update: 32,
        v_read: 0.1,
        t_read: 2e-9,
        v_write: 4.0,
        t_write: 100e-9,
        ..DeviceConfig::default()
    }
}

fn run(
    chip: &ChipConfig,
    array: &ArrayConfig,
    device: &DeviceConfig,
    training: Option<TrainingWorkload>,
) -> ChipReport {
    let layers = vgg8();
    let r = estimate(&EstimateRequest {
        chip,
        array,
        device,
        layers: &layers,
        activity: None,
        training,
    })
    .unwrap();
    println!("{}", print_table(&r));
    r
}

fn within(ours: f64, theirs: f64, tol: f64) -> bool {
    ours >= theirs * (1.0 - tol) && ours <= theirs * (1.0 + tol)
}

#[test]
fn vgg8_inference_matches_neurosim_within_30_percent() {
    let chip = ChipConfig {
        node_nm: 22,
        ..ChipConfig::default()
    };
    let r = run(&chip, &inference_array(), &rram(), None);
    let a = &r.area_mm2;
    let i = &r.inference;
    println!(
        "{}",
        serde_json::to_string_pretty(&i.energy_breakdown).unwrap()
    );
    let rows = [
        ("area mm^2", a.total, 45.6),
        ("latency ms", i.latency_s * 1e3, 1.456),
        ("dynamic energy uJ", i.dynamic_energy_j * 1e6, 37.75),
    ];
    for (k, ours, theirs) in rows {
        println!(
            "{k:<20} ours {ours:>9.3} NeuroSim {theirs:>9.3} ratio {:.2}",
            ours / theirs
        );
    }
    for (k, ours, theirs) in rows {
        assert!(
            within(ours, theirs, 0.30),
            "{k}: ours {ours}, NeuroSim {theirs}"
        );
    }
}

#[test]
fn vgg8_training_phases_within_factor_2_of_neurosim() {
    // The V2 manual's figures come from a digital weight-gradient unit's throughput
    // (`wg_macs`); the SRAM-CIM unit is held against the V2.1 code in chip_neurosim_matrix.
    let chip = ChipConfig {
        node_nm: 32,
        training: TrainingChipConfig {
            wg_unit: WgKind::Digital,
            ..TrainingChipConfig::default()
        },
        ..ChipConfig::default()
    };
    let w = TrainingWorkload {
        batch: 200,
        samples_per_epoch: 50_000,
        rule: Rule::Bp,
        classes: 10,
        dfa_scope: insitu::config::DfaScope::All,
    };
    let r = run(&chip, &training_array(), &fefet(), Some(w));
    let t = r.training.as_ref().unwrap();
    let rows = [
        ("forward s", t.forward.latency_s_per_epoch, 26.0),
        ("forward J", t.forward.energy_j_per_epoch, 2.26),
        ("error s", t.error.latency_s_per_epoch, 27.2),
        ("error J", t.error.energy_j_per_epoch, 2.28),
        (
            "weight gradient s",
            t.weight_gradient.latency_s_per_epoch,
            124.0,
        ),
        (
            "weight gradient J",
            t.weight_gradient.energy_j_per_epoch,
            114.9,
        ),
        ("of which DRAM J", t.dram_energy_j_per_epoch, 86.0),
        ("weight update s", t.weight_update.latency_s_per_epoch, 0.19),
        (
            "weight update mJ",
            t.weight_update.energy_j_per_epoch * 1e3,
            0.45,
        ),
        ("chip area mm^2", r.area_mm2.total, 48.3),
    ];
    for (k, ours, theirs) in rows {
        println!(
            "{k:<20} ours {ours:>10.4} NeuroSim {theirs:>10.4} ratio {:.2}",
            ours / theirs
        );
    }
    // Programming is held against the V2.1 code instead (chip_neurosim_matrix, with its pulse
    // counts): buffer-limited programming with the typical activity's full pulse window per row
    // is far slower than the manual's figure, which the V2.1 code does not reproduce either.
    for (k, ours, theirs) in rows.iter().filter(|r| !r.0.starts_with("weight update")) {
        assert!(
            *ours >= theirs / 2.0 && *ours <= theirs * 2.0,
            "{k}: ours {ours}, NeuroSim {theirs}"
        );
    }
    // The weight gradient dominates, and DRAM dominates it.
    assert!(
        t.weight_gradient.energy_j_per_epoch
            > t.forward.energy_j_per_epoch + t.error.energy_j_per_epoch
    );
    assert!(t.dram_energy_j_per_epoch > 0.5 * t.weight_gradient.energy_j_per_epoch);
}

#[test]
fn one_bit_cell_table_tops_per_w_ordering() {
    let array = ArrayConfig {
        cell_bits: 1,
        adc_bits: 4,
        parallel_rows: 32,
        ..inference_array()
    };
    let at = |node_nm: u32, device: &DeviceConfig| {
        let chip = ChipConfig {
            node_nm,
            ..ChipConfig::default()
        };
        run(&chip, &array, device, None)
    };
    let rram22 = at(22, &rram());
    let sram22 = at(22, &sram());
    let sram5 = at(5, &sram());
    let rows = [
        (
            "SRAM 5 nm",
            sram5.inference.tops_per_w,
            32.43,
            sram5.area_mm2.total,
            14.64,
        ),
        (
            "RRAM 22 nm",
            rram22.inference.tops_per_w,
            11.25,
            rram22.area_mm2.total,
            381.9,
        ),
        (
            "SRAM 22 nm",
            sram22.inference.tops_per_w,
            8.76,
            sram22.area_mm2.total,
            85.97,
        ),
    ];
    for (k, ours, theirs, area, their_area) in rows {
        println!("{k:<12} TOPS/W ours {ours:>7.2} NeuroSim {theirs:>7.2} | area ours {area:>8.2} NeuroSim {their_area:>8.2} mm^2");
    }
    assert!(sram5.inference.tops_per_w > rram22.inference.tops_per_w);
    assert!(rram22.inference.tops_per_w > sram22.inference.tops_per_w);
}

/// The shipped configs parse into the `[chip]`, `[array]` and `[device]` sections the tests use.
#[test]
fn shipped_configs_hold_the_reference_settings() {
    for (file, array, device, node) in [
        (
            "configs/neurosim_vgg8_inference.toml",
            inference_array(),
            rram(),
            22,
        ),
        (
            "configs/neurosim_vgg8_training.toml",
            training_array(),
            fefet(),
            32,
        ),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        let chip: ChipConfig = v["chip"].clone().try_into().unwrap();
        assert_eq!(chip.node_nm, node, "{file}");
        chip.validate().unwrap();
        let a: ArrayConfig = v["array"].clone().try_into().unwrap();
        assert_eq!(a, array, "{file}");
        let mut dev_table = v["device"].clone();
        dev_table.as_table_mut().unwrap().remove("preset");
        let d: DeviceConfig = dev_table.try_into().unwrap();
        for (k, ours, file_v) in [
            ("g_max", device.g_max, d.g_max),
            ("on_off", device.on_off, d.on_off),
            ("v_read", device.v_read, d.v_read),
            ("t_read", device.t_read, d.t_read),
        ] {
            assert_eq!(ours, file_v, "{file}: device.{k}");
        }
        let arch = v["network"]["arch"].as_str().unwrap();
        assert_eq!(arch, VGG8);
    }
}
