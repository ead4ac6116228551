//! Every change to the song is an [`Edit`], applied at one choke point so that undo, redo, the dirty
//! mark and the engine mirror can never be forgotten.

use super::mixer::MixSnapshot;
use crate::engine::msg::MixState;
use crate::engine::{Command, EngineSong, PlayableInstrument};
use crate::model::{EffectCell, Instrument, NoteCell, Pattern, Song};

/// A reversible change to the song.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// One note cell.
    Note {
        /// Pattern index.
        pattern: usize,
        /// Row.
        row: usize,
        /// Track.
        track: usize,
        /// Note column.
        column: usize,
        /// Contents before.
        before: NoteCell,
        /// Contents after.
        after: NoteCell,
    },
    /// One effect cell.
    Effect {
        /// Pattern index.
        pattern: usize,
        /// Row.
        row: usize,
        /// Track.
        track: usize,
        /// Effect column.
        column: usize,
        /// Contents before.
        before: EffectCell,
        /// Contents after.
        after: EffectCell,
    },
    /// A whole pattern (row inserts and deletes, resizes, large pastes).
    Pattern {
        /// Pattern index.
        index: usize,
        /// The pattern before.
        before: Box<Pattern>,
        /// The pattern after.
        after: Box<Pattern>,
    },
    /// Anything structural: tracks, instruments, the order list, tempo, new patterns. The song is
    /// cheap to clone (sample data is shared).
    Song {
        /// What is being changed, for the message line ("new pattern").
        what: &'static str,
        /// The song before.
        before: Box<Song>,
        /// The song after.
        after: Box<Song>,
    },
    /// One instrument slot (1-based): created, changed or emptied.
    Instrument {
        /// Slot.
        slot: u8,
        /// The instrument before (`None`: the slot was empty).
        before: Option<Box<Instrument>>,
        /// The instrument after.
        after: Option<Box<Instrument>>,
    },
    /// Mix settings (the mixer view): every track's strip and the buses. Mirrored with
    /// [`Command::SetMix`], which ramps, so playback never hiccups.
    Mix {
        /// The settings before.
        before: Box<MixSnapshot>,
        /// The settings after.
        after: Box<MixSnapshot>,
    },
    /// Several edits as one undo step (paste, transpose, interpolate).
    Group(Vec<Edit>),
}

impl Edit {
    /// The edit that undoes this one.
    pub fn inverse(&self) -> Edit {
        match self.clone() {
            Edit::Note {
                pattern,
                row,
                track,
                column,
                before,
                after,
            } => Edit::Note {
                pattern,
                row,
                track,
                column,
                before: after,
                after: before,
            },
            Edit::Effect {
                pattern,
                row,
                track,
                column,
                before,
                after,
            } => Edit::Effect {
                pattern,
                row,
                track,
                column,
                before: after,
                after: before,
            },
            Edit::Pattern {
                index,
                before,
                after,
            } => Edit::Pattern {
                index,
                before: after,
                after: before,
            },
            Edit::Song {
                what,
                before,
                after,
            } => Edit::Song {
                what,
                before: after,
                after: before,
            },
            Edit::Instrument {
                slot,
                before,
                after,
            } => Edit::Instrument {
                slot,
                before: after,
                after: before,
            },
            Edit::Mix { before, after } => Edit::Mix {
                before: after,
                after: before,
            },
            Edit::Group(v) => Edit::Group(v.iter().rev().map(Edit::inverse).collect()),
        }
    }

    /// Applies the edit to `song`. Indices were checked when the edit was made; a stale index is
    /// ignored rather than trusted.
    pub fn apply(&self, song: &mut Song) {
        match self {
            Edit::Note {
                pattern,
                row,
                track,
                column,
                after,
                ..
            } => {
                if let Some(p) = song.patterns.get_mut(*pattern)
                    && *track < p.tracks.len()
                    && *row < p.rows as usize
                    && *column < p.note_columns(*track)
                {
                    *p.note_mut(*track, *row, *column) = *after;
                }
            }
            Edit::Effect {
                pattern,
                row,
                track,
                column,
                after,
                ..
            } => {
                if let Some(p) = song.patterns.get_mut(*pattern)
                    && *track < p.tracks.len()
                    && *row < p.rows as usize
                    && *column < p.effect_columns(*track)
                {
                    *p.effect_mut(*track, *row, *column) = *after;
                }
            }
            Edit::Pattern { index, after, .. } => {
                if let Some(p) = song.patterns.get_mut(*index) {
                    *p = (**after).clone();
                }
            }
            Edit::Song { after, .. } => *song = (**after).clone(),
            Edit::Instrument { slot, after, .. } => {
                let i = (*slot as usize).saturating_sub(1);
                if song.instruments.len() <= i {
                    song.instruments.resize(i + 1, None);
                }
                song.instruments[i] = after.as_deref().cloned();
                while song.instruments.last().is_some_and(|x| x.is_none()) {
                    song.instruments.pop();
                }
            }
            Edit::Mix { after, .. } => after.apply_to(song),
            Edit::Group(v) => v.iter().for_each(|e| e.apply(song)),
        }
    }

    /// The engine commands that bring the engine's copy in line after this edit was applied to
    /// `song` (which is already the new state).
    pub fn mirror(&self, song: &Song, rate: u32, out: &mut Vec<Command>) {
        match self {
            Edit::Note {
                pattern,
                row,
                track,
                column,
                after,
                ..
            } => out.push(Command::SetNote {
                pattern: *pattern as u16,
                row: *row as u16,
                track: *track as u8,
                column: *column as u8,
                cell: *after,
            }),
            Edit::Effect {
                pattern,
                row,
                track,
                column,
                after,
                ..
            } => out.push(Command::SetEffect {
                pattern: *pattern as u16,
                row: *row as u16,
                track: *track as u8,
                column: *column as u8,
                cell: *after,
            }),
            Edit::Pattern { index, after, .. } => out.push(Command::ReplacePattern {
                index: *index as u16,
                pattern: after.clone(),
            }),
            Edit::Song { .. } => out.push(Command::ReplaceSong(Box::new(EngineSong::from_model(
                song, rate,
            )))),
            Edit::Instrument { slot, after, .. } => out.push(Command::ReplaceInstrument {
                slot: *slot,
                instrument: after
                    .as_ref()
                    .map(|i| Box::new(PlayableInstrument::from_model(i, rate as f32))),
            }),
            Edit::Mix { .. } => out.push(Command::SetMix(Box::new(MixState::from_model(song)))),
            Edit::Group(v) => {
                if v.iter().any(|e| matches!(e, Edit::Song { .. })) {
                    out.push(Command::ReplaceSong(Box::new(EngineSong::from_model(
                        song, rate,
                    ))));
                } else {
                    v.iter().for_each(|e| e.mirror(song, rate, out));
                }
            }
        }
    }
}

/// Identifies one adjustable parameter (e.g. strip 3, row 0), so that repeated nudges of it can
/// merge into one undo step.
pub type MergeKey = (usize, usize, usize);

/// Undo and redo stacks.
#[derive(Debug, Default)]
pub struct History {
    undo: Vec<Edit>,
    redo: Vec<Edit>,
    /// The parameter the last step nudged, and when.
    last_nudge: Option<(MergeKey, std::time::Instant)>,
}

/// Undo steps kept.
pub const HISTORY_STEPS: usize = 1000;

/// Nudges of one parameter closer together than this merge into one undo step.
pub const MERGE_MS: u128 = 500;

impl History {
    /// Records an edit that was just applied; clears the redo stack.
    pub fn push(&mut self, edit: Edit) {
        self.last_nudge = None;
        self.redo.clear();
        self.undo.push(edit);
        if self.undo.len() > HISTORY_STEPS {
            self.undo.remove(0);
        }
    }

    /// Records a mix edit that nudged parameter `key` at `now`. When the previous step nudged
    /// the same parameter less than [`MERGE_MS`] before, the two become one step (holding a key
    /// is one undo step), as in the design notes (§6).
    pub fn push_nudge(&mut self, edit: Edit, key: MergeKey, now: std::time::Instant) {
        let recent = self
            .last_nudge
            .is_some_and(|(k, t)| k == key && now.duration_since(t).as_millis() < MERGE_MS);
        if recent
            && self.redo.is_empty()
            && let (Some(Edit::Mix { after: top, .. }), Edit::Mix { after, .. }) =
                (self.undo.last_mut(), &edit)
        {
            *top = after.clone();
        } else {
            self.push(edit);
        }
        self.last_nudge = Some((key, now));
    }

    /// The edit to apply to undo the last step (its inverse is moved to the redo stack).
    pub fn undo(&mut self) -> Option<Edit> {
        self.last_nudge = None;
        let e = self.undo.pop()?;
        let inv = e.inverse();
        self.redo.push(e);
        Some(inv)
    }

    /// The edit to apply to redo the last undone step.
    pub fn redo(&mut self) -> Option<Edit> {
        self.last_nudge = None;
        let e = self.redo.pop()?;
        self.undo.push(e.clone());
        Some(e)
    }

    /// Steps that can be undone.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Steps that can be redone.
    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn mix_edit(song: &Song, volume_db: f32) -> Edit {
        let before = MixSnapshot::of(song);
        let mut after = before.clone();
        after.tracks[0].volume_db = volume_db;
        Edit::Mix {
            before: Box::new(before),
            after: Box::new(after),
        }
    }

    #[test]
    fn nudges_of_one_parameter_merge_within_half_a_second() {
        let mut song = Song::new_default();
        let mut h = History::default();
        let t0 = Instant::now();
        for (i, ms) in [0u64, 200, 400, 600].into_iter().enumerate() {
            let e = mix_edit(&song, -(i as f32 + 1.0));
            e.apply(&mut song);
            h.push_nudge(e, (0, 0, 0), t0 + Duration::from_millis(ms));
        }
        assert_eq!(h.undo_len(), 1, "nudges 200 ms apart are one step");
        // Half a second later, or another parameter, starts a new step.
        let e = mix_edit(&song, -10.0);
        e.apply(&mut song);
        h.push_nudge(e, (0, 0, 0), t0 + Duration::from_millis(1200));
        let e = mix_edit(&song, -11.0);
        e.apply(&mut song);
        h.push_nudge(e, (0, 1, 0), t0 + Duration::from_millis(1300));
        assert_eq!(h.undo_len(), 3);
        // The merged step undoes all its nudges at once.
        for _ in 0..3 {
            h.undo().unwrap().apply(&mut song);
        }
        assert_eq!(song.tracks[0].volume_db, 0.0);
        // After an undo the next nudge is a step of its own.
        let e = mix_edit(&song, -1.0);
        e.apply(&mut song);
        h.push_nudge(e, (0, 0, 0), t0 + Duration::from_millis(1400));
        let e = mix_edit(&song, -2.0);
        e.apply(&mut song);
        h.push_nudge(e, (0, 0, 0), t0 + Duration::from_millis(1450));
        assert_eq!((h.undo_len(), h.redo_len()), (1, 0));
    }
}
