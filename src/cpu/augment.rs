//! Twin of `shaders/augment.wgsl`: `y` = `x` with each row cropped and flipped by its draw.

use crate::backend::AugmentParams;
use crate::rng::augment::draw;

pub fn augment(x: &[f32], y: &mut [f32], p: &AugmentParams) {
    let (c, h, w) = (p.c as usize, p.h as i32, p.w as i32);
    let plane = (h * w) as usize;
    for r in 0..p.rows as usize {
        let d = draw([p.key0, p.key1], p.first + r as u32, p.pad, p.flip != 0);
        for ch in 0..c {
            let base = (r * c + ch) * plane;
            for oy in 0..h {
                for ox in 0..w {
                    let sx = if d.flip { w - 1 - ox } else { ox } + d.dx;
                    let sy = oy + d.dy;
                    let inside = (0..h).contains(&sy) && (0..w).contains(&sx);
                    y[base + (oy * w + ox) as usize] = if inside {
                        x[base + (sy * w + sx) as usize]
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}
