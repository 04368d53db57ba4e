//! Handles to what a backend holds: buffers, and a mark of how much it held at one point.

/// A buffer handle, valid for the backend that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Buf(pub usize);

/// How much a backend held at one point: `Backend::release` frees what was created after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Buffers.
    pub bufs: usize,
    /// Crossbar layers.
    pub xbars: usize,
    /// Parameter blocks the backend keeps (GPU uniforms; 0 elsewhere).
    pub params: usize,
}
