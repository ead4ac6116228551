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
pub const BLOCK: usize = crate::engine::song::CONTROL_FRAMES as usize;

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
    ///
    /// Blocks up to [`BLOCK`] frames are computed in closed form, which vectorises: the attack as
    /// `level + step · (i+1)`, the exponential segments as `target + (level − target) ·
    /// coef^(i+1)`. The frame where a stage ends (the attack reaching 1, a decay or release coming
    /// within −90 dB of its target) is the first whose closed-form level is there; the rest of the
    /// block continues in the next stage. [`Envelope::skip`] follows the same formulas, so the
    /// levels do not depend on which of the two ran.
    #[inline(always)]
    pub fn fill(&mut self, c: &AdsrCoefs, out: &mut [f32]) {
        let n = out.len();
        if n == 0 {
            return;
        }
        match self.stage {
            Stage::Sustain | Stage::Idle => out.fill(self.level),
            _ if n > BLOCK => {
                for o in out.iter_mut() {
                    *o = self.next(c);
                }
            }
            Stage::Attack => {
                let (l0, step) = (self.level, c.attack_step);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = l0 + step * (i + 1) as f32;
                }
                // The levels rise, so only a block whose last level reaches 1 ends the attack.
                if out[n - 1] < 1.0 {
                    self.level = out[n - 1];
                    return;
                }
                let k = out.iter().position(|&v| v >= 1.0).unwrap_or(n - 1);
                out[k] = 1.0;
                self.level = 1.0;
                self.stage = Stage::Decay;
                // A decay never returns to the attack: one level of recursion at most.
                self.fill(c, &mut out[k + 1..]);
            }
            Stage::Decay | Stage::Release => {
                let (target, pow) = self.segment(c);
                let d = self.level - target;
                for (o, p) in out.iter_mut().zip(pow.iter()) {
                    *o = target + d * p;
                }
                // The levels fall towards the target, so only a block whose last level is
                // within −90 dB of it ends the stage.
                if out[n - 1] - target >= SILENT {
                    self.level = out[n - 1];
                    return;
                }
                let k = out
                    .iter()
                    .position(|&v| v - target < SILENT)
                    .unwrap_or(n - 1);
                self.end_segment(c);
                out[k..].fill(self.level);
            }
        }
    }

    /// Target and per-frame powers of the exponential stage under way (decay or release).
    #[inline(always)]
    fn segment<'a>(&self, c: &'a AdsrCoefs) -> (f32, &'a [f32; BLOCK]) {
        if self.stage == Stage::Decay {
            (c.sustain, &c.decay_pow)
        } else {
            (0.0, &c.release_pow)
        }
    }

    /// Ends the exponential stage under way at its target, as [`Envelope::next`] does.
    #[inline(always)]
    fn end_segment(&mut self, c: &AdsrCoefs) {
        if self.stage == Stage::Decay {
            self.level = c.sustain;
            self.stage = if c.sustain <= SILENT {
                Stage::Idle
            } else {
                Stage::Sustain
            };
        } else {
            self.level = 0.0;
            self.stage = Stage::Idle;
        }
    }

    /// Advances `n` frames without producing levels (for envelopes read only on the control grid).
    /// Ends at the level [`Envelope::fill`] would end at.
    pub fn skip(&mut self, c: &AdsrCoefs, n: usize) {
        if n == 0 {
            return;
        }
        match self.stage {
            Stage::Sustain | Stage::Idle => {}
            _ if n > BLOCK => {
                for _ in 0..n {
                    self.next(c);
                }
            }
            Stage::Attack => {
                let (l0, step) = (self.level, c.attack_step);
                let last = l0 + step * n as f32;
                if last < 1.0 {
                    self.level = last;
                    return;
                }
                let k = (0..n)
                    .position(|i| l0 + step * (i + 1) as f32 >= 1.0)
                    .unwrap_or(n - 1);
                self.level = 1.0;
                self.stage = Stage::Decay;
                self.skip(c, n - k - 1);
            }
            Stage::Decay | Stage::Release => {
                let (target, pow) = self.segment(c);
                let last = target + (self.level - target) * pow[n - 1];
                if last - target >= SILENT {
                    self.level = last;
                } else {
                    self.end_segment(c);
                }
            }
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

    /// Runs `fill` in blocks of `len` through a note (held for `hold` frames, then released),
    /// against `next` frame by frame and `skip` over the same blocks.
    fn compare(env: &Adsr, len: usize, hold: usize) {
        let c = AdsrCoefs::new(env, 48_000.0);
        let (mut a, mut b, mut k) = (Envelope::IDLE, Envelope::IDLE, Envelope::IDLE);
        for e in [&mut a, &mut b, &mut k] {
            e.trigger();
        }
        let mut block = vec![0.0f32; len];
        // The sums differ in rounding, so a stage may end a frame earlier or later: allow one
        // frame's change of level.
        let tol = 1e-4
            + c.attack_step
                .max(1.0 - c.decay_coef)
                .max(1.0 - c.release_coef);
        for frame in (0..6 * 48_000).step_by(len) {
            if frame >= hold && a.stage != Stage::Release && a.stage != Stage::Idle {
                a.release();
                b.release();
                k.release();
            }
            a.fill(&c, &mut block);
            k.skip(&c, len);
            assert_eq!((k.level.to_bits(), k.stage), (a.level.to_bits(), a.stage));
            for (i, &v) in block.iter().enumerate() {
                let want = b.next(&c);
                assert!(
                    (v - want).abs() <= tol,
                    "{env:?} block {len}: frame {} level {v} per frame {want}",
                    frame + i
                );
            }
        }
        assert!(a.is_idle() && b.is_idle());
    }

    #[test]
    fn closed_form_blocks_follow_the_frame_by_frame_envelope() {
        let envs = [
            (1.0, 20.0, 0.3, 30.0),
            (10.0, 100.0, 0.0, 200.0),
            (0.0, 5.0, 1.0, 5.0),
            (300.0, 50.0, 0.5, 10.0),
            (2.0, 3000.0, 0.0, 3000.0),
        ];
        for (attack_ms, decay_ms, sustain, release_ms) in envs {
            let env = Adsr {
                attack_ms,
                decay_ms,
                sustain,
                release_ms,
            };
            for len in [1, 7, 32] {
                compare(&env, len, 9_600);
                compare(&env, len, 100);
            }
        }
    }
}
