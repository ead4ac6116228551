//! Drives a real terminal program in a private tmux server: send keys, read the screen, wait for
//! text. Each session gets its own server socket, so tests never touch a developer's tmux.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// A program running in its own tmux server.
pub struct Tmux {
    socket: String,
}

/// True when tmux can be run. Under `CI=true` its absence is a failure, elsewhere tests skip.
pub fn available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("tmux is required under CI (scripts/deps.sh test installs it)");
    }
    if !ok {
        eprintln!("skipping: tmux is not installed");
    }
    ok
}

impl Tmux {
    /// Starts `cmd` (a shell command line) in a `cols`×`rows` terminal; `env` is added to its
    /// environment. The pane stays after the program exits and shows `[exit N]`.
    pub fn start(name: &str, cols: u16, rows: u16, cmd: &str, env: &[(&str, &str)]) -> Tmux {
        let socket = format!("ttrack-test-{name}-{}", std::process::id());
        let _ = Command::new("tmux")
            .args(["-L", &socket, "kill-server"])
            .output();
        let mut envs = String::new();
        for (k, v) in env {
            envs.push_str(&format!("{k}='{v}' "));
        }
        let line = format!("{envs}{cmd}; echo \"[exit $?]\"; sleep 600");
        let o = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                &cols.to_string(),
            ])
            .args(["-y", &rows.to_string(), &line])
            .env("TERM", "xterm-256color")
            .output()
            .expect("start tmux");
        assert!(
            o.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Tmux { socket }
    }

    /// Sends tmux key names (`Escape`, `Space`, `C-s`, `z`).
    pub fn keys(&self, keys: &[&str]) {
        let o = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main"])
            .args(keys)
            .output();
        assert!(o.is_ok_and(|o| o.status.success()), "send-keys {keys:?}");
    }

    /// True while the program shows its alternate screen (a full-screen UI that has not restored
    /// the terminal).
    pub fn alternate_on(&self) -> bool {
        let o = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "-t",
                "main",
                "#{alternate_on}",
            ])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&o.stdout).trim() == "1"
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Waits until the screen contains `text`; panics with the screen after `secs` seconds.
    pub fn wait_for(&self, text: &str, secs: f64) -> String {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if Instant::now() > end {
                panic!("waited {secs} s for {text:?}; the screen is:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
