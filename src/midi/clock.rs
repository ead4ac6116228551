//! The clock of MIDI arrival times: nanoseconds since a process-wide epoch on the monotonic clock.
//! The midir thread stamps events with it and the audio wrapper stamps each period's start with
//! it, so the engine can place an event within the period from plain numbers (it never reads a
//! clock itself).

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The epoch; the first call fixes it. Call it once off the audio thread (the audio wrapper does
/// so when it is built) so the audio thread never initialises it.
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// `t` in nanoseconds since the epoch (0 for an instant before it).
pub fn nanos_at(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

/// Now, in nanoseconds since the epoch.
pub fn now_nanos() -> u64 {
    nanos_at(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_runs_forward_from_the_epoch() {
        let a = now_nanos();
        let b = nanos_at(Instant::now() + std::time::Duration::from_millis(5));
        assert!(b >= a + 5_000_000, "{a} {b}");
        assert_eq!(nanos_at(epoch()), 0);
    }
}
