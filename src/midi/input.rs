//! MIDI inputs through midir (the ALSA sequencer on Linux): listing, and connecting by a
//! case-insensitive part of the port name (`--midi-in NAME`). midir calls back on its own thread;
//! the callback parses, stamps each message with [`super::clock`] and pushes it into the engine's
//! MIDI ring, never blocking. Without the ALSA sequencer (no sound support in the kernel, a
//! container) every function returns [`MidiError::Unavailable`] and the rest of ttrack runs on.

use super::clock;
use super::parse::MidiParser;
use crate::engine::midi::{MidiSender, TimedMidi};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use thiserror::Error;

/// Name ttrack gives itself as a MIDI client.
const CLIENT_NAME: &str = "ttrack";

/// Why MIDI input cannot be used. Each reads as a sentence.
#[derive(Debug, Error)]
pub enum MidiError {
    /// The MIDI system itself cannot be used.
    #[error("the ALSA sequencer is not available ({0})")]
    Unavailable(String),
    /// No input port matched the name asked for.
    #[error(
        "no MIDI input is named like \"{wanted}\"; the inputs are: {}",
        if available.is_empty() { String::from("none") } else { available.join(", ") }
    )]
    NotFound {
        /// What was asked for.
        wanted: String,
        /// Every input port's name.
        available: Vec<String>,
    },
    /// The port exists but the connection failed.
    #[error("cannot connect to the MIDI input {port}: {reason}")]
    Connect {
        /// The port's name.
        port: String,
        /// What midir said.
        reason: String,
    },
}

fn open() -> Result<midir::MidiInput, MidiError> {
    let mut input =
        midir::MidiInput::new(CLIENT_NAME).map_err(|e| MidiError::Unavailable(e.to_string()))?;
    input.ignore(midir::Ignore::All);
    Ok(input)
}

/// The names of every MIDI input port, in the order the system lists them.
pub fn list_inputs() -> Result<Vec<String>, MidiError> {
    let input = open()?;
    Ok(input
        .ports()
        .iter()
        .filter_map(|p| input.port_name(p).ok())
        .collect())
}

/// The first of `names` that contains `wanted`, ignoring case.
pub fn find_port(names: &[String], wanted: &str) -> Option<usize> {
    let needle = wanted.to_lowercase();
    names
        .iter()
        .position(|n| n.to_lowercase().contains(&needle))
}

/// An open MIDI input; dropping it closes the connection.
pub struct MidiConnection {
    // Never read: holding it keeps the connection open.
    _connection: midir::MidiInputConnection<()>,
    port: String,
    dropped: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

impl MidiConnection {
    /// The port's full name.
    pub fn port(&self) -> &str {
        &self.port
    }

    /// Messages lost because the engine's ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Messages received and passed on.
    pub fn received(&self) -> u64 {
        self.received.load(Relaxed)
    }
}

impl std::fmt::Debug for MidiConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MidiConnection({})", self.port)
    }
}

/// Connects to the first input port whose name contains `wanted` (ignoring case); its messages go
/// into `sender`, stamped with their arrival time.
pub fn connect(wanted: &str, mut sender: MidiSender) -> Result<MidiConnection, MidiError> {
    let input = open()?;
    let ports = input.ports();
    let names: Vec<String> = ports
        .iter()
        .map(|p| input.port_name(p).unwrap_or_else(|_| String::from("?")))
        .collect();
    let Some(i) = find_port(&names, wanted) else {
        return Err(MidiError::NotFound {
            wanted: wanted.to_string(),
            available: names,
        });
    };
    let dropped = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let (d, r) = (dropped.clone(), received.clone());
    let mut parser = MidiParser::new();
    let port = names[i].clone();
    clock::epoch();
    let connection = input
        .connect(
            &ports[i],
            "ttrack-in",
            move |_stamp, bytes, _| {
                let nanos = clock::now_nanos();
                parser.feed_all(bytes, |msg| {
                    if sender.send(TimedMidi { nanos, msg }) {
                        r.fetch_add(1, Relaxed);
                    } else {
                        d.fetch_add(1, Relaxed);
                    }
                });
            },
            (),
        )
        .map_err(|e| MidiError::Connect {
            port: port.clone(),
            reason: e.to_string(),
        })?;
    Ok(MidiConnection {
        _connection: connection,
        port,
        dropped,
        received,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_found_by_a_part_of_their_name_ignoring_case() {
        let names = vec![
            String::from("Midi Through:Midi Through Port-0 14:0"),
            String::from("KeyStep 32:KeyStep 32 MIDI 1 24:0"),
        ];
        assert_eq!(find_port(&names, "keystep"), Some(1));
        assert_eq!(find_port(&names, "THROUGH"), Some(0));
        assert_eq!(find_port(&names, "nanokey"), None);
    }

    #[test]
    fn without_a_sequencer_the_error_says_so() {
        // On a machine with the ALSA sequencer this lists ports; without one (a container, no
        // sound support in the kernel) it must be a clear error, never a panic.
        match list_inputs() {
            Ok(_) => {}
            Err(e) => assert!(
                e.to_string().contains("ALSA sequencer is not available"),
                "{e}"
            ),
        }
        let (tx, _rx) = crate::engine::midi_ring();
        if let Err(e) = connect("no such port 1234", tx) {
            let s = e.to_string();
            assert!(
                s.contains("ALSA sequencer") || s.contains("no MIDI input is named"),
                "{s}"
            );
        }
    }
}
