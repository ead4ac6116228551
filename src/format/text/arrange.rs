//! The arrangement tables of a text song: the playback loop range, `[[section]]` and `[[mute]]`.
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

use super::read::{Res, Tbl};
use super::write::toml_string;
use crate::model::Song;
use crate::model::arrange::{Arrangement, MAX_SECTION_NAME, SECTION_COLOURS, Section};
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
