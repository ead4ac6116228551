//! A WAV file that is valid on disk while it grows: the header is written first with sizes for
//! the data so far, samples are appended, and [`TakeWriter::update_header`] patches the RIFF and
//! data sizes in place (a positional write, the append position never moves). A process killed
//! at any moment leaves a file whose header covers everything up to the last update; the bytes
//! after it are recovered by [`super::repair`].

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes before the samples: RIFF header (12), `fmt ` chunk (8 + 16), `data` chunk header (8).
pub const HEADER_BYTES: u64 = 44;
/// Offset of the RIFF size field.
const RIFF_SIZE_AT: u64 = 4;
/// Offset of the data size field.
const DATA_SIZE_AT: u64 = 40;

/// Sample format of a take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TakeFormat {
    /// 24-bit signed integer PCM (rounded, clipped at full scale).
    #[default]
    S24,
    /// 32-bit IEEE float, exactly what the device delivered.
    F32,
}

impl TakeFormat {
    /// Parses `s24` or `f32`.
    pub fn from_name(name: &str) -> Option<TakeFormat> {
        match name.to_ascii_lowercase().as_str() {
            "s24" => Some(TakeFormat::S24),
            "f32" => Some(TakeFormat::F32),
            _ => None,
        }
    }

    /// `s24` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            TakeFormat::S24 => "s24",
            TakeFormat::F32 => "f32",
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> u16 {
        match self {
            TakeFormat::S24 => 3,
            TakeFormat::F32 => 4,
        }
    }
}

/// The 44-byte header of a WAV with `data_bytes` bytes of samples.
fn header(rate: u32, channels: u16, format: TakeFormat, data_bytes: u32) -> [u8; 44] {
    let block = channels * format.bytes();
    let tag: u16 = match format {
        TakeFormat::S24 => 1,
        TakeFormat::F32 => 3,
    };
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data_bytes.saturating_add(36)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&tag.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block)).to_le_bytes());
    h[32..34].copy_from_slice(&block.to_le_bytes());
    h[34..36].copy_from_slice(&(format.bytes() * 8).to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

/// Why a write stopped; the file keeps every whole frame written before it (header updated).
#[derive(Debug)]
pub enum WriteStop {
    /// The operating system refused the write (disk full, I/O error, file size limit).
    Io(io::Error),
    /// The take reached the 4 GiB a WAV file can hold.
    SizeLimit,
}

/// A WAV take being written.
pub struct TakeWriter {
    file: File,
    path: PathBuf,
    channels: u16,
    format: TakeFormat,
    /// Bytes of samples appended (always whole frames once a write returns).
    data_bytes: u64,
    /// Bytes of samples the header on disk covers.
    header_bytes: u64,
    /// Conversion buffer, reused.
    bytes: Vec<u8>,
}

impl TakeWriter {
    /// Creates `path` (never replacing a file: an existing one is an `AlreadyExists` error) and
    /// writes the header of an empty take.
    pub fn create(
        path: &Path,
        rate: u32,
        channels: u16,
        format: TakeFormat,
    ) -> io::Result<TakeWriter> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        file.write_all(&header(rate, channels, format, 0))?;
        Ok(TakeWriter {
            file,
            path: path.to_path_buf(),
            channels: channels.max(1),
            format,
            data_bytes: 0,
            header_bytes: 0,
            bytes: Vec::new(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes per frame.
    fn block(&self) -> u64 {
        u64::from(self.channels) * u64::from(self.format.bytes())
    }

    /// Whole frames appended so far.
    pub fn frames(&self) -> u64 {
        self.data_bytes / self.block()
    }

    /// Appends interleaved samples (whole frames). On failure the file is cut back to the last
    /// whole frame and its header updated, so it stays a valid WAV of everything written before.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), WriteStop> {
        let ch = usize::from(self.channels);
        let samples = &samples[..samples.len() / ch * ch];
        self.bytes.clear();
        match self.format {
            TakeFormat::S24 => {
                for &x in samples {
                    let v = (f64::from(x) * 8_388_608.0)
                        .round()
                        .clamp(-8_388_608.0, 8_388_607.0) as i32;
                    self.bytes.extend_from_slice(&v.to_le_bytes()[..3]);
                }
            }
            TakeFormat::F32 => {
                for &x in samples {
                    self.bytes.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        if HEADER_BYTES + self.data_bytes + self.bytes.len() as u64 > u64::from(u32::MAX) {
            return Err(WriteStop::SizeLimit);
        }
        let mut done = 0;
        while done < self.bytes.len() {
            match self.file.write(&self.bytes[done..]) {
                Ok(0) => {
                    return Err(self.cut_back(done, io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.cut_back(done, e)),
            }
        }
        self.data_bytes += done as u64;
        Ok(())
    }

    /// After a failed write of which `done` bytes went out: keep whole frames only, truncate
    /// the rest and update the header (best effort: the repair at the next start covers it).
    fn cut_back(&mut self, done: usize, e: io::Error) -> WriteStop {
        let whole = (self.data_bytes + done as u64) / self.block() * self.block();
        self.data_bytes = whole;
        let _ = self.file.set_len(HEADER_BYTES + whole);
        let _ = self.update_header();
        let _ = self.file.sync_data();
        WriteStop::Io(e)
    }

    /// Writes the current RIFF and data sizes into the header (in place; appending goes on at
    /// the end). Does nothing when they have not changed.
    pub fn update_header(&mut self) -> io::Result<()> {
        if self.header_bytes == self.data_bytes {
            return Ok(());
        }
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        self.file
            .write_all_at(&data.saturating_add(36).to_le_bytes(), RIFF_SIZE_AT)?;
        self.file.write_all_at(&data.to_le_bytes(), DATA_SIZE_AT)?;
        self.header_bytes = self.data_bytes;
        Ok(())
    }

    /// Forces what was written (samples and header) to the disk (`fdatasync`).
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Final header, `fsync`, close. Returns the frames in the file.
    pub fn finish(mut self) -> io::Result<u64> {
        self.update_header()?;
        self.file.sync_all()?;
        Ok(self.frames())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_a_valid_wav_after_each_header_update() {
        let dir = tempfile::tempdir().unwrap();
        for format in [TakeFormat::S24, TakeFormat::F32] {
            let path = dir.path().join(format!("t-{}.wav", format.name()));
            let mut w = TakeWriter::create(&path, 48_000, 2, format).unwrap();
            w.write(&[0.5, -0.25, 0.125, -1.0]).unwrap();
            w.update_header().unwrap();
            // Valid while still open.
            let s = crate::format::wav::read_wav(&path).unwrap();
            assert_eq!((s.frames, s.channels), (2, 2));
            w.write(&[0.75, 0.0]).unwrap();
            assert_eq!(w.finish().unwrap(), 3);
            let s = crate::format::wav::read_wav(&path).unwrap();
            assert_eq!(s.frames, 3);
            assert_eq!(s.data, [0.5, -0.25, 0.125, -1.0, 0.75, 0.0]);
            assert!(
                TakeWriter::create(&path, 48_000, 2, format).is_err(),
                "never replaces"
            );
        }
    }
}
