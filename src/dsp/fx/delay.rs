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

use super::{CONTROL_FRAMES, Ramp, ramp_frames, ramp_steps};
use crate::dsp::DENORMAL_FLOOR;
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
    fresh: bool,
}

impl DelayProcessor {
    /// A delay for a stream at `rate`, with lines for [`MAX_DELAY_SECONDS`].
    #[expect(
        clippy::disallowed_methods,
        reason = "construction allocates the delay lines, off the audio thread"
    )]
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
        self.feedback.set(d.feedback.clamp(0.0, 0.99));
        self.ping_pong.set(if d.ping_pong { 1.0 } else { 0.0 });
        self.log2_cut.set(d.high_cut_hz.clamp(20.0, 1e6).log2());
        if self.fresh {
            self.snap();
        } else if !self.fading && (self.target - self.cur).abs() > 1e-3 {
            self.start_fade();
        }
        self.fresh = false;
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
                buf.get((w + ring - back) % ring).copied().unwrap_or(0.0)
            }
        };
        hermite4(t, at(k - 1), at(k), at(k + 1), at(k + 2))
    }

    /// Reads the bus input from `in_l`/`in_r` and overwrites `out_l`/`out_r` with the wet signal
    /// only (all four the same length).
    pub fn process(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
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

    fn run(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
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
            let fb = self.feedback.next_value();
            let pp = self.ping_pong.next_value();
            let fl = fb * lowpass(&mut self.lp_l, g, fl);
            let fr = fb * lowpass(&mut self.lp_r, g, fr);
            let mono = 0.5 * (xl + xr);
            let wl = (1.0 - pp) * (xl + fl) + pp * (mono + fr);
            let wr = (1.0 - pp) * (xr + fr) + pp * fl;
            let flush = |v: f32| if v.abs() < DENORMAL_FLOOR { 0.0 } else { v };
            if let Some(s) = self.buf_l.get_mut(w) {
                *s = flush(wl);
            }
            if let Some(s) = self.buf_r.get_mut(w) {
                *s = flush(wr);
            }
            self.w = if w + 1 == ring { 0 } else { w + 1 };
            self.filled = (filled + 1).min(ring);
            *yl = ol;
            *yr = or;
        }
        if self.lp_l.abs() < DENORMAL_FLOOR {
            self.lp_l = 0.0;
        }
        if self.lp_r.abs() < DENORMAL_FLOOR {
            self.lp_r = 0.0;
        }
    }

    /// Silences the echoes and finishes every ramp and crossfade.
    pub fn reset(&mut self) {
        self.w = 0;
        self.filled = 0;
        self.lp_l = 0.0;
        self.lp_r = 0.0;
        self.snap();
        self.ctl_left = 0;
    }
}
