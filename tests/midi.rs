//! Standard MIDI Files: export → import round trips, imports of real files (note counts and exact
//! timing), and malformed files that must give a clear error and no panic.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use std::path::{Path, PathBuf};
use ttrack::format::midi::{self, MidiError};
use ttrack::model::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/midi").join(name)
}

/// (file, notes it holds), from the files' own note-on events.
const CORPUS: [(&str, usize); 6] = [
    ("chuggachugga.mid", 1552),
    ("city_blues_redfarn.mid", 1844),
    ("flying_scotsman.mid", 2355),
    ("keep_on_rolling.mid", 6094),
    ("run_for_your_life.mid", 4667),
    ("tttheme2.mid", 4056),
];

#[test]
fn corpus_files_import_with_every_note_at_its_time() {
    for (name, count) in CORPUS {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let content = midi::read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(content.notes.len(), count, "{name}: notes read");
        let song = midi::import(&bytes, name, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        validate(&song).unwrap();
        let placed = midi::note_times(&song);
        assert_eq!(placed.len(), count, "{name}: notes in the song");
        // Every note starts within 1 ms of its time in the file (compared as sorted lists).
        let mut want: Vec<f64> = content.notes.iter().map(|n| n.start).collect();
        want.sort_by(f64::total_cmp);
        let mut got: Vec<f64> = placed.iter().map(|p| p.0).collect();
        got.sort_by(f64::total_cmp);
        let worst = want
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 0.001,
            "{name}: a note is {:.3} ms off its time",
            worst * 1000.0
        );
        // Pitched parts keep their keys (MIDI key − 12 = pitch value; drums map to the kit).
        let mut want_keys: Vec<u8> = content
            .notes
            .iter()
            .filter(|n| n.channel != 9)
            .map(|n| n.key - 12)
            .collect();
        let mut got_keys: Vec<u8> = Vec::new();
        for p in &song.patterns {
            for (t, tr) in song.tracks.iter().enumerate() {
                if tr.name.ends_with("drums") {
                    continue;
                }
                for r in 0..p.rows as usize {
                    for c in 0..tr.note_columns as usize {
                        if let Note::On(k) = p.note(t, r, c).note {
                            got_keys.push(k);
                        }
                    }
                }
            }
        }
        want_keys.sort();
        got_keys.sort();
        assert_eq!(want_keys, got_keys, "{name}: pitches");
    }
}

#[test]
fn an_imported_file_plays_at_once() {
    let bytes = std::fs::read(fixture("city_blues_redfarn.mid")).unwrap();
    let song = midi::import(&bytes, "blues", None).unwrap();
    assert!(
        song.instruments.iter().flatten().count() >= 2,
        "every part needs an instrument"
    );
    let (l, _) = ttrack::render::render_to_vec(
        &song,
        ttrack::render::RenderOptions {
            rate: 48_000,
            from: Some(0),
            to: Some(0),
        },
    )
    .unwrap();
    let db = common::measure::rms_db(&l);
    assert!(db > -40.0, "the first pattern renders at {db:.1} dBFS");
}

#[test]
fn quantized_import_puts_notes_on_the_grid() {
    let bytes = std::fs::read(fixture("chuggachugga.mid")).unwrap();
    let song = midi::import(&bytes, "q", Some(2)).unwrap();
    for p in &song.patterns {
        for (t, tr) in song.tracks.iter().enumerate() {
            for r in 0..p.rows as usize {
                for c in 0..tr.note_columns as usize {
                    let cell = p.note(t, r, c);
                    if matches!(cell.note, Note::On(_)) {
                        assert_eq!(cell.delay, 0);
                        assert_eq!(r % 2, 0, "a note on row {r}");
                    }
                }
            }
        }
    }
}

/// Notes of a song as (time, pitch, velocity) for comparison.
fn notes_of(song: &Song) -> Vec<(f64, u8, u8)> {
    let vel = |v: u8| {
        if v == NoteCell::NO_VOLUME {
            127
        } else {
            ((v.min(0x40) as u32 * 127 + 32) / 64).max(1) as u8
        }
    };
    let mut v: Vec<(f64, u8, u8)> = midi::note_times(song)
        .into_iter()
        .map(|(t, p, v)| (t, p, vel(v)))
        .collect();
    // Notes at the same time and pitch (kit pieces) compare in velocity order.
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    v
}

#[test]
fn export_then_import_gives_the_same_notes() {
    for name in ["demo-synth.ttrk", "demo-kit.ttrk"] {
        let song = ttrack::format::load_song(&root().join("songs").join(name)).unwrap();
        let bytes = midi::export(&song).unwrap();
        let back = midi::import(&bytes, name, None).unwrap();
        let (a, b) = (notes_of(&song), notes_of(&back));
        assert_eq!(a.len(), b.len(), "{name}: note count");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.0 - y.0).abs() <= 0.001 && x.1 == y.1 && x.2 == y.2,
                "{name}: {x:?} came back as {y:?}"
            );
        }
    }
}

#[test]
fn export_follows_tempo_changes_jumps_and_delays() {
    let mut s = common::song(1, 8, vec![common::synth(Waveform::Saw)]);
    s.bpm = 100;
    s.tracks[0].note_columns = 2;
    s.patterns = vec![Pattern::new(8, &s.tracks), Pattern::new(8, &s.tracks)];
    s.order = vec![0, 1];
    for (row, col, note, delay, vol) in [
        (0, 0, "C-4", 0, 0xFF),
        (0, 1, "E-4", 0x80, 0x20),
        (3, 0, "OFF", 0x40, 0xFF),
        (5, 0, "G-4", 0, 0x10),
    ] {
        let c = s.patterns[0].note_mut(0, row, col);
        c.note = Note::parse(note).unwrap();
        c.instrument = if note == "OFF" { 0 } else { 1 };
        c.delay = delay;
        c.volume = vol;
    }
    *s.patterns[0].effect_mut(0, 4, 0) = EffectCell::new('F', 150);
    *s.patterns[0].effect_mut(0, 6, 0) = EffectCell::new('D', 2); // break to row 2 of pattern 1
    let c = s.patterns[1].note_mut(0, 2, 0);
    c.note = Note::parse("A-4").unwrap();
    c.instrument = 1;
    let bytes = midi::export(&s).unwrap();
    let m = midi::read(&bytes).unwrap();
    let row100 = 60.0 / (100.0 * 4.0);
    let row150 = 60.0 / (150.0 * 4.0);
    let want = [
        (0.0, 60, 127),
        (0.5 * row100, 64, 64),
        (4.0 * row100 + row150, 67, 32),
        // Row 6 breaks to row 2 of pattern 1: it follows row 6 directly.
        (4.0 * row100 + 3.0 * row150, 69, 127),
    ];
    assert_eq!(m.notes.len(), want.len(), "{:?}", m.notes);
    for (n, w) in m.notes.iter().zip(want) {
        assert!(
            (n.start - w.0).abs() < 1e-6 && n.key == w.1 && n.vel == w.2,
            "{n:?}, want {w:?}"
        );
    }
    // The C-4 ends at the off (row 3 + 0x40/256), the E-4 at the end of the song.
    let c4 = m.notes.iter().find(|n| n.key == 60).unwrap();
    assert!(
        (c4.end - 3.25 * row100).abs() < 1e-6,
        "C-4 ends at {}",
        c4.end
    );
    assert_eq!(m.tempo.len(), 2, "{:?}", m.tempo);
    assert!((m.tempo[1].0 - 4.0 * row100).abs() < 1e-6 && (m.tempo[1].1 - 150.0).abs() < 1e-6);
}

fn expect_error(bytes: &[u8], what: &str) -> String {
    match midi::import(bytes, "bad", None) {
        Ok(_) => panic!("{what}: imported without an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_files_give_clear_errors() {
    let good = std::fs::read(fixture("chuggachugga.mid")).unwrap();
    // Cut at every length: an error or (cut inside the last track's tail) a shorter song, never
    // a panic.
    for n in (0..good.len()).step_by(7) {
        let _ = midi::import(&good[..n], "cut", None);
    }
    // midly reads what it can of a truncated file; a header alone holds no notes.
    let e = expect_error(&good[..10], "a header cut short");
    assert!(
        e.contains("not a valid Standard MIDI File") || e.contains("holds no notes"),
        "{e}"
    );
    let e = expect_error(b"RIFF\0\0\0\0WAVEfmt ", "a WAV file");
    assert!(e.contains("not a valid Standard MIDI File"), "{e}");
    // A track chunk announcing 2 GiB.
    let mut huge = good.clone();
    let at = 14 + 4; // first MTrk length
    huge[at..at + 4].copy_from_slice(&0x7FFF_FFF0u32.to_be_bytes());
    let e = expect_error(&huge, "an absurd chunk length");
    assert!(e.contains("not a valid Standard MIDI File"), "{e}");
    // Running status with no status byte before it.
    let mut rs = Vec::new();
    rs.extend_from_slice(b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk");
    let body = [0x00u8, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00];
    rs.extend_from_slice(&(body.len() as u32).to_be_bytes());
    rs.extend_from_slice(&body);
    let e = expect_error(&rs, "running status without a status");
    assert!(!e.is_empty());
    // A valid file without notes.
    let mut empty = Vec::new();
    empty.extend_from_slice(b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk\0\0\0\x04\0\xFF\x2F\0");
    assert!(matches!(
        midi::import(&empty, "e", None),
        Err(MidiError::NoNotes)
    ));
    // Every single-byte change of a small file: no panic.
    let small = midi::export(&common::song(1, 4, vec![common::synth(Waveform::Sine)])).unwrap();
    for i in 0..small.len() {
        for v in [0x00u8, 0x7F, 0x80, 0xFF] {
            let mut b = small.clone();
            b[i] = v;
            let _ = midi::import(&b, "flip", None);
        }
    }
}

#[test]
fn cli_converts_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let mid = dir.path().join("demo.mid");
    let back = dir.path().join("demo.ttrk.toml");
    let exe = env!("CARGO_BIN_EXE_ttrack");
    let o = std::process::Command::new(exe)
        .args(["convert"])
        .arg(root().join("songs/demo-synth.ttrk"))
        .arg(&mid)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&std::fs::read(&mid).unwrap()[..4], b"MThd");
    let o = std::process::Command::new(exe)
        .args(["convert"])
        .arg(&mid)
        .arg(&back)
        .args(["--quantize", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let song = ttrack::format::load_song(&back).unwrap();
    assert!(!midi::note_times(&song).is_empty());
    // A broken MIDI file: exit status 1, a sentence, nothing written.
    let bad = dir.path().join("bad.mid");
    std::fs::write(&bad, b"MThd\0\0\0\x06\0\x01").unwrap();
    let out = dir.path().join("bad.ttrk");
    let o = std::process::Command::new(exe)
        .args(["convert"])
        .arg(&bad)
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a valid Standard MIDI File"), "{err}");
    assert!(!out.exists());
}
