//! Round trips of whole songs through the file formats: binary ↔ model ↔ text, on generated valid
//! songs (several note and effect columns, delays, synths and samplers with 8/16/24/32-bit integer
//! and float samples) and on hand-made cases for the sample-file rules.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::path::Path;
use std::sync::Arc;
use ttrack::format::{self, binary, text, wav};
use ttrack::model::arrange::{Arrangement, Section};
use ttrack::model::mix::{self, ranges};
use ttrack::model::takes::{Take, TakeEvent, TakeEventKind};
use ttrack::model::{
    Adsr, EffectCell, Instrument, InstrumentKind, LoopMode, Note, NoteCell, Pattern, PatternTrack,
    SampleData, Sampler, Song, Synth, Track, Waveform, validate,
};

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _#\"\\\\é\n\t.-]{0,12}"
}

fn adsr() -> impl Strategy<Value = Adsr> {
    (
        0.0f32..=60_000.0,
        0.0f32..=60_000.0,
        0.0f32..=1.0,
        0.0f32..=60_000.0,
    )
        .prop_map(|(attack_ms, decay_ms, sustain, release_ms)| Adsr {
            attack_ms,
            decay_ms,
            sustain,
            release_ms,
        })
}

fn waveform() -> impl Strategy<Value = Waveform> {
    proptest::sample::select(Waveform::ALL.to_vec())
}

fn synth() -> impl Strategy<Value = Synth> {
    (
        (
            waveform(),
            waveform(),
            -48.0f32..=48.0,
            0.0f32..=1.0,
            0.01f32..=0.99,
            adsr(),
        ),
        (
            10.0f32..=24_000.0,
            0.0f32..=1.0,
            -10.0f32..=10.0,
            adsr(),
            0.0f32..=1.0,
            -96.0f32..=96.0,
            0.0f32..=60_000.0,
        ),
    )
        .prop_map(
            |(
                (osc1, osc2, osc2_semitones, osc_mix, pulse_width, amp),
                (cutoff_hz, resonance, fe, filter_env, kt, pe, pms),
            )| {
                Synth {
                    osc1,
                    osc2,
                    osc2_semitones,
                    osc_mix,
                    pulse_width,
                    amp,
                    cutoff_hz,
                    resonance,
                    filter_env_octaves: fe,
                    filter_env,
                    key_track: kt,
                    pitch_env_semitones: pe,
                    pitch_env_ms: pms,
                }
            },
        )
}

/// Sample data as it comes from a WAV file of each depth: integers divided by 2^(bits-1), or floats.
fn sample_data() -> impl Strategy<Value = SampleData> {
    let depth = prop_oneof![
        Just((8u16, false)),
        Just((16, false)),
        Just((24, false)),
        Just((32, false)),
        Just((32, true))
    ];
    (depth, 1u16..=2, 0usize..=24, 1_000u32..=384_000, name()).prop_flat_map(
        |((bits, float), channels, frames, rate, name)| {
            let n = frames * channels as usize;
            let values = if float {
                vec(-2.0f32..=2.0, n).boxed()
            } else {
                let half = 1i64 << (bits - 1);
                vec(-half..half, n)
                    .prop_map(move |ints| {
                        ints.into_iter()
                            .map(|v| (v as f64 / half as f64) as f32)
                            .collect()
                    })
                    .boxed()
            };
            values.prop_map(move |data| SampleData {
                name: name.clone(),
                rate,
                channels,
                bits,
                float,
                frames: frames as u64,
                source: None,
                data,
            })
        },
    )
}

fn sampler() -> impl Strategy<Value = Sampler> {
    (
        sample_data(),
        0u8..=119,
        -100.0f32..=100.0,
        0usize..3,
        any::<(u64, u64)>(),
        adsr(),
    )
        .prop_map(|(sample, base_note, fine_tune_cents, mode, (a, b), amp)| {
            let frames = sample.frames;
            let (a, b) = (a % (frames + 1), b % (frames + 1));
            Sampler {
                sample: Arc::new(sample),
                base_note,
                fine_tune_cents,
                loop_mode: [LoopMode::Off, LoopMode::Forward, LoopMode::PingPong][mode],
                loop_start: a.min(b),
                loop_end: a.max(b),
                amp,
            }
        })
}

fn instrument() -> impl Strategy<Value = Instrument> {
    let kind = prop_oneof![
        synth().prop_map(InstrumentKind::Synth),
        sampler().prop_map(InstrumentKind::Sampler)
    ];
    (name(), 0.0f32..=2.0, -1.0f32..=1.0, kind).prop_map(|(name, volume, pan, kind)| Instrument {
        name,
        volume,
        pan,
        kind,
    })
}

fn r(range: (f32, f32)) -> impl Strategy<Value = f32> {
    range.0..=range.1
}

fn eq_band() -> impl Strategy<Value = mix::EqBand> {
    (
        any::<bool>(),
        r(ranges::EQ_FREQ),
        r(ranges::EQ_GAIN),
        r(ranges::EQ_Q),
    )
        .prop_map(|(on, freq_hz, gain_db, q)| mix::EqBand {
            on,
            freq_hz,
            gain_db,
            q,
        })
}

fn eq_settings() -> impl Strategy<Value = mix::Eq> {
    (
        any::<bool>(),
        [
            eq_band(),
            eq_band(),
            eq_band(),
            eq_band(),
            eq_band(),
            eq_band(),
        ],
    )
        .prop_map(|(on, bands)| mix::Eq { on, bands })
}

fn compressor() -> impl Strategy<Value = mix::Compressor> {
    (
        any::<bool>(),
        r(ranges::THRESHOLD),
        r(ranges::RATIO),
        r(ranges::KNEE),
        r(ranges::ATTACK_MS),
        r(ranges::RELEASE_MS),
        r(ranges::MAKEUP_DB),
    )
        .prop_map(
            |(on, threshold_db, ratio, knee_db, attack_ms, release_ms, makeup_db)| {
                mix::Compressor {
                    on,
                    threshold_db,
                    ratio,
                    knee_db,
                    attack_ms,
                    release_ms,
                    makeup_db,
                }
            },
        )
}

fn insert() -> impl Strategy<Value = mix::Insert> {
    prop_oneof![
        eq_settings().prop_map(mix::Insert::Eq),
        compressor().prop_map(mix::Insert::Compressor)
    ]
}

fn send() -> impl Strategy<Value = f32> {
    prop_oneof![Just(mix::OFF_DB), r(ranges::SEND_DB)]
}

fn mixer() -> impl Strategy<Value = mix::Mixer> {
    let reverb = (
        send(),
        any::<bool>(),
        (
            r(ranges::SIZE),
            r(ranges::DECAY_S),
            r(ranges::DAMPING),
            r(ranges::PREDELAY_MS),
            r(ranges::WIDTH),
        ),
    )
        .prop_map(
            |(return_db, mute, (size, decay_s, damping, predelay_ms, width))| mix::ReverbBus {
                return_db,
                mute,
                reverb: mix::Reverb {
                    size,
                    decay_s,
                    damping,
                    predelay_ms,
                    width,
                },
            },
        );
    let delay = (
        send(),
        any::<bool>(),
        (
            r(ranges::DELAY_TIME),
            any::<bool>(),
            r(ranges::FEEDBACK),
            r(ranges::HIGH_CUT),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(return_db, mute, (time, beats, feedback, high_cut_hz, ping_pong))| mix::DelayBus {
                return_db,
                mute,
                delay: mix::Delay {
                    time,
                    unit: if beats {
                        mix::DelayUnit::Beats
                    } else {
                        mix::DelayUnit::Rows
                    },
                    feedback,
                    high_cut_hz,
                    ping_pong,
                },
            },
        );
    let master = (
        r(ranges::VOLUME_DB),
        eq_settings(),
        compressor(),
        (
            any::<bool>(),
            r(ranges::CEILING),
            r(ranges::LIMITER_RELEASE),
        ),
    )
        .prop_map(
            |(volume_db, eq, compressor, (on, ceiling_db, release_ms))| mix::Master {
                volume_db,
                eq,
                compressor,
                limiter: mix::Limiter {
                    on,
                    ceiling_db,
                    release_ms,
                },
            },
        );
    (reverb, delay, master).prop_map(|(reverb, delay, master)| mix::Mixer {
        reverb,
        delay,
        master,
    })
}

fn track() -> impl Strategy<Value = Track> {
    let gain = prop_oneof![Just(0.0f32), -96.0f32..=24.0];
    let pan = prop_oneof![Just(0.0f32), -1.0f32..=1.0];
    (
        (name(), 1u8..=3, 1u8..=2, any::<bool>()),
        (gain, pan, any::<bool>(), any::<bool>()),
        [send(), send()],
        vec(insert(), 0..=mix::MAX_INSERTS),
    )
        .prop_map(
            |(
                (name, note_columns, effect_columns, show_delay),
                (volume_db, pan, mute, solo),
                sends,
                inserts,
            )| Track {
                name,
                note_columns,
                effect_columns,
                show_delay,
                volume_db,
                pan,
                mute,
                solo,
                sends,
                inserts,
                group: None,
                frozen: None,
            },
        )
}

fn group() -> impl Strategy<Value = mix::Group> {
    (
        name(),
        (
            r(ranges::VOLUME_DB),
            -1.0f32..=1.0,
            any::<bool>(),
            any::<bool>(),
        ),
        [send(), send()],
        vec(insert(), 0..=mix::MAX_INSERTS),
        any::<bool>(),
    )
        .prop_map(
            |(name, (volume_db, pan, mute, solo), sends, inserts, folded)| mix::Group {
                name,
                volume_db,
                pan,
                mute,
                solo,
                sends,
                inserts,
                folded,
            },
        )
}

fn note_cell() -> impl Strategy<Value = NoteCell> {
    let note = prop_oneof![3 => Just(Note::Empty), 1 => Just(Note::Off), 3 => (0u8..=119).prop_map(Note::On)];
    let volume = prop_oneof![Just(NoteCell::NO_VOLUME), 0u8..=0x40];
    let delay = prop_oneof![4 => Just(0u8), 1 => any::<u8>()];
    (note, any::<u8>(), volume, delay).prop_map(|(note, instrument, volume, delay)| NoteCell {
        note,
        instrument,
        volume,
        delay,
    })
}

fn effect_cell() -> impl Strategy<Value = EffectCell> {
    let command = proptest::sample::select(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec());
    prop_oneof![
        Just(EffectCell::EMPTY),
        (command, any::<u8>()).prop_map(|(command, param)| EffectCell { command, param })
    ]
}

fn pattern(tracks: Vec<Track>) -> impl Strategy<Value = Pattern> {
    let rows = prop_oneof![4 => 1u32..=12, 1 => 98u32..=103];
    (rows, name()).prop_flat_map(move |(rows, name)| {
        let cells: Vec<_> = tracks
            .iter()
            .map(|t| {
                (
                    vec(note_cell(), rows as usize * t.note_columns as usize),
                    vec(effect_cell(), rows as usize * t.effect_columns as usize),
                )
            })
            .collect();
        cells.prop_map(move |cells| Pattern {
            name: name.clone(),
            rows,
            tracks: cells
                .into_iter()
                .map(|(notes, effects)| PatternTrack { notes, effects })
                .collect(),
        })
    })
}

fn song() -> impl Strategy<Value = Song> {
    (vec(track(), 1..=4), 1usize..=3)
        .prop_flat_map(|(tracks, n_patterns)| {
            let patterns = vec(pattern(tracks.clone()), n_patterns);
            let order = vec(0..n_patterns as u16, 1..=20);
            let instruments = vec(option::of(instrument()), 0..=4);
            let header = (
                (mixer(), vec(group(), 0..=3), vec(any::<u8>(), 4)),
                name(),
                name(),
                20u16..=999,
                1u8..=64,
                1u8..=31,
                any::<u64>(),
            );
            (Just(tracks), patterns, order, instruments, header)
        })
        .prop_flat_map(|(tracks, patterns, order, instruments, header)| {
            let restart = 0..order.len() as u16;
            (
                Just((tracks, patterns, order, instruments, header)),
                restart,
            )
        })
        .prop_map(
            |(
                (
                    mut tracks,
                    patterns,
                    order,
                    instruments,
                    ((mixer, groups, picks), title, author, bpm, lpb, tpl, seed),
                ),
                restart,
            )| {
                // Some tracks join a group.
                for (t, p) in tracks.iter_mut().zip(picks) {
                    t.group =
                        (!groups.is_empty() && p % 2 == 0).then(|| p / 2 % groups.len() as u8);
                }
                let arrangement = arrangement_from(seed, order.len(), tracks.len());
                let takes = takes_from(seed, &patterns, tracks.len());
                Song {
                    title,
                    author,
                    bpm,
                    lpb,
                    tpl,
                    tracks,
                    patterns,
                    order,
                    restart,
                    instruments,
                    seed,
                    mixer,
                    groups,
                    arrangement,
                    takes,
                }
            },
        )
}

/// Zero to two MIDI takes with every kind of event, drawn from `seed`.
fn takes_from(seed: u64, patterns: &[Pattern], tracks: usize) -> Vec<Take> {
    let mut x = seed.rotate_left(17) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..next() % 3)
        .map(|k| {
            let events = (0..next() % 40)
                .map(|_| {
                    let pattern = (next() % patterns.len() as u64) as u16;
                    let rows = patterns[pattern as usize].rows as u64;
                    TakeEvent {
                        order: (next() % 4) as u16,
                        pattern,
                        row: (next() % rows) as u16,
                        fraction: next() as u16,
                        kind: match next() % 4 {
                            0 | 1 => TakeEventKind::On {
                                key: (next() % 128) as u8,
                                velocity: (1 + next() % 127) as u8,
                            },
                            2 => TakeEventKind::Off {
                                key: (next() % 128) as u8,
                            },
                            _ => TakeEventKind::Sustain(next() % 2 == 0),
                        },
                    }
                })
                .collect();
            Take {
                name: format!("Take {k} \"é\""),
                track: (next() % tracks as u64) as u8,
                instrument: (1 + next() % 255) as u8,
                velocity: next() % 2 == 0,
                quantize: (next() % 5) as u8,
                events,
            }
        })
        .collect()
}

/// Slice mutes, sections and a loop range spread over the order list, drawn from `seed`.
fn arrangement_from(seed: u64, entries: usize, tracks: usize) -> Arrangement {
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut a = Arrangement::default();
    let mask = (1u64 << tracks) - 1;
    a.mutes = (0..entries)
        .map(|_| if next() % 3 == 0 { next() & mask } else { 0 })
        .collect();
    while a.mutes.last() == Some(&0) {
        a.mutes.pop();
    }
    for start in 0..entries {
        if next() % 4 == 0 {
            a.sections.push(Section {
                start: start as u16,
                name: format!("S\"{start}é"),
                colour: (next() % 8) as u8,
            });
        }
    }
    if next() % 2 == 0 {
        let x = (next() % entries as u64) as u16;
        let y = x + (next() % (entries as u64 - x as u64)) as u16;
        a.loop_range = Some((x, y));
    }
    a
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn binary_round_trip_is_exact(song in song()) {
        prop_assert_eq!(validate(&song), Ok(()));
        let bytes = binary::encode(&song);
        prop_assert_eq!(binary::decode(&bytes).unwrap(), song);
    }

    #[test]
    fn text_round_trip_is_exact_up_to_sample_sources(song in song()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gen.ttrk.toml");
        let out = text::write_text(&song, &path).unwrap();
        let parsed = text::parse(&out.text, dir.path()).map_err(|e| TestCaseError::fail(format!("{e}\n{}", out.text)))?;
        let expected = text::with_sources(&song, &out.sources);
        prop_assert_eq!(&parsed, &expected);
        // Text → binary → model is exact too.
        prop_assert_eq!(binary::decode(&binary::encode(&parsed)).unwrap(), expected);
        // Writing the loaded song again gives the same text and rewrites no sample.
        let again = text::write_text(&parsed, &path).unwrap();
        prop_assert_eq!(again.text, out.text);
        prop_assert_eq!(again.sources, out.sources);
    }
}

fn kick(bits: u16) -> SampleData {
    let half = (1u32 << (bits - 1)) as f32;
    let data: Vec<f32> = [0.0, 1000.0, -1000.0, 5.0, -half]
        .iter()
        .map(|v| v / half)
        .collect();
    SampleData {
        name: "kick".into(),
        rate: 44_100,
        channels: 1,
        bits,
        float: false,
        frames: 5,
        source: None,
        data,
    }
}

fn song_with_samplers(samples: Vec<Arc<SampleData>>) -> Song {
    let mut song = Song::new_default();
    for s in samples {
        song.instruments.push(Some(Instrument {
            name: format!("inst {}", s.name),
            volume: 1.0,
            pan: 0.0,
            kind: InstrumentKind::Sampler(Sampler::new(s)),
        }));
    }
    song
}

#[test]
fn sample_files_are_written_once_and_then_referenced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.ttrk.toml");
    let shared = Arc::new(kick(16));
    let song = song_with_samplers(vec![shared.clone(), shared, Arc::new(kick(24))]);
    let sources = text::save(&song, &path).unwrap();
    assert_eq!(
        sources,
        vec![
            None,
            Some("demo.samples/02-kick.wav".into()),
            Some("demo.samples/02-kick.wav".into()),
            Some("demo.samples/04-kick.wav".into())
        ]
    );
    assert!(dir.path().join("demo.samples/02-kick.wav").is_file());
    assert!(
        !dir.path().join("demo.samples/03-kick.wav").exists(),
        "shared data is written once"
    );
    let loaded = text::load(&path).unwrap();
    assert_eq!(loaded, text::with_sources(&song, &sources));
    let InstrumentKind::Sampler(s) = &loaded.instruments[3].as_ref().unwrap().kind else {
        panic!("a sampler")
    };
    assert_eq!(
        (s.sample.bits, s.sample.float),
        (24, false),
        "the depth survives"
    );

    // Saving the loaded song keeps the references and does not touch the files.
    let before = std::fs::metadata(dir.path().join("demo.samples/02-kick.wav"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(text::save(&loaded, &path).unwrap(), sources);
    let after = std::fs::metadata(dir.path().join("demo.samples/02-kick.wav"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(text::load(&path).unwrap(), loaded);
}

#[test]
fn a_user_sample_beside_the_song_is_referenced_by_its_own_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("kit")).unwrap();
    wav::write_wav(dir.path().join("kit/bd.wav"), &kick(16)).unwrap();
    let mut sample = wav::read_wav(dir.path().join("kit/bd.wav")).unwrap();
    sample.source = Some("kit/bd.wav".into());
    sample.name = "Bass drum".into();
    let song = song_with_samplers(vec![Arc::new(sample)]);
    let path = dir.path().join("s.ttrk.toml");
    let out = text::write_text(&song, &path).unwrap();
    assert!(
        out.text
            .contains("sample = \"kit/bd.wav\"\nsample_name = \"Bass drum\"\n"),
        "{}",
        out.text
    );
    assert!(!dir.path().join("s.samples").exists(), "nothing was copied");
    assert_eq!(text::parse(&out.text, dir.path()).unwrap(), song);

    // If the file changes, the next save writes the sample's own copy instead.
    wav::write_wav(dir.path().join("kit/bd.wav"), &kick(8)).unwrap();
    let out = text::write_text(&song, &path).unwrap();
    assert_eq!(
        out.sources[1].as_deref(),
        Some("s.samples/02-Bass_drum.wav")
    );
    let parsed = text::parse(&out.text, dir.path()).unwrap();
    assert_eq!(parsed, text::with_sources(&song, &out.sources));
}

#[test]
fn off_grid_samples_are_kept_as_float() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = kick(16);
    s.data[1] = 0.3;
    let song = song_with_samplers(vec![Arc::new(s.clone())]);
    let path = dir.path().join("f.ttrk.toml");
    text::save(&song, &path).unwrap();
    let loaded = text::load(&path).unwrap();
    let InstrumentKind::Sampler(l) = &loaded.instruments[1].as_ref().unwrap().kind else {
        panic!("a sampler")
    };
    assert_eq!(l.sample.data, s.data, "no audio is lost");
    assert_eq!((l.sample.bits, l.sample.float), (32, true));
}

#[test]
fn save_song_and_load_song_agree_for_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let mut song = song_with_samplers(vec![Arc::new(kick(16))]);
    song.set_track_columns(0, 3, 2);
    song.tracks[0].show_delay = true;
    *song.patterns[0].note_mut(0, 5, 2) = NoteCell {
        note: Note::On(61),
        instrument: 2,
        volume: 0x30,
        delay: 0x40,
    };
    let bin = dir.path().join("x.ttrk");
    let txt = dir.path().join("x.ttrk.toml");
    format::save_song(&song, &bin).unwrap();
    let sources = text::save(&song, &txt).unwrap();
    assert_eq!(format::load_song(&bin).unwrap(), song);
    assert_eq!(
        format::load_song(&txt).unwrap(),
        text::with_sources(&song, &sources)
    );
    let written = std::fs::read_to_string(&txt).unwrap();
    assert!(
        written.contains("05 | ... .. .. .. ... .. .. .. C#5 02 30 40 ... ... |"),
        "{written}"
    );
}

#[test]
fn hand_written_text_with_defaults_and_aliases_loads() {
    let text = r#"
ttrack = 1
title = "Hand made"
order = [0, 0]

[[track]]
name = "Lead"
note_columns = 2

[[instrument]]
slot = "0A"
type = "synth"
osc1 = "pulse"
amp = { sustain = 1 }

[[pattern]]
rows = 3
data = """
C-4 0A 40 ... .. .. ...
| === .. .. c-5 .. .. f01
02|... .. .. ... .. .. ...
"""
"#;
    let song = text::parse(text, Path::new(".")).unwrap();
    assert_eq!(song.bpm, 125);
    assert_eq!(song.instruments.len(), 10);
    let inst = song.instruments[9].as_ref().unwrap();
    let InstrumentKind::Synth(s) = &inst.kind else {
        panic!("a synth")
    };
    assert_eq!(s.osc1, Waveform::Pulse);
    assert_eq!(s.amp.sustain, 1.0);
    assert_eq!(s.amp.attack_ms, Synth::default().amp.attack_ms);
    let p = &song.patterns[0];
    assert_eq!(
        p.note(0, 0, 0),
        NoteCell {
            note: Note::On(48),
            instrument: 10,
            volume: 0x40,
            delay: 0
        }
    );
    assert_eq!(p.note(0, 1, 0).note, Note::Off);
    assert_eq!(p.note(0, 1, 1).note, Note::On(60));
    assert_eq!(p.effect(0, 1, 0), EffectCell::new('F', 1));
}

#[test]
fn the_sample_kit_reads_and_writes_back_bit_identically() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let Ok(entries) = std::fs::read_dir(&kit) else {
        assert!(std::env::var("CI").is_err(), "samples/ is missing");
        eprintln!("skipped: no samples/ directory");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wav") {
            continue;
        }
        let sample = wav::read_wav(&path).unwrap();
        let copy = dir.path().join(path.file_name().unwrap());
        wav::write_wav(&copy, &sample).unwrap();
        let (mut a, mut b) = (
            hound::WavReader::open(&path).unwrap(),
            hound::WavReader::open(&copy).unwrap(),
        );
        assert_eq!(a.spec(), b.spec(), "{}", path.display());
        let ints = |r: &mut hound::WavReader<_>| -> Vec<i32> {
            r.samples::<i32>().map(|v| v.unwrap()).collect()
        };
        assert_eq!(ints(&mut a), ints(&mut b), "{}", path.display());
        assert_eq!(wav::read_wav(&copy).unwrap().data, sample.data);
        checked += 1;
    }
    assert!(checked > 0, "no WAV files in samples/");
}

#[test]
fn the_example_in_the_format_doc_loads() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/song-format.md"))
            .unwrap();
    let start = doc.find("```toml\n").expect("the doc has a TOML example") + "```toml\n".len();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("demo.samples")).unwrap();
    let kick = SampleData::mono("kick", 48_000, vec![0.25; 21_600]);
    wav::write_wav(dir.path().join("demo.samples/02-kick.wav"), &kick).unwrap();
    let song = text::parse(example, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(song.order, vec![0, 0, 1]);
    assert_eq!(song.tracks[1].note_columns, 2);
    assert_eq!(song.patterns[0].name, "intro");
    assert_eq!(
        song.patterns[0].note(1, 0, 1),
        NoteCell {
            note: Note::On(40),
            instrument: 2,
            volume: 0xFF,
            delay: 0x80
        }
    );
    assert_eq!(song.patterns[0].effect(1, 2, 0), EffectCell::new('F', 3));
    // Written back beside the same samples, the example reads the same and references the same file.
    let out = text::write_text(&song, &dir.path().join("demo.ttrk.toml")).unwrap();
    assert_eq!(out.sources[1].as_deref(), Some("demo.samples/02-kick.wav"));
    assert_eq!(text::parse(&out.text, dir.path()).unwrap(), song);
}

/// A file saved by format version 1 (before the mixer) still loads, with the default mixer, and
/// saves again as the current version.
#[test]
fn format_1_files_still_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(dir.join("tests/fixtures/v1-demo-synth.ttrk")).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    let song = binary::decode(&bytes).unwrap();
    assert_eq!(song.title, "Neon Arcade");
    assert_eq!(song.mixer, mix::Mixer::default());
    assert!(
        song.tracks
            .iter()
            .all(|t| t.inserts.is_empty() && t.sends == [mix::OFF_DB; 2] && !t.solo)
    );
    let again = binary::encode(&song);
    assert_eq!(
        u16::from_le_bytes([again[4], again[5]]),
        binary::FORMAT_VERSION
    );
    assert_eq!(binary::decode(&again).unwrap(), song);
}

/// A file saved by format version 2 (before the arrangement data and frozen tracks) loads with
/// its whole mixer, no slice mutes, sections or loop range, and no frozen track.
#[test]
fn format_2_files_still_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(dir.join("tests/fixtures/v2-demo-mix.ttrk")).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
    let song = binary::decode(&bytes).unwrap();
    let current = format::load_song(&dir.join("songs/demo-mix.ttrk.toml")).unwrap();
    assert_eq!(song.arrangement, Arrangement::default());
    assert!(song.tracks.iter().all(|t| t.frozen.is_none()));
    // The demo has not changed since: apart from the sample sources, it is the same song.
    assert_eq!(song.mixer, current.mixer);
    assert_eq!(song.tracks, current.tracks);
    assert_eq!(song.patterns, current.patterns);
    assert_eq!(song.order, current.order);
}

/// A file saved by format version 3 (sample values as a sequence of floats; version 4 stores
/// them as one byte string) loads with the same samples as its text file, and saves again as
/// the current version, which loads the same song.
#[test]
fn format_3_files_still_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(dir.join("v3-sample.ttrk")).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 3);
    let song = binary::decode(&bytes).unwrap();
    let text = format::load_song(&dir.join("v3-sample.ttrk.toml")).unwrap();
    let sample = |s: &Song| match &s.instruments[0].as_ref().unwrap().kind {
        InstrumentKind::Sampler(p) => p.sample.data.clone(),
        _ => panic!("not a sampler"),
    };
    assert_eq!(sample(&song).len(), 300);
    assert_eq!(sample(&song), sample(&text));
    assert_eq!(song.patterns, text.patterns);
    let again = binary::encode(&song);
    assert_eq!(
        u16::from_le_bytes([again[4], again[5]]),
        binary::FORMAT_VERSION
    );
    assert_eq!(binary::decode(&again).unwrap(), song);
}

/// Every demo song's binary file holds exactly the song of its text file (the binary is made from
/// the text with `ttrack convert`).
#[test]
fn demo_binaries_match_their_text_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("songs");
    for name in ["demo-synth", "demo-kit", "demo-mix"] {
        let b = format::load_song(&dir.join(format!("{name}.ttrk"))).unwrap();
        let t = format::load_song(&dir.join(format!("{name}.ttrk.toml"))).unwrap();
        assert_eq!(b, t, "{name}.ttrk and {name}.ttrk.toml differ");
        assert_eq!(
            std::fs::read(dir.join(format!("{name}.ttrk"))).unwrap()[4],
            binary::FORMAT_VERSION as u8,
            "{name}.ttrk is not saved in the current format"
        );
    }
}
