//! Reading the TOML part of a text song: the settings, tracks and instruments, with every error
//! placed at its line and column; pattern grids are handed to `grid`.

use super::grid::{Grid, origin_of, parse_grid};
use super::{TEXT_VERSION, TextError};
use crate::format::wav::read_wav;
use crate::model::limits::{
    BPM_RANGE, LPB_RANGE, MAX_EFFECT_COLUMNS, MAX_INSTRUMENTS, MAX_NAME_BYTES, MAX_NOTE_COLUMNS,
    MAX_ORDER, MAX_PATTERNS, MAX_ROWS, MAX_TRACKS, TPL_RANGE,
};
use crate::model::{
    Adsr, Instrument, InstrumentKind, LoopMode, MAX_PITCH, Note, Pattern, SampleData, Sampler,
    Song, Synth, Track, Waveform, validate,
};
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const ROOT_KEYS: &[&str] = &[
    "ttrack",
    "title",
    "author",
    "bpm",
    "lpb",
    "tpl",
    "seed",
    "restart",
    "order",
    "instrument_slots",
    "track",
    "instrument",
    "pattern",
    "reverb",
    "delay",
    "master",
    "group",
    "loop",
    "section",
    "mute",
    "take",
];
const TRACK_KEYS: &[&str] = &[
    "name",
    "note_columns",
    "effect_columns",
    "delay",
    "volume_db",
    "pan",
    "mute",
    "frozen",
];
const INSTRUMENT_KEYS: &[&str] = &["slot", "name", "type", "volume", "pan"];
const SYNTH_KEYS: &[&str] = &[
    "osc1",
    "osc2",
    "osc2_semitones",
    "osc_mix",
    "pulse_width",
    "amp",
    "cutoff_hz",
    "resonance",
    "filter_env_octaves",
    "filter_env",
    "key_track",
    "pitch_env_semitones",
    "pitch_env_ms",
];
const SAMPLER_KEYS: &[&str] = &[
    "sample",
    "sample_name",
    "base_note",
    "fine_tune_cents",
    "loop_mode",
    "loop_start",
    "loop_end",
    "amp",
];
const ENVELOPE_KEYS: &[&str] = &["attack_ms", "decay_ms", "sustain", "release_ms"];
const PATTERN_KEYS: &[&str] = &["index", "name", "rows", "data"];

pub(super) type Res<T> = Result<T, TextError>;

/// The source text with a line index, to turn byte offsets into lines and columns.
pub(super) struct Src<'t> {
    pub(super) text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> Src<'t> {
    pub(super) fn new(text: &'t str) -> Src<'t> {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Src { text, line_starts }
    }

    /// 1-based line and character column of byte `offset`.
    pub(super) fn pos(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line + 1, column)
    }

    pub(super) fn err(&self, offset: usize, message: impl Into<String>) -> TextError {
        let (line, column) = self.pos(offset);
        TextError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// A TOML table being read, with the place to blame for table-level errors.
pub(super) struct Tbl<'a> {
    pub(super) src: &'a Src<'a>,
    pub(super) map: &'a DeTable<'a>,
    pub(super) at: usize,
    pub(super) what: String,
}

type Value<'a> = Spanned<DeValue<'a>>;

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a> Tbl<'a> {
    pub(super) fn err(&self, offset: usize, message: impl Into<String>) -> TextError {
        self.src.err(offset, message)
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value<'a>> {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// Fails on the first (in file order) key not in `allowed`.
    pub(super) fn deny_unknown(&self, allowed: &[&str]) -> Res<()> {
        let unknown = self
            .map
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !allowed.contains(&k.get_ref().as_ref()))
            .min_by_key(|k| k.span().start);
        match unknown {
            None => Ok(()),
            Some(k) => Err(self.err(
                k.span().start,
                format!(
                    "unknown key `{}` in {}; the keys here are: {}",
                    k.get_ref(),
                    self.what,
                    allowed.join(", ")
                ),
            )),
        }
    }

    pub(super) fn type_err(&self, key: &str, v: &Value<'_>, expected: &str) -> TextError {
        self.err(
            v.span().start,
            format!("`{key}` must be {expected}, not {}", type_name(v.get_ref())),
        )
    }

    pub(super) fn missing(&self, key: &str) -> TextError {
        self.err(self.at, format!("{} needs a `{key}` key", self.what))
    }

    pub(super) fn int_of(&self, key: &str, v: &Value<'_>) -> Res<i128> {
        match v.get_ref() {
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
                self.err(
                    v.span().start,
                    format!("`{key}` is not a representable integer"),
                )
            }),
            _ => Err(self.type_err(key, v, "an integer")),
        }
    }

    /// An optional integer within `min..=max`.
    pub(super) fn int(&self, key: &str, min: i128, max: i128) -> Res<Option<i128>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = self.int_of(key, v)?;
        if n < min || n > max {
            return Err(self.err(
                v.span().start,
                format!("`{key}` is {n}; it must be within {min}..={max}"),
            ));
        }
        Ok(Some(n))
    }

    pub(super) fn req_int(&self, key: &str, min: i128, max: i128) -> Res<i128> {
        self.int(key, min, max)?.ok_or_else(|| self.missing(key))
    }

    /// An optional finite number (a TOML float or decimal integer), parsed straight to f32 so
    /// the shortest representation written by [`fmt_f32`] reads back exactly.
    pub(super) fn float(&self, key: &str) -> Res<Option<f32>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let parsed = match v.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f32>().ok(),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().parse::<f32>().ok(),
            _ => return Err(self.type_err(key, v, "a number")),
        };
        match parsed {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.err(v.span().start, format!("`{key}` must be a finite number"))),
        }
    }

    pub(super) fn str(&self, key: &str) -> Res<Option<(&'a str, usize)>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::String(s) => Ok(Some((s.as_ref(), v.span().start))),
            _ => Err(self.type_err(key, v, "a string")),
        }
    }

    pub(super) fn bool(&self, key: &str) -> Res<Option<bool>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(Some(*b)),
            _ => Err(self.type_err(key, v, "true or false")),
        }
    }

    pub(super) fn table(&self, key: &str) -> Res<Option<Tbl<'a>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            DeValue::Table(t) => Ok(Some(Tbl {
                src: self.src,
                map: t,
                at: v.span().start,
                what: format!("`{key}`"),
            })),
            _ => Err(self.type_err(key, v, "a table")),
        }
    }

    /// The tables of an array of tables (`[[key]]`), empty when absent.
    pub(super) fn tables(&self, key: &str) -> Res<Vec<Tbl<'a>>> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = v.get_ref() else {
            return Err(self.type_err(key, v, "an array of tables ([[{key}]])"));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(t) => Ok(Tbl {
                    src: self.src,
                    map: t,
                    at: item.span().start,
                    what: format!("a [[{key}]] table"),
                }),
                other => Err(self.err(
                    item.span().start,
                    format!("each `{key}` must be a table, not {}", type_name(other)),
                )),
            })
            .collect()
    }
}

/// Where the decoded text of a TOML string lies in the file.
pub(super) struct Parser<'a> {
    pub(super) src: &'a Src<'a>,
    pub(super) song_dir: &'a Path,
}

impl Parser<'_> {
    pub(super) fn song(&self, root: &Tbl<'_>) -> Res<Song> {
        match root.get("ttrack") {
            None => {
                return Err(self.src.err(
                    0,
                    "this is not a ttrack text song: the `ttrack = 1` line is missing",
                ));
            }
            Some(v) => {
                let version = root.int_of("ttrack", v)?;
                if version > i128::from(TEXT_VERSION) {
                    return Err(root.err(
                        v.span().start,
                        format!(
                            "the file was written by a newer ttrack, text format {version}; this one reads up to {TEXT_VERSION}"
                        ),
                    ));
                }
                if version < 1 {
                    return Err(root.err(
                        v.span().start,
                        format!("text format {version} does not exist"),
                    ));
                }
            }
        }
        root.deny_unknown(ROOT_KEYS)?;
        let title = root
            .str("title")?
            .map_or((String::new(), 0), |(s, at)| (s.to_string(), at));
        if title.0.len() > MAX_NAME_BYTES {
            return Err(self.src.err(
                title.1,
                format!(
                    "the title is {} bytes long; the limit is {MAX_NAME_BYTES}",
                    title.0.len()
                ),
            ));
        }
        let author = root
            .str("author")?
            .map_or(String::new(), |(s, _)| s.to_string());
        let bpm = root
            .int("bpm", BPM_RANGE.0.into(), BPM_RANGE.1.into())?
            .unwrap_or(125) as u16;
        let lpb = root
            .int("lpb", LPB_RANGE.0.into(), LPB_RANGE.1.into())?
            .unwrap_or(4) as u8;
        let tpl = root
            .int("tpl", TPL_RANGE.0.into(), TPL_RANGE.1.into())?
            .unwrap_or(6) as u8;
        let seed = self.seed(root)?;

        let groups = super::mix::groups(root)?;
        let tracks = self.tracks(root, groups.len())?;
        let instruments = self.instruments(root)?;
        let patterns = self.patterns(root, &tracks)?;

        let Some(order_value) = root.get("order") else {
            return Err(self
                .src
                .err(0, "the song needs an `order` list, e.g. `order = [0]`"));
        };
        let DeValue::Array(items) = order_value.get_ref() else {
            return Err(root.type_err("order", order_value, "an array of pattern indices"));
        };
        if items.is_empty() {
            return Err(root.err(
                order_value.span().start,
                "the order list is empty; it needs at least one pattern",
            ));
        }
        if items.len() > MAX_ORDER {
            return Err(root.err(
                order_value.span().start,
                format!(
                    "the order list has {} entries; the limit is {MAX_ORDER}",
                    items.len()
                ),
            ));
        }
        let mut order = Vec::with_capacity(items.len());
        for item in items.iter() {
            let p = root.int_of("order", item)?;
            if p < 0 || p >= patterns.len() as i128 {
                return Err(root.err(
                    item.span().start,
                    format!(
                        "the order list names pattern {p}, but the patterns are 0..={}",
                        patterns.len() - 1
                    ),
                ));
            }
            order.push(p as u16);
        }
        let restart = match root.get("restart") {
            None => 0,
            Some(v) => {
                let r = root.int_of("restart", v)?;
                if r < 0 || r >= order.len() as i128 {
                    return Err(root.err(
                        v.span().start,
                        format!(
                            "`restart` is {r}, but the order list has {} entries (0..={})",
                            order.len(),
                            order.len() - 1
                        ),
                    ));
                }
                r as u16
            }
        };
        let arrangement = super::arrange::read(root, order.len(), tracks.len())?;
        let song = Song {
            title: title.0,
            author,
            bpm,
            lpb,
            tpl,
            tracks,
            patterns,
            order,
            restart,
            instruments,
            seed,
            mixer: super::mix::mixer(root)?,
            groups,
            arrangement,
            takes: super::takes::read(self.src, root)?,
        };
        validate(&song).map_err(|e| self.src.err(0, e.to_string()))?;
        Ok(song)
    }

    fn seed(&self, root: &Tbl<'_>) -> Res<u64> {
        let Some(v) = root.get("seed") else {
            return Ok(0);
        };
        let bad = || {
            root.err(
                v.span().start,
                "`seed` must be an integer 0..=18446744073709551615 or a string like \"0x1F\"",
            )
        };
        match v.get_ref() {
            DeValue::Integer(_) => u64::try_from(root.int_of("seed", v)?).map_err(|_| bad()),
            DeValue::String(s) => {
                let s = s.trim();
                let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    Some(hex) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        u64::from_str_radix(hex, 16).ok()
                    }
                    Some(_) => None,
                    None if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
                    None => None,
                };
                parsed.ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }

    fn tracks(&self, root: &Tbl<'_>, groups: usize) -> Res<Vec<Track>> {
        let tables = root.tables("track")?;
        if tables.is_empty() {
            return Err(self
                .src
                .err(0, "the song needs at least one [[track]] table"));
        }
        let mut tracks: Vec<Track> = Vec::with_capacity(tables.len());
        for (i, t) in tables.iter().enumerate() {
            if i >= MAX_TRACKS {
                return Err(t.err(
                    t.at,
                    format!("there are more than {MAX_TRACKS} [[track]] tables"),
                ));
            }
            let allowed: Vec<&str> = TRACK_KEYS
                .iter()
                .chain(super::mix::TRACK_MIX_KEYS)
                .copied()
                .collect();
            t.deny_unknown(&allowed)?;
            let (solo, sends, inserts) = super::mix::track_mix(t)?;
            if groups == 0
                && let Some(v) = t.get("group")
            {
                return Err(t.err(
                    v.span().start,
                    "`group` names a group, but the song has no [[group]] tables",
                ));
            }
            let group = t
                .int("group", 1, groups.max(1) as i128)?
                .map(|g| (g - 1) as u8);
            let track = Track {
                name: t.str("name")?.map_or(String::new(), |(s, _)| s.to_string()),
                note_columns: t
                    .int("note_columns", 1, MAX_NOTE_COLUMNS as i128)?
                    .unwrap_or(1) as u8,
                effect_columns: t
                    .int("effect_columns", 1, MAX_EFFECT_COLUMNS as i128)?
                    .unwrap_or(1) as u8,
                show_delay: t.bool("delay")?.unwrap_or(false),
                volume_db: t.float("volume_db")?.unwrap_or(0.0),
                pan: t.float("pan")?.unwrap_or(0.0),
                mute: t.bool("mute")?.unwrap_or(false),
                solo,
                sends,
                inserts,
                group,
                frozen: None,
            };
            let mut track = track;
            track.frozen = super::arrange::read_frozen(self.src, t, &track, self.song_dir)?;
            tracks.push(track);
            // Probe with the tracks so far: the model's message names this track by number.
            // (Group membership was checked above, against the [[group]] tables.)
            let probe = tracks
                .iter()
                .map(|t| Track {
                    group: None,
                    ..t.clone()
                })
                .collect();
            validate(&skeleton(probe, Vec::new())).map_err(|e| t.err(t.at, e.to_string()))?;
        }
        Ok(tracks)
    }

    fn instruments(&self, root: &Tbl<'_>) -> Res<Vec<Option<Instrument>>> {
        let mut slots: Vec<Option<Instrument>> = Vec::new();
        for t in root.tables("instrument")? {
            let slot = self.slot(&t)?;
            let (kind_name, kind_at) = t.str("type")?.ok_or_else(|| t.missing("type"))?;
            let allowed: Vec<&str> = match kind_name {
                "synth" => INSTRUMENT_KEYS.iter().chain(SYNTH_KEYS).copied().collect(),
                "sampler" => INSTRUMENT_KEYS
                    .iter()
                    .chain(SAMPLER_KEYS)
                    .copied()
                    .collect(),
                other => {
                    return Err(t.err(
                        kind_at,
                        format!(
                            "instrument type `{other}` is unknown; use \"synth\" or \"sampler\""
                        ),
                    ));
                }
            };
            let t = Tbl {
                what: format!("a {kind_name} [[instrument]] table"),
                ..t
            };
            t.deny_unknown(&allowed)?;
            let kind = if kind_name == "synth" {
                InstrumentKind::Synth(self.synth(&t)?)
            } else {
                self.sampler(&t)?
            };
            let inst = Instrument {
                name: t.str("name")?.map_or(String::new(), |(s, _)| s.to_string()),
                volume: t.float("volume")?.unwrap_or(1.0),
                pan: t.float("pan")?.unwrap_or(0.0),
                kind,
            };
            if slots.len() < slot {
                slots.resize(slot, None);
            }
            if slots[slot - 1].is_some() {
                let at = t.get("slot").map_or(t.at, |v| v.span().start);
                return Err(t.err(
                    at,
                    format!("instrument slot {slot} ({slot:02X}) is defined twice"),
                ));
            }
            // Probe this instrument alone in its slot: the model's message names the slot.
            let mut probe = vec![None; slot];
            probe[slot - 1] = Some(inst.clone());
            validate(&skeleton(vec![Track::new("")], probe))
                .map_err(|e| t.err(t.at, e.to_string()))?;
            slots[slot - 1] = Some(inst);
        }
        if let Some(v) = root.get("instrument_slots") {
            let n = root.int_of("instrument_slots", v)?;
            if n < slots.len() as i128 || n > MAX_INSTRUMENTS as i128 {
                return Err(root.err(
                    v.span().start,
                    format!(
                        "`instrument_slots` is {n}; it must be within {}..={MAX_INSTRUMENTS} (the highest slot in use)",
                        slots.len()
                    ),
                ));
            }
            slots.resize(n as usize, None);
        }
        Ok(slots)
    }

    /// The 1-based slot: an integer 1..=255 or a two-digit hex string "01".."FF".
    fn slot(&self, t: &Tbl<'_>) -> Res<usize> {
        let Some(v) = t.get("slot") else {
            return Err(t.missing("slot"));
        };
        let n = match v.get_ref() {
            DeValue::String(s) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                i128::from_str_radix(s, 16).unwrap_or(0)
            }
            DeValue::String(s) => {
                return Err(t.err(
                    v.span().start,
                    format!("slot \"{s}\" is not two hex digits (\"01\"..\"FF\")"),
                ));
            }
            _ => t.int_of("slot", v)?,
        };
        if n < 1 || n > MAX_INSTRUMENTS as i128 {
            return Err(t.err(
                v.span().start,
                format!("`slot` is {n}; it must be within 1..={MAX_INSTRUMENTS}"),
            ));
        }
        Ok(n as usize)
    }

    fn waveform(&self, t: &Tbl<'_>, key: &str, default: Waveform) -> Res<Waveform> {
        let Some((name, at)) = t.str(key)? else {
            return Ok(default);
        };
        Waveform::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Waveform::ALL.iter().map(|w| w.name()).collect();
            t.err(
                at,
                format!(
                    "`{name}` is not a waveform; use one of {}",
                    names.join(", ")
                ),
            )
        })
    }

    fn envelope(&self, t: &Tbl<'_>, key: &str, default: Adsr) -> Res<Adsr> {
        let Some(e) = t.table(key)? else {
            return Ok(default);
        };
        e.deny_unknown(ENVELOPE_KEYS)?;
        Ok(Adsr {
            attack_ms: e.float("attack_ms")?.unwrap_or(default.attack_ms),
            decay_ms: e.float("decay_ms")?.unwrap_or(default.decay_ms),
            sustain: e.float("sustain")?.unwrap_or(default.sustain),
            release_ms: e.float("release_ms")?.unwrap_or(default.release_ms),
        })
    }

    fn synth(&self, t: &Tbl<'_>) -> Res<Synth> {
        let d = Synth::default();
        Ok(Synth {
            osc1: self.waveform(t, "osc1", d.osc1)?,
            osc2: self.waveform(t, "osc2", d.osc2)?,
            osc2_semitones: t.float("osc2_semitones")?.unwrap_or(d.osc2_semitones),
            osc_mix: t.float("osc_mix")?.unwrap_or(d.osc_mix),
            pulse_width: t.float("pulse_width")?.unwrap_or(d.pulse_width),
            amp: self.envelope(t, "amp", d.amp)?,
            cutoff_hz: t.float("cutoff_hz")?.unwrap_or(d.cutoff_hz),
            resonance: t.float("resonance")?.unwrap_or(d.resonance),
            filter_env_octaves: t
                .float("filter_env_octaves")?
                .unwrap_or(d.filter_env_octaves),
            filter_env: self.envelope(t, "filter_env", d.filter_env)?,
            key_track: t.float("key_track")?.unwrap_or(d.key_track),
            pitch_env_semitones: t
                .float("pitch_env_semitones")?
                .unwrap_or(d.pitch_env_semitones),
            pitch_env_ms: t.float("pitch_env_ms")?.unwrap_or(d.pitch_env_ms),
        })
    }

    fn sampler(&self, t: &Tbl<'_>) -> Res<InstrumentKind> {
        let (path, path_at) = t.str("sample")?.ok_or_else(|| t.missing("sample"))?;
        let mut sample = read_wav(self.song_dir.join(path))
            .map_err(|e| t.err(path_at, format!("cannot load the sample \"{path}\": {e}")))?;
        sample.source = Some(path.to_string());
        if let Some((name, _)) = t.str("sample_name")? {
            sample.name = name.to_string();
        }
        let frames = sample.frames;
        let defaults = Sampler::new(Arc::new(SampleData::mono("", 44_100, Vec::new())));
        let base_note = match t.get("base_note") {
            None => defaults.base_note,
            Some(v) => match v.get_ref() {
                DeValue::String(s) => match Note::parse(s) {
                    Some(Note::On(p)) => p,
                    _ => {
                        return Err(t.err(
                            v.span().start,
                            format!("base note `{s}` is not a note like C-4"),
                        ));
                    }
                },
                _ => t.int("base_note", 0, MAX_PITCH.into())?.unwrap_or(0) as u8,
            },
        };
        let loop_mode = match t.str("loop_mode")? {
            None => LoopMode::Off,
            Some((name, at)) => LoopMode::from_name(name).ok_or_else(|| {
                t.err(
                    at,
                    format!("loop mode `{name}` is unknown; use off, forward or pingpong"),
                )
            })?,
        };
        let limit = i128::from(frames);
        let loop_start = t.int("loop_start", 0, limit)?.unwrap_or(0) as u64;
        let loop_end = t.int("loop_end", 0, limit)?.map_or(frames, |n| n as u64);
        Ok(InstrumentKind::Sampler(Sampler {
            sample: Arc::new(sample),
            base_note,
            fine_tune_cents: t
                .float("fine_tune_cents")?
                .unwrap_or(defaults.fine_tune_cents),
            loop_mode,
            loop_start,
            loop_end,
            amp: self.envelope(t, "amp", defaults.amp)?,
        }))
    }

    fn patterns(&self, root: &Tbl<'_>, tracks: &[Track]) -> Res<Vec<Pattern>> {
        let tables = root.tables("pattern")?;
        if tables.is_empty() {
            return Err(self
                .src
                .err(0, "the song needs at least one [[pattern]] table"));
        }
        let count = tables.len();
        if count > MAX_PATTERNS {
            return Err(tables[MAX_PATTERNS].err(
                tables[MAX_PATTERNS].at,
                format!("there are more than {MAX_PATTERNS} patterns"),
            ));
        }
        let mut patterns: Vec<Option<Pattern>> = vec![None; count];
        for (position, t) in tables.iter().enumerate() {
            t.deny_unknown(PATTERN_KEYS)?;
            let index = t
                .int("index", 0, count as i128 - 1)?
                .map_or(position, |n| n as usize);
            if patterns[index].is_some() {
                let at = t.get("index").map_or(t.at, |v| v.span().start);
                return Err(t.err(at, format!("pattern {index} is defined twice")));
            }
            let rows = t.req_int("rows", 1, MAX_ROWS as i128)? as usize;
            let Some(data) = t.get("data") else {
                return Err(t.missing("data"));
            };
            let DeValue::String(text) = data.get_ref() else {
                return Err(t.type_err("data", data, "a string (use \"\"\" for several lines)"));
            };
            let grid = Grid {
                src: self.src,
                origin: origin_of(self.src, data.span(), text),
                data: text,
                pattern: index,
            };
            let mut pattern = parse_grid(&grid, rows, tracks)?;
            pattern.name = t.str("name")?.map_or(String::new(), |(s, _)| s.to_string());
            patterns[index] = Some(pattern);
        }
        // Every index is in 0..count and none repeats, so all slots are filled.
        Ok(patterns.into_iter().flatten().collect())
    }
}

/// A minimal valid song around `tracks` and `instruments`, for validating parts on their own.
fn skeleton(tracks: Vec<Track>, instruments: Vec<Option<Instrument>>) -> Song {
    let pattern = Pattern::new(1, &tracks);
    Song {
        title: String::new(),
        author: String::new(),
        bpm: BPM_RANGE.0,
        lpb: LPB_RANGE.0,
        tpl: TPL_RANGE.0,
        tracks,
        patterns: vec![pattern],
        order: vec![0],
        restart: 0,
        instruments,
        seed: 0,
        mixer: Default::default(),
        groups: Vec::new(),
        arrangement: Default::default(),
        takes: Vec::new(),
    }
}
