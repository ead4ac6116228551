//! Mixer settings in the text format: a track's solo, sends and `[[track.insert]]` tables, and the
//! song's `[reverb]`, `[delay]` and `[master]` tables. Every key is optional on reading (the model's
//! default fills in) and every value is checked against `model::mix::ranges` with its position.

use super::read::{Res, Tbl};
use super::write::fmt_f32;
use crate::model::mix::{
    Compressor, Delay, DelayBus, DelayUnit, Eq, EqBand, Group, Insert, Limiter, MAX_GROUPS,
    MAX_INSERTS, Master, Mixer, OFF_DB, Reverb, ReverbBus, ranges,
};

/// Keys a `[[track]]` table may hold for its mixer strip.
pub(super) const TRACK_MIX_KEYS: &[&str] =
    &["solo", "send_reverb_db", "send_delay_db", "insert", "group"];
const GROUP_KEYS: &[&str] = &[
    "name",
    "volume_db",
    "pan",
    "mute",
    "solo",
    "send_reverb_db",
    "send_delay_db",
    "insert",
    "folded",
];
const EQ_KEYS: &[&str] = &[
    "type",
    "on",
    "high_pass",
    "low_shelf",
    "peak1",
    "peak2",
    "high_shelf",
    "low_pass",
];
const BAND_KEYS: &[&str] = &["on", "freq_hz", "gain_db", "q"];
const COMP_KEYS: &[&str] = &[
    "type",
    "on",
    "threshold_db",
    "ratio",
    "knee_db",
    "attack_ms",
    "release_ms",
    "makeup_db",
];
const REVERB_KEYS: &[&str] = &[
    "return_db",
    "mute",
    "size",
    "decay_s",
    "damping",
    "predelay_ms",
    "width",
];
const DELAY_KEYS: &[&str] = &[
    "return_db",
    "mute",
    "time",
    "unit",
    "feedback",
    "high_cut_hz",
    "ping_pong",
];
const MASTER_KEYS: &[&str] = &["volume_db", "eq", "compressor", "limiter"];
const LIMITER_KEYS: &[&str] = &["on", "ceiling_db", "release_ms"];

/// An optional number within `range`, else `default`.
fn num(t: &Tbl<'_>, key: &str, range: (f32, f32), default: f32) -> Res<f32> {
    match t.float(key)? {
        None => Ok(default),
        Some(x) if x >= range.0 && x <= range.1 => Ok(x),
        Some(x) => {
            let at = t.get(key).map_or(t.at, |v| v.span().start);
            Err(t.err(
                at,
                format!(
                    "`{key}` is {x}; it must be within {}..={}",
                    fmt_f32(range.0),
                    fmt_f32(range.1)
                ),
            ))
        }
    }
}

fn flag(t: &Tbl<'_>, key: &str, default: bool) -> Res<bool> {
    Ok(t.bool(key)?.unwrap_or(default))
}

/// Reads a track's solo flag, sends and inserts.
pub(super) fn track_mix(t: &Tbl<'_>) -> Res<(bool, [f32; 2], Vec<Insert>)> {
    let solo = flag(t, "solo", false)?;
    let sends = [
        num(t, "send_reverb_db", ranges::SEND_DB, OFF_DB)?,
        num(t, "send_delay_db", ranges::SEND_DB, OFF_DB)?,
    ];
    let tables = t.tables("insert")?;
    let mut inserts = Vec::with_capacity(tables.len().min(MAX_INSERTS));
    for it in tables {
        if inserts.len() == MAX_INSERTS {
            return Err(it.err(
                it.at,
                format!("a track has at most {MAX_INSERTS} [[track.insert]] tables"),
            ));
        }
        let (kind, at) = it.str("type")?.ok_or_else(|| it.missing("type"))?;
        let it = Tbl {
            what: format!("a {kind} [[track.insert]] table"),
            ..it
        };
        inserts.push(match kind {
            "eq" => Insert::Eq(eq(&it)?),
            "compressor" => Insert::Compressor(compressor(&it)?),
            other => {
                return Err(it.err(
                    at,
                    format!("insert type `{other}` is unknown; use \"eq\" or \"compressor\""),
                ));
            }
        });
    }
    Ok((solo, sends, inserts))
}

/// Reads the `[[group]]` tables.
pub(super) fn groups(root: &Tbl<'_>) -> Res<Vec<Group>> {
    let tables = root.tables("group")?;
    let mut out = Vec::with_capacity(tables.len().min(MAX_GROUPS));
    for t in tables {
        if out.len() == MAX_GROUPS {
            return Err(t.err(
                t.at,
                format!("there are more than {MAX_GROUPS} [[group]] tables"),
            ));
        }
        t.deny_unknown(GROUP_KEYS)?;
        let (solo, sends, inserts) = track_mix(&t)?;
        let name = t.str("name")?.map_or(String::new(), |(s, _)| s.to_string());
        if name.len() > crate::model::limits::MAX_NAME_BYTES {
            return Err(t.err(t.at, "the group name is too long"));
        }
        out.push(Group {
            name,
            volume_db: num(&t, "volume_db", ranges::VOLUME_DB, 0.0)?,
            pan: num(&t, "pan", (-1.0, 1.0), 0.0)?,
            mute: flag(&t, "mute", false)?,
            solo,
            sends,
            inserts,
            folded: flag(&t, "folded", false)?,
        });
    }
    Ok(out)
}

/// Writes the `[[group]]` tables.
pub(super) fn write_groups(out: &mut String, groups: &[Group]) {
    for g in groups {
        *out += "\n[[group]]\n";
        *out += &format!("name = {}\n", super::write::toml_string(&g.name));
        if g.volume_db != 0.0 {
            *out += &format!("volume_db = {}\n", fmt_f32(g.volume_db));
        }
        if g.pan != 0.0 {
            *out += &format!("pan = {}\n", fmt_f32(g.pan));
        }
        if g.mute {
            *out += "mute = true\n";
        }
        if g.folded {
            *out += "folded = true\n";
        }
        write_track_mix(out, g.solo, &g.sends, &g.inserts, "group");
    }
}

fn eq(t: &Tbl<'_>) -> Res<Eq> {
    t.deny_unknown(EQ_KEYS)?;
    let mut e = Eq {
        on: flag(t, "on", true)?,
        ..Eq::default()
    };
    for (band, name) in e.bands.iter_mut().zip(Eq::BAND_NAMES) {
        if let Some(b) = t.table(name)? {
            let b = Tbl {
                what: format!("EQ band `{name}`"),
                ..b
            };
            b.deny_unknown(BAND_KEYS)?;
            *band = EqBand {
                on: flag(&b, "on", true)?,
                freq_hz: num(&b, "freq_hz", ranges::EQ_FREQ, band.freq_hz)?,
                gain_db: num(&b, "gain_db", ranges::EQ_GAIN, band.gain_db)?,
                q: num(&b, "q", ranges::EQ_Q, band.q)?,
            };
        }
    }
    Ok(e)
}

fn compressor(t: &Tbl<'_>) -> Res<Compressor> {
    t.deny_unknown(COMP_KEYS)?;
    let d = Compressor::default();
    Ok(Compressor {
        on: flag(t, "on", true)?,
        threshold_db: num(t, "threshold_db", ranges::THRESHOLD, d.threshold_db)?,
        ratio: num(t, "ratio", ranges::RATIO, d.ratio)?,
        knee_db: num(t, "knee_db", ranges::KNEE, d.knee_db)?,
        attack_ms: num(t, "attack_ms", ranges::ATTACK_MS, d.attack_ms)?,
        release_ms: num(t, "release_ms", ranges::RELEASE_MS, d.release_ms)?,
        makeup_db: num(t, "makeup_db", ranges::MAKEUP_DB, d.makeup_db)?,
    })
}

/// Reads the `[reverb]`, `[delay]` and `[master]` tables of the root.
pub(super) fn mixer(root: &Tbl<'_>) -> Res<Mixer> {
    let mut m = Mixer::default();
    if let Some(t) = root.table("reverb")? {
        t.deny_unknown(REVERB_KEYS)?;
        let d = Reverb::default();
        m.reverb = ReverbBus {
            return_db: num(&t, "return_db", ranges::SEND_DB, 0.0)?,
            mute: flag(&t, "mute", false)?,
            reverb: Reverb {
                size: num(&t, "size", ranges::SIZE, d.size)?,
                decay_s: num(&t, "decay_s", ranges::DECAY_S, d.decay_s)?,
                damping: num(&t, "damping", ranges::DAMPING, d.damping)?,
                predelay_ms: num(&t, "predelay_ms", ranges::PREDELAY_MS, d.predelay_ms)?,
                width: num(&t, "width", ranges::WIDTH, d.width)?,
            },
        };
    }
    if let Some(t) = root.table("delay")? {
        t.deny_unknown(DELAY_KEYS)?;
        let d = Delay::default();
        let unit = match t.str("unit")? {
            None => d.unit,
            Some(("rows", _)) => DelayUnit::Rows,
            Some(("beats", _)) => DelayUnit::Beats,
            Some((other, at)) => {
                return Err(t.err(
                    at,
                    format!("delay unit `{other}` is unknown; use \"rows\" or \"beats\""),
                ));
            }
        };
        m.delay = DelayBus {
            return_db: num(&t, "return_db", ranges::SEND_DB, 0.0)?,
            mute: flag(&t, "mute", false)?,
            delay: Delay {
                time: num(&t, "time", ranges::DELAY_TIME, d.time)?,
                unit,
                feedback: num(&t, "feedback", ranges::FEEDBACK, d.feedback)?,
                high_cut_hz: num(&t, "high_cut_hz", ranges::HIGH_CUT, d.high_cut_hz)?,
                ping_pong: flag(&t, "ping_pong", d.ping_pong)?,
            },
        };
    }
    if let Some(t) = root.table("master")? {
        t.deny_unknown(MASTER_KEYS)?;
        let d = Master::default();
        m.master.volume_db = num(&t, "volume_db", ranges::VOLUME_DB, d.volume_db)?;
        if let Some(e) = t.table("eq")? {
            m.master.eq = eq(&Tbl {
                what: "`master.eq`".into(),
                ..e
            })?;
        }
        if let Some(c) = t.table("compressor")? {
            m.master.compressor = compressor(&Tbl {
                what: "`master.compressor`".into(),
                ..c
            })?;
        }
        if let Some(l) = t.table("limiter")? {
            l.deny_unknown(LIMITER_KEYS)?;
            m.master.limiter = Limiter {
                on: flag(&l, "on", true)?,
                ceiling_db: num(&l, "ceiling_db", ranges::CEILING, d.limiter.ceiling_db)?,
                release_ms: num(
                    &l,
                    "release_ms",
                    ranges::LIMITER_RELEASE,
                    d.limiter.release_ms,
                )?,
            };
        }
    }
    Ok(m)
}

/// Writes the solo, sends and inserts of a `[[track]]` or `[[group]]` table (`table`).
pub(super) fn write_track_mix(
    out: &mut String,
    solo: bool,
    sends: &[f32; 2],
    inserts: &[Insert],
    table: &str,
) {
    if solo {
        *out += "solo = true\n";
    }
    for (key, &db) in ["send_reverb_db", "send_delay_db"].iter().zip(sends) {
        if db > OFF_DB {
            *out += &format!("{key} = {}\n", fmt_f32(db));
        }
    }
    for ins in inserts {
        *out += &format!("\n[[{table}.insert]]\n");
        match ins {
            Insert::Eq(e) => {
                *out += "type = \"eq\"\n";
                write_eq(out, e);
            }
            Insert::Compressor(c) => {
                *out += "type = \"compressor\"\n";
                write_compressor(out, c);
            }
        }
    }
}

fn write_eq(out: &mut String, e: &Eq) {
    *out += &format!("on = {}\n", e.on);
    for (b, name) in e.bands.iter().zip(Eq::BAND_NAMES) {
        *out += &format!(
            "{name} = {{ on = {}, freq_hz = {}, gain_db = {}, q = {} }}\n",
            b.on,
            fmt_f32(b.freq_hz),
            fmt_f32(b.gain_db),
            fmt_f32(b.q)
        );
    }
}

fn write_compressor(out: &mut String, c: &Compressor) {
    *out += &format!(
        "on = {}\nthreshold_db = {}\nratio = {}\nknee_db = {}\nattack_ms = {}\nrelease_ms = {}\nmakeup_db = {}\n",
        c.on,
        fmt_f32(c.threshold_db),
        fmt_f32(c.ratio),
        fmt_f32(c.knee_db),
        fmt_f32(c.attack_ms),
        fmt_f32(c.release_ms),
        fmt_f32(c.makeup_db)
    );
}

/// Writes the `[reverb]`, `[delay]` and `[master]` tables (all values, so nothing depends on the
/// defaults of the reading program).
pub(super) fn write_mixer(out: &mut String, m: &Mixer) {
    let r = &m.reverb;
    *out += &format!(
        "\n[reverb]\nreturn_db = {}\nmute = {}\nsize = {}\ndecay_s = {}\ndamping = {}\npredelay_ms = {}\nwidth = {}\n",
        fmt_f32(r.return_db),
        r.mute,
        fmt_f32(r.reverb.size),
        fmt_f32(r.reverb.decay_s),
        fmt_f32(r.reverb.damping),
        fmt_f32(r.reverb.predelay_ms),
        fmt_f32(r.reverb.width)
    );
    let d = &m.delay;
    *out += &format!(
        "\n[delay]\nreturn_db = {}\nmute = {}\ntime = {}\nunit = \"{}\"\nfeedback = {}\nhigh_cut_hz = {}\nping_pong = {}\n",
        fmt_f32(d.return_db),
        d.mute,
        fmt_f32(d.delay.time),
        match d.delay.unit {
            DelayUnit::Rows => "rows",
            DelayUnit::Beats => "beats",
        },
        fmt_f32(d.delay.feedback),
        fmt_f32(d.delay.high_cut_hz),
        d.delay.ping_pong
    );
    let ms = &m.master;
    *out += &format!("\n[master]\nvolume_db = {}\n", fmt_f32(ms.volume_db));
    *out += "\n[master.eq]\n";
    write_eq(out, &ms.eq);
    *out += "\n[master.compressor]\n";
    write_compressor(out, &ms.compressor);
    *out += &format!(
        "\n[master.limiter]\non = {}\nceiling_db = {}\nrelease_ms = {}\n",
        ms.limiter.on,
        fmt_f32(ms.limiter.ceiling_db),
        fmt_f32(ms.limiter.release_ms)
    );
}
