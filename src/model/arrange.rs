//! The arrangement around the order list: per-slice mutes (one track at one order position),
//! named and coloured sections, the playback loop range, and frozen tracks.
//!
//! The order list itself stays [`Song::order`] (pattern indices), so the engine and the file
//! formats read it as before; the data here runs parallel to it. Every edit of the order list in
//! the UI goes through [`Song::entries`] and [`Song::set_entries`], which keep both in step.

use super::{PatternTrack, SampleData, Song};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Colours a section can have (index = [`Section::colour`]), as named in files and on screen.
pub const SECTION_COLOURS: [&str; 8] = [
    "red", "green", "yellow", "blue", "magenta", "cyan", "white", "grey",
];
/// Most bytes of a section name.
pub const MAX_SECTION_NAME: usize = 32;

/// Arrangement data that runs parallel to the order list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Arrangement {
    /// Per order position, bit `t` set when track `t`'s slice is muted there. May be shorter than
    /// the order list: missing positions mute nothing.
    pub mutes: Vec<u64>,
    /// Sections, sorted by `start`, each starting at a different order position. A section runs
    /// from its start to the next section's start (or to the end of the order list); positions
    /// before the first section belong to none.
    pub sections: Vec<Section>,
    /// Playback loop range: first and last order position (inclusive). Playing the song plays
    /// this range over and over; rendering ignores it.
    pub loop_range: Option<(u16, u16)>,
}

/// A named, coloured run of order positions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// First order position.
    pub start: u16,
    /// Name shown in the matrix.
    pub name: String,
    /// Index into [`SECTION_COLOURS`].
    pub colour: u8,
}

/// One order position with everything attached to it, for edits that move positions around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Pattern index.
    pub pattern: u16,
    /// Muted track slices (bit per track).
    pub mutes: u64,
    /// A section starting here: name and colour.
    pub section: Option<(String, u8)>,
    /// Per track, for frozen tracks: the frame of the frozen audio where this position starts
    /// ([`Frozen::starts`]), so that a frozen track keeps sounding right where its positions
    /// move, repeat or go. Empty when no track is frozen.
    pub frozen: Vec<Option<u64>>,
}

/// A track whose sound has been rendered to audio ("bounce in place"): the engine plays the audio
/// instead of the track's notes, through the track's fader, pan, sends and group, but not its
/// inserts (they are in the audio already). The notes are kept here to be put back on unfreeze.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frozen {
    /// The track after its inserts and before its fader, stereo 32-bit float, rendered from the
    /// start of the song through its end and tail.
    pub audio: Arc<SampleData>,
    /// Per order position at freeze time: the frame of `audio` where playing the song reaches
    /// it, or `None` when the song never gets there.
    pub starts: Vec<Option<u64>>,
    /// The track's cells in every pattern (index = pattern) before freezing.
    pub cells: Vec<PatternTrack>,
}

impl Song {
    /// Whether track `t`'s slice at order position `pos` is muted.
    pub fn slice_muted(&self, pos: usize, t: usize) -> bool {
        t < 64
            && self
                .arrangement
                .mutes
                .get(pos)
                .is_some_and(|m| m & (1u64 << t) != 0)
    }

    /// The order list as entries, with their mutes, section starts and frozen tracks' starts.
    pub fn entries(&self) -> Vec<Entry> {
        let any_frozen = self.tracks.iter().any(|t| t.frozen.is_some());
        self.order
            .iter()
            .enumerate()
            .map(|(i, &pattern)| Entry {
                frozen: if any_frozen {
                    self.tracks
                        .iter()
                        .map(|t| {
                            t.frozen
                                .as_ref()
                                .and_then(|f| f.starts.get(i).copied().flatten())
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                pattern,
                mutes: self.arrangement.mutes.get(i).copied().unwrap_or(0),
                section: self
                    .arrangement
                    .sections
                    .iter()
                    .find(|s| s.start as usize == i)
                    .map(|s| (s.name.clone(), s.colour)),
            })
            .collect()
    }

    /// Replaces the order list by `entries` (at least one), rebuilding mutes, sections and the
    /// frozen tracks' starts, and keeping the restart position and the loop range inside the new
    /// list.
    pub fn set_entries(&mut self, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let last = entries.len() as u16 - 1;
        self.order = entries.iter().map(|e| e.pattern).collect();
        for (t, track) in self.tracks.iter_mut().enumerate() {
            if let Some(f) = track.frozen.as_deref_mut() {
                f.starts = entries
                    .iter()
                    .map(|e| e.frozen.get(t).copied().flatten())
                    .collect();
            }
        }
        let mut mutes: Vec<u64> = entries.iter().map(|e| e.mutes).collect();
        while mutes.last() == Some(&0) {
            mutes.pop();
        }
        self.arrangement.mutes = mutes;
        self.arrangement.sections = entries
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.section.map(|(name, colour)| Section {
                    start: i as u16,
                    name,
                    colour,
                })
            })
            .collect();
        self.restart = self.restart.min(last);
        self.arrangement.loop_range = self
            .arrangement
            .loop_range
            .map(|(a, b)| (a.min(last), b.min(last)));
    }

    /// The section that order position `pos` belongs to (index into the sections).
    pub fn section_at(&self, pos: usize) -> Option<usize> {
        self.arrangement
            .sections
            .iter()
            .rposition(|s| s.start as usize <= pos)
    }

    /// The order positions of section `i`.
    pub fn section_range(&self, i: usize) -> std::ops::Range<usize> {
        let s = &self.arrangement.sections;
        let start = s.get(i).map_or(0, |s| s.start as usize);
        let end = s.get(i + 1).map_or(self.order.len(), |n| n.start as usize);
        start..end.max(start)
    }

    /// Whether track `t` has any note in the pattern at order position `pos`.
    pub fn slice_has_notes(&self, pos: usize, t: usize) -> bool {
        let Some(p) = self
            .order
            .get(pos)
            .and_then(|&p| self.patterns.get(p as usize))
        else {
            return false;
        };
        p.tracks.get(t).is_some_and(|pt| {
            pt.notes.iter().any(|c| c.note != super::Note::Empty)
                || pt.effects.iter().any(|e| !e.is_empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song(order: &[u16]) -> Song {
        let mut s = Song::new_default();
        while s.patterns.len() < 4 {
            s.patterns.push(s.patterns[0].clone());
        }
        s.order = order.to_vec();
        s
    }

    #[test]
    fn entries_round_trip_and_sections_follow_moves() {
        let mut s = song(&[0, 1, 2, 3]);
        s.arrangement.mutes = vec![0, 0b10];
        s.arrangement.sections = vec![
            Section {
                start: 1,
                name: "Verse".into(),
                colour: 2,
            },
            Section {
                start: 3,
                name: "Chorus".into(),
                colour: 4,
            },
        ];
        let e = s.entries();
        let mut t = s.clone();
        t.set_entries(e.clone());
        assert_eq!(t, s);
        assert_eq!(s.section_at(0), None);
        assert_eq!(s.section_at(2), Some(0));
        assert_eq!(s.section_range(0), 1..3);
        assert_eq!(s.section_range(1), 3..4);
        assert!(s.slice_muted(1, 1));
        assert!(!s.slice_muted(1, 0));
        assert!(!s.slice_muted(3, 1));
        // Move the verse (positions 1..3) to the end: the mute and the name travel with it.
        let mut e = e;
        let verse: Vec<Entry> = e.drain(1..3).collect();
        e.extend(verse);
        t.set_entries(e);
        assert_eq!(t.order, vec![0, 3, 1, 2]);
        assert_eq!(t.arrangement.sections[0].name, "Chorus");
        assert_eq!(t.arrangement.sections[0].start, 1);
        assert_eq!(t.arrangement.sections[1].start, 2);
        assert!(t.slice_muted(2, 1));
    }

    #[test]
    fn shrinking_keeps_restart_and_loop_inside() {
        let mut s = song(&[0, 1, 2, 3]);
        s.restart = 3;
        s.arrangement.loop_range = Some((2, 3));
        let mut e = s.entries();
        e.truncate(2);
        s.set_entries(e);
        assert_eq!(s.restart, 1);
        assert_eq!(s.arrangement.loop_range, Some((1, 1)));
    }
}
