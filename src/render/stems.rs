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

use super::master::{Finisher, Measure};
use super::{BLOCK_FRAMES, Dither, RenderError, RenderOptions, SampleFormat};
use crate::engine::mixer::{STEM_DELAY, STEM_GROUP, STEM_MIX, STEM_REVERB};
use crate::engine::{self, Engine, EngineSong, PlayRange};
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

/// Renders the stems of `song` into `dir` (created if missing). `gain_db` and `ceiling` are the
/// mastering stage of `master.wav` (see [`super::render_mastered`], which finds the gain).
pub fn render_stems(
    song: &Song,
    dir: &Path,
    opts: RenderOptions,
    fmt: SampleFormat,
    mastering: super::Mastering,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StemsReport, RenderError> {
    std::fs::create_dir_all(dir).map_err(|error| RenderError::Folder {
        path: dir.to_path_buf(),
        error,
    })?;
    let ceiling = mastering.ceiling();
    let gain_db = super::find_gain(song, opts, mastering, progress)?;
    // Checks the song and range the same way a plain render does.
    let probe = super::Renderer::new(song, opts)?;
    let length = probe.length;
    let total = probe.estimated_frames();
    drop(probe);
    let last = song.order.len() - 1;
    let es = Box::new(EngineSong::from_model(song, opts.rate));
    let range = PlayRange {
        from: opts.from.unwrap_or(0),
        to: opts.to.unwrap_or(last),
        looping: false,
    };
    let mut e = Engine::new(es);
    e.enable_stems(BLOCK_FRAMES);
    e.play(range);

    let files = stem_files(song);
    let paths: Vec<PathBuf> = files.iter().map(|(n, _)| dir.join(n)).collect();
    for p in &paths {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|error| RenderError::Folder {
                path: parent.to_path_buf(),
                error,
            })?;
        }
    }
    let sinks = paths
        .iter()
        .map(|p| WavSink::create(p, opts.rate, fmt))
        .collect::<Result<Vec<_>, _>>()?;
    let sources: Vec<usize> = files[..files.len() - 1].iter().map(|f| f.1).collect();
    let dither: Vec<Dither> = (0..paths.len())
        .map(|i| Dither::new(song.seed ^ (i as u64).wrapping_mul(0x9E37_79B9)))
        .collect();
    let master = paths.len() - 1;
    let mut writer = Writer::start(sinks, dither, fmt);
    let mut written = vec![0u64; paths.len()];
    let mut fin = (gain_db != 0.0 || ceiling.is_some())
        .then(|| Finisher::new(opts.rate, gain_db as f32, ceiling));
    let fin_latency = fin.as_ref().map_or(0, |f| f.tail_frames());
    let mut analyzer = super::master::Analyzer::start(opts.rate, Measure::Full);
    // The stems lead the master output by the latency of the mastering stage (the engine
    // pre-rolls its own look-ahead at play start): they wait in `pending` and are written only as far as the master has come, so every
    // file starts at time zero.
    let mut pending: Vec<(Vec<f32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); sources.len()];
    let mut tail = engine::tail::TailDetector::new(opts.rate);
    let (mut l, mut r) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut processed = 0u64; // frames out of the engine
    let mut master_frames = 0u64; // frames written to master.wav
    let mut done = false;
    let mut flush = fin_latency;
    while !done || flush > 0 {
        let n;
        if !done {
            engine::rt::process_block(&mut e, &mut l, &mut r);
            n = BLOCK_FRAMES;
            for (k, &src) in sources.iter().enumerate() {
                if let Some((a, b)) = e.stem(src, n) {
                    pending[k].0.extend_from_slice(a);
                    pending[k].1.extend_from_slice(b);
                }
            }
            processed += n as u64;
        } else {
            // Push the mastering limiter's look-ahead out with silence.
            n = flush.min(BLOCK_FRAMES);
            flush -= n;
            l[..n].fill(0.0);
            r[..n].fill(0.0);
            for p in pending.iter_mut() {
                p.0.extend(std::iter::repeat_n(0.0, n));
                p.1.extend(std::iter::repeat_n(0.0, n));
            }
        }
        // Master: drop the engine's look-ahead, find the end of the song and its tail.
        let mut start = 0;
        let mut end = n;
        if !done && !e.is_playing() {
            for i in start..n {
                let pos = processed - (n - i) as u64;
                if pos >= length.frames && tail.frame(l[i], r[i]) {
                    end = i + 1;
                    done = true;
                    break;
                }
            }
        }
        if end <= start {
            continue;
        }
        let fstart = match &mut fin {
            Some(f) => f.process(&mut l[start..end], &mut r[start..end]),
            None => 0,
        };
        start += fstart;
        let (ml, mr) = (&l[start..end], &r[start..end]);
        if ml.is_empty() {
            continue;
        }
        analyzer.push(ml, mr);
        writer.send(master, ml, mr);
        master_frames += ml.len() as u64;
        written[master] = master_frames;
        // Stems: write as many frames as the master has, from time zero.
        for (k, p) in pending.iter_mut().enumerate() {
            let avail = p.0.len();
            let want = (master_frames - written[k]) as usize;
            let take = want.min(avail);
            for chunk in (0..take).step_by(BLOCK_FRAMES) {
                let to = (chunk + BLOCK_FRAMES).min(take);
                writer.send(k, &p.0[chunk..to], &p.1[chunk..to]);
            }
            written[k] += take as u64;
            p.0.drain(..take);
            p.1.drain(..take);
        }
        progress(master_frames, total.max(master_frames));
    }
    // Every stem as long as the master.
    for (k, &done_k) in written.iter().enumerate().take(sources.len()) {
        let mut short = master_frames.saturating_sub(done_k) as usize;
        let z = vec![0.0f32; BLOCK_FRAMES];
        while short > 0 {
            let n = short.min(BLOCK_FRAMES);
            writer.send(k, &z[..n], &z[..n]);
            short -= n;
        }
    }
    let sinks = writer.finish()?;
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
    let mut loudness = analyzer.finish().map_err(RenderError::Loudness)?;
    loudness.gain_db = gain_db;
    loudness.limiter_db = fin.as_ref().map_or(0.0, |f| f.reduction_db as f64);
    Ok(StemsReport {
        files: paths,
        frames: master_frames,
        rate: opts.rate,
        loudness,
    })
}

fn writer_failed() -> format::WavError {
    format::WavError::Io {
        name: "the stems".into(),
        error: std::io::Error::other("the thread writing them stopped"),
    }
}

type StemBlock = (usize, Vec<f32>, Vec<f32>);

/// The stem files' writer: converts and writes blocks on its own thread, so that the engine's
/// thread only renders (writing a dozen files costs more than rendering them).
struct Writer {
    tx: Option<std::sync::mpsc::SyncSender<StemBlock>>,
    spare: std::sync::mpsc::Receiver<(Vec<f32>, Vec<f32>)>,
    handle: Option<std::thread::JoinHandle<Result<Vec<WavSink>, format::WavError>>>,
}

impl Writer {
    fn start(mut sinks: Vec<WavSink>, mut dither: Vec<Dither>, fmt: SampleFormat) -> Writer {
        let (tx, rx) = std::sync::mpsc::sync_channel::<StemBlock>(256);
        let (back, spare) = std::sync::mpsc::sync_channel(512);
        let handle = std::thread::Builder::new()
            .name("ttrack-stems".into())
            .spawn(move || {
                let (mut dl, mut dr) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
                while let Ok((k, l, r)) = rx.recv() {
                    write(
                        sinks.get_mut(k),
                        &l,
                        &r,
                        fmt,
                        dither.get_mut(k),
                        &mut dl,
                        &mut dr,
                    )?;
                    let _ = back.try_send((l, r));
                }
                Ok(sinks)
            })
            .ok();
        Writer {
            tx: Some(tx),
            spare,
            handle,
        }
    }

    /// Queues a block for stem `k` (copied); a failed writer is noticed at [`Writer::finish`].
    fn send(&mut self, k: usize, l: &[f32], r: &[f32]) {
        let Some(tx) = &self.tx else { return };
        let (mut bl, mut br) = self.spare.try_recv().unwrap_or_default();
        bl.clear();
        br.clear();
        bl.extend_from_slice(l);
        br.extend_from_slice(r);
        if tx.send((k, bl, br)).is_err() {
            self.tx = None;
        }
    }

    /// Waits for every block to be written; returns the sinks, or the first write error.
    fn finish(mut self) -> Result<Vec<WavSink>, format::WavError> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_else(|_| Err(writer_failed())),
            None => Err(writer_failed()),
        }
    }
}

/// Writes a block to a sink, dithering to 16 bits when the format asks for it.
fn write(
    sink: Option<&mut WavSink>,
    l: &[f32],
    r: &[f32],
    fmt: SampleFormat,
    dither: Option<&mut Dither>,
    dl: &mut [f32],
    dr: &mut [f32],
) -> Result<(), format::WavError> {
    let Some(sink) = sink else { return Ok(()) };
    match (fmt, dither) {
        (SampleFormat::S16, Some(d)) => {
            for off in (0..l.len()).step_by(dl.len()) {
                let n = (l.len() - off).min(dl.len());
                for i in 0..n {
                    dl[i] = d.to_i16(l[off + i]) as f32 / 32767.0;
                    dr[i] = d.to_i16(r[off + i]) as f32 / 32767.0;
                }
                sink.write_block(&dl[..n], &dr[..n])?;
            }
        }
        _ => sink.write_block(l, r)?,
    }
    Ok(())
}
