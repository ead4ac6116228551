//! Files (layer 2, uses only `model`): the binary song file `.ttrk` ([`binary`]), the
//! human-readable `.ttrk.toml` ([`text`]), WAV import/export and the render sink ([`wav`]), and
//! atomic replacement of files ([`atomic`]). Every loader checks sizes against `model::limits`
//! before allocating and reports errors as values, never panics; every saver writes atomically.
//! The formats are specified in `docs/song-format.md`.
//!
//! Error messages are complete sentences that include their cause (`to_string()` is enough for
//! the UI); causes are therefore not repeated through `Error::source`, so an `anyhow` chain
//! prints each part once.

pub mod atomic;
pub mod binary;
mod borrowed;
mod legacy;
pub mod midi;
pub mod text;
pub mod wav;

pub use atomic::{AtomicError, AtomicFile, write_atomic};
pub use binary::{LoadError, SaveError};
pub use text::{TextError, TextLoadError, TextSaveError};
pub use wav::{WavError, WavFormat, WavSink, Writeback, read_wav, write_wav};

use crate::model::Song;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A load or save error together with the file it concerns.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The file could not be opened.
    #[error("cannot open {}: {error}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// A binary song file could not be loaded.
    #[error("cannot load {}: {error}", path.display())]
    Binary {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: LoadError,
    },
    /// A text song file could not be loaded.
    #[error("cannot load {}: {error}", path.display())]
    Text {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: TextLoadError,
    },
    /// The file is neither format (no `TTRK` magic, no `.toml` name, and not a text song).
    #[error("{} is not a ttrack song: it does not start with \"TTRK\" and does not read as a text song ({error})", path.display())]
    NotASong {
        /// The file.
        path: PathBuf,
        /// Why the text reading failed.
        error: TextLoadError,
    },
    /// Saving a binary song failed.
    #[error("cannot save {}: {error}", path.display())]
    BinarySave {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: SaveError,
    },
    /// Saving a text song failed.
    #[error("cannot save {}: {error}", path.display())]
    TextSave {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: TextSaveError,
    },
    /// The file name does not say which format to write.
    #[error("cannot tell the format from the name {}; use .ttrk (binary) or .ttrk.toml (text)", path.display())]
    UnknownExtension {
        /// The file.
        path: PathBuf,
    },
}

/// The two song file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SongFormat {
    /// `.ttrk`: compact, checksummed, samples embedded.
    Binary,
    /// `.ttrk.toml`: readable and diffable, samples as WAV files beside it.
    Text,
}

impl SongFormat {
    /// The format a file name asks for: `.ttrk` and `.autosave` → binary, `.toml` → text.
    pub fn from_path(path: &Path) -> Option<SongFormat> {
        let name = path.file_name()?.to_string_lossy();
        if name.ends_with(".toml") {
            Some(SongFormat::Text)
        } else if name.ends_with(".ttrk") || name.ends_with(".autosave") {
            Some(SongFormat::Binary)
        } else {
            None
        }
    }
}

/// Loads a song of either format: files starting with `TTRK` are binary, anything else is read
/// as text.
pub fn load_song(path: &Path) -> Result<Song, FormatError> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|error| FormatError::Open {
        path: path.into(),
        error,
    })?;
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                return Err(FormatError::Open {
                    path: path.into(),
                    error,
                });
            }
        }
    }
    drop(file);
    // A `.ttrk` that is empty or cut inside the magic is a truncated binary file, not text.
    let looks_binary = magic[..got] == binary::MAGIC[..got]
        && (got == magic.len() || SongFormat::from_path(path) == Some(SongFormat::Binary));
    if looks_binary {
        return binary::load(path).map_err(|error| FormatError::Binary {
            path: path.into(),
            error,
        });
    }
    text::load(path).map_err(|error| {
        if SongFormat::from_path(path) == Some(SongFormat::Text) {
            FormatError::Text {
                path: path.into(),
                error,
            }
        } else {
            FormatError::NotASong {
                path: path.into(),
                error,
            }
        }
    })
}

/// Saves a song in the format its name asks for (see [`SongFormat::from_path`]), atomically.
pub fn save_song(song: &Song, path: &Path) -> Result<(), FormatError> {
    match SongFormat::from_path(path) {
        Some(SongFormat::Binary) => {
            binary::save(song, path).map_err(|error| FormatError::BinarySave {
                path: path.into(),
                error,
            })
        }
        Some(SongFormat::Text) => {
            text::save(song, path)
                .map(|_| ())
                .map_err(|error| FormatError::TextSave {
                    path: path.into(),
                    error,
                })
        }
        None => Err(FormatError::UnknownExtension { path: path.into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_by_content_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let song = Song::new_default();
        for name in ["a.ttrk", "a.ttrk.toml", "b.toml"] {
            let p = dir.path().join(name);
            save_song(&song, &p).unwrap();
            assert_eq!(load_song(&p).unwrap(), song, "{name}");
        }
        // Content decides on load: a binary file under a text name still loads.
        std::fs::copy(dir.path().join("a.ttrk"), dir.path().join("c.toml")).unwrap();
        assert_eq!(load_song(&dir.path().join("c.toml")).unwrap(), song);
        let e = save_song(&song, &dir.path().join("x.wav"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.wav") && e.contains(".ttrk"), "{e}");
        std::fs::write(dir.path().join("junk.bin"), b"\x00\x01garbage").unwrap();
        let e = load_song(&dir.path().join("junk.bin"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("junk.bin") && e.contains("not a ttrack song"),
            "{e}"
        );
        std::fs::write(dir.path().join("cut.ttrk"), b"TT").unwrap();
        let e = load_song(&dir.path().join("cut.ttrk"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cut.ttrk") && e.contains("truncated"), "{e}");
        let err = load_song(&dir.path().join("cut.ttrk")).unwrap_err();
        assert!(
            std::error::Error::source(&err).is_none(),
            "causes are in the message only"
        );
        let e = load_song(&dir.path().join("missing.ttrk"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.ttrk"), "{e}");
    }
}
