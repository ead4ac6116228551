//! Render throughput: the demo songs and a busy 16-track song (a note and an effect on every row of
//! every track), rendered whole through the same path as `ttrack render` minus the WAV file.
//! Run: `cargo bench --bench render`. Throughput is in output frames per second; divide by 48 000
//! for the multiple of real time.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../tests/common/songs.rs"]
mod songs;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::render::{RenderOptions, Renderer};

fn frames_of(song: &ttrack::model::Song) -> u64 {
    let mut r = Renderer::new(song, RenderOptions::default()).expect("render");
    while r.next_block().is_some() {}
    r.frames
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut songs = vec![("busy-16".to_string(), songs::busy(16))];
    for name in ["demo-synth.ttrk", "demo-kit.ttrk"] {
        if let Ok(s) = ttrack::format::load_song(&root.join("songs").join(name)) {
            songs.push((name.to_string(), s));
        }
    }
    for (name, song) in &songs {
        g.throughput(Throughput::Elements(frames_of(song)));
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let mut r = Renderer::new(song, RenderOptions::default()).expect("render");
                let mut acc = 0.0f32;
                while let Some((l, _)) = r.next_block() {
                    acc += l[0];
                }
                black_box(acc)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
