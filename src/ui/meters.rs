//! The meters as the mixer view shows them: the engine's reports (peak and RMS per strip, about
//! 30 a second) turned into dBFS with ballistics (levels fall at a fixed rate) and a peak hold.

use crate::engine::mixer::{METER_STRIPS, Meters};

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
    /// Index = the engine's strip index ([`crate::ui::mixer::Strip::meter_index`]).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mixer::Meter;

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
