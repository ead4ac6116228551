//! Standard MIDI Files (layer 2): export a song as SMF type 1 and import any SMF into a song, with
//! the `midly` crate for the byte-level format.
//!
//! **Export.** The song is walked as it plays (order list, `Bxx` jumps, `Dxx` breaks, one pass).
//! Every row is 256 MIDI ticks and a quarter note is `256 × LPB` ticks, so a delay value `dd` is
//! exactly tick `dd` of its row. The first track holds the tempo map (the song's BPM, then every
//! `Fxx` tempo change at its row); then one MIDI track per ttrack track, on channel `track mod 16`
//! (channel 10 is skipped: it is the drum channel of General MIDI). Velocity = volume × 127 / 64
//! (an empty volume is full, 127; volume 00 becomes velocity 1, since velocity 0 means note-off).
//! A note ends at the next note or note-off in its column, or at the end of the song. Effects
//! other than tempo are not exported (MIDI has no equivalent for most tracker effects).
//!
//! **Import.** Notes are paired (each note-off ends the oldest sounding note of its key and
//! channel), timed in seconds through the file's tempo map, and placed at that exact time on the
//! song's row grid: the row whose start is at or before the note, with the delay value for the
//! rest (1/256 of a row). The song gets the file's first tempo (rounded to a whole BPM, LPB 4);
//! later tempo changes become `Fxx` effects (32..=255 BPM, as FT2 allows) in track 1. Because
//! notes are placed by time, the rounding never moves a note. With `quantize = Some(n)` notes start
//! on multiples of `n` rows instead. Each (MIDI track, channel) pair with notes becomes a track;
//! chords fill note columns (up to 8, then an extra track); a note-off is written unless the
//! column's next note starts in the same row (the new note cuts the old one, as in trackers).
//! Every part gets a built-in synth chosen from its General MIDI program; channel 10 plays the
//! sample kit (kick, snare, clap, closed and open hat, built into the program).

use crate::format::atomic::write_atomic;
use crate::format::wav::read_wav_from;
use crate::model::limits::{MAX_NOTE_COLUMNS, MAX_PATTERNS, MAX_TRACKS};
use crate::model::{
    Adsr, EffectCell, Instrument, InstrumentKind, Note, NoteCell, Pattern, Sampler, Song, Synth,
    Track, Waveform, validate,
};
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

/// Ticks per row in exported files (the delay column's resolution).
pub const TICKS_PER_ROW: u32 = 256;
/// Largest MIDI file read.
pub const MAX_MIDI_BYTES: u64 = 16 << 20;
/// Most notes imported from one file.
pub const MAX_NOTES: usize = 1_000_000;
/// Rows per pattern of an imported song.
pub const IMPORT_PATTERN_ROWS: u32 = 64;
/// Lines per beat of an imported song.
pub const IMPORT_LPB: u8 = 4;

/// Why a MIDI file could not be read or written.
#[derive(Debug, Error)]
pub enum MidiError {
    /// Reading or writing the file failed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than [`MAX_MIDI_BYTES`].
    #[error("the file is {0} bytes; a MIDI file is at most {MAX_MIDI_BYTES} bytes here")]
    TooLarge(u64),
    /// Not a valid Standard MIDI File.
    #[error("this is not a valid Standard MIDI File: {0}")]
    Parse(String),
    /// The file holds no notes.
    #[error("the MIDI file holds no notes")]
    NoNotes,
    /// Beyond the limits of a song.
    #[error("the MIDI file does not fit in a song: {0}")]
    TooBig(String),
    /// The song cannot be exported.
    #[error("cannot export the song: {0}")]
    Export(String),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] crate::format::AtomicError),
}

// ------------------------------------------------------------------------------------------------
// Export
// ------------------------------------------------------------------------------------------------

/// One note of a song as exported: absolute tick, channel, key, velocity, length in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OutNote {
    start: u64,
    end: u64,
    key: u8,
    vel: u8,
}

/// MIDI key of a ttrack pitch value (C-4 = 48 here = MIDI 60), if it is in MIDI's range.
fn midi_key(pitch: u8) -> Option<u8> {
    let k = pitch as u16 + 12;
    (k <= 127).then_some(k as u8)
}

/// Velocity of a volume column value (0xFF = none = full).
fn velocity(volume: u8) -> u8 {
    if volume == NoteCell::NO_VOLUME {
        127
    } else {
        ((volume.min(0x40) as u32 * 127 + 32) / 64).max(1) as u8
    }
}

/// Volume column value of a velocity (127 = full = written as none).
fn volume_of(vel: u8) -> u8 {
    let v = ((vel as u32 * 64 + 63) / 127) as u8;
    if v >= 0x40 { NoteCell::NO_VOLUME } else { v }
}

/// Encodes `song` as a Standard MIDI File (type 1).
pub fn export(song: &Song) -> Result<Vec<u8>, MidiError> {
    validate(song).map_err(|e| MidiError::Export(e.to_string()))?;
    let tracks = song.tracks.len();
    // Per track and note column: the sounding note (start, key, vel).
    let mut sounding: Vec<Vec<Option<(u64, u8, u8)>>> = song
        .tracks
        .iter()
        .map(|t| vec![None; t.note_columns as usize])
        .collect();
    let mut notes: Vec<Vec<OutNote>> = vec![Vec::new(); tracks];
    let mut tempo: Vec<(u64, u16)> = vec![(0, song.bpm)];
    let mut row_tick = 0u64;
    let mut bpm = song.bpm;
    for (order, row) in play_order(song) {
        let pat = &song.patterns[song.order[order] as usize];
        for ti in 0..tracks {
            for c in 0..pat.effect_columns(ti) {
                let e = pat.effect(ti, row, c);
                if e.command == b'F' && e.param >= 0x20 && e.param as u16 != bpm {
                    bpm = e.param as u16;
                    tempo.push((row_tick, bpm));
                }
            }
        }
        for (ti, cols) in sounding.iter_mut().enumerate() {
            for (c, slot) in cols.iter_mut().enumerate() {
                let cell = pat.note(ti, row, c);
                let at = row_tick + cell.delay as u64;
                let ends = matches!(cell.note, Note::On(_) | Note::Off);
                if ends && let Some((start, key, vel)) = slot.take() {
                    notes[ti].push(OutNote {
                        start,
                        end: at.max(start + 1),
                        key,
                        vel,
                    });
                }
                if let Note::On(pitch) = cell.note
                    && let Some(key) = midi_key(pitch)
                {
                    *slot = Some((at, key, velocity(cell.volume)));
                }
            }
        }
        row_tick += TICKS_PER_ROW as u64;
    }
    for (ti, cols) in sounding.iter_mut().enumerate() {
        for s in cols.iter_mut() {
            if let Some((start, key, vel)) = s.take() {
                notes[ti].push(OutNote {
                    start,
                    end: row_tick.max(start + 1),
                    key,
                    vel,
                });
            }
        }
    }
    let ppq = TICKS_PER_ROW * song.lpb as u32;
    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(u15::new(ppq as u16)),
    ));
    // Tempo track.
    let mut events: Vec<(u64, TrackEventKind<'_>)> = vec![(
        0,
        TrackEventKind::Meta(MetaMessage::TrackName(song.title.as_bytes())),
    )];
    for &(tick, bpm) in &tempo {
        let uspq = (60_000_000.0 / bpm.max(1) as f64).round() as u32;
        events.push((
            tick,
            TrackEventKind::Meta(MetaMessage::Tempo(u24::new(uspq.min(0xFF_FFFF)))),
        ));
    }
    smf.tracks.push(to_track(events));
    for (ti, tr) in song.tracks.iter().enumerate() {
        let ch = channel_of(ti);
        let mut events: Vec<(u64, TrackEventKind<'_>)> = vec![(
            0,
            TrackEventKind::Meta(MetaMessage::TrackName(tr.name.as_bytes())),
        )];
        for n in &notes[ti] {
            events.push((
                n.start,
                TrackEventKind::Midi {
                    channel: u4::new(ch),
                    message: MidiMessage::NoteOn {
                        key: u7::new(n.key),
                        vel: u7::new(n.vel),
                    },
                },
            ));
            events.push((
                n.end,
                TrackEventKind::Midi {
                    channel: u4::new(ch),
                    message: MidiMessage::NoteOff {
                        key: u7::new(n.key),
                        vel: u7::new(64),
                    },
                },
            ));
        }
        smf.tracks.push(to_track(events));
    }
    let mut out = Vec::new();
    smf.write_std(&mut out)?;
    Ok(out)
}

/// The (order position, row) pairs of one play-through, as the sequencer plays them: `Bxx` jumps to
/// an order position, `Dxx` breaks to row `xx` of the next one (a row past the end starts it at row
/// 0), and the song ends at the end of the order list or when a row would play a second time.
pub fn play_order(song: &Song) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let (mut order, mut row) = (0usize, 0usize);
    while let Some(&p) = song.order.get(order) {
        let Some(pat) = song.patterns.get(p as usize) else {
            break;
        };
        if row >= pat.rows as usize {
            row = 0;
        }
        if !seen.insert((order, row)) {
            break;
        }
        out.push((order, row));
        let (mut jump, mut brk) = (None, None);
        for t in 0..pat.tracks.len() {
            for c in 0..pat.effect_columns(t) {
                let e = pat.effect(t, row, c);
                match e.command {
                    b'B' => jump = Some(e.param as usize),
                    b'D' => brk = Some(e.param as usize),
                    _ => {}
                }
            }
        }
        if jump.is_some() || brk.is_some() {
            order = jump.unwrap_or(order + 1);
            row = brk.unwrap_or(0);
        } else {
            row += 1;
            if row >= pat.rows as usize {
                row = 0;
                order += 1;
            }
        }
    }
    out
}

/// MIDI channel (0-based) of track `t`: 0..=15 without 9, the drum channel.
fn channel_of(t: usize) -> u8 {
    let c = (t % 15) as u8;
    if c >= 9 { c + 1 } else { c }
}

/// Sorts events by time (note-offs before note-ons at the same tick, so repeated notes work) and
/// turns them into delta-timed track events ending with End of Track.
fn to_track(mut events: Vec<(u64, TrackEventKind<'_>)>) -> Vec<TrackEvent<'_>> {
    let rank = |k: &TrackEventKind<'_>| match k {
        TrackEventKind::Meta(_) => 0,
        TrackEventKind::Midi {
            message: MidiMessage::NoteOff { .. },
            ..
        } => 1,
        _ => 2,
    };
    events.sort_by_key(|(t, k)| (*t, rank(k)));
    let mut last = 0u64;
    let mut out: Vec<TrackEvent<'_>> = events
        .into_iter()
        .map(|(t, kind)| {
            let delta = (t - last).min(0x0FFF_FFFF) as u32;
            last = t;
            TrackEvent {
                delta: u28::new(delta),
                kind,
            }
        })
        .collect();
    out.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    out
}

/// Writes `song` as a MIDI file at `path` (atomically).
pub fn save(song: &Song, path: impl AsRef<Path>) -> Result<(), MidiError> {
    let bytes = export(song)?;
    write_atomic(path, &bytes)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Import
// ------------------------------------------------------------------------------------------------

/// A note read from a file, timed in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MidiNote {
    /// Index of the MIDI track.
    pub track: usize,
    /// Channel 0..=15.
    pub channel: u8,
    /// Key 0..=127.
    pub key: u8,
    /// Velocity 1..=127.
    pub vel: u8,
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
}

/// What a MIDI file holds, timed: notes, tempo changes (seconds, BPM), programs and names.
#[derive(Clone, Debug, Default)]
pub struct MidiContent {
    /// Every note, in start order.
    pub notes: Vec<MidiNote>,
    /// Tempo changes as (seconds, BPM), the first at 0.
    pub tempo: Vec<(f64, f64)>,
    /// The program of each (track, channel) at its first note.
    pub programs: Vec<((usize, u8), u8)>,
    /// Track names.
    pub names: Vec<String>,
}

/// Checks the chunk structure before parsing: the header chunk first, and no chunk announcing
/// more bytes than the file holds (the parser would otherwise read a damaged file leniently).
fn check_chunks(bytes: &[u8]) -> Result<(), MidiError> {
    let bad = |m: String| Err(MidiError::Parse(m));
    if bytes.len() < 14 || &bytes[..4] != b"MThd" {
        return bad("it does not start with an \"MThd\" header chunk".into());
    }
    let division = u16::from_be_bytes([bytes[12], bytes[13]]);
    if division & 0x8000 != 0 && ![0xE8u8, 0xE7, 0xE3, 0xE2].contains(&((division >> 8) as u8)) {
        return bad(format!(
            "its SMPTE time division {division:#06x} names no frame rate (24, 25, 29.97 or 30)"
        ));
    }
    if division == 0 {
        return bad("its time division is 0 ticks per beat".into());
    }
    let mut at = 0usize;
    let mut n = 0usize;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
            as usize;
        let left = bytes.len() - at - 8;
        if len > left {
            let id = String::from_utf8_lossy(&bytes[at..at + 4]).into_owned();
            return bad(format!(
                "chunk {n} (\"{id}\") announces {len} bytes but only {left} follow (the file is truncated or damaged)"
            ));
        }
        at += 8 + len;
        n += 1;
    }
    if at != bytes.len() {
        return bad(format!(
            "{} stray bytes at the end, too few for a chunk",
            bytes.len() - at
        ));
    }
    Ok(())
}

/// Reads and times the notes of a Standard MIDI File.
pub fn read(bytes: &[u8]) -> Result<MidiContent, MidiError> {
    if bytes.len() as u64 > MAX_MIDI_BYTES {
        return Err(MidiError::TooLarge(bytes.len() as u64));
    }
    check_chunks(bytes)?;
    // The parser has been seen to panic on damaged input; a damaged file must be an error.
    let smf = std::panic::catch_unwind(|| Smf::parse(bytes))
        .map_err(|_| MidiError::Parse("the file is damaged (the parser gave up)".into()))?
        .map_err(|e| MidiError::Parse(e.to_string()))?;
    // Merge every track's events on one absolute tick line.
    struct Ev<'a> {
        tick: u64,
        track: usize,
        seq: usize,
        kind: TrackEventKind<'a>,
    }
    let mut evs: Vec<Ev<'_>> = Vec::new();
    let mut names = vec![String::new(); smf.tracks.len()];
    let mut seq = 0usize;
    let mut offset = 0u64;
    for (ti, track) in smf.tracks.iter().enumerate() {
        // Type 2 files hold independent sequences: play them one after another.
        let mut tick = if smf.header.format == Format::Sequential {
            offset
        } else {
            0
        };
        for e in track {
            tick += e.delta.as_int() as u64;
            if let TrackEventKind::Meta(MetaMessage::TrackName(n)) = e.kind
                && names[ti].is_empty()
            {
                names[ti] = String::from_utf8_lossy(n).trim().to_string();
            }
            evs.push(Ev {
                tick,
                track: ti,
                seq,
                kind: e.kind,
            });
            seq += 1;
            if evs.len() > 4 * MAX_NOTES {
                return Err(MidiError::TooBig(format!(
                    "more than {} events",
                    4 * MAX_NOTES
                )));
            }
        }
        offset = tick;
    }
    evs.sort_by_key(|e| (e.tick, e.seq));
    // Tick → seconds through the tempo map.
    let (ticks_per_beat, fixed) = match smf.header.timing {
        Timing::Metrical(t) => (t.as_int().max(1) as f64, None),
        Timing::Timecode(fps, sub) => (1.0, Some(1.0 / (fps.as_f32() as f64 * sub.max(1) as f64))),
    };
    let mut uspq = 500_000.0f64;
    let (mut last_tick, mut last_sec) = (0u64, 0.0f64);
    let mut tempo = vec![(0.0, 120.0)];
    let mut sounding: Vec<Vec<(usize, f64, u8)>> = vec![Vec::new(); 16 * 128];
    let mut program = [0u8; 16];
    let mut programs: Vec<((usize, u8), u8)> = Vec::new();
    let mut notes = Vec::new();
    for e in &evs {
        let sec = match fixed {
            Some(per_tick) => e.tick as f64 * per_tick,
            None => last_sec + (e.tick - last_tick) as f64 * uspq / 1e6 / ticks_per_beat,
        };
        (last_tick, last_sec) = (e.tick, sec);
        match e.kind {
            TrackEventKind::Meta(MetaMessage::Tempo(t)) if fixed.is_none() => {
                uspq = t.as_int().max(1) as f64;
                let bpm = 60e6 / uspq;
                if sec == 0.0 || tempo.last().is_some_and(|l| l.0 == sec) {
                    if let Some(l) = tempo.last_mut() {
                        l.1 = bpm;
                    }
                } else {
                    tempo.push((sec, bpm));
                }
            }
            TrackEventKind::Midi { channel, message } => {
                let ch = channel.as_int();
                match message {
                    MidiMessage::ProgramChange { program: p } => program[ch as usize] = p.as_int(),
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        if !programs.iter().any(|(k, _)| *k == (e.track, ch)) {
                            programs.push(((e.track, ch), program[ch as usize]));
                        }
                        sounding[ch as usize * 128 + key.as_int() as usize].push((
                            e.track,
                            sec,
                            vel.as_int(),
                        ));
                    }
                    MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                        let s = &mut sounding[ch as usize * 128 + key.as_int() as usize];
                        if !s.is_empty() {
                            let (track, start, vel) = s.remove(0);
                            notes.push(MidiNote {
                                track,
                                channel: ch,
                                key: key.as_int(),
                                vel,
                                start,
                                end: sec.max(start),
                            });
                            if notes.len() > MAX_NOTES {
                                return Err(MidiError::TooBig(format!(
                                    "more than {MAX_NOTES} notes"
                                )));
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Notes never released end with the file.
    for (i, s) in sounding.iter().enumerate() {
        for &(track, start, vel) in s {
            notes.push(MidiNote {
                track,
                channel: (i / 128) as u8,
                key: (i % 128) as u8,
                vel,
                start,
                end: last_sec.max(start),
            });
        }
    }
    notes.sort_by(|a, b| {
        a.start
            .total_cmp(&b.start)
            .then(a.track.cmp(&b.track))
            .then(a.channel.cmp(&b.channel))
            .then(a.key.cmp(&b.key))
    });
    if notes.is_empty() {
        return Err(MidiError::NoNotes);
    }
    Ok(MidiContent {
        notes,
        tempo,
        programs,
        names,
    })
}

/// The song's row grid: where each row starts, following the tempo changes written as Fxx.
struct Grid {
    /// (first row, its start in seconds, seconds per row) of each tempo segment.
    segments: Vec<(u64, f64, f64)>,
    /// (row, BPM) tempo changes to write as Fxx.
    changes: Vec<(u64, u16)>,
    bpm: u16,
}

impl Grid {
    fn new(tempo: &[(f64, f64)]) -> Grid {
        let clamp = |b: f64, lo: f64| b.round().clamp(lo, 255.0) as u16;
        let bpm0 = tempo
            .first()
            .map_or(120, |t| t.1.round().clamp(32.0, 999.0) as u16);
        let row_secs = |bpm: u16| 60.0 / (bpm as f64 * IMPORT_LPB as f64);
        let mut segments = vec![(0u64, 0.0f64, row_secs(bpm0))];
        let mut changes = Vec::new();
        let mut cur = bpm0;
        for &(sec, b) in tempo.iter().skip(1) {
            let bpm = clamp(b, 32.0);
            if bpm == cur {
                continue;
            }
            let &(r0, s0, len) = segments.last().unwrap_or(&(0, 0.0, 0.5));
            // The change takes effect at the first row starting at or after its time.
            let row = r0 + ((sec - s0) / len - 1e-9).ceil().max(0.0) as u64;
            let start = s0 + (row - r0) as f64 * len;
            if let Some(last) = segments.last_mut().filter(|l| l.0 == row) {
                *last = (row, start, row_secs(bpm));
                if let Some(c) = changes.last_mut().filter(|c: &&mut (u64, u16)| c.0 == row) {
                    c.1 = bpm;
                } else {
                    changes.push((row, bpm));
                }
            } else {
                segments.push((row, start, row_secs(bpm)));
                changes.push((row, bpm));
            }
            cur = bpm;
        }
        Grid {
            segments,
            changes,
            bpm: bpm0,
        }
    }

    /// Row and delay (0..=255) of a time; delays that round to 256 move to the next row.
    fn place(&self, sec: f64) -> (u64, u8) {
        let i = self.segments.partition_point(|s| s.1 <= sec).max(1) - 1;
        let (r0, s0, len) = self.segments[i];
        let pos = ((sec - s0) / len).max(0.0);
        let row = pos.floor();
        let delay = ((pos - row) * 256.0).round();
        if delay >= 256.0 {
            (r0 + row as u64 + 1, 0)
        } else {
            (r0 + row as u64, delay as u8)
        }
    }

    /// Start time of a row.
    #[cfg(test)]
    fn row_start(&self, row: u64) -> f64 {
        let i = self.segments.partition_point(|s| s.0 <= row).max(1) - 1;
        let (r0, s0, len) = self.segments[i];
        s0 + (row - r0) as f64 * len
    }

    /// Start time of a placed note.
    #[cfg(test)]
    fn time_of(&self, row: u64, delay: u8) -> f64 {
        let i = self.segments.partition_point(|s| s.0 <= row).max(1) - 1;
        let len = self.segments[i].2;
        self.row_start(row) + delay as f64 / 256.0 * len
    }
}

/// A note column being filled during import.
#[derive(Clone, Copy, Default)]
struct Column {
    /// Last row with a cell written.
    last_row: Option<u64>,
    /// When the current note ends (seconds) and where its note-off goes.
    pending_off: Option<(f64, u64, u8)>,
}

/// One imported track: its part, columns and cells (row, column, cell).
struct Part {
    key: (usize, u8),
    columns: Vec<Column>,
    cells: Vec<(u64, usize, NoteCell)>,
    instrument: u8,
}

impl Part {
    fn flush_off(&mut self, c: usize, before_row: Option<u64>) {
        if let Some((_, row, delay)) = self.columns[c].pending_off
            && before_row.is_none_or(|r| row < r)
        {
            self.cells.push((
                row,
                c,
                NoteCell {
                    note: Note::Off,
                    instrument: 0,
                    volume: NoteCell::NO_VOLUME,
                    delay,
                },
            ));
            self.columns[c].last_row = Some(row);
            self.columns[c].pending_off = None;
        }
    }
}

/// Instruments of the built-in drum kit: (name, file bytes).
const KIT: [(&str, &[u8]); 5] = [
    ("Kick", include_bytes!("../../samples/kick.wav")),
    ("Snare", include_bytes!("../../samples/snare.wav")),
    ("Clap", include_bytes!("../../samples/clap.wav")),
    (
        "Hat closed",
        include_bytes!("../../samples/hihat-closed.wav"),
    ),
    ("Hat open", include_bytes!("../../samples/hihat-open.wav")),
];

/// Kit piece (index into [`KIT`]) and pitch offset in semitones for a General MIDI drum key.
fn drum(key: u8) -> (usize, i8) {
    match key {
        35 | 36 => (0, 0),
        37 | 38 | 40 => (1, 0),
        39 => (2, 0),
        42 | 44 => (3, 0),
        46 => (4, 0),
        // Toms: a pitched kick, low to high.
        41 | 43 | 45 | 47 | 48 | 50 => (0, (key as i8 - 41) / 2 + 5),
        // Cymbals and bells: the open hat, pitched down.
        49 | 51 | 52 | 53 | 55 | 57 | 59 => (4, -5),
        _ => (3, 0),
    }
}

/// A synth for a General MIDI program (by family).
fn synth_for(program: u8) -> (String, Synth, f32) {
    let env = |a: f32, d: f32, s: f32, r: f32| Adsr {
        attack_ms: a,
        decay_ms: d,
        sustain: s,
        release_ms: r,
    };
    let base = Synth::default();
    let (name, s, vol) = match program / 8 {
        0 | 1 => (
            "Keys",
            Synth {
                osc1: Waveform::Triangle,
                osc2: Waveform::Saw,
                osc_mix: 0.2,
                osc2_semitones: 12.0,
                amp: env(2.0, 900.0, 0.3, 250.0),
                cutoff_hz: 3500.0,
                filter_env_octaves: 1.5,
                ..base
            },
            0.5,
        ),
        2 => (
            "Organ",
            Synth {
                osc1: Waveform::Sine,
                osc2: Waveform::Sine,
                osc2_semitones: 12.0,
                osc_mix: 0.4,
                amp: env(5.0, 50.0, 0.9, 80.0),
                cutoff_hz: 6000.0,
                ..base
            },
            0.4,
        ),
        3 => (
            "Guitar",
            Synth {
                osc1: Waveform::Pulse,
                pulse_width: 0.3,
                osc2: Waveform::Off,
                amp: env(1.0, 600.0, 0.2, 200.0),
                cutoff_hz: 2500.0,
                filter_env_octaves: 2.0,
                ..base
            },
            0.5,
        ),
        4 => (
            "Bass",
            Synth {
                osc1: Waveform::Saw,
                osc2: Waveform::Pulse,
                osc2_semitones: -12.0,
                osc_mix: 0.4,
                amp: env(2.0, 300.0, 0.7, 120.0),
                cutoff_hz: 900.0,
                resonance: 0.3,
                filter_env_octaves: 2.0,
                ..base
            },
            0.6,
        ),
        5 | 6 | 11 => (
            "Strings",
            Synth {
                osc1: Waveform::Saw,
                osc2: Waveform::Saw,
                osc2_semitones: 0.08,
                osc_mix: 0.5,
                amp: env(120.0, 400.0, 0.8, 500.0),
                cutoff_hz: 3000.0,
                ..base
            },
            0.35,
        ),
        7 | 9 => (
            "Brass",
            Synth {
                osc1: Waveform::Saw,
                osc2: Waveform::Pulse,
                osc_mix: 0.3,
                amp: env(25.0, 300.0, 0.7, 150.0),
                cutoff_hz: 1800.0,
                filter_env_octaves: 2.5,
                ..base
            },
            0.4,
        ),
        8 | 10 => (
            "Lead",
            Synth {
                osc1: Waveform::Pulse,
                osc2: Waveform::Saw,
                osc2_semitones: 7.02,
                osc_mix: 0.25,
                amp: env(5.0, 200.0, 0.7, 200.0),
                cutoff_hz: 4000.0,
                ..base
            },
            0.4,
        ),
        _ => (
            "Pad",
            Synth {
                osc1: Waveform::Triangle,
                osc2: Waveform::Saw,
                osc_mix: 0.3,
                amp: env(200.0, 500.0, 0.7, 800.0),
                cutoff_hz: 2500.0,
                ..base
            },
            0.35,
        ),
    };
    (name.to_string(), s, vol)
}

/// Imports a MIDI file into a new song; `quantize = Some(n)` puts notes on multiples of `n` rows.
pub fn import(bytes: &[u8], title: &str, quantize: Option<u32>) -> Result<Song, MidiError> {
    let content = read(bytes)?;
    song_from(&content, title, quantize)
}

/// Builds a song from timed MIDI content (see the module docs).
pub fn song_from(m: &MidiContent, title: &str, quantize: Option<u32>) -> Result<Song, MidiError> {
    let grid = Grid::new(&m.tempo);
    let q = quantize.map(|n| n.max(1) as u64);
    let mut parts: Vec<Part> = Vec::new();
    let mut instruments: Vec<Option<Instrument>> = Vec::new();
    let mut kit_slots: [Option<u8>; KIT.len()] = [None; KIT.len()];
    let mut last_row = 0u64;
    let place = |sec: f64| -> (u64, u8) {
        let (row, delay) = grid.place(sec);
        match q {
            Some(n) => {
                let pos = row as f64 + delay as f64 / 256.0;
                (((pos / n as f64).round() as u64) * n, 0)
            }
            None => (row, delay),
        }
    };
    for note in &m.notes {
        let key = (note.track, note.channel);
        let drum_ch = note.channel == 9;
        // Pitch and instrument.
        let (pitch, inst) = if drum_ch {
            let (piece, shift) = drum(note.key);
            let slot = match kit_slots[piece] {
                Some(s) => s,
                None => {
                    let (name, data) = KIT[piece];
                    let sample = read_wav_from(std::io::Cursor::new(data), name)
                        .map_err(|e| MidiError::Parse(format!("built-in kit: {e}")))?;
                    instruments.push(Some(Instrument {
                        name: name.into(),
                        volume: 0.8,
                        pan: 0.0,
                        kind: InstrumentKind::Sampler(Sampler::new(Arc::new(sample))),
                    }));
                    let s = instruments.len() as u8;
                    kit_slots[piece] = Some(s);
                    s
                }
            };
            ((48i16 + shift as i16).clamp(0, 119) as u8, slot)
        } else {
            let pitch = note.key as i16 - 12;
            if !(0..=119).contains(&pitch) {
                continue; // below C-0 or above B-9: no tracker note for it
            }
            (pitch as u8, 0)
        };
        let (row, delay) = place(note.start);
        let (end_row, end_delay) = place(note.end);
        // A cell holds a note or a note-off, not both: a note ending in its own row gets its
        // off at the start of the next row.
        let (end_row, end_delay) = if end_row <= row {
            (row + 1, 0)
        } else {
            (end_row, end_delay)
        };
        last_row = last_row.max(end_row);
        // Find a part of this key with a free column, else start one.
        let mut chosen = None;
        for (pi, p) in parts.iter().enumerate().filter(|(_, p)| p.key == key) {
            for (c, col) in p.columns.iter().enumerate() {
                let written_before = col.last_row.is_none_or(|r| r < row);
                let ended = match col.pending_off {
                    None => true,
                    Some((end, off_row, _)) => end <= note.start + 1e-9 && off_row <= row,
                };
                if written_before && ended {
                    chosen = Some((pi, c));
                    break;
                }
            }
            if chosen.is_none() && p.columns.len() < MAX_NOTE_COLUMNS {
                chosen = Some((pi, p.columns.len()));
            }
            if chosen.is_some() {
                break;
            }
        }
        let (pi, c) = match chosen {
            Some(x) => x,
            None => {
                if parts.len() >= MAX_TRACKS {
                    return Err(MidiError::TooBig(format!(
                        "more than {MAX_TRACKS} tracks are needed for its parts and chords"
                    )));
                }
                let instrument = if drum_ch {
                    0
                } else {
                    // One synth per (track, channel) part, shared by its overflow tracks.
                    match parts.iter().find(|p| p.key == key) {
                        Some(p) => p.instrument,
                        None => {
                            let program = m
                                .programs
                                .iter()
                                .find(|(k, _)| *k == key)
                                .map_or(0, |(_, p)| *p);
                            let (name, synth, volume) = synth_for(program);
                            instruments.push(Some(Instrument {
                                name,
                                volume,
                                pan: 0.0,
                                kind: InstrumentKind::Synth(synth),
                            }));
                            instruments.len() as u8
                        }
                    }
                };
                parts.push(Part {
                    key,
                    columns: Vec::new(),
                    cells: Vec::new(),
                    instrument,
                });
                (parts.len() - 1, 0)
            }
        };
        let part = &mut parts[pi];
        if c == part.columns.len() {
            part.columns.push(Column::default());
        }
        part.flush_off(c, Some(row));
        part.columns[c].pending_off = None;
        let slot = if drum_ch { inst } else { part.instrument };
        part.cells.push((
            row,
            c,
            NoteCell {
                note: Note::On(pitch),
                instrument: slot,
                volume: volume_of(note.vel),
                delay,
            },
        ));
        part.columns[c].last_row = Some(row);
        part.columns[c].pending_off = Some((note.end, end_row, end_delay));
    }
    for p in parts.iter_mut() {
        for c in 0..p.columns.len() {
            p.flush_off(c, None);
        }
    }
    if parts.is_empty() {
        return Err(MidiError::NoNotes);
    }
    let rows_total = last_row + 1;
    let pat_rows = IMPORT_PATTERN_ROWS as u64;
    let n_patterns = rows_total.div_ceil(pat_rows);
    if n_patterns as usize > MAX_PATTERNS {
        return Err(MidiError::TooBig(format!(
            "it needs {n_patterns} patterns of {pat_rows} rows; the limit is {MAX_PATTERNS}"
        )));
    }
    let tracks: Vec<Track> = parts
        .iter()
        .map(|p| {
            let base = m
                .names
                .get(p.key.0)
                .filter(|n| !n.is_empty())
                .cloned()
                .unwrap_or_else(|| format!("Track {}", p.key.0 + 1));
            let mut name = if p.key.1 == 9 {
                format!("{base} drums")
            } else {
                format!("{base} ch{}", p.key.1 + 1)
            };
            name.truncate(crate::model::limits::MAX_NAME_BYTES);
            Track {
                name,
                note_columns: p.columns.len().max(1) as u8,
                effect_columns: 1,
                show_delay: quantize.is_none(),
                ..Track::new("")
            }
        })
        .collect();
    let mut patterns: Vec<Pattern> = (0..n_patterns)
        .map(|_| Pattern::new(IMPORT_PATTERN_ROWS, &tracks))
        .collect();
    for (ti, p) in parts.iter().enumerate() {
        for &(row, c, cell) in &p.cells {
            let pat = &mut patterns[(row / pat_rows) as usize];
            *pat.note_mut(ti, (row % pat_rows) as usize, c) = cell;
        }
    }
    for &(row, bpm) in &grid.changes {
        if let Some(pat) = patterns.get_mut((row / pat_rows) as usize) {
            *pat.effect_mut(0, (row % pat_rows) as usize, 0) = EffectCell::new('F', bpm as u8);
        }
    }
    let mut song = Song::new_default();
    song.title = title.chars().take(64).collect();
    song.bpm = grid.bpm;
    song.lpb = IMPORT_LPB;
    song.tpl = 6;
    song.tracks = tracks;
    song.patterns = patterns;
    song.order = (0..n_patterns as u16).collect();
    song.restart = 0;
    song.instruments = instruments;
    validate(&song).map_err(|e| MidiError::TooBig(e.to_string()))?;
    Ok(song)
}

/// Reads a MIDI file from `path` and imports it (the title is the file's name).
pub fn load(path: impl AsRef<Path>, quantize: Option<u32>) -> Result<Song, MidiError> {
    use std::io::Read;
    let path = path.as_ref();
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len > MAX_MIDI_BYTES {
        return Err(MidiError::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(MAX_MIDI_BYTES + 1).read_to_end(&mut bytes)?;
    let title = path
        .file_stem()
        .map_or("MIDI import".into(), |s| s.to_string_lossy().to_string());
    import(&bytes, &title, quantize)
}

/// Where each note of a song sounds in one play-through ([`play_order`]): (seconds, pitch value,
/// volume), sorted by time then pitch. Times follow the BPM, LPB, `Fxx` tempo changes and delay
/// values; for tests and tools.
pub fn note_times(song: &Song) -> Vec<(f64, u8, u8)> {
    let mut out = Vec::new();
    let mut bpm = song.bpm as f64;
    let mut t = 0.0f64;
    for (order, row) in play_order(song) {
        let pat = &song.patterns[song.order[order] as usize];
        for ti in 0..song.tracks.len() {
            for c in 0..pat.effect_columns(ti) {
                let e = pat.effect(ti, row, c);
                if e.command == b'F' && e.param >= 0x20 {
                    bpm = e.param as f64;
                }
            }
        }
        let len = 60.0 / (bpm * song.lpb as f64);
        for (ti, tr) in song.tracks.iter().enumerate() {
            for c in 0..tr.note_columns as usize {
                let cell = pat.note(ti, row, c);
                if let Note::On(pitch) = cell.note {
                    out.push((t + cell.delay as f64 / 256.0 * len, pitch, cell.volume));
                }
            }
        }
        t += len;
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velocity_and_volume_round_trip() {
        for v in 0..=0x40u8 {
            let back = volume_of(velocity(v));
            let want = if v == 0 { 1 } else { v }; // volume 0 exports as velocity 1
            let back = if back == NoteCell::NO_VOLUME {
                0x40
            } else {
                back
            };
            assert!(back == want || (v == 0 && back <= 1), "{v} → {back}");
        }
        assert_eq!(velocity(NoteCell::NO_VOLUME), 127);
        assert_eq!(volume_of(127), NoteCell::NO_VOLUME);
    }

    #[test]
    fn grid_places_times_exactly() {
        let g = Grid::new(&[(0.0, 117.1875), (10.0, 140.0)]);
        assert_eq!(g.bpm, 117);
        for sec in [0.0, 0.5, 3.21, 9.99, 10.0, 10.01, 31.4] {
            let (row, delay) = g.place(sec);
            let back = g.time_of(row, delay);
            let row_len = 60.0 / (117.0 * 4.0);
            assert!(
                (back - sec).abs() <= row_len / 512.0 + 1e-9,
                "{sec} s → row {row} delay {delay} → {back} s"
            );
        }
        assert_eq!(g.changes.len(), 1);
    }
}
