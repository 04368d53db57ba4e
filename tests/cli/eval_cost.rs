//! `insitu eval` costs the chip of the model it evaluates, whatever network the config names.

use std::path::Path;

use insitu::chip::experiment;
use insitu::config::{parse, ExperimentConfig};
use insitu::cpu::CpuBackend;
use insitu::data;
use insitu::nn::model::Layer;
use insitu::study::eval::{evaluate, load};

fn config(sets: &[&str]) -> ExperimentConfig {
    let text = std::fs::read_to_string("configs/xbar_mlp_bp.toml").unwrap();
    let mut all = vec!["data.train_limit=64", "data.test_limit=50"];
    all.extend(sets);
    let all: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    parse(&text, "configs/xbar_mlp_bp.toml", &all).unwrap()
}

#[test]
fn eval_costs_the_loaded_model_not_the_config_network() {
    // A 784-16-10 MLP; the config's network is 784-256-256-10.
    let (model, cells) = load(Path::new("tests/fixtures/torch_mlp.safetensors")).unwrap();
    let hidden: Vec<usize> = model.layers[..model.layers.len() - 1]
        .iter()
        .map(|l| match l {
            Layer::Fc(f) => f.fan_out,
            Layer::Conv(_) => unreachable!("an MLP"),
        })
        .collect();
    assert_eq!(hidden, [16]);
    let cfg = config(&[]);
    assert_eq!(cfg.network.hidden, [256, 256]);
    let split = data::load(&cfg.data).unwrap();
    let e = evaluate(&mut CpuBackend::new(), &cfg, &model, &cells, &split, "m").unwrap();
    let cost = e.cost.expect("a chip cost with [array]");
    assert_eq!(cost.inference.layers.len(), 2);

    // The same inference chip as a run of the model's network is costed with.
    let same_net = config(&["network.hidden=[16]"]);
    let run_chip = experiment::report(&same_net, None).unwrap();
    let json = |v: &insitu::chip::report::Inference| serde_json::to_value(v).unwrap();
    assert_eq!(json(&cost.inference), json(&run_chip.inference));
    assert_eq!(cost.area_mm2.total, run_chip.area_mm2.total);
    // The config's own network is another chip.
    let config_chip = experiment::report(&cfg, None).unwrap();
    assert_eq!(config_chip.inference.layers.len(), 3);
    assert!(config_chip.area_mm2.total > cost.area_mm2.total);

    // Float only (no [array]): no chip.
    let mut float = cfg.clone();
    float.array = None;
    let e = evaluate(&mut CpuBackend::new(), &float, &model, &[], &split, "m").unwrap();
    assert!(e.cost.is_none());
}
