//! The arrangement as heard: slice mutes silence one track at one order position, the loop range
//! plays from where play started and loops back to its first position.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::measure::*;
use common::*;
use ttrack::engine::{self, Command, Engine, EngineSong, PlayRange, rt};
use ttrack::model::*;

/// Level in dB (re full-scale sine) of the `hz` component of `x` (Goertzel over the window,
/// Hann-weighted).
fn tone_db(x: &[f32], hz: f64) -> f64 {
    let n = x.len();
    let w = std::f64::consts::TAU * hz / RATE as f64;
    let (mut re, mut im) = (0.0f64, 0.0f64);
    let mut norm = 0.0;
    for (i, &v) in x.iter().enumerate() {
        let win = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
        re += v as f64 * win * (w * i as f64).cos();
        im += v as f64 * win * (w * i as f64).sin();
        norm += win;
    }
    20.0 * ((2.0 * (re * re + im * im).sqrt() / norm).max(1e-12)).log10()
}

/// Two sine tracks, 440 Hz and 660 Hz (E-5 is 659.3 Hz), one 8-row pattern (1 s at 120 BPM,
/// LPB 4) played three times; track 1's slice at position 1 is muted.
#[test]
fn a_muted_slice_is_silent_and_only_there() {
    let mut s = song(2, 8, vec![synth(Waveform::Sine)]);
    s.bpm = 120;
    put(&mut s, 0, 0, "A-4", 1, Some(0x20));
    put(&mut s, 1, 0, "E-5", 1, Some(0x20));
    s.order = vec![0, 0, 0];
    s.arrangement.mutes = vec![0, 0b01];
    validate(&s).unwrap();
    let (l, _) = render(&s);
    let sec = frames(1.0);
    // Skip the first 20 ms of each entry (declick fades), measure 0.9 s.
    let win = |k: usize| &l[k * sec + frames(0.02)..k * sec + frames(0.92)];
    for k in 0..3 {
        let a = tone_db(win(k), 440.0);
        let e = tone_db(win(k), 659.255);
        assert!(e > -20.0, "entry {k}: the unmuted track plays ({e:.1} dB)");
        if k == 1 {
            assert!(a < -90.0, "entry 1: the muted slice is silent ({a:.1} dB)");
        } else {
            assert!(a > -20.0, "entry {k}: the track plays ({a:.1} dB)");
        }
    }
    // The muted track stops within the fade-out at the entry's start.
    let tail = &l[sec + frames(0.01)..sec + frames(0.5)];
    assert!(tone_db(tail, 440.0) < -90.0);
}

/// Four one-second patterns at 220, 330, 440 and 550 Hz; playing the loop range 1..=3 from
/// position 2 plays 2, 3, then 1, 2, 3, 1, …
#[test]
fn the_loop_range_plays_from_the_start_position_and_loops_to_its_first() {
    let mut s = song(1, 8, vec![synth(Waveform::Sine)]);
    s.bpm = 120;
    let notes = ["A-3", "E-4", "A-4", "C#5"];
    let hz = [220.0, 329.63, 440.0, 554.37];
    s.patterns = notes
        .iter()
        .map(|n| {
            let mut p = Pattern::new(8, &s.tracks);
            let c = p.note_mut(0, 0, 0);
            c.note = Note::parse(n).unwrap();
            c.instrument = 1;
            p
        })
        .collect();
    s.order = vec![0, 1, 2, 3];
    s.arrangement.loop_range = Some((1, 3));
    validate(&s).unwrap();
    let es = EngineSong::from_model(&s, RATE);
    let (mut h, link) = engine::link();
    let mut e = Engine::new(Box::new(es.clone()));
    e.connect(link);
    h.send(Command::Play {
        range: PlayRange {
            from: 1,
            to: 3,
            looping: true,
        },
        row: 0,
        bpm: es.bpm,
        tpl: es.tpl,
        at: Some(2),
    });
    let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
    let mut out = Vec::new();
    while out.len() < frames(7.0) {
        rt::process_block(&mut e, &mut l, &mut r);
        out.extend_from_slice(&l);
        h.pump();
    }
    // The master stage's look-ahead delays everything by a few frames; windows stay clear of it.
    let expect = [2usize, 3, 1, 2, 3, 1, 2];
    for (k, &pos) in expect.iter().enumerate() {
        let w = &out[k * frames(1.0) + frames(0.05)..k * frames(1.0) + frames(0.95)];
        let f = pitch_zero_crossings(w, RATE);
        assert!(
            (f - hz[pos]).abs() < 1.0,
            "second {k}: expected position {pos} ({} Hz), heard {f:.1} Hz",
            hz[pos]
        );
    }
}

/// The mixed demo (inserts, sends, reverb, delay, master chain) with Bass and Arp in a group.
fn grouped_demo() -> Song {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-mix.ttrk");
    let mut s = ttrack::format::load_song(&path).unwrap();
    let mut g = ttrack::model::mix::Group::new("Low");
    g.volume_db = -1.5;
    g.pan = 0.1;
    s.groups.push(g);
    s.tracks[3].group = Some(0);
    s.tracks[5].group = Some(0);
    validate(&s).unwrap();
    s
}

/// Largest sample difference between two stereo renders, in dB re full scale (and the lengths
/// must agree).
fn difference_db(a: &(Vec<f32>, Vec<f32>), b: &(Vec<f32>, Vec<f32>)) -> f64 {
    assert_eq!(a.0.len(), b.0.len(), "the renders differ in length");
    let d =
        a.0.iter()
            .zip(&b.0)
            .chain(a.1.iter().zip(&b.1))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
    20.0 * (d.max(1e-12) as f64).log10()
}

/// Freezing the bass (compressor insert, in a group) and the arp (pan, both sends, in a group)
/// changes the render by less than −80 dB; unfreezing gives back the song as it was.
#[test]
fn a_frozen_track_sounds_as_before_and_unfreezes_to_the_same_song() {
    use ttrack::render::freeze::{freeze, unfreeze};
    let s = grouped_demo();
    let before = render(&s);
    let mut frozen = s.clone();
    for t in [3, 5] {
        frozen = freeze(&frozen, t, RATE).unwrap();
        let f = frozen.tracks[t].frozen.as_ref().unwrap();
        assert_eq!(f.starts.len(), s.order.len());
        assert_eq!(f.starts[0], Some(0));
        assert!(
            frozen
                .patterns
                .iter()
                .all(|p| !p.tracks[t].notes.iter().any(|c| c.note != Note::Empty))
        );
    }
    validate(&frozen).unwrap();
    let after = render(&frozen);
    let d = difference_db(&before, &after);
    assert!(d <= -80.0, "frozen render differs by {d:.1} dB");
    // The test can fail: without the audio the track is missing.
    let mut silent = frozen.clone();
    silent.tracks[3].frozen = None;
    assert!(difference_db(&before, &render(&silent)) > -40.0);

    let thawed = unfreeze(&unfreeze(&frozen, 5).unwrap(), 3).unwrap();
    assert_eq!(thawed, s);

    // Both file formats keep the frozen tracks: audio, starts and hidden cells.
    let dir = tempfile::tempdir().unwrap();
    for name in ["f.ttrk", "f.ttrk.toml"] {
        let p = dir.path().join(name);
        ttrack::format::save_song(&frozen, &p).unwrap();
        let back = ttrack::format::load_song(&p).unwrap();
        for t in [3, 5] {
            let (a, b) = (
                frozen.tracks[t].frozen.as_ref().unwrap(),
                back.tracks[t].frozen.as_ref().unwrap(),
            );
            assert_eq!(a.audio.data, b.audio.data, "{name}: track {t}'s audio");
            assert_eq!(a.audio.rate, b.audio.rate);
            assert_eq!(a.starts, b.starts, "{name}");
            assert_eq!(a.cells, b.cells, "{name}");
        }
        assert_eq!(back.patterns, frozen.patterns, "{name}");
        assert_eq!(
            unfreeze(&unfreeze(&back, 5).unwrap(), 3).unwrap().patterns,
            s.patterns
        );
    }
    assert!(dir.path().join("f.samples/frozen-04-Bass.wav").exists());
}

/// Live, from the middle of the song: a frozen track started at order position 2 (row 0 or 8)
/// plays its audio from where the song reaches that point, sample for sample. (Compared alone,
/// against the track's own whole-song render: started mid-song, an unfrozen track cannot have
/// the notes still ringing and the compressor state that the frozen audio holds.)
#[test]
fn a_frozen_track_plays_from_any_position() {
    use ttrack::render::freeze::{freeze, solo_song};
    let s = grouped_demo();
    let t = 3;
    let frozen = solo_song(&freeze(&s, t, RATE).unwrap(), t);
    let whole = render(&solo_song(&s, t));
    let start = frozen.tracks[t].frozen.as_ref().unwrap().starts[2].unwrap() as usize;
    let row_frames = frames(s.row_seconds());
    let es = EngineSong::from_model(&frozen, RATE);
    for row in [0u16, 8] {
        let (mut h, link) = engine::link();
        let mut e = Engine::new(Box::new(es.clone()));
        e.connect(link);
        h.send(Command::Play {
            range: PlayRange {
                from: 0,
                to: frozen.order.len() - 1,
                looping: false,
            },
            row,
            bpm: es.bpm,
            tpl: es.tpl,
            at: Some(2),
        });
        let (mut l, mut r) = (vec![0.0; 128], vec![0.0; 128]);
        let mut out = Vec::new();
        while out.len() < frames(4.0) {
            rt::process_block(&mut e, &mut l, &mut r);
            out.extend_from_slice(&l);
            h.pump();
        }
        let from = start + row as usize * row_frames;
        let want = &whole.0[from..from + out.len()];
        let d = out
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let d = 20.0 * (d.max(1e-12) as f64).log10();
        assert!(d <= -80.0, "from row {row}: differs by {d:.1} dB");
        assert!(rms_db(&out) > -40.0, "the track plays");
    }
}

/// Order edits after freezing: moved, repeated and deleted entries take the frozen track's audio
/// with them, so each position plays what that position played when frozen, sample for sample,
/// and unfreezing still gives the notes back. (Changing an entry's pattern and cloning are key
/// tests in `ui_keys.rs`.)
#[test]
fn a_frozen_track_follows_order_edits() {
    use ttrack::model::arrange::Entry;
    use ttrack::render::freeze::{freeze, solo_song, unfreeze};
    let s = grouped_demo();
    let t = 3;
    let frozen = solo_song(&freeze(&s, t, RATE).unwrap(), t);
    let e = frozen.entries();
    assert_eq!(e.len(), 6);
    // New order: old positions 3, 0, 1, 1 (again), 2 and 5; old position 4 is gone.
    let mut edited = frozen.clone();
    let from = [3usize, 0, 1, 1, 2, 5];
    edited.set_entries(from.iter().map(|&k| e[k].clone()).collect::<Vec<Entry>>());
    let f = edited.tracks[t].frozen.as_ref().unwrap();
    let old = &frozen.tracks[t].frozen.as_ref().unwrap().starts;
    assert_eq!(
        f.starts,
        from.iter().map(|&k| old[k]).collect::<Vec<_>>(),
        "the starts follow the entries"
    );
    let (a, b) = (render(&frozen), render(&edited));
    let a_starts = engine::order_starts(&EngineSong::from_model(&frozen, RATE), RATE);
    let b_starts = engine::order_starts(&EngineSong::from_model(&edited, RATE), RATE);
    let len = frames(2.0);
    let mut playing = 0;
    for (p, &k) in from.iter().enumerate() {
        let (x, y) = (b_starts[p].unwrap() as usize, a_starts[k].unwrap() as usize);
        let d = b.0[x..x + len]
            .iter()
            .zip(&a.0[y..y + len])
            .map(|(u, v)| (u - v).abs())
            .fold(0.0f32, f32::max);
        let d = 20.0 * (d.max(1e-12) as f64).log10();
        assert!(d <= -80.0, "position {p} (was {k}): differs by {d:.1} dB");
        playing += usize::from(rms_db(&b.0[x..x + len]) > -40.0);
    }
    assert!(playing >= 4, "only {playing} positions play the track");
    // The test can fail: the audio of old position 0 is not that of old position 3.
    let (x, y) = (a_starts[0].unwrap() as usize, a_starts[3].unwrap() as usize);
    let d = a.0[x..x + len]
        .iter()
        .zip(&a.0[y..y + len])
        .map(|(u, v)| (u - v).abs())
        .fold(0.0f32, f32::max);
    assert!(d > 0.01, "positions 0 and 3 sound alike");
    // Unfreezing after the edits gives the track's notes back in every pattern.
    let thawed = unfreeze(&edited, t).unwrap();
    for (p, q) in thawed.patterns.iter().zip(&s.patterns) {
        assert_eq!(p.tracks[t], q.tracks[t]);
    }
}

/// From the matrix, a selection render plays the loop range (or the section under the cursor)
/// at the tempo in force there: here positions 1 and 2, a second each at 330 and 440 Hz.
#[test]
fn the_matrix_renders_the_loop_range_or_the_section() {
    let mut s = song(1, 8, vec![synth(Waveform::Sine)]);
    s.bpm = 120;
    let notes = ["A-3", "E-4", "A-4", "C#5"];
    s.patterns = notes
        .iter()
        .map(|n| {
            let mut p = Pattern::new(8, &s.tracks);
            let c = p.note_mut(0, 0, 0);
            c.note = Note::parse(n).unwrap();
            c.instrument = 1;
            p
        })
        .collect();
    s.order = vec![0, 1, 2, 3];
    // Tempo 120 → 60 at position 1: the range starts at half speed (2 s per entry).
    *s.patterns[0].effect_mut(0, 7, 0) = EffectCell::new('F', 0x3C);
    s.arrangement.loop_range = Some((1, 2));
    let mut app = ttrack::ui::App::new(s, None);
    app.handle_key(ttrack::ui::keymap::KeyChord::parse("F3").unwrap());
    let part = app.order_range_song();
    assert_eq!(part.order, vec![1, 2]);
    assert_eq!(part.bpm, 60);
    let (l, _) = render(&part);
    for (k, hz) in [(0usize, 329.63), (1, 440.0)] {
        let w = &l[k * frames(2.0) + frames(0.1)..k * frames(2.0) + frames(1.9)];
        let f = pitch_zero_crossings(w, RATE);
        assert!((f - hz).abs() < 1.0, "entry {k}: {f:.1} Hz, want {hz}");
    }
    assert!(
        l.len() < frames(4.6),
        "only the range (and its tail): {} frames",
        l.len()
    );
    // Without a loop range: the section under the cursor.
    app.song.arrangement.loop_range = None;
    app.song.arrangement.sections = vec![ttrack::model::arrange::Section {
        start: 2,
        name: "B".into(),
        colour: 0,
    }];
    app.order_cursor = 3;
    assert_eq!(app.order_range_song().order, vec![2, 3]);
}
