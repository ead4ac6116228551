//! Recording MIDI into patterns, the tracker way: with edit mode on while the song plays, notes
//! from the MIDI keyboard are written into the track under the cursor at the song position the
//! engine reports for them (what was heard when the key went down), with the sub-row part in
//! the delay column unless quantized.
//!
//! Each pass is a [`Take`]: its raw events are kept in the song, and the cells are always the
//! take rendered by [`take_cells`] over the cells that were there before the pass. So the cells
//! can be written again from the take with another quantize setting (one undo step), and a pass
//! is one undo step too. A pass ends when playback stops, edit mode goes off, or playback jumps
//! back (a loop: with overdub off, the next pass replaces this one's notes; the take is kept).

use super::app::App;
use super::edit::Edit;
use crate::engine::{MidiMessage, MidiReport};
use crate::model::takes::{FRACTION, Take, TakeCell, TakeEvent, TakeEventKind, take_cells};
use crate::model::{NoteCell, Song};

/// Quantize settings the key cycles through (0: exact, with delay values).
pub const QUANTIZE_STEPS: [u8; 5] = [0, 1, 2, 4, 8];

/// The recorder's settings and the pass being recorded.
#[derive(Clone, Debug)]
pub struct Recorder {
    /// 0: exact (delay column); N: a grid of N rows.
    pub quantize: u8,
    /// Velocity into the volume column.
    pub velocity: bool,
    /// Loop passes add to each other instead of replacing the last one.
    pub overdub: bool,
    /// Metronome clicks while playing (heard live, never rendered).
    pub metronome: bool,
    /// Metronome level, 0..=1.
    pub click_level: f32,
    /// Bars of count-in before playback starts in edit mode (0, 1, 2 or 4).
    pub count_in: u8,
    /// Record only these rows (inclusive) of any pattern: punch in and out.
    pub punch: Option<(u16, u16)>,
    pass: Option<Pass>,
    /// After a loop wrap without overdub: the song before the replaced pass, and its cells.
    replace: Option<(Box<Song>, Vec<TakeCell>)>,
    /// The last position seen while playing (to notice loops and jumps).
    last_pos: Option<(u16, u16)>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            quantize: 0,
            velocity: true,
            overdub: false,
            metronome: false,
            click_level: 0.5,
            count_in: 0,
            punch: None,
            pass: None,
            replace: None,
            last_pos: None,
        }
    }
}

/// One recording pass.
#[derive(Clone, Debug)]
struct Pass {
    /// The song before the pass (what undo returns to; the cells under the take).
    before: Box<Song>,
    take: Take,
    /// The cells the take has written so far.
    written: Vec<TakeCell>,
}

/// The cell of `song` at `c`, or empty when the pattern or column does not exist there.
fn cell_in(song: &Song, track: usize, c: &TakeCell) -> NoteCell {
    let Some(p) = song.patterns.get(c.pattern as usize) else {
        return NoteCell::EMPTY;
    };
    if track >= p.tracks.len()
        || c.row as u32 >= p.rows
        || c.column as usize >= p.note_columns(track)
    {
        return NoteCell::EMPTY;
    }
    p.note(track, c.row as usize, c.column as usize)
}

impl App {
    /// Whether notes played now are recorded: edit mode on while the song plays.
    pub fn recording(&self) -> bool {
        self.edit_mode && self.playing
    }

    /// Takes one MIDI report from the engine: recorded when [`App::recording`] and the song was
    /// playing when the key was played.
    pub fn record_midi(&mut self, r: &MidiReport) {
        if !self.recording() {
            self.finish_pass();
            return;
        }
        let Some(at) = r.at else {
            return;
        };
        if let Some((a, b)) = self.rec.punch
            && !(a..=b).contains(&at.row)
            && matches!(r.msg, MidiMessage::NoteOn { .. })
        {
            // Outside the punch range new notes are only heard (their releases still count).
            return;
        }
        let kind = match r.msg {
            MidiMessage::NoteOn { key, velocity, .. } => TakeEventKind::On { key, velocity },
            MidiMessage::NoteOff { key, .. } => TakeEventKind::Off { key },
            MidiMessage::Sustain { down, .. } => TakeEventKind::Sustain(down),
        };
        let fraction = if at.row_frames > 0.0 {
            (at.frames_into_row as f64 / at.row_frames * FRACTION)
                .round()
                .clamp(0.0, FRACTION - 1.0) as u16
        } else {
            0
        };
        let event = TakeEvent {
            order: at.order,
            pattern: at.pattern,
            row: at.row,
            fraction,
            kind,
        };
        if self.rec.pass.is_none() {
            if !matches!(kind, TakeEventKind::On { .. }) {
                // A release or pedal from before the pass: nothing to write yet.
                return;
            }
            self.start_pass();
        }
        if let Some(p) = self.rec.pass.as_mut() {
            if p.take.events.len() >= crate::model::takes::MAX_TAKE_EVENTS {
                self.message = "the take is full; stop and record another".into();
                return;
            }
            p.take.events.push(event);
        }
        self.refresh_pass();
    }

    /// Follows the play position: a jump back (loop, jump) ends the pass; stopping or leaving
    /// edit mode ends it too. Called by the event loop after each pump.
    pub fn record_tick(&mut self) {
        if !self.recording() {
            self.finish_pass();
            self.rec.last_pos = None;
            self.rec.replace = None;
            return;
        }
        let Some(pos) = self.engine.as_ref().map(|h| h.status().position) else {
            return;
        };
        let now = (pos.order as u16, pos.row as u16);
        if let Some(last) = self.rec.last_pos
            && now < last
            && self.rec.pass.is_some()
        {
            let replaced = self
                .rec
                .pass
                .as_ref()
                .map(|p| (p.before.clone(), p.written.clone()));
            self.finish_pass();
            if !self.rec.overdub {
                self.rec.replace = replaced;
            }
        }
        self.rec.last_pos = Some(now);
    }

    fn start_pass(&mut self) {
        let track = self.cursor.track.min(self.song.tracks.len() - 1);
        // A new loop pass without overdub takes the place of the last one: its notes go, and
        // the cells under them come back (the last take stays in the takes list).
        if let Some((before, cells)) = self.rec.replace.take() {
            for c in &cells {
                let under = cell_in(&before, track, c);
                self.set_cell_live(track, c, under);
            }
        }
        let n = self.song.takes.len() + 1;
        self.rec.pass = Some(Pass {
            before: Box::new(self.song.clone()),
            take: Take {
                name: format!("Take {n}"),
                track: track as u8,
                instrument: self.instrument,
                velocity: self.rec.velocity,
                quantize: self.rec.quantize,
                events: Vec::new(),
            },
            written: Vec::new(),
        });
    }

    /// Writes one cell now (song and engine), outside the undo history (the pass is one step).
    fn set_cell_live(&mut self, track: usize, c: &TakeCell, cell: NoteCell) {
        let Some(p) = self.song.patterns.get(c.pattern as usize) else {
            return;
        };
        if c.row as u32 >= p.rows || c.column as usize >= p.note_columns(track) {
            return;
        }
        let before = p.note(track, c.row as usize, c.column as usize);
        if before == cell {
            return;
        }
        let edit = Edit::Note {
            pattern: c.pattern as usize,
            row: c.row as usize,
            track,
            column: c.column as usize,
            before,
            after: cell,
        };
        self.apply_live(&edit);
    }

    /// Brings the cells in line with the pass's take: cells it no longer writes get back what
    /// was under them, new ones are written; the track grows note columns for wide chords.
    fn refresh_pass(&mut self) {
        let Some(pass) = self.rec.pass.as_ref() else {
            return;
        };
        let t = pass.take.track as usize;
        if t >= self.song.tracks.len() {
            self.rec.pass = None;
            return;
        }
        let columns = self.song.tracks[t].note_columns as usize;
        let song = &self.song;
        let (cells, width) = take_cells(&pass.take, pass.take.quantize, columns, |p| {
            song.patterns.get(p as usize).map_or(1, |x| x.rows as u16)
        });
        if width > columns {
            let before = Box::new(self.song.clone());
            let mut after = before.clone();
            after.set_track_columns(t, width as u8, after.tracks[t].effect_columns);
            let edit = Edit::Song {
                what: "added note columns for a chord",
                before,
                after,
            };
            self.apply_live(&edit);
            self.message = format!("track {}: {width} note columns for the chord", t + 1);
        }
        let Some(pass) = self.rec.pass.take() else {
            return;
        };
        for old in &pass.written {
            if !cells
                .iter()
                .any(|c| (c.pattern, c.row, c.column) == (old.pattern, old.row, old.column))
            {
                let under = cell_in(&pass.before, t, old);
                self.set_cell_live(t, old, under);
            }
        }
        for c in &cells {
            self.set_cell_live(t, c, c.cell);
        }
        self.rec.pass = Some(Pass {
            written: cells,
            ..pass
        });
    }

    /// Ends the pass: the take goes into the song and the whole pass becomes one undo step.
    pub fn finish_pass(&mut self) {
        let Some(pass) = self.rec.pass.take() else {
            return;
        };
        if pass.take.events.is_empty() {
            return;
        }
        let notes = pass
            .take
            .events
            .iter()
            .filter(|e| matches!(e.kind, TakeEventKind::On { .. }))
            .count();
        let name = pass.take.name.clone();
        self.song.takes.push(pass.take);
        self.history.push(Edit::Song {
            what: "recorded a take",
            before: pass.before,
            after: Box::new(self.song.clone()),
        });
        self.dirty = true;
        self.revision += 1;
        self.message = format!("{name}: {notes} notes recorded (Ctrl-Z removes them)");
    }

    /// Applies an edit to the song and the engine without recording it in the undo history.
    fn apply_live(&mut self, edit: &Edit) {
        edit.apply(&mut self.song);
        let mut cmds = Vec::new();
        edit.mirror(&self.song, self.rate, &mut cmds);
        if let Some(h) = self.engine.as_mut() {
            for c in cmds {
                h.send(c);
            }
        }
        self.dirty = true;
        self.revision += 1;
    }

    /// Steps the quantize setting and writes the last take's cells again with it (one undo
    /// step).
    pub fn cycle_quantize(&mut self) {
        let i = QUANTIZE_STEPS
            .iter()
            .position(|&q| q == self.rec.quantize)
            .map_or(0, |i| (i + 1) % QUANTIZE_STEPS.len());
        self.rec.quantize = QUANTIZE_STEPS[i];
        let q = self.rec.quantize;
        let what = if q == 0 {
            "quantize off (exact, with delay values)".to_string()
        } else {
            format!("quantize to {q} row{}", if q == 1 { "" } else { "s" })
        };
        if self.rec.pass.is_some() {
            self.message = format!("{what}; the pass being recorded keeps its setting");
            return;
        }
        let Some(k) = self.song.takes.len().checked_sub(1) else {
            self.message = what;
            return;
        };
        self.requantize(k, q);
        self.message = format!("{what}: {} rewritten", self.song.takes[k].name);
    }

    /// Writes take `k`'s cells again with quantize `q`: the cells it wrote before are cleared,
    /// the new ones written; one undo step.
    pub fn requantize(&mut self, k: usize, q: u8) {
        let Some(take) = self.song.takes.get(k).cloned() else {
            return;
        };
        let t = take.track as usize;
        if t >= self.song.tracks.len() || take.quantize == q {
            return;
        }
        let columns = self.song.tracks[t].note_columns as usize;
        let rows = |s: &Song| {
            let rows: Vec<u16> = s.patterns.iter().map(|p| p.rows as u16).collect();
            move |p: u16| rows.get(p as usize).copied().unwrap_or(1)
        };
        let (old, _) = take_cells(&take, take.quantize, columns, rows(&self.song));
        let (new, width) = take_cells(&take, q, columns, rows(&self.song));
        self.song_edit("quantized the take again", |s| {
            if width > columns {
                s.set_track_columns(t, width as u8, s.tracks[t].effect_columns);
            }
            let mut put = |c: &TakeCell, cell: NoteCell| {
                if let Some(p) = s.patterns.get_mut(c.pattern as usize)
                    && (c.row as u32) < p.rows
                    && (c.column as usize) < p.note_columns(t)
                {
                    *p.note_mut(t, c.row as usize, c.column as usize) = cell;
                }
            };
            for c in &old {
                put(c, NoteCell::EMPTY);
            }
            for c in &new {
                put(c, c.cell);
            }
            s.takes[k].quantize = q;
        });
    }
}

impl App {
    /// Sends the metronome settings to the engine; the count-in only counts when recording
    /// (edit mode on) is about to start.
    pub fn send_metronome(&mut self) {
        let count_in_bars = if self.edit_mode { self.rec.count_in } else { 0 };
        let cmd = crate::engine::Command::Metronome {
            on: self.rec.metronome,
            level: self.rec.click_level,
            count_in_bars,
        };
        if let Some(h) = self.engine.as_mut() {
            h.send(cmd);
        }
    }

    /// The recording setting keys: metronome, its level, count-in, punch range.
    pub fn record_setting(&mut self, action: super::commands::Action) {
        use super::commands::Action;
        match action {
            Action::Metronome => {
                self.rec.metronome = !self.rec.metronome;
                self.message = format!(
                    "metronome {} (heard, never rendered)",
                    if self.rec.metronome { "on" } else { "off" }
                );
            }
            Action::MetronomeLevel => {
                self.rec.click_level = match self.rec.click_level {
                    l if l < 0.3 => 0.5,
                    l if l < 0.75 => 1.0,
                    _ => 0.25,
                };
                self.message = format!("metronome level {:.0} %", self.rec.click_level * 100.0);
            }
            Action::CountIn => {
                self.rec.count_in = match self.rec.count_in {
                    0 => 1,
                    1 => 2,
                    2 => 4,
                    _ => 0,
                };
                self.message = match self.rec.count_in {
                    0 => "count-in off".into(),
                    n => format!(
                        "count-in {n} bar{} when playing in edit mode",
                        if n == 1 { "" } else { "s" }
                    ),
                };
            }
            Action::Punch => {
                if self.selection.is_some() {
                    let (r0, r1, _, _) = self.block();
                    self.rec.punch = Some((r0 as u16, r1 as u16));
                    self.message = format!("punch in at row {r0:02}, out after row {r1:02}");
                } else {
                    self.rec.punch = None;
                    self.message =
                        "punch off: recording takes every row (select rows to punch)".into();
                }
            }
            _ => {}
        }
        self.send_metronome();
    }
}

/// The devices and recording settings panel (F6): the MIDI inputs to choose from and the
/// recording settings with their keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicesPanel {
    /// MIDI input ports found (JACK sources or ALSA sequencer ports).
    pub ports: Vec<String>,
    /// Why there are none, when listing failed.
    pub why_none: Option<String>,
    /// Line under the cursor.
    pub cursor: usize,
}

impl App {
    /// Keys of the devices panel: Up/Down choose, Enter connects the port, Esc closes.
    pub(super) fn devices_key(&mut self, mut panel: DevicesPanel, chord: super::keymap::KeyChord) {
        match chord.to_string().as_str() {
            "Up" => panel.cursor = panel.cursor.saturating_sub(1),
            "Down" => panel.cursor = (panel.cursor + 1).min(panel.ports.len().saturating_sub(1)),
            "Enter" => {
                if let Some(p) = panel.ports.get(panel.cursor) {
                    self.midi_request = Some(p.clone());
                    self.message = format!("connecting MIDI input {p}");
                }
                self.popups.pop();
                return;
            }
            "Esc" | "F6" => {
                self.popups.pop();
                return;
            }
            "m" => self.toggle_monitor(),
            "+" | "=" => self.arec.offset_ms = (self.arec.offset_ms + 0.5).min(500.0),
            "-" => self.arec.offset_ms = (self.arec.offset_ms - 0.5).max(-500.0),
            "f" => {
                self.arec.format = match self.arec.format {
                    crate::record::TakeFormat::S24 => crate::record::TakeFormat::F32,
                    _ => crate::record::TakeFormat::S24,
                }
            }
            _ => {}
        }
        if let Some(top) = self.popups.last_mut() {
            *top = super::app::Popup::Devices(panel);
        }
    }
}

/// Draws the devices panel.
pub fn draw_devices(
    f: &mut ratatui::Frame,
    app: &App,
    panel: &DevicesPanel,
    theme: &super::view::Theme,
) {
    use ratatui::text::Line;
    let mut lines = vec![Line::styled(" MIDI input (Enter connects)", theme.title)];
    if panel.ports.is_empty() {
        lines.push(Line::styled(
            format!(
                " none found{}",
                panel
                    .why_none
                    .as_ref()
                    .map_or(String::new(), |w| format!(": {w}"))
            ),
            theme.dim,
        ));
    }
    for (i, p) in panel.ports.iter().enumerate() {
        let st = if i == panel.cursor {
            theme.cursor
        } else {
            theme.text
        };
        lines.push(Line::styled(format!(" {p}"), st));
    }
    let r = &app.rec;
    let on = |b: bool| if b { "on" } else { "off" };
    lines.push(Line::styled(" Recording", theme.title));
    for l in [
        format!(
            " quantize       {:<10} A-q",
            match r.quantize {
                0 => "off".to_string(),
                q => format!("{q} rows"),
            }
        ),
        format!(" velocity       {:<10} A-v", on(r.velocity)),
        format!(
            " loop passes    {:<10} A-o",
            if r.overdub { "overdub" } else { "new take" }
        ),
        format!(" metronome      {:<10} A-m", on(r.metronome)),
        format!(
            " click level    {:<10} A-l",
            format!("{:.0} %", r.click_level * 100.0)
        ),
        format!(
            " count-in       {:<10} A-c",
            match r.count_in {
                0 => "off".to_string(),
                n => format!("{n} bars"),
            }
        ),
        format!(
            " punch          {:<10} A-p",
            r.punch
                .map_or("off".to_string(), |(a, b)| format!("{a:02}-{b:02}"))
        ),
        format!(" audio          {}", app.audio.description),
    ] {
        lines.push(Line::styled(l, theme.text));
    }
    let a = &app.arec;
    lines.push(Line::styled(" Audio input (Ctrl-R records)", theme.title));
    let device = match (app.input_state(), &a.options.device) {
        (Some(_), _) => a.device.clone(),
        (None, Some(want)) => format!("\"{want}\" (opens at Ctrl-R)"),
        (None, None) => "the default input (opens at Ctrl-R)".into(),
    };
    let reported = app.input_state().map_or(String::new(), |s| {
        format!(
            " (device: {:.1} ms in)",
            f64::from(s.latency_frames()) * 1000.0 / f64::from(app.rate.max(1))
        )
    });
    let mut audio_lines = vec![format!(" device         {device}")];
    if app.input_state().is_some() {
        audio_lines.push(format!(
            " level          {}",
            super::view::input_meter(app).trim_start_matches("  in ")
        ));
    }
    audio_lines.push(format!(
        " monitoring     {:<10} m",
        if a.monitor { "on" } else { "off" }
    ));
    audio_lines.push(format!(
        " take {} (f)    offset {:+.1} ms (+ -){reported}",
        a.format.name(),
        a.offset_ms
    ));
    for l in audio_lines {
        lines.push(Line::styled(l, theme.text));
    }
    lines.push(Line::styled(" Esc closes", theme.dim));
    super::view::draw_panel(f, lines, 72);
}
