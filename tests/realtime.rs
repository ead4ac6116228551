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
    let song = common::songs::busy(16);
    ttrack::model::validate(&song).unwrap();
    for block in [64, 512, 1000] {
        assert_eq!(
            render_whole(&song, block),
            0,
            "allocations while rendering with {block}-frame blocks"
        );
    }
}

#[test]
fn demo_songs_render_without_allocating() {
    for name in ["demo-synth.ttrk", "demo-kit.ttrk"] {
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
