//! Where the song is: order position and row, tempo, and the flow effects (Bxx position jump, Dxx
//! pattern break, Fxx tempo). The live engine and the song-length dry run use this same code, so
//! `ttrack info`'s duration and a render agree.

use super::song::EngineSong;
use crate::model::limits::{MAX_ORDER, MAX_ROWS};

/// Which part of the song to play and whether to loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlayRange {
    /// First order position.
    pub from: usize,
    /// Last order position (inclusive).
    pub to: usize,
    /// Loop back (to `restart`, or `from` when a range is set) instead of ending.
    pub looping: bool,
}

impl PlayRange {
    /// The whole song, once.
    pub fn song(song: &EngineSong) -> PlayRange {
        PlayRange {
            from: 0,
            to: song.order.len().saturating_sub(1),
            looping: false,
        }
    }
}

/// Sequencer position and flow state.
#[derive(Clone, Debug)]
pub struct Transport {
    /// Current order position.
    pub order_pos: usize,
    /// Current row in the pattern.
    pub row: usize,
    /// Current tempo.
    pub bpm: u16,
    /// Current ticks per line.
    pub tpl: u8,
    /// True once the song has ended (end of range or a row played again without looping).
    pub finished: bool,
    range: PlayRange,
    jump: Option<usize>,
    brk: Option<usize>,
    visited: Box<[u64]>,
}

impl Transport {
    /// A stopped transport; allocates the visited-row set once.
    pub fn new() -> Transport {
        Transport {
            order_pos: 0,
            row: 0,
            bpm: 125,
            tpl: 6,
            finished: true,
            range: PlayRange {
                from: 0,
                to: 0,
                looping: false,
            },
            jump: None,
            brk: None,
            visited: vec![0u64; MAX_ORDER * MAX_ROWS / 64].into_boxed_slice(),
        }
    }

    /// Starts at `at` (or `range.from`), `row`, with the tempo in force there (`bpm`, `tpl` from a chase).
    pub fn start(
        &mut self,
        song: &EngineSong,
        range: PlayRange,
        at: Option<usize>,
        row: usize,
        bpm: u16,
        tpl: u8,
    ) {
        self.visited.fill(0);
        let last = song.order.len().saturating_sub(1);
        self.range = PlayRange {
            from: range.from.min(last),
            to: range.to.min(last),
            looping: range.looping,
        };
        self.order_pos = at.map_or(self.range.from, |a| a.clamp(self.range.from, self.range.to));
        let rows = self
            .pattern(song)
            .map_or(0, |p| song.patterns[p].rows as usize);
        self.row = if row < rows { row } else { 0 };
        self.bpm = bpm;
        self.tpl = tpl;
        self.jump = None;
        self.brk = None;
        self.finished = song.order.is_empty() || self.pattern(song).is_none();
        self.mark();
    }

    /// Index of the pattern at the current order position.
    pub fn pattern(&self, song: &EngineSong) -> Option<usize> {
        let p = *song.order.get(self.order_pos)? as usize;
        (p < song.patterns.len()).then_some(p)
    }

    fn bit(&self) -> (usize, u64) {
        let i = self.order_pos.min(MAX_ORDER - 1) * MAX_ROWS + self.row.min(MAX_ROWS - 1);
        (i / 64, 1u64 << (i % 64))
    }

    fn mark(&mut self) {
        let (w, b) = self.bit();
        if let Some(x) = self.visited.get_mut(w) {
            *x |= b;
        }
    }

    fn seen(&self) -> bool {
        let (w, b) = self.bit();
        self.visited.get(w).is_some_and(|x| x & b != 0)
    }

    /// Reads the flow and tempo effects of the current row (on its first tick). Returns true when
    /// the tempo or ticks per line changed.
    pub fn scan_row(&mut self, song: &EngineSong) -> bool {
        let Some(p) = self.pattern(song) else {
            return false;
        };
        let (old_bpm, old_tpl) = (self.bpm, self.tpl);
        let mut flow = RowFlow {
            bpm: self.bpm,
            tpl: self.tpl,
            jump: self.jump,
            brk: self.brk,
        };
        flow.scan(song, p, self.row);
        (self.bpm, self.tpl, self.jump, self.brk) = (flow.bpm, flow.tpl, flow.jump, flow.brk);
        self.bpm != old_bpm || self.tpl != old_tpl
    }

    /// Moves to the next row, following jumps and breaks. Sets `finished` when the song ends.
    pub fn advance(&mut self, song: &EngineSong) {
        let rows = self
            .pattern(song)
            .map_or(0, |p| song.patterns[p].rows as usize);
        let (jump, brk) = (self.jump.take(), self.brk.take());
        if jump.is_some() || brk.is_some() {
            self.order_pos = jump.unwrap_or(self.order_pos + 1);
            self.row = brk.unwrap_or(0);
        } else {
            self.row += 1;
            if self.row >= rows {
                self.row = 0;
                self.order_pos += 1;
            }
        }
        if self.order_pos > self.range.to
            || self.order_pos < self.range.from
            || self.order_pos >= song.order.len()
        {
            if !self.range.looping {
                self.finished = true;
                return;
            }
            let restart = song.restart as usize;
            self.order_pos = if (self.range.from..=self.range.to).contains(&restart) {
                restart
            } else {
                self.range.from
            };
            self.row = 0;
            self.visited.fill(0);
        }
        // A break past the end of the next pattern starts it at row 0, as in FT2.
        let next_rows = self
            .pattern(song)
            .map_or(0, |p| song.patterns[p].rows as usize);
        if next_rows == 0 {
            self.finished = true;
            return;
        }
        if self.row >= next_rows {
            self.row = 0;
        }
        if self.seen() {
            if self.range.looping {
                self.visited.fill(0);
            } else {
                self.finished = true;
                return;
            }
        }
        self.mark();
    }
}

impl Default for Transport {
    fn default() -> Transport {
        Transport::new()
    }
}

/// Frames per tick at `rate` for a tempo: a row lasts 60 / (bpm × lpb) s and holds `tpl` ticks.
pub fn frames_per_tick(rate: u32, bpm: u16, lpb: u8, tpl: u8) -> f64 {
    rate as f64 * 60.0 / (bpm.max(1) as f64 * lpb.max(1) as f64 * tpl.max(1) as f64)
}

/// The tempo (bpm, tpl) in force when play starts at order position `from`: the Fxx effects of every
/// earlier order entry, in order (jumps are not followed).
pub fn chase_tempo(song: &EngineSong, from: usize) -> (u16, u8) {
    let mut flow = RowFlow {
        bpm: song.bpm,
        tpl: song.tpl,
        jump: None,
        brk: None,
    };
    for pos in 0..from.min(song.order.len()) {
        let Some(p) = song
            .order
            .get(pos)
            .map(|&p| p as usize)
            .filter(|&p| p < song.patterns.len())
        else {
            continue;
        };
        for row in 0..song.patterns[p].rows as usize {
            flow.scan(song, p, row);
        }
    }
    (flow.bpm, flow.tpl)
}

/// The tempo and flow effects of one row (Fxx, Bxx, Dxx), read without touching anything else.
struct RowFlow {
    bpm: u16,
    tpl: u8,
    jump: Option<usize>,
    brk: Option<usize>,
}

impl RowFlow {
    fn scan(&mut self, song: &EngineSong, pattern: usize, row: usize) {
        let Some(pat) = song.patterns.get(pattern) else {
            return;
        };
        if row >= pat.rows as usize {
            return;
        }
        for (t, track) in song.tracks.iter().enumerate().take(pat.tracks.len()) {
            let w = track.effect_columns;
            let cells = &pat.tracks[t].effects;
            for c in 0..w {
                let Some(e) = cells.get(row * w + c) else {
                    continue;
                };
                match e.command {
                    b'F' if e.param == 0 => {}
                    b'F' if e.param < 0x20 => self.tpl = e.param,
                    b'F' => self.bpm = e.param as u16,
                    b'B' => {
                        self.jump = Some(e.param as usize);
                        self.brk.get_or_insert(0);
                    }
                    b'D' => self.brk = Some(e.param as usize),
                    _ => {}
                }
            }
        }
    }
}

/// Length of a play-through, found by a dry run of the transport.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SongLength {
    /// Rows played.
    pub rows: u64,
    /// Frames at the given rate (exact, as the engine counts them).
    pub frames: u64,
    /// Seconds.
    pub seconds: f64,
}

/// Runs the sequencer over `range` without making sound and measures its length at `rate`.
pub fn song_length(song: &EngineSong, range: PlayRange, rate: u32) -> SongLength {
    let mut rows = 0u64;
    let frames = walk(song, range, rate, |_, _, _| rows += 1);
    SongLength {
        rows,
        frames,
        seconds: frames as f64 / rate as f64,
    }
}

/// For each order position, the frame (at `rate`, counted as the engine counts) where playing
/// the whole song once first reaches it; `None` for positions it never reaches.
pub fn order_starts(song: &EngineSong, rate: u32) -> Vec<Option<u64>> {
    let mut starts = vec![None; song.order.len()];
    walk(song, PlayRange::song(song), rate, |order, _, frame| {
        if let Some(s) = starts.get_mut(order)
            && s.is_none()
        {
            *s = Some(frame);
        }
    });
    starts
}

/// Runs the transport over `range` once, calling `on_row(order, row, frame)` at each row start
/// with the engine's exact tick clock; returns the frame where the last row ends.
fn walk(
    song: &EngineSong,
    range: PlayRange,
    rate: u32,
    mut on_row: impl FnMut(usize, usize, u64),
) -> u64 {
    let (bpm, tpl) = chase_tempo(song, range.from);
    let mut t = Transport::new();
    t.start(
        song,
        PlayRange {
            looping: false,
            ..range
        },
        None,
        0,
        bpm,
        tpl,
    );
    let mut anchor_frame = 0u64;
    let mut ticks = 0u64;
    let mut fpt = frames_per_tick(rate, t.bpm, song.lpb, t.tpl);
    while !t.finished {
        if t.scan_row(song) {
            anchor_frame += (ticks as f64 * fpt).round() as u64;
            ticks = 0;
            fpt = frames_per_tick(rate, t.bpm, song.lpb, t.tpl);
        }
        on_row(
            t.order_pos,
            t.row,
            anchor_frame + (ticks as f64 * fpt).round() as u64,
        );
        ticks += t.tpl as u64;
        t.advance(song);
    }
    anchor_frame + (ticks as f64 * fpt).round() as u64
}
