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
