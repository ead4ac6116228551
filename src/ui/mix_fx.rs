//! The effects the mixer's detail panel edits, as values: names and printed values of every
//! parameter, and musical steps inside `model::mix::ranges`: levels in 0.5 dB (fine 0.1 dB;
//! faders take wider steps below −24 dB so that silence is reachable), frequencies by a third of
//! an octave (fine: a semitone), times and Q by ×1.25 (fine ×1.05).

use crate::model::mix::{self, Compressor, Delay, DelayUnit, Eq, Limiter, OFF_DB, Reverb, ranges};

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
pub fn step_lin(v: f32, dir: i32, step: f32, range: (f32, f32)) -> f32 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
