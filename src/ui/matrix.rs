//! The pattern matrix (the arrangement view, F3): order positions down, tracks across. What a key
//! does there: move the cursor, change, repeat, clone, move and delete entries, mute one track's
//! slice at one position, name and colour sections and move, copy or delete them whole, set the
//! loop range and jump playback to a cell. Every change is one undo step (`Edit::Song`).
//!
//! Sections follow Renoise's sequencer: a section starts at a named order position and runs to
//! the next one; positions before the first section belong to none. Entries keep their slice
//! mutes and section marks when they move (see [`crate::model::arrange::Entry`]).

use super::app::{App, Popup, View};
use super::commands::Action;
use crate::model::arrange::{Entry, SECTION_COLOURS};
use crate::model::limits::{MAX_ORDER, MAX_PATTERNS};

impl App {
    /// Handles `action` when it is a matrix action; false when it is not one.
    pub(super) fn matrix_action(&mut self, action: Action) -> bool {
        let i = self.order_cursor.min(self.song.order.len() - 1);
        match action {
            Action::MatrixLeft => {
                self.matrix_track = self.matrix_track.saturating_sub(1);
            }
            Action::MatrixRight => {
                self.matrix_track = (self.matrix_track + 1).min(self.song.tracks.len() - 1);
            }
            Action::MatrixTop => self.order_cursor = 0,
            Action::MatrixBottom => self.order_cursor = self.song.order.len() - 1,
            Action::OrderInsert | Action::OrderDuplicate => {
                self.entries_edit("repeated the entry", |e| {
                    if e.len() >= MAX_ORDER {
                        return Err("the order list is full");
                    }
                    let copy = Entry {
                        section: None,
                        ..e[i].clone()
                    };
                    e.insert(i + 1, copy);
                    Ok(i + 1)
                })
            }
            Action::OrderClone => {
                if self.song.patterns.len() >= MAX_PATTERNS {
                    self.message = "the song has the most patterns it can hold".into();
                    return true;
                }
                let new = self.song.patterns.len() as u16;
                let src = self.song.order[i] as usize;
                let before = Box::new(self.song.clone());
                let mut after = before.clone();
                let pattern = after.patterns[src].clone();
                after.patterns.push(pattern);
                // A frozen track's hidden cells are cloned too (unfreezing brings them back in
                // both patterns), and the clone plays the same frozen audio as the original.
                let patterns = &after.patterns;
                for (t, track) in after.tracks.iter_mut().enumerate() {
                    if let Some(f) = track.frozen.as_deref_mut()
                        && let Some(cells) = f.cells.get(src).cloned()
                    {
                        // Patterns made after freezing hide nothing: their own cells stand in.
                        while f.cells.len() < new as usize {
                            f.cells.push(patterns[f.cells.len()].tracks[t].clone());
                        }
                        f.cells.truncate(new as usize);
                        f.cells.push(cells);
                    }
                }
                let mut e = after.entries();
                if e.len() >= MAX_ORDER {
                    self.message = "the order list is full".into();
                    return true;
                }
                e.insert(
                    i + 1,
                    Entry {
                        pattern: new,
                        section: None,
                        ..e[i].clone()
                    },
                );
                after.set_entries(e);
                self.apply(super::edit::Edit::Song {
                    what: "cloned the pattern",
                    before,
                    after,
                });
                self.order_cursor = i + 1;
                self.message = format!("cloned pattern {src:02} as pattern {new:02}");
            }
            Action::OrderDelete => self.entries_edit("deleted the entry", |e| {
                if e.len() < 2 {
                    return Err("the order list needs at least one entry");
                }
                let gone = e.remove(i);
                // A section that started here now starts at the next entry, unless one does.
                if let Some(s) = gone.section
                    && let Some(next) = e.get_mut(i)
                    && next.section.is_none()
                {
                    next.section = Some(s);
                }
                Ok(i.min(e.len() - 1))
            }),
            Action::OrderPatternUp | Action::OrderPatternDown => {
                let n = self.song.patterns.len() as u16;
                let up = action == Action::OrderPatternUp;
                self.entries_edit("changed the entry's pattern", |e| {
                    let p = e[i].pattern;
                    let p = if up { (p + 1) % n } else { (p + n - 1) % n };
                    e[i].pattern = p;
                    // Frozen tracks play what they played where the new pattern plays
                    // elsewhere, or nothing when it plays nowhere else.
                    let like = (e.iter().enumerate())
                        .find(|&(j, x)| j != i && x.pattern == p)
                        .map(|(_, x)| x.frozen.clone());
                    let frozen = like.unwrap_or_else(|| vec![None; e[i].frozen.len()]);
                    e[i].frozen = frozen;
                    Ok(i)
                });
            }
            Action::OrderMoveUp | Action::OrderMoveDown => {
                let up = action == Action::OrderMoveUp;
                let j = if up {
                    i.checked_sub(1)
                } else {
                    (i + 1 < self.song.order.len()).then_some(i + 1)
                };
                if let Some(j) = j {
                    self.entries_edit("moved the entry", |e| {
                        // Section marks stay at their positions; the entries move.
                        let (si, sj) = (e[i].section.take(), e[j].section.take());
                        e.swap(i, j);
                        e[i].section = si;
                        e[j].section = sj;
                        Ok(j)
                    });
                }
            }
            Action::SliceMute => {
                let t = self.matrix_track;
                if t >= 64 {
                    return true;
                }
                let muted = self.song.slice_muted(i, t);
                self.entries_edit(
                    if muted {
                        "unmuted the slice"
                    } else {
                        "muted the slice"
                    },
                    |e| {
                        e[i].mutes ^= 1u64 << t;
                        Ok(i)
                    },
                );
            }
            Action::OrderEdit => {
                self.pattern = self.song.order[i] as usize;
                self.cursor.track = self.matrix_track;
                self.view = View::Pattern;
                self.clamp_cursor();
            }
            Action::OrderPlay => self.play_song_from(i, 0),
            Action::MatrixJump => {
                self.play_song_from(i, 0);
                self.pattern = self.song.order[i] as usize;
                self.cursor.track = self.matrix_track;
                self.clamp_cursor();
                self.message = format!(
                    "playing from position {i:02}, track {}",
                    self.matrix_track + 1
                );
            }
            Action::SectionName => {
                let text = self
                    .song
                    .arrangement
                    .sections
                    .iter()
                    .find(|s| s.start as usize == i)
                    .map_or(String::new(), |s| s.name.clone());
                self.popups.push(Popup::SectionName { text });
            }
            Action::SectionColour => {
                let Some(k) = self.song.section_at(i) else {
                    self.message = "no section here; s names one".into();
                    return true;
                };
                let start = self.song.arrangement.sections[k].start as usize;
                self.entries_edit("changed the section's colour", |e| {
                    if let Some((_, c)) = &mut e[start].section {
                        *c = (*c + 1) % SECTION_COLOURS.len() as u8;
                    }
                    Ok(i)
                });
            }
            Action::SectionUp | Action::SectionDown => self.move_section(action),
            Action::SectionCopy => {
                let Some(k) = self.song.section_at(i) else {
                    self.message = "no section here; s names one".into();
                    return true;
                };
                let r = self.song.section_range(k);
                self.entries_edit("copied the section", |e| {
                    if e.len() + r.len() > MAX_ORDER {
                        return Err("the order list is full");
                    }
                    let copy: Vec<Entry> = e[r.clone()].to_vec();
                    let at = r.end;
                    e.splice(at..at, copy);
                    Ok(at + (i - r.start))
                });
            }
            Action::SectionDelete => {
                let Some(k) = self.song.section_at(i) else {
                    self.message = "no section here; s names one".into();
                    return true;
                };
                let r = self.song.section_range(k);
                self.entries_edit("deleted the section", |e| {
                    if r.len() >= e.len() {
                        return Err("the order list needs at least one entry");
                    }
                    e.drain(r.clone());
                    Ok(r.start.min(e.len() - 1))
                });
            }
            Action::LoopStart | Action::LoopEnd => {
                let p = i as u16;
                let (a, b) = match (self.song.arrangement.loop_range, action) {
                    (Some((_, b)), Action::LoopStart) if p <= b => (p, b),
                    (Some((a, _)), Action::LoopEnd) if p >= a => (a, p),
                    _ => (p, p),
                };
                self.set_loop(Some((a, b)));
            }
            Action::LoopSection => {
                let range = match self.song.section_at(i) {
                    Some(k) => self.song.section_range(k),
                    None => i..i + 1,
                };
                let l = Some((range.start as u16, range.end as u16 - 1));
                self.set_loop(if self.song.arrangement.loop_range == l {
                    None
                } else {
                    l
                });
            }
            Action::LoopClear => self.set_loop(None),
            _ => return false,
        }
        true
    }

    /// Applies `f` to the order list as entries, as one undo step named `what`; `f` returns the
    /// new cursor position, or why it refused.
    fn entries_edit(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Vec<Entry>) -> Result<usize, &'static str>,
    ) {
        let mut e = self.song.entries();
        let cursor = match f(&mut e) {
            Ok(c) => c,
            Err(why) => {
                self.message = why.into();
                return;
            }
        };
        self.song_edit(what, |s| s.set_entries(e));
        self.order_cursor = cursor.min(self.song.order.len() - 1);
    }

    fn set_loop(&mut self, range: Option<(u16, u16)>) {
        let what = if range.is_some() {
            "set the loop range"
        } else {
            "cleared the loop range"
        };
        self.song_edit(what, |s| s.arrangement.loop_range = range);
        if let Some((a, b)) = range {
            self.message = format!("loop {a:02}–{b:02} (plays when the song plays)");
        }
    }

    /// Moves the section under the cursor past the previous or the next section (the positions
    /// before the first section stay first).
    fn move_section(&mut self, action: Action) {
        let i = self.order_cursor;
        let Some(k) = self.song.section_at(i) else {
            self.message = "no section here; s names one".into();
            return;
        };
        let n = self.song.arrangement.sections.len();
        let other = if action == Action::SectionUp {
            k.checked_sub(1)
        } else {
            (k + 1 < n).then_some(k + 1)
        };
        let Some(o) = other else {
            self.message = "the section is at the end already".into();
            return;
        };
        let (a, b) = (
            self.song.section_range(k.min(o)),
            self.song.section_range(k.max(o)),
        );
        let offset = i - self.song.section_range(k).start;
        self.entries_edit("moved the section", |e| {
            let first: Vec<Entry> = e[a.clone()].to_vec();
            let second: Vec<Entry> = e[b.clone()].to_vec();
            let mut swapped = second.clone();
            swapped.extend(first.iter().cloned());
            e.splice(a.start..b.end, swapped);
            Ok(if o < k {
                a.start + offset
            } else {
                a.start + second.len() + offset
            })
        });
    }

    /// Names the section that starts at the cursor (or starts one there); an empty name removes
    /// the section mark.
    pub(super) fn name_section(&mut self, name: String) {
        let i = self.order_cursor;
        let mut trimmed = String::new();
        for ch in name.trim().chars() {
            if trimmed.len() + ch.len_utf8() > crate::model::arrange::MAX_SECTION_NAME {
                break;
            }
            trimmed.push(ch);
        }
        let name = trimmed;
        // A new section takes the next colour after the sections before it.
        let colour = (self.song.section_at(i).map_or(0, |k| k + 1) % SECTION_COLOURS.len()) as u8;
        self.entries_edit(
            if name.is_empty() {
                "removed the section"
            } else {
                "named the section"
            },
            |e| {
                e[i].section = (!name.is_empty()).then(|| {
                    let keep = e[i].section.as_ref().map_or(colour, |s| s.1);
                    (name, keep)
                });
                Ok(i)
            },
        );
    }

    /// The song a render from the matrix plays: the loop range, else the section under the
    /// cursor, else the entry under the cursor; at the tempo in force where it starts. Frozen
    /// tracks keep their audio (their starts follow the order positions).
    pub fn order_range_song(&self) -> crate::model::Song {
        let i = self.order_cursor.min(self.song.order.len() - 1);
        let (a, b) = match (self.song.arrangement.loop_range, self.song.section_at(i)) {
            (Some((a, b)), _) => (a as usize, b as usize),
            (None, Some(k)) => {
                let r = self.song.section_range(k);
                (r.start, r.end - 1)
            }
            (None, None) => (i, i),
        };
        let mut s = self.song.clone();
        let es = crate::engine::EngineSong::from_model(&self.song, 48_000);
        (s.bpm, s.tpl) = crate::engine::chase_tempo(&es, a);
        let entries: Vec<Entry> = s.entries()[a..=b]
            .iter()
            .map(|e| Entry {
                section: None,
                ..e.clone()
            })
            .collect();
        s.arrangement.loop_range = None;
        s.restart = 0;
        // The frozen tracks' starts come along with the entries.
        s.set_entries(entries);
        s
    }
}
