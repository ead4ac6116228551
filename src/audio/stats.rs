//! Device facts shared between the audio thread and the UI: plain atomics in an `Arc`, written by
//! the callback wrapper and cpal's error callback, read by anyone at any time without locking.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};

/// What went wrong with a running stream, as reported by the device layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFault {
    /// The device went away (unplugged, server shut down).
    DeviceLost,
    /// The stream must be rebuilt (the device changed its rate or route).
    Invalidated,
    /// Any other error reported by the audio backend.
    Other,
}

impl StreamFault {
    fn code(self) -> u8 {
        match self {
            StreamFault::DeviceLost => 1,
            StreamFault::Invalidated => 2,
            StreamFault::Other => 3,
        }
    }

    fn from_code(code: u8) -> Option<StreamFault> {
        match code {
            1 => Some(StreamFault::DeviceLost),
            2 => Some(StreamFault::Invalidated),
            3 => Some(StreamFault::Other),
            _ => None,
        }
    }
}

impl std::fmt::Display for StreamFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StreamFault::DeviceLost => "the audio device was lost",
            StreamFault::Invalidated => "the audio stream must be reopened (the device changed)",
            StreamFault::Other => "the audio backend reported an error",
        })
    }
}

/// Counters and flags of one output stream. Every field is an atomic with `Relaxed` ordering: they
/// are independent figures for display, not a synchronisation mechanism.
#[derive(Debug, Default)]
pub struct AudioStats {
    callbacks: AtomicU64,
    frames: AtomicU64,
    xruns: AtomicU64,
    /// Load of the last callback in percent, as `f32` bits.
    load_bits: AtomicU32,
    /// Highest load so far in percent, as `f32` bits (non-negative floats order like their bits).
    max_load_bits: AtomicU32,
    fault: AtomicU8,
    /// Output latency in frames as the backend reports it, plus one; 0 while unknown.
    output_latency: AtomicU32,
    /// Peak of the last period of audio input (absolute value), as `f32` bits.
    input_peak_bits: AtomicU32,
    /// Input periods lost because the capture ring was full.
    input_overruns: AtomicU64,
    /// Allocations the checker saw inside the callback (debug builds with its allocator).
    alloc_violations: AtomicU64,
    panicked: AtomicBool,
    playing: AtomicBool,
    finished: AtomicBool,
}

/// A copy of every figure in [`AudioStats`], taken at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Callbacks run so far.
    pub callbacks: u64,
    /// Frames of engine output handed to the device (silence after a stop or panic not counted).
    pub frames: u64,
    /// Buffer under- or overruns: reported by the device, or late periods of the clock backend.
    pub xruns: u64,
    /// Time the last callback took, in percent of the audio it produced.
    pub load_percent: f32,
    /// The highest `load_percent` so far.
    pub max_load_percent: f32,
    /// The first stream error the backend reported, if any.
    pub fault: Option<StreamFault>,
    /// The engine panicked; the stream plays silence from then on.
    pub panicked: bool,
    /// The engine's sequencer was running after the last callback.
    pub playing: bool,
    /// The stop rule was met; the stream plays silence from then on.
    pub finished: bool,
    /// Output latency in frames (computing a frame to hearing it), when the backend says.
    pub output_latency: Option<u32>,
    /// Peak level of the last period of audio input, 0..=1 (0 without input).
    pub input_peak: f32,
    /// Input periods lost because the capture ring was full (nobody read it in time).
    pub input_overruns: u64,
    /// Allocations or frees inside the callback, as `assert_no_alloc` counted them on the audio
    /// thread (debug builds whose global allocator is its `AllocDisabler`; else 0).
    pub alloc_violations: u64,
}

impl AudioStats {
    /// All zero.
    pub fn new() -> AudioStats {
        AudioStats::default()
    }

    /// Reads every figure.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            callbacks: self.callbacks.load(Relaxed),
            frames: self.frames.load(Relaxed),
            xruns: self.xruns.load(Relaxed),
            load_percent: f32::from_bits(self.load_bits.load(Relaxed)),
            max_load_percent: f32::from_bits(self.max_load_bits.load(Relaxed)),
            fault: self.fault(),
            panicked: self.panicked.load(Relaxed),
            playing: self.playing.load(Relaxed),
            finished: self.finished.load(Relaxed),
            output_latency: self.output_latency(),
            input_peak: self.input_peak(),
            input_overruns: self.input_overruns.load(Relaxed),
            alloc_violations: self.alloc_violations.load(Relaxed),
        }
    }

    /// Callbacks run so far.
    pub fn callbacks(&self) -> u64 {
        self.callbacks.load(Relaxed)
    }

    /// Frames of engine output handed to the device.
    pub fn frames(&self) -> u64 {
        self.frames.load(Relaxed)
    }

    /// Under- and overruns so far.
    pub fn xruns(&self) -> u64 {
        self.xruns.load(Relaxed)
    }

    /// The first stream error reported, if any.
    pub fn fault(&self) -> Option<StreamFault> {
        StreamFault::from_code(self.fault.load(Relaxed))
    }

    /// True once the engine has panicked inside the callback.
    pub fn panicked(&self) -> bool {
        self.panicked.load(Relaxed)
    }

    /// Output latency in frames, when the backend has said.
    pub fn output_latency(&self) -> Option<u32> {
        self.output_latency.load(Relaxed).checked_sub(1)
    }

    /// Peak level (absolute sample value) of the last period of audio input.
    pub fn input_peak(&self) -> f32 {
        f32::from_bits(self.input_peak_bits.load(Relaxed))
    }

    /// Sets the output latency the backend reports.
    pub(crate) fn set_output_latency(&self, frames: u32) {
        self.output_latency.store(frames.saturating_add(1), Relaxed);
    }

    /// Records the peak of one period of input.
    pub(crate) fn set_input_peak(&self, peak: f32) {
        let peak = if peak.is_finite() { peak.abs() } else { 0.0 };
        self.input_peak_bits.store(peak.to_bits(), Relaxed);
    }

    /// Publishes the allocation checker's count of the audio thread (it is thread-local there).
    pub(crate) fn publish_alloc_violations(&self) {
        #[cfg(debug_assertions)]
        self.alloc_violations
            .store(u64::from(assert_no_alloc::violation_count()), Relaxed);
    }

    /// Counts one input period lost to a full capture ring.
    pub(crate) fn add_input_overrun(&self) {
        self.input_overruns.fetch_add(1, Relaxed);
    }

    /// True once the stop rule was met.
    pub fn finished(&self) -> bool {
        self.finished.load(Relaxed)
    }

    /// Records one callback that handed `frames` frames of engine output over, at `load_percent`.
    pub(crate) fn record_callback(&self, frames: u64, load_percent: f32) {
        self.callbacks.fetch_add(1, Relaxed);
        self.frames.fetch_add(frames, Relaxed);
        let load = if load_percent.is_finite() {
            load_percent.max(0.0)
        } else {
            0.0
        };
        self.load_bits.store(load.to_bits(), Relaxed);
        self.max_load_bits.fetch_max(load.to_bits(), Relaxed);
    }

    /// Counts `n` under- or overruns.
    pub(crate) fn add_xruns(&self, n: u64) {
        self.xruns.fetch_add(n, Relaxed);
    }

    /// Keeps the first fault; later ones are the same trouble seen again.
    pub(crate) fn set_fault(&self, fault: StreamFault) {
        let _ = self
            .fault
            .compare_exchange(0, fault.code(), Relaxed, Relaxed);
    }

    pub(crate) fn set_panicked(&self) {
        self.panicked.store(true, Relaxed);
    }

    pub(crate) fn set_playing(&self, playing: bool) {
        self.playing.store(playing, Relaxed);
    }

    pub(crate) fn set_finished(&self) {
        self.finished.store(true, Relaxed);
    }

    /// Maps an error from cpal's error callback onto the counters: an xrun is counted, a refused
    /// real-time priority is ignored (audio still plays), anything else becomes a fault.
    pub(crate) fn report_backend_error(&self, kind: cpal::ErrorKind) {
        match kind {
            cpal::ErrorKind::Xrun => self.add_xruns(1),
            cpal::ErrorKind::RealtimeDenied => {}
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable => {
                self.set_fault(StreamFault::DeviceLost)
            }
            cpal::ErrorKind::StreamInvalidated | cpal::ErrorKind::DeviceChanged => {
                self.set_fault(StreamFault::Invalidated)
            }
            _ => self.set_fault(StreamFault::Other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_load_keeps_the_highest_value() {
        let s = AudioStats::new();
        s.record_callback(256, 12.5);
        s.record_callback(256, 40.0);
        s.record_callback(256, 3.0);
        let snap = s.snapshot();
        assert_eq!(snap.callbacks, 3);
        assert_eq!(snap.frames, 768);
        assert_eq!(snap.load_percent, 3.0);
        assert_eq!(snap.max_load_percent, 40.0);
    }

    #[test]
    fn backend_errors_map_to_xruns_and_faults() {
        let s = AudioStats::new();
        s.report_backend_error(cpal::ErrorKind::Xrun);
        s.report_backend_error(cpal::ErrorKind::RealtimeDenied);
        assert_eq!((s.xruns(), s.fault()), (1, None));
        s.report_backend_error(cpal::ErrorKind::DeviceNotAvailable);
        s.report_backend_error(cpal::ErrorKind::Other);
        assert_eq!(
            s.fault(),
            Some(StreamFault::DeviceLost),
            "the first fault stays"
        );
    }
}
