//! True-peak measurement for the render report (ITU-R BS.1770-4 Annex 2): the signal is
//! oversampled four times (twice at 96 kHz) through a 48-tap polyphase interpolator and the
//! largest absolute value is kept.
//!
//! The filter and the arithmetic are those of the `ebur128` crate (Hann-windowed sinc, `f32`,
//! taps summed newest first), so the figures are the same, bit for bit. Two things make it
//! cheaper: the four phases of one input sample are one four-lane multiply-add per tap, which
//! vectorises; and a stretch of 64 output positions whose samples (with the filter's history)
//! are too small to beat the peak found so far, even through the filter's largest gain, is not
//! filtered at all. That bound is exact (|Σ hᵢxᵢ| ≤ max|x| · Σ|hᵢ|, with a margin for
//! rounding), so skipping never changes the result.

/// Taps of the interpolation filter (all phases together).
const TAPS: usize = 48;

/// The oversampling true-peak meter of one channel, `T` taps per phase, `F` phases.
#[derive(Clone, Debug)]
pub(super) struct Scanner<const T: usize, const F: usize> {
    /// `coefs[t][p]`: tap `t` (0 = newest input) of phase `p`.
    coefs: [[f32; F]; T],
    /// The filter's largest gain over any phase, Σ|h|, with a margin for `f32` rounding.
    bound: f32,
    /// The last `T − 1` inputs (oldest first), then the current block.
    work: Vec<f32>,
    /// Largest absolute interpolated value so far.
    peak: f32,
    /// Largest absolute input value so far (the sample peak): the maximum of the input groups
    /// the skip bound takes anyway, which together cover every input.
    input_peak: f32,
}

impl<const T: usize, const F: usize> Scanner<T, F> {
    fn new() -> Self {
        // The same coefficients as ebur128's `InterpF::new` (computed in f64, stored as f32).
        let mut coefs = [[0.0f32; F]; T];
        for (j, c) in coefs.iter_mut().flat_map(|x| x.iter_mut()).enumerate() {
            let j = j as f64;
            let window = TAPS as f64;
            let w = 0.5 * (1.0 - (2.0 * std::f64::consts::PI * j / window).cos());
            let m = j - window / 2.0;
            let x = m * std::f64::consts::PI / F as f64;
            *c = if m.abs() > 0.000_001 {
                w * x.sin() / x
            } else {
                w
            } as f32;
        }
        let bound = (0..F)
            .map(|p| coefs.iter().map(|t| t[p].abs() as f64).sum::<f64>())
            .fold(0.0f64, f64::max);
        Scanner {
            coefs,
            bound: (bound * (1.0 + 1e-4)) as f32,
            work: vec![0.0; T - 1],
            peak: 0.0,
            input_peak: 0.0,
        }
    }

    fn add(&mut self, x: &[f32]) {
        crate::dsp::simd::dispatch!(self.add_avx2(x), self.add_any(x))
    }

    /// [`Scanner::add`] compiled for AVX2 (see [`crate::dsp::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn add_avx2(&mut self, x: &[f32]) {
        self.add_any(x)
    }

    #[inline(always)]
    fn add_any(&mut self, x: &[f32]) {
        use crate::dsp::max_abs;
        self.work.truncate(T - 1);
        self.work.extend_from_slice(x);
        // Stretches of SUB output positions, each skipped when its inputs cannot beat the peak.
        // Stretch k reads work[k·SUB .. k·SUB + SUB + T − 1], inside input groups k and k + 1
        // (T − 1 < SUB): the larger of their two maxima bounds its inputs, and each input is
        // looked at once (eight running maxima, not one serial chain of compares).
        const SUB: usize = 64;
        const { assert!(T - 1 < SUB) };
        let positions = self.work.len() + 1 - T;
        let work = &self.work[..];
        // The groups looked at cover every input (the last stretch's next group reaches the end
        // of `work`, as T − 1 < SUB), so their maxima also give the sample peak.
        let mut this_group = group_max::<SUB>(work, 0);
        let mut inputs = this_group;
        let mut start = 0;
        while start < positions {
            let end = (start + SUB).min(positions);
            let span = &work[start..end + T - 1];
            let next_group = group_max::<SUB>(work, start / SUB + 1);
            inputs = inputs.max(next_group);
            let loudest = this_group.max(next_group);
            this_group = next_group;
            start = end;
            if loudest * self.bound <= self.peak {
                continue;
            }
            let mut best = [0.0f32; F];
            // Two output positions at a time (2·F lanes, one vector of eight at F = 4), each
            // lane summing its taps in the same order as one position at a time would.
            let mut pairs = span.windows(T + 1).step_by(2);
            for win in &mut pairs {
                // win[T − 1] is the newest input of the first position, win[T] of the second.
                let mut acc = [[0.0f32; F]; 2];
                for (t, c) in self.coefs.iter().enumerate() {
                    let (x0, x1) = (win[T - 1 - t], win[T - t]);
                    for p in 0..F {
                        acc[0][p] += x0 * c[p];
                        acc[1][p] += x1 * c[p];
                    }
                }
                for a in acc {
                    for p in 0..F {
                        best[p] = max_abs(best[p], a[p]);
                    }
                }
            }
            // An odd count of positions leaves the last one.
            if (span.len() + 1 - T) % 2 == 1 {
                let win = &span[span.len() - T..];
                let mut acc = [0.0f32; F];
                for (c, &x) in self.coefs.iter().zip(win.iter().rev()) {
                    for p in 0..F {
                        acc[p] += x * c[p];
                    }
                }
                for p in 0..F {
                    best[p] = max_abs(best[p], acc[p]);
                }
            }
            self.peak = best.iter().fold(self.peak, |m, &v| m.max(v));
        }
        self.input_peak = self.input_peak.max(inputs);
        let keep = self.work.len() - (T - 1);
        self.work.drain(..keep);
    }
}

/// The largest absolute value in the `k`-th group of `N` values of `work` (the last may be
/// short, or empty).
#[inline(always)]
fn group_max<const N: usize>(work: &[f32], k: usize) -> f32 {
    let g = work.get(k * N..).unwrap_or(&[]);
    crate::dsp::loudest(&g[..g.len().min(N)])
}

/// A stereo true-peak meter for one sample rate.
#[derive(Clone, Debug)]
pub(super) enum TruePeak {
    /// Below 96 kHz: four times oversampling.
    Four(Box<[Scanner<12, 4>; 2]>),
    /// 96 kHz up to 192 kHz: twice.
    Two(Box<[Scanner<24, 2>; 2]>),
    /// 192 kHz and above: the sample peak is the true peak.
    None,
}

impl TruePeak {
    /// A meter for stereo audio at `rate` Hz.
    pub(super) fn new(rate: u32) -> TruePeak {
        if rate < 96_000 {
            TruePeak::Four(Box::new([Scanner::new(), Scanner::new()]))
        } else if rate < 192_000 {
            TruePeak::Two(Box::new([Scanner::new(), Scanner::new()]))
        } else {
            TruePeak::None
        }
    }

    /// Measures the next block of both channels.
    pub(super) fn add(&mut self, l: &[f32], r: &[f32]) {
        match self {
            TruePeak::Four(s) => {
                s[0].add(l);
                s[1].add(r);
            }
            TruePeak::Two(s) => {
                s[0].add(l);
                s[1].add(r);
            }
            TruePeak::None => {}
        }
    }

    /// Largest absolute sample value of channel `c` so far (linear), found along the way; `None`
    /// at rates where nothing is oversampled (the sample peak must be measured elsewhere).
    pub(super) fn sample_peak(&self, c: usize) -> Option<f32> {
        match self {
            TruePeak::Four(s) => s.get(c).map(|s| s.input_peak),
            TruePeak::Two(s) => s.get(c).map(|s| s.input_peak),
            TruePeak::None => None,
        }
    }

    /// Largest interpolated absolute value of channel `c` so far (linear).
    pub(super) fn peak(&self, c: usize) -> f32 {
        match self {
            TruePeak::Four(s) => s.get(c).map_or(0.0, |s| s.peak),
            TruePeak::Two(s) => s.get(c).map_or(0.0, |s| s.peak),
            TruePeak::None => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;

    /// The crate's own true peak of a stereo signal (linear, before it is combined with the sample
    /// peak, which these signals never exceed at their true peak).
    fn reference(l: &[f32], r: &[f32], rate: u32) -> [f64; 2] {
        let mut m = ebur128::EbuR128::new(2, rate, ebur128::Mode::TRUE_PEAK)
            .unwrap_or_else(|e| panic!("ebur128: {e:?}"));
        for (a, b) in l.chunks(1000).zip(r.chunks(1000)) {
            m.add_frames_planar_f32(&[a, b])
                .unwrap_or_else(|e| panic!("ebur128: {e:?}"));
        }
        [m.true_peak(0).unwrap_or(0.0), m.true_peak(1).unwrap_or(0.0)]
    }

    /// Lone clicks of two equal samples in silence (their true peak, between the two, is about
    /// 1.27 times their sample peak), at every offset around the meter's stretches of 64
    /// positions: a stretch's last positions interpolate with inputs of the next stretch's group,
    /// which the skipping bound must count.
    #[test]
    fn clicks_at_every_offset_are_measured() {
        for at in 100..240 {
            let mut l = vec![0.0f32; 400];
            (l[at], l[at + 1]) = (0.5, 0.5);
            // A louder click first on the right, so that the quiet ones are skipped there.
            let mut r = vec![0.0f32; 400];
            (r[20], r[21]) = (0.9, 0.9);
            (r[at], r[at + 1]) = (0.6, 0.6);
            let mut tp = TruePeak::new(48_000);
            for (a, b) in l.chunks(150).zip(r.chunks(150)) {
                tp.add(a, b);
            }
            let want = reference(&l, &r, 48_000);
            for (c, sample_peak) in [(0, 0.5f32), (1, 0.9)] {
                let ours = (tp.peak(c) as f64).max(sample_peak as f64);
                assert_eq!(ours, want[c], "click at {at}, channel {c}");
            }
        }
    }

    #[test]
    fn equals_the_ebur128_crate_bit_for_bit() {
        let mut rng = Rng::new(7);
        for rate in [44_100, 48_000, 96_000] {
            // A quiet start, a loud burst of noise and near-Nyquist tones (whose true peak lies
            // between samples), then a quieter part that the bound lets the meter skip.
            let n = 20_000;
            let mut l = Vec::with_capacity(n);
            let mut r = Vec::with_capacity(n);
            for i in 0..n {
                let t = i as f32;
                let (a, b) = match i {
                    0..=2999 => (0.1 * rng.bipolar(), 0.05 * (t * 0.01).sin()),
                    3000..=7999 => (
                        0.7 * (t * 2.9 + 0.3).sin(),
                        0.5 * rng.bipolar() + 0.4 * (t * 3.0).sin(),
                    ),
                    _ => (0.2 * rng.bipolar(), 0.3 * (t * 0.2).sin()),
                };
                l.push(a);
                r.push(b);
            }
            let mut tp = TruePeak::new(rate);
            // Uneven blocks, as the render passes them.
            let mut at = 0;
            for k in [1usize, 37, 128, 1000, 4096].iter().cycle() {
                if at >= n {
                    break;
                }
                let e = (at + k).min(n);
                tp.add(&l[at..e], &r[at..e]);
                at = e;
            }
            let want = reference(&l, &r, rate);
            for (c, (&want, signal)) in want.iter().zip([&l, &r]).enumerate() {
                let sample_peak = signal.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let ours = (tp.peak(c) as f64).max(sample_peak as f64);
                assert_eq!(ours, want, "rate {rate} channel {c}");
            }
        }
    }
}
