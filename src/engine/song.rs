//! The engine's own copy of a song, built on a non-audio thread with everything precomputed for one
//! sample rate: envelope coefficients, gains, shared sample data.

use crate::dsp::envelope::AdsrCoefs;
use crate::dsp::{db_to_gain, pan};
use crate::model::mix::{Group, Insert, MAX_GROUPS, MAX_INSERTS, Mixer, SEND_BUSES, level_gain};
use crate::model::{self, InstrumentKind, LoopMode, Pattern, SampleData, Song, Synth, Waveform};
use std::sync::Arc;

/// A song as the engine plays it.
#[derive(Clone, Debug)]
pub struct EngineSong {
    /// Output rate the coefficients were computed for.
    pub rate: u32,
    /// Initial tempo.
    pub bpm: u16,
    /// Lines per beat.
    pub lpb: u8,
    /// Initial ticks per line.
    pub tpl: u8,
    /// Per-track settings.
    pub tracks: Vec<EngineTrack>,
    /// The pattern pool (the model's cells, read directly).
    pub patterns: Vec<Pattern>,
    /// Order list.
    pub order: Vec<u16>,
    /// Loop-back order position.
    pub restart: u16,
    /// Muted track slices per order position (bit per track; missing positions mute nothing).
    pub mutes: Vec<u64>,
    /// Instrument slots, index = slot − 1.
    pub instruments: Vec<Option<Box<PlayableInstrument>>>,
    /// Seed of every random source.
    pub seed: u64,
    /// Send buses and master chain.
    pub mixer: Mixer,
    /// Group bus strips, index = group.
    pub groups: Vec<EngineTrack>,
    /// Per track: its frozen audio, when the track is frozen.
    pub frozen: Vec<Option<super::frozen::FrozenAudio>>,
}

/// A track's column layout and mix settings.
#[derive(Clone, Copy, Debug)]
pub struct EngineTrack {
    /// Note columns.
    pub note_columns: usize,
    /// Effect columns.
    pub effect_columns: usize,
    /// Linear gain, 0 when muted.
    pub gain: f32,
    /// Left and right pan gains (constant power, unity at centre).
    pub balance: (f32, f32),
    /// Soloed.
    pub solo: bool,
    /// Linear post-fader send gains to the reverb and the delay bus.
    pub send_gain: [f32; SEND_BUSES],
    /// Insert effects in signal order.
    pub inserts: [Option<Insert>; MAX_INSERTS],
    /// The group whose bus the track feeds (for a group's own strip: `None`).
    pub group: Option<u8>,
}

/// An instrument ready to play.
#[derive(Clone, Debug)]
pub struct PlayableInstrument {
    /// Linear gain.
    pub volume: f32,
    /// Default pan -1..=1.
    pub pan: f32,
    /// The source.
    pub source: Source,
}

/// Sound source of a playable instrument.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "instruments are boxed as a whole already; boxing the variant too would add an indirection per block"
)]
pub enum Source {
    /// Built-in synth.
    Synth(SynthPatch),
    /// Sample player.
    Sampler(SamplerPatch),
}

/// Synth parameters plus precomputed coefficients.
#[derive(Clone, Debug)]
pub struct SynthPatch {
    /// The model parameters.
    pub params: Synth,
    /// Amplitude envelope coefficients.
    pub amp: AdsrCoefs,
    /// Filter envelope coefficients.
    pub filter_env: AdsrCoefs,
    /// Per-control-step ([`CONTROL_FRAMES`]) decay of the pitch envelope.
    pub pitch_env_step: f32,
}

/// Sampler parameters plus the shared data.
#[derive(Clone, Debug)]
pub struct SamplerPatch {
    /// The audio.
    pub sample: Arc<SampleData>,
    /// Pitch at which the sample plays at its own rate, with fine tune, in semitones.
    pub base_pitch: f32,
    /// Ratio of the sample's rate to the output rate.
    pub rate_ratio: f64,
    /// Loop mode (Off when the loop is empty).
    pub loop_mode: LoopMode,
    /// Loop start frame.
    pub loop_start: f64,
    /// Loop end frame.
    pub loop_end: f64,
    /// Amplitude envelope coefficients.
    pub amp: AdsrCoefs,
}

/// Frames per control step: modulation and filter coefficients update on this grid of absolute time.
///
/// 64 frames (1.3 ms at 48 kHz) rather than the 32 a first design had: every step stays far finer
/// than a tracker's tick (20 ms at 125 BPM) and than an ear follows a sweep, and a voice's control
/// step is paid half as often (19 % of a synth song's render; see docs/benchmarks.md, sixth pass).
/// 128 frames would save little more and move a fast pitch envelope in 2.7 ms stairs.
pub const CONTROL_FRAMES: u64 = 64;

impl EngineSong {
    /// Whether track `t`'s slice at order position `pos` is muted.
    pub fn slice_muted(&self, pos: usize, t: usize) -> bool {
        t < 64 && self.mutes.get(pos).is_some_and(|m| m & (1u64 << t) != 0)
    }

    /// Builds the engine's copy of `song` for output at `rate` Hz. The song must be valid
    /// (see [`model::validate`]); values are clamped again here so that nothing can trap later.
    pub fn from_model(song: &Song, rate: u32) -> EngineSong {
        let r = rate as f32;
        EngineSong {
            rate,
            bpm: song
                .bpm
                .clamp(model::limits::BPM_RANGE.0, model::limits::BPM_RANGE.1),
            lpb: song.lpb.max(1),
            tpl: song.tpl.max(1),
            tracks: song.tracks.iter().map(EngineTrack::from_model).collect(),
            patterns: song.patterns.clone(),
            order: song.order.clone(),
            restart: song.restart,
            mutes: song.arrangement.mutes.clone(),
            // Every slot exists in the engine, so an instrument can be swapped into any slot
            // without growing this list on the audio thread.
            instruments: (0..model::limits::MAX_INSTRUMENTS)
                .map(|i| {
                    song.instruments
                        .get(i)
                        .and_then(|x| x.as_ref())
                        .map(|i| Box::new(PlayableInstrument::from_model(i, r)))
                })
                .collect(),
            seed: song.seed,
            mixer: song.mixer,
            groups: song
                .groups
                .iter()
                .take(MAX_GROUPS)
                .map(EngineTrack::from_group)
                .collect(),
            frozen: super::frozen::from_model(song, rate),
        }
    }

    /// The instrument in 1-based `slot`.
    #[inline]
    pub fn instrument(&self, slot: u8) -> Option<&PlayableInstrument> {
        self.instruments
            .get((slot as usize).wrapping_sub(1))?
            .as_deref()
    }
}

impl EngineTrack {
    /// Mix settings of a model track.
    pub fn from_model(t: &model::Track) -> EngineTrack {
        let mut e = EngineTrack {
            note_columns: t.note_columns.max(1) as usize,
            effect_columns: t.effect_columns.max(1) as usize,
            gain: 1.0,
            balance: (1.0, 1.0),
            solo: t.solo,
            send_gain: t.sends.map(level_gain),
            // A frozen track's audio has been through its inserts already.
            inserts: std::array::from_fn(|i| {
                t.inserts.get(i).copied().filter(|_| t.frozen.is_none())
            }),
            group: t.group.filter(|&g| (g as usize) < MAX_GROUPS),
        };
        e.set_mix(t.volume_db, t.pan, t.mute);
        e
    }

    /// The bus strip of a group (columns unused).
    pub fn from_group(g: &Group) -> EngineTrack {
        let mut e = EngineTrack {
            note_columns: 1,
            effect_columns: 1,
            gain: 1.0,
            balance: (1.0, 1.0),
            solo: g.solo,
            send_gain: g.sends.map(level_gain),
            inserts: std::array::from_fn(|i| g.inserts.get(i).copied()),
            group: None,
        };
        e.set_mix(g.volume_db, g.pan, g.mute);
        e
    }

    /// Sets gain and pan gains from volume (dB, clamped to −96..=24), pan and mute. Track pan is
    /// the constant-power law scaled so that centre is unity: left = √2·cos θ, right = √2·sin θ
    /// with θ = (pan + 1)·π/4, so left² + right² = 2 at every position (hard left is +3 dB left).
    pub fn set_mix(&mut self, volume_db: f32, pan: f32, mute: bool) {
        let (l, r) = pan::constant_power(pan);
        self.gain = if mute {
            0.0
        } else {
            db_to_gain(volume_db.clamp(-96.0, 24.0))
        };
        self.balance = (l * std::f32::consts::SQRT_2, r * std::f32::consts::SQRT_2);
    }

    /// The left and right gains the track's mix applies.
    pub fn gains(&self) -> (f32, f32) {
        (self.gain * self.balance.0, self.gain * self.balance.1)
    }
}

impl PlayableInstrument {
    /// Precomputes an instrument for output at `rate` Hz.
    pub fn from_model(inst: &model::Instrument, rate: f32) -> PlayableInstrument {
        let source = match &inst.kind {
            InstrumentKind::Synth(s) => Source::Synth(SynthPatch {
                params: Synth {
                    pulse_width: s.pulse_width.clamp(0.01, 0.99),
                    ..s.clone()
                },
                amp: AdsrCoefs::new(&s.amp, rate),
                filter_env: AdsrCoefs::new(&s.filter_env, rate),
                // Pitch envelope falls by 60 dB (a factor 1000) in pitch_env_ms.
                pitch_env_step: {
                    let steps = (s.pitch_env_ms * 0.001 * rate / CONTROL_FRAMES as f32).max(1.0);
                    10f32.powf(-3.0 / steps)
                },
            }),
            InstrumentKind::Sampler(s) => {
                let frames = s.sample.frames as f64;
                let (ls, le) = (
                    s.loop_start.min(s.sample.frames) as f64,
                    s.loop_end.min(s.sample.frames) as f64,
                );
                Source::Sampler(SamplerPatch {
                    sample: Arc::clone(&s.sample),
                    base_pitch: s.base_note as f32 - s.fine_tune_cents / 100.0,
                    rate_ratio: s.sample.rate as f64 / rate as f64,
                    loop_mode: if le - ls >= 2.0 && le <= frames {
                        s.loop_mode
                    } else {
                        LoopMode::Off
                    },
                    loop_start: ls,
                    loop_end: le,
                    amp: AdsrCoefs::new(&s.amp, rate),
                })
            }
        };
        PlayableInstrument {
            volume: inst.volume.clamp(0.0, 2.0),
            pan: inst.pan.clamp(-1.0, 1.0),
            source,
        }
    }

    /// True for a synth whose oscillators are all off (it makes no sound).
    pub fn is_silent(&self) -> bool {
        matches!(&self.source, Source::Synth(s) if s.params.osc1 == Waveform::Off && s.params.osc2 == Waveform::Off)
    }
}
