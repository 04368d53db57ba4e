//! Twin of `shaders/fill.wgsl`.

use crate::backend::FillParams;

pub fn fill(buf: &mut [f32], p: &FillParams) {
    buf[p.off as usize..(p.off + p.count) as usize].fill(p.value);
}
