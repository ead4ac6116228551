//! When a song's tail is over: the output has stayed under −100 dBFS for 200 ms, or 10 s have
//! passed since the sequencer stopped. `ttrack render` and `ttrack play` both use this one rule,
//! so they end at the same frame. No allocation: it may run in the audio callback.

/// Level below which output counts as silent (−100 dBFS).
pub const TAIL_SILENCE: f32 = 1e-5;
/// Seconds of silence that end the tail.
pub const TAIL_QUIET_SECONDS: f64 = 0.2;
/// Longest tail in seconds.
pub const TAIL_MAX_SECONDS: f64 = 10.0;

/// Watches the output after the sequencer has stopped.
#[derive(Clone, Copy, Debug)]
pub struct TailDetector {
    quiet: u64,
    frames: u64,
    quiet_needed: u64,
    max: u64,
}

impl TailDetector {
    /// A detector for output at `rate` Hz.
    pub fn new(rate: u32) -> TailDetector {
        TailDetector {
            quiet: 0,
            frames: 0,
            quiet_needed: (TAIL_QUIET_SECONDS * rate as f64) as u64,
            max: (TAIL_MAX_SECONDS * rate as f64) as u64,
        }
    }

    /// Feeds one tail frame; true when the tail ends with it.
    #[inline]
    pub fn frame(&mut self, left: f32, right: f32) -> bool {
        self.frames += 1;
        if left.abs() < TAIL_SILENCE && right.abs() < TAIL_SILENCE {
            self.quiet += 1;
        } else {
            self.quiet = 0;
        }
        self.quiet >= self.quiet_needed || self.frames >= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_after_quiet_or_at_most() {
        let mut t = TailDetector::new(1000);
        assert!(!(0..199).any(|_| t.frame(0.0, 0.0)));
        assert!(
            t.frame(0.0, 0.0),
            "200 ms of silence at 1 kHz is 200 frames"
        );
        let mut loud = TailDetector::new(1000);
        assert_eq!((0..20_000).position(|_| loud.frame(0.5, 0.0)), Some(9_999));
    }
}
