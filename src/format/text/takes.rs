//! `[[take]]` tables: recorded MIDI takes as readable event lists.
//!
//! ```toml
//! [[take]]
//! name = "Take 1"
//! track = 2            # 1-based
//! instrument = 3       # slot, as `[[instrument]]` numbers it
//! velocity = true      # velocities went into the volume column
//! quantize = 0         # 0: exact (delay column); N: a grid of N rows
//! events = """
//! 00 01 12:27613 on C#4 100
//! 00 01 13:00000 off C#4
//! 00 01 14:32768 sustain on
//! """
//! ```
//!
//! An event line is: order position, pattern, row and the position within the row in 1/65536
//! (`ROW:FRACTION`), then `on NOTE VELOCITY`, `off NOTE` or `sustain on|off`. NOTE is a note
//! name (C-0…G-9) or a MIDI note number.

use super::grid::{Grid, origin_of};
use super::read::{Res, Src, Tbl};
use super::write::toml_string;
use crate::model::limits::{
    MAX_INSTRUMENTS, MAX_NAME_BYTES, MAX_ORDER, MAX_PATTERNS, MAX_ROWS, MAX_TRACKS,
};
use crate::model::takes::{MAX_TAKE_EVENTS, MAX_TAKES, Take, TakeEvent, TakeEventKind};
use crate::model::{Note, Song};
use toml::de::DeValue;

const TAKE_KEYS: &[&str] = &[
    "name",
    "track",
    "instrument",
    "velocity",
    "quantize",
    "events",
];

/// A key as text: its note name when it has one, else its number.
fn key_text(key: u8) -> String {
    match Note::from_midi(key) {
        Some(n @ Note::On(_)) => n.to_string(),
        _ => key.to_string(),
    }
}

/// Writes every take.
pub(super) fn write(out: &mut String, song: &Song) {
    for t in &song.takes {
        *out += "\n[[take]]\n";
        *out += &format!("name = {}\n", toml_string(&t.name));
        *out += &format!(
            "track = {}\ninstrument = {}\nvelocity = {}\nquantize = {}\n",
            t.track as u16 + 1,
            t.instrument,
            t.velocity,
            t.quantize
        );
        *out += "events = \"\"\"\n";
        for e in &t.events {
            *out += &format!(
                "{:02} {:02} {}:{:05} ",
                e.order, e.pattern, e.row, e.fraction
            );
            *out += &match e.kind {
                TakeEventKind::On { key, velocity } => format!("on {} {velocity}", key_text(key)),
                TakeEventKind::Off { key } => format!("off {}", key_text(key)),
                TakeEventKind::Sustain(down) => {
                    format!("sustain {}", if down { "on" } else { "off" })
                }
            };
            *out += "\n";
        }
        *out += "\"\"\"\n";
    }
}

/// Reads the `[[take]]` tables.
pub(super) fn read(src: &Src<'_>, root: &Tbl<'_>) -> Res<Vec<Take>> {
    let tables = root.tables("take")?;
    if tables.len() > MAX_TAKES {
        return Err(root.err(root.at, format!("more than {MAX_TAKES} takes")));
    }
    let mut takes = Vec::with_capacity(tables.len());
    for (i, t) in tables.iter().enumerate() {
        t.deny_unknown(TAKE_KEYS)?;
        let name = t.str("name")?.map_or(String::new(), |(s, _)| s.to_string());
        if name.len() > MAX_NAME_BYTES {
            return Err(t.err(t.at, "the take's name is too long"));
        }
        let track = (t.req_int("track", 1, MAX_TRACKS as i128)? - 1) as u8;
        let instrument = t
            .int("instrument", 1, MAX_INSTRUMENTS as i128)?
            .unwrap_or(1) as u8;
        let velocity = t.bool("velocity")?.unwrap_or(true);
        let quantize = t.int("quantize", 0, 64)?.unwrap_or(0) as u8;
        let events = match t.get("events") {
            None => Vec::new(),
            Some(v) => {
                let DeValue::String(text) = v.get_ref() else {
                    return Err(t.type_err("events", v, "a string of event lines"));
                };
                let grid = Grid {
                    src,
                    origin: origin_of(src, v.span(), text),
                    data: text,
                    pattern: i,
                };
                events(&grid, text)?
            }
        };
        takes.push(Take {
            name,
            track,
            instrument,
            velocity,
            quantize,
            events,
        });
    }
    Ok(takes)
}

/// Parses the event lines of one take.
fn events(grid: &Grid<'_>, text: &str) -> Res<Vec<TakeEvent>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        if body.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_TAKE_EVENTS {
            return Err(grid.err(at, format!("a take holds at most {MAX_TAKE_EVENTS} events")));
        }
        let words: Vec<&str> = body.split_whitespace().collect();
        let bad = |why: &str| {
            grid.err(
                at,
                format!("take event `{body}`: {why}; the form is `ORDER PATTERN ROW:FRACTION on C-4 100` (or `off C-4`, `sustain on`)"),
            )
        };
        if words.len() < 4 {
            return Err(bad("too few fields"));
        }
        let num = |s: &str, max: usize, what: &str| -> Res<u16> {
            s.parse::<u32>()
                .ok()
                .filter(|&n| (n as usize) < max)
                .map(|n| n as u16)
                .ok_or_else(|| bad(&format!("{what} `{s}` is not 0..{max}")))
        };
        let order = num(words[0], MAX_ORDER, "the order position")?;
        let pattern = num(words[1], MAX_PATTERNS, "the pattern")?;
        let (row, fraction) = words[2]
            .split_once(':')
            .ok_or_else(|| bad("no `:` in ROW:FRACTION"))?;
        let row = num(row, MAX_ROWS, "the row")?;
        let fraction = num(fraction, 65_536, "the fraction")?;
        let key = |s: &str| -> Res<u8> {
            match Note::parse(s) {
                Some(Note::On(p)) if p <= 115 => Ok(p + 12),
                _ => s
                    .parse::<u8>()
                    .ok()
                    .filter(|&k| k < 128)
                    .ok_or_else(|| bad(&format!("`{s}` is not a note or a MIDI note number"))),
            }
        };
        let kind = match (words[3], words.len()) {
            ("on", 6) => {
                let velocity = words[5]
                    .parse::<u8>()
                    .ok()
                    .filter(|v| (1..=127).contains(v))
                    .ok_or_else(|| bad("the velocity must be 1..=127"))?;
                TakeEventKind::On {
                    key: key(words[4])?,
                    velocity,
                }
            }
            ("off", 5) => TakeEventKind::Off {
                key: key(words[4])?,
            },
            ("sustain", 5) => match words[4] {
                "on" => TakeEventKind::Sustain(true),
                "off" => TakeEventKind::Sustain(false),
                _ => return Err(bad("sustain is `on` or `off`")),
            },
            _ => return Err(bad("unknown event or wrong field count")),
        };
        out.push(TakeEvent {
            order,
            pattern,
            row,
            fraction,
            kind,
        });
    }
    Ok(out)
}
