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

use super::{CONTROL_FRAMES, Ramp, one_pole_coef, ramp_frames, ramp_steps, retarget};
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
    /// No `process` since `new` or `reset`: `set` jumps to its values instead of ramping.
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
        retarget(&mut self.makeup_db, c.makeup_db.clamp(-48.0, 48.0));
        retarget(&mut self.mix, if c.on { 1.0 } else { 0.0 });
        if self.fresh {
            self.snap();
        }
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
        self.fresh = true;
        self.peak_gr = 0.0;
        self.gr = 0.0;
        self.snap();
        self.ctl_left = 0;
    }
}

#[cfg(test)]
// Tests may allocate and report what they measured (run with --nocapture to see it).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
mod tests {
    use super::*;
    use crate::dsp::fx::testutil::{amplitude, chunked, sine};

    fn comp(
        threshold_db: f32,
        ratio: f32,
        knee_db: f32,
        attack_ms: f32,
        release_ms: f32,
    ) -> Compressor {
        Compressor {
            on: true,
            threshold_db,
            ratio,
            knee_db,
            attack_ms,
            release_ms,
            makeup_db: 0.0,
        }
    }

    #[test]
    fn static_curve_follows_threshold_ratio_and_knee() {
        let mut c = comp(-20.0, 4.0, 8.0, 10.0, 100.0);
        c.makeup_db = 2.0;
        // Below the knee: unchanged (plus make-up).
        assert!((static_curve_db(&c, -40.0) - -38.0).abs() < 1e-5);
        assert!((static_curve_db(&c, -24.0) - -22.0).abs() < 1e-5);
        // Above: T + (x − T)/R.
        assert!((static_curve_db(&c, 0.0) - (-20.0 + 5.0 + 2.0)).abs() < 1e-5);
        assert!((static_curve_db(&c, -16.0) - (-20.0 + 1.0 + 2.0)).abs() < 1e-5);
        // At the threshold the knee lowers the level by (1 − 1/R)·W/8.
        let at = static_curve_db(&c, -20.0);
        assert!((at - (-20.0 - 0.75 * 1.0 + 2.0)).abs() < 1e-5, "{at}");
        // The curve is continuous and its slope runs from 1 to 1/R.
        let mut last = static_curve_db(&c, -60.0);
        for i in 1..=600 {
            let x = -60.0 + i as f32 * 0.1;
            let y = static_curve_db(&c, x);
            let slope = (y - last) / 0.1;
            assert!(
                (0.25 - 1e-3..=1.0 + 1e-3).contains(&slope),
                "slope {slope} at {x}"
            );
            last = y;
        }
        c.on = false;
        assert_eq!(static_curve_db(&c, -3.0), -3.0);
    }

    /// Output level of a steady 1 kHz sine at `level_db` after the compressor has settled.
    fn measured_output_db(c: &Compressor, level_db: f32, rate: f32) -> f64 {
        let mut p = CompressorProcessor::new(rate);
        p.set(c);
        let settle = (0.6 * rate) as usize;
        let window = (0.2 * rate) as usize;
        let amp = 10f64.powf(level_db as f64 / 20.0);
        let x = sine(settle + window, 1000.0, rate as f64, amp);
        let (mut l, mut r) = (x.clone(), x.clone());
        chunked(&mut l, &mut r, |l, r| p.process(l, r));
        20.0 * amplitude(&l[settle..], 1000.0, rate as f64).log10()
    }

    #[test]
    fn measured_static_curve_matches() {
        let mut worst = 0.0f64;
        let mut hard = comp(-12.0, 20.0, 0.0, 2.0, 300.0);
        hard.makeup_db = 6.0;
        for (c, rate) in [
            (comp(-30.0, 4.0, 6.0, 5.0, 200.0), 48_000.0),
            (hard, 44_100.0),
            (comp(-40.0, 2.0, 24.0, 10.0, 500.0), 48_000.0),
        ] {
            let mut level = -60.0;
            while level <= 0.0 {
                let got = measured_output_db(&c, level, rate);
                let want = static_curve_db(&c, level) as f64;
                assert!(
                    (got - want).abs() < 0.5,
                    "{c:?}: {level} dB in → {got} out, want {want}"
                );
                worst = worst.max((got - want).abs());
                level += 3.0;
            }
        }
        eprintln!("compressor: largest static-curve error {worst:.3} dB");
    }

    /// Time (ms) from a level step until the gain reduction has covered 1 − 1/e of its change.
    fn step_times(attack_ms: f32, release_ms: f32, rate: f32) -> (f32, f32) {
        let c = comp(-30.0, 4.0, 0.0, attack_ms, release_ms);
        let mut p = CompressorProcessor::new(rate);
        p.set(&c);
        let quiet = 10f64.powf(-40.0 / 20.0);
        let loud = 10f64.powf(-6.0 / 20.0);
        let loud_len = (attack_ms * 8.0 + 100.0) as f64 / 1000.0 * rate as f64;
        let quiet_len = (release_ms * 5.0) as f64 / 1000.0 * rate as f64;
        let (a, b) = (0.2 * rate as f64, 0.2 * rate as f64 + loud_len);
        let n = (b + quiet_len) as usize;
        let mut gr = Vec::with_capacity(n);
        for i in 0..n {
            let amp = if (i as f64) >= a && (i as f64) < b {
                loud
            } else {
                quiet
            };
            let s = (amp * (std::f64::consts::TAU * 1000.0 * i as f64 / rate as f64).sin()) as f32;
            let (mut l, mut r) = ([s], [s]);
            p.process(&mut l, &mut r);
            gr.push(p.gain_reduction_db());
        }
        // Static reduction while loud: −6 → −30 + 24/4 = −24 dBFS, 18 dB.
        let full = 18.0;
        let (a, b) = (a as usize, b as usize);
        assert!(
            (gr[b - 1] - full).abs() < 0.5,
            "settled reduction {}",
            gr[b - 1]
        );
        let up = gr[a..]
            .iter()
            .position(|&g| g >= full * 0.632)
            .unwrap_or(usize::MAX);
        let down = gr[b..]
            .iter()
            .position(|&g| g <= full * 0.368)
            .unwrap_or(usize::MAX);
        (up as f32 * 1000.0 / rate, down as f32 * 1000.0 / rate)
    }

    #[test]
    fn attack_and_release_times_match_the_settings() {
        let mut worst = 0.0f32;
        for (attack, release, rate) in [
            (10.0, 100.0, 48_000.0),
            (30.0, 400.0, 44_100.0),
            (2.0, 60.0, 96_000.0),
        ] {
            let (up, down) = step_times(attack, release, rate);
            let ea = (up - attack).abs() / attack;
            let er = (down - release).abs() / release;
            assert!(ea < 0.2, "attack {attack} ms measured {up} ms");
            assert!(er < 0.2, "release {release} ms measured {down} ms");
            worst = worst.max(ea).max(er);
            eprintln!("compressor: attack {attack} → {up:.2} ms, release {release} → {down:.2} ms");
        }
        eprintln!("compressor: largest time error {:.1} %", worst * 100.0);
    }

    #[test]
    fn switching_off_fades_and_meter_reads_zero() {
        let rate = 48_000.0;
        let mut c = comp(-30.0, 8.0, 0.0, 1.0, 50.0);
        let mut p = CompressorProcessor::new(rate);
        p.set(&c);
        let x = sine(9600, 220.0, rate as f64, 0.5);
        let (mut l, mut r) = (x.clone(), x.clone());
        p.process(&mut l[..4800], &mut r[..4800]);
        assert!(p.gain_reduction_db() > 10.0);
        c.on = false;
        p.set(&c);
        p.process(&mut l[4800..], &mut r[4800..]);
        assert_eq!(p.gain_reduction_db(), 0.0);
        assert_eq!(&l[9000..], &x[9000..], "bypassed: bit for bit");
        for w in l.windows(2) {
            assert!((w[1] - w[0]).abs() < 0.05, "jump {}", w[1] - w[0]);
        }
    }
}
