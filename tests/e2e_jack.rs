//! `--buffer 256` under a JACK-paced ALSA device: a JACK server with the dummy driver paces the
//! ALSA `jack` plugin in real time; `ttrack play` must keep up with 256-frame periods (no xruns),
//! take real time, and produce the same samples as the render.
//! Needs jackd (Debian jackd2) and the ALSA jack plugin (libasound2-plugins); without them the
//! test skips, saying why, except under `CI=true`, where it fails.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use std::process::Command;
use std::time::{Duration, Instant};

fn prerequisites() -> bool {
    let jackd = Command::new("jackd").arg("--version").output().is_ok();
    let plugin =
        std::path::Path::new("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_jack.so")
            .exists()
            || std::path::Path::new(
                "/usr/lib/aarch64-linux-gnu/alsa-lib/libasound_module_pcm_jack.so",
            )
            .exists();
    if jackd && plugin {
        return true;
    }
    let why = "jackd (jackd2) or the ALSA jack plugin (libasound2-plugins) is missing";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("prerequisite missing under CI: {why}");
    }
    eprintln!("skipping: {why}");
    false
}

#[test]
fn play_with_256_frame_buffers_under_jack_keeps_time_without_xruns() {
    if !prerequisites() {
        return;
    }
    // One fixed name: a registry entry left by an interrupted run is reused, not piled up.
    // With this process's id: test runs side by side must not meet on one server.
    let name = format!("ttrack-e2e-{}", std::process::id());
    let _jack = common::jack::start(&name, 256);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm.!default {{\n type file\n slave.pcm \"jack\"\n file \"{}/out_%r_%c_%f.raw\"\n format \"raw\"\n}}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let song = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("songs/demo-kit.ttrk");
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_ttrack"))
        .args([
            "play",
            song.to_str().unwrap(),
            "--buffer",
            "256",
            "--rate",
            "48000",
            "--seconds",
            "2",
        ])
        .env(
            "ALSA_CONFIG_PATH",
            format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
        )
        .env("JACK_DEFAULT_SERVER", &name)
        .output()
        .unwrap();
    let took = started.elapsed();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("256-frame buffers"), "{out}");
    assert!(out.contains("played     96000 frames"), "{out}");
    assert!(
        out.contains("xruns      0"),
        "xruns under JACK pacing:\n{out}"
    );
    assert!(
        took >= Duration::from_millis(1900),
        "not paced in real time: {took:?}"
    );
    // The paced capture equals the render too.
    let raw = std::fs::read(dir.path().join("out_48000_2_FLOAT_LE.raw")).unwrap();
    let got: Vec<f32> = raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let wav = dir.path().join("r.wav");
    let r = Command::new(env!("CARGO_BIN_EXE_ttrack"))
        .args([
            "render",
            song.to_str().unwrap(),
            "-o",
            wav.to_str().unwrap(),
            "--format",
            "f32",
        ])
        .output()
        .unwrap();
    assert!(r.status.success());
    let want: Vec<f32> = hound::WavReader::open(&wav)
        .unwrap()
        .into_samples::<f32>()
        .map(|s| s.unwrap())
        .collect();
    let n = 96_000 * 2;
    assert!(got.len() >= n, "captured {} values", got.len());
    let worst = (0..n)
        .map(|i| (got[i] - want[i]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 3.2e-5,
        "paced output differs from the render by {:.1} dB",
        20.0 * worst.log10()
    );
}
