//! Recording audio in the UI: `Ctrl-R` arms the track under the cursor and records the input into
//! a take (`NAME.rec/take-NNN.wav`) while the song plays (after the count-in, if set); `Ctrl-R`
//! again or stopping playback (Space) ends it. The finished take becomes a sample instrument and a
//! note in the armed track where its first frame was heard, with the sub-row part in the delay
//! column, and a take in the takes list (`Alt-K`: audition, pick, rename, remove), all one undo
//! step.
//!
//! Placing the take: the input callback notes when the take's first frame reached the input
//! (its clock reading less the input latency the device reports, [`CaptureState`]; under JACK
//! also the cycle's frame time, which both the input and the engine's period share, so the
//! placement is exact whatever the scheduling); the engine places that moment in the song as
//! heard, taking off the output latency and its look-ahead ([`Command::Locate`]); the manual
//! offset (settings) is taken off as well. Frames before the
//! song started (count-in, or the moment before play began), and the part of a delay step before
//! the next one, are cut from the instrument's copy of the audio, so the note starts exactly
//! where the take's audio belongs; the take file keeps everything that came in.

use super::app::App;
use crate::audio::{CaptureState, InputOptions, InputSource};
use crate::engine::{Command, LocateReport, Located, Moment, SongPos};
use crate::model::takes::{FRACTION, Take, TakeEvent, TakeEventKind, take_cells};
use crate::model::{Instrument, InstrumentKind, Sampler};
use crate::record::{self, RecordOptions, TakeFormat, TakeSummary};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a stopped take waits for the engine to place it before it is kept unplaced.
const PLACE_TIMEOUT: Duration = Duration::from_secs(1);
/// Between two questions to the engine about the same take.
const ASK_EVERY: Duration = Duration::from_millis(40);

/// The audio recorder's settings, its input and the take being recorded.
pub struct AudioRecorder {
    /// The input while no take records (the disk writer holds it during a take).
    source: Option<Box<dyn InputSource>>,
    /// The input's meters and flags (kept while the writer holds the source).
    state: Option<Arc<CaptureState>>,
    /// The input device, for people.
    pub device: String,
    /// What `--input` asked for.
    pub options: InputOptions,
    /// Input level for the meters, dBFS (falls back 20 dB/s).
    pub level_db: f32,
    /// Manual latency offset in milliseconds, taken off where takes land (positive: a take that
    /// sounds late moves earlier).
    pub offset_ms: f32,
    /// Sample format of takes.
    pub format: TakeFormat,
    /// Set by `Ctrl-R` (or monitoring on) when no input is open: the event loop opens one.
    pub open_request: bool,
    /// Start a take once the input is open.
    start_after_open: bool,
    /// Hear the input with the song (added to the output after the mix, live only).
    pub monitor: bool,
    take: Option<AudioPass>,
    /// A stopped take waiting for its place in the song.
    placing: Option<Placing>,
    next_id: u32,
    last_meter: Option<Instant>,
}

impl Default for AudioRecorder {
    fn default() -> Self {
        AudioRecorder {
            source: None,
            state: None,
            device: String::new(),
            options: InputOptions::default(),
            level_db: f32::NEG_INFINITY,
            offset_ms: 0.0,
            format: TakeFormat::S24,
            open_request: false,
            start_after_open: false,
            monitor: false,
            take: None,
            placing: None,
            next_id: 0,
            last_meter: None,
        }
    }
}

/// A take being recorded.
struct AudioPass {
    track: usize,
    writer: record::Recorder,
    state: Arc<CaptureState>,
    /// Where its first frame was heard, once the engine said.
    located: Option<Located>,
    /// The question in flight: (id, when asked).
    asked: Option<(u32, Instant)>,
    /// Playback was started for the take (so stopping it ends the take).
    started_playback: bool,
    started: Instant,
}

/// A finished take waiting for the engine's answer.
struct Placing {
    take: TakeSummary,
    track: usize,
    state: Arc<CaptureState>,
    located: Option<Located>,
    asked: Option<(u32, Instant)>,
    since: Instant,
    /// Said after the take is placed (why it ended early, overruns).
    note: String,
}

/// Where a take's first kept frame goes: the cell position, and how many of its frames (at the
/// song's rate) come before that and are cut.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Order position.
    pub order: u16,
    /// Pattern.
    pub pattern: u16,
    /// Row.
    pub row: u16,
    /// Delay value (1/256 of the row).
    pub delay: u8,
    /// Frames of the take (at the engine's rate) before the note's start.
    pub cut: f64,
}

/// Where a take whose first frame was heard at `located` starts (`rows(p)`: the row count of
/// pattern `p`): at the next delay step at or after that moment (or at the song's start), with
/// what comes before it cut.
pub fn placement(located: &Located, rows: impl Fn(u16) -> u16) -> Option<Placement> {
    match *located {
        Located::Unknown => None,
        Located::Before { frames, start } => Some(Placement {
            order: start.order,
            pattern: start.pattern,
            row: start.row,
            delay: 0,
            cut: frames as f64,
        }),
        Located::At(SongPos {
            order,
            pattern,
            row,
            frames_into_row,
            row_frames,
            ..
        }) => {
            let rf = row_frames.max(1.0);
            let x = f64::from(frames_into_row);
            let step = (x * 256.0 / rf).ceil();
            let (row, delay) = if step < 256.0 {
                (row, step as u8)
            } else if row + 1 < rows(pattern) {
                (row + 1, 0)
            } else {
                (row, 255)
            };
            let at = if delay == 0 && step >= 256.0 {
                rf
            } else {
                f64::from(delay) * rf / 256.0
            };
            Some(Placement {
                order,
                pattern,
                row,
                delay,
                cut: (at - x).max(0.0),
            })
        }
    }
}

impl App {
    /// True while an audio take records.
    pub fn recording_audio(&self) -> bool {
        self.arec.take.is_some()
    }

    /// The input's meters, when an input is open.
    pub fn input_state(&self) -> Option<&Arc<CaptureState>> {
        self.arec.state.as_ref()
    }

    /// The armed track, while a take records.
    pub fn armed_track(&self) -> Option<usize> {
        self.arec.take.as_ref().map(|t| t.track)
    }

    /// `Ctrl-R`: starts an audio take on the track under the cursor, or ends the one recording.
    pub fn record_audio_key(&mut self) {
        if self.arec.take.is_some() {
            self.stop_audio_take("");
        } else if self.arec.placing.is_some() {
            self.message = "still placing the last take; a moment".into();
        } else if self.arec.source.is_none() {
            self.arec.open_request = true;
            self.arec.start_after_open = true;
        } else {
            self.start_audio_take();
        }
    }

    /// Gives the recorder an opened input (from the event loop): its monitor ring goes to the
    /// engine, and the take asked for starts.
    pub fn input_opened(&mut self, mut source: Box<dyn InputSource>) {
        self.arec.device = source.device().to_string();
        let state = source.state().clone();
        state.set_monitoring(self.arec.monitor);
        if let (Some(rx), Some(h)) = (source.take_monitor(), self.engine.as_mut()) {
            h.send(Command::SetMonitor(Some(Box::new(rx))));
        }
        self.arec.state = Some(state);
        self.arec.source = Some(source);
        if std::mem::take(&mut self.arec.start_after_open) {
            self.start_audio_take();
        } else {
            self.message = format!("audio input: {}", self.arec.device);
        }
    }

    /// The input could not be opened: says why; nothing else changes.
    pub fn input_failed(&mut self, why: &str) {
        self.arec.start_after_open = false;
        self.message = format!("no audio input: {why} (`ttrack devices` lists the inputs)");
    }

    /// The engine and the stream are being rebuilt: the input is opened again when next needed
    /// (under JACK it belongs to the client being replaced; the new engine has no monitor ring).
    pub fn input_closed(&mut self) {
        if self.arec.take.is_none() {
            self.arec.source = None;
            self.arec.state = None;
        }
    }

    /// Input monitoring on or off (opening the input when needed).
    pub fn toggle_monitor(&mut self) {
        self.arec.monitor = !self.arec.monitor;
        match self.arec.state.as_ref() {
            Some(s) => s.set_monitoring(self.arec.monitor),
            None if self.arec.monitor => self.arec.open_request = true,
            None => {}
        }
        self.message = format!(
            "input monitoring {}",
            if self.arec.monitor {
                "on: the input is heard with the song"
            } else {
                "off"
            }
        );
    }

    /// The folder takes go to.
    fn takes_dir(&self) -> PathBuf {
        record::recordings_dir(
            self.path
                .as_deref()
                .unwrap_or_else(|| Path::new("untitled.ttrk")),
        )
    }

    fn start_audio_take(&mut self) {
        let Some(source) = self.arec.source.take() else {
            return;
        };
        let state = source.state().clone();
        if state.device_lost() {
            self.arec.state = None;
            self.message = format!(
                "the audio input {} is gone; Ctrl-R opens it again",
                self.arec.device
            );
            return;
        }
        let opts = RecordOptions {
            format: self.arec.format,
            ..RecordOptions::default()
        };
        let writer = match record::Recorder::start(source, &self.takes_dir(), opts) {
            Ok(w) => w,
            Err((source, e)) => {
                self.arec.source = Some(source);
                self.message = format!("cannot record: {e}");
                return;
            }
        };
        let track = self.cursor.track.min(self.song.tracks.len() - 1);
        let started_playback = !self.playing;
        if started_playback {
            let from = self.order_position_of_pattern();
            self.count_in_once = true;
            self.play_song_from(from, self.cursor.row);
        }
        let file = writer
            .path()
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        self.message = format!(
            "recording audio into track {}: {file} (Ctrl-R or Space stops)",
            track + 1
        );
        self.arec.take = Some(AudioPass {
            track,
            writer,
            state,
            located: None,
            asked: None,
            started_playback,
            started: Instant::now(),
        });
    }

    /// Ends the take: the writer finishes the file; the take is placed once the engine said
    /// where it began. `why` says why it ended, when not by the user.
    fn stop_audio_take(&mut self, why: &str) {
        let Some(pass) = self.arec.take.take() else {
            return;
        };
        if pass.started_playback && self.playing {
            self.stop();
        }
        let (source, result) = pass.writer.stop();
        if pass.state.device_lost() {
            // The stream is dead: the next take opens the input again.
            drop(source);
            self.arec.state = None;
        } else {
            self.arec.source = Some(source);
        }
        match result {
            Ok(take) => {
                let mut note = why.to_string();
                if take.overruns > 0 {
                    note += &format!(
                        "; {} overruns lost {:.1} ms of input ({:.1} ms filled with silence)",
                        take.overruns,
                        take.dropped_frames as f64 * 1000.0 / f64::from(take.rate.max(1)),
                        take.silenced_frames as f64 * 1000.0 / f64::from(take.rate.max(1))
                    );
                }
                self.message = format!("placing {} …", take.path.display());
                self.arec.placing = Some(Placing {
                    take,
                    track: pass.track,
                    state: pass.state,
                    located: pass.located,
                    asked: pass.asked,
                    since: Instant::now(),
                    note,
                });
            }
            Err(e) => {
                self.message = format!("recording failed after {:.1} s: {e}", {
                    pass.started.elapsed().as_secs_f64()
                });
            }
        }
    }

    /// Called by the event loop every frame: meters, asking the engine where the take began,
    /// ending a take when playback stopped, the input was lost or the writer failed, and placing
    /// a finished take.
    pub fn audio_rec_tick(&mut self) {
        self.update_input_meter();
        let mut ask = None;
        if let Some(pass) = self.arec.take.as_mut() {
            if pass.located.is_none() {
                ask = ask_due(&pass.state, &mut pass.asked, &mut self.arec.next_id);
            }
        } else if let Some(p) = self.arec.placing.as_mut()
            && p.located.is_none()
        {
            ask = ask_due(&p.state, &mut p.asked, &mut self.arec.next_id);
        }
        if let Some((id, at)) = ask {
            // The manual offset: a take that sounds late moves earlier.
            let at = match at {
                Moment::Nanos(n) => {
                    let offset = (f64::from(self.arec.offset_ms) * 1e6) as i64;
                    Moment::Nanos((n as i64).saturating_sub(offset).max(1) as u64)
                }
                Moment::FrameTime(t) => {
                    let offset = f64::from(self.arec.offset_ms) * f64::from(self.rate) / 1000.0;
                    Moment::FrameTime(t.wrapping_sub(offset.round() as i32 as u32))
                }
            };
            if let Some(h) = self.engine.as_mut() {
                h.send(Command::Locate { id, at });
            }
        }
        if let Some(pass) = self.arec.take.as_ref() {
            let why = if pass.state.device_lost() {
                Some("the input device was lost; the take keeps what came before")
            } else if pass.writer.status().done() {
                Some("the disk writer stopped")
            } else if !self.playing {
                Some("")
            } else {
                None
            };
            if let Some(why) = why {
                self.stop_audio_take(why);
            }
        }
        if let Some(p) = self.arec.placing.as_ref()
            && (p.located.is_some() || p.since.elapsed() >= PLACE_TIMEOUT)
            && let Some(p) = self.arec.placing.take()
        {
            self.place_take(p);
        }
    }

    /// The engine's answer to a question about where a take began.
    pub fn audio_located(&mut self, r: LocateReport) {
        if r.located == Located::Unknown {
            // Asked during a count-in or before play began: asked again shortly.
            return;
        }
        if let Some(pass) = self.arec.take.as_mut()
            && pass.asked.is_some_and(|(id, _)| id == r.id)
        {
            pass.located = Some(r.located);
        } else if let Some(p) = self.arec.placing.as_mut()
            && p.asked.is_some_and(|(id, _)| id == r.id)
        {
            p.located = Some(r.located);
        }
    }

    fn update_input_meter(&mut self) {
        let Some(state) = self.arec.state.as_ref() else {
            self.arec.level_db = f32::NEG_INFINITY;
            return;
        };
        let peak = state.take_peak(0).max(state.take_peak(1));
        let db = if peak > 0.0 {
            20.0 * peak.log10()
        } else {
            f32::NEG_INFINITY
        };
        let now = Instant::now();
        let fall = self
            .arec
            .last_meter
            .map_or(0.0, |t| 20.0 * now.duration_since(t).as_secs_f32());
        self.arec.last_meter = Some(now);
        self.arec.level_db = db.max(self.arec.level_db - fall).max(-96.0);
    }

    /// Makes the finished take an instrument, a note and a take (one undo step).
    fn place_take(&mut self, p: Placing) {
        let file = p.take.path.display().to_string();
        let mut data = match crate::format::read_wav(&p.take.path) {
            Ok(d) => d,
            Err(e) => {
                self.message = format!("the take {file} cannot be read back: {e}");
                return;
            }
        };
        let rows = |song: &crate::model::Song, pat: u16| {
            song.patterns.get(pat as usize).map_or(1, |x| x.rows as u16)
        };
        let place = p
            .located
            .as_ref()
            .and_then(|l| placement(l, |pat| rows(&self.song, pat)));
        // Cut what lies before the note's start (at the take's own rate).
        let mut cut = 0u64;
        if let Some(pl) = place {
            let ratio = f64::from(data.rate) / f64::from(self.rate.max(1));
            cut = ((pl.cut * ratio).round() as u64).min(data.frames);
            let ch = usize::from(data.channels.max(1));
            data.data.drain(..cut as usize * ch);
            data.frames -= cut;
        }
        let stem = p
            .take
            .path
            .file_stem()
            .map_or_else(|| "take".into(), |s| s.to_string_lossy().into_owned());
        data.name = stem.clone();
        // An uncut take is the file itself: a text song refers to it. A cut one is new audio,
        // saved beside the song like any sample without a file.
        data.source = if cut == 0 {
            self.path.as_deref().and_then(|song| {
                let dir = song.parent().unwrap_or(Path::new(""));
                p.take
                    .path
                    .strip_prefix(dir)
                    .ok()
                    .map(|r| r.to_string_lossy().into_owned())
            })
        } else {
            None
        };
        let Some(slot) = (0..crate::model::limits::MAX_INSTRUMENTS)
            .find(|&i| self.song.instruments.get(i).is_none_or(Option::is_none))
        else {
            self.message = format!("the take {file} is kept, but every instrument slot is used");
            return;
        };
        let seconds = data.frames as f64 / f64::from(data.rate.max(1));
        let inst = Instrument {
            name: stem.clone(),
            volume: 1.0,
            pan: 0.0,
            kind: InstrumentKind::Sampler(Sampler::new(Arc::new(data))),
        };
        let slot1 = (slot + 1) as u8;
        let track = p.track;
        let take = place.map(|pl| Take {
            name: format!("Audio {stem}"),
            track: track as u8,
            instrument: slot1,
            velocity: false,
            quantize: 0,
            events: vec![TakeEvent {
                order: pl.order,
                pattern: pl.pattern,
                row: pl.row,
                fraction: (f64::from(pl.delay) / 256.0 * FRACTION) as u16,
                kind: TakeEventKind::On {
                    key: 60,
                    velocity: 127,
                },
            }],
        });
        self.song_edit("record an audio take", |song| {
            if song.instruments.len() <= slot {
                song.instruments.resize(slot + 1, None);
            }
            song.instruments[slot] = Some(inst);
            if let Some(take) = take {
                if let Some(t) = song.tracks.get(track) {
                    let columns = t.note_columns as usize;
                    let (cells, _) = take_cells(&take, 0, columns, |q| rows(song, q));
                    for c in cells {
                        if let Some(pat) = song.patterns.get_mut(c.pattern as usize)
                            && (c.column as usize) < pat.note_columns(track)
                            && (c.row as u32) < pat.rows
                        {
                            *pat.note_mut(track, c.row as usize, c.column as usize) = c.cell;
                        }
                    }
                }
                song.takes.push(take);
            }
        });
        if self.song.instruments.get(slot).is_none_or(Option::is_none) {
            // Refused (too long for an instrument...): the message says why.
            self.message = format!("the take {file} is kept in its folder; {}", self.message);
            return;
        }
        self.instrument = slot1;
        let at = match place {
            Some(pl) => format!(
                "at order {:02} row {:02} delay {:02X} in track {}",
                pl.order,
                pl.row,
                pl.delay,
                track + 1
            ),
            None => "without a note (the song was not playing when it began)".into(),
        };
        self.message = format!(
            "{stem}: {seconds:.1} s as instrument {slot1:02X} {at}{} (Ctrl-Z removes it)",
            p.note
        );
    }
}

/// The question to send now, if the take's first frame is in and no answer came lately: in the
/// host's frame time when it has one (exact), else on the clock.
fn ask_due(
    state: &CaptureState,
    asked: &mut Option<(u32, Instant)>,
    next_id: &mut u32,
) -> Option<(u32, Moment)> {
    let nanos = state.first_frame_nanos()?;
    let at = state
        .first_frame_time()
        .map_or(Moment::Nanos(nanos), Moment::FrameTime);
    if asked.is_some_and(|(_, t)| t.elapsed() < ASK_EVERY) {
        return None;
    }
    *next_id = next_id.wrapping_add(1);
    *asked = Some((*next_id, Instant::now()));
    Some((*next_id, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(row: u16, into: u32, rf: f64) -> Located {
        Located::At(SongPos {
            order: 1,
            pattern: 2,
            row,
            delay: 0,
            frames_into_row: into,
            row_frames: rf,
        })
    }

    #[test]
    fn an_input_lost_during_a_take_ends_it_and_keeps_what_came_before() {
        use ringbuf::traits::{Producer, Split};
        let dir = tempfile::tempdir().unwrap();
        let song_path = dir.path().join("lost.ttrk");
        let mut app = App::new(crate::model::Song::new_default(), Some(song_path));
        let (mut tx, rx) = ringbuf::HeapRb::<f32>::new(48_000).split();
        let state = Arc::new(CaptureState::new());
        let source = crate::record::testing::Manual {
            ring: rx,
            state: state.clone(),
        };
        app.record_audio_key();
        assert!(app.arec.open_request, "Ctrl-R opens the input first");
        app.arec.open_request = false;
        app.input_opened(Box::new(source));
        assert!(app.recording_audio(), "{}", app.message);
        // (No engine here: pretend playback runs.)
        app.playing = true;
        assert_eq!(tx.push_slice(&[0.5; 4800]), 4800);
        state.captured(4800, 1);
        std::thread::sleep(Duration::from_millis(100));
        state.set_lost();
        app.audio_rec_tick();
        assert!(!app.recording_audio());
        assert!(app.message.starts_with("placing"), "{}", app.message);
        // Nobody places it (no engine): after a second it is kept without a note.
        std::thread::sleep(PLACE_TIMEOUT);
        app.audio_rec_tick();
        assert!(
            app.message.contains("0.1 s as instrument")
                && app.message.contains("the input device was lost"),
            "{}",
            app.message
        );
        let inst = app.song.instrument(app.instrument).unwrap();
        let InstrumentKind::Sampler(s) = &inst.kind else {
            panic!("not a sampler");
        };
        assert_eq!(s.sample.frames, 4800, "everything captured before the loss");
        // The input is gone: the next Ctrl-R opens it again.
        assert!(app.input_state().is_none());
        app.record_audio_key();
        assert!(app.arec.open_request);
        // One undo step takes the instrument away again.
        let slot = app.instrument;
        app.perform(crate::ui::commands::Action::Undo);
        assert!(app.song.instrument(slot).is_none());
    }

    #[test]
    fn a_take_starts_at_the_next_delay_step_with_the_frames_before_it_cut() {
        // 5760 frames a row: a delay step is 22.5 frames.
        let p = placement(&at(3, 100, 5760.0), |_| 64).unwrap();
        assert_eq!((p.order, p.pattern, p.row, p.delay), (1, 2, 3, 5));
        assert!((p.cut - 12.5).abs() < 1e-9, "{}", p.cut);
        // On a step: nothing cut.
        let p = placement(&at(3, 0, 5760.0), |_| 64).unwrap();
        assert_eq!((p.row, p.delay, p.cut), (3, 0, 0.0));
        // Past the last step: the next row.
        let p = placement(&at(3, 5750, 5760.0), |_| 64).unwrap();
        assert_eq!((p.row, p.delay), (4, 0));
        assert!((p.cut - 10.0).abs() < 1e-9);
        // ... unless the pattern ends: the last step, nothing cut.
        let p = placement(&at(63, 5750, 5760.0), |_| 64).unwrap();
        assert_eq!((p.row, p.delay, p.cut), (63, 255, 0.0));
        // Before the song: at its start, the frames before cut.
        let start = SongPos {
            order: 0,
            pattern: 0,
            row: 4,
            ..SongPos::default()
        };
        let p = placement(&Located::Before { frames: 900, start }, |_| 64).unwrap();
        assert_eq!((p.row, p.delay, p.cut), (4, 0, 900.0));
        assert_eq!(placement(&Located::Unknown, |_| 64), None);
    }
}
