//! Drawing the mixer view: one strip per track, then the reverb and delay returns and the master,
//! each with its name, mute/solo state, a vertical peak/RMS meter with peak hold, level readouts,
//! its rows (volume, pan, sends, inserts; return and mute; master EQ, compressor, limiter) and
//! gain reduction. Strips scroll sideways to keep the cursor strip visible; a wider terminal shows
//! more of them. The detail panel of one effect opens at the right. A pure function of `&App`.

use super::app::App;
use super::mixer::{
    BAND_LABELS, BAND_PARAMS, Detail, EQ_PER_BAND, Fx, METER_FLOOR_DB, MixSnapshot, Row, Strip,
    StripLevel, chan_ref, db_text, pan_text, send_text,
};
use super::view::Theme;
use crate::model::mix::{DelayUnit, Insert};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Width of a strip's text, not counting the separator.
pub const STRIP_W: u16 = 10;
/// Bottom of the meter scale (dBFS).
pub const METER_MIN_DB: f32 = -60.0;
/// Rows of a strip besides its meter: name, mute/solo, two readouts, eight controls, gain
/// reduction.
const FIXED_ROWS: u16 = 13;
/// Meter cells above this level (dBFS) are drawn in the "hot" style.
const HOT_DB: f32 = -6.0;
/// Narrowest detail panel that shows the whole EQ table (six bands of ten columns, labels and
/// borders).
const PANEL_MIN_W: u16 = 69;

/// Writes `text` at (x, y) clipped to `right`; returns the next x.
fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) -> u16 {
    let mut x = x;
    for ch in text.chars() {
        if x >= right {
            break;
        }
        buf[(x, y)].set_char(ch).set_style(style);
        x += 1;
    }
    x
}

/// A level readout: "-3.2", or "-inf" for silence.
fn level_text(db: f32) -> String {
    if db <= METER_FLOOR_DB + 0.5 {
        "-inf".into()
    } else {
        format!("{db:.1}")
    }
}

/// Draws the mixer into `area`.
pub fn draw_mixer(f: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let (strips, panel) = match app.mix.detail {
        Some(d) => {
            // Whole strips on the left (at least the cursor's), the panel takes the rest.
            let n = (area.width.saturating_sub(PANEL_MIN_W) + 1) / (STRIP_W + 1);
            let strips_w = (n.max(1) * (STRIP_W + 1)).min(area.width);
            let panel_w = area.width - strips_w;
            let strips = Rect {
                width: strips_w,
                ..area
            };
            let panel = Rect {
                x: area.x + strips.width,
                width: panel_w,
                ..area
            };
            (strips, Some((panel, d)))
        }
        None => (area, None),
    };
    draw_strips(f.buffer_mut(), strips, app, theme);
    if let Some((panel, d)) = panel {
        draw_detail(f, panel, app, d, theme);
    }
}

/// The first strip shown so that the cursor strip is visible with `fit` strips on screen.
pub fn first_visible(cursor: usize, count: usize, fit: usize) -> usize {
    let fit = fit.max(1);
    cursor
        .saturating_sub(fit - 1)
        .min(count.saturating_sub(fit))
}

fn draw_strips(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let count = Strip::count(&app.song);
    let fit = ((area.width + 1) / (STRIP_W + 1)).max(1) as usize;
    let left = first_visible(app.mix.strip, count, fit);
    let right = area.x + area.width;
    let last = count.min(left + fit) - 1;
    for (k, i) in (left..=last).enumerate() {
        let x = area.x + k as u16 * (STRIP_W + 1);
        // More strips off screen: the outer names say so.
        let edges = (k == 0 && left > 0, i == last && last + 1 < count);
        draw_strip(buf, x, area, app, i, edges, theme);
        let sep_x = x + STRIP_W;
        if sep_x < right {
            for y in area.y..area.y + area.height {
                put(buf, sep_x, y, right, "│", theme.dim);
            }
        }
    }
}

fn draw_strip(
    buf: &mut Buffer,
    x: u16,
    area: Rect,
    app: &App,
    i: usize,
    (more_left, more_right): (bool, bool),
    theme: &Theme,
) {
    let song = &app.song;
    let strip = Strip::at(song, i);
    let right = (x + STRIP_W).min(area.x + area.width);
    let bottom = area.y + area.height;
    let on_cursor = i == app.mix.strip;
    let level = app
        .mix
        .meters
        .strips
        .get(strip.meter_index())
        .copied()
        .unwrap_or_default();
    let mut y = area.y;
    let line = |buf: &mut Buffer, y: &mut u16, text: &str, style: Style| {
        if *y < bottom {
            let t = format!("{text:<w$}", w = STRIP_W as usize);
            put(buf, x, *y, right, &t, style);
        }
        *y += 1;
    };
    // Name.
    let title = match strip {
        Strip::Track(t) => format!(
            "{:02}{} {}",
            t + 1,
            song.tracks[t]
                .group
                .map_or(String::new(), |g| format!("{}", (b'A' + g) as char)),
            strip.name(song)
        ),
        Strip::Group(g) => format!("G{} {}", (b'A' + g as u8) as char, strip.name(song)),
        _ => strip.name(song),
    };
    let w = STRIP_W as usize - more_left as usize - more_right as usize;
    let title: String = title.chars().take(w).collect();
    let title = format!(
        "{}{title:<w$}{}",
        if more_left { "‹" } else { "" },
        if more_right { "›" } else { "" }
    );
    line(
        buf,
        &mut y,
        &title,
        if on_cursor { theme.cursor } else { theme.title },
    );
    // Mute and solo.
    if y < bottom {
        let (mute, solo) = match strip {
            Strip::Track(_) | Strip::Group(_) => {
                let c = strip.chan().and_then(|c| chan_ref(song, c));
                (c.map(|c| c.mute), c.map(|c| c.solo))
            }
            Strip::Reverb => (Some(song.mixer.reverb.mute), None),
            Strip::Delay => (Some(song.mixer.delay.mute), None),
            Strip::Master => (None, None),
        };
        let flag = |on: bool, name: &str| {
            if on {
                (name.to_uppercase(), theme.edit)
            } else {
                (name.to_string(), theme.dim)
            }
        };
        put(buf, x, y, right, &" ".repeat(STRIP_W as usize), theme.text);
        if let Some(m) = mute {
            let (t, st) = flag(m, "mute");
            put(buf, x, y, right, &t, st);
        }
        if let Some(s) = solo {
            let (t, st) = flag(s, "solo");
            put(buf, x + 5, y, right, &t, st);
        }
    }
    y += 1;
    // Meter.
    let meter_h = area.height.saturating_sub(FIXED_ROWS);
    draw_meter(buf, x, y, right, meter_h, &level, theme);
    y += meter_h;
    let peak = level.peak_db[0].max(level.peak_db[1]);
    let rms = level.rms_db[0].max(level.rms_db[1]);
    line(
        buf,
        &mut y,
        &format!("pk{:>8}", level_text(peak)),
        theme.volume,
    );
    line(
        buf,
        &mut y,
        &format!("rms{:>7}", level_text(rms)),
        theme.volume,
    );
    // Rows.
    let rows = strip.rows();
    let row_y = y;
    for (r, row) in rows.iter().enumerate() {
        let (text, dim) = row_text(app, strip, *row);
        let style = if on_cursor && r == app.mix.row {
            theme.cursor
        } else if dim {
            theme.dim
        } else {
            theme.text
        };
        line(buf, &mut y, &text, style);
    }
    // Gain reduction.
    // Gain reduction reads as a negative gain; none reads 0.0, not -0.0.
    let gr = |v: f32| {
        if v < 0.05 {
            "0.0".to_string()
        } else {
            format!("{:.1}", -v)
        }
    };
    match strip {
        Strip::Track(_) | Strip::Group(_) => {
            y = row_y + 8;
            let has_comp = strip
                .chan()
                .and_then(|c| chan_ref(song, c))
                .is_some_and(|c| c.inserts.iter().any(|i| matches!(i, Insert::Compressor(_))));
            if has_comp {
                line(
                    buf,
                    &mut y,
                    &format!("GR{:>8}", gr(level.reduction_db)),
                    theme.effect,
                );
            }
        }
        Strip::Master => {
            let m = &song.mixer.master;
            if m.compressor.on {
                line(
                    buf,
                    &mut y,
                    &format!("C GR{:>6}", gr(level.reduction_db)),
                    theme.effect,
                );
            }
            if m.limiter.on {
                line(
                    buf,
                    &mut y,
                    &format!("L GR{:>6}", gr(app.mix.meters.limiter_db)),
                    theme.effect,
                );
            }
        }
        _ => {}
    }
}

/// The text of one row of a strip (exactly [`STRIP_W`] wide at most) and whether it is dim.
fn row_text(app: &App, strip: Strip, row: Row) -> (String, bool) {
    let song = &app.song;
    let kv = |k: &str, v: String| format!("{k:<4}{v:>6}");
    let on_text = |on: bool| if on { "on" } else { "off" }.to_string();
    let chan = strip.chan().and_then(|c| chan_ref(song, c));
    match (strip, row) {
        (_, Row::Volume) if chan.is_some() => {
            (kv("vol", db_text(chan.map_or(0.0, |c| c.volume_db))), false)
        }
        (Strip::Master, Row::Volume) => (kv("vol", db_text(song.mixer.master.volume_db)), false),
        (_, Row::Pan) if chan.is_some() => {
            (kv("pan", pan_text(chan.map_or(0.0, |c| c.pan))), false)
        }
        (_, Row::Send(b)) if chan.is_some() => {
            let v = chan.map_or(crate::model::mix::OFF_DB, |c| c.sends[b]);
            (
                kv(if b == 0 { "rev" } else { "dly" }, send_text(v)),
                v <= crate::model::mix::OFF_DB,
            )
        }
        (_, Row::Insert(k)) if chan.is_some() => match chan.and_then(|c| c.inserts.get(k)) {
            Some(i) => (
                format!("{} {:<4}{:>4}", k + 1, i.name(), on_text(i.is_on())),
                !i.is_on(),
            ),
            None => (format!("{} ·", k + 1), true),
        },
        (Strip::Reverb, Row::Return) => (kv("ret", send_text(song.mixer.reverb.return_db)), false),
        (Strip::Delay, Row::Return) => (kv("ret", send_text(song.mixer.delay.return_db)), false),
        (Strip::Reverb, Row::Mute) => (kv("mute", on_text(song.mixer.reverb.mute)), false),
        (Strip::Delay, Row::Mute) => (kv("mute", on_text(song.mixer.delay.mute)), false),
        (Strip::Reverb, Row::BusEffect) => (
            kv("verb", format!("{:.1}s", song.mixer.reverb.reverb.decay_s)),
            false,
        ),
        (Strip::Delay, Row::BusEffect) => {
            let d = &song.mixer.delay.delay;
            let t = if d.time.fract() == 0.0 {
                format!("{:.0}", d.time)
            } else {
                format!("{:.2}", d.time)
            };
            let unit = match d.unit {
                DelayUnit::Rows => "r",
                DelayUnit::Beats => "b",
            };
            (kv("echo", format!("{t}{unit}")), false)
        }
        (_, Row::MasterEq) => {
            let on = song.mixer.master.eq.on;
            (kv("EQ", on_text(on)), !on)
        }
        (_, Row::MasterComp) => {
            let on = song.mixer.master.compressor.on;
            (kv("Comp", on_text(on)), !on)
        }
        (_, Row::MasterLimiter) => {
            let l = &song.mixer.master.limiter;
            (kv("Lim", on_text(l.on)), !l.on)
        }
        _ => (String::new(), true),
    }
}

/// A vertical stereo meter `h` rows high: RMS as full blocks, the peak above it shaded, the held
/// peak as a line; a dB scale at the right.
fn draw_meter(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    right: u16,
    h: u16,
    level: &StripLevel,
    theme: &Theme,
) {
    if h == 0 {
        return;
    }
    let step = -METER_MIN_DB / h as f32;
    let label_every = (h / 6).max(2);
    for k in 0..h {
        let top = -(k as f32) * step;
        let bottom = top - step;
        let mid = bottom + step / 2.0;
        let yy = y + k;
        put(buf, x, yy, right, &" ".repeat(STRIP_W as usize), theme.text);
        for ch in 0..2 {
            let (rms, pk, hold) = (level.rms_db[ch], level.peak_db[ch], level.hold_db[ch]);
            let lit = if top > HOT_DB {
                theme.meter_hot
            } else {
                theme.volume
            };
            let (c, st) = if rms >= mid {
                ("██", lit)
            } else if pk >= mid {
                ("▒▒", lit)
            } else if hold > bottom && (hold <= top || k == 0) {
                ("──", theme.effect)
            } else {
                ("  ", theme.dim)
            };
            put(buf, x + 1 + ch as u16 * 3, yy, right, c, st);
        }
        if k % label_every == 0 {
            put(
                buf,
                x + 7,
                yy,
                right,
                &format!("{:>3}", top.round() as i32),
                theme.dim,
            );
        }
    }
}

fn draw_detail(f: &mut Frame, area: Rect, app: &App, d: Detail, theme: &Theme) {
    let Some(fx) = MixSnapshot::of(&app.song).fx(d.target) else {
        return;
    };
    let strip = app.mix_strip();
    let where_ = match d.target {
        super::mixer::FxTarget::Insert { slot, .. } => format!(" insert {}", slot + 1),
        _ => String::new(),
    };
    let title = format!(
        " {}{where_}: {}{} ",
        strip.name(&app.song),
        fx.title(),
        match fx {
            Fx::Eq(_) | Fx::Comp(_) | Fx::Limiter(_) =>
                if fx.is_on() {
                    " (on)"
                } else {
                    " (off)"
                },
            _ => "",
        }
    );
    let mut lines = Vec::new();
    let cell = |i: usize, text: String, w: usize| {
        let st = if i == d.param {
            theme.cursor
        } else {
            theme.text
        };
        Span::styled(format!("{text:<w$}"), st)
    };
    match fx {
        Fx::Eq(_) => {
            let mut head = vec![Span::raw(format!("{:<6}", ""))];
            for l in BAND_LABELS {
                head.push(Span::styled(format!("{l:<10}"), theme.beat));
            }
            lines.push(Line::from(head));
            for (p, pname) in BAND_PARAMS.iter().enumerate() {
                let mut spans = vec![Span::styled(format!("{pname:<6}"), theme.beat)];
                for b in 0..6 {
                    let i = b * EQ_PER_BAND + p;
                    spans.push(cell(i, fx.param_value(i), 10));
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "↑↓ setting  ←→ band  +/- change  S-↑↓ fine  o EQ on/off  Enter close",
                theme.dim,
            ));
        }
        _ => {
            for i in 0..fx.param_count() {
                lines.push(Line::from(vec![
                    Span::styled(format!(" {:<12}", fx.param_name(i)), theme.beat),
                    cell(i, fx.param_value(i), 12),
                ]));
            }
            let reduction = match (fx, d.target) {
                (Fx::Limiter(_), _) => Some(app.mix.meters.limiter_db),
                (Fx::Comp(_), _) => app
                    .mix
                    .meters
                    .strips
                    .get(strip.meter_index())
                    .map(|s| s.reduction_db),
                _ => None,
            };
            if let Some(r) = reduction {
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    format!(" gain reduction {:.1} dB", r),
                    theme.effect,
                ));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                match fx {
                    Fx::Comp(_) | Fx::Limiter(_) => {
                        " ↑↓ parameter  +/- change  S-↑↓ fine  o on/off  Enter close"
                    }
                    _ => " ↑↓ parameter  +/- change  S-↑↓ fine  m mutes the bus  Enter close",
                },
                theme.dim,
            ));
        }
    }
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
