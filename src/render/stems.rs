//! Stem renders: one pass through the engine writes a WAV per track, one per send-bus return, the
//! mix before the master chain (`mix.wav`) and the mastered output (`master.wav`). Every file has
//! the same length and starts at time zero; the track and return stems sum to `mix.wav` (they are
//! the very signals the engine adds up, copied before the master chain).
//!
//! File names: `NN-Name.wav` for track NN (1-based, the name made file-safe); a track in group G
//! goes into the subfolder `GG-Name/` and the group's bus is `GG-Name.wav`; then
//! `return-reverb.wav`, `return-delay.wav`, `mix.wav` and `master.wav`. The files at the top of
//! the folder other than `mix.wav` and `master.wav` (ungrouped tracks, groups, returns) sum to
//! `mix.wav`. Tracks that never sound still get a (silent) file, so a set of stems always lines up
//! with the song's tracks.

use super::master::Measure;
use super::push::Pusher;
use super::{BLOCK_FRAMES, Dither, RenderError, RenderOptions, SampleFormat};
use crate::engine::Engine;
use crate::engine::mixer::{STEM_DELAY, STEM_GROUP, STEM_MIX, STEM_REVERB};
use crate::format::{self, WavSink};
use crate::model::Song;
use std::path::{Path, PathBuf};

/// What a stem render wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct StemsReport {
    /// Every file written, in order: tracks, returns, mix, master.
    pub files: Vec<PathBuf>,
    /// Frames in every file.
    pub frames: u64,
    /// Output rate.
    pub rate: u32,
    /// Loudness of `master.wav`.
    pub loudness: super::LoudnessReport,
}

/// A file-safe version of a track name: letters, digits, `-` and `_`; others become `_`.
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .take(48)
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "track".into() } else { s }
}

/// The stem files of `song` as (path relative to the stem folder, engine stem index), in the
/// order they are written: tracks (those in a group inside the group's subfolder), groups, the
/// returns, `mix.wav`; `master.wav` comes last and has no stem index (`usize::MAX`).
pub fn stem_files(song: &Song) -> Vec<(String, usize)> {
    let group_dir = |g: usize| format!("G{}-{}", g + 1, file_safe(&song.groups[g].name));
    let mut v: Vec<(String, usize)> = song
        .tracks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let file = format!("{:02}-{}.wav", i + 1, file_safe(&t.name));
            match t.group {
                Some(g) if (g as usize) < song.groups.len() => {
                    (format!("{}/{file}", group_dir(g as usize)), i)
                }
                _ => (file, i),
            }
        })
        .collect();
    v.extend((0..song.groups.len()).map(|g| (format!("{}.wav", group_dir(g)), STEM_GROUP + g)));
    v.extend([
        ("return-reverb.wav".to_string(), STEM_REVERB),
        ("return-delay.wav".to_string(), STEM_DELAY),
        ("mix.wav".to_string(), STEM_MIX),
        ("master.wav".to_string(), usize::MAX),
    ]);
    v
}

/// The stem file names of `song` (see [`stem_files`]).
pub fn stem_names(song: &Song) -> Vec<String> {
    stem_files(song).into_iter().map(|(n, _)| n).collect()
}

/// Renders the stems of `song` into `dir` (created if missing), in one pass through the engine:
/// the pass of a plain render (`run_pass`, with `master.wav` as its file and the mastering
/// stage of [`super::render_mastered`]), tapped for every stem.
pub fn render_stems(
    song: &Song,
    dir: &Path,
    opts: RenderOptions,
    fmt: SampleFormat,
    mastering: super::Mastering,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StemsReport, RenderError> {
    let folder = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|error| RenderError::Folder {
            path: path.to_path_buf(),
            error,
        })
    };
    folder(dir)?;
    let gain_db = super::find_gain(song, opts, mastering, progress)?;
    let passes = if mastering.normalises() { 3 } else { 1 };
    let files = stem_files(song);
    let paths: Vec<PathBuf> = files.iter().map(|(n, _)| dir.join(n)).collect();
    for p in &paths {
        if let Some(parent) = p.parent() {
            folder(parent)?;
        }
    }
    let dither_for = |i: usize| Dither::new(song.seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
    let master = paths.len() - 1;
    // Every file, `master.wav` last, is written by the writer thread.
    let sinks = paths
        .iter()
        .map(|p| WavSink::create(p, opts.rate, fmt))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tap = Tap {
        sources: files[..master].iter().map(|f| f.1).collect(),
        writer: Writer::start(sinks, (0..=master).map(dither_for).collect(), fmt),
        master: (Vec::with_capacity(CAPACITY), Vec::with_capacity(CAPACITY)),
        kept: 0,
        written: 0,
        dropped: 0,
    };
    let pass = super::run_pass(
        song,
        opts,
        (gain_db as f32, mastering.ceiling()),
        Measure::Full,
        None,
        Some(&mut tap),
        &mut |d, t| progress((passes - 1) * t + d, passes * t),
    )?;
    let sinks = tap.finish(pass.frames)?;
    // Each file is flushed to disk and renamed into place; the flushes wait on the disk, so they
    // run side by side.
    std::thread::scope(|scope| {
        let jobs: Vec<_> = sinks
            .into_iter()
            .map(|s| scope.spawn(|| s.finish()))
            .collect();
        jobs.into_iter()
            .map(|j| j.join().unwrap_or_else(|_| Err(writer_failed())))
            .collect::<Result<Vec<()>, _>>()
    })?;
    let mut loudness = pass.loudness;
    loudness.gain_db = gain_db;
    Ok(StemsReport {
        files: paths,
        frames: pass.frames,
        rate: opts.rate,
        loudness,
    })
}

/// Frames of every stem the tap collects before handing them to the writer together: one
/// message (and one wake-up of the writer) per 170 ms of audio at 48 kHz instead of one per stem
/// and block.
const BATCH_FRAMES: usize = 8192;

/// Frames the engine keeps of every stem between two drains: a batch, what the master output
/// lags behind the engine (the mastering stage's look-ahead, under 2 000 frames) and a block.
const CAPACITY: usize = BATCH_FRAMES + 4 * BLOCK_FRAMES;

/// The stems' side of a pass. The engine appends every stem of what it renders to its own
/// buffers; the master output lags the engine by the mastering stage's look-ahead, so the tap
/// hands the writer those buffers only as far as the master has come (every file starts at time
/// zero), swapping in fresh ones that take the frames past it. The samples are copied once on
/// their way from the mixer to the writer.
struct Tap {
    /// Engine stem index of each file but `master.wav`.
    sources: Vec<usize>,
    writer: Writer,
    /// The master output not yet handed to the writer.
    master: (Vec<f32>, Vec<f32>),
    /// Frames of every stem kept so far (the engine's buffers hold those not yet written).
    kept: u64,
    /// Frames of every stem handed to the writer.
    written: u64,
    /// Frames the engine had no room for (see `StemStore::dropped`).
    dropped: u64,
}

impl super::StemTap for Tap {
    fn capacity(&self) -> usize {
        CAPACITY
    }

    fn block(&mut self, engine: &mut Engine, frames: usize, engine_done: bool) {
        // The engine's stems hold what it mixed: the frames not yet handed over, this block's and
        // the rest of its current chunk (`stems_ahead`). Once it is done they are cut (or padded
        // with silence) to exactly the pass's frames: the song's last block may have been cut, and
        // the silence pushed after the end has no stems.
        let ahead = engine.stems_ahead();
        let Some(store) = engine.stems_mut() else {
            return;
        };
        let len = (self.kept - self.written) as usize + frames;
        for &s in &self.sources {
            if let Some((l, r)) = store.bufs.get_mut(s) {
                if engine_done {
                    l.resize(len, 0.0);
                    r.resize(len, 0.0);
                } else if l.len() < len + ahead {
                    // Never in a correct pass (`finish` reports the frames dropped).
                    l.resize(len + ahead, 0.0);
                    r.resize(len + ahead, 0.0);
                }
            }
        }
        self.kept += frames as u64;
    }

    fn master_at(&mut self, engine: &mut Engine, l: &[f32], r: &[f32], frames: u64) {
        self.master.0.extend_from_slice(l);
        self.master.1.extend_from_slice(r);
        if frames - self.written >= BATCH_FRAMES as u64 {
            self.send(engine, frames);
        }
    }

    fn end(&mut self, engine: &mut Engine, frames: u64) {
        self.send(engine, frames);
        if let Some(store) = engine.stems_mut() {
            self.dropped = store.dropped;
        }
    }
}

impl Tap {
    /// Hands the writer every stem up to the master's `frames` (at most what is kept).
    fn send(&mut self, engine: &mut Engine, frames: u64) {
        let Some(store) = engine.stems_mut() else {
            return;
        };
        let take = (frames.min(self.kept) - self.written) as usize;
        if take == 0 {
            return;
        }
        // The engine's buffers themselves go to the writer; the few frames past the master (the
        // look-ahead) move to fresh buffers, which come back from the writer for reuse.
        let mut batch = self.writer.spare(self.sources.len() + 1);
        // The master's frames all go (the stems lag it), in the batch's last place.
        if let Some(b) = batch.last_mut() {
            for (mc, bc) in [
                (&mut self.master.0, &mut b.0),
                (&mut self.master.1, &mut b.1),
            ] {
                bc.clear();
                bc.reserve(CAPACITY);
                std::mem::swap(mc, bc);
            }
        }
        for (&s, b) in self.sources.iter().zip(batch.iter_mut()) {
            let Some(p) = store.bufs.get_mut(s) else {
                continue;
            };
            for (pc, bc) in [(&mut p.0, &mut b.0), (&mut p.1, &mut b.1)] {
                bc.clear();
                bc.reserve(CAPACITY);
                bc.extend_from_slice(&pc[take..]);
                pc.truncate(take);
                std::mem::swap(pc, bc);
            }
        }
        self.writer.send(batch);
        self.written += take as u64;
    }

    /// Writes the stems up to the master's `frames` (padding with silence should the engine's side
    /// be short) and returns the sinks once the writer is done.
    fn finish(self, frames: u64) -> Result<Vec<WavSink>, format::WavError> {
        let short = frames.saturating_sub(self.written) as usize;
        let mut writer = self.writer;
        if short > 0 {
            // Stems short of the master (never in a correct pass): silence, master untouched.
            let mut batch = writer.spare(self.sources.len() + 1);
            for (k, b) in batch.iter_mut().enumerate() {
                let len = if k < self.sources.len() { short } else { 0 };
                for c in [&mut b.0, &mut b.1] {
                    c.clear();
                    c.resize(len, 0.0);
                }
            }
            writer.send(batch);
        }
        let sinks = writer.finish()?;
        if self.dropped > 0 {
            return Err(format::WavError::Io {
                name: "the stems".into(),
                error: std::io::Error::other(format!(
                    "{} frames did not fit the engine's stem buffers",
                    self.dropped
                )),
            });
        }
        Ok(sinks)
    }
}

fn writer_failed() -> format::WavError {
    format::WavError::Io {
        name: "the stems".into(),
        error: std::io::Error::other("the thread writing them stopped"),
    }
}

/// The frames of every stem, in stem order, all equally long.
type Batch = Vec<(Vec<f32>, Vec<f32>)>;

/// The stem files' writer: converts and writes batches on its own thread, so that the engine's
/// thread only renders (writing a dozen files costs more than rendering them).
struct Writer {
    tx: Option<std::sync::mpsc::SyncSender<Batch>>,
    spare: std::sync::mpsc::Receiver<Batch>,
    handle: Option<std::thread::JoinHandle<Result<Vec<WavSink>, format::WavError>>>,
}

impl Writer {
    fn start(mut sinks: Vec<WavSink>, mut dither: Vec<Dither>, fmt: SampleFormat) -> Writer {
        // Two batches queued (about 0.7 MB each for a dozen stems) keep the engine from waiting
        // on the writer's moments in the kernel.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let (back, spare) = std::sync::mpsc::sync_channel(4);
        let mut pusher = Pusher::start(&mut sinks);
        let handle = std::thread::Builder::new()
            .name("ttrack-stems".into())
            .spawn(move || {
                let (mut dl, mut dr) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
                while let Ok(batch) = rx.recv() {
                    for ((sink, d), (l, r)) in sinks.iter_mut().zip(&mut dither).zip(&batch) {
                        super::write_dithered(sink, l, r, fmt, d, &mut dl, &mut dr)?;
                    }
                    let _ = back.try_send(batch);
                    pusher.written(&sinks);
                }
                pusher.finish();
                Ok(sinks)
            })
            .ok();
        Writer {
            tx: Some(tx),
            spare,
            handle,
        }
    }

    /// A batch of `stems` buffers to fill: one the writer is done with, or a new one.
    fn spare(&mut self, stems: usize) -> Batch {
        let mut b = self.spare.try_recv().unwrap_or_default();
        b.resize_with(stems, Default::default);
        b
    }

    /// Queues a batch; a failed writer is noticed at [`Writer::finish`].
    fn send(&mut self, batch: Batch) {
        let Some(tx) = &self.tx else { return };
        if tx.send(batch).is_err() {
            self.tx = None;
        }
    }

    /// Waits for every batch to be written; returns the sinks, or the first write error.
    fn finish(mut self) -> Result<Vec<WavSink>, format::WavError> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_else(|_| Err(writer_failed())),
            None => Err(writer_failed()),
        }
    }
}
