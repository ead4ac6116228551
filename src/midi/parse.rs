//! A MIDI byte-stream parser for what ttrack uses: note on and off (a note-on with velocity 0 is a
//! note-off) and the sustain pedal (controller 64). It follows running status, skips system
//! exclusive, system common and real-time bytes (real-time bytes may sit inside a message) and
//! ignores stray data bytes. It never panics and never allocates, so it runs in the JACK process
//! callback as well as on midir's thread.

use crate::engine::MidiMessage;

/// Parser state: the running status and the data bytes of the message being read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MidiParser {
    /// Status of the message being read (running status), 0 when none.
    status: u8,
    data: [u8; 2],
    have: u8,
    /// Inside a system exclusive message (until 0xF7 or the next status byte).
    in_sysex: bool,
}

/// Data bytes a message with this status needs.
fn data_len(status: u8) -> u8 {
    match status & 0xF0 {
        0xC0 | 0xD0 => 1,
        0x80..=0xE0 => 2,
        _ => match status {
            0xF1 | 0xF3 => 1,
            0xF2 => 2,
            _ => 0,
        },
    }
}

impl MidiParser {
    /// A parser with no running status.
    pub fn new() -> MidiParser {
        MidiParser::default()
    }

    /// Forgets the running status and any partial message.
    pub fn reset(&mut self) {
        *self = MidiParser::default();
    }

    /// Reads one byte; returns a message when this byte completes one that ttrack uses.
    pub fn feed(&mut self, byte: u8) -> Option<MidiMessage> {
        if byte >= 0xF8 {
            // Real-time (clock, start, stop, active sensing, reset): one byte, anywhere.
            return None;
        }
        if byte >= 0x80 {
            self.have = 0;
            self.in_sysex = byte == 0xF0;
            // System common messages cancel running status; a tune request or EOX has no data.
            self.status = if byte == 0xF0 || byte == 0xF7 {
                0
            } else {
                byte
            };
            if self.status >= 0xF0 && data_len(self.status) == 0 {
                self.status = 0;
            }
            return None;
        }
        if self.in_sysex || self.status == 0 {
            return None;
        }
        let need = data_len(self.status);
        self.data[self.have as usize & 1] = byte;
        self.have += 1;
        if self.have < need {
            return None;
        }
        self.have = 0;
        let status = self.status;
        if status >= 0xF0 {
            // A complete system common message: running status ends with it.
            self.status = 0;
            return None;
        }
        let channel = status & 0x0F;
        let (a, b) = (self.data[0], self.data[1]);
        match status & 0xF0 {
            0x90 if b > 0 => Some(MidiMessage::NoteOn {
                channel,
                key: a,
                velocity: b,
            }),
            0x90 => Some(MidiMessage::NoteOff {
                channel,
                key: a,
                velocity: 0,
            }),
            0x80 => Some(MidiMessage::NoteOff {
                channel,
                key: a,
                velocity: b,
            }),
            0xB0 if a == 64 => Some(MidiMessage::Sustain {
                channel,
                down: b >= 64,
            }),
            _ => None,
        }
    }

    /// Feeds every byte of `bytes`, calling `out` for each message completed.
    pub fn feed_all(&mut self, bytes: &[u8], mut out: impl FnMut(MidiMessage)) {
        for &b in bytes {
            if let Some(m) = self.feed(b) {
                out(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(bytes: &[u8]) -> Vec<MidiMessage> {
        let mut p = MidiParser::new();
        let mut out = Vec::new();
        p.feed_all(bytes, |m| out.push(m));
        out
    }

    fn on(channel: u8, key: u8, velocity: u8) -> MidiMessage {
        MidiMessage::NoteOn {
            channel,
            key,
            velocity,
        }
    }

    fn off(channel: u8, key: u8, velocity: u8) -> MidiMessage {
        MidiMessage::NoteOff {
            channel,
            key,
            velocity,
        }
    }

    #[test]
    fn note_on_and_off_with_channel_and_velocity() {
        assert_eq!(
            parse(&[0x93, 60, 100, 0x83, 60, 40]),
            vec![on(3, 60, 100), off(3, 60, 40)]
        );
    }

    #[test]
    fn note_on_with_velocity_zero_is_a_note_off() {
        assert_eq!(parse(&[0x90, 64, 0]), vec![off(0, 64, 0)]);
    }

    #[test]
    fn running_status_repeats_the_last_channel_status() {
        assert_eq!(
            parse(&[0x91, 60, 90, 64, 80, 60, 0, 64, 0]),
            vec![on(1, 60, 90), on(1, 64, 80), off(1, 60, 0), off(1, 64, 0)]
        );
    }

    #[test]
    fn sustain_pedal_is_controller_64() {
        assert_eq!(
            parse(&[0xB0, 64, 127, 0xB0, 64, 0, 0xB0, 7, 100, 0xB0, 64, 63]),
            vec![
                MidiMessage::Sustain {
                    channel: 0,
                    down: true
                },
                MidiMessage::Sustain {
                    channel: 0,
                    down: false
                },
                MidiMessage::Sustain {
                    channel: 0,
                    down: false
                },
            ]
        );
    }

    #[test]
    fn real_time_bytes_inside_a_message_are_skipped() {
        assert_eq!(parse(&[0x90, 0xF8, 60, 0xFE, 100]), vec![on(0, 60, 100)]);
    }

    #[test]
    fn sysex_is_skipped_and_cancels_running_status() {
        assert_eq!(
            parse(&[0x90, 60, 100, 0xF0, 0x7E, 0x10, 60, 100, 0xF7, 61, 100]),
            vec![on(0, 60, 100)]
        );
        // A sysex cut short by a status byte ends there.
        assert_eq!(parse(&[0xF0, 1, 2, 0x90, 62, 5]), vec![on(0, 62, 5)]);
    }

    #[test]
    fn system_common_messages_are_skipped_whole() {
        // Song position (2 data bytes), then data that must not be read as a note.
        assert_eq!(
            parse(&[0x90, 60, 1, 0xF2, 60, 100, 60, 100]),
            vec![on(0, 60, 1)]
        );
        assert_eq!(parse(&[0xF3, 5, 0x80, 60, 0]), vec![off(0, 60, 0)]);
    }

    #[test]
    fn other_channel_messages_are_read_and_ignored() {
        // Program change (1 data byte), pitch bend, aftertouch: none gives a message, and the
        // byte counts stay right for what follows.
        assert_eq!(
            parse(&[0xC0, 5, 0xE0, 0, 64, 0xD0, 9, 0xA0, 60, 1, 0x90, 61, 2]),
            vec![on(0, 61, 2)]
        );
    }

    #[test]
    fn malformed_input_gives_no_message() {
        assert_eq!(parse(&[60, 100, 0x7F]), vec![], "stray data bytes");
        assert_eq!(parse(&[0x90, 60]), vec![], "truncated");
        assert_eq!(
            parse(&[0x90, 60, 0x80, 61, 5]),
            vec![off(0, 61, 5)],
            "cut by a status"
        );
        assert_eq!(parse(&[0xF7, 60, 1]), vec![], "EOX without sysex");
        assert_eq!(parse(&[]), vec![]);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for m in parse(&bytes) {
                match m {
                    MidiMessage::NoteOn { channel, key, velocity } => {
                        prop_assert!(channel < 16 && key < 128 && (1..128).contains(&velocity));
                    }
                    MidiMessage::NoteOff { channel, key, velocity } => {
                        prop_assert!(channel < 16 && key < 128 && velocity < 128);
                    }
                    MidiMessage::Sustain { channel, .. } => prop_assert!(channel < 16),
                }
            }
        }
    }
}
