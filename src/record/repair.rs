//! Repair at start: a take whose writer was killed (kill -9, power loss) has a header whose sizes
//! cover less (or, after a power loss, more) than the file holds. [`repair_takes`] finds such
//! takes in a recordings folder and sets their sizes from the file's length, whole frames only,
//! cutting off a partly written last frame.

use super::RecordError;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One take whose header was fixed.
#[derive(Clone, Debug, PartialEq)]
pub struct RepairedTake {
    /// The file.
    pub path: PathBuf,
    /// Frames the header announced before.
    pub frames_before: u64,
    /// Frames it holds now.
    pub frames: u64,
    /// Sample rate in Hz.
    pub rate: u32,
}

impl RepairedTake {
    /// Seconds of audio the take holds now.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.rate.max(1))
    }

    /// Seconds the repair recovered (negative when the header announced more than was there).
    pub fn seconds_recovered(&self) -> f64 {
        (self.frames as f64 - self.frames_before as f64) / f64::from(self.rate.max(1))
    }
}

impl std::fmt::Display for RepairedTake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        if self.frames >= self.frames_before {
            write!(
                f,
                "repaired {name}: {:.1} s recovered ({:.1} s in all)",
                self.seconds_recovered(),
                self.seconds()
            )
        } else {
            write!(
                f,
                "repaired {name}: {:.1} s announced but not on disk, {:.1} s kept",
                -self.seconds_recovered(),
                self.seconds()
            )
        }
    }
}

/// What a scan of a recordings folder found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepairReport {
    /// Takes whose header was fixed.
    pub repaired: Vec<RepairedTake>,
    /// WAV files that could not be read as a take, with the reason; they are left as they are.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Where the samples of a WAV file start and how they are framed.
struct Layout {
    riff_size_at: u64,
    data_size_at: u64,
    data_at: u64,
    data_bytes: u64,
    block: u64,
    rate: u32,
}

/// Reads the chunk layout up to the `data` chunk.
fn layout(file: &mut std::fs::File) -> Result<Layout, String> {
    let mut head = [0u8; 12];
    file.read_exact(&mut head)
        .map_err(|_| String::from("shorter than a WAV header"))?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err(String::from("not a RIFF/WAVE file"));
    }
    let mut at = 12u64;
    let mut fmt: Option<(u64, u32)> = None;
    loop {
        let mut chunk = [0u8; 8];
        file.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        file.read_exact(&mut chunk)
            .map_err(|_| String::from("no data chunk"))?;
        let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        match &chunk[0..4] {
            b"fmt " => {
                let mut body = [0u8; 16];
                file.read_exact(&mut body)
                    .map_err(|_| String::from("the fmt chunk is cut off"))?;
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let block = u64::from(u16::from_le_bytes([body[12], body[13]]));
                if block == 0 {
                    return Err(String::from("the fmt chunk declares empty frames"));
                }
                fmt = Some((block, rate));
            }
            b"data" => {
                let (block, rate) = fmt.ok_or("the data chunk comes before the fmt chunk")?;
                return Ok(Layout {
                    riff_size_at: 4,
                    data_size_at: at + 4,
                    data_at: at + 8,
                    data_bytes: size,
                    block,
                    rate,
                });
            }
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
}

/// Checks one take and fixes its sizes when they disagree with the file's length. `Ok(None)`:
/// it was consistent.
pub fn repair_take(path: &Path) -> Result<Option<RepairedTake>, String> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    let l = layout(&mut file)?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let on_disk = len.saturating_sub(l.data_at);
    let whole = on_disk / l.block * l.block;
    let whole = whole.min(u64::from(u32::MAX) - l.data_at);
    // A writer never leaves bytes after its data chunk; a consistent take has data + at most a
    // pad byte after the samples.
    if l.data_bytes == whole && on_disk - whole <= 1 {
        return Ok(None);
    }
    {
        let data = whole as u32;
        let riff = (l.data_at - 8 + whole) as u32;
        file.write_all_at(&data.to_le_bytes(), l.data_size_at)
            .map_err(|e| e.to_string())?;
        file.write_all_at(&riff.to_le_bytes(), l.riff_size_at)
            .map_err(|e| e.to_string())?;
        file.set_len(l.data_at + whole).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        Ok(Some(RepairedTake {
            path: path.to_path_buf(),
            frames_before: l.data_bytes / l.block,
            frames: whole / l.block,
            rate: l.rate,
        }))
    }
}

/// Scans `dir` (a song's recordings folder) for WAV takes whose header sizes are short or do not
/// match the file's length, fixes them and says what it did. A missing folder is no error.
pub fn repair_takes(dir: &Path) -> Result<RepairReport, RecordError> {
    let mut report = RepairReport::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(source) => {
            return Err(RecordError::Folder {
                dir: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .collect();
    paths.sort();
    for path in paths {
        match repair_take(&path) {
            Ok(Some(r)) => report.repaired.push(r),
            Ok(None) => {}
            Err(why) => report.unreadable.push((path, why)),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::writer::{TakeFormat, TakeWriter};
    use super::*;

    #[test]
    fn a_take_cut_off_before_its_header_update_is_repaired_to_whole_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("take-001.wav");
        let mut w = TakeWriter::create(&path, 48_000, 2, TakeFormat::S24).unwrap();
        w.write(&vec![0.25; 2 * 4800]).unwrap();
        w.update_header().unwrap();
        // Killed after more samples went out but before the header was updated, in the middle of
        // a frame.
        w.write(&vec![-0.5; 2 * 48_000]).unwrap();
        drop(w);
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(44 + 6 * (4800 + 48_000) - 4).unwrap();
        drop(f);
        let report = repair_takes(dir.path()).unwrap();
        assert_eq!(report.repaired.len(), 1, "{report:?}");
        let r = &report.repaired[0];
        assert_eq!((r.frames_before, r.frames), (4800, 4800 + 47_999));
        assert_eq!(
            r.to_string(),
            "repaired take-001.wav: 1.0 s recovered (1.1 s in all)"
        );
        let s = crate::format::wav::read_wav(&path).unwrap();
        assert_eq!(s.frames, 52_799);
        assert_eq!(s.data[2 * 52_798], -0.5);
        assert_eq!(
            repair_takes(dir.path()).unwrap(),
            RepairReport::default(),
            "fixed once"
        );
    }

    #[test]
    fn a_header_announcing_more_than_the_file_holds_is_cut_down() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("take-002.wav");
        let mut w = TakeWriter::create(&path, 48_000, 1, TakeFormat::F32).unwrap();
        w.write(&[0.5; 1000]).unwrap();
        w.update_header().unwrap();
        drop(w);
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(44 + 4 * 600).unwrap();
        drop(f);
        std::fs::write(dir.path().join("junk.wav"), b"RIFF").unwrap();
        let report = repair_takes(dir.path()).unwrap();
        assert_eq!(report.repaired[0].frames, 600);
        assert_eq!(report.unreadable.len(), 1);
        assert_eq!(crate::format::wav::read_wav(&path).unwrap().frames, 600);
    }
}
