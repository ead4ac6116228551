//! MIDI input (beside `audio` in layer 3, DESIGN.md §1): a byte-stream parser for the channel
//! messages ttrack plays and records, midir inputs (the ALSA sequencer) listed and connected by
//! name, and the monotonic clock that stamps their events. Events go to the engine through a
//! lock-free ring ([`crate::engine::midi_ring`]); under JACK they arrive in the audio callback
//! itself (see `audio::jack`), with their exact frame in the period. Uses `engine` messages only.

pub mod clock;
pub mod input;
pub mod parse;

pub use input::{MidiConnection, MidiError, connect, list_inputs};
pub use parse::MidiParser;
