//! Loudness meter for the render report (ITU-R BS.1770-4, EBU R128 and EBU Tech 3342):
//! integrated loudness, loudness range and sample peak of a stereo signal.
//!
//! The figures are those of the `ebur128` crate (the same K-weighting filter, gates, block
//! timing and percentiles; a unit test compares the two on music-like and gated signals), for a
//! small part of its time. That crate sums the squared filtered signal again for every
//! overlapping gating block (each sample four times) and short-term block (three times more),
//! runs the channels one after the other and evaluates the filter recursion as one long chain.
//! Here the squares are summed once per 100 ms block, gating and short-term blocks are sums of
//! those (a 400 ms block is four of them, a 3 s block thirty), the two channels run side by side,
//! and the recursion's critical path is one fused multiply-add per sample (where the processor
//! has them; else a multiply and a subtract). In `perf record` of `ttrack render
//! songs/demo-kit.ttrk` the crate's meter took about a fifth of the process; this one takes a few
//! percent, and runs on the rendering thread (no hand-over to a second thread, which on one core
//! cost more than the measuring itself).
//!
//! Fused multiply-adds round once where a multiply and an add round twice, so the figures
//! differ from the crate's (and between x86-64 processors with and without FMA) in their last
//! bits: far below 1e-9 LU, what the unit test allows. On every machine with fused multiply-adds
//! (x86-64 with AVX2 and FMA, 64-bit ARM) they are the same bits. The samples never depend on
//! the meter, except through a loudness-normalised render's gain (dB, rounded to `f32`), which
//! such a difference changes only if it falls on a rounding boundary.

/// Energy of the absolute gate, −70 LUFS: 10^((−70 + 0.691) / 10).
const ABSOLUTE_GATE: f64 = 1.172_465_304_582_298e-7;

/// Loudness (LUFS) of a mean-square energy, as BS.1770 defines it.
fn energy_to_loudness(energy: f64) -> f64 {
    10.0 * energy.log10() - 0.691
}

/// The K-weighting filter (shelf then high-pass) as one 4th-order direct-form-II section, with
/// the coefficients BS.1770 gives for 48 kHz re-derived for `rate` (as libebur128 does).
#[allow(non_snake_case)]
fn k_weighting(rate: f64) -> ([f64; 5], [f64; 5]) {
    let (f0, g, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let pb = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ];
    let pa = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0];
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let rb = [1.0, -2.0, 1.0];
    let ra = [
        1.0,
        2.0 * (k * k - 1.0) / (1.0 + k / q + k * k),
        (1.0 - k / q + k * k) / (1.0 + k / q + k * k),
    ];
    let conv = |p: [f64; 3], r: [f64; 3]| {
        [
            p[0] * r[0],
            p[0] * r[1] + p[1] * r[0],
            p[0] * r[2] + p[1] * r[1] + p[2] * r[0],
            p[1] * r[2] + p[2] * r[1],
            p[2] * r[2],
        ]
    };
    (conv(pb, rb), conv(pa, ra))
}

/// What the meter measured (`−inf` loudness for silence).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loudness {
    /// Integrated loudness in LUFS.
    pub integrated: f64,
    /// Loudness range in LU (0 when there are too few short-term blocks above the gates).
    pub range: f64,
    /// Largest absolute sample of each channel.
    pub sample_peak: [f64; 2],
}

/// A stereo loudness meter: feed it blocks of any size, read the figures at the end.
#[derive(Clone, Debug)]
pub struct Meter {
    b: [f64; 5],
    a: [f64; 5],
    /// Filter state per channel: the last four values of the recursive part, newest first.
    z: [[f64; 4]; 2],
    /// Frames in 100 ms (rounded as the standard's reference code does).
    per_block: usize,
    /// Frames of the current 100 ms block so far.
    filled: usize,
    /// Sum of the squared filtered samples of the current block, per channel.
    acc: [f64; 2],
    /// Sum of squares (both channels) of every complete 100 ms block.
    blocks: Vec<f64>,
    peak: [f32; 2],
}

impl Meter {
    /// A meter for stereo audio at `rate` frames per second.
    pub fn new(rate: u32) -> Meter {
        let (b, a) = k_weighting(rate as f64);
        Meter {
            b,
            a,
            z: [[0.0; 4]; 2],
            per_block: (rate as usize + 5) / 10,
            filled: 0,
            acc: [0.0; 2],
            blocks: Vec::with_capacity(4096),
            peak: [0.0; 2],
        }
    }

    /// Largest absolute sample value of channel `c` (0 left, 1 right) so far (linear).
    pub fn channel_peak(&self, c: usize) -> f32 {
        self.peak.get(c).copied().unwrap_or(0.0)
    }

    /// Adds a block of frames (`l` and `r` of equal length).
    pub fn add(&mut self, l: &[f32], r: &[f32]) {
        use crate::dsp::{loudest, max_abs};
        self.peak[0] = max_abs(self.peak[0], loudest(l));
        self.peak[1] = max_abs(self.peak[1], loudest(r));
        self.add_loudness(l, r);
    }

    /// [`Meter::add`] without the sample peak, for a caller that finds it elsewhere (its
    /// [`Meter::channel_peak`] and the result's `sample_peak` then stay 0).
    pub fn add_loudness(&mut self, l: &[f32], r: &[f32]) {
        debug_assert_eq!(l.len(), r.len());
        let (mut l, mut r) = (l, &r[..l.len()]);
        while !l.is_empty() {
            let n = (self.per_block - self.filled).min(l.len());
            self.filter(&l[..n], &r[..n]);
            self.filled += n;
            if self.filled == self.per_block {
                self.blocks.push(self.acc[0] + self.acc[1]);
                self.acc = [0.0; 2];
                self.filled = 0;
                // A decaying filter in digital silence would reach subnormal numbers (slow on
                // most processors) after a few seconds; values this small change no figure.
                for v in self.z.iter_mut().flatten() {
                    if v.abs() < 1e-30 {
                        *v = 0.0;
                    }
                }
            }
            (l, r) = (&l[n..], &r[n..]);
        }
    }

    /// Filters a stretch within one 100 ms block and adds its squares to the block's sums.
    #[cfg(not(target_arch = "x86_64"))]
    fn filter(&mut self, l: &[f32], r: &[f32]) {
        self.filter_fused(l, r)
    }

    /// Filters a stretch within one 100 ms block and adds its squares to the block's sums: with
    /// AVX2 and FMA in [`Meter::filter_fma`] (the figures of [`Meter::filter_fused`], as on any
    /// machine with fused multiply-adds), else in [`Meter::filter_sse2`].
    #[cfg(target_arch = "x86_64")]
    fn filter(&mut self, l: &[f32], r: &[f32]) {
        if crate::dsp::simd::avx2_fma() {
            // SAFETY: the processor has AVX2 and FMA (checked just above), all that the
            // function requires.
            #[allow(unsafe_code)]
            unsafe {
                return self.filter_fma(l, r);
            }
        }
        self.filter_sse2(l, r)
    }

    /// The filter, frame by frame in direct form II with fused multiply-adds: the recursion's
    /// path from one frame to the next is a single multiply-add (the older states' terms are
    /// summed first), where a multiply and a subtract took twice as long. Each channel's squares
    /// are summed in two sums, one for the even frames of the stretch and one for the odd ones,
    /// as [`Meter::filter_fma`] sums them. (Portable: the reference for the vector version, and
    /// what machines other than x86-64 run; fused multiply-adds are in their instruction sets.)
    #[cfg(any(test, not(target_arch = "x86_64")))]
    fn filter_fused(&mut self, l: &[f32], r: &[f32]) {
        let (b, na) = (self.b, self.a.map(|a| -a));
        for (c, x) in [l, r].into_iter().enumerate() {
            let mut z = self.z[c];
            let mut sum = [0.0f64; 2];
            for (i, &x) in x.iter().enumerate() {
                let w = na[1].mul_add(
                    z[0],
                    na[2].mul_add(z[1], na[3].mul_add(z[2], na[4].mul_add(z[3], x as f64))),
                );
                let y = b[0].mul_add(
                    w,
                    b[1].mul_add(z[0], b[2].mul_add(z[1], b[3].mul_add(z[2], b[4] * z[3]))),
                );
                sum[i % 2] = y.mul_add(y, sum[i % 2]);
                z = [w, z[0], z[1], z[2]];
            }
            self.z[c] = z;
            self.acc[c] += sum[0] + sum[1];
        }
    }

    /// [`Meter::filter_fused`] with AVX2 and FMA, lane for lane the same operations: the two
    /// channels side by side in the two lanes of a vector for the recursion; two frames per step,
    /// their outputs and squares in one four-lane vector (lanes: left and right of the even frame,
    /// then of the odd one), so the outputs fill the time the recursion waits on itself.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn filter_fma(&mut self, l: &[f32], r: &[f32]) {
        use std::arch::x86_64::*;
        let na = self.a.map(|a| _mm_set1_pd(-a));
        let b = self.b.map(|b| _mm256_set1_pd(b));
        let [zl, zr] = self.z;
        let mut z: [__m128d; 4] = std::array::from_fn(|k| _mm_set_pd(zr[k], zl[k]));
        let fma = |a, b, c| _mm_fmadd_pd(a, b, c);
        let fma4 = |a, b, c| _mm256_fmadd_pd(a, b, c);
        let step = |x: __m128d, z: &[__m128d; 4]| {
            fma(
                na[1],
                z[0],
                fma(na[2], z[1], fma(na[3], z[2], fma(na[4], z[3], x))),
            )
        };
        let pair =
            |lo: __m128d, hi: __m128d| _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(lo), hi);
        let out = |w: __m256d, z: [__m256d; 4]| {
            fma4(
                b[0],
                w,
                fma4(
                    b[1],
                    z[0],
                    fma4(b[2], z[1], fma4(b[3], z[2], _mm256_mul_pd(b[4], z[3]))),
                ),
            )
        };
        let n = l.len().min(r.len());
        let mut sum = _mm256_setzero_pd();
        let mut i = 0;
        while i + 1 < n {
            let w0 = step(_mm_set_pd(r[i] as f64, l[i] as f64), &z);
            let w1 = step(
                _mm_set_pd(r[i + 1] as f64, l[i + 1] as f64),
                &[w0, z[0], z[1], z[2]],
            );
            let y = out(
                pair(w0, w1),
                [
                    pair(z[0], w0),
                    pair(z[1], z[0]),
                    pair(z[2], z[1]),
                    pair(z[3], z[2]),
                ],
            );
            sum = fma4(y, y, sum);
            z = [w1, w0, z[0], z[1]];
            i += 2;
        }
        if i < n {
            // A last, even frame: its square goes to the lower (even) lanes.
            let w = step(_mm_set_pd(r[i] as f64, l[i] as f64), &z);
            let wide = |v| _mm256_zextpd128_pd256(v);
            let y = _mm256_castpd256_pd128(out(wide(w), z.map(wide)));
            let even = fma(y, y, _mm256_castpd256_pd128(sum));
            sum = _mm256_insertf128_pd::<1>(
                _mm256_castpd128_pd256(even),
                _mm256_extractf128_pd::<1>(sum),
            );
            z = [w, z[0], z[1], z[2]];
        }
        let (lo, hi) = (_mm256_castpd256_pd128(sum), _mm256_extractf128_pd::<1>(sum));
        let (left, right) = (
            |v| _mm_cvtsd_f64(v),
            |v| _mm_cvtsd_f64(_mm_unpackhi_pd(v, v)),
        );
        self.z = [z.map(left), z.map(right)];
        self.acc[0] += left(lo) + left(hi);
        self.acc[1] += right(lo) + right(hi);
    }

    /// The filter without fused multiply-adds (x86-64 processors without FMA): frame by frame in
    /// direct form II, the two channels side by side in the two lanes of a vector, each a
    /// multiply and then a subtract or add where [`Meter::filter_fused`] fuses the two, in the
    /// same order (figures that differ from the fused ones in their last bits, far below 1e-9 LU).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    fn filter_sse2(&mut self, l: &[f32], r: &[f32]) {
        use std::arch::x86_64::*;
        // SAFETY: these intrinsics only compute on registers (no memory access, no pointers) and
        // need SSE2, part of the x86-64 baseline.
        unsafe {
            let splat = |v: f64| _mm_set1_pd(v);
            let (b, a) = (self.b.map(splat), self.a.map(splat));
            // Lane 0 left, lane 1 right.
            let [zl, zr] = self.z;
            let mut z: [__m128d; 4] = std::array::from_fn(|k| _mm_set_pd(zr[k], zl[k]));
            let mut sum = _mm_setzero_pd();
            let (mul, add, sub) = (
                |x, y| _mm_mul_pd(x, y),
                |x, y| _mm_add_pd(x, y),
                |x, y| _mm_sub_pd(x, y),
            );
            // The recursion: the older states first, so its path through the newest is one
            // multiply and one subtract.
            let step = |x: __m128d, z: &[__m128d; 4]| {
                sub(
                    sub(
                        sub(sub(x, mul(a[4], z[3])), mul(a[3], z[2])),
                        mul(a[2], z[1]),
                    ),
                    mul(a[1], z[0]),
                )
            };
            let n = l.len().min(r.len());
            for (&xl, &xr) in l[..n].iter().zip(&r[..n]) {
                let x = _mm_set_pd(xr as f64, xl as f64);
                let w = step(x, &z);
                let y = add(
                    add(
                        add(add(mul(b[0], w), mul(b[1], z[0])), mul(b[2], z[1])),
                        mul(b[3], z[2]),
                    ),
                    mul(b[4], z[3]),
                );
                z = [w, z[0], z[1], z[2]];
                sum = add(sum, mul(y, y));
            }
            let (left, right) = (
                |v| _mm_cvtsd_f64(v),
                |v| _mm_cvtsd_f64(_mm_unpackhi_pd(v, v)),
            );
            self.z = [z.map(left), z.map(right)];
            self.acc[0] += left(sum);
            self.acc[1] += right(sum);
        }
    }

    /// Mean-square energies of the blocks `len` 100 ms blocks long that end at each block index
    /// in `ends`, keeping those above the absolute gate.
    fn windows(&self, len: usize, ends: impl Iterator<Item = usize>) -> Vec<f64> {
        let frames = (len * self.per_block) as f64;
        ends.map(|end| self.blocks[end + 1 - len..=end].iter().sum::<f64>() / frames)
            .filter(|&e| e >= ABSOLUTE_GATE)
            .collect()
    }

    /// Integrated loudness (LUFS): 400 ms blocks every 100 ms, gated at −70 LUFS and then 10 LU
    /// below the loudness of the blocks above that.
    pub fn integrated(&self) -> f64 {
        let n = self.blocks.len();
        let e = self.windows(4, 3..n);
        if e.is_empty() {
            return f64::NEG_INFINITY;
        }
        let relative = e.iter().sum::<f64>() / e.len() as f64 * 0.1;
        let (count, sum) = e
            .iter()
            .filter(|&&v| v >= relative)
            .fold((0usize, 0.0f64), |(c, s), &v| (c + 1, s + v));
        if count == 0 {
            return f64::NEG_INFINITY;
        }
        energy_to_loudness(sum / count as f64)
    }

    /// Loudness range (LU, EBU Tech 3342): 3 s blocks every second, gated at −70 LUFS and 20 LU
    /// below their loudness; the spread between the 10th and the 95th percentile.
    pub fn range(&self) -> f64 {
        let n = self.blocks.len();
        let mut e = self.windows(30, (29..n).step_by(10));
        if e.is_empty() {
            return 0.0;
        }
        e.sort_unstable_by(f64::total_cmp);
        let threshold = e.iter().sum::<f64>() / e.len() as f64 * 0.01;
        let gated = e.iter().take_while(|&&v| v < threshold).count();
        let Some(last) = (e.len() - gated).checked_sub(1) else {
            return 0.0;
        };
        let at = |p: f64| e[gated + (last as f64 * p + 0.5) as usize];
        energy_to_loudness(at(0.95)) - energy_to_loudness(at(0.1))
    }

    /// All the figures.
    pub fn result(&self) -> Loudness {
        Loudness {
            integrated: self.integrated(),
            range: self.range(),
            sample_peak: self.peak.map(|p| p as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A music-like test signal: a few partials with a beat, bursts, silences and a level ramp,
    /// different in each channel.
    fn signal(rate: u32, seconds: f64, seed: u32) -> (Vec<f32>, Vec<f32>) {
        let n = (rate as f64 * seconds) as usize;
        let mut s = seed;
        let mut noise = move || {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let (mut l, mut r) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let t = i as f64 / rate as f64;
            // Sections: loud, quiet (−40 dB), silent, loud again, with a slow ramp.
            let section = match (t / 4.0) as u32 % 4 {
                0 => 1.0,
                1 => 0.01,
                2 => 0.0,
                _ => 0.5 + 0.5 * (t * 0.3).sin().abs(),
            };
            let beat = if (t * 2.0).fract() < 0.1 { 1.0 } else { 0.4 };
            let tone = (t * 2.0 * std::f64::consts::PI * 110.0).sin() * 0.5
                + (t * 2.0 * std::f64::consts::PI * 1760.0).sin() * 0.2
                + (t * 2.0 * std::f64::consts::PI * 30.0).sin() * 0.3;
            let g = (section * beat) as f32;
            l.push(g * (tone as f32 * 0.6 + noise() * 0.3));
            r.push(g * (tone as f32 * 0.4 + noise() * 0.5));
        }
        (l, r)
    }

    fn crate_figures(rate: u32, l: &[f32], r: &[f32], chunk: usize) -> (f64, f64, [f64; 2]) {
        use ebur128::{EbuR128, Mode};
        let mut m = EbuR128::new(2, rate, Mode::I | Mode::LRA | Mode::SAMPLE_PEAK)
            .unwrap_or_else(|e| panic!("ebur128: {e:?}"));
        for (a, b) in l.chunks(chunk).zip(r.chunks(chunk)) {
            m.add_frames_planar_f32(&[a, b])
                .unwrap_or_else(|e| panic!("ebur128: {e:?}"));
        }
        let sp = |c| m.sample_peak(c).unwrap_or_else(|e| panic!("{e:?}"));
        (
            m.loudness_global().unwrap_or_else(|e| panic!("{e:?}")),
            m.loudness_range().unwrap_or_else(|e| panic!("{e:?}")),
            [sp(0), sp(1)],
        )
    }

    fn ours(rate: u32, l: &[f32], r: &[f32], chunk: usize) -> Loudness {
        let mut m = Meter::new(rate);
        for (a, b) in l.chunks(chunk).zip(r.chunks(chunk)) {
            m.add(a, b);
        }
        m.result()
    }

    #[test]
    fn matches_the_ebur128_crate() {
        for (rate, seconds, chunk) in [
            (48_000, 40.0, 1024),
            (44_100, 23.3, 777),
            (96_000, 9.0, 4096),
        ] {
            let (l, r) = signal(rate, seconds, rate);
            let (i, lra, sp) = crate_figures(rate, &l, &r, chunk);
            let got = ours(rate, &l, &r, chunk);
            assert!(
                (got.integrated - i).abs() < 1e-9,
                "{rate} Hz: integrated {} LUFS, ebur128 {i}",
                got.integrated
            );
            assert!(
                (got.range - lra).abs() < 1e-9,
                "{rate} Hz: range {} LU, ebur128 {lra}",
                got.range
            );
            assert_eq!(got.sample_peak, sp, "{rate} Hz: sample peak");
            assert!(
                lra > 1.0,
                "the test signal should have a loudness range ({lra})"
            );
        }
    }

    /// The vector version of the filter computes what the portable one does, bit for bit, for
    /// stretches of every length up to 20 frames (odd and even, so the last-frame path too).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_vector_filter_is_the_portable_one() {
        if !crate::dsp::simd::avx2_fma() {
            eprintln!("no AVX2 and FMA here: nothing to compare");
            return;
        }
        let (l, r) = signal(48_000, 2.0, 11);
        let (mut a, mut b) = (Meter::new(48_000), Meter::new(48_000));
        let mut at = 0;
        for len in (0..=20).cycle() {
            if at + len > 4_000 {
                break;
            }
            let (x, y) = (&l[at..at + len], &r[at..at + len]);
            a.filter(x, y);
            b.filter_fused(x, y);
            assert_eq!(
                (a.z, a.acc),
                (b.z, b.acc),
                "after a stretch of {len} at {at}"
            );
            at += len;
        }
        assert!(a.acc[0] > 0.0 && a.acc[1] > 0.0);
    }

    /// Without FMA (older x86-64 processors) the filter's figures differ from the fused ones only
    /// in the last bits: a block's energy by less than 1e-10 of itself (4e-10 LU; seen here: a few
    /// 1e-12 after 12 s).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_filter_without_fma_agrees_to_the_last_bits() {
        let (l, r) = signal(48_000, 12.0, 5);
        let (mut a, mut b) = (Meter::new(48_000), Meter::new(48_000));
        for (x, y) in l.chunks(4_800).zip(r.chunks(4_800)) {
            a.filter_sse2(x, y);
            b.filter_fused(x, y);
            for c in 0..2 {
                let (p, q) = (a.acc[c], b.acc[c]);
                assert!((p - q).abs() <= 1e-10 * q, "channel {c}: {p} and {q}");
            }
        }
        assert_ne!(
            a.acc, b.acc,
            "the two forms should round differently somewhere"
        );
    }

    #[test]
    fn block_size_does_not_matter() {
        let (l, r) = signal(48_000, 12.0, 7);
        let a = ours(48_000, &l, &r, 48_000);
        let b = ours(48_000, &l, &r, 13);
        assert!((a.integrated - b.integrated).abs() < 1e-9);
        assert!((a.range - b.range).abs() < 1e-9);
    }

    #[test]
    fn known_levels() {
        // EBU Tech 3341 test 1: a stereo 1 kHz sine at −23 dBFS reads −23 LUFS (±0.1 LU).
        let rate = 48_000;
        let amp = 10f32.powf(-23.0 / 20.0);
        let l: Vec<f32> = (0..rate * 20)
            .map(|i| amp * (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / rate as f32).sin())
            .collect();
        let got = ours(rate, &l, &l, 1024);
        assert!((got.integrated + 23.0).abs() < 0.1, "{}", got.integrated);
        assert!(got.range < 0.1, "{}", got.range);
        // Silence, and too little audio for one gating block.
        let silent = vec![0.0f32; rate as usize * 5];
        assert_eq!(
            ours(rate, &silent, &silent, 512).integrated,
            f64::NEG_INFINITY
        );
        assert_eq!(
            ours(rate, &l[..1000], &l[..1000], 512).integrated,
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn silence_after_sound_stays_fast_and_exact() {
        // After the sound stops, the filter state is flushed before it could turn subnormal.
        let rate = 48_000;
        let (mut l, mut r) = signal(rate, 4.0, 3);
        l.resize(rate as usize * 30, 0.0);
        r.resize(rate as usize * 30, 0.0);
        let mut m = Meter::new(rate);
        m.add(&l, &r);
        assert!(m.z.iter().flatten().all(|v| *v == 0.0), "{:?}", m.z);
        let (i, _, _) = crate_figures(rate, &l, &r, 4096);
        assert!((m.integrated() - i).abs() < 1e-9);
    }
}
