//! The takes panel (`Alt-K` in the pattern view): the takes recorded into the track under the
//! cursor that touch the current pattern. `a` auditions one (the engine plays the pattern with
//! that take's notes; the song is not changed until a pick), Enter picks it (its notes replace
//! the notes of the track's other takes in this pattern; with rows selected, only in those rows:
//! comping, one take per row range), `r` renames, Delete removes it from the list (its notes
//! stay), Esc closes (and ends an audition). Picking and comping are undoable.

use super::app::{App, Popup};
use super::edit::Edit;
use super::keymap::KeyChord;
use crate::engine::{Command, PlayRange};
use crate::model::takes::{TakeCell, take_cells};
use crate::model::{NoteCell, Pattern, Song};
use ratatui::Frame;
use ratatui::text::Line;

/// The takes panel's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakesPanel {
    /// Indices into `Song::takes` listed (this track, this pattern).
    pub list: Vec<usize>,
    /// Line under the cursor.
    pub cursor: usize,
    /// Typing a new name for the take under the cursor.
    pub renaming: Option<String>,
    /// An audition is playing (the engine holds a changed copy of the pattern).
    pub auditioning: bool,
}

/// The cells take `k` writes into pattern `p` of `song` (with its own quantize setting).
fn cells_in(song: &Song, k: usize, p: usize) -> Vec<TakeCell> {
    let Some(take) = song.takes.get(k) else {
        return Vec::new();
    };
    let t = take.track as usize;
    let Some(track) = song.tracks.get(t) else {
        return Vec::new();
    };
    let (cells, _) = take_cells(take, take.quantize, track.note_columns as usize, |q| {
        song.patterns.get(q as usize).map_or(1, |x| x.rows as u16)
    });
    cells
        .into_iter()
        .filter(|c| c.pattern as usize == p && (c.column as usize) < track.note_columns as usize)
        .collect()
}

impl App {
    /// The takes of the cursor's track that touch the current pattern.
    pub fn takes_here(&self) -> Vec<usize> {
        let t = self.cursor.track;
        self.song
            .takes
            .iter()
            .enumerate()
            .filter(|(_, x)| {
                x.track as usize == t && x.events.iter().any(|e| e.pattern as usize == self.pattern)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Opens the takes panel.
    pub fn open_takes(&mut self) {
        let list = self.takes_here();
        if list.is_empty() {
            self.message = format!(
                "no takes of track {} in pattern {:02} (record with edit mode on while playing)",
                self.cursor.track + 1,
                self.pattern
            );
            return;
        }
        self.popups.push(Popup::Takes(TakesPanel {
            cursor: list.len() - 1,
            list,
            renaming: None,
            auditioning: false,
        }));
    }

    /// The current pattern with take `k`'s notes in place of the track's other takes' notes
    /// (within `rows` only, when given).
    fn pattern_with_take(&self, k: usize, rows: Option<(usize, usize)>) -> Pattern {
        let p = self.pattern;
        let t = self.song.takes[k].track as usize;
        let inside = |r: u16| rows.is_none_or(|(a, b)| (a..=b).contains(&(r as usize)));
        let mut pat = self.song.patterns[p].clone();
        for other in self.takes_here() {
            for c in cells_in(&self.song, other, p) {
                if inside(c.row) && (c.row as u32) < pat.rows {
                    *pat.note_mut(t, c.row as usize, c.column as usize) = NoteCell::EMPTY;
                }
            }
        }
        for c in cells_in(&self.song, k, p) {
            if inside(c.row) && (c.row as u32) < pat.rows {
                *pat.note_mut(t, c.row as usize, c.column as usize) = c.cell;
            }
        }
        pat
    }

    /// Keys of the takes panel.
    pub(super) fn takes_key(&mut self, mut panel: TakesPanel, chord: KeyChord) {
        let key = chord.to_string();
        if let Some(mut name) = panel.renaming.take() {
            match key.as_str() {
                "Esc" => {}
                "Enter" => {
                    let k = panel.list[panel.cursor];
                    let name = name.trim().to_string();
                    if !name.is_empty() {
                        self.song_edit("renamed the take", |s| s.takes[k].name = name);
                    }
                }
                "Backspace" => {
                    name.pop();
                    panel.renaming = Some(name);
                }
                "Space" if name.len() < 64 => {
                    name.push(' ');
                    panel.renaming = Some(name);
                }
                _ => {
                    if let Some(c) = chord.plain_char()
                        && name.len() < 64
                    {
                        name.push(c);
                    }
                    panel.renaming = Some(name);
                }
            }
            self.put_panel(panel);
            return;
        }
        let k = panel.list[panel.cursor.min(panel.list.len() - 1)];
        match key.as_str() {
            "Up" => panel.cursor = panel.cursor.saturating_sub(1),
            "Down" => panel.cursor = (panel.cursor + 1).min(panel.list.len() - 1),
            "Esc" => {
                self.end_audition(&panel);
                self.popups.pop();
                return;
            }
            "a" => {
                let pat = self.pattern_with_take(k, None);
                if let Some(h) = self.engine.as_mut() {
                    h.send(Command::ReplacePattern {
                        index: self.pattern as u16,
                        pattern: Box::new(pat),
                    });
                }
                let from = self
                    .song
                    .order
                    .iter()
                    .position(|&p| p as usize == self.pattern)
                    .unwrap_or(0);
                self.play(
                    PlayRange {
                        from,
                        to: from,
                        looping: true,
                    },
                    None,
                    0,
                );
                panel.auditioning = true;
                self.message = format!("auditioning {} (Esc stops)", self.song.takes[k].name);
            }
            "Enter" => {
                let rows = self.selection.is_some().then(|| {
                    let (r0, r1, _, _) = self.block();
                    (r0, r1)
                });
                let before = Box::new(self.song.patterns[self.pattern].clone());
                let after = Box::new(self.pattern_with_take(k, rows));
                self.end_audition(&panel);
                panel.auditioning = false;
                if before != after {
                    self.apply(Edit::Pattern {
                        index: self.pattern,
                        before,
                        after,
                    });
                }
                let name = &self.song.takes[k].name;
                self.message = match rows {
                    Some((a, b)) => format!("comped {name} into rows {a:02}-{b:02}"),
                    None => format!("picked {name}"),
                };
            }
            "r" => panel.renaming = Some(self.song.takes[k].name.clone()),
            "Delete" | "Backspace" => {
                let name = self.song.takes[k].name.clone();
                self.song_edit("deleted the take", |s| {
                    s.takes.remove(k);
                });
                self.message = format!("{name} removed from the takes (its notes stay)");
                panel.list = self.takes_here();
                if panel.list.is_empty() {
                    self.popups.pop();
                    return;
                }
                panel.cursor = panel.cursor.min(panel.list.len() - 1);
            }
            _ => {}
        }
        self.put_panel(panel);
    }

    fn put_panel(&mut self, panel: TakesPanel) {
        if let Some(top) = self.popups.last_mut() {
            *top = Popup::Takes(panel);
        }
    }

    /// Puts the song's own pattern back into the engine after an audition.
    fn end_audition(&mut self, panel: &TakesPanel) {
        if !panel.auditioning {
            return;
        }
        let pat = Box::new(self.song.patterns[self.pattern].clone());
        if let Some(h) = self.engine.as_mut() {
            h.send(Command::ReplacePattern {
                index: self.pattern as u16,
                pattern: pat,
            });
        }
    }
}

/// The length of an audio take's audio: a take of one note whose instrument is a sampler (what
/// `Ctrl-R` records); `None` for a MIDI take.
pub fn audio_seconds(song: &Song, t: &crate::model::takes::Take) -> Option<f64> {
    let [e] = t.events.as_slice() else {
        return None;
    };
    if !matches!(
        e.kind,
        crate::model::takes::TakeEventKind::On { key: 60, .. }
    ) || t.velocity
    {
        return None;
    }
    match &song.instrument(t.instrument)?.kind {
        crate::model::InstrumentKind::Sampler(s) => {
            Some(s.sample.frames as f64 / f64::from(s.sample.rate.max(1)))
        }
        crate::model::InstrumentKind::Synth(_) => None,
    }
}

/// Draws the takes panel.
pub fn draw_takes(f: &mut Frame, app: &App, panel: &TakesPanel, theme: &super::view::Theme) {
    let mut lines = vec![Line::styled(
        format!(
            " Takes of track {} in pattern {:02}",
            app.cursor.track + 1,
            app.pattern
        ),
        theme.title,
    )];
    for (i, &k) in panel.list.iter().enumerate() {
        let Some(t) = app.song.takes.get(k) else {
            continue;
        };
        let notes = t
            .events
            .iter()
            .filter(|e| {
                e.pattern as usize == app.pattern
                    && matches!(e.kind, crate::model::takes::TakeEventKind::On { .. })
            })
            .count();
        let name = match (&panel.renaming, i == panel.cursor) {
            (Some(n), true) => format!("{n}_"),
            _ => t.name.clone(),
        };
        let q = match t.quantize {
            0 => "exact".to_string(),
            q => format!("q{q}"),
        };
        let style = if i == panel.cursor {
            theme.cursor
        } else {
            theme.text
        };
        let what = match audio_seconds(&app.song, t) {
            Some(secs) => format!("audio {secs:>6.1} s"),
            None => format!("{notes:>4} notes  {q:<5}"),
        };
        lines.push(Line::styled(format!(" {name:<20} {what}"), style));
    }
    lines.push(Line::styled(
        " Enter pick (rows selected: comp)  a audition  r rename  Del remove  Esc close",
        theme.dim,
    ));
    super::view::draw_panel(f, lines, 80);
}
