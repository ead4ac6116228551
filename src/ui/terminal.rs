//! The terminal: entering and leaving the alternate screen (restored on every exit path, panics
//! included) and keeping the audio system's own error chatter off the screen by pointing fd 2 at a
//! log file while the UI runs.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

/// The original stderr while it is redirected (-1 otherwise), for the panic hook.
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Wraps the panic hook: a panic on the audio thread is only logged (the callback turns it into
/// silence), any other panic first puts stderr back so its message reaches the restored screen.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if crate::audio::in_audio_callback() {
            eprintln!("audio thread: {info}");
            return;
        }
        let saved = SAVED_STDERR.load(Ordering::Relaxed);
        if saved >= 0 {
            // SAFETY: `saved` is the original stderr, still open while the redirect lasts.
            unsafe { libc::dup2(saved, 2) };
        }
        previous(info);
    }));
}

/// Where stderr goes while the UI runs: `$XDG_STATE_HOME/ttrack/ttrack.log`
/// (default `~/.local/state/ttrack/ttrack.log`), else the temporary directory.
pub fn log_path() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("ttrack").join("ttrack.log")
}

/// fd 2 redirected to a log file; dropping it puts the original stderr back.
pub struct StderrToLog {
    saved: i32,
    /// The log file.
    pub path: PathBuf,
    start_len: u64,
}

impl StderrToLog {
    /// Points fd 2 at the log file (appending). Fails without changing anything.
    pub fn start() -> io::Result<StderrToLog> {
        let path = log_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::options().create(true).append(true).open(&path)?;
        let start_len = file.metadata()?.len();
        // SAFETY: dup and dup2 only duplicate descriptors; fd 2 is valid for the whole process,
        // and `file` stays open until after dup2 has made its own copy.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above; on failure the saved copy is closed and fd 2 is unchanged.
        if unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: `saved` is a descriptor we own.
            unsafe { libc::close(saved) };
            return Err(e);
        }
        SAVED_STDERR.store(saved, Ordering::Relaxed);
        Ok(StderrToLog {
            saved,
            path,
            start_len,
        })
    }

    /// True when something was written to the log while the UI ran.
    pub fn wrote_anything(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() > self.start_len)
    }

    fn restore(&mut self) {
        if self.saved >= 0 {
            SAVED_STDERR.store(-1, Ordering::Relaxed);
            // SAFETY: `saved` is the original stderr, kept open by us until now.
            unsafe {
                libc::dup2(self.saved, 2);
                libc::close(self.saved);
            }
            self.saved = -1;
        }
    }
}

impl Drop for StderrToLog {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Restores the terminal when dropped (error returns; ratatui's own hook covers panics).
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// True when both stdin and stdout are terminals.
pub fn is_terminal() -> bool {
    io::stdin().is_terminal() && io::stdout().is_terminal()
}
