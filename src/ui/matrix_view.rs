//! Drawing the pattern matrix: one line per order position (loop marker, section colour and
//! name, position, pattern, play marker), then one cell per track showing whether the track has
//! notes in that slice (`████`), none (`  · `), or is muted there (`░░░░`). Sideways it scrolls
//! to keep the cursor's track in view, downwards to keep the cursor's position in view. A pure
//! function of `&App`.

use super::app::App;
use super::view::Theme;
use crate::model::arrange::SECTION_COLOURS;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

/// Width of one track cell, with the space after it.
pub const CELL_W: u16 = 5;
/// Width of the section name column.
const NAME_W: usize = 10;
/// Columns before the first track: loop mark, colour bar, name, position, pattern, play mark,
/// separator.
const LEFT_W: u16 = 1 + 1 + NAME_W as u16 + 1 + 3 + 4 + 2 + 2;

/// The colour of section colour index `c`.
fn section_colour(c: u8) -> Color {
    match SECTION_COLOURS.get(c as usize).copied().unwrap_or("grey") {
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "white" => Color::White,
        _ => Color::Gray,
    }
}

/// Writes `text` at (x, y) clipped to `right`; returns the next x.
fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) -> u16 {
    let mut x = x;
    for ch in text.chars() {
        if x >= right {
            break;
        }
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_char(ch).set_style(style);
        }
        x += 1;
    }
    x
}

/// First track shown so that `cursor` is visible with `fit` tracks on screen.
fn first_track(cursor: usize, tracks: usize, fit: usize) -> usize {
    let fit = fit.max(1);
    if tracks <= fit {
        0
    } else {
        cursor
            .saturating_sub(fit / 2)
            .min(tracks.saturating_sub(fit))
    }
}

/// Draws the matrix into `area`.
pub fn draw_matrix(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let buf = f.buffer_mut();
    let song = &app.song;
    let right = area.x + area.width;
    let status = app.engine.as_ref().map(|h| *h.status()).unwrap_or_default();
    let entries = song.order.len();
    let cursor = app.order_cursor.min(entries - 1);
    let track_cursor = app.matrix_track.min(song.tracks.len() - 1);
    for y in area.y..area.y + area.height {
        put(
            buf,
            area.x,
            y,
            right,
            &" ".repeat(area.width as usize),
            theme.text,
        );
    }
    // Title: entry count, loop range, restart.
    let mut title = format!(
        " Arrangement: {entries} entries, restart {:02}",
        song.restart
    );
    if let Some((a, b)) = song.arrangement.loop_range {
        title += &format!(", loop {a:02}-{b:02}");
    }
    title += &format!(", {} sections", song.arrangement.sections.len());
    let title_w = (title.chars().count() as u16).min(area.width);
    put(buf, area.x, area.y, right, &title, theme.title);
    put(
        buf,
        area.x + title_w,
        area.y,
        right,
        &" ".repeat((area.width - title_w) as usize),
        theme.title,
    );
    if area.height < 5 {
        return;
    }
    let fit = (area.width.saturating_sub(LEFT_W) / CELL_W) as usize;
    let left = first_track(track_cursor, song.tracks.len(), fit);
    let shown = fit.min(song.tracks.len() - left);
    // Two header lines: track numbers and names, the group's name above grouped tracks.
    let (h1, h2) = (area.y + 1, area.y + 2);
    put(buf, area.x, h1, right, "  section     pos pat", theme.dim);
    for k in 0..shown {
        let t = left + k;
        let x = area.x + LEFT_W + k as u16 * CELL_W;
        let st = if t == track_cursor {
            theme.beat
        } else {
            theme.dim
        };
        let head = match song.tracks[t]
            .group
            .and_then(|g| song.groups.get(g as usize))
        {
            Some(g) => format!("{:02}{}", t + 1, g.name.chars().next().unwrap_or('G')),
            None => format!("{:02}", t + 1),
        };
        put(buf, x, h1, right, &head, st);
        let name: String = song.tracks[t].name.chars().take(4).collect();
        put(buf, x, h2, right, &name, st);
    }
    if left > 0 {
        put(buf, area.x + LEFT_W - 2, h1, right, "<", theme.dim);
    }
    if left + shown < song.tracks.len() {
        put(buf, right - 1, h1, right, ">", theme.dim);
    }
    // Body: one line per order position; the bottom line is for the cursor's details.
    let body_top = area.y + 3;
    let body = area.height.saturating_sub(4) as usize;
    let top = if entries <= body {
        0
    } else {
        cursor.saturating_sub(body / 2).min(entries - body)
    };
    for (line, pos) in (top..entries).take(body).enumerate() {
        let y = body_top + line as u16;
        let in_loop = song
            .arrangement
            .loop_range
            .is_some_and(|(a, b)| (a as usize..=b as usize).contains(&pos));
        let mut x = area.x;
        x = put(
            buf,
            x,
            y,
            right,
            if in_loop { "┃" } else { " " },
            theme.volume,
        );
        let section = song.section_at(pos);
        let bar_style = match section {
            Some(k) if theme.colour => theme
                .text
                .fg(section_colour(song.arrangement.sections[k].colour)),
            _ => theme.text,
        };
        x = put(
            buf,
            x,
            y,
            right,
            if section.is_some() { "▌" } else { " " },
            bar_style,
        );
        let name = match section {
            Some(k) if song.arrangement.sections[k].start as usize == pos => {
                let n: String = song.arrangement.sections[k]
                    .name
                    .chars()
                    .take(NAME_W)
                    .collect();
                format!("{n:<NAME_W$}")
            }
            _ => " ".repeat(NAME_W),
        };
        x = put(buf, x, y, right, &name, bar_style);
        let playing = status.playing && status.position.order == pos;
        let pos_style = if pos == cursor {
            theme.cursor
        } else if playing {
            theme.playhead
        } else {
            theme.text
        };
        x = put(buf, x, y, right, " ", theme.text);
        x = put(buf, x, y, right, &format!("{pos:03}"), pos_style);
        x = put(
            buf,
            x,
            y,
            right,
            &format!(" {:02} ", song.order[pos]),
            theme.instrument,
        );
        x = put(
            buf,
            x,
            y,
            right,
            if playing { "▶ " } else { "  " },
            theme.playhead,
        );
        put(buf, x, y, right, "│ ", theme.dim);
        for k in 0..shown {
            let t = left + k;
            let x = area.x + LEFT_W + k as u16 * CELL_W;
            let (text, style) = if song.slice_muted(pos, t) {
                ("░░░░", theme.dim)
            } else if song.slice_has_notes(pos, t) {
                ("████", theme.note)
            } else {
                ("  · ", theme.dim)
            };
            let style = if pos == cursor && t == track_cursor {
                theme.cursor
            } else {
                style
            };
            put(buf, x, y, right, text, style);
        }
    }
    // Details of the cell under the cursor.
    let y = area.y + area.height - 1;
    let p = song.order[cursor] as usize;
    let pattern = &song.patterns[p];
    let mut info = format!(
        " {cursor:03}: pattern {p:02}{} ({} rows), track {} {}",
        if pattern.name.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", pattern.name)
        },
        pattern.rows,
        track_cursor + 1,
        song.tracks[track_cursor].name
    );
    if let Some(k) = song.section_at(cursor) {
        let s = &song.arrangement.sections[k];
        let r = song.section_range(k);
        info += &format!(", section \"{}\" {:02}-{:02}", s.name, r.start, r.end - 1);
    }
    if song.slice_muted(cursor, track_cursor) {
        info += ", muted";
    }
    if song.tracks[track_cursor].frozen.is_some() {
        info += ", frozen";
    }
    let repeats = song.order.iter().filter(|&&q| q as usize == p).count();
    if repeats > 1 {
        info += &format!(", pattern used {repeats}×");
    }
    put(buf, area.x, y, right, &info, theme.dim);
}
