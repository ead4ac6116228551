//! Six-band parametric EQ (high-pass, low shelf, two peaks, high shelf, low-pass) built from the
//! biquads of Robert Bristow-Johnson's Audio EQ Cookbook, run in transposed direct form II with
//! f64 coefficients and state (low corners at high rates need the precision).
//!
//! Parameter changes ramp over [`RAMP_MS`](super::RAMP_MS) in the log-frequency, dB and log-Q
//! domains, with the coefficients recomputed every [`CONTROL_FRAMES`] frames; switching a band
//! (or the whole EQ) on or off crossfades between the band's input and output, so nothing clicks.

use super::{CONTROL_FRAMES, Ramp, flush64, ramp_frames, ramp_steps, retarget};
use crate::dsp::smooth::Smoothed;
use crate::model::mix::{BandKind, Eq};

/// Biquad coefficients `[b0, b1, b2, a1, a2]`, normalised so that a0 = 1.
type Coefs = [f64; 5];

/// The identity filter.
const IDENTITY: Coefs = [1.0, 0.0, 0.0, 0.0, 0.0];

/// Lowest and highest design frequency: 10 Hz and 0.49 × the rate (a 20 kHz band at 8 kHz sits
/// just under Nyquist).
fn clamp_freq(freq_hz: f32, rate: f32) -> f64 {
    (freq_hz as f64).clamp(10.0, 0.49 * rate as f64)
}

/// The cookbook design of one band.
pub fn design(kind: BandKind, freq_hz: f32, gain_db: f32, q: f32, rate: f32) -> [f64; 5] {
    let w0 = std::f64::consts::TAU * clamp_freq(freq_hz, rate) / rate as f64;
    let (s, c) = w0.sin_cos();
    let q = (q as f64).clamp(0.05, 50.0);
    let alpha = s / (2.0 * q);
    let a = 10f64.powf(gain_db as f64 / 40.0);
    let (b0, b1, b2, a0, a1, a2) = match kind {
        BandKind::LowPass => (
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        ),
        BandKind::HighPass => (
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        ),
        BandKind::Peak => (
            1.0 + alpha * a,
            -2.0 * c,
            1.0 - alpha * a,
            1.0 + alpha / a,
            -2.0 * c,
            1.0 - alpha / a,
        ),
        BandKind::LowShelf => {
            let sa = 2.0 * a.sqrt() * alpha;
            (
                a * ((a + 1.0) - (a - 1.0) * c + sa),
                2.0 * a * ((a - 1.0) - (a + 1.0) * c),
                a * ((a + 1.0) - (a - 1.0) * c - sa),
                (a + 1.0) + (a - 1.0) * c + sa,
                -2.0 * ((a - 1.0) + (a + 1.0) * c),
                (a + 1.0) + (a - 1.0) * c - sa,
            )
        }
        BandKind::HighShelf => {
            let sa = 2.0 * a.sqrt() * alpha;
            (
                a * ((a + 1.0) + (a - 1.0) * c + sa),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
                a * ((a + 1.0) + (a - 1.0) * c - sa),
                (a + 1.0) - (a - 1.0) * c + sa,
                2.0 * ((a - 1.0) - (a + 1.0) * c),
                (a + 1.0) - (a - 1.0) * c - sa,
            )
        }
    };
    [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0]
}

/// |H(e^jw)|² of one biquad at angular frequency `w` (radians per sample).
fn magnitude_sq(c: &Coefs, w: f64) -> f64 {
    let (s1, c1) = w.sin_cos();
    let (s2, c2) = (2.0 * w).sin_cos();
    let nr = c[0] + c[1] * c1 + c[2] * c2;
    let ni = -(c[1] * s1 + c[2] * s2);
    let dr = 1.0 + c[3] * c1 + c[4] * c2;
    let di = -(c[3] * s1 + c[4] * s2);
    (nr * nr + ni * ni) / (dr * dr + di * di)
}

/// Magnitude response in dB of the EQ as designed (the product of its active bands' biquads) at
/// `freq_hz`, for a stream at `rate`. A switched-off EQ or band contributes 0 dB.
pub fn eq_response_db(eq: &Eq, rate: f32, freq_hz: f32) -> f32 {
    if !eq.on {
        return 0.0;
    }
    let w = std::f64::consts::TAU * freq_hz as f64 / rate as f64;
    let mut db = 0.0f64;
    for (band, kind) in eq.bands.iter().zip(Eq::KINDS) {
        if band.on {
            let c = design(kind, band.freq_hz, band.gain_db, band.q, rate);
            db += 10.0 * magnitude_sq(&c, w).max(1e-300).log10();
        }
    }
    db as f32
}

/// One band's parameters, ramps, crossfade and filter state.
#[derive(Clone, Debug)]
struct Band {
    kind: BandKind,
    log2_freq: Ramp,
    gain_db: Ramp,
    ln_q: Ramp,
    /// 0 = bypassed, 1 = filtering; ramps per frame.
    wet: Smoothed,
    coefs: Coefs,
    /// Transposed direct form II state per channel.
    state: [[f64; 2]; 2],
}

impl Band {
    fn silent(&self) -> bool {
        self.wet.value() == 0.0 && self.wet.target() == 0.0
    }

    fn update_coefs(&mut self, rate: f32) {
        self.coefs = design(
            self.kind,
            self.log2_freq.value().exp2(),
            self.gain_db.value(),
            self.ln_q.value().exp(),
            rate,
        );
    }

    fn run(&mut self, l: &mut [f32], r: &mut [f32]) {
        let [b0, b1, b2, a1, a2] = self.coefs;
        let [mut l1, mut l2] = self.state[0];
        let [mut r1, mut r2] = self.state[1];
        for (xl, xr) in l.iter_mut().zip(r.iter_mut()) {
            let w = self.wet.next_value() as f64;
            let x = *xl as f64;
            let y = b0 * x + l1;
            l1 = b1 * x - a1 * y + l2;
            l2 = b2 * x - a2 * y;
            *xl = (x + w * (y - x)) as f32;
            let x = *xr as f64;
            let y = b0 * x + r1;
            r1 = b1 * x - a1 * y + r2;
            r2 = b2 * x - a2 * y;
            *xr = (x + w * (y - x)) as f32;
        }
        self.state = [[flush64(l1), flush64(l2)], [flush64(r1), flush64(r2)]];
    }
}

/// The parametric EQ of a track or of the master bus.
#[derive(Clone, Debug)]
pub struct EqProcessor {
    rate: f32,
    bands: [Band; 6],
    /// Frames until the next control step.
    ctl_left: u32,
    /// No `process` since `new` or `reset`: `set` jumps to its values instead of ramping.
    fresh: bool,
}

impl EqProcessor {
    /// An EQ for a stream at `rate`, bypassed until [`set`](Self::set).
    pub fn new(rate: f32) -> Self {
        let rate = rate.clamp(1000.0, 768_000.0);
        let steps = ramp_steps(rate);
        let defaults = Eq::default();
        let bands = std::array::from_fn(|i| {
            let b = defaults.bands[i];
            Band {
                kind: Eq::KINDS[i],
                log2_freq: Ramp::new(b.freq_hz.log2(), steps),
                gain_db: Ramp::new(b.gain_db, steps),
                ln_q: Ramp::new(b.q.ln(), steps),
                wet: Smoothed::new(0.0, ramp_frames(rate)),
                coefs: IDENTITY,
                state: [[0.0; 2]; 2],
            }
        });
        EqProcessor {
            rate,
            bands,
            ctl_left: 0,
            fresh: true,
        }
    }

    /// Takes new settings; changes ramp over 20 ms. Bands with `on == false`, and every band
    /// when `eq.on == false`, are bypassed.
    pub fn set(&mut self, eq: &Eq) {
        for ((band, p), kind) in self.bands.iter_mut().zip(eq.bands.iter()).zip(Eq::KINDS) {
            band.kind = kind;
            let freq = p.freq_hz.clamp(1.0, 1e6).log2();
            let gain = p.gain_db.clamp(-60.0, 60.0);
            let q = p.q.clamp(0.01, 100.0).ln();
            let on = eq.on && p.on;
            let was_silent = band.silent();
            band.log2_freq.set(freq);
            band.gain_db.set(gain);
            band.ln_q.set(q);
            retarget(&mut band.wet, if on { 1.0 } else { 0.0 });
            if self.fresh || was_silent {
                // Nothing audible to glide from.
                band.log2_freq.finish();
                band.gain_db.finish();
                band.ln_q.finish();
                band.update_coefs(self.rate);
            }
            if self.fresh {
                band.wet.snap(band.wet.target());
            }
        }
    }

    /// Filters `l` and `r` (the same length) in place.
    pub fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        self.fresh = false;
        let n = l.len().min(r.len());
        let (mut l, mut r) = (&mut l[..n], &mut r[..n]);
        while !l.is_empty() {
            if self.ctl_left == 0 {
                self.control_step();
            }
            let m = (self.ctl_left as usize).min(l.len());
            let (lh, lt) = std::mem::take(&mut l).split_at_mut(m);
            let (rh, rt) = std::mem::take(&mut r).split_at_mut(m);
            for band in self.bands.iter_mut() {
                if band.silent() {
                    continue;
                }
                band.run(lh, rh);
                if band.silent() {
                    band.state = [[0.0; 2]; 2];
                }
            }
            self.ctl_left -= m as u32;
            l = lt;
            r = rt;
        }
    }

    fn control_step(&mut self) {
        self.ctl_left = CONTROL_FRAMES;
        for band in self.bands.iter_mut() {
            let ramping =
                band.log2_freq.is_ramping() || band.gain_db.is_ramping() || band.ln_q.is_ramping();
            if ramping {
                band.log2_freq.tick();
                band.gain_db.tick();
                band.ln_q.tick();
                band.update_coefs(self.rate);
            }
        }
    }

    /// Clears the filter state and finishes every ramp.
    pub fn reset(&mut self) {
        self.fresh = true;
        for band in self.bands.iter_mut() {
            band.state = [[0.0; 2]; 2];
            band.log2_freq.finish();
            band.gain_db.finish();
            band.ln_q.finish();
            band.wet.snap(band.wet.target());
            band.update_coefs(self.rate);
        }
        self.ctl_left = 0;
    }
}

#[cfg(test)]
// Tests may allocate and report what they measured (run with --nocapture to see it).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
mod tests {
    use super::*;
    use crate::dsp::fx::testutil::{amplitude, chunked, sine};
    use crate::model::mix::EqBand;

    /// An EQ with only band `index` on.
    fn single(index: usize, freq_hz: f32, gain_db: f32, q: f32) -> Eq {
        let mut eq = Eq::default();
        eq.bands[index] = EqBand {
            on: true,
            freq_hz,
            gain_db,
            q,
        };
        eq
    }

    const Q: f32 = std::f32::consts::FRAC_1_SQRT_2;

    #[test]
    fn design_matches_analytic_expectations() {
        for rate in [44_100.0, 48_000.0] {
            for (gain, q) in [(12.0, 1.0), (-12.0, 4.0), (6.0, 0.3)] {
                // Peak: gain at the centre.
                let eq = single(2, 1000.0, gain, q);
                let at = eq_response_db(&eq, rate, 1000.0);
                assert!((at - gain).abs() < 1e-3, "peak {gain} Q {q}: {at}");
                // Shelves: plateau at DC / Nyquist, 0 dB at the other end.
                let eq = single(1, 200.0, gain, Q);
                let lo = eq_response_db(&eq, rate, 2.0);
                let hi = eq_response_db(&eq, rate, rate / 2.0);
                assert!(
                    (lo - gain).abs() < 0.01 && hi.abs() < 0.01,
                    "low shelf {lo} {hi}"
                );
                let eq = single(4, 5000.0, gain, Q);
                let lo = eq_response_db(&eq, rate, 2.0);
                let hi = eq_response_db(&eq, rate, rate / 2.0);
                assert!(
                    (hi - gain).abs() < 0.01 && lo.abs() < 0.01,
                    "high shelf {lo} {hi}"
                );
                // Half the shelf gain at the shelf frequency (the cookbook's midpoint).
                let mid = eq_response_db(&eq, rate, 5000.0);
                assert!((mid - gain / 2.0).abs() < 0.01, "shelf midpoint {mid}");
            }
            // High- and low-pass: −3 dB at the corner for Q = 0.707, unity far away.
            for (index, corner, far) in [(0, 100.0, 10_000.0), (5, 5000.0, 50.0)] {
                let eq = single(index, corner, 0.0, Q);
                let at = eq_response_db(&eq, rate, corner);
                assert!((at + 3.0103).abs() < 0.01, "corner {corner}: {at}");
                assert!(eq_response_db(&eq, rate, far).abs() < 0.01);
            }
        }
        // A switched-off EQ is flat.
        let mut eq = single(2, 1000.0, 12.0, 1.0);
        eq.on = false;
        assert_eq!(eq_response_db(&eq, 48_000.0, 1000.0), 0.0);
    }

    /// Steady sine in, amplitude out after settling, for every test frequency; returns the largest
    /// deviation from the design response in dB.
    fn max_error(eq: &Eq, rate: f32) -> f32 {
        let freqs = [
            40.0, 100.0, 250.0, 700.0, 1000.0, 2000.0, 3000.0, 5000.0, 8000.0, 15_000.0,
        ];
        let settle = (0.15 * rate) as usize;
        let window = (0.25 * rate) as usize;
        let mut worst = 0.0f32;
        for f in freqs {
            let mut p = EqProcessor::new(rate);
            p.set(eq);
            let x = sine(settle + window, f, rate as f64, 0.25);
            let (mut l, mut r) = (x.clone(), x.clone());
            chunked(&mut l, &mut r, |l, r| p.process(l, r));
            let a_in = amplitude(&x[settle..], f, rate as f64);
            let a_l = amplitude(&l[settle..], f, rate as f64);
            let a_r = amplitude(&r[settle..], f, rate as f64);
            assert_eq!(l, r, "channels differ");
            let measured = 20.0 * (a_l / a_in).log10();
            let designed = eq_response_db(eq, rate, f as f32) as f64;
            worst = worst.max((measured - designed).abs() as f32);
            assert!(a_r.is_finite());
        }
        worst
    }

    #[test]
    fn measured_response_matches_the_design() {
        let cases: Vec<(Eq, f32)> = vec![
            (single(0, 100.0, 0.0, Q), 44_100.0),
            (single(0, 1000.0, 0.0, 2.0), 48_000.0),
            (single(1, 200.0, 12.0, Q), 48_000.0),
            (single(1, 300.0, -12.0, 1.5), 44_100.0),
            (single(2, 1000.0, 12.0, 1.0), 48_000.0),
            (single(3, 3000.0, -12.0, 4.0), 44_100.0),
            (single(4, 5000.0, 12.0, Q), 44_100.0),
            (single(4, 4000.0, -12.0, 0.5), 48_000.0),
            (single(5, 5000.0, 0.0, Q), 48_000.0),
            (single(5, 10_000.0, 0.0, 3.0), 44_100.0),
            (
                Eq {
                    on: true,
                    bands: [
                        EqBand {
                            on: true,
                            freq_hz: 30.0,
                            gain_db: 0.0,
                            q: Q,
                        },
                        EqBand {
                            on: true,
                            freq_hz: 120.0,
                            gain_db: 4.0,
                            q: Q,
                        },
                        EqBand {
                            on: true,
                            freq_hz: 500.0,
                            gain_db: -6.0,
                            q: 2.0,
                        },
                        EqBand {
                            on: true,
                            freq_hz: 2500.0,
                            gain_db: 9.0,
                            q: 0.8,
                        },
                        EqBand {
                            on: true,
                            freq_hz: 8000.0,
                            gain_db: -3.0,
                            q: Q,
                        },
                        EqBand {
                            on: true,
                            freq_hz: 18_000.0,
                            gain_db: 0.0,
                            q: Q,
                        },
                    ],
                },
                48_000.0,
            ),
        ];
        let mut worst = 0.0f32;
        for (eq, rate) in &cases {
            let e = max_error(eq, *rate);
            assert!(e < 0.1, "{eq:?} at {rate}: {e} dB off");
            worst = worst.max(e);
        }
        eprintln!("EQ: largest deviation of measured from designed response {worst:.5} dB");
    }

    #[test]
    fn switching_bands_is_smooth_and_off_is_transparent() {
        let rate = 48_000.0;
        let mut p = EqProcessor::new(rate);
        let mut eq = single(2, 1000.0, 12.0, 1.0);
        eq.on = false;
        p.set(&eq);
        let x = sine(4800, 440.0, rate as f64, 0.5);
        let (mut l, mut r) = (x.clone(), x.clone());
        p.process(&mut l, &mut r);
        assert_eq!(l, x, "a switched-off EQ passes the input bit for bit");
        // Switch on mid-stream, then change the gain: no sample-to-sample jump beyond what a
        // 440 Hz sine boosted by 12 dB can do.
        eq.on = true;
        let n = 9600;
        let x = sine(n, 440.0, rate as f64, 0.25);
        let (mut l, mut r) = (x.clone(), x.clone());
        p.set(&eq);
        p.process(&mut l[..4800], &mut r[..4800]);
        eq.bands[2].gain_db = -12.0;
        eq.bands[2].freq_hz = 300.0;
        p.set(&eq);
        p.process(&mut l[4800..], &mut r[4800..]);
        let max_step = 0.25 * 4.0 * std::f32::consts::TAU * 440.0 / rate;
        for w in l.windows(2) {
            assert!((w[1] - w[0]).abs() < max_step * 1.2, "jump {}", w[1] - w[0]);
        }
    }
}
