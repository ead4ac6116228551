//! Pattern grids of the text format: one line per row, tracks separated by `|`, fixed-width
//! fields (`C-4 01 40 A0F`). Parsing places each error at the file line and column of the field.

use super::TextError;
use super::read::{Res, Src};
use super::write::toml_string;
use crate::model::limits::MAX_ROWS;
use crate::model::{EffectCell, Note, NoteCell, Pattern, Track};
use std::ops::Range;

/// Where the decoded text of a TOML string lies in the file.
pub(super) enum Origin {
    /// Byte `i` of the value is at file offset `start + i` (no escapes changed the text).
    Exact(usize),
    /// A multi-line string with escapes: only lines can be mapped, from this 1-based file line.
    Lines(usize),
    /// A one-line string with escapes: errors point at the string itself.
    Start(usize),
}

/// Finds where the value of the string at `span` starts in the file, if escapes allow it.
pub(super) fn origin_of(src: &Src<'_>, span: Range<usize>, value: &str) -> Origin {
    let raw = src.text.get(span.clone()).unwrap_or("");
    let multi = raw.starts_with("\"\"\"") || raw.starts_with("'''");
    let mut start = span.start + if multi { 3 } else { 1 };
    if multi {
        let rest = src.text.get(start..).unwrap_or("");
        if rest.starts_with("\r\n") {
            start += 2;
        } else if rest.starts_with('\n') {
            start += 1;
        }
    }
    if src.text.get(start..start + value.len()) == Some(value) {
        Origin::Exact(start)
    } else if multi
        && raw.matches('\n').count()
            == value.matches('\n').count() + usize::from(start > span.start + 3)
    {
        // Escapes changed the text but not the line breaks: rows still map to file lines.
        Origin::Lines(src.pos(span.start).0 + 1)
    } else {
        Origin::Start(span.start)
    }
}

/// Errors inside a pattern's `data` string, placed in the file.
pub(super) struct Grid<'a> {
    pub(super) src: &'a Src<'a>,
    pub(super) origin: Origin,
    pub(super) data: &'a str,
    pub(super) pattern: usize,
}

impl Grid<'_> {
    /// An error at byte `i` of the data string.
    pub(super) fn err(&self, i: usize, message: impl Into<String>) -> TextError {
        match self.origin {
            Origin::Exact(start) => self.src.err(start + i, message),
            Origin::Start(at) => self.src.err(at, message),
            Origin::Lines(first) => {
                let before = self.data.get(..i).unwrap_or(self.data);
                let line = first + before.matches('\n').count();
                let column = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
                TextError {
                    line,
                    column,
                    message: message.into(),
                }
            }
        }
    }
}

/// Byte ranges (within `data`) of whitespace-separated tokens in `data[start..end]`.
fn tokens(data: &str, start: usize, end: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut token_start = None;
    for (i, c) in data[start..end].char_indices() {
        match (c.is_whitespace(), token_start) {
            (true, Some(s)) => {
                out.push((start + s, &data[start + s..start + i]));
                token_start = None;
            }
            (false, None) => token_start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = token_start {
        out.push((start + s, &data[start + s..end]));
    }
    out
}

pub(super) fn parse_grid(grid: &Grid<'_>, rows: usize, tracks: &[Track]) -> Res<Pattern> {
    let data = grid.data;
    let mut lines: Vec<(usize, usize)> = Vec::with_capacity(rows.min(MAX_ROWS));
    let mut start = 0;
    for (i, b) in data.bytes().enumerate() {
        if b == b'\n' {
            lines.push((start, i));
            start = i + 1;
        }
    }
    if start < data.len() {
        lines.push((start, data.len()));
    }
    if lines.len() < rows {
        let n = lines.len();
        return Err(grid.err(
            data.len(),
            format!(
                "pattern {} has {n} rows of data but `rows = {rows}`: row {n} is missing",
                grid.pattern
            ),
        ));
    }
    if lines.len() > rows {
        return Err(grid.err(
            lines[rows].0,
            format!(
                "pattern {} has more than `rows = {rows}` rows of data",
                grid.pattern
            ),
        ));
    }
    let mut pattern = Pattern::new(rows as u32, tracks);
    for (row, &(start, mut end)) in lines.iter().enumerate() {
        if data[start..end].ends_with('\r') {
            end -= 1;
        }
        parse_row(grid, row, start, end, tracks, &mut pattern)?;
    }
    Ok(pattern)
}

fn parse_row(
    grid: &Grid<'_>,
    row: usize,
    start: usize,
    end: usize,
    tracks: &[Track],
    pattern: &mut Pattern,
) -> Res<()> {
    let data = grid.data;
    let mut segments: Vec<(usize, usize)> = Vec::with_capacity(tracks.len() + 1);
    let mut seg_start = start;
    for (i, b) in data[start..end].bytes().enumerate() {
        if b == b'|' {
            segments.push((seg_start, start + i));
            seg_start = start + i + 1;
        }
    }
    segments.push((seg_start, end));
    let n = tracks.len();
    let track_segments = if segments.len() == n + 1 {
        let (s, e) = segments[0];
        let number = tokens(data, s, e);
        match number.as_slice() {
            [] => {}
            [(at, text)] if text.bytes().all(|b| b.is_ascii_digit()) => {
                if text.len() > 6 || text.parse::<usize>().ok() != Some(row) {
                    return Err(grid.err(
                        *at,
                        format!("row number {text} should be {row} (rows count from 0)"),
                    ));
                }
            }
            [(at, text), ..] => {
                return Err(grid.err(
                    *at,
                    format!("`{text}` is not a row number; a row starts with its number and `|`"),
                ));
            }
        }
        &segments[1..]
    } else if segments.len() == n && !starts_with_row_number(data, segments[0]) {
        &segments[..]
    } else {
        let first = tokens(data, start, end).first().map_or(start, |t| t.0);
        return Err(grid.err(
            first,
            format!(
                "row {row} has {} separated by `|`; the song has {} (and a row number may come first)",
                plural(segments.len(), "part"),
                plural(n, "track")
            ),
        ));
    };
    for (t, (&(s, e), track)) in track_segments.iter().zip(tracks).enumerate() {
        parse_track_cells(grid, row, t, s, e, track, pattern)?;
    }
    Ok(())
}

/// True when a segment holds just a row number (then a `|` between tracks is missing).
fn starts_with_row_number(data: &str, (start, end): (usize, usize)) -> bool {
    matches!(tokens(data, start, end).as_slice(), [(_, t)] if t.bytes().all(|b| b.is_ascii_digit()))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn parse_track_cells(
    grid: &Grid<'_>,
    row: usize,
    t: usize,
    start: usize,
    end: usize,
    track: &Track,
    pattern: &mut Pattern,
) -> Res<()> {
    let toks = tokens(grid.data, start, end);
    let nc = track.note_columns as usize;
    let ec = track.effect_columns as usize;
    let (plain, delayed) = (nc * 3 + ec, nc * 4 + ec);
    let context = format!("pattern {}, row {row}, track {}", grid.pattern, t + 1);
    let with_delay = if toks.len() == delayed {
        true
    } else if toks.len() == plain {
        false
    } else {
        let at = if toks.len() > delayed {
            toks[delayed].0
        } else if toks.len() < plain {
            end
        } else {
            toks.first().map_or(start, |t| t.0)
        };
        return Err(grid.err(
            at,
            format!(
                "{context} has {}; it needs {plain} ({nc} × note instrument volume, then {}) or {delayed} with a delay after each volume",
                plural(toks.len(), "field"),
                plural(ec, "effect")
            ),
        ));
    };
    let per_note = if with_delay { 4 } else { 3 };
    for c in 0..nc {
        let f = &toks[c * per_note..(c + 1) * per_note];
        let note = Note::parse(f[0].1).ok_or_else(|| {
            grid.err(
                f[0].0,
                format!(
                    "{context}: `{}` is not a note; write C-4, C#4 .. B-9, OFF or ...",
                    f[0].1
                ),
            )
        })?;
        let instrument = match field_hex(f[1].1) {
            Some(Some(0)) => {
                return Err(grid.err(
                    f[1].0,
                    format!("{context}: instrument 00 does not exist; write .. for none"),
                ));
            }
            Some(v) => v.unwrap_or(0),
            None => {
                return Err(grid.err(
                    f[1].0,
                    format!("{context}: `{}` is not an instrument (.. or 01-FF)", f[1].1),
                ));
            }
        };
        let volume = match field_hex(f[2].1) {
            Some(None) => NoteCell::NO_VOLUME,
            Some(Some(v)) if v <= NoteCell::FULL_VOLUME => v,
            Some(Some(v)) => {
                return Err(grid.err(f[2].0, format!("{context}: volume {v:02X} is above 40")));
            }
            None => {
                return Err(grid.err(
                    f[2].0,
                    format!("{context}: `{}` is not a volume (.. or 00-40)", f[2].1),
                ));
            }
        };
        let delay = if with_delay {
            field_hex(f[3].1).ok_or_else(|| {
                grid.err(
                    f[3].0,
                    format!(
                        "{context}: `{}` is not a delay (.. or 00-FF); with {} fields each note column has a delay",
                        f[3].1, delayed
                    ),
                )
            })?
        } else {
            None
        };
        *pattern.note_mut(t, row, c) = NoteCell {
            note,
            instrument,
            volume,
            delay: delay.unwrap_or(0),
        };
    }
    for (e, &(at, text)) in toks[nc * per_note..].iter().enumerate() {
        let effect = parse_effect(text).ok_or_else(|| {
            grid.err(at, format!("{context}: `{text}` is not an effect (... or a command 0-9/A-Z and two hex digits)"))
        })?;
        *pattern.effect_mut(t, row, e) = effect;
    }
    Ok(())
}

/// `..` → `Some(None)`, two hex digits → `Some(Some(v))`, anything else → `None`.
fn field_hex(s: &str) -> Option<Option<u8>> {
    if s == ".." {
        return Some(None);
    }
    hex2(s).map(Some)
}

fn hex2(s: &str) -> Option<u8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u8::from_str_radix(s, 16).ok())
        .flatten()
}

fn parse_effect(s: &str) -> Option<EffectCell> {
    if s == "..." {
        return Some(EffectCell::EMPTY);
    }
    let command = *s.as_bytes().first()?;
    if s.len() != 3 || !command.is_ascii_alphanumeric() {
        return None;
    }
    let param = hex2(s.get(1..)?)?;
    Some(EffectCell {
        command: command.to_ascii_uppercase(),
        param,
    })
}

fn hex_or_dots(v: u8, empty: u8) -> String {
    if v == empty {
        "..".into()
    } else {
        format!("{v:02X}")
    }
}

pub(super) fn write_pattern(out: &mut String, index: usize, p: &Pattern, tracks: &[Track]) {
    *out += "\n[[pattern]]\n";
    *out += &format!("index = {index}\n");
    if !p.name.is_empty() {
        *out += &format!("name = {}\n", toml_string(&p.name));
    }
    *out += &format!("rows = {}\n", p.rows);
    write_grid(out, p, tracks);
}

/// Writes `data = """…"""` with the rows of `p` for `tracks`.
pub(super) fn write_grid(out: &mut String, p: &Pattern, tracks: &[Track]) {
    *out += "data = \"\"\"\n";
    let rows = p.rows as usize;
    let width = if p.rows <= 100 { 2 } else { 3 };
    // A pattern track writes delay fields when its track shows them or any of its cells has one.
    let delays: Vec<bool> = tracks
        .iter()
        .enumerate()
        .map(|(t, tr)| tr.show_delay || p.tracks[t].notes.iter().any(|c| c.delay != 0))
        .collect();
    for row in 0..rows {
        *out += &format!("{row:0width$}");
        for (t, track) in tracks.iter().enumerate() {
            *out += " |";
            for c in 0..track.note_columns as usize {
                let cell = p.note(t, row, c);
                *out += &format!(
                    " {} {} {}",
                    cell.note,
                    hex_or_dots(cell.instrument, 0),
                    hex_or_dots(cell.volume, NoteCell::NO_VOLUME)
                );
                if delays[t] {
                    *out += " ";
                    *out += &hex_or_dots(cell.delay, 0);
                }
            }
            for e in 0..track.effect_columns as usize {
                *out += &format!(" {}", p.effect(t, row, e));
            }
        }
        *out += "\n";
    }
    *out += "\"\"\"\n";
}
