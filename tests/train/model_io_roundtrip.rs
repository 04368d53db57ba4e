//! Models on disk: safetensors round trips of dense and PENNI conv networks.

use insitu::compress::penni;
use insitu::config::Init;
use insitu::model_io;
use insitu::nn::model::Model;

#[test]
fn dense_and_penni_models_round_trip() {
    let mut m = Model::init("C4-M-C6k3s2p1-A-FC10", [3, 12, 10], 10, Init::He, 1).unwrap();
    let bytes = model_io::to_bytes(&m);
    assert_eq!(model_io::from_bytes(&bytes).unwrap(), m);
    penni::decompose(&mut m, 3);
    let dir = std::env::temp_dir().join(format!("insitu-model-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    model_io::save(&m, &path).unwrap();
    assert_eq!(model_io::load(&path).unwrap(), m);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn header_names_shapes_and_metadata() {
    let mut m = Model::init("C4-M-FC10", [1, 6, 6], 10, Init::He, 1).unwrap();
    penni::decompose(&mut m, 2);
    let bytes = model_io::to_bytes(&m);
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0);
    let h: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(h["__metadata__"]["format"], "insitu-cnn");
    assert_eq!(h["__metadata__"]["input"], "1,6,6");
    assert_eq!(
        h["__metadata__"]["layers.0"],
        "conv k=3 stride=1 pad=1 pool=max"
    );
    assert_eq!(h["__metadata__"]["layers.1"], "fc");
    assert_eq!(h["layers.0.basis"]["shape"], serde_json::json!([2, 3, 3]));
    assert_eq!(h["layers.0.coef"]["shape"], serde_json::json!([4, 1, 2]));
    assert_eq!(h["layers.1.weight"]["shape"], serde_json::json!([10, 36]));
    assert_eq!(h["layers.1.weight"]["dtype"], "F32");
    // A truncated file is an error, not a panic.
    assert!(model_io::from_bytes(&bytes[..bytes.len() - 4]).is_err());
}

#[test]
fn bn_and_residual_models_round_trip() {
    let mut m = Model::init("C4b-R4-R6s2-G-FC10", [3, 8, 8], 10, Init::He, 2).unwrap();
    // Distinct BN values so that a swapped tensor shows.
    for layer in &mut m.layers {
        if let insitu::nn::model::Layer::Conv(c) = layer {
            if let Some(bn) = &mut c.bn {
                bn.gamma.iter_mut().for_each(|v| *v = 1.5);
                bn.mean.iter_mut().for_each(|v| *v = -0.25);
                bn.var.iter_mut().for_each(|v| *v = 2.0);
            }
        }
    }
    let bytes = model_io::to_bytes(&m);
    let back = model_io::from_bytes(&bytes).unwrap();
    assert_eq!(back, m);
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    for name in [
        "layers.0.bn.running_var",
        "layers.4.shortcut.weight",
        "layers.4.shortcut.bn.gamma",
        "shortcut_from=2",
        "shortcut_from=0",
    ] {
        assert!(header.contains(name), "{name} missing from {header}");
    }
    penni::decompose(&mut m, 3);
    assert_eq!(model_io::from_bytes(&model_io::to_bytes(&m)).unwrap(), m);
}
