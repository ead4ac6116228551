//! Engine-only render speed measured in CPU time of the rendering thread, which a busy shared
//! machine disturbs far less than wall-clock time (criterion's `cargo bench --bench render`).
//! Renders a song through the same path as `ttrack render` minus the WAV file, `RUNS` times,
//! and prints the median and best multiple of real time (48 kHz).
//!
//! Run: `cargo run --release --example render_speed -- SONG [RUNS] [baseline]`, SONG =
//! `demo-synth`, `demo-kit` (from `songs/`) or `busy` (the busy 16-track song of
//! `tests/common/songs.rs`); `baseline` makes the hot loops skip their AVX2 versions.
// The real-time rules (clippy.toml) bind the engine; tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../tests/common/songs.rs"]
mod songs;

use ttrack::render::{RenderOptions, Renderer};

/// CPU time consumed by this thread, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID needs nothing else.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(which) = args.get(1) else {
        eprintln!("usage: render_speed demo-synth|demo-kit|busy [RUNS]");
        std::process::exit(2);
    };
    if which == "busy" && args.get(2).is_some_and(|a| a == "save") {
        let Some(path) = args.get(3) else {
            eprintln!("usage: render_speed busy save PATH");
            std::process::exit(2);
        };
        let path = std::path::Path::new(path);
        ttrack::format::save_song(&songs::busy(16), path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    // `baseline` as third argument: the hot loops' baseline x86-64 versions even on an AVX2
    // processor (the same samples; see `ttrack::dsp::simd`).
    let baseline = args.get(3).is_some_and(|a| a == "baseline");
    ttrack::dsp::simd::use_baseline(baseline);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let song = if which == "busy" {
        songs::busy(16)
    } else {
        let path = root.join("songs").join(format!("{which}.ttrk"));
        ttrack::format::load_song(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut times = Vec::new();
    let mut frames = 0;
    // A checksum of the output, so that builds can be compared for identical samples too.
    let mut sum = 0.0f64;
    for _ in 0..runs {
        sum = 0.0;
        let start = thread_cpu_seconds();
        let mut r = Renderer::new(&song, RenderOptions::default()).expect("render");
        while let Some((l, rr)) = r.next_block() {
            sum += l.iter().chain(rr).map(|&x| x as f64).sum::<f64>();
        }
        frames = r.frames;
        times.push(thread_cpu_seconds() - start);
    }
    times.sort_by(f64::total_cmp);
    let speed = |t: f64| frames as f64 / t / 48_000.0;
    println!(
        "{which}{}: median {:.1}x, best {:.1}x real time over {runs} runs (checksum {sum:.6})",
        if baseline { " (baseline)" } else { "" },
        speed(times[times.len() / 2]),
        speed(times[0])
    );
}
