//! Engine time per 128-frame callback while the demo songs play live (connected to the UI rings,
//! as in the terminal UI). A 128-frame block at 48 kHz lasts 2.667 ms. Run:
//! `cargo bench --bench callback`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::engine::{self, Engine, EngineSong, PlayRange, rt};

fn bench(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["demo-synth.ttrk", "demo-kit.ttrk"] {
        let song = ttrack::format::load_song(&root.join("songs").join(name)).expect("demo song");
        let es = EngineSong::from_model(&song, 48_000);
        let (mut handle, link) = engine::link();
        let mut e = Engine::new(Box::new(es.clone()));
        e.connect(link);
        e.play(PlayRange {
            looping: true,
            ..PlayRange::song(&es)
        });
        let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
        c.bench_function(&format!("callback_128/{name}"), |b| {
            b.iter(|| {
                rt::process_block(&mut e, &mut l, &mut r);
                handle.pump();
                black_box(l[0])
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
