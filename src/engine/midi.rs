//! MIDI input inside the engine: events stamped with the frame they sound at, played at once on the
//! current instrument ("MIDI thru", polyphonic, sustain pedal aware) and reported back to the UI
//! with the exact song position that was heard when they were played (order, row and a delay value
//! in 1/256 of a row, as the delay column of a cell).
//!
//! Two ways in, both bounded and allocation-free on the audio thread:
//! - [`Engine::midi_in`]: an event with its frame offset from the start of the next block (the JACK
//!   host reads `ttrack:midi_in` in its process callback and passes each event's exact frame).
//! - a ring of [`TimedMidi`] (midir's thread pushes, stamped with a monotonic clock in nanoseconds);
//!   the audio wrapper tells the engine when each period started ([`PeriodClock`]), and each event
//!   that arrived during the previous period sounds at the same place in the next one: a constant
//!   latency of one period, without jitter.
//!
//! The song position of a frame comes from a short history of row starts (the sequencer records
//! every row it starts), so a frame in the recent past, "now minus the output latency and the
//! engine's look-ahead", can be placed exactly even across tempo changes.

use super::Engine;
use super::commands::AUDITION_LANE;
use super::msg::Report;
use crate::model::Note;
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Observer, Split};

/// One MIDI channel message the engine understands. Channels are 0..=15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MidiMessage {
    /// A key was pressed; `velocity` is 1..=127 (a note-on with velocity 0 is a [`Self::NoteOff`]).
    NoteOn {
        /// Channel 0..=15.
        channel: u8,
        /// MIDI note number 0..=127 (60 = C-4 in tracker notation).
        key: u8,
        /// 1..=127.
        velocity: u8,
    },
    /// A key was released.
    NoteOff {
        /// Channel 0..=15.
        channel: u8,
        /// MIDI note number 0..=127.
        key: u8,
        /// Release velocity 0..=127 (0 when it came as a note-on with velocity 0).
        velocity: u8,
    },
    /// The sustain pedal (controller 64): down at values 64 and above.
    Sustain {
        /// Channel 0..=15.
        channel: u8,
        /// Pedal pressed.
        down: bool,
    },
}

impl MidiMessage {
    /// The message's channel.
    pub fn channel(self) -> u8 {
        match self {
            MidiMessage::NoteOn { channel, .. }
            | MidiMessage::NoteOff { channel, .. }
            | MidiMessage::Sustain { channel, .. } => channel,
        }
    }
}

/// A message stamped with its arrival on a monotonic clock (nanoseconds since a process-wide
/// epoch; `crate::midi::clock` is that clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedMidi {
    /// Arrival time in nanoseconds.
    pub nanos: u64,
    /// The message.
    pub msg: MidiMessage,
}

/// Producer end of a MIDI input ring (held by the input thread).
pub struct MidiSender(ringbuf::HeapProd<TimedMidi>);
/// Consumer end of a MIDI input ring (held by the engine; see [`super::Command::SetMidiInput`]).
pub struct MidiReceiver(ringbuf::HeapCons<TimedMidi>);

impl MidiSender {
    /// Queues an event; false (the event is dropped) when the ring is full.
    pub fn send(&mut self, ev: TimedMidi) -> bool {
        ringbuf::traits::Producer::try_push(&mut self.0, ev).is_ok()
    }
}

impl MidiReceiver {
    /// The oldest event, if any.
    pub fn recv(&mut self) -> Option<TimedMidi> {
        self.0.try_pop()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.0.occupied_len()
    }

    /// True when no event waits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for MidiSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MidiSender({} free)", self.0.vacant_len())
    }
}

impl std::fmt::Debug for MidiReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MidiReceiver({} waiting)", self.0.occupied_len())
    }
}

/// Events a MIDI input ring holds (a few seconds of the fastest playing).
pub const MIDI_RING_CAPACITY: usize = 1024;
/// Most events waiting to sound at once; more in one block are dropped and counted.
pub const MAX_PENDING_MIDI: usize = 256;
/// Rows of history kept to place a frame of the recent past in the song.
pub const ROW_HISTORY: usize = 256;
/// Device periods remembered with their frame time, to place a moment given in frame time even
/// when the host skipped cycles since (JACK after an xrun).
pub const PERIOD_HISTORY: usize = 1024;
/// Reports kept in the engine while the report ring is full.
const REPORT_BACKLOG: usize = 64;

/// Creates a MIDI input ring: the sender goes to the input thread, the receiver to the engine.
pub fn midi_ring() -> (MidiSender, MidiReceiver) {
    let (p, c) = HeapRb::<TimedMidi>::new(MIDI_RING_CAPACITY).split();
    (MidiSender(p), MidiReceiver(c))
}

/// What the audio wrapper tells the engine at the start of each device period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodClock {
    /// When the period's callback started, on the clock of [`TimedMidi::nanos`].
    pub now_nanos: u64,
    /// Frames of the period.
    pub frames: u32,
    /// Frames between computing a frame and hearing it, when the device says.
    pub output_latency: Option<u32>,
    /// The host's frame counter at the period's first frame, when it has one shared with its
    /// inputs (JACK's frame time): moments given in it are placed exactly.
    pub frame_time: Option<u32>,
}

/// A place in the song, as a recorder writes it into a cell.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SongPos {
    /// Order position.
    pub order: u16,
    /// Pattern at that order position.
    pub pattern: u16,
    /// Row.
    pub row: u16,
    /// Sub-row position in 1/256 of the row, rounded (the delay column's value); 255 at most.
    pub delay: u8,
    /// Exact frames from the row's start to the event.
    pub frames_into_row: u32,
    /// Length of the row in frames (exact, fractional).
    pub row_frames: f64,
}

/// A moment to place in the song (see [`super::Command::Locate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Nanoseconds on the clock of [`TimedMidi::nanos`].
    Nanos(u64),
    /// The host's frame counter ([`PeriodClock::frame_time`]): exact.
    FrameTime(u32),
}

/// Where a moment fell in the song as heard (see [`super::Command::Locate`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Located {
    /// The song was heard here at that moment.
    At(SongPos),
    /// The song had not started yet: it started `frames` frames later, at `start` (a play start
    /// or a count-in after the moment).
    Before {
        /// Frames from the moment to the song's first row.
        frames: u64,
        /// The first row played.
        start: SongPos,
    },
    /// The engine cannot tell: not playing then, no device period yet (offline), or the moment
    /// is older than the row history.
    Unknown,
}

/// The answer to a [`super::Command::Locate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocateReport {
    /// The command's id.
    pub id: u32,
    /// Where the moment fell.
    pub located: Located,
}

/// One MIDI event as the engine played it, for the UI (recording, activity display).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MidiReport {
    /// The message.
    pub msg: MidiMessage,
    /// Engine frame (since play started) at which it was played (it sounds there, or at the next
    /// chunk when the host's blocks are not multiples of the 64-frame control grid).
    pub frame: u64,
    /// Frames taken off `frame` to find what was heard: the device's output latency plus the
    /// engine's look-ahead ([`Engine::latency_frames`]: its frame counter runs that far ahead of
    /// its output).
    pub latency: u32,
    /// The song position heard when it was played (`frame - latency`), or `None` when the song
    /// was not playing then. (The thru note itself sounds `Engine::latency_frames` after `frame`,
    /// like everything the engine plays.)
    pub at: Option<SongPos>,
}

#[derive(Clone, Copy, Debug, Default)]
struct RowMark {
    start: u64,
    frames: f64,
    order: u16,
    pattern: u16,
    row: u16,
    /// The sequencer stopped here (no row after it).
    stop: bool,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    frame: u64,
    msg: MidiMessage,
}

const NO_MSG: MidiMessage = MidiMessage::Sustain {
    channel: 0,
    down: false,
};

/// The engine's MIDI state; everything is preallocated.
pub(super) struct MidiState {
    /// Events given with offsets from the start of the next block, not yet placed.
    incoming: Box<[(u32, MidiMessage)]>,
    incoming_len: usize,
    /// Events placed at absolute engine frames, sorted by frame.
    pending: Box<[Pending]>,
    pending_len: usize,
    receiver: Option<Box<MidiReceiver>>,
    /// The current period's clock, until the ring is drained at block start.
    period: Option<PeriodClock>,
    prev_period_nanos: Option<u64>,
    /// A [`super::Command::Locate`] to answer at the next period.
    pub(super) locate: Option<(u32, Moment)>,
    /// Recent periods: (host frame time, engine output frame) of their first frame, signed
    /// (a period before a play start lies before the new run's frame 0).
    periods: Box<[(u32, i64)]>,
    periods_head: usize,
    periods_len: usize,
    latency: u32,
    thru_track: u8,
    thru_slot: u8,
    sustain_down: [bool; 16],
    sustained: [u128; 16],
    rows: Box<[RowMark]>,
    rows_head: usize,
    rows_len: usize,
    backlog: Box<[MidiReport]>,
    backlog_len: usize,
    /// Events dropped (pending list full) plus reports dropped (backlog full).
    pub(super) dropped: u64,
    /// Events played.
    pub(super) events: u64,
}

impl MidiState {
    pub(super) fn new() -> MidiState {
        let empty_report = MidiReport {
            msg: NO_MSG,
            frame: 0,
            latency: 0,
            at: None,
        };
        MidiState {
            incoming: vec![(0, NO_MSG); MAX_PENDING_MIDI].into_boxed_slice(),
            incoming_len: 0,
            pending: vec![
                Pending {
                    frame: 0,
                    msg: NO_MSG
                };
                MAX_PENDING_MIDI
            ]
            .into_boxed_slice(),
            pending_len: 0,
            receiver: None,
            period: None,
            prev_period_nanos: None,
            locate: None,
            periods: vec![(0, 0); PERIOD_HISTORY].into_boxed_slice(),
            periods_head: 0,
            periods_len: 0,
            latency: 0,
            thru_track: 0,
            thru_slot: 1,
            sustain_down: [false; 16],
            sustained: [0; 16],
            rows: vec![RowMark::default(); ROW_HISTORY].into_boxed_slice(),
            rows_head: 0,
            rows_len: 0,
            backlog: vec![empty_report; REPORT_BACKLOG].into_boxed_slice(),
            backlog_len: 0,
            dropped: 0,
            events: 0,
        }
    }

    /// Frame of the next event to play, `u64::MAX` when none waits.
    pub(super) fn next_frame(&self) -> u64 {
        if self.pending_len == 0 {
            u64::MAX
        } else {
            self.pending[0].frame
        }
    }

    fn insert(&mut self, frame: u64, msg: MidiMessage) {
        if self.pending_len >= self.pending.len() {
            self.dropped += 1;
            return;
        }
        // Keep arrival order among equal frames: insert after every event at or before `frame`.
        let mut i = self.pending_len;
        while i > 0 && self.pending[i - 1].frame > frame {
            self.pending[i] = self.pending[i - 1];
            i -= 1;
        }
        self.pending[i] = Pending { frame, msg };
        self.pending_len += 1;
    }

    fn pop_due(&mut self, now: u64) -> Option<Pending> {
        if self.pending_len == 0 || self.pending[0].frame > now {
            return None;
        }
        let p = self.pending[0];
        self.pending.copy_within(1..self.pending_len, 0);
        self.pending_len -= 1;
        Some(p)
    }

    /// Records the start of a row (called by the sequencer on every row's first tick).
    pub(super) fn row_started(
        &mut self,
        start: u64,
        frames: f64,
        order: usize,
        pattern: usize,
        row: usize,
    ) {
        self.push_mark(RowMark {
            start,
            frames,
            order: order.min(u16::MAX as usize) as u16,
            pattern: pattern.min(u16::MAX as usize) as u16,
            row: row.min(u16::MAX as usize) as u16,
            stop: false,
        });
    }

    /// Records that the sequencer stopped at `frame`.
    pub(super) fn stopped_at(&mut self, frame: u64) {
        self.push_mark(RowMark {
            start: frame,
            stop: true,
            ..RowMark::default()
        });
    }

    fn push_mark(&mut self, mark: RowMark) {
        self.rows[self.rows_head] = mark;
        self.rows_head = (self.rows_head + 1) % self.rows.len();
        self.rows_len = (self.rows_len + 1).min(self.rows.len());
    }

    /// The engine's frame counter restarts at 0 (play) and runs `preroll` frames ahead of the
    /// output once play starts: events still waiting keep their distance from the output position
    /// `out_frame`, and the row history of the old run is forgotten.
    pub(super) fn rebase(&mut self, out_frame: u64, preroll: u64) {
        for p in self.pending[..self.pending_len].iter_mut() {
            p.frame = p.frame.saturating_sub(out_frame) + preroll;
        }
        for k in 0..self.periods_len {
            let i = (self.periods_head + self.periods.len() - 1 - k) % self.periods.len();
            self.periods[i].1 = self.periods[i].1 - out_frame as i64 + preroll as i64;
        }
        self.rows_len = 0;
    }

    /// Remembers that the period starting at host frame time `ft` starts at engine frame `base`.
    fn push_period(&mut self, ft: u32, base: u64) {
        self.periods[self.periods_head] = (ft, base as i64);
        self.periods_head = (self.periods_head + 1) % self.periods.len();
        self.periods_len = (self.periods_len + 1).min(self.periods.len());
    }

    /// The engine frame of host frame time `t`: from the newest remembered period that starts
    /// at or before it (exact across skipped cycles), else from `(now, base)`.
    fn frame_of_time(&self, t: u32, now: u32, base: u64) -> i64 {
        let n = self.periods.len();
        for k in 0..self.periods_len {
            let (ft, b) = self.periods[(self.periods_head + n - 1 - k) % n];
            let d = t.wrapping_sub(ft) as i32;
            if d >= 0 {
                return b + i64::from(d);
            }
        }
        base as i64 + i64::from(t.wrapping_sub(now) as i32)
    }

    /// Where engine frame `frame` fell: in a row, before the first row of a run that started
    /// after it (the whole run since play started is still in the history), or unknown.
    pub(super) fn locate_frame(&self, frame: i64) -> Located {
        if let Some(at) = self.position_of(frame) {
            return Located::At(at);
        }
        let n = self.rows.len();
        if self.rows_len == 0 || self.rows_len >= n {
            return Located::Unknown;
        }
        let first = &self.rows[(self.rows_head + n - self.rows_len) % n];
        if first.stop || first.start as i64 <= frame {
            return Located::Unknown;
        }
        Located::Before {
            frames: (first.start as i64 - frame) as u64,
            start: SongPos {
                order: first.order,
                pattern: first.pattern,
                row: first.row,
                delay: 0,
                frames_into_row: 0,
                row_frames: first.frames,
            },
        }
    }

    /// The song position of engine frame `frame` (which may lie before 0: before play started).
    pub(super) fn position_of(&self, frame: i64) -> Option<SongPos> {
        let n = self.rows.len();
        for k in 0..self.rows_len {
            let m = &self.rows[(self.rows_head + n - 1 - k) % n];
            if (m.start as i64) > frame {
                continue;
            }
            if m.stop {
                return None;
            }
            let into = (frame - m.start as i64) as f64;
            if k == 0 && into >= m.frames {
                // Past the end of the last row: the song has ended.
                return None;
            }
            let delay = (into / m.frames.max(1.0) * 256.0).round().clamp(0.0, 255.0) as u8;
            return Some(SongPos {
                order: m.order,
                pattern: m.pattern,
                row: m.row,
                delay,
                frames_into_row: into.min(u32::MAX as f64) as u32,
                row_frames: m.frames,
            });
        }
        None
    }
}

/// Tag of MIDI thru voices: unique per channel and key, apart from the UI's audition tags.
fn thru_tag(channel: u8, key: u8) -> u32 {
    0x4D49_0000 | ((channel as u32 & 15) << 8) | key as u32
}

impl Engine {
    /// Queues `msg` to sound `offset_frames` frames after the start of the next block (the JACK
    /// host passes each event's frame in the period). Bounded: beyond [`MAX_PENDING_MIDI`] events
    /// per block the rest are dropped and counted.
    pub fn midi_in(&mut self, offset_frames: u32, msg: MidiMessage) {
        let m = &mut self.midi;
        if m.incoming_len >= m.incoming.len() {
            m.dropped += 1;
            return;
        }
        m.incoming[m.incoming_len] = (offset_frames, msg);
        m.incoming_len += 1;
    }

    /// The audio wrapper's word that a device period starts now (see [`PeriodClock`]).
    pub fn begin_period(&mut self, clock: &PeriodClock) {
        if let Some(l) = clock.output_latency {
            self.midi.latency = l;
        }
        self.midi.period = Some(*clock);
    }

    /// Sets the output latency in frames used to place events in the song (what was heard is
    /// this many frames older than what is being computed).
    pub fn set_output_latency(&mut self, frames: u32) {
        self.midi.latency = frames;
    }

    /// Gives the engine a MIDI input ring (see [`midi_ring`]); returns the one it replaces. The
    /// ring is read at each period the audio wrapper announces with [`Engine::begin_period`].
    pub fn connect_midi(
        &mut self,
        receiver: Option<Box<MidiReceiver>>,
    ) -> Option<Box<MidiReceiver>> {
        std::mem::replace(&mut self.midi.receiver, receiver)
    }

    /// Which track and instrument slot (1-based; 0 = none) MIDI notes play at once.
    pub fn set_midi_thru(&mut self, track: u8, slot: u8) {
        self.midi.thru_track = track;
        self.midi.thru_slot = slot;
    }

    /// Output frame: the next frame `process` hands out (chunks are rendered ahead of it).
    pub(super) fn out_frame(&self) -> u64 {
        self.frame
            .saturating_sub(self.chunk_len.saturating_sub(self.chunk_pos) as u64)
    }

    /// Places the events that came in since the last block at engine frames: direct ones at their
    /// offsets, ring ones at their arrival time within the previous period, one period later.
    /// Called at the start of every `process`, after the commands.
    pub(super) fn midi_block_start(&mut self) {
        self.flush_midi_reports();
        let base = self.out_frame();
        let rate = self.song.rate as u64;
        if let Some(clock) = self.midi.period.take() {
            if let Some(ft) = clock.frame_time {
                self.midi.push_period(ft, base);
            }
            if let Some((id, at)) = self.midi.locate.take() {
                self.answer_locate(id, at, base, &clock);
            }
            let prev = self.midi.prev_period_nanos.replace(clock.now_nanos);
            let last = clock.frames.saturating_sub(1) as u64;
            let mut placed = false;
            // Taken out for the loop and put back: moving the box neither allocates nor frees.
            if let Some(mut rx) = self.midi.receiver.take() {
                let mut budget = rx.len().min(MAX_PENDING_MIDI);
                while budget > 0 {
                    budget -= 1;
                    let Some(ev) = rx.recv() else { break };
                    let offset = match prev {
                        Some(p) if ev.nanos > p => {
                            ((ev.nanos - p) as u128 * rate as u128 / 1_000_000_000) as u64
                        }
                        _ => 0,
                    }
                    .min(last);
                    self.midi.insert(base + offset, ev.msg);
                    placed = true;
                }
                self.midi.receiver = Some(rx);
            }
            if placed {
                self.recompute_next_event();
            }
        }
        if self.midi.incoming_len > 0 {
            for i in 0..self.midi.incoming_len {
                let (offset, msg) = self.midi.incoming[i];
                self.midi.insert(base + offset as u64, msg);
            }
            self.midi.incoming_len = 0;
            self.recompute_next_event();
        }
    }

    /// Plays every MIDI event due at `now` (called from the event loop of the sequencer, after the
    /// tick at `now`, so a row starting at `now` is already in the history). An event whose frame
    /// fell inside a chunk rendered before it arrived (host blocks off the 64-frame control grid)
    /// sounds up to 63 frames late; its song position still comes from its own frame.
    pub(super) fn fire_midi(&mut self, now: u64) {
        // What is heard lags the engine's frame counter by the device's output latency and the
        // master limiter's look-ahead (the counter runs that far ahead of the output).
        let lookahead = self.latency_frames().min(u32::MAX as u64) as u32;
        while let Some(Pending { frame, msg }) = self.midi.pop_due(now) {
            self.midi.events += 1;
            self.play_midi(msg);
            let latency = self.midi.latency.saturating_add(lookahead);
            let at = self.midi.position_of(frame as i64 - latency as i64);
            self.report_midi(MidiReport {
                msg,
                frame,
                latency,
                at,
            });
        }
    }

    /// Answers a [`super::Command::Locate`]: the moment's engine frame is found from this
    /// period's start (`base` went out at `clock.now_nanos`), then what was heard then, as for a
    /// MIDI event: the output latency and the look-ahead earlier.
    fn answer_locate(&mut self, id: u32, at: Moment, base: u64, clock: &PeriodClock) {
        let rate = i128::from(self.song.rate);
        // The moment's engine frame, relative to this period's first.
        let df = match (at, clock.frame_time) {
            // Exact: the host's own frame counter (wrapping, 32 bits), through the period that
            // held the moment.
            (Moment::FrameTime(t), Some(now)) => {
                Some(i128::from(self.midi.frame_of_time(t, now, base)) - i128::from(base))
            }
            (Moment::FrameTime(_), None) => None,
            (Moment::Nanos(nanos), _) => {
                let dn = i128::from(nanos) - i128::from(clock.now_nanos);
                // Rounded to the nearest frame, also for moments before the period.
                Some((dn * rate * 2 + 1_000_000_000).div_euclid(2_000_000_000))
            }
        };
        let located = df.map_or(Located::Unknown, |df| {
            let heard = i128::from(self.midi.latency) + i128::from(self.latency_frames());
            let frame = (i128::from(base) + df - heard).clamp(i64::MIN as i128, i64::MAX as i128);
            self.midi.locate_frame(frame as i64)
        });
        if let Some(link) = self.link.as_mut() {
            // A lost answer is asked again by the UI.
            link.send_report(Report::Located(LocateReport { id, located }));
        }
    }

    fn play_midi(&mut self, msg: MidiMessage) {
        match msg {
            MidiMessage::NoteOn {
                channel,
                key,
                velocity,
            } => {
                let ch = (channel & 15) as usize;
                self.midi.sustained[ch] &= !(1u128 << (key & 127));
                let Some(Note::On(pitch)) = Note::from_midi(key) else {
                    return;
                };
                let volume = ((velocity.min(127) as u32 * 64 + 63) / 127) as u8;
                let (track, slot) = (self.midi.thru_track, self.midi.thru_slot);
                if slot != 0 {
                    self.start_audition(thru_tag(channel, key), track, slot, pitch, volume);
                }
            }
            MidiMessage::NoteOff { channel, key, .. } => {
                let ch = (channel & 15) as usize;
                if self.midi.sustain_down[ch] {
                    self.midi.sustained[ch] |= 1u128 << (key & 127);
                } else {
                    self.release_tag(thru_tag(channel, key));
                }
            }
            MidiMessage::Sustain { channel, down } => {
                let ch = (channel & 15) as usize;
                self.midi.sustain_down[ch] = down;
                if !down {
                    let held = std::mem::take(&mut self.midi.sustained[ch]);
                    for key in 0..128u8 {
                        if held & (1u128 << key) != 0 {
                            self.release_tag(thru_tag(channel, key));
                        }
                    }
                }
            }
        }
    }

    fn release_tag(&mut self, tag: u32) {
        for &vi in &self.active_list[..self.active_len] {
            let v = &mut self.voices[vi as usize];
            if v.active && v.lane == AUDITION_LANE && v.tag == tag {
                v.release();
            }
        }
    }

    fn report_midi(&mut self, r: MidiReport) {
        self.flush_midi_reports();
        let sent = self.midi.backlog_len == 0
            && self
                .link
                .as_mut()
                .is_some_and(|l| l.send_report(Report::Midi(r)));
        if sent || self.link.is_none() {
            return;
        }
        if self.midi.backlog_len < self.midi.backlog.len() {
            self.midi.backlog[self.midi.backlog_len] = r;
            self.midi.backlog_len += 1;
        } else {
            self.midi.dropped += 1;
        }
    }

    fn flush_midi_reports(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let mut sent = 0;
        while sent < self.midi.backlog_len
            && link.send_report(Report::Midi(self.midi.backlog[sent]))
        {
            sent += 1;
        }
        if sent > 0 {
            self.midi
                .backlog
                .copy_within(sent..self.midi.backlog_len, 0);
            self.midi.backlog_len -= sent;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    fn state_with_rows(rows: &[(u64, f64)]) -> MidiState {
        let mut m = MidiState::new();
        for (i, &(start, frames)) in rows.iter().enumerate() {
            m.row_started(start, frames, 0, 0, i);
        }
        m
    }

    #[test]
    fn frames_map_to_rows_and_delays_across_a_tempo_change() {
        // Two rows of 5760 frames (125 BPM, LPB 4 at 48 kHz), then rows of 2880 (250 BPM).
        let m = state_with_rows(&[
            (0, 5760.0),
            (5760, 5760.0),
            (11520, 2880.0),
            (14400, 2880.0),
        ]);
        let p = m.position_of(0).unwrap();
        assert_eq!((p.row, p.delay, p.frames_into_row), (0, 0, 0));
        let p = m.position_of(5760 + 2880).unwrap();
        assert_eq!((p.row, p.delay), (1, 128));
        let p = m.position_of(11520 + 720).unwrap();
        assert_eq!((p.row, p.delay), (2, 64), "{p:?}");
        assert_eq!(p.frames_into_row, 720);
        let p = m.position_of(14400 + 2879).unwrap();
        assert_eq!((p.row, p.delay), (3, 255));
        assert!(m.position_of(14400 + 2880).is_none(), "past the last row");
        assert!(m.position_of(-1).is_none(), "before play started");
    }

    #[test]
    fn delay_rounds_to_the_nearest_256th() {
        let m = state_with_rows(&[(1000, 5760.0)]);
        // One 256th of this row is 22.5 frames.
        let p = m.position_of(1000 + 34).unwrap();
        assert_eq!(p.delay, 2, "34 frames = 1.51 units");
        let p = m.position_of(1000 + 33).unwrap();
        assert_eq!(p.delay, 1, "33 frames = 1.47 units");
    }

    #[test]
    fn a_stop_ends_the_song_for_later_frames() {
        let mut m = state_with_rows(&[(0, 1000.0)]);
        m.stopped_at(500);
        assert!(m.position_of(499).is_some());
        assert!(m.position_of(500).is_none());
    }

    #[test]
    fn pending_events_pop_in_frame_then_arrival_order() {
        let mut m = MidiState::new();
        let on = |key| MidiMessage::NoteOn {
            channel: 0,
            key,
            velocity: 100,
        };
        m.insert(50, on(1));
        m.insert(10, on(2));
        m.insert(50, on(3));
        assert_eq!(m.next_frame(), 10);
        assert!(m.pop_due(9).is_none());
        assert_eq!(m.pop_due(100).map(|p| p.msg), Some(on(2)));
        assert_eq!(m.pop_due(100).map(|p| p.msg), Some(on(1)));
        assert_eq!(m.pop_due(100).map(|p| p.msg), Some(on(3)));
        assert_eq!(m.next_frame(), u64::MAX);
    }

    #[test]
    fn the_history_keeps_the_newest_rows() {
        let mut m = MidiState::new();
        for i in 0..(ROW_HISTORY + 10) {
            m.row_started(i as u64 * 100, 100.0, 0, 0, i);
        }
        let last = (ROW_HISTORY + 9) as u64 * 100;
        assert_eq!(
            m.position_of(last as i64 + 50).unwrap().row as usize,
            ROW_HISTORY + 9
        );
        assert!(m.position_of(0).is_none(), "forgotten rows are not guessed");
    }
}
