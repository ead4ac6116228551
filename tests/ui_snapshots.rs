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

/// The demo song with a mix: inserts, sends, a muted and a soloed track, the master chain on.
fn mixed_demo() -> App {
    use ttrack::model::mix::{Compressor, Eq, Insert};
    let mut a = demo();
    let s = &mut a.song;
    let mut eq = Eq::default();
    eq.bands[0].on = true;
    eq.bands[0].freq_hz = 40.0;
    eq.bands[2].on = true;
    eq.bands[2].gain_db = 3.5;
    s.tracks[0].inserts = vec![Insert::Eq(eq), Insert::Compressor(Compressor::default())];
    s.tracks[0].sends = [-12.0, -96.0];
    s.tracks[1].mute = true;
    s.tracks[3].solo = true;
    s.tracks[3].volume_db = -3.5;
    s.tracks[4].sends = [-6.0, -18.5];
    s.tracks[5].pan = -0.35;
    s.mixer.master.compressor.on = true;
    s.mixer.master.limiter.on = true;
    s.mixer.master.limiter.ceiling_db = -1.0;
    s.mixer.delay.mute = true;
    a
}

/// Known meter values: strip i peaks at -3·(i+1) dB left, 1 dB lower right, RMS 9 dB below.
fn known_meters() -> ttrack::engine::mixer::Meters {
    use ttrack::engine::mixer::{Meters, STRIP_DELAY, STRIP_MASTER, STRIP_REVERB};
    let amp = |db: f32| 10f32.powf(db / 20.0);
    let mut m = Meters::default();
    for (k, i) in [0, 1, 2, 3, 4, 5, 6, STRIP_REVERB, STRIP_DELAY, STRIP_MASTER]
        .into_iter()
        .enumerate()
    {
        let pk = -3.0 * (k as f32 + 1.0);
        m.strips[i].peak = [amp(pk), amp(pk - 1.0)];
        m.strips[i].rms = [amp(pk - 9.0), amp(pk - 10.0)];
    }
    // Silence on the muted snare.
    m.strips[1] = Default::default();
    m.strips[0].reduction_db = 4.5;
    m.strips[STRIP_MASTER].reduction_db = 2.0;
    m.limiter_db = 0.7;
    m
}

#[test]
fn mixer_view_strips_meters_and_scrolling() {
    let mut a = mixed_demo();
    a.feed_meters(&known_meters());
    keys(&mut a, "F5");
    let (s, buf) = screen(&a, 80, 24);
    for want in [
        "01 Kick",
        "MUTE",
        "SOLO",
        "pk    -3.0",
        "rms  -12.0",
        "1 EQ    on",
        "2 Comp  on",
        "GR    -4.5",
        "rev  -12.0",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
    // The cursor strip's name is drawn reversed.
    assert!(buf[(0, 3)].modifier.contains(Modifier::REVERSED), "{s}");
    insta::assert_snapshot!("mixer_80x24", s);
    // Every strip fits at 160 columns, master included.
    let (l, _) = screen(&a, 160, 50);
    for want in ["Reverb", "Delay", "Master", "C GR  -2.0", "L GR  -0.7"] {
        assert!(l.contains(want), "{want:?} missing:\n{l}");
    }
    insta::assert_snapshot!("mixer_160x50", l);
    // At 80 columns the master is off screen until the cursor gets there.
    assert!(!s.contains("Master"), "{s}");
    keys(&mut a, "End Down Down");
    let (s, _) = screen(&a, 80, 24);
    assert!(s.contains("Master") && s.contains("L GR  -0.7"), "{s}");
    insta::assert_snapshot!("mixer_master_80x24", s);
}

#[test]
fn mixer_detail_panels() {
    let mut a = mixed_demo();
    a.feed_meters(&known_meters());
    // Kick, insert 1 (EQ): Down × 4 reaches the first insert row.
    keys(&mut a, "F5 Down Down Down Down Enter Right Right Down Down");
    let (s, _) = screen(&a, 80, 24);
    assert!(s.contains("Kick insert 1: EQ (on)"), "{s}");
    assert!(s.contains("+3.5 dB") && s.contains("40 Hz"), "{s}");
    insta::assert_snapshot!("mixer_detail_eq_80x24", s);
    insta::assert_snapshot!("mixer_detail_eq_160x50", screen(&a, 160, 50).0);
    // Master limiter.
    keys(&mut a, "Enter End Down Down Down Enter Down");
    let (s, _) = screen(&a, 80, 24);
    assert!(s.contains("Master: limiter (on)"), "{s}");
    assert!(
        s.contains("-1.0 dBTP") && s.contains("gain reduction 0.7 dB"),
        "{s}"
    );
    insta::assert_snapshot!("mixer_detail_limiter_80x24", s);
}

#[test]
fn help_lists_the_mixer_keys_from_the_command_table() {
    let mut a = App::new(Song::new_default(), None);
    keys(&mut a, "F5 F1");
    let (s, _) = screen(&a, 120, 250);
    let mixer = s.find("[mixer]").expect("no [mixer] section in the help");
    let section = &s[mixer..];
    for want in [
        "F5             mixer",
        "+ = PageUp     raise the value",
        "S-PageUp S-Up  raise the value a little",
        "m              mute / unmute the track or bus return",
        "i              add an EQ insert to the track",
        "Enter          open / close the detail panel of the effect under the cursor",
    ] {
        assert!(
            s.contains(want) && (want.starts_with("F5") || section.contains(want)),
            "{want:?} missing from the help:\n{s}"
        );
    }
}

#[test]
fn mixer_draws_at_any_size_without_panicking() {
    let mut a = mixed_demo();
    a.feed_meters(&known_meters());
    keys(&mut a, "F5");
    for detail in [false, true] {
        if detail {
            keys(&mut a, "Down Down Down Down Enter");
            assert!(a.mix.detail.is_some());
        }
        for (w, h) in [
            (1, 1),
            (5, 3),
            (11, 5),
            (20, 8),
            (40, 12),
            (79, 23),
            (81, 25),
            (250, 80),
        ] {
            let (s, _) = screen(&a, w, h);
            assert_eq!(s.lines().count(), h as usize);
        }
    }
}

/// Types `text` into a popup, one key per character.
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let k = if c == ' ' {
            "Space".to_string()
        } else {
            c.to_string()
        };
        app.handle_key(KeyChord::parse(&k).unwrap());
    }
}

/// The pattern matrix: sections, slice mutes, a loop range, clone, section moves and copies, each
/// one undo step; drawn at 80×24 and 160×50; saved and loaded in both formats.
#[test]
fn pattern_matrix_edits_round_trip_and_undo() {
    let mut a = demo();
    let original = a.song.clone();
    keys(&mut a, "F3 s");
    type_text(&mut a, "Intro");
    keys(&mut a, "Enter Down Down s");
    type_text(&mut a, "Verse A");
    keys(&mut a, "Enter k");
    // Mute track 2 at position 2, track 4 at position 3.
    keys(&mut a, "Right m Down Right Right m");
    keys(&mut a, "l");
    let s = &a.song;
    assert_eq!(s.arrangement.sections.len(), 2);
    assert_eq!(s.arrangement.sections[1].name, "Verse A");
    assert_eq!(s.arrangement.sections[1].start, 2);
    assert_eq!(s.arrangement.sections[1].colour, 2);
    assert!(s.slice_muted(2, 1) && s.slice_muted(3, 3));
    assert!(!s.slice_muted(2, 3) && !s.slice_muted(3, 1));
    assert_eq!(s.arrangement.loop_range, Some((2, 5)));
    insta::assert_snapshot!("matrix_80x24", screen(&a, 80, 24).0);
    insta::assert_snapshot!("matrix_160x50", screen(&a, 160, 50).0);

    // Save and load in both formats.
    let dir = tempfile::tempdir().unwrap();
    for name in ["m.ttrk", "m.ttrk.toml"] {
        let p = dir.path().join(name);
        ttrack::format::save_song(&a.song, &p).unwrap();
        let back = ttrack::format::load_song(&p).unwrap();
        assert_eq!(back.arrangement, a.song.arrangement, "{name}");
        assert_eq!(back.order, a.song.order, "{name}");
    }

    // Move the verse before the intro: its entries, mutes and name travel.
    keys(&mut a, "C-Up");
    assert_eq!(a.song.order, vec![2, 3, 2, 4, 0, 1]);
    assert_eq!(a.song.arrangement.sections[0].name, "Verse A");
    assert_eq!(a.song.arrangement.sections[1].start, 4);
    assert!(a.song.slice_muted(0, 1) && a.song.slice_muted(1, 3));
    assert_eq!(a.order_cursor, 1);
    // Copy it: the order grows by the section's four entries, right after it.
    keys(&mut a, "C-d");
    assert_eq!(a.song.order, vec![2, 3, 2, 4, 2, 3, 2, 4, 0, 1]);
    assert_eq!(a.song.arrangement.sections.len(), 3);
    assert!(a.song.slice_muted(4, 1));
    // Clone the entry under the cursor: a new pattern holding the same cells.
    let patterns = a.song.patterns.len();
    let i = a.order_cursor;
    let cloned_from = a.song.order[i] as usize;
    keys(&mut a, "c");
    assert_eq!(a.song.patterns.len(), patterns + 1);
    assert_eq!(a.song.order[i + 1] as usize, patterns);
    assert_eq!(a.song.patterns[patterns], a.song.patterns[cloned_from]);
    // Delete a section with its entries.
    keys(&mut a, "C-Delete");
    assert!(a.song.order.len() < 11);
    // Everything undoes back to the song as loaded.
    for _ in 0..30 {
        keys(&mut a, "C-z");
    }
    assert_eq!(a.song, original);
}

/// Groups from the keyboard: tracks put into a group, the group's strip in the mixer (fader,
/// mute), the group folded into one column of the pattern view; all undoable.
#[test]
fn groups_in_the_mixer_and_folded_in_the_pattern_view() {
    let mut a = demo();
    let original = a.song.clone();
    // Bass (track 4) and Pad (track 5) into one new group.
    keys(&mut a, "Tab Tab Tab A-g Tab A-g");
    assert_eq!(a.song.groups.len(), 1);
    assert_eq!(a.song.tracks[3].group, Some(0));
    assert_eq!(a.song.tracks[4].group, Some(0));
    assert_eq!(a.song.groups[0].name, "Bass grp");
    // The mixer shows the group's strip after the tracks: raise its fader, mute it.
    keys(&mut a, "F5 End Left Left Left + + m");
    assert_eq!(a.mix_strip(), ttrack::ui::mixer::Strip::Group(0));
    assert_eq!(a.song.groups[0].volume_db, 1.0);
    assert!(a.song.groups[0].mute);
    insta::assert_snapshot!("mixer_group_160x50", screen(&a, 160, 50).0);
    // Fold it in the pattern view: one column stands for both tracks.
    keys(&mut a, "F2 A-z");
    assert!(a.song.groups[0].folded);
    assert_eq!(a.cursor.track, 3);
    let (text, _) = screen(&a, 160, 50);
    assert!(text.contains("▸Bass grp (2)"), "{text}");
    assert!(!text.contains("05 Pad"), "{text}");
    insta::assert_snapshot!("pattern_folded_160x50", text);
    // Moving right skips the folded track.
    keys(&mut a, "Tab");
    assert_eq!(a.cursor.track, 5);
    for _ in 0..10 {
        keys(&mut a, "C-z");
    }
    assert_eq!(a.song, original);
}

/// The devices panel (F6 fills it from the event loop): MIDI inputs to choose and the recording
/// settings; Enter asks for the port under the cursor.
#[test]
fn devices_panel_lists_inputs_and_settings() {
    use ttrack::ui::app::Popup;
    use ttrack::ui::record::DevicesPanel;
    let mut a = demo();
    keys(&mut a, "A-q A-q A-m A-c A-c");
    a.popups.push(Popup::Devices(DevicesPanel {
        ports: vec![
            "keys:midi_out".into(),
            "a2j:Keystation [20] (capture)".into(),
        ],
        why_none: None,
        cursor: 0,
    }));
    insta::assert_snapshot!("devices_80x24", screen(&a, 80, 24).0);
    keys(&mut a, "Down Enter");
    assert_eq!(
        a.midi_request.as_deref(),
        Some("a2j:Keystation [20] (capture)")
    );
    assert!(a.popups.is_empty());
}
