//! Offline rendering (layer 3): runs the same engine as live playback through
//! [`engine::rt::process_block`] as fast as the CPU allows, finds the end of the song and of its
//! tail, and writes WAV files with TPDF dither when reducing to 16 bits.

use crate::dsp::rng::Rng;
use crate::engine::{self, Engine, EngineSong, PlayRange, SongLength};
use crate::format;
use crate::model::Song;
use std::path::Path;
use thiserror::Error;

pub mod freeze;
mod loudness;
pub mod master;
mod push;
pub mod stems;
mod true_peak;
pub use master::{LoudnessReport, Mastering, Measure};

/// Frames per block handed to the engine by the renderer.
pub const BLOCK_FRAMES: usize = 1024;

/// Output sample format of a WAV render (s16 is TPDF-dithered by the renderer).
pub use crate::format::WavFormat as SampleFormat;

/// What to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Output rate in Hz.
    pub rate: u32,
    /// First order position.
    pub from: Option<usize>,
    /// Last order position (inclusive).
    pub to: Option<usize>,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            rate: 48_000,
            from: None,
            to: None,
        }
    }
}

/// Why a render failed.
#[derive(Debug, Error)]
pub enum RenderError {
    /// The order range is outside the order list.
    #[error("order positions {from}..={to} are not within the song's order list (0..={last})")]
    BadRange {
        /// First position asked for.
        from: usize,
        /// Last position asked for.
        to: usize,
        /// Last position of the song.
        last: usize,
    },
    /// The rate is not supported.
    #[error("sample rate {0} Hz is not supported (8000..=192000)")]
    BadRate(u32),
    /// The song is not valid.
    #[error("the song is not valid: {0}")]
    Invalid(#[from] crate::model::ModelError),
    /// Writing the WAV failed.
    #[error(transparent)]
    Write(#[from] format::WavError),
    /// The stem folder could not be created.
    #[error("cannot create the folder {}: {error}", path.display())]
    Folder {
        /// The folder.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// Figures of a finished render.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderReport {
    /// Frames written.
    pub frames: u64,
    /// Output rate.
    pub rate: u32,
    /// Sample peak over both channels, linear.
    pub peak: f32,
    /// Length of the song part itself (without the tail).
    pub song_length: SongLength,
    /// Loudness figures of the written audio and the mastering gain.
    pub loudness: LoudnessReport,
}

impl RenderReport {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.rate as f64
    }

    /// Peak in dBFS.
    pub fn peak_db(&self) -> f32 {
        20.0 * self.peak.max(1e-10).log10()
    }
}

/// Streams a song through the engine block by block; the same path as live playback.
pub struct Renderer {
    engine: Engine,
    left: Vec<f32>,
    right: Vec<f32>,
    tail: engine::tail::TailDetector,
    done: bool,
    /// Length of the song part (dry run).
    pub length: SongLength,
    /// Frames produced so far.
    pub frames: u64,
}

impl Renderer {
    /// A renderer of `song` over `opts`; checks the song and the range first.
    pub fn new(song: &Song, opts: RenderOptions) -> Result<Renderer, RenderError> {
        Renderer::build(song, opts, None)
    }

    /// Like [`Renderer::new`], with the engine keeping every stem of what it renders, up to
    /// `capacity` frames between drains (see [`Engine::enable_stems`]).
    pub fn with_stems(
        song: &Song,
        opts: RenderOptions,
        capacity: usize,
    ) -> Result<Renderer, RenderError> {
        Renderer::build(song, opts, Some(capacity))
    }

    fn build(
        song: &Song,
        opts: RenderOptions,
        stems: Option<usize>,
    ) -> Result<Renderer, RenderError> {
        crate::model::validate(song)?;
        if !(crate::model::limits::RATE_RANGE.0..=crate::model::limits::RATE_RANGE.1)
            .contains(&opts.rate)
        {
            return Err(RenderError::BadRate(opts.rate));
        }
        let last = song.order.len() - 1;
        let (from, to) = (opts.from.unwrap_or(0), opts.to.unwrap_or(last));
        if from > to || to > last {
            return Err(RenderError::BadRange { from, to, last });
        }
        let es = Box::new(EngineSong::from_model(song, opts.rate));
        let range = PlayRange {
            from,
            to,
            looping: false,
        };
        let length = engine::song_length(&es, range, opts.rate);
        let mut engine = Engine::new(es);
        if let Some(capacity) = stems {
            engine.enable_stems(capacity);
        }
        engine.render_offline();
        engine.play(range);
        Ok(Renderer {
            engine,
            left: vec![0.0; BLOCK_FRAMES],
            right: vec![0.0; BLOCK_FRAMES],
            tail: engine::tail::TailDetector::new(opts.rate),
            done: false,
            length,
            frames: 0,
        })
    }

    /// The engine, for tests that inspect it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, for a stem render that drains its stems.
    pub(crate) fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Renders the next block; returns `None` once the song and its tail are over. The slices are
    /// valid until the next call.
    pub fn next_block(&mut self) -> Option<(&[f32], &[f32])> {
        if self.done {
            return None;
        }
        // Blocks end where the engine's spans do (see `Engine::aligned_block`): the first one
        // short by the limiter's look-ahead, the others whole.
        let n = self.engine.aligned_block(BLOCK_FRAMES);
        let (left, right) = (&mut self.left[..n], &mut self.right[..n]);
        engine::rt::process_block(&mut self.engine, left, right);
        let mut end = n;
        if !self.engine.is_playing() {
            // Tail: stop once the output has stayed under −100 dBFS for 200 ms, or after 10 s.
            let seq_end = self.length.frames;
            for i in 0..n {
                let pos = self.frames + i as u64;
                if pos >= seq_end && self.tail.frame(self.left[i], self.right[i]) {
                    // Keep the song and its tail; cut the trailing silence back to 200 ms.
                    end = i + 1;
                    self.done = true;
                    break;
                }
            }
        }
        self.frames += end as u64;
        Some((&self.left[..end], &self.right[..end]))
    }

    /// Rough total frames expected (song plus a short tail), for progress bars.
    pub fn estimated_frames(&self) -> u64 {
        self.length.frames + (self.engine.rate() as u64) / 2
    }
}

/// Renders a song into memory: `(left, right)` at `opts.rate`. For tests and tools.
pub fn render_to_vec(
    song: &Song,
    opts: RenderOptions,
) -> Result<(Vec<f32>, Vec<f32>), RenderError> {
    let mut r = Renderer::new(song, opts)?;
    let (mut l, mut rr) = (Vec::new(), Vec::new());
    while let Some((a, b)) = r.next_block() {
        l.extend_from_slice(a);
        rr.extend_from_slice(b);
    }
    Ok((l, rr))
}

/// TPDF dither for 16-bit output: the sum of two uniform values, ±1 LSB peak.
pub struct Dither {
    rng: Rng,
}

impl Dither {
    /// A dither source with a fixed seed, so renders repeat byte for byte.
    pub fn new(seed: u64) -> Dither {
        Dither {
            rng: Rng::new(seed ^ 0xD17E_D17E),
        }
    }

    /// Quantises `x` (−1..=1) to a 16-bit integer with triangular dither.
    #[inline]
    pub fn to_i16(&mut self, x: f32) -> i16 {
        let noise = self.rng.unit() - self.rng.unit();
        (x * 32767.0 + noise).round().clamp(-32768.0, 32767.0) as i16
    }
}
/// Renders `song` into a WAV file at `path` (written atomically), without a mastering stage.
/// `progress(done, estimated_total)` is called after every block.
pub fn render_to_wav(
    song: &Song,
    path: &Path,
    opts: RenderOptions,
    fmt: SampleFormat,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RenderReport, RenderError> {
    render_mastered(song, path, opts, fmt, Mastering::default(), progress)
}

/// Renders `song` into a WAV file at `path` through the mastering stage `mastering` (see
/// [`master`]): with a loudness target, two measuring passes find the gain and a third writes.
/// The report always carries the loudness figures of the written audio.
pub fn render_mastered(
    song: &Song,
    path: &Path,
    opts: RenderOptions,
    fmt: SampleFormat,
    mastering: Mastering,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RenderReport, RenderError> {
    let ceiling = mastering.ceiling();
    let passes = if mastering.normalises() { 3 } else { 1 };
    let gain_db = find_gain(song, opts, mastering, progress)?;
    let pass_no = passes - 1;
    let mut sink = format::WavSink::create(path, opts.rate, fmt)?;
    let mut dither = Dither::new(song.seed);
    let r = run_pass(
        song,
        opts,
        (gain_db as f32, ceiling),
        Measure::Full,
        Some((&mut sink, &mut dither, fmt)),
        None,
        &mut |d, t| progress(pass_no * t + d, passes * t),
    )?;
    sink.finish()?;
    let mut loudness = r.loudness;
    loudness.gain_db = gain_db;
    Ok(RenderReport {
        frames: r.frames,
        rate: opts.rate,
        peak: r.peak,
        song_length: r.length,
        loudness,
    })
}

/// The mastering gain (dB) that brings the song to `mastering.loudness` through the limiter at the
/// ceiling: two measuring renders (as it is, then with the gain and limiter, to correct for what
/// limiting takes away). 0 without a loudness target or for silence. Progress counts these as
/// the first two of three passes.
pub fn find_gain(
    song: &Song,
    opts: RenderOptions,
    mastering: Mastering,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<f64, RenderError> {
    let Some(target) = mastering.loudness else {
        return Ok(0.0);
    };
    let (target, ceiling) = (target as f64, mastering.ceiling());
    let mut gain_db = 0.0f64;
    for pass in 0..2u64 {
        let r = run_pass(
            song,
            opts,
            (gain_db as f32, ceiling),
            Measure::Integrated,
            None,
            None,
            &mut |d, t| progress(pass * t + d, 3 * t),
        )?;
        match r.loudness.integrated_lufs {
            Some(l) => gain_db = (gain_db + target - l).clamp(-60.0, 60.0),
            // Silence (below the gate): nothing to normalise.
            None => break,
        }
    }
    Ok(gain_db)
}

/// Writes a block to a sink; for 16-bit output it dithers first (into the scratch `dl`/`dr`,
/// block by block): the sink's rounding of k / 32767 × 32767 gives back exactly k.
pub(crate) fn write_dithered(
    sink: &mut format::WavSink,
    l: &[f32],
    r: &[f32],
    fmt: SampleFormat,
    dither: &mut Dither,
    dl: &mut [f32],
    dr: &mut [f32],
) -> Result<(), format::WavError> {
    if fmt != SampleFormat::S16 {
        return sink.write_block(l, r);
    }
    for off in (0..l.len()).step_by(dl.len().max(1)) {
        let n = (l.len() - off).min(dl.len());
        for i in 0..n {
            dl[i] = dither.to_i16(l[off + i]) as f32 / 32767.0;
            dr[i] = dither.to_i16(r[off + i]) as f32 / 32767.0;
        }
        sink.write_block(&dl[..n], &dr[..n])?;
    }
    Ok(())
}

/// What a pass hands a stem render along the way. The engine keeps the stems of what it renders
/// (see [`Engine::enable_stems`]); the tap drains them.
pub(crate) trait StemTap {
    /// Stem capacity the engine needs between drains, in frames.
    fn capacity(&self) -> usize;
    /// A block of `frames` frames went through the pass: from the engine, or silence pushed after
    /// the song's end. `engine_done`: the engine renders no more (its stems may then be short, or
    /// long when the song's last block was cut).
    fn block(&mut self, engine: &mut Engine, frames: usize, engine_done: bool);
    /// The master output's next block (`l`, `r`), after which it holds `frames` frames.
    fn master_at(&mut self, engine: &mut Engine, l: &[f32], r: &[f32], frames: u64);
    /// The pass is over: the master holds `frames` frames.
    fn end(&mut self, engine: &mut Engine, frames: u64);
}

pub(crate) struct Pass {
    frames: u64,
    peak: f32,
    length: SongLength,
    loudness: LoudnessReport,
}

pub(crate) type SinkParts<'a> = (&'a mut format::WavSink, &'a mut Dither, SampleFormat);

/// One render of the song through the mastering stage (gain in dB, limiter ceiling), measured,
/// optionally written, optionally tapped for stems.
pub(crate) fn run_pass(
    song: &Song,
    opts: RenderOptions,
    (gain_db, ceiling): (f32, Option<f32>),
    measure: Measure,
    mut sink: Option<SinkParts<'_>>,
    mut tap: Option<&mut dyn StemTap>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Pass, RenderError> {
    let mut r = if let Some(t) = tap.as_deref() {
        Renderer::with_stems(song, opts, t.capacity())?
    } else {
        Renderer::new(song, opts)?
    };
    let mut fin = (gain_db != 0.0 || ceiling.is_some())
        .then(|| master::Finisher::new(opts.rate, gain_db, ceiling));
    let mut analyzer = master::Analyzer::start(opts.rate, measure);
    let total = r.estimated_frames();
    let (mut bl, mut br) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let (mut dl, mut dr) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut frames = 0u64;
    let mut tail = fin.as_ref().map_or(0, |f| f.tail_frames());
    // The file's disk writes start during the render, so that its final sync has little left
    // to wait for (about 10 ms of a 50 s song's render otherwise).
    let mut pusher = sink
        .as_mut()
        .map(|(s, ..)| push::Pusher::start(std::slice::from_mut(*s)));
    // Measures a finished block and writes it to the file (starting its disk writes).
    let mut deliver = |l: &[f32], rr: &[f32]| -> Result<(), RenderError> {
        analyzer.push(l, rr);
        if let Some((sink, dither, fmt)) = &mut sink {
            write_dithered(sink, l, rr, *fmt, dither, &mut dl, &mut dr)?;
            if let Some(p) = &mut pusher {
                p.written(std::slice::from_ref(*sink));
            }
        }
        Ok(())
    };
    // A plain render (no gain, no limiter, no stems) delivers the engine's blocks where they
    // are; the loop after it copies them first, for the finisher to work on.
    while fin.is_none() && tap.is_none() {
        let Some((l, rr)) = r.next_block() else { break };
        deliver(l, rr)?;
        frames += l.len() as u64;
        progress(frames, total.max(frames));
    }
    while fin.is_some() || tap.is_some() {
        let n = match r.next_block() {
            Some((l, rr)) => {
                bl[..l.len()].copy_from_slice(l);
                br[..l.len()].copy_from_slice(rr);
                l.len()
            }
            None if tail > 0 => {
                // Push the limiter's look-ahead out with silence.
                let n = tail.min(BLOCK_FRAMES);
                tail -= n;
                bl[..n].fill(0.0);
                br[..n].fill(0.0);
                n
            }
            None => break,
        };
        if let Some(t) = tap.as_deref_mut() {
            let engine_done = r.done;
            t.block(r.engine_mut(), n, engine_done);
        }
        let start = match &mut fin {
            Some(f) => f.process(&mut bl[..n], &mut br[..n]),
            None => 0,
        };
        let (l, rr) = (&bl[start..n], &br[start..n]);
        if l.is_empty() {
            continue;
        }
        deliver(l, rr)?;
        frames += l.len() as u64;
        if let Some(t) = tap.as_deref_mut() {
            t.master_at(r.engine_mut(), l, rr, frames);
        }
        progress(frames, total.max(frames));
    }
    if let Some(t) = tap {
        t.end(r.engine_mut(), frames);
    }
    if let Some(p) = pusher {
        p.finish();
    }
    // The meter's sample peak: the same blocks, the same maximum.
    let peak = analyzer.sample_peak();
    let mut loudness = analyzer.finish();
    loudness.limiter_db = fin.as_ref().map_or(0.0, |f| f.reduction_db as f64);
    Ok(Pass {
        frames,
        peak,
        length: r.length,
        loudness,
    })
}
