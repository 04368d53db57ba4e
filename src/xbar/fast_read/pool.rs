//! Large read buffers kept across reads. A fresh block of many MiB costs a page fault per
//! 4 KiB page on its first write (and its zero-fill), and freeing it unmaps it, which stalls
//! the other cores on a TLB shootdown; every read of a layer needs the same sizes again.

use std::sync::Mutex;

/// Buffers a pool keeps at most (the tasks of the reads of every layer of a net) ...
const KEPT: usize = 256;

/// ... and bytes: past either bound the oldest go back to the allocator.
const KEPT_BYTES: usize = 1 << 30;

/// Buffers of `T` returned by finished reads, taken by the next ones.
pub(super) struct Pool<T>(Mutex<Vec<Vec<T>>>);

impl<T: Copy + Default> Pool<T> {
    pub(super) const fn new() -> Self {
        Pool(Mutex::new(Vec::new()))
    }

    /// A buffer of `len` elements whose values are left from earlier reads (zero where it
    /// grew): for buffers whose every element is written before it is read. The smallest
    /// kept one that is large enough but not twice as large, else a new one.
    pub(super) fn take(&self, len: usize) -> Vec<T> {
        let found = {
            let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let best = (kept.iter().enumerate())
                .filter(|(_, v)| v.capacity() >= len && v.capacity() / 2 <= len)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            best.map(|i| kept.swap_remove(i))
        };
        let mut v = found.unwrap_or_else(|| Vec::with_capacity(len));
        v.resize(len, T::default());
        v
    }

    /// Keeps `v` for a later [`Pool::take`]; past `KEPT` buffers or `KEPT_BYTES` the oldest
    /// are freed.
    pub(super) fn give(&self, v: Vec<T>) {
        if v.capacity() == 0 {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(v);
        let bytes =
            |kept: &[Vec<T>]| kept.iter().map(|v| v.capacity()).sum::<usize>() * size_of::<T>();
        while kept.len() > KEPT || bytes(&kept) > KEPT_BYTES {
            kept.remove(0);
        }
    }
}

/// Whole buffers of the largest size asked so far, one per read in flight: the kept products of
/// a calibrating read (hundreds of MiB), whose sizes vary from layer to layer.
pub(super) struct Arenas(Mutex<Vec<Vec<f32>>>);

/// Arenas kept at most (reads of several instances in flight at once).
const ARENAS: usize = 4;

impl Arenas {
    pub(super) const fn new() -> Self {
        Arenas(Mutex::new(Vec::new()))
    }

    /// A buffer of at least `len` values, stale (zero where it grew): the largest kept one,
    /// replaced by a larger one where its capacity is too small.
    pub(super) fn take(&self, len: usize) -> Vec<f32> {
        let found = {
            let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let largest = (kept.iter().enumerate())
                .max_by_key(|(_, v)| v.len())
                .map(|(i, _)| i);
            largest.map(|i| kept.swap_remove(i))
        };
        let mut v = match found {
            Some(v) if v.capacity() >= len => v,
            // Room to spare: the next layers' reads are often a little larger.
            _ => Vec::with_capacity(len + len / 4),
        };
        if v.len() < len {
            // In parallel: the first touch of fresh pages (faults, zeroing) is the cost.
            use rayon::prelude::*;
            let grown = len - v.len();
            v.par_extend(rayon::iter::repeat_n(0.0, grown));
        }
        v
    }

    /// Keeps `v` for a later [`Arenas::take`]; past `ARENAS` the smallest is freed.
    pub(super) fn give(&self, v: Vec<f32>) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(v);
        if kept.len() > ARENAS {
            let smallest = (kept.iter().enumerate())
                .min_by_key(|(_, v)| v.len())
                .map(|(i, _)| i);
            if let Some(i) = smallest {
                kept.swap_remove(i);
            }
        }
    }
}

/// Raw sums of finished reads (`[batch][outs]`), for the next.
pub(super) static RAW: Pool<f64> = Pool::new();

/// Outputs of finished reads, for the next.
static OUTPUTS: Pool<f32> = Pool::new();

/// Keeps a read's raw sums (from [`super::Plan::run`]) once they are used.
pub fn recycle_raw(raw: Vec<f64>) {
    RAW.give(raw);
}

/// A buffer of `len` values for a read's output, to be overwritten in full (a kept one:
/// its values are stale).
pub fn output_buffer(len: usize) -> Vec<f32> {
    OUTPUTS.take(len)
}

/// Keeps a read's output once it is copied where it belongs.
pub fn recycle_output(out: Vec<f32>) {
    OUTPUTS.give(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arenas_grow_and_are_reused_whole() {
        let arenas = Arenas::new();
        let a = arenas.take(10);
        assert_eq!(a, [0.0; 10]);
        let pa = a.as_ptr();
        arenas.give(a);
        let small = arenas.take(4);
        assert_eq!((small.as_ptr(), small.len()), (pa, 10));
        arenas.give(small);
        let big = arenas.take(1000);
        assert!(big.len() == 1000 && big.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn reuses_a_large_enough_buffer_of_about_the_size() {
        let pool = Pool::<f32>::new();
        let (a, b) = (vec![1.0f32; 100], vec![2.0f32; 10]);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        pool.give(a);
        pool.give(b);
        // Too small for the one, under half of the other: a new, zeroed buffer.
        let c = pool.take(4);
        assert!(c.as_ptr() != pa && c.as_ptr() != pb && c == [0.0; 4]);
        let small = pool.take(8);
        assert_eq!((small.as_ptr(), &small[..]), (pb, &[2.0; 8][..]));
        let big = pool.take(60);
        assert_eq!((big.as_ptr(), &big[..]), (pa, &[1.0; 60][..]));
        pool.give(big);
        let grown = pool.take(100);
        assert_eq!((grown.as_ptr(), grown.len()), (pa, 100));
        assert!(grown[60..].iter().all(|&v| v == 0.0));
    }
}
