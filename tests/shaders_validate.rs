//! Every shader and every override set parses and validates with naga; needs no GPU.

#[test]
fn all_shaders_validate() {
    let n = insitu::gpu::validate::validate_all().unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= insitu::gpu::shaders::SHADERS.len());
}
