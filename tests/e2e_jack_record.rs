//! Recording from ttrack's JACK client, in process: a JACK dummy server runs ttrack's `ttrack`
//! client (as `--audio-host jack` opens it, with a stopped engine) and a source client playing a
//! known signal into `ttrack:in_1/in_2`: on the left a code of its own frame time, on the right a
//! sine of that time. The recorder's 24-bit stereo take must be
//! that signal frame for frame (difference ≤ −80 dB against the signal rebuilt from the first
//! frame's time), with no overrun, per-port peaks in the meter, and no allocation in the JACK
//! process callback while capturing. Needs jackd (Debian jackd2); without it the test skips,
//! saying why, except under `CI=true`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use jack::{Client, ClientOptions, Control, ProcessScope};
use std::time::Duration;
use ttrack::audio::{self, AudioHost, ChannelSelect, InputSource, JackInput, OpenOptions};
use ttrack::engine::{Engine, EngineSong};
use ttrack::model::Song;
use ttrack::record::{RecordOptions, Recorder, TakeFormat};

// Counts allocations inside `assert_no_alloc` scopes: ttrack's whole JACK process callback.
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const SERVER: &str = "ttrack-e2e-jack-record";
const RATE: u32 = 48_000;
const CODE: u32 = 1 << 20;

fn code(t: u32) -> f32 {
    (t % CODE) as f32 / CODE as f32 - 0.5
}

fn decode(x: f32) -> u32 {
    ((x as f64 + 0.5) * CODE as f64).round() as u32 % CODE
}

fn sine(t: u32) -> f32 {
    (0.5 * (std::f64::consts::TAU * (t % 48) as f64 / 48.0).sin()) as f32
}

struct Source {
    left: jack::Port<jack::AudioOut>,
    right: jack::Port<jack::AudioOut>,
}

impl jack::ProcessHandler for Source {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let start = ps.last_frame_time();
        for (i, v) in self.left.as_mut_slice(ps).iter_mut().enumerate() {
            *v = code(start.wrapping_add(i as u32));
        }
        for (i, v) in self.right.as_mut_slice(ps).iter_mut().enumerate() {
            *v = sine(start.wrapping_add(i as u32));
        }
        Control::Continue
    }
}

/// Difference in dB of `got` (interleaved, `channels`) against `want(t, channel)` from time `t0`.
fn difference_db(got: &[f32], channels: usize, t0: u32, want: impl Fn(u32, usize) -> f32) -> f64 {
    let (mut e, mut s) = (0.0f64, 0.0f64);
    for (k, f) in got.chunks_exact(channels).enumerate() {
        for (c, &x) in f.iter().enumerate() {
            let w = want(t0.wrapping_add(k as u32), c) as f64;
            e += (x as f64 - w).powi(2);
            s += w * w;
        }
    }
    10.0 * (e.max(1e-30) / s).log10()
}

#[test]
fn a_signal_played_into_the_jack_inputs_is_recorded_frame_for_frame() {
    if !common::jack::installed() {
        return;
    }
    // 1024-frame periods: with shorter ones the dummy server on a small shared machine has xruns,
    // after which JACK's frame time (the signal's code) may step back.
    let _jackd = common::jack::start(SERVER, 1024);
    // SAFETY: set before any JACK client exists; this file's only test reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("JACK_DEFAULT_SERVER", SERVER);
    }
    let opts = OpenOptions {
        host: AudioHost::Jack,
        ..Default::default()
    };
    let mut out = audio::open_output(&opts, |rate| {
        Engine::new(Box::new(EngineSong::from_model(&Song::new_default(), rate)))
    })
    .expect("open the JACK host");
    assert_eq!(out.rate(), RATE);
    let audio::Backend::Jack(jack_out) = out.backend_mut() else {
        panic!("not the JACK backend");
    };
    let ttrack = jack_out.client_name().to_string();
    let capture = jack_out.take_input().expect("the input capture");
    let (client, _) = Client::new("source", ClientOptions::NO_START_SERVER).unwrap();
    let source = Source {
        left: client
            .register_port("out_l", jack::AudioOut::default())
            .unwrap(),
        right: client
            .register_port("out_r", jack::AudioOut::default())
            .unwrap(),
    };
    let source = source_client_activate(client, source);
    let c = source.as_client();
    c.connect_ports_by_name("source:out_l", &format!("{ttrack}:in_1"))
        .unwrap();
    c.connect_ports_by_name("source:out_r", &format!("{ttrack}:in_2"))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let dir = tempfile::tempdir().unwrap();
    let mut input: Box<dyn InputSource> =
        Box::new(JackInput::new(capture, ChannelSelect::Stereo(0, 1), &ttrack).unwrap());
    let state = input.state().clone();
    let frames = 2 * RATE as u64;
    // A JACK xrun on a loaded machine makes the source skip a period; then the recorder, which
    // hands the input back, records the next take, up to three.
    for attempt in 1..=3u32 {
        let xruns_before = out.stats().xruns();
        let recorder = Recorder::start(
            input,
            dir.path(),
            RecordOptions {
                format: TakeFormat::S24,
                max_frames: Some(frames),
                ..RecordOptions::default()
            },
        )
        .map_err(|(_, e)| e)
        .unwrap();
        while !recorder.status().done() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let (back, take) = recorder.stop();
        input = back;
        let take = take.unwrap();
        assert_eq!(take.path, dir.path().join(format!("take-{attempt:03}.wav")));
        assert_eq!(
            (take.frames, take.overruns, take.dropped_frames),
            (frames, 0, 0)
        );
        let s = ttrack::format::wav::read_wav(&take.path).unwrap();
        assert_eq!(
            (s.rate, s.channels, s.bits, s.frames),
            (RATE, 2, 24, frames)
        );
        let t0 = decode(s.data[0]);
        let db = difference_db(
            &s.data,
            2,
            t0,
            |t, c| if c == 0 { code(t) } else { sine(t) },
        );
        let xruns = out.stats().xruns() - xruns_before;
        eprintln!(
            "JACK stereo s24 take {attempt}: {frames} frames from JACK frame {t0}, difference \
             {db:.1} dB, {xruns} xruns"
        );
        if xruns > 0 && attempt < 3 {
            continue;
        }
        assert_eq!(
            xruns, 0,
            "JACK xruns in each of 3 takes: the machine is too loaded"
        );
        assert!(
            db <= -80.0,
            "the take differs by {db:.1} dB from what was played"
        );
        break;
    }
    let peak_in_2 = state.peak(1);
    assert!(
        (0.49..=0.51).contains(&peak_in_2),
        "in_2 meter {peak_in_2}, want 0.5"
    );
    drop(input);
    let stats = out.stats().snapshot();
    assert_eq!(
        stats.alloc_violations, 0,
        "the JACK process callback allocated"
    );
    assert_eq!(stats.input_overruns, 0);
}

fn source_client_activate(client: Client, source: Source) -> jack::AsyncClient<(), Source> {
    client.activate_async((), source).unwrap()
}
