//! Band-limited oscillators. Saw and pulse use PolyBLEP (a polynomial band-limited step at each
//! discontinuity), triangle uses PolyBLAMP at its corners, so high notes do not fold back audibly.

use super::rng::Rng;
use crate::model::Waveform;

/// PolyBLEP residual for phase `t` in [0, 1) and phase increment `dt` (`inv` = 1 / `dt`: a
/// multiply instead of a divide, which costs several times as much and would be paid on every
/// frame, since the vectorised loop computes both sides of the branch).
#[inline(always)]
fn blep(t: f32, dt: f32, inv: f32) -> f32 {
    if t < dt {
        let x = t * inv;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) * inv;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// PolyBLAMP residual (integrated PolyBLEP), for slope discontinuities (see [`blep`]).
#[inline(always)]
fn blamp(t: f32, dt: f32, inv: f32) -> f32 {
    if t < dt {
        let x = t * inv - 1.0;
        -x * x * x * (1.0 / 3.0)
    } else if t > 1.0 - dt {
        let x = (t - 1.0) * inv + 1.0;
        x * x * x * (1.0 / 3.0)
    } else {
        0.0
    }
}

/// sin(2π·t) for t in [0, 1): the phase is folded onto a quarter wave and a degree-11 Taylor
/// polynomial does the rest (error below 1e-6, so harmonics stay under −120 dB); it vectorises,
/// where a libm call does not.
#[inline(always)]
pub fn sin_cycle(t: f32) -> f32 {
    let mut u = t - 0.5; // sin(2πt) = −sin(2πu)
    if u > 0.25 {
        u = 0.5 - u;
    } else if u < -0.25 {
        u = -0.5 - u;
    }
    let x = u * std::f32::consts::TAU;
    let x2 = x * x;
    let p = 1.0
        + x2 * (-1.0 / 6.0
            + x2 * (1.0 / 120.0
                + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362_880.0 + x2 * (-1.0 / 39_916_800.0)))));
    -(x * p)
}

#[inline(always)]
fn wrap(p: f32) -> f32 {
    if p >= 1.0 { p - 1.0 } else { p }
}

/// One oscillator: a phase accumulator and a waveform.
///
/// The phase is a 0.32 fixed-point fraction of a cycle that wraps by itself, so a block's phases are
/// a chain of integer adds (one cycle each) instead of a float add-and-wrap chain (about eight), and
/// converting them to floats vectorises.
#[derive(Clone, Copy, Debug)]
pub struct Oscillator {
    /// Phase in 1/2^32 cycles.
    phase: u32,
    /// Phase increment per frame in 1/2^32 cycles (frequency / rate), kept below half a cycle.
    inc: u32,
    /// Frames of noise made so far (plus the stream's start): the noise of a frame is a hash of
    /// this count, so frames are independent of each other and vectorise (see [`noise_at`]).
    noise: u32,
}

/// White noise in [-1, 1) for frame `n` of the stream keyed `key`: a 32-bit integer hash
/// (xor-shift-multiply, the "lowbias32" constants), whose top 24 bits become the value. A
/// generator stepping from frame to frame would be one long dependency chain (about nine cycles
/// per frame); the hash has none between frames, so eight frames go per vector.
#[inline(always)]
fn noise_at(key: u32, n: u32) -> f32 {
    let mut x = n ^ key;
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    (x >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
}

/// One cycle in the fixed-point phase.
const CYCLE: f64 = 4_294_967_296.0;

/// Highest phase step (1/64 cycle, 750 Hz at 48 kHz) for which the frames near the edges are
/// sought out: above it, fixing them up one by one costs more than the whole expression for
/// every frame in one vectorised loop (measured: at 220 Hz a 512-frame saw takes 44 % fewer
/// instructions, at 880 Hz about as many).
const CHECK_MAX_INC: u32 = 1 << 26;

/// Most frames near an edge that one call fixes up after its naive loop (more, and it takes the
/// whole expression everywhere): up to three an edge a cycle, two edges, nine cycles of at
/// least 64 frames in 512.
const MAX_NEAR: usize = 128;

/// Margin (2^-18 cycle) beyond one step around an edge, outside which a frame's residual is
/// exactly 0: the float phase `t` is the fixed-point phase truncated to 24 bits (error below
/// 2^-24), `dt` is the step rounded to a float (below 2^-25 here), `1 - dt` and the shifted
/// phases `t + 1 - width` and `t + 0.5` round by at most 2^-23 together, so a frame whose phase
/// lies `inc + SLACK` or more from an edge has `dt < t' < 1 - dt` for every `t'` the residuals
/// test. There `blep` and `blamp` return 0 and the wave is its naive value to the bit
/// (`x - 0.0`, `x + 0.0` and `x + 4·dt·0.0` equal `x` for the values these waves take).
const SLACK: u32 = 1 << 14;

/// The phase as a float in [0, 1): its top 24 bits, converted exactly (never rounds up to 1).
#[inline(always)]
fn unit(phase: u32) -> f32 {
    (phase >> 8) as i32 as f32 * (1.0 / 16_777_216.0)
}

impl Oscillator {
    /// An oscillator at phase `phase` (in cycles, [0, 1)).
    pub fn new(phase: f32) -> Oscillator {
        Oscillator {
            phase: (phase.rem_euclid(1.0) as f64 * CYCLE) as u64 as u32,
            inc: 0,
            noise: 0,
        }
    }

    /// This oscillator with its noise starting at frame `start` of the stream: two oscillators
    /// of one voice keyed alike give unrelated noise when their starts lie far apart.
    pub fn with_noise_start(mut self, start: u32) -> Oscillator {
        self.noise = start;
        self
    }

    /// Sets the frequency.
    #[inline]
    pub fn set_freq(&mut self, freq_hz: f32, rate: f32) {
        self.inc = ((freq_hz / rate).clamp(0.0, 0.49) as f64 * CYCLE) as u32;
    }

    /// Phase increment per frame in cycles, and its reciprocal (infinite at 0 Hz, where no
    /// frame is near a discontinuity, so it is never used).
    #[inline(always)]
    fn dt(&self) -> (f32, f32) {
        let dt = self.inc as f32 * (1.0 / CYCLE as f32);
        (dt, 1.0 / dt)
    }

    /// The next value of `wave` in -1..=1; `width` is the pulse width.
    #[inline(always)]
    pub fn next(&mut self, wave: Waveform, width: f32, rng: &mut Rng) -> f32 {
        let t = unit(self.phase);
        let (dt, inv) = self.dt();
        let out = match wave {
            Waveform::Off => 0.0,
            Waveform::Sine => sin_cycle(t),
            Waveform::Saw => 2.0 * t - 1.0 - blep(t, dt, inv),
            Waveform::Pulse => {
                let naive = if t < width { 1.0 } else { -1.0 };
                naive + blep(t, dt, inv) - blep(wrap(t + 1.0 - width), dt, inv)
            }
            Waveform::Triangle => {
                // Corners at t = 0 (minimum) and t = 0.5 (maximum); slope ±4 per cycle.
                let naive = 1.0 - 4.0 * (t - 0.5).abs();
                naive + 4.0 * dt * (blamp(t, dt, inv) - blamp(wrap(t + 0.5), dt, inv))
            }
            Waveform::Noise => {
                let v = noise_at(rng.key32(), self.noise);
                self.noise = self.noise.wrapping_add(1);
                v
            }
        };
        self.phase = self.phase.wrapping_add(self.inc);
        out
    }
}

impl Oscillator {
    /// Adds `gain × wave` for `out.len()` frames to `out` (or writes it when `add` is false).
    /// One loop per waveform, so the per-frame work has no branch on the waveform.
    pub fn fill(
        &mut self,
        wave: Waveform,
        width: f32,
        rng: &mut Rng,
        gain: f32,
        out: &mut [f32],
        add: bool,
    ) {
        super::simd::dispatch!(
            self.fill_avx2(wave, width, rng, gain, out, add),
            self.fill_any(wave, width, rng, gain, out, add)
        )
    }

    /// [`Oscillator::fill`] compiled for AVX2 (see [`super::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fill_avx2(
        &mut self,
        wave: Waveform,
        width: f32,
        rng: &mut Rng,
        gain: f32,
        out: &mut [f32],
        add: bool,
    ) {
        self.fill_any(wave, width, rng, gain, out, add)
    }

    #[inline(always)]
    fn fill_any(
        &mut self,
        wave: Waveform,
        width: f32,
        rng: &mut Rng,
        gain: f32,
        out: &mut [f32],
        add: bool,
    ) {
        // Frame j's phase is phase + j·inc: integer adds that wrap by themselves, computed per
        // frame so that they vectorise with the wave shapes (independent per frame).
        let n = out.len();
        let (dt, inv) = self.dt();
        let (p0, inc) = (self.phase, self.inc);
        self.phase = p0.wrapping_add(inc.wrapping_mul(n as u32));
        let phase = |j: usize| p0.wrapping_add(inc.wrapping_mul(j as u32));
        macro_rules! run {
            (|$t:ident| $v:expr) => {
                if add {
                    for (j, o) in out.iter_mut().enumerate() {
                        let $t = unit(phase(j));
                        *o += gain * $v;
                    }
                } else {
                    for (j, o) in out.iter_mut().enumerate() {
                        let $t = unit(phase(j));
                        *o = gain * $v;
                    }
                }
            };
        }
        // Saw, pulse and triangle: only frames next to a discontinuity get a residual, two or
        // three in a cycle for each edge. Below `CHECK_MAX_INC`, the whole block takes the naive
        // wave in one plain loop, then the frames near an edge the whole expression (the
        // others are the same to the bit: their residuals are exactly 0, see `SLACK`).
        macro_rules! run_edges {
            (|$t:ident| naive($p:ident): $naive:expr, full: $full:expr, edges: [$($edge:expr),+]) => {{
                let naive = |$p: u32| -> f32 { $naive };
                let full = |$t: f32| -> f32 { $full };
                // The frames near an edge, and what `out` held there (when adding).
                let mut near = [0u16; MAX_NEAR];
                let mut held = [0.0f32; MAX_NEAR];
                let mut count = 0;
                if inc <= CHECK_MAX_INC && inc != 0 {
                    let reach = inc + SLACK;
                    // Frames from phase `p` until one lies within `reach` of `edge`: `d` moves
                    // by `inc` a frame and is near while below `2·reach` (more than one step).
                    let clear = |p: u32, edge: u32| -> usize {
                        let d = p.wrapping_sub(edge).wrapping_add(reach);
                        if d < 2 * reach {
                            0
                        } else {
                            ((1u64 << 32) - d as u64).div_ceil(inc as u64) as usize
                        }
                    };
                    let mut j = 0;
                    while j < n {
                        let run = usize::MAX $(.min(clear(phase(j), $edge)))+;
                        if run > 0 {
                            j = j.saturating_add(run);
                            continue;
                        }
                        if count == MAX_NEAR {
                            break;
                        }
                        (near[count], held[count]) = (j as u16, out[j]);
                        count += 1;
                        j += 1;
                    }
                    if j < n {
                        count = usize::MAX;
                    }
                } else {
                    count = usize::MAX;
                }
                if count == usize::MAX {
                    run!(|$t| $full);
                } else {
                    // (A 32-bit frame count: the phases stay in 32-bit lanes.)
                    if add {
                        for (j, o) in (0u32..).zip(out.iter_mut()) {
                            *o += gain * naive(p0.wrapping_add(inc.wrapping_mul(j)));
                        }
                    } else {
                        for (j, o) in (0u32..).zip(out.iter_mut()) {
                            *o = gain * naive(p0.wrapping_add(inc.wrapping_mul(j)));
                        }
                    }
                    for (&j, &h) in near.iter().zip(&held).take(count) {
                        let v = gain * full(unit(phase(j as usize)));
                        out[j as usize] = if add { h + v } else { v };
                    }
                }
            }};
        }
        match wave {
            Waveform::Off => {
                if !add {
                    out.fill(0.0);
                }
            }
            Waveform::Sine => run!(|t| sin_cycle(t)),
            // The naive saw 2·t − 1 straight from the phase: `unit`'s t is k·2⁻²⁴ for an
            // integer k below 2²⁴, so 2·t is k·2⁻²³ exactly and one subtract rounds (the same
            // value as `full`'s expression without a residual, one operation fewer a frame).
            Waveform::Saw => run_edges!(|t|
                naive(p): (p >> 8) as i32 as f32 * (1.0 / 8_388_608.0) - 1.0,
                full: 2.0 * t - 1.0 - blep(t, dt, inv),
                edges: [0u32]
            ),
            Waveform::Pulse => {
                // The falling edge: the phase where `wrap(t + 1 - width)` is 0 (width is
                // validated to 0.01..=0.99).
                let fall = (width.clamp(0.0, 1.0) as f64 * CYCLE) as u64 as u32;
                run_edges!(|t|
                    naive(p): if unit(p) < width { 1.0 } else { -1.0 },
                    full: {
                        let naive = if t < width { 1.0 } else { -1.0 };
                        naive + blep(t, dt, inv) - blep(wrap(t + 1.0 - width), dt, inv)
                    },
                    edges: [0u32, fall]
                )
            }
            Waveform::Triangle => run_edges!(|t|
                naive(p): 1.0 - 4.0 * (unit(p) - 0.5).abs(),
                full: {
                    let naive = 1.0 - 4.0 * (t - 0.5).abs();
                    naive + 4.0 * dt * (blamp(t, dt, inv) - blamp(wrap(t + 0.5), dt, inv))
                },
                edges: [0u32, 1u32 << 31]
            ),
            Waveform::Noise => {
                let (key, n0) = (rng.key32(), self.noise);
                self.noise = n0.wrapping_add(n as u32);
                let value = |j: usize| gain * noise_at(key, n0.wrapping_add(j as u32));
                if add {
                    for (j, o) in out.iter_mut().enumerate() {
                        *o += value(j);
                    }
                } else {
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = value(j);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Energy of the spectrum below 10 kHz away from the harmonics of `f0` (the audible alias
    /// products), relative to the total energy, in dB.
    fn inharmonic_db(x: &[f32], f0: f32, rate: f32) -> f32 {
        let n = x.len();
        // Goertzel-free DFT at every bin would be slow; use a naive DFT on a decimated grid of bins.
        let mut harm = 0.0f64;
        let mut other = 0.0f64;
        // 4-term Blackman-Harris window: side lobes at −92 dB, so harmonics do not leak.
        let win: Vec<f64> = (0..n)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                0.35875 - 0.48829 * a.cos() + 0.14128 * (2.0 * a).cos() - 0.01168 * (3.0 * a).cos()
            })
            .collect();
        let total: f64 =
            x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() * 0.25897 * n as f64 / 2.0;
        for k in 1..(10_000.0 * n as f32 / rate) as usize {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            let w = std::f64::consts::TAU * k as f64 / n as f64;
            for (i, &v) in x.iter().enumerate() {
                let a = w * i as f64;
                re += v as f64 * win[i] * a.cos();
                im += v as f64 * win[i] * a.sin();
            }
            let p = re * re + im * im;
            let f = k as f32 * rate / n as f32;
            let h = f / f0;
            if (h - h.round()).abs() * f0 < 60.0 {
                harm += p
            } else {
                other += p
            }
        }
        let _ = harm;
        (10.0 * (other / total).log10()) as f32
    }

    fn run(wave: Waveform, f0: f32, rate: f32) -> Vec<f32> {
        let mut osc = Oscillator::new(0.0);
        osc.set_freq(f0, rate);
        let mut rng = Rng::new(1);
        (0..8192).map(|_| osc.next(wave, 0.5, &mut rng)).collect()
    }

    #[test]
    fn fast_sine_is_accurate() {
        let mut worst = 0.0f32;
        for i in 0..100_000 {
            let t = i as f32 / 100_000.0;
            worst = worst.max((sin_cycle(t) - (t * std::f32::consts::TAU).sin()).abs());
        }
        assert!(worst < 1e-6, "worst error {worst:e}");
    }

    #[test]
    fn block_fill_equals_single_steps() {
        // Low, middle and near-Nyquist notes, blocks of several lengths (groups cut short, more
        // than one piece), written and added: every frame as `next` gives it, to the bit.
        for wave in Waveform::ALL {
            let freqs = [0.0, 0.001, 0.01, 55.0, 1234.5, 9000.0, 12_000.0, 23_000.0];
            for (freq, start) in freqs.into_iter().flat_map(|f| [(f, 0.0), (f, 0.3)]) {
                for width in [0.3, 0.5, 0.97] {
                    let (mut a, mut b) = (Oscillator::new(start), Oscillator::new(start));
                    a.set_freq(freq, 48_000.0);
                    b.set_freq(freq, 48_000.0);
                    let (mut ra, mut rb) = (Rng::new(5), Rng::new(5));
                    let lens = [32, 7, 100, 1, 128, 13, 64, 4, 4, 8];
                    for (round, len) in lens.into_iter().enumerate() {
                        let add = round % 2 == 1;
                        let mut block = vec![0.25f32; len];
                        a.fill(wave, width, &mut ra, 0.5, &mut block, add);
                        for (i, v) in block.iter().enumerate() {
                            let one = 0.5 * b.next(wave, width, &mut rb);
                            let want = if add { 0.25 + one } else { one };
                            assert_eq!(
                                v.to_bits(),
                                want.to_bits(),
                                "{wave:?} {freq} Hz width {width} block {round} frame {i}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn blocks_away_from_edges_equal_the_whole_expression() {
        // Long fills take the naive wave in blocks no edge comes near: many frequencies up to
        // and past the highest checked one, start phases and pulse widths (from a fixed-seed
        // generator), every frame as `next` gives it, to the bit.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut draw = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / 16_777_216.0
        };
        for _ in 0..300 {
            let (freq, start, width) = (draw() * 1700.0, draw(), 0.01 + 0.98 * draw());
            for wave in [Waveform::Saw, Waveform::Pulse, Waveform::Triangle] {
                let (mut a, mut b) = (Oscillator::new(start), Oscillator::new(start));
                a.set_freq(freq, 48_000.0);
                b.set_freq(freq, 48_000.0);
                let (mut ra, mut rb) = (Rng::new(5), Rng::new(5));
                let mut block = vec![0.0f32; 2048];
                a.fill(wave, width, &mut ra, 0.7, &mut block, false);
                for (i, v) in block.iter().enumerate() {
                    let want = 0.7 * b.next(wave, width, &mut rb);
                    assert_eq!(
                        v.to_bits(),
                        want.to_bits(),
                        "{wave:?} {freq} Hz start {start} width {width} frame {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn noise_is_white_uniform_and_differs_between_streams() {
        let rng = Rng::new(7);
        let n = 1 << 16;
        let make = |osc: Oscillator| {
            let (mut osc, mut rng, mut out) = (osc, rng, vec![0.0f32; n]);
            for piece in out.chunks_mut(32) {
                osc.fill(Waveform::Noise, 0.5, &mut rng, 1.0, piece, false);
            }
            out
        };
        let a = make(Oscillator::new(0.0));
        let b = make(Oscillator::new(0.0).with_noise_start(1 << 31));
        let mean = |x: &[f32]| x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let dot = |x: &[f32], y: &[f32]| {
            x.iter()
                .zip(y)
                .map(|(&p, &q)| p as f64 * q as f64)
                .sum::<f64>()
                / x.len() as f64
        };
        // Uniform in [-1, 1): mean 0, mean square 1/3; white: no correlation with the next
        // frame; two streams: no correlation with each other. (Bounds: several standard errors.)
        assert!(mean(&a).abs() < 0.01, "mean {}", mean(&a));
        assert!(
            (dot(&a, &a) - 1.0 / 3.0).abs() < 0.01,
            "power {}",
            dot(&a, &a)
        );
        assert!(dot(&a[1..], &a[..n - 1]).abs() < 0.01, "lag-1 correlation");
        assert!(dot(&a, &b).abs() < 0.01, "streams correlate");
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
    }

    #[test]
    fn saw_aliasing_is_low_and_lower_than_naive() {
        // A-7 (3520 Hz) at 48 kHz: naive saw folds a lot back; PolyBLEP keeps it far down.
        let (f0, rate) = (3520.0, 48_000.0);
        let blep = inharmonic_db(&run(Waveform::Saw, f0, rate), f0, rate);
        let naive: Vec<f32> = (0..8192)
            .map(|i| 2.0 * ((i as f32 * f0 / rate) % 1.0) - 1.0)
            .collect();
        let naive = inharmonic_db(&naive, f0, rate);
        assert!(
            blep < -45.0 && blep < naive - 30.0,
            "saw alias below 10 kHz {blep:.1} dB, naive {naive:.1} dB"
        );
    }

    #[test]
    fn triangle_corners_are_band_limited() {
        let tri = inharmonic_db(&run(Waveform::Triangle, 3520.0, 48_000.0), 3520.0, 48_000.0);
        assert!(tri < -60.0, "triangle alias below 10 kHz {tri:.1} dB");
        let sq = inharmonic_db(&run(Waveform::Pulse, 3520.0, 48_000.0), 3520.0, 48_000.0);
        assert!(sq < -45.0, "pulse alias below 10 kHz {sq:.1} dB");
    }
}
