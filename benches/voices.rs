//! Engine cost per voice: 1, 8, 32 and 128 sustained voices (synth: two oscillators and the
//! filter; sampler: looped stereo sample with cubic interpolation), 128-frame blocks at 48 kHz.
//! Run: `cargo bench --bench voices`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use ttrack::engine::{Engine, EngineSong, PlayRange};
use ttrack::model::*;

fn song_with_voices(n: usize, sampler: bool) -> Song {
    let mut s = Song::new_default();
    let tracks = n.div_ceil(8);
    s.tracks = (0..tracks)
        .map(|i| Track {
            note_columns: 8.min(n - i * 8) as u8,
            ..Track::new(format!("T{i}"))
        })
        .collect();
    let mut p = Pattern::new(64, &s.tracks);
    for v in 0..n {
        let c = p.note_mut(v / 8, 0, v % 8);
        c.note = Note::On(36 + (v % 48) as u8);
        c.instrument = 1;
    }
    s.patterns = vec![p];
    s.order = vec![0];
    let kind = if sampler {
        let frames = 48_000;
        let data: Vec<f32> = (0..frames * 2)
            .map(|k| ((k / 2) as f32 * 0.05).sin() * 0.3)
            .collect();
        let sample = Arc::new(SampleData {
            name: "loop".into(),
            rate: 44_100,
            channels: 2,
            bits: 16,
            float: false,
            frames: frames as u64,
            source: None,
            data,
        });
        let mut sm = Sampler::new(sample);
        sm.loop_mode = LoopMode::Forward;
        sm.loop_start = 1000;
        sm.loop_end = 40_000;
        InstrumentKind::Sampler(sm)
    } else {
        InstrumentKind::Synth(Synth {
            osc2: Waveform::Pulse,
            osc_mix: 0.5,
            amp: Adsr {
                sustain: 1.0,
                ..Synth::default().amp
            },
            ..Synth::default()
        })
    };
    s.instruments = vec![Some(Instrument {
        name: "v".into(),
        volume: 0.1,
        pan: 0.0,
        kind,
    })];
    s
}

fn voices(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_block_128");
    for sampler in [false, true] {
        for n in [1usize, 8, 32, 128] {
            let es = EngineSong::from_model(&song_with_voices(n, sampler), 48_000);
            let mut e = Engine::new(Box::new(es.clone()));
            e.play(PlayRange {
                looping: true,
                ..PlayRange::song(&es)
            });
            let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
            e.process(&mut l, &mut r);
            assert_eq!(e.active_voices(), n);
            g.throughput(Throughput::Elements(n as u64 * 128));
            let name = if sampler { "sampler" } else { "synth" };
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    e.process(&mut l, &mut r);
                    black_box(l[0])
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, voices);
criterion_main!(benches);
