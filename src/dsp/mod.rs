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

/// The largest absolute value of `x` (NaN ignored; 0 for none), in eight running maxima, which
/// vectorise (one fold is a serial chain of compares). Always inlined, so that it takes the
/// vector width of its caller (see [`simd`]).
#[inline(always)]
pub(crate) fn loudest(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = max_abs(*m, v);
        }
    }
    for (m, &v) in lanes.iter_mut().zip(chunks.remainder()) {
        *m = max_abs(*m, v);
    }
    // No lane is NaN: `max_abs` of values already ≥ 0 is a plain maximum.
    lanes.iter().fold(0.0, |m, &v| max_abs(m, v))
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
