//! Look-ahead true-peak limiter, last on the master bus.
//!
//! * **Detector.** Each channel is interpolated 4× by a polyphase FIR (a Kaiser-windowed sinc,
//!   32 taps per phase, every phase normalised to unity gain at DC — the method of ITU-R BS.1770-4
//!   Annex 2). The peak of the interval between samples c and c + 1 is the largest magnitude of the
//!   two samples and the three interpolated points between them, over both channels (stereo
//!   linked); sample c takes the larger of its two adjacent intervals.
//! * **Gain.** The required gain `min(1, ceiling / peak)` runs through a sliding-window minimum
//!   over B + 1 samples (B = [`LOOKAHEAD_MS`] at the rate), a release one-pole (instant down,
//!   exponential up with the release time) and a moving average over B samples. The average of
//!   values that are all at or below the required gain of a peak is itself below it, so the gain
//!   has fully ramped down — linearly, over B samples — by the time the peak leaves the delay line.
//! * **Delay.** The output is the input delayed by [`LimiterProcessor::latency_frames`] =
//!   16 (half the interpolator's taps: its look-ahead) + B, times the gain. The latency is the
//!   same whether the limiter is on or off, so switching it never shifts time; switching
//!   crossfades the gain to 1 over 20 ms.

use super::{CONTROL_FRAMES, Ramp, one_pole_coef, ramp_frames, ramp_steps, retarget};
use crate::dsp::smooth::Smoothed;
use crate::model::mix::Limiter;

/// Oversampling factor of the true-peak detector.
pub const OVERSAMPLE: usize = 4;
/// Taps per phase of the interpolator.
const TAPS: usize = 32;
/// Look-ahead (attack) time in milliseconds.
pub const LOOKAHEAD_MS: f32 = 1.5;
/// The gain aims this far (dB) under the ceiling, to absorb the small error of a finite
/// interpolator and of the gain's own modulation.
const MARGIN_DB: f32 = 0.02;

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..50 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Coefficients of phases 1..OVERSAMPLE: `coefs[p - 1][j]` weights the j-th oldest-first of the
/// last [`TAPS`] samples to give the value p/OVERSAMPLE of a sample after sample TAPS/2 − 1.
fn interpolator() -> [[f32; TAPS]; OVERSAMPLE - 1] {
    const BETA: f64 = 8.0;
    let half = TAPS as f64 / 2.0;
    std::array::from_fn(|p| {
        let frac = (p + 1) as f64 / OVERSAMPLE as f64;
        let mut c = [0.0f64; TAPS];
        for (j, cj) in c.iter_mut().enumerate() {
            // Distance from the interpolated point to sample j.
            let u = (half - 1.0 + frac) - j as f64;
            let sinc = if u.abs() < 1e-12 {
                1.0
            } else {
                (std::f64::consts::PI * u).sin() / (std::f64::consts::PI * u)
            };
            let r = (u / half).clamp(-1.0, 1.0);
            let win = bessel_i0(BETA * (1.0 - r * r).sqrt()) / bessel_i0(BETA);
            *cj = sinc * win;
        }
        let sum: f64 = c.iter().sum();
        std::array::from_fn(|j| (c[j] / sum) as f32)
    })
}

/// The interpolation points of the `ebur128` crate's true-peak meter (the meter the renderer
/// reports with), as rows over the same 32-sample window and interval as [`interpolator`]: 4×
/// with 12 taps per phase below 96 kHz, 2× with 24 taps up to 192 kHz, none above. Its short
/// Hann-windowed sinc over-reads some frequencies by up to ~0.5 dB; the limiter takes the larger
/// of both estimates, so the ceiling holds by either measure.
fn meter_interpolator(rate: f32) -> [[f32; TAPS]; OVERSAMPLE - 1] {
    const METER_TAPS: usize = 48;
    let factor = if rate < 96_000.0 {
        4
    } else if rate < 192_000.0 {
        2
    } else {
        return [[0.0; TAPS]; OVERSAMPLE - 1];
    };
    // The meter's prototype: h[j] = hann(j) · sinc((j − 24) / factor).
    let h = |j: usize| -> f64 {
        let w = 0.5 * (1.0 - (std::f64::consts::TAU * j as f64 / METER_TAPS as f64).cos());
        let m = j as f64 - METER_TAPS as f64 / 2.0;
        if m.abs() < 1e-6 {
            w
        } else {
            let a = m * std::f64::consts::PI / factor as f64;
            w * a.sin() / a
        }
    };
    // Its phase p at input time n is the point n − 24/factor + p/factor, a sum over x[n − t]
    // weighted by h[t·factor + p]; choose n so that the point falls in our interval.
    let active = METER_TAPS / factor;
    let mut rows = [[0.0f32; TAPS]; OVERSAMPLE - 1];
    for p in 1..factor {
        let q = p * OVERSAMPLE / factor; // the same point in quarters of a sample
        // Window index of x[n]: the interval starts at index TAPS/2 − 1.
        let newest = TAPS / 2 - 1 + METER_TAPS / 2 / factor;
        for t in 0..active {
            if let Some(c) = newest.checked_sub(t).and_then(|k| rows[q - 1].get_mut(k)) {
                *c = h(t * factor + p) as f32;
            }
        }
    }
    rows
}

/// Dot product of a window and a row in eight independent lanes, so that the compiler may use
/// SIMD (a single running sum would force sequential adds).
#[inline(always)]
fn dot(x: &[f32], c: &[f32; TAPS]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (xs, cs) in x.chunks_exact(8).zip(c.chunks_exact(8)) {
        for ((a, &xv), &cv) in acc.iter_mut().zip(xs).zip(cs) {
            *a += xv * cv;
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// The largest magnitude of [`dot`] of both channels' windows with every row of `coefs` and
/// `meter` (twelve products), bit for bit: each product's eight lanes as one vector, the twelve
/// summed across their lanes together (two pairs of halves, then two horizontal adds, in
/// `dot`'s order) instead of one at a time, and their magnitudes' maximum taken in vectors (a
/// NaN counts as 0, as `f32::max` leaves it out of a peak that starts at 0).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
#[allow(unsafe_code)]
fn dots_peak_avx2(
    windows: [&[f32; TAPS]; 2],
    coefs: &[[f32; TAPS]; OVERSAMPLE - 1],
    meter: &[[f32; TAPS]; OVERSAMPLE - 1],
) -> f32 {
    use std::arch::x86_64::*;
    const ROWS: usize = 2 * (OVERSAMPLE - 1);
    let mut acc = [_mm256_setzero_ps(); 16];
    for (ch, w) in windows.iter().enumerate() {
        // SAFETY: each load reads eight of the window's TAPS (32) floats.
        let x: [__m256; 4] =
            std::array::from_fn(|k| unsafe { _mm256_loadu_ps(w.as_ptr().add(8 * k)) });
        for (r, row) in coefs.iter().chain(meter).enumerate() {
            // SAFETY: as above, eight of the row's TAPS floats.
            let c = |k: usize| unsafe { _mm256_loadu_ps(row.as_ptr().add(8 * k)) };
            // `dot`'s lanes: (((0 + x0·c0) + x1·c1) + x2·c2) + x3·c3; without the first 0 +
            // only a zero's sign can differ, and the peak takes magnitudes.
            let mut a = _mm256_mul_ps(x[0], c(0));
            for (k, &xk) in x.iter().enumerate().skip(1) {
                a = _mm256_add_ps(a, _mm256_mul_ps(xk, c(k)));
            }
            acc[ch * ROWS + r] = a;
        }
    }
    // Eight sums at once: lane l of (lo + hi) is a_l + a_{l+4}; the horizontal adds then make
    // (a0+a4)+(a1+a5) and (a2+a6)+(a3+a7), and their sum.
    let sums8 = |v: &[__m256]| -> __m256 {
        let half = |p: __m256, q: __m256| {
            _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(p, q),
                _mm256_permute2f128_ps::<0x31>(p, q),
            )
        };
        let (s0, s1) = (half(v[0], v[1]), half(v[2], v[3]));
        let (s2, s3) = (half(v[4], v[5]), half(v[6], v[7]));
        _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3))
    };
    let zero = _mm256_setzero_ps();
    let magnitude = |v: __m256| {
        // |v| (sign bit cleared), then max(|v|, 0): `maxps` gives its second operand where
        // either is NaN.
        _mm256_max_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0), v), zero)
    };
    let (lo, hi) = acc.split_at(8);
    let m = _mm256_max_ps(magnitude(sums8(lo)), magnitude(sums8(hi)));
    let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_shuffle_ps::<1>(m, m));
    _mm_cvtss_f32(m)
}

/// Swaps the contents of two slices of the same length, eight values at a time through a
/// stack copy (`swap_with_slice` moves one value at a time here).
#[inline(always)]
fn swap_f32(a: &mut [f32], b: &mut [f32]) {
    let mut pa = a.chunks_exact_mut(8);
    let mut pb = b.chunks_exact_mut(8);
    for (x, y) in (&mut pa).zip(&mut pb) {
        let t: [f32; 8] = std::array::from_fn(|i| x[i]);
        x.copy_from_slice(y);
        y.copy_from_slice(&t);
    }
    for (x, y) in pa.into_remainder().iter_mut().zip(pb.into_remainder()) {
        std::mem::swap(x, y);
    }
}

/// The master bus's true-peak limiter.
#[derive(Clone, Debug)]
pub struct LimiterProcessor {
    rate: f32,
    coefs: [[f32; TAPS]; OVERSAMPLE - 1],
    meter: [[f32; TAPS]; OVERSAMPLE - 1],
    /// Input history per channel, every sample stored twice (at `pos` and `pos + TAPS`) so that
    /// the last TAPS samples are always contiguous.
    hist: [[f32; 2 * TAPS]; 2],
    hist_pos: usize,
    /// Peak of the previous interval.
    last_interval: f32,
    /// Look-ahead B in samples.
    lookahead: usize,
    /// Sliding minimum: a monotonic queue of (index, gain) in a ring of `lookahead + 2`.
    queue: Box<[(u64, f32)]>,
    q_head: usize,
    q_len: usize,
    index: u64,
    /// Gain after the release stage.
    released: f32,
    release: f32,
    /// Moving average over B samples.
    avg: Box<[f32]>,
    avg_pos: usize,
    avg_sum: f64,
    /// Signal delay lines (left, right) of `latency` samples.
    delay_l: Box<[f32]>,
    delay_r: Box<[f32]>,
    delay_pos: usize,
    ceiling_db: Ramp,
    ceiling: f32,
    mix: Smoothed,
    gain: f32,
    ctl_left: u32,
    /// No `process` since `new` or `reset`: `set` jumps to its values instead of ramping.
    fresh: bool,
    /// While off, no delay either (see [`LimiterProcessor::skip_delay_while_off`]).
    skip_off_delay: bool,
}

impl LimiterProcessor {
    /// A limiter for a stream at `rate`.
    pub fn new(rate: f32) -> Self {
        let rate = rate.clamp(1000.0, 768_000.0);
        let lookahead = ((LOOKAHEAD_MS * 0.001 * rate).round() as usize).max(1);
        let latency = TAPS / 2 + lookahead;
        let d = Limiter::default();
        let mut l = LimiterProcessor {
            rate,
            coefs: interpolator(),
            meter: meter_interpolator(rate),
            hist: [[0.0; 2 * TAPS]; 2],
            hist_pos: 0,
            last_interval: 0.0,
            lookahead,
            queue: vec![(0, 1.0); lookahead + 2].into_boxed_slice(),
            q_head: 0,
            q_len: 0,
            index: 0,
            released: 1.0,
            release: one_pole_coef(d.release_ms, rate),
            avg: vec![1.0; lookahead].into_boxed_slice(),
            avg_pos: 0,
            avg_sum: lookahead as f64,
            delay_l: vec![0.0; latency].into_boxed_slice(),
            delay_r: vec![0.0; latency].into_boxed_slice(),
            delay_pos: 0,
            ceiling_db: Ramp::new(d.ceiling_db, ramp_steps(rate)),
            ceiling: 1.0,
            mix: Smoothed::new(0.0, ramp_frames(rate)),
            gain: 1.0,
            ctl_left: 0,
            fresh: true,
            skip_off_delay: false,
        };
        l.update_ceiling();
        l
    }

    /// Frames by which the output lags the input: constant for a rate, whatever the settings
    /// and whether the limiter is on or off (0 while off after
    /// [`skip_delay_while_off`](Self::skip_delay_while_off)).
    pub fn latency_frames(&self) -> usize {
        if self.skipped() {
            0
        } else {
            self.delay_l.len()
        }
    }

    /// For a stream whose settings do not change while it plays (an offline render): while the
    /// limiter is off, the output is the input itself, neither delayed nor touched, instead of
    /// the input delayed by the look-ahead. The same frames, earlier by the look-ahead, which
    /// whoever plays the stream renders and drops at its start anyway (see `latency_frames`,
    /// then 0). Switching the limiter on while playing would then shift time by the look-ahead,
    /// which is why a limiter that may be switched keeps the delay.
    pub fn skip_delay_while_off(&mut self, skip: bool) {
        self.skip_off_delay = skip;
    }

    /// Off, and skipping the delay while off.
    fn skipped(&self) -> bool {
        self.skip_off_delay && !self.mix.is_ramping() && self.mix.value() == 0.0
    }

    /// Takes new settings: the ceiling ramps over 20 ms, switching on or off crossfades.
    pub fn set(&mut self, l: &Limiter) {
        self.ceiling_db.set(l.ceiling_db.clamp(-60.0, 24.0));
        self.release = one_pole_coef(l.release_ms.clamp(0.1, 10_000.0), self.rate);
        retarget(&mut self.mix, if l.on { 1.0 } else { 0.0 });
        if self.fresh {
            self.ceiling_db.finish();
            self.mix.snap(self.mix.target());
            self.update_ceiling();
        }
    }

    fn update_ceiling(&mut self) {
        self.ceiling = 10f32.powf((self.ceiling_db.value() - MARGIN_DB) / 20.0);
    }

    /// Current gain reduction in dB (≥ 0), for the meter.
    pub fn gain_reduction_db(&self) -> f32 {
        (-20.0 * self.gain.log10()).max(0.0)
    }

    /// Limits `l` and `r` (the same length) in place; the output is delayed by
    /// [`latency_frames`](Self::latency_frames).
    pub fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        crate::dsp::simd::dispatch!(self.process_avx2(l, r), self.process_any::<false>(l, r))
    }

    /// [`Self::process`] compiled for AVX2 (see [`crate::dsp::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.process_any::<true>(l, r)
    }

    #[inline(always)]
    fn process_any<const WIDE: bool>(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.fresh = false;
        if self.skipped() {
            self.gain = 1.0;
            return;
        }
        let n = l.len().min(r.len());
        let (mut l, mut r) = (&mut l[..n], &mut r[..n]);
        while !l.is_empty() {
            if self.ctl_left == 0 {
                self.next_period();
            }
            if !self.mix.is_ramping() && self.mix.value() == 0.0 {
                // Off (settings change only between calls, so for the rest of the block): only
                // the delay, so switching never shifts time, in one pass; the control grid moves
                // on as it would period by period. The detector rests; it refills within the
                // look-ahead, long before a switch-on ramp lets it act.
                self.gain = 1.0;
                let mut rest = l.len();
                self.delay_block(l, r);
                loop {
                    let m = (self.ctl_left as usize).min(rest);
                    self.ctl_left -= m as u32;
                    rest -= m;
                    if rest == 0 {
                        return;
                    }
                    self.next_period();
                }
            }
            let m = (self.ctl_left as usize).min(l.len());
            let (lh, lt) = std::mem::take(&mut l).split_at_mut(m);
            let (rh, rt) = std::mem::take(&mut r).split_at_mut(m);
            for (xl, xr) in lh.iter_mut().zip(rh.iter_mut()) {
                let g = self.detect::<WIDE>(*xl, *xr);
                let mix = self.mix.next_value();
                let g = 1.0 + mix * (g - 1.0);
                self.gain = g;
                let (dl, dr) = self.delay(*xl, *xr);
                *xl = dl * g;
                *xr = dr * g;
            }
            self.ctl_left -= m as u32;
            l = lt;
            r = rt;
        }
    }

    /// Starts a control period: the ceiling's ramp moves one step.
    fn next_period(&mut self) {
        self.ctl_left = CONTROL_FRAMES;
        if self.ceiling_db.is_ramping() {
            self.ceiling_db.tick();
            self.update_ceiling();
        }
    }

    /// Pushes one input frame through the signal delay and returns the delayed frame.
    #[inline(always)]
    fn delay(&mut self, xl: f32, xr: f32) -> (f32, f32) {
        let len = self.delay_l.len();
        let p = self.delay_pos;
        let out = (
            self.delay_l.get(p).copied().unwrap_or(0.0),
            self.delay_r.get(p).copied().unwrap_or(0.0),
        );
        if let Some(s) = self.delay_l.get_mut(p) {
            *s = xl;
        }
        if let Some(s) = self.delay_r.get_mut(p) {
            *s = xr;
        }
        self.delay_pos = if p + 1 == len { 0 } else { p + 1 };
        out
    }

    /// Pushes a block through the signal delay in place: the same as [`Self::delay`] per frame,
    /// as whole-slice swaps with the ring (at most two contiguous pieces per pass).
    fn delay_block(&mut self, mut l: &mut [f32], mut r: &mut [f32]) {
        let len = self.delay_l.len().min(self.delay_r.len());
        if len == 0 {
            l.fill(0.0);
            r.fill(0.0);
            return;
        }
        while !l.is_empty() {
            let p = self.delay_pos.min(len - 1);
            let k = (len - p).min(l.len()).min(r.len());
            let (lh, lt) = std::mem::take(&mut l).split_at_mut(k);
            let (rh, rt) = std::mem::take(&mut r).split_at_mut(k);
            swap_f32(lh, &mut self.delay_l[p..p + k]);
            swap_f32(rh, &mut self.delay_r[p..p + k]);
            self.delay_pos = if p + k == len { 0 } else { p + k };
            (l, r) = (lt, rt);
        }
    }

    /// Pushes one input frame into the detector and returns the gain for the frame leaving the
    /// delay line now.
    /// (`WIDE`: in the AVX2 build, where the interpolated points come from [`dots_peak_avx2`].)
    #[inline(always)]
    fn detect<const WIDE: bool>(&mut self, xl: f32, xr: f32) -> f32 {
        // Interpolated peak of the interval TAPS/2 samples back.
        let pos = self.hist_pos;
        let mut peak = 0.0f32;
        let mut computed = false;
        for (h, x) in self.hist.iter_mut().zip([xl, xr]) {
            h[pos] = x;
            h[pos + TAPS] = x;
        }
        #[cfg(target_arch = "x86_64")]
        if WIDE {
            let [hl, hr] = &self.hist;
            let (wl, wr) = (&hl[pos + 1..pos + 1 + TAPS], &hr[pos + 1..pos + 1 + TAPS]);
            if let (Ok(wl), Ok(wr)) = (<&[f32; TAPS]>::try_from(wl), <&[f32; TAPS]>::try_from(wr)) {
                // SAFETY: `WIDE` is true only in the copy compiled into `process_avx2`, which
                // runs only when the processor has AVX2.
                #[allow(unsafe_code)]
                let dots = unsafe { dots_peak_avx2([wl, wr], &self.coefs, &self.meter) };
                peak = peak.max(dots);
                computed = true;
            }
        }
        for h in &self.hist {
            // The last TAPS samples, oldest first.
            let window = &h[pos + 1..pos + 1 + TAPS];
            peak = peak
                .max(window[TAPS / 2 - 1].abs())
                .max(window[TAPS / 2].abs());
            if !computed {
                for c in self.coefs.iter().chain(&self.meter) {
                    peak = peak.max(dot(window, c).abs());
                }
            }
        }
        self.hist_pos = if pos + 1 == TAPS { 0 } else { pos + 1 };
        let sample_peak = peak.max(self.last_interval);
        self.last_interval = peak;
        let want = if sample_peak > self.ceiling {
            self.ceiling / sample_peak
        } else {
            1.0
        };

        // Sliding minimum over lookahead + 1 values.
        let cap = self.queue.len();
        let wrap = |i: usize| if i >= cap { i - cap } else { i };
        let idx = self.index;
        self.index += 1;
        while self.q_len > 0 {
            let back = wrap(self.q_head + self.q_len - 1);
            if self.queue.get(back).is_some_and(|e| e.1 >= want) {
                self.q_len -= 1;
            } else {
                break;
            }
        }
        let tail = wrap(self.q_head + self.q_len);
        if let Some(e) = self.queue.get_mut(tail) {
            *e = (idx, want);
        }
        self.q_len += 1;
        let window = self.lookahead as u64 + 1;
        while self.q_len > 1
            && self
                .queue
                .get(self.q_head)
                .is_some_and(|e| e.0 + window <= idx)
        {
            self.q_head = wrap(self.q_head + 1);
            self.q_len -= 1;
        }
        let held = self.queue.get(self.q_head).map_or(1.0, |e| e.1);

        // Release: instant down, one-pole up.
        self.released = if held < self.released {
            held
        } else {
            held + self.release * (self.released - held)
        };

        // Moving average over lookahead values.
        let old = self.avg.get(self.avg_pos).copied().unwrap_or(1.0);
        if let Some(s) = self.avg.get_mut(self.avg_pos) {
            *s = self.released;
        }
        self.avg_pos = if self.avg_pos + 1 == self.avg.len() {
            0
        } else {
            self.avg_pos + 1
        };
        self.avg_sum += self.released as f64 - old as f64;
        ((self.avg_sum / self.avg.len() as f64) as f32).min(1.0)
    }

    /// Clears the look-ahead and detector and finishes every ramp.
    pub fn reset(&mut self) {
        self.fresh = true;
        self.hist = [[0.0; 2 * TAPS]; 2];
        self.hist_pos = 0;
        self.last_interval = 0.0;
        self.q_head = 0;
        self.q_len = 0;
        self.index = 0;
        self.released = 1.0;
        self.avg.fill(1.0);
        self.avg_pos = 0;
        self.avg_sum = self.avg.len() as f64;
        self.delay_l.fill(0.0);
        self.delay_r.fill(0.0);
        self.delay_pos = 0;
        self.ceiling_db.finish();
        self.mix.snap(self.mix.target());
        self.update_ceiling();
        self.gain = 1.0;
        self.ctl_left = 0;
    }
}

#[cfg(test)]
// Tests may allocate and report what they measured (run with --nocapture to see it).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
mod tests {
    use super::*;
    use crate::dsp::fx::testutil::chunked;
    use crate::dsp::rng::Rng;

    fn limiter(ceiling_db: f32, release_ms: f32) -> Limiter {
        Limiter {
            on: true,
            ceiling_db,
            release_ms,
        }
    }

    /// True peak (dBTP) of a stereo signal, measured by the ebur128 crate (BS.1770 Annex 2).
    fn true_peak_db(l: &[f32], r: &[f32], rate: f32) -> f64 {
        let mut m = ebur128::EbuR128::new(2, rate as u32, ebur128::Mode::TRUE_PEAK)
            .unwrap_or_else(|e| panic!("ebur128: {e:?}"));
        m.add_frames_planar_f32(&[l, r])
            .unwrap_or_else(|e| panic!("ebur128: {e:?}"));
        let tp = m
            .true_peak(0)
            .unwrap_or(0.0)
            .max(m.true_peak(1).unwrap_or(0.0));
        20.0 * tp.log10()
    }

    /// Loud test material: (name, left, right).
    fn loud_material(rate: f32) -> Vec<(&'static str, Vec<f32>, Vec<f32>)> {
        let n = rate as usize;
        let tau = std::f64::consts::TAU;
        let sine = |f: f64, phase: f64, amp: f64| -> Vec<f32> {
            (0..n)
                .map(|i| (amp * (tau * f * i as f64 / rate as f64 + phase).sin()) as f32)
                .collect()
        };
        let mut rng = Rng::new(99);
        let noise_l: Vec<f32> = (0..n).map(|_| 4.0 * rng.bipolar()).collect();
        let noise_r: Vec<f32> = (0..n).map(|_| 4.0 * rng.bipolar()).collect();
        let drums: Vec<f32> = (0..n)
            .map(|i| {
                let t = (i % (n / 4)) as f64 / rate as f64;
                let pitch = 50.0 + 150.0 * (-t / 0.02).exp();
                let kick = 3.0 * (tau * pitch * t).sin() * (-t / 0.15).exp();
                let click = if t < 0.002 {
                    2.0 * rng.bipolar() as f64
                } else {
                    0.0
                };
                (kick + click) as f32
            })
            .collect();
        let burst: Vec<f32> = (0..n)
            .map(|i| {
                let amp = if (i / (n / 8)) % 2 == 1 { 2.5 } else { 0.05 };
                (amp * (tau * 0.245 * i as f64 + 0.3).sin()) as f32
            })
            .collect();
        vec![
            (
                "sine fs/4",
                sine(rate as f64 / 4.0, tau / 8.0, 2.0),
                sine(rate as f64 / 4.0, 0.0, 1.0),
            ),
            (
                "sine 0.24 fs",
                sine(0.24 * rate as f64, 0.1, 2.0),
                sine(0.26 * rate as f64, 0.7, 2.0),
            ),
            (
                "sine 0.41 fs",
                sine(0.41 * rate as f64, 0.2, 1.5),
                sine(0.37 * rate as f64, 0.0, 1.5),
            ),
            ("noise +12 dB", noise_l, noise_r),
            ("drums", drums.clone(), drums),
            ("bursts near fs/4", burst.clone(), burst),
        ]
    }

    #[test]
    fn loud_material_stays_under_the_ceiling() {
        let mut worst = f64::NEG_INFINITY;
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            for ceiling in [-1.0, -0.3] {
                for (name, l, r) in loud_material(rate) {
                    let input_tp = true_peak_db(&l, &r, rate);
                    let mut p = LimiterProcessor::new(rate);
                    p.set(&limiter(ceiling, 50.0));
                    let (mut ol, mut or) = (l.clone(), r.clone());
                    chunked(&mut ol, &mut or, |a, b| p.process(a, b));
                    let tp = true_peak_db(&ol, &or, rate);
                    assert!(
                        tp <= ceiling as f64 + 0.1,
                        "{name} at {rate} Hz: {input_tp:.2} dBTP in, {tp:.3} dBTP out, ceiling {ceiling}"
                    );
                    assert!(
                        input_tp > ceiling as f64 + 3.0,
                        "{name} is not loud: {input_tp}"
                    );
                    worst = worst.max(tp - ceiling as f64);
                    eprintln!(
                        "limiter: {name} at {rate}: {input_tp:.2} → {tp:.3} dBTP, ceiling {ceiling}"
                    );
                }
            }
        }
        eprintln!("limiter: highest output true peak {worst:+.3} dB relative to the ceiling");
    }

    /// The detector's AVX2 build (twelve interpolated points summed across lanes together) and
    /// the baseline one give the same samples, bit for bit, on material the limiter works on.
    /// (On a processor without AVX2 both runs take the baseline and the test shows nothing.)
    #[test]
    fn avx2_and_baseline_detectors_agree_bit_for_bit() {
        let rate = 48_000.0;
        let run = |baseline: bool, l: &[f32], r: &[f32]| {
            crate::dsp::simd::use_baseline(baseline);
            let mut p = LimiterProcessor::new(rate);
            p.set(&limiter(-1.0, 50.0));
            let (mut ol, mut or) = (l.to_vec(), r.to_vec());
            chunked(&mut ol, &mut or, |a, b| p.process(a, b));
            crate::dsp::simd::use_baseline(false);
            (ol, or)
        };
        for (name, l, r) in loud_material(rate) {
            let (wide, base) = (run(false, &l, &r), run(true, &l, &r));
            let first = (0..l.len()).find(|&i| {
                wide.0[i].to_bits() != base.0[i].to_bits()
                    || wide.1[i].to_bits() != base.1[i].to_bits()
            });
            assert_eq!(first, None, "{name}: the builds differ (first frame shown)");
            assert!(
                wide.0.iter().zip(&l).any(|(y, x)| y != x),
                "{name}: untouched"
            );
        }
    }

    /// Off and told to skip its delay while off, the limiter leaves the signal as it is, with no
    /// latency; its delay is back once on.
    #[test]
    fn skipping_the_delay_while_off() {
        let mut p = LimiterProcessor::new(48_000.0);
        let mut off = limiter(-6.0, 10.0);
        off.on = false;
        p.set(&off);
        p.skip_delay_while_off(true);
        assert_eq!(p.latency_frames(), 0);
        let x: Vec<f32> = (0..4800).map(|i| 1.5 * (i as f32 * 0.3).sin()).collect();
        let (mut l, mut r) = (x.clone(), x.clone());
        p.process(&mut l, &mut r);
        assert_eq!(l, x);
        p.set(&limiter(-6.0, 10.0));
        assert_eq!(p.latency_frames(), 16 + 72);
    }

    #[test]
    fn quiet_material_passes_unchanged_after_the_latency() {
        for rate in [44_100.0, 48_000.0] {
            let mut p = LimiterProcessor::new(rate);
            p.set(&limiter(-1.0, 80.0));
            let lat = p.latency_frames();
            let n = rate as usize / 2;
            let mut rng = Rng::new(5);
            let l: Vec<f32> = (0..n)
                .map(|i| 0.25 * rng.bipolar() + 0.3 * (i as f32 * 0.05).sin())
                .collect();
            let r: Vec<f32> = (0..n).map(|_| 0.5 * rng.bipolar()).collect();
            assert!(true_peak_db(&l, &r, rate) < -1.5);
            let (mut ol, mut or) = (l.clone(), r.clone());
            chunked(&mut ol, &mut or, |a, b| p.process(a, b));
            assert!(ol[..lat].iter().all(|&v| v == 0.0));
            for i in 0..n - lat {
                for (x, y) in [(l[i], ol[i + lat]), (r[i], or[i + lat])] {
                    if x != 0.0 {
                        let db = 20.0 * (y / x).abs().log10();
                        assert!(
                            db.abs() < 0.01 && y.signum() == x.signum(),
                            "{x} → {y} at {i}"
                        );
                    }
                }
            }
            assert_eq!(p.gain_reduction_db(), 0.0);
            // In fact bit-exact: the gain stays exactly 1.
            assert_eq!(&ol[lat..], &l[..n - lat]);
        }
    }

    #[test]
    fn latency_is_fixed_and_off_only_delays() {
        let rate = 48_000.0;
        let mut p = LimiterProcessor::new(rate);
        let lat = p.latency_frames();
        assert_eq!(lat, 16 + 72);
        let mut off = limiter(-6.0, 10.0);
        off.on = false;
        p.set(&off);
        assert_eq!(p.latency_frames(), lat);
        let x: Vec<f32> = (0..9600).map(|i| 1.5 * (i as f32 * 0.3).sin()).collect();
        let (mut l, mut r) = (x.clone(), x.clone());
        p.process(&mut l[..4800], &mut r[..4800]);
        assert_eq!(&l[lat..4800], &x[..4800 - lat], "off: a pure delay");
        // Switching on ramps the gain down without a jump.
        p.set(&limiter(-6.0, 10.0));
        p.process(&mut l[4800..], &mut r[4800..]);
        assert!(p.gain_reduction_db() > 8.0);
        for w in l.windows(2) {
            assert!((w[1] - w[0]).abs() < 0.5, "jump {}", w[1] - w[0]);
        }
        assert_eq!(LimiterProcessor::new(96_000.0).latency_frames(), 16 + 144);
    }
}
