//! A network's trainable tensor: values, gradient, momentum and what the SGD step applies to it.

use crate::backend::*;

/// A trainable tensor: values, gradient, momentum, optional 0/1 mask, L1 strength, and
/// whether weight decay applies (not to batch norm's gamma and beta).
pub struct Param {
    pub w: Buf,
    pub g: Buf,
    pub v: Buf,
    pub len: usize,
    pub mask: Option<Buf>,
    pub trainable: bool,
    pub l1: f32,
    pub decay: bool,
}

impl Param {
    pub(super) fn new(be: &mut dyn Backend, values: &[f32]) -> Param {
        let w = be.alloc(values.len());
        be.write(w, values);
        Param {
            w,
            g: be.alloc(values.len()),
            v: be.alloc(values.len()),
            len: values.len(),
            mask: None,
            trainable: true,
            l1: 0.0,
            decay: true,
        }
    }

    pub(super) fn sparse(&self) -> SparseParams {
        SparseParams {
            count: self.len as u32,
            _pad: [0; 2],
            lambda: self.l1,
        }
    }
}
