//! MIDI input in the engine, offline: events given with a frame offset sound at exactly that frame
//! for any block size; events from a midir-style ring are placed by arrival time one period later;
//! notes are polyphonic, velocity sets the level, the sustain pedal holds note-offs; the reported
//! song position (frame minus output latency) is exact across tempo and speed changes; and none of
//! it allocates on the audio path.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use assert_no_alloc::{AllocDisabler, reset_violation_count, violation_count};
use common::measure;
use ttrack::engine::{
    self, Command, Engine, EngineSong, MidiMessage, Moment, PeriodClock, PlayRange, TimedMidi, rt,
};
use ttrack::model::*;

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;

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

fn sustain(down: bool) -> MidiMessage {
    MidiMessage::Sustain { channel: 0, down }
}

/// One track, instrument 01 a sine with a 100 ms release, an empty pattern.
fn quiet_song() -> Song {
    common::song(1, 64, vec![common::synth(Waveform::Sine)])
}

fn engine(song: &Song) -> Engine {
    Engine::new(Box::new(EngineSong::from_model(song, RATE)))
}

/// Renders `frames` in blocks of `block`, calling `before(engine, block_start)` before each block.
fn run(
    e: &mut Engine,
    frames: usize,
    block: usize,
    mut before: impl FnMut(&mut Engine, usize),
) -> Vec<f32> {
    let mut out = vec![0.0; frames];
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut at = 0;
    while at < frames {
        let n = block.min(frames - at);
        before(e, at);
        rt::process_block(e, &mut l[..n], &mut r[..n]);
        out[at..at + n].copy_from_slice(&l[..n]);
        at += n;
    }
    out
}

fn first_sound(x: &[f32]) -> usize {
    x.iter().position(|v| v.abs() > 1e-6).expect("silence")
}

#[test]
fn a_note_sounds_at_its_frame_offset_for_any_block_size() {
    let song = quiet_song();
    // Blocks of a multiple of the control grid (64 frames) are exact; otherwise the chunk holding
    // the frame may already be rendered and the note starts with the next one, less than one
    // control period late.
    let grid = engine::CONTROL_FRAMES as usize;
    let late = grid - 1;
    for (block, late) in [
        (grid, 0),
        (256, 0),
        (1024, 0),
        (1, late),
        (31, late),
        (grid - 1, late),
        (1000, late),
    ] {
        let mut e = engine(&song);
        // The event belongs to the block that contains frame 5000, at its offset there.
        let x = run(&mut e, 8000, block, |e, start| {
            if (start..start + block).contains(&5000) {
                e.midi_in((5000 - start) as u32, on(69, 127));
            }
        });
        // Everything the engine plays comes out after its look-ahead (the master limiter's).
        let d = e.latency_frames() as usize;
        let onset = first_sound(&x) - d;
        assert!(
            (5000..=5002 + late).contains(&onset),
            "{block}-frame blocks: onset at {onset} + {d}, want 5000 (+ up to {late})"
        );
        let hz = measure::pitch_zero_crossings(&x[6000..8000], RATE);
        assert!((hz - 440.0).abs() < 0.5, "A-4 measured {hz:.2} Hz");
    }
}

#[test]
fn ring_events_sound_one_period_after_their_arrival() {
    let song = quiet_song();
    let mut e = engine(&song);
    let (mut tx, rx) = engine::midi_ring();
    e.connect_midi(Some(Box::new(rx)));
    let period = 480usize; // 10 ms
    let ns_per_period = 10_000_000u64;
    // Periods start at 1 s, 1.01 s, ...; the note arrives 2.5 ms into the third period.
    let x = run(&mut e, 4 * period, period, |e, start| {
        let k = (start / period) as u64;
        // It arrived during the third period, so it is in the ring when the fourth starts.
        if k == 3 {
            assert!(tx.send(TimedMidi {
                nanos: 1_000_000_000 + 2 * ns_per_period + 2_500_000,
                msg: on(69, 100),
            }));
        }
        e.begin_period(&PeriodClock {
            now_nanos: 1_000_000_000 + k * ns_per_period,
            frames: period as u32,
            output_latency: None,
            frame_time: None,
        });
    });
    // It was drained at the start of the fourth period, 120 frames (2.5 ms) in.
    let onset = first_sound(&x) - e.latency_frames() as usize;
    assert!(
        (3 * period + 120..=3 * period + 122).contains(&onset),
        "onset at {onset}, want {}",
        3 * period + 120
    );
}

#[test]
fn notes_are_polyphonic_with_velocity_and_note_off() {
    let song = quiet_song();
    let mut e = engine(&song);
    let x = run(&mut e, 48_000, 256, |e, start| match start {
        0 => {
            e.midi_in(0, on(69, 127));
            e.midi_in(0, on(76, 127));
        }
        9984 => e.midi_in(16, off(69)),
        19968 => e.midi_in(32, off(76)),
        30208 => e.midi_in(0, on(69, 64)),
        _ => {}
    });
    let (mags, n) = measure::spectrum(&x[2000..6096]);
    for hz in [440.0, 659.26] {
        let bin = (hz * n as f64 / RATE as f64).round() as usize;
        let peak = mags[bin - 2..=bin + 2].iter().cloned().fold(0.0, f64::max);
        assert!(peak > 100.0, "{hz} Hz missing from the chord: {peak:.1}");
    }
    // After 69's note-off only 76 sounds.
    let hz = measure::pitch_zero_crossings(&x[16_000..19_000], RATE);
    assert!((hz - 659.26).abs() < 0.5, "after releasing A-4: {hz:.2} Hz");
    assert!(measure::rms_db(&x[26_000..30_000]) < -80.0, "both released");
    // Velocity 64 plays at half the level of 127 (volume 0x20 of 0x40): −6 dB.
    let loud = measure::rms_db(&x[16_000..19_000]);
    let soft = measure::rms_db(&x[34_000..38_000]);
    assert!(
        ((loud - soft) - 6.02).abs() < 0.3,
        "velocity 127 vs 64: {loud:.2} vs {soft:.2} dB"
    );
}

#[test]
fn the_sustain_pedal_holds_note_offs_until_it_is_released() {
    let song = quiet_song();
    let mut e = engine(&song);
    let x = run(&mut e, 30_000, 100, |e, start| match start {
        0 => {
            e.midi_in(0, sustain(true));
            e.midi_in(0, on(69, 127));
        }
        5000 => e.midi_in(0, off(69)),
        20_000 => e.midi_in(0, sustain(false)),
        _ => {}
    });
    assert!(
        measure::rms_db(&x[14_000..19_000]) > -10.0,
        "released while the pedal was down"
    );
    assert!(
        measure::rms_db(&x[27_000..30_000]) < -80.0,
        "not released when the pedal came up"
    );
}

/// Starting playback (or jumping: the same restart) while a key is held on the MIDI keyboard
/// keeps the note sounding, as in trackers; only its note-off ends it. The pattern's own notes
/// start with the song as before.
#[test]
fn a_held_key_keeps_sounding_when_playback_starts() {
    let mut song = quiet_song();
    common::put(&mut song, 0, 1, "E-5", 1, None);
    let es = EngineSong::from_model(&song, RATE);
    let mut e = engine(&song);
    let x = run(&mut e, 48_000, 256, |e, start| match start {
        0 => e.midi_in(0, on(69, 127)),
        9984 => e.play(PlayRange::song(&es)),
        19968 => e.play(PlayRange::song(&es)),
        29952 => e.midi_in(0, off(69)),
        _ => {}
    });
    // Rows are 5760 frames at 125 BPM and 4 LPB: the song's E-5 starts a row after each play.
    let held = measure::rms_db(&x[4000..9000]);
    for (what, w) in [
        ("after play", &x[11_000..15_000]),
        ("after the second play", &x[21_000..25_000]),
    ] {
        let hz = measure::pitch_zero_crossings(w, RATE);
        let level = measure::rms_db(w);
        assert!(
            (hz - 440.0).abs() < 0.5 && (level - held).abs() < 0.2,
            "{what}: {hz:.2} Hz at {level:.2} dB (held: {held:.2} dB)"
        );
    }
    let (mags, n) = measure::spectrum(&x[16_000..19_000]);
    for hz in [440.0, 659.26] {
        let bin = (hz * n as f64 / RATE as f64).round() as usize;
        let peak = mags[bin - 2..=bin + 2].iter().cloned().fold(0.0, f64::max);
        assert!(
            peak > 100.0,
            "{hz} Hz missing with the song playing: {peak:.1}"
        );
    }
    // No gap: every 256-frame window around the restart keeps most of the level (the restart
    // fades the note in again over 1 ms).
    for w in x[9000..12_000].chunks(256) {
        assert!(
            measure::rms_db(w) > held - 6.0,
            "the held note dropped out at the restart"
        );
    }
    // After the note-off only the song's E-5 is left.
    let hz = measure::pitch_zero_crossings(&x[40_000..48_000], RATE);
    assert!(
        (hz - 659.26).abs() < 0.5,
        "after the note-off: {hz:.2} Hz, not the song's E-5 alone"
    );
}

#[test]
fn thru_follows_the_chosen_instrument_and_can_be_silenced() {
    let mut song = common::song(1, 64, vec![common::synth(Waveform::Sine)]);
    song.instruments.push(Some(common::synth(Waveform::Saw)));
    let (mut h, link) = engine::link();
    let mut e = engine(&song);
    e.connect(link);
    h.send(Command::MidiThru { track: 0, slot: 0 });
    let x = run(&mut e, 4000, 256, |e, s| {
        if s == 0 {
            e.midi_in(10, on(69, 127));
        }
    });
    assert!(measure::peak_db(&x) < -120.0, "slot 0 must be silent");
    h.send(Command::MidiThru { track: 0, slot: 2 });
    let x = run(&mut e, 8000, 256, |e, s| {
        if s == 0 {
            e.midi_in(10, on(57, 127));
        }
    });
    // A saw at A-3 is rich in harmonics: its strongest partial is the fundamental, 220 Hz.
    let hz = measure::pitch_fft(&x[2000..6096], RATE);
    assert!((hz - 220.0).abs() < 1.0, "saw measured {hz:.1} Hz");
    let (mags, n) = measure::spectrum(&x[2000..6096]);
    let bin2 = (440.0 * n as f64 / RATE as f64).round() as usize;
    assert!(mags[bin2] > 10.0, "no second harmonic: not the saw");
}

/// Song frame of `row` in the tempo map of [`tempo_song`].
fn tempo_row_start(row: u64) -> u64 {
    // Rows 0–3: 125 BPM (5760 frames); from row 4: 150 BPM (4800). Row 8 changes the ticks per
    // line to 3, which re-anchors the tick clock but keeps the row length (ticks subdivide it).
    match row {
        0..=4 => row * 5760,
        _ => 4 * 5760 + (row - 4) * 4800,
    }
}

fn tempo_song() -> Song {
    let mut s = quiet_song();
    s.bpm = 125;
    s.lpb = 4;
    s.tpl = 6;
    common::fx(&mut s, 0, 4, "F96");
    common::fx(&mut s, 0, 8, "F03");
    s
}

#[test]
fn reported_positions_are_exact_across_tempo_and_speed_changes() {
    let song = tempo_song();
    let es = EngineSong::from_model(&song, RATE);
    let (mut h, link) = engine::link();
    let mut e = Engine::new(Box::new(es.clone()));
    e.connect(link);
    let device_latency = 300u32;
    h.send(Command::SetOutputLatency {
        frames: device_latency,
    });
    // The output starts at song time zero (the engine pre-rolls its look-ahead at play), and what
    // is heard lags the output by the device latency; the engine's frame counter runs its
    // look-ahead ahead of the output, so it takes off both.
    let latency = device_latency + e.latency_frames() as u32;
    h.send(Command::Play {
        range: PlayRange::song(&es),
        row: 0,
        bpm: 125,
        tpl: 6,
        at: None,
    });
    // Heard at these song frames: played `device_latency` frames of output later.
    let heard: Vec<u64> = vec![
        100,
        tempo_row_start(2) + 4321,
        tempo_row_start(4) - 1,
        tempo_row_start(4),
        tempo_row_start(6) + 2400,
        tempo_row_start(9) + 1200,
        tempo_row_start(20) + 7,
    ];
    let block = 128usize;
    let total = tempo_row_start(22) as usize;
    reset_violation_count();
    run(&mut e, total, block, |e, start| {
        // As the UI does every frame (MIDI reports wait in the engine while the ring is full).
        h.pump();
        for &f in &heard {
            let sound = (f + device_latency as u64) as usize;
            if (start..start + block).contains(&sound) {
                e.midi_in((sound - start) as u32, on(60, 100));
            }
        }
    });
    assert_eq!(violation_count(), 0, "allocations with MIDI streaming in");
    h.pump();
    let reports: Vec<_> = h.take_midi().collect();
    assert_eq!(reports.len(), heard.len());
    for (r, &f) in reports.iter().zip(&heard) {
        let at = r.at.expect("in the song");
        let row = at.row as u64;
        let start = tempo_row_start(row);
        let len = tempo_row_start(row + 1) - start;
        assert_eq!(
            start + at.frames_into_row as u64,
            f,
            "row {row} + {} frames for song frame {f}",
            at.frames_into_row
        );
        assert_eq!(at.row_frames, len as f64, "row {row} length");
        let by_delay = start as f64 + at.delay as f64 / 256.0 * len as f64;
        // Within half a 256th of the row, or a whole one in the row's last 256th (delay FF).
        assert!(
            (by_delay - f as f64).abs() <= len as f64 / 256.0,
            "delay {:02X} of row {row} is {by_delay} for {f}",
            at.delay
        );
        assert_eq!(r.frame, f + latency as u64);
        assert_eq!(r.latency, latency);
    }
    assert_eq!(h.status().midi_events, heard.len() as u64);
}

#[test]
fn events_before_play_or_after_stop_have_no_song_position() {
    let song = tempo_song();
    let es = EngineSong::from_model(&song, RATE);
    let (mut h, link) = engine::link();
    let mut e = Engine::new(Box::new(es.clone()));
    e.connect(link);
    h.send(Command::SetOutputLatency { frames: 1000 });
    h.send(Command::Play {
        range: PlayRange::song(&es),
        row: 0,
        bpm: 125,
        tpl: 6,
        at: None,
    });
    run(&mut e, 20_000, 500, |e, s| match s {
        // Heard 500 frames before play started.
        500 => e.midi_in(0, on(60, 100)),
        // Heard at song frame 9000.
        10_000 => e.midi_in(0, on(62, 100)),
        _ => {}
    });
    h.send(Command::Stop);
    run(&mut e, 3000, 500, |e, s| {
        if s == 1500 {
            e.midi_in(0, on(64, 100));
        }
    });
    h.pump();
    let at: Vec<_> = h.take_midi().map(|r| r.at.map(|p| p.row)).collect();
    assert_eq!(at, vec![None, Some(1), None]);
}

#[test]
fn a_midi_command_from_the_ui_plays_and_is_reported_like_an_input() {
    let song = quiet_song();
    let (mut h, link) = engine::link();
    let mut e = engine(&song);
    e.connect(link);
    let x = run(&mut e, 4096, 256, |_, s| {
        if s == 1024 {
            h.send(Command::MidiIn(on(69, 127)));
        }
    });
    let onset = first_sound(&x) - e.latency_frames() as usize;
    assert!((1024..=1026).contains(&onset), "onset at {onset}");
    h.pump();
    let r: Vec<_> = h.take_midi().collect();
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].msg, r[0].frame, r[0].at), (on(69, 127), 1024, None));
}

/// The metronome clicks on every beat (2 kHz on the first of each bar of four, 1 kHz on the
/// others) at the beat's frame; a count-in of one bar plays four clicks and starts the song on
/// the fifth beat; renders never click.
#[test]
fn metronome_and_count_in_click_on_the_beats_live_only() {
    use common::measure::*;
    use common::{RATE, put, render, song, synth};
    let mut s = song(1, 32, vec![synth(Waveform::Sine)]);
    s.bpm = 125; // a beat = 4 rows = 0.48 s = 23040 frames
    put(&mut s, 0, 0, "A-4", 1, Some(0x30));
    put(&mut s, 0, 1, "OFF", 0, None);
    let beat = 23_040usize;
    let run = |count_in: u8, on: bool| {
        let es = EngineSong::from_model(&s, RATE);
        let (mut h, link) = engine::link();
        let mut e = Engine::new(Box::new(es.clone()));
        e.connect(link);
        h.send(Command::Metronome {
            on,
            level: 0.5,
            count_in_bars: count_in,
        });
        h.send(Command::Play {
            range: PlayRange::song(&es),
            row: 0,
            bpm: es.bpm,
            tpl: es.tpl,
            at: None,
        });
        let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
        let mut out = Vec::new();
        while out.len() < 8 * beat {
            rt::process_block(&mut e, &mut l, &mut r);
            out.extend_from_slice(&l);
            h.pump();
        }
        out
    };
    // Metronome on, no count-in: the song starts at once; clicks at 1, 2, 3 beats (beat 0 has
    // the note too) with the right pitch.
    let plain = run(0, false);
    let clicked = run(0, true);
    let click: Vec<f32> = clicked.iter().zip(&plain).map(|(a, b)| a - b).collect();
    for k in 0..6 {
        let at = k * beat;
        let before = &click[at.saturating_sub(480)..at];
        assert!(peak_db(before) < -80.0, "beat {k}: sound before the click");
        let onset = click[at..at + 480]
            .iter()
            .position(|v| v.abs() > 1e-4)
            .unwrap();
        assert!(onset <= 48, "beat {k}: click {onset} frames late");
        let hz = pitch_zero_crossings(&click[at..at + 1200], RATE);
        let want = if k % 4 == 0 { 2000.0 } else { 1000.0 };
        assert!(
            (hz - want).abs() < 30.0,
            "beat {k}: {hz:.0} Hz, want {want}"
        );
    }
    // The render is the song without clicks, sample for sample.
    let (rendered, _) = render(&s);
    assert_eq!(&plain[..4 * beat], &rendered[..4 * beat]);
    // A one-bar count-in: four clicks, then the note on the fifth beat.
    let counted = run(1, false);
    let note_at = 4 * beat;
    assert!(
        peak_db(&counted[..beat - 1000]) > -30.0,
        "the count-in clicks"
    );
    let quiet = &counted[beat * 3 + 2000..note_at];
    assert!(
        peak_db(quiet) < -80.0,
        "nothing between the last click and the song"
    );
    let song_onset = counted[note_at..]
        .iter()
        .position(|v| v.abs() > 1e-3)
        .unwrap();
    assert!(
        song_onset <= 48,
        "the song starts {song_onset} frames after the count-in"
    );
    let hz = pitch_zero_crossings(&counted[note_at + 2000..note_at + 6000], RATE);
    assert!(
        (hz - 440.0).abs() < 1.0,
        "the song's note after the count-in: {hz:.1} Hz"
    );
}

#[test]
fn a_moment_is_located_in_the_song_as_heard_also_during_a_count_in() {
    use common::{put, song, synth};
    use ttrack::engine::Located;
    let mut s = song(1, 32, vec![synth(Waveform::Sine)]);
    s.bpm = 125; // a row = 5760 frames
    put(&mut s, 0, 0, "A-4", 1, None);
    let es = EngineSong::from_model(&s, RATE);
    let (mut h, link) = engine::link();
    let mut e = Engine::new(Box::new(es.clone()));
    e.connect(link);
    h.send(Command::Metronome {
        on: false,
        level: 0.0,
        count_in_bars: 1,
    });
    h.send(Command::Play {
        range: PlayRange::song(&es),
        row: 0,
        bpm: es.bpm,
        tpl: es.tpl,
        at: None,
    });
    // Periods of 480 frames (10 ms) from 1 s on; what is computed is heard 960 frames later.
    let period = 480usize;
    let latency = 960u64;
    let ns = |frames: f64| 1_000_000_000 + (frames * 1e9 / f64::from(RATE)).round() as u64;
    // Output index i sounds at ns(i + latency): the moment "heard index i" is ns(i + latency).
    // Ask during the count-in (output index 10_000.3) and during the song (3.5 rows after the
    // onset, found below), both asked after the song started (the row history is what places
    // them; asked during the count-in the answer is Unknown, and a recorder asks again).
    let asks = [
        (6u32, 10_000.3f64, 40usize),
        (7, 10_000.3, 200),
        (8, f64::NAN, 260),
    ];
    // The host's frame time of output index 0 (it wraps around during the test).
    let ft0 = u32::MAX - 50_000;
    let mut out = Vec::new();
    let (mut l, mut r) = (vec![0.0; period], vec![0.0; period]);
    let mut answers = Vec::new();
    let mut onset = None;
    for k in 0..300usize {
        for &(id, at, when) in &asks {
            if k == when {
                let at = if at.is_nan() {
                    onset.expect("the song started") as f64 + 3.5 * 5760.0
                } else {
                    at
                };
                h.send(Command::Locate {
                    id,
                    at: Moment::Nanos(ns(at + latency as f64)),
                });
            }
        }
        // The same moment as 8 in frame time: exact.
        if k == 280 {
            let at = onset.expect("the song started") as u32 + 3 * 5760 + 2880;
            h.send(Command::Locate {
                id: 9,
                at: Moment::FrameTime(ft0.wrapping_add(at + latency as u32)),
            });
        }
        e.begin_period(&PeriodClock {
            now_nanos: ns((k * period) as f64),
            frames: period as u32,
            output_latency: Some(latency as u32),
            // The host skips ten periods' worth of frame time at period 250 (an xrun): a
            // moment before it must still be placed exactly.
            frame_time: Some(
                ft0.wrapping_add((k * period) as u32)
                    .wrapping_add(if k >= 250 { 10 * period as u32 } else { 0 }),
            ),
        });
        rt::process_block(&mut e, &mut l, &mut r);
        out.extend_from_slice(&l);
        h.pump();
        if let Some(a) = h.take_located() {
            answers.push(a);
        }
        if onset.is_none() && out.iter().any(|v| v.abs() > 1e-6) {
            onset = Some(first_sound(&out));
        }
    }
    let onset = onset.expect("the song played") as f64;
    assert_eq!(answers.len(), 4, "{answers:?}");
    assert_eq!(answers[3].id, 9);
    let Located::At(exact) = answers[3].located else {
        panic!("{:?}", answers[3]);
    };
    // (The onset found in the audio is the row's start or the frame after: a sine starts at 0.)
    assert!(
        exact.row == 3 && (2880..=2881).contains(&exact.frames_into_row),
        "frame time places exactly: {exact:?}"
    );
    assert_eq!(answers[0].located, Located::Unknown, "no row yet");
    answers.remove(0);
    // During the count-in: the song starts (onset − 10_000.3) frames later, at row 0.
    assert_eq!(answers[0].id, 7);
    let Located::Before { frames, start } = answers[0].located else {
        panic!("{:?}", answers[0]);
    };
    assert_eq!((start.order, start.row), (0, 0));
    let want = onset - 10_000.3;
    assert!(
        (frames as f64 - want).abs() <= 3.0,
        "song start {frames} frames after the moment, want {want:.1}"
    );
    // During the song: row 3, half-way (delay 80, 2880 frames in).
    assert_eq!(answers[1].id, 8);
    let Located::At(at) = answers[1].located else {
        panic!("{:?}", answers[1]);
    };
    assert_eq!((at.order, at.row, at.delay), (0, 3, 0x80), "{at:?}");
    assert!(
        (i64::from(at.frames_into_row) - 2880).abs() <= 3,
        "{} frames into the row, want 2880",
        at.frames_into_row
    );
}
