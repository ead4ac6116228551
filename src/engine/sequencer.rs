//! The sequencer: turns rows and ticks into note starts, releases and effect changes on lanes (one
//! lane per note column of each track), and keeps each lane's voice in step. Effect semantics are
//! documented in `docs/effects.md`.

use super::transport::frames_per_tick;
use super::voice::Start;
use super::{Engine, MAX_NOTE_COLUMNS, click};
use crate::dsp::rng::Rng;
use crate::model::{EffectCell, Note, NoteCell};

/// Playing state of one note column.
#[derive(Clone, Copy, Debug)]
pub struct Lane {
    /// Index and id of the voice this lane drives.
    pub voice: Option<(u16, u32)>,
    slot: u8,
    pitch: f32,
    target: f32,
    offset: f32,
    volume: f32,
    pan: f32,
    vib_pos: f32,
    pending: Option<Pending>,
    triggers: u32,
    last_pitch: Option<u8>,
    last_offset: u64,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    frame: u64,
    cell: NoteCell,
    tone_porta: bool,
    offset: u64,
}

impl Lane {
    /// A silent lane.
    pub fn new() -> Lane {
        Lane {
            voice: None,
            slot: 0,
            pitch: 48.0,
            target: 48.0,
            offset: 0.0,
            volume: 64.0,
            pan: 0.0,
            vib_pos: 0.0,
            pending: None,
            triggers: 0,
            last_pitch: None,
            last_offset: 0,
        }
    }
}

impl Lane {
    /// Forgets a delayed note that has not started yet.
    pub fn clear_pending(&mut self) {
        self.pending = None;
    }
}

impl Default for Lane {
    fn default() -> Lane {
        Lane::new()
    }
}

/// Effect memory and the current row's effects of one track.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackFx {
    row: [EffectCell; 4],
    porta_up: u8,
    porta_down: u8,
    tone_speed: u8,
    vib_speed: u8,
    vib_depth: u8,
    vol_slide: u8,
    offset: u8,
}

impl TrackFx {
    /// Whether the row's effects act on the ticks after its first (see `tick_effects`):
    /// arpeggio, portamentos, vibrato, volume slide, retrigger and a note cut after tick 0. A
    /// track without them does nothing on those ticks, as in FT2.
    fn acts_on_ticks(&self) -> bool {
        self.row.iter().any(|e| {
            !e.is_empty()
                && match e.command {
                    b'0' => e.param != 0,
                    b'1' | b'2' | b'3' | b'4' | b'A' => true,
                    b'E' => matches!(e.param >> 4, 0x9 | 0xC) && e.param & 15 != 0,
                    _ => false,
                }
        })
    }
}

/// Semitones per unit of portamento parameter per tick (FT2 linear slides: 1/16 semitone).
const PORTA_UNIT: f32 = 1.0 / 16.0;
/// Semitones of vibrato peak deviation per unit of depth.
const VIB_DEPTH_UNIT: f32 = 1.0 / 8.0;

impl Engine {
    /// Handles whatever is due at the current frame: delayed notes, then a tick.
    pub(super) fn handle_events(&mut self) {
        let now = self.frame;
        if self.next_pending <= now {
            self.fire_pending(now);
        }
        if self.sequencing && self.next_tick_frame <= now {
            self.do_tick();
        }
        if self.midi.next_frame() <= now {
            self.fire_midi(now);
        }
        self.recompute_next_event();
    }

    fn lanes_in_use(&self) -> usize {
        self.song.tracks.len() * MAX_NOTE_COLUMNS
    }

    fn fire_pending(&mut self, now: u64) {
        let mut next = u64::MAX;
        for li in 0..self.lanes_in_use() {
            if let Some(p) = self.lanes[li].pending {
                if p.frame <= now {
                    self.lanes[li].pending = None;
                    self.apply_cell(li, p.cell, p.tone_porta, p.offset);
                } else {
                    next = next.min(p.frame);
                }
            }
        }
        self.next_pending = next;
    }

    fn do_tick(&mut self) {
        if self.tick >= self.transport.tpl as u32 {
            // The row before had no tick events (see below): it ends here, where its last tick
            // would have moved the transport on. (Until then the position still shows it.)
            self.tick = 0;
            self.transport.advance(&self.song);
        }
        if self.transport.finished {
            // The last row has run its full length: the song is over now.
            self.end_of_song();
            return;
        }
        if self.tick == 0 {
            if self.transport.scan_row(&self.song) {
                // Tempo change: re-anchor the exact tick clock at this row's start.
                self.anchor_frame = self.next_tick_frame;
                self.ticks_since_anchor = 0;
                self.frames_per_tick = frames_per_tick(
                    self.song.rate,
                    self.transport.bpm,
                    self.song.lpb,
                    self.transport.tpl,
                );
            }
            self.row_start = self.next_tick_frame;
            self.row_frames = self.frames_per_tick * self.transport.tpl as f64;
            let pattern = self.transport.pattern(&self.song).unwrap_or(0);
            let (order, row) = (self.transport.order_pos, self.transport.row);
            self.midi
                .row_started(self.row_start, self.row_frames, order, pattern, row);
            let lpb = self.song.lpb.max(1) as usize;
            if row % lpb == 0 {
                // The click is added after the master look-ahead: due that much later.
                let heard = self.row_start + self.latency_frames();
                self.click.beat(
                    heard,
                    (row / lpb).is_multiple_of(click::BEATS_PER_BAR as usize),
                );
            }
            if order != self.frozen_order || row == 0 {
                self.sync_frozen(order, row);
            }
            self.start_row();
        } else {
            self.tick_effects();
        }
        // A row whose effects do nothing on its later ticks (the tracks' as `tick_effects`
        // reads them) has no tick events: the next is the next row's start, at the frame it
        // would have had after them. The voices then render up to it without stopping there.
        let ticks = if self.tick == 0
            && !self.track_fx[..self.song.tracks.len()]
                .iter()
                .any(TrackFx::acts_on_ticks)
        {
            (self.transport.tpl as u32).max(1)
        } else {
            1
        };
        self.ticks_since_anchor += ticks as u64;
        self.tick += ticks;
        if ticks == 1 && self.tick >= self.transport.tpl as u32 {
            self.tick = 0;
            self.transport.advance(&self.song);
        }
        self.next_tick_frame = self.anchor_frame
            + (self.ticks_since_anchor as f64 * self.frames_per_tick).round() as u64;
    }

    fn end_of_song(&mut self) {
        self.sequencing = false;
        self.midi.stopped_at(self.frame);
        self.next_tick_frame = u64::MAX;
        for l in self.lanes.iter_mut() {
            l.pending = None;
        }
        self.next_pending = u64::MAX;
        for v in self.voices.iter_mut().filter(|v| v.active) {
            v.release();
        }
    }

    /// Frame of tick `k` of the current row.
    fn tick_frame(&self, k: u32) -> u64 {
        let t = self.ticks_since_anchor + k as u64;
        self.anchor_frame + (t as f64 * self.frames_per_tick).round() as u64
    }

    fn start_row(&mut self) {
        let Some(p) = self.transport.pattern(&self.song) else {
            return;
        };
        let row = self.transport.row;
        let order = self.transport.order_pos;
        let ntracks = self.song.tracks.len();
        for t in 0..ntracks {
            if self.song.slice_muted(order, t) {
                self.frozen[t].stop();
                // A muted slice is silent: what still sounds from before fades out (as a cut)
                // and its cells are skipped. Flow and tempo effects still apply (the transport
                // reads them), so muting never changes the song's timing.
                self.silence_track(t);
                continue;
            }
            if self.song.frozen(t).is_some() {
                // A frozen track plays its audio; its cells (kept aside) do not sound.
                continue;
            }
            let (nc, ec) = (
                self.song.tracks[t].note_columns,
                self.song.tracks[t].effect_columns,
            );
            let pat = &self.song.patterns[p];
            if row >= pat.rows as usize || t >= pat.tracks.len() {
                continue;
            }
            let mut fx = [EffectCell::EMPTY; 4];
            for (c, slot) in fx.iter_mut().enumerate().take(ec.min(4)) {
                *slot = pat.tracks[t]
                    .effects
                    .get(row * ec + c)
                    .copied()
                    .unwrap_or(EffectCell::EMPTY);
            }
            let mut cells = [NoteCell::EMPTY; MAX_NOTE_COLUMNS];
            for (c, cell) in cells.iter_mut().enumerate().take(nc.min(MAX_NOTE_COLUMNS)) {
                *cell = pat.tracks[t]
                    .notes
                    .get(row * nc + c)
                    .copied()
                    .unwrap_or(NoteCell::EMPTY);
            }
            self.start_track_row(t, nc, fx, &cells);
        }
    }

    fn start_track_row(
        &mut self,
        t: usize,
        nc: usize,
        fx: [EffectCell; 4],
        cells: &[NoteCell; MAX_NOTE_COLUMNS],
    ) {
        let mut note_delay_ticks = 0u32;
        let mut tone_porta = false;
        let mut offset = 0u64;
        {
            let m = &mut self.track_fx[t];
            m.row = fx;
            for e in fx.iter().filter(|e| !e.is_empty()) {
                let (x, y) = (e.param >> 4, e.param & 15);
                match e.command {
                    b'1' if e.param != 0 => m.porta_up = e.param,
                    b'2' if e.param != 0 => m.porta_down = e.param,
                    b'3' => {
                        tone_porta = true;
                        if e.param != 0 {
                            m.tone_speed = e.param;
                        }
                    }
                    b'4' => {
                        if x != 0 {
                            m.vib_speed = x;
                        }
                        if y != 0 {
                            m.vib_depth = y;
                        }
                    }
                    b'9' => {
                        if e.param != 0 {
                            m.offset = e.param;
                        }
                        offset = m.offset as u64 * 256;
                    }
                    b'A' if e.param != 0 => m.vol_slide = e.param,
                    b'E' if x == 0xD => note_delay_ticks = y as u32,
                    _ => {}
                }
            }
        }
        let tpl = self.transport.tpl as u32;
        for (c, cell) in cells.iter().enumerate().take(nc) {
            let li = t * MAX_NOTE_COLUMNS + c;
            self.lanes[li].offset = 0.0;
            if cell.is_empty() {
                continue;
            }
            if note_delay_ticks >= tpl {
                continue; // EDx past the row's last tick: the note never plays (as in FT2).
            }
            let delay_frames = (cell.delay as f64 / 256.0 * self.row_frames).round() as u64;
            let at = self.tick_frame(note_delay_ticks) + delay_frames;
            let row_end = self.row_start + self.row_frames.round() as u64;
            let at = at.min(row_end.saturating_sub(1)).max(self.row_start);
            if at <= self.frame {
                self.apply_cell(li, *cell, tone_porta, offset);
            } else {
                self.lanes[li].pending = Some(Pending {
                    frame: at,
                    cell: *cell,
                    tone_porta,
                    offset,
                });
                self.next_pending = self.next_pending.min(at);
            }
        }
        // Tick-0 effects, after the notes (a note with an instrument resets the volume first).
        for e in fx.iter().filter(|e| !e.is_empty()) {
            let (x, y) = (e.param >> 4, e.param & 15);
            for c in 0..nc {
                let li = t * MAX_NOTE_COLUMNS + c;
                let lane = &mut self.lanes[li];
                match e.command {
                    b'8' => lane.pan = (e.param as f32 - 128.0) / 127.0,
                    b'C' => lane.volume = (e.param as f32).min(64.0),
                    b'E' => match x {
                        0x1 => lane.pitch += y as f32 * PORTA_UNIT,
                        0x2 => lane.pitch -= y as f32 * PORTA_UNIT,
                        0xA => lane.volume = (lane.volume + y as f32).min(64.0),
                        0xB => lane.volume = (lane.volume - y as f32).max(0.0),
                        0xC if y == 0 => lane.volume = 0.0,
                        _ => {}
                    },
                    _ => {}
                }
                lane.pan = lane.pan.clamp(-1.0, 1.0);
            }
        }
        // Vibrato also steps on tick 0 (Impulse Tracker's way), so it never dips back to the base
        // pitch at the start of each row.
        if fx.iter().any(|e| e.command == b'4') {
            let m = self.track_fx[t];
            for c in 0..nc {
                vibrato_step(&mut self.lanes[t * MAX_NOTE_COLUMNS + c], &m);
            }
        }
        for c in 0..nc {
            self.sync_voice(t * MAX_NOTE_COLUMNS + c);
        }
    }

    /// Applies a note cell to lane `li` now: instrument, volume, note start or release.
    fn apply_cell(&mut self, li: usize, cell: NoteCell, tone_porta: bool, offset: u64) {
        let t = li / MAX_NOTE_COLUMNS;
        if cell.instrument != 0 {
            self.lanes[li].slot = cell.instrument;
            if let Some(inst) = self.song.instrument(cell.instrument) {
                self.lanes[li].volume = 64.0;
                self.lanes[li].pan = inst.pan;
            }
        }
        if cell.volume <= NoteCell::FULL_VOLUME {
            self.lanes[li].volume = cell.volume as f32;
        }
        match cell.note {
            Note::On(p) => {
                let has_voice = self.lane_voice(li).is_some();
                if tone_porta && has_voice {
                    self.lanes[li].target = p as f32;
                } else {
                    let lane = &mut self.lanes[li];
                    lane.pitch = p as f32;
                    lane.target = p as f32;
                    lane.vib_pos = 0.0;
                    lane.last_pitch = Some(p);
                    lane.last_offset = offset;
                    self.start_voice(li, t, offset);
                }
            }
            Note::Off => {
                if let Some(v) = self.lane_voice(li) {
                    self.voices[v].release();
                }
            }
            Note::Empty => {}
        }
        self.sync_voice(li);
    }

    /// Puts the frozen tracks at order position `order`: on entering a position they go on
    /// playing when they are where the position starts, else they move there. The first row after
    /// a play start may lie inside the position (play from the cursor): `row` rows in.
    fn sync_frozen(&mut self, order: usize, row: usize) {
        let offset = if self.frozen_order == usize::MAX {
            row as f64 * self.row_frames
        } else {
            0.0
        };
        self.frozen_order = order;
        for t in 0..self.song.tracks.len().min(self.frozen.len()) {
            if let Some(f) = self.song.frozen(t)
                && !self.song.slice_muted(order, t)
            {
                self.frozen[t].enter(f, order, offset);
            }
        }
    }

    /// Fades out every voice the sequencer started on track `t` and forgets its delayed notes.
    fn silence_track(&mut self, t: usize) {
        for c in 0..MAX_NOTE_COLUMNS {
            let li = t * MAX_NOTE_COLUMNS + c;
            self.lanes[li].pending = None;
            if let Some(v) = self.lane_voice(li) {
                self.voices[v].fade_out();
            }
            self.lanes[li].voice = None;
        }
    }

    fn lane_voice(&self, li: usize) -> Option<usize> {
        let (vi, id) = self.lanes[li].voice?;
        let v = self.voices.get(vi as usize)?;
        (v.active && v.id == id).then_some(vi as usize)
    }

    /// Starts a new voice on lane `li` with the lane's instrument and pitch; the old voice fades.
    fn start_voice(&mut self, li: usize, t: usize, offset: u64) {
        if let Some(old) = self.lane_voice(li) {
            self.voices[old].fade_out();
        }
        self.lanes[li].voice = None;
        let slot = self.lanes[li].slot;
        match self.song.instrument(slot) {
            Some(inst) if !inst.is_silent() => {}
            _ => return,
        }
        let vi = self.alloc_voice();
        let Some(inst) = self.song.instrument(slot) else {
            return;
        };
        let lane = &mut self.lanes[li];
        lane.triggers = lane.triggers.wrapping_add(1);
        let start = Start {
            slot,
            pitch: lane.pitch + lane.offset,
            gain: lane.volume / 64.0,
            pan: lane.pan,
            offset,
            seed: Rng::seed_from(&[self.song.seed, t as u64, li as u64, lane.triggers as u64]),
        };
        let v = &mut self.voices[vi];
        v.track = t as u16;
        v.lane = li as u16;
        v.tag = 0;
        if v.start(inst, &start, self.rate) {
            lane.voice = Some((vi as u16, v.id));
        }
        self.list_voice(vi);
    }

    /// A free voice, or the quietest one when all are busy.
    pub(super) fn alloc_voice(&mut self) -> usize {
        let n = self.voices.len();
        for k in 0..n {
            let i = (self.next_voice + k) % n;
            if !self.voices[i].active {
                self.next_voice = (i + 1) % n;
                return i;
            }
        }
        let mut best = 0;
        let mut quietest = f32::MAX;
        for (i, v) in self.voices.iter().enumerate() {
            let l = v.loudness();
            if l < quietest {
                quietest = l;
                best = i;
            }
        }
        best
    }

    /// Copies lane state (pitch, volume, pan) to its voice.
    fn sync_voice(&mut self, li: usize) {
        let Some(vi) = self.lane_voice(li) else {
            return;
        };
        let lane = self.lanes[li];
        let v = &mut self.voices[vi];
        v.pitch = lane.pitch + lane.offset;
        v.gain = lane.volume / 64.0;
        v.pan = lane.pan;
        if let Some(inst) = self.song.instrument(v.slot) {
            v.retune(inst, self.rate);
        }
    }

    fn tick_effects(&mut self) {
        let tick = self.tick;
        for t in 0..self.song.tracks.len() {
            let nc = self.song.tracks[t].note_columns.min(MAX_NOTE_COLUMNS);
            let m = self.track_fx[t];
            if !m.acts_on_ticks() {
                // Nothing changes on this tick (its lanes' offsets are 0 since the row began).
                continue;
            }
            for c in 0..nc {
                let li = t * MAX_NOTE_COLUMNS + c;
                let lane = &mut self.lanes[li];
                lane.offset = 0.0;
                let mut retrigger = false;
                for e in m.row.iter().filter(|e| !e.is_empty()) {
                    let (x, y) = (e.param >> 4, e.param & 15);
                    match e.command {
                        b'0' if e.param != 0 => {
                            lane.offset = match tick % 3 {
                                1 => x as f32,
                                2 => y as f32,
                                _ => 0.0,
                            }
                        }
                        b'1' => {
                            lane.pitch = (lane.pitch + m.porta_up as f32 * PORTA_UNIT).min(131.0)
                        }
                        b'2' => {
                            lane.pitch = (lane.pitch - m.porta_down as f32 * PORTA_UNIT).max(-12.0)
                        }
                        b'3' => {
                            let s = m.tone_speed as f32 * PORTA_UNIT;
                            lane.pitch = if lane.pitch < lane.target {
                                (lane.pitch + s).min(lane.target)
                            } else {
                                (lane.pitch - s).max(lane.target)
                            };
                        }
                        b'4' => vibrato_step(lane, &m),
                        b'A' => {
                            let (up, down) = (m.vol_slide >> 4, m.vol_slide & 15);
                            lane.volume = if up != 0 {
                                (lane.volume + up as f32).min(64.0)
                            } else {
                                (lane.volume - down as f32).max(0.0)
                            };
                        }
                        b'E' => match x {
                            0x9 if y != 0 && tick.is_multiple_of(y as u32) => retrigger = true,
                            0xC if tick == y as u32 => lane.volume = 0.0,
                            _ => {}
                        },
                        _ => {}
                    }
                }
                if retrigger && let Some(p) = lane.last_pitch {
                    lane.pitch = p as f32;
                    let off = lane.last_offset;
                    self.start_voice(li, t, off);
                }
                self.sync_voice(li);
            }
        }
    }
}

/// Advances a lane's vibrato by one tick and sets its pitch offset.
fn vibrato_step(lane: &mut Lane, m: &TrackFx) {
    lane.vib_pos = (lane.vib_pos + m.vib_speed as f32 / 64.0).fract();
    lane.offset =
        (lane.vib_pos * std::f32::consts::TAU).sin() * m.vib_depth as f32 * VIB_DEPTH_UNIT;
}
