//! Snapshots of the views on ratatui's TestBackend at 80×24 and 160×50, and style checks on the
//! cells where the style is the point (the cursor is reversed).
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ttrack::model::Song;
use ttrack::ui::App;
use ttrack::ui::keymap::KeyChord;
use ttrack::ui::view::{Theme, draw};

fn screen(app: &App, w: u16, h: u16) -> (String, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, app, &Theme::mono())).unwrap();
    let buf = term.backend().buffer().clone();
    let mut text = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    (text, buf)
}

fn keys(app: &mut App, keys: &str) {
    for k in keys.split(' ').filter(|k| !k.is_empty()) {
        app.handle_key(KeyChord::parse(k).unwrap());
    }
}

fn demo() -> App {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-synth.ttrk");
    let song = ttrack::format::load_song(&path).unwrap();
    App::new(song, Some(path))
}

#[test]
fn pattern_view_new_song() {
    let mut a = App::new(Song::new_default(), None);
    keys(&mut a, "Esc z x c Down");
    let (small, buf) = screen(&a, 80, 24);
    insta::assert_snapshot!("pattern_new_80x24", small);
    // The cursor cell is drawn reversed.
    let (x, y) = (0..80u16)
        .flat_map(|x| (0..24u16).map(move |y| (x, y)))
        .find(|&(x, y)| buf[(x, y)].modifier.contains(Modifier::REVERSED) && y > 3)
        .expect("no reversed cell");
    assert_eq!(
        buf[(x, y)].symbol(),
        ".",
        "cursor on an empty note field at ({x}, {y})"
    );
    let (large, _) = screen(&a, 160, 50);
    insta::assert_snapshot!("pattern_new_160x50", large);
}

#[test]
fn pattern_view_demo_song_scrolls_to_the_cursor_track() {
    let mut a = demo();
    keys(&mut a, "Tab Tab Tab Tab Tab Tab PageDown");
    let (s, _) = screen(&a, 80, 24);
    assert!(s.contains("07 Lead"), "cursor track not visible:\n{s}");
    insta::assert_snapshot!("pattern_demo_80x24", s);
    let (l, _) = screen(&a, 160, 50);
    insta::assert_snapshot!("pattern_demo_160x50", l);
}

#[test]
fn other_views() {
    let mut a = demo();
    keys(&mut a, "F3 Down");
    insta::assert_snapshot!("arrangement_80x24", screen(&a, 80, 24).0);
    keys(&mut a, "F4 Down");
    insta::assert_snapshot!("instruments_80x24", screen(&a, 80, 24).0);
    keys(&mut a, "F1");
    insta::assert_snapshot!("help_160x50", screen(&a, 160, 50).0);
    keys(&mut a, "PageDown PageDown PageDown");
    insta::assert_snapshot!("help_scrolled_80x24", screen(&a, 80, 24).0);
    let mut b = App::new(Song::new_default(), None);
    keys(&mut b, "Esc z C-q");
    let (s, _) = screen(&b, 80, 24);
    assert!(
        s.contains("Save changes? y = save and quit, n = quit without saving, Esc = cancel"),
        "{s}"
    );
}
