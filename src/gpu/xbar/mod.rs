//! Crossbar layers resident on the GPU, and the backend's crossbar operations on them: the fused
//! read (`shaders/xbar_read.wgsl`), programming (`shaders/xbar_program.wgsl`) and the derived
//! effective conductances (`shaders/xbar_eff.wgsl`). They reproduce `backend::xbar::HostXbar::read` /
//! `HostXbar::program` (the reference physics of `crate::xbar`), including the activity counters.
//!
//! Storage per layer of P instances:
//! - `cells` `[P][total]`: data cells, then forward and transposed reference cells, i.e. the
//!   reference's cell-index space (`LayerCells::total_cells`);
//! - `frozen` `[P][total]` u32: the frozen d2d factor as f32 bits, or, sign bit set, the whole
//!   effective conductance of a stuck cell; drawn once here with the reference's keys;
//! - `eff_f` `[P][S][K][ncol_f]`, `eff_b` `[P][S][N][ncol_b]`: effective conductances per read
//!   direction, recomputed from `cells` after creation and after every programming step;
//! - `curves` `[P][data cells][CURVE_STRIDE]`: per-cell (a_ltp, a_ltd, up_down, g_min, g_max)
//!   of the update curve (`device::CellCurve`; one cell per weight only);
//! - `inst` `[P][INST_STRIDE]`: per-instance scalars and keys, `state`: the activity counters
//!   and the ring of per-call counters (read counter or programming step); both laid out by
//!   `xbar::param_table`, which the shaders share as `shaders/xbar_table.wgsl`;
//! - `xmax` `[P]`: the per-instance input range of the last read, then `[P][ABSMAX_PARTS]`
//!   partial maxima; `rowmax` `[P][K]`.
//!
//! The per-call counter goes through the ring instead of the parameter uniform so that the
//! uniforms and bind groups the backend caches by content stay bounded over a long run: each call
//! writes its counter into the next slot (`queue.write_buffer`, which lands before the next
//! submission) and names the slot in its parameters; the work recorded is flushed every
//! `param_table::RING` calls, so one submission never sees a slot twice.
//!
//! Files: `layer` (the resident buffers), `host` (what these operations need of the backend),
//! `params` (the kernels' uniforms), `words` (the per-cell and per-instance words written at
//! creation), `create` (creation, calibration, read-back), `eff` (effective conductances),
//! `ring` (the per-call counter ring), `read` (the fused read), `split` (its tile shape and
//! dispatch split), `calibrate` (the calibrating read's histogram passes), `program`
//! (programming).

mod calibrate;
mod create;
mod eff;
mod host;
mod layer;
mod params;
mod program;
mod read;
mod ring;
mod split;
mod words;

pub(super) use calibrate::{calibrate_read, histogram};
pub(super) use create::{activity, cells, create, set_adc};
pub use host::Host;
pub use layer::GpuXbar;
pub(super) use program::program;
pub(super) use read::read;
