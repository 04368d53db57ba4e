//! Which layers DFA's error reaches through feedback arrays and which by BP's transposed reads
//! (`train.dfa_scope`). Under `all` every hidden layer has a feedback array. Under `fc_head` only
//! the hidden FC layers do; the first FC layer's error is backpropagated into the conv stack
//! below it, layer by layer, as under BP: the arrays of the first FC layer and of every conv
//! layer above the first are read transposed.

use crate::config::shape::{LayerKind, LayerShape};
use crate::config::DfaScope;

/// The layer whose error DFA's chain of transposed reads carries down: arrays `1..=top` are read
/// transposed under DFA, layers `top..N-1` (the hidden ones) have feedback arrays. 0: no
/// transposed read, every hidden layer has a feedback array.
pub fn chain_top(layers: &[LayerShape], scope: DfaScope) -> usize {
    match scope {
        DfaScope::All => 0,
        // Without a hidden FC layer the output layer starts the chain: BP throughout.
        DfaScope::FcHead => layers
            .iter()
            .position(|s| s.kind == LayerKind::Fc)
            .unwrap_or(layers.len().saturating_sub(1)),
    }
}

/// Whether layer `l` of `n` has a feedback array when the chain starts at `top`.
pub fn has_feedback(l: usize, n: usize, top: usize) -> bool {
    l >= top && l + 1 < n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::parse_shapes;

    #[test]
    fn fc_head_starts_the_chain_at_the_first_fc_layer() {
        let conv = parse_shapes("C8-M-C16-M-FC64-FC10", [1, 28, 28]).unwrap();
        assert_eq!(chain_top(&conv, DfaScope::All), 0);
        assert_eq!(chain_top(&conv, DfaScope::FcHead), 2);
        let head: Vec<bool> = (0..4).map(|l| has_feedback(l, 4, 2)).collect();
        assert_eq!(head, [false, false, true, false]);
        // No hidden FC layer: the output layer's error goes down the whole stack.
        let bare = parse_shapes("C8-M-C16-M-FC10", [1, 28, 28]).unwrap();
        assert_eq!(chain_top(&bare, DfaScope::FcHead), 2);
        assert!(!(0..3).any(|l| has_feedback(l, 3, 2)));
        // An MLP: the same under either scope.
        let mlp = parse_shapes("FC64-FC64-FC10", [1, 28, 28]).unwrap();
        assert_eq!(chain_top(&mlp, DfaScope::FcHead), 0);
    }
}
