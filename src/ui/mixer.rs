//! The mixer view's state and actions: which strip and row the cursor is on, the detail panel of
//! one effect, and every change a key makes to the mix settings. Each change is an
//! [`Edit::Mix`], mirrored to the engine as one `SetMix` (ramped, only changed effects
//! recomputed), so playback never hiccups. Effects as values and their steps are in `mix_fx.rs`,
//! the meters as shown in `meters.rs`, drawing in `mixer_view.rs`.

use super::app::App;
use super::commands::Action;
use super::edit::Edit;
pub use super::meters::{METER_FLOOR_DB, MeterDisplay, StripLevel};
pub use super::mix_fx::{
    BAND_LABELS, BAND_PARAMS, EQ_PER_BAND, Fx, db_text, has_gain, pan_text, send_text, step_fader,
    step_lin, step_send,
};
use crate::engine::mixer::{Meters, STRIP_DELAY, STRIP_GROUP, STRIP_MASTER, STRIP_REVERB};
use crate::model::Song;
use crate::model::mix::{Compressor, Eq, Insert, MAX_INSERTS, Mixer, OFF_DB, SEND_BUSES, ranges};

/// The mix settings of one track: everything but its name and column layout.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackMix {
    /// Gain in dB.
    pub volume_db: f32,
    /// Pan −1..=1.
    pub pan: f32,
    /// Muted.
    pub mute: bool,
    /// Soloed.
    pub solo: bool,
    /// Send levels in dB.
    pub sends: [f32; SEND_BUSES],
    /// Insert effects in order.
    pub inserts: Vec<Insert>,
}

/// Every mix setting of a song: what an [`Edit::Mix`] swaps.
#[derive(Clone, Debug, PartialEq)]
pub struct MixSnapshot {
    /// One per track, in order.
    pub tracks: Vec<TrackMix>,
    /// One per group bus, in order.
    pub groups: Vec<TrackMix>,
    /// Buses and master.
    pub mixer: Mixer,
}

/// A strip with a fader, pan, sends and inserts: a track or a group bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chan {
    /// Track (0-based).
    Track(usize),
    /// Group (0-based).
    Group(usize),
}

/// The channel settings of a track or a group bus, read from the song.
#[derive(Clone, Copy, Debug)]
pub struct ChanRef<'a> {
    /// Gain in dB.
    pub volume_db: f32,
    /// Pan.
    pub pan: f32,
    /// Muted.
    pub mute: bool,
    /// Soloed.
    pub solo: bool,
    /// Send levels in dB.
    pub sends: &'a [f32; SEND_BUSES],
    /// Inserts.
    pub inserts: &'a [Insert],
}

/// The settings of channel `c` of `song`, if it exists.
pub fn chan_ref(song: &Song, c: Chan) -> Option<ChanRef<'_>> {
    Some(match c {
        Chan::Track(t) => {
            let x = song.tracks.get(t)?;
            ChanRef {
                volume_db: x.volume_db,
                pan: x.pan,
                mute: x.mute,
                solo: x.solo,
                sends: &x.sends,
                inserts: &x.inserts,
            }
        }
        Chan::Group(g) => {
            let x = song.groups.get(g)?;
            ChanRef {
                volume_db: x.volume_db,
                pan: x.pan,
                mute: x.mute,
                solo: x.solo,
                sends: &x.sends,
                inserts: &x.inserts,
            }
        }
    })
}

impl MixSnapshot {
    /// The mix settings of `song`.
    pub fn of(song: &Song) -> MixSnapshot {
        MixSnapshot {
            tracks: song
                .tracks
                .iter()
                .map(|t| TrackMix {
                    volume_db: t.volume_db,
                    pan: t.pan,
                    mute: t.mute,
                    solo: t.solo,
                    sends: t.sends,
                    inserts: t.inserts.clone(),
                })
                .collect(),
            groups: song
                .groups
                .iter()
                .map(|g| TrackMix {
                    volume_db: g.volume_db,
                    pan: g.pan,
                    mute: g.mute,
                    solo: g.solo,
                    sends: g.sends,
                    inserts: g.inserts.clone(),
                })
                .collect(),
            mixer: song.mixer,
        }
    }

    /// The settings of channel `c`.
    pub fn chan(&self, c: Chan) -> Option<&TrackMix> {
        match c {
            Chan::Track(t) => self.tracks.get(t),
            Chan::Group(g) => self.groups.get(g),
        }
    }

    /// The settings of channel `c`, to change.
    pub fn chan_mut(&mut self, c: Chan) -> Option<&mut TrackMix> {
        match c {
            Chan::Track(t) => self.tracks.get_mut(t),
            Chan::Group(g) => self.groups.get_mut(g),
        }
    }

    /// Writes these settings into `song` (tracks beyond either list are left alone).
    pub fn apply_to(&self, song: &mut Song) {
        for (t, m) in song.tracks.iter_mut().zip(&self.tracks) {
            t.volume_db = m.volume_db;
            t.pan = m.pan;
            t.mute = m.mute;
            t.solo = m.solo;
            t.sends = m.sends;
            t.inserts = m.inserts.clone();
        }
        for (g, m) in song.groups.iter_mut().zip(&self.groups) {
            g.volume_db = m.volume_db;
            g.pan = m.pan;
            g.mute = m.mute;
            g.solo = m.solo;
            g.sends = m.sends;
            g.inserts = m.inserts.clone();
        }
        song.mixer = self.mixer;
    }

    /// The effect `target` names, if it exists.
    pub fn fx(&self, target: FxTarget) -> Option<Fx> {
        Some(match target {
            FxTarget::Insert { chan, slot } => match self.chan(chan)?.inserts.get(slot)? {
                Insert::Eq(e) => Fx::Eq(*e),
                Insert::Compressor(c) => Fx::Comp(*c),
            },
            FxTarget::Reverb => Fx::Reverb(self.mixer.reverb.reverb),
            FxTarget::Delay => Fx::Delay(self.mixer.delay.delay),
            FxTarget::MasterEq => Fx::Eq(self.mixer.master.eq),
            FxTarget::MasterComp => Fx::Comp(self.mixer.master.compressor),
            FxTarget::MasterLimiter => Fx::Limiter(self.mixer.master.limiter),
        })
    }

    /// Replaces the effect `target` names with `fx` (of the same kind).
    pub fn set_fx(&mut self, target: FxTarget, fx: Fx) {
        let m = &mut self.mixer;
        match (target, fx) {
            (FxTarget::Insert { chan, slot }, fx) => {
                if let Some(i) = self.chan_mut(chan).and_then(|t| t.inserts.get_mut(slot)) {
                    match fx {
                        Fx::Eq(e) => *i = Insert::Eq(e),
                        Fx::Comp(c) => *i = Insert::Compressor(c),
                        _ => {}
                    }
                }
            }
            (FxTarget::Reverb, Fx::Reverb(r)) => m.reverb.reverb = r,
            (FxTarget::Delay, Fx::Delay(d)) => m.delay.delay = d,
            (FxTarget::MasterEq, Fx::Eq(e)) => m.master.eq = e,
            (FxTarget::MasterComp, Fx::Comp(c)) => m.master.compressor = c,
            (FxTarget::MasterLimiter, Fx::Limiter(l)) => m.master.limiter = l,
            _ => {}
        }
    }
}

/// A column of the mixer: a track, a group bus, a send bus return or the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strip {
    /// Track (0-based).
    Track(usize),
    /// Group bus (0-based).
    Group(usize),
    /// The reverb bus return.
    Reverb,
    /// The delay bus return.
    Delay,
    /// The master bus.
    Master,
}

impl Strip {
    /// Strip number `i` of `song`: the tracks, the group buses, then reverb, delay and master.
    pub fn at(song: &Song, i: usize) -> Strip {
        let n = song.tracks.len();
        let g = song.groups.len();
        if i < n {
            return Strip::Track(i);
        }
        match i - n {
            k if k < g => Strip::Group(k),
            k if k == g => Strip::Reverb,
            k if k == g + 1 => Strip::Delay,
            _ => Strip::Master,
        }
    }

    /// How many strips `song` has.
    pub fn count(song: &Song) -> usize {
        song.tracks.len() + song.groups.len() + 3
    }

    /// The channel of a track or group strip.
    pub fn chan(self) -> Option<Chan> {
        match self {
            Strip::Track(t) => Some(Chan::Track(t)),
            Strip::Group(g) => Some(Chan::Group(g)),
            _ => None,
        }
    }

    /// Index into the engine's meters.
    pub fn meter_index(self) -> usize {
        match self {
            Strip::Track(t) => t,
            Strip::Group(g) => STRIP_GROUP + g,
            Strip::Reverb => STRIP_REVERB,
            Strip::Delay => STRIP_DELAY,
            Strip::Master => STRIP_MASTER,
        }
    }

    /// Name for headers and messages.
    pub fn name(self, song: &Song) -> String {
        match self {
            Strip::Track(t) => song
                .tracks
                .get(t)
                .map_or_else(|| format!("Track {}", t + 1), |tr| tr.name.clone()),
            Strip::Group(g) => song
                .groups
                .get(g)
                .map_or_else(|| format!("Group {}", g + 1), |x| x.name.clone()),
            Strip::Reverb => "Reverb".into(),
            Strip::Delay => "Delay".into(),
            Strip::Master => "Master".into(),
        }
    }

    /// The rows of the strip, top to bottom.
    pub fn rows(self) -> &'static [Row] {
        match self {
            Strip::Track(_) | Strip::Group(_) => &[
                Row::Volume,
                Row::Pan,
                Row::Send(0),
                Row::Send(1),
                Row::Insert(0),
                Row::Insert(1),
                Row::Insert(2),
                Row::Insert(3),
            ],
            Strip::Reverb | Strip::Delay => &[Row::Return, Row::Mute, Row::BusEffect],
            Strip::Master => &[
                Row::Volume,
                Row::MasterEq,
                Row::MasterComp,
                Row::MasterLimiter,
            ],
        }
    }
}

/// A row of a strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// Track or master volume.
    Volume,
    /// Track pan.
    Pan,
    /// Send level to bus 0 (reverb) or 1 (delay).
    Send(usize),
    /// Insert slot of a track.
    Insert(usize),
    /// Bus return level.
    Return,
    /// Bus mute.
    Mute,
    /// The bus's effect (reverb or delay).
    BusEffect,
    /// Master EQ.
    MasterEq,
    /// Master compressor.
    MasterComp,
    /// Master limiter.
    MasterLimiter,
}

/// An effect the detail panel can edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FxTarget {
    /// Insert `slot` of a track or group bus.
    Insert {
        /// The track or group.
        chan: Chan,
        /// Slot.
        slot: usize,
    },
    /// The reverb of the reverb bus.
    Reverb,
    /// The delay of the delay bus.
    Delay,
    /// Master EQ.
    MasterEq,
    /// Master compressor.
    MasterComp,
    /// Master limiter.
    MasterLimiter,
}

/// The open detail panel: which effect and which of its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detail {
    /// The effect.
    pub target: FxTarget,
    /// Its parameter under the cursor.
    pub param: usize,
}

/// The mixer view's state.
#[derive(Clone, Debug, Default)]
pub struct MixerUi {
    /// Strip under the cursor (see [`Strip::at`]).
    pub strip: usize,
    /// Row of that strip under the cursor.
    pub row: usize,
    /// The detail panel, when open.
    pub detail: Option<Detail>,
    /// The meters as shown.
    pub meters: MeterDisplay,
    /// Meter reports taken from the engine so far.
    pub meters_seen: u64,
}

impl App {
    /// The strip under the mixer cursor.
    pub fn mix_strip(&self) -> Strip {
        Strip::at(&self.song, self.mix.strip)
    }

    /// The row under the mixer cursor.
    pub fn mix_row(&self) -> Row {
        let rows = self.mix_strip().rows();
        rows[self.mix.row.min(rows.len() - 1)]
    }

    /// Takes a meter report into the meters the mixer view shows (the event loop does this with
    /// the engine's reports; tests call it with known values). Returns true when the shown
    /// levels changed.
    pub fn feed_meters(&mut self, m: &Meters) -> bool {
        self.mix.meters.feed(m)
    }

    /// The effect under the mixer cursor, if the row holds one.
    pub fn mix_row_target(&self) -> Option<FxTarget> {
        let strip = self.mix_strip();
        let target = match (strip, self.mix_row()) {
            (s, Row::Insert(slot)) if s.chan().is_some() => FxTarget::Insert {
                chan: s.chan().unwrap_or(Chan::Track(0)),
                slot,
            },
            (Strip::Reverb, Row::BusEffect) => FxTarget::Reverb,
            (Strip::Delay, Row::BusEffect) => FxTarget::Delay,
            (_, Row::MasterEq) => FxTarget::MasterEq,
            (_, Row::MasterComp) => FxTarget::MasterComp,
            (_, Row::MasterLimiter) => FxTarget::MasterLimiter,
            _ => return None,
        };
        MixSnapshot::of(&self.song).fx(target).map(|_| target)
    }

    /// Keeps the mixer cursor on an existing strip and row (tracks may have been removed) and
    /// closes a detail panel whose effect is gone.
    pub(super) fn mix_clamp(&mut self) {
        self.mix.strip = self.mix.strip.min(Strip::count(&self.song) - 1);
        self.mix.row = self.mix.row.min(self.mix_strip().rows().len() - 1);
        if let Some(d) = self.mix.detail
            && MixSnapshot::of(&self.song).fx(d.target).is_none()
        {
            self.mix.detail = None;
        }
    }

    /// Changes the mix through `f`, as one undo step mirrored to the engine with `SetMix`.
    /// With a `key`, repeated nudges of the same parameter merge into one step. Returns false
    /// when nothing changed (a value already at the end of its range).
    fn mix_edit(
        &mut self,
        key: Option<super::edit::MergeKey>,
        f: impl FnOnce(&mut MixSnapshot),
    ) -> bool {
        let before = MixSnapshot::of(&self.song);
        let mut after = before.clone();
        f(&mut after);
        if after == before {
            return false;
        }
        let edit = Edit::Mix {
            before: Box::new(before),
            after: Box::new(after),
        };
        match key {
            Some(k) => self.apply_nudge(edit, k),
            None => self.apply(edit),
        }
        true
    }

    /// Performs a mixer action (the keys of `Scope::Mixer`).
    pub(super) fn mixer_action(&mut self, action: Action) {
        self.mix_clamp();
        let strip = self.mix_strip();
        let name = strip.name(&self.song);
        let rows = strip.rows().len();
        let n = Strip::count(&self.song);
        match action {
            Action::MixLeft | Action::MixRight => {
                let right = action == Action::MixRight;
                if let Some(d) = self.mix.detail.as_mut() {
                    if matches!(MixSnapshot::of(&self.song).fx(d.target), Some(Fx::Eq(_))) {
                        // Left and right keep the setting (on, freq, gain, Q) and change band.
                        let (band, p) = (d.param / EQ_PER_BAND, d.param % EQ_PER_BAND);
                        let band = if right {
                            (band + 1).min(5)
                        } else {
                            band.saturating_sub(1)
                        };
                        d.param = band * EQ_PER_BAND + p;
                    } else {
                        self.message = "↑/↓ pick a parameter; Enter closes the panel".into();
                    }
                    return;
                }
                self.mix.strip = if right {
                    (self.mix.strip + 1).min(n - 1)
                } else {
                    self.mix.strip.saturating_sub(1)
                };
                self.mix.row = self.mix.row.min(self.mix_strip().rows().len() - 1);
            }
            Action::MixUp | Action::MixDown => {
                let down = action == Action::MixDown;
                if let Some(d) = self.mix.detail.as_mut() {
                    let count = MixSnapshot::of(&self.song)
                        .fx(d.target)
                        .map_or(1, |fx| fx.param_count());
                    let is_eq = matches!(MixSnapshot::of(&self.song).fx(d.target), Some(Fx::Eq(_)));
                    d.param = if is_eq {
                        // Up and down stay within the band: on, freq, gain, Q.
                        let (b, p) = (d.param / EQ_PER_BAND, d.param % EQ_PER_BAND);
                        let p = if down {
                            (p + 1).min(EQ_PER_BAND - 1)
                        } else {
                            p.saturating_sub(1)
                        };
                        b * EQ_PER_BAND + p
                    } else if down {
                        (d.param + 1).min(count - 1)
                    } else {
                        d.param.saturating_sub(1)
                    };
                    return;
                }
                self.mix.row = if down {
                    (self.mix.row + 1).min(rows - 1)
                } else {
                    self.mix.row.saturating_sub(1)
                };
            }
            Action::MixFirst | Action::MixLast => {
                self.mix.detail = None;
                self.mix.strip = if action == Action::MixFirst { 0 } else { n - 1 };
                self.mix.row = self.mix.row.min(self.mix_strip().rows().len() - 1);
            }
            Action::MixChange { up, fine } => self.mix_change(up, fine),
            Action::MixReset => self.mix_reset(),
            Action::MixMute => {
                let changed = match strip {
                    Strip::Track(_) | Strip::Group(_) => {
                        let c = strip.chan().unwrap_or(Chan::Track(0));
                        self.mix_edit(None, |m| {
                            if let Some(x) = m.chan_mut(c) {
                                x.mute = !x.mute;
                            }
                        })
                    }
                    Strip::Reverb => {
                        self.mix_edit(None, |m| m.mixer.reverb.mute = !m.mixer.reverb.mute)
                    }
                    Strip::Delay => {
                        self.mix_edit(None, |m| m.mixer.delay.mute = !m.mixer.delay.mute)
                    }
                    Strip::Master => {
                        self.message = "the master has no mute (lower its volume)".into();
                        return;
                    }
                };
                if changed {
                    let muted = match strip.chan() {
                        Some(c) => chan_ref(&self.song, c).is_some_and(|x| x.mute),
                        None if strip == Strip::Reverb => self.song.mixer.reverb.mute,
                        None => self.song.mixer.delay.mute,
                    };
                    self.message = format!("{name}: {}", if muted { "muted" } else { "unmuted" });
                }
            }
            Action::MixSolo => {
                let Some(c) = strip.chan() else {
                    self.message = "only tracks and groups can be soloed".into();
                    return;
                };
                self.mix_edit(None, |m| {
                    if let Some(x) = m.chan_mut(c) {
                        x.solo = !x.solo;
                    }
                });
                self.message = format!(
                    "{name}: {}",
                    if chan_ref(&self.song, c).is_some_and(|x| x.solo) {
                        "solo"
                    } else {
                        "solo off"
                    }
                );
            }
            Action::MixAddEq | Action::MixAddCompressor => {
                let Some(c) = strip.chan() else {
                    self.message =
                        "inserts go on tracks and groups; send buses and master have fixed effects"
                            .into();
                    return;
                };
                let k = chan_ref(&self.song, c).map_or(0, |x| x.inserts.len());
                if k >= MAX_INSERTS {
                    self.message = format!("{name}: the {MAX_INSERTS} insert slots are full");
                    return;
                }
                let fx = if action == Action::MixAddEq {
                    Insert::Eq(Eq::default())
                } else {
                    Insert::Compressor(Compressor::default())
                };
                self.mix_edit(None, |m| {
                    if let Some(x) = m.chan_mut(c) {
                        x.inserts.push(fx);
                    }
                });
                self.mix.detail = None;
                self.mix.row = 4 + k;
                self.message = format!("{name}: added {} as insert {}", fx.name(), k + 1);
            }
            Action::MixRemoveInsert => {
                let (Some(c), Row::Insert(k)) = (strip.chan(), self.mix_row()) else {
                    self.message = "Delete removes the insert under the cursor".into();
                    return;
                };
                let Some(fx) = chan_ref(&self.song, c).and_then(|x| x.inserts.get(k).copied())
                else {
                    self.message = format!("{name}: insert slot {} is empty", k + 1);
                    return;
                };
                self.mix_edit(None, |m| {
                    if let Some(x) = m.chan_mut(c) {
                        x.inserts.remove(k);
                    }
                });
                self.mix.detail = None;
                self.message = format!(
                    "{name}: removed {} (insert {}); Ctrl-Z brings it back",
                    fx.name(),
                    k + 1
                );
            }
            Action::MixToggleOn => {
                let Some(target) = self.mix.detail.map(|d| d.target).or(self.mix_row_target())
                else {
                    self.message = "o switches an insert or a master effect on or off".into();
                    return;
                };
                let Some(mut fx) = MixSnapshot::of(&self.song).fx(target) else {
                    return;
                };
                if !fx.toggle() {
                    self.message = format!("the {} has no switch; m mutes its bus", fx.title());
                    return;
                }
                self.mix_edit(None, |m| m.set_fx(target, fx));
                self.message = format!(
                    "{name}: {} {}",
                    fx.title(),
                    if fx.is_on() { "on" } else { "off" }
                );
            }
            Action::MixDetail => {
                if self.mix.detail.take().is_some() {
                    return;
                }
                match self.mix_row_target() {
                    Some(target) => {
                        self.mix.detail = Some(Detail { target, param: 0 });
                        self.message = "detail: ↑↓ parameter  ←→ EQ band  +/- change (Shift fine)  o on/off  Enter closes".into();
                    }
                    None => {
                        self.message = "Enter opens the effect under the cursor (an insert, a bus effect, the master EQ, compressor or limiter)".into();
                    }
                }
            }
            _ => {}
        }
    }

    /// Puts the value under the mixer cursor (or the detail panel's parameter) back to its
    /// default.
    fn mix_reset(&mut self) {
        let strip = self.mix_strip();
        let name = strip.name(&self.song);
        if let Some(d) = self.mix.detail {
            let Some(mut fx) = MixSnapshot::of(&self.song).fx(d.target) else {
                return;
            };
            fx.reset(d.param);
            self.mix_edit(None, |m| m.set_fx(d.target, fx));
            self.message = format!(
                "{name}: {} {} {}",
                fx.title(),
                fx.param_name(d.param),
                fx.param_value(d.param)
            );
            return;
        }
        let chan = strip.chan().unwrap_or(Chan::Track(usize::MAX));
        let on_chan = |m: &mut MixSnapshot, f: &dyn Fn(&mut TrackMix)| {
            if let Some(x) = m.chan_mut(chan) {
                f(x);
            }
        };
        let is_chan = strip.chan().is_some();
        let what = match (strip, self.mix_row()) {
            (_, Row::Volume) if is_chan => {
                self.mix_edit(None, |m| on_chan(m, &|x| x.volume_db = 0.0));
                "volume 0.0 dB"
            }
            (Strip::Master, Row::Volume) => {
                self.mix_edit(None, |m| m.mixer.master.volume_db = 0.0);
                "volume 0.0 dB"
            }
            (_, Row::Pan) if is_chan => {
                self.mix_edit(None, |m| on_chan(m, &|x| x.pan = 0.0));
                "pan C"
            }
            (_, Row::Send(b)) if is_chan => {
                self.mix_edit(None, |m| on_chan(m, &|x| x.sends[b] = OFF_DB));
                if b == 0 {
                    "reverb send off"
                } else {
                    "delay send off"
                }
            }
            (Strip::Reverb, Row::Return) => {
                self.mix_edit(None, |m| m.mixer.reverb.return_db = 0.0);
                "return 0.0 dB"
            }
            (Strip::Delay, Row::Return) => {
                self.mix_edit(None, |m| m.mixer.delay.return_db = 0.0);
                "return 0.0 dB"
            }
            (Strip::Reverb, Row::Mute) => {
                self.mix_edit(None, |m| m.mixer.reverb.mute = false);
                "unmuted"
            }
            (Strip::Delay, Row::Mute) => {
                self.mix_edit(None, |m| m.mixer.delay.mute = false);
                "unmuted"
            }
            _ => {
                self.message = "Enter opens the effect; 0 there resets a parameter".into();
                return;
            }
        };
        self.message = format!("{name}: {what}");
    }

    /// Raises or lowers the value under the mixer cursor (or the detail panel's parameter).
    fn mix_change(&mut self, up: bool, fine: bool) {
        let strip = self.mix_strip();
        let name = strip.name(&self.song);
        let (s, r) = (self.mix.strip, self.mix.row);
        if let Some(d) = self.mix.detail {
            let Some(mut fx) = MixSnapshot::of(&self.song).fx(d.target) else {
                return;
            };
            if matches!(fx, Fx::Eq(_)) && d.param % EQ_PER_BAND == 2 && !has_gain(d.param / 4) {
                self.message = format!("the {} band has no gain", BAND_LABELS[d.param / 4]);
                return;
            }
            fx.adjust(d.param, up, fine);
            let changed = self.mix_edit(Some((s, r, d.param + 1)), |m| m.set_fx(d.target, fx));
            self.message = format!(
                "{name}: {} {} {}{}",
                fx.title(),
                fx.param_name(d.param),
                fx.param_value(d.param),
                if changed { "" } else { " (limit)" }
            );
            return;
        }
        let key = Some((s, r, 0));
        let row = self.mix_row();
        let chan = strip.chan();
        let cur = |app: &App| {
            chan.and_then(|c| chan_ref(&app.song, c).map(|x| (x.volume_db, x.pan, *x.sends)))
        };
        let edit_chan = |app: &mut App, f: &dyn Fn(&mut TrackMix)| {
            app.mix_edit(key, |m| {
                if let Some(x) = chan.and_then(|c| m.chan_mut(c)) {
                    f(x);
                }
            })
        };
        let (what, value, changed) = match (chan, row) {
            (Some(_), Row::Volume) => {
                let c = edit_chan(self, &|x| {
                    x.volume_db = step_fader(x.volume_db, up, fine, ranges::VOLUME_DB)
                });
                (
                    "volume",
                    format!("{} dB", db_text(cur(self).map_or(0.0, |v| v.0))),
                    c,
                )
            }
            (None, Row::Volume) if strip == Strip::Master => {
                let c = self.mix_edit(key, |m| {
                    m.mixer.master.volume_db =
                        step_fader(m.mixer.master.volume_db, up, fine, ranges::VOLUME_DB)
                });
                (
                    "volume",
                    format!("{} dB", db_text(self.song.mixer.master.volume_db)),
                    c,
                )
            }
            (Some(_), Row::Pan) => {
                let step = if fine { 0.01 } else { 0.05 };
                let c = edit_chan(self, &|x| {
                    x.pan = step_lin(x.pan, if up { 1 } else { -1 }, step, (-1.0, 1.0))
                });
                ("pan", pan_text(cur(self).map_or(0.0, |v| v.1)), c)
            }
            (Some(_), Row::Send(b)) => {
                let c = edit_chan(self, &|x| x.sends[b] = step_send(x.sends[b], up, fine));
                let v = cur(self).map_or(OFF_DB, |v| v.2[b]);
                (
                    if b == 0 { "reverb send" } else { "delay send" },
                    if v <= OFF_DB {
                        "off".into()
                    } else {
                        format!("{} dB", db_text(v))
                    },
                    c,
                )
            }
            (None, Row::Return) => {
                let rev = strip == Strip::Reverb;
                let c = self.mix_edit(key, |m| {
                    let v = if rev {
                        &mut m.mixer.reverb.return_db
                    } else {
                        &mut m.mixer.delay.return_db
                    };
                    *v = step_send(*v, up, fine);
                });
                let v = if rev {
                    self.song.mixer.reverb.return_db
                } else {
                    self.song.mixer.delay.return_db
                };
                ("return", send_text(v), c)
            }
            (None, Row::Mute) => {
                self.mixer_action(Action::MixMute);
                return;
            }
            _ => {
                self.message = "Enter edits the effect; o switches it on or off".into();
                return;
            }
        };
        self.message = format!(
            "{name}: {what} {value}{}",
            if changed { "" } else { " (limit)" }
        );
    }

    /// The track the group keys act on: the mixer strip's track in the mixer, else the pattern
    /// cursor's track.
    fn group_key_track(&self) -> Option<usize> {
        if self.view == super::app::View::Mixer {
            match self.mix_strip() {
                Strip::Track(t) => Some(t),
                _ => None,
            }
        } else {
            Some(self.cursor.track.min(self.song.tracks.len() - 1))
        }
    }

    /// Puts the track under the cursor in the next group: none → group 1 → … → the last group
    /// → a new group → none. One undo step; a new group is named after the track.
    pub(super) fn group_cycle(&mut self) {
        let Some(t) = self.group_key_track() else {
            self.message = "g puts a track in a group: move to a track strip".into();
            return;
        };
        let n = self.song.groups.len();
        let alone_in = |g: u8| {
            self.song
                .tracks
                .iter()
                .filter(|x| x.group == Some(g))
                .count()
                == 1
        };
        let next = match self.song.tracks[t].group {
            None => Some(0),
            Some(g) if (g as usize) + 1 < n => Some(g + 1),
            // Past the last group: a new one, unless the track was alone in it (or no more fit).
            Some(g) if !alone_in(g) && n < crate::model::mix::MAX_GROUPS => Some(g + 1),
            Some(_) => None,
        };
        let name = format!("{} grp", self.song.tracks[t].name);
        self.song_edit("changed the track's group", |s| {
            if let Some(g) = next
                && g as usize >= s.groups.len()
            {
                s.groups.push(crate::model::mix::Group::new(name));
            }
            s.tracks[t].group = next;
            // A group left with no member goes, and the later ones move down.
            let mut g = 0;
            while g < s.groups.len() {
                if s.tracks.iter().any(|x| x.group == Some(g as u8)) {
                    g += 1;
                    continue;
                }
                s.groups.remove(g);
                for x in &mut s.tracks {
                    if let Some(k) = x.group
                        && k as usize > g
                    {
                        x.group = Some(k - 1);
                    }
                }
            }
        });
        self.mix_clamp();
        self.message = match self.song.tracks[t].group {
            Some(g) => format!(
                "track {} is in group {} \"{}\"",
                t + 1,
                g + 1,
                self.song.groups[g as usize].name
            ),
            None => format!("track {} is in no group", t + 1),
        };
    }

    /// Folds or unfolds, in the pattern view, the group of the track under the cursor.
    pub(super) fn group_fold(&mut self) {
        let t = self.cursor.track.min(self.song.tracks.len() - 1);
        let Some(g) = self.song.tracks[t].group else {
            self.message = format!("track {} is in no group (A-g puts it in one)", t + 1);
            return;
        };
        let folded = !self.song.groups[g as usize].folded;
        self.song_edit(
            if folded {
                "folded the group"
            } else {
                "unfolded the group"
            },
            |s| s.groups[g as usize].folded = folded,
        );
        // The cursor moves to the group's first track, which stands for the group when folded.
        if folded && let Some(first) = self.song.tracks.iter().position(|x| x.group == Some(g)) {
            self.cursor.track = first;
            self.clamp_cursor();
        }
    }
}
