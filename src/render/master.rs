//! Mastering for distribution (render only): loudness normalisation to a target in LUFS and a
//! true-peak ceiling, and the loudness report every render prints.
//!
//! The engine renders the song exactly as it plays live (mixer and master chain included). A
//! normalised render then adds one stage the live path cannot have, because it needs the whole
//! song first: a gain, found by measuring the integrated loudness (ITU-R BS.1770-4 / EBU R128,
//! with the `ebur128` crate), followed by the same true-peak limiter the master bus uses, set to
//! the ceiling. Because limiting lowers the loudness a little, the gain is found in two measuring
//! passes and the third pass writes the file; the engine is deterministic, so every pass renders the
//! same samples. Measuring runs on a second thread, fed block by block, so it costs little time.

use super::true_peak::TruePeak;
use crate::dsp::fx::limiter::LimiterProcessor;
use crate::model::mix::Limiter;
use serde::Serialize;
use std::sync::mpsc;
use std::thread;

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

type Block = (Vec<f32>, Vec<f32>);

/// Loudness measurement on its own thread: blocks go in, the figures come out at the end.
pub struct Analyzer {
    tx: Option<mpsc::SyncSender<Block>>,
    spare: mpsc::Receiver<Block>,
    worker: Option<thread::JoinHandle<Result<LoudnessReport, String>>>,
}

impl Analyzer {
    /// Starts measuring stereo audio at `rate`.
    pub fn start(rate: u32, what: Measure) -> Analyzer {
        let (tx, rx) = mpsc::sync_channel::<Block>(16);
        let (back_tx, spare) = mpsc::sync_channel::<Block>(32);
        let worker = thread::Builder::new()
            .name("ttrack-loudness".into())
            .spawn(move || -> Result<LoudnessReport, String> {
                use ebur128::{EbuR128, Mode};
                let mode = match what {
                    Measure::Integrated => Mode::I,
                    Measure::Full => Mode::I | Mode::LRA | Mode::SAMPLE_PEAK,
                };
                let mut m = EbuR128::new(2, rate, mode).map_err(|e| e.to_string())?;
                // The true peak is measured here rather than by ebur128: the same figures, for a
                // fraction of the time (see `true_peak`).
                let mut tp_meter = (what == Measure::Full).then(|| TruePeak::new(rate));
                while let Ok((l, r)) = rx.recv() {
                    m.add_frames_planar_f32(&[&l, &r])
                        .map_err(|e| e.to_string())?;
                    if let Some(t) = tp_meter.as_mut() {
                        t.add(&l, &r);
                    }
                    // Hand the buffers back for reuse; if nobody wants them, drop them.
                    let _ = back_tx.try_send((l, r));
                }
                let integrated = m.loudness_global().map_err(|e| e.to_string())?;
                let mut rep = LoudnessReport {
                    integrated_lufs: finite_db(integrated),
                    ..LoudnessReport::default()
                };
                if what == Measure::Full {
                    rep.range_lu = m.loudness_range().ok().and_then(finite_db);
                    let sp = (0..2)
                        .filter_map(|c| m.sample_peak(c).ok())
                        .fold(0.0f64, f64::max);
                    // As ebur128 reports it: never below the sample peak.
                    let tp = (0..2)
                        .filter_map(|c| {
                            let sp = m.sample_peak(c).ok()?;
                            let tp = tp_meter.as_ref().map_or(0.0, |t| t.peak(c as usize));
                            Some(sp.max(tp as f64))
                        })
                        .fold(0.0f64, f64::max);
                    rep.sample_peak_dbfs = lin_to_db(sp);
                    rep.true_peak_dbtp = lin_to_db(tp);
                }
                Ok(rep)
            })
            .ok();
        Analyzer {
            tx: Some(tx),
            spare,
            worker,
        }
    }

    /// Queues a block for measuring (copies it; waits only if the analyser is 16 blocks behind).
    pub fn push(&mut self, l: &[f32], r: &[f32]) {
        let Some(tx) = &self.tx else { return };
        let (mut bl, mut br) = self.spare.try_recv().unwrap_or_default();
        bl.clear();
        br.clear();
        bl.extend_from_slice(l);
        br.extend_from_slice(r);
        if tx.send((bl, br)).is_err() {
            self.tx = None;
        }
    }

    /// Waits for the measurement to finish.
    pub fn finish(mut self) -> Result<LoudnessReport, String> {
        self.tx = None;
        match self.worker.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err("the loudness meter failed".into())),
            None => Err("cannot start the loudness meter thread".into()),
        }
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
