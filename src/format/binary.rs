//! The binary song file `.ttrk` (layer 2): a 20-byte header followed by the bincode encoding of
//! [`Song`]. Loading checks, in order: length ≥ header, magic, version, flags, announced payload
//! length, CRC-32, decoding, trailing bytes and finally [`model::validate`](crate::model::validate),
//! and never allocates from a size it has not checked.
//!
//! ```text
//! offset size  field
//!  0      4    magic "TTRK"
//!  4      2    format version, u16 little endian (this build writes 4 and reads 1 to 4)
//!  6      2    flags, u16 little endian, 0
//!  8      8    payload length in bytes, u64 little endian
//! 16      4    CRC-32 (IEEE, as crc32fast) of the payload, u32 little endian
//! 20      n    payload: bincode 2 `config::standard()` (varint integers) of `model::Song`
//! ```

use super::atomic::{AtomicError, write_atomic};
use super::borrowed::Borrowing;
use crate::model::{ModelError, Song, validate};
use bincode::error::DecodeError;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use thiserror::Error;

/// The four bytes every `.ttrk` file starts with.
pub const MAGIC: [u8; 4] = *b"TTRK";
/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 4;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 20;
/// Largest file `load` reads: a song at every limit of `model::limits` encodes to about 0.9 GiB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Why a `.ttrk` file could not be loaded; each variant reads as a sentence.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Reading the file failed.
    #[error("cannot read the file: {0}")]
    Io(io::Error),
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("the file is {size} bytes; a song file is at most {max} bytes")]
    FileTooLarge {
        /// Bytes in the file.
        size: u64,
        /// The largest allowed.
        max: u64,
    },
    /// Fewer bytes than the header.
    #[error("the file is truncated: it has {len} bytes, fewer than the {HEADER_LEN}-byte header")]
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// The magic bytes are wrong.
    #[error("this is not a ttrack song file (it does not start with \"TTRK\")")]
    NotTtrack,
    /// Written by a newer program.
    #[error(
        "the file was written by a newer ttrack, format {found}; this one reads up to {FORMAT_VERSION}"
    )]
    NewerVersion {
        /// Version in the file.
        found: u16,
    },
    /// Version 0 never existed.
    #[error("the file declares format version 0, which no ttrack writes")]
    ZeroVersion,
    /// Flags this build does not know.
    #[error("the file uses features this ttrack does not know (flags {flags:#06x})")]
    UnknownFlags {
        /// The flags found.
        flags: u16,
    },
    /// The payload is shorter than announced.
    #[error(
        "the file is truncated: the header says {announced} bytes of song data, only {available} follow"
    )]
    PayloadTruncated {
        /// Bytes announced.
        announced: u64,
        /// Bytes present.
        available: u64,
    },
    /// The payload's CRC does not match.
    #[error("the file is damaged (checksum mismatch: header {expected:08x}, data {found:08x})")]
    Checksum {
        /// CRC in the header.
        expected: u32,
        /// CRC of the data.
        found: u32,
    },
    /// The payload does not decode as a song.
    #[error("the song data cannot be decoded: {0}")]
    Decode(String),
    /// Bytes follow the encoded song.
    #[error("{extra} unexpected byte(s) follow the song data")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The song decodes but breaks a limit or is inconsistent.
    #[error("the song is invalid: {0}")]
    Invalid(ModelError),
}

/// Why a song could not be saved as `.ttrk`.
#[derive(Debug, Error)]
pub enum SaveError {
    /// The song breaks a limit; nothing was written.
    #[error("the song is invalid, so it was not saved: {0}")]
    Invalid(ModelError),
    /// Writing failed; any previous file is unchanged.
    #[error(transparent)]
    Atomic(#[from] AtomicError),
}

// The wrapped errors are part of each message, so they are converted by hand rather than with
// `#[from]`, which would also expose them as `source()` and make error chains repeat them.
impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> LoadError {
        LoadError::Io(e)
    }
}

impl From<ModelError> for LoadError {
    fn from(e: ModelError) -> LoadError {
        LoadError::Invalid(e)
    }
}

impl From<ModelError> for SaveError {
    fn from(e: ModelError) -> SaveError {
        SaveError::Invalid(e)
    }
}

/// Encodes `song` as a complete `.ttrk` file (header and payload); does not validate.
pub fn encode(song: &Song) -> Vec<u8> {
    encode_payload_raw(&encode_payload(song))
}

/// The bare bincode payload of `song`.
fn encode_payload(song: &Song) -> Vec<u8> {
    let _wire = crate::model::SampleWire::for_version(FORMAT_VERSION);
    // Serialising to a Vec cannot fail for `Song`: every sequence has a known length and no field
    // has a custom serialiser; an empty payload would fail to load rather than pass as a song.
    bincode::serde::encode_to_vec(song, bincode::config::standard()).unwrap_or_default()
}

/// Wraps arbitrary payload bytes in a valid header (length and CRC), for tests and tools.
pub fn encode_payload_raw(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decodes and validates a complete `.ttrk` file.
pub fn decode(bytes: &[u8]) -> Result<Song, LoadError> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(LoadError::NotTtrack);
    }
    if bytes.len() < HEADER_LEN {
        return Err(LoadError::Truncated { len: bytes.len() });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version > FORMAT_VERSION {
        return Err(LoadError::NewerVersion { found: version });
    }
    if version == 0 {
        return Err(LoadError::ZeroVersion);
    }
    let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
    if flags != 0 {
        return Err(LoadError::UnknownFlags { flags });
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[8..16]);
    let announced = u64::from_le_bytes(len_bytes);
    let rest = &bytes[HEADER_LEN..];
    let available = rest.len() as u64;
    if announced > available {
        return Err(LoadError::PayloadTruncated {
            announced,
            available,
        });
    }
    // `announced <= rest.len()`, so it fits in usize.
    let (payload, trailing) = rest.split_at(announced as usize);
    let expected = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let found = crc32fast::hash(payload);
    if expected != found {
        return Err(LoadError::Checksum { expected, found });
    }
    let (song, used) =
        decode_payload(payload, version).map_err(|e| LoadError::Decode(describe(&e)))?;
    let extra = (payload.len() - used.min(payload.len())) as u64 + trailing.len() as u64;
    if extra > 0 {
        return Err(LoadError::TrailingBytes { extra });
    }
    validate(&song)?;
    Ok(song)
}

/// Bincode's decode limit. Bincode counts each decoded value at its in-memory size (a one-byte
/// varint length counts as 8), so a valid payload claims at most 8× its length; the limit is set so
/// that no file under [`MAX_FILE_BYTES`] is refused for it. Memory is bounded by other means:
/// strings are read borrowed (see `borrowed.rs`) and every `Vec` preallocates at most 1 MiB.
#[cfg(target_pointer_width = "64")]
const DECODE_LIMIT: usize = 8 << 30;
#[cfg(not(target_pointer_width = "64"))]
const DECODE_LIMIT: usize = usize::MAX;

/// Decodes a payload into a song and the number of bytes it used.
fn decode_payload(payload: &[u8], version: u16) -> Result<(Song, usize), DecodeError> {
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    // Versions 1 to 3 store sample values as a sequence of floats, 4 as a byte string.
    let _wire = crate::model::SampleWire::for_version(version);
    if version == 1 {
        let (old, used) = bincode::serde::seed_decode_from_slice(
            Borrowing::<super::legacy::SongV1>(std::marker::PhantomData),
            payload,
            config,
        )?;
        return Ok((old.into(), used));
    }
    if version == 2 {
        let (old, used) = bincode::serde::seed_decode_from_slice(
            Borrowing::<super::legacy::SongV2>(std::marker::PhantomData),
            payload,
            config,
        )?;
        return Ok((old.into(), used));
    }
    bincode::serde::seed_decode_from_slice(
        Borrowing::<Song>(std::marker::PhantomData),
        payload,
        config,
    )
}

/// A sentence for a bincode error (bincode's own `Display` is its `Debug`).
fn describe(e: &DecodeError) -> String {
    match e {
        DecodeError::UnexpectedEnd { additional: 1 } => {
            "the song data ends 1 byte too early".into()
        }
        DecodeError::UnexpectedEnd { additional } => {
            format!("the song data ends {additional} bytes too early")
        }
        DecodeError::LimitExceeded => {
            "a length in it is larger than the whole file could hold".into()
        }
        DecodeError::OtherString(s) => s.clone(),
        DecodeError::Other(s) => (*s).into(),
        DecodeError::UnexpectedVariant {
            type_name, found, ..
        } => {
            format!("variant {found} of {type_name} does not exist")
        }
        DecodeError::InvalidBooleanValue(v) => format!("{v} is not a boolean"),
        DecodeError::InvalidIntegerType { expected, found } => {
            format!("an integer has the wrong encoding (expected {expected:?}, found {found:?})")
        }
        DecodeError::OutsideUsizeRange(n) => {
            format!("a length of {n} is beyond this machine's address space")
        }
        DecodeError::Utf8 { .. } => "a name is not valid UTF-8".into(),
        other => format!("{other:?}"),
    }
}

/// Saves `song` atomically as `.ttrk` after validating it.
pub fn save(song: &Song, path: impl AsRef<Path>) -> Result<(), SaveError> {
    validate(song)?;
    write_atomic(path, &encode(song))?;
    Ok(())
}

/// Loads a `.ttrk` file, refusing files over [`MAX_FILE_BYTES`] before reading them.
pub fn load(path: impl AsRef<Path>) -> Result<Song, LoadError> {
    decode(&read_capped(path.as_ref(), MAX_FILE_BYTES)?)
}

/// Reads a whole file of at most `max` bytes (checked from metadata and again while reading).
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, LoadError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > max {
        return Err(LoadError::FileTooLarge { size, max });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(LoadError::FileTooLarge {
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_song_round_trips() {
        let song = Song::new_default();
        let bytes = encode(&song);
        assert_eq!(&bytes[..4], b"TTRK");
        assert_eq!(decode(&bytes).unwrap(), song);
    }

    #[test]
    fn header_checks_come_in_order() {
        let good = encode(&Song::new_default());
        assert!(matches!(
            decode(&good[..10]),
            Err(LoadError::Truncated { len: 10 })
        ));
        assert!(matches!(decode(b"RIFF...."), Err(LoadError::NotTtrack)));
        let mut newer = good.clone();
        newer[4] = 9;
        let e = decode(&newer).unwrap_err().to_string();
        assert!(
            e.contains("written by a newer ttrack, format 9; this one reads up to 4"),
            "{e}"
        );
        let short = &good[..good.len() - 5];
        let e = decode(short).unwrap_err().to_string();
        let n = good.len() - HEADER_LEN;
        assert!(
            e.contains(&format!(
                "header says {n} bytes of song data, only {} follow",
                n - 5
            )),
            "{e}"
        );
        let mut damaged = good.clone();
        *damaged.last_mut().unwrap() ^= 0x40;
        assert!(
            decode(&damaged)
                .unwrap_err()
                .to_string()
                .contains("damaged (checksum mismatch")
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            decode(&trailing),
            Err(LoadError::TrailingBytes { extra: 1 })
        ));
    }

    #[test]
    fn save_and_load_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.ttrk");
        let song = Song::new_default();
        save(&song, &p).unwrap();
        assert_eq!(load(&p).unwrap(), song);
        let mut bad = song.clone();
        bad.bpm = 5;
        assert!(matches!(save(&bad, &p), Err(SaveError::Invalid(_))));
        assert_eq!(
            load(&p).unwrap(),
            song,
            "a refused save leaves the file alone"
        );
    }
}
