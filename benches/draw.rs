//! Frame draw time of the pattern view: 32 tracks × 64 rows, every cell filled, on a 200×60
//! terminal (ratatui's TestBackend, so only ttrack's own drawing and ratatui's buffer diff are
//! measured, not the terminal). Run: `cargo bench --bench draw`.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ttrack::model::*;
use ttrack::ui::App;
use ttrack::ui::view::{Theme, draw};

fn busy_song() -> Song {
    let mut s = Song::new_default();
    s.tracks = (0..32).map(|i| Track::new(format!("Track {i}"))).collect();
    let mut p = Pattern::new(64, &s.tracks);
    for t in 0..32 {
        for r in 0..64 {
            *p.note_mut(t, r, 0) = NoteCell {
                note: Note::On((24 + r + t) as u8 % 96),
                instrument: 1,
                volume: 0x30,
                delay: 0,
            };
            *p.effect_mut(t, r, 0) = EffectCell::new('A', 0x0F);
        }
    }
    s.patterns = vec![p];
    s
}

fn bench(c: &mut Criterion) {
    let mut app = App::new(busy_song(), None);
    app.cursor.row = 32;
    let theme = Theme::color();
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("draw_pattern_32x64_200x60", |b| {
        b.iter(|| {
            // Move the cursor so every frame differs, as while playing.
            app.cursor.row = (app.cursor.row + 1) % 64;
            term.draw(|f| draw(f, &app, &theme)).unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
