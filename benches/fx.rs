//! Cost of the mixer's effect processors: one 32-frame engine chunk of stereo noise at 48 kHz
//! through each processor with every stage switched on. Divide by 32 for the cost per frame.
//! Run: `cargo bench --bench fx`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::dsp::fx::{
    CompressorProcessor, DelayProcessor, EqProcessor, LimiterProcessor, ReverbProcessor,
};
use ttrack::dsp::rng::Rng;
use ttrack::model::mix::{Compressor, Delay, Eq, Limiter, Reverb};

const RATE: f32 = 48_000.0;
const CHUNK: usize = 32;

fn noise() -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(1);
    let l = (0..CHUNK).map(|_| 0.9 * rng.bipolar()).collect();
    let r = (0..CHUNK).map(|_| 0.9 * rng.bipolar()).collect();
    (l, r)
}

fn bench(c: &mut Criterion) {
    let (xl, xr) = noise();
    let (mut l, mut r) = (xl.clone(), xr.clone());
    let (mut wl, mut wr) = (vec![0.0f32; CHUNK], vec![0.0f32; CHUNK]);

    let mut eq = Eq::default();
    for b in eq.bands.iter_mut() {
        b.on = true;
        b.gain_db = 3.0;
    }
    let mut p = EqProcessor::new(RATE);
    p.set(&eq);
    c.bench_function("fx_32/eq_6_bands", |b| {
        b.iter(|| {
            l.copy_from_slice(&xl);
            r.copy_from_slice(&xr);
            p.process(&mut l, &mut r);
            black_box(l[0])
        })
    });

    let mut p = CompressorProcessor::new(RATE);
    p.set(&Compressor {
        threshold_db: -30.0,
        ..Compressor::default()
    });
    c.bench_function("fx_32/compressor", |b| {
        b.iter(|| {
            l.copy_from_slice(&xl);
            r.copy_from_slice(&xr);
            p.process(&mut l, &mut r);
            black_box(l[0])
        })
    });

    let mut p = ReverbProcessor::new(RATE);
    p.set(&Reverb::default());
    c.bench_function("fx_32/reverb", |b| {
        b.iter(|| {
            p.process(&xl, &xr, &mut wl, &mut wr);
            black_box(wl[0])
        })
    });

    let mut p = DelayProcessor::new(RATE);
    p.set(&Delay::default(), 125.0, 4);
    c.bench_function("fx_32/delay", |b| {
        b.iter(|| {
            p.process(&xl, &xr, &mut wl, &mut wr);
            black_box(wl[0])
        })
    });

    let mut p = LimiterProcessor::new(RATE);
    p.set(&Limiter {
        ceiling_db: -6.0,
        ..Limiter::default()
    });
    c.bench_function("fx_32/limiter", |b| {
        b.iter(|| {
            l.copy_from_slice(&xl);
            r.copy_from_slice(&xr);
            p.process(&mut l, &mut r);
            black_box(l[0])
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
