//! Recorded MIDI takes: every recording pass keeps the events as played, at their exact song
//! positions (pattern, row and a fraction of the row), so the cells can be written again from
//! them with another quantize setting, or the take picked again later.
//!
//! [`take_cells`] turns a take into note cells, the tracker way (FastTracker II, Renoise):
//! each held key gets a note column of its own (a chord fills several, the lowest free one first);
//! the sub-row position goes into the delay column unless quantized; velocity into the volume
//! column when the take says so; a released key writes a note-off in its column, held back while
//! the sustain pedal is down.

use super::{MAX_PITCH, Note, NoteCell};
use serde::{Deserialize, Serialize};

/// Most events one take keeps (a pass of a few minutes of dense playing fits easily).
pub const MAX_TAKE_EVENTS: usize = 65_536;
/// Most takes a song keeps.
pub const MAX_TAKES: usize = 1024;
/// Sub-row positions are in 1/65536 of a row.
pub const FRACTION: f64 = 65_536.0;

/// One recorded pass of MIDI notes into one track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Take {
    /// Name shown in the takes list ("Take 3").
    pub name: String,
    /// Track recorded into (0-based).
    pub track: u8,
    /// Instrument slot written with the notes (1-based).
    pub instrument: u8,
    /// Whether velocities went into the volume column.
    pub velocity: bool,
    /// The quantize setting the cells were last written with: 0 exact (delay column), else a
    /// grid of that many rows.
    pub quantize: u8,
    /// The events in the order they were played.
    #[serde(deserialize_with = "super::bounded_vec::<_, _, MAX_TAKE_EVENTS>")]
    pub events: Vec<TakeEvent>,
}

/// One event of a take at its song position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeEvent {
    /// Order position.
    pub order: u16,
    /// Pattern at that position.
    pub pattern: u16,
    /// Row.
    pub row: u16,
    /// Position within the row in 1/65536 of the row.
    pub fraction: u16,
    /// What happened.
    pub kind: TakeEventKind,
}

/// What a take event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TakeEventKind {
    /// A key went down (MIDI note number, velocity 1..=127).
    On {
        /// MIDI note number.
        key: u8,
        /// Velocity 1..=127.
        velocity: u8,
    },
    /// A key came up.
    Off {
        /// MIDI note number.
        key: u8,
    },
    /// The sustain pedal went down (true) or up.
    Sustain(bool),
}

/// A cell a take writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakeCell {
    /// Pattern.
    pub pattern: u16,
    /// Row.
    pub row: u16,
    /// Note column of the take's track.
    pub column: u8,
    /// The cell.
    pub cell: NoteCell,
}

/// Velocity 1..=127 as a volume column value 01..=40.
pub fn velocity_volume(velocity: u8) -> u8 {
    ((velocity.min(127) as u32 * 64 + 63) / 127).clamp(1, 64) as u8
}

/// Where an event lands with quantize `q` (0: exact, with a delay value) in a pattern of `rows`
/// rows: (row, delay). A grid step that would leave the pattern stays on its last grid row.
pub fn place(row: u16, fraction: u16, q: u8, rows: u16) -> (u16, u8) {
    let rows = rows.max(1);
    if q == 0 {
        let d = (fraction as f64 / FRACTION * 256.0).round() as u32;
        return if d < 256 {
            (row.min(rows - 1), d as u8)
        } else if row + 1 < rows {
            (row + 1, 0)
        } else {
            (rows - 1, 255)
        };
    }
    let q = q as f64;
    let at = row as f64 + fraction as f64 / FRACTION;
    let mut r = (at / q).round() * q;
    if r >= rows as f64 {
        r = ((rows as f64 - 1.0) / q).floor() * q;
    }
    (r as u16, 0)
}

/// The cells `take` writes with quantize `q` into a track that has `columns` note columns now;
/// `rows(p)` is the row count of pattern `p`. Also returns how many note columns the take needs
/// (more than `columns` when a chord was wider; at most 8).
pub fn take_cells(
    take: &Take,
    q: u8,
    columns: usize,
    rows: impl Fn(u16) -> u16,
) -> (Vec<TakeCell>, usize) {
    const MAX_COLUMNS: usize = crate::model::limits::MAX_NOTE_COLUMNS;
    let mut width = columns.clamp(1, MAX_COLUMNS);
    // Per column: the key held there and the position its note was written at.
    let mut held: [Option<(u8, u16, u16, u64)>; MAX_COLUMNS] = [None; MAX_COLUMNS];
    let mut pedal = false;
    let mut sustained: Vec<u8> = Vec::new();
    let mut out: Vec<TakeCell> = Vec::new();
    let mut age = 0u64;
    let write_off = |out: &mut Vec<TakeCell>, e: &TakeEvent, col: usize, start: (u16, u16)| {
        let n = rows(e.pattern);
        let (mut row, mut delay) = place(e.row, e.fraction, q, n);
        if (e.pattern, row) == start {
            // Released within the row its note starts on: the note-off goes on the next row.
            if row + 1 >= n {
                return;
            }
            row += 1;
            delay = 0;
        }
        let occupied = out.iter().any(|c| {
            c.pattern == e.pattern
                && c.row == row
                && c.column as usize == col
                && matches!(c.cell.note, Note::On(_))
        });
        if !occupied {
            out.push(TakeCell {
                pattern: e.pattern,
                row,
                column: col as u8,
                cell: NoteCell {
                    note: Note::Off,
                    instrument: 0,
                    volume: NoteCell::NO_VOLUME,
                    delay,
                },
            });
        }
    };
    for e in &take.events {
        match e.kind {
            TakeEventKind::On { key, velocity } => {
                let Some(note @ Note::On(p)) = Note::from_midi(key) else {
                    continue;
                };
                if p > MAX_PITCH {
                    continue;
                }
                sustained.retain(|&k| k != key);
                age += 1;
                let col = held
                    .iter()
                    .take(width)
                    .position(|h| h.is_some_and(|h| h.0 == key))
                    .or_else(|| held.iter().take(width).position(Option::is_none))
                    .unwrap_or_else(|| {
                        if width < MAX_COLUMNS {
                            width += 1;
                            width - 1
                        } else {
                            // All eight busy: the longest-held note gives up its column.
                            (0..width)
                                .min_by_key(|&c| held[c].map_or(0, |h| h.3))
                                .unwrap_or(0)
                        }
                    });
                let (row, delay) = place(e.row, e.fraction, q, rows(e.pattern));
                // A later note on the same cell replaces the earlier one.
                out.retain(|c| {
                    !(c.pattern == e.pattern && c.row == row && c.column as usize == col)
                });
                out.push(TakeCell {
                    pattern: e.pattern,
                    row,
                    column: col as u8,
                    cell: NoteCell {
                        note,
                        instrument: take.instrument,
                        volume: if take.velocity {
                            velocity_volume(velocity)
                        } else {
                            NoteCell::NO_VOLUME
                        },
                        delay,
                    },
                });
                held[col] = Some((key, e.pattern, row, age));
            }
            TakeEventKind::Off { key } => {
                if pedal {
                    if !sustained.contains(&key) {
                        sustained.push(key);
                    }
                    continue;
                }
                if let Some(col) = held.iter().position(|h| h.is_some_and(|h| h.0 == key))
                    && let Some((_, p, r, _)) = held[col]
                {
                    write_off(&mut out, e, col, (p, r));
                    held[col] = None;
                }
            }
            TakeEventKind::Sustain(down) => {
                pedal = down;
                if !down {
                    for key in std::mem::take(&mut sustained) {
                        if let Some(col) = held.iter().position(|h| h.is_some_and(|h| h.0 == key))
                            && let Some((_, p, r, _)) = held[col]
                        {
                            write_off(&mut out, e, col, (p, r));
                            held[col] = None;
                        }
                    }
                }
            }
        }
    }
    (out, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(row: u16, fraction: u16, kind: TakeEventKind) -> TakeEvent {
        TakeEvent {
            order: 0,
            pattern: 0,
            row,
            fraction,
            kind,
        }
    }

    fn on(key: u8) -> TakeEventKind {
        TakeEventKind::On { key, velocity: 127 }
    }

    fn take(events: Vec<TakeEvent>) -> Take {
        Take {
            name: "Take 1".into(),
            track: 0,
            instrument: 2,
            velocity: true,
            quantize: 0,
            events,
        }
    }

    #[test]
    fn places_exactly_or_on_a_grid() {
        assert_eq!(place(3, 32768, 0, 64), (3, 128));
        assert_eq!(place(3, 65535, 0, 64), (4, 0));
        assert_eq!(place(63, 65535, 0, 64), (63, 255));
        assert_eq!(place(3, 32768, 1, 64), (4, 0));
        assert_eq!(place(3, 30000, 1, 64), (3, 0));
        assert_eq!(place(5, 0, 4, 64), (4, 0));
        assert_eq!(place(6, 0, 4, 64), (8, 0));
        assert_eq!(place(63, 0, 4, 64), (60, 0));
    }

    #[test]
    fn chords_fill_columns_and_offs_follow_their_keys() {
        let t = take(vec![
            ev(0, 0, on(60)),
            ev(0, 100, on(64)),
            ev(0, 200, on(67)),
            ev(4, 0, TakeEventKind::Off { key: 64 }),
            ev(6, 0, on(72)),
        ]);
        let (cells, width) = take_cells(&t, 0, 1, |_| 64);
        assert_eq!(width, 3, "a three-note chord needs three columns");
        let at = |row: u16, col: u8| {
            cells
                .iter()
                .find(|c| c.row == row && c.column == col)
                .map(|c| c.cell)
        };
        assert_eq!(at(0, 0).unwrap().note, Note::from_midi(60).unwrap());
        assert_eq!(at(0, 1).unwrap().note, Note::from_midi(64).unwrap());
        assert_eq!(at(0, 2).unwrap().note, Note::from_midi(67).unwrap());
        assert_eq!(at(0, 0).unwrap().volume, 0x40);
        assert_eq!(at(0, 0).unwrap().instrument, 2);
        assert_eq!(at(4, 1).unwrap().note, Note::Off);
        // The freed column takes the next note.
        assert_eq!(at(6, 1).unwrap().note, Note::from_midi(72).unwrap());
    }

    #[test]
    fn the_sustain_pedal_holds_note_offs() {
        let t = take(vec![
            ev(0, 0, TakeEventKind::Sustain(true)),
            ev(1, 0, on(60)),
            ev(2, 0, TakeEventKind::Off { key: 60 }),
            ev(8, 0, TakeEventKind::Sustain(false)),
        ]);
        let (cells, _) = take_cells(&t, 0, 1, |_| 64);
        assert_eq!(cells.len(), 2);
        assert_eq!((cells[1].row, cells[1].cell.note), (8, Note::Off));
    }

    #[test]
    fn a_short_note_is_released_on_the_next_row() {
        let t = take(vec![
            ev(2, 0, on(60)),
            ev(2, 30000, TakeEventKind::Off { key: 60 }),
        ]);
        let (cells, _) = take_cells(&t, 1, 1, |_| 64);
        assert_eq!((cells[1].row, cells[1].cell.note), (3, Note::Off));
    }

    #[test]
    fn velocity_maps_onto_the_volume_column() {
        assert_eq!(velocity_volume(127), 0x40);
        assert_eq!(velocity_volume(1), 1);
        assert_eq!(velocity_volume(64), 0x20);
    }
}
