//! Freezing a track (bounce in place) and unfreezing it.
//!
//! Freezing renders the track alone through the engine, after its inserts and before its fader
//! (fader at 0 dB, centre pan, which is unity, no sends, no group, master chain off), over the
//! whole song and its tail, at the engine's rate. The song then keeps that audio in the track
//! ([`Frozen`]), with the frame where each order position starts, and the track's cells move
//! into the same place, out of the patterns. The engine plays the audio into the track's strip
//! instead of notes (see `engine::frozen`), so the fader, pan, sends, group and master act on it as
//! before, and the track sounds the same while costing one buffer copy per block.

use super::{RenderError, RenderOptions, render_to_vec};
use crate::engine::{EngineSong, order_starts};
use crate::model::arrange::Frozen;
use crate::model::limits::MAX_SAMPLE_VALUES;
use crate::model::mix::{Master, OFF_DB, SEND_BUSES};
use crate::model::{EffectCell, NoteCell, PatternTrack, SampleData, Song};
use std::sync::Arc;

/// Why a track cannot be frozen.
#[derive(Debug, thiserror::Error)]
pub enum FreezeError {
    /// No such track.
    #[error("there is no track {0}")]
    NoTrack(usize),
    /// Frozen already.
    #[error("track {0} is frozen already")]
    Frozen(usize),
    /// Not frozen.
    #[error("track {0} is not frozen")]
    NotFrozen(usize),
    /// The render failed.
    #[error("cannot render the track: {0}")]
    Render(#[from] RenderError),
    /// The audio would be longer than a sample may be.
    #[error("the track's audio would be longer than a sample may be")]
    TooLong,
    /// The frozen song breaks a limit (all sample data together, most likely).
    #[error(transparent)]
    Invalid(#[from] crate::model::ModelError),
}

/// The song that renders track `t` alone, after its inserts and before its fader.
pub fn solo_song(song: &Song, t: usize) -> Song {
    let mut s = song.clone();
    for (i, tr) in s.tracks.iter_mut().enumerate() {
        if i == t {
            tr.volume_db = 0.0;
            tr.pan = 0.0;
            tr.mute = false;
            tr.solo = false;
            tr.sends = [OFF_DB; SEND_BUSES];
            tr.group = None;
        } else {
            tr.mute = true;
            tr.solo = false;
        }
    }
    s.mixer.master = Master::default();
    s
}

/// `song` with track `t` frozen: its audio rendered at `rate` Hz and its cells put aside.
pub fn freeze(song: &Song, t: usize, rate: u32) -> Result<Song, FreezeError> {
    let track = song.tracks.get(t).ok_or(FreezeError::NoTrack(t + 1))?;
    if track.frozen.is_some() {
        return Err(FreezeError::Frozen(t + 1));
    }
    let (l, r) = render_to_vec(
        &solo_song(song, t),
        RenderOptions {
            rate,
            ..Default::default()
        },
    )?;
    let frames = l.len() as u64;
    if frames * 2 > MAX_SAMPLE_VALUES {
        return Err(FreezeError::TooLong);
    }
    let data: Vec<f32> = l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]).collect();
    let audio = SampleData {
        name: format!("Frozen {}", track.name),
        rate,
        channels: 2,
        bits: 32,
        float: true,
        frames,
        source: None,
        data,
    };
    let starts = order_starts(&EngineSong::from_model(song, rate), rate)
        .into_iter()
        .map(|s| s.filter(|&f| f <= frames))
        .collect();
    let mut out = song.clone();
    let mut cells = Vec::with_capacity(out.patterns.len());
    for p in &mut out.patterns {
        let pt = &mut p.tracks[t];
        cells.push(pt.clone());
        pt.notes.fill(NoteCell::EMPTY);
        pt.effects.fill(EffectCell::EMPTY);
    }
    out.tracks[t].frozen = Some(Box::new(Frozen {
        audio: Arc::new(audio),
        starts,
        cells,
    }));
    crate::model::validate(&out)?;
    Ok(out)
}

/// `song` with track `t` unfrozen: its cells back in the patterns (as much of them as still fits
/// when patterns or columns changed since), its audio gone.
pub fn unfreeze(song: &Song, t: usize) -> Result<Song, FreezeError> {
    let track = song.tracks.get(t).ok_or(FreezeError::NoTrack(t + 1))?;
    let Some(frozen) = &track.frozen else {
        return Err(FreezeError::NotFrozen(t + 1));
    };
    let mut out = song.clone();
    let (nc, ec) = (track.note_columns as usize, track.effect_columns as usize);
    for (p, old) in out.patterns.iter_mut().zip(&frozen.cells) {
        let rows = p.rows as usize;
        let pt: &mut PatternTrack = &mut p.tracks[t];
        if old.notes.len() == pt.notes.len() && old.effects.len() == pt.effects.len() {
            *pt = old.clone();
            continue;
        }
        // The pattern's length changed while frozen: the rows that still fit come back.
        let old_rows = old.notes.len().checked_div(nc).unwrap_or(0).min(rows);
        pt.notes[..old_rows * nc].copy_from_slice(&old.notes[..old_rows * nc]);
        let e = (old_rows * ec).min(old.effects.len());
        pt.effects[..e].copy_from_slice(&old.effects[..e]);
    }
    out.tracks[t].frozen = None;
    Ok(out)
}
