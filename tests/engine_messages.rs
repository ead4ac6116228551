//! The UI ↔ engine rings: edits, transport, auditions and swaps applied through an EngineHandle,
//! checked on the audio they produce.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::measure::*;
use common::*;
use ttrack::engine::{
    self, Command, Engine, EngineHandle, EngineSong, PlayRange, PlayableInstrument, rt,
};
use ttrack::model::*;

fn connected(s: &Song) -> (Engine, EngineHandle) {
    let (handle, link) = engine::link();
    let mut e = Engine::new(Box::new(EngineSong::from_model(s, RATE)));
    e.connect(link);
    (e, handle)
}

fn run(e: &mut Engine, h: &mut EngineHandle, frames: usize, block: usize) -> Vec<f32> {
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut out = Vec::new();
    while out.len() < frames {
        rt::process_block(e, &mut l, &mut r);
        out.extend_from_slice(&l);
        h.pump();
    }
    out.truncate(frames);
    out
}

#[test]
fn edits_sent_before_play_sound_like_the_edited_song() {
    let base = song(2, 16, vec![synth(Waveform::Saw), synth(Waveform::Sine)]);
    let mut edited = base.clone();
    put(&mut edited, 0, 0, "C-4", 1, None);
    put(&mut edited, 1, 4, "A-4", 2, Some(0x30));
    fx(&mut edited, 1, 5, "A02");
    let (want, _) = render(&edited);

    let (mut e, mut h) = connected(&base);
    for (t, row) in [(0usize, 0usize), (1, 4)] {
        h.send(Command::SetNote {
            pattern: 0,
            row: row as u16,
            track: t as u8,
            column: 0,
            cell: edited.patterns[0].note(t, row, 0),
        });
    }
    h.send(Command::SetEffect {
        pattern: 0,
        row: 5,
        track: 1,
        column: 0,
        cell: edited.patterns[0].effect(1, 5, 0),
    });
    let es = EngineSong::from_model(&base, RATE);
    h.send(Command::Play {
        range: PlayRange::song(&es),
        row: 0,
        bpm: es.bpm,
        tpl: es.tpl,
        at: None,
    });
    let m = h.mark();
    let got = run(&mut e, &mut h, want.len(), 256);
    assert_eq!(h.status().mark, m);
    assert_eq!(h.status().commands_refused, 0);
    assert_eq!(
        got, want,
        "live edits differ from rendering the edited song"
    );
}

#[test]
fn edits_during_playback_take_effect_at_the_next_row() {
    let mut s = song(1, 16, vec![synth(Waveform::Sine)]);
    put(&mut s, 0, 0, "A-4", 1, None);
    let (mut e, mut h) = connected(&s);
    let es = EngineSong::from_model(&s, RATE);
    h.send(Command::Play {
        range: PlayRange::song(&es),
        row: 0,
        bpm: es.bpm,
        tpl: es.tpl,
        at: None,
    });
    let mut out = run(&mut e, &mut h, 5760, 128); // row 0
    h.send(Command::SetNote {
        pattern: 0,
        row: 2,
        track: 0,
        column: 0,
        cell: NoteCell::note(Note::parse("C-5").unwrap(), 1),
    });
    out.extend(run(&mut e, &mut h, 4 * 5760, 128));
    let a4 = pitch_zero_crossings(&out[1000..5000], RATE);
    let c5 = pitch_zero_crossings(&out[2 * 5760 + 1000..2 * 5760 + 5000], RATE);
    assert!((a4 - 440.0).abs() < 0.5, "row 0: {a4:.2} Hz");
    assert!(
        (c5 - 523.25).abs() < 0.5,
        "row 2 after the edit: {c5:.2} Hz"
    );
}

#[test]
fn audition_plays_and_releases() {
    let s = song(1, 16, vec![synth(Waveform::Sine)]);
    let (mut e, mut h) = connected(&s);
    h.send(Command::NoteOn {
        tag: 7,
        track: 0,
        slot: 1,
        pitch: 57,
        volume: 0x40,
    });
    let on = run(&mut e, &mut h, 24_000, 512);
    let hz = pitch_zero_crossings(&on[2000..20_000], RATE);
    assert!((hz - 440.0).abs() < 0.5, "audition A-4 at {hz:.2} Hz");
    assert_eq!(h.status().active_voices, 1);
    h.send(Command::NoteOff { tag: 7 });
    let off = run(&mut e, &mut h, 24_000, 512);
    assert!(
        peak_db(&off[12_000..]) < -80.0,
        "still sounding after release"
    );
    // Unknown instrument: refused, counted, nothing plays.
    h.send(Command::NoteOn {
        tag: 8,
        track: 0,
        slot: 9,
        pitch: 57,
        volume: 0x40,
    });
    run(&mut e, &mut h, 1024, 512);
    assert_eq!(h.status().commands_refused, 1);
}

#[test]
fn swaps_return_the_old_objects_to_the_ui() {
    let mut s = song(1, 16, vec![synth(Waveform::Sine)]);
    put(&mut s, 0, 0, "A-4", 1, None);
    let (mut e, mut h) = connected(&s);
    let es = EngineSong::from_model(&s, RATE);
    h.send(Command::Play {
        range: PlayRange {
            looping: true,
            ..PlayRange::song(&es)
        },
        row: 0,
        bpm: es.bpm,
        tpl: es.tpl,
        at: None,
    });
    run(&mut e, &mut h, 4096, 256);
    // A new pattern with a different note, a new instrument (saw) and a whole new song.
    let mut p = s.patterns[0].clone();
    p.note_mut(0, 0, 0).note = Note::parse("E-4").unwrap();
    h.send(Command::ReplacePattern {
        index: 0,
        pattern: Box::new(p),
    });
    let saw = PlayableInstrument::from_model(&synth(Waveform::Saw), RATE as f32);
    h.send(Command::ReplaceInstrument {
        slot: 1,
        instrument: Some(Box::new(saw)),
    });
    let mut s2 = s.clone();
    s2.add_track(Track::new("extra"));
    h.send(Command::ReplaceSong(Box::new(EngineSong::from_model(
        &s2, RATE,
    ))));
    h.send(Command::ReplacePattern {
        index: 9,
        pattern: Box::new(s.patterns[0].clone()),
    }); // refused
    assert_eq!(h.boxes_in_flight(), 4);
    let m = h.mark();
    run(&mut e, &mut h, 4096, 256);
    assert_eq!(h.status().mark, m);
    assert_eq!(h.boxes_in_flight(), 0, "garbage did not come back");
    assert_eq!(h.status().commands_refused, 1);
    assert!(h.status().playing);
}

#[test]
fn a_full_command_ring_backs_up_in_order() {
    let s = song(1, 16, vec![synth(Waveform::Sine)]);
    let (mut e, mut h) = connected(&s);
    for i in 0..10_000u32 {
        h.send(Command::SetNote {
            pattern: 0,
            row: (i % 16) as u16,
            track: 0,
            column: 0,
            cell: NoteCell {
                volume: (i % 0x40) as u8,
                ..NoteCell::EMPTY
            },
        });
    }
    assert!(h.backlog_len() > 0, "10000 commands fit a 4096 ring?");
    let m = h.mark();
    // 1024 commands per block: about ten blocks to drain.
    for _ in 0..20 {
        run(&mut e, &mut h, 64, 64);
    }
    assert_eq!(h.backlog_len(), 0);
    assert_eq!(h.status().mark, m);
    assert_eq!(h.status().commands_applied, 10_001);
    // The last write to each row wins: row r got value i = 9984 + r.
    let es = e.song();
    for r in 0..16 {
        assert_eq!(
            es.patterns[0].note(0, r, 0).volume,
            ((9984 + r) % 0x40) as u8
        );
    }
}
