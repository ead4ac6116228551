//! One sounding note: oscillators, filter and envelopes for the synth, a resampling read head for the
//! sampler, and the declick ramps that keep note starts, stops and steals free of clicks.

use super::song::{CONTROL_FRAMES, PlayableInstrument, SamplerPatch, Source, SynthPatch};
use crate::dsp::envelope::{AdsrCoefs, Envelope};
use crate::dsp::filter::{Svf, SvfCoefs};
use crate::dsp::interp::hermite4;
use crate::dsp::osc::Oscillator;
use crate::dsp::pan;
use crate::dsp::rng::Rng;
use crate::model::{LoopMode, Note, Synth, Waveform};

/// Frames of the fade-in every note starts with (1 ms at 48 kHz).
pub const FADE_IN_FRAMES: u32 = 48;
/// Frames of the fade-out of a cut or stolen voice (3 ms at 48 kHz).
pub const FADE_OUT_FRAMES: u32 = 144;
/// One frame in the sampler's 32.32 fixed-point read position.
const FIX_ONE: f64 = 4_294_967_296.0;
/// Longest block a voice renders at once (the engine's longest voice span).
pub const MAX_BLOCK: usize = super::SPAN;

/// The control periods of a span of `n` frames whose first period is `first` frames long
/// (`first` ≥ 1): `(start, end)` of each.
pub(super) fn periods(n: usize, first: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= n {
            return None;
        }
        let end = if start == 0 {
            first.clamp(1, n)
        } else {
            (start + CONTROL_FRAMES as usize).min(n)
        };
        let r = (start, end);
        start = end;
        Some(r)
    })
}

/// Working buffers of [`Voice::render`], owned by the engine and shared by all voices, so a
/// render does not clear a fresh set on the stack every time (they are overwritten before they
/// are read).
pub struct Scratch {
    left: [f32; MAX_BLOCK],
    right: [f32; MAX_BLOCK],
    env: [f32; MAX_BLOCK],
    /// The voice rendered next is the first on its track in this span: it writes the track's
    /// frames (zeros where it is silent) instead of adding to them, so the engine need not
    /// clear the track first.
    pub write: bool,
}

impl Scratch {
    /// Zeroed buffers (boxed: about 4 KiB).
    pub fn new() -> Box<Scratch> {
        Box::new(Scratch {
            left: [0.0; MAX_BLOCK],
            right: [0.0; MAX_BLOCK],
            env: [0.0; MAX_BLOCK],
            write: false,
        })
    }
}

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
    /// Audition tag (non-zero for notes started by [`crate::engine::Command::NoteOn`]).
    pub tag: u32,
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
    /// `coefs` are not yet those of `cutoff_key`: the control step leaves them to be computed
    /// where they are needed, for a group of voices at once (see [`Voice::pending_cutoff`]).
    coefs_stale: bool,
    filter_open: bool,
    /// Inputs the oscillator increments, the filter coefficients and the read step were last
    /// computed (or, for the coefficients, are to be computed) from (pitch, second pitch or
    /// resonance, rate): the control step recomputes them (exp2, tan) only when one changes.
    freq_key: [f32; 3],
    cutoff_key: [f32; 3],
    step_key: (f32, f32, f64),
    /// Oscillator output of the current block (filtered in place).
    sig: [f32; MAX_BLOCK],
    /// `sig` holds this block's oscillators (and filter) already.
    prepared: bool,
    /// The prepared block spans several control periods of a voice that is not static: the
    /// engine's filter pass takes its control steps between them (see
    /// [`Voice::renders_alone`]).
    self_control: bool,
    /// Such a voice's pitch moves (its pitch envelope runs): its oscillators run period by
    /// period, each after its control step, instead of once for the block.
    osc_per_period: bool,
    /// Where in `sig` the current block's signal starts (its place in the span).
    sig_at: u16,
    /// `sig[ahead.0..ahead.1]` holds the oscillators' next frames, run ahead for a span whose
    /// periods take them one by one (see [`Voice::oscillators_ahead`]).
    ahead: (u16, u16),
    amp_env: Envelope,
    filter_env: Envelope,
    pitch_env: f32,
    /// The pitch envelope and the filter envelope's level that the last control step computed
    /// the oscillator increments and the cutoff from (see [`Voice::is_static`]).
    control_env: [f32; 2],
    rng: Rng,
    /// Read position in frames, 32.32 fixed point.
    pos: u64,
    /// Read increment per output frame, 32.32 fixed point.
    step: u64,
    forward: bool,
    /// Pan value and its gains, kept so the control step does not recompute cos and sin.
    pan_cached: (f32, (f32, f32)),
    /// Left and right output gains and their ramp.
    gains: Gains,
    fade_in: u32,
    fade_out: u32,
    fading: bool,
}

/// A voice's left and right output gains (pan and gain together) and the ramp that moves them
/// to new values over a control period: apart from the rest of the voice, so that the mix can
/// read the voice's signal buffer while it updates them.
#[derive(Clone, Copy, Debug, Default)]
struct Gains {
    l: f32,
    r: f32,
    step_l: f32,
    step_r: f32,
    /// Where the running ramp ends: the gains are set to it exactly when it has run, so an
    /// unchanged gain and pan need no ramp at the next control step.
    target_l: f32,
    target_r: f32,
    ramp_left: u32,
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

impl Gains {
    /// Adds `sig × env` to the outputs through the gains, ramping them while a ramp runs; with
    /// `WRITE`, writes it instead, as added to zeros (`0 + x`: the same value to the bit, a
    /// negative zero included).
    #[inline(always)]
    fn mix<const WRITE: bool>(
        &mut self,
        sig_l: &[f32],
        sig_r: &[f32],
        env: &[f32],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let n = env.len();
        let (sig_l, sig_r, left, right) =
            (&sig_l[..n], &sig_r[..n], &mut left[..n], &mut right[..n]);
        let ramp = (self.ramp_left as usize).min(n);
        let put = |o: &mut f32, v: f32| {
            if WRITE {
                *o = 0.0 + v;
            } else {
                *o += v;
            }
        };
        for i in 0..ramp {
            self.l += self.step_l;
            self.r += self.step_r;
            put(&mut left[i], sig_l[i] * env[i] * self.l);
            put(&mut right[i], sig_r[i] * env[i] * self.r);
        }
        self.ramp_left -= ramp as u32;
        if ramp > 0 && self.ramp_left == 0 {
            (self.l, self.r) = (self.target_l, self.target_r);
        }
        let (gl, gr) = (self.l, self.r);
        let frames = sig_l[ramp..]
            .iter()
            .zip(&sig_r[ramp..])
            .zip(&env[ramp..])
            .zip(left[ramp..].iter_mut().zip(right[ramp..].iter_mut()));
        for (((&a, &b), &e), (l, r)) in frames {
            put(l, a * e * gl);
            put(r, b * e * gr);
        }
    }

    /// [`Gains::mix`] of the first `env.len()` frames into `left`/`right`; when `write` (the
    /// voice is the first on its track), the frames after them are cleared.
    #[inline(always)]
    fn mix_span(
        &mut self,
        (sig_l, sig_r): (&[f32], &[f32]),
        env: &[f32],
        (left, right): (&mut [f32], &mut [f32]),
        write: bool,
    ) {
        let n = env.len();
        if write {
            self.mix::<true>(sig_l, sig_r, env, left, right);
            let silent =
                |b: &mut [f32]| b.get_mut(n..).into_iter().flatten().for_each(|v| *v = 0.0);
            silent(left);
            silent(right);
        } else {
            self.mix::<false>(sig_l, sig_r, env, left, right);
        }
    }
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
            tag: 0,
            pitch: 0.0,
            gain: 0.0,
            pan: 0.0,
            osc1: Oscillator::new(0.0),
            osc2: Oscillator::new(0.0),
            filter: Svf::default(),
            coefs: SvfCoefs::lowpass(1000.0, 0.0, 48_000.0),
            coefs_stale: false,
            filter_open: false,
            freq_key: [f32::NAN; 3],
            cutoff_key: [f32::NAN; 3],
            step_key: (f32::NAN, f32::NAN, f64::NAN),
            sig: [0.0; MAX_BLOCK],
            prepared: false,
            self_control: false,
            osc_per_period: false,
            sig_at: 0,
            ahead: (0, 0),
            amp_env: Envelope::IDLE,
            filter_env: Envelope::IDLE,
            pitch_env: 0.0,
            control_env: [f32::NAN; 2],
            rng: Rng::new(0),
            pos: 0,
            step: 0,
            forward: true,
            pan_cached: (0.0, pan::constant_power(0.0)),
            gains: Gains::default(),
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

    /// Fades a sounding voice in again over the declick time, after a break in the output it
    /// goes on into (playback restarted under a held note).
    pub fn resume(&mut self) {
        if self.active && !self.fading {
            self.fade_in = FADE_IN_FRAMES;
        }
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
        // Half the noise stream (12 hours at 48 kHz) apart: both oscillators on noise do not
        // play the same noise.
        self.osc2 = Oscillator::new(0.0).with_noise_start(1 << 31);
        self.ahead = (0, 0);
        // The new oscillators, filter and read step know nothing of the last note on this voice:
        // the caches of what they were computed from must not either, or a voice would sound
        // differently depending on which note it played before.
        self.freq_key = [f32::NAN; 3];
        self.cutoff_key = [f32::NAN; 3];
        self.coefs_stale = false;
        self.step_key = (f32::NAN, f32::NAN, f64::NAN);
        self.forward = true;
        self.fade_in = FADE_IN_FRAMES;
        self.fade_out = 0;
        self.fading = false;
        self.gains = Gains::default();
        match &inst.source {
            Source::Synth(p) => {
                self.pitch_env = 1.0;
                self.pos = 0;
                if p.params.amp.attack_ms * 0.001 * rate >= FADE_IN_FRAMES as f32 {
                    self.fade_in = 0;
                }
            }
            Source::Sampler(p) => {
                self.pitch_env = 0.0;
                self.pos = s.offset.min(u32::MAX as u64) << 32;
                if s.offset >= p.sample.frames {
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

    /// Recomputes modulated values on the control grid: pitch increments, filter coefficients
    /// and the gain ramp towards the current gain and pan; then the pitch envelope moves on by
    /// one control period (not when `snap`: a note's start).
    pub fn control(&mut self, inst: &PlayableInstrument, rate: f32, snap: bool) {
        self.control_step(inst, rate, snap, !snap);
    }

    /// Takes an effect's change of pitch, gain or pan between control steps: what
    /// [`Voice::control`] recomputes, without moving the pitch envelope on (it moves with time,
    /// one step a control period, however many ticks fall in it).
    pub fn retune(&mut self, inst: &PlayableInstrument, rate: f32) {
        self.control_step(inst, rate, false, false);
    }

    fn control_step(&mut self, inst: &PlayableInstrument, rate: f32, snap: bool, advance: bool) {
        match &inst.source {
            Source::Synth(p) => {
                let params = &p.params;
                self.control_env = [self.pitch_env, self.filter_env.level];
                let pitch = self.pitch + params.pitch_env_semitones * self.pitch_env;
                let key = [pitch, params.osc2_semitones, rate];
                if key != self.freq_key {
                    self.freq_key = key;
                    let f1 = Note::pitch_hz(pitch as f64) as f32;
                    self.osc1.set_freq(f1, rate);
                    let f2 = Note::pitch_hz((pitch + params.osc2_semitones) as f64) as f32;
                    self.osc2.set_freq(f2, rate);
                }
                if advance {
                    self.pitch_env *= p.pitch_env_step;
                    if self.pitch_env < 1e-4 {
                        self.pitch_env = 0.0;
                    }
                }
                let octaves = params.filter_env_octaves * self.filter_env.level
                    + params.key_track * (self.pitch - 48.0) / 12.0;
                let cutoff = params.cutoff_hz * octaves.exp2();
                // A filter opened past 20 kHz without resonance changes nothing audible: skip it.
                self.filter_open = cutoff >= 20_000.0 && params.resonance == 0.0;
                let key = [cutoff, params.resonance, rate];
                if !self.filter_open && key != self.cutoff_key {
                    self.cutoff_key = key;
                    self.coefs_stale = true;
                }
            }
            Source::Sampler(p) => {
                let key = (self.pitch, p.base_pitch, p.rate_ratio);
                if key != self.step_key {
                    self.step_key = key;
                    let ratio = ((self.pitch - p.base_pitch) / 12.0).exp2() as f64;
                    self.step = ((ratio * p.rate_ratio * FIX_ONE).min(64.0 * FIX_ONE)) as u64;
                }
            }
        }
        if self.pan != self.pan_cached.0 {
            self.pan_cached = (self.pan, pan::constant_power(self.pan));
        }
        let (l, r) = self.pan_cached.1;
        let g = self.gain * inst.volume;
        let (tl, tr) = (g * l, g * r);
        let g = &mut self.gains;
        if snap || (g.ramp_left == 0 && tl == g.l && tr == g.r) {
            g.l = tl;
            g.r = tr;
            g.ramp_left = 0;
        } else {
            (g.target_l, g.target_r) = (tl, tr);
            let n = CONTROL_FRAMES as f32;
            g.step_l = (tl - g.l) / n;
            g.step_r = (tr - g.r) / n;
            g.ramp_left = CONTROL_FRAMES as u32;
        }
    }

    /// True when [`Voice::control`] would change nothing now or at later control steps until an
    /// event: no gain ramp under way, and for a synth no pitch envelope left and a filter
    /// envelope that does not move the cutoff. (Sampler voices change pitch and gain only
    /// through events.)
    pub fn is_static(&self, inst: &PlayableInstrument) -> bool {
        self.gains.ramp_left == 0
            && match &inst.source {
                Source::Sampler(_) => true,
                // The last control step must also have seen the envelopes where they now rest:
                // it computes the pitch before it advances the pitch envelope, and a filter
                // envelope may have reached its sustain since.
                Source::Synth(p) => {
                    self.pitch_is_steady()
                        && (p.params.filter_env_octaves == 0.0
                            || (self.filter_env.is_steady()
                                && self.control_env[1] == self.filter_env.level))
                }
            }
    }

    /// True when the voice can render several control periods in one pass: no gain ramp is
    /// under way, so that a control step can change only what the voice's own envelopes move
    /// (a synth's cutoff and, while its pitch envelope runs, its oscillators' pitch; nothing
    /// for a sampler). The engine's filter pass then takes a synth's control steps between the
    /// periods, each at its frame, and runs its oscillators period by period while the pitch
    /// moves ([`Voice::step_period`]): the same samples as stepping it period by period.
    pub fn renders_alone(&self) -> bool {
        self.gains.ramp_left == 0
    }

    /// Whether nothing can retune the oscillators before the next event: the pitch envelope has
    /// run out, and the last control step saw it so.
    fn pitch_is_steady(&self) -> bool {
        self.pitch_env == 0.0 && self.control_env[0] == 0.0
    }

    /// Adds `left.len()` frames of this voice to `left`/`right`: one control period, or several
    /// (the first `first` frames long, the rest whole periods) when the voice
    /// [`renders alone`](Voice::renders_alone). The result is the same, sample for sample, as one call
    /// per period: the envelope's closed-form segments, the end checks and the end of a sample
    /// fall per period. Frees the voice when it has finished; returns the frames up to the end
    /// of the period in which it finished (all of them if it still plays).
    pub fn render(
        &mut self,
        inst: &PlayableInstrument,
        left: &mut [f32],
        right: &mut [f32],
        first: usize,
        scratch: &mut Scratch,
    ) -> usize {
        crate::dsp::simd::dispatch!(
            self.render_avx2(inst, left, right, first, scratch),
            self.render_any::<false>(inst, left, right, first, scratch)
        )
    }

    /// [`Voice::render`] compiled for AVX2 (see [`crate::dsp::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn render_avx2(
        &mut self,
        inst: &PlayableInstrument,
        left: &mut [f32],
        right: &mut [f32],
        first: usize,
        scratch: &mut Scratch,
    ) -> usize {
        self.render_any::<true>(inst, left, right, first, scratch)
    }

    /// The voice render; `WIDE`: compiled into [`Voice::render_avx2`], so the sampler may use
    /// its AVX2 loops.
    #[inline(always)]
    fn render_any<const WIDE: bool>(
        &mut self,
        inst: &PlayableInstrument,
        left: &mut [f32],
        right: &mut [f32],
        first: usize,
        scratch: &mut Scratch,
    ) -> usize {
        match &inst.source {
            Source::Synth(p) => self.render_synth(p, left, right, first, scratch),
            Source::Sampler(p) => self.render_sampler::<WIDE>(p, left, right, first, scratch),
        }
    }

    /// Envelope, fades and end checks of a rendered span, period by period, for a signal of the
    /// span's first `produced` frames (a sample that ended gives fewer than `n`): the levels go
    /// into `env`. Returns the frames to mix and the frames covered (see [`Voice::render`]);
    /// the caller mixes them ([`Gains::mix_span`]).
    #[inline(always)]
    fn finish_span(
        &mut self,
        amp: &AdsrCoefs,
        filter_env: Option<&AdsrCoefs>,
        (produced, n, first): (usize, usize, usize),
        env: &mut [f32; MAX_BLOCK],
    ) -> (usize, usize) {
        let (mut mixed, mut covered) = (0, n);
        let (mut start, mut end) = (0, first.clamp(1, n.max(1)).min(n));
        while start < n {
            if let Some(fe) = filter_env {
                self.filter_env.skip(fe, end - start);
            }
            let stop = end.min(produced).max(start);
            let e = &mut env[start..stop];
            self.amp_env.fill(amp, e);
            mixed = start + self.apply_fades(e);
            if produced < end {
                self.amp_env = Envelope::IDLE;
            }
            if self.amp_env.is_idle() || (self.fading && self.fade_out == 0) {
                self.amp_env = Envelope::IDLE;
                self.active = false;
                covered = end;
                break;
            }
            // The next control period (the same boundaries as `periods`).
            (start, end) = (end, (end + CONTROL_FRAMES as usize).min(n));
        }
        (mixed, covered)
    }

    /// Multiplies the envelope levels in `env` by the declick fades (fade-in of a new note,
    /// fade-out of a cut or stolen one). Returns the frames that still sound.
    fn apply_fades(&mut self, env: &mut [f32]) -> usize {
        if self.fade_in > 0 {
            for e in env.iter_mut() {
                if self.fade_in == 0 {
                    break;
                }
                *e *= 1.0 - self.fade_in as f32 * (1.0 / FADE_IN_FRAMES as f32);
                self.fade_in -= 1;
            }
        }
        if self.fading {
            for (i, e) in env.iter_mut().enumerate() {
                if self.fade_out == 0 {
                    return i;
                }
                *e *= self.fade_out as f32 * (1.0 / FADE_OUT_FRAMES as f32);
                self.fade_out -= 1;
            }
        }
        env.len()
    }

    /// First half of a synth block: the oscillators into the voice's signal buffer, `n` frames
    /// from frame `at` (the block's place in its span, where oscillators run ahead for the span
    /// have put it). Returns true when the filter must run on it (the engine filters several
    /// voices at a time, then calls [`Voice::render`]). Samplers do everything in `render`.
    pub fn prepare(
        &mut self,
        inst: &PlayableInstrument,
        (at, n, first): (usize, usize, usize),
    ) -> bool {
        let Source::Synth(p) = &inst.source else {
            return false;
        };
        let at = at.min(MAX_BLOCK);
        let n = n.min(MAX_BLOCK - at);
        // Several periods of a voice that is not static: the filter pass steps it through them
        // (even while its filter is open: it may close at a later period), and while its pitch
        // moves, runs its oscillators for each period after that period's control step.
        self.self_control = n > first && !self.is_static(inst);
        self.osc_per_period = self.self_control && !self.pitch_is_steady();
        let now = if self.osc_per_period { first } else { n };
        self.run_oscillators(&p.params, at, now);
        self.prepared = true;
        !self.filter_open || self.self_control
    }

    /// Whether the prepared block is one the filter pass steps this voice through (see
    /// [`Voice::renders_alone`]).
    pub fn steps_itself(&self) -> bool {
        self.self_control
    }

    /// Whether the filter is open (cut off past 20 kHz without resonance): left out.
    pub fn filter_is_open(&self) -> bool {
        self.filter_open
    }

    /// Between two control periods of a voice stepping itself through a span: its filter
    /// envelope moves on by the `len` frames of the period before; with `next` (the next
    /// period's frames in the signal buffer: first frame and count), the control step of that
    /// period follows (which sees the envelope there), and the oscillators run for it if they
    /// go period by period.
    pub fn step_period(
        &mut self,
        inst: &PlayableInstrument,
        rate: f32,
        len: usize,
        next: Option<(usize, usize)>,
    ) {
        let Source::Synth(p) = &inst.source else {
            return;
        };
        if len > 0 {
            self.filter_env.skip(&p.filter_env, len);
        }
        if let Some((at, n)) = next {
            self.control(inst, rate, false);
            if self.osc_per_period {
                let at = at.min(MAX_BLOCK);
                self.fill_oscillators(&p.params, at..(at + n).min(MAX_BLOCK));
            }
        }
    }

    /// The oscillators' next `n` frames into `sig[at..at + n]` (`at + n` at most
    /// `MAX_BLOCK`): those run ahead first (already there when they were run for this span),
    /// then from the oscillators.
    fn run_oscillators(&mut self, params: &Synth, at: usize, n: usize) {
        let (a, b) = (self.ahead.0 as usize, self.ahead.1 as usize);
        let have = b.saturating_sub(a).min(n);
        self.sig_at = at as u16;
        if have > 0 {
            if a != at {
                self.sig.copy_within(a..a + have, at);
            }
            self.ahead.0 += have as u16;
        }
        if have < n {
            self.fill_oscillators(params, at + have..at + n);
        }
    }

    /// The oscillators' next frames into `sig[frames]`.
    fn fill_oscillators(&mut self, params: &Synth, frames: std::ops::Range<usize>) {
        let (w1, w2) = (params.osc1, params.osc2);
        let mix = if w2 == Waveform::Off {
            0.0
        } else {
            params.osc_mix
        };
        let sig = &mut self.sig[frames];
        self.osc1
            .fill(w1, params.pulse_width, &mut self.rng, 1.0 - mix, sig, false);
        if w2 != Waveform::Off {
            self.osc2
                .fill(w2, params.pulse_width, &mut self.rng, mix, sig, true);
        }
    }

    /// Runs a synth voice's oscillators `n` frames ahead, when nothing can retune them before
    /// then: its pitch envelope has run out (and the last control step saw it so), and the span
    /// of `n` frames holds no event. Its control periods then take their frames from there:
    /// one oscillator call for the span instead of one per period (each call costs about as
    /// much as 25 frames), with the same samples (the phase of frame `j` is the start phase plus
    /// `j` steps either way).
    pub fn oscillators_ahead(&mut self, inst: &PlayableInstrument, n: usize) {
        let Source::Synth(p) = &inst.source else {
            return;
        };
        if self.ahead.0 < self.ahead.1 || !self.pitch_is_steady() {
            return;
        }
        let n = n.min(MAX_BLOCK);
        self.ahead = (0, 0);
        self.run_oscillators(&p.params, 0, n);
        self.ahead = (0, n as u16);
    }

    /// The signal buffer of a prepared synth voice (its block where [`Voice::prepare`] put
    /// it).
    pub fn signal(&self) -> &[f32; MAX_BLOCK] {
        &self.sig
    }

    /// The filter state of a synth voice.
    pub fn filter_state(&mut self) -> &mut Svf {
        &mut self.filter
    }

    /// The signal buffer of a prepared synth voice, to filter in place.
    pub fn signal_mut(&mut self) -> &mut [f32; MAX_BLOCK] {
        &mut self.sig
    }

    /// The filter coefficients of the last control step (computed now if it left them to
    /// compute).
    pub fn coefs(&mut self) -> SvfCoefs {
        self.resolve_coefs();
        self.coefs
    }

    /// Low-passes frames `range` of the signal buffer in place, the first at an odd absolute
    /// frame when `odd` (see [`Svf::lowpass_block`]).
    pub fn filter_signal(&mut self, range: std::ops::Range<usize>, odd: bool) {
        self.resolve_coefs();
        let end = range.end.min(MAX_BLOCK);
        let sig = &mut self.sig[range.start.min(end)..end];
        self.filter.lowpass_block(&self.coefs, sig, odd);
    }

    /// The cutoff, resonance and rate whose filter coefficients the last control step left to
    /// compute, if any: the engine computes those of a group's voices at once
    /// ([`crate::dsp::filter::LaneCoefs::lowpass`]) and may hand each its own
    /// ([`Voice::set_coefs`]); [`Voice::coefs`] computes them otherwise.
    pub fn pending_cutoff(&self) -> Option<[f32; 3]> {
        self.coefs_stale.then_some(self.cutoff_key)
    }

    /// The coefficients for [`Voice::pending_cutoff`], computed elsewhere.
    pub fn set_coefs(&mut self, c: SvfCoefs) {
        self.coefs = c;
        self.coefs_stale = false;
    }

    /// Computes the coefficients the last control step left to compute.
    fn resolve_coefs(&mut self) {
        if self.coefs_stale {
            let [cutoff, resonance, rate] = self.cutoff_key;
            self.set_coefs(SvfCoefs::lowpass(cutoff, resonance, rate));
        }
    }

    #[inline(always)]
    fn render_synth(
        &mut self,
        p: &SynthPatch,
        left: &mut [f32],
        right: &mut [f32],
        first: usize,
        scratch: &mut Scratch,
    ) -> usize {
        let n = left.len().min(right.len()).min(MAX_BLOCK);
        if !self.prepared {
            // Not prepared by the engine's batch pass (the engine prepares every synth voice it
            // renders): oscillators and filter here, the block taken to start on an even frame.
            self.run_oscillators(&p.params, 0, n);
            if !self.filter_open {
                self.resolve_coefs();
                let at = self.sig_at as usize;
                for (start, end) in periods(n, first) {
                    let sig = &mut self.sig[at + start..at + end];
                    self.filter.lowpass_block(&self.coefs, sig, start % 2 == 1);
                }
            }
        }
        self.prepared = false;
        // A voice the filter pass stepped through the span: its filter envelope moved there.
        let filter_env = (!std::mem::take(&mut self.self_control)).then_some(&p.filter_env);
        let env = &mut scratch.env;
        let (mixed, covered) = self.finish_span(&p.amp, filter_env, (n, n, first), env);
        // The mix reads the signal where it is, in the voice's buffer.
        let sig = &self.sig[self.sig_at as usize..][..mixed];
        let outs = (left, right);
        self.gains
            .mix_span((sig, sig), &env[..mixed], outs, scratch.write);
        covered
    }

    #[inline(always)]
    fn render_sampler<const WIDE: bool>(
        &mut self,
        p: &SamplerPatch,
        left: &mut [f32],
        right: &mut [f32],
        first: usize,
        scratch: &mut Scratch,
    ) -> usize {
        // One copy of the loop per channel count, so the gather of interpolation points has
        // constant strides and no loop over channels.
        if p.sample.channels == 1 {
            self.render_sampler_ch::<1, WIDE>(p, left, right, first, scratch)
        } else {
            self.render_sampler_ch::<2, WIDE>(p, left, right, first, scratch)
        }
    }

    #[inline(always)]
    fn render_sampler_ch<const CH: usize, const WIDE: bool>(
        &mut self,
        p: &SamplerPatch,
        left: &mut [f32],
        right: &mut [f32],
        first: usize,
        scratch: &mut Scratch,
    ) -> usize {
        let n = left.len().min(right.len()).min(MAX_BLOCK);
        // The end of a one-shot sample stops the span, except on a control period's last frame:
        // one call per period would go on into the next period and make one more (interpolated)
        // frame there before it noticed, and so does the span.
        let period_end = |i: usize| {
            i == first || (i > first && (i - first).is_multiple_of(CONTROL_FRAMES as usize))
        };
        let data = &p.sample.data[..];
        let channels = p.sample.channels as usize;
        let frames = p.sample.frames as usize;
        let mut produced = n;
        // Interior frames (all four interpolation points inside the region the head may read
        // directly) take the fast path; the edges and loop points go through `frame_at`.
        let limit = if p.loop_mode == LoopMode::Off {
            frames
        } else {
            p.loop_end as usize
        };
        // Positions below this have their last interpolation point (idx + 2) inside the region.
        let fast_end = (limit.saturating_sub(2) as u64) << 32;
        // Mono runs interpolate four frames per vector, stereo runs two (four lanes: left and
        // right of each) or, with AVX2, four, straight from the data. Frames at the edges gather
        // their points through `frame_at`.
        let Scratch {
            left: sl,
            right: sr,
            env,
            write,
        } = scratch;
        let mut i = 0;
        while i < n {
            let pos = self.pos;
            if channels == CH && self.forward && pos >= 1 << 32 && pos < fast_end {
                // A run of frames moving forward inside the region: no edge, no loop point and no
                // end can come before its last frame, so the head just adds its step.
                let step = self.step;
                let k = match (fast_end - 1 - pos).checked_div(step) {
                    Some(more) => (more + 1).min((n - i) as u64) as usize,
                    None => n - i,
                };
                if step as u32 == 0 && pos as u32 == 0 {
                    // Whole frames from a whole frame (a sample at the output rate played at its
                    // base note, or whole octaves up): the interpolation passes through the
                    // points, so the run picks them (the values Hermite gives at fraction 0).
                    let (at, stride) = ((pos >> 32) as usize * CH, (step >> 32) as usize * CH);
                    if stride == CH {
                        // Frame after frame: a copy (mono) or a de-interleave (stereo).
                        let src = &data[at..at + k * CH];
                        if CH == 1 {
                            sl[i..i + k].copy_from_slice(src);
                        } else {
                            let outs = sl[i..i + k].iter_mut().zip(&mut sr[i..i + k]);
                            for ((l, r), f) in outs.zip(src.chunks_exact(2)) {
                                (*l, *r) = (f[0], f[1]);
                            }
                        }
                    } else {
                        let picks = data[at..].iter().step_by(stride.max(1));
                        for (j, f) in picks.take(k).enumerate() {
                            sl[i + j] = *f;
                        }
                        if CH == 2 {
                            let picks = data[at + 1..].iter().step_by(stride.max(1));
                            for (j, f) in picks.take(k).enumerate() {
                                sr[i + j] = *f;
                            }
                        }
                    }
                } else if CH == 2 {
                    let (l, r) = (&mut sl[i..i + k], &mut sr[i..i + k]);
                    #[cfg(target_arch = "x86_64")]
                    if WIDE {
                        // SAFETY: `WIDE` is true only in the copy compiled into
                        // `Voice::render_avx2`, which runs only when the processor has AVX2.
                        #[allow(unsafe_code)]
                        unsafe {
                            stereo_run_avx2(data, pos, step, l, r)
                        };
                    } else {
                        stereo_run(data, pos, step, l, r);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    stereo_run(data, pos, step, l, r);
                } else {
                    #[cfg(target_arch = "x86_64")]
                    if WIDE {
                        // SAFETY: as for the stereo run above.
                        #[allow(unsafe_code)]
                        unsafe {
                            mono_run_avx2(data, pos, step, &mut sl[i..i + k])
                        };
                    } else {
                        mono_run(data, pos, step, &mut sl[i..i + k]);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    mono_run(data, pos, step, &mut sl[i..i + k]);
                }
                // The last frame's step goes through `advance`, which wraps or ends the sample.
                self.pos = pos + (k as u64 - 1) * step;
                i += k;
                if !self.advance(p) && (i == n || !period_end(i)) {
                    produced = i;
                    break;
                }
                continue;
            }
            let idx = (pos >> 32) as isize;
            let t = (pos as u32) as f32 * (1.0 / FIX_ONE as f32);
            for c in 0..CH {
                let x: [f32; 4] =
                    std::array::from_fn(|k| self.frame_at(p, idx - 1 + k as isize, c, channels));
                let out: &mut [f32; MAX_BLOCK] = if c == 0 { &mut *sl } else { &mut *sr };
                out[i] = hermite4(t, x[0], x[1], x[2], x[3]);
            }
            i += 1;
            if !self.advance(p) && (i == n || !period_end(i)) {
                produced = i;
                break;
            }
        }
        let sr: &[f32] = if CH == 1 { sl } else { sr };
        let (mixed, covered) = self.finish_span(&p.amp, None, (produced, n, first), env);
        self.gains
            .mix_span((sl, sr), &env[..mixed], (left, right), *write);
        covered
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
        let (ls, le) = ((p.loop_start as u64) << 32, (p.loop_end as u64) << 32);
        match p.loop_mode {
            LoopMode::Off => {
                self.pos += self.step;
                (self.pos >> 32) < p.sample.frames
            }
            LoopMode::Forward => {
                self.pos += self.step;
                if self.pos >= le {
                    self.pos = ls + (self.pos - le) % (le - ls).max(1);
                }
                true
            }
            LoopMode::PingPong => {
                if self.forward {
                    self.pos += self.step;
                    if self.pos >= le {
                        self.pos = (2 * le).saturating_sub(self.pos).max(ls);
                        self.forward = false;
                    }
                } else {
                    self.pos = self.pos.saturating_sub(self.step);
                    if self.pos < ls {
                        self.pos = (2 * ls).saturating_sub(self.pos).min(le);
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

/// Whether the four-point windows of `frames` frames read from position `pos` (32.32 fixed
/// point) moving by `step` all lie inside `len` values of `ch`-channel interleaved data: frame
/// `i`'s window is frames `i − 1 ..= i + 2`. Positions only grow along a run, so checking the
/// first and the last window checks every one in between.
#[inline(always)]
fn windows_inside(len: usize, pos: u64, step: u64, frames: usize, ch: usize) -> bool {
    let Some(k) = (frames as u64).checked_sub(1) else {
        return true;
    };
    let last = k.checked_mul(step).and_then(|d| pos.checked_add(d));
    pos >> 32 >= 1
        && last.is_some_and(|q| {
            ((q >> 32) as usize)
                .checked_add(3)
                .and_then(|e| e.checked_mul(ch))
                .is_some_and(|e| e <= len)
        })
}

/// Interpolates `out.len()` frames of mono `data` from read position `pos` (32.32 fixed point)
/// moving by `step`, every point inside `data`: four frames at a time, their four-point windows
/// loaded as vectors and transposed into the vectors of x₋₁, x₀, x₁ and x₂ (see
/// [`hermite_quad`]).
#[inline(always)]
fn mono_run(data: &[f32], pos: u64, step: u64, out: &mut [f32]) {
    let frac = |q: u64| (q as u32) as f32 * (1.0 / FIX_ONE as f32);
    let window = |q: u64| {
        let b = (q >> 32) as usize - 1;
        &data[b..b + 4]
    };
    let mut q = pos;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if windows_inside(data.len(), pos, step, out.len() / 4 * 4, 1) {
        // Checked once for the whole run (above), so the loop reads the windows unchecked.
        let base = data.as_ptr();
        for o in out.chunks_exact_mut(4) {
            let qs = [q, q + step, q + 2 * step, q + 3 * step];
            // SAFETY: every window of the run's quads lies inside `data` (`windows_inside`),
            // and frame q >> 32 ≥ 1, so the window's first point (q >> 32) − 1 is in it too.
            #[allow(unsafe_code)]
            let w = qs.map(|q| unsafe { base.add((q >> 32) as usize - 1) });
            let t = [frac(qs[0]), frac(qs[1]), frac(qs[2]), frac(qs[3])];
            // SAFETY: as above, each pointer has four floats behind it.
            #[allow(unsafe_code)]
            o.copy_from_slice(&unsafe { hermite_quad_ptr(w, t) });
            q += 4 * step;
            done += 4;
        }
    }
    let mut quads = out[done..].chunks_exact_mut(4);
    for o in &mut quads {
        let qs = [q, q + step, q + 2 * step, q + 3 * step];
        // (Element by element: `array::map` here is left as a call.)
        let w = [window(qs[0]), window(qs[1]), window(qs[2]), window(qs[3])];
        let t = [frac(qs[0]), frac(qs[1]), frac(qs[2]), frac(qs[3])];
        let y = hermite_quad(w, t);
        o.copy_from_slice(&y);
        q += 4 * step;
    }
    for o in quads.into_remainder() {
        let w = window(q);
        *o = hermite4(frac(q), w[0], w[1], w[2], w[3]);
        q += step;
    }
}

/// [`mono_run`] eight frames at a time in AVX2 vectors (a last quad four at a time): each
/// vector holds two frames' windows (loaded as they are paired: an insert from memory takes no
/// shuffle port), transposed within its halves so that lane k of each vector is frame k's
/// point. The arithmetic per lane is [`hermite4`]'s, so the result is the same.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn mono_run_avx2(data: &[f32], pos: u64, step: u64, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let quads = out.len() / 4;
    if !windows_inside(data.len(), pos, step, 4 * quads, 1) {
        // (Not reached from the sampler, whose runs stay inside the sample.)
        mono_run(data, pos, step, out);
        return;
    }
    let base = data.as_ptr();
    // The windows' frames come from a scalar copy of the positions (integer adds and shifts),
    // not out of a vector (moving values out of a vector takes the one port that the shuffles
    // below also need); the fractions from a vector of the positions' low 32 bits, which wrap
    // as the positions' low halves do, so adding the step's low half keeps them exact.
    let mut q = pos;
    let steps: [u64; 8] = std::array::from_fn(|k| k as u64 * step);
    let low = |q: u64, k: usize| (q + steps[k]) as u32 as i32;
    let mut qv = _mm256_setr_epi32(
        low(q, 0),
        low(q, 1),
        low(q, 2),
        low(q, 3),
        low(q, 4),
        low(q, 5),
        low(q, 6),
        low(q, 7),
    );
    let step8 = _mm256_set1_epi32((8 * step) as u32 as i32);
    let (octets, rest) = out[..4 * quads].as_chunks_mut::<8>();
    for o in octets {
        // SAFETY: AVX2 is there (the caller guarantees it); each load reads the 4 floats of a
        // frame's window, inside `data` by `windows_inside`; the store writes the eight floats
        // of `o`.
        unsafe {
            let at = |k: usize| base.add(((q + steps[k]) >> 32) as usize - 1);
            let row = |k: usize| {
                _mm256_insertf128_ps::<1>(
                    _mm256_castps128_ps256(_mm_loadu_ps(at(k))),
                    _mm_loadu_ps(at(k + 4)),
                )
            };
            let r = [row(0), row(1), row(2), row(3)];
            q += 8 * step;
            let (lo01, lo23) = (
                _mm256_unpacklo_ps(r[0], r[1]),
                _mm256_unpacklo_ps(r[2], r[3]),
            );
            let (hi01, hi23) = (
                _mm256_unpackhi_ps(r[0], r[1]),
                _mm256_unpackhi_ps(r[2], r[3]),
            );
            let pairs = |a: __m256, b: __m256| {
                let (a, b) = (_mm256_castps_pd(a), _mm256_castps_pd(b));
                (
                    _mm256_castpd_ps(_mm256_unpacklo_pd(a, b)),
                    _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)),
                )
            };
            let ((xm1, x0), (x1, x2)) = (pairs(lo01, lo23), pairs(hi01, hi23));
            let t = fractions8(qv);
            qv = _mm256_add_epi32(qv, step8);
            _mm256_storeu_ps(o.as_mut_ptr(), hermite8(xm1, x0, x1, x2, t));
        }
    }
    if let Some(o) = rest.first_chunk_mut::<4>() {
        // SAFETY: as above, for the four frames of the last quad.
        unsafe {
            let at = |k: usize| _mm_loadu_ps(base.add(((q + steps[k]) >> 32) as usize - 1));
            let lows = _mm_setr_epi32(low(q, 0), low(q, 1), low(q, 2), low(q, 3));
            let t = _mm256_castps256_ps128(fractions8(_mm256_zextsi128_si256(lows)));
            *o = hermite_rows([at(0), at(1), at(2), at(3)], t);
            q += 4 * step;
        }
    }
    mono_run(data, q, step, &mut out[4 * quads..]);
}

/// [`hermite_lanes`] in eight lanes: lane k from the points `xm1`, `x0`, `x1`, `x2` and the
/// fraction `t` of its lane k, in [`hermite4`]'s order (the same value).
///
/// # Safety
/// The processor must have AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn hermite8(
    xm1: std::arch::x86_64::__m256,
    x0: std::arch::x86_64::__m256,
    x1: std::arch::x86_64::__m256,
    x2: std::arch::x86_64::__m256,
    t: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: these intrinsics only compute on registers; AVX is there (the caller's
    // guarantee).
    unsafe {
        let half = _mm256_set1_ps(0.5);
        let c = _mm256_mul_ps(_mm256_sub_ps(x1, xm1), half);
        let v = _mm256_sub_ps(x0, x1);
        let w = _mm256_add_ps(c, v);
        let a = _mm256_add_ps(
            _mm256_add_ps(w, v),
            _mm256_mul_ps(_mm256_sub_ps(x2, x0), half),
        );
        let b = _mm256_add_ps(w, a);
        let y = _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(a, t), b), t);
        _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(y, c), t), x0)
    }
}

/// The fractions of eight 32.32 read positions from their low 32 bits (`x`), as the scalar
/// `(q as u32) as f32 * 2⁻³²` gives them: the unsigned value converted exactly (its two 16-bit
/// halves as floats, added with one rounding), then scaled.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn fractions8(x: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: these intrinsics only compute on registers; AVX2 is there (the caller's
    // guarantee).
    unsafe {
        let low = _mm256_blend_epi16::<0xAA>(x, _mm256_set1_epi32(0x4B00_0000));
        let high =
            _mm256_blend_epi16::<0xAA>(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(0x5300_0000));
        let high = _mm256_sub_ps(
            _mm256_castsi256_ps(high),
            _mm256_set1_ps(f32::from_bits(0x5300_0080)),
        );
        _mm256_mul_ps(
            _mm256_add_ps(high, _mm256_castsi256_ps(low)),
            _mm256_set1_ps(1.0 / FIX_ONE as f32),
        )
    }
}

/// [`hermite_quad`] from four pointers to windows.
///
/// # Safety
/// Each pointer must point to four readable floats.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn hermite_quad_ptr(w: [*const f32; 4], t: [f32; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees four floats behind each pointer; the rest computes on
    // registers with SSE, part of the x86-64 baseline.
    unsafe {
        let load = |p: *const f32| _mm_loadu_ps(p);
        let rows = [load(w[0]), load(w[1]), load(w[2]), load(w[3])];
        hermite_rows(rows, _mm_set_ps(t[3], t[2], t[1], t[0]))
    }
}

/// [`hermite4`] of four frames from their windows as rows (x₋₁, x₀, x₁, x₂ of frame k in `r[k]`)
/// at fractions `t`: transposed so that lane k of each vector is frame k's point.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn hermite_rows(r: [std::arch::x86_64::__m128; 4], t: std::arch::x86_64::__m128) -> [f32; 4] {
    use std::arch::x86_64::*;
    // SAFETY: these intrinsics only compute on registers; they need SSE, part of the x86-64
    // baseline.
    unsafe {
        let (lo01, lo23) = (_mm_unpacklo_ps(r[0], r[1]), _mm_unpacklo_ps(r[2], r[3]));
        let (hi01, hi23) = (_mm_unpackhi_ps(r[0], r[1]), _mm_unpackhi_ps(r[2], r[3]));
        let xm1 = _mm_movelh_ps(lo01, lo23);
        let x0 = _mm_movehl_ps(lo23, lo01);
        let x1 = _mm_movelh_ps(hi01, hi23);
        let x2 = _mm_movehl_ps(hi23, hi01);
        hermite_lanes(xm1, x0, x1, x2, t)
    }
}

/// [`hermite4`] of four frames at once from their windows `w` (x₋₁, x₀, x₁, x₂ of each) at
/// fractions `t`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn hermite_quad(w: [&[f32]; 4], t: [f32; 4]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let chunk = |k: usize| w[k].first_chunk::<4>();
    let w: [&[f32; 4]; 4] = match (chunk(0), chunk(1), chunk(2), chunk(3)) {
        (Some(a), Some(b), Some(c), Some(d)) => [a, b, c, d],
        _ => return [0.0; 4],
    };
    // SAFETY: these intrinsics only compute on registers (no memory access, no pointers); they
    // are `unsafe` solely because they need SSE and SSE2, which the x86-64 baseline target this
    // crate is built for always has, so the instructions exist on every CPU the build runs on.
    unsafe {
        let row = |w: &[f32; 4]| _mm_set_ps(w[3], w[2], w[1], w[0]);
        let rows = [row(w[0]), row(w[1]), row(w[2]), row(w[3])];
        hermite_rows(rows, _mm_set_ps(t[3], t[2], t[1], t[0]))
    }
}

/// [`hermite4`] of four frames at once (see the x86-64 version).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn hermite_quad(w: [&[f32]; 4], t: [f32; 4]) -> [f32; 4] {
    std::array::from_fn(|k| hermite4(t[k], w[k][0], w[k][1], w[k][2], w[k][3]))
}

/// [`stereo_run`] four frames at a time in AVX2 vectors (left and right of each): the four
/// frames' windows are loaded whole and transposed as pairs. The arithmetic per lane is
/// [`hermite4`]'s, so the result is the same.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn stereo_run_avx2(data: &[f32], pos: u64, step: u64, sl: &mut [f32], sr: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = sl.len().min(sr.len());
    let quads = n / 4;
    if !windows_inside(data.len(), pos, step, 4 * quads, 2) {
        // (Not reached from the sampler, whose runs stay inside the sample.)
        stereo_run(data, pos, step, &mut sl[..n], &mut sr[..n]);
        return;
    }
    let base = data.as_ptr();
    // The low 32 bits of the four read positions, each twice (a frame's left and right): the
    // fractions come from them (as the scalar `frac` converts them, exactly); they wrap as the
    // positions' low halves do, so adding the step's low half keeps them exact.
    let low = |k: u64| (pos + k * step) as u32 as i32;
    let mut qv = _mm256_setr_epi32(
        low(0),
        low(0),
        low(1),
        low(1),
        low(2),
        low(2),
        low(3),
        low(3),
    );
    let step4 = _mm256_set1_epi32((4 * step) as u32 as i32);
    let outs = sl[..4 * quads].chunks_exact_mut(4);
    // The windows' frames from a scalar copy of the positions (see `mono_run_avx2`).
    let mut q = pos;
    let steps = [0, step, 2 * step, 3 * step];
    for (ol, or) in outs.zip(sr[..4 * quads].chunks_exact_mut(4)) {
        // SAFETY: AVX and AVX2 are there (the caller guarantees it); the loads read 8 floats of
        // `data` at each frame's window, inside it by `windows_inside`; the stores write the
        // four floats of each output chunk.
        unsafe {
            let at = |k: usize| base.add((((q + steps[k]) >> 32) as usize - 1) * 2);
            let (p0, p1, p2, p3) = (at(0), at(1), at(2), at(3));
            q += 4 * step;
            // Each window is four (left, right) pairs: x₋₁, x₀ in its first half, x₁, x₂ in its
            // second. The halves of frames 0 and 2 (1 and 3) go into one vector as they are
            // loaded (an insert from memory takes no shuffle port); unpacking those as 64-bit
            // pairs gives lane pair k of `xm1` as frame k's x₋₁, and so on.
            let halves = |p: *const f32, q: *const f32| {
                _mm256_castps_pd(_mm256_insertf128_ps::<1>(
                    _mm256_castps128_ps256(_mm_loadu_ps(p)),
                    _mm_loadu_ps(q),
                ))
            };
            let (ac_lo, bd_lo) = (halves(p0, p2), halves(p1, p3));
            let (ac_hi, bd_hi) = (halves(p0.add(4), p2.add(4)), halves(p1.add(4), p3.add(4)));
            let t = fractions8(qv);
            qv = _mm256_add_epi32(qv, step4);
            let xm1 = _mm256_castpd_ps(_mm256_unpacklo_pd(ac_lo, bd_lo));
            let x0 = _mm256_castpd_ps(_mm256_unpackhi_pd(ac_lo, bd_lo));
            let x1 = _mm256_castpd_ps(_mm256_unpacklo_pd(ac_hi, bd_hi));
            let x2 = _mm256_castpd_ps(_mm256_unpackhi_pd(ac_hi, bd_hi));
            let r = hermite8(xm1, x0, x1, x2, t);
            // (l0 r0 l1 r1 l2 r2 l3 r3) → (l0 l1 l2 l3 r0 r1 r2 r3).
            let r = _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
            // Into the four floats of each chunk.
            _mm_storeu_ps(ol.as_mut_ptr(), _mm256_castps256_ps128(r));
            _mm_storeu_ps(or.as_mut_ptr(), _mm256_extractf128_ps::<1>(r));
        }
    }
    let q = pos + 4 * quads as u64 * step;
    stereo_run(data, q, step, &mut sl[4 * quads..n], &mut sr[4 * quads..n]);
}

/// Interpolates `sl.len()` frames of interleaved stereo `data` from read position `pos` (32.32
/// fixed point) moving by `step`, every point inside `data`. Two frames at a time fill the four
/// lanes (left and right of each), loaded as pairs from the interleaved data; the arithmetic per
/// lane is [`hermite4`]'s, so the result is the same as one frame at a time.
#[inline(always)]
fn stereo_run(data: &[f32], pos: u64, step: u64, sl: &mut [f32], sr: &mut [f32]) {
    let frac = |q: u64| (q as u32) as f32 * (1.0 / FIX_ONE as f32);
    let window = |q: u64| {
        let b = ((q >> 32) as usize - 1) * 2;
        &data[b..b + 8]
    };
    let mut q = pos;
    let n = sl.len().min(sr.len());
    let (pairs_l, rest_l) = sl[..n].split_at_mut(n & !1);
    let (pairs_r, rest_r) = sr[..n].split_at_mut(n & !1);
    for (l, r) in pairs_l.chunks_exact_mut(2).zip(pairs_r.chunks_exact_mut(2)) {
        let q1 = q + step;
        let y = hermite_pair(window(q), window(q1), frac(q), frac(q1));
        (l[0], r[0], l[1], r[1]) = (y[0], y[1], y[2], y[3]);
        q = q1 + step;
    }
    if let (Some(l), Some(r)) = (rest_l.first_mut(), rest_r.first_mut()) {
        let w = window(q);
        let t = frac(q);
        *l = hermite4(t, w[0], w[2], w[4], w[6]);
        *r = hermite4(t, w[1], w[3], w[5], w[7]);
    }
}

/// [`hermite4`] of two stereo frames at once, lanes (left 0, right 0, left 1, right 1), from the
/// interleaved points `w0` and `w1` (left and right of x₋₁, x₀, x₁, x₂) at fractions `t0`, `t1`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn hermite_pair(w0: &[f32], w1: &[f32], t0: f32, t1: f32) -> [f32; 4] {
    // Explicit vectors, because the compiler on its own splits the four lanes into two-lane
    // halves here.
    use std::arch::x86_64::*;
    let (w0, w1): (&[f32; 8], &[f32; 8]) = match (w0.first_chunk(), w1.first_chunk()) {
        (Some(a), Some(b)) => (a, b),
        _ => return [0.0; 4],
    };
    // SAFETY: these intrinsics only compute on registers (no memory access, no pointers); they
    // are `unsafe` solely because they need SSE and SSE2, which the x86-64 baseline target this
    // crate is built for always has, so the instructions exist on every CPU the build runs on.
    unsafe {
        let lo0 = _mm_set_ps(w0[3], w0[2], w0[1], w0[0]);
        let hi0 = _mm_set_ps(w0[7], w0[6], w0[5], w0[4]);
        let lo1 = _mm_set_ps(w1[3], w1[2], w1[1], w1[0]);
        let hi1 = _mm_set_ps(w1[7], w1[6], w1[5], w1[4]);
        let xm1 = _mm_movelh_ps(lo0, lo1);
        let x0 = _mm_movehl_ps(lo1, lo0);
        let x1 = _mm_movelh_ps(hi0, hi1);
        let x2 = _mm_movehl_ps(hi1, hi0);
        hermite_lanes(xm1, x0, x1, x2, _mm_set_ps(t1, t1, t0, t0))
    }
}

/// [`hermite4`] in each of four lanes (points `xm1` … `x2`, fractions `t`), the steps in its
/// order, so every lane gives exactly what it gives.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn hermite_lanes(
    xm1: std::arch::x86_64::__m128,
    x0: std::arch::x86_64::__m128,
    x1: std::arch::x86_64::__m128,
    x2: std::arch::x86_64::__m128,
    t: std::arch::x86_64::__m128,
) -> [f32; 4] {
    use std::arch::x86_64::*;
    // SAFETY: these intrinsics only compute on registers (no memory access, no pointers); they
    // are `unsafe` solely because they need SSE and SSE2, which the x86-64 baseline target this
    // crate is built for always has, so the instructions exist on every CPU the build runs on.
    unsafe {
        let half = _mm_set1_ps(0.5);
        let c = _mm_mul_ps(_mm_sub_ps(x1, xm1), half);
        let v = _mm_sub_ps(x0, x1);
        let w = _mm_add_ps(c, v);
        let a = _mm_add_ps(_mm_add_ps(w, v), _mm_mul_ps(_mm_sub_ps(x2, x0), half));
        let b = _mm_add_ps(w, a);
        let y = _mm_mul_ps(_mm_sub_ps(_mm_mul_ps(a, t), b), t);
        let y = _mm_add_ps(_mm_mul_ps(_mm_add_ps(y, c), t), x0);
        [
            _mm_cvtss_f32(y),
            _mm_cvtss_f32(_mm_shuffle_ps::<0b01>(y, y)),
            _mm_cvtss_f32(_mm_shuffle_ps::<0b10>(y, y)),
            _mm_cvtss_f32(_mm_shuffle_ps::<0b11>(y, y)),
        ]
    }
}

/// [`hermite4`] of two stereo frames at once (see the x86-64 version).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn hermite_pair(w0: &[f32], w1: &[f32], t0: f32, t1: f32) -> [f32; 4] {
    [
        hermite4(t0, w0[0], w0[2], w0[4], w0[6]),
        hermite4(t0, w0[1], w0[3], w0[5], w0[7]),
        hermite4(t1, w1[0], w1[2], w1[4], w1[6]),
        hermite4(t1, w1[1], w1[3], w1[5], w1[7]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;

    /// Frame `i` of the run from `pos` by `step`, channel `c` of `ch`, one point at a time.
    fn reference(data: &[f32], ch: usize, c: usize, pos: u64, step: u64, i: usize) -> f32 {
        let q = pos + i as u64 * step;
        let f = (q >> 32) as usize;
        let x = |k: usize| data[k * ch + c];
        let t = (q as u32) as f32 * (1.0 / FIX_ONE as f32);
        hermite4(t, x(f - 1), x(f), x(f + 1), x(f + 2))
    }

    /// The vector runs (mono four frames at a time, or with AVX2 eight and a last four; stereo
    /// two or, with AVX2, four) give what `hermite4` gives frame by frame, for steps from far
    /// below to far above one frame, starting fractions near 0 and near 1, and lengths that leave
    /// remainders of every kind.
    #[test]
    fn interpolation_runs_equal_the_scalar_kernel() {
        let mut rng = Rng::new(11);
        let data: Vec<f32> = (0..2 * 4096).map(|_| rng.bipolar()).collect();
        let steps = [
            1u64,
            0x1234,
            0x8000_0001,
            FIX_ONE as u64 - 1,
            0x1_0000_0001,
            0x2_7FFF_FFFF,
        ];
        let starts = [
            1u64 << 32,
            (5u64 << 32) | 0xFFFF_FFFF,
            (9u64 << 32) | 0x8000_0000,
        ];
        for &step in &steps {
            for &pos in &starts {
                for n in [1usize, 3, 4, 7, 8, 12, 15, 33, 256] {
                    let mut mono = vec![0.0; n];
                    let check_mono = |mono: &[f32], what: &str| {
                        for (i, &y) in mono.iter().enumerate() {
                            let want = reference(&data[..4096], 1, 0, pos, step, i);
                            assert_eq!(y.to_bits(), want.to_bits(), "{what} {step:#x} {i}");
                        }
                    };
                    mono_run(&data[..4096], pos, step, &mut mono);
                    check_mono(&mono, "mono");
                    #[cfg(target_arch = "x86_64")]
                    if crate::dsp::simd::avx2() {
                        mono.fill(0.0);
                        // SAFETY: the processor has AVX2 (checked above).
                        #[allow(unsafe_code)]
                        unsafe {
                            mono_run_avx2(&data[..4096], pos, step, &mut mono)
                        };
                        check_mono(&mono, "mono AVX2");
                    }
                    let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
                    let check = |l: &[f32], r: &[f32], what: &str| {
                        for i in 0..n {
                            let (wl, wr) = (
                                reference(&data, 2, 0, pos, step, i),
                                reference(&data, 2, 1, pos, step, i),
                            );
                            assert_eq!(l[i].to_bits(), wl.to_bits(), "{what} L {step:#x} {i}");
                            assert_eq!(r[i].to_bits(), wr.to_bits(), "{what} R {step:#x} {i}");
                        }
                    };
                    stereo_run(&data, pos, step, &mut l, &mut r);
                    check(&l, &r, "stereo");
                    #[cfg(target_arch = "x86_64")]
                    if crate::dsp::simd::avx2() {
                        l.fill(0.0);
                        r.fill(0.0);
                        // SAFETY: the processor has AVX2 (checked above).
                        #[allow(unsafe_code)]
                        unsafe {
                            stereo_run_avx2(&data, pos, step, &mut l, &mut r)
                        };
                        check(&l, &r, "stereo AVX2");
                    }
                }
            }
        }
    }
}
