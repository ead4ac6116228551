//! The song as pure data (layer 1): what the user edits, what files hold and what the engine is built
//! from. No I/O and no other crate module here; `validate` checks a song against [`limits`].

pub mod arrange;
pub mod limits;
pub mod mix;
mod note;
pub mod takes;
mod validate;

pub use note::{EffectCell, MAX_PITCH, Note, NoteCell};
pub use validate::{ModelError, validate};

use serde::{Deserialize, Deserializer, Serialize};
use std::sync::Arc;

/// A whole song: tempo, tracks, patterns, order list and instruments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Song {
    /// Title shown in the UI and by `ttrack info`.
    pub title: String,
    /// Author or free text.
    pub author: String,
    /// Beats per minute.
    pub bpm: u16,
    /// Lines (rows) per beat; a row lasts 60 / (bpm × lpb) seconds.
    pub lpb: u8,
    /// Ticks per line, the time grid of tick effects (does not change the row length).
    pub tpl: u8,
    /// The tracks, left to right.
    pub tracks: Vec<Track>,
    /// Pattern pool; the order list refers to these by index.
    pub patterns: Vec<Pattern>,
    /// The arrangement: pattern indices in play order.
    pub order: Vec<u16>,
    /// Order position the song loops back to after the last entry.
    pub restart: u16,
    /// Instrument slots; cell instrument `n` (1-based) is `instruments[n - 1]`.
    pub instruments: Vec<Option<Instrument>>,
    /// Seed of every random source (noise, dither), so renders are repeatable.
    pub seed: u64,
    /// Send buses and master chain.
    pub mixer: mix::Mixer,
    /// Track groups (at most [`mix::MAX_GROUPS`]); tracks name them by index.
    pub groups: Vec<mix::Group>,
    /// Slice mutes, sections and the loop range, parallel to `order`.
    pub arrangement: arrange::Arrangement,
    /// Recorded MIDI takes, oldest first.
    pub takes: Vec<takes::Take>,
}

/// One track: its column layout and its channel settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Name shown in the track header.
    pub name: String,
    /// Note columns, 1..=8 (polyphony of the track).
    pub note_columns: u8,
    /// Effect columns, 1..=4 (they act on every note column of the track).
    pub effect_columns: u8,
    /// Whether the delay field of note columns is shown and written in text files.
    pub show_delay: bool,
    /// Track gain in decibels.
    pub volume_db: f32,
    /// Pan, -1 (left) ..= 1 (right).
    pub pan: f32,
    /// Muted tracks make no sound.
    pub mute: bool,
    /// While any track is soloed, only soloed tracks sound.
    pub solo: bool,
    /// Post-fader send levels in dB to the reverb and the delay bus ([`mix::OFF_DB`] = off).
    pub sends: [f32; mix::SEND_BUSES],
    /// Insert effects in signal order (at most [`mix::MAX_INSERTS`]), before the fader.
    pub inserts: Vec<mix::Insert>,
    /// The group (index into [`Song::groups`]) whose bus this track feeds, if any.
    pub group: Option<u8>,
    /// Set while the track is frozen: its audio and its hidden notes.
    pub frozen: Option<Box<arrange::Frozen>>,
}

impl Track {
    /// A track with one note column and one effect column.
    pub fn new(name: impl Into<String>) -> Track {
        Track {
            name: name.into(),
            note_columns: 1,
            effect_columns: 1,
            show_delay: false,
            volume_db: 0.0,
            pan: 0.0,
            mute: false,
            solo: false,
            sends: [mix::OFF_DB; mix::SEND_BUSES],
            inserts: Vec::new(),
            group: None,
            frozen: None,
        }
    }
}

/// A block of rows across all tracks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// Optional name.
    pub name: String,
    /// Row count, 1..=512.
    pub rows: u32,
    /// One entry per song track, with that track's columns.
    pub tracks: Vec<PatternTrack>,
}

/// Most cells one pattern track may hold in a file; checked before anything is allocated.
const MAX_NOTE_CELLS: usize = limits::MAX_ROWS * limits::MAX_NOTE_COLUMNS;
const MAX_EFFECT_CELLS: usize = limits::MAX_ROWS * limits::MAX_EFFECT_COLUMNS;

/// The cells of one track in one pattern, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatternTrack {
    /// `rows × note_columns` cells: row `r`, column `c` is at `r * note_columns + c`.
    #[serde(deserialize_with = "bounded_vec::<_, _, MAX_NOTE_CELLS>")]
    pub notes: Vec<NoteCell>,
    /// `rows × effect_columns` cells, laid out like `notes`.
    #[serde(deserialize_with = "bounded_vec::<_, _, MAX_EFFECT_CELLS>")]
    pub effects: Vec<EffectCell>,
}

impl Pattern {
    /// An empty pattern shaped for `tracks`.
    pub fn new(rows: u32, tracks: &[Track]) -> Pattern {
        Pattern {
            name: String::new(),
            rows,
            tracks: tracks
                .iter()
                .map(|t| PatternTrack {
                    notes: vec![NoteCell::EMPTY; rows as usize * t.note_columns as usize],
                    effects: vec![EffectCell::EMPTY; rows as usize * t.effect_columns as usize],
                })
                .collect(),
        }
    }

    /// Note column count of track `t` in this pattern.
    pub fn note_columns(&self, t: usize) -> usize {
        if self.rows == 0 {
            0
        } else {
            self.tracks[t].notes.len() / self.rows as usize
        }
    }

    /// Effect column count of track `t` in this pattern.
    pub fn effect_columns(&self, t: usize) -> usize {
        if self.rows == 0 {
            0
        } else {
            self.tracks[t].effects.len() / self.rows as usize
        }
    }

    /// The note cell at track `t`, `row`, note column `col`.
    pub fn note(&self, t: usize, row: usize, col: usize) -> NoteCell {
        let w = self.note_columns(t);
        self.tracks[t].notes[row * w + col]
    }

    /// Mutable note cell at track `t`, `row`, note column `col`.
    pub fn note_mut(&mut self, t: usize, row: usize, col: usize) -> &mut NoteCell {
        let w = self.note_columns(t);
        &mut self.tracks[t].notes[row * w + col]
    }

    /// The effect cell at track `t`, `row`, effect column `col`.
    pub fn effect(&self, t: usize, row: usize, col: usize) -> EffectCell {
        let w = self.effect_columns(t);
        self.tracks[t].effects[row * w + col]
    }

    /// Mutable effect cell at track `t`, `row`, effect column `col`.
    pub fn effect_mut(&mut self, t: usize, row: usize, col: usize) -> &mut EffectCell {
        let w = self.effect_columns(t);
        &mut self.tracks[t].effects[row * w + col]
    }
}

/// An instrument: shared settings and a sound source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Name shown in lists.
    pub name: String,
    /// Gain, 0..=2 (1 = unity).
    pub volume: f32,
    /// Pan, -1 (left) ..= 1 (right).
    pub pan: f32,
    /// The sound source.
    pub kind: InstrumentKind,
}

/// The two kinds of sound source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InstrumentKind {
    /// Built-in subtractive synth.
    Synth(Synth),
    /// Plays a recorded sample.
    Sampler(Sampler),
}

/// Oscillator waveforms; saw and pulse are band-limited (PolyBLEP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Waveform {
    /// Oscillator switched off.
    Off,
    /// Pure sine.
    Sine,
    /// Band-limited sawtooth.
    #[default]
    Saw,
    /// Band-limited pulse; width from [`Synth::pulse_width`] (0.5 = square).
    Pulse,
    /// Triangle (integrated band-limited square).
    Triangle,
    /// White noise from the seeded generator.
    Noise,
}

impl Waveform {
    /// Every waveform, in menu order.
    pub const ALL: [Waveform; 6] = [
        Waveform::Off,
        Waveform::Sine,
        Waveform::Saw,
        Waveform::Pulse,
        Waveform::Triangle,
        Waveform::Noise,
    ];

    /// Lower-case name used in text files.
    pub fn name(self) -> &'static str {
        match self {
            Waveform::Off => "off",
            Waveform::Sine => "sine",
            Waveform::Saw => "saw",
            Waveform::Pulse => "pulse",
            Waveform::Triangle => "triangle",
            Waveform::Noise => "noise",
        }
    }

    /// Parses a name written by [`Waveform::name`].
    pub fn from_name(s: &str) -> Option<Waveform> {
        Waveform::ALL.into_iter().find(|w| w.name() == s)
    }
}

/// Attack, decay, sustain, release envelope; times in milliseconds, sustain 0..=1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adsr {
    /// Attack time in ms (linear rise).
    pub attack_ms: f32,
    /// Decay time in ms (exponential fall to sustain).
    pub decay_ms: f32,
    /// Sustain level 0..=1.
    pub sustain: f32,
    /// Release time in ms after note-off (exponential).
    pub release_ms: f32,
}

impl Adsr {
    /// A fast organ-like envelope.
    pub const GATE: Adsr = Adsr {
        attack_ms: 2.0,
        decay_ms: 100.0,
        sustain: 1.0,
        release_ms: 30.0,
    };
}

/// The built-in synth: two oscillators, a resonant low-pass filter with its own envelope, and
/// a pitch envelope for percussive sweeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Synth {
    /// First oscillator.
    pub osc1: Waveform,
    /// Second oscillator (Off for none).
    pub osc2: Waveform,
    /// Second oscillator's offset in semitones (fractional for detune).
    pub osc2_semitones: f32,
    /// Mix 0 (osc1 only) ..= 1 (osc2 only).
    pub osc_mix: f32,
    /// Pulse width 0.05..=0.95.
    pub pulse_width: f32,
    /// Amplitude envelope.
    pub amp: Adsr,
    /// Filter cutoff in Hz (20..=20000).
    pub cutoff_hz: f32,
    /// Filter resonance 0..=1 (1 is close to self-oscillation).
    pub resonance: f32,
    /// Filter envelope depth in octaves (may be negative).
    pub filter_env_octaves: f32,
    /// Filter envelope.
    pub filter_env: Adsr,
    /// How far the cutoff follows the note, 0..=1 (1 = one octave per octave).
    pub key_track: f32,
    /// Pitch envelope start offset in semitones, decaying to 0.
    pub pitch_env_semitones: f32,
    /// Pitch envelope decay time in ms.
    pub pitch_env_ms: f32,
}

impl Default for Synth {
    fn default() -> Synth {
        Synth {
            osc1: Waveform::Saw,
            osc2: Waveform::Off,
            osc2_semitones: 0.0,
            osc_mix: 0.0,
            pulse_width: 0.5,
            amp: Adsr {
                attack_ms: 2.0,
                decay_ms: 300.0,
                sustain: 0.6,
                release_ms: 200.0,
            },
            cutoff_hz: 3000.0,
            resonance: 0.2,
            filter_env_octaves: 2.0,
            filter_env: Adsr {
                attack_ms: 1.0,
                decay_ms: 250.0,
                sustain: 0.2,
                release_ms: 200.0,
            },
            key_track: 0.5,
            pitch_env_semitones: 0.0,
            pitch_env_ms: 50.0,
        }
    }
}

/// How a sample loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LoopMode {
    /// Play once.
    #[default]
    Off,
    /// Jump from loop end back to loop start.
    Forward,
    /// Bounce between loop start and end.
    PingPong,
}

impl LoopMode {
    /// Lower-case name used in text files.
    pub fn name(self) -> &'static str {
        match self {
            LoopMode::Off => "off",
            LoopMode::Forward => "forward",
            LoopMode::PingPong => "pingpong",
        }
    }

    /// Parses a name written by [`LoopMode::name`].
    pub fn from_name(s: &str) -> Option<LoopMode> {
        [LoopMode::Off, LoopMode::Forward, LoopMode::PingPong]
            .into_iter()
            .find(|m| m.name() == s)
    }
}

/// A sample player.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampler {
    /// The audio, shared with the engine.
    pub sample: Arc<SampleData>,
    /// Pitch value (see [`Note`]) at which the sample plays at its own rate.
    pub base_note: u8,
    /// Fine tune in cents, -100..=100.
    pub fine_tune_cents: f32,
    /// Loop behaviour.
    pub loop_mode: LoopMode,
    /// First frame of the loop.
    pub loop_start: u64,
    /// One past the last frame of the loop.
    pub loop_end: u64,
    /// Amplitude envelope (sustain holds while the note is on).
    pub amp: Adsr,
}

impl Sampler {
    /// A sampler playing `sample` one-shot at C-4.
    pub fn new(sample: Arc<SampleData>) -> Sampler {
        let frames = sample.frames;
        Sampler {
            sample,
            base_note: 48,
            fine_tune_cents: 0.0,
            loop_mode: LoopMode::Off,
            loop_start: 0,
            loop_end: frames,
            amp: Adsr {
                attack_ms: 0.0,
                decay_ms: 0.0,
                sustain: 1.0,
                release_ms: 60.0,
            },
        }
    }
}

/// Decoded audio of a sample: interleaved f32 frames plus what is needed to save it losslessly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleData {
    /// Name (usually the file stem).
    pub name: String,
    /// Sample rate in Hz.
    pub rate: u32,
    /// Channels, 1 or 2.
    pub channels: u16,
    /// Bit depth of the source (8, 16, 24 or 32).
    pub bits: u16,
    /// True when the source held IEEE floats.
    pub float: bool,
    /// Frame count.
    pub frames: u64,
    /// Path the sample was loaded from, relative to the song file, if any.
    pub source: Option<String>,
    /// `frames × channels` values in -1..=1, interleaved.
    #[serde(
        serialize_with = "samples_as_bytes",
        deserialize_with = "bounded_samples"
    )]
    pub data: Vec<f32>,
}

impl SampleData {
    /// Mono 32-bit float sample data.
    pub fn mono(name: impl Into<String>, rate: u32, data: Vec<f32>) -> SampleData {
        SampleData {
            name: name.into(),
            rate,
            channels: 1,
            bits: 32,
            float: true,
            frames: data.len() as u64,
            source: None,
            data,
        }
    }
}

/// Deserializes a `Vec` whose announced length is checked against `MAX` before anything is read.
fn bounded_vec<'de, D, T, const MAX: usize>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(BoundedVisitor::<T> {
        max: MAX as u64,
        what: "pattern cells",
        _t: std::marker::PhantomData,
    })
}

std::thread_local! {
    /// Whether sample data is (de)serialised as one block of bytes (binary format 4 on) or as a
    /// sequence of floats (formats 1 to 3). Only the binary song format serialises the model with
    /// serde; its loader sets this for the version it decodes (see [`SampleWire`]).
    static SAMPLES_AS_BYTES: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// While alive, sample data on this thread is read and written the way binary format `version`
/// has it: format 4 stores a sample's values as one byte string (little-endian `f32`s), which
/// decodes about as fast as a copy, where formats 1 to 3 stored a sequence of floats that is
/// decoded value by value. Dropping it restores the current format.
pub struct SampleWire(());

impl SampleWire {
    /// Sample data as binary format `version` stores it, until the guard is dropped.
    pub fn for_version(version: u16) -> SampleWire {
        SAMPLES_AS_BYTES.with(|b| b.set(version >= 4));
        SampleWire(())
    }
}

impl Drop for SampleWire {
    fn drop(&mut self) {
        SAMPLES_AS_BYTES.with(|b| b.set(true));
    }
}

fn samples_as_bytes<S: serde::Serializer>(data: &[f32], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    if SAMPLES_AS_BYTES.with(|b| b.get()) {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    } else {
        let mut seq = s.serialize_seq(Some(data.len()))?;
        for v in data {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

fn bounded_samples<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    if SAMPLES_AS_BYTES.with(|b| b.get()) {
        return d.deserialize_bytes(SampleBytes);
    }
    d.deserialize_seq(BoundedVisitor::<f32> {
        max: limits::MAX_SAMPLE_VALUES,
        what: "sample values",
        _t: std::marker::PhantomData,
    })
}

/// Sample values from a byte string of little-endian `f32`s, its length checked first.
struct SampleBytes;

impl<'de> serde::de::Visitor<'de> for SampleBytes {
    type Value = Vec<f32>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "the bytes of at most {} sample values",
            limits::MAX_SAMPLE_VALUES
        )
    }

    fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Vec<f32>, E> {
        if !b.len().is_multiple_of(4) {
            return Err(E::custom(format!(
                "sample data of {} bytes is not a whole number of 4-byte values",
                b.len()
            )));
        }
        if (b.len() / 4) as u64 > limits::MAX_SAMPLE_VALUES {
            return Err(E::custom(format!(
                "{} sample values announced; the limit is {}",
                b.len() / 4,
                limits::MAX_SAMPLE_VALUES
            )));
        }
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn visit_borrowed_bytes<E: serde::de::Error>(self, b: &'de [u8]) -> Result<Vec<f32>, E> {
        self.visit_bytes(b)
    }

    fn visit_byte_buf<E: serde::de::Error>(self, b: Vec<u8>) -> Result<Vec<f32>, E> {
        self.visit_bytes(&b)
    }
}

struct BoundedVisitor<T> {
    max: u64,
    what: &'static str,
    _t: std::marker::PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for BoundedVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a sequence of at most {} {}", self.max, self.what)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let hint = seq.size_hint().unwrap_or(0) as u64;
        if hint > self.max {
            return Err(serde::de::Error::custom(format!(
                "{} {} announced; the limit is {}",
                hint, self.what, self.max
            )));
        }
        // Preallocate at most 1 MiB: the announced length is not trusted until the data is there.
        let cap = (hint as usize).min((1 << 20) / std::mem::size_of::<T>().max(1));
        let mut out = Vec::with_capacity(cap);
        while let Some(v) = seq.next_element()? {
            if out.len() as u64 >= self.max {
                return Err(serde::de::Error::custom(format!(
                    "more than {} {}",
                    self.max, self.what
                )));
            }
            out.push(v);
        }
        Ok(out)
    }
}

impl Song {
    /// A new song as the TUI starts it: 8 tracks, one 64-row pattern, 125 BPM, LPB 4, TPL 6, and a
    /// ready synth in slot 01.
    pub fn new_default() -> Song {
        let tracks: Vec<Track> = (1..=8).map(|i| Track::new(format!("Track {i}"))).collect();
        let pattern = Pattern::new(64, &tracks);
        Song {
            title: "Untitled".into(),
            author: String::new(),
            bpm: 125,
            lpb: 4,
            tpl: 6,
            tracks,
            patterns: vec![pattern],
            order: vec![0],
            restart: 0,
            instruments: vec![Some(Instrument {
                name: "Saw lead".into(),
                volume: 0.8,
                pan: 0.0,
                kind: InstrumentKind::Synth(Synth::default()),
            })],
            seed: 0x7474_7261_636b,
            mixer: mix::Mixer::default(),
            groups: Vec::new(),
            arrangement: arrange::Arrangement::default(),
            takes: Vec::new(),
        }
    }

    /// The instrument in 1-based slot `n`, if any.
    pub fn instrument(&self, n: u8) -> Option<&Instrument> {
        self.instruments.get((n as usize).checked_sub(1)?)?.as_ref()
    }

    /// Length of one row in seconds.
    pub fn row_seconds(&self) -> f64 {
        60.0 / (self.bpm as f64 * self.lpb as f64)
    }

    /// Adds a track at the end, resizing every pattern.
    pub fn add_track(&mut self, track: Track) {
        for p in &mut self.patterns {
            p.tracks.push(PatternTrack {
                notes: vec![NoteCell::EMPTY; p.rows as usize * track.note_columns as usize],
                effects: vec![EffectCell::EMPTY; p.rows as usize * track.effect_columns as usize],
            });
        }
        self.tracks.push(track);
    }

    /// Sets the column layout of track `t`, keeping the cells that still fit, in every pattern
    /// (and in its hidden cells, when it is frozen).
    pub fn set_track_columns(&mut self, t: usize, note_columns: u8, effect_columns: u8) {
        let old = (
            self.tracks[t].note_columns as usize,
            self.tracks[t].effect_columns as usize,
        );
        let new = (note_columns as usize, effect_columns as usize);
        for p in &mut self.patterns {
            let rows = p.rows as usize;
            reshape(&mut p.tracks[t], rows, old, new);
        }
        if let Some(f) = self.tracks[t].frozen.as_deref_mut() {
            for pt in &mut f.cells {
                let rows = pt.notes.len() / old.0.max(1);
                reshape(pt, rows, old, new);
            }
        }
        self.tracks[t].note_columns = note_columns;
        self.tracks[t].effect_columns = effect_columns;
    }
}

/// Re-lays `pt` (`rows` rows) from `old` to `new` (note columns, effect columns), keeping the
/// cells that still fit.
fn reshape(pt: &mut PatternTrack, rows: usize, old: (usize, usize), new: (usize, usize)) {
    let ((old_n, old_e), (new_n, new_e)) = (old, new);
    let mut notes = vec![NoteCell::EMPTY; rows * new_n];
    let mut effects = vec![EffectCell::EMPTY; rows * new_e];
    for r in 0..rows {
        for c in 0..old_n.min(new_n) {
            notes[r * new_n + c] = pt
                .notes
                .get(r * old_n + c)
                .copied()
                .unwrap_or(NoteCell::EMPTY);
        }
        for c in 0..old_e.min(new_e) {
            effects[r * new_e + c] = pt
                .effects
                .get(r * old_e + c)
                .copied()
                .unwrap_or(EffectCell::EMPTY);
        }
    }
    pt.notes = notes;
    pt.effects = effects;
}
