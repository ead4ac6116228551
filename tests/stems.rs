//! Stem renders: every file the same length and aligned at time zero, the track and return stems
//! summing to mix.wav within −90 dB, and master.wav equal to a plain render.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use std::path::Path;
use ttrack::render::stems::{render_stems, stem_files, stem_names};
use ttrack::render::{Mastering, RenderOptions, SampleFormat, render_to_vec};

fn read(path: &Path) -> (Vec<f32>, Vec<f32>) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let s: Vec<f32> = r.samples::<f32>().map(|x| x.unwrap()).collect();
    (
        s.iter().step_by(2).copied().collect(),
        s.iter().skip(1).step_by(2).copied().collect(),
    )
}

fn check(song: &ttrack::model::Song, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let opts = RenderOptions::default();
    let report = render_stems(
        song,
        dir.path(),
        opts,
        SampleFormat::F32,
        Mastering::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let names = stem_names(song);
    assert_eq!(report.files.len(), names.len());
    let files: Vec<(Vec<f32>, Vec<f32>)> = report.files.iter().map(|p| read(p)).collect();
    for (f, n) in files.iter().zip(&names) {
        assert_eq!(
            f.0.len() as u64,
            report.frames,
            "{what}: {n} has another length"
        );
    }
    let k = names.len();
    let (mix, master) = (&files[k - 2], &files[k - 1]);
    // The files at the top (ungrouped tracks, groups, returns) sum to the mix.
    let top: Vec<&(Vec<f32>, Vec<f32>)> = files[..k - 2]
        .iter()
        .zip(&names)
        .filter(|(_, n)| !n.contains('/'))
        .map(|(f, _)| f)
        .collect();
    let mut worst = 0.0f32;
    for i in 0..mix.0.len() {
        let (mut l, mut r) = (0.0f32, 0.0f32);
        for f in &top {
            l += f.0[i];
            r += f.1[i];
        }
        worst = worst.max((l - mix.0[i]).abs()).max((r - mix.1[i]).abs());
    }
    let db = 20.0 * (worst.max(1e-12) as f64).log10();
    assert!(
        db <= -90.0,
        "{what}: stems differ from the mix by {db:.1} dB"
    );
    assert!(
        common::measure::peak_db(&mix.0) > -30.0,
        "{what}: the mix is silent"
    );
    // The mix lines up with the master in time (the master chain's look-ahead is made up for, in
    // the stems too): their correlation peaks at lag 0.
    let n = mix.0.len().min(96_000);
    let corr = |lag: i64| -> f64 {
        (300..n - 300)
            .map(|i| mix.0[i] as f64 * master.0[(i as i64 + lag) as usize] as f64)
            .sum()
    };
    let best = (-256..=256)
        .max_by(|&a, &b| corr(a).total_cmp(&corr(b)))
        .unwrap();
    assert_eq!(best, 0, "{what}: the mix is {best} frames off the master");
    // master.wav is the plain render, sample for sample.
    let (pl, pr) = render_to_vec(song, opts).unwrap();
    assert_eq!(
        pl.len(),
        master.0.len(),
        "{what}: master length vs plain render"
    );
    let diff = pl
        .iter()
        .zip(&master.0)
        .chain(pr.iter().zip(&master.1))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff < 1e-6,
        "{what}: master.wav differs from a plain render by {diff:e}"
    );
}

#[test]
fn demo_kit_stems_sum_to_the_mix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let song = ttrack::format::load_song(&root.join("songs/demo-kit.ttrk")).unwrap();
    check(&song, "demo-kit");
}

#[test]
fn stems_with_sends_inserts_and_master_chain_sum_to_the_mix() {
    let mut song = common::songs::busy_mixed(6);
    song.order.truncate(2);
    check(&song, "busy mixed");
}

#[test]
fn stem_names_are_numbered_and_file_safe() {
    let mut song = common::songs::busy(3);
    song.tracks[1].name = "Lead / Synth: 2".into();
    let names = stem_names(&song);
    assert_eq!(names[0], "01-Busy_0.wav");
    assert_eq!(names[1], "02-Lead___Synth__2.wav");
    assert_eq!(
        &names[3..],
        [
            "return-reverb.wav",
            "return-delay.wav",
            "mix.wav",
            "master.wav"
        ]
    );
}

#[test]
fn grouped_tracks_go_into_subfolders_and_groups_sum_to_the_mix() {
    use ttrack::model::mix;
    let mut song = common::songs::busy_mixed(6);
    song.order.truncate(2);
    song.groups = vec![mix::Group::new("Drums"), mix::Group::new("Keys & Pads")];
    song.groups[1].volume_db = -4.0;
    song.groups[1].pan = 0.3;
    song.groups[1].sends = [-10.0, mix::OFF_DB];
    song.groups[1].inserts = vec![mix::Insert::Compressor(mix::Compressor::default())];
    for (t, g) in [(0, 0u8), (1, 0), (3, 1), (4, 1)] {
        song.tracks[t].group = Some(g);
    }
    let files = stem_files(&song);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names[0], "G1-Drums/01-Busy_0.wav");
    assert_eq!(names[2], "03-Busy_2.wav");
    assert_eq!(names[3], "G2-Keys___Pads/04-Busy_3.wav");
    assert!(names.contains(&"G1-Drums.wav") && names.contains(&"G2-Keys___Pads.wav"));
    check(&song, "grouped");
}
