//! Device listing for `ttrack devices` (and later the TUI's device picker): the output and input
//! devices of the default host with their default configuration and supported rates. Querying a
//! device opens it briefly; a device that cannot be opened is listed with the reason.

use super::AudioError;
use super::stream::{default_host, describe_rates, device_id, device_name, pick_config};
use cpal::SupportedStreamConfigRange;
use cpal::traits::{DeviceTrait, HostTrait};

/// Every device of the default host, outputs and inputs apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceList {
    /// The host's name, e.g. "ALSA".
    pub host: String,
    /// Devices that can play.
    pub outputs: Vec<DeviceInfo>,
    /// Devices that can record.
    pub inputs: Vec<DeviceInfo>,
}

/// One device as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Name for people ("Default Audio Device").
    pub name: String,
    /// Stable id; for ALSA the PCM name ("default", "hw:CARD=0,DEV=0"). `--device` matches either.
    pub id: String,
    /// The host's default device for this direction.
    pub is_default: bool,
    /// What it can do, or why it could not be asked.
    pub caps: Result<DeviceCaps, String>,
}

/// What a device supports in one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCaps {
    /// Rate ttrack would open by default, in Hz.
    pub default_rate: u32,
    /// Channels ttrack would open by default.
    pub default_channels: u16,
    /// Sample format ttrack would open by default ("f32", "i16", ...).
    pub default_format: String,
    /// Supported rates as text ("8000–192000 Hz").
    pub rates: String,
    /// Most channels supported.
    pub max_channels: u16,
}

impl DeviceList {
    /// True if at least one output device could be opened.
    pub fn has_usable_output(&self) -> bool {
        self.outputs.iter().any(|d| d.caps.is_ok())
    }
}

impl DeviceInfo {
    /// "name (id)", or the id alone when they agree.
    pub fn label(&self) -> String {
        if self.name == self.id {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.id)
        }
    }
}

fn caps_of(
    ranges: Result<impl Iterator<Item = SupportedStreamConfigRange>, cpal::Error>,
) -> Result<DeviceCaps, String> {
    let ranges: Vec<SupportedStreamConfigRange> = ranges.map_err(|e| e.to_string())?.collect();
    let config = pick_config(&ranges, None)
        .ok_or_else(|| String::from("no PCM sample format is supported"))?;
    Ok(DeviceCaps {
        default_rate: config.sample_rate(),
        default_channels: config.channels(),
        default_format: config.sample_format().to_string(),
        rates: describe_rates(&ranges),
        max_channels: ranges.iter().map(|r| r.channels()).max().unwrap_or(0),
    })
}

/// Lists the default host's devices. Only a failure of the host itself is an error; a device that
/// cannot be opened is listed with the reason.
pub fn list_devices() -> Result<DeviceList, AudioError> {
    let host = default_host()?;
    let default_out = host.default_output_device();
    let default_in = host.default_input_device();
    let mut outputs: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|e| AudioError::Host(e.to_string()))?
        .collect();
    let mut inputs: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| AudioError::Host(e.to_string()))?
        .collect();
    // The default device is listed first, also when the host's enumeration leaves it out.
    for (list, default) in [(&mut outputs, &default_out), (&mut inputs, &default_in)] {
        if let Some(d) = default {
            let id = device_id(d);
            list.retain(|x| device_id(x) != id);
            list.insert(0, d.clone());
        }
    }
    let is_default = |d: &cpal::Device, default: &Option<cpal::Device>| {
        default
            .as_ref()
            .is_some_and(|x| device_id(x) == device_id(d))
    };
    Ok(DeviceList {
        host: host.id().name().to_string(),
        outputs: outputs
            .iter()
            .map(|d| DeviceInfo {
                name: device_name(d),
                id: device_id(d),
                is_default: is_default(d, &default_out),
                caps: caps_of(d.supported_output_configs()),
            })
            .collect(),
        inputs: inputs
            .iter()
            .map(|d| DeviceInfo {
                name: device_name(d),
                id: device_id(d),
                is_default: is_default(d, &default_in),
                caps: caps_of(d.supported_input_configs()),
            })
            .collect(),
    })
}
