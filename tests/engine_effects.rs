//! Each effect's audible result, measured on rendered audio. 125 BPM, LPB 4, TPL 6 at 48 kHz:
//! a row is 5760 frames and a tick 960 frames.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::measure::*;
use common::*;
use ttrack::model::*;

const ROW: usize = 5760;
const TICK: usize = 960;

/// Semitones from A-4 measured by zero crossings in the middle of tick `k` (of the whole song).
fn tick_semitones(x: &[f32], k: usize) -> f64 {
    let a = k * TICK + 120;
    semitones_from_a4(pitch_zero_crossings(&x[a..a + TICK - 240], RATE))
}

fn sine_song(rows: u32) -> Song {
    song(1, rows, vec![synth(Waveform::Sine)])
}

#[test]
fn arpeggio_steps_through_the_chord_each_tick() {
    let mut s = sine_song(8);
    put(&mut s, 0, 0, "A-4", 1, None);
    fx(&mut s, 0, 0, "037");
    fx(&mut s, 0, 1, "037");
    let (l, _) = render(&s);
    let got: Vec<f64> = (0..12).map(|k| tick_semitones(&l, k)).collect();
    for (k, g) in got.iter().enumerate() {
        let want = [0.0, 3.0, 7.0][k % 6 % 3];
        assert!(
            (g - want).abs() < 0.1,
            "tick {k}: {g:.2} semitones, want {want} (all: {got:.2?})"
        );
    }
}

#[test]
fn portamento_up_and_down_slide_a_sixteenth_semitone_per_unit_per_tick() {
    let mut s = sine_song(8);
    put(&mut s, 0, 0, "A-4", 1, None);
    fx(&mut s, 0, 0, "110"); // +1 semitone per tick on ticks 1..5
    fx(&mut s, 0, 2, "208"); // −0.5 semitone per tick
    let (l, _) = render(&s);
    for k in 0..6 {
        let g = tick_semitones(&l, k);
        assert!(
            (g - k as f64).abs() < 0.1,
            "1xx tick {k}: {g:.2} semitones, want {k}"
        );
    }
    let g = tick_semitones(&l, 8);
    assert!((g - 5.0).abs() < 0.1, "row 1 holds +5, got {g:.2}");
    for k in 0..6 {
        let g = tick_semitones(&l, 12 + k);
        let want = 5.0 - 0.5 * k as f64;
        assert!((g - want).abs() < 0.1, "2xx tick {k}: {g:.2}, want {want}");
    }
}

#[test]
fn tone_portamento_glides_to_the_note_without_retriggering() {
    let mut s = sine_song(8);
    put(&mut s, 0, 0, "A-4", 1, None);
    put(&mut s, 0, 1, "C-5", 0, None);
    fx(&mut s, 0, 1, "304"); // 0.25 semitone per tick
    fx(&mut s, 0, 2, "300"); // memory
    let (l, _) = render(&s);
    let g = tick_semitones(&l, 6);
    assert!(g.abs() < 0.1, "tick 0 of row 1 still A-4, got {g:.2}");
    let g = tick_semitones(&l, 3 * 6 + 1);
    assert!(
        (g - 2.5).abs() < 0.1,
        "after two rows of 3xx: {g:.2} semitones, want 2.5"
    );
    // No retrigger: no new onset after the first.
    assert_eq!(onsets(&l, -40.0, 100).len(), 1);
}

#[test]
fn vibrato_depth_and_speed() {
    let mut s = sine_song(8);
    put(&mut s, 0, 0, "A-4", 1, None);
    for row in 0..4 {
        fx(&mut s, 0, row, "44F"); // speed 4: 16 ticks a cycle; depth F: ±1.875 semitones
    }
    let (l, _) = render(&s);
    let got: Vec<f64> = (0..24).map(|k| tick_semitones(&l, k)).collect();
    let max = got.iter().cloned().fold(f64::MIN, f64::max);
    let min = got.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        (max - 1.875).abs() < 0.1 && (min + 1.875).abs() < 0.1,
        "vibrato range {min:.2}..{max:.2}"
    );
    // The position steps on every tick, tick 0 included (as in Impulse Tracker): the peak comes
    // a quarter cycle (4 ticks) in, at tick 3, the trough at tick 11.
    assert!(
        (got[3] - 1.875).abs() < 0.1 && (got[11] + 1.875).abs() < 0.1,
        "{got:.2?}"
    );
}

#[test]
fn volume_slide_is_linear_in_volume_units_per_tick() {
    let mut s = sine_song(8);
    put(&mut s, 0, 0, "A-4", 1, None);
    for row in 0..3 {
        fx(&mut s, 0, row, "A04");
    }
    let (l, _) = render(&s);
    let full = rms_db(&l[200..TICK - 100]);
    for k in 1..18 {
        let ticks_sliding = k - (k / 6 + 1) + 1; // tick 0 of each row does not slide
        let v = 64.0 - 4.0 * ticks_sliding as f64;
        let want = 20.0 * (v / 64.0).log10();
        let got = rms_db(&l[k * TICK + 200..(k + 1) * TICK - 100]) - full;
        assert!(
            (got - want).abs() < 0.2,
            "tick {k}: {got:.2} dB, want {want:.2} (volume {v})"
        );
    }
}

#[test]
fn set_volume_and_note_cut() {
    let mut s = sine_song(8);
    put(&mut s, 0, 0, "A-4", 1, None);
    fx(&mut s, 0, 1, "C10"); // volume 0x10 = −12.04 dB
    fx(&mut s, 0, 2, "EC3"); // cut at tick 3
    let (l, _) = render(&s);
    let full = rms_db(&l[1000..ROW - 1000]);
    let c = rms_db(&l[ROW + 500..2 * ROW - 500]) - full;
    assert!((c + 12.04).abs() < 0.2, "C10: {c:.2} dB, want −12.04");
    let before = rms_db(&l[2 * ROW + 200..2 * ROW + 3 * TICK - 100]) - full;
    let after = peak_db(&l[2 * ROW + 3 * TICK + 100..3 * ROW]);
    assert!(
        (before + 12.04).abs() < 0.2 && after < -90.0,
        "EC3: before {before:.2} dB, after {after:.1} dBFS"
    );
}

#[test]
fn note_delay_and_retrigger() {
    let mut s = sine_song(8);
    put(&mut s, 0, 1, "A-4", 1, None);
    fx(&mut s, 0, 1, "ED3");
    let (l, _) = render(&s);
    let o = onsets(&l, -40.0, 1000);
    assert!(
        o.len() == 1 && o[0].abs_diff(ROW + 3 * TICK) <= 48,
        "ED3 onset {o:?}, want {}",
        ROW + 3 * TICK
    );

    // A short blip instrument so every retrigger is a separate onset.
    let mut blip = synth(Waveform::Sine);
    if let InstrumentKind::Synth(p) = &mut blip.kind {
        p.amp = Adsr {
            attack_ms: 0.0,
            decay_ms: 5.0,
            sustain: 0.0,
            release_ms: 5.0,
        };
    }
    let mut s = song(1, 4, vec![blip]);
    put(&mut s, 0, 0, "A-4", 1, None);
    fx(&mut s, 0, 0, "E92");
    let (l, _) = render(&s);
    let o = onsets(&l, -40.0, 200);
    let want = [0, 2 * TICK, 4 * TICK];
    assert_eq!(o.len(), 3, "E92 onsets {o:?}, want {want:?}");
    for (g, w) in o.iter().zip(want) {
        assert!(g.abs_diff(w) <= 48, "E92 onset {g}, want {w}");
    }
}

#[test]
fn sample_offset_starts_inside_the_sample() {
    // 4096 frames of silence, then a sine: 910 starts at frame 0x10 × 256 = 4096.
    let mut data = vec![0.0f32; 4096];
    data.extend((0..20_000).map(|i| 0.5 * (i as f32 * 0.05).sin()));
    let sample = std::sync::Arc::new(SampleData::mono("gap", 48_000, data));
    let inst = Instrument {
        name: "gap".into(),
        volume: 1.0,
        pan: 0.0,
        kind: InstrumentKind::Sampler(Sampler::new(sample)),
    };
    let mut s = song(1, 8, vec![inst]);
    put(&mut s, 0, 0, "C-4", 1, None);
    s.patterns[0].note_mut(0, 2, 0).note = Note::Off;
    put(&mut s, 0, 4, "C-4", 1, None);
    fx(&mut s, 0, 4, "910");
    let (l, _) = render(&s);
    let o = onsets(&l, -40.0, 1000);
    assert_eq!(o.len(), 2, "{o:?}");
    assert!(o[0].abs_diff(4096) <= 2, "plain start: onset {}", o[0]);
    assert!(
        o[1].abs_diff(4 * ROW) <= 48,
        "910: onset {} want {}",
        o[1],
        4 * ROW
    );
}

#[test]
fn jump_and_break_follow_the_order() {
    // Patterns 0, 1, 2 of 4 rows; each row's note tells where we are: pitch = 12·pattern + 2·row.
    let mut s = sine_song(4);
    s.patterns = vec![
        s.patterns[0].clone(),
        s.patterns[0].clone(),
        s.patterns[0].clone(),
    ];
    s.order = vec![0, 1, 2, 1];
    for p in 0..3 {
        for row in 0..4 {
            let c = s.patterns[p].note_mut(0, row, 0);
            c.note = Note::On(48 + 12 * p as u8 + 2 * row as u8);
            c.instrument = 1;
        }
    }
    *s.patterns[0].effect_mut(0, 1, 0) = EffectCell::new('B', 2); // → order 2 (pattern 2)
    *s.patterns[2].effect_mut(0, 0, 0) = EffectCell::new('D', 2); // → order 3 (pattern 1), row 2
    let (l, _) = render(&s);
    let want = [(0, 0), (0, 1), (2, 0), (1, 2), (1, 3)];
    for (i, (p, r)) in want.iter().enumerate() {
        let a = i * ROW + 1000;
        let hz = pitch_zero_crossings(&l[a..a + 3000], RATE);
        let semis = semitones_from_a4(hz) + 57.0;
        let expect = (48 + 12 * p + 2 * r) as f64;
        assert!(
            (semis - expect).abs() < 0.1,
            "row {i}: pitch {semis:.2}, want pattern {p} row {r} ({expect})"
        );
    }
    let es = ttrack::engine::EngineSong::from_model(&s, RATE);
    let len = ttrack::engine::song_length(&es, ttrack::engine::PlayRange::song(&es), RATE);
    assert_eq!(len.rows, 5);
    assert_eq!(len.frames, 5 * ROW as u64);
}

#[test]
fn tempo_and_tpl_effects() {
    let mut s = sine_song(8);
    for row in [0, 2, 4, 6] {
        put(&mut s, 0, row, "A-4", 1, None);
        s.patterns[0].note_mut(0, row + 1, 0).note = Note::Off;
    }
    fx(&mut s, 0, 2, "F60"); // 96 BPM: a row is 60/(96·4) s = 7500 frames
    fx(&mut s, 0, 4, "F03"); // TPL 3: the row length stays
    let (l, _) = render(&s);
    let o = onsets(&l, -40.0, 2000);
    let want = [0, 2 * ROW, 2 * ROW + 2 * 7500, 2 * ROW + 4 * 7500];
    assert_eq!(o.len(), 4, "{o:?}");
    for (g, w) in o.iter().zip(want) {
        assert!(g.abs_diff(w) <= 48, "onset {g}, want {w}");
    }
}

#[test]
fn song_loops_back_to_restart_when_looping() {
    let mut s = sine_song(4);
    put(&mut s, 0, 0, "A-4", 1, None);
    s.patterns[0].note_mut(0, 2, 0).note = Note::Off;
    let es = ttrack::engine::EngineSong::from_model(&s, RATE);
    let mut e = ttrack::engine::Engine::new(Box::new(es.clone()));
    e.play(ttrack::engine::PlayRange {
        looping: true,
        ..ttrack::engine::PlayRange::song(&es)
    });
    let (mut l, mut r) = (vec![0.0; 4 * ROW * 3], vec![0.0; 4 * ROW * 3]);
    e.process(&mut l, &mut r);
    let o = onsets(&l, -40.0, 1000);
    // The note at row 0 restarts every pass: three onsets, 4 rows apart.
    assert!(
        o.len() >= 3 && o[1].abs_diff(4 * ROW) <= 48 && o[2].abs_diff(8 * ROW) <= 48,
        "{o:?}"
    );
    assert!(e.is_playing());
}
