//! What freezing saves: the engine rendering the synth demo (`songs/demo-synth.ttrk`, mixer off,
//! so the voices are most of the cost) with every track playing its notes, and with every track frozen;
//! plus the cost of freezing one track. Run: `cargo bench --bench freeze`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::render::freeze::freeze;
use ttrack::render::{RenderOptions, Renderer};

fn render_all(song: &ttrack::model::Song) -> (u64, f32) {
    let mut r = Renderer::new(song, RenderOptions::default()).expect("render");
    let mut acc = 0.0f32;
    while let Some((l, _)) = r.next_block() {
        acc += l[0];
    }
    (r.frames, acc)
}

fn bench(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let song = ttrack::format::load_song(&root.join("songs/demo-synth.ttrk")).expect("demo");
    let mut frozen = song.clone();
    for t in 0..frozen.tracks.len() {
        frozen = freeze(&frozen, t, 48_000).expect("freeze");
    }
    let mut g = c.benchmark_group("freeze");
    g.sample_size(10);
    g.throughput(Throughput::Elements(render_all(&song).0));
    g.bench_function("demo-synth notes", |b| {
        b.iter(|| black_box(render_all(&song)))
    });
    g.bench_function("demo-synth all frozen", |b| {
        b.iter(|| black_box(render_all(&frozen)))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("freeze one track", |b| {
        b.iter(|| black_box(freeze(&song, 4, 48_000).expect("freeze")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
