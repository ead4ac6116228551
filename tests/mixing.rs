//! The mixer in the engine, checked on rendered audio: fader level and constant-power pan law,
//! mute and solo, master volume, sends and returns, live mixer changes without clicks, meters, and
//! block-size invariance with every stage in use.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::measure::*;
use common::*;
use ttrack::engine::mixer::{STRIP_MASTER, STRIP_REVERB};
use ttrack::engine::{self, Command, Engine, EngineHandle, EngineSong, MixState, PlayRange, rt};
use ttrack::model::mix;
use ttrack::model::*;

/// One sustained A-4 sine on each of `tracks` tracks (track t plays `pitches[t]`).
fn tones(pitches: &[&str]) -> Song {
    let mut s = song(pitches.len(), 16, vec![synth(Waveform::Sine)]);
    for (t, p) in pitches.iter().enumerate() {
        put(&mut s, t, 0, p, 1, None);
    }
    s
}

fn levels(s: &Song) -> (f64, f64) {
    let (l, r) = render(s);
    (
        rms_db(&l[frames(0.2)..frames(0.8)]),
        rms_db(&r[frames(0.2)..frames(0.8)]),
    )
}

#[test]
fn track_pan_is_constant_power_with_unity_at_centre() {
    let centre = levels(&tones(&["A-4"]));
    for pan in [-1.0f32, -0.5, 0.25, 1.0] {
        let mut s = tones(&["A-4"]);
        s.tracks[0].pan = pan;
        let (l, r) = levels(&s);
        let theta = (pan as f64 + 1.0) * std::f64::consts::FRAC_PI_4;
        let (wl, wr) = (
            centre.0 + 20.0 * (std::f64::consts::SQRT_2 * theta.cos()).max(1e-9).log10(),
            centre.1 + 20.0 * (std::f64::consts::SQRT_2 * theta.sin()).max(1e-9).log10(),
        );
        for (got, want, side) in [(l, wl, "left"), (r, wr, "right")] {
            if want > -100.0 {
                assert!(
                    (got - want).abs() < 0.1,
                    "pan {pan}: {side} {got:.2} dB, want {want:.2} dB"
                );
            } else {
                assert!(got < -100.0, "pan {pan}: {side} {got:.2} dB, want silence");
            }
        }
        // Constant power: the summed power equals the centre's.
        let p = |db: f64| 10f64.powf(db / 10.0);
        let sum = 10.0 * (p(l) + p(r)).log10();
        let want = 10.0 * (p(centre.0) + p(centre.1)).log10();
        assert!(
            (sum - want).abs() < 0.1,
            "pan {pan}: power {sum:.2} dB, centre {want:.2} dB"
        );
    }
}

#[test]
fn fader_and_master_volume_scale_the_level() {
    let (c, _) = levels(&tones(&["A-4"]));
    let mut s = tones(&["A-4"]);
    s.tracks[0].volume_db = -7.5;
    let (t, _) = levels(&s);
    assert!(
        (c - t - 7.5).abs() < 0.05,
        "track −7.5 dB gave {:.2}",
        t - c
    );
    let mut s = tones(&["A-4"]);
    s.mixer.master.volume_db = -12.0;
    let (m, _) = levels(&s);
    assert!(
        (c - m - 12.0).abs() < 0.05,
        "master −12 dB gave {:.2}",
        m - c
    );
}

/// Level in dB of the spectral line nearest `hz` relative to the strongest one.
fn line_db(x: &[f32], hz: f64) -> f64 {
    let (mags, n) = spectrum(x);
    let k = (hz * n as f64 / RATE as f64).round() as usize;
    let at = mags[k - 2..=k + 2].iter().cloned().fold(0.0, f64::max);
    20.0 * (at / (n as f64 / 4.0)).log10()
}

#[test]
fn mute_and_solo_decide_which_tracks_sound() {
    // Three tracks at 220, 440 and 880 Hz.
    let pitches = ["A-3", "A-4", "A-5"];
    let hz = [220.0, 440.0, 880.0];
    let check = |s: &Song, want: [bool; 3], what: &str| {
        let (l, _) = render(s);
        let x = &l[frames(0.2)..frames(0.2) + 16384];
        for (i, &f) in hz.iter().enumerate() {
            let db = line_db(x, f);
            if want[i] {
                assert!(db > -20.0, "{what}: {f} Hz at {db:.1} dB, want it audible");
            } else {
                assert!(db < -90.0, "{what}: {f} Hz at {db:.1} dB, want silence");
            }
        }
    };
    let s = tones(&pitches);
    check(&s, [true, true, true], "all");
    let mut m = s.clone();
    m.tracks[1].mute = true;
    check(&m, [true, false, true], "track 2 muted");
    let mut solo = s.clone();
    solo.tracks[2].solo = true;
    check(&solo, [false, false, true], "track 3 soloed");
    solo.tracks[0].solo = true;
    check(&solo, [true, false, true], "tracks 1 and 3 soloed");
    // Mute wins over solo.
    solo.tracks[2].mute = true;
    check(&solo, [true, false, false], "track 3 soloed and muted");
}

#[test]
fn sends_feed_the_buses_post_fader_and_returns_add_to_the_master() {
    let dry = tones(&["A-4"]);
    let (dl, _) = render(&dry);
    let mut wet = dry.clone();
    wet.tracks[0].sends = [0.0, mix::OFF_DB];
    let (wl, _) = render(&wet);
    // The reverb tail rings on after the note's release; the dry song is silent there.
    let after = frames(2.0 + 0.2);
    let tail = |x: &[f32]| rms_db(&x[after.min(x.len())..(after + frames(0.1)).min(x.len())]);
    assert!(
        wl.len() > dl.len(),
        "the reverb should lengthen the render ({} vs {} frames)",
        wl.len(),
        dl.len()
    );
    assert!(tail(&wl) > -80.0, "reverb tail at {:.1} dB", tail(&wl));
    // A muted return adds nothing: the render equals the dry one.
    let mut muted = wet.clone();
    muted.mixer.reverb.mute = true;
    let (ml, _) = render(&muted);
    let n = dl.len().min(ml.len());
    let worst = dl[..n]
        .iter()
        .zip(&ml[..n])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "muted return changed the mix by {worst:e}");
    // A send from a muted track carries nothing either (post-fader).
    let mut silent = wet.clone();
    silent.tracks[0].mute = true;
    let (sl, _) = render(&silent);
    assert!(
        peak_db(&sl) < -120.0,
        "muted track's send: {:.1} dB",
        peak_db(&sl)
    );
}

#[test]
fn output_with_the_whole_mixer_does_not_depend_on_the_block_size() {
    let s = common::songs::busy_mixed(6);
    let es = EngineSong::from_model(&s, RATE);
    let len = engine::song_length(&es, PlayRange::song(&es), RATE).frames as usize;
    let run = |block: usize| {
        let mut e = Engine::new(Box::new(es.clone()));
        e.play(PlayRange::song(&es));
        let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
        let mut out = Vec::with_capacity(len + block);
        while out.len() < len {
            rt::process_block(&mut e, &mut l, &mut r);
            out.extend(l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]));
        }
        out.truncate(len);
        out
    };
    let want = run(64);
    for block in [1, 37, 128, 1000] {
        let got = run(block);
        assert!(got == want, "block size {block} changed the output");
    }
}

/// An engine connected to a handle, told through the handle to play the whole song.
fn playing(s: &Song) -> (Engine, EngineHandle) {
    let (mut handle, link) = engine::link();
    let es = EngineSong::from_model(s, RATE);
    let range = PlayRange::song(&es);
    let mut e = Engine::new(Box::new(es));
    e.connect(link);
    handle.send(Command::Play {
        range,
        row: 0,
        bpm: s.bpm,
        tpl: s.tpl,
        at: None,
    });
    (e, handle)
}

#[test]
fn live_mute_ramps_without_a_click_and_meters_report() {
    let s = tones(&["A-4"]);
    let (mut e, mut h) = playing(&s);
    let block = 256;
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut out = Vec::new();
    let mut muted_at = None;
    while out.len() < frames(1.0) {
        if muted_at.is_none() && out.len() >= frames(0.5) {
            let mut m = s.clone();
            m.tracks[0].mute = true;
            h.send(Command::SetMix(Box::new(MixState::from_model(&m))));
            muted_at = Some(out.len());
        }
        rt::process_block(&mut e, &mut l, &mut r);
        out.extend_from_slice(&l);
        h.pump();
    }
    let at = muted_at.unwrap();
    // Silent within 10 ms of the ramp (plus one block for the command to arrive).
    let quiet = at + block + frames(0.011);
    assert!(
        peak_db(&out[quiet..quiet + frames(0.1)]) < -120.0,
        "still sounding after the mute: {:.1} dB",
        peak_db(&out[quiet..quiet + frames(0.1)])
    );
    // No click: the step between samples never exceeds that of the sine itself (2π·440/48000·A).
    let max_step = out
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    let sine_step = std::f32::consts::TAU * 440.0 / RATE as f32 * 0.75;
    assert!(
        max_step <= sine_step,
        "largest sample step {max_step}, a clean sine of this level steps {sine_step}"
    );
    // Meters: at least 20 reports per second of audio; they show the sine before the mute.
    assert!(
        h.meter_reports() >= 20,
        "{} meter reports in one second",
        h.meter_reports()
    );
}

#[test]
fn meters_measure_peak_and_rms_of_strips() {
    let s = tones(&["A-4"]);
    let (mut e, mut h) = playing(&s);
    let block = 128;
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut done = 0;
    while done < frames(0.5) {
        rt::process_block(&mut e, &mut l, &mut r);
        h.pump();
        done += block;
    }
    let m = h.meters();
    // The full-volume centred sine has amplitude cos(π/4) per side: peak −3.01, RMS −6.02 dBFS.
    for (what, meter) in [("track 1", m.strips[0]), ("master", m.strips[STRIP_MASTER])] {
        let peak = 20.0 * meter.peak[0].log10();
        let rms = 20.0 * meter.rms[0].log10();
        assert!((peak + 3.01).abs() < 0.1, "{what} peak {peak:.2} dBFS");
        assert!((rms + 6.02).abs() < 0.1, "{what} RMS {rms:.2} dBFS");
    }
    assert_eq!(
        m.strips[STRIP_REVERB].peak,
        [0.0, 0.0],
        "no sends, no reverb"
    );
    assert_eq!(m.strips[1].peak, [0.0, 0.0], "track 2 is empty");
}

#[test]
fn groups_scale_mute_and_solo_their_members() {
    let pitches = ["A-3", "A-4", "A-5"];
    let base = {
        let mut s = tones(&pitches);
        s.groups = vec![mix::Group::new("G")];
        s.tracks[0].group = Some(0);
        s.tracks[1].group = Some(0);
        s
    };
    let line = |s: &Song, hz: f64| {
        let (l, _) = render(s);
        line_db(&l[frames(0.2)..frames(0.2) + 16384], hz)
    };
    let ref220 = line(&base, 220.0);
    let mut quieter = base.clone();
    quieter.groups[0].volume_db = -6.0;
    let d = ref220 - line(&quieter, 220.0);
    assert!(
        (d - 6.0).abs() < 0.1,
        "group at −6 dB lowered a member by {d:.2} dB"
    );
    assert!(
        (line(&base, 880.0) - line(&quieter, 880.0)).abs() < 0.05,
        "the ungrouped track must not change"
    );
    let mut muted = base.clone();
    muted.groups[0].mute = true;
    assert!(line(&muted, 220.0) < -90.0 && line(&muted, 440.0) < -90.0);
    assert!(line(&muted, 880.0) > -20.0);
    let mut solo = base.clone();
    solo.groups[0].solo = true;
    assert!(line(&solo, 220.0) > -20.0 && line(&solo, 440.0) > -20.0);
    assert!(
        line(&solo, 880.0) < -90.0,
        "a soloed group silences the rest"
    );
    // Soloing one member keeps its group audible and silences the other member.
    let mut member = base.clone();
    member.tracks[1].solo = true;
    assert!(line(&member, 440.0) > -20.0);
    assert!(line(&member, 220.0) < -90.0 && line(&member, 880.0) < -90.0);
}
