//! Audio input for recording (layer 3, DESIGN.md §1): a cpal input stream (ALSA, which also
//! reaches PulseAudio and PipeWire) whose callback only pushes the chosen channels into a
//! lock-free ring, and the same face for JACK's [`InputCapture`]. Both are an [`InputSource`]:
//! the disk writer (`crate::record`) reads frames from it, the UI reads the level meter and the
//! overrun counter from its [`CaptureState`], a set of atomics shared with the callback.
//!
//! Real-time rules as for output: the input callback never allocates, locks, waits or logs; a full
//! ring loses the callback's frames and counts them (an overrun), it never blocks or stays silent.

use super::AudioError;
use super::jack::InputCapture;
use super::stream::{choose_config, default_host, device_id, device_label, device_name};
use crate::engine::monitor::{MonitorReceiver, MonitorSender};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample, SupportedStreamConfigRange};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use std::sync::Arc;
use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// Device channels whose level is metered (a bigger interface meters its first 32).
pub const MAX_METERED_CHANNELS: usize = 32;
/// Shortest capture ring, in seconds of input.
pub const MIN_RING_SECONDS: f32 = 2.0;

/// Which device channels a take records: one (mono) or two (stereo). Channels count from 0 here;
/// people write them from 1 (`--channels 1` or `--channels 3,4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelSelect {
    /// One channel, recorded as a mono take.
    Mono(u16),
    /// Two channels, recorded left and right.
    Stereo(u16, u16),
}

impl ChannelSelect {
    /// The device's first two channels, or its only one.
    pub fn default_for(device_channels: u16) -> ChannelSelect {
        if device_channels >= 2 {
            ChannelSelect::Stereo(0, 1)
        } else {
            ChannelSelect::Mono(0)
        }
    }

    /// Parses `1` (mono) or `1,2` / `1-2` (stereo), counting from 1.
    pub fn parse(text: &str) -> Option<ChannelSelect> {
        let one = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|&n| n >= 1)
                .map(|n| n - 1)
        };
        match text.split_once([',', '-']) {
            Some((a, b)) => Some(ChannelSelect::Stereo(one(a)?, one(b)?)),
            None => Some(ChannelSelect::Mono(one(text)?)),
        }
    }

    /// Channels of the take: 1 or 2.
    pub fn count(self) -> u16 {
        match self {
            ChannelSelect::Mono(_) => 1,
            ChannelSelect::Stereo(..) => 2,
        }
    }

    /// The device channels recorded, in take order (the second is unused for mono).
    pub fn indices(self) -> ([usize; 2], usize) {
        match self {
            ChannelSelect::Mono(a) => ([usize::from(a), usize::from(a)], 1),
            ChannelSelect::Stereo(a, b) => ([usize::from(a), usize::from(b)], 2),
        }
    }

    /// The highest device channel used, counting from 0.
    pub fn highest(self) -> u16 {
        match self {
            ChannelSelect::Mono(a) => a,
            ChannelSelect::Stereo(a, b) => a.max(b),
        }
    }
}

impl std::fmt::Display for ChannelSelect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ChannelSelect::Mono(a) => write!(f, "channel {} (mono)", a + 1),
            ChannelSelect::Stereo(a, b) => write!(f, "channels {},{}", a + 1, b + 1),
        }
    }
}

/// The atomics an input callback shares with the disk writer and the UI: capture on/off and its
/// frame budget, frames captured, overruns, per-channel peaks and the input latency. Every field
/// is `Relaxed`: independent figures, not a synchronisation mechanism (the ring is that).
#[derive(Debug)]
pub struct CaptureState {
    enabled: AtomicBool,
    /// Frames still to capture before capture stops by itself (`u64::MAX`: no limit).
    budget: AtomicU64,
    captured: AtomicU64,
    overruns: AtomicU64,
    dropped_frames: AtomicU64,
    /// Highest absolute sample per device channel since the last `take_peak`, as `f32` bits
    /// (non-negative floats order like their bits, so `fetch_max` works).
    peaks: [AtomicU32; MAX_METERED_CHANNELS],
    /// Frames from the moment the device captured a frame to the callback that received it.
    latency_frames: AtomicU32,
    /// When the first frame of the capture was captured (nanoseconds of `crate::midi::clock`;
    /// 0 until the first frame is in).
    first_nanos: AtomicU64,
    /// The same moment in the host's frame time, plus 1 << 32 (0: the host has none; JACK).
    first_frame_time: AtomicU64,
    /// The device stopped delivering (unplugged, its server quit).
    lost: AtomicBool,
    /// The callback feeds the monitor ring (the input is heard with the song).
    monitoring: AtomicBool,
    /// Where frames were lost to overruns since the capture started: (frames captured before
    /// the gap, frames lost), a ring the callback writes and the disk writer reads, so the take
    /// gets silence of the same length there and stays in time with the song.
    gaps: [(AtomicU64, AtomicU64); GAP_SLOTS],
    gap_head: AtomicU64,
    gap_tail: AtomicU64,
    /// Gaps that found the gap ring full (the take is shorter than the time it covers).
    gaps_lost: AtomicU64,
}

/// Overrun gaps waiting for the disk writer at most.
pub const GAP_SLOTS: usize = 64;

impl Default for CaptureState {
    fn default() -> Self {
        CaptureState {
            enabled: AtomicBool::new(false),
            budget: AtomicU64::new(u64::MAX),
            captured: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            peaks: std::array::from_fn(|_| AtomicU32::new(0)),
            latency_frames: AtomicU32::new(0),
            first_nanos: AtomicU64::new(0),
            first_frame_time: AtomicU64::new(0),
            lost: AtomicBool::new(false),
            monitoring: AtomicBool::new(false),
            gaps: std::array::from_fn(|_| (AtomicU64::new(0), AtomicU64::new(0))),
            gap_head: AtomicU64::new(0),
            gap_tail: AtomicU64::new(0),
            gaps_lost: AtomicU64::new(0),
        }
    }
}

impl CaptureState {
    /// Capture off, nothing counted.
    pub fn new() -> CaptureState {
        CaptureState::default()
    }

    /// Starts copying input into the ring; `limit` frames at most (then capture stops by itself,
    /// exactly at that frame), or without end. Resets the captured-frames count.
    pub fn start(&self, limit: Option<u64>) {
        self.captured.store(0, Relaxed);
        self.first_nanos.store(0, Relaxed);
        self.first_frame_time.store(0, Relaxed);
        // No callback captures now (stopped), so the writer's end may reset the gap ring.
        self.gap_tail.store(self.gap_head.load(Acquire), Release);
        self.gaps_lost.store(0, Relaxed);
        self.budget.store(limit.unwrap_or(u64::MAX), Relaxed);
        self.enabled.store(true, Relaxed);
    }

    /// Stops copying input; what is in the ring stays to be read. Metering goes on.
    pub fn stop(&self) {
        self.enabled.store(false, Relaxed);
    }

    /// True while capturing and the frame budget is not used up.
    pub fn is_capturing(&self) -> bool {
        self.enabled.load(Relaxed) && self.budget.load(Relaxed) > 0
    }

    /// Frames put into the ring since the last `start`.
    pub fn captured_frames(&self) -> u64 {
        self.captured.load(Relaxed)
    }

    /// Callbacks (JACK: periods) whose input was lost because the ring was full.
    pub fn overruns(&self) -> u64 {
        self.overruns.load(Relaxed)
    }

    /// Frames lost in those overruns.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames.load(Relaxed)
    }

    /// Peak (absolute sample value, 1.0 = full scale) of device channel `channel` since the last
    /// [`take_peak`](Self::take_peak) of it; 0 for a channel that is not metered.
    pub fn peak(&self, channel: usize) -> f32 {
        self.peaks
            .get(channel)
            .map_or(0.0, |p| f32::from_bits(p.load(Relaxed)))
    }

    /// Like [`peak`](Self::peak), and starts the next measurement: a meter drawn 30 times a
    /// second calls this and sees every peak of the periods between.
    pub fn take_peak(&self, channel: usize) -> f32 {
        self.peaks
            .get(channel)
            .map_or(0.0, |p| f32::from_bits(p.swap(0, Relaxed)))
    }

    /// Input latency in frames as the device reports it (cpal: from capture to the callback;
    /// JACK: the capture latency of `in_1`); 0 when unknown. For placing a take in the song.
    pub fn latency_frames(&self) -> u32 {
        self.latency_frames.load(Relaxed)
    }

    /// When the capture's first frame reached the input (nanoseconds on the clock of
    /// [`crate::engine::TimedMidi::nanos`], the input latency taken off), once it is in: what
    /// [`crate::engine::Command::Locate`] places in the song.
    pub fn first_frame_nanos(&self) -> Option<u64> {
        Some(self.first_nanos.load(Relaxed)).filter(|&n| n != 0)
    }

    /// The same moment as [`CaptureState::first_frame_nanos`] in the host's frame time (JACK),
    /// which places it exactly; `None` when the host has none or nothing is in yet.
    pub fn first_frame_time(&self) -> Option<u32> {
        let v = self.first_frame_time.load(Relaxed);
        (v >> 32 != 0).then_some(v as u32)
    }

    /// True once the device has stopped delivering (unplugged, its server quit): what was
    /// captured before stays in the ring.
    pub fn device_lost(&self) -> bool {
        self.lost.load(Relaxed)
    }

    /// Input monitoring on or off: the callback feeds the monitor ring (see
    /// [`InputSource::take_monitor`]) only while on.
    pub fn set_monitoring(&self, on: bool) {
        self.monitoring.store(on, Relaxed);
    }

    /// Whether input monitoring is on.
    pub fn monitoring(&self) -> bool {
        self.monitoring.load(Relaxed)
    }

    pub(crate) fn set_lost(&self) {
        self.lost.store(true, Relaxed);
    }

    /// Raises the peak of `channel` to `peak` (callback side).
    pub(crate) fn note_peak(&self, channel: usize, peak: f32) {
        let peak = if peak.is_finite() { peak.abs() } else { 0.0 };
        if let Some(p) = self.peaks.get(channel) {
            p.fetch_max(peak.to_bits(), Relaxed);
        }
    }

    pub(crate) fn set_latency_frames(&self, frames: u32) {
        self.latency_frames.store(frames, Relaxed);
    }

    /// How many of `frames` frames to capture now (0 when off or the budget is spent), callback
    /// side; [`CaptureState::captured`] must follow for what was pushed.
    pub(crate) fn frames_to_take(&self, frames: usize) -> usize {
        if !self.enabled.load(Relaxed) {
            return 0;
        }
        let budget = self.budget.load(Relaxed);
        usize::try_from(budget).map_or(frames, |b| frames.min(b))
    }

    /// Like [`CaptureState::captured`], with the host's frame time of the first frame (JACK).
    pub(crate) fn captured_at_frame(&self, frames: usize, first_nanos: u64, frame_time: u32) {
        if self.captured.load(Relaxed) == 0 {
            self.first_frame_time
                .store((1 << 32) | u64::from(frame_time), Relaxed);
        }
        self.captured(frames, first_nanos);
    }

    /// `frames` frames went into the ring, the first of them captured at `first_nanos` (the
    /// callback's clock reading less the input latency).
    pub(crate) fn captured(&self, frames: usize, first_nanos: u64) {
        let n = frames as u64;
        if self.captured.load(Relaxed) == 0 {
            self.first_nanos.store(first_nanos.max(1), Relaxed);
        }
        self.captured.fetch_add(n, Relaxed);
        // Only the callback changes the budget while capturing; MAX stays MAX.
        let budget = self.budget.load(Relaxed);
        if budget != u64::MAX {
            self.budget.store(budget.saturating_sub(n), Relaxed);
        }
    }

    /// The next overrun gap of the capture, if any: (frames captured before it, frames lost).
    /// The disk writer writes silence there and then calls [`CaptureState::pop_gap`].
    pub fn next_gap(&self) -> Option<(u64, u64)> {
        let tail = self.gap_tail.load(Relaxed);
        if tail == self.gap_head.load(Acquire) {
            return None;
        }
        let (at, len) = &self.gaps[(tail % GAP_SLOTS as u64) as usize];
        Some((at.load(Relaxed), len.load(Relaxed)))
    }

    /// The gap from [`CaptureState::next_gap`] is done.
    pub fn pop_gap(&self) {
        let tail = self.gap_tail.load(Relaxed);
        if tail != self.gap_head.load(Acquire) {
            self.gap_tail.store(tail + 1, Release);
        }
    }

    /// Overrun gaps that could not be noted (more than [`GAP_SLOTS`] waiting).
    pub fn gaps_lost(&self) -> u64 {
        self.gaps_lost.load(Relaxed)
    }

    /// `frames` frames did not fit into the ring: one overrun. They still count against the
    /// budget, so a take of N frames ends at the same time as without the overrun, and their
    /// place is noted for the disk writer (see [`CaptureState::next_gap`]).
    pub(crate) fn overrun(&self, frames: usize) {
        self.overruns.fetch_add(1, Relaxed);
        self.dropped_frames.fetch_add(frames as u64, Relaxed);
        if frames > 0 && self.enabled.load(Relaxed) {
            let head = self.gap_head.load(Relaxed);
            if head - self.gap_tail.load(Acquire) < GAP_SLOTS as u64 {
                let (at, len) = &self.gaps[(head % GAP_SLOTS as u64) as usize];
                at.store(self.captured.load(Relaxed), Relaxed);
                len.store(frames as u64, Relaxed);
                self.gap_head.store(head + 1, Release);
            } else {
                self.gaps_lost.fetch_add(1, Relaxed);
            }
        }
        let budget = self.budget.load(Relaxed);
        if budget != u64::MAX {
            self.budget
                .store(budget.saturating_sub(frames as u64), Relaxed);
        }
    }
}

/// Input as the disk writer sees it, whatever the audio system: frames of the recorded channels
/// from a ring filled by a real-time callback, and the shared [`CaptureState`].
pub trait InputSource: Send {
    /// Sample rate in Hz.
    fn rate(&self) -> u32;
    /// Channels per frame that [`read`](Self::read) delivers (1 or 2).
    fn channels(&self) -> u16;
    /// Which device channels those are.
    fn select(&self) -> ChannelSelect;
    /// The atomics shared with the callback: start/stop, meters, overruns.
    fn state(&self) -> &Arc<CaptureState>;
    /// Moves whole interleaved frames out of the ring into `out`; returns the samples written
    /// (a multiple of [`channels`](Self::channels)).
    fn read(&mut self, out: &mut [f32]) -> usize;
    /// Samples waiting in the ring.
    fn available(&self) -> usize;
    /// The device, for people: "Default Audio Device (default)", "JACK client ttrack".
    fn device(&self) -> &str;
    /// The engine's end of the monitor ring (once): what the callback feeds while
    /// [`CaptureState::monitoring`] is on, for [`crate::engine::Command::SetMonitor`].
    fn take_monitor(&mut self) -> Option<MonitorReceiver> {
        None
    }
}

/// What to open for input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputOptions {
    /// Input device: `None` for the host's default, else a case-insensitive part of the device's
    /// name or id (see `ttrack devices`), an exact id first.
    pub device: Option<String>,
    /// Sample rate in Hz; `None` lets the device choose (48 kHz, else 44.1 kHz, else its highest).
    pub rate: Option<u32>,
    /// Frames per callback, requested as a fixed buffer size; `None` leaves it to the device.
    pub buffer_frames: Option<u32>,
    /// Channels to record; `None`: the first two, or the only one.
    pub channels: Option<ChannelSelect>,
    /// Length of the ring in seconds (at least [`MIN_RING_SECONDS`]).
    pub ring_seconds: f32,
}

/// A running cpal input stream and the reading end of its ring. Dropping it stops the stream.
pub struct CpalInput {
    // Never read: holding it keeps the stream running.
    _stream: cpal::Stream,
    ring: ringbuf::HeapCons<f32>,
    state: Arc<CaptureState>,
    select: ChannelSelect,
    rate: u32,
    device: String,
    device_channels: u16,
    sample_format: String,
    monitor: Option<MonitorReceiver>,
}

impl CpalInput {
    /// Channels the device delivers (the take records [`InputSource::select`] of them).
    pub fn device_channels(&self) -> u16 {
        self.device_channels
    }

    /// The device's sample format, e.g. "f32".
    pub fn sample_format(&self) -> &str {
        &self.sample_format
    }
}

impl InputSource for CpalInput {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.select.count()
    }
    fn select(&self) -> ChannelSelect {
        self.select
    }
    fn state(&self) -> &Arc<CaptureState> {
        &self.state
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        let ch = usize::from(self.select.count());
        let n = out.len() / ch * ch;
        self.ring.pop_slice(&mut out[..n])
    }
    fn available(&self) -> usize {
        self.ring.occupied_len()
    }
    fn device(&self) -> &str {
        &self.device
    }
    fn take_monitor(&mut self) -> Option<MonitorReceiver> {
        self.monitor.take()
    }
}

/// JACK's capture ring (`ttrack:in_1`, `in_2`) as an [`InputSource`], recording one or both ports.
pub struct JackInput {
    capture: InputCapture,
    select: ChannelSelect,
    /// Stereo frames read from the ring before picking channels (mono only).
    scratch: Vec<f32>,
    device: String,
}

impl JackInput {
    /// Wraps the capture of the JACK client `client`; `select` may use channels 0 and 1.
    pub fn new(
        capture: InputCapture,
        select: ChannelSelect,
        client: &str,
    ) -> Result<JackInput, AudioError> {
        if select.highest() >= 2 {
            return Err(AudioError::NoSuchChannel {
                device: format!("JACK client {client}"),
                channel: select.highest() + 1,
                channels: 2,
            });
        }
        Ok(JackInput {
            capture,
            select,
            scratch: Vec::new(),
            device: format!("JACK client {client} (in_1, in_2)"),
        })
    }
}

impl InputSource for JackInput {
    fn rate(&self) -> u32 {
        self.capture.rate()
    }
    fn channels(&self) -> u16 {
        self.select.count()
    }
    fn select(&self) -> ChannelSelect {
        self.select
    }
    fn state(&self) -> &Arc<CaptureState> {
        self.capture.state()
    }
    fn read(&mut self, out: &mut [f32]) -> usize {
        match self.select {
            ChannelSelect::Stereo(0, 1) => {
                let n = out.len() / 2 * 2;
                self.capture.read(&mut out[..n])
            }
            sel => {
                // Not the audio thread: the scratch may grow here.
                let ([a, b], count) = sel.indices();
                let frames = out.len() / count;
                self.scratch.resize(2 * frames, 0.0);
                let got = self.capture.read(&mut self.scratch) / 2;
                for (f, frame) in self.scratch[..2 * got].chunks_exact(2).enumerate() {
                    out[f * count] = frame[a];
                    if count == 2 {
                        out[f * count + 1] = frame[b];
                    }
                }
                got * count
            }
        }
    }
    fn available(&self) -> usize {
        self.capture.available() / 2 * usize::from(self.select.count())
    }
    fn device(&self) -> &str {
        &self.device
    }
    fn take_monitor(&mut self) -> Option<MonitorReceiver> {
        self.capture.take_monitor()
    }
}

/// Finds the input device: the host's default, or the first whose id equals or whose name or id
/// contains `wanted` (case-insensitive).
fn select_input_device(
    host: &cpal::Host,
    wanted: Option<&str>,
) -> Result<cpal::Device, AudioError> {
    let Some(wanted) = wanted else {
        return host.default_input_device().ok_or(AudioError::NoInputDevice);
    };
    let mut devices: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| AudioError::Host(e.to_string()))?
        .collect();
    let needle = wanted.to_lowercase();
    let found = devices
        .iter()
        .position(|d| device_id(d).to_lowercase() == needle)
        .or_else(|| {
            devices.iter().position(|d| {
                device_name(d).to_lowercase().contains(&needle)
                    || device_id(d).to_lowercase().contains(&needle)
            })
        });
    match found {
        Some(i) => Ok(devices.swap_remove(i)),
        None => Err(AudioError::InputNotFound {
            wanted: wanted.to_string(),
            available: devices
                .iter()
                .map(|d| format!("{} ({})", device_name(d), device_id(d)))
                .collect(),
        }),
    }
}

/// Opens and starts a cpal input stream (capture stays off until [`CaptureState::start`]; the
/// meter runs at once).
pub fn open_input(opts: &InputOptions) -> Result<CpalInput, AudioError> {
    let host = default_host()?;
    let device = select_input_device(&host, opts.device.as_deref())?;
    let label = device_label(&device);
    let ranges: Vec<SupportedStreamConfigRange> = device
        .supported_input_configs()
        .map_err(|e| AudioError::Unavailable {
            device: label.clone(),
            source: e,
        })?
        .collect();
    let config = choose_config(&label, &ranges, opts.rate, opts.buffer_frames)?;
    let device_channels = config.channels();
    let select = opts
        .channels
        .unwrap_or_else(|| ChannelSelect::default_for(device_channels));
    if select.highest() >= device_channels {
        return Err(AudioError::NoSuchChannel {
            device: label,
            channel: select.highest() + 1,
            channels: device_channels,
        });
    }
    let rate = config.sample_rate();
    let seconds = opts.ring_seconds.max(MIN_RING_SECONDS);
    let samples = (seconds * rate as f32).ceil() as usize * usize::from(select.count());
    let (prod, cons) = HeapRb::<f32>::new(samples).split();
    let state = Arc::new(CaptureState::new());
    let stream_config = cpal::StreamConfig {
        channels: device_channels,
        sample_rate: rate,
        buffer_size: opts
            .buffer_frames
            .map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
    };
    let (monitor_tx, monitor_rx) = crate::engine::monitor::monitor_ring();
    let pusher = Pusher {
        ring: prod,
        state: state.clone(),
        select,
        device_channels: usize::from(device_channels),
        rate: u64::from(rate),
        monitor: monitor_tx,
    };
    let format = config.sample_format();
    let built = match format {
        SampleFormat::I8 => build::<i8>(&device, stream_config, pusher),
        SampleFormat::I16 => build::<i16>(&device, stream_config, pusher),
        SampleFormat::I24 => build::<cpal::I24>(&device, stream_config, pusher),
        SampleFormat::I32 => build::<i32>(&device, stream_config, pusher),
        SampleFormat::I64 => build::<i64>(&device, stream_config, pusher),
        SampleFormat::U8 => build::<u8>(&device, stream_config, pusher),
        SampleFormat::U16 => build::<u16>(&device, stream_config, pusher),
        SampleFormat::U24 => build::<cpal::U24>(&device, stream_config, pusher),
        SampleFormat::U32 => build::<u32>(&device, stream_config, pusher),
        SampleFormat::U64 => build::<u64>(&device, stream_config, pusher),
        SampleFormat::F32 => build::<f32>(&device, stream_config, pusher),
        SampleFormat::F64 => build::<f64>(&device, stream_config, pusher),
        other => {
            return Err(AudioError::UnsupportedFormat {
                device: label,
                format: other.to_string(),
            });
        }
    };
    let stream = built.map_err(|e| AudioError::BuildStream {
        device: label.clone(),
        source: e,
    })?;
    stream.play().map_err(|e| AudioError::PlayStream {
        device: label.clone(),
        source: e,
    })?;
    Ok(CpalInput {
        _stream: stream,
        ring: cons,
        state,
        select,
        rate,
        device: label,
        device_channels,
        sample_format: format.to_string(),
        monitor: Some(monitor_rx),
    })
}

/// The input callback's state: everything allocated before the stream starts.
struct Pusher {
    ring: ringbuf::HeapProd<f32>,
    state: Arc<CaptureState>,
    select: ChannelSelect,
    device_channels: usize,
    rate: u64,
    monitor: MonitorSender,
}

impl Pusher {
    /// One callback: meter every device channel, then push the chosen channels of the frames
    /// the budget allows, all of them or (ring full) none, counted as an overrun. The first
    /// frame was captured at `first_nanos`.
    fn push<T: Sample>(&mut self, data: &[T], first_nanos: u64)
    where
        f32: FromSample<T>,
    {
        let ch = self.device_channels.max(1);
        let frames = data.len() / ch;
        for c in 0..ch.min(MAX_METERED_CHANNELS) {
            let peak = data
                .iter()
                .skip(c)
                .step_by(ch)
                .fold(0.0f32, |m, &x| m.max(f32::from_sample(x).abs()));
            self.state.note_peak(c, peak);
        }
        let ([a, b], count) = self.select.indices();
        if self.state.monitoring() {
            let b = if count == 2 { b } else { a };
            self.monitor.push(
                data[..frames * ch]
                    .chunks_exact(ch)
                    .map(|f| [f32::from_sample(f[a]), f32::from_sample(f[b])]),
            );
        }
        let n = self.state.frames_to_take(frames);
        if n == 0 {
            return;
        }
        if self.ring.vacant_len() < n * count {
            self.state.overrun(n);
            return;
        }
        let frames = data[..n * ch].chunks_exact(ch);
        if count == 1 {
            self.ring.push_iter(frames.map(|f| f32::from_sample(f[a])));
        } else {
            self.ring
                .push_iter(frames.flat_map(|f| [f32::from_sample(f[a]), f32::from_sample(f[b])]));
        }
        self.state.captured(n, first_nanos);
    }
}

/// Builds an input stream of sample type `T`: the callback pushes under the allocation checker;
/// the error callback counts a lost-ring-period (xrun) as an overrun and nothing else.
fn build<T: SizedSample>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut pusher: Pusher,
) -> Result<cpal::Stream, cpal::Error>
where
    f32: FromSample<T>,
{
    let state = pusher.state.clone();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], info: &cpal::InputCallbackInfo| {
            assert_no_alloc::assert_no_alloc(|| {
                let now = crate::midi::clock::now_nanos();
                let t = info.timestamp();
                let d = t.callback.duration_since(t.capture);
                let latency_ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                let frames = latency_ns.saturating_mul(pusher.rate) / 1_000_000_000;
                pusher
                    .state
                    .set_latency_frames(u32::try_from(frames).unwrap_or(u32::MAX));
                pusher.push(data, now.saturating_sub(latency_ns));
            })
        },
        move |e: cpal::Error| match e.kind() {
            // The device lost input before the callback saw it: an overrun of unknown size.
            cpal::ErrorKind::Xrun => state.overrun(0),
            // Unplugged, or the sound server went away: the recorder keeps what came before.
            cpal::ErrorKind::DeviceNotAvailable
            | cpal::ErrorKind::StreamInvalidated
            | cpal::ErrorKind::BackendError => {
                state.set_lost();
            }
            _ => {}
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_choices_parse_from_one() {
        assert_eq!(ChannelSelect::parse("1"), Some(ChannelSelect::Mono(0)));
        assert_eq!(
            ChannelSelect::parse("3,4"),
            Some(ChannelSelect::Stereo(2, 3))
        );
        assert_eq!(
            ChannelSelect::parse("2-1"),
            Some(ChannelSelect::Stereo(1, 0))
        );
        assert_eq!(ChannelSelect::parse("0"), None);
        assert_eq!(ChannelSelect::parse("x"), None);
    }

    fn pusher(ring_samples: usize, select: ChannelSelect) -> (Pusher, ringbuf::HeapCons<f32>) {
        let (prod, cons) = HeapRb::<f32>::new(ring_samples).split();
        let p = Pusher {
            ring: prod,
            state: Arc::new(CaptureState::new()),
            select,
            device_channels: 3,
            rate: 48_000,
            monitor: crate::engine::monitor::monitor_ring().0,
        };
        (p, cons)
    }

    #[test]
    fn the_callback_pushes_chosen_channels_meters_all_and_counts_overruns() {
        let (mut p, mut cons) = pusher(8, ChannelSelect::Stereo(2, 0));
        // Three device channels, two frames.
        let data = [0.1f32, -0.2, 0.3, 0.4, 0.5, -0.6];
        p.push(&data, 1);
        assert_eq!(cons.occupied_len(), 0, "capture is off: meter only");
        assert_eq!(p.state.take_peak(1), 0.5);
        assert_eq!(p.state.take_peak(1), 0.0, "taken");
        assert_eq!(p.state.peak(2), 0.6);
        p.state.start(None);
        p.push(&data, 1);
        let mut got = [0.0f32; 4];
        assert_eq!(cons.pop_slice(&mut got), 4);
        assert_eq!(got, [0.3, 0.1, -0.6, 0.4]);
        p.push(&data, 1);
        p.push(&data, 1);
        p.push(&data, 1);
        assert_eq!(
            p.state.overruns(),
            1,
            "the third push does not fit into 8 samples"
        );
        assert_eq!(p.state.dropped_frames(), 2);
        assert_eq!(p.state.captured_frames(), 6);
    }

    #[test]
    fn capture_stops_exactly_at_its_frame_budget() {
        let (mut p, mut cons) = pusher(64, ChannelSelect::Mono(1));
        p.state.start(Some(3));
        let data = [0.0f32, 1.0, 0.0, 0.0, 2.0, 0.0];
        p.push(&data, 1);
        p.push(&data, 1);
        p.push(&data, 1);
        let mut got = [0.0f32; 8];
        assert_eq!(cons.pop_slice(&mut got), 3);
        assert_eq!(&got[..3], &[1.0, 2.0, 1.0]);
        assert!(!p.state.is_capturing());
    }

    #[test]
    fn the_input_callback_does_not_allocate() {
        use assert_no_alloc::{assert_no_alloc, reset_violation_count, violation_count};
        // The checker works here: an allocation inside its scope is counted.
        reset_violation_count();
        assert_no_alloc(|| drop(std::hint::black_box(vec![0u8; 64])));
        assert!(
            violation_count() > 0,
            "the allocation checker is not active"
        );
        for select in [ChannelSelect::Stereo(0, 2), ChannelSelect::Mono(1)] {
            let (mut p, mut cons) = pusher(48_000, select);
            let floats = vec![0.25f32; 3 * 512];
            let ints = vec![-1000i16; 3 * 512];
            let mut out = vec![0.0f32; 48_000];
            p.state.start(None);
            reset_violation_count();
            for i in 0..200 {
                // Meter, push, and once the ring is full, overruns.
                assert_no_alloc(|| {
                    if i % 2 == 0 {
                        p.push(&floats, 1);
                    } else {
                        p.push(&ints, 1);
                    }
                });
                if i == 150 {
                    cons.pop_slice(&mut out);
                }
            }
            assert_eq!(violation_count(), 0, "{select}: the callback allocated");
            assert!(p.state.overruns() > 0, "the overrun path ran too");
        }
    }
}
