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
