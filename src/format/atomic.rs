//! Atomic file replacement (layer 2, used by every saver in `format`): data goes to `NAME.tmp.PID`
//! beside the target, is flushed and `fsync`ed, then renamed over the target and the directory is
//! `fsync`ed. Until the rename the old file is untouched; on any error, or when an [`AtomicFile`] is
//! dropped without [`AtomicFile::commit`], the temporary file is removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why an atomic write failed; the target file is unchanged in every case but [`AtomicError::SyncDir`].
#[derive(Debug, Error)]
pub enum AtomicError {
    /// The temporary file could not be created.
    #[error("cannot create a temporary file beside {}: {error}", path.display())]
    Create {
        /// The file that was to be written.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// Writing or flushing the temporary file failed.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The file that was to be written.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// The temporary file could not be renamed over the target.
    #[error("cannot replace {}: {error}", path.display())]
    Rename {
        /// The file that was to be written.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// The file is in place but its directory could not be synced, so it may not survive a crash.
    #[error("wrote {} but could not sync its directory: {error}", path.display())]
    SyncDir {
        /// The file that was written.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
}

/// Writes `bytes` to `path` atomically: readers see either the old file or the whole new one.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), AtomicError> {
    let mut file = AtomicFile::create(path)?;
    let result = file.writer().write_all(bytes);
    if let Err(error) = result {
        return Err(AtomicError::Write {
            path: file.target.clone(),
            error,
        });
    }
    file.commit()
}

/// Removes the temporary file when dropped, unless disarmed by a successful rename.
#[derive(Debug)]
struct TempGuard {
    path: Option<PathBuf>,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Best effort: the temp file is garbage either way and the error has been reported.
            let _ = fs::remove_file(path);
        }
    }
}

/// A file being written in place of `target`: write through [`AtomicFile::writer`], then
/// [`AtomicFile::commit`]. Dropping it uncommitted deletes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    // Field order matters: the writer (and its file handle) closes before the guard removes the file.
    writer: BufWriter<File>,
    target: PathBuf,
    guard: TempGuard,
}

impl AtomicFile {
    /// Creates `NAME.tmp.PID` (or `NAME.tmp.PID.N` if taken) in the directory of `target`.
    pub fn create(target: impl AsRef<Path>) -> Result<AtomicFile, AtomicError> {
        let target = target.as_ref().to_path_buf();
        let create_err = |error| AtomicError::Create {
            path: target.clone(),
            error,
        };
        let Some(name) = target.file_name() else {
            return Err(create_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names no file",
            )));
        };
        let dir = parent_dir(&target);
        let base = format!("{}.tmp.{}", name.to_string_lossy(), std::process::id());
        let mut attempt = 0u32;
        let (file, temp) = loop {
            let candidate = if attempt == 0 {
                base.clone()
            } else {
                format!("{base}.{attempt}")
            };
            let temp = dir.join(candidate);
            match OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .open(&temp)
            {
                Ok(file) => break (file, temp),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => {
                    attempt += 1
                }
                Err(e) => return Err(create_err(e)),
            }
        };
        let guard = TempGuard { path: Some(temp) };
        // Keep the permissions of the file being replaced (best effort: a new file gets the defaults).
        if let (Ok(meta), Some(temp)) = (fs::metadata(&target), guard.path.as_ref()) {
            let _ = fs::set_permissions(temp, meta.permissions());
        }
        Ok(AtomicFile {
            writer: BufWriter::with_capacity(1 << 16, file),
            target,
            guard,
        })
    }

    /// The buffered writer over the temporary file.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// The file this one will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file being written.
    pub fn temp_path(&self) -> Option<&Path> {
        self.guard.path.as_deref()
    }

    /// A second handle on the temporary file (shares its position), for writers that must own
    /// their output, such as `hound::WavWriter`. Flush it before [`AtomicFile::commit`].
    pub(crate) fn clone_handle(&mut self) -> Result<File, AtomicError> {
        let target = self.target.clone();
        self.writer.flush().map_err(|error| AtomicError::Write {
            path: target.clone(),
            error,
        })?;
        self.writer
            .get_ref()
            .try_clone()
            .map_err(|error| AtomicError::Write {
                path: target,
                error,
            })
    }

    /// Flushes, syncs, renames over the target and syncs the directory.
    pub fn commit(self) -> Result<(), AtomicError> {
        let AtomicFile {
            writer,
            target,
            mut guard,
        } = self;
        let write_err = |error| AtomicError::Write {
            path: target.clone(),
            error,
        };
        let file = writer.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        let Some(temp) = guard.path.as_ref() else {
            return Err(write_err(io::Error::other("the temporary file is gone")));
        };
        // The file being replaced stays open across the rename, so that freeing it (dropping its
        // cached pages: tens of milliseconds for a long WAV) happens when it is closed below, not
        // inside the rename, where the directory is locked and renames of other files in it (the
        // stems of a render, finished side by side) would wait one after the other.
        let replaced = fs::symlink_metadata(&target)
            .is_ok_and(|m| m.is_file())
            .then(|| fs::File::open(&target).ok())
            .flatten();
        fs::rename(temp, &target).map_err(|error| AtomicError::Rename {
            path: target.clone(),
            error,
        })?;
        guard.path = None;
        let synced = sync_dir(&parent_dir(&target)).map_err(|error| AtomicError::SyncDir {
            path: target.clone(),
            error,
        });
        drop(replaced);
        synced
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.writer.seek(pos)
    }
}

/// Asks the kernel to start writing `len` bytes of `file` from `offset` (written to it already) to
/// the disk, and returns without waiting for the disk (Linux `sync_file_range` with
/// `SYNC_FILE_RANGE_WRITE`: no journal commit, no cache flush). Best effort and no replacement
/// for a sync: a failure shows when the file is synced. A no-op on other systems.
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: a system call on a descriptor `file` keeps open for the call's duration; it
        // takes no pointers. Its result is ignored on purpose (see above).
        #[allow(unsafe_code)]
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened as files here; the rename is as durable as the platform makes it.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_target_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("song.ttrk");
        fs::write(&p, b"old").unwrap();
        write_atomic(&p, b"new contents").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new contents");
        assert_eq!(names_in(dir.path()), vec!["song.ttrk".to_string()]);
    }

    #[test]
    fn drop_without_commit_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        fs::write(&p, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.writer().write_all(b"half written").unwrap();
            let temp = f.temp_path().unwrap().to_path_buf();
            assert!(temp.exists());
            assert!(
                temp.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("a.txt.tmp.")
            );
        }
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(names_in(dir.path()), vec!["a.txt".to_string()]);
    }

    #[test]
    fn two_open_writers_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        let mut a = AtomicFile::create(&p).unwrap();
        let mut b = AtomicFile::create(&p).unwrap();
        assert_ne!(a.temp_path(), b.temp_path());
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"b");
        assert_eq!(names_in(dir.path()), vec!["x".to_string()]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/file");
        let e = write_atomic(&p, b"x").unwrap_err().to_string();
        assert!(e.contains("no/such/dir/file"), "{e}");
    }

    #[test]
    fn rename_failure_removes_the_temp_and_keeps_the_target() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory as target: the rename fails.
        let p = dir.path().join("target");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("keep"), b"k").unwrap();
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(matches!(e, AtomicError::Rename { .. }), "{e}");
        assert_eq!(names_in(dir.path()), vec!["target".to_string()]);
        assert_eq!(fs::read(p.join("keep")).unwrap(), b"k");
    }
}
