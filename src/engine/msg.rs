//! Messages between the UI thread and the engine. Every message is small; large objects travel
//! boxed and come back through [`Garbage`] so they are freed off the audio thread.

use super::midi::{LocateReport, MidiMessage, MidiReceiver, MidiReport};
use super::mixer::Meters;
use super::song::{EngineSong, EngineTrack, PlayableInstrument};
use super::{PlayRange, Position};
use crate::model::mix::Mixer;
use crate::model::{EffectCell, NoteCell, Pattern};

/// UI → engine. Every boxed payload was allocated by the UI and comes back as [`Garbage`].
#[derive(Debug)]
pub enum Command {
    /// Start the sequencer over `range` at `row` of its first order position (engine state reset).
    /// The UI computes the tempo in force there with [`super::chase_tempo`]: scanning the song is
    /// not bounded work, so the audio thread never does it.
    Play {
        /// Order positions and looping.
        range: PlayRange,
        /// First row.
        row: u16,
        /// Tempo at the start.
        bpm: u16,
        /// Ticks per line at the start.
        tpl: u8,
        /// Order position to start at, inside the range (`None`: its first position). Looping
        /// goes back to the range's first position (or to the restart position, when the range
        /// holds it), wherever play started.
        at: Option<u16>,
    },
    /// Stop the sequencer; sounding voices fade out.
    Stop,
    /// Echoed in [`Status::mark`] once every earlier command has been applied.
    Mark(u32),
    /// One note cell of an existing pattern.
    SetNote {
        /// Pattern index.
        pattern: u16,
        /// Row.
        row: u16,
        /// Track.
        track: u8,
        /// Note column.
        column: u8,
        /// New contents.
        cell: NoteCell,
    },
    /// One effect cell of an existing pattern.
    SetEffect {
        /// Pattern index.
        pattern: u16,
        /// Row.
        row: u16,
        /// Track.
        track: u8,
        /// Effect column.
        column: u8,
        /// New contents.
        cell: EffectCell,
    },
    /// Track mix settings (ramped, so changes are click-free).
    SetTrack {
        /// Track.
        track: u8,
        /// Gain in decibels.
        volume_db: f32,
        /// Pan -1..=1.
        pan: f32,
        /// Muted.
        mute: bool,
    },
    /// Start an audition note (piano keys, MIDI thru) on `track` with instrument `slot`.
    NoteOn {
        /// Identifies the note for [`Command::NoteOff`].
        tag: u32,
        /// Track whose mix it goes through.
        track: u8,
        /// Instrument slot (1-based).
        slot: u8,
        /// Pitch (see [`crate::model::Note`]).
        pitch: u8,
        /// Volume 0..=0x40.
        volume: u8,
    },
    /// Release the audition notes started with `tag`.
    NoteOff {
        /// Tag given to [`Command::NoteOn`].
        tag: u32,
    },
    /// Replace an existing pattern (structural edits: resize, insert rows, large pastes).
    ReplacePattern {
        /// Index of an existing pattern.
        index: u16,
        /// The new pattern; the old one comes back in this box.
        pattern: Box<Pattern>,
    },
    /// Replace an instrument slot (1-based, within the song's slots) or empty it.
    ReplaceInstrument {
        /// Slot.
        slot: u8,
        /// The new instrument, or `None` to empty the slot.
        instrument: Option<Box<PlayableInstrument>>,
    },
    /// Replace the whole song (new patterns, tracks or instruments; tempo changes).
    ReplaceSong(Box<EngineSong>),
    /// Take MIDI input from this ring (see [`super::midi::midi_ring`]), or from none; the ring
    /// it replaces comes back as [`Garbage::MidiInput`].
    SetMidiInput(Option<Box<MidiReceiver>>),
    /// Hear the audio input with the song (`None`: stop); the ring it replaces comes back.
    SetMonitor(Option<Box<super::monitor::MonitorReceiver>>),
    /// Incoming MIDI notes play at once on `track` with instrument `slot` (1-based; 0 = silent).
    MidiThru {
        /// Track whose mix they go through.
        track: u8,
        /// Instrument slot, 0 for none.
        slot: u8,
    },
    /// A MIDI message from the UI (the computer keyboard played as a MIDI keyboard): it sounds
    /// at the start of the next block and is reported like one from a MIDI input.
    MidiIn(MidiMessage),
    /// Frames between computing a frame and hearing it, for placing MIDI events in the song
    /// (the audio backends set it themselves when the device says).
    SetOutputLatency {
        /// Latency in frames.
        frames: u32,
    },
    /// Metronome settings (heard live only; renders never send this): a click on every beat,
    /// and a count-in of some bars before each play start.
    Metronome {
        /// Clicks on the song's beats.
        on: bool,
        /// Linear gain of the click.
        level: f32,
        /// Bars of count-in before the song starts (0, 1, 2 or 4).
        count_in_bars: u8,
    },
    /// New mixer settings: every track's strip and the buses (the track count must match; column
    /// layouts in it are ignored). Changes ramp; only changed effects are recomputed.
    SetMix(Box<MixState>),
    /// Where in the song, as heard, was the moment `at` (nanoseconds on the clock of
    /// [`super::TimedMidi::nanos`], or the host's frame time)? Answered with a [`Report::Located`] at the next device
    /// period: an audio recorder asks this for the capture time of its take's first frame.
    Locate {
        /// Echoed in the answer.
        id: u32,
        /// The moment.
        at: super::midi::Moment,
    },
}

/// Every mix setting of a song, as [`Command::SetMix`] carries it.
#[derive(Clone, Debug)]
pub struct MixState {
    /// One per track, in order.
    pub tracks: Vec<EngineTrack>,
    /// Buses and master.
    pub mixer: Mixer,
    /// Group bus strips.
    pub groups: Vec<EngineTrack>,
}

impl MixState {
    /// The mix settings of a model song.
    pub fn from_model(song: &crate::model::Song) -> MixState {
        MixState {
            tracks: song.tracks.iter().map(EngineTrack::from_model).collect(),
            mixer: song.mixer,
            groups: song
                .groups
                .iter()
                .take(crate::model::mix::MAX_GROUPS)
                .map(EngineTrack::from_group)
                .collect(),
        }
    }
}

/// Engine → UI: what a boxed command displaced, to be dropped on the UI side. Exactly one reply per
/// boxed command, so the boxes in flight can be counted.
#[derive(Debug)]
pub enum Garbage {
    /// A replaced pattern.
    Pattern(Box<Pattern>),
    /// A replaced instrument.
    Instrument(Box<PlayableInstrument>),
    /// A replaced song.
    Song(Box<EngineSong>),
    /// A replaced MIDI input ring.
    MidiInput(Box<MidiReceiver>),
    /// A replaced monitor ring.
    Monitor(Box<super::monitor::MonitorReceiver>),
    /// Replaced mix settings.
    Mix(Box<MixState>),
    /// The command displaced nothing (or was refused), but its credit comes back.
    Nothing,
}

/// Engine → UI messages. A status is a snapshot (losing one loses nothing, the next supersedes it);
/// a MIDI report is an event, which the engine keeps and resends while the ring is full.
#[derive(Clone, Copy, Debug, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "meters travel by value: boxing them would allocate on the audio thread; the ring's 256 slots cost about 350 KiB"
)]
pub enum Report {
    /// Transport and counters.
    Status(Status),
    /// A MIDI event was played, with the song position heard when it was played.
    Midi(MidiReport),
    /// Level meters of every strip (about 30 per second while the engine runs).
    Meters(Meters),
    /// The answer to a [`Command::Locate`].
    Located(LocateReport),
}

/// The engine's state as of one block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Status {
    /// The last [`Command::Mark`] applied.
    pub mark: u32,
    /// Sequencer running.
    pub playing: bool,
    /// Play position.
    pub position: Position,
    /// Sounding voices.
    pub active_voices: u16,
    /// Commands applied since the engine was created.
    pub commands_applied: u64,
    /// Commands refused (bad index), since the engine was created.
    pub commands_refused: u64,
    /// Reports that found the report ring full.
    pub reports_dropped: u64,
    /// Garbage waiting in the engine because the garbage ring was full.
    pub garbage_parked: u32,
    /// MIDI events played since the engine was created.
    pub midi_events: u64,
    /// MIDI events or reports lost because a preallocated list was full.
    pub midi_dropped: u64,
}

const _: () = assert!(
    std::mem::size_of::<Command>() <= 64,
    "Command must stay small"
);
