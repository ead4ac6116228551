//! MIDI recording into patterns through the app's recorder: MIDI reports as the engine makes
//! them (song position per event) become cells, one undo step per pass; the take is kept and
//! can be quantized again; takes survive save and load in both formats.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use ttrack::engine::{MidiMessage, MidiReport, SongPos};
use ttrack::model::*;
use ttrack::ui::App;
use ttrack::ui::keymap::KeyChord;

const ROW: f64 = 6000.0;

/// A report for `msg` played at `rows` (row and fraction) of pattern 0.
fn report(msg: MidiMessage, rows: f64) -> MidiReport {
    let row = rows.floor();
    let into = ((rows - row) * ROW).round() as u32;
    MidiReport {
        msg,
        frame: (rows * ROW) as u64,
        latency: 0,
        at: Some(SongPos {
            order: 0,
            pattern: 0,
            row: row as u16,
            delay: ((rows - row) * 256.0).round().min(255.0) as u8,
            frames_into_row: into,
            row_frames: ROW,
        }),
    }
}

fn on(key: u8, velocity: u8) -> MidiMessage {
    MidiMessage::NoteOn {
        channel: 0,
        key,
        velocity,
    }
}

fn off(key: u8) -> MidiMessage {
    MidiMessage::NoteOff {
        channel: 0,
        key,
        velocity: 0,
    }
}

fn recording_app() -> App {
    let mut a = App::new(Song::new_default(), None);
    a.edit_mode = true;
    a.playing = true;
    a.cursor.track = 2;
    a
}

fn key(app: &mut App, k: &str) {
    app.handle_key(KeyChord::parse(k).unwrap());
}

#[test]
fn a_pass_writes_notes_chords_velocities_and_offs_as_one_undo_step() {
    let mut a = recording_app();
    let before = a.song.clone();
    let played = [
        (on(60, 127), 4.25),
        (on(64, 64), 4.26),
        (off(60), 7.5),
        (off(64), 8.0),
        (
            MidiMessage::Sustain {
                channel: 0,
                down: true,
            },
            9.0,
        ),
        (on(67, 100), 10.125),
        (off(67), 11.0),
        (
            MidiMessage::Sustain {
                channel: 0,
                down: false,
            },
            14.0,
        ),
    ];
    for (m, at) in played {
        a.record_midi(&report(m, at));
    }
    a.playing = false;
    a.record_tick();
    let p = &a.song.patterns[0];
    let t = 2;
    assert_eq!(a.song.tracks[t].note_columns, 2, "the chord added a column");
    let c = p.note(t, 4, 0);
    assert_eq!(
        (c.note, c.instrument, c.volume, c.delay),
        (Note::from_midi(60).unwrap(), 1, 0x40, 64)
    );
    let c = p.note(t, 4, 1);
    assert_eq!(
        (c.note, c.volume, c.delay),
        (Note::from_midi(64).unwrap(), 0x20, 67)
    );
    assert_eq!(
        (p.note(t, 7, 0).note, p.note(t, 7, 0).delay),
        (Note::Off, 128)
    );
    assert_eq!(p.note(t, 8, 1).note, Note::Off);
    assert_eq!(
        (p.note(t, 10, 0).note, p.note(t, 10, 0).delay),
        (Note::from_midi(67).unwrap(), 32)
    );
    // The pedal held the release until it came up at row 14.
    assert_eq!(p.note(t, 11, 0).note, Note::Empty);
    assert_eq!(p.note(t, 14, 0).note, Note::Off);
    assert_eq!(a.song.takes.len(), 1);
    assert_eq!(a.song.takes[0].events.len(), 8);
    assert!(a.message.contains("3 notes"), "{}", a.message);
    // One undo step takes the whole pass back (cells, columns and the take).
    key(&mut a, "C-z");
    assert_eq!(a.song, before);
}

#[test]
fn quantizing_again_rewrites_the_take_in_one_step() {
    let mut a = recording_app();
    a.record_midi(&report(on(60, 127), 4.6));
    a.record_midi(&report(off(60), 6.2));
    a.playing = false;
    a.record_tick();
    let t = 2;
    assert_eq!(a.song.patterns[0].note(t, 4, 0).delay, 154);
    let exact = a.song.clone();
    // Off → 1 row: the note moves to row 5 without a delay value.
    key(&mut a, "A-q");
    assert_eq!(a.rec.quantize, 1);
    let p = &a.song.patterns[0];
    assert_eq!(p.note(t, 4, 0), NoteCell::EMPTY);
    assert_eq!(
        (p.note(t, 5, 0).note, p.note(t, 5, 0).delay),
        (Note::from_midi(60).unwrap(), 0)
    );
    assert_eq!(p.note(t, 6, 0).note, Note::Off);
    // → 2 rows: row 4, and the release on row 6.
    key(&mut a, "A-q");
    let p = &a.song.patterns[0];
    assert_eq!(p.note(t, 4, 0).note, Note::from_midi(60).unwrap());
    assert_eq!(p.note(t, 5, 0), NoteCell::EMPTY);
    assert_eq!(a.song.takes[0].quantize, 2);
    key(&mut a, "C-z");
    key(&mut a, "C-z");
    assert_eq!(a.song, exact);
}

#[test]
fn nothing_is_recorded_outside_edit_mode_or_when_stopped() {
    let mut a = recording_app();
    a.edit_mode = false;
    a.record_midi(&report(on(60, 127), 1.0));
    a.edit_mode = true;
    a.playing = false;
    a.record_midi(&report(on(60, 127), 1.0));
    assert!(a.song.takes.is_empty());
    assert_eq!(a.song, Song::new_default());
}

#[test]
fn takes_survive_both_file_formats() {
    let mut a = recording_app();
    a.record_midi(&report(on(61, 90), 2.333));
    a.record_midi(&report(
        MidiMessage::Sustain {
            channel: 0,
            down: true,
        },
        2.5,
    ));
    a.record_midi(&report(off(61), 3.1));
    a.record_midi(&report(
        MidiMessage::Sustain {
            channel: 0,
            down: false,
        },
        5.0,
    ));
    a.playing = false;
    a.record_tick();
    let dir = tempfile::tempdir().unwrap();
    for name in ["t.ttrk", "t.ttrk.toml"] {
        let path = dir.path().join(name);
        ttrack::format::save_song(&a.song, &path).unwrap();
        let back = ttrack::format::load_song(&path).unwrap();
        assert_eq!(back.takes, a.song.takes, "{name}");
        assert_eq!(back.patterns, a.song.patterns, "{name}");
    }
    let text = std::fs::read_to_string(dir.path().join("t.ttrk.toml")).unwrap();
    assert!(text.contains("00 00 2:21823 on C#4 90"), "{text}");
    assert!(text.contains("sustain on"), "{text}");
}

/// Two passes over the same rows are two takes; the takes panel picks one, comps the other into
/// selected rows, renames and removes takes, and undo covers picking and comping.
#[test]
fn takes_are_picked_comped_renamed_and_removed() {
    let mut a = recording_app();
    let pass = |a: &mut App, keys: [u8; 2]| {
        a.playing = true;
        a.record_midi(&report(on(keys[0], 127), 2.0));
        a.record_midi(&report(off(keys[0]), 3.0));
        a.record_midi(&report(on(keys[1], 127), 10.0));
        a.record_midi(&report(off(keys[1]), 11.0));
        a.playing = false;
        a.record_tick();
    };
    pass(&mut a, [60, 62]);
    pass(&mut a, [64, 65]);
    assert_eq!(a.song.takes.len(), 2);
    let t = 2;
    let note = |a: &App, row: usize| a.song.patterns[0].note(t, row, 0).note;
    let n = |k: u8| Note::from_midi(k).unwrap();
    assert_eq!(
        (note(&a, 2), note(&a, 10)),
        (n(64), n(65)),
        "the last pass is in the pattern"
    );
    // Pick take 1.
    key(&mut a, "A-k");
    key(&mut a, "Up");
    key(&mut a, "Enter");
    assert_eq!((note(&a, 2), note(&a, 10)), (n(60), n(62)));
    assert!(a.message.contains("picked Take 1"), "{}", a.message);
    key(&mut a, "Esc");
    let picked = a.song.clone();
    // Comp take 2 into rows 8..=12 only.
    a.cursor.row = 8;
    key(&mut a, "S-Down");
    key(&mut a, "S-Down");
    key(&mut a, "S-Down");
    key(&mut a, "S-Down");
    key(&mut a, "A-k");
    key(&mut a, "Enter");
    assert_eq!(
        (note(&a, 2), note(&a, 10)),
        (n(60), n(65)),
        "one take per row range"
    );
    assert_eq!(note(&a, 11), Note::Off);
    // Rename the take under the cursor, then remove it from the list.
    for k in ["r", "Backspace", "X", "Enter"] {
        key(&mut a, k);
    }
    assert_eq!(a.song.takes[1].name, "Take X");
    key(&mut a, "Delete");
    assert_eq!(a.song.takes.len(), 1);
    assert_eq!(note(&a, 10), n(65), "removing a take keeps its notes");
    key(&mut a, "Esc");
    // Undo: the removal, the rename, the comp.
    for _ in 0..3 {
        key(&mut a, "C-z");
    }
    assert_eq!(a.song, picked);
}
