//! The ring of per-call counters (read counter or programming step) in a layer's `state`: each
//! call writes its counter into the next slot and names the slot in its parameters, so the
//! uniforms and bind groups the backend caches by content stay bounded over a long run.

use super::host::Host;
use crate::backend::XbarId;
use crate::xbar::param_table::{self as table, RING_BASE};

/// Next ring slot, with `counter` written into it.
pub(super) fn ring_slot(be: &mut impl Host, id: XbarId, counter: u32) -> u32 {
    let x = &mut be.xbars()[id.0];
    let slot = x.ring_next % table::RING as u32;
    x.ring_next = x.ring_next.wrapping_add(1);
    let state = x.state;
    if slot == 0 {
        // Work recorded with earlier uses of the slots must see their values: submit it first.
        be.flush();
    }
    be.write_words(state, RING_BASE + slot as usize, &[counter]);
    slot
}
