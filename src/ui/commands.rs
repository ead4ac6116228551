//! The one command table: every user action with its stable name, scope, default keys and help
//! line. The keymap, the help view, `ttrack keys` and `docs/keys.md` are all generated from it.

/// Where a binding applies. A key is looked up in the active scope first, then in `Global`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Everywhere.
    Global,
    /// The pattern editor.
    Pattern,
    /// The arrangement (order list) view.
    Arrangement,
    /// The instruments view.
    Instruments,
    /// The mixer view.
    Mixer,
}

impl Scope {
    /// Name used in keys.toml tables and in the help view.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Pattern => "pattern",
            Scope::Arrangement => "arrangement",
            Scope::Instruments => "instruments",
            Scope::Mixer => "mixer",
        }
    }

    /// Every scope, in help order.
    pub const ALL: [Scope; 5] = [
        Scope::Global,
        Scope::Pattern,
        Scope::Arrangement,
        Scope::Instruments,
        Scope::Mixer,
    ];
}

/// A user action. Small and `Copy`; arguments ride along (`Piano(12)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Quit (asks when there are unsaved changes).
    Quit,
    /// Save the song.
    Save,
    /// Undo the last edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Show the help view.
    Help,
    /// Show the pattern editor.
    ViewPattern,
    /// Show the arrangement.
    ViewArrangement,
    /// Show the instruments.
    ViewInstruments,
    /// Show the mixer.
    ViewMixer,
    /// Toggle edit mode.
    ToggleEdit,
    /// Play the song from the start of the current order position, or stop.
    PlaySong,
    /// Loop the current pattern, or stop.
    PlayPattern,
    /// Play the song from the cursor row.
    PlayFromCursor,
    /// Stop playback.
    Stop,
    /// Toggle whether the view follows playback.
    ToggleFollow,
    /// Cursor up one row.
    Up,
    /// Cursor down one row.
    Down,
    /// Cursor one field left.
    Left,
    /// Cursor one field right.
    Right,
    /// Cursor up 16 rows.
    PageUp,
    /// Cursor down 16 rows.
    PageDown,
    /// Cursor to the first row.
    Top,
    /// Cursor to the last row.
    Bottom,
    /// Cursor to the next track.
    NextTrack,
    /// Cursor to the previous track.
    PrevTrack,
    /// Octave down.
    OctaveDown,
    /// Octave up.
    OctaveUp,
    /// Edit step down.
    StepDown,
    /// Edit step up.
    StepUp,
    /// Previous instrument.
    InstrumentDown,
    /// Next instrument.
    InstrumentUp,
    /// Piano key: semitones above C of the current octave.
    Piano(u8),
    /// Write a note-off.
    NoteOff,
    /// Clear the field under the cursor.
    Clear,
    /// Insert an empty row at the cursor (rows below move down).
    InsertRow,
    /// Delete the row at the cursor (rows below move up).
    DeleteRow,
    /// Edit the next pattern.
    NextPattern,
    /// Edit the previous pattern.
    PrevPattern,
    /// Cursor up in a list.
    ListUp,
    /// Cursor down in a list.
    ListDown,
    /// Insert an order entry (a copy of the one at the cursor).
    OrderInsert,
    /// Delete the order entry at the cursor.
    OrderDelete,
    /// Next pattern for the order entry at the cursor.
    OrderPatternUp,
    /// Previous pattern for the order entry at the cursor.
    OrderPatternDown,
    /// Edit the pattern of the order entry at the cursor.
    OrderEdit,
    /// Play from the order entry at the cursor.
    OrderPlay,
    /// Select the instrument at the cursor.
    InstrumentSelect,
    /// Extend the block selection up.
    SelectUp,
    /// Extend the block selection down.
    SelectDown,
    /// Extend the block selection one track left.
    SelectLeft,
    /// Extend the block selection one track right.
    SelectRight,
    /// Select the whole track in this pattern.
    SelectTrack,
    /// Copy the selection (or the cell row under the cursor).
    Copy,
    /// Copy and clear the selection.
    Cut,
    /// Paste at the cursor.
    Paste,
    /// Transpose the selection (or the note under the cursor) by semitones.
    Transpose(i8),
    /// Interpolate volumes and effect parameters from the first to the last row of the selection.
    Interpolate,
    /// Append a new empty pattern and edit it.
    NewPattern,
    /// Append a copy of this pattern and edit it.
    ClonePattern,
    /// Change the pattern's length by rows.
    Resize(i16),
    /// Add a track at the end.
    AddTrack,
    /// Remove the track under the cursor.
    RemoveTrack,
    /// Add a note column to the track under the cursor.
    AddNoteColumn,
    /// Remove the last note column of the track under the cursor.
    RemoveNoteColumn,
    /// Add an effect column to the track under the cursor.
    AddEffectColumn,
    /// Remove the last effect column of the track under the cursor.
    RemoveEffectColumn,
    /// Show or hide the delay fields of the track under the cursor.
    ToggleDelay,
    /// Duplicate the order entry at the cursor.
    OrderDuplicate,
    /// Move the order entry at the cursor up.
    OrderMoveUp,
    /// Move the order entry at the cursor down.
    OrderMoveDown,
    /// Matrix cursor a track left.
    MatrixLeft,
    /// Matrix cursor a track right.
    MatrixRight,
    /// Matrix cursor to the first order position.
    MatrixTop,
    /// Matrix cursor to the last order position.
    MatrixBottom,
    /// Insert a clone (a new copy) of the entry's pattern after it.
    OrderClone,
    /// Mute or unmute the track's slice at the cursor's order position.
    SliceMute,
    /// Play from the cell under the matrix cursor (and put the pattern cursor there).
    MatrixJump,
    /// Name the section that starts at the cursor (or start one there).
    SectionName,
    /// Next colour for the section under the cursor.
    SectionColour,
    /// Move the section under the cursor before the previous one.
    SectionUp,
    /// Move the section under the cursor after the next one.
    SectionDown,
    /// Copy the section under the cursor (inserted after it).
    SectionCopy,
    /// Delete the section under the cursor with its entries.
    SectionDelete,
    /// Start the loop range at the cursor.
    LoopStart,
    /// End the loop range at the cursor.
    LoopEnd,
    /// Loop the section under the cursor (or the entry); again to clear.
    LoopSection,
    /// Clear the loop range.
    LoopClear,
    /// Next instrument parameter.
    ParamNext,
    /// Previous instrument parameter.
    ParamPrev,
    /// Raise the selected parameter.
    ParamUp,
    /// Lower the selected parameter.
    ParamDown,
    /// Raise the selected parameter a little.
    ParamUpFine,
    /// Lower the selected parameter a little.
    ParamDownFine,
    /// Put a new synth in the slot under the cursor.
    InstrumentNew,
    /// Empty the slot under the cursor.
    InstrumentDelete,
    /// Rename the instrument under the cursor.
    InstrumentRename,
    /// Load a WAV file into the slot under the cursor (file picker).
    InstrumentLoad,
    /// Save under a new name.
    SaveAs,
    /// Open another song.
    Open,
    /// Render the song to a WAV file.
    Render,
    /// Render the block selection (rows × tracks), or the pattern, to a WAV file.
    RenderSelection,
    /// Bounce the selection, or the track under the cursor, to a new sample instrument.
    Bounce,
    /// Freeze the track under the cursor (bounce in place), or unfreeze it.
    Freeze,
    /// Reopen the audio device (after it was lost).
    ReopenAudio,
    /// Mixer: previous strip (in an EQ's detail panel: previous band).
    MixLeft,
    /// Mixer: next strip (in an EQ's detail panel: next band).
    MixRight,
    /// Mixer: previous row of the strip (in the detail panel: previous parameter).
    MixUp,
    /// Mixer: next row of the strip (in the detail panel: next parameter).
    MixDown,
    /// Mixer: first strip.
    MixFirst,
    /// Mixer: last strip (the master).
    MixLast,
    /// Mixer: raise (`up`) or lower the value under the cursor; `fine` takes small steps.
    MixChange {
        /// Raise rather than lower.
        up: bool,
        /// Small steps.
        fine: bool,
    },
    /// Mixer: put the value under the cursor back to its default (0 dB, centre, off).
    MixReset,
    /// Mixer: mute or unmute the strip (tracks and bus returns).
    MixMute,
    /// Mixer: solo or unsolo the track.
    MixSolo,
    /// Mixer: add an EQ insert to the track.
    MixAddEq,
    /// Mixer: add a compressor insert to the track.
    MixAddCompressor,
    /// Mixer: remove the insert under the cursor.
    MixRemoveInsert,
    /// Mixer: switch the effect under the cursor on or off.
    MixToggleOn,
    /// Mixer: open or close the detail panel of the effect under the cursor.
    MixDetail,
    /// Put the track under the cursor in the next group (after the last: a new group; then none).
    GroupCycle,
    /// Fold or unfold the group of the track under the cursor in the pattern view.
    GroupFold,
    /// Next quantize setting for recording (rewrites the last take's cells with it).
    RecQuantize,
    /// Velocity into the volume column when recording, on/off.
    RecVelocity,
    /// Loop recording: overdub (passes add up) or takes (each pass replaces the last).
    RecOverdub,
    /// Metronome on/off.
    Metronome,
    /// Metronome level: 25, 50, 100 %.
    MetronomeLevel,
    /// Count-in before recording: 0, 1, 2, 4 bars.
    CountIn,
    /// Punch in/out on the selected rows (no selection: off).
    Punch,
    /// The takes panel of the track under the cursor in this pattern.
    Takes,
    /// MIDI inputs and recording settings.
    Devices,
    /// Record audio into the track under the cursor (again: stop).
    RecordAudio,
}

/// One row of the command table.
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// Stable id used in keys.toml, e.g. `pattern.insert_row`.
    pub name: &'static str,
    /// Where the default keys apply.
    pub scope: Scope,
    /// Default key chords (see [`super::keymap::KeyChord`] for the syntax).
    pub keys: &'static [&'static str],
    /// What it does.
    pub action: Action,
    /// One line for the help view.
    pub help: &'static str,
}

const fn cmd(
    name: &'static str,
    scope: Scope,
    keys: &'static [&'static str],
    action: Action,
    help: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        scope,
        keys,
        action,
        help,
    }
}

use Action as A;
use Scope as S;

/// Every command, grouped by scope. Piano keys follow FastTracker II: the bottom letter row from C
/// of the current octave, the top row an octave up.
pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "quit",
        S::Global,
        &["C-q"],
        A::Quit,
        "quit (asks to save unsaved changes)",
    ),
    cmd("save", S::Global, &["C-s"], A::Save, "save the song"),
    cmd(
        "save_as",
        S::Global,
        &["A-s"],
        A::SaveAs,
        "save under a new name (.ttrk binary, .ttrk.toml text)",
    ),
    cmd("open", S::Global, &["C-o"], A::Open, "open another song"),
    cmd(
        "render",
        S::Global,
        &["A-r"],
        A::Render,
        "render the song to a WAV file (24-bit, 48 kHz)",
    ),
    cmd(
        "audio.reopen",
        S::Global,
        &["R"],
        A::ReopenAudio,
        "reopen the audio device (after it was lost)",
    ),
    cmd("undo", S::Global, &["C-z"], A::Undo, "undo"),
    cmd("redo", S::Global, &["C-y"], A::Redo, "redo"),
    cmd("help", S::Global, &["?", "F1"], A::Help, "this help"),
    cmd(
        "view.pattern",
        S::Global,
        &["F2"],
        A::ViewPattern,
        "pattern editor",
    ),
    cmd(
        "view.arrangement",
        S::Global,
        &["F3"],
        A::ViewArrangement,
        "arrangement (pattern matrix)",
    ),
    cmd(
        "view.instruments",
        S::Global,
        &["F4"],
        A::ViewInstruments,
        "instruments",
    ),
    cmd("view.mixer", S::Global, &["F5"], A::ViewMixer, "mixer"),
    cmd(
        "edit_mode",
        S::Global,
        &["Esc"],
        A::ToggleEdit,
        "edit mode on/off (notes are written only in edit mode)",
    ),
    cmd(
        "play.song",
        S::Global,
        &["Space"],
        A::PlaySong,
        "play the song from the current order position / stop",
    ),
    cmd(
        "play.pattern",
        S::Global,
        &["Enter"],
        A::PlayPattern,
        "loop the current pattern / stop",
    ),
    cmd(
        "play.cursor",
        S::Global,
        &["C-p"],
        A::PlayFromCursor,
        "play the song from the cursor row",
    ),
    cmd("stop", S::Global, &["F8"], A::Stop, "stop playback"),
    cmd(
        "follow",
        S::Global,
        &["C-f"],
        A::ToggleFollow,
        "the view follows playback on/off",
    ),
    cmd(
        "octave.down",
        S::Global,
        &["/"],
        A::OctaveDown,
        "octave down",
    ),
    cmd("octave.up", S::Global, &["*"], A::OctaveUp, "octave up"),
    cmd(
        "step.down",
        S::Global,
        &["<"],
        A::StepDown,
        "edit step down",
    ),
    cmd("step.up", S::Global, &[">"], A::StepUp, "edit step up"),
    cmd(
        "instrument.prev",
        S::Global,
        &["-"],
        A::InstrumentDown,
        "previous instrument",
    ),
    cmd(
        "instrument.next",
        S::Global,
        &["+"],
        A::InstrumentUp,
        "next instrument",
    ),
    cmd("pattern.up", S::Pattern, &["Up"], A::Up, "cursor up"),
    cmd(
        "pattern.down",
        S::Pattern,
        &["Down"],
        A::Down,
        "cursor down",
    ),
    cmd(
        "pattern.left",
        S::Pattern,
        &["Left"],
        A::Left,
        "cursor left (field)",
    ),
    cmd(
        "pattern.right",
        S::Pattern,
        &["Right"],
        A::Right,
        "cursor right (field)",
    ),
    cmd(
        "pattern.page_up",
        S::Pattern,
        &["PageUp"],
        A::PageUp,
        "16 rows up",
    ),
    cmd(
        "pattern.page_down",
        S::Pattern,
        &["PageDown"],
        A::PageDown,
        "16 rows down",
    ),
    cmd("pattern.top", S::Pattern, &["Home"], A::Top, "first row"),
    cmd(
        "pattern.bottom",
        S::Pattern,
        &["End"],
        A::Bottom,
        "last row",
    ),
    cmd(
        "pattern.next_track",
        S::Pattern,
        &["Tab"],
        A::NextTrack,
        "next track",
    ),
    cmd(
        "pattern.prev_track",
        S::Pattern,
        &["BackTab"],
        A::PrevTrack,
        "previous track",
    ),
    cmd(
        "pattern.note_off",
        S::Pattern,
        &["a", "1"],
        A::NoteOff,
        "note-off (on the note field)",
    ),
    cmd(
        "pattern.clear",
        S::Pattern,
        &["Delete"],
        A::Clear,
        "clear the field under the cursor",
    ),
    cmd(
        "pattern.insert_row",
        S::Pattern,
        &["Insert"],
        A::InsertRow,
        "insert a row (rows below move down)",
    ),
    cmd(
        "pattern.delete_row",
        S::Pattern,
        &["Backspace"],
        A::DeleteRow,
        "delete the row (rows below move up)",
    ),
    cmd(
        "pattern.next",
        S::Pattern,
        &["C-Right"],
        A::NextPattern,
        "edit the next pattern",
    ),
    cmd(
        "pattern.prev",
        S::Pattern,
        &["C-Left"],
        A::PrevPattern,
        "edit the previous pattern",
    ),
    cmd(
        "pattern.select_up",
        S::Pattern,
        &["S-Up"],
        A::SelectUp,
        "extend the block selection up",
    ),
    cmd(
        "pattern.select_down",
        S::Pattern,
        &["S-Down"],
        A::SelectDown,
        "extend the block selection down",
    ),
    cmd(
        "pattern.select_left",
        S::Pattern,
        &["S-Left"],
        A::SelectLeft,
        "extend the block selection a track left",
    ),
    cmd(
        "pattern.select_right",
        S::Pattern,
        &["S-Right"],
        A::SelectRight,
        "extend the block selection a track right",
    ),
    cmd(
        "pattern.select_track",
        S::Pattern,
        &["A-a"],
        A::SelectTrack,
        "select the whole track",
    ),
    cmd(
        "pattern.copy",
        S::Pattern,
        &["C-c"],
        A::Copy,
        "copy the selection",
    ),
    cmd(
        "pattern.cut",
        S::Pattern,
        &["C-x"],
        A::Cut,
        "cut the selection",
    ),
    cmd(
        "pattern.paste",
        S::Pattern,
        &["C-v"],
        A::Paste,
        "paste at the cursor",
    ),
    cmd(
        "pattern.transpose_up",
        S::Pattern,
        &["A-Up"],
        A::Transpose(1),
        "transpose the selection up a semitone",
    ),
    cmd(
        "pattern.transpose_down",
        S::Pattern,
        &["A-Down"],
        A::Transpose(-1),
        "transpose the selection down a semitone",
    ),
    cmd(
        "pattern.transpose_octave_up",
        S::Pattern,
        &["A-PageUp"],
        A::Transpose(12),
        "transpose the selection up an octave",
    ),
    cmd(
        "pattern.transpose_octave_down",
        S::Pattern,
        &["A-PageDown"],
        A::Transpose(-12),
        "transpose the selection down an octave",
    ),
    cmd(
        "pattern.render_selection",
        S::Pattern,
        &["A-w"],
        A::RenderSelection,
        "render the selection (or the pattern) to a WAV file",
    ),
    cmd(
        "arrangement.render_range",
        S::Arrangement,
        &["A-w"],
        A::RenderSelection,
        "render the loop range (or the section, or the entry) to a WAV file",
    ),
    cmd(
        "pattern.bounce",
        S::Pattern,
        &["A-b"],
        A::Bounce,
        "bounce the selection (or the track) to a new sample instrument",
    ),
    cmd(
        "pattern.freeze",
        S::Pattern,
        &["A-f"],
        A::Freeze,
        "freeze the track (play it from audio) / unfreeze it",
    ),
    cmd(
        "arrangement.freeze",
        S::Arrangement,
        &["A-f"],
        A::Freeze,
        "freeze the track (play it from audio) / unfreeze it",
    ),
    cmd(
        "pattern.interpolate",
        S::Pattern,
        &["A-i"],
        A::Interpolate,
        "interpolate volumes and effect values over the selection",
    ),
    cmd(
        "pattern.new",
        S::Pattern,
        &["C-n"],
        A::NewPattern,
        "new empty pattern",
    ),
    cmd(
        "pattern.clone",
        S::Pattern,
        &["C-d"],
        A::ClonePattern,
        "clone this pattern",
    ),
    cmd(
        "pattern.longer",
        S::Pattern,
        &["A-]"],
        A::Resize(16),
        "pattern 16 rows longer",
    ),
    cmd(
        "pattern.shorter",
        S::Pattern,
        &["A-["],
        A::Resize(-16),
        "pattern 16 rows shorter",
    ),
    cmd(
        "pattern.longer_by_one",
        S::Pattern,
        &["A-="],
        A::Resize(1),
        "pattern one row longer",
    ),
    cmd(
        "pattern.shorter_by_one",
        S::Pattern,
        &["A--"],
        A::Resize(-1),
        "pattern one row shorter",
    ),
    cmd(
        "track.add",
        S::Pattern,
        &["A-t"],
        A::AddTrack,
        "add a track",
    ),
    cmd(
        "track.remove",
        S::Pattern,
        &["A-T"],
        A::RemoveTrack,
        "remove the track under the cursor",
    ),
    cmd(
        "track.add_note_column",
        S::Pattern,
        &["A-n"],
        A::AddNoteColumn,
        "add a note column",
    ),
    cmd(
        "track.remove_note_column",
        S::Pattern,
        &["A-N"],
        A::RemoveNoteColumn,
        "remove the last note column",
    ),
    cmd(
        "track.add_effect_column",
        S::Pattern,
        &["A-e"],
        A::AddEffectColumn,
        "add an effect column",
    ),
    cmd(
        "track.remove_effect_column",
        S::Pattern,
        &["A-E"],
        A::RemoveEffectColumn,
        "remove the last effect column",
    ),
    cmd(
        "track.delay",
        S::Pattern,
        &["A-d"],
        A::ToggleDelay,
        "show or hide the delay fields",
    ),
    cmd("piano.c", S::Pattern, &["z"], A::Piano(0), "piano: C"),
    cmd("piano.cs", S::Pattern, &["s"], A::Piano(1), "piano: C#"),
    cmd("piano.d", S::Pattern, &["x"], A::Piano(2), "piano: D"),
    cmd("piano.ds", S::Pattern, &["d"], A::Piano(3), "piano: D#"),
    cmd("piano.e", S::Pattern, &["c"], A::Piano(4), "piano: E"),
    cmd("piano.f", S::Pattern, &["v"], A::Piano(5), "piano: F"),
    cmd("piano.fs", S::Pattern, &["g"], A::Piano(6), "piano: F#"),
    cmd("piano.g", S::Pattern, &["b"], A::Piano(7), "piano: G"),
    cmd("piano.gs", S::Pattern, &["h"], A::Piano(8), "piano: G#"),
    cmd("piano.a", S::Pattern, &["n"], A::Piano(9), "piano: A"),
    cmd("piano.as", S::Pattern, &["j"], A::Piano(10), "piano: A#"),
    cmd("piano.b", S::Pattern, &["m"], A::Piano(11), "piano: B"),
    cmd(
        "piano.c1",
        S::Pattern,
        &[",", "q"],
        A::Piano(12),
        "piano: C, octave +1",
    ),
    cmd(
        "piano.cs1",
        S::Pattern,
        &["l", "2"],
        A::Piano(13),
        "piano: C#, octave +1",
    ),
    cmd(
        "piano.d1",
        S::Pattern,
        &[".", "w"],
        A::Piano(14),
        "piano: D, octave +1",
    ),
    cmd(
        "piano.ds1",
        S::Pattern,
        &["3"],
        A::Piano(15),
        "piano: D#, octave +1",
    ),
    cmd(
        "piano.e1",
        S::Pattern,
        &["e"],
        A::Piano(16),
        "piano: E, octave +1",
    ),
    cmd(
        "piano.f1",
        S::Pattern,
        &["r"],
        A::Piano(17),
        "piano: F, octave +1",
    ),
    cmd(
        "piano.fs1",
        S::Pattern,
        &["5"],
        A::Piano(18),
        "piano: F#, octave +1",
    ),
    cmd(
        "piano.g1",
        S::Pattern,
        &["t"],
        A::Piano(19),
        "piano: G, octave +1",
    ),
    cmd(
        "piano.gs1",
        S::Pattern,
        &["6"],
        A::Piano(20),
        "piano: G#, octave +1",
    ),
    cmd(
        "piano.a1",
        S::Pattern,
        &["y"],
        A::Piano(21),
        "piano: A, octave +1",
    ),
    cmd(
        "piano.as1",
        S::Pattern,
        &["7"],
        A::Piano(22),
        "piano: A#, octave +1",
    ),
    cmd(
        "piano.b1",
        S::Pattern,
        &["u"],
        A::Piano(23),
        "piano: B, octave +1",
    ),
    cmd(
        "piano.c2",
        S::Pattern,
        &["i"],
        A::Piano(24),
        "piano: C, octave +2",
    ),
    cmd(
        "piano.cs2",
        S::Pattern,
        &["9"],
        A::Piano(25),
        "piano: C#, octave +2",
    ),
    cmd(
        "piano.d2",
        S::Pattern,
        &["o"],
        A::Piano(26),
        "piano: D, octave +2",
    ),
    cmd(
        "piano.ds2",
        S::Pattern,
        &["0"],
        A::Piano(27),
        "piano: D#, octave +2",
    ),
    cmd(
        "piano.e2",
        S::Pattern,
        &["p"],
        A::Piano(28),
        "piano: E, octave +2",
    ),
    cmd(
        "arrangement.up",
        S::Arrangement,
        &["Up"],
        A::ListUp,
        "previous order position",
    ),
    cmd(
        "arrangement.down",
        S::Arrangement,
        &["Down"],
        A::ListDown,
        "next order position",
    ),
    cmd(
        "arrangement.left",
        S::Arrangement,
        &["Left"],
        A::MatrixLeft,
        "track to the left",
    ),
    cmd(
        "arrangement.right",
        S::Arrangement,
        &["Right"],
        A::MatrixRight,
        "track to the right",
    ),
    cmd(
        "arrangement.top",
        S::Arrangement,
        &["Home"],
        A::MatrixTop,
        "first order position",
    ),
    cmd(
        "arrangement.bottom",
        S::Arrangement,
        &["End"],
        A::MatrixBottom,
        "last order position",
    ),
    cmd(
        "arrangement.insert",
        S::Arrangement,
        &["Insert", "r"],
        A::OrderInsert,
        "repeat: the same pattern again after the entry",
    ),
    cmd(
        "arrangement.clone",
        S::Arrangement,
        &["c"],
        A::OrderClone,
        "clone: a new copy of the pattern after the entry",
    ),
    cmd(
        "arrangement.delete",
        S::Arrangement,
        &["Delete", "Backspace"],
        A::OrderDelete,
        "delete the entry",
    ),
    cmd(
        "arrangement.pattern_up",
        S::Arrangement,
        &["+", "="],
        A::OrderPatternUp,
        "next pattern for the entry",
    ),
    cmd(
        "arrangement.pattern_down",
        S::Arrangement,
        &["-"],
        A::OrderPatternDown,
        "previous pattern for the entry",
    ),
    cmd(
        "arrangement.duplicate",
        S::Arrangement,
        &["d"],
        A::OrderDuplicate,
        "repeat the entry and move to the copy",
    ),
    cmd(
        "arrangement.move_up",
        S::Arrangement,
        &["S-Up"],
        A::OrderMoveUp,
        "move the entry up",
    ),
    cmd(
        "arrangement.move_down",
        S::Arrangement,
        &["S-Down"],
        A::OrderMoveDown,
        "move the entry down",
    ),
    cmd(
        "arrangement.mute",
        S::Arrangement,
        &["m"],
        A::SliceMute,
        "mute/unmute the track's slice at this position",
    ),
    cmd(
        "arrangement.edit",
        S::Arrangement,
        &["e", "Tab"],
        A::OrderEdit,
        "edit the entry's pattern at this track",
    ),
    cmd(
        "arrangement.play",
        S::Arrangement,
        &["p"],
        A::OrderPlay,
        "play from the entry",
    ),
    cmd(
        "arrangement.jump",
        S::Arrangement,
        &["Enter"],
        A::MatrixJump,
        "jump: play from this cell",
    ),
    cmd(
        "arrangement.section_name",
        S::Arrangement,
        &["s"],
        A::SectionName,
        "name a section starting here (empty name: remove it)",
    ),
    cmd(
        "arrangement.section_colour",
        S::Arrangement,
        &["k"],
        A::SectionColour,
        "next colour for the section",
    ),
    cmd(
        "arrangement.section_up",
        S::Arrangement,
        &["C-Up"],
        A::SectionUp,
        "move the section before the previous one",
    ),
    cmd(
        "arrangement.section_down",
        S::Arrangement,
        &["C-Down"],
        A::SectionDown,
        "move the section after the next one",
    ),
    cmd(
        "arrangement.section_copy",
        S::Arrangement,
        &["C-d"],
        A::SectionCopy,
        "copy the section (inserted after it)",
    ),
    cmd(
        "arrangement.section_delete",
        S::Arrangement,
        &["C-Delete", "S-Delete"],
        A::SectionDelete,
        "delete the section and its entries",
    ),
    cmd(
        "arrangement.loop_start",
        S::Arrangement,
        &["["],
        A::LoopStart,
        "loop range starts here",
    ),
    cmd(
        "arrangement.loop_end",
        S::Arrangement,
        &["]"],
        A::LoopEnd,
        "loop range ends here",
    ),
    cmd(
        "arrangement.loop_section",
        S::Arrangement,
        &["l"],
        A::LoopSection,
        "loop the section (or the entry); again: no loop",
    ),
    cmd(
        "arrangement.loop_clear",
        S::Arrangement,
        &["L"],
        A::LoopClear,
        "no loop range",
    ),
    cmd(
        "instruments.up",
        S::Instruments,
        &["Up"],
        A::ListUp,
        "previous instrument",
    ),
    cmd(
        "instruments.down",
        S::Instruments,
        &["Down"],
        A::ListDown,
        "next instrument",
    ),
    cmd(
        "instruments.select",
        S::Instruments,
        &["Enter"],
        A::InstrumentSelect,
        "use this instrument for new notes",
    ),
    cmd(
        "instruments.param_next",
        S::Instruments,
        &["Tab"],
        A::ParamNext,
        "next parameter",
    ),
    cmd(
        "instruments.param_prev",
        S::Instruments,
        &["BackTab"],
        A::ParamPrev,
        "previous parameter",
    ),
    cmd(
        "instruments.param_up",
        S::Instruments,
        &["Right"],
        A::ParamUp,
        "raise the parameter",
    ),
    cmd(
        "instruments.param_down",
        S::Instruments,
        &["Left"],
        A::ParamDown,
        "lower the parameter",
    ),
    cmd(
        "instruments.param_up_fine",
        S::Instruments,
        &["S-Right"],
        A::ParamUpFine,
        "raise the parameter a little",
    ),
    cmd(
        "instruments.param_down_fine",
        S::Instruments,
        &["S-Left"],
        A::ParamDownFine,
        "lower the parameter a little",
    ),
    cmd(
        "instruments.new",
        S::Instruments,
        &["n"],
        A::InstrumentNew,
        "new synth in this slot",
    ),
    cmd(
        "instruments.delete",
        S::Instruments,
        &["Delete"],
        A::InstrumentDelete,
        "empty this slot",
    ),
    cmd(
        "instruments.rename",
        S::Instruments,
        &["r"],
        A::InstrumentRename,
        "rename the instrument",
    ),
    cmd(
        "instruments.load",
        S::Instruments,
        &["l"],
        A::InstrumentLoad,
        "load a WAV file into this slot (file picker)",
    ),
    cmd(
        "mixer.left",
        S::Mixer,
        &["Left"],
        A::MixLeft,
        "previous strip (detail panel: previous EQ band)",
    ),
    cmd(
        "mixer.right",
        S::Mixer,
        &["Right"],
        A::MixRight,
        "next strip (detail panel: next EQ band)",
    ),
    cmd(
        "mixer.up",
        S::Mixer,
        &["Up"],
        A::MixUp,
        "previous row of the strip (detail panel: previous parameter)",
    ),
    cmd(
        "mixer.down",
        S::Mixer,
        &["Down"],
        A::MixDown,
        "next row of the strip (detail panel: next parameter)",
    ),
    cmd(
        "mixer.first",
        S::Mixer,
        &["Home"],
        A::MixFirst,
        "first strip",
    ),
    cmd(
        "mixer.last",
        S::Mixer,
        &["End"],
        A::MixLast,
        "last strip (master)",
    ),
    cmd(
        "mixer.raise",
        S::Mixer,
        &["+", "=", "PageUp"],
        A::MixChange {
            up: true,
            fine: false,
        },
        "raise the value (0.5 dB, a third of an octave, x1.25 for times)",
    ),
    cmd(
        "mixer.lower",
        S::Mixer,
        &["-", "PageDown"],
        A::MixChange {
            up: false,
            fine: false,
        },
        "lower the value",
    ),
    cmd(
        "mixer.raise_fine",
        S::Mixer,
        &["S-Up", "S-PageUp"],
        A::MixChange {
            up: true,
            fine: true,
        },
        "raise the value a little (0.1 dB, a semitone, x1.05 for times)",
    ),
    cmd(
        "mixer.lower_fine",
        S::Mixer,
        &["S-Down", "S-PageDown"],
        A::MixChange {
            up: false,
            fine: true,
        },
        "lower the value a little",
    ),
    cmd(
        "mixer.reset",
        S::Mixer,
        &["0"],
        A::MixReset,
        "reset the value to its default (0 dB, pan centre, send off)",
    ),
    cmd(
        "mixer.mute",
        S::Mixer,
        &["m"],
        A::MixMute,
        "mute / unmute the track or bus return",
    ),
    cmd(
        "mixer.solo",
        S::Mixer,
        &["s"],
        A::MixSolo,
        "solo / unsolo the track",
    ),
    cmd(
        "mixer.add_eq",
        S::Mixer,
        &["i"],
        A::MixAddEq,
        "add an EQ insert to the track",
    ),
    cmd(
        "mixer.add_compressor",
        S::Mixer,
        &["c"],
        A::MixAddCompressor,
        "add a compressor insert to the track",
    ),
    cmd(
        "mixer.remove_insert",
        S::Mixer,
        &["Delete"],
        A::MixRemoveInsert,
        "remove the insert under the cursor",
    ),
    cmd(
        "mixer.toggle",
        S::Mixer,
        &["o"],
        A::MixToggleOn,
        "switch the insert or master effect on / off",
    ),
    cmd(
        "mixer.detail",
        S::Mixer,
        &["Enter"],
        A::MixDetail,
        "open / close the detail panel of the effect under the cursor",
    ),
    cmd(
        "record.quantize",
        S::Global,
        &["A-q"],
        A::RecQuantize,
        "recording quantize: off (delay values), 1, 2, 4, 8 rows; rewrites the last take",
    ),
    cmd(
        "record.velocity",
        S::Global,
        &["A-v"],
        A::RecVelocity,
        "recording: velocity into the volume column on/off",
    ),
    cmd(
        "record.overdub",
        S::Global,
        &["A-o"],
        A::RecOverdub,
        "loop recording: overdub, or each pass a new take replacing the last",
    ),
    cmd(
        "record.metronome",
        S::Global,
        &["A-m"],
        A::Metronome,
        "metronome on/off (heard while playing, never rendered)",
    ),
    cmd(
        "record.metronome_level",
        S::Global,
        &["A-l"],
        A::MetronomeLevel,
        "metronome level: 25, 50, 100 %",
    ),
    cmd(
        "record.count_in",
        S::Global,
        &["A-c"],
        A::CountIn,
        "count-in before playing in edit mode: 0, 1, 2, 4 bars",
    ),
    cmd(
        "record.punch",
        S::Pattern,
        &["A-p"],
        A::Punch,
        "punch in/out: record only the selected rows (no selection: every row)",
    ),
    cmd(
        "record.audio",
        S::Global,
        &["C-r"],
        A::RecordAudio,
        "record audio input into the track under the cursor with playback; again (or Space) stops",
    ),
    cmd(
        "devices",
        S::Global,
        &["F6"],
        A::Devices,
        "MIDI inputs (choose one) and the recording settings",
    ),
    cmd(
        "record.takes",
        S::Pattern,
        &["A-k"],
        A::Takes,
        "takes of this track in this pattern: audition, pick, comp, rename, remove",
    ),
    cmd(
        "mixer.group",
        S::Mixer,
        &["g"],
        A::GroupCycle,
        "put the track in the next group (after the last: a new one; then none)",
    ),
    cmd(
        "pattern.group",
        S::Pattern,
        &["A-g"],
        A::GroupCycle,
        "put the track in the next group (after the last: a new one; then none)",
    ),
    cmd(
        "pattern.fold",
        S::Pattern,
        &["A-z"],
        A::GroupFold,
        "fold / unfold the track's group (its tracks shown as one column)",
    ),
];

/// The command named `name`.
pub fn by_name(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}
