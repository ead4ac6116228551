//! Drawing: pure functions of `&App` into a ratatui frame. No state changes here; scroll positions
//! are derived from the cursor.

use super::app::{App, Field, Popup, View};
use super::commands::{COMMANDS, Scope};
use crate::model::{InstrumentKind, NoteCell};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Styles by role. 16-colour defaults; only modifiers when `NO_COLOR` is set.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    /// Plain text.
    pub text: Style,
    /// Dim text (empty fields, hints).
    pub dim: Style,
    /// The cursor field.
    pub cursor: Style,
    /// The row being played.
    pub playhead: Style,
    /// Rows on a beat.
    pub beat: Style,
    /// Notes.
    pub note: Style,
    /// Instrument numbers.
    pub instrument: Style,
    /// Volumes.
    pub volume: Style,
    /// Effects.
    pub effect: Style,
    /// Title and status.
    pub title: Style,
    /// Edit mode indicator.
    pub edit: Style,
    /// The block selection.
    pub selection: Style,
    /// Meter cells near full scale (the top 6 dB).
    pub meter_hot: Style,
    /// Whether colours may be used (section colours in the matrix).
    pub colour: bool,
}

impl Theme {
    /// The theme for this terminal: colours unless `NO_COLOR` is set (to anything non-empty).
    pub fn detect() -> Theme {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Theme::mono()
        } else {
            Theme::color()
        }
    }

    /// 16-colour theme.
    pub fn color() -> Theme {
        let s = Style::default();
        Theme {
            text: s,
            dim: s.fg(Color::DarkGray),
            cursor: s.add_modifier(Modifier::REVERSED),
            playhead: s.bg(Color::Blue).fg(Color::White),
            beat: s.add_modifier(Modifier::BOLD),
            note: s.fg(Color::White),
            instrument: s.fg(Color::Cyan),
            volume: s.fg(Color::Green),
            effect: s.fg(Color::Magenta),
            title: s.fg(Color::Black).bg(Color::Cyan),
            edit: s
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            selection: s.bg(Color::DarkGray).fg(Color::White),
            meter_hot: s.fg(Color::Red),
            colour: true,
        }
    }

    /// Modifiers only.
    pub fn mono() -> Theme {
        let s = Style::default();
        Theme {
            text: s,
            dim: s.add_modifier(Modifier::DIM),
            cursor: s.add_modifier(Modifier::REVERSED),
            playhead: s.add_modifier(Modifier::UNDERLINED),
            beat: s.add_modifier(Modifier::BOLD),
            note: s,
            instrument: s,
            volume: s,
            effect: s,
            title: s.add_modifier(Modifier::REVERSED),
            edit: s.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            selection: s.add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
            meter_hot: s.add_modifier(Modifier::BOLD),
            colour: false,
        }
    }
}

/// Draws `lines` in a bordered panel `width` columns wide (at most the screen), centred over
/// the screen.
pub fn draw_panel(f: &mut Frame, lines: Vec<Line<'_>>, width: u16) {
    let area = f.area();
    let w = width.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.width.saturating_sub(w) / 2,
        y: area.height.saturating_sub(h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL)),
        rect,
    );
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App, theme: &Theme) {
    let [status, view, message] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    draw_status(f, status, app, theme);
    match app.view {
        View::Pattern => draw_pattern(f, view, app, theme),
        View::Arrangement => super::matrix_view::draw_matrix(f, view, app, theme),
        View::Instruments => draw_instruments(f, view, app, theme),
        View::Mixer => super::mixer_view::draw_mixer(f, view, app, theme),
        View::Help => draw_help(f, view, app, theme),
    }
    f.render_widget(
        Paragraph::new(app.message.as_str()).style(theme.text),
        message,
    );
    for p in &app.popups {
        draw_popup(f, app, p, theme);
    }
}

fn clock(secs: f64) -> String {
    let m = (secs / 60.0).floor();
    format!("{}:{:04.1}", m as u64, secs - m * 60.0)
}

fn draw_status(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let st = app.engine.as_ref().map(|h| *h.status()).unwrap_or_default();
    let pos = st.position;
    // The engine counts frames since play started; stopped, the clock shows 0.
    let secs = if st.playing {
        pos.frame as f64 / app.rate as f64
    } else {
        0.0
    };
    let play = if st.playing { "▶" } else { "■" };
    let line1 = format!(
        " ttrack  {}{}  {play} ord {:02} pat {:02} row {:02}  {}  {} BPM  LPB {}  TPL {} ",
        app.name(),
        if app.dirty { " [+]" } else { "" },
        pos.order,
        pos.pattern,
        pos.row,
        clock(secs),
        app.song.bpm,
        app.song.lpb,
        app.song.tpl,
    );
    let inst = app
        .song
        .instrument(app.instrument)
        .map_or("(empty)", |i| i.name.as_str());
    let mut audio = if app.audio.silent || app.audio.lost {
        app.audio.description.clone()
    } else {
        format!(
            "{}  load {:.0}%  xruns {}",
            app.audio.description, app.audio.load_percent, app.audio.xruns
        )
    };
    // Overflows are shown, never silent: a command backlog, dropped reports, parked garbage.
    if let Some(h) = app.engine.as_ref() {
        let st = h.status();
        if h.backlog_len() > 0 {
            audio.push_str(&format!("  backlog {}", h.backlog_len()));
        }
        if st.reports_dropped > 0 {
            audio.push_str(&format!("  reports dropped {}", st.reports_dropped));
        }
        if st.garbage_parked > 0 {
            audio.push_str(&format!("  garbage parked {}", st.garbage_parked));
        }
    }
    let mode = if let Some(t) = app.armed_track() {
        Span::styled(format!(" REC audio T{:02} ", t + 1), theme.edit)
    } else if app.recording() {
        Span::styled(" REC ", theme.edit)
    } else if app.edit_mode {
        Span::styled(" EDIT ", theme.edit)
    } else {
        Span::styled(" play ", theme.dim)
    };
    let line2 = Line::from(vec![
        mode,
        Span::raw(format!(
            " oct {}  step {}  ins {:02X} {}",
            app.octave, app.step, app.instrument, inst
        )),
        Span::raw(if app.follow { "  follow" } else { "" }),
        Span::raw(match app.rec.quantize {
            0 => String::new(),
            q => format!("  q{q}"),
        }),
        Span::raw(input_meter(app)),
        Span::styled(format!("  │ {audio}"), theme.dim),
    ]);
    let tab = |key: &str, name: &str, on: bool| {
        Span::styled(
            format!(" {key} {name} "),
            if on { theme.cursor } else { theme.dim },
        )
    };
    let line3 = Line::from(vec![
        tab("F1", "help", app.view == View::Help),
        tab("F2", "pattern", app.view == View::Pattern),
        tab("F3", "arrangement", app.view == View::Arrangement),
        tab("F4", "instruments", app.view == View::Instruments),
        tab("F5", "mixer", app.view == View::Mixer),
        Span::styled(" Esc edit  Space play  C-s save  C-q quit", theme.dim),
    ]);
    f.render_widget(
        Paragraph::new(vec![Line::styled(line1, theme.title), line2, line3]),
        area,
    );
}

/// The input level for the status line once an input is open: `  in ▮▮▮▮▯▯▯▯ -18 dB`, with
/// the overruns of the input when there were any (never silent).
pub fn input_meter(app: &App) -> String {
    let Some(state) = app.input_state() else {
        return String::new();
    };
    let db = app.arec.level_db;
    let lit = (((db + 48.0) / 6.0).ceil().clamp(0.0, 8.0)) as usize;
    let bar: String = (0..8).map(|i| if i < lit { '▮' } else { '▯' }).collect();
    let level = if db > -96.0 {
        format!("{db:.0} dB")
    } else {
        "-inf".into()
    };
    let over = match state.overruns() {
        0 => String::new(),
        n => format!(" overruns {n}"),
    };
    format!("  in {bar} {level}{over}")
}

/// Character widths of one track's columns.
/// Width of a folded group's column.
const FOLDED_W: usize = 16;

fn track_width(app: &App, t: usize) -> usize {
    if app.folded_group_at(t).is_some() {
        return FOLDED_W;
    }
    let tr = &app.song.tracks[t];
    let note = if tr.show_delay { 12 } else { 9 };
    tr.note_columns as usize * (note + 1) + tr.effect_columns as usize * 4
}

fn draw_pattern(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(pat) = app.song.patterns.get(app.pattern) else {
        return;
    };
    let rows = pat.rows as usize;
    let row_w = if rows > 100 { 3 } else { 2 };
    let width = area.width as usize;
    // Leftmost track so that the cursor's track is fully visible.
    let mut left = 0;
    loop {
        let span: usize = (left..=app.cursor.track)
            .filter(|&t| !app.hidden_by_fold(t))
            .map(|t| track_width(app, t) + 1)
            .sum::<usize>()
            + row_w
            + 1;
        if span <= width || left >= app.cursor.track {
            break;
        }
        left += 1;
    }
    let mut tracks = Vec::new();
    let mut used = row_w + 1;
    for t in (left..app.song.tracks.len()).filter(|&t| !app.hidden_by_fold(t)) {
        let w = track_width(app, t) + 1;
        if used + w > width && !tracks.is_empty() {
            break;
        }
        tracks.push(t);
        used += w;
    }
    let body = area.height.saturating_sub(1) as usize;
    let top = app
        .cursor
        .row
        .saturating_sub(body / 2)
        .min(rows.saturating_sub(body));
    let status = app.engine.as_ref().map(|h| *h.status()).unwrap_or_default();
    let play_row =
        (status.playing && status.position.pattern == app.pattern).then_some(status.position.row);

    let buf = f.buffer_mut();
    let (x0, y0, right) = (area.x, area.y, area.x + area.width);
    // Writes `text` at (x, y) in `style`, clipped to the area; returns the next x. Drawing goes
    // straight into the buffer: no string per cell, which keeps a 200×60 frame well under 2 ms.
    let put =
        |buf: &mut ratatui::buffer::Buffer, x: u16, y: u16, text: &str, style: Style| -> u16 {
            let mut x = x;
            for ch in text.chars() {
                if x >= right {
                    break;
                }
                buf[(x, y)].set_char(ch).set_style(style);
                x += 1;
            }
            x
        };
    let mut x = put(
        buf,
        x0,
        y0,
        &format!("{:>w$} ", format!("{:02}", app.pattern), w = row_w),
        theme.dim,
    );
    for &t in &tracks {
        let w = track_width(app, t);
        let tr = &app.song.tracks[t];
        let frozen = if tr.frozen.is_some() { "*" } else { "" };
        let label = match app.folded_group_at(t) {
            Some(g) => {
                let members = app.song.tracks.iter().filter(|x| x.group == Some(g as u8));
                format!("▸{} ({})", app.song.groups[g].name, members.count())
            }
            None => format!("{:02}{frozen} {}", t + 1, tr.name),
        };
        let label: String = label.chars().take(w).collect();
        x = put(buf, x, y0, &format!("│{label:<w$}"), theme.title);
    }
    let (sel_r0, sel_r1, sel_t0, sel_t1) = app.block();
    let mut hex = [0u8; 2];
    for (i, row) in (top..(top + body).min(rows)).enumerate() {
        let y = y0 + 1 + i as u16;
        let beat = row % app.song.lpb.max(1) as usize == 0;
        let base = if play_row == Some(row) {
            theme.playhead
        } else if beat {
            theme.beat
        } else {
            theme.text
        };
        let mut x = put(
            buf,
            x0,
            y,
            &format!("{:0w$} ", row, w = row_w),
            if beat { theme.beat } else { theme.dim },
        );
        for &t in &tracks {
            x = put(buf, x, y, "│", theme.dim);
            if let Some(g) = app.folded_group_at(t) {
                // A folded group: the first note on this row among its tracks, and how many more.
                let mut notes = app
                    .song
                    .tracks
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| x.group == Some(g as u8))
                    .flat_map(|(k, x)| {
                        (0..x.note_columns as usize).map(move |c| pat.note(k, row, c).note)
                    })
                    .filter(|n| *n != crate::model::Note::Empty);
                let text = match notes.next() {
                    Some(n) => {
                        let more = notes.count();
                        if more > 0 {
                            format!("{n} +{more}")
                        } else {
                            n.to_string()
                        }
                    }
                    None => "···".to_string(),
                };
                let st = if row == app.cursor.row && t == app.cursor.track {
                    theme.cursor
                } else if text.starts_with('·') {
                    theme.dim.patch(base)
                } else {
                    theme.note.patch(base)
                };
                x = put(buf, x, y, &format!("{text:<FOLDED_W$}"), st);
                continue;
            }
            let tr = &app.song.tracks[t];
            let selected = app.selection.is_some()
                && (sel_r0..=sel_r1).contains(&row)
                && (sel_t0..=sel_t1).contains(&t);
            let row_style = if selected { theme.selection } else { base };
            let on_cursor = |field: Field| {
                row == app.cursor.row && t == app.cursor.track && app.cursor.field == field
            };
            let style = |st: Style, field: Field| {
                if on_cursor(field) {
                    theme.cursor
                } else {
                    st.patch(row_style)
                }
            };
            for col in 0..tr.note_columns as usize {
                let c = pat.note(t, row, col);
                let note_st = if c.note == crate::model::Note::Empty {
                    theme.dim
                } else {
                    theme.note
                };
                let note = c.note.to_string();
                x = put(buf, x, y, &note, style(note_st, Field::Note { col, f: 0 }));
                let fields = [
                    (c.instrument, c.instrument == 0, theme.instrument, 1u8),
                    (c.volume, c.volume == NoteCell::NO_VOLUME, theme.volume, 3),
                    (c.delay, c.delay == 0, theme.volume, 5),
                ];
                for (k, &(v, empty, st, f0)) in fields.iter().enumerate() {
                    if k == 2 && !tr.show_delay {
                        break;
                    }
                    x = put(buf, x, y, " ", row_style);
                    let st = if empty { theme.dim } else { st };
                    let text = if empty {
                        *b".."
                    } else {
                        const HEX: &[u8; 16] = b"0123456789ABCDEF";
                        hex[0] = HEX[(v >> 4) as usize];
                        hex[1] = HEX[(v & 15) as usize];
                        hex
                    };
                    for (d, ch) in text.iter().enumerate() {
                        let field = Field::Note {
                            col,
                            f: f0 + d as u8,
                        };
                        x = put(
                            buf,
                            x,
                            y,
                            std::str::from_utf8(std::slice::from_ref(ch)).unwrap_or("?"),
                            style(st, field),
                        );
                    }
                }
                x = put(buf, x, y, " ", row_style);
            }
            for col in 0..tr.effect_columns as usize {
                let e = pat.effect(t, row, col);
                let st = if e.is_empty() {
                    theme.dim
                } else {
                    theme.effect
                };
                let text = e.to_string();
                for (fi, ch) in text.char_indices() {
                    let field = Field::Effect { col, f: fi as u8 };
                    x = put(buf, x, y, &text[fi..fi + ch.len_utf8()], style(st, field));
                }
                x = put(buf, x, y, " ", row_style);
            }
        }
    }
}

fn draw_instruments(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let body = list_area.height.saturating_sub(1) as usize;
    let top = app.instrument_cursor.saturating_sub(body / 2);
    let mut lines = vec![Line::styled(
        " Instruments: n new  l load  r rename",
        theme.title,
    )];
    for i in top..(top + body).min(255) {
        let inst = app.song.instruments.get(i).and_then(|x| x.as_ref());
        let (name, kind) = match inst {
            Some(inst) => (
                inst.name.clone(),
                match &inst.kind {
                    InstrumentKind::Synth(_) => "synth",
                    InstrumentKind::Sampler(_) => "sample",
                },
            ),
            None => (String::new(), ""),
        };
        let mark = if i + 1 == app.instrument as usize {
            "*"
        } else {
            " "
        };
        let st = if i == app.instrument_cursor {
            theme.cursor
        } else {
            theme.text
        };
        lines.push(Line::styled(
            format!("{mark}{:02X} {:<20} {kind}", i + 1, name),
            st,
        ));
    }
    f.render_widget(Paragraph::new(lines), list_area);
    let mut detail = Vec::new();
    match app
        .song
        .instruments
        .get(app.instrument_cursor)
        .and_then(|x| x.as_ref())
    {
        Some(inst) => {
            let kind = match &inst.kind {
                InstrumentKind::Synth(_) => "built-in synth".to_string(),
                InstrumentKind::Sampler(s) => format!(
                    "sample: {} Hz, {} ch, {}-bit, {} frames",
                    s.sample.rate, s.sample.channels, s.sample.bits, s.sample.frames
                ),
            };
            detail.push(Line::styled(
                format!(" {:02X} {} ({kind})", app.instrument_cursor + 1, inst.name),
                theme.title,
            ));
            let names = super::instruments::param_names(inst);
            let body = detail_area.height.saturating_sub(2) as usize;
            let top = app.param.saturating_sub(body / 2);
            for (k, name) in names.iter().enumerate().skip(top).take(body) {
                let st = if k == app.param {
                    theme.cursor
                } else {
                    theme.text
                };
                detail.push(Line::styled(
                    format!(" {:<20} {}", name, super::instruments::param_value(inst, k)),
                    st,
                ));
            }
            detail.push(Line::styled(
                " Tab parameter  ←/→ change  Shift fine",
                theme.dim,
            ));
        }
        None => detail.push(Line::styled(
            " empty slot: n makes a synth, l loads a WAV",
            theme.dim,
        )),
    }
    f.render_widget(Paragraph::new(detail), detail_area);
}

fn draw_help(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = vec![Line::styled(
        " Help: keys from the live keymap (any other key closes)",
        theme.title,
    )];
    for scope in Scope::ALL {
        lines.push(Line::styled(format!("[{}]", scope.name()), theme.beat));
        let mut piano = Vec::new();
        for c in COMMANDS.iter().filter(|c| c.scope == scope) {
            let keys: Vec<String> = app
                .keymap
                .keys_for(scope, c.action)
                .iter()
                .map(|k| k.to_string())
                .collect();
            if c.name.starts_with("piano.") {
                piano.extend(keys);
                continue;
            }
            lines.push(Line::from(format!("  {:<14} {}", keys.join(" "), c.help)));
        }
        if !piano.is_empty() {
            lines.push(Line::from(format!(
                "  piano keys     {}  (C of the octave upwards, FT2 layout)",
                piano.join(" ")
            )));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.help_scroll, 0)),
        area,
    );
}

fn draw_picker(f: &mut Frame, p: &super::instruments::FilePicker, theme: &Theme) {
    let area = f.area();
    let w = area.width.saturating_sub(8).clamp(20, 70);
    let h = area.height.saturating_sub(4).max(5);
    let rect = Rect {
        x: area.width.saturating_sub(w) / 2,
        y: 2.min(area.height),
        width: w,
        height: h,
    };
    let body = h.saturating_sub(3) as usize;
    let top = p.cursor.saturating_sub(body / 2);
    let mut lines = Vec::new();
    for (i, (name, dir)) in p.entries.iter().enumerate().skip(top).take(body) {
        let text = if *dir {
            format!("{name}/")
        } else {
            name.clone()
        };
        lines.push(Line::styled(
            text,
            if i == p.cursor {
                theme.cursor
            } else {
                theme.text
            },
        ));
    }
    lines.push(Line::styled(
        "Enter open/load  Backspace up  Esc cancel",
        theme.dim,
    ));
    let title = format!(" Load a WAV into slot {:02X}: {} ", p.slot, p.dir.display());
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        rect,
    );
}

fn draw_popup(f: &mut Frame, app: &App, p: &Popup, theme: &Theme) {
    let recover;
    let text = match p {
        Popup::Picker(picker) => return draw_picker(f, picker, theme),
        Popup::Takes(panel) => return super::takes::draw_takes(f, app, panel, theme),
        Popup::Devices(panel) => return super::record::draw_devices(f, app, panel, theme),
        Popup::Path { purpose, text } => {
            let what = match purpose {
                super::app::PathPurpose::SaveAs => "Save as",
                super::app::PathPurpose::Open => "Open",
                super::app::PathPurpose::Render => "Render to",
                super::app::PathPurpose::RenderSelection => "Render selection to",
            };
            recover = format!("{what}: {text}_   (Enter: go, Esc: cancel)");
            recover.as_str()
        }
        Popup::SectionName { text } => {
            recover = format!(
                "Section name: {text}_   (Enter: name it, empty: no section here, Esc: cancel)"
            );
            recover.as_str()
        }
        Popup::Rename { slot, text } => {
            recover =
                format!("Name of instrument {slot:02X}: {text}_   (Enter keeps it, Esc cancels)");
            recover.as_str()
        }
        Popup::ConfirmQuit => {
            "Save changes? y = save and quit, n = quit without saving, Esc = cancel"
        }
        Popup::Recover(path) => {
            recover = format!(
                "A recovery file newer than the song exists ({}). r = restore it, d = discard it, Esc = keep it",
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            );
            recover.as_str()
        }
    };
    let area = f.area();
    let w = (text.chars().count() as u16 + 4).min(area.width).max(10);
    let inner = (w - 4).max(1) as usize;
    let h = (text.chars().count().div_ceil(inner) as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.width.saturating_sub(w) / 2,
        y: area.height.saturating_sub(h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .padding(ratatui::widgets::Padding::horizontal(1)),
            )
            .style(theme.text),
        rect,
    );
}
