//! The PENNI stage table's run-time memory, against counts done by hand.

use insitu::compress::pipeline::runtime_memory;
use insitu::config::Init;
use insitu::nn::model::Model;

#[test]
fn memory_of_a_small_net_by_hand() {
    // C4 (3x3, same) on 1x8x8, 2x2 max pool, FC10.
    let m = Model::init("C4-M-FC10", [1, 8, 8], 10, Init::He, 1).unwrap();
    let mem = runtime_memory(&m);
    let params = (4 * 9 + 4) + (4 * 4 * 4 * 10 + 10);
    assert_eq!(mem.weight_bytes, 4 * params);
    // Conv layer: input 64 + conv output 4*64 + pooled 4*16 = 384 values; FC: 64 + 10.
    assert_eq!(mem.activation_bytes_per_image, 4 * 384);
    assert_eq!(
        mem.runtime_bytes,
        mem.weight_bytes + mem.activation_bytes_per_image
    );
}

#[test]
fn penni_layers_count_their_basis_maps() {
    let mut m = Model::init("C6-C4-M-FC10", [2, 6, 6], 10, Init::He, 3).unwrap();
    insitu::compress::penni::decompose(&mut m, 3);
    let mem = runtime_memory(&m);
    assert_eq!(mem.weight_bytes, 4 * m.total().params);
    // Second conv: input 6*36 + output 4*36 + pooled 4*9 + basis maps 3*6*36 = 1044 values,
    // above the first (2*36 + 6*36 + 3*2*36 = 504).
    assert_eq!(mem.activation_bytes_per_image, 4 * 1044);
}
