//! The live callback wrapper, checked without a device: it never allocates (the checker is this
//! file's global allocator; its counter is per thread, so everything runs on the test's thread),
//! it cuts playback at the exact frame, processes big device buffers in pieces, and turns a panic
//! of the engine into silence plus a flag.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use assert_no_alloc::{AllocDisabler, assert_no_alloc, reset_violation_count, violation_count};
use std::path::Path;
use std::sync::Arc;
use ttrack::audio::{AudioCallback, AudioSource, AudioStats, PlayLimit, StopRule};
use ttrack::engine::{Engine, EngineSong, PlayRange};
use ttrack::render::{RenderOptions, render_to_vec};

#[global_allocator]
static ALLOC: AllocDisabler = AllocDisabler;

fn load(name: &str) -> ttrack::model::Song {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("songs")
        .join(name);
    ttrack::format::load_song(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn engine(song: &ttrack::model::Song) -> Engine {
    let es = Box::new(EngineSong::from_model(song, 48_000));
    let range = PlayRange::song(&es);
    let mut e = Engine::new(es);
    e.play(range);
    e
}

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

/// Runs `periods` callbacks of `frames` frames in every layout a device may ask for and counts
/// allocations.
fn allocations_while_playing(name: &str, scratch: usize, frames: usize, periods: usize) -> u32 {
    let song = load(name);
    let stats = Arc::new(AudioStats::new());
    let stop = StopRule {
        limit: None,
        at_song_end: true,
    };
    let mut stereo_f32 = AudioCallback::new(engine(&song), stats.clone(), scratch, stop);
    let mut mono_i16 = AudioCallback::new(engine(&song), stats.clone(), scratch, stop);
    let mut quad_u16 = AudioCallback::new(engine(&song), stats.clone(), scratch, stop);
    let mut a = vec![0.0f32; frames * 2];
    let mut b = vec![0i16; frames];
    let mut c = vec![0u16; frames * 4];
    reset_violation_count();
    for _ in 0..periods {
        assert_no_alloc(|| {
            stereo_f32.fill(&mut a, 2);
            mono_i16.fill(&mut b, 1);
            quad_u16.fill(&mut c, 4);
        });
    }
    let n = violation_count();
    assert_eq!(stats.callbacks(), 3 * periods as u64);
    assert!(!stats.panicked());
    n
}

#[test]
fn the_callback_never_allocates() {
    // 256-frame device buffers for 20 s of each demo song; then 3000-frame buffers on a 512-frame
    // scratch, which the wrapper must cut into pieces.
    for name in ["demo-synth.ttrk", "demo-kit.ttrk"] {
        let n = allocations_while_playing(name, 256, 256, 3750);
        assert_eq!(n, 0, "{n} allocations in the callback playing {name}");
        let n = allocations_while_playing(name, 512, 3000, 320);
        assert_eq!(
            n, 0,
            "{n} allocations in the callback playing {name} in pieces"
        );
    }
}

#[test]
fn pieces_and_limits_give_exactly_the_rendered_frames() {
    let song = load("demo-synth.ttrk");
    let (rl, rr) = render_to_vec(&song, RenderOptions::default()).expect("render");
    let stats = Arc::new(AudioStats::new());
    let limit = 10_007u64;
    let stop = StopRule {
        limit: Some(PlayLimit::Frames(limit)),
        at_song_end: true,
    };
    // Scratch of 100 frames, device buffers of 777: every callback is cut into pieces.
    let mut cb = AudioCallback::new(engine(&song), stats.clone(), 100, stop);
    let mut out = Vec::new();
    let mut buf = vec![0.0f32; 777 * 2];
    for _ in 0..20 {
        cb.fill(&mut buf, 2);
        out.extend_from_slice(&buf);
    }
    let s = stats.snapshot();
    assert!(s.finished, "the frame limit did not finish playback");
    assert_eq!(s.frames, limit);
    for i in 0..limit as usize {
        assert_eq!(
            (out[2 * i], out[2 * i + 1]),
            (rl[i], rr[i]),
            "frame {i} differs from the render"
        );
    }
    assert!(
        rl[..limit as usize].iter().any(|x| x.abs() > 0.01),
        "render is silent"
    );
    assert!(
        out[2 * limit as usize..].iter().all(|&x| x == 0.0),
        "sound after the limit"
    );
}

#[test]
fn the_song_end_rule_stops_after_the_tail_like_render() {
    let song = load("demo-kit.ttrk");
    let (rl, _) = render_to_vec(&song, RenderOptions::default()).expect("render");
    let stats = Arc::new(AudioStats::new());
    let stop = StopRule {
        limit: None,
        at_song_end: true,
    };
    let mut cb = AudioCallback::new(engine(&song), stats.clone(), 512, stop);
    let mut buf = vec![0.0f32; 512 * 2];
    let mut calls = 0;
    while !stats.finished() && calls < 100_000 {
        cb.fill(&mut buf, 2);
        calls += 1;
    }
    let played = stats.frames() as f64;
    let rendered = rl.len() as f64;
    // Render counts the tail from the song's length (dry run); live playback from the callback in
    // which the sequencer stopped, which it does at the start of the last tick.
    let tick = ttrack::engine::transport::frames_per_tick(48_000, song.bpm, song.lpb, song.tpl);
    assert!(
        (played - rendered).abs() <= tick + 512.0,
        "played {played} frames, render wrote {rendered} (a tick is {tick:.0} frames)"
    );
    assert!(!stats.snapshot().playing);
}

/// A source that panics on its third block.
struct Faulty {
    calls: u32,
}

impl AudioSource for Faulty {
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.calls += 1;
        if self.calls == 3 {
            panic!("deliberate test panic in the audio source");
        }
        left.fill(0.5);
        right.fill(-0.5);
    }
    fn is_playing(&self) -> bool {
        true
    }
    fn rate(&self) -> u32 {
        48_000
    }
}

#[test]
fn a_panicking_engine_becomes_silence_and_a_flag() {
    let stats = Arc::new(AudioStats::new());
    let mut cb = AudioCallback::new(Faulty { calls: 0 }, stats.clone(), 64, StopRule::default());
    let mut buf = vec![7i16; 128];
    cb.fill(&mut buf, 2);
    assert!(buf.iter().step_by(2).all(|&x| x == 16384));
    cb.fill(&mut buf, 2);
    assert!(!stats.panicked());
    cb.fill(&mut buf, 2);
    assert!(stats.panicked(), "the panic was not reported");
    assert!(buf.iter().all(|&x| x == 0), "no silence after the panic");
    cb.fill(&mut buf, 2);
    assert_eq!(
        cb.source().calls,
        3,
        "the source was called after it panicked"
    );
    assert!(buf.iter().all(|&x| x == 0));
    let s = stats.snapshot();
    assert_eq!((s.callbacks, s.frames), (4, 128));
}

#[test]
fn a_trailing_partial_frame_is_silence_and_does_not_stop_playback() {
    let song = load("demo-synth.ttrk");
    let stats = Arc::new(AudioStats::new());
    let mut cb = AudioCallback::new(engine(&song), stats.clone(), 4, StopRule::default());
    // 11 samples of stereo: 5 frames and half a frame; the scratch holds 4 frames.
    let mut buf = vec![1.0f32; 11];
    cb.fill(&mut buf, 2);
    assert_eq!(buf[10], 0.0);
    let s = stats.snapshot();
    assert_eq!(s.frames, 5);
    assert!(!s.finished, "a partial frame ended playback");
    // A zero-frame limit is over before it starts.
    let stop = StopRule {
        limit: Some(PlayLimit::Frames(0)),
        at_song_end: false,
    };
    let stats = Arc::new(AudioStats::new());
    let mut cb = AudioCallback::new(engine(&song), stats.clone(), 64, stop);
    cb.fill(&mut buf, 2);
    assert!(stats.finished() && buf.iter().all(|&x| x == 0.0));
}
