//! Loudness-normalised renders of the demo songs through the command line, measured twice: by
//! ttrack's own report (`--report json`) and independently by ffmpeg's `ebur128` filter on the
//! written file. Both must be within 0.3 LU of the target, and the true peak under the ceiling.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::Path;
use std::process::Command;

fn ffmpeg_available() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("ffmpeg is missing; scripts/deps.sh test installs it");
    }
    ok
}

/// Integrated loudness (LUFS) and true peak (dBTP) of a file as ffmpeg's ebur128 filter sees them.
fn ffmpeg_ebur128(path: &Path) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.split("Summary:").nth(1).unwrap_or_else(|| {
        panic!("no ebur128 summary in ffmpeg's output:\n{text}");
    });
    let value = |key: &str| -> f64 {
        summary
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{key}` in the summary:\n{summary}"))
    };
    (value("I:"), value("Peak:"))
}

fn render(song: &str, out: &Path, args: &[&str]) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new(env!("CARGO_BIN_EXE_ttrack"))
        .arg("render")
        .arg(root.join("songs").join(song))
        .arg("-o")
        .arg(out)
        .args(args)
        .args(["--report", "json"])
        .output()
        .expect("run ttrack");
    assert!(
        o.status.success(),
        "ttrack render {song} {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "the report is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn check(song: &str, args: &[&str], target: f64, ceiling: f64) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    let report = render(song, &out, args);
    let ours = report["integrated_lufs"].as_f64().expect("integrated_lufs");
    let our_tp = report["true_peak_dbtp"].as_f64().expect("true_peak_dbtp");
    assert!(
        (ours - target).abs() <= 0.3,
        "{song} {args:?}: our meter says {ours:.2} LUFS, target {target}"
    );
    assert!(
        our_tp <= ceiling + 0.1,
        "{song} {args:?}: our meter says true peak {our_tp:.2} dBTP, ceiling {ceiling}"
    );
    for key in ["loudness_range_lu", "sample_peak_dbfs", "gain_db"] {
        assert!(report[key].is_number(), "report lacks {key}: {report}");
    }
    if ffmpeg_available() {
        let (i, tp) = ffmpeg_ebur128(&out);
        assert!(
            (i - target).abs() <= 0.3,
            "{song} {args:?}: ffmpeg measures {i:.1} LUFS, target {target}"
        );
        assert!(
            tp <= ceiling + 0.1,
            "{song} {args:?}: ffmpeg measures true peak {tp:.1} dBTP, ceiling {ceiling}"
        );
        assert!(
            (i - ours).abs() <= 0.2,
            "{song}: ffmpeg {i:.1} LUFS and ours {ours:.2} LUFS disagree"
        );
    } else {
        eprintln!("ffmpeg not installed: skipping the independent measurement");
    }
}

#[test]
fn streaming_preset_hits_minus_14_lufs() {
    check("demo-synth.ttrk", &["--master", "streaming"], -14.0, -1.0);
}

#[test]
fn explicit_targets_override_a_preset() {
    check(
        "demo-kit.ttrk",
        &["--master", "club", "--loudness", "-16", "--true-peak", "-2"],
        -16.0,
        -2.0,
    );
}

#[test]
fn broadcast_preset_hits_minus_23_lufs() {
    check("demo-kit.ttrk", &["--master", "broadcast"], -23.0, -1.0);
}

#[test]
fn bad_mastering_options_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (args, words) in [
        (vec!["--master", "loud"], "not a mastering preset"),
        (vec!["--loudness", "5"], "not a loudness in LUFS"),
        (vec!["--true-peak", "-40"], "not a true-peak ceiling"),
        (vec!["--report", "xml"], "xml"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_ttrack"))
            .arg("render")
            .arg(root.join("songs/demo-synth.ttrk"))
            .arg("-o")
            .arg(dir.path().join("x.wav"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
        assert!(!dir.path().join("x.wav").exists());
    }
}
