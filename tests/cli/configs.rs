//! Every shipped experiment file parses, validates and resolves its network and chip; the
//! PENNI CIFAR-10 files carry the paper's recipe on the standard networks.

use insitu::chip::experiment::{data_shape, layer_shapes, report};
use insitu::config::{self, ExperimentConfig, Init};
use insitu::data::{augment::Augment, Normalize, Source};
use insitu::nn::model::{Layer, Model};

fn shipped() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("configs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_config_validates_and_resolves() {
    let files = shipped();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let name = path.display();
        let cfg = config::load(&path, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let shapes = layer_shapes(&cfg).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let (_, classes) = data_shape(&cfg);
        assert_eq!(shapes.last().unwrap().fan_out, classes, "{name}");
        report(&cfg, None).unwrap_or_else(|e| panic!("{name}: chip report: {e:#}"));
        if let Some(c) = &cfg.compress {
            c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                cfg.network.arch.is_some(),
                "{name}: compress needs a conv net"
            );
        }
    }
}

fn load(name: &str) -> ExperimentConfig {
    config::load(std::path::Path::new(&format!("configs/{name}.toml")), &[]).unwrap()
}

/// The standard CIFAR VGG-16 count by hand: 13 3x3 same convs on 32, 16, 8, 4, 2 pixel maps,
/// then FC 512 -> 10.
fn vgg16_macs() -> usize {
    let stages: [(usize, &[usize]); 5] = [
        (32, &[64, 64]),
        (16, &[128, 128]),
        (8, &[256, 256, 256]),
        (4, &[512, 512, 512]),
        (2, &[512, 512, 512]),
    ];
    let mut c_in = 3;
    let mut macs = 0;
    for (hw, outs) in stages {
        for &c in outs {
            macs += hw * hw * c_in * 9 * c;
            c_in = c;
        }
    }
    macs + 512 * 10
}

#[test]
fn penni_cifar10_configs_follow_the_recipe() {
    assert_eq!(vgg16_macs(), 313_201_664);
    for (name, arch, macs) in [
        ("penni_vgg16_cifar10", "vgg16", vgg16_macs()),
        ("penni_resnet18_cifar10", "resnet18", 555_422_720),
    ] {
        let cfg = load(name);
        assert_eq!(cfg.network.arch.as_deref(), Some(arch));
        assert_eq!(cfg.data.source, Source::Cifar10);
        assert_eq!(cfg.data.normalize, Normalize::Standard);
        assert_eq!(cfg.data.augment, Augment::CropFlip);
        assert_eq!(data_shape(&cfg), ([3, 32, 32], 10));
        let shapes = layer_shapes(&cfg).unwrap();
        assert_eq!(shapes.iter().map(|s| s.macs).sum::<usize>(), macs, "{name}");
        let m = Model::init(arch, [3, 32, 32], 10, Init::He, 1).unwrap();
        m.validate().unwrap();
        assert_eq!(m.total().macs, macs);
        assert!(matches!(m.layers.last(), Some(Layer::Fc(f)) if f.fan_out == 10));
        // Baseline: SGD Nesterov 0.9, lr 0.1 dropped at 50% and 75% of 160 epochs, batch 128.
        let (t, o) = (&cfg.train, &cfg.optimizer);
        assert_eq!((t.epochs, t.batch_size), (160, 128));
        assert!(o.nesterov && o.momentum == 0.9 && o.lr == 0.1);
        assert_eq!(o.lr_drops, [0.5, 0.75]);
        assert!([1e-4, 5e-4].contains(&o.weight_decay));
        // Compression: the paper's settings.
        let c = cfg.compress.as_ref().unwrap();
        assert_eq!((c.basis, c.alternate, c.threshold), (5, 2, 1.0));
        assert_eq!((c.retrain_epochs, c.finetune_epochs), (100, 30));
        assert_eq!((c.lambda, c.lr), (1e-4, 0.01));
        assert_eq!(c.lr_drops, [0.5, 0.75]);
        assert!(c.finetune_lr > 0.0 && c.finetune_lr <= c.lr);
    }
}
