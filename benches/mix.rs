//! Engine time per 128-frame block for the busy 16-track song, dry and with the whole mixer in use
//! (every track with an EQ and a compressor insert and both sends, the reverb and delay buses, and
//! the master EQ, compressor and limiter). A 128-frame block at 48 kHz lasts 2.667 ms; the target
//! is the whole mix within 10 % of that (267 µs). The engine runs connected to the UI rings, so
//! the meters are gathered as in the terminal UI. Run: `cargo bench --bench mix`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../tests/common/songs.rs"]
mod songs;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::engine::{self, Engine, EngineSong, PlayRange, rt};

fn bench(c: &mut Criterion) {
    for (name, song) in [("dry", songs::busy(16)), ("mixed", songs::busy_mixed(16))] {
        let es = EngineSong::from_model(&song, 48_000);
        let (mut handle, link) = engine::link();
        let mut e = Engine::new(Box::new(es.clone()));
        e.connect(link);
        e.play(PlayRange {
            looping: true,
            ..PlayRange::song(&es)
        });
        let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
        // Past the first notes, so every bus is busy.
        for _ in 0..400 {
            rt::process_block(&mut e, &mut l, &mut r);
            handle.pump();
        }
        c.bench_function(&format!("mix_block_128/busy16_{name}"), |b| {
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
