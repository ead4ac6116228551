//! Songs built in code for tests and benchmarks.
#![allow(dead_code)]

use std::sync::Arc;
use ttrack::model::*;

/// A busy song: `tracks` tracks, a note on every row of every track and an effect on every row,
/// half synths (all waveforms, filter and pitch envelopes) and half samplers (looped and one-shot,
/// mono and stereo), 4 patterns of 64 rows played twice (about 61 s at 125 BPM).
pub fn busy(tracks: usize) -> Song {
    let mut s = Song::new_default();
    s.title = format!("Busy {tracks}-track song");
    s.tracks = (0..tracks)
        .map(|i| Track::new(format!("Busy {i}")))
        .collect();
    let waves = [
        Waveform::Saw,
        Waveform::Pulse,
        Waveform::Triangle,
        Waveform::Sine,
        Waveform::Noise,
    ];
    let mut instruments = Vec::new();
    for i in 0..8 {
        instruments.push(Some(Instrument {
            name: format!("synth {i}"),
            volume: 0.25,
            pan: (i as f32 - 3.5) / 4.0,
            kind: InstrumentKind::Synth(Synth {
                osc1: waves[i % 5],
                osc2: waves[(i + 2) % 5],
                osc2_semitones: 7.02,
                osc_mix: 0.3,
                pitch_env_semitones: if i % 3 == 0 { 12.0 } else { 0.0 },
                ..Synth::default()
            }),
        }));
    }
    for i in 0..8 {
        let rate = [44_100, 48_000, 22_050, 96_000][i % 4];
        let channels = if i % 2 == 0 { 1 } else { 2 };
        let frames = rate as usize / 2;
        let data: Vec<f32> = (0..frames * channels)
            .map(|k| {
                let f = (k / channels) as f32;
                0.4 * (f * 0.031 * (1.0 + i as f32 * 0.1)).sin()
                    * (-(f / frames as f32) * 3.0).exp()
            })
            .collect();
        let sample = Arc::new(SampleData {
            name: format!("s{i}"),
            rate,
            channels: channels as u16,
            bits: 16,
            float: false,
            frames: frames as u64,
            source: None,
            data,
        });
        let mut sm = Sampler::new(sample);
        if i % 3 == 0 {
            sm.loop_mode = if i % 2 == 0 {
                LoopMode::Forward
            } else {
                LoopMode::PingPong
            };
            sm.loop_start = frames as u64 / 4;
            sm.loop_end = frames as u64 / 2;
        }
        instruments.push(Some(Instrument {
            name: format!("sample {i}"),
            volume: 0.3,
            pan: 0.0,
            kind: InstrumentKind::Sampler(sm),
        }));
    }
    s.instruments = instruments;
    let effects = [
        "037", "110", "208", "304", "447", "8A0", "A02", "C30", "E93", "ED1", "EC4", "000",
    ];
    s.patterns = (0..4)
        .map(|p| {
            let mut pat = Pattern::new(64, &s.tracks);
            for t in 0..tracks {
                for row in 0..64 {
                    let c = pat.note_mut(t, row, 0);
                    c.note = Note::On((36 + (row * 7 + t * 5 + p * 3) % 36) as u8);
                    c.instrument = ((t + row / 16) % 16 + 1) as u8;
                    c.volume = if row % 4 == 0 { 0x40 } else { 0x30 };
                    let e = effects[(row + t + p) % effects.len()];
                    *pat.effect_mut(t, row, 0) = EffectCell::new(
                        e.as_bytes()[0] as char,
                        u8::from_str_radix(&e[1..], 16).unwrap(),
                    );
                }
            }
            pat
        })
        .collect();
    s.order = vec![0, 1, 2, 3, 0, 1, 2, 3];
    s
}

/// [`busy`] with the whole mixer in use: every track has an EQ and a compressor insert, sends to
/// both buses and a pan; the master EQ, compressor and limiter are on.
pub fn busy_mixed(tracks: usize) -> Song {
    use ttrack::model::mix::{self, Insert};
    let mut s = busy(tracks);
    let n = tracks.max(2) as f32;
    for (i, t) in s.tracks.iter_mut().enumerate() {
        t.sends = [-12.0, if i % 2 == 0 { -18.0 } else { mix::OFF_DB }];
        let mut eq = mix::Eq::default();
        eq.bands[0].on = true;
        eq.bands[2] = mix::EqBand {
            on: true,
            freq_hz: 800.0,
            gain_db: 4.0,
            q: 1.0,
        };
        eq.bands[4].on = true;
        eq.bands[4].gain_db = -3.0;
        t.inserts = vec![
            Insert::Eq(eq),
            Insert::Compressor(mix::Compressor::default()),
        ];
        t.pan = (i as f32 / (n - 1.0)) * 2.0 - 1.0;
    }
    s.mixer.master.eq.on = true;
    s.mixer.master.eq.bands[1].on = true;
    s.mixer.master.compressor.on = true;
    s.mixer.master.limiter.on = true;
    s
}
