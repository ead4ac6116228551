//! Feed-forward compressor with a soft knee, after Giannoulis, Massberg and Reiss, "Digital
//! Dynamic Range Compressor Design — A Tutorial and Analysis" (JAES 2012).
//!
//! * Detector: stereo-linked **peak**, `max(|l|, |r|)` per frame, in dBFS (a sine of amplitude A
//!   reads 20·log10 A). Both channels get the same gain, so the stereo image stays put.
//! * Gain computer: the standard quadratic knee of width W centred on the threshold T
//!   (see [`static_curve_db`]).
//! * Smoothing: the "smooth decoupled" peak detector on the gain reduction in dB — an
//!   instant-attack stage that releases with the release time constant, followed by a one-pole
//!   with the attack time constant. A step up in level reaches 1 − 1/e of its gain change after the
//!   attack time. The release stage's time constant is release − attack (at least release / 2),
//!   so that with both stages in series a step down reaches 1 − 1/e of its change after about the
//!   release time (when the release is at least twice the attack).
//! * Make-up gain, then the output.
//!
//! Threshold, ratio and knee ramp on the control grid, make-up and on/off per frame.

use super::{CONTROL_FRAMES, Ramp, one_pole_coef, ramp_frames, ramp_steps};
use crate::dsp::DENORMAL_FLOOR;
use crate::dsp::smooth::Smoothed;
use crate::model::mix::Compressor;

/// Output level in dB of the gain computer (without make-up) for input level `x` (dB), threshold
/// `t`, slope `1/ratio` and knee width `w` (dB).
#[inline]
fn computer_db(x: f32, t: f32, inv_ratio: f32, w: f32) -> f32 {
    let over = x - t;
    if 2.0 * over <= -w {
        x
    } else if 2.0 * over < w {
        let k = over + w * 0.5;
        x + (inv_ratio - 1.0) * k * k / (2.0 * w)
    } else {
        t + over * inv_ratio
    }
}

/// Output level (dB) of the compressor for a steady input at `input_db` (a sine's peak level in
/// dBFS), **including** make-up gain:
///
/// * below the knee, `2(x − T) < −W`: y = x
/// * in the knee, `|2(x − T)| ≤ W`: y = x + (1/R − 1)(x − T + W/2)² / (2W)
/// * above the knee, `2(x − T) > W`: y = T + (x − T)/R
///
/// plus make-up. A switched-off compressor is the identity.
pub fn static_curve_db(c: &Compressor, input_db: f32) -> f32 {
    if !c.on {
        return input_db;
    }
    let inv_ratio = 1.0 / c.ratio.max(1.0);
    computer_db(input_db, c.threshold_db, inv_ratio, c.knee_db.max(0.0)) + c.makeup_db
}

/// Time constant of the release stage, which runs in series with the attack stage: release −
/// attack, so that the pair reaches 1 − 1/e of a release after the set time (the mean delay of two
/// one-poles in series is the sum of their time constants), but never under half the release.
fn release_stage_ms(attack_ms: f32, release_ms: f32) -> f32 {
    (release_ms - attack_ms).max(0.5 * release_ms)
}

/// A stereo-linked compressor of a track insert or of the master bus.
#[derive(Clone, Debug)]
pub struct CompressorProcessor {
    rate: f32,
    threshold: Ramp,
    inv_ratio: Ramp,
    knee: Ramp,
    /// Linear level where the knee starts: anything quieter needs no gain reduction.
    knee_start: f32,
    attack: f32,
    release: f32,
    makeup_db: Smoothed,
    /// 0 = bypassed, 1 = compressing; ramps per frame.
    mix: Smoothed,
    /// Instant-attack, release-smoothed gain reduction (dB).
    peak_gr: f32,
    /// Gain reduction after the attack stage (dB): what is applied.
    gr: f32,
    ctl_left: u32,
    fresh: bool,
}

impl CompressorProcessor {
    /// A compressor for a stream at `rate`, bypassed until [`set`](Self::set).
    pub fn new(rate: f32) -> Self {
        let rate = rate.clamp(1000.0, 768_000.0);
        let d = Compressor::default();
        let steps = ramp_steps(rate);
        let mut c = CompressorProcessor {
            rate,
            threshold: Ramp::new(d.threshold_db, steps),
            inv_ratio: Ramp::new(1.0 / d.ratio, steps),
            knee: Ramp::new(d.knee_db, steps),
            knee_start: 0.0,
            attack: one_pole_coef(d.attack_ms, rate),
            release: one_pole_coef(d.release_ms, rate),
            makeup_db: Smoothed::new(0.0, ramp_frames(rate)),
            mix: Smoothed::new(0.0, ramp_frames(rate)),
            peak_gr: 0.0,
            gr: 0.0,
            ctl_left: 0,
            fresh: true,
        };
        c.update_knee();
        c
    }

    /// Takes new settings. Threshold, ratio, knee and make-up ramp over 20 ms; switching on or
    /// off crossfades.
    pub fn set(&mut self, c: &Compressor) {
        self.threshold.set(c.threshold_db.clamp(-96.0, 24.0));
        self.inv_ratio.set(1.0 / c.ratio.clamp(1.0, 1000.0));
        self.knee.set(c.knee_db.clamp(0.0, 48.0));
        let attack_ms = c.attack_ms.clamp(0.01, 5000.0);
        let release_ms = c.release_ms.clamp(0.01, 10_000.0);
        self.attack = one_pole_coef(attack_ms, self.rate);
        self.release = one_pole_coef(release_stage_ms(attack_ms, release_ms), self.rate);
        self.makeup_db.set(c.makeup_db.clamp(-48.0, 48.0));
        self.mix.set(if c.on { 1.0 } else { 0.0 });
        if self.fresh {
            self.snap();
        }
        self.fresh = false;
    }

    fn snap(&mut self) {
        self.threshold.finish();
        self.inv_ratio.finish();
        self.knee.finish();
        self.makeup_db.snap(self.makeup_db.target());
        self.mix.snap(self.mix.target());
        self.update_knee();
    }

    fn update_knee(&mut self) {
        let start_db = self.threshold.value() - 0.5 * self.knee.value();
        self.knee_start = 10f32.powf(start_db / 20.0);
    }

    /// Current gain reduction in dB (≥ 0), for the meter.
    pub fn gain_reduction_db(&self) -> f32 {
        (self.gr * self.mix.value()).max(0.0)
    }

    /// Compresses `l` and `r` (the same length) in place.
    pub fn process(&mut self, l: &mut [f32], r: &mut [f32]) {
        let n = l.len().min(r.len());
        let (mut l, mut r) = (&mut l[..n], &mut r[..n]);
        while !l.is_empty() {
            if self.ctl_left == 0 {
                self.control_step();
            }
            let m = (self.ctl_left as usize).min(l.len());
            let (lh, lt) = std::mem::take(&mut l).split_at_mut(m);
            let (rh, rt) = std::mem::take(&mut r).split_at_mut(m);
            self.run(lh, rh);
            self.ctl_left -= m as u32;
            l = lt;
            r = rt;
        }
    }

    fn control_step(&mut self) {
        self.ctl_left = CONTROL_FRAMES;
        if self.threshold.is_ramping() || self.inv_ratio.is_ramping() || self.knee.is_ramping() {
            self.threshold.tick();
            self.inv_ratio.tick();
            self.knee.tick();
            self.update_knee();
        }
    }

    fn run(&mut self, l: &mut [f32], r: &mut [f32]) {
        if self.mix.value() == 0.0 && self.mix.target() == 0.0 {
            // Bypassed: the detector rests.
            self.peak_gr = 0.0;
            self.gr = 0.0;
            return;
        }
        const DB_PER_LN: f32 = 20.0 / std::f32::consts::LN_10;
        const LN_PER_DB: f32 = std::f32::consts::LN_10 / 20.0;
        let (t, s, w) = (
            self.threshold.value(),
            self.inv_ratio.value(),
            self.knee.value(),
        );
        let (aa, ar) = (self.attack, self.release);
        let (mut p, mut g) = (self.peak_gr, self.gr);
        for (xl, xr) in l.iter_mut().zip(r.iter_mut()) {
            let level = xl.abs().max(xr.abs());
            let target = if level > self.knee_start {
                let x = level.ln() * DB_PER_LN;
                (x - computer_db(x, t, s, w)).max(0.0)
            } else {
                0.0
            };
            p = target.max(ar * p + (1.0 - ar) * target);
            g = aa * g + (1.0 - aa) * p;
            let makeup = self.makeup_db.next_value();
            let mix = self.mix.next_value();
            let gain = ((makeup - g) * LN_PER_DB).exp();
            let gain = 1.0 + mix * (gain - 1.0);
            *xl *= gain;
            *xr *= gain;
        }
        self.peak_gr = if p < DENORMAL_FLOOR { 0.0 } else { p };
        self.gr = if g < DENORMAL_FLOOR { 0.0 } else { g };
    }

    /// Clears the detector and finishes every ramp.
    pub fn reset(&mut self) {
        self.peak_gr = 0.0;
        self.gr = 0.0;
        self.snap();
        self.ctl_left = 0;
    }
}
