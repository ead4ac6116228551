//! Real audio end to end: the debug binary plays through cpal into ALSA, whose default device is
//! pointed at a raw file (the `null` mode of `../shared/audio-test/alsa-test-env.sh`), and the
//! capture must equal `ttrack render --format f32` of the same song. Also: the clock backend is
//! paced in real time, and a machine without a usable device gets a clear error, not a panic.
//!
//! ALSA reads `ALSA_CONFIG_PATH` once per process, so each test writes its own `asound.conf` into
//! a temporary directory and sets the variable for the child process only. The `null` and `file`
//! PCMs are part of alsa-lib itself (libasound2), no plugin package is needed. Without alsa-lib's
//! configuration a test skips, saying why; under `CI=true` it fails instead.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// alsa-lib's own configuration, which defines the `null` and `file` PCMs and is read first.
const SYSTEM_ALSA_CONF: &str = "/usr/share/alsa/alsa.conf";

/// The recipe of `../shared/audio-test/alsa/file-null.conf`: playback on the default device goes
/// to `@OUT@/out_<rate>_<channels>_<FORMAT>.raw`, unpaced (the null slave never blocks).
const FILE_NULL_CONF: &str = r#"pcm.!default {
    type file
    slave.pcm "null"
    file "@OUT@/out_%r_%c_%f.raw"
    format "raw"
}
"#;

/// A default device that cannot exist: a hardware card by a name no driver uses.
const NO_DEVICE_CONF: &str = r#"pcm.!default {
    type hw
    card "ttrack_no_such_card"
}
ctl.!default {
    type hw
    card "ttrack_no_such_card"
}
"#;

/// A configuration alsa-lib cannot even parse: the audio host itself fails to start.
const BROKEN_CONF: &str = "pcm.!default {{{ this is not ALSA syntax\n";

/// Whether ALSA can be configured here; under CI a missing prerequisite is a failure.
fn alsa_available() -> bool {
    if Path::new(SYSTEM_ALSA_CONF).is_file() {
        return true;
    }
    let why = format!("{SYSTEM_ALSA_CONF} is missing (apt-get install libasound2)");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("prerequisite missing under CI: {why}");
    }
    eprintln!("skipping: {why}");
    false
}

fn song(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("songs")
        .join(name)
}

/// Writes `conf` (with `@OUT@` = `dir`) to `dir/asound.conf`; returns the ALSA_CONFIG_PATH value.
fn alsa_config(dir: &Path, conf: &str) -> String {
    let path = dir.join("asound.conf");
    std::fs::write(
        &path,
        conf.replace("@OUT@", dir.to_str().expect("utf-8 temp dir")),
    )
    .expect("write asound.conf");
    format!("{SYSTEM_ALSA_CONF}:{}", path.display())
}

fn ttrack(args: &[&str], alsa_config_path: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttrack"));
    cmd.args(args);
    if let Some(p) = alsa_config_path {
        cmd.env("ALSA_CONFIG_PATH", p);
    }
    cmd.output().expect("run ttrack")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The number after `key` on its line of `ttrack play`'s report.
fn figure(stdout: &str, key: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().find_map(|w| w.parse::<f64>().ok()))
        .unwrap_or_else(|| panic!("no figure after {key:?} in:\n{stdout}"))
}

const FRAMES: usize = 96_000;

#[test]
fn live_playback_through_alsa_equals_the_render() {
    if !alsa_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = alsa_config(dir.path(), FILE_NULL_CONF);
    let demo = song("demo-synth.ttrk");
    let demo = demo.to_str().expect("utf-8 path");
    let frames = FRAMES.to_string();
    let o = ttrack(
        &["play", demo, "--frames", &frames, "--rate", "48000"],
        Some(&conf),
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "ttrack play failed:\n{stdout}{stderr}");
    assert_eq!(figure(&stdout, "played"), FRAMES as f64, "{stdout}");
    // The debug binary's allocator reports any allocation inside the real cpal callback.
    assert!(
        !stderr.contains("Tried to (de)allocate"),
        "the live callback allocated:\n{stderr}"
    );

    // cpal opens the file device as 32-bit float, 48 kHz, stereo; the file name says so.
    let raw_path = dir.path().join("out_48000_2_FLOAT_LE.raw");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list temp dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        raw_path.is_file(),
        "no FLOAT_LE stereo 48 kHz capture; files: {names:?}\n{stderr}"
    );
    let bytes = std::fs::read(&raw_path).expect("read capture");
    let live: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();

    let wav = dir.path().join("render.wav");
    let o = ttrack(
        &[
            "render",
            demo,
            "-o",
            wav.to_str().expect("utf-8 path"),
            "--format",
            "f32",
        ],
        None,
    );
    assert!(o.status.success(), "render failed: {}", text(&o.stderr));
    let rendered: Vec<f32> = hound::WavReader::open(&wav)
        .expect("open render")
        .into_samples::<f32>()
        .map(|s| s.expect("sample"))
        .collect();

    // The engine pre-rolls its look-ahead at play start: live output starts at time zero, like
    // the render.
    let latency = 0usize;
    assert!(
        live.len() >= 2 * (latency + FRAMES),
        "the capture holds {} frames, want at least {}",
        live.len() / 2,
        latency + FRAMES
    );
    assert!(rendered.len() >= 2 * FRAMES, "the render is too short");
    let live_part = &live[2 * latency..2 * (latency + FRAMES)];
    let render_part = &rendered[..2 * FRAMES];
    let peak = render_part.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak > 0.1, "the render is nearly silent (peak {peak})");
    let (worst, at) = live_part
        .iter()
        .zip(render_part)
        .map(|(a, b)| (a - b).abs())
        .enumerate()
        .fold(
            (0.0f32, 0usize),
            |(m, at), (i, d)| {
                if d > m { (d, i) } else { (m, at) }
            },
        );
    let worst_db = 20.0 * f64::from(worst).max(1e-30).log10();
    eprintln!(
        "live vs render over {FRAMES} frames: max difference {worst:e} ({worst_db:.1} dBFS), \
         latency {latency} frames"
    );
    assert!(
        worst_db <= -90.0,
        "live differs from render by {worst_db:.1} dBFS at frame {} (want ≤ −90 dB)",
        at / 2
    );
    // Playback stopped at exactly the frame asked for: the rest of the capture is silence.
    let after = &live[2 * (latency + FRAMES)..];
    assert!(
        after.iter().all(|&x| x == 0.0),
        "sound after the last frame asked for"
    );
}

#[test]
fn the_clock_backend_plays_in_real_time() {
    let demo = song("demo-kit.ttrk");
    let started = Instant::now();
    let o = ttrack(
        &[
            "play",
            demo.to_str().expect("utf-8 path"),
            "--device",
            "clock",
            "--seconds",
            "0.5",
        ],
        None,
    );
    let wall = started.elapsed().as_secs_f64();
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("clock (no device)"), "{stderr}");
    let frames = figure(&stdout, "played");
    let reported = figure(&stdout, "time");
    eprintln!("clock: {frames} frames, {reported:.3} s of playback, {wall:.3} s wall time");
    assert!(
        (frames - 24_000.0).abs() <= 1.0,
        "played {frames} frames, want 24000"
    );
    // Not a burst: 0.5 s of audio takes 0.5 s (less at most one 512-frame period).
    assert!(reported >= 0.45, "played 0.5 s of audio in {reported:.3} s");
    assert!(wall >= 0.45, "the process took {wall:.3} s");
    assert!(wall < 5.0, "0.5 s of audio took {wall:.3} s of wall time");
}

#[test]
fn without_a_usable_device_play_fails_clearly_and_devices_still_lists() {
    if !alsa_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = alsa_config(dir.path(), NO_DEVICE_CONF);
    let demo = song("demo-kit.ttrk");
    let o = ttrack(
        &["play", demo.to_str().expect("utf-8 path"), "--seconds", "1"],
        Some(&conf),
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("ttrack: cannot open the audio output")
            && stderr.contains("--device clock")
            && stderr.contains(
                "because: the audio device Default Audio Device (default) cannot be opened"
            ),
        "unclear error:\n{stderr}"
    );
    assert!(!stdout.contains("played"), "{stdout}");

    // A name that matches nothing lists what there is.
    let o = ttrack(
        &[
            "play",
            demo.to_str().expect("utf-8 path"),
            "--device",
            "no-such-device",
        ],
        Some(&conf),
    );
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("no audio output device is named like \"no-such-device\"; the outputs are:")
            && stderr.contains("(null)"),
        "{stderr}"
    );

    let o = ttrack(&["devices"], Some(&conf));
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert!(
        o.status.success(),
        "ttrack devices failed:\n{stdout}{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stdout.contains("outputs:") && stdout.contains("inputs:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the default audio output cannot be opened"),
        "no clear line about the missing device:\n{stdout}"
    );
}

#[test]
fn a_broken_alsa_configuration_is_an_error_and_render_never_touches_alsa() {
    if !alsa_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = alsa_config(dir.path(), BROKEN_CONF);
    let demo = song("demo-kit.ttrk");
    let demo = demo.to_str().expect("utf-8 path");
    for args in [&["devices"][..], &["play", demo, "--seconds", "1"][..]] {
        let o = ttrack(args, Some(&conf));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "ttrack {args:?}:\n{stderr}");
        assert!(
            !stderr.contains("panicked"),
            "ttrack {args:?} panicked:\n{stderr}"
        );
        assert!(
            stderr.contains("because: the audio system cannot be used"),
            "ttrack {args:?}:\n{stderr}"
        );
        // The error shows that alsa-lib did read this configuration.
        assert!(stderr.contains("ALSA lib"), "{stderr}");
    }
    // Rendering never opens the audio system, so alsa-lib has nothing to complain about.
    let wav = dir.path().join("out.wav");
    let o = ttrack(
        &[
            "render",
            demo,
            "--to",
            "0",
            "-o",
            wav.to_str().expect("utf-8 path"),
        ],
        Some(&conf),
    );
    let stderr = text(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("ALSA"), "render touched ALSA:\n{stderr}");
}
