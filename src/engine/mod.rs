//! The audio engine (layer 2): plays an [`EngineSong`] sample-accurately — sequencer, tick effects,
//! voice pool, track mix. Live playback and offline render both drive it through
//! [`rt::process_block`], so they produce the same samples. Everything is allocated in
//! [`Engine::new`]; [`Engine::process`] never allocates, locks, waits or does I/O.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

pub mod click;
mod commands;
pub mod declick;
pub mod frozen;
pub mod handle;
pub mod midi;
pub mod mixer;
pub mod monitor;
pub mod msg;
pub mod rt;
mod sequencer;
pub mod song;
pub mod tail;
pub mod transport;
pub mod voice;

pub use handle::{EngineHandle, EngineLink, link};
pub use midi::{
    LocateReport, Located, MidiMessage, MidiReport, Moment, PeriodClock, SongPos, TimedMidi,
    midi_ring,
};
pub use msg::{Command, Garbage, MixState, Report, Status};
pub use song::{CONTROL_FRAMES, EngineSong, PlayableInstrument};
pub use transport::{PlayRange, SongLength, Transport, chase_tempo, order_starts, song_length};

use crate::model::limits::{MAX_NOTE_COLUMNS, MAX_TRACKS, MAX_VOICES};
use commands::AUDITION_LANE;
pub use mixer::StemStore;
use mixer::{Meters, MixStage};
use sequencer::{Lane, TrackFx};
use voice::Voice;

/// Most frames rendered between two control points (the control grid bounds it anyway).
pub const MAX_CHUNK: usize = CONTROL_FRAMES as usize;

/// Most frames the voices render before the mixer runs (a span): eight control periods (512
/// frames, about 11 ms at 48 kHz), never past the next event or the host block. The voices
/// render a span in one pass when no voice would change at the control steps in between (see
/// [`Voice::is_static`]), else period by period; the mixer takes as many of its periods at once
/// as have the same tracks sounding. (Measured on the demo songs: 512 frames took fewer of a
/// render's instructions than 256, by 4 % and 1 % with 32-frame periods and by 5 % with 64-frame
/// ones, and than 1024, by 5 %.)
pub const SPAN: usize = 8 * MAX_CHUNK;
/// Control periods in a span (the first may be a part of one).
const SPAN_PERIODS: usize = SPAN / MAX_CHUNK + 1;

/// Most commands applied per block; the rest wait for the next block (bounded work).
pub const MAX_COMMANDS_PER_BLOCK: usize = 1024;

/// Where playback is, for the UI and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Order position.
    pub order: usize,
    /// Pattern index at that position.
    pub pattern: usize,
    /// Row.
    pub row: usize,
    /// Tick within the row: the next to come (the last, in a row without tick events).
    pub tick: u32,
    /// Frames rendered since play started.
    pub frame: u64,
}

/// The engine. Build it off the audio thread; then only [`Engine::process`] runs on it.
pub struct Engine {
    song: Box<EngineSong>,
    rate: f32,
    voices: Box<[Voice]>,
    /// Indices of the voices that may be active, in start order (so renders repeat exactly).
    active_list: Box<[u16]>,
    active_len: usize,
    listed: Box<[bool]>,
    lanes: Box<[Lane]>,
    track_fx: Box<[TrackFx]>,
    track_buf: Box<[[f32; 2 * SPAN]]>,
    /// Metronome and count-in (live only).
    click: click::Click,
    /// The input heard with the song (live only; see [`monitor`]).
    monitor: Option<Box<monitor::MonitorReceiver>>,
    /// Frames of a block the monitored input did not fill.
    pub(crate) monitor_underruns: u64,
    /// Playback state of each frozen track.
    frozen: Box<[frozen::FrozenState]>,
    /// The order position the frozen tracks were last synced to (`usize::MAX`: none since play).
    frozen_order: usize,
    mix: MixStage,
    meters: Meters,
    /// Frames still to render and drop after a play start (see [`Engine::latency_frames`]).
    preroll: u64,
    /// Smooths the output's step when playback restarts while the song sounds.
    declick: declick::Declick,
    transport: Transport,
    /// True while the sequencer runs (voices may ring on after it stops).
    sequencing: bool,
    frame: u64,
    next_event: u64,
    next_tick_frame: u64,
    next_pending: u64,
    anchor_frame: u64,
    ticks_since_anchor: u64,
    frames_per_tick: f64,
    tick: u32,
    row_start: u64,
    row_frames: f64,
    last_control: u64,
    next_voice: usize,
    link: Option<EngineLink>,
    midi: midi::MidiState,
    status: Status,
    frames_since_report: u64,
    /// The chunk being handed out to the host: left in the first half, right in the second.
    chunk: [f32; 2 * SPAN],
    chunk_len: usize,
    chunk_pos: usize,
    /// Frames of the voices' current span (in `track_buf`) not yet mixed, and where they start.
    span_left: usize,
    span_off: usize,
    /// Control period of the span the next chunk mixes, and per period the tracks that had a
    /// voice sounding at its start.
    span_period: usize,
    span_used: Box<[[bool; MAX_TRACKS]; SPAN_PERIODS]>,
    /// In a span rendered period by period: the tracks whose voices all render it in one pass
    /// (every one of them static), which the control steps inside the span skip.
    whole_tracks: Box<[bool; MAX_TRACKS]>,
    /// Working buffers the voices render with.
    scratch: Box<voice::Scratch>,
    /// Frames of the host block still to come when the next chunk is rendered: a span never
    /// reaches past them, so commands and MIDI of the next block find it finished.
    block_left: u64,
}

impl Engine {
    /// An engine for `song` (rate = `song.rate`), stopped. Allocates everything it will ever use.
    pub fn new(song: Box<EngineSong>) -> Engine {
        crate::dsp::simd::warm();
        let rate = song.rate as f32;
        let mix = MixStage::new(&song);
        Engine {
            song,
            rate,
            voices: (0..MAX_VOICES).map(|_| Voice::new()).collect(),
            active_list: vec![0u16; MAX_VOICES].into_boxed_slice(),
            active_len: 0,
            listed: vec![false; MAX_VOICES].into_boxed_slice(),
            lanes: (0..MAX_TRACKS * MAX_NOTE_COLUMNS)
                .map(|_| Lane::new())
                .collect(),
            track_fx: (0..MAX_TRACKS).map(|_| TrackFx::default()).collect(),
            track_buf: vec![[0.0; 2 * SPAN]; MAX_TRACKS].into_boxed_slice(),
            click: click::Click::new(rate),
            monitor: None,
            monitor_underruns: 0,
            frozen: vec![frozen::FrozenState::default(); MAX_TRACKS].into_boxed_slice(),
            frozen_order: usize::MAX,
            mix,
            meters: Meters::default(),
            preroll: 0,
            declick: declick::Declick::new(rate as u32),
            transport: Transport::new(),
            sequencing: false,
            frame: 0,
            next_event: u64::MAX,
            next_tick_frame: u64::MAX,
            next_pending: u64::MAX,
            anchor_frame: 0,
            ticks_since_anchor: 0,
            frames_per_tick: 1.0,
            tick: 0,
            row_start: 0,
            row_frames: 1.0,
            last_control: u64::MAX,
            next_voice: 0,
            chunk: [0.0; 2 * SPAN],
            chunk_len: 0,
            chunk_pos: 0,
            span_left: 0,
            span_off: 0,
            span_period: 0,
            span_used: Box::new([[false; MAX_TRACKS]; SPAN_PERIODS]),
            whole_tracks: Box::new([false; MAX_TRACKS]),
            scratch: voice::Scratch::new(),
            block_left: 0,
            link: None,
            midi: midi::MidiState::new(),
            status: Status::default(),
            frames_since_report: 0,
        }
    }

    /// Output sample rate.
    pub fn rate(&self) -> u32 {
        self.song.rate
    }

    /// The song being played.
    pub fn song(&self) -> &EngineSong {
        &self.song
    }

    /// Frames the master limiter looks ahead, constant for a rate (0 while it is off in an
    /// engine that [renders offline](Engine::render_offline)). Playing starts with a
    /// pre-roll of this many frames that is rendered and dropped at once, so the output of
    /// [`Engine::process`] starts at song time zero, the same for live playback and renders; the
    /// engine's own frame counter runs this far ahead of what is heard.
    pub fn latency_frames(&self) -> u64 {
        self.mix.latency_frames() as u64
    }

    /// Resets every voice, lane, effect memory and the clock, then starts the sequencer over `range`.
    /// Playing twice from the same state gives the same samples.
    pub fn play(&mut self, range: PlayRange) {
        self.play_from(range, 0);
    }

    /// Like [`Engine::play`], starting at `row` of the first order position.
    pub fn play_from(&mut self, range: PlayRange, row: usize) {
        let (bpm, tpl) = chase_tempo(&self.song, range.from);
        self.play_chased(range, None, row, bpm, tpl);
    }

    /// Like [`Engine::play_from`] with the starting tempo given (bounded work, for the callback).
    /// `at` is the order position to start at inside the range (`None`: its first).
    pub fn play_chased(
        &mut self,
        range: PlayRange,
        at: Option<usize>,
        row: usize,
        bpm: u16,
        tpl: u8,
    ) {
        let bpm = bpm.clamp(
            crate::model::limits::BPM_RANGE.0,
            crate::model::limits::BPM_RANGE.1,
        );
        let tpl = tpl.clamp(
            crate::model::limits::TPL_RANGE.0,
            crate::model::limits::TPL_RANGE.1,
        );
        self.reset_state();
        self.declick.restart();
        self.transport.start(&self.song, range, at, row, bpm, tpl);
        self.preroll = self.mix.latency_frames() as u64;
        self.sequencing = !self.transport.finished;
        self.frames_per_tick = transport::frames_per_tick(self.song.rate, bpm, self.song.lpb, tpl);
        // A count-in delays the song's first tick by its bars; its clicks are heard from now.
        let beat = self.frames_per_tick * tpl as f64 * self.song.lpb as f64;
        let count_in = self.click.start_count_in(self.latency_frames(), beat);
        self.next_tick_frame = count_in;
        self.anchor_frame = count_in;
        self.recompute_next_event();
    }

    /// Stops the sequencer and fades every voice out.
    pub fn stop(&mut self) {
        self.sequencing = false;
        self.midi.stopped_at(self.out_frame());
        for l in self.lanes.iter_mut() {
            l.clear_pending();
        }
        self.next_pending = u64::MAX;
        for v in self.voices.iter_mut().filter(|v| v.active) {
            v.fade_out();
        }
        for f in self.frozen.iter_mut() {
            f.stop();
        }
        self.click.cancel();
        self.next_event = u64::MAX;
    }

    fn reset_state(&mut self) {
        self.midi.rebase(self.out_frame(), self.latency_frames());
        // The song's voices start afresh; notes played outside the pattern (a key held on the
        // MIDI keyboard, an audition) go on sounding, as in trackers: pressing play while
        // holding a chord keeps it. They resume with a declick fade-in, since the master chain
        // restarts (its look-ahead is pre-rolled again) and would otherwise jump in their
        // waveform. A render has no such voices, so it starts exactly as before.
        self.active_len = 0;
        self.listed.fill(false);
        for vi in 0..self.voices.len() {
            let v = &mut self.voices[vi];
            if v.active && v.lane == AUDITION_LANE {
                v.resume();
                self.list_voice(vi);
            } else {
                v.reset();
            }
        }
        for l in self.lanes.iter_mut() {
            *l = Lane::new();
        }
        for f in self.frozen.iter_mut() {
            f.reset();
        }
        self.frozen_order = usize::MAX;
        for f in self.track_fx.iter_mut() {
            *f = TrackFx::default();
        }
        self.mix.reset(&self.song);
        self.frame = 0;
        self.anchor_frame = 0;
        self.ticks_since_anchor = 0;
        self.tick = 0;
        self.row_start = 0;
        self.last_control = u64::MAX;
        self.next_pending = u64::MAX;
        self.chunk_len = 0;
        self.chunk_pos = 0;
        self.next_voice = 0;
    }

    /// True while the sequencer is running.
    pub fn is_playing(&self) -> bool {
        self.sequencing
    }

    /// Number of sounding voices.
    pub fn active_voices(&self) -> usize {
        self.active_list[..self.active_len]
            .iter()
            .filter(|&&i| self.voices[i as usize].active)
            .count()
    }

    /// Current play position.
    pub fn position(&self) -> Position {
        Position {
            order: self.transport.order_pos,
            pattern: self.transport.pattern(&self.song).unwrap_or(0),
            row: self.transport.row,
            tick: self.tick.min((self.transport.tpl as u32).saturating_sub(1)),
            frame: self.frame,
        }
    }

    fn recompute_next_event(&mut self) {
        self.next_event = if self.sequencing {
            self.next_tick_frame.min(self.next_pending)
        } else {
            self.next_pending
        }
        .min(self.midi.next_frame());
    }

    /// Renders `left.len()` frames (the shorter slice counts) into `left` and `right`, replacing
    /// their contents. Never allocates, locks or blocks; output does not depend on how the host
    /// slices time into blocks.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if self.link.is_some() {
            self.apply_commands();
        }
        // The limiter's look-ahead after a play start: render and drop it (bounded: < 200 frames).
        // The stems keep these frames: they are what the mixer made of the song's first frames.
        while self.preroll > 0 {
            if self.chunk_pos == self.chunk_len {
                self.block_left = self.preroll;
                self.next_chunk();
            }
            let k = (self.preroll as usize).min(self.chunk_len - self.chunk_pos);
            self.chunk_pos += k;
            self.preroll -= k as u64;
        }
        self.midi_block_start();
        let mut done = 0usize;
        while done < n {
            if self.chunk_pos == self.chunk_len {
                self.block_left = (n - done) as u64;
                self.next_chunk();
            }
            let k = (n - done).min(self.chunk_len - self.chunk_pos);
            let (cl, cr) = self.chunk.split_at(SPAN);
            left[done..done + k].copy_from_slice(&cl[self.chunk_pos..self.chunk_pos + k]);
            right[done..done + k].copy_from_slice(&cr[self.chunk_pos..self.chunk_pos + k]);
            self.chunk_pos += k;
            done += k;
        }
        self.declick.process(&mut left[..n], &mut right[..n]);
        if let Some(m) = self.monitor.as_mut() {
            self.monitor_underruns += m.mix_into(&mut left[..n], &mut right[..n]) as u64;
        }
        if self.link.is_some() {
            self.frames_since_report += n as u64;
            if self.frames_since_report >= (self.song.rate as u64 / 100).max(1) {
                self.frames_since_report = 0;
                self.send_status();
            }
            if self.mix.meter_frames() >= (self.song.rate / mixer::METER_RATE_HZ).max(1) as u64 {
                self.mix.take_meters(&mut self.meters);
                if let Some(link) = self.link.as_mut()
                    && !link.report_meters(&self.meters)
                {
                    self.status.reports_dropped += 1;
                }
            }
        }
    }

    /// Starts keeping the stems (see [`StemStore`]) of everything processed from now on,
    /// appended to [`Engine::stems_mut`]'s buffers, `capacity` frames each, which the caller
    /// drains. Allocates: call it before playing (renders only).
    pub fn enable_stems(&mut self, capacity: usize) {
        self.mix.enable_stems(capacity);
    }

    /// The stems kept so far (see [`Engine::enable_stems`]), to read and drain.
    pub fn stems_mut(&mut self) -> Option<&mut StemStore> {
        self.mix.stems_mut()
    }

    /// How many frames to ask [`Engine::process`] for next, 1 to `max`, so that the block ends
    /// on a multiple of `max` frames of the engine's clock (which runs the limiter's look-ahead
    /// ahead of the output). The voices never render past the end of the block they were asked
    /// for, so blocks cut across the spans that the clock's grid would make split them in two:
    /// with `max` a multiple of [`SPAN`], a renderer asking for this many renders whole spans
    /// (any cut gives the same samples; this one the fewest passes).
    pub fn aligned_block(&self, max: usize) -> usize {
        let max = max.max(1) as u64;
        let next = self.out_frame() + self.preroll;
        (max - next % max) as usize
    }

    /// How far the stems run ahead of what [`Engine::process`] has returned, in frames: the
    /// mixer's latency (its output lags its input, the stems, by the master limiter's look-ahead,
    /// which the play start renders and drops) plus the rest of the current chunk (the mixer works
    /// in whole chunks).
    pub fn stems_ahead(&self) -> usize {
        let latency = (self.mix.latency_frames() as u64).saturating_sub(self.preroll) as usize;
        latency + self.chunk_len - self.chunk_pos
    }

    /// Connects the engine to the UI's rings (see [`link`]); from then on every `process` call
    /// first applies up to [`MAX_COMMANDS_PER_BLOCK`] commands and reports status every 10 ms.
    /// (Commands may switch the master limiter while playing: it keeps its look-ahead delay
    /// even while off, so that switching never shifts time.)
    pub fn connect(&mut self, link: EngineLink) {
        self.link = Some(link);
        self.mix.set_metering(true);
        self.mix.skip_limiter_delay_while_off(false);
    }

    /// Prepares an engine that renders offline, whose song and settings nothing changes while
    /// it plays (no [`Engine::connect`]): an off master limiter then passes the mix through
    /// without its look-ahead delay, which a play start would render and drop anyway (see
    /// [`Engine::latency_frames`], then 0). The same samples as with the delay, for less work.
    /// Call it before [`Engine::play`].
    pub fn render_offline(&mut self) {
        if self.link.is_none() {
            self.mix.skip_limiter_delay_while_off(true);
        }
    }

    /// The current status (what the next report will say).
    pub fn status(&self) -> Status {
        let mut s = self.status;
        s.playing = self.sequencing;
        s.position = self.position();
        s.active_voices = self.active_voices() as u16;
        (s.midi_events, s.midi_dropped) = (self.midi.events, self.midi.dropped);
        s
    }

    fn send_status(&mut self) {
        let s = self.status();
        if let Some(link) = self.link.as_mut()
            && !link.report(s)
        {
            self.status.reports_dropped += 1;
        }
    }

    /// Renders the next chunk: from the current frame to the next control point or event. Chunk
    /// boundaries depend only on absolute song time, never on the host's block size, so block-wise
    /// DSP (closed-form envelope segments) gives identical output for any host buffer size.
    fn next_chunk(&mut self) {
        // Events (ticks, delayed notes) at this frame come first, bounded per frame. (None fall
        // inside a span: a span ends at the next event.)
        let mut guard = 0;
        while self.next_event <= self.frame && guard < 4 * MAX_TRACKS * MAX_NOTE_COLUMNS {
            self.handle_events();
            guard += 1;
        }
        if self.frame.is_multiple_of(CONTROL_FRAMES) && self.last_control != self.frame {
            // Inside a span the control step would change nothing (that is what started it).
            if self.span_left == 0 {
                self.control_all();
            }
            self.last_control = self.frame;
        }
        let to_grid = (CONTROL_FRAMES - self.frame % CONTROL_FRAMES) as usize;
        if self.span_left == 0 {
            let to_event = self.next_event.saturating_sub(self.frame).max(1);
            // A span ends where a chunk would: at the next event or on the control grid.
            let room = (SPAN as u64).min(self.block_left) as usize;
            let limit = if to_event <= room as u64 {
                to_event as usize
            } else if room >= to_grid {
                to_grid + (room - to_grid) / MAX_CHUNK * MAX_CHUNK
            } else {
                to_grid
            };
            // The voices' next span: one control period (or up to the next event); or up to
            // `limit` in one pass when the control steps before it would change nothing; or up to
            // `limit` period by period, each control step at its frame.
            *self.span_used = [[false; MAX_TRACKS]; SPAN_PERIODS];
            let n = if to_grid >= limit {
                let n = to_grid.min(to_event.min(MAX_CHUNK as u64) as usize);
                self.render_voices(0, n, n, 0, None);
                n
            } else if self.mark_whole_tracks() {
                self.render_voices(0, limit, to_grid, 0, None);
                limit
            } else {
                // Tracks whose voices are all static render the span in one pass; the others
                // period by period. (Per track, so that each track buffer still adds its voices
                // in the same order, frame by frame, as any other cut of the span would.)
                self.render_voices(0, limit, to_grid, 0, Some(true));
                self.oscillators_ahead(limit);
                let (mut off, mut p) = (0, 0);
                while off < limit {
                    let len = if p == 0 {
                        to_grid
                    } else {
                        MAX_CHUNK.min(limit - off)
                    };
                    if p > 0 {
                        self.control_voices(Some(false));
                        self.last_control = self.frame + off as u64;
                    }
                    self.render_voices(off, len, len, p, Some(false));
                    (off, p) = (off + len, p + 1);
                }
                limit
            };
            self.span_left = n;
            self.span_off = 0;
            self.span_period = 0;
        }
        // As many of the span's periods as have the same tracks sounding, in one chunk (the
        // mixer gives the same samples however a stretch is cut into chunks).
        let len = self.uniform_frames(to_grid);
        self.mix_chunk(len);
    }

    /// Sets [`Engine::whole_tracks`]: the tracks all of whose voices may render several control
    /// periods in one pass (see [`Voice::renders_alone`]). Returns whether that holds for every
    /// active voice; then all of them do.
    fn mark_whole_tracks(&mut self) -> bool {
        *self.whole_tracks = [true; MAX_TRACKS];
        let mut all = true;
        for &vi in &self.active_list[..self.active_len] {
            let v = &self.voices[vi as usize];
            let fixed = self.song.instrument(v.slot).is_some() && v.renders_alone();
            if v.active && !fixed {
                all = false;
                if let Some(w) = self.whole_tracks.get_mut(v.track as usize) {
                    *w = false;
                }
            }
        }
        all
    }

    /// Runs ahead, for the `n` frames of a span rendered period by period, the oscillators of
    /// the synth voices there that nothing retunes before its end (see
    /// [`Voice::oscillators_ahead`]).
    fn oscillators_ahead(&mut self, n: usize) {
        for &vi in &self.active_list[..self.active_len] {
            let v = &mut self.voices[vi as usize];
            if v.active
                && Self::picked(&self.whole_tracks, v, Some(false))
                && let Some(inst) = self.song.instrument(v.slot)
            {
                v.oscillators_ahead(inst, n);
            }
        }
    }

    /// Whether voice `v` is among those `select` picks: all (`None`), or those on tracks that
    /// render the span in one pass (`Some(true)`) or not (`Some(false)`).
    fn picked(whole_tracks: &[bool; MAX_TRACKS], v: &Voice, select: Option<bool>) -> bool {
        select.is_none_or(|w| whole_tracks.get(v.track as usize).copied().unwrap_or(false) == w)
    }

    /// Runs the oscillators of every synth voice and their filters up to eight voices at a time
    /// (the filter recursion is the longest dependency chain of a voice; eight interleave for
    /// about the time of one).
    fn prepare_synths(&mut self, (off, len): (usize, usize), first: usize, select: Option<bool>) {
        let mut group = [0u16; FILTER_LANES];
        let mut lanes = 0;
        // The filters pair frames from even absolute frames (see `SvfCoefs`).
        let odd = (self.frame + off as u64) % 2 == 1;
        let (song, rate) = (&self.song, self.rate);
        let mut step = |v: &mut Voice, len: usize, next: Option<(usize, usize)>| {
            if let Some(inst) = song.instrument(v.slot) {
                v.step_period(inst, rate, len, next);
            }
        };
        for k in 0..self.active_len {
            let i = self.active_list[k] as usize;
            let v = &mut self.voices[i];
            if !v.active || !Self::picked(&self.whole_tracks, v, select) {
                continue;
            }
            let Some(inst) = self.song.instrument(v.slot) else {
                continue;
            };
            if v.prepare(inst, (off, len, first)) {
                group[lanes] = i as u16;
                lanes += 1;
                if lanes == FILTER_LANES {
                    filter_group::<FILTER_LANES>(
                        &mut self.voices,
                        &group,
                        lanes,
                        (off, len, first, odd),
                        &mut step,
                    );
                    lanes = 0;
                }
            }
        }
        // The rest of the voices. (One function choosing among these cases, called here and in
        // the loop, cost demo-synth 3 % more instructions: the compiler then inlined the lane
        // moves into the filter pass differently.)
        if lanes > 4 {
            filter_group::<FILTER_LANES>(
                &mut self.voices,
                &group,
                lanes,
                (off, len, first, odd),
                &mut step,
            );
        } else if lanes > 1 {
            let mut four = [0u16; 4];
            four.copy_from_slice(&group[..4]);
            filter_group::<4>(
                &mut self.voices,
                &four,
                lanes,
                (off, len, first, odd),
                &mut step,
            );
        } else if lanes == 1 {
            filter_one(
                &mut self.voices[group[0] as usize],
                (off, len, first, odd),
                &mut step,
            );
        }
    }

    /// Adds voice `vi` to the active list (after it starts).
    fn list_voice(&mut self, vi: usize) {
        if self.voices[vi].active && !self.listed[vi] && self.active_len < self.active_list.len() {
            self.listed[vi] = true;
            self.active_list[self.active_len] = vi as u16;
            self.active_len += 1;
        }
    }

    fn control_all(&mut self) {
        self.control_voices(None);
    }

    /// The control step of the voices `select` picks (see [`Engine::picked`]).
    fn control_voices(&mut self, select: Option<bool>) {
        let rate = self.rate;
        for &vi in &self.active_list[..self.active_len] {
            let v = &mut self.voices[vi as usize];
            if !v.active || !Self::picked(&self.whole_tracks, v, select) {
                continue;
            }
            match self.song.instrument(v.slot) {
                Some(inst) => v.control(inst, rate, false),
                None => v.reset(),
            }
        }
    }

    /// Renders the voices' next `n` frames into the track buffers from offset `off` (control
    /// periods `p0`… of the span; the first is `first` frames long) and notes, per period, the
    /// tracks with a voice sounding at its start. Only the voices `select` picks (see
    /// [`Engine::picked`]).
    fn render_voices(
        &mut self,
        off: usize,
        n: usize,
        first: usize,
        p0: usize,
        select: Option<bool>,
    ) {
        let n = n.clamp(1, SPAN - off.min(SPAN - 1));
        let first = first.clamp(1, n);
        let period_start = |p: usize| {
            if p == 0 {
                0
            } else {
                first + (p - 1) * MAX_CHUNK
            }
        };
        let periods = 1 + (n - first).div_ceil(MAX_CHUNK);
        let mut zeroed = [false; MAX_TRACKS];
        self.prepare_synths((off, n), first, select);
        for k in 0..self.active_len {
            let i = self.active_list[k] as usize;
            let v = &mut self.voices[i];
            if !v.active || !Self::picked(&self.whole_tracks, v, select) {
                continue;
            }
            let inst = self.song.instrument(v.slot);
            let t = v.track as usize;
            let (Some(inst), Some(buf)) = (inst, self.track_buf.get_mut(t)) else {
                v.reset();
                continue;
            };
            let (bl, br) = buf.split_at_mut(SPAN);
            let (bl, br) = (&mut bl[off..off + n], &mut br[off..off + n]);
            // The track's first voice in the span writes its frames (see `Scratch::write`).
            self.scratch.write = !zeroed[t];
            zeroed[t] = true;
            let covered = v.render(inst, bl, br, first, &mut self.scratch);
            let used = self.span_used.iter_mut().skip(p0).take(periods);
            for (p, used) in used.enumerate() {
                if period_start(p) >= covered {
                    break;
                }
                used[t] = true;
            }
            if !v.active
                && let Some(l) = self.lanes.get_mut(v.lane as usize)
                && l.voice == Some((i as u16, v.id))
            {
                l.voice = None;
            }
        }
        // Drop finished voices from the list, keeping the order of the rest.
        let mut kept = 0;
        for k in 0..self.active_len {
            let i = self.active_list[k] as usize;
            if self.voices[i].active {
                self.active_list[kept] = i as u16;
                kept += 1;
            } else {
                self.listed[i] = false;
            }
        }
        self.active_len = kept;
    }

    /// Frames from the span's current period (which ends in `to_grid` frames) on through the
    /// following periods that had the same tracks sounding at their start; only the current
    /// period while a frozen track plays (its audio may end inside the span).
    fn uniform_frames(&self, to_grid: usize) -> usize {
        let mut len = to_grid.min(self.span_left);
        if self.frozen.iter().any(|f| f.is_playing()) {
            return len;
        }
        let p = self.span_period.min(SPAN_PERIODS - 1);
        for next in &self.span_used[p + 1..] {
            if len >= self.span_left || *next != self.span_used[p] {
                break;
            }
            len = (len + MAX_CHUNK).min(self.span_left);
        }
        len
    }

    /// Mixes the span's next `len` frames (one control period or less, or the periods that
    /// [`Engine::uniform_frames`] allows together) into the chunk: frozen tracks, the mixer and
    /// the click.
    fn mix_chunk(&mut self, len: usize) {
        let Engine {
            chunk,
            song,
            frozen,
            track_buf,
            mix,
            transport,
            click,
            span_used,
            ..
        } = self;
        let (left, right) = chunk.split_at_mut(SPAN);
        let (left, right) = (&mut left[..len], &mut right[..len]);
        left.fill(0.0);
        right.fill(0.0);
        let off = self.span_off;
        let mut used = span_used[self.span_period.min(SPAN_PERIODS - 1)];
        // The song's tracks only (not all MAX_TRACKS states): this runs for every chunk.
        for (t, (f, state)) in song.frozen.iter().zip(frozen.iter_mut()).enumerate() {
            if let (Some(f), Some(buf)) = (f, track_buf.get_mut(t)) {
                let (bl, br) = buf.split_at_mut(SPAN);
                let (bl, br) = (&mut bl[off..off + len], &mut br[off..off + len]);
                if state.render(f, bl, br, used[t]) {
                    used[t] = true;
                }
            }
        }
        mix.set_tempo(song, transport.bpm);
        mix.mix(song, track_buf, off, &used, left, right);
        click.render(self.frame, left, right);
        let to_grid = (CONTROL_FRAMES - self.frame % CONTROL_FRAMES) as usize;
        self.chunk_len = len;
        self.chunk_pos = 0;
        self.frame += len as u64;
        self.span_off += len;
        self.span_left -= len;
        // The period after the last one mixed (a chunk ends on the grid or at the span's end).
        self.span_period += 1 + len.saturating_sub(to_grid).div_ceil(MAX_CHUNK);
    }
}

/// [`filter_group`] for a lone voice: its filter on its signal in place, period by period (the
/// same arithmetic as a lane of a group, without moving the signal in and out of lanes).
fn filter_one(
    v: &mut Voice,
    (off, len, first_period, odd): (usize, usize, usize, bool),
    step: &mut Step<'_>,
) {
    let stepping = v.steps_itself();
    for (p, (start, end)) in voice::periods(len, first_period).enumerate() {
        if p > 0 && stepping {
            step(v, 0, Some((off + start, end - start)));
        }
        // An open filter leaves the period unfiltered and its state as it was.
        if !v.filter_is_open() {
            v.filter_signal(off + start..off + end, odd ^ (start % 2 == 1));
        }
        if stepping {
            step(v, end - start, None);
        }
    }
}

/// Most synth voices filtered in one pass.
const FILTER_LANES: usize = 8;

/// Filters the prepared signals of up to `L` voices in one interleaved pass: `len` frames from
/// frame `off` of their buffers, the first control period `first_period` frames long.
fn filter_group<const L: usize>(
    voices: &mut [Voice],
    group: &[u16; L],
    lanes: usize,
    span: (usize, usize, usize, bool),
    step: &mut Step<'_>,
) {
    crate::dsp::simd::dispatch!(
        filter_group_avx2(voices, group, lanes, span, step),
        filter_group_any::<L, false>(voices, group, lanes, span, step)
    )
}

/// What a voice that steps itself through a span's control periods (see
/// [`Voice::renders_alone`]) does between them: [`Voice::step_period`] (after a period of
/// `len` frames; before the next one, at `Some((frame, frames))` of its buffer).
type Step<'a> = dyn FnMut(&mut Voice, usize, Option<(usize, usize)>) + 'a;

/// [`filter_group`] compiled for AVX2 (see [`crate::dsp::simd`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn filter_group_avx2<const L: usize>(
    voices: &mut [Voice],
    group: &[u16; L],
    lanes: usize,
    span: (usize, usize, usize, bool),
    step: &mut Step<'_>,
) {
    filter_group_any::<L, true>(voices, group, lanes, span, step)
}

/// Eight frames × eight lanes at a time (groups of more than four voices): loads each lane's
/// eight frames as one vector and transposes, giving each frame's eight lanes as one vector (and
/// back), instead of moving one value at a time. (Groups of four or fewer lanes, done the same
/// way, took more instructions than value by value: measured on the demo songs.)
#[cfg(target_arch = "x86_64")]
mod lanes8 {
    use super::Voice;
    use std::arch::x86_64::*;

    /// Transposes an 8 × 8 block of floats held as eight vectors.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose(r: [__m256; 8]) -> [__m256; 8] {
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let u = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        [
            _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
            _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
        ]
    }

    /// Copies the signals of the group's first `lanes` voices from frame `start` into `x`
    /// (frame by frame, lane by lane) in whole blocks of eight frames, zeros in the other
    /// lanes; returns the frames copied.
    #[target_feature(enable = "avx2")]
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn gather(
        voices: &[Voice],
        group: &[u16; 8],
        lanes: usize,
        start: usize,
        x: &mut [[f32; 8]],
    ) -> usize {
        let blocks = x.len() / 8;
        for (b, out) in x.chunks_exact_mut(8).enumerate() {
            let f = start + 8 * b;
            let rows: [__m256; 8] = std::array::from_fn(|k| {
                match voices[group[k] as usize].signal().get(f..f + 8) {
                    // SAFETY: the load reads the eight floats of the slice.
                    Some(v) if k < lanes => unsafe { _mm256_loadu_ps(v.as_ptr()) },
                    _ => _mm256_setzero_ps(),
                }
            });
            for (o, c) in out.iter_mut().zip(transpose(rows)) {
                // SAFETY: the store writes the eight floats of `o`.
                unsafe { _mm256_storeu_ps(o.as_mut_ptr(), c) };
            }
        }
        8 * blocks
    }

    /// The reverse of [`gather`]: frames of `x` in whole blocks of eight back into the signals
    /// of the group's first `lanes` voices (but those `open`) from frame `start`; returns the
    /// frames copied.
    #[target_feature(enable = "avx2")]
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn scatter(
        voices: &mut [Voice],
        (group, open): (&[u16; 8], &[bool; 8]),
        lanes: usize,
        start: usize,
        x: &[[f32; 8]],
    ) -> usize {
        let blocks = x.len() / 8;
        for (b, frames) in x.chunks_exact(8).enumerate() {
            let f = start + 8 * b;
            // SAFETY: each load reads the eight floats of a frame.
            let rows: [__m256; 8] =
                std::array::from_fn(|j| unsafe { _mm256_loadu_ps(frames[j].as_ptr()) });
            for (k, c) in transpose(rows).into_iter().enumerate().take(lanes) {
                if open[k] {
                    continue;
                }
                let sig = voices[group[k] as usize].signal_mut();
                if let Some(v) = sig.get_mut(f..f + 8) {
                    // SAFETY: the store writes the eight floats of the slice.
                    unsafe { _mm256_storeu_ps(v.as_mut_ptr(), c) };
                }
            }
        }
        8 * blocks
    }
}

/// Computes, for all lanes at once (the same bits as one by one), the coefficients of the lanes
/// whose voice's control step left them to compute (see [`Voice::pending_cutoff`]) for a cutoff
/// the lane does not have yet, among the first `lanes` where `only`; `keys` holds what each lane's
/// coefficients are for (cutoff, resonance, rate; NaN: not known). Returns the lanes that got
/// coefficients. The voices keep theirs to compute until [`hand_back_coefs`].
#[inline(always)]
fn batch_coefs<const L: usize>(
    voices: &[Voice],
    group: &[u16; L],
    (lanes, only): (usize, &[bool; L]),
    coefs: &mut crate::dsp::filter::LaneCoefs<L>,
    keys: &mut [[f32; 3]; L],
) -> [bool; L] {
    let mut which = [false; L];
    let (mut cutoff, mut resonance) = ([1000.0; L], [0.0; L]);
    let mut rate = None;
    for (k, &vi) in group.iter().enumerate().take(lanes) {
        if !only[k] {
            continue;
        }
        if let Some(key) = voices[vi as usize].pending_cutoff()
            && key != keys[k]
            // (Every voice runs at the engine's rate; one that did not would compute its own.)
            && *rate.get_or_insert(key[2]) == key[2]
        {
            (which[k], cutoff[k], resonance[k]) = (true, key[0], key[1]);
            keys[k] = key;
        }
    }
    if let Some(rate) = rate {
        coefs.lowpass(&which, cutoff, resonance, rate);
    }
    which
}

/// Gives the voices whose coefficients [`batch_coefs`] computed in their lanes (and still match
/// their control step's) those coefficients.
#[inline(always)]
fn hand_back_coefs<const L: usize>(
    voices: &mut [Voice],
    group: &[u16; L],
    lanes: usize,
    coefs: &crate::dsp::filter::LaneCoefs<L>,
    keys: &[[f32; 3]; L],
) {
    for (k, &vi) in group.iter().enumerate().take(lanes) {
        let v = &mut voices[vi as usize];
        if v.pending_cutoff() == Some(keys[k]) {
            v.set_coefs(coefs.lane(k, keys[k][1]));
        }
    }
}

#[inline(always)]
fn filter_group_any<const L: usize, const WIDE: bool>(
    voices: &mut [Voice],
    group: &[u16; L],
    lanes: usize,
    (off, len, first_period, odd): (usize, usize, usize, bool),
    step: &mut Step<'_>,
) {
    use crate::dsp::filter::{LaneCoefs, LaneStates, Svf};
    // Unused lanes run on zero coefficients (silence in, silence out; their output is dropped).
    let mut coefs = LaneCoefs::<L>::zeroed();
    let mut states = [Svf::default(); L];
    // Lanes whose voice steps itself through the periods (new coefficients each period), and
    // those whose filter is open this period (left unfiltered, their state untouched, as the
    // engine's period-by-period pass leaves them).
    let (mut stepping, mut open) = ([false; L], [false; L]);
    let mut keys = [[f32::NAN; 3]; L];
    let batched = batch_coefs(voices, group, (lanes, &[true; L]), &mut coefs, &mut keys);
    for (k, &vi) in group.iter().enumerate().take(lanes) {
        let v = &mut voices[vi as usize];
        (stepping[k], open[k]) = (v.steps_itself(), v.filter_is_open());
        if !batched[k] {
            coefs.set(k, &v.coefs());
        }
        states[k] = *v.filter_state();
    }
    let any_stepping = stepping.contains(&true);
    // One pass per control period, as one chunk per period would make (the filters flush
    // denormals at the end of each pass).
    let mut x = [[0.0f32; L]; MAX_CHUNK];
    for (p, (start, end)) in voice::periods(len, first_period).enumerate() {
        if p > 0 && any_stepping {
            for (k, &vi) in group.iter().enumerate().take(lanes) {
                if stepping[k] {
                    let v = &mut voices[vi as usize];
                    step(v, 0, Some((off + start, end - start)));
                    open[k] = v.filter_is_open();
                }
            }
            // The lanes whose cutoff moved get their coefficients here, all at once.
            batch_coefs(voices, group, (lanes, &stepping), &mut coefs, &mut keys);
        }
        // The period's frames in the voices' buffers (the blocks start at `off`), its first at
        // an odd absolute frame when `odd_start`.
        let odd_start = odd ^ (start % 2 == 1);
        let x = &mut x[..end - start];
        let (start, end) = (off + start, off + end);
        let kept = states;
        let mut s = LaneStates::load(&states);
        let mut blocked = false;
        // Whole blocks of eight frames by vector transposes (eight lanes, AVX2), the rest value
        // by value. A period that starts on a pair goes block by block, each block moved into
        // lanes, filtered and moved back while it is in registers or the nearest cache; else
        // the period is moved into `x` first, then filtered and moved back. Either way the
        // filter cuts the period only at even frames, which changes nothing (see `LaneStates`).
        let mut done = 0;
        // SAFETY (of the calls below): `WIDE` is true only in the copy compiled into
        // `filter_group_avx2`, which runs only when the processor has AVX2.
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        if WIDE
            && let (Ok(g), Ok(o)) = (
                <&[u16; 8]>::try_from(&group[..]),
                <&[bool; 8]>::try_from(&open[..]),
            )
        {
            if odd_start {
                if let (x8, []) = x.as_flattened_mut().as_chunks_mut() {
                    done = unsafe { lanes8::gather(voices, g, lanes, start, x8) };
                }
            } else {
                let mut block = [[0.0f32; L]; 8];
                while start + done + 8 <= end {
                    if let (x8, []) = block.as_flattened_mut().as_chunks_mut() {
                        unsafe { lanes8::gather(voices, g, lanes, start + done, x8) };
                    }
                    s.run(&coefs, &mut block, false);
                    if let (x8, []) = block.as_flattened().as_chunks() {
                        unsafe { lanes8::scatter(voices, (g, o), lanes, start + done, x8) };
                    }
                    done += 8;
                }
                // The rest, value by value, filtered from a pair's start. (Written out here and
                // below rather than in helper functions: with those the compiler stopped
                // inlining the transposes, 45 M more instructions for `demo-synth`.)
                let x = &mut x[done..];
                for (k, &vi) in group.iter().enumerate().take(lanes) {
                    let sig = voices[vi as usize].signal_mut();
                    for (frame, &v) in x.iter_mut().zip(&sig[start + done..end]) {
                        frame[k] = v;
                    }
                }
                s.run(&coefs, x, false);
                for (k, &vi) in group.iter().enumerate().take(lanes) {
                    if !open[k] {
                        let sig = voices[vi as usize].signal_mut();
                        for (frame, v) in x.iter().zip(&mut sig[start + done..end]) {
                            *v = frame[k];
                        }
                    }
                }
                blocked = true;
            }
        }
        if !blocked {
            for (k, &vi) in group.iter().enumerate().take(lanes) {
                let sig = voices[vi as usize].signal_mut();
                for (frame, &v) in x[done..].iter_mut().zip(&sig[start + done..end]) {
                    frame[k] = v;
                }
            }
            s.run(&coefs, x, odd_start);
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            if WIDE {
                let flat = x.as_flattened();
                if let (Ok(g), Ok(o), (x8, [])) = (
                    <&[u16; 8]>::try_from(&group[..]),
                    <&[bool; 8]>::try_from(&open[..]),
                    flat.as_chunks(),
                ) {
                    done = unsafe { lanes8::scatter(voices, (g, o), lanes, start, x8) };
                }
            }
            for (k, &vi) in group.iter().enumerate().take(lanes) {
                if open[k] {
                    continue;
                }
                let sig = voices[vi as usize].signal_mut();
                for (frame, v) in x[done..].iter().zip(&mut sig[start + done..end]) {
                    *v = frame[k];
                }
            }
        }
        s.store(&mut states, lanes);
        for k in 0..lanes {
            if open[k] {
                states[k] = kept[k];
            }
        }
        // The filter envelopes of the voices stepping themselves move on by the period.
        if any_stepping {
            for (k, &vi) in group.iter().enumerate().take(lanes) {
                if stepping[k] {
                    step(&mut voices[vi as usize], end - start, None);
                }
            }
        }
    }
    for (k, &vi) in group.iter().enumerate().take(lanes) {
        *voices[vi as usize].filter_state() = states[k];
    }
    hand_back_coefs(voices, group, lanes, &coefs, &keys);
}
