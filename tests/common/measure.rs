//! Audio measurements for tests: pitch, onsets, levels, spectra. Failures speak in units.

/// Frequency of a (nearly) pure tone by counting rising zero crossings with linear interpolation.
pub fn pitch_zero_crossings(x: &[f32], rate: u32) -> f64 {
    let mut first = None;
    let mut last = 0.0;
    let mut count = 0usize;
    for i in 1..x.len() {
        if x[i - 1] < 0.0 && x[i] >= 0.0 {
            let t = (i - 1) as f64 + (-x[i - 1] / (x[i] - x[i - 1])) as f64;
            if first.is_none() {
                first = Some(t);
            } else {
                count += 1;
            }
            last = t;
        }
    }
    match first {
        Some(f) if count > 0 => count as f64 * rate as f64 / (last - f),
        _ => 0.0,
    }
}

/// Frequency of the strongest spectral peak (Hann window, FFT, parabolic interpolation on log
/// magnitudes), for rich tones.
pub fn pitch_fft(x: &[f32], rate: u32) -> f64 {
    let (mags, n) = spectrum(x);
    let mut k = 1;
    for i in 1..mags.len() - 1 {
        if mags[i] > mags[k] {
            k = i;
        }
    }
    let (a, b, c) = (mags[k - 1].ln(), mags[k].ln(), mags[k + 1].ln());
    let d = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f64 + d) * rate as f64 / n as f64
}

/// Magnitude spectrum (Hann window) and the FFT size.
pub fn spectrum(x: &[f32]) -> (Vec<f64>, usize) {
    use rustfft::{FftPlanner, num_complex::Complex};
    let n = x.len();
    let mut buf: Vec<Complex<f64>> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
            Complex::new(v as f64 * w, 0.0)
        })
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    (buf[..n / 2].iter().map(|c| c.norm() + 1e-20).collect(), n)
}

/// Frames where the signal first rises above `threshold_db` dBFS after at least `gap` frames below it.
pub fn onsets(x: &[f32], threshold_db: f32, gap: usize) -> Vec<usize> {
    let th = 10f32.powf(threshold_db / 20.0);
    let mut out = Vec::new();
    let mut quiet = gap;
    for (i, &v) in x.iter().enumerate() {
        if v.abs() >= th {
            if quiet >= gap {
                out.push(i);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

/// RMS level in dBFS.
pub fn rms_db(x: &[f32]) -> f64 {
    let s: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    10.0 * (s / x.len().max(1) as f64).max(1e-30).log10()
}

/// Sample peak in dBFS.
pub fn peak_db(x: &[f32]) -> f64 {
    let p = x.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    20.0 * (p as f64).max(1e-15).log10()
}

/// Pitch in semitones of a frequency relative to A-4 = 440 Hz (0 = A-4).
pub fn semitones_from_a4(hz: f64) -> f64 {
    12.0 * (hz / 440.0).log2()
}
