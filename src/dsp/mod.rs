//! Signal processing building blocks (layer 1): oscillators, envelopes, filters, interpolation,
//! smoothing, panning and a seeded random source. Nothing here allocates after construction, takes a
//! lock or does I/O, so everything may run inside the audio callback.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod envelope;
pub mod filter;
pub mod fx;
pub mod interp;
pub mod osc;
pub mod pan;
pub mod rng;
pub mod simd;
pub mod smooth;

/// Values below this in a feedback path are flushed to zero to keep denormals out (DESIGN §3.6).
pub const DENORMAL_FLOOR: f32 = 1e-15;

/// `m.max(x.abs())` for `m` ≥ 0 (a NaN `x` leaves `m`), written as a comparison so that it
/// compiles to one vector maximum: `f32::max` must also handle a NaN `m`, which costs a compare
/// and a blend per vector.
#[inline(always)]
pub(crate) fn max_abs(m: f32, x: f32) -> f32 {
    let a = x.abs();
    if a > m { a } else { m }
}

/// Converts decibels to a linear gain.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// Converts a linear gain to decibels (-inf for 0).
#[inline]
pub fn gain_to_db(gain: f32) -> f32 {
    20.0 * gain.log10()
}
