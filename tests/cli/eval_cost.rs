//! `insitu eval` costs the chip of the model it evaluates, whatever network the config names.

use std::path::Path;

use insitu::chip::{experiment, ChipReport};
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
    let cost = |cfg: &ExperimentConfig| {
        let e = evaluate(&mut CpuBackend::new(), cfg, &model, &cells, &split, "m").unwrap();
        e.cost.expect("a chip cost with [array]")
    };
    let ops = |sizes: &[usize]| 2.0 * sizes.windows(2).map(|w| w[0] * w[1]).sum::<usize>() as f64;
    let evaluated = cost(&cfg);
    assert_eq!(evaluated.inference.layers.len(), 2);
    assert_eq!(evaluated.inference.ops_per_image, ops(&[784, 16, 10]));
    // The config's own network is another chip ...
    let config_chip = experiment::report(&cfg, None).unwrap();
    assert_eq!(
        config_chip.inference.ops_per_image,
        ops(&[784, 256, 256, 10])
    );
    assert!(config_chip.area_mm2.total > evaluated.area_mm2.total);
    // ... which does not change the evaluated model's.
    let json = |c: &ChipReport| serde_json::to_value(c).unwrap();
    let same_net = config(&["network.hidden=[16]"]);
    assert_eq!(json(&cost(&same_net)), json(&evaluated));

    // Float only (no [array]): no chip.
    let mut float = cfg.clone();
    float.array = None;
    let e = evaluate(&mut CpuBackend::new(), &float, &model, &[], &split, "m").unwrap();
    assert!(e.cost.is_none());
}
