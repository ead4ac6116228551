//! The arrangement tables of a text song: the playback loop range, `[[section]]` and `[[mute]]`;
//! and the `[track.frozen]` table of a frozen track (its audio file, the frame where each order
//! position starts in it, and its hidden cells as `[[track.frozen.pattern]]` grids).
//!
//! ```toml
//! loop = [2, 5]            # order positions, first and last (inclusive)
//!
//! [[section]]
//! start = 2                # order position where the section starts
//! name = "Verse"
//! colour = "yellow"
//!
//! [[mute]]
//! position = 3             # order position
//! tracks = [1, 4]          # track numbers (1-based) whose slice is muted there
//! ```

use super::grid::{Grid, origin_of, parse_grid, write_grid};
use super::read::{Res, Src, Tbl};
use super::write::toml_string;
use crate::format::wav::read_wav;
use crate::model::arrange::{Arrangement, Frozen, MAX_SECTION_NAME, SECTION_COLOURS, Section};
use crate::model::limits::{MAX_ORDER, MAX_PATTERNS, MAX_ROWS};
use crate::model::{Pattern, Song, Track};
use std::path::Path;
use std::sync::Arc;
use toml::de::DeValue;

const SECTION_KEYS: &[&str] = &["start", "name", "colour"];
const MUTE_KEYS: &[&str] = &["position", "tracks"];

/// Reads `loop`, `[[section]]` and `[[mute]]` for an order list of `entries` positions and
/// `tracks` tracks.
pub(super) fn read(root: &Tbl<'_>, entries: usize, tracks: usize) -> Res<Arrangement> {
    let last = entries as i128 - 1;
    let mut a = Arrangement::default();
    if let Some(v) = root.get("loop") {
        let bad = || {
            root.err(
                v.span().start,
                format!("`loop` must be two order positions [first, last] within 0..={last}"),
            )
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(bad());
        };
        if items.len() != 2 {
            return Err(bad());
        }
        let a0 = root.int_of("loop", &items[0])?;
        let a1 = root.int_of("loop", &items[1])?;
        if !(0..=last).contains(&a0) || !(a0..=last).contains(&a1) {
            return Err(bad());
        }
        a.loop_range = Some((a0 as u16, a1 as u16));
    }
    for t in root.tables("section")? {
        t.deny_unknown(SECTION_KEYS)?;
        let start = t.req_int("start", 0, last)? as u16;
        if a.sections.last().is_some_and(|s| s.start >= start) {
            return Err(t.err(
                t.at,
                "sections must be listed in order, each starting at a later order position",
            ));
        }
        let name = t.str("name")?.map_or(String::new(), |(s, _)| s.to_string());
        if name.len() > MAX_SECTION_NAME {
            return Err(t.err(
                t.at,
                format!("a section name may be at most {MAX_SECTION_NAME} bytes"),
            ));
        }
        let colour = match t.str("colour")? {
            None => 0,
            Some((c, at)) => SECTION_COLOURS
                .iter()
                .position(|&n| n == c)
                .ok_or_else(|| {
                    t.err(
                        at,
                        format!(
                            "unknown colour \"{c}\"; the colours are {}",
                            SECTION_COLOURS.join(", ")
                        ),
                    )
                })? as u8,
        };
        a.sections.push(Section {
            start,
            name,
            colour,
        });
    }
    for t in root.tables("mute")? {
        t.deny_unknown(MUTE_KEYS)?;
        let pos = t.req_int("position", 0, last)? as usize;
        let Some(v) = t.get("tracks") else {
            return Err(t.missing("tracks"));
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(t.type_err("tracks", v, "an array of track numbers"));
        };
        if a.mutes.len() <= pos {
            a.mutes.resize(pos + 1, 0);
        }
        for item in items.iter() {
            let n = t.int_of("tracks", item)?;
            if n < 1 || n > tracks as i128 {
                return Err(t.err(
                    item.span().start,
                    format!("track {n} does not exist; the tracks are 1..={tracks}"),
                ));
            }
            a.mutes[pos] |= 1u64 << (n - 1);
        }
    }
    while a.mutes.last() == Some(&0) {
        a.mutes.pop();
    }
    Ok(a)
}

/// Writes the arrangement tables (nothing for a song without any).
pub(super) fn write(out: &mut String, song: &Song) {
    let a = &song.arrangement;
    if let Some((x, y)) = a.loop_range {
        *out += &format!("loop = [{x}, {y}]\n");
    }
    for s in &a.sections {
        *out += "\n[[section]]\n";
        *out += &format!("start = {}\n", s.start);
        *out += &format!("name = {}\n", toml_string(&s.name));
        let colour = SECTION_COLOURS
            .get(s.colour as usize)
            .copied()
            .unwrap_or(SECTION_COLOURS[0]);
        *out += &format!("colour = \"{colour}\"\n");
    }
    for (pos, &m) in a.mutes.iter().enumerate() {
        if m == 0 {
            continue;
        }
        let tracks: Vec<String> = (0..64)
            .filter(|t| m & (1u64 << t) != 0)
            .map(|t| (t + 1).to_string())
            .collect();
        *out += "\n[[mute]]\n";
        *out += &format!("position = {pos}\ntracks = [{}]\n", tracks.join(", "));
    }
}

const FROZEN_KEYS: &[&str] = &["audio", "starts", "pattern"];
const FROZEN_PATTERN_KEYS: &[&str] = &["index", "rows", "data"];

/// Writes a frozen track's `[track.frozen]` table (its audio is at `audio`, relative to the song)
/// and its hidden cells as `[[track.frozen.pattern]]` grids of that track alone.
pub(super) fn write_frozen(out: &mut String, track: &Track, f: &Frozen, audio: &str) {
    *out += "\n[track.frozen]\n";
    *out += &format!("audio = {}\n", toml_string(audio));
    let starts: Vec<String> = f
        .starts
        .iter()
        .map(|s| s.map_or("-1".to_string(), |v| v.to_string()))
        .collect();
    *out += &format!("starts = [{}]\n", starts.join(", "));
    let alone = Track {
        frozen: None,
        ..track.clone()
    };
    let nc = track.note_columns.max(1) as usize;
    for (i, pt) in f.cells.iter().enumerate() {
        let rows = pt.notes.len() / nc;
        let p = Pattern {
            name: String::new(),
            rows: rows as u32,
            tracks: vec![pt.clone()],
        };
        *out += "\n[[track.frozen.pattern]]\n";
        *out += &format!("index = {i}\nrows = {rows}\n");
        write_grid(out, &p, std::slice::from_ref(&alone));
    }
}

/// Reads `[track.frozen]` of track table `t` (for `track`, its columns already known), loading
/// the audio from `song_dir`.
pub(super) fn read_frozen(
    src: &Src<'_>,
    t: &Tbl<'_>,
    track: &Track,
    song_dir: &Path,
) -> Res<Option<Box<Frozen>>> {
    let Some(f) = t.table("frozen")? else {
        return Ok(None);
    };
    f.deny_unknown(FROZEN_KEYS)?;
    let (path, at) = f.str("audio")?.ok_or_else(|| f.missing("audio"))?;
    let mut audio = read_wav(song_dir.join(path))
        .map_err(|e| f.err(at, format!("cannot load the frozen audio \"{path}\": {e}")))?;
    if audio.channels != 2 {
        return Err(f.err(at, format!("the frozen audio \"{path}\" must be stereo")));
    }
    audio.source = Some(path.to_string());
    audio.bits = 32;
    audio.float = true;
    let frames = audio.frames as i128;
    let Some(v) = f.get("starts") else {
        return Err(f.missing("starts"));
    };
    let DeValue::Array(items) = v.get_ref() else {
        return Err(f.type_err("starts", v, "an array of frames (-1: never reached)"));
    };
    if items.len() > MAX_ORDER {
        return Err(f.err(v.span().start, "more starts than order positions"));
    }
    let mut starts = Vec::with_capacity(items.len());
    for item in items.iter() {
        let n = f.int_of("starts", item)?;
        if n < -1 || n > frames {
            return Err(f.err(
                item.span().start,
                format!("a start must be -1 or a frame of the audio (0..={frames})"),
            ));
        }
        starts.push((n >= 0).then_some(n as u64));
    }
    let alone = Track {
        frozen: None,
        ..track.clone()
    };
    let tables = f.tables("pattern")?;
    if tables.len() > MAX_PATTERNS {
        return Err(f.err(f.at, format!("more than {MAX_PATTERNS} hidden patterns")));
    }
    let mut cells = Vec::with_capacity(tables.len());
    for (i, p) in tables.iter().enumerate() {
        p.deny_unknown(FROZEN_PATTERN_KEYS)?;
        let index = p.req_int("index", 0, MAX_PATTERNS as i128 - 1)? as usize;
        if index != i {
            return Err(p.err(p.at, format!("hidden pattern {i} is numbered {index}")));
        }
        let rows = p.req_int("rows", 1, MAX_ROWS as i128)? as usize;
        let Some(data) = p.get("data") else {
            return Err(p.missing("data"));
        };
        let DeValue::String(text) = data.get_ref() else {
            return Err(p.type_err("data", data, "a string (use \"\"\" for several lines)"));
        };
        let grid = Grid {
            src,
            origin: origin_of(src, data.span(), text),
            data: text,
            pattern: index,
        };
        let mut pattern = parse_grid(&grid, rows, std::slice::from_ref(&alone))?;
        cells.push(pattern.tracks.remove(0));
    }
    Ok(Some(Box::new(Frozen {
        audio: Arc::new(audio),
        starts,
        cells,
    })))
}
