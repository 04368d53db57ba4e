//! Choosing the backend from the command line (`--backend`, `--adapter`); the choice itself
//! lives below the commands, in `select`, where sweeps use it too.

pub use crate::select::{is_software, open, BackendKind};
