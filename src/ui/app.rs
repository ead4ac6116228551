//! The application state and everything a key can do to it. Drawing only reads an [`App`]; all
//! changes to the song go through [`App::apply`], which records undo, marks the song dirty and
//! mirrors the change to the engine.

use super::commands::{Action, Scope};
use super::edit::{Edit, History};
use super::instruments::FilePicker;
use super::keymap::{KeyChord, Keymap};
use crate::engine::{self, Command, EngineHandle, EngineSong, PlayRange};
use crate::format;
use crate::model::limits::MAX_ROWS;
use crate::model::{EffectCell, Note, NoteCell, Song};
use std::path::{Path, PathBuf};

/// What a key did to a line of text being typed.
enum TextKey {
    /// Esc: give up.
    Cancel,
    /// Enter: the text is complete.
    Done,
    /// A character was added or removed (or the key was ignored).
    Typing,
}

/// Applies `chord` to `text` (characters, Space, Backspace), keeping it under `max` bytes.
fn type_text(text: &mut String, chord: KeyChord, max: usize) -> TextKey {
    match (chord.to_string().as_str(), chord.plain_char()) {
        ("Esc", _) => return TextKey::Cancel,
        ("Enter", _) => return TextKey::Done,
        ("Backspace", _) => {
            text.pop();
        }
        ("Space", _) if text.len() < max => text.push(' '),
        (_, Some(c)) if text.len() < max => text.push(c),
        _ => {}
    }
    TextKey::Typing
}

/// `path` relative to `base` with `/` separators, when it lies below `base` or beside it.
fn relative_path(path: &Path, base: &Path) -> Option<String> {
    let (p, b): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), b.len() - common).collect();
    parts.extend(
        p[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Some(parts.join("/"))
}

/// The views, switched with F1–F5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The pattern editor.
    Pattern,
    /// The order list.
    Arrangement,
    /// The instrument list.
    Instruments,
    /// Channel strips, send buses and the master.
    Mixer,
    /// Keys and commands.
    Help,
}

/// Which field of a track the cursor is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Note column `col`, field `f`: 0 note, 1–2 instrument digits, 3–4 volume digits,
    /// 5–6 delay digits.
    Note {
        /// Note column.
        col: usize,
        /// Field within the column.
        f: u8,
    },
    /// Effect column `col`, field `f`: 0 command, 1–2 parameter digits.
    Effect {
        /// Effect column.
        col: usize,
        /// Field within the column.
        f: u8,
    },
}

/// The pattern cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Row.
    pub row: usize,
    /// Track.
    pub track: usize,
    /// Field.
    pub field: Field,
}

/// A layer above the view that takes keys first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Popup {
    /// "Save changes? y = save and quit, n = quit without saving, Esc = cancel".
    ConfirmQuit,
    /// A recovery file newer than the song was found at start.
    Recover(PathBuf),
    /// Choosing a WAV file with the keyboard.
    Picker(super::instruments::FilePicker),
    /// Typing a file name.
    Path {
        /// What the name is for.
        purpose: PathPurpose,
        /// Text so far.
        text: String,
    },
    /// The takes panel of the cursor's track and pattern.
    Takes(super::takes::TakesPanel),
    /// MIDI inputs and recording settings.
    Devices(super::record::DevicesPanel),
    /// Typing a name for the section starting at the matrix cursor (empty: no section).
    SectionName {
        /// Text so far.
        text: String,
    },
    /// Typing a name for instrument `slot`.
    Rename {
        /// Slot (1-based).
        slot: u8,
        /// Text so far.
        text: String,
    },
}

/// What a typed file name is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathPurpose {
    /// Save the song under a new name (the extension picks the format).
    SaveAs,
    /// Open another song.
    Open,
    /// Render the song to a WAV file.
    Render,
    /// Render the selection (prepared in [`App::selection_song`]) to a WAV file.
    RenderSelection,
}

/// A render running on a worker thread, with its progress.
pub struct RenderJob {
    /// The output file.
    pub path: PathBuf,
    /// Frames done and expected (updated by the worker).
    pub progress: std::sync::Arc<(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64)>,
    handle: std::thread::JoinHandle<Result<crate::render::RenderReport, String>>,
}

/// Seconds between autosaves while there are unsaved changes.
pub const AUTOSAVE_SECONDS: u64 = 30;

/// The recovery file of a song: `.NAME.autosave` beside it.
pub fn autosave_path(song: &std::path::Path) -> PathBuf {
    let name = song.file_name().map_or_else(
        || "untitled.ttrk".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    song.with_file_name(format!(".{name}.autosave"))
}

/// The recovery file for `song` when it exists and is newer than the song (or the song is gone).
pub fn recovery_for(song: &std::path::Path) -> Option<PathBuf> {
    let auto = autosave_path(song);
    let auto_time = std::fs::metadata(&auto).and_then(|m| m.modified()).ok()?;
    match std::fs::metadata(song).and_then(|m| m.modified()) {
        Ok(song_time) if song_time >= auto_time => None,
        _ => Some(auto),
    }
}

/// What the audio side looks like, for the status line.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioInfo {
    /// "default (48000 Hz, 256 frames)" or "no audio device: silent".
    pub description: String,
    /// Callback load in percent.
    pub load_percent: f32,
    /// Xruns so far.
    pub xruns: u64,
    /// True when there is no device and playback runs on a clock.
    pub silent: bool,
    /// The device failed; R reopens it.
    pub lost: bool,
}

/// The whole UI state.
pub struct App {
    /// The song being edited (the truth; the engine plays a mirror of it).
    pub song: Song,
    /// Where it is saved.
    pub path: Option<PathBuf>,
    /// Unsaved changes.
    pub dirty: bool,
    /// Undo and redo.
    pub history: History,
    /// Current view.
    pub view: View,
    /// Pattern being edited.
    pub pattern: usize,
    /// Pattern cursor.
    pub cursor: Cursor,
    /// Edit mode: notes and values are written only when on.
    pub edit_mode: bool,
    /// Octave of the piano keys' lower row.
    pub octave: u8,
    /// Rows the cursor moves after entering a note.
    pub step: u8,
    /// Instrument slot for new notes (1-based).
    pub instrument: u8,
    /// The view follows playback.
    pub follow: bool,
    /// Order list cursor (the matrix row).
    pub order_cursor: usize,
    /// Track under the matrix cursor.
    pub matrix_track: usize,
    /// MIDI recording: settings and the pass being recorded.
    pub rec: super::record::Recorder,
    /// Audio recording: the input, its settings and the take being recorded.
    pub arec: super::audio_rec::AudioRecorder,
    /// The next play start counts in (recording audio starts playback with the count-in).
    pub count_in_once: bool,
    /// Set by the devices key; the event loop lists the MIDI inputs into a panel.
    pub devices_request: bool,
    /// A MIDI input chosen in the devices panel, for the event loop to connect.
    pub midi_request: Option<String>,
    /// Instrument list cursor (0-based slot index).
    pub instrument_cursor: usize,
    /// One-line message (errors, "saved").
    pub message: String,
    /// Popups, top last.
    pub popups: Vec<Popup>,
    /// Set when the app should exit.
    pub quit: bool,
    /// Key bindings.
    pub keymap: Keymap,
    /// The engine's handle, when an engine runs.
    pub engine: Option<EngineHandle>,
    /// Output rate of the engine.
    pub rate: u32,
    /// Audio facts for the status line.
    pub audio: AudioInfo,
    next_tag: u32,
    /// What the last play command was, to toggle.
    pub playing: bool,
    /// Block selection: the anchor (row, track); the cursor is the other corner.
    pub selection: Option<(usize, usize)>,
    /// The last copied block.
    pub clipboard: Option<Clipboard>,
    /// First line shown in the help view.
    pub help_scroll: u16,
    /// Selected parameter in the instruments view.
    pub param: usize,
    /// A render started from the UI.
    pub render_job: Option<RenderJob>,
    /// Set by the reopen command; the event loop rebuilds the engine and the stream.
    pub reopen_audio: bool,
    /// Counts changes to the song, so an autosave is written only when something changed.
    pub revision: u64,
    /// The mixer view: cursor, detail panel and the meters as shown.
    pub mix: super::mixer::MixerUi,
    autosaved_revision: u64,
    last_autosave: Option<std::time::Instant>,
    autosave_job: Option<std::thread::JoinHandle<Result<(), String>>>,
}

/// A copied block: rows × tracks, each track with its own columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Clipboard {
    /// Rows in the block.
    pub rows: usize,
    /// Per track: note columns, effect columns, and the cells row-major.
    pub tracks: Vec<(usize, usize, Vec<NoteCell>, Vec<EffectCell>)>,
}

impl App {
    /// A new app editing `song`, saved to `path`.
    pub fn new(song: Song, path: Option<PathBuf>) -> App {
        App {
            song,
            path,
            dirty: false,
            history: History::default(),
            view: View::Pattern,
            pattern: 0,
            cursor: Cursor {
                row: 0,
                track: 0,
                field: Field::Note { col: 0, f: 0 },
            },
            edit_mode: false,
            octave: 4,
            step: 1,
            instrument: 1,
            follow: true,
            order_cursor: 0,
            matrix_track: 0,
            rec: super::record::Recorder::default(),
            arec: super::audio_rec::AudioRecorder::default(),
            count_in_once: false,
            devices_request: false,
            midi_request: None,
            instrument_cursor: 0,
            message: String::new(),
            popups: Vec::new(),
            quit: false,
            keymap: Keymap::defaults(),
            engine: None,
            rate: 48_000,
            audio: AudioInfo {
                description: "no audio device: silent".into(),
                load_percent: 0.0,
                xruns: 0,
                silent: true,
                lost: false,
            },
            next_tag: 1,
            playing: false,
            selection: None,
            clipboard: None,
            help_scroll: 0,
            param: 0,
            render_job: None,
            reopen_audio: false,
            revision: 0,
            mix: super::mixer::MixerUi::default(),
            autosaved_revision: 0,
            last_autosave: None,
            autosave_job: None,
        }
    }

    /// The keymap scope of the current view.
    pub fn scope(&self) -> Scope {
        match self.view {
            View::Pattern => Scope::Pattern,
            View::Arrangement => Scope::Arrangement,
            View::Instruments => Scope::Instruments,
            View::Mixer => Scope::Mixer,
            View::Help => Scope::Global,
        }
    }

    /// Song name for the title: the file name, else the title.
    pub fn name(&self) -> String {
        self.path.as_ref().and_then(|p| p.file_name()).map_or_else(
            || self.song.title.clone(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// Rows of the pattern being edited.
    pub fn rows(&self) -> usize {
        self.song
            .patterns
            .get(self.pattern)
            .map_or(1, |p| p.rows as usize)
    }

    /// Handles one key. Returns true when it did something.
    pub fn handle_key(&mut self, chord: KeyChord) -> bool {
        if let Some(popup) = self.popups.last().cloned() {
            return self.popup_key(popup, chord);
        }
        if self.view == View::Help {
            let scroll = match chord.to_string().as_str() {
                "Up" => Some(-1),
                "Down" => Some(1),
                "PageUp" => Some(-16),
                "PageDown" => Some(16),
                "Home" => Some(-10_000),
                _ => None,
            };
            if let Some(d) = scroll {
                self.help_scroll = (self.help_scroll as i32 + d).clamp(0, 1000) as u16;
                return true;
            }
            // Any other key that is not bound globally closes the help.
            match self.keymap.lookup(Scope::Global, &chord) {
                Some(a) => self.perform(a),
                None => self.view = View::Pattern,
            }
            return true;
        }
        if self.view == View::Pattern && self.hex_entry(chord) {
            return true;
        }
        match self.keymap.lookup(self.scope(), &chord) {
            Some(a) => {
                self.perform(a);
                true
            }
            None => {
                self.message = format!("{chord} does nothing here (? shows the keys)");
                false
            }
        }
    }

    fn popup_key(&mut self, popup: Popup, chord: KeyChord) -> bool {
        match popup {
            Popup::ConfirmQuit => match chord.plain_char() {
                Some('y') => {
                    self.popups.pop();
                    if self.save() {
                        self.quit = true;
                    }
                }
                Some('n') => {
                    self.popups.pop();
                    self.remove_autosave();
                    self.quit = true;
                }
                _ if chord == KeyChord::parse("Esc").unwrap_or(chord) => {
                    self.popups.pop();
                    self.message = "quit cancelled".into();
                }
                _ => {}
            },
            Popup::Picker(mut picker) => {
                let key = chord.to_string();
                match key.as_str() {
                    "Up" => picker.cursor = picker.cursor.saturating_sub(1),
                    "Down" => picker.cursor = (picker.cursor + 1).min(picker.entries.len() - 1),
                    "PageUp" => picker.cursor = picker.cursor.saturating_sub(16),
                    "PageDown" => {
                        picker.cursor = (picker.cursor + 16).min(picker.entries.len() - 1)
                    }
                    "Esc" => {
                        self.popups.pop();
                        return true;
                    }
                    "Backspace" | "Left" => {
                        let up = picker
                            .dir
                            .parent()
                            .map(Path::to_path_buf)
                            .unwrap_or(picker.dir.clone());
                        picker = FilePicker::open(&up, picker.slot);
                    }
                    "Enter" | "Right" => {
                        let (name, is_dir) = picker.entries[picker.cursor].clone();
                        let target = if name == ".." {
                            picker
                                .dir
                                .parent()
                                .map(Path::to_path_buf)
                                .unwrap_or(picker.dir.clone())
                        } else {
                            picker.dir.join(&name)
                        };
                        if is_dir {
                            picker = FilePicker::open(&target, picker.slot);
                        } else {
                            self.popups.pop();
                            self.load_sample(picker.slot, &target);
                            return true;
                        }
                    }
                    _ => {}
                }
                if let Some(top) = self.popups.last_mut() {
                    *top = Popup::Picker(picker);
                }
            }
            Popup::Path { purpose, mut text } => match type_text(&mut text, chord, 1024) {
                TextKey::Cancel => {
                    self.popups.pop();
                }
                TextKey::Done => {
                    self.popups.pop();
                    self.path_entered(purpose, PathBuf::from(text.trim()));
                }
                TextKey::Typing => {
                    if let Some(top) = self.popups.last_mut() {
                        *top = Popup::Path { purpose, text };
                    }
                }
            },
            Popup::SectionName { mut text } => match type_text(&mut text, chord, 32) {
                TextKey::Cancel => {
                    self.popups.pop();
                }
                TextKey::Done => {
                    self.popups.pop();
                    self.name_section(text);
                }
                TextKey::Typing => {
                    if let Some(top) = self.popups.last_mut() {
                        *top = Popup::SectionName { text };
                    }
                }
            },
            Popup::Takes(panel) => self.takes_key(panel, chord),
            Popup::Devices(panel) => self.devices_key(panel, chord),
            Popup::Rename { slot, mut text } => match type_text(&mut text, chord, 64) {
                TextKey::Cancel => {
                    self.popups.pop();
                }
                TextKey::Done => {
                    self.popups.pop();
                    self.edit_instrument(slot, |i| i.name = text.clone());
                }
                TextKey::Typing => {
                    if let Some(top) = self.popups.last_mut() {
                        *top = Popup::Rename { slot, text };
                    }
                }
            },
            Popup::Recover(path) => match chord.plain_char() {
                Some('r') => {
                    self.popups.pop();
                    match format::load_song(&path) {
                        Ok(song) => {
                            let before = Box::new(self.song.clone());
                            self.apply(Edit::Song {
                                what: "restore the recovery file",
                                before,
                                after: Box::new(song),
                            });
                            self.clamp_cursor();
                            self.message = format!("restored {}; Ctrl-S saves it", path.display());
                        }
                        Err(e) => self.message = format!("cannot restore: {e}"),
                    }
                }
                Some('d') => {
                    self.popups.pop();
                    let _ = std::fs::remove_file(&path);
                    self.message = "recovery file discarded".into();
                }
                _ if chord == KeyChord::parse("Esc").unwrap_or(chord) => {
                    self.popups.pop();
                    self.message = format!("recovery file kept: {}", path.display());
                }
                _ => {}
            },
        }
        true
    }

    /// Typing a value into a hex field (instrument, volume, delay, effect) of the pattern.
    fn hex_entry(&mut self, chord: KeyChord) -> bool {
        let Some(c) = chord.plain_char() else {
            return false;
        };
        let (row, t) = (self.cursor.row, self.cursor.track);
        match self.cursor.field {
            Field::Note { f: 0, .. } => false,
            Field::Note { col, f } => {
                let Some(d) = c.to_digit(16) else {
                    return false;
                };
                if !self.editing() {
                    return true;
                }
                let before = self.note_cell(row, t, col);
                let mut after = before;
                let set = |v: u8, hi: bool, empty: u8| -> u8 {
                    let v = if v == empty { 0 } else { v };
                    if hi {
                        (v & 0x0F) | ((d as u8) << 4)
                    } else {
                        (v & 0xF0) | d as u8
                    }
                };
                match f {
                    1 | 2 => after.instrument = set(after.instrument, f == 1, 0),
                    3 | 4 => {
                        after.volume = set(after.volume, f == 3, NoteCell::NO_VOLUME).min(0x40)
                    }
                    _ => after.delay = set(after.delay, f == 5, 0),
                }
                self.apply(Edit::Note {
                    pattern: self.pattern,
                    row,
                    track: t,
                    column: col,
                    before,
                    after,
                });
                self.advance_field_or_row(f == 2 || f == 4 || f == 6);
                true
            }
            Field::Effect { col, f } => {
                if !self.edit_mode && !c.is_ascii_alphanumeric() {
                    return false;
                }
                if !self.editing() {
                    return true;
                }
                let before = self.effect_cell(row, t, col);
                let mut after = before;
                if f == 0 {
                    let u = c.to_ascii_uppercase();
                    if !u.is_ascii_alphanumeric() {
                        return false;
                    }
                    after.command = u as u8;
                } else {
                    let Some(d) = c.to_digit(16) else {
                        return false;
                    };
                    if after.command == 0 {
                        after.command = b'0';
                    }
                    after.param = if f == 1 {
                        (after.param & 0x0F) | ((d as u8) << 4)
                    } else {
                        (after.param & 0xF0) | d as u8
                    };
                }
                self.apply(Edit::Effect {
                    pattern: self.pattern,
                    row,
                    track: t,
                    column: col,
                    before,
                    after,
                });
                self.advance_field_or_row(f == 2);
                true
            }
        }
    }

    /// After a digit: move to the next digit, or down by the edit step after the last one.
    fn advance_field_or_row(&mut self, last_digit: bool) {
        if last_digit {
            self.move_rows(self.step as isize);
            self.cursor.field = match self.cursor.field {
                Field::Note { col, f } => Field::Note { col, f: f - 1 },
                Field::Effect { col, f } => Field::Effect { col, f: f - 1 },
            };
        } else {
            self.cursor.field = match self.cursor.field {
                Field::Note { col, f } => Field::Note { col, f: f + 1 },
                Field::Effect { col, f } => Field::Effect { col, f: f + 1 },
            };
        }
    }

    fn note_cell(&self, row: usize, t: usize, col: usize) -> NoteCell {
        self.song.patterns[self.pattern].note(t, row, col)
    }

    fn effect_cell(&self, row: usize, t: usize, col: usize) -> EffectCell {
        self.song.patterns[self.pattern].effect(t, row, col)
    }

    /// Applies an edit: song, undo history, dirty mark, engine mirror.
    pub fn apply(&mut self, edit: Edit) {
        edit.apply(&mut self.song);
        self.mirror(&edit);
        self.history.push(edit);
        self.dirty = true;
        self.revision += 1;
    }

    /// Applies an edit that nudged one parameter: like [`App::apply`], but repeated nudges of
    /// the same parameter within half a second are one undo step.
    pub fn apply_nudge(&mut self, edit: Edit, key: super::edit::MergeKey) {
        edit.apply(&mut self.song);
        self.mirror(&edit);
        self.history
            .push_nudge(edit, key, std::time::Instant::now());
        self.dirty = true;
        self.revision += 1;
    }

    /// Writes the recovery file on a worker thread when there are unsaved changes that are not in
    /// it yet and the last autosave is at least [`AUTOSAVE_SECONDS`] old. Returns true when one
    /// was started.
    pub fn autosave_tick(&mut self, now: std::time::Instant) -> bool {
        if let Some(job) = self.autosave_job.take_if(|j| j.is_finished())
            && let Ok(Err(e)) = job.join()
        {
            self.message = format!("autosave failed: {e}");
        }
        let due = self
            .last_autosave
            .is_none_or(|t| now.duration_since(t).as_secs() >= AUTOSAVE_SECONDS);
        let Some(path) = self.path.as_ref() else {
            return false;
        };
        if !self.dirty
            || self.revision == self.autosaved_revision
            || !due
            || self.autosave_job.is_some()
        {
            if self.last_autosave.is_none() {
                self.last_autosave = Some(now);
            }
            return false;
        }
        let (song, target) = (self.song.clone(), autosave_path(path));
        self.autosave_job = Some(std::thread::spawn(move || {
            format::save_song(&song, &target).map_err(|e| e.to_string())
        }));
        self.autosaved_revision = self.revision;
        self.last_autosave = Some(now);
        true
    }

    /// Waits for a running autosave to finish (tests, quitting).
    pub fn wait_autosave(&mut self) {
        if let Some(job) = self.autosave_job.take()
            && let Ok(Err(e)) = job.join()
        {
            self.message = format!("autosave failed: {e}");
        }
    }

    /// Removes the recovery file (after a save, or a clean quit).
    fn remove_autosave(&mut self) {
        self.wait_autosave();
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(autosave_path(p));
        }
    }

    fn mirror(&mut self, edit: &Edit) {
        if let Some(h) = self.engine.as_mut() {
            let mut cmds = Vec::new();
            edit.mirror(&self.song, self.rate, &mut cmds);
            for c in cmds {
                h.send(c);
            }
        }
    }

    /// Performs an action.
    pub fn perform(&mut self, action: Action) {
        if self.matrix_action(action) {
            return;
        }
        if matches!(
            action,
            Action::Up
                | Action::Down
                | Action::Left
                | Action::Right
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom
                | Action::NextTrack
                | Action::PrevTrack
                | Action::NextPattern
                | Action::PrevPattern
        ) {
            self.selection = None;
        }
        match action {
            Action::Quit => {
                if self.dirty {
                    self.popups.push(Popup::ConfirmQuit);
                } else {
                    self.remove_autosave();
                    self.quit = true;
                }
            }
            Action::Save => {
                self.save();
            }
            Action::Undo => match self.history.undo() {
                Some(e) => {
                    e.apply(&mut self.song);
                    self.mirror(&e);
                    self.dirty = true;
                    self.revision += 1;
                    self.clamp_cursor();
                    self.message = format!("undone ({} more)", self.history.undo_len());
                }
                None => self.message = "nothing to undo".into(),
            },
            Action::Redo => match self.history.redo() {
                Some(e) => {
                    e.apply(&mut self.song);
                    self.mirror(&e);
                    self.dirty = true;
                    self.revision += 1;
                    self.clamp_cursor();
                    self.message = "redone".into();
                }
                None => self.message = "nothing to redo".into(),
            },
            Action::Help => self.view = View::Help,
            Action::ViewPattern => self.view = View::Pattern,
            Action::ViewArrangement => self.view = View::Arrangement,
            Action::ViewInstruments => self.view = View::Instruments,
            Action::ViewMixer => {
                self.view = View::Mixer;
                self.message = "mixer: ←→ strip  ↑↓ row  +/- value  m mute  s solo  i EQ  c comp  Enter detail".into();
            }
            Action::MixLeft
            | Action::MixRight
            | Action::MixUp
            | Action::MixDown
            | Action::MixFirst
            | Action::MixLast
            | Action::MixChange { .. }
            | Action::MixReset
            | Action::MixMute
            | Action::MixSolo
            | Action::MixAddEq
            | Action::MixAddCompressor
            | Action::MixRemoveInsert
            | Action::MixToggleOn
            | Action::MixDetail => self.mixer_action(action),
            Action::GroupCycle => self.group_cycle(),
            Action::GroupFold => self.group_fold(),
            Action::RecQuantize => self.cycle_quantize(),
            Action::Takes => self.open_takes(),
            Action::Devices => self.devices_request = true,
            Action::RecordAudio => self.record_audio_key(),
            Action::Metronome | Action::MetronomeLevel | Action::CountIn | Action::Punch => {
                self.record_setting(action)
            }
            Action::RecVelocity => {
                self.rec.velocity = !self.rec.velocity;
                self.message = format!(
                    "recording: velocity {}",
                    if self.rec.velocity {
                        "into the volume column"
                    } else {
                        "ignored"
                    }
                );
            }
            Action::RecOverdub => {
                self.rec.overdub = !self.rec.overdub;
                self.message = if self.rec.overdub {
                    "loop recording: overdub (passes add up)"
                } else {
                    "loop recording: each pass is a new take that replaces the last"
                }
                .into();
            }
            Action::ToggleEdit => {
                self.edit_mode = !self.edit_mode;
                self.message = if self.edit_mode {
                    "edit mode on"
                } else {
                    "edit mode off"
                }
                .into();
            }
            Action::PlaySong => {
                if self.playing {
                    self.stop();
                } else {
                    let from = self.order_position_of_pattern();
                    self.play_song_from(from, 0);
                }
            }
            Action::PlayPattern => {
                if self.playing {
                    self.stop();
                } else {
                    let from = self.order_position_of_pattern();
                    self.play(
                        PlayRange {
                            from,
                            to: from,
                            looping: true,
                        },
                        None,
                        0,
                    );
                }
            }
            Action::PlayFromCursor => {
                let from = self.order_position_of_pattern();
                self.play_song_from(from, self.cursor.row);
            }
            Action::Stop => self.stop(),
            Action::ToggleFollow => {
                self.follow = !self.follow;
                self.message = if self.follow {
                    "follow on"
                } else {
                    "follow off"
                }
                .into();
            }
            Action::Up => self.move_rows(-1),
            Action::Down => self.move_rows(1),
            Action::PageUp => self.move_rows(-16),
            Action::PageDown => self.move_rows(16),
            Action::Top => self.cursor.row = 0,
            Action::Bottom => self.cursor.row = self.rows() - 1,
            Action::Left => self.move_field(-1),
            Action::Right => self.move_field(1),
            Action::NextTrack => self.move_track(1),
            Action::PrevTrack => self.move_track(-1),
            Action::OctaveDown => self.octave = self.octave.saturating_sub(1),
            Action::OctaveUp => self.octave = (self.octave + 1).min(8),
            Action::StepDown => self.step = self.step.saturating_sub(1),
            Action::StepUp => self.step = (self.step + 1).min(16),
            Action::InstrumentDown => self.instrument = self.instrument.saturating_sub(1).max(1),
            Action::InstrumentUp => self.instrument = self.instrument.saturating_add(1),
            Action::Piano(k) => self.piano(k),
            Action::NoteOff => self.write_note(Note::Off),
            Action::Clear => self.clear_field(),
            Action::InsertRow => self.shift_rows(true),
            Action::DeleteRow => self.shift_rows(false),
            Action::NextPattern => self.select_pattern(self.pattern as isize + 1),
            Action::PrevPattern => self.select_pattern(self.pattern as isize - 1),
            Action::ListUp => self.list_move(-1),
            Action::ListDown => self.list_move(1),
            // Handled by `matrix_action` above.
            Action::OrderInsert
            | Action::OrderDelete
            | Action::OrderPatternUp
            | Action::OrderPatternDown
            | Action::OrderEdit
            | Action::OrderPlay
            | Action::OrderDuplicate
            | Action::OrderMoveUp
            | Action::OrderMoveDown
            | Action::MatrixLeft
            | Action::MatrixRight
            | Action::MatrixTop
            | Action::MatrixBottom
            | Action::OrderClone
            | Action::SliceMute
            | Action::MatrixJump
            | Action::SectionName
            | Action::SectionColour
            | Action::SectionUp
            | Action::SectionDown
            | Action::SectionCopy
            | Action::SectionDelete
            | Action::LoopStart
            | Action::LoopEnd
            | Action::LoopSection
            | Action::LoopClear => {}
            Action::InstrumentSelect => {
                self.instrument = (self.instrument_cursor + 1) as u8;
                self.message = format!("instrument {:02X}", self.instrument);
            }
            Action::SelectUp | Action::SelectDown | Action::SelectLeft | Action::SelectRight => {
                if self.selection.is_none() {
                    self.selection = Some((self.cursor.row, self.cursor.track));
                }
                match action {
                    Action::SelectUp => self.cursor.row = self.cursor.row.saturating_sub(1),
                    Action::SelectDown => {
                        self.cursor.row = (self.cursor.row + 1).min(self.rows() - 1)
                    }
                    Action::SelectLeft => self.cursor.track = self.cursor.track.saturating_sub(1),
                    _ => {
                        self.cursor.track = (self.cursor.track + 1).min(self.song.tracks.len() - 1)
                    }
                }
                self.clamp_cursor();
            }
            Action::SelectTrack => {
                self.selection = Some((0, self.cursor.track));
                self.cursor.row = self.rows() - 1;
            }
            Action::Copy => {
                self.clipboard = Some(self.copy_block());
                self.message = "copied".into();
            }
            Action::Cut => self.cut(),
            Action::Paste => self.paste(),
            Action::Transpose(d) => self.transpose(d),
            Action::Interpolate => self.interpolate(),
            Action::NewPattern | Action::ClonePattern => {
                if self.song.patterns.len() >= crate::model::limits::MAX_PATTERNS {
                    self.message = "the song has the most patterns it can hold".into();
                    return;
                }
                let p = if action == Action::NewPattern {
                    crate::model::Pattern::new(self.rows() as u32, &self.song.tracks)
                } else {
                    self.song.patterns[self.pattern].clone()
                };
                self.song_edit("new pattern", |s| s.patterns.push(p));
                self.pattern = self.song.patterns.len() - 1;
                self.clamp_cursor();
                self.message = format!(
                    "pattern {:02} (add it to the arrangement with F3, Insert)",
                    self.pattern
                );
            }
            Action::Resize(d) => {
                let rows = (self.rows() as i64 + d as i64).clamp(1, MAX_ROWS as i64) as u32;
                let before = Box::new(self.song.patterns[self.pattern].clone());
                let mut after = Box::new(crate::model::Pattern::new(rows, &self.song.tracks));
                after.name = before.name.clone();
                let keep = (rows as usize).min(before.rows as usize);
                for t in 0..after.tracks.len() {
                    let (nc, ec) = (before.note_columns(t), before.effect_columns(t));
                    after.tracks[t].notes[..keep * nc]
                        .copy_from_slice(&before.tracks[t].notes[..keep * nc]);
                    after.tracks[t].effects[..keep * ec]
                        .copy_from_slice(&before.tracks[t].effects[..keep * ec]);
                }
                self.apply(Edit::Pattern {
                    index: self.pattern,
                    before,
                    after,
                });
                self.clamp_cursor();
                self.message = format!("pattern {:02} has {rows} rows", self.pattern);
            }
            Action::AddTrack => {
                if self.song.tracks.len() >= crate::model::limits::MAX_TRACKS {
                    self.message = "the song has the most tracks it can hold".into();
                    return;
                }
                let n = self.song.tracks.len() + 1;
                self.song_edit("add a track", |s| {
                    s.add_track(crate::model::Track::new(format!("Track {n}")))
                });
            }
            Action::RemoveTrack => {
                if self.song.tracks.len() <= 1 {
                    self.message = "a song needs at least one track".into();
                    return;
                }
                let t = self.cursor.track;
                self.song_edit("remove a track", |s| {
                    s.tracks.remove(t);
                    for p in &mut s.patterns {
                        p.tracks.remove(t);
                    }
                });
                self.clamp_cursor();
            }
            Action::AddNoteColumn
            | Action::RemoveNoteColumn
            | Action::AddEffectColumn
            | Action::RemoveEffectColumn => {
                let t = self.cursor.track;
                let tr = &self.song.tracks[t];
                let (mut n, mut e) = (tr.note_columns, tr.effect_columns);
                match action {
                    Action::AddNoteColumn => n += 1,
                    Action::RemoveNoteColumn => n = n.saturating_sub(1),
                    Action::AddEffectColumn => e += 1,
                    _ => e = e.saturating_sub(1),
                }
                let ok = (1..=crate::model::limits::MAX_NOTE_COLUMNS as u8).contains(&n)
                    && (1..=crate::model::limits::MAX_EFFECT_COLUMNS as u8).contains(&e);
                if !ok {
                    self.message = "a track has 1-8 note columns and 1-4 effect columns".into();
                    return;
                }
                self.song_edit("change the columns", |s| s.set_track_columns(t, n, e));
                self.clamp_cursor();
            }
            Action::ToggleDelay => {
                let t = self.cursor.track;
                self.song_edit("show or hide delays", |s| {
                    s.tracks[t].show_delay = !s.tracks[t].show_delay
                });
                self.clamp_cursor();
            }
            Action::ReopenAudio => {
                self.reopen_audio = true;
                self.message = "reopening the audio device".into();
            }
            Action::Bounce => self.bounce(),
            Action::Freeze => self.toggle_freeze(),
            Action::RenderSelection => {
                let text = self
                    .wav_beside_song("-selection")
                    .unwrap_or_else(|| "selection.wav".into());
                self.popups.push(Popup::Path {
                    purpose: PathPurpose::RenderSelection,
                    text,
                });
            }
            Action::SaveAs | Action::Open | Action::Render => {
                let (purpose, text) = match action {
                    Action::SaveAs => (
                        PathPurpose::SaveAs,
                        self.path.as_ref().map(|p| p.display().to_string()),
                    ),
                    Action::Open => {
                        if self.dirty {
                            self.message =
                                "unsaved changes: save them (C-s) or undo them first".into();
                            return;
                        }
                        (
                            PathPurpose::Open,
                            self.path
                                .as_ref()
                                .and_then(|p| p.parent())
                                .map(|d| format!("{}/", d.display())),
                        )
                    }
                    _ => (PathPurpose::Render, self.wav_beside_song("")),
                };
                self.popups.push(Popup::Path {
                    purpose,
                    text: text.unwrap_or_default(),
                });
            }
            Action::ParamNext | Action::ParamPrev => {
                if let Some(inst) = self.song.instrument(self.instrument_cursor as u8 + 1) {
                    let n = super::instruments::param_names(inst).len();
                    let d = if action == Action::ParamNext {
                        1
                    } else {
                        n - 1
                    };
                    self.param = (self.param + d) % n;
                }
            }
            Action::ParamUp | Action::ParamDown | Action::ParamUpFine | Action::ParamDownFine => {
                let dir = if matches!(action, Action::ParamUp | Action::ParamUpFine) {
                    1
                } else {
                    -1
                };
                let fine = matches!(action, Action::ParamUpFine | Action::ParamDownFine);
                let (slot, param) = (self.instrument_cursor as u8 + 1, self.param);
                // Holding a key is one undo step.
                let key = (usize::MAX, slot as usize, param);
                self.edit_instrument_keyed(slot, Some(key), |i| {
                    super::instruments::adjust(i, param, dir, fine)
                });
            }
            Action::InstrumentNew => {
                let slot = self.instrument_cursor as u8 + 1;
                if self.song.instrument(slot).is_some() {
                    self.message = "this slot is in use (Delete empties it)".into();
                } else {
                    let after = Some(Box::new(crate::model::Instrument {
                        name: format!("Synth {slot:02X}"),
                        volume: 0.8,
                        pan: 0.0,
                        kind: crate::model::InstrumentKind::Synth(crate::model::Synth::default()),
                    }));
                    self.apply(Edit::Instrument {
                        slot,
                        before: None,
                        after,
                    });
                    self.message = format!("new synth in slot {slot:02X}");
                }
            }
            Action::InstrumentDelete => {
                let slot = self.instrument_cursor as u8 + 1;
                if let Some(before) = self.song.instrument(slot).cloned() {
                    self.apply(Edit::Instrument {
                        slot,
                        before: Some(Box::new(before)),
                        after: None,
                    });
                    self.message = format!("slot {slot:02X} emptied (Ctrl-Z brings it back)");
                }
            }
            Action::InstrumentRename => {
                let slot = self.instrument_cursor as u8 + 1;
                match self.song.instrument(slot) {
                    Some(i) => self.popups.push(Popup::Rename {
                        slot,
                        text: i.name.clone(),
                    }),
                    None => self.message = "the slot is empty".into(),
                }
            }
            Action::InstrumentLoad => {
                let dir = self
                    .path
                    .as_ref()
                    .and_then(|p| p.parent())
                    .filter(|d| !d.as_os_str().is_empty())
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("."));
                let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
                self.popups.push(Popup::Picker(FilePicker::open(
                    &dir,
                    self.instrument_cursor as u8 + 1,
                )));
            }
        }
    }

    fn path_entered(&mut self, purpose: PathPurpose, path: PathBuf) {
        if path.as_os_str().is_empty() {
            self.message = "no file name given".into();
            return;
        }
        match purpose {
            PathPurpose::SaveAs => {
                if format::SongFormat::from_path(&path).is_none() {
                    self.message =
                        "use a name ending in .ttrk (binary) or .ttrk.toml (text)".into();
                    return;
                }
                let old = self.path.replace(path);
                if !self.save() {
                    self.path = old;
                }
            }
            PathPurpose::Open => match format::load_song(&path) {
                Ok(song) => {
                    self.stop();
                    self.remove_autosave();
                    self.song = song;
                    self.path = Some(path.clone());
                    self.dirty = false;
                    self.history = History::default();
                    self.pattern = 0;
                    self.order_cursor = 0;
                    self.selection = None;
                    self.clamp_cursor();
                    if let Some(h) = self.engine.as_mut() {
                        h.send(Command::ReplaceSong(Box::new(EngineSong::from_model(
                            &self.song, self.rate,
                        ))));
                    }
                    self.message = format!("opened {}", path.display());
                }
                Err(e) => self.message = format!("cannot open: {e}"),
            },
            PathPurpose::Render | PathPurpose::RenderSelection => {
                if self.render_job.is_some() {
                    self.message = "a render is already running".into();
                    return;
                }
                let song = if purpose == PathPurpose::RenderSelection {
                    self.selection_song()
                } else {
                    self.song.clone()
                };
                let progress = std::sync::Arc::new((
                    std::sync::atomic::AtomicU64::new(0),
                    std::sync::atomic::AtomicU64::new(1),
                ));
                let (p2, out) = (progress.clone(), path.clone());
                let handle = std::thread::spawn(move || {
                    let opts = crate::render::RenderOptions::default();
                    crate::render::render_to_wav(
                        &song,
                        &out,
                        opts,
                        crate::render::SampleFormat::S24,
                        &mut |d, t| {
                            p2.0.store(d, std::sync::atomic::Ordering::Relaxed);
                            p2.1.store(t.max(1), std::sync::atomic::Ordering::Relaxed);
                        },
                    )
                    .map_err(|e| e.to_string())
                });
                self.render_job = Some(RenderJob {
                    path,
                    progress,
                    handle,
                });
                self.message = "rendering…".into();
            }
        }
    }

    /// Reports on a running render; call once per UI frame. Returns true when the message changed.
    pub fn poll_render(&mut self) -> bool {
        let Some(job) = self.render_job.as_ref() else {
            return false;
        };
        if !job.handle.is_finished() {
            let (d, t) = (
                job.progress.0.load(std::sync::atomic::Ordering::Relaxed),
                job.progress.1.load(std::sync::atomic::Ordering::Relaxed),
            );
            self.message = format!(
                "rendering {}: {}%",
                job.path.display(),
                (d * 100 / t.max(1)).min(100)
            );
            return true;
        }
        let Some(job) = self.render_job.take() else {
            return false;
        };
        self.message = match job.handle.join() {
            Ok(Ok(r)) => format!(
                "rendered {}: {:.1} s, peak {:.1} dBFS",
                job.path.display(),
                r.seconds(),
                r.peak_db()
            ),
            Ok(Err(e)) => format!("render failed: {e}"),
            Err(_) => "render failed".into(),
        };
        true
    }

    /// Waits for a render started from the UI (tests, quitting).
    pub fn wait_render(&mut self) {
        if let Some(job) = self.render_job.as_ref() {
            while !job.handle.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        self.poll_render();
    }

    /// Changes instrument `slot` through `f`, checked, as one undo step (merged with the previous
    /// step when it changed the same slot, so holding a key is one step).
    fn edit_instrument(&mut self, slot: u8, f: impl FnOnce(&mut crate::model::Instrument)) {
        self.edit_instrument_keyed(slot, None, f);
    }

    /// Like [`App::edit_instrument`]; with `key`, quick repeats of the same adjustment merge into
    /// one undo step.
    fn edit_instrument_keyed(
        &mut self,
        slot: u8,
        key: Option<super::edit::MergeKey>,
        f: impl FnOnce(&mut crate::model::Instrument),
    ) {
        let Some(before) = self.song.instrument(slot).cloned() else {
            self.message = "the slot is empty (n makes a synth, l loads a sample)".into();
            return;
        };
        let mut after = before.clone();
        f(&mut after);
        if after == before {
            return;
        }
        let mut probe = self.song.clone();
        probe.instruments[slot as usize - 1] = Some(after.clone());
        if let Err(e) = crate::model::validate(&probe) {
            self.message = format!("not changed: {e}");
            return;
        }
        let edit = Edit::Instrument {
            slot,
            before: Some(Box::new(before)),
            after: Some(Box::new(after)),
        };
        match key {
            Some(k) => self.apply_nudge(edit, k),
            None => self.apply(edit),
        }
    }

    /// Loads a WAV file into a new sampler in `slot` (replacing what was there, undoably).
    pub fn load_sample(&mut self, slot: u8, path: &Path) {
        let mut data = match format::read_wav(path) {
            Ok(d) => d,
            Err(e) => {
                self.message = format!("cannot load: {e}");
                return;
            }
        };
        // Text songs refer to samples relative to the song file.
        let base = self
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .and_then(|d| std::fs::canonicalize(d).ok());
        let abs = std::fs::canonicalize(path).unwrap_or(path.to_path_buf());
        data.source = Some(match base.as_ref().and_then(|b| relative_path(&abs, b)) {
            Some(rel) => rel,
            None => abs.to_string_lossy().into_owned(),
        });
        let name = path
            .file_stem()
            .map_or_else(|| "sample".into(), |n| n.to_string_lossy().into_owned());
        let inst = crate::model::Instrument {
            name: name.clone(),
            volume: 1.0,
            pan: 0.0,
            kind: crate::model::InstrumentKind::Sampler(crate::model::Sampler::new(
                std::sync::Arc::new(data),
            )),
        };
        if !self.put_instrument(slot, inst, "cannot load") {
            return;
        }
        self.instrument = slot;
        self.message = format!("loaded {name} into slot {slot:02X}; it plays at C-4");
    }

    /// Puts `inst` into 1-based `slot` (replacing what is there) as one undo step, if the song
    /// stays valid; else says why after `failure` and returns false.
    fn put_instrument(&mut self, slot: u8, inst: crate::model::Instrument, failure: &str) -> bool {
        let mut probe = self.song.clone();
        let i = slot as usize - 1;
        if probe.instruments.len() <= i {
            probe.instruments.resize(i + 1, None);
        }
        probe.instruments[i] = Some(inst.clone());
        if let Err(e) = crate::model::validate(&probe) {
            self.message = format!("{failure}: {e}");
            return false;
        }
        let before = self.song.instrument(slot).cloned().map(Box::new);
        self.apply(Edit::Instrument {
            slot,
            before,
            after: Some(Box::new(inst)),
        });
        true
    }

    /// A structural change as one undo step.
    pub(super) fn song_edit(&mut self, what: &'static str, f: impl FnOnce(&mut Song)) {
        let before = Box::new(self.song.clone());
        let mut after = before.clone();
        f(&mut after);
        if let Err(e) = crate::model::validate(&after) {
            self.message = format!("cannot {what}: {e}");
            return;
        }
        self.apply(Edit::Song {
            what,
            before,
            after,
        });
        self.message = what.into();
    }

    /// `NAME{suffix}.wav` beside the song file (`NAME` without `.ttrk`/`.ttrk.toml`), if the song
    /// has a file.
    fn wav_beside_song(&self, suffix: &str) -> Option<String> {
        self.path.as_ref().map(|p| {
            let name = p
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let stem = name.trim_end_matches(".toml").trim_end_matches(".ttrk");
            p.with_file_name(format!("{stem}{suffix}.wav"))
                .display()
                .to_string()
        })
    }

    /// The song a bounce of the track under the cursor plays: the whole song, every other track
    /// muted.
    pub fn track_song(&self) -> Song {
        let mut s = self.song.clone();
        for (t, tr) in s.tracks.iter_mut().enumerate() {
            if t != self.cursor.track {
                tr.mute = true;
            }
        }
        s
    }

    /// Bounces the selection ([`App::selection_song`]), or without one the track under the cursor
    /// over the whole song ([`App::track_song`]), into a new sampler in the first free slot: 32-bit
    /// float stereo at the engine's rate, tail included, base note C-4. Renders on this thread:
    /// it takes a fraction of a second for a song of a few minutes.
    pub fn bounce(&mut self) {
        let Some(slot) = (0..crate::model::limits::MAX_INSTRUMENTS)
            .find(|&i| self.song.instruments.get(i).is_none_or(|x| x.is_none()))
        else {
            self.message = "every instrument slot is in use".into();
            return;
        };
        let (song, what) = if self.selection.is_some() {
            (self.selection_song(), "selection".to_string())
        } else {
            let name = self.song.tracks[self.cursor.track].name.clone();
            (self.track_song(), name)
        };
        let rate = self.rate.clamp(
            crate::model::limits::RATE_RANGE.0,
            crate::model::limits::RATE_RANGE.1,
        );
        let opts = crate::render::RenderOptions {
            rate,
            ..Default::default()
        };
        let (l, r) = match crate::render::render_to_vec(&song, opts) {
            Ok(x) => x,
            Err(e) => {
                self.message = format!("cannot bounce: {e}");
                return;
            }
        };
        let frames = l.len();
        if frames as u64 * 2 > crate::model::limits::MAX_SAMPLE_VALUES {
            self.message = "the bounce is longer than a sample may be".into();
            return;
        }
        let data: Vec<f32> = l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]).collect();
        let name = format!("Bounce {what}");
        let sample = crate::model::SampleData {
            name: name.clone(),
            rate,
            channels: 2,
            bits: 32,
            float: true,
            frames: frames as u64,
            source: None,
            data,
        };
        let inst = crate::model::Instrument {
            name,
            volume: 1.0,
            pan: 0.0,
            kind: crate::model::InstrumentKind::Sampler(crate::model::Sampler::new(
                std::sync::Arc::new(sample),
            )),
        };
        let slot = slot as u8 + 1;
        if !self.put_instrument(slot, inst, "cannot bounce") {
            return;
        }
        self.message = format!(
            "bounced {what} to instrument {slot:02X} ({:.2} s)",
            frames as f64 / rate as f64
        );
    }

    /// The song a selection render plays: the selected rows of the current pattern as the only
    /// order entry, the tracks outside the selection muted, at the tempo in force at that point
    /// of the song. Without a selection: the whole current pattern, every track.
    pub fn selection_song(&self) -> Song {
        if self.view == View::Arrangement {
            return self.order_range_song();
        }
        let (r0, r1, t0, t1) = match self.selection {
            Some(_) => self.block(),
            None => (
                0,
                self.song.patterns[self.pattern].rows as usize - 1,
                0,
                self.song.tracks.len() - 1,
            ),
        };
        let mut s = self.song.clone();
        // Frozen tracks play their notes here: their audio follows the whole song's order.
        for t in 0..s.tracks.len() {
            if let Ok(u) = crate::render::freeze::unfreeze(&s, t) {
                s = u;
            }
        }
        let src = &s.patterns[self.pattern].clone();
        let mut p = crate::model::Pattern::new((r1 - r0 + 1) as u32, &s.tracks);
        p.name = format!("{} rows {r0:02X}-{r1:02X}", src.name);
        for t in 0..s.tracks.len() {
            let (nc, ec) = (src.note_columns(t), src.effect_columns(t));
            p.tracks[t].notes = src.tracks[t].notes[r0 * nc..(r1 + 1) * nc].to_vec();
            p.tracks[t].effects = src.tracks[t].effects[r0 * ec..(r1 + 1) * ec].to_vec();
            if t < t0 || t > t1 {
                s.tracks[t].mute = true;
            }
        }
        // The tempo in force where the selection starts: every earlier order entry's Fxx, then the
        // selected pattern's rows above the selection.
        let es = crate::engine::EngineSong::from_model(&self.song, 48_000);
        let (mut bpm, mut tpl) = crate::engine::chase_tempo(&es, self.order_position_of_pattern());
        for row in 0..r0 {
            for t in 0..src.tracks.len() {
                for c in 0..src.effect_columns(t) {
                    let e = src.effect(t, row, c);
                    if e.command == b'F' && e.param > 0 {
                        if e.param >= 0x20 {
                            bpm = e.param as u16;
                        } else {
                            tpl = e.param;
                        }
                    }
                }
            }
        }
        s.bpm = bpm;
        s.tpl = tpl;
        s.patterns.push(p);
        let pos = self.order_position_of_pattern();
        s.order = vec![(s.patterns.len() - 1) as u16];
        s.restart = 0;
        s.arrangement = crate::model::arrange::Arrangement {
            mutes: vec![self.song.arrangement.mutes.get(pos).copied().unwrap_or(0)],
            ..Default::default()
        };
        s
    }

    /// The selected block as (first row, last row, first track, last track), or the cursor cell.
    pub fn block(&self) -> (usize, usize, usize, usize) {
        let (r, t) = (self.cursor.row, self.cursor.track);
        match self.selection {
            Some((ar, at)) => (ar.min(r), ar.max(r), at.min(t), at.max(t)),
            None => (r, r, t, t),
        }
    }

    fn copy_block(&self) -> Clipboard {
        let (r0, r1, t0, t1) = self.block();
        let p = &self.song.patterns[self.pattern];
        let tracks = (t0..=t1)
            .map(|t| {
                let (nc, ec) = (p.note_columns(t), p.effect_columns(t));
                let notes = p.tracks[t].notes[r0 * nc..(r1 + 1) * nc].to_vec();
                let effects = p.tracks[t].effects[r0 * ec..(r1 + 1) * ec].to_vec();
                (nc, ec, notes, effects)
            })
            .collect();
        Clipboard {
            rows: r1 - r0 + 1,
            tracks,
        }
    }

    /// True in edit mode; otherwise says how to turn it on.
    fn editing(&mut self) -> bool {
        if !self.edit_mode {
            self.message = "edit mode is off (Esc turns it on)".into();
            return false;
        }
        let t = self.cursor.track.min(self.song.tracks.len() - 1);
        if self.folded_group_at(t).is_some() {
            self.message = "the group is folded (A-z unfolds it to edit)".into();
            return false;
        }
        if self.song.tracks[t].frozen.is_some() {
            self.message = format!("track {} is frozen (A-f unfreezes it)", t + 1);
            return false;
        }
        true
    }

    /// Freezes the track under the cursor (the matrix's track in the arrangement view), or
    /// unfreezes it when it is frozen; one undo step. Renders on this thread, like a bounce.
    pub fn toggle_freeze(&mut self) {
        use crate::render::freeze::{freeze, unfreeze};
        let t = if self.view == View::Arrangement {
            self.matrix_track
        } else {
            self.cursor.track
        }
        .min(self.song.tracks.len() - 1);
        let rate = self.rate.clamp(
            crate::model::limits::RATE_RANGE.0,
            crate::model::limits::RATE_RANGE.1,
        );
        let was_frozen = self.song.tracks[t].frozen.is_some();
        let result = if was_frozen {
            unfreeze(&self.song, t)
        } else {
            freeze(&self.song, t, rate)
        };
        let after = match result {
            Ok(s) => Box::new(s),
            Err(e) => {
                self.message = format!("cannot freeze: {e}");
                return;
            }
        };
        let before = Box::new(self.song.clone());
        self.apply(Edit::Song {
            what: if was_frozen {
                "unfroze the track"
            } else {
                "froze the track"
            },
            before,
            after,
        });
        self.message = if was_frozen {
            format!("track {} unfrozen: its notes are back", t + 1)
        } else {
            let secs = self.song.tracks[t]
                .frozen
                .as_ref()
                .map_or(0.0, |f| f.audio.frames as f64 / rate as f64);
            format!(
                "track {} frozen ({secs:.1} s of audio); A-f unfreezes it",
                t + 1
            )
        };
    }

    /// Replaces the current pattern with `f` applied to a copy, as one undo step.
    fn pattern_edit(&mut self, f: impl FnOnce(&mut crate::model::Pattern)) {
        if !self.editing() {
            return;
        }
        let before = Box::new(self.song.patterns[self.pattern].clone());
        let mut after = before.clone();
        f(&mut after);
        if after != before {
            self.apply(Edit::Pattern {
                index: self.pattern,
                before,
                after,
            });
        }
    }

    fn cut(&mut self) {
        self.clipboard = Some(self.copy_block());
        let (r0, r1, t0, t1) = self.block();
        self.pattern_edit(|p| {
            for t in t0..=t1 {
                let (nc, ec) = (p.note_columns(t), p.effect_columns(t));
                p.tracks[t].notes[r0 * nc..(r1 + 1) * nc].fill(NoteCell::EMPTY);
                p.tracks[t].effects[r0 * ec..(r1 + 1) * ec].fill(EffectCell::EMPTY);
            }
        });
        self.selection = None;
    }

    fn paste(&mut self) {
        let Some(clip) = self.clipboard.clone() else {
            self.message = "nothing copied yet (select with Shift+arrows, C-c copies)".into();
            return;
        };
        let (r0, t0) = (self.cursor.row, self.cursor.track);
        self.pattern_edit(|p| {
            let rows = p.rows as usize;
            for (k, (cnc, cec, notes, effects)) in clip.tracks.iter().enumerate() {
                let t = t0 + k;
                if t >= p.tracks.len() {
                    break;
                }
                let (nc, ec) = (p.note_columns(t), p.effect_columns(t));
                for r in 0..clip.rows {
                    if r0 + r >= rows {
                        break;
                    }
                    for c in 0..nc.min(*cnc) {
                        *p.note_mut(t, r0 + r, c) = notes[r * cnc + c];
                    }
                    for c in 0..ec.min(*cec) {
                        *p.effect_mut(t, r0 + r, c) = effects[r * cec + c];
                    }
                }
            }
        });
        self.message = format!("pasted {} rows", clip.rows);
    }

    fn transpose(&mut self, d: i8) {
        let (r0, r1, t0, t1) = self.block();
        self.pattern_edit(|p| {
            for t in t0..=t1 {
                let nc = p.note_columns(t);
                for c in p.tracks[t].notes[r0 * nc..(r1 + 1) * nc].iter_mut() {
                    if let Note::On(n) = c.note {
                        c.note = Note::On(
                            (n as i16 + d as i16).clamp(0, crate::model::MAX_PITCH as i16) as u8,
                        );
                    }
                }
            }
        });
    }

    /// Linear interpolation of volumes and effect parameters between the selection's first and
    /// last rows, per column (FT2/Renoise style).
    fn interpolate(&mut self) {
        let (r0, r1, t0, t1) = self.block();
        if r1 <= r0 + 1 {
            self.message = "select at least three rows to interpolate".into();
            return;
        }
        self.pattern_edit(|p| {
            let lerp = |a: u8, b: u8, r: usize| {
                let f = (r - r0) as f32 / (r1 - r0) as f32;
                (a as f32 + (b as f32 - a as f32) * f).round() as u8
            };
            for t in t0..=t1 {
                for c in 0..p.note_columns(t) {
                    let (a, b) = (p.note(t, r0, c).volume, p.note(t, r1, c).volume);
                    if a <= 0x40 && b <= 0x40 {
                        for r in r0 + 1..r1 {
                            p.note_mut(t, r, c).volume = lerp(a, b, r);
                        }
                    }
                }
                for c in 0..p.effect_columns(t) {
                    let (a, b) = (p.effect(t, r0, c), p.effect(t, r1, c));
                    if !a.is_empty() && a.command == b.command {
                        for r in r0 + 1..r1 {
                            *p.effect_mut(t, r, c) = EffectCell {
                                command: a.command,
                                param: lerp(a.param, b.param, r),
                            };
                        }
                    }
                }
            }
        });
    }

    pub(super) fn order_position_of_pattern(&self) -> usize {
        if self
            .song
            .order
            .get(self.order_cursor)
            .is_some_and(|&p| p as usize == self.pattern)
        {
            return self.order_cursor;
        }
        self.song
            .order
            .iter()
            .position(|&p| p as usize == self.pattern)
            .unwrap_or(0)
    }

    fn list_move(&mut self, d: isize) {
        match self.view {
            View::Arrangement => {
                self.order_cursor = (self.order_cursor as isize + d)
                    .clamp(0, self.song.order.len() as isize - 1)
                    as usize;
            }
            View::Instruments => {
                self.instrument_cursor =
                    (self.instrument_cursor as isize + d).clamp(0, 254) as usize;
                if let Some(inst) = self.song.instrument(self.instrument_cursor as u8 + 1) {
                    self.param = self
                        .param
                        .min(super::instruments::param_names(inst).len() - 1);
                }
            }
            _ => {}
        }
    }

    fn select_pattern(&mut self, p: isize) {
        self.pattern = p.clamp(0, self.song.patterns.len() as isize - 1) as usize;
        self.clamp_cursor();
        self.message = format!("pattern {:02}", self.pattern);
    }

    pub(super) fn play(&mut self, range: PlayRange, at: Option<usize>, row: usize) {
        let Some(h) = self.engine.as_mut() else {
            self.message = "no engine".into();
            return;
        };
        let es = EngineSong::from_model(&self.song, self.rate);
        let (bpm, tpl) = engine::chase_tempo(&es, at.unwrap_or(range.from));
        h.send(Command::Metronome {
            on: self.rec.metronome,
            level: self.rec.click_level,
            count_in_bars: if self.edit_mode || std::mem::take(&mut self.count_in_once) {
                self.rec.count_in
            } else {
                0
            },
        });
        h.send(Command::Play {
            range,
            row: row as u16,
            bpm,
            tpl,
            at: at.map(|a| a as u16),
        });
        self.playing = true;
    }

    /// Plays the song from order position `order`, `row`, looping: over the loop range when one
    /// is set (starting at its first position when `order` lies outside it), else over the whole
    /// song.
    pub fn play_song_from(&mut self, order: usize, row: usize) {
        let last = self.song.order.len() - 1;
        let order = order.min(last);
        match self.song.arrangement.loop_range {
            Some((a, b)) => {
                let (a, b) = (a as usize, (b as usize).min(last));
                let inside = (a..=b).contains(&order);
                self.play(
                    PlayRange {
                        from: a,
                        to: b,
                        looping: true,
                    },
                    Some(if inside { order } else { a }),
                    if inside { row } else { 0 },
                );
            }
            None => self.play(
                PlayRange {
                    from: order,
                    to: last,
                    looping: true,
                },
                None,
                row,
            ),
        }
    }

    /// Plays on from order position `order`, `row` (after the audio was reopened).
    pub fn resume(&mut self, order: usize, row: usize) {
        self.play_song_from(order, row);
    }

    pub(super) fn stop(&mut self) {
        if let Some(h) = self.engine.as_mut() {
            h.send(Command::Stop);
        }
        self.playing = false;
    }

    /// Keeps the cursor inside the current pattern and track layout (and the mixer's cursor on
    /// an existing strip).
    pub fn clamp_cursor(&mut self) {
        self.mix_clamp();
        self.pattern = self.pattern.min(self.song.patterns.len() - 1);
        self.cursor.row = self.cursor.row.min(self.rows() - 1);
        self.cursor.track = self.cursor.track.min(self.song.tracks.len() - 1);
        if self.hidden_by_fold(self.cursor.track)
            && let Some(g) = self.song.tracks[self.cursor.track].group
            && let Some(first) = self.song.tracks.iter().position(|x| x.group == Some(g))
        {
            self.cursor.track = first;
        }
        let t = &self.song.tracks[self.cursor.track];
        let max_f = if t.show_delay { 6 } else { 4 };
        self.cursor.field = match self.cursor.field {
            Field::Note { col, f } => Field::Note {
                col: col.min(t.note_columns as usize - 1),
                f: f.min(max_f),
            },
            Field::Effect { col, f } => Field::Effect {
                col: col.min(t.effect_columns as usize - 1),
                f: f.min(2),
            },
        };
    }

    fn move_rows(&mut self, d: isize) {
        let rows = self.rows() as isize;
        // Wrap around like FT2 when stepping past either end.
        self.cursor.row = (self.cursor.row as isize + d).rem_euclid(rows) as usize;
    }

    /// The fields of track `t` in cursor order.
    fn fields(&self, t: usize) -> Vec<Field> {
        let tr = &self.song.tracks[t];
        let per = if tr.show_delay { 7 } else { 5 };
        let mut v = Vec::new();
        for col in 0..tr.note_columns as usize {
            for f in 0..per {
                v.push(Field::Note { col, f });
            }
        }
        for col in 0..tr.effect_columns as usize {
            for f in 0..3 {
                v.push(Field::Effect { col, f });
            }
        }
        v
    }

    fn move_field(&mut self, d: isize) {
        let fields = self.fields(self.cursor.track);
        let i = fields
            .iter()
            .position(|f| *f == self.cursor.field)
            .unwrap_or(0) as isize
            + d;
        if i < 0 {
            if self.cursor.track > 0 {
                self.cursor.track -= 1;
                self.cursor.field = *self
                    .fields(self.cursor.track)
                    .last()
                    .unwrap_or(&self.cursor.field);
            }
        } else if i as usize >= fields.len() {
            if self.cursor.track + 1 < self.song.tracks.len() {
                self.cursor.track += 1;
                self.cursor.field = Field::Note { col: 0, f: 0 };
            }
        } else {
            self.cursor.field = fields[i as usize];
        }
    }

    fn move_track(&mut self, d: isize) {
        let n = self.song.tracks.len() as isize;
        // Tracks folded into a group's column are skipped (the group's first track stands for it).
        for _ in 0..n {
            self.cursor.track = (self.cursor.track as isize + d).rem_euclid(n) as usize;
            if !self.hidden_by_fold(self.cursor.track) {
                break;
            }
        }
        self.cursor.field = Field::Note { col: 0, f: 0 };
    }

    /// The group whose folded column track `t` shows (it is the group's first track).
    pub fn folded_group_at(&self, t: usize) -> Option<usize> {
        let g = self.song.tracks.get(t)?.group? as usize;
        let group = self.song.groups.get(g)?;
        let first = self
            .song
            .tracks
            .iter()
            .position(|x| x.group == Some(g as u8))?;
        (group.folded && first == t).then_some(g)
    }

    /// Whether track `t` is hidden inside a folded group (every member but the first).
    pub fn hidden_by_fold(&self, t: usize) -> bool {
        let Some(g) = self.song.tracks.get(t).and_then(|x| x.group) else {
            return false;
        };
        self.song.groups.get(g as usize).is_some_and(|x| x.folded)
            && self.folded_group_at(t).is_none()
    }

    /// A piano key: audition the note; in edit mode on a note field, write it and step down.
    fn piano(&mut self, k: u8) {
        let pitch = self.octave as u32 * 12 + k as u32;
        if pitch > crate::model::MAX_PITCH as u32 {
            return;
        }
        let pitch = pitch as u8;
        self.audition(pitch);
        if matches!(self.cursor.field, Field::Note { f: 0, .. }) {
            self.write_note(Note::On(pitch));
        }
    }

    fn audition(&mut self, pitch: u8) {
        let (track, slot) = (self.cursor.track as u8, self.instrument);
        if let Some(h) = self.engine.as_mut() {
            // One-shot: the previous audition note is replaced (terminals send no key releases).
            let tag = self.next_tag;
            h.send(Command::NoteOff {
                tag: tag.wrapping_sub(1),
            });
            h.send(Command::NoteOn {
                tag,
                track,
                slot,
                pitch,
                volume: 0x40,
            });
            self.next_tag = self.next_tag.wrapping_add(1).max(1);
        }
    }

    fn write_note(&mut self, note: Note) {
        let Field::Note { col, f: 0 } = self.cursor.field else {
            return;
        };
        if !self.edit_mode {
            return;
        }
        let (row, t) = (self.cursor.row, self.cursor.track);
        let before = self.note_cell(row, t, col);
        let mut after = before;
        after.note = note;
        if matches!(note, Note::On(_)) {
            after.instrument = self.instrument;
        }
        self.apply(Edit::Note {
            pattern: self.pattern,
            row,
            track: t,
            column: col,
            before,
            after,
        });
        self.move_rows(self.step as isize);
    }

    fn clear_field(&mut self) {
        if !self.editing() {
            return;
        }
        let (row, t) = (self.cursor.row, self.cursor.track);
        match self.cursor.field {
            Field::Note { col, f } => {
                let before = self.note_cell(row, t, col);
                let mut after = before;
                match f {
                    0 => after = NoteCell::EMPTY,
                    1 | 2 => after.instrument = 0,
                    3 | 4 => after.volume = NoteCell::NO_VOLUME,
                    _ => after.delay = 0,
                }
                self.apply(Edit::Note {
                    pattern: self.pattern,
                    row,
                    track: t,
                    column: col,
                    before,
                    after,
                });
            }
            Field::Effect { col, .. } => {
                let before = self.effect_cell(row, t, col);
                self.apply(Edit::Effect {
                    pattern: self.pattern,
                    row,
                    track: t,
                    column: col,
                    before,
                    after: EffectCell::EMPTY,
                });
            }
        }
        self.move_rows(self.step as isize);
    }

    /// Inserts (or deletes) a row in the current track at the cursor, FT2 style.
    fn shift_rows(&mut self, insert: bool) {
        let (t, r0) = (self.cursor.track, self.cursor.row);
        self.pattern_edit(|p| {
            let rows = p.rows as usize;
            let (nc, ec) = (p.note_columns(t), p.effect_columns(t));
            let pt = &mut p.tracks[t];
            if insert {
                pt.notes
                    .copy_within(r0 * nc..(rows - 1) * nc, (r0 + 1) * nc);
                pt.effects
                    .copy_within(r0 * ec..(rows - 1) * ec, (r0 + 1) * ec);
                pt.notes[r0 * nc..(r0 + 1) * nc].fill(NoteCell::EMPTY);
                pt.effects[r0 * ec..(r0 + 1) * ec].fill(EffectCell::EMPTY);
            } else {
                pt.notes.copy_within((r0 + 1) * nc..rows * nc, r0 * nc);
                pt.effects.copy_within((r0 + 1) * ec..rows * ec, r0 * ec);
                pt.notes[(rows - 1) * nc..].fill(NoteCell::EMPTY);
                pt.effects[(rows - 1) * ec..].fill(EffectCell::EMPTY);
            }
        });
    }

    /// Saves to the song's path (atomically). Returns true on success.
    pub fn save(&mut self) -> bool {
        let Some(path) = self.path.clone() else {
            self.message = "this song has no file name yet".into();
            return false;
        };
        match format::save_song(&self.song, &path) {
            Ok(()) => {
                self.dirty = false;
                self.remove_autosave();
                self.message = format!("saved {}", path.display());
                true
            }
            Err(e) => {
                self.message = format!("not saved: {e}");
                false
            }
        }
    }

    /// Takes the newest engine status; the follow mode moves the cursor with playback.
    pub fn pump(&mut self) -> bool {
        let Some(h) = self.engine.as_mut() else {
            return false;
        };
        let mut fresh = h.pump();
        if h.meter_reports() != self.mix.meters_seen {
            self.mix.meters_seen = h.meter_reports();
            let m = *h.meters();
            // Redraw only when the shown levels moved (silence at rest costs nothing).
            fresh |= self.feed_meters(&m) && self.view == View::Mixer;
        }
        let Some(h) = self.engine.as_ref() else {
            return fresh;
        };
        if fresh {
            let s = *h.status();
            if self.follow && s.playing && self.view == View::Pattern {
                self.pattern = s.position.pattern.min(self.song.patterns.len() - 1);
                self.order_cursor = s.position.order.min(self.song.order.len() - 1);
                self.cursor.row = s.position.row.min(self.rows() - 1);
            }
        }
        fresh
    }
}
