//! Input monitoring: the audio input's callback pushes what comes in (stereo frames) into a ring
//! while monitoring is on, and the engine adds it to its output after everything else, so the
//! player hears the input with the song. Live only, like the metronome: renders have no ring.
//!
//! The lag is bounded: when more than [`MAX_LAG_FRAMES`] frames beyond the block wait (an input
//! period larger than the output's, or a stall), the oldest are skipped; when fewer than a block
//! are there, the rest of the block has no input (counted as a monitor underrun). Under JACK the
//! input period is pushed in the same process callback, before the engine runs: no added latency.

use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Observer, Producer, Split};

/// Frames the monitor ring holds.
pub const MONITOR_RING_FRAMES: usize = 16_384;
/// Most frames of input allowed to wait beyond the block being played.
pub const MAX_LAG_FRAMES: usize = 2048;

/// The input callback's end: interleaved stereo frames.
pub struct MonitorSender(ringbuf::HeapProd<f32>);
/// The engine's end (see [`super::Command::SetMonitor`]).
pub struct MonitorReceiver(ringbuf::HeapCons<f32>);

/// A monitor ring of [`MONITOR_RING_FRAMES`] stereo frames.
pub fn monitor_ring() -> (MonitorSender, MonitorReceiver) {
    let (p, c) = HeapRb::<f32>::new(2 * MONITOR_RING_FRAMES).split();
    (MonitorSender(p), MonitorReceiver(c))
}

impl MonitorSender {
    /// Pushes frames; those that do not fit are dropped (the engine is not taking them).
    pub fn push(&mut self, frames: impl Iterator<Item = [f32; 2]>) {
        for [l, r] in frames {
            if self.0.vacant_len() < 2 {
                return;
            }
            let _ = self.0.try_push(l);
            let _ = self.0.try_push(r);
        }
    }
}

impl std::fmt::Debug for MonitorSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MonitorSender")
    }
}

impl std::fmt::Debug for MonitorReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MonitorReceiver({} frames waiting)",
            self.0.occupied_len() / 2
        )
    }
}

impl MonitorReceiver {
    /// Adds the next `left.len()` frames of input to `left`/`right`, after skipping what lags
    /// more than [`MAX_LAG_FRAMES`]; returns the frames that were missing.
    pub fn mix_into(&mut self, left: &mut [f32], right: &mut [f32]) -> usize {
        let n = left.len().min(right.len());
        let waiting = self.0.occupied_len() / 2;
        if waiting > n + MAX_LAG_FRAMES {
            self.0.skip(2 * (waiting - n - MAX_LAG_FRAMES));
        }
        let mut got = 0;
        let mut pair = [0.0f32; 2];
        while got < n && self.0.pop_slice(&mut pair) == 2 {
            left[got] += pair[0];
            right[got] += pair[1];
            got += 1;
        }
        n - got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_added_in_order_and_the_lag_stays_bounded() {
        let (mut tx, mut rx) = monitor_ring();
        tx.push((0..100).map(|i| [i as f32, -(i as f32)]));
        let (mut l, mut r) = (vec![1.0; 64], vec![0.0; 64]);
        assert_eq!(rx.mix_into(&mut l, &mut r), 0);
        assert_eq!((l[0], l[63], r[5]), (1.0, 64.0, -5.0));
        // 36 left for a block of 64: 28 missing.
        let (mut l, mut r) = (vec![0.0; 64], vec![0.0; 64]);
        assert_eq!(rx.mix_into(&mut l, &mut r), 28);
        assert_eq!((l[0], l[35], l[36]), (64.0, 99.0, 0.0));
        // A burst of 10 000 frames: only the newest 64 + MAX_LAG_FRAMES are kept.
        tx.push((0..10_000).map(|i| [i as f32, 0.0]));
        let (mut l, mut r) = (vec![0.0; 64], vec![0.0; 64]);
        rx.mix_into(&mut l, &mut r);
        assert_eq!(l[0], (10_000 - 64 - MAX_LAG_FRAMES) as f32);
    }
}
