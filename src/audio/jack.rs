//! The JACK backend: ttrack is one JACK client (named `ttrack`) whose single process callback runs
//! the engine through the same [`AudioCallback`] as cpal, with the audio ports `out_1`, `out_2`
//! (connected to `system:playback_1/2` when those exist), `in_1`, `in_2` and the MIDI port
//! `midi_in`. MIDI events reach the engine with their exact frame in the period, so notes played
//! into `ttrack:midi_in` line up with the audio sample for sample. The inputs are metered every
//! period and, once [`InputCapture::start`] is called, copied into a lock-free ring for a recorder.
//!
//! libjack is loaded at run time (the `jack` crate's `dynamic_loading`): a machine without JACK
//! runs ttrack with the ALSA host and gets a clear error only when it asks for JACK.

use super::callback::AudioCallback;
use super::input::CaptureState;
use super::stats::{AudioStats, StreamFault};
use super::{AudioError, BackendKind, OpenOptions, OutputInfo};
use crate::engine::Engine;
use crate::midi::MidiParser;
use jack::{
    AudioIn, AudioOut, Client, ClientOptions, ClientStatus, Control, LatencyType, MidiIn,
    NotificationHandler, Port, ProcessHandler, ProcessScope,
};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use std::sync::Arc;

/// The client name ttrack asks JACK for.
pub const CLIENT_NAME: &str = "ttrack";
/// Seconds of stereo input the capture ring holds.
pub const CAPTURE_SECONDS: usize = 4;

/// A running JACK client; dropping it deactivates and closes the client.
pub struct JackStream {
    client: jack::AsyncClient<JackNotify, JackProcess>,
    name: String,
    capture: Option<InputCapture>,
}

impl JackStream {
    /// The client's name as JACK knows it ("ttrack", or "ttrack-01" when that name was taken).
    pub fn client_name(&self) -> &str {
        &self.name
    }

    /// The full name of one of the client's ports, e.g. `ttrack:midi_in`.
    pub fn port_name(&self, short: &str) -> String {
        format!("{}:{short}", self.name)
    }

    /// Connects the first two audio output ports of other clients whose name contains `wanted`
    /// (ignoring case) to `in_1` and `in_2` (one port feeds both); returns "a → b" for each.
    pub fn connect_inputs(&self, wanted: &str) -> Result<Vec<String>, AudioError> {
        let c = self.client();
        let own = format!("{}:", self.client_name());
        let needle = wanted.to_lowercase();
        let ports: Vec<String> = c
            .ports(
                None,
                Some(jack::jack_sys::FLOAT_MONO_AUDIO),
                jack::PortFlags::IS_OUTPUT,
            )
            .into_iter()
            .filter(|p| !p.starts_with(&own) && p.to_lowercase().contains(&needle))
            .take(2)
            .collect();
        if ports.is_empty() {
            return Err(AudioError::Jack(format!(
                "no JACK audio output port is named like \"{wanted}\""
            )));
        }
        ["in_1", "in_2"]
            .iter()
            .enumerate()
            .map(|(i, ours)| {
                let theirs = &ports[i.min(ports.len() - 1)];
                let ours = self.port_name(ours);
                match c.connect_ports_by_name(theirs, &ours) {
                    Ok(()) | Err(jack::Error::PortAlreadyConnected(..)) => {
                        Ok(format!("{theirs} → {ours}"))
                    }
                    Err(e) => Err(AudioError::Jack(format!(
                        "cannot connect {theirs} to {ours}: {e}"
                    ))),
                }
            })
            .collect()
    }

    /// The input capture (once: it hands out the ring's consumer).
    pub fn take_input(&mut self) -> Option<InputCapture> {
        self.capture.take()
    }

    /// The JACK client, for connections and queries.
    pub fn client(&self) -> &Client {
        self.client.as_client()
    }

    /// The MIDI output ports of other clients (what can play into `midi_in`).
    pub fn midi_sources(&self) -> Vec<String> {
        let own = format!("{}:", self.name);
        self.client()
            .ports(
                None,
                Some(jack::jack_sys::RAW_MIDI_TYPE),
                jack::PortFlags::IS_OUTPUT,
            )
            .into_iter()
            .filter(|p| !p.starts_with(&own))
            .collect()
    }

    /// Connects the first MIDI output port of another client whose name contains `wanted`
    /// (ignoring case) to `midi_in`; returns its name. `Ok(None)` when no port matches.
    pub fn connect_midi_source(&self, wanted: &str) -> Result<Option<String>, AudioError> {
        let c = self.client();
        let needle = wanted.to_lowercase();
        let own = format!("{}:", self.name);
        let found = c
            .ports(
                None,
                Some(jack::jack_sys::RAW_MIDI_TYPE),
                jack::PortFlags::IS_OUTPUT,
            )
            .into_iter()
            .find(|p| !p.starts_with(&own) && p.to_lowercase().contains(&needle));
        let Some(port) = found else {
            return Ok(None);
        };
        match c.connect_ports_by_name(&port, &self.port_name("midi_in")) {
            Ok(()) | Err(jack::Error::PortAlreadyConnected(..)) => Ok(Some(port)),
            Err(e) => Err(AudioError::Jack(format!(
                "cannot connect {port} to {}: {e}",
                self.port_name("midi_in")
            ))),
        }
    }
}

/// The recorder's end of the input ring: interleaved stereo `f32` frames of `in_1`, `in_2`.
pub struct InputCapture {
    ring: ringbuf::HeapCons<f32>,
    state: Arc<CaptureState>,
    rate: u32,
    monitor: Option<crate::engine::monitor::MonitorReceiver>,
}

impl InputCapture {
    /// Starts copying input into the ring (until then only the level is measured).
    pub fn start(&self) {
        self.state.start(None);
    }

    /// The engine's end of the monitor ring (once; see [`super::InputSource::take_monitor`]).
    pub fn take_monitor(&mut self) -> Option<crate::engine::monitor::MonitorReceiver> {
        self.monitor.take()
    }

    /// Stops copying input; what is in the ring stays to be read.
    pub fn stop(&self) {
        self.state.stop();
    }

    /// The atomics shared with the process callback: start/stop, frame budget, per-port peaks
    /// (channel 0 = `in_1`), overruns.
    pub fn state(&self) -> &Arc<CaptureState> {
        &self.state
    }

    /// Moves up to `out.len()` samples (interleaved stereo) out of the ring; returns how many.
    pub fn read(&mut self, out: &mut [f32]) -> usize {
        self.ring.pop_slice(out)
    }

    /// Samples waiting.
    pub fn available(&self) -> usize {
        self.ring.occupied_len()
    }

    /// Sample rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Channels per frame (2).
    pub fn channels(&self) -> u16 {
        2
    }
}

/// Facts about the JACK server ttrack could use, for `ttrack devices`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JackProbe {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Frames per period.
    pub buffer_frames: u32,
    /// Physical playback ports (`system:playback_1`, ...).
    pub playback: Vec<String>,
    /// Physical capture ports.
    pub capture: Vec<String>,
    /// MIDI output ports of other clients, which can feed `ttrack:midi_in`.
    pub midi_sources: Vec<String>,
}

/// Maps an error of `Client::new` to a sentence: JACK missing, no server, or another reason.
fn open_error(e: jack::Error) -> AudioError {
    match e {
        jack::Error::LibraryError(reason) => AudioError::JackMissing(reason),
        jack::Error::ClientError(status)
            if status.intersects(ClientStatus::SERVER_FAILED | ClientStatus::SERVER_ERROR) =>
        {
            AudioError::JackNoServer
        }
        other => AudioError::Jack(other.to_string()),
    }
}

fn open_client(name: &str) -> Result<Client, AudioError> {
    // Never start a server behind the user's back: say that none runs instead.
    Client::new(name, ClientOptions::NO_START_SERVER)
        .map(|(c, _)| c)
        .map_err(open_error)
}

/// Asks the JACK server what it offers, with a short-lived client.
pub fn probe() -> Result<JackProbe, AudioError> {
    let client = open_client("ttrack-probe")?;
    let physical = |flags| client.ports(None, Some(jack::jack_sys::FLOAT_MONO_AUDIO), flags);
    Ok(JackProbe {
        rate: client.sample_rate(),
        buffer_frames: client.buffer_size(),
        playback: physical(jack::PortFlags::IS_PHYSICAL | jack::PortFlags::IS_INPUT),
        capture: physical(jack::PortFlags::IS_PHYSICAL | jack::PortFlags::IS_OUTPUT),
        midi_sources: client.ports(
            None,
            Some(jack::jack_sys::RAW_MIDI_TYPE),
            jack::PortFlags::IS_OUTPUT,
        ),
    })
}

/// Opens the `ttrack` client, registers its ports, builds the engine at the server's rate,
/// activates the client and connects the outputs to the system playback ports.
pub(super) fn open(
    opts: &OpenOptions,
    make_engine: &mut dyn FnMut(u32) -> Engine,
) -> Result<(JackStream, OutputInfo, Arc<AudioStats>), AudioError> {
    let client = open_client(CLIENT_NAME)?;
    let rate = client.sample_rate();
    let buffer = client.buffer_size();
    let label = format!("JACK client {}", client.name());
    if let Some(wanted) = opts.rate
        && wanted != rate
    {
        return Err(AudioError::UnsupportedRate {
            device: label,
            rate: wanted,
            supported: format!("{rate} Hz, the JACK server's rate"),
        });
    }
    if let Some(wanted) = opts.buffer_frames
        && wanted != buffer
    {
        return Err(AudioError::UnsupportedBuffer {
            device: format!("{label} (the server sets the period)"),
            frames: wanted,
            min: buffer,
            max: buffer,
        });
    }
    let port_error = |e: jack::Error| AudioError::Jack(format!("cannot register a port: {e}"));
    let out_l = client
        .register_port("out_1", AudioOut::default())
        .map_err(port_error)?;
    let out_r = client
        .register_port("out_2", AudioOut::default())
        .map_err(port_error)?;
    let in_l = client
        .register_port("in_1", AudioIn::default())
        .map_err(port_error)?;
    let in_r = client
        .register_port("in_2", AudioIn::default())
        .map_err(port_error)?;
    let midi = client
        .register_port("midi_in", MidiIn::default())
        .map_err(port_error)?;
    let engine = make_engine(rate);
    if engine.rate() != rate {
        return Err(AudioError::EngineRate {
            engine: engine.rate(),
            device: rate,
        });
    }
    let stats = Arc::new(AudioStats::new());
    let frames = (buffer as usize).max(64);
    let callback = AudioCallback::new(engine, stats.clone(), frames, opts.stop);
    let (prod, cons) = HeapRb::<f32>::new(rate as usize * 2 * CAPTURE_SECONDS).split();
    let (monitor_tx, monitor_rx) = crate::engine::monitor::monitor_ring();
    let capture_state = Arc::new(CaptureState::new());
    let name = client.name().to_string();
    let process = JackProcess {
        callback,
        out_l,
        out_r,
        in_l,
        in_r,
        midi,
        parser: MidiParser::new(),
        scratch: vec![0.0; 2 * frames],
        capture: prod,
        capture_state: capture_state.clone(),
        monitor: monitor_tx,
        stats: stats.clone(),
    };
    let notify = JackNotify {
        stats: stats.clone(),
        out_port: format!("{name}:out_1"),
        in_port: format!("{name}:in_1"),
        capture_state: capture_state.clone(),
    };
    let active = client
        .activate_async(notify, process)
        .map_err(|e| AudioError::Jack(format!("cannot activate the client: {e}")))?;
    let c = active.as_client();
    for (ours, theirs) in [
        ("out_1", "system:playback_1"),
        ("out_2", "system:playback_2"),
    ] {
        if c.port_by_name(theirs).is_some() {
            // A failed connection leaves the port unconnected; the user can connect it.
            let _ = c.connect_ports_by_name(&format!("{name}:{ours}"), theirs);
        }
    }
    update_latency(c, &format!("{name}:out_1"), &stats);
    update_capture_latency(c, &format!("{name}:in_1"), &capture_state);
    let info = OutputInfo {
        backend: BackendKind::Jack,
        device: label,
        rate,
        channels: 2,
        sample_format: String::from("f32"),
        buffer_frames: Some(buffer),
    };
    Ok((
        JackStream {
            client: active,
            name,
            capture: Some(InputCapture {
                ring: cons,
                state: capture_state,
                rate,
                monitor: Some(monitor_rx),
            }),
        },
        info,
        stats,
    ))
}

/// Reads the playback latency of `port` (frames from computing to hearing) into the stats.
fn update_latency(client: &Client, port: &str, stats: &AudioStats) {
    if let Some(p) = client.port_by_name(port) {
        let (_, max) = p.get_latency_range(LatencyType::Playback);
        stats.set_output_latency(max);
    }
}

/// Reads the capture latency of `port` (frames from the sound reaching the input to the period
/// that delivers it) into the capture state, for placing takes in the song.
fn update_capture_latency(client: &Client, port: &str, state: &CaptureState) {
    if let Some(p) = client.port_by_name(port) {
        let (_, max) = p.get_latency_range(LatencyType::Capture);
        state.set_latency_frames(max);
    }
}

/// Server events, on JACK's notification thread (not real time).
struct JackNotify {
    stats: Arc<AudioStats>,
    out_port: String,
    in_port: String,
    capture_state: Arc<CaptureState>,
}

impl NotificationHandler for JackNotify {
    // The trait declares this method unsafe (it runs like a signal handler); ours only stores
    // an atomic, which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe fn shutdown(&mut self, _status: ClientStatus, _reason: &str) {
        self.stats.set_fault(StreamFault::DeviceLost);
        self.capture_state.set_lost();
    }

    fn xrun(&mut self, _: &Client) -> Control {
        self.stats.add_xruns(1);
        Control::Continue
    }

    fn graph_reorder(&mut self, client: &Client) -> Control {
        update_latency(client, &self.out_port, &self.stats);
        update_capture_latency(client, &self.in_port, &self.capture_state);
        Control::Continue
    }

    fn ports_connected(&mut self, client: &Client, _a: jack::PortId, _b: jack::PortId, _on: bool) {
        update_latency(client, &self.out_port, &self.stats);
        update_capture_latency(client, &self.in_port, &self.capture_state);
    }
}

/// The process callback's state: everything is allocated before activation.
struct JackProcess {
    callback: AudioCallback,
    out_l: Port<AudioOut>,
    out_r: Port<AudioOut>,
    in_l: Port<AudioIn>,
    in_r: Port<AudioIn>,
    midi: Port<MidiIn>,
    parser: MidiParser,
    /// Interleaved stereo output of the engine, split into the two ports.
    scratch: Vec<f32>,
    capture: ringbuf::HeapProd<f32>,
    capture_state: Arc<CaptureState>,
    /// Both inputs for the engine to add to its output while monitoring is on (pushed before
    /// the engine runs in the same period: no added latency).
    monitor: crate::engine::monitor::MonitorSender,
    stats: Arc<AudioStats>,
}

impl JackProcess {
    /// MIDI first: each event goes to the engine with its frame in this period.
    fn read_midi(&mut self, ps: &ProcessScope) {
        let callback = &mut self.callback;
        for ev in self.midi.iter(ps) {
            // JACK delivers whole messages; running status never spans two events.
            self.parser.reset();
            let at = ev.time;
            self.parser
                .feed_all(ev.bytes, |msg| callback.midi_in(at, msg));
        }
    }

    /// Meters the inputs and, while capturing, copies them into the ring (a whole period, or
    /// the part the capture's frame budget allows, or, when it does not fit, nothing: counted as
    /// an overrun).
    fn read_inputs(&mut self, ps: &ProcessScope) {
        let (l, r) = (self.in_l.as_slice(ps), self.in_r.as_slice(ps));
        let peak_of = |x: &[f32]| x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let (peak_l, peak_r) = (peak_of(l), peak_of(r));
        self.stats.set_input_peak(peak_l.max(peak_r));
        self.capture_state.note_peak(0, peak_l);
        self.capture_state.note_peak(1, peak_r);
        if self.capture_state.monitoring() {
            self.monitor
                .push(l.iter().zip(r.iter()).map(|(&a, &b)| [a, b]));
        }
        let n = self.capture_state.frames_to_take(l.len().min(r.len()));
        if n == 0 {
            return;
        }
        if self.capture.vacant_len() < 2 * n {
            self.stats.add_input_overrun();
            self.capture_state.overrun(n);
            return;
        }
        // Fits: checked above, and only this thread pushes.
        self.capture
            .push_iter(l[..n].iter().zip(r[..n].iter()).flat_map(|(&a, &b)| [a, b]));
        // The period's first frame reached the input its capture latency before now (and
        // before this period's frame time, which places it exactly).
        let latency_frames = self.capture_state.latency_frames();
        let latency =
            u64::from(latency_frames) * 1_000_000_000 / u64::from(self.callback.rate().max(1));
        let now = crate::midi::clock::now_nanos();
        self.capture_state.captured_at_frame(
            n,
            now.saturating_sub(latency),
            ps.last_frame_time().wrapping_sub(latency_frames),
        );
    }
}

impl ProcessHandler for JackProcess {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        // The whole period under the allocation checker, not only the engine call.
        assert_no_alloc::assert_no_alloc(|| self.period(ps));
        self.stats.publish_alloc_violations();
        Control::Continue
    }

    fn buffer_size(&mut self, _: &Client, size: jack::Frames) -> Control {
        // Not real time (JACK calls this between periods): growing the scratch is allowed here.
        let want = 2 * size as usize;
        if self.scratch.len() < want {
            self.scratch.resize(want, 0.0);
        }
        Control::Continue
    }
}

impl JackProcess {
    /// One period: MIDI in, inputs metered and captured, the engine into the two outputs.
    fn period(&mut self, ps: &ProcessScope) {
        self.read_midi(ps);
        self.read_inputs(ps);
        let n = ps.n_frames() as usize;
        let out_l = self.out_l.as_mut_slice(ps);
        let out_r = self.out_r.as_mut_slice(ps);
        let n = n.min(out_l.len()).min(out_r.len());
        // The scratch holds the whole period (buffer_size resizes it before a bigger one comes);
        // if it ever does not, the rest of the period is silence.
        let m = n.min(self.scratch.len() / 2);
        let buf = &mut self.scratch[..2 * m];
        self.callback.set_frame_time(ps.last_frame_time());
        self.callback.fill(buf, 2);
        for (i, frame) in buf.chunks_exact(2).enumerate() {
            out_l[i] = frame[0];
            out_r[i] = frame[1];
        }
        out_l[m..n].fill(0.0);
        out_r[m..n].fill(0.0);
    }
}
