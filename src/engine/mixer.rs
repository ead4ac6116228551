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

use super::MAX_CHUNK;
use super::song::{EngineSong, EngineTrack};
use crate::dsp::fx::compressor::CompressorProcessor;
use crate::dsp::fx::delay::DelayProcessor;
use crate::dsp::fx::eq::EqProcessor;
use crate::dsp::fx::limiter::LimiterProcessor;
use crate::dsp::fx::reverb::ReverbProcessor;
use crate::dsp::smooth::Smoothed;
use crate::model::limits::MAX_TRACKS;
use crate::model::mix::{self, Insert, MAX_INSERTS, SEND_BUSES, level_gain};

/// Meter strips: every track, then the reverb return, the delay return and the master.
pub const METER_STRIPS: usize = MAX_TRACKS + 3;
/// Meter index of the reverb return.
pub const STRIP_REVERB: usize = MAX_TRACKS;
/// Meter index of the delay return.
pub const STRIP_DELAY: usize = MAX_TRACKS + 1;
/// Meter index of the master bus (after the limiter).
pub const STRIP_MASTER: usize = MAX_TRACKS + 2;
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
    send_in: Box<[[f32; 2 * MAX_CHUNK]; SEND_BUSES]>,
    bus_out: [f32; 2 * MAX_CHUNK],
    bus_meter: [MeterAcc; SEND_BUSES],
    master_meter: MeterAcc,
    meter_frames: u64,
    /// Largest master compressor and limiter reduction seen in the meter period.
    master_reduction: (f32, f32),
    track_reduction: [f32; MAX_TRACKS],
    /// Whether meters are gathered (only when a UI listens: renders skip the work).
    metering: bool,
}

fn ramp(rate: f32) -> u32 {
    (rate * 0.01) as u32
}

impl MixStage {
    /// A mix stage for output at `rate` Hz, configured for `song`.
    pub fn new(song: &EngineSong) -> MixStage {
        let rate = song.rate as f32;
        let r = ramp(rate);
        let mut m = MixStage {
            rate,
            strips: (0..MAX_TRACKS)
                .map(|_| Strip {
                    inserts: std::array::from_fn(|_| InsertSlot {
                        eq: EqProcessor::new(rate),
                        comp: CompressorProcessor::new(rate),
                        applied: None,
                    }),
                    gain: (Smoothed::new(1.0, r), Smoothed::new(1.0, r)),
                    send: [Smoothed::new(0.0, r), Smoothed::new(0.0, r)],
                    meter: MeterAcc::default(),
                })
                .collect(),
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
            send_in: Box::new([[0.0; 2 * MAX_CHUNK]; SEND_BUSES]),
            bus_out: [0.0; 2 * MAX_CHUNK],
            bus_meter: [MeterAcc::default(); SEND_BUSES],
            master_meter: MeterAcc::default(),
            meter_frames: 0,
            master_reduction: (0.0, 0.0),
            track_reduction: [0.0; MAX_TRACKS],
            metering: false,
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
        for s in self.strips.iter_mut() {
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
        let any_solo = song.tracks.iter().any(|t| t.solo);
        for (t, s) in self.strips.iter_mut().enumerate() {
            let tr = song.tracks.get(t);
            let (l, r) = tr.map_or((0.0, 0.0), |tr| fader_gains(tr, any_solo));
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
                let kind_changed = std::mem::discriminant(&slot.applied)
                    != std::mem::discriminant(want)
                    || !matches!(
                        (&slot.applied, want),
                        (Some(Insert::Eq(_)), Some(Insert::Eq(_)))
                            | (Some(Insert::Compressor(_)), Some(Insert::Compressor(_)))
                    );
                match want {
                    Some(Insert::Eq(e)) => {
                        if kind_changed {
                            slot.eq.reset();
                        }
                        slot.eq.set(e);
                    }
                    Some(Insert::Compressor(c)) => {
                        if kind_changed {
                            slot.comp.reset();
                        }
                        slot.comp.set(c);
                    }
                    None => {}
                }
                slot.applied = *want;
            }
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
        bufs: &mut [[f32; 2 * MAX_CHUNK]],
        used: &[bool; MAX_TRACKS],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let len = left.len().min(right.len());
        let tracks = song.tracks.len().min(MAX_TRACKS).min(bufs.len());
        let mut send_used = [false; SEND_BUSES];
        for b in 0..SEND_BUSES {
            let (l, r) = self.send_in[b].split_at_mut(MAX_CHUNK);
            l[..len].fill(0.0);
            r[..len].fill(0.0);
        }
        for t in 0..tracks {
            let s = &mut self.strips[t];
            if !used[t] {
                // Keep the ramps moving with time even while the track is silent.
                for _ in 0..len {
                    s.gain.0.next_value();
                    s.gain.1.next_value();
                    s.send[0].next_value();
                    s.send[1].next_value();
                }
                continue;
            }
            let (bl, br) = bufs[t].split_at_mut(MAX_CHUNK);
            let (bl, br) = (&mut bl[..len], &mut br[..len]);
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
            self.track_reduction[t] = self.track_reduction[t].max(reduction);
            // Fader. The scaled signal is kept in the buffer only when a send or a meter reads it.
            let keep =
                self.metering || s.send.iter().any(|sm| sm.is_ramping() || sm.value() != 0.0);
            let (gl, gr) = &mut s.gain;
            if gl.is_ramping() || gr.is_ramping() {
                for i in 0..len {
                    bl[i] *= gl.next_value();
                    br[i] *= gr.next_value();
                    left[i] += bl[i];
                    right[i] += br[i];
                }
            } else {
                let (a, b) = (gl.value(), gr.value());
                if keep {
                    for i in 0..len {
                        bl[i] *= a;
                        br[i] *= b;
                        left[i] += bl[i];
                        right[i] += br[i];
                    }
                } else {
                    for i in 0..len {
                        left[i] += bl[i] * a;
                        right[i] += br[i] * b;
                    }
                }
            }
            if self.metering {
                s.meter.add(bl, br);
            }
            // Post-fader sends.
            for (b, sm) in s.send.iter_mut().enumerate() {
                if !sm.is_ramping() && sm.value() == 0.0 {
                    continue;
                }
                send_used[b] = true;
                let (sl, sr) = self.send_in[b].split_at_mut(MAX_CHUNK);
                for i in 0..len {
                    let g = sm.next_value();
                    sl[i] += bl[i] * g;
                    sr[i] += br[i] * g;
                }
            }
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
                for _ in 0..len {
                    self.returns[b].next_value();
                }
                continue;
            }
            let (il, ir) = self.send_in[b].split_at(MAX_CHUNK);
            let (ol, or) = self.bus_out.split_at_mut(MAX_CHUNK);
            let (ol, or) = (&mut ol[..len], &mut or[..len]);
            if b == 0 {
                self.reverb.process(&il[..len], &ir[..len], ol, or);
            } else {
                self.delay.process(&il[..len], &ir[..len], ol, or);
            }
            let mut peak = 0.0f32;
            let ret = &mut self.returns[b];
            for i in 0..len {
                let g = ret.next_value();
                ol[i] *= g;
                or[i] *= g;
                peak = peak.max(ol[i].abs()).max(or[i].abs());
                left[i] += ol[i];
                right[i] += or[i];
            }
            if self.metering {
                self.bus_meter[b].add(ol, or);
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
        out.strips[STRIP_REVERB] = self.bus_meter[0].take(n, 0.0);
        out.strips[STRIP_DELAY] = self.bus_meter[1].take(n, 0.0);
        out.strips[STRIP_MASTER] = self.master_meter.take(n, self.master_reduction.0);
        out.limiter_db = self.master_reduction.1;
        self.master_reduction = (0.0, 0.0);
        self.meter_frames = 0;
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
