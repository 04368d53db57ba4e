//! The cost model against NeuroSim's published VGG-8 / CIFAR-10 figures (DNN+NeuroSim V1.4
//! inference example and table, V2 training example). Targets: inference area, latency and energy
//! within +-30%; the TOPS/W ordering of the 1-bit-cell table; training phases within a factor 2.

use insitu::chip::{
    estimate, print_table, ChipConfig, ChipReport, EstimateRequest, Rule, TrainingWorkload,
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
