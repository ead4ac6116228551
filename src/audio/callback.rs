//! The one wrapper around every live engine call (nih-plug's `process_wrapper`, DESIGN.md §3): it
//! owns the [`Engine`] and its preallocated scratch buffers, runs [`rt::process_block`] inside
//! `catch_unwind`, converts to the device format, applies the stop rule and measures the load with
//! the monotonic clock, outside the engine. It never allocates, locks, waits or prints.

use super::convert;
use super::stats::AudioStats;
use crate::engine::{Engine, MidiMessage, PeriodClock, rt};
use cpal::{FromSample, SizedSample};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

thread_local! {
    static IN_AUDIO_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread that is inside the engine call of an [`AudioCallback`]. A panic hook uses it to
/// tell an audio-thread panic (caught, becomes silence) from one that ends the program.
pub fn in_audio_callback() -> bool {
    IN_AUDIO_CALLBACK.with(Cell::get)
}

/// How much playback ends by itself: a frame limit, a time limit, the end of the song.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StopRule {
    /// Stop after this much engine output.
    pub limit: Option<PlayLimit>,
    /// Stop once the sequencer has stopped and the tail has faded: the output stays under
    /// −100 dBFS for 200 ms, or 10 s have passed (the rule of `ttrack render`).
    pub at_song_end: bool,
}

/// A length of playback, in frames or in seconds at the stream's rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlayLimit {
    /// Exactly this many frames.
    Frames(u64),
    /// This many seconds, rounded to the nearest frame.
    Seconds(f64),
}

impl PlayLimit {
    /// The limit in frames at `rate`.
    pub fn frames(self, rate: u32) -> u64 {
        match self {
            PlayLimit::Frames(n) => n,
            PlayLimit::Seconds(s) => (s.max(0.0) * rate as f64).round() as u64,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Running,
    /// The stop rule was met: silence from now on.
    Finished,
    /// The engine panicked: silence from now on, the engine is never called again.
    Panicked,
}

/// What a backend plays. The engine is the one real source: its `render` is
/// [`rt::process_block`]; tests put stand-ins here (a source that panics, for one).
pub trait AudioSource: Send + 'static {
    /// Renders `left.len()` frames into `left` and `right`, replacing their contents, without
    /// allocating, locking or waiting.
    fn render(&mut self, left: &mut [f32], right: &mut [f32]);
    /// False once the source has ended by itself (the song's sequencer stopped).
    fn is_playing(&self) -> bool;
    /// Output rate in Hz.
    fn rate(&self) -> u32;
    /// A device period starts (once per callback, before any `render`): when, how long, and
    /// the output latency, for placing MIDI input in time.
    fn begin_period(&mut self, _clock: &PeriodClock) {}
    /// A MIDI message to sound `offset` frames after the start of the next `render`.
    fn midi_in(&mut self, _offset: u32, _msg: MidiMessage) {}
}

impl AudioSource for Engine {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        rt::process_block(self, left, right);
    }

    fn is_playing(&self) -> bool {
        Engine::is_playing(self)
    }

    fn rate(&self) -> u32 {
        Engine::rate(self)
    }

    fn begin_period(&mut self, clock: &PeriodClock) {
        Engine::begin_period(self, clock);
    }

    fn midi_in(&mut self, offset: u32, msg: MidiMessage) {
        Engine::midi_in(self, offset, msg);
    }
}

/// The engine as the audio thread sees it: everything a backend's callback needs, built before the
/// stream starts.
pub struct AudioCallback<S: AudioSource = Engine> {
    source: S,
    stats: Arc<AudioStats>,
    left: Box<[f32]>,
    right: Box<[f32]>,
    rate: u32,
    limit_frames: Option<u64>,
    at_song_end: bool,
    frames_done: u64,
    tail: crate::engine::tail::TailDetector,
    state: State,
    /// The host's frame time of the next period's first frame (JACK), for the period clock.
    frame_time: Option<u32>,
}

impl<S: AudioSource> AudioCallback<S> {
    /// Wraps `engine` for a device that hands out buffers of about `max_frames` frames (larger ones
    /// are processed in pieces). Allocates the scratch buffers here, never later.
    pub fn new(
        engine: S,
        stats: Arc<AudioStats>,
        max_frames: usize,
        stop: StopRule,
    ) -> AudioCallback<S> {
        let rate = engine.rate();
        let max_frames = max_frames.max(1);
        // Fix the MIDI clock's epoch here, off the audio thread.
        crate::midi::clock::epoch();
        let limit_frames = stop.limit.map(|l| l.frames(rate));
        let state = if limit_frames == Some(0) {
            stats.set_finished();
            State::Finished
        } else {
            State::Running
        };
        AudioCallback {
            source: engine,
            stats,
            left: vec![0.0; max_frames].into_boxed_slice(),
            right: vec![0.0; max_frames].into_boxed_slice(),
            rate,
            limit_frames,
            at_song_end: stop.at_song_end,
            frames_done: 0,
            tail: crate::engine::tail::TailDetector::new(rate),
            state,
            frame_time: None,
        }
    }

    /// The host's frame counter at the first frame of the next [`fill`](Self::fill) (JACK's
    /// frame time), shared with its inputs: moments given in it are placed exactly.
    pub fn set_frame_time(&mut self, t: u32) {
        self.frame_time = Some(t);
    }

    /// The source being played.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Passes a MIDI message to the source, to sound `offset` frames after the start of the next
    /// [`fill`](Self::fill) (the JACK host's events, with their frame in the period).
    pub fn midi_in(&mut self, offset: u32, msg: MidiMessage) {
        if self.state == State::Running {
            self.source.midi_in(offset, msg);
        }
    }

    /// The shared counters this callback writes.
    pub fn stats(&self) -> &Arc<AudioStats> {
        &self.stats
    }

    /// Output rate (the engine's).
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Frames per engine call: the size of the scratch buffers.
    pub fn max_frames(&self) -> usize {
        self.left.len()
    }

    /// The device callback: fills the interleaved `out` (`channels` samples per frame) with the
    /// next frames of the engine, records the callback in the stats and measures its load.
    pub fn fill<T: SizedSample + FromSample<f32>>(&mut self, out: &mut [T], channels: usize) {
        #[allow(
            clippy::disallowed_methods,
            reason = "load is measured outside the engine"
        )]
        let started = Instant::now();
        let frames_in_buffer = out.len().checked_div(channels).unwrap_or(0);
        let period = PeriodClock {
            now_nanos: crate::midi::clock::nanos_at(started),
            frames: u32::try_from(frames_in_buffer).unwrap_or(u32::MAX),
            output_latency: self.stats.output_latency(),
            frame_time: self.frame_time.take(),
        };
        let rendered = assert_no_alloc::assert_no_alloc(|| {
            self.begin_period(&period);
            self.fill_inner(out, channels)
        });
        self.stats.publish_alloc_violations();
        let took = started.elapsed().as_secs_f64();
        let period = frames_in_buffer as f64 / self.rate.max(1) as f64;
        let load = if period > 0.0 {
            (100.0 * took / period) as f32
        } else {
            0.0
        };
        self.stats.record_callback(rendered, load);
    }

    /// Everything [`fill`](Self::fill) does except timing; returns the frames of engine output.
    fn fill_inner<T: SizedSample + FromSample<f32>>(
        &mut self,
        out: &mut [T],
        channels: usize,
    ) -> u64 {
        if channels == 0 {
            out.fill(T::EQUILIBRIUM);
            return 0;
        }
        let piece_len = self.left.len() * channels;
        let mut rendered = 0u64;
        for piece in out.chunks_mut(piece_len) {
            let frames = piece.len() / channels;
            let want = match self.limit_frames {
                Some(limit) => {
                    let left = limit.saturating_sub(self.frames_done);
                    frames.min(usize::try_from(left).unwrap_or(usize::MAX))
                }
                None => frames,
            };
            if self.state != State::Running || want == 0 {
                // Stopped, or a trailing partial frame (a device bug): silence.
                piece.fill(T::EQUILIBRIUM);
                continue;
            }
            let keep = self.render(want);
            if self.state == State::Panicked {
                piece.fill(T::EQUILIBRIUM);
                continue;
            }
            convert::write_interleaved(
                &self.left[..keep],
                &self.right[..keep],
                &mut piece[..keep * channels],
                channels,
            );
            piece[keep * channels..].fill(T::EQUILIBRIUM);
            self.frames_done += keep as u64;
            rendered += keep as u64;
            if self.limit_frames.is_some_and(|l| self.frames_done >= l) {
                self.finish();
            }
        }
        if self.state == State::Running {
            self.stats.set_playing(self.source.is_playing());
        }
        rendered
    }

    /// Tells the source a period starts; a panic there silences the stream like one in `render`.
    fn begin_period(&mut self, period: &PeriodClock) {
        if self.state != State::Running {
            return;
        }
        let source = &mut self.source;
        IN_AUDIO_CALLBACK.with(|f| f.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| source.begin_period(period)));
        IN_AUDIO_CALLBACK.with(|f| f.set(false));
        if let Err(payload) = result {
            std::mem::forget(payload);
            self.state = State::Panicked;
            self.stats.set_panicked();
            self.stats.set_playing(false);
        }
    }

    /// Runs the engine for `frames` frames into the scratch buffers; returns how many of them to
    /// keep (fewer when the song's tail ended inside them).
    fn render(&mut self, frames: usize) -> usize {
        let (left, right) = (&mut self.left[..frames], &mut self.right[..frames]);
        let source = &mut self.source;
        IN_AUDIO_CALLBACK.with(|f| f.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| source.render(left, right)));
        IN_AUDIO_CALLBACK.with(|f| f.set(false));
        if let Err(payload) = result {
            // Never free on the audio thread, not even after a bug: the payload is leaked (once).
            std::mem::forget(payload);
            self.state = State::Panicked;
            self.stats.set_panicked();
            self.stats.set_playing(false);
            return 0;
        }
        if !self.at_song_end || self.source.is_playing() {
            return frames;
        }
        for i in 0..frames {
            if self.tail.frame(self.left[i], self.right[i]) {
                self.finish();
                return i + 1;
            }
        }
        frames
    }

    fn finish(&mut self) {
        self.state = State::Finished;
        self.stats.set_playing(false);
        self.stats.set_finished();
    }
}
