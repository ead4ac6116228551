//! The mixer's effect processors: parametric EQ, compressor, reverb, tempo-synced delay and the
//! true-peak limiter (docs/mixing.md describes each design and its formulas).
//!
//! Every processor is built off the audio thread (`new` allocates its buffers for the worst case
//! at that rate) and then never allocates, locks or does I/O: `set` only records targets and
//! `process` does bounded work per frame. They read their settings from the plain parameter
//! structs of [`crate::model::mix`] (data only, no behaviour), so the engine, the song file and the
//! mixer view share one definition. Processing is stereo, in place or bus-in/wet-out on planar
//! slices of any length; output does not depend on how the caller slices time, because parameter
//! ramps advance on an internal control grid of [`CONTROL_FRAMES`] frames counted from `new` or
//! `reset`, and per-sample gains ramp per frame.

pub mod compressor;
pub mod delay;
pub mod eq;
pub mod limiter;
pub mod reverb;

pub use compressor::{CompressorProcessor, static_curve_db};
pub use delay::{DelayProcessor, MAX_DELAY_SECONDS};
pub use eq::{EqProcessor, eq_response_db};
pub use limiter::LimiterProcessor;
pub use reverb::ReverbProcessor;

/// Coefficients and other derived parameters are recomputed every this many frames while a
/// parameter ramps (a divisor of the engine's 32-frame control grid).
pub const CONTROL_FRAMES: u32 = 16;

/// Duration of parameter ramps in milliseconds.
pub const RAMP_MS: f32 = 20.0;

/// Number of control steps of a [`RAMP_MS`] ramp at `rate`.
pub(crate) fn ramp_steps(rate: f32) -> u32 {
    ((RAMP_MS * 0.001 * rate) / CONTROL_FRAMES as f32)
        .ceil()
        .max(1.0) as u32
}

/// Number of frames of a [`RAMP_MS`] ramp at `rate` (for per-sample gain smoothing).
pub(crate) fn ramp_frames(rate: f32) -> u32 {
    (RAMP_MS * 0.001 * rate).round().max(1.0) as u32
}

/// Pole of a one-pole smoother with time constant `ms` at `rate`: after `ms` the output has
/// covered 1 − 1/e of a step.
#[inline]
pub(crate) fn one_pole_coef(ms: f32, rate: f32) -> f32 {
    let frames = (ms * 0.001 * rate).max(1e-3);
    (-1.0 / frames).exp()
}

/// A parameter that ramps linearly to its target in a fixed number of control steps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ramp {
    value: f32,
    target: f32,
    step: f32,
    left: u32,
    steps: u32,
}

impl Ramp {
    pub(crate) fn new(value: f32, steps: u32) -> Ramp {
        Ramp {
            value,
            target: value,
            step: 0.0,
            left: 0,
            steps: steps.max(1),
        }
    }

    /// Sets a new target; the ramp restarts from the current value.
    #[inline]
    pub(crate) fn set(&mut self, target: f32) {
        if target != self.target {
            self.target = target;
            self.left = self.steps;
            self.step = (target - self.value) / self.steps as f32;
        }
    }

    /// Jumps to `value`.
    #[inline]
    pub(crate) fn snap(&mut self, value: f32) {
        self.value = value;
        self.target = value;
        self.left = 0;
    }

    /// Jumps to the target.
    #[inline]
    pub(crate) fn finish(&mut self) {
        self.snap(self.target);
    }

    /// Advances one control step.
    #[inline]
    pub(crate) fn tick(&mut self) {
        if self.left > 0 {
            self.left -= 1;
            self.value = if self.left == 0 {
                self.target
            } else {
                self.value + self.step
            };
        }
    }

    #[inline]
    pub(crate) fn value(&self) -> f32 {
        self.value
    }

    #[inline]
    pub(crate) fn is_ramping(&self) -> bool {
        self.left > 0
    }
}

/// Test helpers shared by the processors' tests.
#[cfg(test)]
pub(crate) mod testutil {
    /// Amplitude of the component at `freq` in `x` (Hann-windowed projection, normalised so that
    /// a sine of amplitude A reads A).
    pub fn amplitude(x: &[f32], freq: f64, rate: f64) -> f64 {
        let n = x.len();
        let (mut re, mut im, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
            let ph = std::f64::consts::TAU * freq * i as f64 / rate;
            re += w * v as f64 * ph.cos();
            im += w * v as f64 * ph.sin();
            wsum += w;
        }
        2.0 * (re * re + im * im).sqrt() / wsum
    }

    /// A sine of amplitude `amp`.
    pub fn sine(n: usize, freq: f64, rate: f64, amp: f64) -> Vec<f32> {
        (0..n)
            .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / rate).sin()) as f32)
            .collect()
    }

    /// Runs a processor over `l`/`r` in chunks cycling through 1..=32 frames, as the engine does.
    pub fn chunked(l: &mut [f32], r: &mut [f32], mut f: impl FnMut(&mut [f32], &mut [f32])) {
        let mut start = 0;
        let mut k = 0usize;
        while start < l.len() {
            let n = (k % 32 + 1).min(l.len() - start);
            f(&mut l[start..start + n], &mut r[start..start + n]);
            start += n;
            k = k.wrapping_mul(7).wrapping_add(13);
        }
    }
}
