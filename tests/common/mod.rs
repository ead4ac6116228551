//! Shared test helpers: songs built in code, rendering, and audio measurements.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(dead_code)]

pub mod jack;
pub mod measure;
pub mod songs;
pub mod tmux;

use ttrack::model::*;
use ttrack::render::{RenderOptions, render_to_vec};

/// Output rate used by the engine tests.
pub const RATE: u32 = 48_000;

/// A song with `tracks` one-column tracks, one pattern of `rows` rows, and `instruments`.
pub fn song(tracks: usize, rows: u32, instruments: Vec<Instrument>) -> Song {
    let mut s = Song::new_default();
    s.tracks = (0..tracks).map(|i| Track::new(format!("T{i}"))).collect();
    s.patterns = vec![Pattern::new(rows, &s.tracks)];
    s.order = vec![0];
    s.instruments = instruments.into_iter().map(Some).collect();
    s
}

/// A synth instrument with an organ envelope, no filter movement, given waveform.
pub fn synth(wave: Waveform) -> Instrument {
    Instrument {
        name: "test".into(),
        volume: 1.0,
        pan: 0.0,
        kind: InstrumentKind::Synth(Synth {
            osc1: wave,
            osc2: Waveform::Off,
            amp: Adsr {
                attack_ms: 0.0,
                decay_ms: 0.0,
                sustain: 1.0,
                release_ms: 100.0,
            },
            cutoff_hz: 20_000.0,
            resonance: 0.0,
            filter_env_octaves: 0.0,
            key_track: 0.0,
            ..Synth::default()
        }),
    }
}

/// A sampler instrument playing a 1-second sine of `freq` Hz recorded at `rate`, base note C-4.
pub fn sine_sampler(freq: f64, rate: u32, looped: bool) -> Instrument {
    let n = rate as usize;
    let data: Vec<f32> = (0..n)
        .map(|i| (0.5 * (std::f64::consts::TAU * freq * i as f64 / rate as f64).sin()) as f32)
        .collect();
    let sample = std::sync::Arc::new(SampleData::mono("sine", rate, data));
    let mut s = Sampler::new(sample);
    if looped {
        // Loop over a whole number of cycles.
        let cycles = (freq * 0.5).floor();
        s.loop_mode = LoopMode::Forward;
        s.loop_start = 0;
        s.loop_end = (cycles * rate as f64 / freq).round() as u64;
    }
    Instrument {
        name: "sine".into(),
        volume: 1.0,
        pan: 0.0,
        kind: InstrumentKind::Sampler(s),
    }
}

/// Puts a note cell into pattern 0.
pub fn put(s: &mut Song, track: usize, row: usize, note: &str, inst: u8, vol: Option<u8>) {
    let c = s.patterns[0].note_mut(track, row, 0);
    c.note = Note::parse(note).expect("note");
    c.instrument = inst;
    c.volume = vol.unwrap_or(NoteCell::NO_VOLUME);
}

/// Puts an effect (`"A0F"`) into pattern 0, effect column 0.
pub fn fx(s: &mut Song, track: usize, row: usize, effect: &str) {
    let b = effect.as_bytes();
    let p = u8::from_str_radix(&effect[1..3], 16).expect("hex");
    *s.patterns[0].effect_mut(track, row, 0) = EffectCell::new(b[0] as char, p);
}

/// Renders the whole song at [`RATE`].
pub fn render(s: &Song) -> (Vec<f32>, Vec<f32>) {
    render_to_vec(
        s,
        RenderOptions {
            rate: RATE,
            ..Default::default()
        },
    )
    .expect("render")
}

/// Seconds → frames at [`RATE`].
pub fn frames(seconds: f64) -> usize {
    (seconds * RATE as f64).round() as usize
}
