//! Checks a song against [`limits`](super::limits) and its own consistency, so every later layer may
//! index without fear.

use super::limits::*;
use super::mix::{Compressor, Eq, Insert, MAX_GROUPS, MAX_INSERTS, Mixer, ranges};
use super::{InstrumentKind, MAX_PITCH, Note, Song};
use thiserror::Error;

/// Why a song is not acceptable; each variant reads as a sentence.
#[derive(Debug, Error, PartialEq)]
pub enum ModelError {
    /// A count or size is beyond a limit.
    #[error("{what} is {found}; the limit is {max}")]
    TooLarge {
        /// What was counted.
        what: String,
        /// The value found.
        found: u64,
        /// The largest allowed.
        max: u64,
    },
    /// A value lies outside its range.
    #[error("{what} is {found}; it must be within {min}..={max}")]
    OutOfRange {
        /// What was checked.
        what: String,
        /// The value found.
        found: f64,
        /// Lowest allowed.
        min: f64,
        /// Highest allowed.
        max: f64,
    },
    /// Parts of the song disagree.
    #[error("{0}")]
    Inconsistent(String),
}

/// Whether every value is finite: 256 values at a time without stopping early inside a stretch
/// (a loop that stops at the first bad value cannot be vectorised; this one is, about ten times
/// fewer instructions for a sample kit's values).
fn all_finite(data: &[f32]) -> bool {
    data.chunks(256)
        .all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite()))
}

fn too_large(what: impl Into<String>, found: usize, max: usize) -> ModelError {
    ModelError::TooLarge {
        what: what.into(),
        found: found as u64,
        max: max as u64,
    }
}

fn range(what: impl Into<String>, v: f64, min: f64, max: f64) -> Result<(), ModelError> {
    if v.is_finite() && v >= min && v <= max {
        Ok(())
    } else {
        Err(ModelError::OutOfRange {
            what: what.into(),
            found: v,
            min,
            max,
        })
    }
}

/// Checks every limit and cross-reference of `song`.
pub fn validate(song: &Song) -> Result<(), ModelError> {
    if song.title.len() > MAX_NAME_BYTES {
        return Err(too_large(
            "the title length in bytes",
            song.title.len(),
            MAX_NAME_BYTES,
        ));
    }
    range(
        "the tempo (BPM)",
        song.bpm as f64,
        BPM_RANGE.0 as f64,
        BPM_RANGE.1 as f64,
    )?;
    range(
        "LPB",
        song.lpb as f64,
        LPB_RANGE.0 as f64,
        LPB_RANGE.1 as f64,
    )?;
    range(
        "TPL",
        song.tpl as f64,
        TPL_RANGE.0 as f64,
        TPL_RANGE.1 as f64,
    )?;
    if song.tracks.is_empty() || song.tracks.len() > MAX_TRACKS {
        return Err(ModelError::OutOfRange {
            what: "the track count".into(),
            found: song.tracks.len() as f64,
            min: 1.0,
            max: MAX_TRACKS as f64,
        });
    }
    for (i, t) in song.tracks.iter().enumerate() {
        let n = i + 1;
        range(
            format!("track {n}'s note columns"),
            t.note_columns as f64,
            1.0,
            MAX_NOTE_COLUMNS as f64,
        )?;
        range(
            format!("track {n}'s effect columns"),
            t.effect_columns as f64,
            1.0,
            MAX_EFFECT_COLUMNS as f64,
        )?;
        range(
            format!("track {n}'s volume (dB)"),
            t.volume_db as f64,
            -96.0,
            24.0,
        )?;
        range(format!("track {n}'s pan"), t.pan as f64, -1.0, 1.0)?;
        validate_strip(&format!("track {n}"), &t.sends, &t.inserts)?;
        if t.name.len() > MAX_NAME_BYTES {
            return Err(too_large(
                format!("track {n}'s name length"),
                t.name.len(),
                MAX_NAME_BYTES,
            ));
        }
    }
    if song.patterns.is_empty() {
        return Err(ModelError::Inconsistent("the song has no pattern".into()));
    }
    if song.patterns.len() > MAX_PATTERNS {
        return Err(too_large(
            "the pattern count",
            song.patterns.len(),
            MAX_PATTERNS,
        ));
    }
    for (pi, p) in song.patterns.iter().enumerate() {
        if p.rows == 0 || p.rows as usize > MAX_ROWS {
            return Err(ModelError::TooLarge {
                what: format!("pattern {pi}'s row count"),
                found: p.rows as u64,
                max: MAX_ROWS as u64,
            });
        }
        if p.tracks.len() != song.tracks.len() {
            return Err(ModelError::Inconsistent(format!(
                "pattern {pi} has {} tracks but the song has {}",
                p.tracks.len(),
                song.tracks.len()
            )));
        }
        for (ti, (pt, t)) in p.tracks.iter().zip(&song.tracks).enumerate() {
            let rows = p.rows as usize;
            if pt.notes.len() != rows * t.note_columns as usize
                || pt.effects.len() != rows * t.effect_columns as usize
            {
                return Err(ModelError::Inconsistent(format!(
                    "pattern {pi}, track {}: the cells do not match {rows} rows × {} note and {} effect columns",
                    ti + 1,
                    t.note_columns,
                    t.effect_columns
                )));
            }
            for c in &pt.notes {
                if let Note::On(p) = c.note
                    && p > MAX_PITCH
                {
                    return Err(ModelError::Inconsistent(format!(
                        "pattern {pi}: pitch value {p} is above B-9"
                    )));
                }
                if c.volume != 0xFF && c.volume > 0x40 {
                    return Err(ModelError::Inconsistent(format!(
                        "pattern {pi}: volume {:02X} is above 40",
                        c.volume
                    )));
                }
            }
            for e in &pt.effects {
                if e.command != 0 && !super::EffectCell::valid_command(e.command) {
                    return Err(ModelError::Inconsistent(format!(
                        "pattern {pi}: effect command byte {} is not 0-9 or A-Z",
                        e.command
                    )));
                }
            }
        }
    }
    if song.order.is_empty() {
        return Err(ModelError::Inconsistent("the order list is empty".into()));
    }
    if song.order.len() > MAX_ORDER {
        return Err(too_large(
            "the order list length",
            song.order.len(),
            MAX_ORDER,
        ));
    }
    for (i, &p) in song.order.iter().enumerate() {
        if p as usize >= song.patterns.len() {
            return Err(ModelError::Inconsistent(format!(
                "order position {i} names pattern {p}, but there are only {} patterns",
                song.patterns.len()
            )));
        }
    }
    if song.restart as usize >= song.order.len() {
        return Err(ModelError::Inconsistent(format!(
            "the restart position {} is past the end of the order list ({} entries)",
            song.restart,
            song.order.len()
        )));
    }
    if song.instruments.len() > MAX_INSTRUMENTS {
        return Err(too_large(
            "the instrument count",
            song.instruments.len(),
            MAX_INSTRUMENTS,
        ));
    }
    let mut total_values: u64 = 0;
    for (i, inst) in song.instruments.iter().enumerate() {
        let Some(inst) = inst else { continue };
        let n = format!("instrument {:02X}", i + 1);
        range(format!("{n}'s volume"), inst.volume as f64, 0.0, 2.0)?;
        range(format!("{n}'s pan"), inst.pan as f64, -1.0, 1.0)?;
        match &inst.kind {
            InstrumentKind::Synth(s) => {
                range(
                    format!("{n}'s pulse width"),
                    s.pulse_width as f64,
                    0.01,
                    0.99,
                )?;
                range(format!("{n}'s oscillator mix"), s.osc_mix as f64, 0.0, 1.0)?;
                range(
                    format!("{n}'s oscillator 2 offset"),
                    s.osc2_semitones as f64,
                    -48.0,
                    48.0,
                )?;
                range(
                    format!("{n}'s cutoff (Hz)"),
                    s.cutoff_hz as f64,
                    10.0,
                    24000.0,
                )?;
                range(format!("{n}'s resonance"), s.resonance as f64, 0.0, 1.0)?;
                range(
                    format!("{n}'s filter envelope (octaves)"),
                    s.filter_env_octaves as f64,
                    -10.0,
                    10.0,
                )?;
                range(format!("{n}'s key tracking"), s.key_track as f64, 0.0, 1.0)?;
                range(
                    format!("{n}'s pitch envelope (semitones)"),
                    s.pitch_env_semitones as f64,
                    -96.0,
                    96.0,
                )?;
                range(
                    format!("{n}'s pitch envelope time (ms)"),
                    s.pitch_env_ms as f64,
                    0.0,
                    60_000.0,
                )?;
                for (what, env) in [("amplitude", &s.amp), ("filter", &s.filter_env)] {
                    check_adsr(&format!("{n}'s {what} envelope"), env)?;
                }
            }
            InstrumentKind::Sampler(s) => {
                let d = &s.sample;
                if d.channels == 0 || d.channels > MAX_SAMPLE_CHANNELS {
                    return Err(ModelError::OutOfRange {
                        what: format!("{n}'s channel count"),
                        found: d.channels as f64,
                        min: 1.0,
                        max: MAX_SAMPLE_CHANNELS as f64,
                    });
                }
                let values = d.frames.saturating_mul(d.channels as u64);
                if values > MAX_SAMPLE_VALUES {
                    return Err(ModelError::TooLarge {
                        what: format!("{n}'s sample size in values"),
                        found: values,
                        max: MAX_SAMPLE_VALUES,
                    });
                }
                if d.data.len() as u64 != values {
                    return Err(ModelError::Inconsistent(format!(
                        "{n}: the sample says {} frames × {} channels but holds {} values",
                        d.frames,
                        d.channels,
                        d.data.len()
                    )));
                }
                if !all_finite(&d.data) {
                    return Err(ModelError::Inconsistent(format!(
                        "{n}: the sample holds a non-finite value"
                    )));
                }
                total_values += values;
                range(
                    format!("{n}'s sample rate"),
                    d.rate as f64,
                    1000.0,
                    384_000.0,
                )?;
                range(
                    format!("{n}'s base note"),
                    s.base_note as f64,
                    0.0,
                    MAX_PITCH as f64,
                )?;
                range(
                    format!("{n}'s fine tune (cents)"),
                    s.fine_tune_cents as f64,
                    -100.0,
                    100.0,
                )?;
                if s.loop_start > s.loop_end || s.loop_end > d.frames {
                    return Err(ModelError::Inconsistent(format!(
                        "{n}: loop {}..{} does not lie within the sample's {} frames",
                        s.loop_start, s.loop_end, d.frames
                    )));
                }
                check_adsr(&format!("{n}'s envelope"), &s.amp)?;
            }
        }
    }
    for (i, t) in song.tracks.iter().enumerate() {
        if let Some(f) = &t.frozen {
            total_values += validate_frozen(song, i, f)?;
        }
    }
    validate_arrangement(song)?;
    validate_takes(song)?;
    if total_values > MAX_TOTAL_SAMPLE_VALUES {
        return Err(ModelError::TooLarge {
            what: "the song's sample data in values".into(),
            found: total_values,
            max: MAX_TOTAL_SAMPLE_VALUES,
        });
    }
    validate_mixer(&song.mixer)?;
    if song.groups.len() > MAX_GROUPS {
        return Err(too_large("the group count", song.groups.len(), MAX_GROUPS));
    }
    for (i, g) in song.groups.iter().enumerate() {
        let who = format!("group {}", i + 1);
        if g.name.len() > MAX_NAME_BYTES {
            return Err(too_large(
                format!("{who}'s name length"),
                g.name.len(),
                MAX_NAME_BYTES,
            ));
        }
        r32(
            format!("{who}'s volume (dB)"),
            g.volume_db,
            ranges::VOLUME_DB,
        )?;
        r32(format!("{who}'s pan"), g.pan, (-1.0, 1.0))?;
        validate_strip(&who, &g.sends, &g.inserts)?;
    }
    for (i, t) in song.tracks.iter().enumerate() {
        if let Some(g) = t.group
            && g as usize >= song.groups.len()
        {
            return Err(ModelError::Inconsistent(format!(
                "track {} is in group {}, but the song has {} groups",
                i + 1,
                g as usize + 1,
                song.groups.len()
            )));
        }
    }
    Ok(())
}

/// Checks the frozen audio and hidden cells of track `t`; returns the audio's value count.
fn validate_frozen(song: &Song, t: usize, f: &super::arrange::Frozen) -> Result<u64, ModelError> {
    let who = format!("track {}'s frozen audio", t + 1);
    let d = &f.audio;
    let values = d.frames.saturating_mul(2);
    if d.channels != 2 || d.data.len() as u64 != values {
        return Err(ModelError::Inconsistent(format!(
            "{who} must be stereo with frames × 2 values"
        )));
    }
    if values > MAX_SAMPLE_VALUES {
        return Err(ModelError::TooLarge {
            what: who,
            found: values,
            max: MAX_SAMPLE_VALUES,
        });
    }
    if !all_finite(&d.data) {
        return Err(ModelError::Inconsistent(format!(
            "{who} holds a non-finite value"
        )));
    }
    range(format!("{who}'s rate"), d.rate as f64, 1000.0, 384_000.0)?;
    if f.starts.len() > MAX_ORDER {
        return Err(too_large(
            format!("{who}'s order positions"),
            f.starts.len(),
            MAX_ORDER,
        ));
    }
    if f.starts.iter().flatten().any(|&s| s > d.frames) {
        return Err(ModelError::Inconsistent(format!(
            "{who}: an order position starts past the end of the audio"
        )));
    }
    if f.cells.len() > MAX_PATTERNS {
        return Err(too_large(
            format!("track {}'s hidden patterns", t + 1),
            f.cells.len(),
            MAX_PATTERNS,
        ));
    }
    let tr = &song.tracks[t];
    for (pi, pt) in f.cells.iter().enumerate() {
        let (nc, ec) = (tr.note_columns as usize, tr.effect_columns as usize);
        if pt.notes.len() % nc != 0
            || pt.effects.len() % ec != 0
            || pt.notes.len() / nc != pt.effects.len() / ec
            || pt.notes.len() / nc > MAX_ROWS
        {
            return Err(ModelError::Inconsistent(format!(
                "track {}'s hidden cells of pattern {pi} do not fit its columns",
                t + 1
            )));
        }
    }
    Ok(values)
}

/// Checks the recorded takes: their track exists, their events stay within the limits.
fn validate_takes(song: &Song) -> Result<(), ModelError> {
    use super::takes::{MAX_TAKE_EVENTS, MAX_TAKES, TakeEventKind};
    if song.takes.len() > MAX_TAKES {
        return Err(too_large("the take count", song.takes.len(), MAX_TAKES));
    }
    for (i, t) in song.takes.iter().enumerate() {
        let who = format!("take {} (\"{}\")", i + 1, t.name);
        if t.name.len() > MAX_NAME_BYTES {
            return Err(too_large(
                format!("{who}'s name length"),
                t.name.len(),
                MAX_NAME_BYTES,
            ));
        }
        if t.track as usize >= song.tracks.len() {
            return Err(ModelError::Inconsistent(format!(
                "{who} was recorded into track {}, but the song has {} tracks",
                t.track as usize + 1,
                song.tracks.len()
            )));
        }
        if t.instrument == 0 || t.quantize > 64 {
            return Err(ModelError::Inconsistent(format!(
                "{who}: instrument 0 or a quantize grid over 64 rows"
            )));
        }
        if t.events.len() > MAX_TAKE_EVENTS {
            return Err(too_large(
                format!("{who}'s events"),
                t.events.len(),
                MAX_TAKE_EVENTS,
            ));
        }
        for e in &t.events {
            let key_ok = match e.kind {
                TakeEventKind::On { key, velocity } => key < 128 && (1..=127).contains(&velocity),
                TakeEventKind::Off { key } => key < 128,
                TakeEventKind::Sustain(_) => true,
            };
            if !key_ok
                || e.order as usize >= MAX_ORDER
                || e.pattern as usize >= MAX_PATTERNS
                || e.row as usize >= MAX_ROWS
            {
                return Err(ModelError::Inconsistent(format!(
                    "{who} holds an event outside the limits ({e:?})"
                )));
            }
        }
    }
    Ok(())
}

/// Checks slice mutes, sections and the loop range against the order list and the tracks.
fn validate_arrangement(song: &Song) -> Result<(), ModelError> {
    let a = &song.arrangement;
    let n = song.order.len();
    if a.mutes.len() > n {
        return Err(ModelError::Inconsistent(format!(
            "slice mutes are set for {} order positions, but the order list has {n}",
            a.mutes.len()
        )));
    }
    let tracks = song.tracks.len().min(64);
    let known = if tracks == 64 {
        u64::MAX
    } else {
        (1u64 << tracks) - 1
    };
    if let Some(i) = a.mutes.iter().position(|m| m & !known != 0) {
        return Err(ModelError::Inconsistent(format!(
            "order position {i} mutes a track that does not exist"
        )));
    }
    let mut prev: Option<u16> = None;
    for s in &a.sections {
        if s.start as usize >= n || prev.is_some_and(|p| p >= s.start) {
            return Err(ModelError::Inconsistent(format!(
                "section \"{}\" starts at order position {}, out of order or past the end",
                s.name, s.start
            )));
        }
        prev = Some(s.start);
        if s.name.len() > super::arrange::MAX_SECTION_NAME {
            return Err(too_large(
                "a section name's length",
                s.name.len(),
                super::arrange::MAX_SECTION_NAME,
            ));
        }
        if s.colour as usize >= super::arrange::SECTION_COLOURS.len() {
            return Err(ModelError::Inconsistent(format!(
                "section \"{}\" has colour {}, which does not exist",
                s.name, s.colour
            )));
        }
    }
    if let Some((x, y)) = a.loop_range
        && (x > y || y as usize >= n)
    {
        return Err(ModelError::Inconsistent(format!(
            "the loop range {x}..={y} does not lie within the order list (0..={})",
            n - 1
        )));
    }
    Ok(())
}

fn check_adsr(what: &str, env: &super::Adsr) -> Result<(), ModelError> {
    range(
        format!("{what} attack (ms)"),
        env.attack_ms as f64,
        0.0,
        60_000.0,
    )?;
    range(
        format!("{what} decay (ms)"),
        env.decay_ms as f64,
        0.0,
        60_000.0,
    )?;
    range(format!("{what} sustain"), env.sustain as f64, 0.0, 1.0)?;
    range(
        format!("{what} release (ms)"),
        env.release_ms as f64,
        0.0,
        60_000.0,
    )
}

fn r32(what: String, v: f32, (min, max): (f32, f32)) -> Result<(), ModelError> {
    range(what, v as f64, min as f64, max as f64)
}

/// Checks the sends and inserts of a mixer strip named `who`.
fn validate_strip(who: &str, sends: &[f32; 2], inserts: &[Insert]) -> Result<(), ModelError> {
    for (bus, &db) in ["reverb", "delay"].iter().zip(sends) {
        r32(format!("{who}'s {bus} send (dB)"), db, ranges::SEND_DB)?;
    }
    if inserts.len() > MAX_INSERTS {
        return Err(too_large(
            format!("{who}'s insert count"),
            inserts.len(),
            MAX_INSERTS,
        ));
    }
    for (i, ins) in inserts.iter().enumerate() {
        let w = format!("{who}'s insert {}", i + 1);
        match ins {
            Insert::Eq(e) => validate_eq(&w, e)?,
            Insert::Compressor(c) => validate_comp(&w, c)?,
        }
    }
    Ok(())
}

fn validate_eq(who: &str, e: &Eq) -> Result<(), ModelError> {
    for (b, name) in e.bands.iter().zip(Eq::BAND_NAMES) {
        r32(
            format!("{who} {name} frequency (Hz)"),
            b.freq_hz,
            ranges::EQ_FREQ,
        )?;
        r32(
            format!("{who} {name} gain (dB)"),
            b.gain_db,
            ranges::EQ_GAIN,
        )?;
        r32(format!("{who} {name} Q"), b.q, ranges::EQ_Q)?;
    }
    Ok(())
}

fn validate_comp(who: &str, c: &Compressor) -> Result<(), ModelError> {
    r32(
        format!("{who} threshold (dB)"),
        c.threshold_db,
        ranges::THRESHOLD,
    )?;
    r32(format!("{who} ratio"), c.ratio, ranges::RATIO)?;
    r32(format!("{who} knee (dB)"), c.knee_db, ranges::KNEE)?;
    r32(format!("{who} attack (ms)"), c.attack_ms, ranges::ATTACK_MS)?;
    r32(
        format!("{who} release (ms)"),
        c.release_ms,
        ranges::RELEASE_MS,
    )?;
    r32(
        format!("{who} make-up (dB)"),
        c.makeup_db,
        ranges::MAKEUP_DB,
    )?;
    Ok(())
}

/// Checks the send buses and the master chain.
fn validate_mixer(m: &Mixer) -> Result<(), ModelError> {
    let r = &m.reverb;
    r32(
        "the reverb return (dB)".into(),
        r.return_db,
        ranges::SEND_DB,
    )?;
    r32("the reverb size".into(), r.reverb.size, ranges::SIZE)?;
    r32(
        "the reverb decay (s)".into(),
        r.reverb.decay_s,
        ranges::DECAY_S,
    )?;
    r32(
        "the reverb damping".into(),
        r.reverb.damping,
        ranges::DAMPING,
    )?;
    r32(
        "the reverb pre-delay (ms)".into(),
        r.reverb.predelay_ms,
        ranges::PREDELAY_MS,
    )?;
    r32("the reverb width".into(), r.reverb.width, ranges::WIDTH)?;
    let d = &m.delay;
    r32("the delay return (dB)".into(), d.return_db, ranges::SEND_DB)?;
    r32("the delay time".into(), d.delay.time, ranges::DELAY_TIME)?;
    r32(
        "the delay feedback".into(),
        d.delay.feedback,
        ranges::FEEDBACK,
    )?;
    r32(
        "the delay high cut (Hz)".into(),
        d.delay.high_cut_hz,
        ranges::HIGH_CUT,
    )?;
    let ms = &m.master;
    r32(
        "the master volume (dB)".into(),
        ms.volume_db,
        ranges::VOLUME_DB,
    )?;
    validate_eq("the master EQ", &ms.eq)?;
    validate_comp("the master compressor", &ms.compressor)?;
    r32(
        "the limiter ceiling (dBTP)".into(),
        ms.limiter.ceiling_db,
        ranges::CEILING,
    )?;
    r32(
        "the limiter release (ms)".into(),
        ms.limiter.release_ms,
        ranges::LIMITER_RELEASE,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_value_anywhere_in_a_sample_is_found() {
        let data: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        assert!(all_finite(&data));
        assert!(all_finite(&[]));
        for at in [0, 1, 255, 256, 511, 700, 999] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut d = data.clone();
                d[at] = bad;
                assert!(!all_finite(&d), "{bad} at {at}");
            }
        }
    }

    #[test]
    fn default_song_is_valid() {
        validate(&Song::new_default()).unwrap();
    }

    #[test]
    fn absurd_rows_are_rejected() {
        let mut s = Song::new_default();
        s.patterns[0].rows = 4_000_000_000;
        let e = validate(&s).unwrap_err().to_string();
        assert!(e.contains("4000000000") && e.contains("512"), "{e}");
    }
}
