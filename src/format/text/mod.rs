//! The human-readable song file `.ttrk.toml` (layer 2): TOML for the song settings, tracks and
//! instruments, and a tracker-style grid of text for each pattern. The full grammar is in
//! `docs/song-format.md`. Errors carry the line and column in the file, including inside the
//! pattern grids.
//!
//! **Round trip.** For every song that passes `model::validate`, with `out = write_text(song,
//! path)?`, `parse(&out.text, dir) == with_sources(song, &out.sources)`: each sampler's
//! `SampleData::source` becomes the path (relative to the text file's directory, `/`-separated)
//! the file refers to. That is the sample's own `source` when that file still holds identical
//! audio, else a WAV written to `<stem>.samples/NN-name.wav`. Two further rules: a sample whose
//! values are off its depth's grid ([`fits_depth`](crate::format::wav::fits_depth) is false) is
//! stored as 32-bit float and reloads with `bits = 32, float = true`; and an effect field with
//! command 0 is written as `...`, so its parameter reloads as 0.

mod arrange;
mod grid;
mod mix;
mod read;
mod takes;
mod write;

pub use write::{save, to_text, write_text};

use super::binary::{LoadError, MAX_FILE_BYTES, read_capped};
use super::wav::WavError;
use super::{AtomicError, atomic::parent_dir};
use crate::model::{Instrument, InstrumentKind, ModelError, Song};
use read::{Parser, Src, Tbl};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use toml::de::DeTable;

/// The text format version this build writes and the newest it reads (`ttrack = 2`). Version 1
/// had no mixer keys; it reads as version 2 with the default mixer.
pub const TEXT_VERSION: u16 = 2;

/// A parse error at a place in the file (1-based line and column, columns count characters).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("line {line}, column {column}: {message}")]
pub struct TextError {
    /// Line in the file, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// What is wrong, as a sentence.
    pub message: String,
}

/// Why a text song could not be loaded.
#[derive(Debug, Error)]
pub enum TextLoadError {
    /// The file could not be read, or is too large.
    #[error(transparent)]
    Read(#[from] LoadError),
    /// The file is not UTF-8.
    #[error("the file is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The text does not describe a valid song.
    #[error(transparent)]
    Parse(#[from] TextError),
}

/// Why a song could not be written as text.
#[derive(Debug, Error)]
pub enum TextSaveError {
    /// The song breaks a limit; nothing was written.
    #[error("the song is invalid, so it was not saved: {0}")]
    Invalid(ModelError),
    /// The folder for sample files could not be created.
    #[error("cannot create the sample folder {}: {error}", path.display())]
    SampleDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// A sample file could not be written.
    #[error("cannot save the sample of instrument {slot:02X}: {error}")]
    Sample {
        /// The instrument slot (1-based).
        slot: usize,
        /// The underlying error.
        error: WavError,
    },
    /// A frozen track's audio file could not be written.
    #[error("cannot save the frozen audio of track {track}: {error}")]
    Frozen {
        /// The track (1-based).
        track: usize,
        /// The underlying error.
        error: WavError,
    },
    /// Writing the text file failed; any previous file is unchanged.
    #[error(transparent)]
    Atomic(#[from] AtomicError),
}

impl From<ModelError> for TextSaveError {
    fn from(e: ModelError) -> TextSaveError {
        TextSaveError::Invalid(e)
    }
}

/// The text of a song plus the sample paths it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct TextOutput {
    /// The `.ttrk.toml` text.
    pub text: String,
    /// One entry per instrument slot: the sample path of a sampler, `None` otherwise.
    pub sources: Vec<Option<String>>,
}

/// Returns `song` with each sampler's `source` set from `sources` (as reported by [`write_text`]).
pub fn with_sources(song: &Song, sources: &[Option<String>]) -> Song {
    let mut out = song.clone();
    for (inst, source) in out.instruments.iter_mut().zip(sources) {
        if let (
            Some(Instrument {
                kind: InstrumentKind::Sampler(s),
                ..
            }),
            Some(source),
        ) = (inst, source)
        {
            Arc::make_mut(&mut s.sample).source = Some(source.clone());
        }
    }
    out
}

/// Loads a text song; sample paths are relative to the file's directory.
pub fn load(path: impl AsRef<Path>) -> Result<Song, TextLoadError> {
    let path = path.as_ref();
    let bytes = read_capped(path, MAX_FILE_BYTES)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| TextLoadError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    Ok(parse(text, &parent_dir(path))?)
}

/// Parses a text song; `song_dir` is the directory sample paths are relative to.
pub fn parse(text: &str, song_dir: &Path) -> Result<Song, TextError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let src = Src::new(text);
    let doc =
        DeTable::parse(text).map_err(|e| src.err(e.span().map_or(0, |s| s.start), e.message()))?;
    let root = Tbl {
        src: &src,
        map: doc.get_ref(),
        at: 0,
        what: "the top level".into(),
    };
    Parser {
        src: &src,
        song_dir,
    }
    .song(&root)
}
#[cfg(test)]
mod tests {
    use super::write::{fmt_f32, toml_string};
    use super::*;
    use crate::model::{EffectCell, Note, NoteCell, Pattern};

    fn small_song() -> Song {
        let mut song = Song::new_default();
        song.tracks.truncate(2);
        song.set_track_columns(1, 2, 2);
        song.tracks[1].show_delay = true;
        song.patterns = vec![Pattern::new(4, &song.tracks)];
        *song.patterns[0].note_mut(0, 0, 0) = NoteCell {
            note: Note::On(48),
            instrument: 1,
            volume: 0x40,
            delay: 0,
        };
        *song.patterns[0].effect_mut(0, 0, 0) = EffectCell::new('A', 0x0F);
        *song.patterns[0].note_mut(1, 2, 1) = NoteCell {
            note: Note::Off,
            instrument: 0,
            volume: 0x20,
            delay: 0x80,
        };
        song
    }

    #[test]
    fn writes_the_documented_layout() {
        let dir = tempfile::tempdir().unwrap();
        let text = to_text(&small_song(), &dir.path().join("s.ttrk.toml")).unwrap();
        assert!(text.contains("ttrack = 2\n"), "{text}");
        assert!(
            text.contains("00 | C-4 01 40 A0F | ... .. .. .. ... .. .. .. ... ...\n"),
            "{text}"
        );
        assert!(
            text.contains("02 | ... .. .. ... | ... .. .. .. OFF .. 20 80 ... ...\n"),
            "{text}"
        );
        assert!(text.contains(
            "amp = { attack_ms = 2.0, decay_ms = 300.0, sustain = 0.6, release_ms = 200.0 }"
        ));
    }

    #[test]
    fn round_trips_a_small_song() {
        let dir = tempfile::tempdir().unwrap();
        let song = small_song();
        let text = to_text(&song, &dir.path().join("s.ttrk.toml")).unwrap();
        assert_eq!(parse(&text, dir.path()).unwrap(), song);
    }

    #[test]
    fn floats_round_trip_exactly() {
        for x in [
            0.1f32,
            1.0 / 3.0,
            1e-7,
            3.4e38,
            -0.0,
            123456.79,
            f32::MIN_POSITIVE,
            16_777_217.0,
        ] {
            let s = fmt_f32(x);
            let doc = format!("v = {s}\n");
            let t = DeTable::parse(&doc).unwrap();
            let src = Src::new(&doc);
            let tbl = Tbl {
                src: &src,
                map: t.get_ref(),
                at: 0,
                what: String::new(),
            };
            assert_eq!(
                tbl.float("v").unwrap().unwrap().to_bits(),
                x.to_bits(),
                "{s}"
            );
        }
    }

    #[test]
    fn strings_are_escaped() {
        let s = "a \"quote\" \\ back\nnew\ttab \u{1} é";
        let doc = format!("v = {}\n", toml_string(s));
        let t = DeTable::parse(&doc).unwrap();
        assert_eq!(
            t.get_ref().iter().next().unwrap().1.get_ref().as_str(),
            Some(s)
        );
    }

    #[test]
    fn positions_count_characters() {
        let src = Src::new("ab\ncé d\n");
        assert_eq!(src.pos(0), (1, 1));
        assert_eq!(src.pos(3), (2, 1));
        assert_eq!(src.pos(7), (2, 4));
    }

    #[test]
    fn escaped_data_strings_still_report_lines() {
        let text = "ttrack = 1\norder = [0]\n[[track]]\n[[pattern]]\nrows = 2\ndata = \"00 | C-4 .. .. ...\\n01 | X-4 .. .. ...\"\n";
        let e = parse(text, Path::new(".")).unwrap_err();
        assert_eq!((e.line, e.column), (6, 8), "{e}");
        let text = text
            .replace("data = \"00", "data = \"\"\"\n00")
            .replace("...\"\n", "...\"\"\"\n");
        let e = parse(&text, Path::new(".")).unwrap_err();
        assert_eq!((e.line, e.column), (6, 8), "{e}");
        let text = text
            .replace("...\\n01", "...\n01")
            .replace("X-4", "X-\\u0034");
        let e = parse(&text, Path::new(".")).unwrap_err();
        assert_eq!((e.line, e.column), (8, 6), "{e}");
    }
}
