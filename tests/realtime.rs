//! The real-time rule, checked: the engine never allocates or frees while it renders.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use assert_no_alloc::{AllocDisabler, assert_no_alloc, reset_violation_count, violation_count};
use ttrack::engine::{Engine, EngineSong, PlayRange, rt};

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

#[test]
fn the_checker_sees_an_allocation() {
    reset_violation_count();
    let v = assert_no_alloc(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(
        violation_count() > 0,
        "the allocation checker is not active"
    );
    reset_violation_count();
}

fn render_whole(song: &ttrack::model::Song, block: usize) -> u64 {
    let es = Box::new(EngineSong::from_model(song, 48_000));
    let range = PlayRange::song(&es);
    let frames = ttrack::engine::song_length(&es, range, 48_000).frames + 48_000;
    let mut e = Engine::new(es);
    e.play(range);
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut done = 0u64;
    reset_violation_count();
    while done < frames {
        rt::process_block(&mut e, &mut l, &mut r);
        done += block as u64;
    }
    violation_count() as u64
}

#[test]
fn busy_song_renders_without_allocating() {
    for song in [common::songs::busy(16), common::songs::busy_mixed(16)] {
        ttrack::model::validate(&song).unwrap();
        for block in [64, 512, 1000] {
            assert_eq!(
                render_whole(&song, block),
                0,
                "allocations while rendering {} with {block}-frame blocks",
                song.title
            );
        }
    }
}

#[test]
fn demo_songs_render_without_allocating() {
    for name in ["demo-synth.ttrk", "demo-kit.ttrk", "demo-mix.ttrk"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("songs")
            .join(name);
        let song = ttrack::format::load_song(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            render_whole(&song, 256),
            0,
            "allocations while rendering {name}"
        );
    }
}

#[test]
fn stems_are_kept_without_allocating() {
    // A stem render's engine appends every stem to buffers reserved up front; the renderer
    // drains them between blocks (here: every fourth block, outside the checked region).
    let song = common::songs::busy_mixed(16);
    let es = Box::new(EngineSong::from_model(&song, 48_000));
    let range = PlayRange::song(&es);
    let frames = ttrack::engine::song_length(&es, range, 48_000).frames;
    let mut e = Engine::new(es);
    // Room for four blocks and what the mixer may have rendered ahead of them (up to a span).
    e.enable_stems(4 * 1000 + ttrack::engine::SPAN);
    e.play(range);
    let block = 1000;
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let (mut done, mut mix_energy, mut allocations) = (0u64, 0.0f64, 0);
    while done < frames {
        reset_violation_count();
        rt::process_block(&mut e, &mut l, &mut r);
        allocations += violation_count();
        done += block as u64;
        if done.is_multiple_of(4 * block as u64) {
            // The mixer works in whole chunks: the stems may run a few frames ahead.
            let ahead = e.stems_ahead();
            let store = e.stems_mut().expect("stems enabled");
            let (ml, _) = &store.bufs[ttrack::engine::mixer::STEM_MIX];
            assert_eq!(
                ml.len(),
                4 * block + ahead,
                "the mix stem keeps every frame"
            );
            mix_energy += ml[..4 * block]
                .iter()
                .map(|&x| (x as f64).powi(2))
                .sum::<f64>();
            for (a, b) in store.bufs.iter_mut().filter(|(a, _)| !a.is_empty()) {
                a.drain(..4 * block);
                b.drain(..4 * block);
            }
        }
    }
    assert_eq!(allocations, 0, "allocations while keeping stems");
    assert_eq!(e.stems_mut().expect("stems").dropped, 0);
    assert!(mix_energy > 1.0, "the mix stem is silent ({mix_energy})");
}

#[test]
fn engine_never_allocates_while_edits_stream_in() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use ttrack::engine::{Command, PlayableInstrument};
    use ttrack::model::{EffectCell, Note, NoteCell};

    let song = common::songs::busy(8);
    let es = EngineSong::from_model(&song, 48_000);
    let (mut handle, link) = ttrack::engine::link();
    let mut e = Engine::new(Box::new(es.clone()));
    e.connect(link);
    let range = PlayRange {
        looping: true,
        ..PlayRange::song(&es)
    };
    handle.send(Command::Play {
        range,
        row: 0,
        bpm: es.bpm,
        tpl: es.tpl,
        at: None,
    });
    let done = Arc::new(AtomicBool::new(false));
    let ui = {
        let done = Arc::clone(&done);
        let song = song.clone();
        std::thread::spawn(move || {
            let mut rng = 0x1234_5678_u64;
            let mut next = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let mut sent = 0u64;
            while !done.load(Ordering::Relaxed) {
                let r = next();
                let cmd = match r % 10 {
                    0..=3 => Command::SetNote {
                        pattern: (r >> 8) as u16 % 4,
                        row: (r >> 16) as u16 % 64,
                        track: (r >> 24) as u8 % 8,
                        column: 0,
                        cell: NoteCell::note(
                            Note::On(24 + (r >> 32) as u8 % 60),
                            1 + (r >> 40) as u8 % 16,
                        ),
                    },
                    4 => Command::SetEffect {
                        pattern: (r >> 8) as u16 % 4,
                        row: (r >> 16) as u16 % 64,
                        track: (r >> 24) as u8 % 8,
                        column: 0,
                        cell: EffectCell::new('A', 0x0F),
                    },
                    5 => Command::NoteOn {
                        tag: (r >> 8) as u32 % 4,
                        track: 0,
                        slot: 1 + (r >> 16) as u8 % 16,
                        pitch: 48,
                        volume: 0x30,
                    },
                    6 => Command::NoteOff {
                        tag: (r >> 8) as u32 % 4,
                    },
                    8 => {
                        // Mixer edits: every track's strip and the buses change at once.
                        let mut m = song.clone();
                        for (i, t) in m.tracks.iter_mut().enumerate() {
                            t.volume_db = -(((r >> (i % 8)) % 12) as f32);
                            t.solo = (r >> (8 + i)) & 7 == 0;
                            t.sends = [-(((r >> 20) % 30) as f32), -(((r >> 24) % 30) as f32)];
                            t.inserts = match (r >> (28 + i)) % 3 {
                                0 => vec![],
                                1 => vec![ttrack::model::mix::Insert::Eq(
                                    ttrack::model::mix::Eq::default(),
                                )],
                                _ => vec![ttrack::model::mix::Insert::Compressor(
                                    ttrack::model::mix::Compressor::default(),
                                )],
                            };
                        }
                        m.mixer.master.limiter.on = r & 1 == 0;
                        m.mixer.reverb.reverb.decay_s = 0.5 + (r >> 40) as f32 % 5.0;
                        m.mixer.delay.delay.time = 1.0 + (r >> 44) as f32 % 8.0;
                        Command::SetMix(Box::new(ttrack::engine::MixState::from_model(&m)))
                    }
                    7 => Command::ReplacePattern {
                        index: (r >> 8) as u16 % 4,
                        pattern: Box::new(song.patterns[(r >> 16) as usize % 4].clone()),
                    },
                    _ => {
                        let slot = 1 + (r >> 8) as u8 % 16;
                        let inst = song.instruments[(r >> 16) as usize % 16].as_ref().unwrap();
                        Command::ReplaceInstrument {
                            slot,
                            instrument: Some(Box::new(PlayableInstrument::from_model(
                                inst, 48_000.0,
                            ))),
                        }
                    }
                };
                handle.send(cmd);
                handle.pump();
                sent += 1;
                if sent.is_multiple_of(64) {
                    std::thread::yield_now();
                }
            }
            handle.pump();
            (sent, handle.status().commands_applied)
        })
    };
    let (mut l, mut r) = (vec![0.0; 128], vec![0.0; 128]);
    reset_violation_count();
    // At least 2 s of audio, and on until 3000 commands have been applied (the sender's pace
    // depends on the machine's load), but never more than 120 s of audio.
    let mut blocks = 0;
    while blocks < 2 * 48_000 / 128
        || (e.status().commands_applied < 3000 && blocks < 120 * 48_000 / 128)
    {
        rt::process_block(&mut e, &mut l, &mut r);
        blocks += 1;
        if blocks % 64 == 0 {
            std::thread::yield_now();
        }
    }
    let violations = violation_count();
    done.store(true, Ordering::Relaxed);
    let (sent, applied) = ui.join().unwrap();
    assert!(
        sent > 1000 && applied > 1000,
        "only {sent} commands sent, {applied} applied"
    );
    assert_eq!(
        violations, 0,
        "the engine allocated or freed while commands streamed in"
    );
}

#[test]
fn monitored_input_is_added_to_the_output_without_allocating() {
    use ttrack::engine::{Command, Engine, EngineSong, link, monitor, rt};
    let song = ttrack::model::Song::new_default();
    let (mut h, l) = link();
    let mut e = Engine::new(Box::new(EngineSong::from_model(&song, 48_000)));
    e.connect(l);
    let (mut tx, rx) = monitor::monitor_ring();
    h.send(Command::SetMonitor(Some(Box::new(rx))));
    let (mut left, mut right) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let mut heard = Vec::new();
    reset_violation_count();
    for k in 0..40 {
        // The input callback's push and the engine's block, both on the audio path.
        assert_no_alloc(|| {
            tx.push((0..256).map(|i| {
                let t = (k * 256 + i) as f32 / 48_000.0;
                let v = 0.25 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
                [v, -v]
            }));
            rt::process_block(&mut e, &mut left, &mut right);
        });
        heard.extend(left.iter().zip(&right).map(|(a, b)| (*a, *b)));
    }
    assert_eq!(violation_count(), 0, "the monitor path allocated");
    h.pump();
    // The silent song plus the input, frame for frame, in the same block.
    for (n, &(a, b)) in heard.iter().enumerate() {
        let t = n as f32 / 48_000.0;
        let v = 0.25 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
        assert!(
            (a - v).abs() < 1e-6 && (b + v).abs() < 1e-6,
            "frame {n}: {a} {b}, want {v}"
        );
    }
}
