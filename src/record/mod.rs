//! Audio recording to disk (layer 3, DESIGN.md §1): the disk-writer thread that drains an input
//! ring ([`crate::audio::InputSource`], cpal or JACK) into a WAV take in the song's recordings
//! folder `NAME.rec/`, keeping the file valid on disk while it grows, and the repair of takes
//! whose writer was killed.
//!
//! ```text
//! input callback ═ring═► Recorder thread ─► NAME.rec/take-NNN.wav   (header sizes patched each
//!   (CaptureState: peaks, overruns)  │        flush, fdatasync every 0.5 s)
//!                                     └► RecorderStatus (frames, failed) ─► UI
//! ```
//!
//! Use: [`repair_takes`] on the song's [`recordings_dir`] at start; [`Recorder::start`] with an
//! input source when recording starts; poll [`Recorder::status`] and the source's
//! [`CaptureState`](crate::audio::CaptureState) for the meters; [`Recorder::stop`] when it ends,
//! which returns the [`TakeSummary`] and the source for the next take. The thread writes the ring
//! into the file every 50 ms, updates the header every [`RecordOptions::flush_interval`] (0.25 s)
//! and syncs every [`RecordOptions::sync_interval`] (0.5 s): after kill -9 the header covers all
//! but the last 0.25 s and the repair recovers the rest that reached the file; after a power loss
//! at most the last 0.5 s is lost.

pub mod repair;
pub mod writer;

pub use repair::{RepairReport, RepairedTake, repair_take, repair_takes};
pub use writer::{TakeFormat, TakeWriter, WriteStop};

use crate::audio::{ChannelSelect, InputSource};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why recording failed. Each reads as a sentence; what was written before stays a valid WAV.
#[derive(Debug, Error)]
pub enum RecordError {
    /// The recordings folder cannot be created or read.
    #[error("cannot use the recordings folder {}", dir.display())]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The take file cannot be created.
    #[error("cannot create the take {}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The disk filled up while recording.
    #[error(
        "the disk is full: recording stopped; {} keeps the {seconds:.1} s recorded before",
        path.display()
    )]
    DiskFull {
        /// The take.
        path: PathBuf,
        /// Seconds kept in it.
        seconds: f64,
    },
    /// Any other write error.
    #[error(
        "cannot write {}: recording stopped; it keeps the {seconds:.1} s recorded before",
        path.display()
    )]
    Write {
        /// The take.
        path: PathBuf,
        /// Seconds kept in it.
        seconds: f64,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The take reached the largest size a WAV file can have.
    #[error(
        "{} reached the 4 GiB a WAV file can hold: recording stopped after {seconds:.1} s",
        path.display()
    )]
    SizeLimit {
        /// The take.
        path: PathBuf,
        /// Seconds kept in it.
        seconds: f64,
    },
    /// The writer thread could not start or died.
    #[error("the disk writer thread failed")]
    Thread(#[source] io::Error),
}

/// The recordings folder of a song: `NAME.rec/` beside `NAME.ttrk` or `NAME.ttrk.toml`.
pub fn recordings_dir(song: &Path) -> PathBuf {
    let file = song
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| String::from("untitled"));
    let stem = file
        .strip_suffix(".ttrk.toml")
        .or_else(|| file.strip_suffix(".ttrk"))
        .map(str::to_string)
        .unwrap_or_else(|| {
            Path::new(&file)
                .file_stem()
                .map_or(file.clone(), |s| s.to_string_lossy().into_owned())
        });
    song.with_file_name(format!("{stem}.rec"))
}

/// The take number of `take-NNN.wav`.
fn take_number(name: &str) -> Option<u32> {
    name.strip_prefix("take-")?
        .strip_suffix(".wav")?
        .parse()
        .ok()
}

/// The next free take name in `dir`: `take-001.wav`, or one above the highest number there.
pub fn next_take_path(dir: &Path) -> Result<PathBuf, RecordError> {
    let folder = |source| RecordError::Folder {
        dir: dir.to_path_buf(),
        source,
    };
    let highest = std::fs::read_dir(dir)
        .map_err(folder)?
        .filter_map(|e| e.ok())
        .filter_map(|e| take_number(&e.file_name().to_string_lossy()))
        .max()
        .unwrap_or(0);
    Ok(dir.join(format!("take-{:03}.wav", highest + 1)))
}

/// How to record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordOptions {
    /// Sample format of the take.
    pub format: TakeFormat,
    /// Stop by itself after this many frames (exactly: capture stops at that frame).
    pub max_frames: Option<u64>,
    /// Longest time between two header updates (the RIFF and data sizes cover what was written;
    /// the ring is written into the file every 50 ms).
    pub flush_interval: Duration,
    /// Longest time between two `fdatasync`s.
    pub sync_interval: Duration,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            format: TakeFormat::S24,
            max_frames: None,
            flush_interval: Duration::from_millis(250),
            sync_interval: Duration::from_millis(500),
        }
    }
}

/// What the writer thread has done so far; atomics the UI reads any time.
#[derive(Debug, Default)]
pub struct RecorderStatus {
    frames_written: AtomicU64,
    /// Set once the writer ended (stopped, limit reached, or failed).
    done: AtomicBool,
    failed: AtomicBool,
    stop: AtomicBool,
}

impl RecorderStatus {
    /// Frames in the file so far.
    pub fn frames_written(&self) -> u64 {
        self.frames_written.load(Relaxed)
    }

    /// True once the writer has ended: [`Recorder::stop`] returns at once and says how.
    pub fn done(&self) -> bool {
        self.done.load(Relaxed)
    }

    /// True when the writer ended with an error (disk full...): [`Recorder::stop`] says which.
    pub fn failed(&self) -> bool {
        self.failed.load(Relaxed)
    }
}

/// A finished take.
#[derive(Clone, Debug, PartialEq)]
pub struct TakeSummary {
    /// The WAV file.
    pub path: PathBuf,
    /// Frames in it.
    pub frames: u64,
    /// Sample rate in Hz.
    pub rate: u32,
    /// Channels (1 or 2).
    pub channels: u16,
    /// Which device channels they are.
    pub select: ChannelSelect,
    /// Sample format.
    pub format: TakeFormat,
    /// Input callbacks whose frames were lost to a full ring while recording.
    pub overruns: u64,
    /// Frames lost in them.
    pub dropped_frames: u64,
    /// Frames of silence written where frames were lost, so the take stays in time (equal to
    /// `dropped_frames` unless more than [`crate::audio::input::GAP_SLOTS`] gaps piled up or the
    /// device did not say how much it lost).
    pub silenced_frames: u64,
    /// The input device.
    pub device: String,
}

impl TakeSummary {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.rate.max(1))
    }
}

/// What the writer thread hands back: the source (to record again) and how the take ended.
type Finished = (Box<dyn InputSource>, Result<TakeSummary, RecordError>);

/// A take being recorded: the disk-writer thread and its status.
pub struct Recorder {
    path: PathBuf,
    status: Arc<RecorderStatus>,
    thread: JoinHandle<Finished>,
}

impl Recorder {
    /// Creates the next take in `dir` (creating the folder), starts the input's capture and the
    /// writer thread. The ring's stale contents (input from before the start) are dropped first.
    pub fn start(
        mut source: Box<dyn InputSource>,
        dir: &Path,
        opts: RecordOptions,
    ) -> Result<Recorder, (Box<dyn InputSource>, RecordError)> {
        if let Err(source_err) = std::fs::create_dir_all(dir) {
            let e = RecordError::Folder {
                dir: dir.to_path_buf(),
                source: source_err,
            };
            return Err((source, e));
        }
        // Never replace a take: if another writer took the name in between, take the next.
        let (writer, path) = loop {
            let path = match next_take_path(dir) {
                Ok(p) => p,
                Err(e) => return Err((source, e)),
            };
            match TakeWriter::create(&path, source.rate(), source.channels(), opts.format) {
                Ok(w) => break (w, path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err((source, RecordError::Create { path, source: e })),
            }
        };
        source.state().stop();
        let mut stale = vec![0.0f32; 4096];
        while source.read(&mut stale) > 0 {}
        let state = source.state().clone();
        let (overruns0, dropped0) = (state.overruns(), state.dropped_frames());
        state.start(opts.max_frames);
        let status = Arc::new(RecorderStatus::default());
        let st = status.clone();
        let spawned = std::thread::Builder::new()
            .name(String::from("ttrack-disk-writer"))
            .spawn(move || {
                let result = write_loop(&mut *source, writer, &st, opts, (overruns0, dropped0));
                source.state().stop();
                st.failed.store(result.is_err(), Relaxed);
                st.done.store(true, Relaxed);
                (source, result)
            });
        match spawned {
            Ok(thread) => Ok(Recorder {
                path,
                status,
                thread,
            }),
            Err(e) => {
                // The source moved into the closure that never ran; the caller opens it again.
                state.stop();
                Err((
                    Box::new(Orphan {
                        state,
                        select: ChannelSelect::Mono(0),
                    }),
                    RecordError::Thread(e),
                ))
            }
        }
    }

    /// The take's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames written, whether it ended or failed.
    pub fn status(&self) -> &Arc<RecorderStatus> {
        &self.status
    }

    /// Stops capturing, writes what is left in the ring, the final header, fsyncs and closes.
    /// Returns the input source (to record the next take) and the take or why it failed.
    pub fn stop(self) -> Finished {
        self.status.stop.store(true, Relaxed);
        self.thread.thread().unpark();
        match self.thread.join() {
            Ok(finished) => finished,
            Err(_) => (
                Box::new(Orphan {
                    state: Arc::new(crate::audio::CaptureState::new()),
                    select: ChannelSelect::Mono(0),
                }),
                Err(RecordError::Thread(io::Error::other(
                    "the disk writer panicked",
                ))),
            ),
        }
    }
}

/// Stands in for a source lost with a failed thread: delivers nothing.
struct Orphan {
    state: Arc<crate::audio::CaptureState>,
    select: ChannelSelect,
}

impl InputSource for Orphan {
    fn rate(&self) -> u32 {
        48_000
    }
    fn channels(&self) -> u16 {
        1
    }
    fn select(&self) -> ChannelSelect {
        self.select
    }
    fn state(&self) -> &Arc<crate::audio::CaptureState> {
        &self.state
    }
    fn read(&mut self, _: &mut [f32]) -> usize {
        0
    }
    fn available(&self) -> usize {
        0
    }
    fn device(&self) -> &str {
        "none (the disk writer failed)"
    }
}

/// Writes `frames` frames of silence of `ch` channels.
fn write_silence(writer: &mut TakeWriter, frames: u64, ch: usize) -> Result<(), WriteStop> {
    let silence = [0.0f32; 1024];
    let mut left = frames as usize * ch;
    while left > 0 {
        let k = left.min(silence.len() / ch * ch);
        writer.write(&silence[..k])?;
        left -= k;
    }
    Ok(())
}

/// The writer thread: drain, write, update the header every flush interval, sync every sync
/// interval; after a stop (or the frame limit), drain until the ring stays empty, then finish.
fn write_loop(
    source: &mut dyn InputSource,
    mut writer: TakeWriter,
    status: &RecorderStatus,
    opts: RecordOptions,
    (overruns0, dropped0): (u64, u64),
) -> Result<TakeSummary, RecordError> {
    let rate = source.rate();
    let channels = source.channels();
    let state = source.state().clone();
    // A quarter second per read; the ring holds at least 2 s.
    let mut buf = vec![0.0f32; (rate as usize / 4).max(256) * usize::from(channels)];
    let poll = Duration::from_millis(50);
    let mut last_sync = Instant::now();
    let mut last_header = Instant::now();
    let mut empty_polls = 0;
    let ch = usize::from(channels.max(1));
    // Frames read from the ring, and frames of silence written for overrun gaps.
    let (mut read, mut filled) = (0u64, 0u64);
    let seconds = |frames: u64| frames as f64 / f64::from(rate.max(1));
    let fail = |stop: WriteStop, writer: &TakeWriter| {
        let (path, secs) = (writer.path().to_path_buf(), seconds(writer.frames()));
        match stop {
            WriteStop::SizeLimit => RecordError::SizeLimit {
                path,
                seconds: secs,
            },
            WriteStop::Io(e) if e.raw_os_error() == Some(libc::ENOSPC) => RecordError::DiskFull {
                path,
                seconds: secs,
            },
            WriteStop::Io(e) => RecordError::Write {
                path,
                seconds: secs,
                source: e,
            },
        }
    };
    let io_fail = |e: io::Error, writer: &TakeWriter| fail(WriteStop::Io(e), writer);
    loop {
        let stopping = status.stop.load(Relaxed);
        if stopping {
            state.stop();
        }
        let mut got_any = false;
        loop {
            let n = source.read(&mut buf);
            if n == 0 {
                break;
            }
            got_any = true;
            let frames = (n / ch) as u64;
            // Frames lost to an overrun inside (or right after) what was read become silence of
            // the same length there, so the rest of the take stays in time with the song. The
            // gaps are looked at after the read: a gap is noted before the frames after it are
            // pushed, so every gap within these frames is visible now.
            let mut done = 0usize;
            while let Some((at, len)) = state.next_gap() {
                if at > read + frames {
                    break;
                }
                let upto = (at.saturating_sub(read) as usize).max(done);
                let written = writer
                    .write(&buf[done * ch..upto * ch])
                    .and_then(|()| write_silence(&mut writer, len, ch));
                if let Err(stop) = written {
                    state.stop();
                    return Err(fail(stop, &writer));
                }
                done = upto;
                filled += len;
                state.pop_gap();
            }
            read += frames;
            if let Err(stop) = writer.write(&buf[done * ch..n]) {
                state.stop();
                return Err(fail(stop, &writer));
            }
            status.frames_written.store(writer.frames(), Relaxed);
        }
        if last_header.elapsed() >= opts.flush_interval {
            writer.update_header().map_err(|e| io_fail(e, &writer))?;
            last_header = Instant::now();
        }
        if last_sync.elapsed() >= opts.sync_interval {
            writer.update_header().map_err(|e| io_fail(e, &writer))?;
            writer.sync().map_err(|e| io_fail(e, &writer))?;
            last_sync = Instant::now();
        }
        let limit_reached = opts
            .max_frames
            .is_some_and(|max| read + (state.dropped_frames() - dropped0) >= max);
        if stopping || limit_reached || !state.is_capturing() {
            // A callback may still be pushing its last period: wait until the ring stays empty.
            empty_polls = if got_any { 0 } else { empty_polls + 1 };
            if empty_polls >= 2 || limit_reached {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        std::thread::park_timeout(poll);
    }
    // Gaps noted at the very end (the last callbacks overran) are filled too.
    while let Some((at, len)) = state.next_gap() {
        if at > read {
            break;
        }
        write_silence(&mut writer, len, ch).map_err(|stop| fail(stop, &writer))?;
        filled += len;
        state.pop_gap();
    }
    let path = writer.path().to_path_buf();
    let kept = seconds(writer.frames());
    let frames = writer.finish().map_err(|e| RecordError::Write {
        path: path.clone(),
        seconds: kept,
        source: e,
    })?;
    status.frames_written.store(frames, Relaxed);
    Ok(TakeSummary {
        path,
        frames,
        rate,
        channels,
        select: source.select(),
        format: opts.format,
        overruns: state.overruns() - overruns0,
        dropped_frames: state.dropped_frames() - dropped0,
        silenced_frames: filled,
        device: source.device().to_string(),
    })
}

/// Test inputs.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An input whose "callback" is the test itself.
    pub(crate) struct Manual {
        pub(crate) ring: ringbuf::HeapCons<f32>,
        pub(crate) state: Arc<crate::audio::CaptureState>,
    }

    impl InputSource for Manual {
        fn rate(&self) -> u32 {
            48_000
        }
        fn channels(&self) -> u16 {
            1
        }
        fn select(&self) -> ChannelSelect {
            ChannelSelect::Mono(0)
        }
        fn state(&self) -> &Arc<crate::audio::CaptureState> {
            &self.state
        }
        fn read(&mut self, out: &mut [f32]) -> usize {
            use ringbuf::traits::Consumer;
            self.ring.pop_slice(out)
        }
        fn available(&self) -> usize {
            use ringbuf::traits::Observer;
            self.ring.occupied_len()
        }
        fn device(&self) -> &str {
            "manual"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recordings_folder_sits_beside_the_song() {
        assert_eq!(
            recordings_dir(Path::new("/m/song.ttrk")),
            Path::new("/m/song.rec")
        );
        assert_eq!(
            recordings_dir(Path::new("/m/a.b.ttrk.toml")),
            Path::new("/m/a.b.rec")
        );
        assert_eq!(recordings_dir(Path::new("x.wav")), Path::new("x.rec"));
    }

    #[test]
    fn frames_lost_to_overruns_become_silence_of_the_same_length_in_place() {
        use ringbuf::traits::{Producer, Split};
        let dir = tempfile::tempdir().unwrap();
        let (mut tx, rx) = ringbuf::HeapRb::<f32>::new(4096).split();
        let state = Arc::new(crate::audio::CaptureState::new());
        let source = testing::Manual {
            ring: rx,
            state: state.clone(),
        };
        let rec = Recorder::start(Box::new(source), dir.path(), RecordOptions::default())
            .map_err(|(_, e)| e)
            .unwrap();
        // 500 frames, 300 lost, 200 frames, 100 lost at the very end.
        assert_eq!(tx.push_slice(&[0.25; 500]), 500);
        state.captured(500, 1);
        state.overrun(300);
        assert_eq!(tx.push_slice(&[0.5; 200]), 200);
        state.captured(200, 1);
        state.overrun(100);
        std::thread::sleep(Duration::from_millis(120));
        state.stop();
        let (_, take) = rec.stop();
        let take = take.unwrap();
        assert_eq!(
            (
                take.frames,
                take.overruns,
                take.dropped_frames,
                take.silenced_frames
            ),
            (1100, 2, 400, 400)
        );
        let wav = crate::format::read_wav(&take.path).unwrap();
        let d = &wav.data;
        let near = |a: f32, b: f32| (a - b).abs() < 1e-4;
        assert!(d[..500].iter().all(|&v| near(v, 0.25)));
        assert!(d[500..800].iter().all(|&v| v == 0.0), "the gap is silent");
        assert!(
            d[800..1000].iter().all(|&v| near(v, 0.5)),
            "and in time after it"
        );
        assert!(d[1000..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn take_names_count_up_and_never_repeat() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            next_take_path(dir.path()).unwrap(),
            dir.path().join("take-001.wav")
        );
        std::fs::write(dir.path().join("take-007.wav"), b"").unwrap();
        std::fs::write(dir.path().join("take-x.wav"), b"").unwrap();
        assert_eq!(
            next_take_path(dir.path()).unwrap(),
            dir.path().join("take-008.wav")
        );
    }
}
