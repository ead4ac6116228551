//! Writing a song as text, and deciding where each sampler's audio lives: an existing file that
//! still holds the same audio, or a WAV written to `<stem>.samples/`.

use super::grid::write_pattern;
use super::{TEXT_VERSION, TextOutput, TextSaveError};
use crate::format::atomic::{parent_dir, write_atomic};
use crate::format::wav::{fits_depth, read_wav, write_wav};
use crate::model::{Adsr, Instrument, InstrumentKind, Note, SampleData, Song, Track, validate};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Writes `song` as text for a file at `out_path`, saving sample WAVs beside it as needed
/// (see the module docs for which); the text file itself is not written.
pub fn to_text(song: &Song, out_path: &Path) -> Result<String, TextSaveError> {
    Ok(write_text(song, out_path)?.text)
}

/// Like [`to_text`], also reporting the sample path of each instrument slot.
pub fn write_text(song: &Song, out_path: &Path) -> Result<TextOutput, TextSaveError> {
    validate(song)?;
    let sources = place_samples(song, out_path)?;
    let mut out = String::with_capacity(4096);
    out += "# ttrack song in text form; the format is described in docs/song-format.md\n";
    out += &format!("ttrack = {TEXT_VERSION}\n");
    out += &format!("title = {}\n", toml_string(&song.title));
    out += &format!("author = {}\n", toml_string(&song.author));
    out += &format!(
        "bpm = {}\nlpb = {}\ntpl = {}\n",
        song.bpm, song.lpb, song.tpl
    );
    if song.seed <= i64::MAX as u64 {
        out += &format!("seed = {}\n", song.seed);
    } else {
        out += &format!("seed = \"0x{:016X}\"\n", song.seed);
    }
    out += &format!("restart = {}\n", song.restart);
    out += "order = [";
    for (i, p) in song.order.iter().enumerate() {
        if i > 0 {
            out += if i.is_multiple_of(16) {
                ",\n    "
            } else {
                ", "
            };
        }
        out += &p.to_string();
    }
    out += "]\n";
    let highest = song
        .instruments
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |i| i + 1);
    if song.instruments.len() != highest {
        out += &format!("instrument_slots = {}\n", song.instruments.len());
    }
    super::arrange::write(&mut out, song);
    super::mix::write_groups(&mut out, &song.groups);
    let frozen = place_frozen(song, out_path)?;
    for (track, audio) in song.tracks.iter().zip(&frozen) {
        write_track(&mut out, track);
        if let (Some(f), Some(audio)) = (&track.frozen, audio) {
            super::arrange::write_frozen(&mut out, track, f, audio);
        }
    }
    super::mix::write_mixer(&mut out, &song.mixer);
    for (i, inst) in song.instruments.iter().enumerate() {
        if let Some(inst) = inst {
            write_instrument(&mut out, i + 1, inst, sources[i].as_deref());
        }
    }
    for (pi, pattern) in song.patterns.iter().enumerate() {
        write_pattern(&mut out, pi, pattern, &song.tracks);
    }
    super::takes::write(&mut out, song);
    Ok(TextOutput { text: out, sources })
}

/// Saves `song` as a text file (atomically) plus any sample WAVs it needs; returns the sample
/// path of each instrument slot, so the caller can update `SampleData::source`.
pub fn save(song: &Song, path: impl AsRef<Path>) -> Result<Vec<Option<String>>, TextSaveError> {
    let path = path.as_ref();
    let output = write_text(song, path)?;
    write_atomic(path, output.text.as_bytes())?;
    Ok(output.sources)
}

fn write_track(out: &mut String, t: &Track) {
    *out += "\n[[track]]\n";
    *out += &format!("name = {}\n", toml_string(&t.name));
    if t.note_columns != 1 {
        *out += &format!("note_columns = {}\n", t.note_columns);
    }
    if t.effect_columns != 1 {
        *out += &format!("effect_columns = {}\n", t.effect_columns);
    }
    if t.show_delay {
        *out += "delay = true\n";
    }
    if t.volume_db != 0.0 {
        *out += &format!("volume_db = {}\n", fmt_f32(t.volume_db));
    }
    if t.pan != 0.0 {
        *out += &format!("pan = {}\n", fmt_f32(t.pan));
    }
    if t.mute {
        *out += "mute = true\n";
    }
    if let Some(g) = t.group {
        *out += &format!("group = {}\n", g as u16 + 1);
    }
    super::mix::write_track_mix(out, t.solo, &t.sends, &t.inserts, "track");
}

fn fmt_adsr(a: &Adsr) -> String {
    format!(
        "{{ attack_ms = {}, decay_ms = {}, sustain = {}, release_ms = {} }}",
        fmt_f32(a.attack_ms),
        fmt_f32(a.decay_ms),
        fmt_f32(a.sustain),
        fmt_f32(a.release_ms)
    )
}

fn write_instrument(out: &mut String, slot: usize, inst: &Instrument, sample_path: Option<&str>) {
    *out += "\n[[instrument]]\n";
    *out += &format!("slot = {slot}\n");
    *out += &format!("name = {}\n", toml_string(&inst.name));
    let kind = match inst.kind {
        InstrumentKind::Synth(_) => "synth",
        InstrumentKind::Sampler(_) => "sampler",
    };
    *out += &format!("type = \"{kind}\"\n");
    *out += &format!(
        "volume = {}\npan = {}\n",
        fmt_f32(inst.volume),
        fmt_f32(inst.pan)
    );
    match &inst.kind {
        InstrumentKind::Synth(s) => {
            *out += &format!(
                "osc1 = \"{}\"\nosc2 = \"{}\"\n",
                s.osc1.name(),
                s.osc2.name()
            );
            *out += &format!("osc2_semitones = {}\n", fmt_f32(s.osc2_semitones));
            *out += &format!("osc_mix = {}\n", fmt_f32(s.osc_mix));
            *out += &format!("pulse_width = {}\n", fmt_f32(s.pulse_width));
            *out += &format!("amp = {}\n", fmt_adsr(&s.amp));
            *out += &format!("cutoff_hz = {}\n", fmt_f32(s.cutoff_hz));
            *out += &format!("resonance = {}\n", fmt_f32(s.resonance));
            *out += &format!("filter_env_octaves = {}\n", fmt_f32(s.filter_env_octaves));
            *out += &format!("filter_env = {}\n", fmt_adsr(&s.filter_env));
            *out += &format!("key_track = {}\n", fmt_f32(s.key_track));
            *out += &format!("pitch_env_semitones = {}\n", fmt_f32(s.pitch_env_semitones));
            *out += &format!("pitch_env_ms = {}\n", fmt_f32(s.pitch_env_ms));
        }
        InstrumentKind::Sampler(s) => {
            let path = sample_path.unwrap_or_default();
            *out += &format!("sample = {}\n", toml_string(path));
            let stem = Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if stem != s.sample.name {
                *out += &format!("sample_name = {}\n", toml_string(&s.sample.name));
            }
            *out += &format!("base_note = \"{}\"\n", Note::On(s.base_note));
            *out += &format!("fine_tune_cents = {}\n", fmt_f32(s.fine_tune_cents));
            *out += &format!("loop_mode = \"{}\"\n", s.loop_mode.name());
            *out += &format!("loop_start = {}\nloop_end = {}\n", s.loop_start, s.loop_end);
            *out += &format!("amp = {}\n", fmt_adsr(&s.amp));
        }
    }
}

/// Shortest text that reads back as exactly `x` (Rust's `Debug` form, which is a valid TOML float).
pub(super) fn fmt_f32(x: f32) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

/// A TOML basic string with every character TOML requires escaped.
pub(super) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            c if c.is_control() => out += &format!("\\u{:04X}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `song` from `song.ttrk.toml`, `song.toml` or `song.ttrk`.
fn song_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".toml").unwrap_or(&name);
    let name = name.strip_suffix(".ttrk").unwrap_or(name);
    if name.is_empty() {
        "song".into()
    } else {
        name.into()
    }
}

/// A file-name-safe version of a sample name (ASCII letters, digits, `-`, `_`; at most 40).
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if s.is_empty() { "sample".into() } else { s }
}

/// The same audio (the name and source may differ).
fn same_audio(a: &SampleData, b: &SampleData) -> bool {
    a.rate == b.rate
        && a.channels == b.channels
        && a.bits == b.bits
        && a.float == b.float
        && a.frames == b.frames
        && a.data == b.data
}

/// Decides the sample path of every sampler and writes the WAVs that are needed.
fn place_samples(song: &Song, out_path: &Path) -> Result<Vec<Option<String>>, TextSaveError> {
    let dir = parent_dir(out_path);
    let mut sources: Vec<Option<String>> = vec![None; song.instruments.len()];
    let samplers: Vec<(usize, &Arc<SampleData>)> = song
        .instruments
        .iter()
        .enumerate()
        .filter_map(|(i, inst)| match inst {
            Some(Instrument {
                kind: InstrumentKind::Sampler(s),
                ..
            }) => Some((i, &s.sample)),
            _ => None,
        })
        .collect();
    // Pass 1: keep references to files that still hold the same audio.
    let mut kept: Vec<PathBuf> = Vec::new();
    for &(i, sample) in &samplers {
        let Some(source) = &sample.source else {
            continue;
        };
        let full = dir.join(source);
        if kept.contains(&full) || read_wav(&full).is_ok_and(|loaded| same_audio(&loaded, sample)) {
            kept.push(full);
            sources[i] = Some(source.clone());
        }
    }
    // Pass 2: write the others to `<stem>.samples/`, never over a kept file; shared data is written once.
    let folder = format!("{}.samples", song_stem(out_path));
    let mut written: Vec<(&Arc<SampleData>, String)> = Vec::new();
    for &(i, sample) in &samplers {
        if sources[i].is_some() {
            continue;
        }
        if let Some((_, path)) = written.iter().find(|(s, _)| Arc::ptr_eq(s, sample)) {
            sources[i] = Some(path.clone());
            continue;
        }
        let base = format!("{:02X}-{}", i + 1, file_safe(&sample.name));
        let mut rel = format!("{folder}/{base}.wav");
        let mut n = 2;
        while kept.contains(&dir.join(&rel)) {
            rel = format!("{folder}/{base}-{n}.wav");
            n += 1;
        }
        let folder_path = dir.join(&folder);
        std::fs::create_dir_all(&folder_path).map_err(|error| TextSaveError::SampleDir {
            path: folder_path,
            error,
        })?;
        let result = if fits_depth(sample) {
            write_wav(dir.join(&rel), sample)
        } else {
            write_wav(
                dir.join(&rel),
                &SampleData {
                    bits: 32,
                    float: true,
                    ..SampleData::clone(sample)
                },
            )
        };
        result.map_err(|error| TextSaveError::Sample { slot: i + 1, error })?;
        written.push((sample, rel.clone()));
        sources[i] = Some(rel);
    }
    Ok(sources)
}

/// Writes the audio of every frozen track to `<stem>.samples/frozen-NN-<name>.wav` (32-bit
/// float), unless that file holds the same audio already; returns each track's path.
fn place_frozen(song: &Song, out_path: &Path) -> Result<Vec<Option<String>>, TextSaveError> {
    let dir = parent_dir(out_path);
    let folder = format!("{}.samples", song_stem(out_path));
    let mut paths = vec![None; song.tracks.len()];
    for (t, track) in song.tracks.iter().enumerate() {
        let Some(f) = &track.frozen else {
            continue;
        };
        let rel = format!(
            "{folder}/frozen-{:02}-{}.wav",
            t + 1,
            file_safe(&track.name)
        );
        let full = dir.join(&rel);
        if !read_wav(&full).is_ok_and(|loaded| loaded.data == f.audio.data) {
            let folder_path = dir.join(&folder);
            std::fs::create_dir_all(&folder_path).map_err(|error| TextSaveError::SampleDir {
                path: folder_path,
                error,
            })?;
            let audio = SampleData {
                bits: 32,
                float: true,
                ..SampleData::clone(&f.audio)
            };
            write_wav(&full, &audio).map_err(|error| TextSaveError::Frozen {
                track: t + 1,
                error,
            })?;
        }
        paths[t] = Some(rel);
    }
    Ok(paths)
}
