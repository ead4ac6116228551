//! The mix stage of the engine: what happens to the tracks' signals after the voices have rendered
//! them. Per track: insert chain → fader (volume, constant-power pan, mute/solo, all ramped) →
//! post-fader sends. Then the reverb and delay buses (wet only) return into the master bus, which
//! runs EQ → compressor → master volume → true-peak limiter. Meters (peak and RMS of every strip,
//! gain reduction) are gathered here and reported about 30 times a second.
//!
//! Everything is allocated in [`MixStage::new`]; [`MixStage::mix`] does bounded work with no
//! allocation. The buses skip their processing while idle (no input and their tail has died away),
//! which keeps songs without sends as fast as before; the decision depends only on the signal, so
//! output stays independent of the host's block size.

use super::SPAN as MIX_FRAMES;
use super::song::{EngineSong, EngineTrack};
use crate::dsp::fx::compressor::CompressorProcessor;
use crate::dsp::fx::delay::DelayProcessor;
use crate::dsp::fx::eq::EqProcessor;
use crate::dsp::fx::limiter::LimiterProcessor;
use crate::dsp::fx::reverb::ReverbProcessor;
use crate::dsp::smooth::Smoothed;
use crate::model::limits::MAX_TRACKS;
use crate::model::mix::{self, Insert, MAX_GROUPS, MAX_INSERTS, SEND_BUSES, level_gain};

/// Meter strips: every track, every group, then the reverb return, the delay return and the master.
pub const METER_STRIPS: usize = MAX_TRACKS + MAX_GROUPS + 3;
/// Meter index of group 0 (group g is `STRIP_GROUP + g`).
pub const STRIP_GROUP: usize = MAX_TRACKS;
/// Meter index of the reverb return.
pub const STRIP_REVERB: usize = MAX_TRACKS + MAX_GROUPS;
/// Meter index of the delay return.
pub const STRIP_DELAY: usize = STRIP_REVERB + 1;
/// Meter index of the master bus (after the limiter).
pub const STRIP_MASTER: usize = STRIP_REVERB + 2;
/// Meter reports per second.
pub const METER_RATE_HZ: u32 = 30;

/// Level of one strip over one meter period (linear amplitudes).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Meter {
    /// Sample peak, left and right.
    pub peak: [f32; 2],
    /// RMS, left and right.
    pub rms: [f32; 2],
    /// Gain reduction in dB (≥ 0) of the strip's compressors (master: compressor + limiter).
    pub reduction_db: f32,
}

/// Meters of every strip, as sent to the UI.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Meters {
    /// Index = track, then [`STRIP_REVERB`], [`STRIP_DELAY`], [`STRIP_MASTER`].
    pub strips: [Meter; METER_STRIPS],
    /// Master limiter gain reduction (dB), shown apart from the compressor's.
    pub limiter_db: f32,
}

impl Default for Meters {
    fn default() -> Meters {
        Meters {
            strips: [Meter::default(); METER_STRIPS],
            limiter_db: 0.0,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct MeterAcc {
    peak: [f32; 2],
    sum: [f64; 2],
}

impl MeterAcc {
    #[inline]
    fn add(&mut self, l: &[f32], r: &[f32]) {
        let (mut pl, mut pr, mut sl, mut sr) = (self.peak[0], self.peak[1], 0.0f32, 0.0f32);
        for (&a, &b) in l.iter().zip(r) {
            pl = pl.max(a.abs());
            pr = pr.max(b.abs());
            sl += a * a;
            sr += b * b;
        }
        self.peak = [pl, pr];
        self.sum[0] += sl as f64;
        self.sum[1] += sr as f64;
    }

    fn take(&mut self, frames: u64, reduction_db: f32) -> Meter {
        let n = frames.max(1) as f64;
        let m = Meter {
            peak: self.peak,
            rms: [
                (self.sum[0] / n).sqrt() as f32,
                (self.sum[1] / n).sqrt() as f32,
            ],
            reduction_db,
        };
        *self = MeterAcc::default();
        m
    }
}

/// The processors of one insert slot; `applied` is what they were last set to.
struct InsertSlot {
    eq: EqProcessor,
    comp: CompressorProcessor,
    applied: Option<Insert>,
}

struct Strip {
    inserts: [InsertSlot; MAX_INSERTS],
    gain: (Smoothed, Smoothed),
    send: [Smoothed; SEND_BUSES],
    meter: MeterAcc,
}

/// A send bus's idle tracking: frames since its input or output was last audible.
#[derive(Clone, Copy, Default)]
struct Idle {
    quiet_frames: u64,
    idle: bool,
}

/// Below this a bus output counts as silent (−120 dBFS).
const SILENT: f32 = 1e-6;

/// The mix stage. One per engine.
pub struct MixStage {
    rate: f32,
    strips: Box<[Strip]>,
    groups: Box<[Strip]>,
    group_buf: Box<[[f32; 2 * MIX_FRAMES]; MAX_GROUPS]>,
    reverb: Box<ReverbProcessor>,
    delay: Box<DelayProcessor>,
    master_eq: EqProcessor,
    master_comp: CompressorProcessor,
    limiter: LimiterProcessor,
    applied: Option<mix::Mixer>,
    tempo: (u16, u8),
    returns: [Smoothed; SEND_BUSES],
    master_gain: Smoothed,
    idle: [Idle; SEND_BUSES],
    send_in: Box<[[f32; 2 * MIX_FRAMES]; SEND_BUSES]>,
    bus_out: [f32; 2 * MIX_FRAMES],
    bus_meter: [MeterAcc; SEND_BUSES],
    master_meter: MeterAcc,
    meter_frames: u64,
    /// Largest master compressor and limiter reduction seen in the meter period.
    master_reduction: (f32, f32),
    track_reduction: [f32; MAX_TRACKS + MAX_GROUPS],
    /// Whether meters are gathered (only when a UI listens: renders skip the work).
    metering: bool,
    /// Every strip's output, appended chunk by chunk, for stem renders, when enabled.
    stems: Option<Box<StemStore>>,
}

/// The stems of a render: the signals that sum to the mix before the master chain, kept as the
/// mixer makes them (each strip's output is copied once, straight into these buffers). Index =
/// track, then [`STEM_GROUP`] + group, [`STEM_REVERB`], [`STEM_DELAY`], [`STEM_MIX`] (the sum of
/// all the others, pre-master).
pub struct StemStore {
    /// Per stem index: left and right, every frame mixed since the caller last drained them.
    /// Stems the song lacks stay empty. The engine mixes whole chunks, so the buffers may run a
    /// few frames ahead of what it has output (see `Engine::stems_ahead`).
    pub bufs: Vec<(Vec<f32>, Vec<f32>)>,
    /// Frames that did not fit (the caller drained too late); zero in a correct render.
    pub dropped: u64,
    /// Per stem, frames of silence owed after `bufs` (written out in one go when the stem next
    /// sounds or the store is read: a silent strip costs no stores per chunk).
    zeros: Vec<usize>,
}

impl StemStore {
    /// Appends `l`/`r` to stem `s` within its reserved capacity (never allocates).
    fn append(&mut self, s: usize, l: &[f32], r: &[f32]) {
        if self.zeros[s] > 0 {
            self.settle_one(s);
        }
        let (bl, br) = &mut self.bufs[s];
        let m = l
            .len()
            .min(bl.capacity() - bl.len())
            .min(br.capacity() - br.len());
        bl.extend_from_slice(&l[..m]);
        br.extend_from_slice(&r[..m]);
        self.dropped += (l.len() - m) as u64;
    }

    /// Appends `len` frames of silence to stem `s` (owed until [`StemStore::settle_one`]).
    fn silence(&mut self, s: usize, len: usize) {
        self.zeros[s] += len;
    }

    /// Writes out the silence owed to stem `s`, within its reserved capacity.
    fn settle_one(&mut self, s: usize) {
        let len = std::mem::take(&mut self.zeros[s]);
        let (bl, br) = &mut self.bufs[s];
        let m = len
            .min(bl.capacity() - bl.len())
            .min(br.capacity() - br.len());
        bl.resize(bl.len() + m, 0.0);
        br.resize(br.len() + m, 0.0);
        self.dropped += (len - m) as u64;
    }

    /// Writes out the silence owed to every stem, so that `bufs` hold every frame mixed.
    fn settle(&mut self) {
        for s in 0..self.zeros.len() {
            if self.zeros[s] > 0 {
                self.settle_one(s);
            }
        }
    }
}

/// Stem index of group 0's bus (group g is `STEM_GROUP + g`).
pub const STEM_GROUP: usize = MAX_TRACKS;
/// Stem index of the reverb return.
pub const STEM_REVERB: usize = MAX_TRACKS + MAX_GROUPS;
/// Stem index of the delay return.
pub const STEM_DELAY: usize = STEM_REVERB + 1;
/// Stem index of the pre-master mix.
pub const STEM_MIX: usize = STEM_REVERB + 2;
/// Stem indices in a [`StemStore`].
pub const STEMS: usize = STEM_REVERB + 3;

fn ramp(rate: f32) -> u32 {
    (rate * 0.01) as u32
}

impl MixStage {
    /// A mix stage for output at `rate` Hz, configured for `song`.
    pub fn new(song: &EngineSong) -> MixStage {
        let rate = song.rate as f32;
        let r = ramp(rate);
        let strip = |_| Strip {
            inserts: std::array::from_fn(|_| InsertSlot {
                eq: EqProcessor::new(rate),
                comp: CompressorProcessor::new(rate),
                applied: None,
            }),
            gain: (Smoothed::new(1.0, r), Smoothed::new(1.0, r)),
            send: [Smoothed::new(0.0, r), Smoothed::new(0.0, r)],
            meter: MeterAcc::default(),
        };
        let mut m = MixStage {
            rate,
            strips: (0..MAX_TRACKS).map(strip).collect(),
            groups: (0..MAX_GROUPS).map(strip).collect(),
            group_buf: Box::new([[0.0; 2 * MIX_FRAMES]; MAX_GROUPS]),
            reverb: Box::new(ReverbProcessor::new(rate)),
            delay: Box::new(DelayProcessor::new(rate)),
            master_eq: EqProcessor::new(rate),
            master_comp: CompressorProcessor::new(rate),
            limiter: LimiterProcessor::new(rate),
            applied: None,
            tempo: (0, 0),
            returns: [Smoothed::new(0.0, r), Smoothed::new(0.0, r)],
            master_gain: Smoothed::new(1.0, r),
            idle: [Idle {
                quiet_frames: 0,
                idle: true,
            }; SEND_BUSES],
            send_in: Box::new([[0.0; 2 * MIX_FRAMES]; SEND_BUSES]),
            bus_out: [0.0; 2 * MIX_FRAMES],
            bus_meter: [MeterAcc::default(); SEND_BUSES],
            master_meter: MeterAcc::default(),
            meter_frames: 0,
            master_reduction: (0.0, 0.0),
            track_reduction: [0.0; MAX_TRACKS + MAX_GROUPS],
            metering: false,
            stems: None,
        };
        m.configure(song, song.bpm, true);
        m
    }

    /// Frames the mix delays the signal by (the limiter's look-ahead); constant for a rate.
    pub fn latency_frames(&self) -> usize {
        self.limiter.latency_frames()
    }

    /// Clears every processor's state and snaps every ramp to its target (play from a stop).
    pub fn reset(&mut self, song: &EngineSong) {
        for s in self.strips.iter_mut().chain(self.groups.iter_mut()) {
            for slot in s.inserts.iter_mut() {
                slot.eq.reset();
                slot.comp.reset();
            }
            s.meter = MeterAcc::default();
        }
        self.reverb.reset();
        self.delay.reset();
        self.master_eq.reset();
        self.master_comp.reset();
        self.limiter.reset();
        self.idle = [Idle {
            quiet_frames: 0,
            idle: true,
        }; SEND_BUSES];
        self.configure(song, song.bpm, true);
    }

    /// Brings every processor and ramp target in line with `song`'s settings; only what changed is
    /// recomputed. `snap` jumps the ramps instead of gliding (at play start).
    pub fn configure(&mut self, song: &EngineSong, bpm: u16, snap: bool) {
        let group_of = |t: &EngineTrack| t.group.and_then(|g| song.groups.get(g as usize));
        let any_solo = song.tracks.iter().any(|t| t.solo) || song.groups.iter().any(|g| g.solo);
        for (t, s) in self.strips.iter_mut().enumerate() {
            let tr = song.tracks.get(t);
            let gains = tr.map_or((0.0, 0.0), |tr| {
                let group = group_of(tr);
                // A muted group silences its members (sends included); under solo, a track
                // sounds when it or its group is soloed.
                let group_muted = group.is_some_and(|g| g.gain == 0.0);
                let solo_out = any_solo && !tr.solo && !group.is_some_and(|g| g.solo);
                if group_muted || solo_out {
                    (0.0, 0.0)
                } else {
                    tr.gains()
                }
            });
            configure_strip(s, tr, gains, snap);
        }
        for (g, s) in self.groups.iter_mut().enumerate() {
            let gr = song.groups.get(g);
            let gains = gr.map_or((0.0, 0.0), |gr| {
                let member_solo = song
                    .tracks
                    .iter()
                    .any(|t| t.solo && t.group == Some(g as u8));
                fader_gains(gr, any_solo && !member_solo)
            });
            configure_strip(s, gr, gains, snap);
        }
        let m = &song.mixer;
        let old = self.applied;
        if old.map(|o| o.reverb.reverb) != Some(m.reverb.reverb) {
            self.reverb.set(&m.reverb.reverb);
        }
        if old.map(|o| o.delay.delay) != Some(m.delay.delay) || self.tempo != (bpm, song.lpb) {
            self.delay.set(&m.delay.delay, bpm as f32, song.lpb);
            self.tempo = (bpm, song.lpb);
        }
        if old.map(|o| o.master.eq) != Some(m.master.eq) {
            self.master_eq.set(&m.master.eq);
        }
        if old.map(|o| o.master.compressor) != Some(m.master.compressor) {
            self.master_comp.set(&m.master.compressor);
        }
        if old.map(|o| o.master.limiter) != Some(m.master.limiter) {
            self.limiter.set(&m.master.limiter);
        }
        let returns = [
            if m.reverb.mute {
                0.0
            } else {
                level_gain(m.reverb.return_db)
            },
            if m.delay.mute {
                0.0
            } else {
                level_gain(m.delay.return_db)
            },
        ];
        for (sm, g) in self.returns.iter_mut().zip(returns) {
            set(sm, g, snap);
        }
        set(
            &mut self.master_gain,
            crate::dsp::db_to_gain(m.master.volume_db.clamp(-96.0, 24.0)),
            snap,
        );
        self.applied = Some(*m);
    }

    /// Follows a tempo change (the delay bus is synced to it).
    pub fn set_tempo(&mut self, song: &EngineSong, bpm: u16) {
        if self.tempo != (bpm, song.lpb) {
            self.delay
                .set(&song.mixer.delay.delay, bpm as f32, song.lpb);
            self.tempo = (bpm, song.lpb);
        }
    }

    /// Mixes the tracks' buffers (`used[t]` says which hold signal this chunk) into `left` and
    /// `right` (zeroed by the caller) through the whole chain.
    pub fn mix(
        &mut self,
        song: &EngineSong,
        bufs: &mut [[f32; 2 * super::SPAN]],
        off: usize,
        used: &[bool; MAX_TRACKS],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let len = left.len().min(right.len());
        let tracks = song.tracks.len().min(MAX_TRACKS).min(bufs.len());
        let mut send_used = [false; SEND_BUSES];
        for b in 0..SEND_BUSES {
            let (l, r) = self.send_in[b].split_at_mut(MIX_FRAMES);
            l[..len].fill(0.0);
            r[..len].fill(0.0);
        }
        let metering = self.metering;
        let keep_all = metering || self.stems.is_some();
        let mut group_used = [false; MAX_GROUPS];
        let groups = song.groups.len().min(MAX_GROUPS);
        for t in 0..tracks {
            let s = &mut self.strips[t];
            let stem = self.stems.as_deref_mut().map(|st| (st, t));
            if !used[t] {
                idle_strip(s, len, stem);
                continue;
            }
            let (bl, br) = bufs[t].split_at_mut(super::SPAN);
            let (bl, br) = (&mut bl[off..off + len], &mut br[off..off + len]);
            // Members of a group feed its bus; the rest feed the master.
            let (ol, or): (&mut [f32], &mut [f32]) = match song.tracks[t].group {
                Some(g) if (g as usize) < groups => {
                    let g = g as usize;
                    let (gl, gr) = self.group_buf[g].split_at_mut(MIX_FRAMES);
                    if !group_used[g] {
                        group_used[g] = true;
                        gl[..len].fill(0.0);
                        gr[..len].fill(0.0);
                    }
                    (&mut gl[..len], &mut gr[..len])
                }
                _ => (&mut left[..len], &mut right[..len]),
            };
            let reduction = run_strip(
                s,
                bl,
                br,
                ol,
                or,
                &mut self.send_in,
                &mut send_used,
                keep_all,
                metering,
                stem,
            );
            self.track_reduction[t] = self.track_reduction[t].max(reduction);
        }
        for (g, &in_use) in group_used.iter().enumerate().take(groups) {
            let s = &mut self.groups[g];
            let stem = self.stems.as_deref_mut().map(|st| (st, STEM_GROUP + g));
            if g >= groups || !in_use {
                idle_strip(s, len, stem);
                continue;
            }
            let (bl, br) = self.group_buf[g].split_at_mut(MIX_FRAMES);
            let reduction = run_strip(
                s,
                &mut bl[..len],
                &mut br[..len],
                &mut left[..len],
                &mut right[..len],
                &mut self.send_in,
                &mut send_used,
                keep_all,
                metering,
                stem,
            );
            let k = MAX_TRACKS + g;
            self.track_reduction[k] = self.track_reduction[k].max(reduction);
        }
        // Send buses: wet only, added to the master at their return level.
        #[expect(
            clippy::needless_range_loop,
            reason = "b selects the bus in five parallel arrays and the processor"
        )]
        for b in 0..SEND_BUSES {
            let idle_after = self.idle_limit(song, b);
            let st = &mut self.idle[b];
            if send_used[b] {
                st.idle = false;
                st.quiet_frames = 0;
            } else if st.idle {
                if self.returns[b].is_ramping() {
                    for _ in 0..len {
                        self.returns[b].next_value();
                    }
                }
                if let Some(stems) = self.stems.as_deref_mut() {
                    stems.silence(STEM_REVERB + b, len);
                }
                continue;
            }
            let (il, ir) = self.send_in[b].split_at(MIX_FRAMES);
            let (ol, or) = self.bus_out.split_at_mut(MIX_FRAMES);
            let (ol, or) = (&mut ol[..len], &mut or[..len]);
            if b == 0 {
                self.reverb.process(&il[..len], &ir[..len], ol, or);
            } else {
                self.delay.process(&il[..len], &ir[..len], ol, or);
            }
            let mut peak = 0.0f32;
            let ret = &mut self.returns[b];
            if ret.is_ramping() {
                for i in 0..len {
                    let g = ret.next_value();
                    ol[i] *= g;
                    or[i] *= g;
                    peak = peak.max(ol[i].abs()).max(or[i].abs());
                    left[i] += ol[i];
                    right[i] += or[i];
                }
            } else {
                // A steady return: the same values, in loops that vectorise (eight running
                // maxima by comparison, which ignores NaN as `f32::max` does).
                let g = ret.value();
                let mut lanes = [0.0f32; 8];
                for (x, o) in [(&mut *ol, &mut left[..len]), (&mut *or, &mut right[..len])] {
                    for (k, (x, o)) in x.iter_mut().zip(o.iter_mut()).enumerate() {
                        *x *= g;
                        *o += *x;
                        lanes[k % 8] = crate::dsp::max_abs(lanes[k % 8], *x);
                    }
                }
                peak = lanes.iter().fold(0.0f32, |m, &v| m.max(v));
            }
            if self.metering {
                self.bus_meter[b].add(ol, or);
            }
            if let Some(stems) = self.stems.as_deref_mut() {
                stems.append(STEM_REVERB + b, ol, or);
            }
            let input_silent =
                !send_used[b] || il[..len].iter().chain(&ir[..len]).all(|&x| x == 0.0);
            let st = &mut self.idle[b];
            if input_silent && peak < SILENT {
                st.quiet_frames += len as u64;
                if st.quiet_frames > idle_after {
                    st.idle = true;
                    if b == 0 {
                        self.reverb.reset();
                    } else {
                        self.delay.reset();
                    }
                }
            } else {
                st.quiet_frames = 0;
            }
        }
        // Master chain.
        let (l, r) = (&mut left[..len], &mut right[..len]);
        if let Some(stems) = self.stems.as_deref_mut() {
            stems.append(STEM_MIX, l, r);
        }
        let m = &song.mixer.master;
        if m.eq.on {
            self.master_eq.process(l, r);
        }
        if m.compressor.on {
            self.master_comp.process(l, r);
            self.master_reduction.0 = self
                .master_reduction
                .0
                .max(self.master_comp.gain_reduction_db());
        }
        let g = &mut self.master_gain;
        if g.is_ramping() {
            for i in 0..len {
                let k = g.next_value();
                l[i] *= k;
                r[i] *= k;
            }
        } else if g.value() != 1.0 {
            let k = g.value();
            for (x, y) in l.iter_mut().zip(r.iter_mut()) {
                *x *= k;
                *y *= k;
            }
        }
        self.limiter.process(l, r);
        self.master_reduction.1 = self
            .master_reduction
            .1
            .max(self.limiter.gain_reduction_db());
        if self.metering {
            self.master_meter.add(l, r);
            self.meter_frames += len as u64;
        }
    }

    /// Frames a bus must stay quiet before it goes idle: longer than any silence inside its tail
    /// (the reverb's pre-delay; the delay's echo spacing).
    fn idle_limit(&self, song: &EngineSong, bus: usize) -> u64 {
        let m = &song.mixer;
        let secs = if bus == 0 {
            0.3 + m.reverb.reverb.predelay_ms as f64 / 1000.0
        } else {
            let (bpm, lpb) = (self.tempo.0.max(1) as f64, self.tempo.1.max(1) as f64);
            let unit = match m.delay.delay.unit {
                mix::DelayUnit::Rows => 60.0 / (bpm * lpb),
                mix::DelayUnit::Beats => 60.0 / bpm,
            };
            (m.delay.delay.time as f64 * unit).min(crate::dsp::fx::delay::MAX_DELAY_SECONDS as f64)
                + 0.1
        };
        (secs * self.rate as f64) as u64
    }

    /// Starts keeping every strip's output (for stem renders), `capacity` frames per stem
    /// between drains; allocates, so call it before playing.
    pub fn enable_stems(&mut self, capacity: usize) {
        self.stems = Some(Box::new(StemStore {
            bufs: (0..STEMS)
                .map(|_| (Vec::with_capacity(capacity), Vec::with_capacity(capacity)))
                .collect(),
            dropped: 0,
            zeros: vec![0; STEMS],
        }));
    }

    /// The stems kept so far, when enabled: every frame mixed is in their buffers.
    pub fn stems_mut(&mut self) -> Option<&mut StemStore> {
        let st = self.stems.as_deref_mut()?;
        st.settle();
        Some(st)
    }

    /// Whether the master limiter, while off, skips its look-ahead delay too (see
    /// `LimiterProcessor::skip_delay_while_off`): for mix settings that do not change while
    /// playing.
    pub fn skip_limiter_delay_while_off(&mut self, skip: bool) {
        self.limiter.skip_delay_while_off(skip);
    }

    /// Turns metering on or off.
    pub fn set_metering(&mut self, on: bool) {
        self.metering = on;
    }

    /// Frames gathered since the last [`MixStage::take_meters`].
    pub fn meter_frames(&self) -> u64 {
        self.meter_frames
    }

    /// The meters of the period that just ended; starts a new period.
    pub fn take_meters(&mut self, out: &mut Meters) {
        let n = self.meter_frames;
        for (t, s) in self.strips.iter_mut().enumerate() {
            out.strips[t] = s.meter.take(n, self.track_reduction[t]);
            self.track_reduction[t] = 0.0;
        }
        for (g, s) in self.groups.iter_mut().enumerate() {
            let k = MAX_TRACKS + g;
            out.strips[STRIP_GROUP + g] = s.meter.take(n, self.track_reduction[k]);
            self.track_reduction[k] = 0.0;
        }
        out.strips[STRIP_REVERB] = self.bus_meter[0].take(n, 0.0);
        out.strips[STRIP_DELAY] = self.bus_meter[1].take(n, 0.0);
        out.strips[STRIP_MASTER] = self.master_meter.take(n, self.master_reduction.0);
        out.limiter_db = self.master_reduction.1;
        self.master_reduction = (0.0, 0.0);
        self.meter_frames = 0;
    }
}

/// A strip with no signal this chunk: its ramps move on with time, its stem is silent.
fn idle_strip(s: &mut Strip, len: usize, stem: Option<(&mut StemStore, usize)>) {
    if let Some((st, k)) = stem {
        st.silence(k, len);
    }
    if s.gain.0.is_ramping() || s.gain.1.is_ramping() || s.send.iter().any(|x| x.is_ramping()) {
        for _ in 0..len {
            s.gain.0.next_value();
            s.gain.1.next_value();
            s.send[0].next_value();
            s.send[1].next_value();
        }
    }
}

/// Runs a strip over one chunk: inserts, fader (adding into `out`), meter, stem copy and
/// post-fader sends. Returns the largest compressor gain reduction (dB).
#[expect(
    clippy::too_many_arguments,
    reason = "the disjoint buffers of the mix stage, borrowed apart so tracks and groups share this"
)]
fn run_strip(
    s: &mut Strip,
    bl: &mut [f32],
    br: &mut [f32],
    out_l: &mut [f32],
    out_r: &mut [f32],
    send_in: &mut [[f32; 2 * MIX_FRAMES]; SEND_BUSES],
    send_used: &mut [bool; SEND_BUSES],
    keep_all: bool,
    metering: bool,
    stem: Option<(&mut StemStore, usize)>,
) -> f32 {
    crate::dsp::simd::dispatch!(
        run_strip_avx2(
            s, bl, br, out_l, out_r, send_in, send_used, keep_all, metering, stem,
        ),
        run_strip_any(
            s, bl, br, out_l, out_r, send_in, send_used, keep_all, metering, stem,
        )
    )
}

/// [`run_strip`] compiled for AVX2 (see [`crate::dsp::simd`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[expect(
    clippy::too_many_arguments,
    reason = "the disjoint buffers of the mix stage, borrowed apart so tracks and groups share this"
)]
fn run_strip_avx2(
    s: &mut Strip,
    bl: &mut [f32],
    br: &mut [f32],
    out_l: &mut [f32],
    out_r: &mut [f32],
    send_in: &mut [[f32; 2 * MIX_FRAMES]; SEND_BUSES],
    send_used: &mut [bool; SEND_BUSES],
    keep_all: bool,
    metering: bool,
    stem: Option<(&mut StemStore, usize)>,
) -> f32 {
    run_strip_any(
        s, bl, br, out_l, out_r, send_in, send_used, keep_all, metering, stem,
    )
}

#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "the disjoint buffers of the mix stage, borrowed apart so tracks and groups share this"
)]
fn run_strip_any(
    s: &mut Strip,
    bl: &mut [f32],
    br: &mut [f32],
    out_l: &mut [f32],
    out_r: &mut [f32],
    send_in: &mut [[f32; 2 * MIX_FRAMES]; SEND_BUSES],
    send_used: &mut [bool; SEND_BUSES],
    keep_all: bool,
    metering: bool,
    stem: Option<(&mut StemStore, usize)>,
) -> f32 {
    let len = bl.len();
    let mut reduction = 0.0f32;
    for slot in s.inserts.iter_mut() {
        match &slot.applied {
            Some(Insert::Eq(e)) if e.on => slot.eq.process(bl, br),
            Some(Insert::Compressor(c)) if c.on => {
                slot.comp.process(bl, br);
                reduction = reduction.max(slot.comp.gain_reduction_db());
            }
            _ => {}
        }
    }
    // Fader. The scaled signal is kept in the buffer only when a send, meter or stem reads it.
    let keep = keep_all || s.send.iter().any(|sm| sm.is_ramping() || sm.value() != 0.0);
    let (gl, gr) = &mut s.gain;
    if gl.is_ramping() || gr.is_ramping() {
        for i in 0..len {
            bl[i] *= gl.next_value();
            br[i] *= gr.next_value();
            out_l[i] += bl[i];
            out_r[i] += br[i];
        }
    } else {
        let (a, b) = (gl.value(), gr.value());
        // Zipped slices (no index checks), so both loops vectorise.
        if keep {
            for (x, o) in bl.iter_mut().zip(out_l.iter_mut()) {
                *x *= a;
                *o += *x;
            }
            for (x, o) in br.iter_mut().zip(out_r.iter_mut()) {
                *x *= b;
                *o += *x;
            }
        } else {
            for (x, o) in bl.iter().zip(out_l.iter_mut()) {
                *o += x * a;
            }
            for (x, o) in br.iter().zip(out_r.iter_mut()) {
                *o += x * b;
            }
        }
    }
    if metering {
        s.meter.add(bl, br);
    }
    if let Some((st, k)) = stem {
        st.append(k, bl, br);
    }
    // Post-fader sends.
    for (b, sm) in s.send.iter_mut().enumerate() {
        if !sm.is_ramping() && sm.value() == 0.0 {
            continue;
        }
        send_used[b] = true;
        let (sl, sr) = send_in[b].split_at_mut(MIX_FRAMES);
        if sm.is_ramping() {
            for i in 0..len {
                let g = sm.next_value();
                sl[i] += bl[i] * g;
                sr[i] += br[i] * g;
            }
        } else {
            // A steady send (`next_value` would return this for every frame): vectorised.
            let g = sm.value();
            for (o, &x) in sl[..len].iter_mut().zip(bl.iter()) {
                *o += x * g;
            }
            for (o, &x) in sr[..len].iter_mut().zip(br.iter()) {
                *o += x * g;
            }
        }
    }
    reduction
}

/// Sets a strip's fader and send targets and brings its insert processors in line with `tr`.
fn configure_strip(s: &mut Strip, tr: Option<&EngineTrack>, (l, r): (f32, f32), snap: bool) {
    let sends = tr.map_or([0.0; SEND_BUSES], |tr| {
        let on = if l > 0.0 || r > 0.0 { 1.0 } else { 0.0 };
        [tr.send_gain[0] * on, tr.send_gain[1] * on]
    });
    set(&mut s.gain.0, l, snap);
    set(&mut s.gain.1, r, snap);
    for (sm, g) in s.send.iter_mut().zip(sends) {
        set(sm, g, snap);
    }
    let none = [None; MAX_INSERTS];
    let wanted = tr.map_or(&none, |tr| &tr.inserts);
    for (slot, want) in s.inserts.iter_mut().zip(wanted) {
        if slot.applied == *want {
            continue;
        }
        let same_kind = matches!(
            (&slot.applied, want),
            (Some(Insert::Eq(_)), Some(Insert::Eq(_)))
                | (Some(Insert::Compressor(_)), Some(Insert::Compressor(_)))
        );
        match want {
            Some(Insert::Eq(e)) => {
                if !same_kind {
                    slot.eq.reset();
                }
                slot.eq.set(e);
            }
            Some(Insert::Compressor(c)) => {
                if !same_kind {
                    slot.comp.reset();
                }
                slot.comp.set(c);
            }
            None => {}
        }
        slot.applied = *want;
    }
}

fn set(s: &mut Smoothed, v: f32, snap: bool) {
    if snap {
        s.snap(v);
    } else {
        s.set(v);
    }
}

/// The left and right fader gains of a track: volume, constant-power pan, mute and solo.
pub fn fader_gains(t: &EngineTrack, any_solo: bool) -> (f32, f32) {
    if any_solo && !t.solo {
        (0.0, 0.0)
    } else {
        t.gains()
    }
}
