//! Parses and validates every shader, with every override set used, with naga (no GPU needed).

use super::shaders;

/// `Err` names the shader, the override set and naga's message.
pub fn validate_all() -> Result<usize, String> {
    let mut checked = 0;
    for name in shaders::SHADERS {
        let src = shaders::source(name);
        let module = naga::front::wgsl::parse_str(&src)
            .map_err(|e| format!("{name}: {}", e.emit_to_string(&src)))?;
        let flags = naga::valid::ValidationFlags::all();
        let caps = naga::valid::Capabilities::all();
        let info = naga::valid::Validator::new(flags, caps)
            .validate(&module)
            .map_err(|e| format!("{name}: {}", e.emit_to_string(&src)))?;
        for set in shaders::override_sets(name) {
            let constants: naga::back::PipelineConstants =
                set.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
                .map_err(|e| format!("{name} with {set:?}: {e}"))?;
            checked += 1;
        }
    }
    Ok(checked)
}
