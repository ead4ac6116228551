//! The mixer view's state and actions: which strip and row the cursor is on, the detail panel of
//! one effect, the meters as shown (with peak hold), and every change a key makes to the mix
//! settings. Each change is an [`Edit::Mix`], mirrored to the engine as one `SetMix` (ramped,
//! only changed effects recomputed), so playback never hiccups. Drawing is in `mixer_view.rs`.
//!
//! Steps are musical: levels in 0.5 dB (fine 0.1 dB; faders take wider steps below −24 dB so that
//! silence is reachable), frequencies by a third of an octave (fine: a semitone), times and Q by
//! ×1.25 (fine ×1.05). Every value stays inside `model::mix::ranges`.

use super::app::App;
use super::commands::Action;
use super::edit::Edit;
use crate::engine::mixer::{METER_STRIPS, Meters, STRIP_DELAY, STRIP_MASTER, STRIP_REVERB};
use crate::model::Song;
use crate::model::mix::{
    self, Compressor, Delay, DelayUnit, Eq, Insert, Limiter, MAX_INSERTS, Mixer, OFF_DB, Reverb,
    SEND_BUSES, ranges,
};

/// The mix settings of one track: everything but its name and column layout.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackMix {
    /// Gain in dB.
    pub volume_db: f32,
    /// Pan −1..=1.
    pub pan: f32,
    /// Muted.
    pub mute: bool,
    /// Soloed.
    pub solo: bool,
    /// Send levels in dB.
    pub sends: [f32; SEND_BUSES],
    /// Insert effects in order.
    pub inserts: Vec<Insert>,
}

/// Every mix setting of a song: what an [`Edit::Mix`] swaps.
#[derive(Clone, Debug, PartialEq)]
pub struct MixSnapshot {
    /// One per track, in order.
    pub tracks: Vec<TrackMix>,
    /// Buses and master.
    pub mixer: Mixer,
}

impl MixSnapshot {
    /// The mix settings of `song`.
    pub fn of(song: &Song) -> MixSnapshot {
        MixSnapshot {
            tracks: song
                .tracks
                .iter()
                .map(|t| TrackMix {
                    volume_db: t.volume_db,
                    pan: t.pan,
                    mute: t.mute,
                    solo: t.solo,
                    sends: t.sends,
                    inserts: t.inserts.clone(),
                })
                .collect(),
            mixer: song.mixer,
        }
    }

    /// Writes these settings into `song` (tracks beyond either list are left alone).
    pub fn apply_to(&self, song: &mut Song) {
        for (t, m) in song.tracks.iter_mut().zip(&self.tracks) {
            t.volume_db = m.volume_db;
            t.pan = m.pan;
            t.mute = m.mute;
            t.solo = m.solo;
            t.sends = m.sends;
            t.inserts = m.inserts.clone();
        }
        song.mixer = self.mixer;
    }

    /// The effect `target` names, if it exists.
    pub fn fx(&self, target: FxTarget) -> Option<Fx> {
        Some(match target {
            FxTarget::Insert { track, slot } => match self.tracks.get(track)?.inserts.get(slot)? {
                Insert::Eq(e) => Fx::Eq(*e),
                Insert::Compressor(c) => Fx::Comp(*c),
            },
            FxTarget::Reverb => Fx::Reverb(self.mixer.reverb.reverb),
            FxTarget::Delay => Fx::Delay(self.mixer.delay.delay),
            FxTarget::MasterEq => Fx::Eq(self.mixer.master.eq),
            FxTarget::MasterComp => Fx::Comp(self.mixer.master.compressor),
            FxTarget::MasterLimiter => Fx::Limiter(self.mixer.master.limiter),
        })
    }

    /// Replaces the effect `target` names with `fx` (of the same kind).
    pub fn set_fx(&mut self, target: FxTarget, fx: Fx) {
        let m = &mut self.mixer;
        match (target, fx) {
            (FxTarget::Insert { track, slot }, fx) => {
                if let Some(i) = self
                    .tracks
                    .get_mut(track)
                    .and_then(|t| t.inserts.get_mut(slot))
                {
                    match fx {
                        Fx::Eq(e) => *i = Insert::Eq(e),
                        Fx::Comp(c) => *i = Insert::Compressor(c),
                        _ => {}
                    }
                }
            }
            (FxTarget::Reverb, Fx::Reverb(r)) => m.reverb.reverb = r,
            (FxTarget::Delay, Fx::Delay(d)) => m.delay.delay = d,
            (FxTarget::MasterEq, Fx::Eq(e)) => m.master.eq = e,
            (FxTarget::MasterComp, Fx::Comp(c)) => m.master.compressor = c,
            (FxTarget::MasterLimiter, Fx::Limiter(l)) => m.master.limiter = l,
            _ => {}
        }
    }
}

/// A column of the mixer: a track, a send bus return or the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strip {
    /// Track (0-based).
    Track(usize),
    /// The reverb bus return.
    Reverb,
    /// The delay bus return.
    Delay,
    /// The master bus.
    Master,
}

impl Strip {
    /// Strip number `i` of `song`: the tracks, then reverb, delay and master.
    pub fn at(song: &Song, i: usize) -> Strip {
        let n = song.tracks.len();
        match i.checked_sub(n) {
            None => Strip::Track(i),
            Some(0) => Strip::Reverb,
            Some(1) => Strip::Delay,
            Some(_) => Strip::Master,
        }
    }

    /// How many strips `song` has.
    pub fn count(song: &Song) -> usize {
        song.tracks.len() + 3
    }

    /// Index into the engine's meters.
    pub fn meter_index(self) -> usize {
        match self {
            Strip::Track(t) => t,
            Strip::Reverb => STRIP_REVERB,
            Strip::Delay => STRIP_DELAY,
            Strip::Master => STRIP_MASTER,
        }
    }

    /// Name for headers and messages.
    pub fn name(self, song: &Song) -> String {
        match self {
            Strip::Track(t) => song
                .tracks
                .get(t)
                .map_or_else(|| format!("Track {}", t + 1), |tr| tr.name.clone()),
            Strip::Reverb => "Reverb".into(),
            Strip::Delay => "Delay".into(),
            Strip::Master => "Master".into(),
        }
    }

    /// The rows of the strip, top to bottom.
    pub fn rows(self) -> &'static [Row] {
        match self {
            Strip::Track(_) => &[
                Row::Volume,
                Row::Pan,
                Row::Send(0),
                Row::Send(1),
                Row::Insert(0),
                Row::Insert(1),
                Row::Insert(2),
                Row::Insert(3),
            ],
            Strip::Reverb | Strip::Delay => &[Row::Return, Row::Mute, Row::BusEffect],
            Strip::Master => &[
                Row::Volume,
                Row::MasterEq,
                Row::MasterComp,
                Row::MasterLimiter,
            ],
        }
    }
}

/// A row of a strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// Track or master volume.
    Volume,
    /// Track pan.
    Pan,
    /// Send level to bus 0 (reverb) or 1 (delay).
    Send(usize),
    /// Insert slot of a track.
    Insert(usize),
    /// Bus return level.
    Return,
    /// Bus mute.
    Mute,
    /// The bus's effect (reverb or delay).
    BusEffect,
    /// Master EQ.
    MasterEq,
    /// Master compressor.
    MasterComp,
    /// Master limiter.
    MasterLimiter,
}

/// An effect the detail panel can edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FxTarget {
    /// Insert `slot` of `track`.
    Insert {
        /// Track.
        track: usize,
        /// Slot.
        slot: usize,
    },
    /// The reverb of the reverb bus.
    Reverb,
    /// The delay of the delay bus.
    Delay,
    /// Master EQ.
    MasterEq,
    /// Master compressor.
    MasterComp,
    /// Master limiter.
    MasterLimiter,
}

/// A copy of one effect's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fx {
    /// Parametric EQ.
    Eq(Eq),
    /// Compressor.
    Comp(Compressor),
    /// Reverb.
    Reverb(Reverb),
    /// Delay.
    Delay(Delay),
    /// Limiter.
    Limiter(Limiter),
}

/// Names of the EQ bands as the detail panel heads its columns.
pub const BAND_LABELS: [&str; 6] = [
    "high-pass",
    "low shelf",
    "peak 1",
    "peak 2",
    "hi shelf",
    "low-pass",
];
/// Names of the four settings of an EQ band.
pub const BAND_PARAMS: [&str; 4] = ["on", "freq", "gain", "Q"];
/// Settings per EQ band in the detail panel's parameter numbering (band × 4 + setting).
pub const EQ_PER_BAND: usize = 4;

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.into()
}

/// A level in dB with one decimal.
pub fn db_text(v: f32) -> String {
    format!("{v:.1}")
}

/// A send or return level: "off" at the bottom of the range.
pub fn send_text(v: f32) -> String {
    if v <= OFF_DB {
        "off".into()
    } else {
        db_text(v)
    }
}

/// Pan as C, L25 or R40.
pub fn pan_text(p: f32) -> String {
    let v = (p * 100.0).round() as i32;
    match v {
        0 => "C".into(),
        v if v < 0 => format!("L{}", -v),
        v => format!("R{v}"),
    }
}

/// A frequency: "120 Hz", "2.50 kHz".
pub fn freq_text(hz: f32) -> String {
    if hz >= 1000.0 {
        format!("{:.2} kHz", hz / 1000.0)
    } else {
        format!("{hz:.0} Hz")
    }
}

fn ms_text(ms: f32) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn units_text(v: f32) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

impl Fx {
    /// Name for titles and messages.
    pub fn title(&self) -> &'static str {
        match self {
            Fx::Eq(_) => "EQ",
            Fx::Comp(_) => "compressor",
            Fx::Reverb(_) => "reverb",
            Fx::Delay(_) => "delay",
            Fx::Limiter(_) => "limiter",
        }
    }

    /// Whether the effect is on (reverb and delay are always on; their bus mutes them).
    pub fn is_on(&self) -> bool {
        match self {
            Fx::Eq(e) => e.on,
            Fx::Comp(c) => c.on,
            Fx::Limiter(l) => l.on,
            Fx::Reverb(_) | Fx::Delay(_) => true,
        }
    }

    /// Switches the effect on or off; false when it has no switch.
    pub fn toggle(&mut self) -> bool {
        match self {
            Fx::Eq(e) => e.on = !e.on,
            Fx::Comp(c) => c.on = !c.on,
            Fx::Limiter(l) => l.on = !l.on,
            Fx::Reverb(_) | Fx::Delay(_) => return false,
        }
        true
    }

    /// Number of parameters in the detail panel (EQ: six bands × on, freq, gain, Q).
    pub fn param_count(&self) -> usize {
        match self {
            Fx::Eq(_) => 6 * EQ_PER_BAND,
            Fx::Comp(_) => 7,
            Fx::Reverb(_) | Fx::Delay(_) => 5,
            Fx::Limiter(_) => 3,
        }
    }

    /// Name of parameter `i`.
    pub fn param_name(&self, i: usize) -> String {
        let list: &[&str] = match self {
            Fx::Eq(_) => {
                return format!(
                    "{} {}",
                    BAND_LABELS[(i / EQ_PER_BAND).min(5)],
                    BAND_PARAMS[i % EQ_PER_BAND]
                );
            }
            Fx::Comp(_) => &[
                "on",
                "threshold",
                "ratio",
                "knee",
                "attack",
                "release",
                "make-up",
            ],
            Fx::Reverb(_) => &["size", "decay", "damping", "pre-delay", "width"],
            Fx::Delay(_) => &["time", "unit", "feedback", "high cut", "ping-pong"],
            Fx::Limiter(_) => &["on", "ceiling", "release"],
        };
        list.get(i).copied().unwrap_or("").into()
    }

    /// Value of parameter `i` as text with its unit.
    pub fn param_value(&self, i: usize) -> String {
        match self {
            Fx::Eq(e) => {
                let (b, p) = (i / EQ_PER_BAND, i % EQ_PER_BAND);
                let Some(band) = e.bands.get(b) else {
                    return String::new();
                };
                match p {
                    0 => on_off(band.on),
                    1 => freq_text(band.freq_hz),
                    2 if has_gain(b) => format!("{:+.1} dB", band.gain_db),
                    2 => "-".into(),
                    _ => format!("{:.2}", band.q),
                }
            }
            Fx::Comp(c) => match i {
                0 => on_off(c.on),
                1 => format!("{:.1} dB", c.threshold_db),
                2 => format!("{:.1}:1", c.ratio),
                3 => format!("{:.1} dB", c.knee_db),
                4 => ms_text(c.attack_ms),
                5 => ms_text(c.release_ms),
                _ => format!("{:.1} dB", c.makeup_db),
            },
            Fx::Reverb(r) => match i {
                0 => format!("{:.2}", r.size),
                1 => format!("{:.2} s", r.decay_s),
                2 => format!("{:.2}", r.damping),
                3 => ms_text(r.predelay_ms),
                _ => format!("{:.2}", r.width),
            },
            Fx::Delay(d) => match i {
                0 => units_text(d.time),
                1 => match d.unit {
                    DelayUnit::Rows => "rows".into(),
                    DelayUnit::Beats => "beats".into(),
                },
                2 => format!("{:.2}", d.feedback),
                3 => freq_text(d.high_cut_hz),
                _ => on_off(d.ping_pong),
            },
            Fx::Limiter(l) => match i {
                0 => on_off(l.on),
                1 => format!("{:.1} dBTP", l.ceiling_db),
                _ => ms_text(l.release_ms),
            },
        }
    }

    /// Puts parameter `i` back to the value a new effect of this kind has.
    pub fn reset(&mut self, i: usize) {
        match self {
            Fx::Eq(e) => {
                let (b, p) = (i / EQ_PER_BAND, i % EQ_PER_BAND);
                let (Some(band), Some(d)) =
                    (e.bands.get_mut(b), Eq::default().bands.get(b).copied())
                else {
                    return;
                };
                match p {
                    0 => band.on = d.on,
                    1 => band.freq_hz = d.freq_hz,
                    2 => band.gain_db = d.gain_db,
                    _ => band.q = d.q,
                }
            }
            Fx::Comp(c) => {
                let d = Compressor::default();
                match i {
                    0 => c.on = d.on,
                    1 => c.threshold_db = d.threshold_db,
                    2 => c.ratio = d.ratio,
                    3 => c.knee_db = d.knee_db,
                    4 => c.attack_ms = d.attack_ms,
                    5 => c.release_ms = d.release_ms,
                    _ => c.makeup_db = d.makeup_db,
                }
            }
            Fx::Reverb(r) => {
                let d = Reverb::default();
                match i {
                    0 => r.size = d.size,
                    1 => r.decay_s = d.decay_s,
                    2 => r.damping = d.damping,
                    3 => r.predelay_ms = d.predelay_ms,
                    _ => r.width = d.width,
                }
            }
            Fx::Delay(dl) => {
                let d = Delay::default();
                match i {
                    0 => dl.time = d.time,
                    1 => dl.unit = d.unit,
                    2 => dl.feedback = d.feedback,
                    3 => dl.high_cut_hz = d.high_cut_hz,
                    _ => dl.ping_pong = d.ping_pong,
                }
            }
            Fx::Limiter(l) => {
                let d = Limiter::default();
                match i {
                    0 => l.on = d.on,
                    1 => l.ceiling_db = d.ceiling_db,
                    _ => l.release_ms = d.release_ms,
                }
            }
        }
    }

    /// Steps parameter `i` up (`up`) or down, inside its range.
    pub fn adjust(&mut self, i: usize, up: bool, fine: bool) {
        let dir = if up { 1 } else { -1 };
        let db = |v: f32, r: (f32, f32)| step_lin(v, dir, if fine { 0.1 } else { 0.5 }, r);
        let lin = |v: f32, r: (f32, f32)| step_lin(v, dir, if fine { 0.01 } else { 0.05 }, r);
        let freq = |v: f32, r: (f32, f32)| step_mul(v, up, if fine { SEMITONE } else { THIRD }, r);
        let time = |v: f32, r: (f32, f32)| step_mul(v, up, if fine { 1.05 } else { 1.25 }, r);
        match self {
            Fx::Eq(e) => {
                let (b, p) = (i / EQ_PER_BAND, i % EQ_PER_BAND);
                let Some(band) = e.bands.get_mut(b) else {
                    return;
                };
                match p {
                    0 => band.on = !band.on,
                    1 => band.freq_hz = freq(band.freq_hz, ranges::EQ_FREQ),
                    2 if has_gain(b) => band.gain_db = db(band.gain_db, ranges::EQ_GAIN),
                    2 => {}
                    _ => band.q = time(band.q, ranges::EQ_Q),
                }
            }
            Fx::Comp(c) => match i {
                0 => c.on = !c.on,
                1 => c.threshold_db = db(c.threshold_db, ranges::THRESHOLD),
                2 => c.ratio = step_ratio(c.ratio, dir, fine),
                3 => c.knee_db = db(c.knee_db, ranges::KNEE),
                4 => c.attack_ms = time(c.attack_ms, ranges::ATTACK_MS),
                5 => c.release_ms = time(c.release_ms, ranges::RELEASE_MS),
                _ => c.makeup_db = db(c.makeup_db, ranges::MAKEUP_DB),
            },
            Fx::Reverb(r) => match i {
                0 => r.size = lin(r.size, ranges::SIZE),
                1 => r.decay_s = time(r.decay_s, ranges::DECAY_S),
                2 => r.damping = lin(r.damping, ranges::DAMPING),
                3 => {
                    // From zero a multiplicative step goes nowhere: start at 1 ms, end at 0.
                    r.predelay_ms = if up && r.predelay_ms < 1.0 {
                        1.0
                    } else if !up && r.predelay_ms <= 1.0 {
                        0.0
                    } else {
                        time(r.predelay_ms, ranges::PREDELAY_MS)
                    }
                }
                _ => r.width = lin(r.width, ranges::WIDTH),
            },
            Fx::Delay(d) => match i {
                0 => {
                    let below_one = if up { d.time < 1.0 } else { d.time <= 1.0 };
                    let step = if fine || below_one { 0.25 } else { 1.0 };
                    d.time = step_lin(d.time, dir, step, ranges::DELAY_TIME);
                }
                1 => {
                    d.unit = match d.unit {
                        DelayUnit::Rows => DelayUnit::Beats,
                        DelayUnit::Beats => DelayUnit::Rows,
                    }
                }
                2 => d.feedback = lin(d.feedback, ranges::FEEDBACK),
                3 => d.high_cut_hz = freq(d.high_cut_hz, ranges::HIGH_CUT),
                _ => d.ping_pong = !d.ping_pong,
            },
            Fx::Limiter(l) => match i {
                0 => l.on = !l.on,
                1 => l.ceiling_db = db(l.ceiling_db, ranges::CEILING),
                _ => l.release_ms = time(l.release_ms, ranges::LIMITER_RELEASE),
            },
        }
    }
}

/// Whether EQ band `b` has a gain (peaks and shelves; not the high- and low-pass).
pub fn has_gain(b: usize) -> bool {
    !matches!(
        Eq::KINDS.get(b),
        Some(mix::BandKind::HighPass | mix::BandKind::LowPass) | None
    )
}

/// A third of an octave.
const THIRD: f32 = 1.259_921;
/// A semitone.
const SEMITONE: f32 = 1.059_463_1;

/// One step of `step` up or down, snapped to the step grid, inside `range`.
fn step_lin(v: f32, dir: i32, step: f32, range: (f32, f32)) -> f32 {
    (((v / step).round() + dir as f32) * step).clamp(range.0, range.1)
}

/// Multiplies or divides by `factor`, inside `range`.
fn step_mul(v: f32, up: bool, factor: f32, range: (f32, f32)) -> f32 {
    (if up { v * factor } else { v / factor }).clamp(range.0, range.1)
}

/// Compressor ratio: 0.5 below 4:1, 1 up to 10:1, 2 above (fine: 0.1).
fn step_ratio(v: f32, dir: i32, fine: bool) -> f32 {
    let at = if dir > 0 { v } else { v - 1e-3 };
    let step = if fine {
        0.1
    } else if at < 4.0 {
        0.5
    } else if at < 10.0 {
        1.0
    } else {
        2.0
    };
    step_lin(v, dir, step, ranges::RATIO)
}

/// A fader step: 0.5 dB above −24 dB, 1 dB down to −48 dB, then 4 dB (fine: 0.1 dB everywhere).
pub fn step_fader(v: f32, up: bool, fine: bool, range: (f32, f32)) -> f32 {
    let dir = if up { 1 } else { -1 };
    let at = if up { v } else { v - 1e-3 };
    let step = if fine {
        0.1
    } else if at >= -24.0 {
        0.5
    } else if at >= -48.0 {
        1.0
    } else {
        4.0
    };
    step_lin(v, dir, step, range)
}

/// Lowest audible send level; one step below is off.
pub const SEND_FLOOR_DB: f32 = -60.0;
/// Where a send starts when raised from off.
pub const SEND_START_DB: f32 = -20.0;

/// A send or return step: off → −20 dB, then fader steps; below −60 dB it is off again.
pub fn step_send(v: f32, up: bool, fine: bool) -> f32 {
    if v <= OFF_DB {
        return if up { SEND_START_DB } else { OFF_DB };
    }
    let next = step_fader(v, up, fine, ranges::SEND_DB);
    if next < SEND_FLOOR_DB { OFF_DB } else { next }
}

/// The open detail panel: which effect and which of its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detail {
    /// The effect.
    pub target: FxTarget,
    /// Its parameter under the cursor.
    pub param: usize,
}

/// Below this a meter shows −inf (dBFS).
pub const METER_FLOOR_DB: f32 = -100.0;
/// How far a shown peak or RMS level falls per meter report (about 24 dB per second).
pub const FALL_DB: f32 = 0.8;
/// Meter reports a peak hold stays before it falls (about 1.5 s).
pub const HOLD_REPORTS: u16 = 45;

/// One strip's level as shown: peak and RMS with ballistics, a held peak, gain reduction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StripLevel {
    /// Peak (dBFS) left and right, falling at [`FALL_DB`] per report.
    pub peak_db: [f32; 2],
    /// RMS (dBFS) left and right, falling likewise.
    pub rms_db: [f32; 2],
    /// Held peak (dBFS) left and right.
    pub hold_db: [f32; 2],
    hold_age: [u16; 2],
    /// Gain reduction (dB, ≥ 0) of the strip's compressors (master: its compressor).
    pub reduction_db: f32,
}

impl Default for StripLevel {
    fn default() -> StripLevel {
        StripLevel {
            peak_db: [METER_FLOOR_DB; 2],
            rms_db: [METER_FLOOR_DB; 2],
            hold_db: [METER_FLOOR_DB; 2],
            hold_age: [0; 2],
            reduction_db: 0.0,
        }
    }
}

/// A linear amplitude in dBFS, [`METER_FLOOR_DB`] for silence.
pub fn amp_db(a: f32) -> f32 {
    if a > 1e-5 {
        (20.0 * a.log10()).max(METER_FLOOR_DB)
    } else {
        METER_FLOOR_DB
    }
}

/// Every strip's level as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct MeterDisplay {
    /// Index = the engine's strip index ([`Strip::meter_index`]).
    pub strips: Vec<StripLevel>,
    /// Master limiter gain reduction (dB).
    pub limiter_db: f32,
}

impl Default for MeterDisplay {
    fn default() -> MeterDisplay {
        MeterDisplay {
            strips: vec![StripLevel::default(); METER_STRIPS],
            limiter_db: 0.0,
        }
    }
}

impl MeterDisplay {
    /// Takes one meter report. Returns true when anything shown changed.
    pub fn feed(&mut self, m: &Meters) -> bool {
        let before = self.clone();
        for (s, new) in self.strips.iter_mut().zip(m.strips.iter()) {
            for ch in 0..2 {
                let pk = amp_db(new.peak[ch]);
                s.peak_db[ch] = pk.max(s.peak_db[ch] - FALL_DB).max(METER_FLOOR_DB);
                s.rms_db[ch] = amp_db(new.rms[ch])
                    .max(s.rms_db[ch] - FALL_DB)
                    .max(METER_FLOOR_DB);
                if pk >= s.hold_db[ch] {
                    s.hold_db[ch] = pk;
                    s.hold_age[ch] = 0;
                } else if s.hold_age[ch] < HOLD_REPORTS {
                    s.hold_age[ch] += 1;
                } else {
                    s.hold_db[ch] = (s.hold_db[ch] - FALL_DB).max(s.peak_db[ch]);
                }
            }
            s.reduction_db = new.reduction_db;
        }
        self.limiter_db = m.limiter_db;
        *self != before
    }
}

/// The mixer view's state.
#[derive(Clone, Debug, Default)]
pub struct MixerUi {
    /// Strip under the cursor (see [`Strip::at`]).
    pub strip: usize,
    /// Row of that strip under the cursor.
    pub row: usize,
    /// The detail panel, when open.
    pub detail: Option<Detail>,
    /// The meters as shown.
    pub meters: MeterDisplay,
    /// Meter reports taken from the engine so far.
    pub meters_seen: u64,
}

impl App {
    /// The strip under the mixer cursor.
    pub fn mix_strip(&self) -> Strip {
        Strip::at(&self.song, self.mix.strip)
    }

    /// The row under the mixer cursor.
    pub fn mix_row(&self) -> Row {
        let rows = self.mix_strip().rows();
        rows[self.mix.row.min(rows.len() - 1)]
    }

    /// Takes a meter report into the meters the mixer view shows (the event loop does this with
    /// the engine's reports; tests call it with known values). Returns true when the shown
    /// levels changed.
    pub fn feed_meters(&mut self, m: &Meters) -> bool {
        self.mix.meters.feed(m)
    }

    /// The effect under the mixer cursor, if the row holds one.
    pub fn mix_row_target(&self) -> Option<FxTarget> {
        let strip = self.mix_strip();
        let target = match (strip, self.mix_row()) {
            (Strip::Track(track), Row::Insert(slot)) => FxTarget::Insert { track, slot },
            (Strip::Reverb, Row::BusEffect) => FxTarget::Reverb,
            (Strip::Delay, Row::BusEffect) => FxTarget::Delay,
            (_, Row::MasterEq) => FxTarget::MasterEq,
            (_, Row::MasterComp) => FxTarget::MasterComp,
            (_, Row::MasterLimiter) => FxTarget::MasterLimiter,
            _ => return None,
        };
        MixSnapshot::of(&self.song).fx(target).map(|_| target)
    }

    /// Keeps the mixer cursor on an existing strip and row (tracks may have been removed) and
    /// closes a detail panel whose effect is gone.
    pub(super) fn mix_clamp(&mut self) {
        self.mix.strip = self.mix.strip.min(Strip::count(&self.song) - 1);
        self.mix.row = self.mix.row.min(self.mix_strip().rows().len() - 1);
        if let Some(d) = self.mix.detail
            && MixSnapshot::of(&self.song).fx(d.target).is_none()
        {
            self.mix.detail = None;
        }
    }

    /// Changes the mix through `f`, as one undo step mirrored to the engine with `SetMix`.
    /// With a `key`, repeated nudges of the same parameter merge into one step. Returns false
    /// when nothing changed (a value already at the end of its range).
    fn mix_edit(
        &mut self,
        key: Option<super::edit::MergeKey>,
        f: impl FnOnce(&mut MixSnapshot),
    ) -> bool {
        let before = MixSnapshot::of(&self.song);
        let mut after = before.clone();
        f(&mut after);
        if after == before {
            return false;
        }
        let edit = Edit::Mix {
            before: Box::new(before),
            after: Box::new(after),
        };
        match key {
            Some(k) => self.apply_nudge(edit, k),
            None => self.apply(edit),
        }
        true
    }

    /// Performs a mixer action (the keys of `Scope::Mixer`).
    pub(super) fn mixer_action(&mut self, action: Action) {
        self.mix_clamp();
        let strip = self.mix_strip();
        let name = strip.name(&self.song);
        let rows = strip.rows().len();
        let n = Strip::count(&self.song);
        match action {
            Action::MixLeft | Action::MixRight => {
                let right = action == Action::MixRight;
                if let Some(d) = self.mix.detail.as_mut() {
                    if matches!(MixSnapshot::of(&self.song).fx(d.target), Some(Fx::Eq(_))) {
                        // Left and right keep the setting (on, freq, gain, Q) and change band.
                        let (band, p) = (d.param / EQ_PER_BAND, d.param % EQ_PER_BAND);
                        let band = if right {
                            (band + 1).min(5)
                        } else {
                            band.saturating_sub(1)
                        };
                        d.param = band * EQ_PER_BAND + p;
                    } else {
                        self.message = "↑/↓ pick a parameter; Enter closes the panel".into();
                    }
                    return;
                }
                self.mix.strip = if right {
                    (self.mix.strip + 1).min(n - 1)
                } else {
                    self.mix.strip.saturating_sub(1)
                };
                self.mix.row = self.mix.row.min(self.mix_strip().rows().len() - 1);
            }
            Action::MixUp | Action::MixDown => {
                let down = action == Action::MixDown;
                if let Some(d) = self.mix.detail.as_mut() {
                    let count = MixSnapshot::of(&self.song)
                        .fx(d.target)
                        .map_or(1, |fx| fx.param_count());
                    let is_eq = matches!(MixSnapshot::of(&self.song).fx(d.target), Some(Fx::Eq(_)));
                    d.param = if is_eq {
                        // Up and down stay within the band: on, freq, gain, Q.
                        let (b, p) = (d.param / EQ_PER_BAND, d.param % EQ_PER_BAND);
                        let p = if down {
                            (p + 1).min(EQ_PER_BAND - 1)
                        } else {
                            p.saturating_sub(1)
                        };
                        b * EQ_PER_BAND + p
                    } else if down {
                        (d.param + 1).min(count - 1)
                    } else {
                        d.param.saturating_sub(1)
                    };
                    return;
                }
                self.mix.row = if down {
                    (self.mix.row + 1).min(rows - 1)
                } else {
                    self.mix.row.saturating_sub(1)
                };
            }
            Action::MixFirst | Action::MixLast => {
                self.mix.detail = None;
                self.mix.strip = if action == Action::MixFirst { 0 } else { n - 1 };
                self.mix.row = self.mix.row.min(self.mix_strip().rows().len() - 1);
            }
            Action::MixChange { up, fine } => self.mix_change(up, fine),
            Action::MixReset => self.mix_reset(),
            Action::MixMute => {
                let changed = match strip {
                    Strip::Track(t) => {
                        self.mix_edit(None, |m| m.tracks[t].mute = !m.tracks[t].mute)
                    }
                    Strip::Reverb => {
                        self.mix_edit(None, |m| m.mixer.reverb.mute = !m.mixer.reverb.mute)
                    }
                    Strip::Delay => {
                        self.mix_edit(None, |m| m.mixer.delay.mute = !m.mixer.delay.mute)
                    }
                    Strip::Master => {
                        self.message = "the master has no mute (lower its volume)".into();
                        return;
                    }
                };
                if changed {
                    let muted = match strip {
                        Strip::Track(t) => self.song.tracks[t].mute,
                        Strip::Reverb => self.song.mixer.reverb.mute,
                        _ => self.song.mixer.delay.mute,
                    };
                    self.message = format!("{name}: {}", if muted { "muted" } else { "unmuted" });
                }
            }
            Action::MixSolo => {
                let Strip::Track(t) = strip else {
                    self.message = "only tracks can be soloed".into();
                    return;
                };
                self.mix_edit(None, |m| m.tracks[t].solo = !m.tracks[t].solo);
                self.message = format!(
                    "{name}: {}",
                    if self.song.tracks[t].solo {
                        "solo"
                    } else {
                        "solo off"
                    }
                );
            }
            Action::MixAddEq | Action::MixAddCompressor => {
                let Strip::Track(t) = strip else {
                    self.message =
                        "inserts go on tracks; buses and master have fixed effects".into();
                    return;
                };
                let k = self.song.tracks[t].inserts.len();
                if k >= MAX_INSERTS {
                    self.message = format!("{name}: the {MAX_INSERTS} insert slots are full");
                    return;
                }
                let fx = if action == Action::MixAddEq {
                    Insert::Eq(Eq::default())
                } else {
                    Insert::Compressor(Compressor::default())
                };
                self.mix_edit(None, |m| m.tracks[t].inserts.push(fx));
                self.mix.detail = None;
                self.mix.row = 4 + k;
                self.message = format!("{name}: added {} as insert {}", fx.name(), k + 1);
            }
            Action::MixRemoveInsert => {
                let (Strip::Track(t), Row::Insert(k)) = (strip, self.mix_row()) else {
                    self.message = "Delete removes the insert under the cursor".into();
                    return;
                };
                let Some(fx) = self.song.tracks[t].inserts.get(k).copied() else {
                    self.message = format!("{name}: insert slot {} is empty", k + 1);
                    return;
                };
                self.mix_edit(None, |m| {
                    m.tracks[t].inserts.remove(k);
                });
                self.mix.detail = None;
                self.message = format!(
                    "{name}: removed {} (insert {}); Ctrl-Z brings it back",
                    fx.name(),
                    k + 1
                );
            }
            Action::MixToggleOn => {
                let Some(target) = self.mix.detail.map(|d| d.target).or(self.mix_row_target())
                else {
                    self.message = "o switches an insert or a master effect on or off".into();
                    return;
                };
                let Some(mut fx) = MixSnapshot::of(&self.song).fx(target) else {
                    return;
                };
                if !fx.toggle() {
                    self.message = format!("the {} has no switch; m mutes its bus", fx.title());
                    return;
                }
                self.mix_edit(None, |m| m.set_fx(target, fx));
                self.message = format!(
                    "{name}: {} {}",
                    fx.title(),
                    if fx.is_on() { "on" } else { "off" }
                );
            }
            Action::MixDetail => {
                if self.mix.detail.take().is_some() {
                    return;
                }
                match self.mix_row_target() {
                    Some(target) => {
                        self.mix.detail = Some(Detail { target, param: 0 });
                        self.message = "detail: ↑↓ parameter  ←→ EQ band  +/- change (Shift fine)  o on/off  Enter closes".into();
                    }
                    None => {
                        self.message = "Enter opens the effect under the cursor (an insert, a bus effect, the master EQ, compressor or limiter)".into();
                    }
                }
            }
            _ => {}
        }
    }

    /// Puts the value under the mixer cursor (or the detail panel's parameter) back to its
    /// default.
    fn mix_reset(&mut self) {
        let strip = self.mix_strip();
        let name = strip.name(&self.song);
        if let Some(d) = self.mix.detail {
            let Some(mut fx) = MixSnapshot::of(&self.song).fx(d.target) else {
                return;
            };
            fx.reset(d.param);
            self.mix_edit(None, |m| m.set_fx(d.target, fx));
            self.message = format!(
                "{name}: {} {} {}",
                fx.title(),
                fx.param_name(d.param),
                fx.param_value(d.param)
            );
            return;
        }
        let what = match (strip, self.mix_row()) {
            (Strip::Track(t), Row::Volume) => {
                self.mix_edit(None, |m| m.tracks[t].volume_db = 0.0);
                "volume 0.0 dB"
            }
            (Strip::Master, Row::Volume) => {
                self.mix_edit(None, |m| m.mixer.master.volume_db = 0.0);
                "volume 0.0 dB"
            }
            (Strip::Track(t), Row::Pan) => {
                self.mix_edit(None, |m| m.tracks[t].pan = 0.0);
                "pan C"
            }
            (Strip::Track(t), Row::Send(b)) => {
                self.mix_edit(None, |m| m.tracks[t].sends[b] = OFF_DB);
                if b == 0 {
                    "reverb send off"
                } else {
                    "delay send off"
                }
            }
            (Strip::Reverb, Row::Return) => {
                self.mix_edit(None, |m| m.mixer.reverb.return_db = 0.0);
                "return 0.0 dB"
            }
            (Strip::Delay, Row::Return) => {
                self.mix_edit(None, |m| m.mixer.delay.return_db = 0.0);
                "return 0.0 dB"
            }
            (Strip::Reverb, Row::Mute) => {
                self.mix_edit(None, |m| m.mixer.reverb.mute = false);
                "unmuted"
            }
            (Strip::Delay, Row::Mute) => {
                self.mix_edit(None, |m| m.mixer.delay.mute = false);
                "unmuted"
            }
            _ => {
                self.message = "Enter opens the effect; 0 there resets a parameter".into();
                return;
            }
        };
        self.message = format!("{name}: {what}");
    }

    /// Raises or lowers the value under the mixer cursor (or the detail panel's parameter).
    fn mix_change(&mut self, up: bool, fine: bool) {
        let strip = self.mix_strip();
        let name = strip.name(&self.song);
        let (s, r) = (self.mix.strip, self.mix.row);
        if let Some(d) = self.mix.detail {
            let Some(mut fx) = MixSnapshot::of(&self.song).fx(d.target) else {
                return;
            };
            if matches!(fx, Fx::Eq(_)) && d.param % EQ_PER_BAND == 2 && !has_gain(d.param / 4) {
                self.message = format!("the {} band has no gain", BAND_LABELS[d.param / 4]);
                return;
            }
            fx.adjust(d.param, up, fine);
            let changed = self.mix_edit(Some((s, r, d.param + 1)), |m| m.set_fx(d.target, fx));
            self.message = format!(
                "{name}: {} {} {}{}",
                fx.title(),
                fx.param_name(d.param),
                fx.param_value(d.param),
                if changed { "" } else { " (limit)" }
            );
            return;
        }
        let key = Some((s, r, 0));
        let row = self.mix_row();
        let (what, value, changed) = match (strip, row) {
            (Strip::Track(t), Row::Volume) => {
                let c = self.mix_edit(key, |m| {
                    m.tracks[t].volume_db =
                        step_fader(m.tracks[t].volume_db, up, fine, ranges::VOLUME_DB)
                });
                (
                    "volume",
                    format!("{} dB", db_text(self.song.tracks[t].volume_db)),
                    c,
                )
            }
            (Strip::Master, Row::Volume) => {
                let c = self.mix_edit(key, |m| {
                    m.mixer.master.volume_db =
                        step_fader(m.mixer.master.volume_db, up, fine, ranges::VOLUME_DB)
                });
                (
                    "volume",
                    format!("{} dB", db_text(self.song.mixer.master.volume_db)),
                    c,
                )
            }
            (Strip::Track(t), Row::Pan) => {
                let step = if fine { 0.01 } else { 0.05 };
                let c = self.mix_edit(key, |m| {
                    m.tracks[t].pan =
                        step_lin(m.tracks[t].pan, if up { 1 } else { -1 }, step, (-1.0, 1.0))
                });
                ("pan", pan_text(self.song.tracks[t].pan), c)
            }
            (Strip::Track(t), Row::Send(b)) => {
                let c = self.mix_edit(key, |m| {
                    m.tracks[t].sends[b] = step_send(m.tracks[t].sends[b], up, fine)
                });
                let v = self.song.tracks[t].sends[b];
                (
                    if b == 0 { "reverb send" } else { "delay send" },
                    if v <= OFF_DB {
                        "off".into()
                    } else {
                        format!("{} dB", db_text(v))
                    },
                    c,
                )
            }
            (Strip::Reverb | Strip::Delay, Row::Return) => {
                let rev = strip == Strip::Reverb;
                let c = self.mix_edit(key, |m| {
                    let v = if rev {
                        &mut m.mixer.reverb.return_db
                    } else {
                        &mut m.mixer.delay.return_db
                    };
                    *v = step_send(*v, up, fine);
                });
                let v = if rev {
                    self.song.mixer.reverb.return_db
                } else {
                    self.song.mixer.delay.return_db
                };
                ("return", send_text(v), c)
            }
            (Strip::Reverb | Strip::Delay, Row::Mute) => {
                self.mixer_action(Action::MixMute);
                return;
            }
            _ => {
                self.message = "Enter edits the effect; o switches it on or off".into();
                return;
            }
        };
        self.message = format!(
            "{name}: {what} {value}{}",
            if changed { "" } else { " (limit)" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mixer::Meter;

    #[test]
    fn fader_steps_are_musical_and_reach_both_ends() {
        assert_eq!(step_fader(0.0, true, false, ranges::VOLUME_DB), 0.5);
        assert!((step_fader(0.0, false, true, ranges::VOLUME_DB) + 0.1).abs() < 1e-6);
        // Half a dB down to −24, then 1 dB, then 4 dB.
        assert_eq!(step_fader(-24.0, true, false, ranges::VOLUME_DB), -23.5);
        assert_eq!(step_fader(-24.0, false, false, ranges::VOLUME_DB), -25.0);
        assert_eq!(step_fader(-48.0, false, false, ranges::VOLUME_DB), -52.0);
        let mut v = 0.0;
        let mut presses = 0;
        while v > ranges::VOLUME_DB.0 {
            v = step_fader(v, false, false, ranges::VOLUME_DB);
            presses += 1;
        }
        assert!(presses < 90, "{presses} presses from 0 dB to the bottom");
        assert_eq!(step_fader(24.0, true, false, ranges::VOLUME_DB), 24.0);
    }

    #[test]
    fn sends_switch_on_at_minus_20_and_off_below_minus_60() {
        assert_eq!(step_send(OFF_DB, true, false), SEND_START_DB);
        assert_eq!(step_send(OFF_DB, false, false), OFF_DB);
        assert_eq!(step_send(-60.0, false, true), OFF_DB);
        assert_eq!(step_send(6.0, true, false), 6.0);
    }

    #[test]
    fn frequencies_step_by_thirds_and_semitones() {
        let mut fx = Fx::Eq(Eq::default());
        fx.adjust(2 * EQ_PER_BAND + 1, true, false);
        fx.adjust(2 * EQ_PER_BAND + 1, true, true);
        let Fx::Eq(e) = fx else { panic!() };
        let want = 500.0 * 2f32.powf(1.0 / 3.0 + 1.0 / 12.0);
        assert!((e.bands[2].freq_hz / want - 1.0).abs() < 1e-5);
        // Three thirds make an octave.
        let mut fx = Fx::Delay(Delay::default());
        for _ in 0..3 {
            fx.adjust(3, false, false);
        }
        let Fx::Delay(d) = fx else { panic!() };
        assert!((d.high_cut_hz - 3000.0).abs() < 0.1, "{}", d.high_cut_hz);
    }

    #[test]
    fn values_read_as_text() {
        assert_eq!(pan_text(0.0), "C");
        assert_eq!(pan_text(-0.25), "L25");
        assert_eq!(pan_text(1.0), "R100");
        assert_eq!(freq_text(120.0), "120 Hz");
        assert_eq!(freq_text(2500.0), "2.50 kHz");
        assert_eq!(send_text(OFF_DB), "off");
        assert_eq!(send_text(-12.0), "-12.0");
        let fx = Fx::Limiter(Limiter::default());
        assert_eq!(
            (fx.param_name(1), fx.param_value(1)),
            ("ceiling".to_string(), "-0.3 dBTP".to_string())
        );
        assert_eq!(
            Fx::Eq(Eq::default()).param_value(2),
            "-",
            "the high-pass has no gain"
        );
    }

    #[test]
    fn meters_hold_the_peak_then_fall() {
        let mut d = MeterDisplay::default();
        let mut m = Meters::default();
        m.strips[0] = Meter {
            peak: [0.5, 0.25],
            rms: [0.1, 0.05],
            reduction_db: 3.0,
        };
        assert!(d.feed(&m));
        let s = d.strips[0];
        assert!((s.peak_db[0] + 6.0206).abs() < 1e-3 && (s.rms_db[0] + 20.0).abs() < 1e-3);
        assert_eq!(s.hold_db, s.peak_db);
        assert_eq!(s.reduction_db, 3.0);
        // Silence: the bars fall at FALL_DB per report, the hold stays for HOLD_REPORTS.
        let quiet = Meters::default();
        for _ in 0..HOLD_REPORTS {
            d.feed(&quiet);
        }
        let s2 = d.strips[0];
        assert_eq!(s2.hold_db, s.hold_db, "the hold fell too early");
        let fallen = s.peak_db[0] - FALL_DB * HOLD_REPORTS as f32;
        assert!((s2.peak_db[0] - fallen).abs() < 1e-3, "{:?}", s2.peak_db);
        d.feed(&quiet);
        assert!(
            d.strips[0].hold_db[0] < s.hold_db[0],
            "the hold never falls"
        );
        // Long silence reaches the floor and stays there: nothing changes, no redraw.
        for _ in 0..1000 {
            d.feed(&quiet);
        }
        assert_eq!(d.strips[0].peak_db, [METER_FLOOR_DB; 2]);
        assert_eq!(d.strips[0].hold_db, [METER_FLOOR_DB; 2]);
        assert!(!d.feed(&quiet));
    }
}
