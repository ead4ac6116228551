//! The `ttrack` binary end to end: render, info and convert on the demo songs and on bad input.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ttrack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttrack"))
        .args(args)
        .output()
        .expect("run ttrack")
}

fn song(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("songs")
        .join(name)
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn render_writes_the_song_and_reports_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.wav");
    let o = ttrack(&[
        "render",
        song("demo-synth.ttrk").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{stdout}{stderr}");
    for want in ["duration", "peak", "time", "x real time"] {
        assert!(stdout.contains(want), "missing {want:?} in {stdout}");
    }
    // Not a terminal: plain progress lines, no bar drawing.
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes on a pipe: {stderr:?}"
    );
    assert!(stderr.contains("100%"), "{stderr}");
    let r = hound::WavReader::open(&out).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 48_000, 24)
    );
    // 48 s of song plus a release tail of at most a few seconds.
    let secs = r.duration() as f64 / 48_000.0;
    assert!((48.0..52.0).contains(&secs), "rendered {secs:.2} s");
    let peak = r
        .into_samples::<i32>()
        .map(|s| s.unwrap().unsigned_abs())
        .max()
        .unwrap();
    let peak_db = 20.0 * (peak as f64 / 8_388_607.0).log10();
    assert!((-6.0..0.0).contains(&peak_db), "peak {peak_db:.2} dBFS");
}

#[test]
fn render_options_rate_format_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("part.wav");
    let o = ttrack(&[
        "render",
        song("demo-kit.ttrk.toml").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--rate",
        "44100",
        "--format",
        "s16",
        "--from",
        "1",
        "--to",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r = hound::WavReader::open(&out).unwrap();
    assert_eq!(
        (r.spec().sample_rate, r.spec().bits_per_sample),
        (44_100, 16)
    );
    // Two 64-row patterns at 112 BPM, LPB 4: 2 × 64 × 60 / 448 s = 17.14 s, plus the tail.
    let secs = r.duration() as f64 / 44_100.0;
    assert!((17.1..21.0).contains(&secs), "rendered {secs:.2} s");
    let f32_out = dir.path().join("f.wav");
    let o = ttrack(&[
        "render",
        song("demo-kit.ttrk").to_str().unwrap(),
        "-o",
        f32_out.to_str().unwrap(),
        "--format",
        "f32",
        "--to",
        "0",
    ]);
    assert!(o.status.success());
    let r = hound::WavReader::open(&f32_out).unwrap();
    assert_eq!(r.spec().sample_format, hound::SampleFormat::Float);
}

#[test]
fn s16_renders_are_dithered_and_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
    for p in [&a, &b] {
        let o = ttrack(&[
            "render",
            song("demo-synth.ttrk").to_str().unwrap(),
            "-o",
            p.to_str().unwrap(),
            "--format",
            "s16",
            "--to",
            "0",
        ]);
        assert!(o.status.success());
    }
    let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(x, y, "two renders differ");
    // In the silent end of the tail, TPDF dither leaves values of at most ±2 LSB instead of
    // digital silence.
    let samples: Vec<i16> = hound::WavReader::open(&a)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    let tail = &samples[samples.len() - 2000..];
    assert!(tail.iter().any(|&s| s != 0), "no dither in the tail");
    assert!(
        tail.iter().all(|&s| s.abs() <= 2),
        "tail louder than dither: {:?}",
        &tail[..20]
    );
}

#[test]
fn info_describes_the_song() {
    let o = ttrack(&["info", song("demo-kit.ttrk").to_str().unwrap()]);
    let s = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for want in [
        "Late Bus Home",
        "112 BPM",
        "0:51.429",
        "384 rows",
        "tracks       6",
        "Keys",
        "sample 120000 frames",
        "order        00 01 02 03 02 04",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
}

/// Output into a pipe whose reader has gone (`ttrack info SONG | head -1`) is no error: no
/// panic, the usual exit status, and a render still writes its file.
#[test]
fn a_closed_output_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("piped.wav");
    let runs: [Vec<String>; 3] = [
        vec!["info".into(), song("demo-kit.ttrk").display().to_string()],
        vec!["keys".into()],
        vec![
            "render".into(),
            song("demo-synth.ttrk").display().to_string(),
            "--to".into(),
            "0".into(),
            "-o".into(),
            out.display().to_string(),
        ],
    ];
    for args in runs {
        // Both outputs into pipes already closed at the reading end: every write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        let (ereader, ewriter) = std::io::pipe().unwrap();
        drop((reader, ereader));
        let status = Command::new(env!("CARGO_BIN_EXE_ttrack"))
            .args(&args)
            .stdout(writer)
            .stderr(ewriter)
            .status()
            .expect("run ttrack");
        assert!(status.success(), "{args:?}: {status}");
    }
    let bytes = std::fs::read(&out).expect("the render wrote its file");
    assert!(bytes.len() > 1000 && bytes.starts_with(b"RIFF"));
}

#[test]
fn convert_round_trips_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let (t, b) = (dir.path().join("k.ttrk.toml"), dir.path().join("k.ttrk"));
    assert!(
        ttrack(&[
            "convert",
            song("demo-kit.ttrk").to_str().unwrap(),
            t.to_str().unwrap()
        ])
        .status
        .success()
    );
    assert!(
        ttrack(&["convert", t.to_str().unwrap(), b.to_str().unwrap()])
            .status
            .success()
    );
    let (orig, back) = (
        ttrack::format::load_song(&song("demo-kit.ttrk")).unwrap(),
        ttrack::format::load_song(&b).unwrap(),
    );
    // Equal except for where the samples now live (written beside the new text file).
    assert_eq!(orig.patterns, back.patterns);
    assert_eq!(orig.tracks, back.tracks);
    for (x, y) in orig.instruments.iter().zip(&back.instruments) {
        match (x.as_ref().map(|i| &i.kind), y.as_ref().map(|i| &i.kind)) {
            (
                Some(ttrack::model::InstrumentKind::Sampler(a)),
                Some(ttrack::model::InstrumentKind::Sampler(b)),
            ) => {
                assert_eq!(a.sample.data, b.sample.data);
                assert_eq!(
                    (a.loop_start, a.loop_end, a.base_note),
                    (b.loop_start, b.loop_end, b.base_note)
                );
            }
            (a, b) => assert_eq!(a, b),
        }
    }
}

#[test]
fn bad_input_gives_a_clear_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ttrk");
    std::fs::write(&bad, b"TTRK\x63\x00garbage").unwrap();
    let out = dir.path().join("never.wav");
    let o = ttrack(&["render", bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad.ttrk") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!out.exists());
    let o = ttrack(&[
        "render",
        song("demo-kit.ttrk").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--rate",
        "12345",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("44100, 48000 or 96000"));
    let o = ttrack(&[
        "render",
        song("demo-kit.ttrk").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--from",
        "9",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("order positions"),
        "{}",
        text(&o.stderr)
    );
    let o = ttrack(&["info", dir.path().join("missing.ttrk").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("missing.ttrk"));
    // Writing into a directory that does not exist fails cleanly too.
    let o = ttrack(&[
        "render",
        song("demo-kit.ttrk").to_str().unwrap(),
        "-o",
        "/nonexistent/dir/x.wav",
        "--to",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn the_ui_without_a_terminal_says_so() {
    let o = Command::new(env!("CARGO_BIN_EXE_ttrack"))
        .arg(song("demo-synth.ttrk"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("ttrack needs a terminal; `ttrack render` works without one"),
        "{err}"
    );
}

#[test]
fn keys_prints_the_default_keymap() {
    let o = ttrack(&["keys"]);
    assert!(o.status.success());
    let s = text(&o.stdout);
    assert!(
        s.contains("[pattern]") && s.contains("\"Insert\"") && s.contains("\"pattern.insert_row\""),
        "{s}"
    );
}

#[test]
fn jack_and_midi_problems_are_clear_errors() {
    // A server name nobody uses: JACK is either not installed or has no such server running.
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ttrack"))
            .args(args)
            .env("JACK_DEFAULT_SERVER", "ttrack-no-such-server")
            .output()
            .expect("run ttrack")
    };
    let demo = song("demo-synth.ttrk");
    let o = run(&[
        "play",
        demo.to_str().unwrap(),
        "--audio-host",
        "jack",
        "--seconds",
        "1",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no JACK server is running") || err.contains("JACK is not installed"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let o = run(&["play", demo.to_str().unwrap(), "--audio-host", "pulse"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("use alsa or jack"));
    // A MIDI input that cannot be found (or no MIDI system at all) stops `play` with the reason.
    let o = run(&[
        "play",
        demo.to_str().unwrap(),
        "--device",
        "clock",
        "--midi-in",
        "no such keyboard",
        "--seconds",
        "1",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the ALSA sequencer is not available")
            || err.contains("no MIDI input is named like \"no such keyboard\""),
        "{err}"
    );
    // `devices` says what it found for MIDI and JACK, whatever the machine has.
    let o = run(&["devices"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("MIDI inputs") || out.contains("MIDI: the ALSA sequencer is not available"),
        "{out}"
    );
    assert!(
        out.contains("JACK: no JACK server is running")
            || out.contains("JACK: JACK is not installed"),
        "{out}"
    );
}
