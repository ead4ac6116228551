//! One sounding note: oscillators, filter and envelopes for the synth, a resampling read head for the
//! sampler, and the declick ramps that keep note starts, stops and steals free of clicks.

use super::song::{CONTROL_FRAMES, PlayableInstrument, SamplerPatch, Source, SynthPatch};
use crate::dsp::envelope::Envelope;
use crate::dsp::filter::{Svf, SvfCoefs};
use crate::dsp::interp::hermite4;
use crate::dsp::osc::Oscillator;
use crate::dsp::pan;
use crate::dsp::rng::Rng;
use crate::model::{LoopMode, Note, Waveform};

/// Frames of the fade-in every note starts with (1 ms at 48 kHz).
pub const FADE_IN_FRAMES: u32 = 48;
/// Frames of the fade-out of a cut or stolen voice (3 ms at 48 kHz).
pub const FADE_OUT_FRAMES: u32 = 144;

/// A playing voice. All state lives here; [`Voice::reset`] makes it idle.
#[derive(Clone, Debug)]
pub struct Voice {
    /// False when the voice is free.
    pub active: bool,
    /// Increments on every start, so a lane can tell whether "its" voice was stolen.
    pub id: u32,
    /// Track it plays on.
    pub track: u16,
    /// Lane (track × note column) that owns it.
    pub lane: u16,
    /// Instrument slot (1-based).
    pub slot: u8,
    /// Pitch in semitones above C-0, effects included.
    pub pitch: f32,
    /// Linear gain from volume column, instrument and effects.
    pub gain: f32,
    /// Pan -1..=1.
    pub pan: f32,
    osc1: Oscillator,
    osc2: Oscillator,
    filter: Svf,
    coefs: SvfCoefs,
    amp_env: Envelope,
    filter_env: Envelope,
    pitch_env: f32,
    rng: Rng,
    pos: f64,
    step: f64,
    forward: bool,
    gain_l: f32,
    gain_r: f32,
    step_l: f32,
    step_r: f32,
    ramp_left: u32,
    fade_in: u32,
    fade_out: u32,
    fading: bool,
}

/// What a voice needs to start.
pub struct Start {
    /// Instrument slot.
    pub slot: u8,
    /// Pitch in semitones above C-0.
    pub pitch: f32,
    /// Linear gain.
    pub gain: f32,
    /// Pan.
    pub pan: f32,
    /// First sample frame (sample offset effect).
    pub offset: u64,
    /// Seed for the noise source.
    pub seed: u64,
}

impl Voice {
    /// An idle voice.
    pub fn new() -> Voice {
        Voice {
            active: false,
            id: 0,
            track: 0,
            lane: 0,
            slot: 0,
            pitch: 0.0,
            gain: 0.0,
            pan: 0.0,
            osc1: Oscillator::new(0.0),
            osc2: Oscillator::new(0.0),
            filter: Svf::default(),
            coefs: SvfCoefs::lowpass(1000.0, 0.0, 48_000.0),
            amp_env: Envelope::IDLE,
            filter_env: Envelope::IDLE,
            pitch_env: 0.0,
            rng: Rng::new(0),
            pos: 0.0,
            step: 0.0,
            forward: true,
            gain_l: 0.0,
            gain_r: 0.0,
            step_l: 0.0,
            step_r: 0.0,
            ramp_left: 0,
            fade_in: 0,
            fade_out: 0,
            fading: false,
        }
    }

    /// Frees the voice at once (no fade); for engine resets only.
    pub fn reset(&mut self) {
        let id = self.id;
        *self = Voice::new();
        self.id = id;
    }

    /// Starts a note of `inst`. Returns false when the note cannot sound (e.g. an offset past the end).
    pub fn start(&mut self, inst: &PlayableInstrument, s: &Start, rate: f32) -> bool {
        self.id = self.id.wrapping_add(1);
        self.active = true;
        self.slot = s.slot;
        self.pitch = s.pitch;
        self.gain = s.gain;
        self.pan = s.pan;
        self.filter.reset();
        self.amp_env = Envelope::IDLE;
        self.amp_env.trigger();
        self.filter_env = Envelope::IDLE;
        self.filter_env.trigger();
        self.rng = Rng::new(s.seed);
        self.osc1 = Oscillator::new(0.0);
        self.osc2 = Oscillator::new(0.0);
        self.forward = true;
        self.fade_in = FADE_IN_FRAMES;
        self.fade_out = 0;
        self.fading = false;
        self.gain_l = 0.0;
        self.gain_r = 0.0;
        self.ramp_left = 0;
        match &inst.source {
            Source::Synth(p) => {
                self.pitch_env = 1.0;
                self.pos = 0.0;
                if p.params.amp.attack_ms * 0.001 * rate >= FADE_IN_FRAMES as f32 {
                    self.fade_in = 0;
                }
            }
            Source::Sampler(p) => {
                self.pitch_env = 0.0;
                self.pos = s.offset as f64;
                if self.pos >= p.sample.frames as f64 {
                    self.active = false;
                    return false;
                }
                if s.offset == 0 {
                    // A sample starting at its first frame begins as recorded; it needs no fade-in.
                    self.fade_in = 0;
                }
            }
        }
        self.control(inst, rate, true);
        true
    }

    /// Releases the note (note-off): envelopes enter their release stage.
    pub fn release(&mut self) {
        self.amp_env.release();
        self.filter_env.release();
    }

    /// Fades the voice out over a few milliseconds, then frees it (cut, steal, stop).
    pub fn fade_out(&mut self) {
        if !self.fading {
            self.fading = true;
            self.fade_out = FADE_OUT_FRAMES;
        }
    }

    /// True while fading out.
    pub fn is_fading(&self) -> bool {
        self.fading
    }

    /// Current loudness estimate, for choosing which voice to steal.
    pub fn loudness(&self) -> f32 {
        if self.fading {
            0.0
        } else {
            self.amp_env.level * self.gain
        }
    }

    /// Recomputes modulated values on the control grid (or when an effect changes them): pitch
    /// increments, filter coefficients and the gain ramp towards the current gain and pan.
    pub fn control(&mut self, inst: &PlayableInstrument, rate: f32, snap: bool) {
        match &inst.source {
            Source::Synth(p) => {
                let params = &p.params;
                let pitch = self.pitch + params.pitch_env_semitones * self.pitch_env;
                let f1 = Note::pitch_hz(pitch as f64) as f32;
                self.osc1.set_freq(f1, rate);
                let f2 = Note::pitch_hz((pitch + params.osc2_semitones) as f64) as f32;
                self.osc2.set_freq(f2, rate);
                if !snap {
                    self.pitch_env *= p.pitch_env_step;
                    if self.pitch_env < 1e-4 {
                        self.pitch_env = 0.0;
                    }
                }
                let octaves = params.filter_env_octaves * self.filter_env.level
                    + params.key_track * (self.pitch - 48.0) / 12.0;
                let cutoff = params.cutoff_hz * octaves.exp2();
                self.coefs = SvfCoefs::lowpass(cutoff, params.resonance, rate);
            }
            Source::Sampler(p) => {
                let ratio = ((self.pitch - p.base_pitch) / 12.0).exp2() as f64;
                self.step = ratio * p.rate_ratio;
            }
        }
        let (l, r) = pan::constant_power(self.pan);
        let g = self.gain * inst.volume;
        let (tl, tr) = (g * l, g * r);
        if snap {
            self.gain_l = tl;
            self.gain_r = tr;
            self.ramp_left = 0;
        } else {
            let n = CONTROL_FRAMES as f32;
            self.step_l = (tl - self.gain_l) / n;
            self.step_r = (tr - self.gain_r) / n;
            self.ramp_left = CONTROL_FRAMES as u32;
        }
    }

    /// Adds `left.len()` frames of this voice to `left`/`right`. Frees the voice when it has finished.
    pub fn render(&mut self, inst: &PlayableInstrument, left: &mut [f32], right: &mut [f32]) {
        match &inst.source {
            Source::Synth(p) => self.render_synth(p, left, right),
            Source::Sampler(p) => self.render_sampler(p, left, right),
        }
        if self.amp_env.is_idle() || (self.fading && self.fade_out == 0) {
            self.active = false;
        }
    }

    /// Per-frame gain: envelope × declick × the ramped pan gains.
    #[inline(always)]
    fn frame_gains(&mut self, env: f32) -> (f32, f32) {
        let mut a = env;
        if self.fade_in > 0 {
            a *= 1.0 - self.fade_in as f32 * (1.0 / FADE_IN_FRAMES as f32);
            self.fade_in -= 1;
        }
        if self.fading {
            a *= self.fade_out as f32 * (1.0 / FADE_OUT_FRAMES as f32);
            self.fade_out = self.fade_out.saturating_sub(1);
        }
        if self.ramp_left > 0 {
            self.gain_l += self.step_l;
            self.gain_r += self.step_r;
            self.ramp_left -= 1;
        }
        (a * self.gain_l, a * self.gain_r)
    }

    fn render_synth(&mut self, p: &SynthPatch, left: &mut [f32], right: &mut [f32]) {
        let params = &p.params;
        let (w1, w2) = (params.osc1, params.osc2);
        let mix = if w2 == Waveform::Off {
            0.0
        } else {
            params.osc_mix
        };
        let (m1, m2) = (1.0 - mix, mix);
        let width = params.pulse_width;
        let coefs = self.coefs;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let mut s = m1 * self.osc1.next(w1, width, &mut self.rng);
            if w2 != Waveform::Off {
                s += m2 * self.osc2.next(w2, width, &mut self.rng);
            }
            let y = self.filter.lowpass(&coefs, s);
            self.filter_env.next(&p.filter_env);
            let env = self.amp_env.next(&p.amp);
            let (gl, gr) = self.frame_gains(env);
            *l += y * gl;
            *r += y * gr;
            if self.fading && self.fade_out == 0 {
                break;
            }
        }
    }

    fn render_sampler(&mut self, p: &SamplerPatch, left: &mut [f32], right: &mut [f32]) {
        let data = &p.sample.data[..];
        let channels = p.sample.channels as usize;
        let frames = p.sample.frames as usize;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let idx = self.pos as usize;
            let t = (self.pos - idx as f64) as f32;
            let (sl, sr) = if channels == 1 {
                let v = if idx >= 1 && idx + 2 < frames {
                    hermite4(t, data[idx - 1], data[idx], data[idx + 1], data[idx + 2])
                } else {
                    let at = |i: isize| self.frame_at(p, i, 0, 1);
                    let i = idx as isize;
                    hermite4(t, at(i - 1), at(i), at(i + 1), at(i + 2))
                };
                (v, v)
            } else {
                let mut out = [0.0f32; 2];
                for (c, o) in out.iter_mut().enumerate() {
                    *o = if idx >= 1 && idx + 2 < frames {
                        let b = idx * 2 + c;
                        hermite4(t, data[b - 2], data[b], data[b + 2], data[b + 4])
                    } else {
                        let i = idx as isize;
                        hermite4(
                            t,
                            self.frame_at(p, i - 1, c, 2),
                            self.frame_at(p, i, c, 2),
                            self.frame_at(p, i + 1, c, 2),
                            self.frame_at(p, i + 2, c, 2),
                        )
                    };
                }
                (out[0], out[1])
            };
            let env = self.amp_env.next(&p.amp);
            let (gl, gr) = self.frame_gains(env);
            *l += sl * gl;
            *r += sr * gr;
            if !self.advance(p) || (self.fading && self.fade_out == 0) {
                self.amp_env = Envelope::IDLE;
                break;
            }
        }
    }

    /// The value of channel `c` at frame `i`, following the loop past its end and giving silence
    /// outside the sample, for the interpolator's neighbours at the edges.
    fn frame_at(&self, p: &SamplerPatch, i: isize, c: usize, channels: usize) -> f32 {
        let frames = p.sample.frames as isize;
        let mut i = i;
        if p.loop_mode != LoopMode::Off {
            let (ls, le) = (p.loop_start as isize, p.loop_end as isize);
            let len = le - ls;
            if i >= le && len > 0 {
                i = match p.loop_mode {
                    LoopMode::Forward => ls + (i - le) % len,
                    _ => le - 1 - (i - le) % len,
                };
            }
        }
        if i < 0 || i >= frames {
            0.0
        } else {
            p.sample
                .data
                .get(i as usize * channels + c)
                .copied()
                .unwrap_or(0.0)
        }
    }

    /// Moves the read head one frame; false when a one-shot sample has ended.
    #[inline(always)]
    fn advance(&mut self, p: &SamplerPatch) -> bool {
        match p.loop_mode {
            LoopMode::Off => {
                self.pos += self.step;
                self.pos < p.sample.frames as f64
            }
            LoopMode::Forward => {
                self.pos += self.step;
                if self.pos >= p.loop_end {
                    let len = p.loop_end - p.loop_start;
                    self.pos = p.loop_start + (self.pos - p.loop_end) % len;
                }
                true
            }
            LoopMode::PingPong => {
                if self.forward {
                    self.pos += self.step;
                    if self.pos >= p.loop_end {
                        self.pos = (2.0 * p.loop_end - self.pos).max(p.loop_start);
                        self.forward = false;
                    }
                } else {
                    self.pos -= self.step;
                    if self.pos < p.loop_start {
                        self.pos = (2.0 * p.loop_start - self.pos).min(p.loop_end);
                        self.forward = true;
                    }
                }
                true
            }
        }
    }
}

impl Default for Voice {
    fn default() -> Voice {
        Voice::new()
    }
}
