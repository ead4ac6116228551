//! The real binary in a real terminal (tmux): start a new song, enter notes, play, stop, save,
//! quit; then load the file and check its cells. Also: with no audio device the UI starts all the
//! same, says so, plays on a clock, and no audio-system chatter reaches the screen.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::tmux::{Tmux, available};
use ttrack::model::Note;

#[test]
fn new_song_notes_play_save_quit_reload() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("first.ttrk");
    let state = dir.path().join("state");
    let bin = env!("CARGO_BIN_EXE_ttrack");
    // No sound card here: ALSA is pointed at a configuration without a usable default device.
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        "pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n",
    )
    .unwrap();
    let alsa = format!("/usr/share/alsa/alsa.conf:{}", conf.display());
    let t = Tmux::start(
        "basic",
        80,
        24,
        &format!("{bin} {}", song.display()),
        &[
            ("XDG_STATE_HOME", state.to_str().unwrap()),
            ("ALSA_CONFIG_PATH", &alsa),
            ("HOME", dir.path().to_str().unwrap()),
        ],
    );
    let s = t.wait_for("first.ttrk", 10.0);
    assert!(s.contains("no audio device: silent"), "{s}");
    assert!(
        !s.contains("ALSA lib"),
        "audio-system chatter on the screen:\n{s}"
    );
    t.keys(&["Escape"]);
    t.wait_for("EDIT", 5.0);
    t.keys(&["z", "x", "c", "v"]);
    t.wait_for("F-4 01", 5.0);
    // Play on the clock: the position advances.
    t.keys(&["Space"]);
    t.wait_for("▶", 5.0);
    t.wait_for("row 0", 5.0);
    let before = t.screen();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let after = t.screen();
    assert_ne!(
        status_line(&before),
        status_line(&after),
        "the play position did not move"
    );
    t.keys(&["Space"]);
    t.wait_for("■", 5.0);
    t.keys(&["C-s"]);
    t.wait_for("saved", 5.0);
    t.keys(&["C-q"]);
    t.wait_for("[exit 0]", 5.0);
    let back = ttrack::format::load_song(&song).unwrap();
    let p = &back.patterns[0];
    let notes: Vec<Note> = (0..5).map(|r| p.note(0, r, 0).note).collect();
    let want: Vec<Note> = ["C-4", "D-4", "E-4", "F-4", "..."]
        .iter()
        .map(|n| Note::parse(n).unwrap())
        .collect();
    assert_eq!(notes, want);
    assert_eq!(p.note(0, 0, 0).instrument, 1);
}

fn status_line(screen: &str) -> String {
    screen.lines().next().unwrap_or_default().to_string()
}

#[test]
fn unsaved_changes_are_asked_about_and_the_terminal_is_restored() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("ask.ttrk");
    let bin = env!("CARGO_BIN_EXE_ttrack");
    let t = Tmux::start(
        "ask",
        80,
        24,
        &format!("{bin} {} --device clock; echo after", song.display()),
        &[("XDG_STATE_HOME", dir.path().to_str().unwrap())],
    );
    t.wait_for("ask.ttrk", 10.0);
    // R rebuilds the engine and reopens the output (here the clock); playback still works.
    t.keys(&["R"]);
    t.wait_for("reopening the audio device", 5.0);
    t.keys(&["Space"]);
    t.wait_for("▶", 5.0);
    t.keys(&["Space"]);
    t.wait_for("■", 5.0);
    // Escape alone: followed at once by a key, terminals read it as Alt plus that key.
    t.keys(&["Escape"]);
    t.wait_for("EDIT", 5.0);
    t.keys(&["z"]);
    t.wait_for("C-4 01", 5.0);
    t.keys(&["C-q"]);
    t.wait_for(
        "Save changes? y = save and quit, n = quit without saving, Esc = cancel",
        5.0,
    );
    t.keys(&["n"]);
    let s = t.wait_for("[exit 0]", 5.0);
    assert!(s.contains("after"), "{s}");
    assert!(!song.exists(), "quit without saving wrote the file");
}

/// The audio the TUI plays through a real ALSA device (its default pointed at a raw file by
/// alsa-lib's `file` plugin over the `null` device) equals `ttrack render` of the same song.
/// The null device does not pace the stream, so the test keeps the UI running only briefly.
#[test]
fn tui_playback_through_alsa_equals_the_render() {
    if !available() {
        return;
    }
    if !std::path::Path::new("/usr/share/alsa/alsa.conf").is_file() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "alsa-lib configuration missing under CI"
        );
        eprintln!("skipping: /usr/share/alsa/alsa.conf is missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let conf = out.join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.!default {{\n type file\n slave.pcm \"null\"\n file \"{}/out_%r_%c_%f.raw\"\n format \"raw\"\n}}\n",
            out.display()
        ),
    )
    .unwrap();
    let alsa = format!("/usr/share/alsa/alsa.conf:{}", conf.display());
    let song = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-synth.ttrk");
    // Work on a copy so the UI can never touch the repository's file.
    let copy = out.join("demo.ttrk");
    std::fs::copy(&song, &copy).unwrap();
    let bin = env!("CARGO_BIN_EXE_ttrack");
    let t = Tmux::start(
        "alsa",
        100,
        30,
        &format!("{bin} {} --rate 48000", copy.display()),
        &[
            ("ALSA_CONFIG_PATH", &alsa),
            ("XDG_STATE_HOME", out.to_str().unwrap()),
        ],
    );
    let s = t.wait_for("demo.ttrk", 10.0);
    assert!(
        !s.contains("no audio device"),
        "the ALSA file device was not used:\n{s}"
    );
    t.keys(&["Space"]);
    t.wait_for("▶", 5.0);
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.keys(&["C-q"]);
    t.wait_for("[exit 0]", 10.0);
    let raw = std::fs::read(out.join("out_48000_2_FLOAT_LE.raw")).expect("capture file");
    let captured: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let render = out.join("render.raw.wav");
    let o = std::process::Command::new(bin)
        .args([
            "render",
            copy.to_str().unwrap(),
            "-o",
            render.to_str().unwrap(),
            "--format",
            "f32",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let want: Vec<f32> = hound::WavReader::open(&render)
        .unwrap()
        .into_samples::<f32>()
        .map(|s| s.unwrap())
        .collect();
    let first = |x: &[f32]| x.iter().position(|&v| v != 0.0).expect("silence only");
    let (c0, w0) = (first(&captured), first(&want));
    assert!(
        c0 >= w0 && (c0 - w0) % 2 == 0,
        "capture onset {c0}, render onset {w0}"
    );
    let offset = c0 - w0;
    let n = (10 * 48_000 * 2).min(want.len());
    assert!(
        captured.len() >= offset + n,
        "captured only {} values after the start",
        captured.len() - offset
    );
    let worst = (0..n)
        .map(|i| (captured[offset + i] - want[i]).abs())
        .fold(0.0f32, f32::max);
    let db = 20.0 * worst.max(1e-30).log10();
    assert!(
        db < -90.0,
        "live output differs from the render by {db:.1} dB (max abs {worst:e})"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_prints_the_message() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("boom.ttrk");
    let bin = env!("CARGO_BIN_EXE_ttrack");
    let t = Tmux::start(
        "panic",
        80,
        24,
        &format!("{bin} {} --device clock", song.display()),
        &[
            ("XDG_STATE_HOME", dir.path().to_str().unwrap()),
            ("TTRACK_TEST_PANIC", "1"),
        ],
    );
    t.wait_for("boom.ttrk", 10.0);
    assert!(t.alternate_on(), "the UI should be on the alternate screen");
    t.keys(&["F12"]);
    let s = t.wait_for("[exit 101]", 10.0);
    assert!(
        !t.alternate_on(),
        "the alternate screen was not left after the panic"
    );
    // The message reached the restored screen (stderr was put back before printing), and lines
    // start at column 0 (raw mode is off again).
    assert!(s.contains("deliberate panic on F12"), "{s}");
    assert!(
        s.lines().any(|l| l.starts_with("[exit 101]")),
        "raw mode left on:\n{s}"
    );
}

/// The level readouts of the strip named `name` on a mixer screen: (peak, RMS) in dBFS, None
/// while the strip is not visible (−inf reads as −200).
fn mixer_readouts(screen: &str, name: &str) -> Option<(f32, f32)> {
    let lines: Vec<&str> = screen.lines().collect();
    let (header, col) = lines.iter().enumerate().find_map(|(i, l)| {
        l.split('│')
            .position(|cell| cell.trim_start_matches('‹').starts_with(name))
            .map(|col| (i, col))
    })?;
    let value = |prefix: &str| -> Option<f32> {
        let line = lines[header..].iter().find(|l| l.starts_with(prefix))?;
        let cell = line.split('│').nth(col)?.trim();
        let v = cell.split_whitespace().nth(1)?;
        Some(if v == "-inf" { -200.0 } else { v.parse().ok()? })
    };
    Some((value("pk")?, value("rms")?))
}

/// The mixer's meters move while the demo song plays on the clock, and fall back to silence
/// after it stops; a volume change shows in the strip and the message line.
#[test]
fn mixer_meters_move_while_playing() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-synth.ttrk");
    let copy = dir.path().join("demo.ttrk");
    std::fs::copy(&song, &copy).unwrap();
    let bin = env!("CARGO_BIN_EXE_ttrack");
    let t = Tmux::start(
        "mixer",
        80,
        24,
        &format!("{bin} {} --device clock", copy.display()),
        &[("XDG_STATE_HOME", dir.path().to_str().unwrap())],
    );
    t.wait_for("demo.ttrk", 10.0);
    t.keys(&["F5"]);
    t.wait_for("01 Kick", 5.0);
    // Silent before playing.
    let s = t.screen();
    assert_eq!(mixer_readouts(&s, "01 Kick"), Some((-200.0, -200.0)), "{s}");
    // The master strip is the last one: End scrolls to it.
    t.keys(&["End"]);
    t.wait_for("Master", 5.0);
    t.keys(&["Space"]);
    t.wait_for("▶", 5.0);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let s = t.screen();
        if let Some((pk, rms)) = mixer_readouts(&s, "Master") {
            seen.push(pk);
            if pk > -20.0 && rms > -40.0 && rms < pk {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < end,
            "the master meter never rose above -20 dBFS (readouts {seen:?}):\n{s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The meters keep moving: two screens a moment apart differ in the meter area (from the
    // strip names down to the readouts; the clock in the status line does not count).
    let meters = |s: &str| -> String {
        s.lines()
            .skip_while(|l| !l.contains("Master"))
            .take_while(|l| !l.starts_with("vol"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let a = meters(&t.screen());
    std::thread::sleep(std::time::Duration::from_millis(400));
    let b = meters(&t.screen());
    assert!(a.contains("rms"), "{a}");
    assert_ne!(a, b, "the meters stood still while playing");
    // A volume change on the master shows at once.
    t.keys(&["-", "-"]);
    t.wait_for("Master: volume -1.0 dB", 5.0);
    t.keys(&["Space"]);
    t.wait_for("■", 5.0);
    // Stopped: the meters fall back to silence.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = t.screen();
        if mixer_readouts(&s, "Master").is_some_and(|(pk, _)| pk < -90.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "the master meter did not fall after stopping:\n{s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    t.keys(&["C-q"]);
    t.wait_for("Save changes?", 5.0);
    t.keys(&["n"]);
    t.wait_for("[exit 0]", 5.0);
}

/// A take cut short by a crash (its WAV header still says 0 frames) is repaired when the song
/// opens, and the message line says how much came back.
#[test]
fn opening_a_song_repairs_a_cut_short_take_and_says_so() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("crashed.ttrk");
    ttrack::format::save_song(&ttrack::model::Song::new_default(), &song).unwrap();
    let takes = dir.path().join("crashed.rec");
    std::fs::create_dir_all(&takes).unwrap();
    let wav = takes.join("take-001.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..48_000 {
        let v = (i as f32 * 0.01).sin() * 0.5;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    // As a writer killed before its first header update leaves it: RIFF and data sizes 0.
    let mut bytes = std::fs::read(&wav).unwrap();
    bytes[4..8].copy_from_slice(&0u32.to_le_bytes());
    let data = bytes.windows(4).position(|x| x == b"data").unwrap();
    bytes[data + 4..data + 8].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(&wav, bytes).unwrap();

    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        "pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n",
    )
    .unwrap();
    let alsa = format!("/usr/share/alsa/alsa.conf:{}", conf.display());
    let bin = std::env::var("TTRACK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ttrack").into());
    let t = Tmux::start(
        "repair",
        120,
        24,
        &format!("{bin} {}", song.display()),
        &[
            ("ALSA_CONFIG_PATH", &alsa),
            ("HOME", dir.path().to_str().unwrap()),
        ],
    );
    let s = t.wait_for("repaired take-001.wav", 10.0);
    assert!(s.contains("1.0 s"), "{s}");
    t.keys(&["C-q"]);
    t.wait_for("[exit 0]", 5.0);
    let fixed = ttrack::format::wav::read_wav(&wav).unwrap();
    assert_eq!(fixed.frames, 48_000);
}
