//! Tempo-synced stereo feedback delay.
//!
//! * **Time.** `time` rows (one row = 60 / (BPM × LPB) s) or beats (60 / BPM s), converted to a
//!   fractional number of samples and capped at [`MAX_DELAY_SECONDS`]. Reads use 4-point Hermite
//!   interpolation, so echo *n* arrives at n × the delay time, not at n × a rounded one.
//! * **Feedback** through a one-pole low-pass (topology-preserving transform, exact corner
//!   `high_cut_hz`). The low-pass delays low frequencies by its DC group delay τ = 1/(2·tan(π fc/fs))
//!   samples; the feedback tap reads τ earlier than the output tap, so the loop is exactly one delay
//!   time long and echoes do not drift late.
//! * **Ping-pong.** The input is summed to mono into the left line; the left line feeds back into
//!   the right and the right into the left, so echo 1 is left, echo 2 right, and so on. Switching
//!   ping-pong crossfades the routing.
//! * **Tempo changes** crossfade (30 ms) from the old delay time to the new one instead of gliding
//!   the read position, so the echoes never bend in pitch. A change arriving during a crossfade
//!   waits for it to finish; the latest one wins.

use super::{CONTROL_FRAMES, Ramp, flush, ramp_frames, ramp_steps, retarget};
use crate::dsp::interp::hermite4;
use crate::dsp::smooth::Smoothed;
use crate::model::mix::{Delay, DelayUnit};

/// Longest delay time in seconds; longer settings are capped.
pub const MAX_DELAY_SECONDS: f32 = 10.0;
/// Duration of the crossfade after a change of delay time.
const XFADE_MS: f32 = 30.0;
/// Shortest delay in samples (the interpolator reads two samples around the tap).
const MIN_DELAY: f32 = 2.0;

/// Delay time in seconds of `d` at `bpm` and `lpb`, before the cap.
pub fn delay_seconds(d: &Delay, bpm: f32, lpb: u8) -> f32 {
    let beat = 60.0 / bpm.max(1.0);
    let unit = match d.unit {
        DelayUnit::Beats => beat,
        DelayUnit::Rows => beat / f32::from(lpb.max(1)),
    };
    d.time.max(0.0) * unit
}

/// One-pole TPT low-pass state.
#[inline(always)]
fn lowpass(s: &mut f32, g: f32, x: f32) -> f32 {
    let v = (x - *s) * g;
    let y = v + *s;
    *s = y + v;
    y
}

/// The tempo-synced delay of the second send bus.
#[derive(Clone, Debug)]
pub struct DelayProcessor {
    rate: f32,
    ring: usize,
    buf_l: Box<[f32]>,
    buf_r: Box<[f32]>,
    /// Next write position.
    w: usize,
    /// Frames written since `new` or `reset` (capped at `ring`): older slots read as silence, so
    /// `reset` need not clear megabytes of line on the audio thread.
    filled: usize,
    /// Delay time (samples) being played.
    cur: f32,
    /// Delay time faded towards while `fading`.
    next: f32,
    /// Latest requested delay time.
    target: f32,
    fade: f32,
    fade_step: f32,
    fading: bool,
    feedback: Smoothed,
    ping_pong: Smoothed,
    log2_cut: Ramp,
    /// TPT gain G = g / (1 + g) and the DC group delay 1 / (2g) of the low-pass.
    lp_g: f32,
    lp_delay: f32,
    lp_l: f32,
    lp_r: f32,
    ctl_left: u32,
    /// No `process` since `new` or `reset`: `set` jumps to its values instead of ramping.
    fresh: bool,
}

impl DelayProcessor {
    /// A delay for a stream at `rate`, with lines for [`MAX_DELAY_SECONDS`].
    pub fn new(rate: f32) -> Self {
        let rate = rate.clamp(1000.0, 768_000.0);
        let ring = (MAX_DELAY_SECONDS * rate).ceil() as usize + 8;
        let d = Delay::default();
        let mut p = DelayProcessor {
            rate,
            ring,
            buf_l: vec![0.0; ring].into_boxed_slice(),
            buf_r: vec![0.0; ring].into_boxed_slice(),
            w: 0,
            filled: 0,
            cur: rate * 0.25,
            next: rate * 0.25,
            target: rate * 0.25,
            fade: 0.0,
            fade_step: 1.0 / (XFADE_MS * 0.001 * rate).max(1.0),
            fading: false,
            feedback: Smoothed::new(d.feedback, ramp_frames(rate)),
            ping_pong: Smoothed::new(1.0, ramp_frames(rate)),
            log2_cut: Ramp::new(d.high_cut_hz.log2(), ramp_steps(rate)),
            lp_g: 1.0,
            lp_delay: 0.0,
            lp_l: 0.0,
            lp_r: 0.0,
            ctl_left: 0,
            fresh: true,
        };
        p.update_lowpass();
        p
    }

    /// Takes new settings at the current tempo (`bpm`, `lpb` lines per beat). Call it again when
    /// the tempo changes: the delay crossfades to the new time.
    pub fn set(&mut self, d: &Delay, bpm: f32, lpb: u8) {
        let secs = delay_seconds(d, bpm, lpb).min(MAX_DELAY_SECONDS);
        let max = (self.ring - 4) as f32;
        self.target = (secs * self.rate).clamp(MIN_DELAY, max);
        retarget(&mut self.feedback, d.feedback.clamp(0.0, 0.99));
        retarget(&mut self.ping_pong, if d.ping_pong { 1.0 } else { 0.0 });
        self.log2_cut.set(d.high_cut_hz.clamp(20.0, 1e6).log2());
        if self.fresh {
            self.snap();
        } else if !self.fading && (self.target - self.cur).abs() > 1e-3 {
            self.start_fade();
        }
    }

    fn start_fade(&mut self) {
        self.next = self.target;
        self.fade = 0.0;
        self.fading = true;
    }

    fn snap(&mut self) {
        self.cur = self.target;
        self.next = self.target;
        self.fading = false;
        self.fade = 0.0;
        self.feedback.snap(self.feedback.target());
        self.ping_pong.snap(self.ping_pong.target());
        self.log2_cut.finish();
        self.update_lowpass();
    }

    fn update_lowpass(&mut self) {
        let fc = self.log2_cut.value().exp2().clamp(20.0, 0.45 * self.rate);
        let g = (std::f32::consts::PI * fc / self.rate).tan();
        self.lp_g = g / (1.0 + g);
        self.lp_delay = 0.5 / g;
    }

    /// Reads `buf` `delay` (≥ 2) samples back from the next write position `w`.
    #[inline(always)]
    fn tap(buf: &[f32], ring: usize, w: usize, filled: usize, delay: f32) -> f32 {
        let k = delay as usize;
        let t = delay - k as f32;
        let at = |back: usize| {
            if back > filled {
                0.0
            } else {
                // back ≤ filled ≤ ring and w < ring: one conditional subtraction, no division.
                let mut i = w + ring - back;
                if i >= ring {
                    i -= ring;
                }
                buf.get(i).copied().unwrap_or(0.0)
            }
        };
        hermite4(t, at(k - 1), at(k), at(k + 1), at(k + 2))
    }

    /// Reads the bus input from `in_l`/`in_r` and overwrites `out_l`/`out_r` with the wet signal
    /// only (all four the same length).
    pub fn process(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        crate::dsp::simd::dispatch!(
            self.process_avx2(in_l, in_r, out_l, out_r),
            self.process_any(in_l, in_r, out_l, out_r)
        )
    }

    /// [`Self::process`] compiled for AVX2 (see [`crate::dsp::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        self.process_any(in_l, in_r, out_l, out_r)
    }

    #[inline(always)]
    fn process_any(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        self.fresh = false;
        let n = in_l.len().min(in_r.len()).min(out_l.len()).min(out_r.len());
        let mut done = 0;
        while done < n {
            if self.ctl_left == 0 {
                self.ctl_left = CONTROL_FRAMES;
                if self.log2_cut.is_ramping() {
                    self.log2_cut.tick();
                    self.update_lowpass();
                }
            }
            let m = (self.ctl_left as usize).min(n - done);
            let range = done..done + m;
            self.run(
                &in_l[range.clone()],
                &in_r[range.clone()],
                &mut out_l[range.clone()],
                &mut out_r[range],
            );
            self.ctl_left -= m as u32;
            done += m;
        }
    }

    /// One frame's values into the lines (left, right) from its input and its feedback taps:
    /// the taps through the low-pass and the feedback gain, routed straight or ping-pong.
    #[inline(always)]
    fn feed(&mut self, g: f32, (xl, xr): (f32, f32), (fl, fr): (f32, f32)) -> (f32, f32) {
        let fb = self.feedback.next_value();
        let pp = self.ping_pong.next_value();
        let fl = fb * lowpass(&mut self.lp_l, g, fl);
        let fr = fb * lowpass(&mut self.lp_r, g, fr);
        let mono = 0.5 * (xl + xr);
        let wl = (1.0 - pp) * (xl + fl) + pp * (mono + fr);
        let wr = (1.0 - pp) * (xr + fr) + pp * fl;
        (flush(wl), flush(wr))
    }

    /// [`Self::run`] for a stretch without a crossfade in which every tap reads what was
    /// written before the stretch (each at least the stretch's length back, the line filled
    /// that far) and no read or write wraps around the ring: the four taps of every frame come
    /// first, in loops over the stretch (the same interpolation of the same values), then the
    /// feedback and the writes frame by frame. The same samples as `run`. Returns false,
    /// having done nothing, where that does not hold.
    #[inline(always)]
    fn run_static(
        &mut self,
        in_l: &[f32],
        in_r: &[f32],
        out_l: &mut [f32],
        out_r: &mut [f32],
    ) -> bool {
        const MAX: usize = CONTROL_FRAMES as usize;
        let m = in_l.len().min(in_r.len()).min(out_l.len()).min(out_r.len());
        let (ring, w, filled) = (self.ring, self.w, self.filled);
        if self.fading || m == 0 || m > MAX || w + m > ring {
            return false;
        }
        // A tap `d` back: frame j interpolates between the values k - 1 … k + 2 back from
        // w + j (k = ⌊d⌋), which are `line[i + j..i + j + 4]` from the oldest.
        let window = |d: f32| -> Option<(usize, f32)> {
            let k = d as usize;
            if k < m + 1 || k + 2 > filled {
                return None;
            }
            let i = if w >= k + 2 {
                w - k - 2
            } else {
                w + ring - k - 2
            };
            (i + m + 3 <= ring).then_some((i, d - k as f32))
        };
        let fb_cur = (self.cur - self.lp_delay).max(MIN_DELAY);
        let (Some((io, to)), Some((ifb, tfb))) = (window(self.cur), window(fb_cur)) else {
            return false;
        };
        let taps = |line: &[f32], i: usize, t: f32, out: &mut [f32; MAX]| {
            for (o, x) in out.iter_mut().zip(line[i..i + m + 3].windows(4)) {
                *o = hermite4(t, x[3], x[2], x[1], x[0]);
            }
        };
        let (mut ol, mut or, mut fl, mut fr) = ([0.0f32; MAX], [0.0; MAX], [0.0; MAX], [0.0; MAX]);
        taps(&self.buf_l, io, to, &mut ol);
        taps(&self.buf_r, io, to, &mut or);
        taps(&self.buf_l, ifb, tfb, &mut fl);
        taps(&self.buf_r, ifb, tfb, &mut fr);
        let g = self.lp_g;
        for j in 0..m {
            (self.buf_l[w + j], self.buf_r[w + j]) =
                self.feed(g, (in_l[j], in_r[j]), (fl[j], fr[j]));
            out_l[j] = ol[j];
            out_r[j] = or[j];
        }
        self.w = if w + m == ring { 0 } else { w + m };
        self.filled = (filled + m).min(ring);
        self.lp_l = flush(self.lp_l);
        self.lp_r = flush(self.lp_r);
        true
    }

    #[inline(always)]
    fn run(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        if self.run_static(in_l, in_r, out_l, out_r) {
            return;
        }
        let ring = self.ring;
        let g = self.lp_g;
        let frames = in_l
            .iter()
            .zip(in_r)
            .zip(out_l.iter_mut().zip(out_r.iter_mut()));
        for ((&xl, &xr), (yl, yr)) in frames {
            let w = self.w;
            let filled = self.filled;
            let fb_cur = (self.cur - self.lp_delay).max(MIN_DELAY);
            let (mut ol, mut or, mut fl, mut fr) = (
                Self::tap(&self.buf_l, ring, w, filled, self.cur),
                Self::tap(&self.buf_r, ring, w, filled, self.cur),
                Self::tap(&self.buf_l, ring, w, filled, fb_cur),
                Self::tap(&self.buf_r, ring, w, filled, fb_cur),
            );
            if self.fading {
                let fb_next = (self.next - self.lp_delay).max(MIN_DELAY);
                let x = self.fade;
                let mix = |a: f32, b: f32| a + x * (b - a);
                ol = mix(ol, Self::tap(&self.buf_l, ring, w, filled, self.next));
                or = mix(or, Self::tap(&self.buf_r, ring, w, filled, self.next));
                fl = mix(fl, Self::tap(&self.buf_l, ring, w, filled, fb_next));
                fr = mix(fr, Self::tap(&self.buf_r, ring, w, filled, fb_next));
                self.fade += self.fade_step;
                if self.fade >= 1.0 {
                    self.cur = self.next;
                    self.fading = false;
                    if (self.target - self.cur).abs() > 1e-3 {
                        self.start_fade();
                    }
                }
            }
            let (wl, wr) = self.feed(g, (xl, xr), (fl, fr));
            if let Some(s) = self.buf_l.get_mut(w) {
                *s = wl;
            }
            if let Some(s) = self.buf_r.get_mut(w) {
                *s = wr;
            }
            self.w = if w + 1 == ring { 0 } else { w + 1 };
            self.filled = (filled + 1).min(ring);
            *yl = ol;
            *yr = or;
        }
        self.lp_l = flush(self.lp_l);
        self.lp_r = flush(self.lp_r);
    }

    /// Silences the echoes and finishes every ramp and crossfade.
    pub fn reset(&mut self) {
        self.fresh = true;
        self.w = 0;
        self.filled = 0;
        self.lp_l = 0.0;
        self.lp_r = 0.0;
        self.snap();
        self.ctl_left = 0;
    }
}

#[cfg(test)]
// Tests may allocate and report what they measured (run with --nocapture to see it).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
mod tests {
    use super::*;

    fn delay(
        time: f32,
        unit: DelayUnit,
        feedback: f32,
        high_cut_hz: f32,
        ping_pong: bool,
    ) -> Delay {
        Delay {
            time,
            unit,
            feedback,
            high_cut_hz,
            ping_pong,
        }
    }

    /// Runs `p` over `in_l`/`in_r` in uneven chunks of 1..=32 frames.
    fn run(p: &mut DelayProcessor, in_l: &[f32], in_r: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = in_l.len();
        let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (mut start, mut k) = (0, 0);
        while start < n {
            let m = (k % 32 + 1).min(n - start);
            let s = start..start + m;
            p.process(
                &in_l[s.clone()],
                &in_r[s.clone()],
                &mut l[s.clone()],
                &mut r[s],
            );
            start += m;
            k += 5;
        }
        (l, r)
    }

    /// Centroid and peak position of the echo expected at `at` (window ±24 samples).
    fn echo_position(y: &[f32], at: f64) -> (f64, usize) {
        let a = (at - 24.0).max(0.0) as usize;
        let b = ((at + 24.0) as usize).min(y.len());
        let (mut m0, mut m1) = (0.0f64, 0.0f64);
        let mut peak = a;
        for i in a..b {
            m0 += y[i] as f64;
            m1 += i as f64 * y[i] as f64;
            if y[i].abs() > y[peak].abs() {
                peak = i;
            }
        }
        (m1 / m0, peak)
    }

    #[test]
    fn echoes_arrive_at_multiples_of_the_tempo_synced_time() {
        let mut worst = 0.0f64;
        for (time, unit, bpm, lpb, rate, cut) in [
            (3.0, DelayUnit::Rows, 125.0, 4, 44_100.0, 20_000.0),
            (1.0, DelayUnit::Beats, 140.0, 4, 48_000.0, 20_000.0),
            (5.0, DelayUnit::Rows, 97.3, 6, 96_000.0, 20_000.0),
            (0.75, DelayUnit::Beats, 174.0, 8, 48_000.0, 3_000.0),
            (2.0, DelayUnit::Rows, 133.0, 3, 22_050.0, 20_000.0),
        ] {
            let d = delay(time, unit, 0.7, cut, false);
            let mut p = DelayProcessor::new(rate);
            p.set(&d, bpm, lpb);
            let secs = match unit {
                DelayUnit::Rows => time * 60.0 / (bpm * lpb as f32),
                DelayUnit::Beats => time * 60.0 / bpm,
            };
            let samples = secs as f64 * rate as f64;
            let n = (samples * 5.5) as usize;
            let mut x = vec![0.0f32; n];
            x[0] = 1.0;
            let (l, r) = run(&mut p, &x, &x);
            assert_eq!(l, r);
            for echo in 1..=5 {
                let at = echo as f64 * samples;
                let (centroid, peak) = echo_position(&l, at);
                let err = (centroid - at).abs();
                assert!(
                    err < 1.0,
                    "{d:?} {bpm} BPM at {rate}: echo {echo} at {centroid}, want {at}"
                );
                // A low high-cut smears each echo after its start (the one-pole's impulse
                // response); its centroid stays on time, its peak comes early. With the cut at
                // 20 kHz the echo is a spike again.
                if cut >= 20_000.0 {
                    assert!(
                        (peak as f64 - at).abs() < 1.0,
                        "echo {echo} peaks at {peak}, want {at}"
                    );
                }
                worst = worst.max(err);
            }
        }
        eprintln!("delay: largest echo time error {worst:.4} samples");
    }

    #[test]
    fn ping_pong_alternates_channels() {
        let rate = 48_000.0;
        let d = delay(1.0, DelayUnit::Beats, 0.8, 20_000.0, true);
        let mut p = DelayProcessor::new(rate);
        p.set(&d, 120.0, 4);
        let samples = 0.5 * rate as f64;
        let n = (samples * 4.5) as usize;
        let mut x = vec![0.0f32; n];
        x[0] = 1.0;
        let zero = vec![0.0f32; n];
        let (l, r) = run(&mut p, &x, &zero);
        for echo in 1..=4 {
            let at = (echo as f64 * samples) as usize;
            let e = |y: &[f32]| y[at - 20..at + 20].iter().map(|v| v * v).sum::<f32>();
            let (el, er) = (e(&l), e(&r));
            if echo % 2 == 1 {
                assert!(
                    el > 0.01 && er == 0.0,
                    "echo {echo} should be left: {el} {er}"
                );
            } else {
                assert!(
                    er > 0.01 && el == 0.0,
                    "echo {echo} should be right: {el} {er}"
                );
            }
        }
    }

    #[test]
    fn feedback_sets_the_gain_per_echo() {
        let mut worst = 0.0f64;
        for (fb, ping_pong, rate) in [
            (0.3, false, 48_000.0),
            (0.7, true, 44_100.0),
            (0.95, false, 96_000.0),
        ] {
            let d = delay(2.0, DelayUnit::Rows, fb, 20_000.0, ping_pong);
            let mut p = DelayProcessor::new(rate);
            p.set(&d, 150.0, 4);
            let samples = 2.0 * 60.0 / (150.0 * 4.0) * rate as f64;
            let n = (samples * 6.5) as usize;
            // A short Hann pulse: its energy lies well inside the pass band.
            let mut x = vec![0.0f32; n];
            for (i, v) in x.iter_mut().take(32).enumerate() {
                *v = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / 32.0).cos();
            }
            let (l, r) = run(&mut p, &x, &x);
            let energy = |echo: usize| -> f64 {
                let at = (echo as f64 * samples) as usize;
                (at - 16..at + 64)
                    .map(|i| (l[i] as f64).powi(2) + (r[i] as f64).powi(2))
                    .sum()
            };
            for echo in 1..=5 {
                let step = 10.0 * (energy(echo + 1) / energy(echo)).log10();
                let want = 20.0 * (fb as f64).log10();
                assert!(
                    (step - want).abs() < 0.5,
                    "fb {fb}: echo {echo}→{}: {step} dB, want {want}",
                    echo + 1
                );
                worst = worst.max((step - want).abs());
            }
        }
        eprintln!("delay: largest feedback gain error {worst:.4} dB per echo");
    }

    #[test]
    fn time_is_capped_and_tempo_changes_are_smooth() {
        let rate = 48_000.0;
        let mut p = DelayProcessor::new(rate);
        // 64 beats at 30 BPM would be 128 s: capped at 10 s.
        p.set(
            &delay(64.0, DelayUnit::Beats, 0.0, 20_000.0, false),
            30.0,
            4,
        );
        let n = (10.2 * rate) as usize;
        let mut x = vec![0.0f32; n];
        x[0] = 1.0;
        let (l, _) = run(&mut p, &x, &x);
        let (c, _) = echo_position(&l, (MAX_DELAY_SECONDS * rate) as f64);
        assert!(
            (c - (MAX_DELAY_SECONDS * rate) as f64).abs() < 1.0,
            "capped echo at {c}"
        );

        // A steady sine through the delay, the tempo changing every 50 ms.
        let mut p = DelayProcessor::new(rate);
        let d = delay(1.0, DelayUnit::Beats, 0.5, 8000.0, true);
        p.set(&d, 120.0, 4);
        let n = 4800;
        let x: Vec<f32> = (0..n * 40)
            .map(|i| 0.5 * (std::f32::consts::TAU * 330.0 * i as f32 / rate).sin())
            .collect();
        let mut out = Vec::new();
        for (k, chunk) in x.chunks(2400).enumerate() {
            p.set(&d, 120.0 + 7.0 * (k % 5) as f32, 4);
            let (l, r) = run(&mut p, chunk, chunk);
            out.extend(l.into_iter().zip(r));
        }
        // Sum of a few echoes of a 330 Hz sine: its steepest slope is bounded; a click is not.
        let bound = 3.0 * std::f32::consts::TAU * 330.0 / rate;
        for w in out.windows(2) {
            assert!((w[1].0 - w[0].0).abs() < bound && (w[1].1 - w[0].1).abs() < bound);
        }
    }
}
