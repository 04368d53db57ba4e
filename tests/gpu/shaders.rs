//! The kernel table (`backend::kernels`) against the files: every shader and override set parses
//! and validates with naga, every kernel's entry point exists and its parameter struct has the
//! size of the shader's uniform, every shader file belongs to a kernel, every twin exists and
//! every `src/cpu` file is a twin. Needs no GPU.

use std::collections::BTreeSet;
use std::path::Path;

use insitu::backend::kernels::{KERNELS, SNIPPETS};
use insitu::gpu::shaders;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The parsed and validated module of `shader`; `Err` names the shader and naga's message.
fn module(shader: &str) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let src = shaders::source(shader);
    let module = naga::front::wgsl::parse_str(&src)
        .map_err(|e| format!("{shader}: {}", e.emit_to_string(&src)))?;
    let flags = naga::valid::ValidationFlags::all();
    let caps = naga::valid::Capabilities::all();
    let info = naga::valid::Validator::new(flags, caps)
        .validate(&module)
        .map_err(|e| format!("{shader}: {}", e.emit_to_string(&src)))?;
    Ok((module, info))
}

#[test]
fn all_shaders_validate() {
    let mut checked = 0;
    for name in shaders::modules() {
        let (module, info) = module(name).unwrap_or_else(|e| panic!("{e}"));
        for set in shaders::override_sets(name) {
            let constants: naga::back::PipelineConstants =
                set.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
                .unwrap_or_else(|e| panic!("{name} with {set:?}: {e}"));
            checked += 1;
        }
    }
    assert!(checked > KERNELS.len() / 2);
}

/// Each kernel's entry point exists, and its uniform (group 0, binding 0) has the size of the
/// Rust parameter struct the table names.
#[test]
fn entry_points_and_parameter_sizes_match_the_table() {
    for k in KERNELS {
        let (module, _) = module(k.shader).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            module.entry_points.iter().any(|e| e.name == k.entry),
            "{}: shaders/{}.wgsl has no entry point `{}`",
            k.name,
            k.shader,
            k.entry
        );
        let Some(size) = k.params_size else { continue };
        let uniform = module
            .global_variables
            .iter()
            .find(|(_, g)| {
                g.binding
                    .as_ref()
                    .is_some_and(|b| b.group == 0 && b.binding == 0)
            })
            .unwrap_or_else(|| panic!("{}: no uniform at binding 0", k.name))
            .1;
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        assert_eq!(
            layouter[uniform.ty].size as usize, size,
            "{}: {} is {size} bytes, the shader's uniform {} bytes",
            k.name, k.params, layouter[uniform.ty].size
        );
    }
}

/// Every file in `shaders/` is a kernel's module or a snippet joined into one.
#[test]
fn every_shader_file_has_a_kernel() {
    let mut known: BTreeSet<&str> = insitu::backend::kernels::shaders().into_iter().collect();
    known.extend(SNIPPETS);
    for entry in std::fs::read_dir(root().join("shaders")).expect("shaders/") {
        let path = entry.expect("shaders/ entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name");
        assert!(
            known.contains(stem),
            "{} is neither a kernel's shader in backend::kernels::KERNELS nor a snippet",
            path.display()
        );
    }
}

/// Every twin the table names exists, and every file in `src/cpu/` (the backend aside) is a
/// kernel's twin.
#[test]
fn every_twin_exists_and_every_cpu_file_is_a_twin() {
    let mut twin_files = BTreeSet::new();
    for k in KERNELS {
        let (file, func) = k.twin.split_once("::").expect("twin is path::function");
        let text = std::fs::read_to_string(root().join(file))
            .unwrap_or_else(|e| panic!("{}: twin file {file}: {e}", k.name));
        assert!(
            text.contains(&format!("pub fn {func}(")) || text.contains(&format!("pub fn {func}<")),
            "{}: {file} has no `pub fn {func}`",
            k.name
        );
        twin_files.insert(file.to_string());
    }
    for entry in std::fs::read_dir(root().join("src/cpu")).expect("src/cpu/") {
        let name = entry.expect("src/cpu entry").file_name();
        let name = name.to_str().expect("file name");
        if matches!(name, "mod.rs" | "backend.rs") {
            continue;
        }
        assert!(
            twin_files.contains(&format!("src/cpu/{name}")),
            "src/cpu/{name} is no kernel's twin in backend::kernels::KERNELS"
        );
    }
}

/// `shaders/xbar_table.wgsl` is the prelude generated from `xbar::param_table`, and the table's
/// fields fit their stride without overlapping.
#[test]
fn crossbar_table_prelude_matches_the_rust_layout() {
    use insitu::xbar::param_table::{self as table, FIELDS, INST_STRIDE};
    let file = std::fs::read_to_string(root().join("shaders/xbar_table.wgsl")).expect("prelude");
    let expected = table::wgsl_prelude();
    assert!(
        file == expected,
        "shaders/xbar_table.wgsl differs from xbar::param_table::wgsl_prelude(); it should read:\n{expected}"
    );
    let mut used = vec![None; INST_STRIDE];
    for f in FIELDS {
        let dirs: &[bool] = if f.per_dir { &[false, true] } else { &[false] };
        for &t in dirs {
            for w in 0..f.words {
                let at = table::at(0, *f, t) + w;
                assert!(at < INST_STRIDE, "{} word {at} beyond the stride", f.name);
                assert_eq!(
                    used[at], None,
                    "{} overlaps {:?} at word {at}",
                    f.name, used[at]
                );
                used[at] = Some(f.name);
            }
        }
    }
    // Both crossbar shaders use the prelude's accessors rather than their own offsets.
    for shader in ["xbar_read", "xbar_program"] {
        let text = std::fs::read_to_string(root().join(format!("shaders/{shader}.wgsl"))).unwrap();
        assert!(
            !text.contains("INST_STRIDE +") && !text.contains("const INST_STRIDE"),
            "shaders/{shader}.wgsl indexes the parameter table by hand"
        );
    }
}
