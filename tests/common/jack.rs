//! A JACK dummy server for the JACK tests, stopped with SIGTERM when dropped.

use std::process::Child;
use std::time::{Duration, Instant};

/// A running `jackd`. Dropping it sends SIGTERM, which lets jackd remove its entry from JACK's
/// shared-memory registry (a killed server leaves it behind, and after a few such runs JACK
/// refuses to start: "too many servers"); after 5 s it is killed.
pub struct Jackd(pub Child);

impl Drop for Jackd {
    fn drop(&mut self) {
        // SAFETY: kill(2) with the pid of our own child process.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when jackd is installed; else says so and returns false (a failure under `CI=true`).
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn installed() -> bool {
    if std::process::Command::new("jackd")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    let why = "jackd (Debian jackd2) is not installed";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("prerequisite missing under CI: {why}");
    }
    eprintln!("skipping: {why}");
    false
}

/// Starts a dummy-backend server named `server` at 48 kHz with periods of `period` frames and
/// waits until it answers.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn start(server: &str, period: u32) -> Jackd {
    let child = std::process::Command::new("jackd")
        .args(["-n", server, "-d", "dummy", "-r", "48000", "-p"])
        .arg(period.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start jackd");
    let j = Jackd(child);
    let ok = std::process::Command::new("jack_wait")
        .args(["-w", "-t", "8"])
        .env("JACK_DEFAULT_SERVER", server)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "jackd did not come up");
    j
}
