//! ADSR envelope: linear attack, exponential decay and release. Times are "time to fall 60 dB" for
//! the exponential stages, so a 300 ms release is inaudible after 300 ms.

use crate::model::Adsr;

/// Stage of an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Rising linearly to 1.
    Attack,
    /// Falling towards the sustain level.
    Decay,
    /// Holding the sustain level (also the end of decay).
    Sustain,
    /// Falling towards 0 after note-off.
    Release,
    /// Finished: the level is 0.
    Idle,
}

/// Precomputed per-frame coefficients of an [`Adsr`] at one sample rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdsrCoefs {
    attack_step: f32,
    decay_coef: f32,
    sustain: f32,
    release_coef: f32,
    /// `decay_coef^(i+1)` and `release_coef^(i+1)` for a whole block, for closed-form segments.
    decay_pow: [f32; BLOCK],
    release_pow: [f32; BLOCK],
}

/// Longest block [`Envelope::fill`] computes in closed form.
pub const BLOCK: usize = 32;

fn powers(coef: f32) -> [f32; BLOCK] {
    let mut p = [0.0f32; BLOCK];
    let mut v = 1.0f64;
    for x in p.iter_mut() {
        v *= coef as f64;
        *x = v as f32;
    }
    p
}

/// Per-frame multiplier that falls by 60 dB in `ms` milliseconds.
fn t60_coef(ms: f32, rate: f32) -> f32 {
    let frames = (ms * 0.001 * rate).max(1.0);
    10f32.powf(-3.0 / frames)
}

impl AdsrCoefs {
    /// Coefficients of `env` at `rate` Hz.
    pub fn new(env: &Adsr, rate: f32) -> AdsrCoefs {
        let attack_frames = env.attack_ms * 0.001 * rate;
        AdsrCoefs {
            attack_step: if attack_frames < 1.0 {
                1.0
            } else {
                1.0 / attack_frames
            },
            decay_coef: t60_coef(env.decay_ms, rate),
            sustain: env.sustain.clamp(0.0, 1.0),
            release_coef: t60_coef(env.release_ms, rate),
            decay_pow: powers(t60_coef(env.decay_ms, rate)),
            release_pow: powers(t60_coef(env.release_ms, rate)),
        }
    }
}

/// Level below which a releasing envelope counts as finished (−90 dB).
const SILENT: f32 = 3.2e-5;

/// A running envelope.
#[derive(Clone, Copy, Debug)]
pub struct Envelope {
    /// Current stage.
    pub stage: Stage,
    /// Current level 0..=1.
    pub level: f32,
}

impl Envelope {
    /// An idle envelope.
    pub const IDLE: Envelope = Envelope {
        stage: Stage::Idle,
        level: 0.0,
    };

    /// Starts the attack from the current level (0 for a new voice).
    pub fn trigger(&mut self) {
        self.stage = Stage::Attack;
    }

    /// Enters the release stage.
    pub fn release(&mut self) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Release;
        }
    }

    /// Advances one frame and returns the level.
    #[inline(always)]
    pub fn next(&mut self, c: &AdsrCoefs) -> f32 {
        match self.stage {
            Stage::Attack => {
                self.level += c.attack_step;
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                }
            }
            Stage::Decay => {
                self.level = c.sustain + (self.level - c.sustain) * c.decay_coef;
                if self.level - c.sustain < SILENT {
                    self.level = c.sustain;
                    self.stage = if c.sustain <= SILENT {
                        Stage::Idle
                    } else {
                        Stage::Sustain
                    };
                }
            }
            Stage::Sustain => {}
            Stage::Release => {
                self.level *= c.release_coef;
                if self.level < SILENT {
                    self.level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
            Stage::Idle => {}
        }
        self.level
    }

    /// Writes the next `out.len()` levels into `out`; stages that hold still cost one fill.
    /// Always inlined: its one caller, the voice's render, chooses the vector width (see
    /// [`super::simd`]).
    #[inline(always)]
    pub fn fill(&mut self, c: &AdsrCoefs, out: &mut [f32]) {
        let n = out.len();
        // Exponential segments that do not end inside this block are computed in closed form,
        // level_i = target + (level − target) · coef^(i+1), which vectorises.
        let segment = match self.stage {
            Stage::Decay => Some((c.sustain, &c.decay_pow)),
            Stage::Release => Some((0.0, &c.release_pow)),
            _ => None,
        };
        if let Some((target, pow)) = segment
            && n > 0
            && n <= BLOCK
        {
            let d = self.level - target;
            if d * pow[n - 1] >= SILENT {
                for (o, p) in out.iter_mut().zip(pow.iter()) {
                    *o = target + d * p;
                }
                self.level = out[n - 1];
                return;
            }
        }
        match self.stage {
            Stage::Sustain | Stage::Idle => out.fill(self.level),
            _ => {
                for o in out.iter_mut() {
                    *o = self.next(c);
                }
            }
        }
    }

    /// Advances `n` frames without producing levels (for envelopes read only on the control grid).
    /// Ends at the level [`Envelope::fill`] would end at, in closed form when it can.
    pub fn skip(&mut self, c: &AdsrCoefs, n: usize) {
        let segment = match self.stage {
            Stage::Sustain | Stage::Idle => return,
            Stage::Decay => Some((c.sustain, &c.decay_pow)),
            Stage::Release => Some((0.0, &c.release_pow)),
            Stage::Attack => None,
        };
        if let Some((target, pow)) = segment
            && n > 0
            && n <= BLOCK
        {
            let d = self.level - target;
            if d * pow[n - 1] >= SILENT {
                self.level = target + d * pow[n - 1];
                return;
            }
        }
        for _ in 0..n {
            self.next(c);
        }
    }

    /// True once the envelope has finished.
    pub fn is_idle(&self) -> bool {
        self.stage == Stage::Idle
    }

    /// True while the level holds still (sustain, or finished).
    pub fn is_steady(&self) -> bool {
        matches!(self.stage, Stage::Sustain | Stage::Idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_times() {
        let rate = 48_000.0;
        let env = Adsr {
            attack_ms: 10.0,
            decay_ms: 100.0,
            sustain: 0.5,
            release_ms: 200.0,
        };
        let c = AdsrCoefs::new(&env, rate);
        let mut e = Envelope::IDLE;
        e.trigger();
        let mut n = 0;
        while e.stage == Stage::Attack {
            e.next(&c);
            n += 1;
        }
        assert!((n as f32 - 480.0).abs() <= 1.0, "attack {n} frames");
        // After the decay time the level is 60 dB closer to sustain.
        for _ in 0..4800 {
            e.next(&c);
        }
        assert!((e.level - 0.5).abs() < 0.5 * 1e-3 + 1e-6, "{}", e.level);
        e.release();
        for _ in 0..9600 {
            e.next(&c);
        }
        let db = 20.0 * (e.level / 0.5).log10();
        assert!(
            e.is_idle() || (db + 60.0).abs() < 0.5,
            "release reached {db} dB"
        );
    }
}
