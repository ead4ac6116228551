//! Notes and the cell types of a pattern, in tracker terms.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A note field: empty, note-off, or a pitch from C-0 (0) to B-9 (119).
/// Pitch `n` is MIDI note `n + 12`, so C-4 (48) is MIDI 60 and A-4 (57) is 440 Hz.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Note {
    /// Nothing in this field.
    #[default]
    Empty,
    /// Release the note playing in this column.
    Off,
    /// Start a note; the value is semitones above C-0.
    On(u8),
}

const NAMES: [&str; 12] = [
    "C-", "C#", "D-", "D#", "E-", "F-", "F#", "G-", "G#", "A-", "A#", "B-",
];

/// Highest pitch value (B-9).
pub const MAX_PITCH: u8 = 119;

impl Note {
    /// The note for a MIDI note number, if it lies in C-0..B-9 (MIDI 12..131).
    pub fn from_midi(midi: u8) -> Option<Note> {
        let p = midi.checked_sub(12)?;
        (p <= MAX_PITCH).then_some(Note::On(p))
    }

    /// MIDI note number of a pitched note.
    pub fn midi(self) -> Option<u8> {
        match self {
            Note::On(p) => Some(p + 12),
            _ => None,
        }
    }

    /// Frequency in Hz of a pitch value in equal temperament (A-4 = 440 Hz).
    pub fn pitch_hz(pitch: f64) -> f64 {
        440.0 * ((pitch - 57.0) / 12.0).exp2()
    }

    /// Parses tracker notation: `C-4`, `C#5`, `...` (empty), `OFF` or `===` (note-off).
    pub fn parse(s: &str) -> Option<Note> {
        match s {
            "..." | "---" => return Some(Note::Empty),
            "OFF" | "===" | "^^^" => return Some(Note::Off),
            _ => {}
        }
        let b = s.as_bytes();
        if b.len() != 3 {
            return None;
        }
        let name = &s[..2];
        let semitone = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name))?;
        let octave = (b[2] as char).to_digit(10)? as u8;
        Some(Note::On(octave * 12 + semitone as u8))
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Empty => f.write_str("..."),
            Note::Off => f.write_str("OFF"),
            Note::On(p) => write!(f, "{}{}", NAMES[(*p % 12) as usize], p / 12),
        }
    }
}

/// One note column in one row: note, instrument, volume and delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct NoteCell {
    /// The note field.
    pub note: Note,
    /// Instrument slot 1..=255, or 0 for none (keep the column's instrument).
    pub instrument: u8,
    /// Volume 0x00..=0x40 (silent..full), or [`NoteCell::NO_VOLUME`].
    pub volume: u8,
    /// Start within the row, in 256ths of a row (0 = on the row).
    pub delay: u8,
}

impl NoteCell {
    /// The volume field's "empty" value.
    pub const NO_VOLUME: u8 = 0xFF;
    /// Full volume in the volume column.
    pub const FULL_VOLUME: u8 = 0x40;
    /// A cell with nothing in it.
    pub const EMPTY: NoteCell = NoteCell {
        note: Note::Empty,
        instrument: 0,
        volume: NoteCell::NO_VOLUME,
        delay: 0,
    };

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == NoteCell::EMPTY
    }

    /// A note with an instrument and no volume or delay.
    pub fn note(note: Note, instrument: u8) -> NoteCell {
        NoteCell {
            note,
            instrument,
            ..NoteCell::EMPTY
        }
    }
}

/// One effect column in one row: a command (`0`-`9`, `A`-`Z`) and a parameter byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct EffectCell {
    /// Command as an ASCII byte (`b'A'` for Axy), or 0 for an empty field.
    pub command: u8,
    /// Parameter xy.
    pub param: u8,
}

impl EffectCell {
    /// An empty effect field.
    pub const EMPTY: EffectCell = EffectCell {
        command: 0,
        param: 0,
    };

    /// An effect from its command character and parameter.
    pub fn new(command: char, param: u8) -> EffectCell {
        EffectCell {
            command: command.to_ascii_uppercase() as u8,
            param,
        }
    }

    /// True when the field is empty.
    pub fn is_empty(&self) -> bool {
        self.command == 0
    }

    /// True for a command character this format can hold.
    pub fn valid_command(c: u8) -> bool {
        c.is_ascii_digit() || c.is_ascii_uppercase()
    }
}

impl fmt::Display for EffectCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("...")
        } else {
            write!(f, "{}{:02X}", self.command as char, self.param)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_parse_and_print() {
        for p in 0..=MAX_PITCH {
            let n = Note::On(p);
            assert_eq!(Note::parse(&n.to_string()), Some(n));
        }
        assert_eq!(Note::parse("A-4"), Some(Note::On(57)));
        assert_eq!(Note::On(48).midi(), Some(60));
        assert!((Note::pitch_hz(57.0) - 440.0).abs() < 1e-9);
        assert_eq!(Note::parse("H-4"), None);
        assert_eq!(Note::parse("OFF"), Some(Note::Off));
    }
}
