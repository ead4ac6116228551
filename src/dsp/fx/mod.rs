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
/// parameter ramps (a divisor of the engine's 64-frame control grid).
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

/// What a feedback path stores: `v`, or 0 for denormal-range values (|v| < `DENORMAL_FLOOR`),
/// NaN and absurdly large values, so neither denormals nor a stray NaN or infinity can live on in
/// a loop (the same two comparisons catch all three).
#[inline(always)]
pub(crate) fn flush(v: f32) -> f32 {
    let a = v.abs();
    if (crate::dsp::DENORMAL_FLOOR..=1e30).contains(&a) {
        v
    } else {
        0.0
    }
}

/// [`flush`] for f64 state.
#[inline(always)]
pub(crate) fn flush64(v: f64) -> f64 {
    let a = v.abs();
    if (crate::dsp::DENORMAL_FLOOR as f64..=1e30).contains(&a) {
        v
    } else {
        0.0
    }
}

/// Points a per-frame smoother at `target` unless it already heads there: restarting a ramp on
/// every `set` with unchanged values would stretch it without end.
#[inline]
pub(crate) fn retarget(s: &mut crate::dsp::smooth::Smoothed, target: f32) {
    if s.target() != target {
        s.set(target);
    }
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

    /// Runs a processor over `l`/`r` in uneven chunks cycling through 1..=32 frames (the engine's chunks vary too).
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

#[cfg(test)]
// Tests may allocate and report what they measured (run with --nocapture to see it).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;
    use crate::model::mix::{Compressor, Delay, DelayUnit, Eq, EqBand, Limiter, Reverb};
    use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count};

    fn eq_all_on() -> Eq {
        let mut eq = Eq::default();
        for (b, g) in eq.bands.iter_mut().zip([0.0, 3.0, -4.0, 6.0, -2.0, 0.0]) {
            *b = EqBand {
                on: true,
                gain_db: g,
                ..*b
            };
        }
        eq
    }

    /// Every processor in a chain: EQ → compressor → reverb and delay sends → limiter.
    struct Chain {
        eq: EqProcessor,
        comp: CompressorProcessor,
        reverb: ReverbProcessor,
        delay: DelayProcessor,
        limiter: LimiterProcessor,
        wet_l: Vec<f32>,
        wet_r: Vec<f32>,
    }

    impl Chain {
        fn new(rate: f32) -> Chain {
            Chain {
                eq: EqProcessor::new(rate),
                comp: CompressorProcessor::new(rate),
                reverb: ReverbProcessor::new(rate),
                delay: DelayProcessor::new(rate),
                limiter: LimiterProcessor::new(rate),
                wet_l: vec![0.0; 32],
                wet_r: vec![0.0; 32],
            }
        }

        fn set(&mut self, k: u32) {
            let mut eq = eq_all_on();
            eq.bands[2].freq_hz = 300.0 + 100.0 * (k % 7) as f32;
            eq.on = k % 11 != 3;
            self.eq.set(&eq);
            self.comp.set(&Compressor {
                threshold_db: -20.0 - (k % 5) as f32,
                on: k % 13 != 5,
                ..Compressor::default()
            });
            self.reverb.set(&Reverb {
                size: (k % 10) as f32 / 10.0,
                ..Reverb::default()
            });
            let d = Delay {
                unit: if k.is_multiple_of(2) {
                    DelayUnit::Rows
                } else {
                    DelayUnit::Beats
                },
                ping_pong: k.is_multiple_of(3),
                ..Delay::default()
            };
            self.delay.set(&d, 120.0 + (k % 4) as f32, 4);
            self.limiter.set(&Limiter {
                ceiling_db: -1.0 - (k % 3) as f32,
                on: k % 17 != 2,
                ..Limiter::default()
            });
        }

        /// One engine chunk.
        fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
            let n = l.len();
            self.eq.process(l, r);
            self.comp.process(l, r);
            let (wl, wr) = (&mut self.wet_l[..n], &mut self.wet_r[..n]);
            self.reverb.process(l, r, wl, wr);
            for i in 0..n {
                l[i] += 0.3 * wl[i];
                r[i] += 0.3 * wr[i];
            }
            self.delay.process(l, r, wl, wr);
            for i in 0..n {
                l[i] += 0.3 * wl[i];
                r[i] += 0.3 * wr[i];
            }
            self.limiter.process(l, r);
        }
    }

    fn input(n: usize) -> (Vec<f32>, Vec<f32>) {
        let mut rng = Rng::new(11);
        let l: Vec<f32> = (0..n)
            .map(|i| 0.8 * rng.bipolar() * ((i / 3000) % 2) as f32 + 0.5 * (i as f32 * 0.01).sin())
            .collect();
        let r: Vec<f32> = l.iter().map(|v| -0.7 * v + 0.1 * rng.bipolar()).collect();
        (l, r)
    }

    /// Runs the chain over the input with chunks cut by `cut(k)`, changing settings every 1000
    /// frames of absolute time.
    fn render(rate: f32, mut cut: impl FnMut(usize) -> usize) -> (Vec<f32>, Vec<f32>) {
        let mut chain = Chain::new(rate);
        chain.set(0);
        let (mut l, mut r) = input(20_000);
        let (mut at, mut k) = (0, 0);
        while at < l.len() {
            let mut n = cut(k).clamp(1, 32).min(l.len() - at);
            let next_change = (at / 1000 + 1) * 1000;
            n = n.min(next_change - at);
            chain.process(&mut l[at..at + n], &mut r[at..at + n]);
            at += n;
            k += 1;
            if at % 1000 == 0 {
                chain.set((at / 1000) as u32);
            }
        }
        (l, r)
    }

    #[test]
    fn output_is_deterministic_and_independent_of_chunking() {
        let a = render(48_000.0, |_| 32);
        let b = render(48_000.0, |k| (k * 7 + 3) % 32 + 1);
        let c = render(48_000.0, |_| 1);
        assert!(a.0.iter().chain(&a.1).all(|v| v.is_finite()));
        assert!(a.0.iter().any(|&v| v != 0.0));
        assert_eq!(a, b, "chunk sizes changed the output");
        assert_eq!(a, c, "chunk sizes changed the output");
    }

    #[test]
    fn set_and_process_never_allocate() {
        reset_violation_count();
        let v = assert_no_alloc(|| vec![1u8; 10]);
        assert_eq!(v.len(), 10);
        assert!(
            violation_count() > 0,
            "the allocation checker is not active"
        );
        for rate in [8_000.0, 44_100.0, 192_000.0] {
            let mut chain = Chain::new(rate);
            let (mut l, mut r) = input(8_000);
            reset_violation_count();
            assert_no_alloc(|| {
                let mut at = 0;
                let mut k = 0u32;
                while at < l.len() {
                    chain.set(k);
                    let n = ((k as usize * 5) % 32 + 1).min(l.len() - at);
                    chain.process(&mut l[at..at + n], &mut r[at..at + n]);
                    at += n;
                    k += 1;
                }
                let _ = (
                    chain.comp.gain_reduction_db(),
                    chain.limiter.gain_reduction_db(),
                    chain.limiter.latency_frames(),
                    eq_response_db(&eq_all_on(), rate, 1000.0),
                    static_curve_db(&Compressor::default(), -10.0),
                );
                chain.eq.reset();
                chain.comp.reset();
                chain.reverb.reset();
                chain.delay.reset();
                chain.limiter.reset();
            });
            assert_eq!(violation_count(), 0, "allocation at {rate} Hz");
        }
    }

    #[test]
    fn tails_end_in_exact_zeros() {
        // Denormals by construction: after the input stops, every feedback path decays and
        // flushes, so the output becomes exact zeros rather than ever-smaller numbers.
        let rate = 48_000.0;
        let mut eq = EqProcessor::new(rate);
        eq.set(&eq_all_on());
        let mut reverb = ReverbProcessor::new(rate);
        reverb.set(&Reverb {
            decay_s: 0.1,
            size: 0.0,
            predelay_ms: 0.0,
            ..Reverb::default()
        });
        let mut delay = DelayProcessor::new(rate);
        delay.set(
            &Delay {
                time: 1.0,
                feedback: 0.05,
                ..Delay::default()
            },
            240.0,
            4,
        );
        let n = 3 * 48_000;
        let (mut x, _) = input(n);
        x[4800..].fill(0.0);
        let (mut l, mut r) = (x.clone(), x.clone());
        eq.process(&mut l, &mut r);
        assert!(
            l[n - 4800..]
                .iter()
                .chain(&r[n - 4800..])
                .all(|&v| v == 0.0),
            "EQ tail"
        );
        let (mut wl, mut wr) = (vec![0.0; n], vec![0.0; n]);
        reverb.process(&x, &x, &mut wl, &mut wr);
        assert!(
            wl[n - 4800..]
                .iter()
                .chain(&wr[n - 4800..])
                .all(|&v| v == 0.0),
            "reverb tail"
        );
        delay.process(&x, &x, &mut wl, &mut wr);
        assert!(
            wl[n - 4800..]
                .iter()
                .chain(&wr[n - 4800..])
                .all(|&v| v == 0.0),
            "delay tail"
        );
    }

    #[test]
    fn ramps_finish_when_set_repeats_every_chunk() {
        // The engine may call `set` with unchanged values every chunk: ramps must still end.
        let rate = 48_000.0;
        let mut c = CompressorProcessor::new(rate);
        let mut eq = EqProcessor::new(rate);
        let mut settings = Compressor {
            threshold_db: -40.0,
            ..Compressor::default()
        };
        let mut eq_settings = eq_all_on();
        let (x, _) = input(9600);
        let (mut l, mut r) = (x.clone(), x.clone());
        for (k, (cl, cr)) in l.chunks_mut(16).zip(r.chunks_mut(16)).enumerate() {
            if k == 100 {
                settings.on = false;
                eq_settings.on = false;
            }
            c.set(&settings);
            eq.set(&eq_settings);
            c.process(cl, cr);
            eq.process(cl, cr);
        }
        // Switched off at frame 1600, faded after 20 ms (960 frames): bit-exact bypass.
        assert_eq!(&l[3000..], &x[3000..]);
        assert_eq!(&r[3000..], &x[3000..]);
    }

    #[test]
    fn a_stray_nan_does_not_poison_the_tails() {
        let rate = 48_000.0;
        let mut chain = Chain::new(rate);
        chain.set(1);
        let (mut l, mut r) = input(48_000);
        l[1000] = f32::NAN;
        r[1001] = f32::INFINITY;
        for (cl, cr) in l.chunks_mut(32).zip(r.chunks_mut(32)) {
            chain.process(cl, cr);
        }
        // Every loop has let the bad values go within a delay time and the reverb's longest
        // line; the limiter's look-ahead holds them a little longer.
        assert!(
            l[30_000..]
                .iter()
                .chain(&r[30_000..])
                .all(|v| v.is_finite())
        );
    }

    #[test]
    fn reset_then_set_equals_a_fresh_processor() {
        // Play resets the effects and may send new settings: the result must be exactly what a
        // new chain given those settings produces.
        let rate = 44_100.0;
        let (x, y) = input(6000);
        let mut fresh = Chain::new(rate);
        fresh.set(5);
        let (mut a, mut b) = (x.clone(), y.clone());
        for (cl, cr) in a.chunks_mut(32).zip(b.chunks_mut(32)) {
            fresh.process(cl, cr);
        }
        let mut used = Chain::new(rate);
        used.set(2);
        let (mut c, mut d) = (x.clone(), y.clone());
        for (cl, cr) in c.chunks_mut(32).zip(d.chunks_mut(32)) {
            used.process(cl, cr);
        }
        used.set(4); // a ramp in flight when the reset comes
        used.process(&mut c[..10], &mut d[..10]);
        used.eq.reset();
        used.comp.reset();
        used.reverb.reset();
        used.delay.reset();
        used.limiter.reset();
        used.set(5);
        let (mut c, mut d) = (x.clone(), y.clone());
        for (cl, cr) in c.chunks_mut(32).zip(d.chunks_mut(32)) {
            used.process(cl, cr);
        }
        assert_eq!((a, b), (c, d));
    }
}
