//! Mastering for distribution (render only): loudness normalisation to a target in LUFS and a
//! true-peak ceiling, and the loudness report every render prints.
//!
//! The engine renders the song exactly as it plays live (mixer and master chain included). A
//! normalised render then adds one stage the live path cannot have, because it needs the whole
//! song first: a gain, found by measuring the integrated loudness (ITU-R BS.1770-4 / EBU R128,
//! the same figures as the `ebur128` crate, see `loudness`), followed by the same true-peak
//! limiter the master bus uses, set to the ceiling. Because limiting lowers the loudness a little,
//! the gain is found in two measuring passes and the third pass writes the file; the engine is
//! deterministic, so every pass renders the same samples. Measuring runs block by block on the
//! rendering thread, as the song renders.

use super::loudness::Meter;
use super::true_peak::TruePeak;
use crate::dsp::fx::limiter::LimiterProcessor;
use crate::model::mix::Limiter;
use serde::Serialize;

/// What the mastering stage of a render does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mastering {
    /// Target integrated loudness in LUFS; `None` leaves the level alone.
    pub loudness: Option<f32>,
    /// True-peak ceiling in dBTP; `None` adds no limiter (unless `loudness` is set: then −1).
    pub true_peak: Option<f32>,
}

impl Mastering {
    /// The named presets: `streaming` (−14 LUFS, −1 dBTP), `club` (−9 LUFS, −0.3 dBTP) and
    /// `broadcast` (−23 LUFS, −1 dBTP, as EBU R128).
    pub fn preset(name: &str) -> Option<Mastering> {
        let (l, tp) = match name {
            "streaming" => (-14.0, -1.0),
            "club" => (-9.0, -0.3),
            "broadcast" => (-23.0, -1.0),
            _ => return None,
        };
        Some(Mastering {
            loudness: Some(l),
            true_peak: Some(tp),
        })
    }

    /// Names of the presets, for help and errors.
    pub const PRESETS: [&'static str; 3] = ["streaming", "club", "broadcast"];

    /// The ceiling in force: the one asked for, −1 dBTP when only a loudness is asked for.
    pub fn ceiling(&self) -> Option<f32> {
        self.true_peak
            .or(self.loudness.map(|_| DEFAULT_CEILING_DBTP))
    }

    /// True when the render needs the measuring passes.
    pub fn normalises(&self) -> bool {
        self.loudness.is_some()
    }
}

/// Ceiling used when a loudness target is given without one.
pub const DEFAULT_CEILING_DBTP: f32 = -1.0;
/// Lowest and highest accepted loudness targets.
pub const LOUDNESS_RANGE: (f32, f32) = (-60.0, 0.0);
/// Lowest and highest accepted true-peak ceilings.
pub const TRUE_PEAK_RANGE: (f32, f32) = (-20.0, 0.0);

/// Loudness figures of a rendered file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LoudnessReport {
    /// Integrated loudness in LUFS (−inf for silence, written as null in JSON).
    pub integrated_lufs: Option<f64>,
    /// Loudness range in LU.
    pub range_lu: Option<f64>,
    /// Highest sample peak of both channels in dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Highest true peak of both channels in dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Gain the mastering stage applied, in dB (0 without normalisation).
    pub gain_db: f64,
    /// Largest gain reduction of the mastering limiter in dB (0 without it).
    pub limiter_db: f64,
}

fn finite_db(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn lin_to_db(x: f64) -> Option<f64> {
    finite_db(20.0 * x.log10())
}

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Integrated loudness only (the gain-finding passes).
    Integrated,
    /// Everything in the report.
    Full,
}

/// The loudness measurement of a render: blocks go in, the figures come out at the end.
///
/// It runs on the rendering thread. It used to run on a second thread fed with copies of every
/// block; with the meter in `loudness` costing a few percent of a render, handing blocks over
/// (copies, wake-ups, context switches) cost more than it saved, and on one core it only added.
pub struct Analyzer {
    meter: Meter,
    true_peak: Option<TruePeak>,
}

impl Analyzer {
    /// Starts measuring stereo audio at `rate`.
    pub fn start(rate: u32, what: Measure) -> Analyzer {
        Analyzer {
            meter: Meter::new(rate),
            true_peak: (what == Measure::Full).then(|| TruePeak::new(rate)),
        }
    }

    /// Measures a block. The sample peak comes from the true-peak meter where it oversamples
    /// (it looks at every sample's size anyway), else from the loudness meter.
    pub fn push(&mut self, l: &[f32], r: &[f32]) {
        match self.true_peak.as_mut() {
            Some(t) if t.sample_peak(0).is_some() => {
                self.meter.add_loudness(l, r);
                t.add(l, r);
            }
            _ => self.meter.add(l, r),
        }
    }

    /// Largest absolute sample value of channel `c` so far (linear).
    fn channel_peak(&self, c: usize) -> f32 {
        let from_true_peak = self.true_peak.as_ref().and_then(|t| t.sample_peak(c));
        from_true_peak.unwrap_or_else(|| self.meter.channel_peak(c))
    }

    /// Largest absolute sample value of both channels so far (linear).
    pub fn sample_peak(&self) -> f32 {
        self.channel_peak(0).max(self.channel_peak(1))
    }

    /// The figures.
    pub fn finish(self) -> LoudnessReport {
        let mut rep = LoudnessReport {
            integrated_lufs: finite_db(self.meter.integrated()),
            ..LoudnessReport::default()
        };
        if let Some(t) = &self.true_peak {
            let m = self.meter.result();
            rep.range_lu = finite_db(m.range);
            let peaks = [0, 1].map(|c| self.channel_peak(c) as f64);
            let sp = peaks[0].max(peaks[1]);
            // As the ebur128 crate reports it: never below the sample peak.
            let tp = (0..2)
                .map(|c| peaks[c].max(t.peak(c) as f64))
                .fold(0.0f64, f64::max);
            rep.sample_peak_dbfs = lin_to_db(sp);
            rep.true_peak_dbtp = lin_to_db(tp);
        }
        rep
    }
}

/// The render-only mastering stage: gain, then a true-peak limiter at the ceiling.
pub struct Finisher {
    gain: f32,
    limiter: Option<LimiterProcessor>,
    /// Output frames still to drop (the limiter's look-ahead).
    skip: usize,
    latency: usize,
    /// Largest gain reduction so far (dB).
    pub reduction_db: f32,
}

impl Finisher {
    /// A stage applying `gain_db` and, with `ceiling`, the limiter.
    pub fn new(rate: u32, gain_db: f32, ceiling: Option<f32>) -> Finisher {
        let limiter = ceiling.map(|c| {
            let mut l = LimiterProcessor::new(rate as f32);
            l.set(&Limiter {
                on: true,
                ceiling_db: c,
                ..Limiter::default()
            });
            l
        });
        let latency = limiter.as_ref().map_or(0, |l| l.latency_frames());
        Finisher {
            gain: crate::dsp::db_to_gain(gain_db),
            limiter,
            skip: latency,
            latency,
            reduction_db: 0.0,
        }
    }

    /// Processes a block in place; returns the index from which the block is output (the first
    /// `latency` frames of a render are the limiter's look-ahead and are dropped).
    pub fn process(&mut self, l: &mut [f32], r: &mut [f32]) -> usize {
        if self.gain != 1.0 {
            for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                *a *= self.gain;
                *b *= self.gain;
            }
        }
        if let Some(lim) = &mut self.limiter {
            lim.process(l, r);
            self.reduction_db = self.reduction_db.max(lim.gain_reduction_db());
        }
        let start = self.skip.min(l.len());
        self.skip -= start;
        start
    }

    /// Frames of zeros to push through at the end so the look-ahead comes out.
    pub fn tail_frames(&self) -> usize {
        self.latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;

    /// The sample peak taken from the true-peak meter's input groups is the plain maximum of
    /// every sample, wherever the loudest one falls: the first frame, the last, a block edge,
    /// the meter's history; at each rate (oversampled four times, twice, or not at all).
    #[test]
    fn the_sample_peak_is_every_samples_maximum() {
        let mut rng = Rng::new(7);
        let n = 20_000;
        let quiet: Vec<f32> = (0..n).map(|_| 0.15 * rng.bipolar()).collect();
        let blocks = [1usize, 63, 64, 65, 1000, 11, 4096, 127];
        for rate in [44_100, 48_000, 96_000, 192_000] {
            // Loud samples at the first and last frame, at the first frame after a block edge,
            // at the last frame before one and in the middle of a block; left and right apart.
            for at in [0usize, n - 1, 1, 64, 128, 1192, 1193, 5000, 12_345] {
                for ch in 0..2 {
                    let (mut l, mut r) = (quiet.clone(), quiet.clone());
                    let loud = if ch == 0 { &mut l } else { &mut r };
                    loud[at] = -0.75;
                    let mut a = Analyzer::start(rate, Measure::Full);
                    let (mut i, mut k) = (0, 0);
                    while i < n {
                        let len = blocks[k % blocks.len()].min(n - i);
                        a.push(&l[i..i + len], &r[i..i + len]);
                        (i, k) = (i + len, k + 1);
                    }
                    assert_eq!(a.sample_peak(), 0.75, "{rate} Hz, frame {at}, channel {ch}");
                    let report = a.finish();
                    assert_eq!(report.sample_peak_dbfs, lin_to_db(0.75f32 as f64));
                }
            }
        }
    }
}
