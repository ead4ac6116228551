//! WAV files (layer 2): sample import into [`SampleData`], lossless sample export, and [`WavSink`],
//! the streaming stereo writer that `render` feeds.
//!
//! **Reading** accepts PCM 8/16/24/32-bit integer and 32-bit IEEE float (plain or
//! `WAVE_FORMAT_EXTENSIBLE`), any channel count and sample rates 1000..=384000 Hz. The header is
//! read first and a file announcing more than [`MAX_SAMPLE_VALUES`] values is refused before any
//! sample is read. An integer sample `v` of `b` bits becomes `v / 2^(b-1)`, which is exact for
//! b ≤ 24 (and for 32-bit integers rounds to the nearest f32); `bits` and `float` record the
//! source so [`write_wav`] reproduces the file's samples bit for bit at the same depth.
//!
//! **Channels.** Mono stays mono and stereo stays stereo. More channels are mixed down to stereo:
//! channel 0 goes left, channel 1 right, and every further channel goes to both sides at half gain
//! (−6 dB); each side is then divided by its total gain `1 + (n − 2) / 2`, so full-scale input
//! cannot clip. A mixed-down sample is no longer on an integer grid, so it is recorded as 32-bit
//! float (`bits = 32`, `float = true`).

use super::atomic::{AtomicError, AtomicFile};
use crate::model::SampleData;
use crate::model::limits::MAX_SAMPLE_VALUES;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Lowest and highest sample rate a WAV file may declare (the same bounds as `model::validate`).
pub const WAV_RATE_RANGE: (u32, u32) = (1_000, 384_000);

/// Why a WAV file could not be read or written; each message names the file.
#[derive(Debug, Error)]
pub enum WavError {
    /// The file could not be opened or read.
    #[error("cannot read {name}: {error}")]
    Io {
        /// The file's name or path.
        name: String,
        /// The underlying error.
        error: io::Error,
    },
    /// The file is not a well-formed WAV file.
    #[error("{name} is not a valid WAV file: {reason}")]
    Malformed {
        /// The file's name or path.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The file ends before the data its header announces.
    #[error(
        "{name} is truncated: its header announces {announced} sample values but only {read} could be read"
    )]
    Truncated {
        /// The file's name or path.
        name: String,
        /// Values the header announces.
        announced: u64,
        /// Values present.
        read: u64,
    },
    /// The file uses an encoding ttrack does not read.
    #[error("{name} uses an unsupported WAV encoding: {reason}")]
    Unsupported {
        /// The file's name or path.
        name: String,
        /// Which encoding.
        reason: String,
    },
    /// The file announces more sample values than a sample may hold.
    #[error(
        "{name} holds {values} sample values ({frames} frames × {channels} channels); the limit is {max}"
    )]
    TooLarge {
        /// The file's name or path.
        name: String,
        /// Frames announced.
        frames: u64,
        /// Channels announced.
        channels: u16,
        /// Values announced.
        values: u64,
        /// The largest allowed.
        max: u64,
    },
    /// The sample rate is outside [`WAV_RATE_RANGE`].
    #[error("{name} has a sample rate of {rate} Hz; ttrack reads {}..={} Hz", WAV_RATE_RANGE.0, WAV_RATE_RANGE.1)]
    BadRate {
        /// The file's name or path.
        name: String,
        /// The rate found.
        rate: u32,
    },
    /// A float sample is NaN or infinite.
    #[error("{name} holds a non-finite sample value at position {index}")]
    NonFinite {
        /// The file's name or path.
        name: String,
        /// Interleaved index of the value.
        index: u64,
    },
    /// The sample to write is inconsistent or cannot be stored in a WAV file.
    #[error("cannot write {}: {reason}", path.display())]
    Unwritable {
        /// The file to be written.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Encoding or writing the WAV data failed.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        error: hound::Error,
    },
    /// The atomic replacement of the file failed.
    #[error(transparent)]
    Atomic(#[from] AtomicError),
}

/// Reads a WAV file into sample data named after the file stem, with `source` left `None`
/// (the caller knows what the path is relative to).
pub fn read_wav(path: impl AsRef<Path>) -> Result<SampleData, WavError> {
    let path = path.as_ref();
    let display = path.display().to_string();
    let file = File::open(path).map_err(|error| WavError::Io {
        name: display.clone(),
        error,
    })?;
    let mut sample = read_wav_from(BufReader::new(file), &display)?;
    sample.name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(sample)
}

/// Reads WAV data from any reader; `name` is used in errors and as the sample's name.
pub fn read_wav_from<R: Read>(reader: R, name: &str) -> Result<SampleData, WavError> {
    let mut wav = hound::WavReader::new(reader).map_err(|e| header_error(name, e))?;
    let spec = wav.spec();
    let channels = spec.channels;
    if channels == 0 {
        return Err(WavError::Malformed {
            name: name.into(),
            reason: "it declares zero channels".into(),
        });
    }
    let values = u64::from(wav.len());
    let frames = u64::from(wav.duration());
    if values > MAX_SAMPLE_VALUES {
        return Err(WavError::TooLarge {
            name: name.into(),
            frames,
            channels,
            values,
            max: MAX_SAMPLE_VALUES,
        });
    }
    if spec.sample_rate < WAV_RATE_RANGE.0 || spec.sample_rate > WAV_RATE_RANGE.1 {
        return Err(WavError::BadRate {
            name: name.into(),
            rate: spec.sample_rate,
        });
    }
    let float = spec.sample_format == hound::SampleFormat::Float;
    let bits = spec.bits_per_sample;
    match (float, bits) {
        (true, 32) | (false, 8 | 16 | 24 | 32) => {}
        _ => {
            let kind = if float { "float" } else { "integer" };
            return Err(WavError::Unsupported {
                name: name.into(),
                reason: format!("{bits}-bit {kind} samples"),
            });
        }
    }
    // The header is not trusted with the allocation: grow from at most 1 Mi values.
    let mut data: Vec<f32> = Vec::with_capacity((values as usize).min(1 << 20));
    let truncated = |read: usize| WavError::Truncated {
        name: name.into(),
        announced: values,
        read: read as u64,
    };
    if float {
        for v in wav.samples::<f32>() {
            let v = v.map_err(|e| sample_error(name, e, truncated(data.len())))?;
            if !v.is_finite() {
                return Err(WavError::NonFinite {
                    name: name.into(),
                    index: data.len() as u64,
                });
            }
            data.push(v);
        }
    } else {
        for v in wav.samples::<i32>() {
            let v = v.map_err(|e| sample_error(name, e, truncated(data.len())))?;
            data.push(int_to_f32(v, bits));
        }
    }
    if data.len() as u64 != values {
        return Err(truncated(data.len()));
    }
    let mut sample = SampleData {
        name: name.into(),
        rate: spec.sample_rate,
        channels,
        bits,
        float,
        frames,
        source: None,
        data,
    };
    if channels > 2 {
        sample.data = mix_to_stereo(&sample.data, channels as usize);
        sample.channels = 2;
        sample.bits = 32;
        sample.float = true;
    }
    Ok(sample)
}

/// Mixes interleaved `n`-channel data (n > 2) down to stereo as described in the module docs.
fn mix_to_stereo(data: &[f32], n: usize) -> Vec<f32> {
    let gain = 1.0 + (n as f32 - 2.0) * 0.5;
    let mut out = Vec::with_capacity(data.len() / n * 2);
    for frame in data.chunks_exact(n) {
        let shared: f32 = frame[2..].iter().sum::<f32>() * 0.5;
        out.push((frame[0] + shared) / gain);
        out.push((frame[1] + shared) / gain);
    }
    out
}

/// True for the errors hound gives when the input ends early (it reports a short read as
/// `ErrorKind::Other` with a fixed message).
fn is_short_read(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
        || (e.kind() == io::ErrorKind::Other && e.to_string() == "Failed to read enough bytes.")
}

fn header_error(name: &str, e: hound::Error) -> WavError {
    match e {
        hound::Error::IoError(error) if is_short_read(&error) => WavError::Malformed {
            name: name.into(),
            reason: "the file ends inside its header (truncated?)".into(),
        },
        hound::Error::IoError(error) => WavError::Io {
            name: name.into(),
            error,
        },
        hound::Error::Unsupported => WavError::Unsupported {
            name: name.into(),
            reason: "a compressed or unknown format tag".into(),
        },
        other => WavError::Malformed {
            name: name.into(),
            reason: other.to_string(),
        },
    }
}

fn sample_error(name: &str, e: hound::Error, truncated: WavError) -> WavError {
    match e {
        hound::Error::IoError(error) if is_short_read(&error) => truncated,
        hound::Error::IoError(error) => WavError::Io {
            name: name.into(),
            error,
        },
        other => WavError::Malformed {
            name: name.into(),
            reason: other.to_string(),
        },
    }
}

/// `v / 2^(bits-1)`: exact for up to 24 bits.
fn int_to_f32(v: i32, bits: u16) -> f32 {
    (f64::from(v) / f64::from(1u32 << (bits - 1))) as f32
}

/// The inverse of [`int_to_f32`]: scale by `2^(bits-1)`, round, clamp to the integer range.
fn f32_to_int(x: f32, bits: u16) -> i32 {
    let scale = f64::from(1u32 << (bits - 1));
    let v = (f64::from(x) * scale).round();
    if v.is_nan() {
        0
    } else {
        v.clamp(-scale, scale - 1.0) as i32
    }
}

/// True when every value of `sample` survives [`write_wav`] and [`read_wav`] unchanged at its
/// recorded depth (always true for float samples and for integer samples read from WAV files).
pub fn fits_depth(sample: &SampleData) -> bool {
    if sample.float {
        return sample.bits == 32;
    }
    if !matches!(sample.bits, 8 | 16 | 24 | 32) {
        return false;
    }
    sample
        .data
        .iter()
        .all(|&x| int_to_f32(f32_to_int(x, sample.bits), sample.bits) == x)
}

/// Writes `sample` atomically as a WAV file at its recorded depth (`bits`, `float`); integer
/// depths round each value to the nearest step and clamp (see [`fits_depth`] for when this is exact).
pub fn write_wav(path: impl AsRef<Path>, sample: &SampleData) -> Result<(), WavError> {
    let path = path.as_ref();
    let unwritable = |reason: String| WavError::Unwritable {
        path: path.to_path_buf(),
        reason,
    };
    if sample.channels == 0 {
        return Err(unwritable("the sample has no channels".into()));
    }
    if sample.frames.checked_mul(u64::from(sample.channels)) != Some(sample.data.len() as u64) {
        return Err(unwritable(format!(
            "the sample says {} frames × {} channels but holds {} values",
            sample.frames,
            sample.channels,
            sample.data.len()
        )));
    }
    let (bits, format) = match (sample.float, sample.bits) {
        (true, 32) => (32, hound::SampleFormat::Float),
        (false, b @ (8 | 16 | 24 | 32)) => (b, hound::SampleFormat::Int),
        (float, b) => {
            let kind = if float { "float" } else { "integer" };
            return Err(unwritable(format!(
                "{b}-bit {kind} samples are not supported"
            )));
        }
    };
    let spec = hound::WavSpec {
        channels: sample.channels,
        sample_rate: sample.rate,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut file = AtomicFile::create(path)?;
    let handle = file.clone_handle()?;
    let write_err = |error| WavError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut writer = hound::WavWriter::new(BufWriter::with_capacity(1 << 16, handle), spec)
        .map_err(write_err)?;
    if sample.float {
        for &x in &sample.data {
            writer.write_sample(x).map_err(write_err)?;
        }
    } else {
        for &x in &sample.data {
            writer
                .write_sample(f32_to_int(x, bits))
                .map_err(write_err)?;
        }
    }
    writer.finalize().map_err(write_err)?;
    file.commit()?;
    Ok(())
}

/// Output sample formats of [`WavSink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit signed integer.
    S16,
    /// 24-bit signed integer.
    S24,
    /// 32-bit IEEE float.
    F32,
}

impl WavFormat {
    /// Every format, for option parsing and help text.
    pub const ALL: [WavFormat; 3] = [WavFormat::S16, WavFormat::S24, WavFormat::F32];

    /// Short name used on the command line: `s16`, `s24`, `f32`.
    pub fn name(self) -> &'static str {
        match self {
            WavFormat::S16 => "s16",
            WavFormat::S24 => "s24",
            WavFormat::F32 => "f32",
        }
    }

    /// Parses a name written by [`WavFormat::name`].
    pub fn from_name(s: &str) -> Option<WavFormat> {
        WavFormat::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Bits per sample in the file.
    pub fn bits(self) -> u16 {
        match self {
            WavFormat::S16 => 16,
            WavFormat::S24 => 24,
            WavFormat::F32 => 32,
        }
    }
}

/// Streaming stereo WAV writer for renders, written to a temporary file and moved into place by
/// [`WavSink::finish`]; dropping it unfinished leaves any previous file untouched.
///
/// It writes the RIFF layout itself (a `WAVE_FORMAT_EXTENSIBLE` header, then raw little-endian
/// samples converted a block at a time) instead of going through hound's per-sample writer, which
/// took longer than the whole engine; hound still reads every file back in the tests.
///
/// Scaling (the input is already dithered by the renderer; this only clamps and converts):
/// `S16` stores `clamp(round(x × 32767), −32768, 32767)`, `S24` stores
/// `clamp(round(x × 8388607), −8388608, 8388607)`, `F32` stores `x` unchanged (NaN becomes 0).
pub struct WavSink {
    file: AtomicFile,
    format: WavFormat,
    frames: u64,
    /// Converted samples not yet handed to the file: the first `used` bytes of a buffer of
    /// [`SINK_FLUSH_BYTES`], allocated (and zeroed) once.
    bytes: Box<[u8]>,
    used: usize,
    /// Bytes handed to the file so far (header included).
    file_bytes: u64,
}

/// Bytes of the header [`WavSink`] writes before the samples.
const SINK_HEADER_BYTES: u64 = 68;
/// Converted bytes a [`WavSink`] collects before writing them to the file: larger than the file's
/// 64 KiB buffer, so they go to the file in one write without being copied again.
const SINK_FLUSH_BYTES: usize = 1 << 17;
/// Frames converted at a time (through scratch arrays on the stack, which stay in the L1 cache).
const SINK_CHUNK_FRAMES: usize = 256;
/// Most sample bytes a RIFF file can describe (its sizes are 32-bit).
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - SINK_HEADER_BYTES;

impl WavSink {
    /// Starts a stereo WAV at `path` with `rate` Hz in `format`.
    pub fn create(
        path: impl AsRef<Path>,
        rate: u32,
        format: WavFormat,
    ) -> Result<WavSink, WavError> {
        let mut file = AtomicFile::create(path.as_ref())?;
        let header = sink_header(rate, format, 0);
        file.write_all(&header)
            .map_err(|error| sink_io(&file, error))?;
        Ok(WavSink {
            file,
            format,
            frames: 0,
            bytes: vec![0; SINK_FLUSH_BYTES].into_boxed_slice(),
            used: 0,
            file_bytes: SINK_HEADER_BYTES,
        })
    }

    /// Appends one stereo frame.
    pub fn write_frame(&mut self, left: f32, right: f32) -> Result<(), WavError> {
        self.write_block(&[left], &[right])
    }

    /// Appends a block of frames from two equally long channel slices (extra values are ignored).
    pub fn write_block(&mut self, left: &[f32], right: &[f32]) -> Result<(), WavError> {
        let n = left.len().min(right.len());
        let bytes_per_frame = 2 * (self.format.bits() as u64 / 8);
        if (self.frames + n as u64) * bytes_per_frame > MAX_DATA_BYTES {
            return Err(WavError::Write {
                path: self.file.target().to_path_buf(),
                error: hound::Error::TooWide,
            });
        }
        // Converted straight into the buffer (no zero-filling first), as much as fits at a time.
        let width = bytes_per_frame as usize;
        let mut done = 0;
        while done < n {
            let k = ((self.bytes.len() - self.used) / width).min(n - done);
            let end = self.used + k * width;
            let (l, r) = (&left[done..done + k], &right[done..done + k]);
            encode(self.format, l, r, &mut self.bytes[self.used..end]);
            self.used = end;
            done += k;
            if self.bytes.len() - self.used < width {
                self.flush_bytes()?;
            }
        }
        self.frames += n as u64;
        Ok(())
    }

    /// Hands the converted samples to the file: one large write, which bypasses the file's own
    /// buffer.
    fn flush_bytes(&mut self) -> Result<(), WavError> {
        self.file
            .write_all(&self.bytes[..self.used])
            .map_err(|error| sink_io(&self.file, error))?;
        self.file_bytes += self.used as u64;
        self.used = 0;
        Ok(())
    }

    /// Bytes written to the file so far (samples still being collected excluded), the extent
    /// that [`Writeback::push`] may start writing to the disk.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// A handle for starting, from another thread, the disk writes of what is already in the file
    /// while the render goes on, so that the sync in [`WavSink::finish`] finds most of the data on
    /// the disk and waits less. It changes nothing about what `finish` guarantees.
    pub fn writeback(&mut self) -> Result<Writeback, WavError> {
        let file = self.file.clone_handle()?;
        Ok(Writeback { file, pushed: 0 })
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes the final sizes into the header and atomically moves the file into place.
    pub fn finish(mut self) -> Result<(), WavError> {
        self.flush_bytes()?;
        let WavSink {
            mut file,
            format,
            frames,
            ..
        } = self;
        let data_bytes = frames * 2 * (format.bits() as u64 / 8);
        let header = sink_header(0, format, data_bytes);
        let patch = |file: &mut AtomicFile| -> io::Result<()> {
            file.seek(SeekFrom::Start(4))?;
            file.write_all(&header[4..8])?;
            file.seek(SeekFrom::Start(SINK_HEADER_BYTES - 4))?;
            file.write_all(&header[SINK_HEADER_BYTES as usize - 4..])?;
            file.seek(SeekFrom::End(0))?;
            Ok(())
        };
        patch(&mut file).map_err(|error| sink_io(&file, error))?;
        file.commit()?;
        Ok(())
    }
}

/// See [`WavSink::writeback`].
#[derive(Debug)]
pub struct Writeback {
    file: File,
    pushed: u64,
}

impl Writeback {
    /// Starts writing the file's bytes up to `upto` ([`WavSink::file_bytes`]) to the disk, without
    /// waiting; bytes pushed before are not pushed again. Best effort (errors show at the sink's
    /// sync); on systems other than Linux it does nothing.
    pub fn push(&mut self, upto: u64) {
        if upto > self.pushed {
            super::atomic::start_writeback(&self.file, self.pushed, upto - self.pushed);
            self.pushed = upto;
        }
    }
}

fn sink_io(file: &AtomicFile, error: io::Error) -> WavError {
    WavError::Write {
        path: file.target().to_path_buf(),
        error: hound::Error::IoError(error),
    }
}

/// The 68-byte header of a stereo `WAVE_FORMAT_EXTENSIBLE` file with `data_bytes` of samples (the
/// rate field is only meaningful when creating; `finish` patches the two size fields).
fn sink_header(rate: u32, format: WavFormat, data_bytes: u64) -> [u8; SINK_HEADER_BYTES as usize] {
    let bits = format.bits();
    let block_align = 2 * (bits / 8);
    let mut h = Vec::with_capacity(SINK_HEADER_BYTES as usize);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&((SINK_HEADER_BYTES - 8 + data_bytes) as u32).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&40u32.to_le_bytes());
    h.extend_from_slice(&0xFFFEu16.to_le_bytes()); // WAVE_FORMAT_EXTENSIBLE
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(&22u16.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes()); // valid bits
    h.extend_from_slice(&3u32.to_le_bytes()); // front left | front right
    let sub_format: u16 = if format == WavFormat::F32 { 3 } else { 1 };
    h.extend_from_slice(&sub_format.to_le_bytes());
    h.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
    ]);
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(data_bytes as u32).to_le_bytes());
    let mut out = [0u8; SINK_HEADER_BYTES as usize];
    out.copy_from_slice(&h);
    out
}

/// Writes `left` and `right` (equally long) into `out` (exactly their size) as interleaved
/// little-endian samples in `format`. Two steps per chunk of [`SINK_CHUNK_FRAMES`]: quantise each channel into an array
/// (element by element, so the compiler turns it into vector instructions), then pack the frames
/// into bytes with whole-word stores (two 24-bit frames are three 32-bit words).
fn encode(format: WavFormat, left: &[f32], right: &[f32], bytes: &mut [u8]) {
    crate::dsp::simd::dispatch!(
        encode_avx2(format, left, right, bytes),
        encode_any::<false>(format, left, right, bytes)
    )
}

/// [`encode`] compiled for AVX2 (see [`crate::dsp::simd`]), with the 24-bit packing in
/// byte shuffles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn encode_avx2(format: WavFormat, left: &[f32], right: &[f32], bytes: &mut [u8]) {
    encode_any::<true>(format, left, right, bytes)
}

/// Packs the 24-bit frames of `ql` and `qr` four at a time into `dst` (6 bytes a frame): the
/// two channels interleaved, then the low three bytes of each value gathered by one byte
/// shuffle per two frames. Returns the frames packed (whole groups of four).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn pack24_shuffled(ql: &[i32], qr: &[i32], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let groups = ql.chunks_exact(4).zip(qr.chunks_exact(4));
    let mut done = 0;
    for ((l, r), o) in groups.zip(dst.chunks_exact_mut(24)) {
        // SAFETY: the loads read the four values of each chunk, the stores write bytes 0..16
        // and 16..24 of the 24-byte chunk `o`; the rest computes on registers with SSSE3, which
        // AVX2 (this function's requirement) includes.
        unsafe {
            let shuffle = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
            let l = _mm_loadu_si128(l.as_ptr().cast());
            let r = _mm_loadu_si128(r.as_ptr().cast());
            // (l0 r0 l1 r1) and (l2 r2 l3 r3), each packed into its low 12 bytes.
            let a = _mm_shuffle_epi8(_mm_unpacklo_epi32(l, r), shuffle);
            let b = _mm_shuffle_epi8(_mm_unpackhi_epi32(l, r), shuffle);
            _mm_storeu_si128(
                o.as_mut_ptr().cast(),
                _mm_or_si128(a, _mm_slli_si128::<12>(b)),
            );
            _mm_storel_epi64(o[16..].as_mut_ptr().cast(), _mm_srli_si128::<4>(b));
        }
        done += 4;
    }
    done
}

/// The encoder; `WIDE`: compiled into [`encode_avx2`], so it may pack 24-bit samples with byte
/// shuffles.
#[inline(always)]
fn encode_any<const WIDE: bool>(format: WavFormat, left: &[f32], right: &[f32], bytes: &mut [u8]) {
    let width = format.bits() as usize / 8;
    debug_assert_eq!(bytes.len(), left.len() * 2 * width);
    let (mut ql, mut qr) = ([0i32; SINK_CHUNK_FRAMES], [0i32; SINK_CHUNK_FRAMES]);
    let chunks = left
        .chunks(SINK_CHUNK_FRAMES)
        .zip(right.chunks(SINK_CHUNK_FRAMES));
    let mut at = 0;
    for (l, r) in chunks {
        let n = l.len();
        let dst = &mut bytes[at..at + n * 2 * width];
        at += dst.len();
        let full = match format {
            WavFormat::S16 => 32767.0,
            WavFormat::S24 => 8_388_607.0,
            WavFormat::F32 => {
                let clean = |x: f32| if x.is_nan() { 0.0 } else { x };
                for (o, (&a, &b)) in dst.chunks_exact_mut(8).zip(l.iter().zip(r)) {
                    let w = u64::from(clean(a).to_bits()) | u64::from(clean(b).to_bits()) << 32;
                    o.copy_from_slice(&w.to_le_bytes());
                }
                continue;
            }
        };
        quantise_into(&mut ql[..n], l, full);
        quantise_into(&mut qr[..n], r, full);
        let (ql, qr) = (&ql[..n], &qr[..n]);
        if format == WavFormat::S16 {
            for (o, (&a, &b)) in dst.chunks_exact_mut(4).zip(ql.iter().zip(qr)) {
                let w = u32::from(a as u16) | u32::from(b as u16) << 16;
                o.copy_from_slice(&w.to_le_bytes());
            }
            continue;
        }
        #[allow(unused_mut)]
        let (mut ql, mut qr, mut dst) = (ql, qr, dst);
        #[cfg(target_arch = "x86_64")]
        if WIDE {
            // SAFETY: `WIDE` is true only in the copy compiled into `encode_avx2`, which runs
            // only when the processor has AVX2.
            #[allow(unsafe_code)]
            let k = unsafe { pack24_shuffled(ql, qr, dst) };
            (ql, qr, dst) = (&ql[k..], &qr[k..], &mut dst[6 * k..]);
        }
        let n = ql.len();
        // 24 bits: frames (a, b) and (c, d) become the words a|b<<24, b>>8|c<<16, c>>16|d<<8.
        let mut pairs = dst.chunks_exact_mut(12);
        let (l2, r2) = (ql.chunks_exact(2), qr.chunks_exact(2));
        for (o, (lp, rp)) in (&mut pairs).zip(l2.zip(r2)) {
            let (a, b, c, d) = (lp[0] as u32, rp[0] as u32, lp[1] as u32, rp[1] as u32);
            let w0 = (a & 0xFF_FFFF) | b << 24;
            let w1 = (b >> 8 & 0xFFFF) | c << 16;
            let w2 = (c >> 16 & 0xFF) | d << 8;
            o[..4].copy_from_slice(&w0.to_le_bytes());
            o[4..8].copy_from_slice(&w1.to_le_bytes());
            o[8..].copy_from_slice(&w2.to_le_bytes());
        }
        let rest = pairs.into_remainder();
        if rest.len() == 6 {
            rest[..3].copy_from_slice(&ql[n - 1].to_le_bytes()[..3]);
            rest[3..].copy_from_slice(&qr[n - 1].to_le_bytes()[..3]);
        }
    }
}

/// [`quantise`] over a slice.
fn quantise_into(out: &mut [i32], x: &[f32], full: f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = quantise(v, full);
    }
}

/// `clamp(round(x × full), −full − 1, full)` for `full` up to 2²³ − 1, NaN giving 0.
#[inline(always)]
#[allow(unsafe_code)]
fn quantise(x: f32, full: f32) -> i32 {
    // Round half away from zero, like f32::round, without the libm call that the baseline
    // x86-64 target needs for it: ±0.5 by the sign, then truncation toward zero (−0.0 gets −0.5
    // and still 0). The clamp comes before the truncation (its bounds are whole numbers, so the
    // result is the same as clamping after it) and NaN becomes 0 by hand, so the conversion has
    // nothing left to saturate: a saturating `as` cast would compile to one scalar conversion and
    // three comparisons per sample, the unchecked one to a vector instruction for four samples.
    debug_assert!((1.0..=8_388_607.0).contains(&full));
    let v = x * full;
    let t = v + 0.5f32.copysign(v);
    let t = if t.is_nan() {
        0.0
    } else {
        t.clamp(-full - 1.0, full)
    };
    // SAFETY: `t` is finite (NaN was replaced, ±inf clamped) and within −2²³ ..= 2²³ − 1, so its
    // truncation is representable as an i32.
    unsafe { t.to_int_unchecked::<i32>() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav_bytes(spec: hound::WavSpec, ints: &[i32]) -> Vec<u8> {
        let mut cur = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for &v in ints {
            if spec.sample_format == hound::SampleFormat::Float {
                w.write_sample(v as f32 / 4.0).unwrap();
            } else {
                w.write_sample(v).unwrap();
            }
        }
        w.finalize().unwrap();
        cur.into_inner()
    }

    fn spec(channels: u16, bits: u16, float: bool) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }

    #[test]
    fn integer_depths_convert_exactly_and_write_back_bit_identically() {
        let dir = tempfile::tempdir().unwrap();
        for bits in [8u16, 16, 24, 32] {
            let max = if bits == 32 {
                i32::MAX
            } else {
                (1i32 << (bits - 1)) - 1
            };
            let min = if bits == 32 {
                i32::MIN
            } else {
                -(1i32 << (bits - 1))
            };
            let ints = [0, 1, -1, max, min, max / 3, min / 7];
            let bytes = wav_bytes(spec(1, bits, false), &ints);
            let s = read_wav_from(Cursor::new(&bytes), "t").unwrap();
            assert_eq!(
                (s.bits, s.float, s.channels, s.frames),
                (bits, false, 1, ints.len() as u64)
            );
            assert_eq!(s.data[2], -1.0 / (1u64 << (bits - 1)) as f32);
            assert_eq!(s.data[4], -1.0);
            assert!(fits_depth(&s), "{bits}-bit data is on its grid");
            let p = dir.path().join(format!("{bits}.wav"));
            write_wav(&p, &s).unwrap();
            let back = read_wav(&p).unwrap();
            assert_eq!(back.data, s.data);
            if bits <= 24 {
                assert_eq!(
                    std::fs::read(&p).unwrap(),
                    bytes,
                    "{bits}-bit file is bit-identical"
                );
            }
        }
    }

    #[test]
    fn float_and_stereo_round_trip() {
        let bytes = wav_bytes(spec(2, 32, true), &[1, -2, 3, -4]);
        let s = read_wav_from(Cursor::new(&bytes), "f").unwrap();
        assert_eq!((s.channels, s.frames, s.float, s.bits), (2, 2, true, 32));
        assert_eq!(s.data, vec![0.25, -0.5, 0.75, -1.0]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.wav");
        write_wav(&p, &s).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }

    #[test]
    fn many_channels_mix_down_to_stereo() {
        // 4 channels: L = (c0 + (c2 + c3)/2) / 2, R = (c1 + (c2 + c3)/2) / 2.
        let bytes = wav_bytes(spec(4, 32, true), &[4, 0, 2, 2]);
        let s = read_wav_from(Cursor::new(&bytes), "q").unwrap();
        assert_eq!((s.channels, s.frames, s.float, s.bits), (2, 1, true, 32));
        assert_eq!(s.data, vec![(1.0 + 0.5) / 2.0, 0.5 / 2.0]);
    }

    #[test]
    fn off_grid_data_does_not_fit_its_depth() {
        let mut s = SampleData::mono("x", 44_100, vec![0.3]);
        s.bits = 16;
        s.float = false;
        assert!(!fits_depth(&s));
        s.data = vec![0.5];
        assert!(fits_depth(&s));
    }

    #[test]
    fn sink_scales_and_clamps_as_documented() {
        let dir = tempfile::tempdir().unwrap();
        for format in WavFormat::ALL {
            let p = dir.path().join(format!("{}.wav", format.name()));
            let mut sink = WavSink::create(&p, 48_000, format).unwrap();
            sink.write_block(&[1.0, -1.0, 2.0, 0.5], &[0.0, -2.0, f32::NAN, -0.25])
                .unwrap();
            assert_eq!(sink.frames(), 4);
            assert!(!p.exists(), "nothing appears before finish");
            sink.finish().unwrap();
            let mut r = hound::WavReader::open(&p).unwrap();
            assert_eq!(r.spec().channels, 2);
            assert_eq!(r.spec().sample_rate, 48_000);
            assert_eq!(r.spec().bits_per_sample, format.bits());
            match format {
                WavFormat::S16 | WavFormat::S24 => {
                    let full = if format == WavFormat::S16 {
                        32767
                    } else {
                        8_388_607
                    };
                    let v: Vec<i32> = r.samples::<i32>().map(|x| x.unwrap()).collect();
                    let half = (full as f32 * 0.5).round() as i32;
                    let quarter = (full as f32 * -0.25).round() as i32;
                    assert_eq!(v, vec![full, 0, -full, -full - 1, full, 0, half, quarter]);
                }
                WavFormat::F32 => {
                    let v: Vec<f32> = r.samples::<f32>().map(|x| x.unwrap()).collect();
                    assert_eq!(v, vec![1.0, 0.0, -1.0, -2.0, 2.0, 0.0, 0.5, -0.25]);
                }
            }
        }
    }

    #[test]
    fn block_conversion_matches_the_per_sample_formula() {
        // The reference: round half away from zero with a saturating cast, then clamp.
        fn reference(x: f32, full: f32) -> i32 {
            let v = x * full;
            ((v + 0.5f32.copysign(v)) as i32).clamp(-(full as i32) - 1, full as i32)
        }
        let mut rng = crate::dsp::rng::Rng::new(7);
        let mut values: Vec<f32> = vec![
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0,
            -1.0,
            1.5,
            -1.5,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
        ];
        for full in [32767.0f32, 8_388_607.0] {
            for k in [0.5f32, 1.5, 2.5, 100.5, 8_388_606.5] {
                for d in [-1.0, 0.0, 1.0] {
                    let half = f32::from_bits(((k / full).to_bits() as i32 + d as i32) as u32);
                    values.extend([half, -half]);
                }
            }
        }
        // An odd count longer than a conversion chunk: the pair and single-frame paths both run.
        while values.len() < 2 * SINK_CHUNK_FRAMES + 77 {
            values.push((rng.unit() * 2.0 - 1.0) * 1.2);
        }
        let (l, r): (Vec<f32>, Vec<f32>) = (values.clone(), values.iter().rev().copied().collect());
        for (format, full) in [(WavFormat::S16, 32767.0), (WavFormat::S24, 8_388_607.0)] {
            let width = format.bits() as usize / 8;
            let mut bytes = vec![0; l.len() * 2 * width];
            encode(format, &l, &r, &mut bytes);
            let mut want = Vec::new();
            for (&a, &b) in l.iter().zip(&r) {
                want.extend_from_slice(&reference(a, full).to_le_bytes()[..width]);
                want.extend_from_slice(&reference(b, full).to_le_bytes()[..width]);
            }
            assert_eq!(bytes, want, "{}", format.name());
        }
    }

    #[test]
    fn unfinished_sink_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.wav");
        std::fs::write(&p, b"old").unwrap();
        {
            let mut sink = WavSink::create(&p, 44_100, WavFormat::S16).unwrap();
            sink.write_frame(0.1, 0.2).unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_files_give_errors() {
        let good = wav_bytes(spec(1, 16, false), &[1, 2, 3, 4]);
        for cut in 0..good.len() {
            let e = read_wav_from(Cursor::new(&good[..cut]), "cut.wav")
                .unwrap_err()
                .to_string();
            assert!(e.contains("cut.wav"), "{e}");
        }
        assert!(
            read_wav_from(Cursor::new(b"garbage garbage garbage garbage garbage"), "g").is_err()
        );
    }
}
