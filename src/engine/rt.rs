//! The one entry point that makes audio. The live callback and the offline renderer both call
//! [`process_block`]; it lives here, not in an audio layer, so rendering never depends on a device.

use super::Engine;

/// Renders one host block into `left`/`right` under the allocation checker: in builds whose global
/// allocator is `assert_no_alloc::AllocDisabler` (debug binary, tests) any allocation or free inside
/// is reported.
pub fn process_block(engine: &mut Engine, left: &mut [f32], right: &mut [f32]) {
    assert_no_alloc::assert_no_alloc(|| engine.process(left, right));
}
