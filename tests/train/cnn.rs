//! A small conv network learns the embedded MNIST subset through `insitu train`'s entry point.

use insitu::config;
use insitu::cpu::CpuBackend;
use insitu::experiment::{run, RunOptions};

#[test]
fn conv_net_learns_mnist_subset_on_cpu() {
    let cfg = config::parse(
        include_str!("../../configs/cnn_mnist.toml"),
        "configs/cnn_mnist.toml",
        &[
            "network.arch=\"C4-M-C8-M-FC10\"".into(),
            "data.train_limit=600".into(),
            "data.test_limit=200".into(),
            "train.epochs=2".into(),
        ],
    )
    .unwrap();
    let mut be = CpuBackend::new();
    let r = run(&mut be, &cfg, &RunOptions::default()).unwrap();
    assert_eq!(r.epochs.len(), 2);
    let acc = r.final_.as_ref().unwrap().test_accuracy;
    assert!(acc > 0.6, "test accuracy {acc}");
    let r = insitu::chip::run_cost::run_cost(r);
    assert!(r.cost.is_some(), "chip cost of the conv net");
}
