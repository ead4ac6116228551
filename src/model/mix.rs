//! Mixer settings as pure data: the insert effects of a track, the two send buses (reverb and a
//! tempo-synced delay) and the master chain (EQ, compressor, true-peak limiter). The engine builds
//! its processors from these; the song file stores them; the mixer view edits them.
//!
//! Signal flow (docs/mixing.md): every track runs its voices through its insert chain, then its
//! fader (volume, pan, mute/solo); post-fader sends feed the reverb and the delay bus; tracks and
//! bus returns sum into the master bus, which runs EQ → compressor → limiter → master volume.

use serde::{Deserialize, Serialize};

/// A send level or return level at or below this (dB) is off: it contributes nothing.
pub const OFF_DB: f32 = -96.0;
/// Highest send or return level in dB.
pub const MAX_SEND_DB: f32 = 6.0;
/// Most insert effects on one track.
pub const MAX_INSERTS: usize = 4;
/// Number of send buses (0 = reverb, 1 = delay).
pub const SEND_BUSES: usize = 2;

/// Most track groups in a song.
pub const MAX_GROUPS: usize = 16;

/// A group of tracks (layering): the members' faders feed the group's bus, which has its own
/// insert chain, fader, mute/solo and sends, and feeds the master. Members' own sends still go
/// straight to the send buses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Name shown in the mixer and the pattern view; names the stem subfolder.
    pub name: String,
    /// Bus gain in dB.
    pub volume_db: f32,
    /// Pan, -1..=1 (constant power, unity at centre).
    pub pan: f32,
    /// A muted group silences its members.
    pub mute: bool,
    /// A soloed group sounds with all its members.
    pub solo: bool,
    /// Post-fader send levels of the bus (dB; [`OFF_DB`] = off).
    pub sends: [f32; SEND_BUSES],
    /// Insert effects of the bus.
    pub inserts: Vec<Insert>,
    /// Whether the pattern view shows the members folded into one column.
    pub folded: bool,
}

impl Group {
    /// A group at unity with no effects.
    pub fn new(name: impl Into<String>) -> Group {
        Group {
            name: name.into(),
            volume_db: 0.0,
            pan: 0.0,
            mute: false,
            solo: false,
            sends: [OFF_DB; SEND_BUSES],
            inserts: Vec::new(),
            folded: false,
        }
    }
}

/// Linear gain of a level in dB where [`OFF_DB`] and below is silence.
#[inline]
pub fn level_gain(db: f32) -> f32 {
    if db <= OFF_DB {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

/// The song's buses: the two send buses and the master.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Mixer {
    /// Send bus 1.
    pub reverb: ReverbBus,
    /// Send bus 2.
    pub delay: DelayBus,
    /// The master bus.
    pub master: Master,
}

/// The reverb send bus.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReverbBus {
    /// The reverb's settings.
    pub reverb: Reverb,
    /// Return level into the master (dB).
    pub return_db: f32,
    /// Muted returns make no sound.
    pub mute: bool,
}

impl Default for ReverbBus {
    fn default() -> ReverbBus {
        ReverbBus {
            reverb: Reverb::default(),
            return_db: 0.0,
            mute: false,
        }
    }
}

/// The delay send bus.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelayBus {
    /// The delay's settings.
    pub delay: Delay,
    /// Return level into the master (dB).
    pub return_db: f32,
    /// Muted returns make no sound.
    pub mute: bool,
}

impl Default for DelayBus {
    fn default() -> DelayBus {
        DelayBus {
            delay: Delay::default(),
            return_db: 0.0,
            mute: false,
        }
    }
}

/// The master bus: EQ → compressor → limiter → volume.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Master {
    /// Master volume (dB), applied before the limiter so that the ceiling always holds.
    pub volume_db: f32,
    /// Master EQ.
    pub eq: Eq,
    /// Master compressor.
    pub compressor: Compressor,
    /// True-peak limiter, last in the chain.
    pub limiter: Limiter,
}

impl Default for Master {
    /// A transparent master: every stage present with useful settings but switched off, so a
    /// song sounds the same until its master chain is turned on (and songs from before the mixer
    /// existed keep their sound).
    fn default() -> Master {
        Master {
            volume_db: 0.0,
            eq: Eq {
                on: false,
                ..Eq::default()
            },
            compressor: Compressor {
                on: false,
                ..Compressor::default()
            },
            limiter: Limiter {
                on: false,
                ..Limiter::default()
            },
        }
    }
}

/// One insert effect of a track.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Insert {
    /// Parametric EQ.
    Eq(Eq),
    /// Compressor.
    Compressor(Compressor),
}

impl Insert {
    /// Short name for the mixer view.
    pub fn name(&self) -> &'static str {
        match self {
            Insert::Eq(_) => "EQ",
            Insert::Compressor(_) => "Comp",
        }
    }

    /// Whether the effect is switched on.
    pub fn is_on(&self) -> bool {
        match self {
            Insert::Eq(e) => e.on,
            Insert::Compressor(c) => c.on,
        }
    }
}

/// The kind of an EQ band; the six bands of an [`Eq`](struct@Eq) have one kind each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BandKind {
    /// 12 dB/octave high-pass (gain unused).
    HighPass,
    /// Low shelf.
    LowShelf,
    /// Peaking (bell).
    Peak,
    /// High shelf.
    HighShelf,
    /// 12 dB/octave low-pass (gain unused).
    LowPass,
}

/// One band of the parametric EQ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EqBand {
    /// Whether the band filters.
    pub on: bool,
    /// Centre, corner or shelf-midpoint frequency in Hz (20..=20000).
    pub freq_hz: f32,
    /// Gain in dB (−24..=24) of peaks and shelves.
    pub gain_db: f32,
    /// Q (0.1..=18); for shelves the slope as the cookbook's Q.
    pub q: f32,
}

impl EqBand {
    /// A band switched off at `freq_hz`.
    pub const fn off(freq_hz: f32, q: f32) -> EqBand {
        EqBand {
            on: false,
            freq_hz,
            gain_db: 0.0,
            q,
        }
    }
}

/// The parametric EQ: high-pass, low shelf, two peaks, high shelf, low-pass (RBJ cookbook biquads).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Eq {
    /// Whether the EQ is in the signal path.
    pub on: bool,
    /// The six bands in signal order; their kinds are [`Eq::KINDS`].
    pub bands: [EqBand; 6],
}

impl Eq {
    /// The kind of each band, in order.
    pub const KINDS: [BandKind; 6] = [
        BandKind::HighPass,
        BandKind::LowShelf,
        BandKind::Peak,
        BandKind::Peak,
        BandKind::HighShelf,
        BandKind::LowPass,
    ];
    /// Names of the bands as the text format and the mixer view spell them.
    pub const BAND_NAMES: [&'static str; 6] = [
        "high_pass",
        "low_shelf",
        "peak1",
        "peak2",
        "high_shelf",
        "low_pass",
    ];
}

impl Default for Eq {
    fn default() -> Eq {
        let q = std::f32::consts::FRAC_1_SQRT_2;
        Eq {
            on: true,
            bands: [
                EqBand::off(30.0, q),
                EqBand::off(120.0, q),
                EqBand::off(500.0, 1.0),
                EqBand::off(2500.0, 1.0),
                EqBand::off(8000.0, q),
                EqBand::off(18000.0, q),
            ],
        }
    }
}

/// A feed-forward compressor with a soft knee.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compressor {
    /// Whether the compressor is in the signal path.
    pub on: bool,
    /// Threshold in dBFS (−60..=0).
    pub threshold_db: f32,
    /// Ratio (1..=20; 20 acts as a limiter).
    pub ratio: f32,
    /// Knee width in dB (0..=24), centred on the threshold.
    pub knee_db: f32,
    /// Attack time in ms (0.1..=200): time to reach 1 − 1/e of a gain change.
    pub attack_ms: f32,
    /// Release time in ms (5..=2000).
    pub release_ms: f32,
    /// Make-up gain in dB (0..=24).
    pub makeup_db: f32,
}

impl Default for Compressor {
    fn default() -> Compressor {
        Compressor {
            on: true,
            threshold_db: -18.0,
            ratio: 3.0,
            knee_db: 6.0,
            attack_ms: 10.0,
            release_ms: 150.0,
            makeup_db: 0.0,
        }
    }
}

/// An algorithmic room/hall reverb (feedback-delay network); the bus output is wet only.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reverb {
    /// Room size 0..=1 (scales the delay lengths, hence echo density and early spacing).
    pub size: f32,
    /// Decay time RT60 in seconds (0.1..=20).
    pub decay_s: f32,
    /// High-frequency damping 0..=1 (0 = none).
    pub damping: f32,
    /// Pre-delay in ms (0..=250).
    pub predelay_ms: f32,
    /// Stereo width 0..=1.
    pub width: f32,
}

impl Default for Reverb {
    fn default() -> Reverb {
        Reverb {
            size: 0.6,
            decay_s: 1.8,
            damping: 0.4,
            predelay_ms: 15.0,
            width: 1.0,
        }
    }
}

/// Unit of a tempo-synced delay time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DelayUnit {
    /// Rows (lines): one row = 60 / (BPM × LPB) s.
    Rows,
    /// Beats: one beat = 60 / BPM s.
    Beats,
}

/// A tempo-synced feedback delay; the bus output is wet only.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delay {
    /// Delay time in `unit`s (0.25..=64); the delay follows tempo changes.
    pub time: f32,
    /// What `time` counts.
    pub unit: DelayUnit,
    /// Feedback 0..=0.95.
    pub feedback: f32,
    /// Low-pass in the feedback path, Hz (500..=20000).
    pub high_cut_hz: f32,
    /// Echoes alternate left and right.
    pub ping_pong: bool,
}

impl Default for Delay {
    fn default() -> Delay {
        Delay {
            time: 3.0,
            unit: DelayUnit::Rows,
            feedback: 0.35,
            high_cut_hz: 6000.0,
            ping_pong: true,
        }
    }
}

/// Look-ahead true-peak limiter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limiter {
    /// Whether the limiter is in the signal path.
    pub on: bool,
    /// Ceiling in dBTP (−12..=0): the true peak of the output stays below it.
    pub ceiling_db: f32,
    /// Release time in ms (1..=1000).
    pub release_ms: f32,
}

impl Default for Limiter {
    fn default() -> Limiter {
        Limiter {
            on: true,
            ceiling_db: -0.3,
            release_ms: 80.0,
        }
    }
}

/// Ranges of every mixer parameter, used by `validate`, the text reader and the mixer view.
pub mod ranges {
    /// Track, master and bus volume (dB).
    pub const VOLUME_DB: (f32, f32) = (-96.0, 24.0);
    /// Send and return levels (dB).
    pub const SEND_DB: (f32, f32) = (super::OFF_DB, super::MAX_SEND_DB);
    /// EQ frequency (Hz).
    pub const EQ_FREQ: (f32, f32) = (20.0, 20_000.0);
    /// EQ gain (dB).
    pub const EQ_GAIN: (f32, f32) = (-24.0, 24.0);
    /// EQ Q.
    pub const EQ_Q: (f32, f32) = (0.1, 18.0);
    /// Compressor threshold (dB).
    pub const THRESHOLD: (f32, f32) = (-60.0, 0.0);
    /// Compressor ratio.
    pub const RATIO: (f32, f32) = (1.0, 20.0);
    /// Compressor knee (dB).
    pub const KNEE: (f32, f32) = (0.0, 24.0);
    /// Compressor attack (ms).
    pub const ATTACK_MS: (f32, f32) = (0.1, 200.0);
    /// Compressor release (ms).
    pub const RELEASE_MS: (f32, f32) = (5.0, 2000.0);
    /// Compressor make-up (dB).
    pub const MAKEUP_DB: (f32, f32) = (0.0, 24.0);
    /// Reverb size.
    pub const SIZE: (f32, f32) = (0.0, 1.0);
    /// Reverb decay (s).
    pub const DECAY_S: (f32, f32) = (0.1, 20.0);
    /// Reverb damping.
    pub const DAMPING: (f32, f32) = (0.0, 1.0);
    /// Reverb pre-delay (ms).
    pub const PREDELAY_MS: (f32, f32) = (0.0, 250.0);
    /// Reverb width.
    pub const WIDTH: (f32, f32) = (0.0, 1.0);
    /// Delay time (rows or beats).
    pub const DELAY_TIME: (f32, f32) = (0.25, 64.0);
    /// Delay feedback.
    pub const FEEDBACK: (f32, f32) = (0.0, 0.95);
    /// Delay high cut (Hz).
    pub const HIGH_CUT: (f32, f32) = (500.0, 20_000.0);
    /// Limiter ceiling (dBTP).
    pub const CEILING: (f32, f32) = (-12.0, 0.0);
    /// Limiter release (ms).
    pub const LIMITER_RELEASE: (f32, f32) = (1.0, 1000.0);
}
