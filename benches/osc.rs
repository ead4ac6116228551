//! Oscillator and envelope cost per frame: one 32-frame block (half a control period) of each
//! waveform at a low, middle and high note (the band-limiting corrections fall on more frames at
//! high notes), and of each envelope stage. Run: `cargo bench --bench osc`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::dsp::envelope::{AdsrCoefs, Envelope};
use ttrack::dsp::osc::Oscillator;
use ttrack::dsp::rng::Rng;
use ttrack::model::{Adsr, Waveform};

const FRAMES: usize = 32;

fn oscillators(c: &mut Criterion) {
    let mut g = c.benchmark_group("osc_32_frames");
    g.throughput(Throughput::Elements(FRAMES as u64));
    for wave in [
        Waveform::Sine,
        Waveform::Saw,
        Waveform::Pulse,
        Waveform::Triangle,
        Waveform::Noise,
    ] {
        for hz in [110.0f32, 880.0, 3520.0] {
            let id = BenchmarkId::new(format!("{wave:?}"), hz as u32);
            g.bench_function(id, |b| {
                let mut o = Oscillator::new(0.1);
                o.set_freq(hz, 48_000.0);
                let mut rng = Rng::new(1);
                let mut buf = [0.0f32; FRAMES];
                b.iter(|| {
                    o.fill(wave, 0.4, &mut rng, 0.5, &mut buf, true);
                    black_box(&mut buf);
                })
            });
        }
    }
    g.finish();
}

fn envelopes(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope_32_frames");
    g.throughput(Throughput::Elements(FRAMES as u64));
    // Long stages, so every block of the measurement stays in the stage named.
    let env = Adsr {
        attack_ms: 60_000.0,
        decay_ms: 60_000.0,
        sustain: 0.5,
        release_ms: 60_000.0,
    };
    let coefs = AdsrCoefs::new(&env, 48_000.0);
    for stage in ["attack", "decay", "release"] {
        g.bench_function(stage, |b| {
            let mut e = Envelope::IDLE;
            e.trigger();
            if stage != "attack" {
                e.level = 1.0;
                e.stage = ttrack::dsp::envelope::Stage::Decay;
            }
            if stage == "release" {
                e.release();
            }
            let start = e;
            let mut buf = [0.0f32; FRAMES];
            let mut n = 0;
            b.iter(|| {
                // Start again now and then, so the stage never ends.
                n += 1;
                if n % 1000 == 0 {
                    e = start;
                }
                e.fill(&coefs, &mut buf);
                black_box(&mut buf);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, oscillators, envelopes);
criterion_main!(benches);
