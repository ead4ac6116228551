//! Resonant low-pass filter: the zero-delay-feedback state-variable filter (trapezoidal integration),
//! stable under fast cutoff modulation and tuned exactly at any cutoff below Nyquist.

use super::DENORMAL_FLOOR;

/// Coefficients of the state-variable filter for one cutoff and resonance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvfCoefs {
    a1: f32,
    a2: f32,
    a3: f32,
    k: f32,
}

impl SvfCoefs {
    /// Low-pass coefficients for `cutoff_hz` at `rate`, with `resonance` 0..=1
    /// (damping k = 2 − 1.96 · resonance: Q from 0.5 to 25).
    #[inline]
    pub fn lowpass(cutoff_hz: f32, resonance: f32, rate: f32) -> SvfCoefs {
        let fc = cutoff_hz.clamp(10.0, rate * 0.45);
        let g = prewarp_tan(std::f32::consts::PI * fc / rate);
        let k = 2.0 - 1.96 * resonance.clamp(0.0, 1.0);
        let a1 = 1.0 / (1.0 + g * (g + k));
        SvfCoefs {
            a1,
            a2: g * a1,
            a3: g * g * a1,
            k,
        }
    }

    /// Damping factor 1/Q.
    pub fn k(&self) -> f32 {
        self.k
    }
}

/// tan(x) for the prewarped cutoff, x in (0, 0.45π]: the [7/6] Padé approximant of tan, whose
/// error there is below 4e-9 (below 1e-6 after `f32` rounding; 0.002 cents of cutoff). Synth
/// voices compute a cutoff every control period while their filter envelope moves; this is
/// about a third of libm's `tanf` and inlines.
#[inline]
fn prewarp_tan(x: f32) -> f32 {
    let x2 = x * x;
    let num = 135_135.0 + x2 * (-17_325.0 + x2 * (378.0 - x2));
    let den = 135_135.0 + x2 * (-62_370.0 + x2 * (3_150.0 - 28.0 * x2));
    x * num / den
}

/// State of one state-variable filter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Svf {
    ic1: f32,
    ic2: f32,
}

impl Svf {
    /// Clears the state.
    pub fn reset(&mut self) {
        *self = Svf::default();
    }

    /// Filters one value and returns the low-pass output.
    #[inline(always)]
    pub fn lowpass(&mut self, c: &SvfCoefs, x: f32) -> f32 {
        let v3 = x - self.ic2;
        let v1 = c.a1 * self.ic1 + c.a2 * v3;
        let v2 = self.ic2 + c.a2 * self.ic1 + c.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        if self.ic1.abs() < DENORMAL_FLOOR {
            self.ic1 = 0.0;
        }
        if self.ic2.abs() < DENORMAL_FLOOR {
            self.ic2 = 0.0;
        }
        v2
    }
}

/// Low-passes up to four independent signals at once, one per lane: `x[i][k]` is frame `i` of
/// lane `k`. The same arithmetic as [`Svf::lowpass_block`] in the same order, so the output is
/// identical; the four recursions interleave, so the latency of one no longer bounds the speed.
pub fn lowpass4(coefs: &[SvfCoefs; 4], states: &mut [Svf; 4], x: &mut [[f32; 4]], lanes: usize) {
    lowpass_lanes(coefs, states, x, lanes);
}

/// [`lowpass4`] for `L` lanes (4 or 8: eight are two vectors whose recursions overlap, for about
/// the time of one). Always inlined, so that it takes the vector width of its caller
/// (see [`super::simd`]).
#[inline(always)]
pub fn lowpass_lanes<const L: usize>(
    coefs: &[SvfCoefs; L],
    states: &mut [Svf; L],
    x: &mut [[f32; L]],
    lanes: usize,
) {
    let a1: [f32; L] = std::array::from_fn(|k| coefs[k].a1);
    let a2: [f32; L] = std::array::from_fn(|k| coefs[k].a2);
    let a3: [f32; L] = std::array::from_fn(|k| coefs[k].a3);
    let mut ic1: [f32; L] = std::array::from_fn(|k| states[k].ic1);
    let mut ic2: [f32; L] = std::array::from_fn(|k| states[k].ic2);
    for frame in x.iter_mut() {
        for k in 0..L {
            let v3 = frame[k] - ic2[k];
            let v1 = a1[k] * ic1[k] + a2[k] * v3;
            let v2 = ic2[k] + a2[k] * ic1[k] + a3[k] * v3;
            ic1[k] = 2.0 * v1 - ic1[k];
            ic2[k] = 2.0 * v2 - ic2[k];
            frame[k] = v2;
        }
    }
    for k in 0..lanes.min(L) {
        states[k].ic1 = if ic1[k].abs() < DENORMAL_FLOOR {
            0.0
        } else {
            ic1[k]
        };
        states[k].ic2 = if ic2[k].abs() < DENORMAL_FLOOR {
            0.0
        } else {
            ic2[k]
        };
    }
}

impl Svf {
    /// Low-passes `buf` in place.
    pub fn lowpass_block(&mut self, c: &SvfCoefs, buf: &mut [f32]) {
        let (mut ic1, mut ic2) = (self.ic1, self.ic2);
        for x in buf.iter_mut() {
            let v3 = *x - ic2;
            let v1 = c.a1 * ic1 + c.a2 * v3;
            let v2 = ic2 + c.a2 * ic1 + c.a3 * v3;
            ic1 = 2.0 * v1 - ic1;
            ic2 = 2.0 * v2 - ic2;
            *x = v2;
        }
        // Denormals are flushed once per block: a decaying state reaches 1e-15 long before it
        // could become subnormal (1e-38) within one block.
        self.ic1 = if ic1.abs() < DENORMAL_FLOOR { 0.0 } else { ic1 };
        self.ic2 = if ic2.abs() < DENORMAL_FLOOR { 0.0 } else { ic2 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain_at(freq: f32, c: &SvfCoefs, rate: f32) -> f32 {
        let mut f = Svf::default();
        let n = 48_000;
        let mut peak = 0.0f32;
        for i in 0..n {
            let y = f.lowpass(c, (std::f32::consts::TAU * freq * i as f32 / rate).sin());
            if i > n / 2 {
                peak = peak.max(y.abs());
            }
        }
        20.0 * peak.log10()
    }

    #[test]
    fn four_lanes_equal_four_single_filters() {
        let coefs: [SvfCoefs; 4] = std::array::from_fn(|k| {
            SvfCoefs::lowpass(300.0 * (k + 1) as f32, 0.2 * k as f32, 48_000.0)
        });
        let input = |k: usize, i: usize| ((i * (k + 3)) as f32 * 0.37).sin();
        let mut single: [Svf; 4] = Default::default();
        let mut quad: [Svf; 4] = Default::default();
        for _block in 0..5 {
            let mut x = [[0.0f32; 4]; 32];
            let mut want = [[0.0f32; 32]; 4];
            for k in 0..4 {
                for i in 0..32 {
                    x[i][k] = input(k, i);
                    want[k][i] = input(k, i);
                }
                single[k].lowpass_block(&coefs[k], &mut want[k]);
            }
            lowpass4(&coefs, &mut quad, &mut x, 4);
            for k in 0..4 {
                for i in 0..32 {
                    assert_eq!(x[i][k], want[k][i], "lane {k} frame {i}");
                }
            }
        }
    }

    #[test]
    fn prewarp_tan_is_accurate_over_the_cutoff_range() {
        let top = 0.45 * std::f64::consts::PI;
        let worst = (1..=100_000)
            .map(|i| {
                let x = top * i as f64 / 100_000.0;
                (prewarp_tan(x as f32) as f64 / (x as f32 as f64).tan() - 1.0).abs()
            })
            .fold(0.0f64, f64::max);
        assert!(worst < 1e-6, "worst relative error {worst:e}");
    }

    #[test]
    fn lowpass_response() {
        let rate = 48_000.0;
        let c = SvfCoefs::lowpass(1000.0, 0.0, rate);
        // k = 2 (Q 0.5): −6 dB at the cutoff; flat well below, 12 dB/octave well above.
        assert!(gain_at(100.0, &c, rate).abs() < 0.2);
        assert!((gain_at(1000.0, &c, rate) + 6.02).abs() < 0.3);
        assert!(gain_at(8000.0, &c, rate) < -34.0);
        // Resonance raises the peak at the cutoff: Q = 1/k.
        let r = SvfCoefs::lowpass(1000.0, 0.5, rate);
        let q_db = 20.0 * (1.0 / r.k()).log10();
        assert!((gain_at(1000.0, &r, rate) - q_db).abs() < 0.3);
    }
}
