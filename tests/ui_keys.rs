//! The app driven by keys, without a terminal: note entry, hex entry, steps, undo/redo, rows,
//! dirty mark, quit confirmation, arrangement edits.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use ttrack::model::{EffectCell, Note, NoteCell, Song};
use ttrack::ui::App;
use ttrack::ui::app::{Field, View};
use ttrack::ui::keymap::KeyChord;

fn app() -> App {
    App::new(Song::new_default(), None)
}

/// Presses keys written as chords separated by spaces (`"Esc z s C-z"`).
fn keys(app: &mut App, keys: &str) {
    for k in keys.split(' ').filter(|k| !k.is_empty()) {
        let chord = KeyChord::parse(k).unwrap_or_else(|| panic!("bad key {k}"));
        app.handle_key(chord);
    }
}

fn note(app: &App, row: usize) -> NoteCell {
    app.song.patterns[0].note(0, row, 0)
}

#[test]
fn piano_keys_write_notes_only_in_edit_mode_and_step_down() {
    let mut a = app();
    keys(&mut a, "z");
    assert_eq!(
        note(&a, 0),
        NoteCell::EMPTY,
        "wrote a note with edit mode off"
    );
    assert!(!a.dirty);
    keys(&mut a, "Esc z s q i");
    assert_eq!(note(&a, 0).note, Note::parse("C-4").unwrap());
    assert_eq!(note(&a, 0).instrument, 1);
    assert_eq!(note(&a, 1).note, Note::parse("C#4").unwrap());
    assert_eq!(note(&a, 2).note, Note::parse("C-5").unwrap());
    assert_eq!(note(&a, 3).note, Note::parse("C-6").unwrap());
    assert_eq!(a.cursor.row, 4);
    assert!(a.dirty);
}

#[test]
fn octave_step_and_note_off() {
    let mut a = app();
    keys(&mut a, "Esc / / > > n a");
    assert_eq!(a.octave, 2);
    assert_eq!(a.step, 3);
    assert_eq!(note(&a, 0).note, Note::parse("A-2").unwrap());
    assert_eq!(note(&a, 3).note, Note::Off);
    assert_eq!(a.cursor.row, 6);
}

#[test]
fn hex_entry_in_instrument_volume_and_effect_fields() {
    let mut a = app();
    keys(&mut a, "Esc Right 0 3 Up Right Right 2 0");
    let c = note(&a, 0);
    assert_eq!((c.instrument, c.volume), (0x03, 0x20), "{c:?}");
    // Volume is capped at 40.
    keys(&mut a, "Up 7 f");
    assert_eq!(note(&a, 0).volume, 0x40);
    // Effect column: command then two digits.
    keys(&mut a, "Up Right Right a 0 f");
    assert_eq!(
        a.song.patterns[0].effect(0, 0, 0),
        EffectCell::new('A', 0x0F)
    );
    assert_eq!(a.cursor.row, 1);
    assert!(matches!(a.cursor.field, Field::Effect { col: 0, f: 1 }));
}

#[test]
fn undo_and_redo_every_edit() {
    let mut a = app();
    keys(&mut a, "Esc z x c");
    assert_eq!(a.history.undo_len(), 3);
    keys(&mut a, "C-z C-z");
    assert_eq!(note(&a, 0).note, Note::parse("C-4").unwrap());
    assert_eq!(note(&a, 1), NoteCell::EMPTY);
    keys(&mut a, "C-y");
    assert_eq!(note(&a, 1).note, Note::parse("D-4").unwrap());
    // 150 edits can all be undone.
    let mut b = app();
    keys(&mut b, "Esc");
    for _ in 0..150 {
        keys(&mut b, "z");
    }
    for _ in 0..150 {
        keys(&mut b, "C-z");
    }
    assert!(
        b.song.patterns[0].tracks[0]
            .notes
            .iter()
            .all(|c| c.is_empty())
    );
}

#[test]
fn insert_and_delete_rows_shift_the_track() {
    let mut a = app();
    keys(&mut a, "Esc z x c Home Insert");
    assert_eq!(note(&a, 0), NoteCell::EMPTY);
    assert_eq!(note(&a, 1).note, Note::parse("C-4").unwrap());
    assert_eq!(note(&a, 3).note, Note::parse("E-4").unwrap());
    keys(&mut a, "Backspace Backspace");
    assert_eq!(note(&a, 0).note, Note::parse("D-4").unwrap());
    keys(&mut a, "C-z C-z C-z");
    assert_eq!(note(&a, 0).note, Note::parse("C-4").unwrap());
}

#[test]
fn quit_asks_when_dirty() {
    let mut a = app();
    keys(&mut a, "C-q");
    assert!(a.quit, "clean song should quit at once");
    let mut a = app();
    keys(&mut a, "Esc z C-q");
    assert!(!a.quit);
    assert_eq!(a.popups.len(), 1);
    keys(&mut a, "Esc");
    assert!(a.popups.is_empty() && !a.quit);
    keys(&mut a, "C-q n");
    assert!(a.quit);
}

#[test]
fn save_writes_the_file_and_clears_the_dirty_mark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.ttrk");
    let mut a = App::new(Song::new_default(), Some(path.clone()));
    keys(&mut a, "Esc z C-q y");
    assert!(a.quit && !a.dirty, "{}", a.message);
    let back = ttrack::format::load_song(&path).unwrap();
    assert_eq!(
        back.patterns[0].note(0, 0, 0).note,
        Note::parse("C-4").unwrap()
    );
}

#[test]
fn arrangement_edits_the_order_list() {
    let mut a = app();
    keys(&mut a, "F3 Insert Insert Down Delete");
    assert_eq!(a.view, View::Arrangement);
    assert_eq!(a.song.order, vec![0, 0]);
    let mut s = Song::new_default();
    s.patterns.push(s.patterns[0].clone());
    let mut a = App::new(s, None);
    keys(&mut a, "F3 +");
    assert_eq!(a.song.order, vec![1]);
    keys(&mut a, "C-z");
    assert_eq!(a.song.order, vec![0]);
    keys(&mut a, "+ Right e");
    assert_eq!((a.view, a.pattern), (View::Pattern, 1));
    assert_eq!(
        a.cursor.track, 1,
        "the pattern cursor goes to the matrix's track"
    );
}

#[test]
fn unknown_keys_say_so() {
    let mut a = app();
    keys(&mut a, "F12");
    assert!(a.message.contains("F12"), "{}", a.message);
}

#[test]
fn block_copy_paste_cut_transpose_interpolate() {
    let mut a = app();
    keys(&mut a, "Esc z x c v Home S-Down S-Down C-c");
    assert_eq!(a.block(), (0, 2, 0, 0));
    keys(&mut a, "Tab Home C-v");
    let p = &a.song.patterns[0];
    assert_eq!(p.note(1, 0, 0).note, Note::parse("C-4").unwrap());
    assert_eq!(p.note(1, 2, 0).note, Note::parse("E-4").unwrap());
    assert_eq!(
        p.note(1, 3, 0),
        NoteCell::EMPTY,
        "pasted more than was copied"
    );
    // Transpose the pasted block up an octave, then one semitone down.
    keys(&mut a, "S-Down S-Down A-PageUp A-Down");
    let p = &a.song.patterns[0];
    assert_eq!(p.note(1, 0, 0).note, Note::parse("B-4").unwrap());
    assert_eq!(p.note(1, 2, 0).note, Note::parse("D#5").unwrap());
    assert_eq!(
        p.note(0, 0, 0).note,
        Note::parse("C-4").unwrap(),
        "track 0 changed"
    );
    // Cut clears the block and is one undo step.
    keys(&mut a, "C-x");
    assert!(
        a.song.patterns[0].tracks[1].notes[..3]
            .iter()
            .all(|c| c.is_empty())
    );
    keys(&mut a, "C-z");
    assert_eq!(
        a.song.patterns[0].note(1, 0, 0).note,
        Note::parse("B-4").unwrap()
    );
}

#[test]
fn interpolate_volumes_and_effects() {
    let mut a = app();
    // Volumes 00 at row 0 and 40 at row 4; effect A00 .. A08.
    keys(&mut a, "Esc Right Right Right 0 0 Down Down Down 4 0");
    keys(&mut a, "Home Right Right a 0 0 End");
    let rows = a.rows();
    assert_eq!(a.cursor.row, rows - 1);
    keys(&mut a, "Home Down Down Down Down Left a 0 8");
    keys(&mut a, "Home S-Down S-Down S-Down S-Down A-i");
    let p = &a.song.patterns[0];
    let vols: Vec<u8> = (0..5).map(|r| p.note(0, r, 0).volume).collect();
    assert_eq!(vols, vec![0x00, 0x10, 0x20, 0x30, 0x40]);
    let fx: Vec<u8> = (0..5).map(|r| p.effect(0, r, 0).param).collect();
    assert_eq!(fx, vec![0, 2, 4, 6, 8]);
}

#[test]
fn patterns_tracks_and_columns() {
    let mut a = app();
    keys(&mut a, "Esc z C-d");
    assert_eq!((a.song.patterns.len(), a.pattern), (2, 1));
    assert_eq!(
        a.song.patterns[1].note(0, 0, 0).note,
        Note::parse("C-4").unwrap()
    );
    keys(&mut a, "C-n A-] A-]");
    assert_eq!(a.song.patterns[2].rows, 96);
    keys(&mut a, "A-[ A-= A-= A-- A-t A-n A-e A-d");
    assert_eq!(a.song.patterns[2].rows, 81);
    assert_eq!(a.song.tracks.len(), 9);
    let t0 = &a.song.tracks[0];
    assert_eq!(
        (t0.note_columns, t0.effect_columns, t0.show_delay),
        (2, 2, true)
    );
    ttrack::model::validate(&a.song).unwrap();
    keys(&mut a, "A-T");
    assert_eq!(a.song.tracks.len(), 8);
    for _ in 0..13 {
        keys(&mut a, "C-z");
    }
    assert_eq!(a.song.patterns.len(), 1);
    assert_eq!(a.song.tracks[0].note_columns, 1);
    ttrack::model::validate(&a.song).unwrap();
}

#[test]
fn arrangement_duplicate_and_move() {
    let mut s = Song::new_default();
    s.patterns.push(s.patterns[0].clone());
    s.order = vec![0, 1];
    let mut a = App::new(s, None);
    keys(&mut a, "F3 d");
    assert_eq!(a.song.order, vec![0, 0, 1], "{}", a.message);
    keys(&mut a, "Down S-Up S-Up");
    assert_eq!(a.song.order, vec![1, 0, 0]);
    assert_eq!(a.order_cursor, 0);
}

#[test]
fn autosave_writes_a_recovery_file_that_can_be_restored() {
    use std::time::{Duration, Instant};
    use ttrack::ui::app::{AUTOSAVE_SECONDS, Popup, autosave_path, recovery_for};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("song.ttrk");
    let mut a = App::new(Song::new_default(), Some(path.clone()));
    let t0 = Instant::now();
    assert!(!a.autosave_tick(t0), "autosaved a clean song");
    keys(&mut a, "Esc z x");
    assert!(
        !a.autosave_tick(t0 + Duration::from_secs(5)),
        "autosaved before 30 s"
    );
    assert!(a.autosave_tick(t0 + Duration::from_secs(AUTOSAVE_SECONDS + 1)));
    a.wait_autosave();
    let auto = autosave_path(&path);
    assert!(auto.exists());
    assert!(
        !a.autosave_tick(t0 + Duration::from_secs(2 * AUTOSAVE_SECONDS + 2)),
        "nothing new to save"
    );
    // The song file does not exist: the recovery file counts as newer.
    assert_eq!(recovery_for(&path), Some(auto.clone()));
    let mut b = App::new(Song::new_default(), Some(path.clone()));
    b.popups.push(Popup::Recover(auto.clone()));
    keys(&mut b, "r");
    assert_eq!(
        b.song.patterns[0].note(0, 1, 0).note,
        Note::parse("D-4").unwrap()
    );
    assert!(b.dirty);
    // Saving removes the recovery file.
    keys(&mut b, "C-s");
    assert!(!auto.exists(), "{}", b.message);
    assert_eq!(recovery_for(&path), None);
}

#[test]
fn instruments_are_created_edited_renamed_deleted_and_loaded() {
    use ttrack::model::InstrumentKind;
    let dir = tempfile::tempdir().unwrap();
    let kick = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/kick.wav");
    std::fs::create_dir(dir.path().join("kit")).unwrap();
    std::fs::copy(&kick, dir.path().join("kit/boom.wav")).unwrap();
    let mut a = App::new(Song::new_default(), Some(dir.path().join("song.ttrk.toml")));
    keys(&mut a, "F4 Down n");
    let synth = a.song.instrument(2).expect("new synth in slot 02").clone();
    keys(&mut a, "Right Right");
    assert!((a.song.instrument(2).unwrap().volume - (synth.volume + 0.1)).abs() < 1e-6);
    // Holding the key is one undo step: one undo goes back to where it started.
    let steps = a.history.undo_len();
    keys(&mut a, "C-z");
    assert_eq!(a.song.instrument(2).unwrap().volume, synth.volume);
    keys(&mut a, "C-y");
    assert!((a.song.instrument(2).unwrap().volume - (synth.volume + 0.1)).abs() < 1e-6);
    assert_eq!(a.history.undo_len(), steps);
    // Cutoff (parameter 11) goes up by half an octave per step.
    for _ in 0..11 {
        keys(&mut a, "Tab");
    }
    keys(&mut a, "Right");
    let InstrumentKind::Synth(s) = &a.song.instrument(2).unwrap().kind else {
        panic!()
    };
    assert!(
        (s.cutoff_hz / 3000.0 - 2f32.sqrt()).abs() < 1e-3,
        "cutoff {}",
        s.cutoff_hz
    );
    // Rename.
    keys(&mut a, "r BackTab");
    for _ in 0..10 {
        keys(&mut a, "Backspace");
    }
    for c in ["B", "a", "s", "s"] {
        keys(&mut a, c);
    }
    keys(&mut a, "Enter");
    assert_eq!(a.song.instrument(2).unwrap().name, "Bass");
    // Delete, and undo brings it back.
    keys(&mut a, "Delete");
    assert!(a.song.instrument(2).is_none());
    keys(&mut a, "C-z");
    assert_eq!(a.song.instrument(2).unwrap().name, "Bass");
    // Load a WAV through the picker: the song's folder lists `..` and `kit/`.
    keys(&mut a, "Up l");
    keys(&mut a, "Down Enter");
    keys(&mut a, "Down Enter");
    let inst = a.song.instrument(1).unwrap();
    let InstrumentKind::Sampler(sm) = &inst.kind else {
        panic!("slot 01 is not a sampler: {}", a.message)
    };
    assert_eq!(inst.name, "boom");
    assert_eq!(sm.sample.source.as_deref(), Some("kit/boom.wav"));
    assert_eq!(sm.sample.frames, 21_600);
    // The song saves as text with the sample referenced, and loads again.
    keys(&mut a, "C-s");
    let back = ttrack::format::load_song(&dir.path().join("song.ttrk.toml")).unwrap();
    assert_eq!(back.instrument(2).unwrap().name, "Bass");
    assert_eq!(back.instrument(1).unwrap().name, "boom");
}

#[test]
fn save_as_open_and_render_from_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = App::new(Song::new_default(), Some(dir.path().join("a.ttrk")));
    keys(&mut a, "Esc z");
    // Save as text: the prompt starts with the current name; replace it.
    keys(&mut a, "A-s");
    for _ in 0..200 {
        keys(&mut a, "Backspace");
    }
    let target = dir.path().join("b.ttrk.toml");
    for ch in target.to_str().unwrap().chars() {
        keys(&mut a, &ch.to_string());
    }
    keys(&mut a, "Enter");
    assert!(!a.dirty, "{}", a.message);
    assert_eq!(a.path.as_deref(), Some(target.as_path()));
    assert!(std::fs::read_to_string(&target).unwrap().contains("C-4 01"));
    // Render next to the song; the worker reports in the message line.
    keys(&mut a, "A-r Enter");
    a.wait_render();
    assert!(a.message.starts_with("rendered"), "{}", a.message);
    let wav = dir.path().join("b.wav");
    let r = hound::WavReader::open(&wav).unwrap();
    assert_eq!(
        (r.spec().sample_rate, r.spec().bits_per_sample),
        (48_000, 24)
    );
    // Open the demo song.
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-kit.ttrk");
    keys(&mut a, "C-o");
    for _ in 0..1000 {
        keys(&mut a, "Backspace");
    }
    for ch in demo.to_str().unwrap().chars() {
        keys(&mut a, &ch.to_string());
    }
    keys(&mut a, "Enter");
    assert_eq!(a.song.title, "Late Bus Home", "{}", a.message);
    assert!(!a.dirty);
}

// ---- The mixer view (F5) ----

use ttrack::model::mix::{DelayUnit, Insert, OFF_DB, ranges};
use ttrack::ui::mixer::{Detail, FxTarget, MixSnapshot, Row, Strip};

fn mixer_app() -> App {
    let mut a = app();
    keys(&mut a, "F5");
    assert_eq!(a.view, View::Mixer);
    a
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

/// Undoes every step, then checks the mix is exactly `want`.
fn undo_all(a: &mut App, want: &MixSnapshot) {
    while a.history.undo_len() > 0 {
        keys(a, "C-z");
    }
    assert_eq!(
        &MixSnapshot::of(&a.song),
        want,
        "undo did not restore the mix"
    );
}

#[test]
fn mixer_cursor_moves_between_strips_and_rows() {
    let mut a = mixer_app();
    // New song: 8 tracks, then reverb, delay, master.
    assert_eq!(Strip::count(&a.song), 11);
    keys(&mut a, "Right Right Down");
    assert_eq!((a.mix.strip, a.mix_row()), (2, Row::Pan));
    keys(&mut a, "Left Left Left Left Up Up");
    assert_eq!((a.mix.strip, a.mix_row()), (0, Row::Volume));
    for _ in 0..12 {
        keys(&mut a, "Down");
    }
    assert_eq!(
        a.mix_row(),
        Row::Insert(3),
        "rows stop at the last insert slot"
    );
    // The reverb bus has three rows: the cursor row is kept inside them.
    keys(&mut a, "End Left Left");
    assert_eq!(a.mix_strip(), Strip::Reverb);
    assert_eq!(a.mix_row(), Row::BusEffect);
    keys(&mut a, "End");
    assert_eq!(a.mix_strip(), Strip::Master);
    keys(&mut a, "Home");
    assert_eq!(a.mix_strip(), Strip::Track(0));
    assert!(!a.dirty, "moving changed the song");
}

#[test]
fn mixer_volume_pan_and_sends_change_undo_and_redo() {
    let mut a = mixer_app();
    let original = MixSnapshot::of(&a.song);
    keys(&mut a, "+ + + S-Up");
    assert!(
        close(a.song.tracks[0].volume_db, 1.6),
        "{}",
        a.song.tracks[0].volume_db
    );
    assert_eq!(a.message, "Track 1: volume 1.6 dB");
    assert!(a.dirty);
    // Nudges of one parameter in quick succession are one undo step.
    assert_eq!(a.history.undo_len(), 1);
    keys(&mut a, "Down - - PageDown");
    assert!(close(a.song.tracks[0].pan, -0.15));
    assert_eq!(a.message, "Track 1: pan L15");
    keys(&mut a, "Down +");
    assert_eq!(a.song.tracks[0].sends[0], -20.0, "a send starts at -20 dB");
    keys(&mut a, "- S-Down");
    assert!(close(a.song.tracks[0].sends[0], -20.6));
    keys(&mut a, "Down = -");
    assert!(close(a.song.tracks[0].sends[1], -20.5));
    assert_eq!(a.message, "Track 1: delay send -20.5 dB");
    assert_eq!(a.history.undo_len(), 4);
    // 0 resets: the delay send goes off, the pan back to centre (each one undo step).
    keys(&mut a, "0 Up Up 0");
    assert_eq!(a.song.tracks[0].sends[1], OFF_DB);
    assert_eq!(a.song.tracks[0].pan, 0.0);
    assert_eq!(a.message, "Track 1: pan C");
    keys(&mut a, "C-z C-z Down Down");
    assert_eq!(a.history.undo_len(), 4);
    let edited = MixSnapshot::of(&a.song);
    // Undo restores the exact values, redo brings the exact edits back.
    keys(&mut a, "C-z");
    assert_eq!(a.song.tracks[0].sends[1], OFF_DB);
    undo_all(&mut a, &original);
    for _ in 0..4 {
        keys(&mut a, "C-y");
    }
    assert_eq!(MixSnapshot::of(&a.song), edited);
    // Other tracks were not touched.
    assert_eq!(MixSnapshot::of(&a.song).tracks[1], original.tracks[1]);
}

#[test]
fn mixer_values_clamp_at_their_ranges() {
    let mut a = mixer_app();
    for _ in 0..300 {
        keys(&mut a, "+");
    }
    assert_eq!(a.song.tracks[0].volume_db, ranges::VOLUME_DB.1);
    assert!(a.message.ends_with("(limit)"), "{}", a.message);
    for _ in 0..600 {
        keys(&mut a, "-");
    }
    assert_eq!(a.song.tracks[0].volume_db, ranges::VOLUME_DB.0);
    keys(&mut a, "Down");
    for _ in 0..100 {
        keys(&mut a, "-");
    }
    assert_eq!(a.song.tracks[0].pan, -1.0);
    keys(&mut a, "Down");
    for _ in 0..200 {
        keys(&mut a, "+");
    }
    assert_eq!(a.song.tracks[0].sends[0], ranges::SEND_DB.1);
    for _ in 0..300 {
        keys(&mut a, "-");
    }
    assert_eq!(
        a.song.tracks[0].sends[0], OFF_DB,
        "a send lowered far enough is off"
    );
    // Detail parameters clamp too: the EQ's top band frequency and the compressor's ratio.
    keys(&mut a, "i Enter Right Right Right Right Right Right Down");
    for _ in 0..40 {
        keys(&mut a, "+");
    }
    let Insert::Eq(eq) = a.song.tracks[0].inserts[0] else {
        panic!()
    };
    assert_eq!(
        eq.bands[5].freq_hz,
        ranges::EQ_FREQ.1,
        "{} {:?}",
        a.message,
        a.mix.detail
    );
    keys(&mut a, "Enter c Enter Down Down");
    for _ in 0..60 {
        keys(&mut a, "+");
    }
    let Insert::Compressor(c) = a.song.tracks[0].inserts[1] else {
        panic!()
    };
    assert_eq!(c.ratio, ranges::RATIO.1);
    ttrack::model::validate(&a.song).unwrap();
}

#[test]
fn mixer_mute_solo_and_inserts() {
    let mut a = mixer_app();
    let original = MixSnapshot::of(&a.song);
    keys(&mut a, "Right m s");
    assert!(a.song.tracks[1].mute && a.song.tracks[1].solo);
    assert_eq!(a.message, "Track 2: solo");
    keys(&mut a, "m");
    assert!(!a.song.tracks[1].mute);
    // i adds an EQ, c a compressor; the cursor goes to the new insert.
    keys(&mut a, "i c");
    let names: Vec<&str> = a.song.tracks[1].inserts.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["EQ", "Comp"]);
    assert_eq!(a.mix_row(), Row::Insert(1));
    // o switches the compressor off; Delete removes the EQ.
    keys(&mut a, "o");
    assert!(!a.song.tracks[1].inserts[1].is_on());
    keys(&mut a, "Up Delete");
    let names: Vec<&str> = a.song.tracks[1].inserts.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["Comp"]);
    keys(&mut a, "C-z");
    assert_eq!(a.song.tracks[1].inserts.len(), 2);
    // Four slots at most.
    keys(&mut a, "i i i");
    assert_eq!(a.song.tracks[1].inserts.len(), 4);
    assert!(a.message.contains("full"), "{}", a.message);
    // Buses mute their return; the master has no mute; buses take no inserts.
    keys(&mut a, "End Left Left m");
    assert!(a.song.mixer.reverb.mute);
    keys(&mut a, "i");
    assert!(a.message.contains("inserts go on tracks"), "{}", a.message);
    keys(&mut a, "End m");
    assert!(a.message.contains("no mute"), "{}", a.message);
    ttrack::model::validate(&a.song).unwrap();
    undo_all(&mut a, &original);
}

#[test]
fn mixer_detail_panel_edits_every_effect() {
    let mut a = mixer_app();
    let original = MixSnapshot::of(&a.song);
    // Undoing the insert whose panel is open closes the panel.
    keys(&mut a, "i Enter C-z");
    assert_eq!(a.mix.detail, None);
    assert!(a.song.tracks[0].inserts.is_empty());
    // EQ insert: peak 1 (band 2) frequency up a third of an octave, gain up 0.5 + 0.1 dB, Q down.
    keys(&mut a, "i Enter");
    assert_eq!(
        a.mix.detail,
        Some(Detail {
            target: FxTarget::Insert {
                chan: ttrack::ui::mixer::Chan::Track(0),
                slot: 0,
            },
            param: 0
        })
    );
    keys(&mut a, "Right Right + Down + Down + S-Up Down -");
    let Insert::Eq(eq) = a.song.tracks[0].inserts[0] else {
        panic!()
    };
    let b = eq.bands[2];
    assert!(b.on);
    assert!(
        close(b.freq_hz, 500.0 * 2f32.powf(1.0 / 3.0)),
        "{}",
        b.freq_hz
    );
    assert!(close(b.gain_db, 0.6), "{}", b.gain_db);
    assert!(close(b.q, 0.8), "{}", b.q);
    assert_eq!(a.message, "Track 1: EQ peak 1 Q 0.80");
    // The high-pass band has no gain.
    keys(&mut a, "Left Left Up +");
    assert!(a.message.contains("no gain"), "{}", a.message);
    keys(&mut a, "Enter");
    assert_eq!(a.mix.detail, None);
    // Compressor insert: threshold down 0.5 dB, ratio up, attack x1.25, make-up up.
    keys(&mut a, "c Enter Down - Down + Down Down + Down Down +");
    let Insert::Compressor(c) = a.song.tracks[0].inserts[1] else {
        panic!()
    };
    assert_eq!((c.threshold_db, c.ratio, c.makeup_db), (-18.5, 3.5, 0.5));
    assert!(close(c.attack_ms, 12.5));
    // Reverb bus: size, decay, damping, pre-delay, width.
    keys(
        &mut a,
        "Enter End Left Left Down Down Enter + Down + Down - Down - Down -",
    );
    let r = a.song.mixer.reverb.reverb;
    assert!(close(r.size, 0.65) && close(r.decay_s, 2.25) && close(r.damping, 0.35));
    assert!(close(r.predelay_ms, 12.0) && close(r.width, 0.95));
    // Delay bus: time, unit, feedback, high cut, ping-pong.
    keys(&mut a, "Enter Right Enter + Down + Down + Down - Down +");
    let d = a.song.mixer.delay.delay;
    assert_eq!(
        (d.time, d.unit, d.ping_pong),
        (4.0, DelayUnit::Beats, false)
    );
    assert!(close(d.feedback, 0.4), "{d:?}");
    assert!(
        close(d.high_cut_hz / (6000.0 / 2f32.powf(1.0 / 3.0)), 1.0),
        "{d:?}"
    );
    // Master limiter: on/off, ceiling, release.
    keys(&mut a, "Enter End Down Down Down Enter Down S-Down Down +");
    let l = a.song.mixer.master.limiter;
    assert!(close(l.ceiling_db, -0.4) && close(l.release_ms, 100.0));
    // 0 puts a parameter back to its default.
    keys(&mut a, "0");
    assert_eq!(a.song.mixer.master.limiter.release_ms, 80.0);
    assert_eq!(a.message, "Master: limiter release 80 ms");
    keys(&mut a, "o");
    assert!(
        a.song.mixer.master.limiter.on,
        "o switches the master limiter on"
    );
    ttrack::model::validate(&a.song).unwrap();
    undo_all(&mut a, &original);
}

#[test]
fn mixer_edits_reach_the_engine_as_set_mix() {
    use ttrack::engine::{self, Command, Engine, EngineSong, rt};
    use ttrack::ui::edit::Edit;
    let mut a = mixer_app();
    let (handle, link) = engine::link();
    let mut e = Engine::new(Box::new(EngineSong::from_model(&a.song, 48_000)));
    e.connect(link);
    a.engine = Some(handle);
    keys(&mut a, "Space");
    keys(&mut a, "- - i Down Down + Right m");
    let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
    for _ in 0..4 {
        rt::process_block(&mut e, &mut l, &mut r);
        a.pump();
    }
    let h = a.engine.as_ref().unwrap();
    assert_eq!(h.status().commands_refused, 0);
    assert_eq!(h.boxes_in_flight(), 0, "every SetMix came back as garbage");
    assert!(h.status().playing, "the mix edits stopped playback");
    // The engine's mix equals the app's.
    let want = EngineSong::from_model(&a.song, 48_000);
    for (got, want) in e.song().tracks.iter().zip(&want.tracks) {
        assert_eq!(got.gain, want.gain);
        assert_eq!(got.balance, want.balance);
        assert_eq!(got.send_gain, want.send_gain);
        assert_eq!(got.inserts, want.inserts);
    }
    assert_eq!(e.song().tracks[1].gain, 0.0, "track 2 is muted");
    assert!(e.song().tracks[0].inserts[0].is_some());
    // A mix edit is mirrored as SetMix, never as a whole-song replace.
    let before = MixSnapshot::of(&a.song);
    let mut after = before.clone();
    after.tracks[0].volume_db = -6.0;
    let edit = Edit::Mix {
        before: Box::new(before),
        after: Box::new(after),
    };
    let mut out = Vec::new();
    edit.mirror(&a.song, 48_000, &mut out);
    assert!(matches!(out.as_slice(), [Command::SetMix(_)]), "{out:?}");
}

#[test]
fn mixer_meters_follow_the_engine() {
    use ttrack::engine::mixer::STRIP_MASTER;
    use ttrack::engine::{self, Engine, EngineSong, rt};
    use ttrack::ui::mixer::METER_FLOOR_DB;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-synth.ttrk");
    let mut a = App::new(ttrack::format::load_song(&path).unwrap(), None);
    let (handle, link) = engine::link();
    let mut e = Engine::new(Box::new(EngineSong::from_model(&a.song, 48_000)));
    e.connect(link);
    a.engine = Some(handle);
    keys(&mut a, "F5 Space");
    let (mut l, mut r) = (vec![0.0; 480], vec![0.0; 480]);
    let mut redraws = 0;
    for _ in 0..100 {
        rt::process_block(&mut e, &mut l, &mut r);
        redraws += a.pump() as usize;
    }
    let master = a.mix.meters.strips[STRIP_MASTER];
    assert!(
        master.peak_db[0] > -30.0,
        "master peak {:?}",
        master.peak_db
    );
    assert!(master.rms_db[0] > METER_FLOOR_DB && master.rms_db[0] < master.peak_db[0]);
    assert!(master.hold_db[0] >= master.peak_db[0]);
    assert!(
        redraws > 10,
        "the mixer asked for {redraws} redraws in one second"
    );
}

/// Alt-W renders the block selection: its rows of the current pattern, only its tracks, at the
/// tempo in force there.
#[test]
fn render_selection_plays_only_the_selected_rows_and_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-synth.ttrk");
    let song = ttrack::format::load_song(&demo).unwrap();
    let path = dir.path().join("neon.ttrk");
    let mut a = App::new(song.clone(), Some(path));
    // Track 4 (bass), rows 0x10..=0x1F of the first pattern.
    keys(&mut a, "Tab Tab Tab");
    for _ in 0..16 {
        keys(&mut a, "Down");
    }
    for _ in 0..15 {
        keys(&mut a, "S-Down");
    }
    let sel = a.selection_song();
    assert_eq!(sel.order.len(), 1);
    let p = &sel.patterns[sel.order[0] as usize];
    assert_eq!(p.rows, 16);
    assert_eq!(p.tracks[3].notes[0], song.patterns[0].tracks[3].notes[16]);
    let muted: Vec<bool> = sel.tracks.iter().map(|t| t.mute).collect();
    assert_eq!(muted, [true, true, true, false, true, true, true]);
    assert_eq!((sel.bpm, sel.tpl), (song.bpm, song.tpl));
    // Through the keys: the prompt offers NAME-selection.wav; the worker writes 16 rows and a tail.
    keys(&mut a, "A-w Enter");
    a.wait_render();
    assert!(a.message.starts_with("rendered"), "{}", a.message);
    let wav = dir.path().join("neon-selection.wav");
    let r = hound::WavReader::open(&wav).unwrap();
    let rows_frames = 16.0 * 60.0 / (song.bpm as f64 * song.lpb as f64) * 48_000.0;
    let frames = r.duration() as f64;
    assert!(
        frames >= rows_frames && frames < rows_frames + 48_000.0 * 3.0,
        "{frames} frames for 16 rows ({rows_frames})"
    );
}

/// Alt-B bounces the track under the cursor (or the selection) into a new sample instrument that
/// holds exactly what a render of it gives; undo removes it.
#[test]
fn bounce_makes_a_sample_instrument_of_the_rendered_track() {
    use ttrack::model::InstrumentKind;
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-synth.ttrk");
    let mut song = ttrack::format::load_song(&demo).unwrap();
    song.order.truncate(1);
    let mut a = App::new(song.clone(), None);
    keys(&mut a, "Tab Tab Tab");
    let free = a
        .song
        .instruments
        .iter()
        .position(|i| i.is_none())
        .unwrap_or(a.song.instruments.len());
    keys(&mut a, "A-b");
    assert!(a.message.starts_with("bounced Bass"), "{}", a.message);
    let inst = a
        .song
        .instrument(free as u8 + 1)
        .expect("the bounce's slot");
    let InstrumentKind::Sampler(s) = &inst.kind else {
        panic!("not a sampler")
    };
    let (l, r) = ttrack::render::render_to_vec(
        &a.track_song(),
        ttrack::render::RenderOptions {
            rate: a.rate,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.sample.channels, 2);
    assert_eq!(s.sample.rate, a.rate);
    assert_eq!(s.sample.frames as usize, l.len());
    assert!(s.sample.data.iter().step_by(2).zip(&l).all(|(x, y)| x == y));
    assert!(
        s.sample
            .data
            .iter()
            .skip(1)
            .step_by(2)
            .zip(&r)
            .all(|(x, y)| x == y)
    );
    assert!(common_peak(&l) > 0.05, "the bass track is silent");
    keys(&mut a, "C-z");
    assert!(a.song.instrument(free as u8 + 1).is_none());
}

fn common_peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn cloning_a_pattern_clones_a_frozen_tracks_hidden_notes() {
    // Track 1 has a note in pattern 0 and is frozen; cloning the pattern in the matrix gives the
    // clone the frozen audio of the original (same start) and a copy of the hidden notes, so
    // unfreezing restores the note in both patterns.
    let mut s = Song::new_default();
    s.patterns[0].note_mut(0, 0, 0).note = Note::parse("C-4").unwrap();
    s.patterns[0].note_mut(0, 0, 0).instrument = 1;
    let s = ttrack::render::freeze::freeze(&s, 0, 48_000).unwrap();
    assert_eq!(s.patterns[0].note(0, 0, 0), NoteCell::EMPTY);
    let mut a = App::new(s, None);
    keys(&mut a, "F3 c");
    assert_eq!(a.song.order, vec![0, 1], "{}", a.message);
    let f = a.song.tracks[0].frozen.as_ref().unwrap();
    assert_eq!(f.starts, vec![Some(0), Some(0)]);
    assert_eq!(f.cells.len(), 2);
    ttrack::model::validate(&a.song).unwrap();
    let thawed = ttrack::render::freeze::unfreeze(&a.song, 0).unwrap();
    for p in 0..2 {
        assert_eq!(
            thawed.patterns[p].note(0, 0, 0).note,
            Note::parse("C-4").unwrap(),
            "pattern {p}"
        );
    }
}

#[test]
fn changing_an_entrys_pattern_gives_a_frozen_track_that_patterns_audio() {
    // Order [0, 1] with a note in each pattern, track 1 frozen: the positions start at different
    // frames of the frozen audio. Changing position 0 to pattern 1 makes it play what pattern 1
    // plays at position 1; undo puts the old start back.
    let mut s = Song::new_default();
    s.patterns.push(s.patterns[0].clone());
    s.order = vec![0, 1];
    for p in 0..2 {
        s.patterns[p].note_mut(0, 0, 0).note = Note::parse("C-4").unwrap();
        s.patterns[p].note_mut(0, 0, 0).instrument = 1;
    }
    let s = ttrack::render::freeze::freeze(&s, 0, 48_000).unwrap();
    let before = s.tracks[0].frozen.as_ref().unwrap().starts.clone();
    assert!(before[0].is_some() && before[1].is_some() && before[0] != before[1]);
    let mut a = App::new(s, None);
    keys(&mut a, "F3 +");
    assert_eq!(a.song.order, vec![1, 1], "{}", a.message);
    let starts = &a.song.tracks[0].frozen.as_ref().unwrap().starts;
    assert_eq!(starts, &vec![before[1], before[1]]);
    keys(&mut a, "C-z");
    assert_eq!(a.song.tracks[0].frozen.as_ref().unwrap().starts, before);
}
