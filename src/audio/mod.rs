//! Live audio output (layer 3, DESIGN.md §1): runs the engine in a device callback. Three backends
//! drive the same [`AudioCallback`], which owns the [`Engine`] and calls
//! [`rt::process_block`](crate::engine::rt::process_block), the one function that makes audio:
//! a cpal output stream, a JACK client with audio and MIDI ports ([`jack`]), and a device-less
//! clock thread paced at the real rate. Device facts (callbacks, frames, xruns, load, latency,
//! input level, errors) are atomics in an `Arc<AudioStats>`; the device name and format are plain
//! data in [`OutputInfo`]. This module uses `engine` (the engine and `rt`), `midi` (the parser and
//! clock), cpal and jack; it never sees `ui` or `format`. Like `engine`, it holds the real-time rules
//! (no allocation, lock, wait or I/O in a callback) and says where it needs a clock.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod callback;
mod clock;
pub mod convert;
pub mod devices;
pub mod input;
pub mod jack;
mod stats;
mod stream;

pub use callback::{AudioCallback, AudioSource, PlayLimit, StopRule, in_audio_callback};
pub use clock::{ClockThread, PaceStep, Pacer};
pub use devices::{DeviceCaps, DeviceInfo, DeviceList, list_devices};
pub use input::{
    CaptureState, ChannelSelect, CpalInput, InputOptions, InputSource, JackInput, open_input,
};
pub use jack::{InputCapture, JackStream};
pub use stats::{AudioStats, StatsSnapshot, StreamFault};
pub use stream::CpalStream;

use crate::engine::Engine;
use std::sync::Arc;
use thiserror::Error;

/// The device name that asks for the clock backend instead of a device.
pub const CLOCK_DEVICE: &str = "clock";
/// Rate of the clock backend when none is asked for.
pub const CLOCK_DEFAULT_RATE: u32 = 48_000;
/// Period of the clock backend when no buffer size is asked for (10.7 ms at 48 kHz).
pub const CLOCK_DEFAULT_PERIOD: u32 = 512;

/// Which audio system plays: ALSA through cpal (which also reaches PulseAudio and PipeWire), or
/// JACK, as one client with audio and MIDI ports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AudioHost {
    /// cpal's default host (ALSA on Linux).
    #[default]
    Alsa,
    /// The `jack` backend: one client named `ttrack`.
    Jack,
}

impl AudioHost {
    /// Parses `alsa` or `jack` (any case).
    pub fn from_name(name: &str) -> Option<AudioHost> {
        match name.to_ascii_lowercase().as_str() {
            "alsa" => Some(AudioHost::Alsa),
            "jack" => Some(AudioHost::Jack),
            _ => None,
        }
    }
}

/// What to open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenOptions {
    /// Audio system: ALSA (cpal) or JACK.
    pub host: AudioHost,
    /// Output device: `None` for the host's default, else a case-insensitive substring of the
    /// device's name or id (see `ttrack devices`); [`CLOCK_DEVICE`] asks for the clock backend.
    pub device: Option<String>,
    /// Sample rate in Hz; `None` lets the device choose (48 kHz, else 44.1 kHz, else its highest).
    pub rate: Option<u32>,
    /// Frames per callback, requested as a fixed buffer size; `None` leaves it to the device.
    pub buffer_frames: Option<u32>,
    /// When playback ends by itself; the default never ends.
    pub stop: StopRule,
}

/// Which backend an output runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// A cpal output stream on a real device.
    Cpal,
    /// No device: a thread paced by the clock; the audio goes nowhere.
    Clock,
    /// A JACK client with audio and MIDI ports.
    Jack,
}

/// The running backend of an [`AudioOutput`]: both implementations drive an [`AudioCallback`].
pub enum Backend {
    /// A cpal output stream.
    Cpal(CpalStream),
    /// The device-less clock thread.
    Clock(ClockThread),
    /// The JACK client.
    Jack(JackStream),
}

/// Plain facts about an open output, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputInfo {
    /// Which backend runs.
    pub backend: BackendKind,
    /// Device name and id, e.g. "Default Audio Device (default)"; "clock (no device)".
    pub device: String,
    /// Sample rate in Hz (the engine runs at this rate).
    pub rate: u32,
    /// Channels of the device buffer.
    pub channels: u16,
    /// Device sample format, e.g. "f32" or "i16".
    pub sample_format: String,
    /// Frames per callback, when the backend says.
    pub buffer_frames: Option<u32>,
}

/// Why an output could not be opened. Each reads as a sentence.
#[derive(Debug, Error)]
pub enum AudioError {
    /// The host has no default output device.
    #[error("there is no default audio output device")]
    NoDevice,
    /// The host has no default input device.
    #[error("there is no default audio input device")]
    NoInputDevice,
    /// No input device matched the name asked for.
    #[error(
        "no audio input device is named like \"{wanted}\"; the inputs are: {}",
        list_or_none(available)
    )]
    InputNotFound {
        /// What was asked for.
        wanted: String,
        /// Every input device, as "name (id)".
        available: Vec<String>,
    },
    /// A channel to record is beyond the device's channels.
    #[error(
        "the audio device {device} has {channels} input channels, there is no channel {channel}"
    )]
    NoSuchChannel {
        /// Device name and id.
        device: String,
        /// The channel asked for, counting from 1.
        channel: u16,
        /// Channels the device has.
        channels: u16,
    },
    /// The audio system itself cannot be used.
    #[error("the audio system cannot be used: {0}")]
    Host(String),
    /// No output device matched the name asked for.
    #[error(
        "no audio output device is named like \"{wanted}\"; the outputs are: {}",
        list_or_none(available)
    )]
    DeviceNotFound {
        /// What was asked for.
        wanted: String,
        /// Every output device, as "name (id)".
        available: Vec<String>,
    },
    /// The device exists but cannot be opened or queried.
    #[error("the audio device {device} cannot be opened")]
    Unavailable {
        /// Device name and id.
        device: String,
        /// What the backend said.
        #[source]
        source: cpal::Error,
    },
    /// The device cannot play at the rate asked for.
    #[error("the audio device {device} cannot play at {rate} Hz (it supports {supported})")]
    UnsupportedRate {
        /// Device name and id.
        device: String,
        /// The rate asked for.
        rate: u32,
        /// The rates it supports, as text.
        supported: String,
    },
    /// The device cannot use the buffer size asked for.
    #[error(
        "the audio device {device} cannot use {frames}-frame buffers (it supports {min}–{max})"
    )]
    UnsupportedBuffer {
        /// Device name and id.
        device: String,
        /// The size asked for.
        frames: u32,
        /// Smallest supported size.
        min: u32,
        /// Largest supported size.
        max: u32,
    },
    /// The device offers no PCM sample format.
    #[error("the audio device {device} offers no sample format ttrack can write")]
    NoUsableFormat {
        /// Device name and id.
        device: String,
    },
    /// The device's sample format cannot be written.
    #[error("the audio device {device} uses the sample format {format}, which ttrack cannot write")]
    UnsupportedFormat {
        /// Device name and id.
        device: String,
        /// The format's name.
        format: String,
    },
    /// The engine was built for another rate than the device's.
    #[error("the engine runs at {engine} Hz but the device at {device} Hz")]
    EngineRate {
        /// The engine's rate.
        engine: u32,
        /// The device's rate.
        device: u32,
    },
    /// Building the stream failed.
    #[error("cannot open an output stream on the audio device {device}")]
    BuildStream {
        /// Device name and id.
        device: String,
        /// What the backend said.
        #[source]
        source: cpal::Error,
    },
    /// Starting the stream failed.
    #[error("cannot start the output stream on the audio device {device}")]
    PlayStream {
        /// Device name and id.
        device: String,
        /// What the backend said.
        #[source]
        source: cpal::Error,
    },
    /// The clock backend's thread could not be started.
    #[error("cannot start the audio clock thread")]
    ClockThread(#[source] std::io::Error),
    /// libjack could not be loaded.
    #[error(
        "JACK is not installed (libjack could not be loaded: {0}); install JACK (Debian: jackd2) \
         or use --audio-host alsa"
    )]
    JackMissing(String),
    /// libjack is there but no server runs.
    #[error("no JACK server is running; start one (jackd, qjackctl) or use --audio-host alsa")]
    JackNoServer,
    /// Any other JACK failure.
    #[error("JACK: {0}")]
    Jack(String),
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        String::from("none")
    } else {
        names.join(", ")
    }
}

/// An open, running output. Dropping it stops the audio (and drops the engine).
pub struct AudioOutput {
    backend: Backend,
    info: OutputInfo,
    stats: Arc<AudioStats>,
}

impl AudioOutput {
    /// Device, rate and format.
    pub fn info(&self) -> &OutputInfo {
        &self.info
    }

    /// The live counters, shared with the audio thread.
    pub fn stats(&self) -> &Arc<AudioStats> {
        &self.stats
    }

    /// The running backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The running backend, to take its input capture or make connections.
    pub fn backend_mut(&mut self) -> &mut Backend {
        &mut self.backend
    }

    /// Sample rate in Hz.
    pub fn rate(&self) -> u32 {
        self.info.rate
    }
}

/// Opens the output named in `opts` and starts it. `make_engine(rate)` builds the engine once the
/// device's rate is known (it may be called again by [`open_output_or_clock`] after a failure, so
/// it should build a fresh engine each time). [`CLOCK_DEVICE`] opens the clock backend.
pub fn open_output(
    opts: &OpenOptions,
    mut make_engine: impl FnMut(u32) -> Engine,
) -> Result<AudioOutput, AudioError> {
    if opts
        .device
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case(CLOCK_DEVICE))
    {
        return open_clock(opts, &mut make_engine);
    }
    if opts.host == AudioHost::Jack {
        let (stream, info, stats) = jack::open(opts, &mut make_engine)?;
        return Ok(AudioOutput {
            backend: Backend::Jack(stream),
            info,
            stats,
        });
    }
    let (stream, info, stats) = stream::open(opts, &mut make_engine)?;
    Ok(AudioOutput {
        backend: Backend::Cpal(stream),
        info,
        stats,
    })
}

/// Like [`open_output`], but when the device cannot be opened it starts the clock backend instead
/// (never ALSA's `null` device, which is not paced) and returns why, for a message such as "no
/// audio device: silent".
pub fn open_output_or_clock(
    opts: &OpenOptions,
    mut make_engine: impl FnMut(u32) -> Engine,
) -> Result<(AudioOutput, Option<AudioError>), AudioError> {
    match open_output(opts, &mut make_engine) {
        Ok(out) => Ok((out, None)),
        Err(why) => Ok((open_clock(opts, &mut make_engine)?, Some(why))),
    }
}

/// Starts the clock backend at `opts.rate` (default 48 kHz) with periods of `opts.buffer_frames`
/// (default 512).
pub fn open_clock(
    opts: &OpenOptions,
    mut make_engine: impl FnMut(u32) -> Engine,
) -> Result<AudioOutput, AudioError> {
    let rate = opts.rate.unwrap_or(CLOCK_DEFAULT_RATE);
    let period = opts.buffer_frames.unwrap_or(CLOCK_DEFAULT_PERIOD).max(1);
    let engine = make_engine(rate);
    if engine.rate() != rate {
        return Err(AudioError::EngineRate {
            engine: engine.rate(),
            device: rate,
        });
    }
    let stats = Arc::new(AudioStats::new());
    let callback = AudioCallback::new(engine, stats.clone(), period as usize, opts.stop);
    let thread = ClockThread::spawn(callback, period).map_err(AudioError::ClockThread)?;
    Ok(AudioOutput {
        backend: Backend::Clock(thread),
        info: OutputInfo {
            backend: BackendKind::Clock,
            device: String::from("clock (no device)"),
            rate,
            channels: 2,
            sample_format: String::from("f32"),
            buffer_frames: Some(period),
        },
        stats,
    })
}
