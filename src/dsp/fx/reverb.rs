//! Algorithmic room/hall reverb: a 16-line feedback-delay network (Jot's FDN).
//!
//! * **Network.** Sixteen delay lines of mutually unrelated lengths (31–96 ms at size 1, scaled by
//!   `0.2 + 0.8 × size`), mixed after every pass by the 16 × 16 Hadamard matrix divided by 4 —
//!   orthogonal, so the loop without its decay gains is lossless and every line feeds every other.
//! * **Decay.** Line *i* of length Lᵢ samples is attenuated per pass by
//!   gᵢ = 10^(−3 Lᵢ / (fs · RT60)), i.e. −60 dB after RT60 seconds whatever the line's length, so
//!   every mode of the network decays at the set time.
//! * **Damping.** A one-pole low-pass in each line, Hᵢ(z) = gᵢ(1 − pᵢ)/(1 − pᵢ z⁻¹), with unity gain
//!   at DC so the low-frequency RT60 is kept exactly; its pole follows Jot's formula
//!   pᵢ = (ln 10 / 4) · log10(gᵢ) · (1 − 1/α²), where α = RT60(Nyquist)/RT60(DC) = 1 − 0.85 × damping.
//! * **Diffusion.** Four short Schroeder allpasses per input channel (g = 0.6, 1.4–4.9 ms) smear
//!   transients before they enter the network, so the first echoes are dense.
//! * **Pre-delay** before the network (up to 250 ms), **width** as the side gain of the output's
//!   mid/side pair (0 = mono, 1 = the network's full decorrelated stereo).
//! * Size and pre-delay changes glide the delay lengths (linear-interpolated reads), decay and
//!   damping ramp on the control grid, width per frame: every change is smooth.

use super::{CONTROL_FRAMES, Ramp, flush, ramp_frames, ramp_steps, retarget};
use crate::dsp::smooth::Smoothed;
use crate::model::mix::Reverb;

const LINES: usize = 16;

/// Line lengths in milliseconds at size 1.
const BASE_MS: [f32; LINES] = [
    31.3, 34.7, 37.9, 41.3, 44.9, 48.1, 51.7, 55.3, 59.9, 63.1, 68.3, 72.7, 77.9, 83.3, 89.9, 96.1,
];

/// Sign with which each line takes the left (even lines) or right (odd lines) input.
const IN_SIGN: [f32; LINES] = [
    1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0,
];

/// Input diffusers: four Schroeder allpasses per channel (lengths in ms, left then right) that
/// smear each input transient over ~12 ms before it enters the network, so the first echoes are
/// dense instead of sixteen discrete taps. Their lengths stay fixed (no size scaling, so size
/// changes never move them).
const DIFFUSER_MS: [[f32; 4]; 2] = [[4.77, 3.59, 2.73, 1.37], [4.91, 3.31, 2.87, 1.51]];
/// Allpass coefficient of the diffusers.
const DIFFUSION: f32 = 0.6;

/// A Schroeder allpass: w[n] = x[n] + g·w[n − M], y[n] = w[n − M] − g·w[n].
#[derive(Clone, Debug)]
struct Allpass {
    buf: Box<[f32]>,
    pos: usize,
}

impl Allpass {
    fn new(ms: f32, rate: f32) -> Allpass {
        let len = ((ms * 0.001 * rate).round() as usize).max(1);
        Allpass {
            buf: vec![0.0; len].into_boxed_slice(),
            pos: 0,
        }
    }

    #[inline(always)]
    fn process(&mut self, x: f32) -> f32 {
        let len = self.buf.len();
        let Some(slot) = self.buf.get_mut(self.pos) else {
            return x;
        };
        let delayed = *slot;
        let w = flush(x + DIFFUSION * delayed);
        *slot = w;
        self.pos = if self.pos + 1 == len { 0 } else { self.pos + 1 };
        delayed - DIFFUSION * w
    }

    /// `x` through the allpass in place, a stretch no longer than its delay (every value read
    /// was written before the stretch): the operations of [`Allpass::process`] on each value,
    /// with no chain from one value to the next. False, doing nothing, for a longer stretch.
    #[inline(always)]
    fn process_stretch(&mut self, x: &mut [f32]) -> bool {
        let len = self.buf.len();
        if x.len() > len {
            return false;
        }
        for v in x.iter_mut() {
            *v = self.process(*v);
        }
        true
    }

    fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
    }
}

/// Longest pre-delay in milliseconds.
pub const MAX_PREDELAY_MS: f32 = 250.0;
/// Glide time of size changes in milliseconds (longer than other ramps: a size change moves
/// every delay length, and a slower glide bends the pitch less).
const SIZE_GLIDE_MS: f32 = 100.0;
/// Input gain into each line.
const IN_GAIN: f32 = 0.25;
/// Output gain of each line's contribution.
const OUT_GAIN: f32 = 0.35;

fn size_scale(size: f32) -> f32 {
    0.2 + 0.8 * size.clamp(0.0, 1.0)
}

/// Reads `buf` (a ring of `ring` samples whose newest value is at `w - 1`) `delay` samples back,
/// linearly interpolated; `delay` ≥ 1.
#[inline(always)]
fn read_frac(buf: &[f32], ring: usize, w: usize, delay: f32) -> f32 {
    let k = (delay as usize).min(ring);
    let f = delay - k as f32;
    // w < ring and k ≤ ring: one conditional subtraction instead of a division.
    let mut i0 = w + ring - k;
    if i0 >= ring {
        i0 -= ring;
    }
    let i1 = if i0 == 0 { ring - 1 } else { i0 - 1 };
    let a = buf.get(i0).copied().unwrap_or(0.0);
    if f == 0.0 {
        a
    } else {
        a + f * (buf.get(i1).copied().unwrap_or(0.0) - a)
    }
}

/// What [`ReverbProcessor::network`] works on: the lines' gains and damping poles, the
/// damping states and the width.
type Network<'a> = (
    &'a [f32; LINES],
    &'a [f32; LINES],
    &'a mut [f32; LINES],
    &'a mut Smoothed,
);

/// The reverb of the first send bus.
#[derive(Clone, Debug)]
pub struct ReverbProcessor {
    rate: f32,
    /// Ring length of every line.
    ring: usize,
    /// `LINES` rings of `ring` samples, line after line.
    lines: Box<[f32]>,
    /// Next write position in every line.
    w: usize,
    len: [f32; LINES],
    len_end: [f32; LINES],
    len_inc: [f32; LINES],
    gain: [f32; LINES],
    pole: [f32; LINES],
    lp: [f32; LINES],
    size: Ramp,
    ln_decay: Ramp,
    damping: Ramp,
    predelay: Ramp,
    pre_ring: usize,
    /// Left then right pre-delay ring.
    pre: Box<[f32]>,
    pre_w: usize,
    pre_len: f32,
    pre_end: f32,
    pre_inc: f32,
    width: Smoothed,
    /// Input diffusers, left then right.
    diffusers: [[Allpass; 4]; 2],
    ctl_left: u32,
    /// No `process` since `new` or `reset`: `set` jumps to its values instead of ramping.
    fresh: bool,
}

impl ReverbProcessor {
    /// A reverb for a stream at `rate`, with buffers for the largest size and pre-delay.
    pub fn new(rate: f32) -> Self {
        let rate = rate.clamp(1000.0, 768_000.0);
        let max_len = BASE_MS[LINES - 1] * 0.001 * rate;
        let ring = max_len.ceil() as usize + 4;
        let pre_ring = (MAX_PREDELAY_MS * 0.001 * rate).ceil() as usize + 4;
        let d = Reverb::default();
        let steps = ramp_steps(rate);
        let size_steps = ((SIZE_GLIDE_MS * 0.001 * rate) / CONTROL_FRAMES as f32)
            .ceil()
            .max(1.0) as u32;
        let mut r = ReverbProcessor {
            rate,
            ring,
            lines: vec![0.0; ring * LINES].into_boxed_slice(),
            w: 0,
            len: [1.0; LINES],
            len_end: [1.0; LINES],
            len_inc: [0.0; LINES],
            gain: [0.0; LINES],
            pole: [0.0; LINES],
            lp: [0.0; LINES],
            size: Ramp::new(d.size, size_steps),
            ln_decay: Ramp::new(d.decay_s.ln(), steps),
            damping: Ramp::new(d.damping, steps),
            predelay: Ramp::new(0.0, steps),
            pre_ring,
            pre: vec![0.0; pre_ring * 2].into_boxed_slice(),
            pre_w: 0,
            pre_len: 0.0,
            pre_end: 0.0,
            pre_inc: 0.0,
            width: Smoothed::new(d.width, ramp_frames(rate)),
            diffusers: DIFFUSER_MS.map(|side| side.map(|ms| Allpass::new(ms, rate))),
            ctl_left: 0,
            fresh: true,
        };
        r.snap();
        r
    }

    /// Takes new settings; every change ramps or glides.
    pub fn set(&mut self, r: &Reverb) {
        self.size.set(r.size.clamp(0.0, 1.0));
        self.ln_decay.set(r.decay_s.clamp(0.05, 60.0).ln());
        self.damping.set(r.damping.clamp(0.0, 1.0));
        let pre = (r.predelay_ms.clamp(0.0, MAX_PREDELAY_MS) * 0.001 * self.rate).round();
        self.predelay.set(pre);
        retarget(&mut self.width, r.width.clamp(0.0, 1.0));
        if self.fresh {
            self.snap();
        }
    }

    /// Finishes every ramp and glide.
    fn snap(&mut self) {
        self.size.finish();
        self.ln_decay.finish();
        self.damping.finish();
        self.predelay.finish();
        self.width.snap(self.width.target());
        self.targets();
        self.len = self.len_end;
        self.len_inc = [0.0; LINES];
        self.pre_len = self.pre_end;
        self.pre_inc = 0.0;
    }

    /// Computes the delay lengths, gains and poles for the current ramp values.
    fn targets(&mut self) {
        let scale = size_scale(self.size.value()) * 0.001 * self.rate;
        let max = (self.ring - 3) as f32;
        let rt60 = self.ln_decay.value().exp();
        let alpha = 1.0 - 0.85 * self.damping.value().clamp(0.0, 1.0);
        let shape = 1.0 - 1.0 / (alpha * alpha);
        for (i, base) in BASE_MS.iter().enumerate() {
            let len = (base * scale).round().clamp(1.0, max);
            self.len_end[i] = len;
            let log_g = -3.0 * len / (self.rate * rt60);
            self.gain[i] = 10f32.powf(log_g);
            self.pole[i] = (std::f32::consts::LN_10 / 4.0 * log_g * shape).clamp(0.0, 0.95);
        }
        self.pre_end = self.predelay.value().clamp(0.0, (self.pre_ring - 3) as f32);
    }

    fn control_step(&mut self) {
        self.ctl_left = CONTROL_FRAMES;
        // Land exactly where the last step aimed.
        self.len = self.len_end;
        self.pre_len = self.pre_end;
        let ramping = self.size.is_ramping()
            || self.ln_decay.is_ramping()
            || self.damping.is_ramping()
            || self.predelay.is_ramping();
        if ramping {
            self.size.tick();
            self.ln_decay.tick();
            self.damping.tick();
            self.predelay.tick();
            self.targets();
        }
        let inv = 1.0 / CONTROL_FRAMES as f32;
        for i in 0..LINES {
            self.len_inc[i] = (self.len_end[i] - self.len[i]) * inv;
        }
        self.pre_inc = (self.pre_end - self.pre_len) * inv;
    }

    /// Reads the bus input from `in_l`/`in_r` and overwrites `out_l`/`out_r` with the wet signal
    /// only (all four the same length; extra frames of longer slices are left alone).
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
                self.control_step();
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

    /// One frame of input through the pre-delay and the diffusers: what enters the network.
    #[inline(always)]
    fn input(&mut self, xl: f32, xr: f32) -> (f32, f32) {
        let pre_ring = self.pre_ring;
        let (pre_l, pre_r) = self.pre.split_at_mut(pre_ring);
        let pw = self.pre_w;
        if let (Some(a), Some(b)) = (pre_l.get_mut(pw), pre_r.get_mut(pw)) {
            *a = xl;
            *b = xr;
        }
        self.pre_len += self.pre_inc;
        let (il, ir) = if self.pre_len < 0.5 {
            (xl, xr)
        } else {
            (
                read_frac(pre_l, pre_ring, pw, self.pre_len),
                read_frac(pre_r, pre_ring, pw, self.pre_len),
            )
        };
        self.pre_w = if pw + 1 == pre_ring { 0 } else { pw + 1 };
        let [dl, dr] = &mut self.diffusers;
        let il = dl.iter_mut().fold(il, |x, ap| ap.process(x));
        let ir = dr.iter_mut().fold(ir, |x, ap| ap.process(x));
        (il, ir)
    }

    /// [`Self::input`] for a stretch (`inputs.len()` frames, at most a control period) while the
    /// pre-delay does not glide: the stretch's inputs go into the pre-delay first, its outputs
    /// come out after (the same values: no read of the stretch reaches a write that comes later
    /// in it), and each diffuser takes the whole stretch in turn (no diffuser is shorter than a
    /// stretch, so each reads only what was written before it). The same operations on each
    /// value as frame by frame. False, having done nothing, where that does not hold.
    #[inline(always)]
    fn inputs_static(&mut self, in_l: &[f32], in_r: &[f32], inputs: &mut [(f32, f32)]) -> bool {
        const MAX: usize = CONTROL_FRAMES as usize;
        let m = inputs.len();
        let (pre_ring, pw, pre_len) = (self.pre_ring, self.pre_w, self.pre_len);
        if m > MAX
            || in_l.len() < m
            || in_r.len() < m
            || self.pre_inc != 0.0
            || pw + m > pre_ring
            || self.diffusers.iter().flatten().any(|ap| ap.buf.len() < m)
        {
            return false;
        }
        // Where the stretch reads the pre-delay (`read_frac` at an integral delay), if it does.
        let from = if pre_len < 0.5 {
            None
        } else {
            let k = (pre_len as usize).min(pre_ring);
            let i0 = if pw >= k { pw - k } else { pw + pre_ring - k };
            if pre_len.fract() != 0.0 || k + m > pre_ring || i0 + m > pre_ring {
                return false;
            }
            Some(i0)
        };
        let (mut il, mut ir) = ([0.0f32; MAX], [0.0f32; MAX]);
        let (pre_l, pre_r) = self.pre.split_at_mut(pre_ring);
        pre_l[pw..pw + m].copy_from_slice(&in_l[..m]);
        pre_r[pw..pw + m].copy_from_slice(&in_r[..m]);
        let (src_l, src_r) = match from {
            Some(i0) => (&pre_l[i0..i0 + m], &pre_r[i0..i0 + m]),
            None => (&in_l[..m], &in_r[..m]),
        };
        il[..m].copy_from_slice(src_l);
        ir[..m].copy_from_slice(src_r);
        self.pre_w = if pw + m == pre_ring { 0 } else { pw + m };
        let [dl, dr] = &mut self.diffusers;
        for ap in dl.iter_mut() {
            ap.process_stretch(&mut il[..m]);
        }
        for ap in dr.iter_mut() {
            ap.process_stretch(&mut ir[..m]);
        }
        for (put, (&l, &r)) in inputs.iter_mut().zip(il.iter().zip(&ir)) {
            *put = (l, r);
        }
        true
    }

    /// [`Self::run`] for a stretch of a control period in which no line's delay glides or is
    /// fractional (every size change has landed: nearly always). No line is shorter than the
    /// stretch, so no frame reads what an earlier frame of the stretch wrote: the reads are
    /// taken out first and the writes put in after, without interpolating or wrapping around a
    /// ring, and the damping and the mix run over the sixteen lines as arrays. The same
    /// operations on each value as `run`: the same samples. Returns false, having done nothing,
    /// where that does not hold or a stretch would wrap around a ring.
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
        let (ring, w) = (self.ring, self.w);
        if m == 0 || m > MAX || w + m > ring {
            return false;
        }
        let mut start = [0usize; LINES];
        for (i, s) in start.iter_mut().enumerate() {
            let len = self.len[i];
            if self.len_inc[i] != 0.0 || len.fract() != 0.0 || len < m as f32 {
                return false;
            }
            // `read_frac`'s index for the stretch's first frame; f = 0 there.
            let k = (len as usize).min(ring);
            let i0 = if w >= k { w - k } else { w + ring - k };
            if i0 + m > ring {
                return false;
            }
            *s = i0;
        }
        let mut inputs = [(0.0f32, 0.0f32); MAX];
        if !self.inputs_static(in_l, in_r, &mut inputs[..m]) {
            for (j, put) in inputs.iter_mut().enumerate().take(m) {
                *put = self.input(in_l[j], in_r[j]);
            }
        }
        // Frame by frame, line by line: what the lines give, then what they take.
        let mut x = [[0.0f32; LINES]; MAX];
        for (i, line) in self.lines.chunks_exact(ring).enumerate() {
            for (frame, &v) in x.iter_mut().zip(&line[start[i]..start[i] + m]) {
                frame[i] = v;
            }
        }
        // (The damping states as a local: the compiler keeps them in registers across frames.)
        let (gain, pole, mut lp) = (self.gain, self.pole, self.lp);
        for j in 0..m {
            (out_l[j], out_r[j]) = Self::network(
                (&gain, &pole, &mut lp, &mut self.width),
                &mut x[j],
                inputs[j],
            );
        }
        self.lp = lp;
        for (i, line) in self.lines.chunks_exact_mut(ring).enumerate() {
            for (frame, v) in x.iter().zip(&mut line[w..w + m]) {
                *v = frame[i];
            }
        }
        self.w = if w + m == ring { 0 } else { w + m };
        true
    }

    #[inline(always)]
    fn run(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        if self.run_static(in_l, in_r, out_l, out_r) {
            return;
        }
        let ring = self.ring;
        let frames = in_l
            .iter()
            .zip(in_r)
            .zip(out_l.iter_mut().zip(out_r.iter_mut()));
        for ((&xl, &xr), (yl, yr)) in frames {
            let (il, ir) = self.input(xl, xr);

            // Read every line.
            let w = self.w;
            let mut o = [0.0f32; LINES];
            for (i, line) in self.lines.chunks_exact(ring).enumerate() {
                self.len[i] += self.len_inc[i];
                o[i] = read_frac(line, ring, w, self.len[i]);
            }
            let state = (&self.gain, &self.pole, &mut self.lp, &mut self.width);
            (*yl, *yr) = Self::network(state, &mut o, (il, ir));
            for (line, &v) in self.lines.chunks_exact_mut(ring).zip(&o) {
                if let Some(slot) = line.get_mut(w) {
                    *slot = v;
                }
            }
            self.w = if w + 1 == ring { 0 } else { w + 1 };
        }
    }

    /// One frame of the network from what its lines give (`x`) and its input: each line damped
    /// and attenuated, the Hadamard mix, the input added (what the lines take, left in `x`), and
    /// the output frame (returned) from the lines' sum through the mid/side width.
    /// (`gain`, `pole`, the damping states and the width, apart from the rest of the reverb.)
    #[inline(always)]
    fn network(
        (gain, pole, lp, width): Network<'_>,
        x: &mut [f32; LINES],
        (il, ir): (f32, f32),
    ) -> (f32, f32) {
        let o = *x;
        let (mut sl, mut sr) = (0.0f32, 0.0f32);
        for (i, &out) in o.iter().enumerate() {
            if i < LINES / 2 {
                sl += if i % 2 == 0 { out } else { -out };
            } else {
                sr += if i % 2 == 0 { out } else { -out };
            }
        }
        for i in 0..LINES {
            let p = pole[i];
            let d = flush((1.0 - p) * gain[i] * o[i] + p * lp[i]);
            lp[i] = d;
            x[i] = d;
        }
        hadamard16(x);
        for (i, slot) in x.iter_mut().enumerate() {
            let input = if i % 2 == 0 { il } else { ir };
            *slot += IN_GAIN * IN_SIGN[i] * input;
        }
        let (l, r) = (sl * OUT_GAIN, sr * OUT_GAIN);
        let mid = 0.5 * (l + r);
        let side = 0.5 * (l - r) * width.next_value();
        (mid + side, mid - side)
    }

    /// Silences the tails and finishes every ramp.
    pub fn reset(&mut self) {
        self.fresh = true;
        self.lines.fill(0.0);
        self.pre.fill(0.0);
        for ap in self.diffusers.iter_mut().flatten() {
            ap.reset();
        }
        self.lp = [0.0; LINES];
        self.w = 0;
        self.pre_w = 0;
        self.snap();
        self.ctl_left = 0;
    }
}

/// The 16-point Hadamard transform divided by 4 (orthonormal).
#[inline(always)]
fn hadamard16(x: &mut [f32; LINES]) {
    let mut h = 1;
    while h < LINES {
        let mut i = 0;
        while i < LINES {
            for j in i..i + h {
                let (a, b) = (x[j], x[j + h]);
                x[j] = a + b;
                x[j + h] = a - b;
            }
            i += 2 * h;
        }
        h *= 2;
    }
    for v in x.iter_mut() {
        *v *= 0.25;
    }
}

#[cfg(test)]
// Tests may allocate and report what they measured (run with --nocapture to see it).
#[allow(clippy::disallowed_methods, clippy::print_stderr)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;

    /// Impulse response (left, right) of `frames` frames.
    fn impulse_response(r: &Reverb, rate: f32, frames: usize) -> (Vec<f32>, Vec<f32>) {
        let mut p = ReverbProcessor::new(rate);
        p.set(r);
        let mut x = vec![0.0f32; frames];
        x[0] = 1.0;
        let (mut l, mut rr) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        let mut start = 0;
        let mut k = 0;
        while start < frames {
            let n = (k % 32 + 1).min(frames - start);
            let span = start..start + n;
            p.process(
                &x[span.clone()],
                &x[span.clone()],
                &mut l[span.clone()],
                &mut rr[span],
            );
            start += n;
            k += 7;
        }
        (l, rr)
    }

    /// RT60 from the energy decay curve: Schroeder backward integration, a least-squares line
    /// through −5…−35 dB, extrapolated to −60 dB.
    fn rt60(l: &[f32], r: &[f32], rate: f32) -> f32 {
        let mut edc = vec![0.0f64; l.len()];
        let mut acc = 0.0f64;
        for i in (0..l.len()).rev() {
            acc += (l[i] as f64).powi(2) + (r[i] as f64).powi(2);
            edc[i] = acc;
        }
        let total = edc[0];
        let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
        for (i, &e) in edc.iter().enumerate() {
            let db = 10.0 * (e / total).log10();
            if (-35.0..=-5.0).contains(&db) {
                let t = i as f64 / rate as f64;
                n += 1.0;
                sx += t;
                sy += db;
                sxx += t * t;
                sxy += t * db;
            }
        }
        let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        (-60.0 / slope) as f32
    }

    #[test]
    fn decay_time_matches_the_setting() {
        let mut worst = 0.0f32;
        for (decay, size, rate) in [
            (0.5, 0.3, 48_000.0),
            (2.0, 0.6, 44_100.0),
            (5.0, 1.0, 48_000.0),
        ] {
            let r = Reverb {
                size,
                decay_s: decay,
                damping: 0.0,
                predelay_ms: 10.0,
                width: 1.0,
            };
            let frames = ((decay * 0.75 + 0.3) * rate) as usize;
            let (l, rr) = impulse_response(&r, rate, frames);
            let t = rt60(&l, &rr, rate);
            let err = (t - decay).abs() / decay;
            eprintln!("reverb: RT60 set {decay} s, measured {t:.3} s");
            assert!(err < 0.2, "RT60 {decay} s measured {t} s");
            worst = worst.max(err);
        }
        eprintln!("reverb: largest RT60 error {:.1} %", worst * 100.0);
    }

    #[test]
    fn damping_shortens_the_high_frequency_decay_only() {
        let rate = 48_000.0;
        let r = Reverb {
            size: 0.5,
            decay_s: 1.0,
            damping: 1.0,
            predelay_ms: 0.0,
            width: 1.0,
        };
        let (l, rr) = impulse_response(&r, rate, (1.2 * rate) as usize);
        // The low end (a 2-pole low-pass at 200 Hz) keeps RT60, the broadband decay is shorter.
        let lowpass = |x: &[f32]| {
            let a = (-std::f32::consts::TAU * 200.0 / rate).exp();
            let (mut s1, mut s2) = (0.0f32, 0.0f32);
            x.iter()
                .map(|&v| {
                    s1 = v + a * (s1 - v);
                    s2 = s1 + a * (s2 - s1);
                    s2
                })
                .collect::<Vec<f32>>()
        };
        let low = rt60(&lowpass(&l), &lowpass(&rr), rate);
        let broad = rt60(&l, &rr, rate);
        eprintln!("reverb: damping 1: low-frequency RT60 {low:.3} s, broadband {broad:.3} s");
        assert!((low - 1.0).abs() < 0.2, "low RT60 {low}");
        assert!(broad < 0.8 * low, "broadband RT60 {broad}");
    }

    #[test]
    fn extreme_settings_stay_finite_and_stable() {
        for rate in [8_000.0, 192_000.0] {
            for (size, decay, damping, pre, width) in [
                (0.0, 0.1, 0.0, 0.0, 0.0),
                (1.0, 20.0, 0.0, 250.0, 1.0),
                (0.0, 20.0, 1.0, 0.0, 1.0),
                (1.0, 0.1, 1.0, 250.0, 0.5),
            ] {
                let settings = Reverb {
                    size,
                    decay_s: decay,
                    damping,
                    predelay_ms: pre,
                    width,
                };
                let mut p = ReverbProcessor::new(rate);
                p.set(&settings);
                let mut rng = Rng::new(7);
                let input_len = (0.3 * rate) as usize;
                let n = (1.5 * rate) as usize;
                let x: Vec<f32> = (0..n)
                    .map(|i| if i < input_len { rng.bipolar() } else { 0.0 })
                    .collect();
                let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
                p.process(&x, &x, &mut l, &mut r);
                let energy = |a: usize, b: usize| -> f64 {
                    (a..b)
                        .map(|i| (l[i] as f64).powi(2) + (r[i] as f64).powi(2))
                        .sum()
                };
                assert!(l.iter().chain(&r).all(|v| v.is_finite() && v.abs() < 20.0));
                let tenth = (0.1 * rate) as usize;
                let early = energy(input_len + 3 * tenth, input_len + 4 * tenth);
                let late = energy(n - tenth, n);
                assert!(
                    late <= early * 1.01 + 1e-20,
                    "{settings:?} at {rate}: {early} → {late}"
                );
                if width == 0.0 {
                    assert_eq!(l, r, "width 0 is mono");
                }
            }
        }
    }

    #[test]
    fn automation_stays_finite_and_reset_silences() {
        let rate = 48_000.0;
        let mut p = ReverbProcessor::new(rate);
        let mut rng = Rng::new(3);
        let n = 48_000;
        let x: Vec<f32> = (0..n).map(|_| 0.3 * rng.bipolar()).collect();
        let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
        let mut at = 0;
        let mut k = 0;
        while at < n {
            let m = 1000.min(n - at);
            let s = Reverb {
                size: rng.unit(),
                decay_s: 0.1 + 5.0 * rng.unit(),
                damping: rng.unit(),
                predelay_ms: 250.0 * rng.unit(),
                width: rng.unit(),
            };
            p.set(&s);
            let span = at..at + m;
            p.process(
                &x[span.clone()],
                &x[span.clone()],
                &mut l[span.clone()],
                &mut r[span],
            );
            at += m;
            k += 1;
        }
        assert!(k > 10);
        assert!(l.iter().chain(&r).all(|v| v.is_finite() && v.abs() < 10.0));
        p.reset();
        let z = vec![0.0f32; 4800];
        let (mut l, mut r) = (vec![1.0; 4800], vec![1.0; 4800]);
        p.process(&z, &z, &mut l, &mut r);
        assert!(
            l.iter().chain(&r).all(|&v| v == 0.0),
            "reset leaves no tail"
        );
    }
}
