//! Instrument parameters as the instruments view edits them: a name, a printed value and a step up
//! or down for each, and the keyboard file picker that loads WAV files into samplers.

use crate::model::{Adsr, Instrument, InstrumentKind, LoopMode, Note, Waveform};
use std::path::{Path, PathBuf};

/// Names of the parameters of `inst`, in display order.
pub fn param_names(inst: &Instrument) -> &'static [&'static str] {
    match inst.kind {
        InstrumentKind::Synth(_) => &[
            "volume",
            "pan",
            "osc 1",
            "osc 2",
            "osc 2 semitones",
            "osc mix",
            "pulse width",
            "attack ms",
            "decay ms",
            "sustain",
            "release ms",
            "cutoff Hz",
            "resonance",
            "filter env octaves",
            "filter attack ms",
            "filter decay ms",
            "filter sustain",
            "filter release ms",
            "key tracking",
            "pitch env semitones",
            "pitch env ms",
        ],
        InstrumentKind::Sampler(_) => &[
            "volume",
            "pan",
            "base note",
            "fine tune cents",
            "loop",
            "loop start",
            "loop end",
            "attack ms",
            "decay ms",
            "sustain",
            "release ms",
        ],
    }
}

fn fmt_f(v: f32) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The value of parameter `i` as text.
pub fn param_value(inst: &Instrument, i: usize) -> String {
    let env = |e: &Adsr, k: usize| fmt_f([e.attack_ms, e.decay_ms, e.sustain, e.release_ms][k]);
    match (&inst.kind, i) {
        (_, 0) => fmt_f(inst.volume),
        (_, 1) => fmt_f(inst.pan),
        (InstrumentKind::Synth(s), _) => match i {
            2 => s.osc1.name().into(),
            3 => s.osc2.name().into(),
            4 => fmt_f(s.osc2_semitones),
            5 => fmt_f(s.osc_mix),
            6 => fmt_f(s.pulse_width),
            7..=10 => env(&s.amp, i - 7),
            11 => fmt_f(s.cutoff_hz),
            12 => fmt_f(s.resonance),
            13 => fmt_f(s.filter_env_octaves),
            14..=17 => env(&s.filter_env, i - 14),
            18 => fmt_f(s.key_track),
            19 => fmt_f(s.pitch_env_semitones),
            20 => fmt_f(s.pitch_env_ms),
            _ => String::new(),
        },
        (InstrumentKind::Sampler(s), _) => match i {
            2 => Note::On(s.base_note).to_string(),
            3 => fmt_f(s.fine_tune_cents),
            4 => s.loop_mode.name().into(),
            5 => s.loop_start.to_string(),
            6 => s.loop_end.to_string(),
            7..=10 => env(&s.amp, i - 7),
            _ => String::new(),
        },
    }
}

/// Steps a time in milliseconds: multiplicative, so short and long times are both easy to reach.
fn step_ms(v: f32, dir: i32, fine: bool) -> f32 {
    let f = if fine { 1.05 } else { 1.25 };
    let v = if dir > 0 { (v.max(1.0)) * f } else { v / f };
    if v < 1.0 && dir < 0 {
        0.0
    } else {
        v.min(60_000.0)
    }
}

fn step_lin(v: f32, dir: i32, step: f32, lo: f32, hi: f32) -> f32 {
    (((v / step).round() + dir as f32) * step).clamp(lo, hi)
}

fn cycle<T: Copy + PartialEq>(all: &[T], v: T, dir: i32) -> T {
    let i = all.iter().position(|&x| x == v).unwrap_or(0) as i32;
    all[(i + dir).rem_euclid(all.len() as i32) as usize]
}

/// Steps parameter `i` of `inst` up (`dir` > 0) or down; `fine` takes smaller steps.
pub fn adjust(inst: &mut Instrument, i: usize, dir: i32, fine: bool) {
    let u = if fine { 0.01 } else { 0.05 };
    let env = |e: &mut Adsr, k: usize| match k {
        0 => e.attack_ms = step_ms(e.attack_ms, dir, fine),
        1 => e.decay_ms = step_ms(e.decay_ms, dir, fine),
        2 => e.sustain = step_lin(e.sustain, dir, u, 0.0, 1.0),
        _ => e.release_ms = step_ms(e.release_ms, dir, fine),
    };
    match i {
        0 => inst.volume = step_lin(inst.volume, dir, u, 0.0, 2.0),
        1 => inst.pan = step_lin(inst.pan, dir, u, -1.0, 1.0),
        _ => match &mut inst.kind {
            InstrumentKind::Synth(s) => match i {
                2 => s.osc1 = cycle(&Waveform::ALL, s.osc1, dir),
                3 => s.osc2 = cycle(&Waveform::ALL, s.osc2, dir),
                4 => {
                    s.osc2_semitones = step_lin(
                        s.osc2_semitones,
                        dir,
                        if fine { 0.01 } else { 1.0 },
                        -48.0,
                        48.0,
                    )
                }
                5 => s.osc_mix = step_lin(s.osc_mix, dir, u, 0.0, 1.0),
                6 => s.pulse_width = step_lin(s.pulse_width, dir, u, 0.05, 0.95),
                7..=10 => env(&mut s.amp, i - 7),
                11 => {
                    let f = if fine {
                        2f32.powf(1.0 / 12.0)
                    } else {
                        2f32.powf(0.5)
                    };
                    s.cutoff_hz = (if dir > 0 {
                        s.cutoff_hz * f
                    } else {
                        s.cutoff_hz / f
                    })
                    .clamp(20.0, 20_000.0);
                }
                12 => s.resonance = step_lin(s.resonance, dir, u, 0.0, 1.0),
                13 => {
                    s.filter_env_octaves = step_lin(
                        s.filter_env_octaves,
                        dir,
                        if fine { 0.05 } else { 0.25 },
                        -10.0,
                        10.0,
                    )
                }
                14..=17 => env(&mut s.filter_env, i - 14),
                18 => s.key_track = step_lin(s.key_track, dir, u, 0.0, 1.0),
                19 => {
                    s.pitch_env_semitones = step_lin(
                        s.pitch_env_semitones,
                        dir,
                        if fine { 0.1 } else { 1.0 },
                        -96.0,
                        96.0,
                    )
                }
                20 => s.pitch_env_ms = step_ms(s.pitch_env_ms, dir, fine),
                _ => {}
            },
            InstrumentKind::Sampler(s) => match i {
                2 => {
                    s.base_note =
                        (s.base_note as i32 + dir * if fine { 1 } else { 12 }).clamp(0, 119) as u8
                }
                3 => {
                    s.fine_tune_cents = step_lin(
                        s.fine_tune_cents,
                        dir,
                        if fine { 1.0 } else { 5.0 },
                        -100.0,
                        100.0,
                    )
                }
                4 => {
                    s.loop_mode = cycle(
                        &[LoopMode::Off, LoopMode::Forward, LoopMode::PingPong],
                        s.loop_mode,
                        dir,
                    )
                }
                5 | 6 => {
                    let frames = s.sample.frames;
                    let step = (frames / if fine { 1000 } else { 50 }).max(1);
                    let v = if i == 5 {
                        &mut s.loop_start
                    } else {
                        &mut s.loop_end
                    };
                    *v = if dir > 0 {
                        (*v + step).min(frames)
                    } else {
                        v.saturating_sub(step)
                    };
                    if s.loop_start > s.loop_end {
                        if i == 5 {
                            s.loop_end = s.loop_start;
                        } else {
                            s.loop_start = s.loop_end;
                        }
                    }
                }
                7..=10 => env(&mut s.amp, i - 7),
                _ => {}
            },
        },
    }
}

/// A directory listing for the keyboard file picker: folders first, then WAV files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePicker {
    /// The folder shown.
    pub dir: PathBuf,
    /// Entries: (name, is a folder). The first is always `..`.
    pub entries: Vec<(String, bool)>,
    /// Cursor.
    pub cursor: usize,
    /// Instrument slot (1-based) the chosen file goes to.
    pub slot: u8,
}

impl FilePicker {
    /// Lists `dir` (unreadable folders list as empty).
    pub fn open(dir: &Path, slot: u8) -> FilePicker {
        let mut folders = Vec::new();
        let mut files = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                if is_dir {
                    folders.push((name, true));
                } else if name.to_ascii_lowercase().ends_with(".wav") {
                    files.push((name, false));
                }
            }
        }
        folders.sort();
        files.sort();
        let mut entries = vec![("..".to_string(), true)];
        entries.extend(folders);
        entries.extend(files);
        FilePicker {
            dir: dir.to_path_buf(),
            entries,
            cursor: 0,
            slot,
        }
    }
}
