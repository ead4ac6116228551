//! Time to import each MIDI file of tests/fixtures/midi into a song (parse, time, place, build
//! instruments; no file I/O), and to export the demo song as MIDI. Target: under 50 ms per file.
//! Run: `cargo bench --bench midi`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use ttrack::format::midi;

fn bench(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/fixtures/midi"))
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mid"))
        .collect();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        c.bench_function(&format!("midi_import/{name}"), |b| {
            b.iter(|| black_box(midi::import(&bytes, &name, None).expect("import")))
        });
    }
    let song = ttrack::format::load_song(&root.join("songs/demo-synth.ttrk")).expect("demo");
    c.bench_function("midi_export/demo-synth", |b| {
        b.iter(|| black_box(midi::export(&song).expect("export")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
