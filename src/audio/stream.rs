//! The cpal backend: picks an output device and configuration of the default host (ALSA on Linux,
//! which also reaches PulseAudio and PipeWire through their ALSA plugins), builds the stream with
//! an [`AudioCallback`] for the device's sample type and starts it.

use super::callback::AudioCallback;
use super::stats::AudioStats;
use super::{AudioError, OpenOptions, OutputInfo};
use crate::engine::Engine;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, SupportedStreamConfigRange};
use std::sync::Arc;

/// Scratch frames when the buffer size is left to the device; bigger device buffers are processed
/// in pieces of this size.
const DEFAULT_SCRATCH_FRAMES: usize = 8192;

/// A running cpal output stream; dropping it stops the stream.
pub struct CpalStream {
    // Never read: holding it keeps the stream playing (cpal stops a dropped stream).
    _stream: cpal::Stream,
}

/// The platform's default host (ALSA on Linux), as `cpal::default_host` picks it but as an error
/// instead of cpal's panic when the host cannot start (ALSA with a broken configuration file).
pub(super) fn default_host() -> Result<cpal::Host, AudioError> {
    let mut why = String::from("no audio host is available");
    for id in cpal::available_hosts() {
        match cpal::host_from_id(id) {
            Ok(host) => return Ok(host),
            Err(e) => why = e.to_string(),
        }
    }
    Err(AudioError::Host(why))
}

/// A device's label for people: its description's name, else its id.
pub(super) fn device_name(device: &cpal::Device) -> String {
    match device.description() {
        Ok(d) => d.name().to_string(),
        Err(_) => device_id(device),
    }
}

/// A device's stable id as text (for ALSA the PCM name, such as `default` or `hw:CARD=0,DEV=0`).
pub(super) fn device_id(device: &cpal::Device) -> String {
    match device.id() {
        Ok(id) => id.id().to_string(),
        Err(_) => String::from("?"),
    }
}

/// Sample formats the conversion supports (every PCM format cpal has; DSD is not PCM).
pub(super) fn is_convertible(format: SampleFormat) -> bool {
    matches!(
        format,
        SampleFormat::I8
            | SampleFormat::I16
            | SampleFormat::I24
            | SampleFormat::I32
            | SampleFormat::I64
            | SampleFormat::U8
            | SampleFormat::U16
            | SampleFormat::U24
            | SampleFormat::U32
            | SampleFormat::U64
            | SampleFormat::F32
            | SampleFormat::F64
    )
}

/// The configuration we would open among `ranges`: at `rate` if given, else at 48 kHz, 44.1 kHz or
/// the highest rate; stereo and `f32` preferred, by cpal's own default ranking.
pub(super) fn pick_config(
    ranges: &[SupportedStreamConfigRange],
    rate: Option<u32>,
) -> Option<cpal::SupportedStreamConfig> {
    let usable = ranges
        .iter()
        .filter(|r| is_convertible(r.sample_format()) && r.channels() > 0);
    match rate {
        Some(rate) => usable
            .filter(|r| r.contains_rate(rate))
            .max_by(|a, b| a.cmp_default_heuristics(b))
            .map(|r| r.with_sample_rate(rate)),
        None => usable
            .max_by(|a, b| a.cmp_default_heuristics(b))
            .map(|r| r.with_standard_sample_rate()),
    }
}

/// A device's name for messages, with its id when that differs.
pub(super) fn device_label(device: &cpal::Device) -> String {
    let (name, id) = (device_name(device), device_id(device));
    if name == id {
        name
    } else {
        format!("{name} ({id})")
    }
}

/// The configuration to open among `ranges` of the device called `label` ([`pick_config`]),
/// with the buffer size checked; the errors name the device.
pub(super) fn choose_config(
    label: &str,
    ranges: &[SupportedStreamConfigRange],
    rate: Option<u32>,
    buffer_frames: Option<u32>,
) -> Result<cpal::SupportedStreamConfig, AudioError> {
    let config = pick_config(ranges, rate).ok_or_else(|| match rate {
        Some(rate) => AudioError::UnsupportedRate {
            device: label.to_string(),
            rate,
            supported: describe_rates(ranges),
        },
        None => AudioError::NoUsableFormat {
            device: label.to_string(),
        },
    })?;
    if let (Some(frames), cpal::SupportedBufferSize::Range { min, max }) =
        (buffer_frames, config.buffer_size())
        && !(*min..=*max).contains(&frames)
    {
        return Err(AudioError::UnsupportedBuffer {
            device: label.to_string(),
            frames,
            min: *min,
            max: *max,
        });
    }
    Ok(config)
}

/// Rate ranges of `ranges` as text: "8000–192000 Hz" or "44100, 48000 Hz".
pub(super) fn describe_rates(ranges: &[SupportedStreamConfigRange]) -> String {
    let mut spans: Vec<(u32, u32)> = ranges
        .iter()
        .map(|r| (r.min_sample_rate(), r.max_sample_rate()))
        .collect();
    spans.sort_unstable();
    spans.dedup();
    if spans.is_empty() {
        return String::from("none");
    }
    let parts: Vec<String> = spans
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}–{hi}")
            }
        })
        .collect();
    format!("{} Hz", parts.join(", "))
}

/// Finds the output device: the host's default, or the first whose name or id contains `wanted`
/// (case-insensitive).
fn select_device(host: &cpal::Host, wanted: Option<&str>) -> Result<cpal::Device, AudioError> {
    let Some(wanted) = wanted else {
        return host.default_output_device().ok_or(AudioError::NoDevice);
    };
    let mut devices: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|e| AudioError::Host(e.to_string()))?
        .collect();
    let needle = wanted.to_lowercase();
    // An exact id first ("default" must not pick "sysdefault"), then any substring.
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
        None => Err(AudioError::DeviceNotFound {
            wanted: wanted.to_string(),
            available: devices
                .iter()
                .map(|d| format!("{} ({})", device_name(d), device_id(d)))
                .collect(),
        }),
    }
}

/// Opens and starts a cpal output stream; `make_engine` builds the engine once the rate is known.
pub(super) fn open(
    opts: &OpenOptions,
    make_engine: &mut dyn FnMut(u32) -> Engine,
) -> Result<(CpalStream, OutputInfo, Arc<AudioStats>), AudioError> {
    let host = default_host()?;
    let device = select_device(&host, opts.device.as_deref())?;
    let label = device_label(&device);
    let ranges: Vec<SupportedStreamConfigRange> = device
        .supported_output_configs()
        .map_err(|e| AudioError::Unavailable {
            device: label.clone(),
            source: e,
        })?
        .collect();
    let config = choose_config(&label, &ranges, opts.rate, opts.buffer_frames)?;
    let rate = config.sample_rate();
    let engine = make_engine(rate);
    if engine.rate() != rate {
        return Err(AudioError::EngineRate {
            engine: engine.rate(),
            device: rate,
        });
    }
    let stats = Arc::new(AudioStats::new());
    let scratch = opts
        .buffer_frames
        .map_or(DEFAULT_SCRATCH_FRAMES, |n| n as usize);
    let callback = AudioCallback::new(engine, stats.clone(), scratch, opts.stop);
    let stream_config = cpal::StreamConfig {
        channels: config.channels(),
        sample_rate: rate,
        buffer_size: opts
            .buffer_frames
            .map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
    };
    let format = config.sample_format();
    let built = match format {
        SampleFormat::I8 => build::<i8>(&device, stream_config, callback),
        SampleFormat::I16 => build::<i16>(&device, stream_config, callback),
        SampleFormat::I24 => build::<cpal::I24>(&device, stream_config, callback),
        SampleFormat::I32 => build::<i32>(&device, stream_config, callback),
        SampleFormat::I64 => build::<i64>(&device, stream_config, callback),
        SampleFormat::U8 => build::<u8>(&device, stream_config, callback),
        SampleFormat::U16 => build::<u16>(&device, stream_config, callback),
        SampleFormat::U24 => build::<cpal::U24>(&device, stream_config, callback),
        SampleFormat::U32 => build::<u32>(&device, stream_config, callback),
        SampleFormat::U64 => build::<u64>(&device, stream_config, callback),
        SampleFormat::F32 => build::<f32>(&device, stream_config, callback),
        SampleFormat::F64 => build::<f64>(&device, stream_config, callback),
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
    let info = OutputInfo {
        backend: super::BackendKind::Cpal,
        device: label,
        rate,
        channels: config.channels(),
        sample_format: format.to_string(),
        buffer_frames: stream.buffer_size().ok(),
    };
    Ok((CpalStream { _stream: stream }, info, stats))
}

/// Builds a stream of sample type `T`; the error callback only sets atomics.
fn build<T: SizedSample + FromSample<f32>>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut callback: AudioCallback,
) -> Result<cpal::Stream, cpal::Error> {
    let channels = usize::from(config.channels);
    let rate = u64::from(config.sample_rate);
    let stats = callback.stats().clone();
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            // The device's own estimate of when this buffer is heard: the output latency that
            // places MIDI input in the song.
            let t = info.timestamp();
            let latency = t.playback.duration_since(t.callback);
            let frames = latency.as_nanos() as u64 * rate / 1_000_000_000;
            callback
                .stats()
                .set_output_latency(u32::try_from(frames).unwrap_or(u32::MAX));
            callback.fill(data, channels)
        },
        move |e: cpal::Error| stats.report_backend_error(e.kind()),
        None,
    )
}
