//! PENNI on batch-norm and residual networks: pruning silences a weightless channel's batch
//! norm so that shrinking removes it exactly, and the whole pipeline runs on such a network.

use crate::common;

use common::synth::{scratch_dir, write_cifar_batch};
use common::{max_rel_err, random};
use insitu::backend::*;
use insitu::compress::{config::CompressConfig, penni, pipeline};
use insitu::config::Init;
use insitu::cpu::CpuBackend;
use insitu::net::Net;
use insitu::nn::model::{Conv, ConvWeights, Layer, Model};

/// A model with non-trivial biases, BN parameters and running statistics.
fn model(arch: &str, input: [usize; 3], classes: usize) -> Model {
    let mut m = Model::init(arch, input, classes, Init::He, 5).unwrap();
    common::perturb_convs(&mut m, 200);
    m
}

fn conv(m: &mut Model, l: usize) -> &mut Conv {
    match &mut m.layers[l] {
        Layer::Conv(c) => c,
        Layer::Fc(_) => unreachable!("layer {l} is not a conv"),
    }
}

/// Shrinks output channel `o`'s coefficients far below the layer's spread, so pruning takes
/// them all.
fn fade(c: &mut Conv, o: usize) {
    let per = c.c_in;
    let ConvWeights::Penni(p) = &mut c.weights else {
        unreachable!("decomposed first")
    };
    let per = per * p.d;
    p.coef[o * per..(o + 1) * per]
        .iter_mut()
        .for_each(|v| *v *= 1e-4);
}

/// Logits of the forward pass, PENNI layers in inference form; eval mode (running BN
/// statistics) or training mode (batch statistics).
fn logits(m: &Model, x: &[f32], batch: usize, eval: bool) -> Vec<f32> {
    let mut be = CpuBackend::new();
    let hyper = common::hyper(batch, Activation::Relu);
    let mut net = Net::new(&mut be, m, hyper).unwrap();
    net.inference_form = true;
    net.training = !eval;
    be.write(net.x, x);
    net.forward(&mut be, batch);
    be.read(net.layers.last().unwrap().out)
}

fn channels(m: &Model) -> Vec<(usize, usize)> {
    m.layers
        .iter()
        .map(|l| match l {
            Layer::Conv(c) => (c.c_in, c.c_out),
            Layer::Fc(f) => (f.fan_in, f.fan_out),
        })
        .collect()
}

/// Output channels of each layer with no coefficient left.
fn dead(m: &Model) -> Vec<Vec<usize>> {
    m.layers
        .iter()
        .map(|l| match l {
            Layer::Conv(Conv {
                weights: ConvWeights::Penni(p),
                c_in,
                ..
            }) => p
                .coef
                .chunks(c_in * p.d)
                .enumerate()
                .filter(|(_, r)| r.iter().all(|v| *v == 0.0))
                .map(|(o, _)| o)
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Prunes `m` (after fading `fades`), checks that each dead channel's bias, gamma and beta are
/// zero and masked, shrinks, and checks the shapes and that outputs do not change.
fn prune_then_shrink(mut m: Model, fades: &[(usize, usize)], want: &[(usize, usize)]) {
    penni::decompose(&mut m, 5);
    for &(l, o) in fades {
        fade(conv(&mut m, l), o);
    }
    let masks = penni::prune(&mut m, 1.0);
    let mut planted = vec![Vec::new(); m.layers.len()];
    for &(l, o) in fades {
        planted[l].push(o);
        planted[l].sort();
    }
    assert_eq!(
        dead(&m),
        planted,
        "pruning kills exactly the faded channels"
    );
    for &(l, o) in fades {
        let c = conv(&mut m, l);
        let bn = c.bn.as_ref().unwrap();
        assert_eq!((c.bias[o], bn.gamma[o], bn.beta[o]), (0.0, 0.0, 0.0));
        let (cm, om) = masks[l].as_ref().unwrap();
        assert_eq!(om.len(), c.c_out);
        assert_eq!(om[o], 0.0);
        assert_eq!(om.iter().filter(|v| **v == 0.0).count(), planted[l].len());
        let ConvWeights::Penni(p) = &c.weights else {
            unreachable!()
        };
        assert!(cm
            .iter()
            .zip(&p.coef)
            .all(|(k, v)| (*k != 0.0) == (*v != 0.0)));
    }
    // Live channels keep their batch norm.
    let c0 = conv(&mut m, fades[0].0);
    let live = (0..c0.c_out)
        .find(|o| !planted[fades[0].0].contains(o))
        .unwrap();
    assert_ne!(c0.bn.as_ref().unwrap().gamma[live], 0.0);
    let batch = 3;
    let x = random(batch * m.input.iter().product::<usize>(), 17, -1.0, 1.0);
    let (eval, train) = (logits(&m, &x, batch, true), logits(&m, &x, batch, false));
    let macs = m.total().macs;
    penni::shrink(&mut m);
    m.validate().unwrap();
    assert_eq!(channels(&m), want);
    assert!(m.total().macs < macs);
    let e = max_rel_err(&logits(&m, &x, batch, true), &eval);
    assert!(e < 1e-5, "shrinking changed eval-mode logits by {e}");
    let e = max_rel_err(&logits(&m, &x, batch, false), &train);
    assert!(e < 1e-4, "shrinking changed training-mode logits by {e}");
}

#[test]
fn pruned_bn_channels_are_shrunk_away() {
    let m = model("C6b-C8b-M-C5b-FC4", [2, 8, 8], 4);
    // Layer 0 loses channel 1, layer 1 channels 4 and 6; layer 2 (read by the FC) channel 0.
    prune_then_shrink(
        m,
        &[(0, 1), (1, 4), (1, 6), (2, 0)],
        &[(2, 5), (5, 6), (6, 4), (4 * 16, 4)],
    );
}

#[test]
fn pruned_residual_channels_are_shrunk_away_by_group() {
    // 0 stem, 1 (pooled), 2-3 identity block (3 adds 1's output), 4-5 projection block
    // (5 projects 3's output), 6 FC after global pooling.
    let m = model("C8b-C8b-M-R8-R12s2-G-FC10", [3, 8, 8], 10);
    let fades = [
        (0, 2), // untied: removed
        (1, 3), // tied with 3's channel 3, also dead: removed from both
        (3, 3),
        (3, 1), // tied with 1's live channel 1: kept
        (2, 5), // inside the block: removed
        (4, 7), // inside the projection block: removed
    ];
    let want = [(3, 7), (7, 7), (7, 7), (7, 7), (7, 11), (11, 12), (12, 10)];
    prune_then_shrink(m.clone(), &fades, &want);
    // The projection's inputs follow the tied group.
    let mut p = m;
    penni::decompose(&mut p, 5);
    for &(l, o) in &fades {
        fade(conv(&mut p, l), o);
    }
    penni::prune(&mut p, 1.0);
    penni::shrink(&mut p);
    let proj = conv(&mut p, 5)
        .shortcut
        .as_ref()
        .and_then(|s| s.proj.as_ref())
        .unwrap();
    assert_eq!((proj.c_in, proj.c_out), (7, 12));
}

/// Tiny CIFAR-format files: class `c` images are brighter in channel `c % 3`.
fn cifar_files(dir: &std::path::Path, train: usize, test: usize) {
    let records = |n: usize, salt: usize| -> Vec<(u8, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let label = ((i + salt) % 10) as u8;
                let noise = random(3072, (i + 1000 * salt) as u32, 0.0, 96.0);
                let px = noise
                    .iter()
                    .enumerate()
                    .map(|(j, v)| {
                        let lift = if j / 1024 == label as usize % 3 {
                            16.0 * label as f32
                        } else {
                            0.0
                        };
                        (v + lift) as u8
                    })
                    .collect();
                (label, px)
            })
            .collect()
    };
    write_cifar_batch(dir.join("data_batch_1.bin"), &records(train, 0)).unwrap();
    for b in 2..=5 {
        write_cifar_batch(dir.join(format!("data_batch_{b}.bin")), &[]).unwrap();
    }
    write_cifar_batch(dir.join("test_batch.bin"), &records(test, 7)).unwrap();
}

#[test]
fn pipeline_runs_end_to_end_on_a_residual_bn_net() {
    let dir = scratch_dir("penni-bn").unwrap();
    cifar_files(dir.path(), 48, 24);
    let text = format!(
        r#"
name = "penni_bn_tiny"
seed = 3
[data]
source = "cifar10"
path = "{}"
normalize = "standard"
augment = "crop_flip"
[network]
arch = "C8b-C8b-M-R8-R12s2-G-FC10"
# tanh'(0) = 1: a dead channel's beta gets gradients, so only the masks keep it at zero.
activation = "tanh"
input = [3, 32, 32]
[train]
epochs = 1
batch_size = 16
[optimizer]
lr = 0.05
momentum = 0.9
nesterov = true
weight_decay = 0.0005
[compress]
basis = 5
retrain_epochs = 2
alternate = 1
lambda = 0.0001
threshold = 2.0
finetune_epochs = 1
lr = 0.01
finetune_lr = 0.001
"#,
        dir.path().display()
    );
    let cfg = insitu::config::parse(&text, "penni_bn_tiny", &[]).unwrap();
    let cc: CompressConfig = cfg.compress.clone().unwrap();
    let split = insitu::data::load(&cfg.data).unwrap();
    let mut be = CpuBackend::new();
    let (report, base, small) = pipeline::run(&mut be, &cfg, &cc, &split, None).unwrap();
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "baseline",
            "decomposed",
            "retrained",
            "pruned",
            "fine-tuned",
            "shrunk"
        ]
    );
    // The training stages report their epochs from the shared loop; the others none.
    let epochs: Vec<usize> = report.stages.iter().map(|s| s.epochs.len()).collect();
    assert_eq!(epochs, [0, 0, 2, 0, 1, 0]);
    for st in &report.stages {
        let secs: f64 = st.epochs.iter().map(|e| e.seconds).sum();
        assert!(
            st.epochs.is_empty() || st.train_seconds == secs,
            "{}",
            st.name
        );
        for (i, e) in st.epochs.iter().enumerate() {
            assert_eq!(e.epoch as usize, i + 1);
            assert!(e.train_loss.is_finite() && (0.0..=1.0).contains(&e.test_accuracy));
        }
    }
    let table = pipeline::table(&report);
    for n in &names {
        assert!(table.contains(n), "{table}");
    }
    // A threshold of 2 std leaves some of the stem's 8 channels (15 coefficients each) with
    // none; fine-tuning's masks keep their bias, gamma and beta at zero, so shrinking removes
    // them without changing what the network computes.
    let (c_base, c_small) = (channels(&base), channels(&small));
    assert_eq!(c_base[0], (3, 8));
    assert!(c_small[0].1 < 8, "stem kept all its channels: {c_small:?}");
    assert!(
        dead(&small)[0].is_empty(),
        "a weightless stem channel survived shrinking"
    );
    small.validate().unwrap();
    let (tuned, shrunk) = (&report.stages[4], &report.stages[5]);
    assert!(
        (tuned.test_accuracy - shrunk.test_accuracy).abs() <= 1.0 / 24.0 + 1e-9,
        "shrinking changed accuracy: {} -> {}",
        tuned.test_accuracy,
        shrunk.test_accuracy
    );
    assert!(shrunk.counts.macs < tuned.counts.macs);
    assert!(report.macs_removed > 0.0);
    assert!(report.chip_dense.is_some() && report.chip_compressed.is_some());
}
