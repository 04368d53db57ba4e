//! Which way an array is read: forward, y = W x (inputs on the fan-in rows), or transposed,
//! e_in = W^T e_out (inputs on the fan-out columns).

/// Which way the array is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Inputs on the rows (fan-in), outputs on the columns.
    Forward,
    /// Inputs on the columns (fan-out), outputs on the rows: W^T e.
    Transposed,
}
