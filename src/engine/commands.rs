//! Applying UI commands at the start of a block: cell edits, mix changes, auditions and swaps of
//! whole patterns, instruments or songs. Swaps exchange boxes, so nothing is freed here; the
//! displaced object goes back to the UI as [`Garbage`].

use super::msg::{Command, Garbage};
use super::voice::Start;
use super::{Engine, MAX_COMMANDS_PER_BLOCK, MAX_NOTE_COLUMNS};
use crate::dsp::rng::Rng;
use crate::model::limits::MAX_TRACKS;

/// Where a cell edit goes; every index is checked, since it came in a message.
struct CellAt {
    pattern: u16,
    row: u16,
    track: u8,
    column: u8,
}

impl CellAt {
    /// The cell, if pattern, row, track and column all exist; `width` gives the track's column
    /// count and `cells` the track's cell list (notes or effects).
    fn find<'a, T>(
        &self,
        song: &'a mut super::EngineSong,
        width: impl Fn(&super::song::EngineTrack) -> usize,
        cells: impl Fn(&'a mut crate::model::PatternTrack) -> &'a mut Vec<T>,
    ) -> Option<&'a mut T> {
        let w = width(song.tracks.get(self.track as usize)?);
        let p = song.patterns.get_mut(self.pattern as usize)?;
        if self.row as u32 >= p.rows || self.column as usize >= w {
            return None;
        }
        cells(p.tracks.get_mut(self.track as usize)?)
            .get_mut(self.row as usize * w + self.column as usize)
    }
}

/// Lane number of audition voices (they belong to no note column).
pub const AUDITION_LANE: u16 = u16::MAX;

impl Engine {
    /// Applies up to [`MAX_COMMANDS_PER_BLOCK`] waiting commands.
    pub(super) fn apply_commands(&mut self) {
        for _ in 0..MAX_COMMANDS_PER_BLOCK {
            let Some(link) = self.link.as_mut() else {
                return;
            };
            let Some(cmd) = ringbuf::traits::Consumer::try_pop(&mut link.commands) else {
                return;
            };
            let garbage = self.apply(cmd);
            if let Some(g) = garbage {
                let mut parked = self.status.garbage_parked;
                if let Some(link) = self.link.as_mut() {
                    link.return_garbage(g, &mut parked);
                }
                self.status.garbage_parked = parked;
            }
            self.status.commands_applied += 1;
        }
    }

    fn refuse(&mut self) {
        self.status.commands_refused += 1;
    }

    /// Applies one command; returns what must go back to the UI.
    pub fn apply(&mut self, cmd: Command) -> Option<Garbage> {
        match cmd {
            Command::Play {
                range,
                row,
                bpm,
                tpl,
                at,
            } => self.play_chased(range, at.map(usize::from), row as usize, bpm, tpl),
            Command::Stop => self.stop(),
            Command::Mark(n) => self.status.mark = n,
            Command::SetNote {
                pattern,
                row,
                track,
                column,
                cell,
            } => {
                let at = CellAt {
                    pattern,
                    row,
                    track,
                    column,
                };
                match at.find(&mut self.song, |t| t.note_columns, |pt| &mut pt.notes) {
                    Some(c) => *c = cell,
                    None => self.refuse(),
                }
            }
            Command::SetEffect {
                pattern,
                row,
                track,
                column,
                cell,
            } => {
                let at = CellAt {
                    pattern,
                    row,
                    track,
                    column,
                };
                match at.find(&mut self.song, |t| t.effect_columns, |pt| &mut pt.effects) {
                    Some(c) => *c = cell,
                    None => self.refuse(),
                }
            }
            Command::SetTrack {
                track,
                volume_db,
                pan: p,
                mute,
            } => {
                let t = track as usize;
                match self.song.tracks.get_mut(t) {
                    Some(tr) => {
                        tr.set_mix(volume_db, p, mute);
                        self.mix.configure(&self.song, self.transport.bpm, false);
                    }
                    None => self.refuse(),
                }
            }
            Command::NoteOn {
                tag,
                track,
                slot,
                pitch,
                volume,
            } => self.audition(tag, track, slot, pitch, volume),
            Command::NoteOff { tag } => {
                for &vi in &self.active_list[..self.active_len] {
                    let v = &mut self.voices[vi as usize];
                    if v.active && v.lane == AUDITION_LANE && v.tag == tag {
                        v.release();
                    }
                }
            }
            Command::ReplacePattern { index, mut pattern } => {
                match self.song.patterns.get_mut(index as usize) {
                    Some(p) => std::mem::swap(p, &mut *pattern),
                    None => self.refuse(),
                }
                return Some(Garbage::Pattern(pattern));
            }
            Command::ReplaceInstrument { slot, instrument } => {
                let i = (slot as usize).wrapping_sub(1);
                let Some(place) = self.song.instruments.get_mut(i) else {
                    self.refuse();
                    return Some(instrument.map_or(Garbage::Nothing, Garbage::Instrument));
                };
                let old = std::mem::replace(place, instrument);
                // Voices of the old instrument fade out; they never read freed data (the old box
                // lives until the UI drops it).
                for &vi in &self.active_list[..self.active_len] {
                    let v = &mut self.voices[vi as usize];
                    if v.active && v.slot == slot {
                        v.fade_out();
                    }
                }
                return Some(old.map_or(Garbage::Nothing, Garbage::Instrument));
            }
            Command::SetMix(mut state) => {
                if state.tracks.len() != self.song.tracks.len()
                    || state.groups.len() != self.song.groups.len()
                {
                    self.refuse();
                } else {
                    // Swap, so the engine keeps its vector and the old values travel back.
                    std::mem::swap(&mut self.song.tracks, &mut state.tracks);
                    for (new, old) in self.song.tracks.iter_mut().zip(&state.tracks) {
                        // The column layout is structural: only a ReplaceSong changes it.
                        new.note_columns = old.note_columns;
                        new.effect_columns = old.effect_columns;
                    }
                    std::mem::swap(&mut self.song.mixer, &mut state.mixer);
                    std::mem::swap(&mut self.song.groups, &mut state.groups);
                    self.mix.configure(&self.song, self.transport.bpm, false);
                }
                return Some(Garbage::Mix(state));
            }
            Command::ReplaceSong(mut song) => {
                std::mem::swap(&mut self.song, &mut song);
                self.adopt_song();
                return Some(Garbage::Song(song));
            }
            Command::SetMidiInput(receiver) => {
                return Some(
                    self.connect_midi(receiver)
                        .map_or(Garbage::Nothing, Garbage::MidiInput),
                );
            }
            Command::SetMonitor(receiver) => {
                return Some(
                    std::mem::replace(&mut self.monitor, receiver)
                        .map_or(Garbage::Nothing, Garbage::Monitor),
                );
            }
            Command::MidiThru { track, slot } => self.set_midi_thru(track, slot),
            Command::MidiIn(msg) => self.midi_in(0, msg),
            Command::SetOutputLatency { frames } => self.set_output_latency(frames),
            Command::Metronome {
                on,
                level,
                count_in_bars,
            } => {
                self.click.on = on;
                self.click.level = level.clamp(0.0, 1.0);
                self.click.count_in_bars = count_in_bars.min(4);
            }
            Command::Locate { id, at } => self.midi.locate = Some((id, at)),
        }
        None
    }

    /// Keeps playing after the song was replaced: mix settings ramp to the new values, voices on
    /// tracks that no longer exist fade out, and the sequencer stops if its position is gone.
    fn adopt_song(&mut self) {
        let tracks = self.song.tracks.len().min(MAX_TRACKS);
        self.mix.configure(&self.song, self.transport.bpm, false);
        for &vi in &self.active_list[..self.active_len] {
            let v = &mut self.voices[vi as usize];
            if v.active && (v.track as usize >= tracks || self.song.instrument(v.slot).is_none()) {
                v.fade_out();
            }
        }
        for t in tracks..MAX_TRACKS {
            for c in 0..MAX_NOTE_COLUMNS {
                let lane = &mut self.lanes[t * MAX_NOTE_COLUMNS + c];
                lane.voice = None;
            }
        }
        let valid = self
            .transport
            .pattern(&self.song)
            .is_some_and(|p| self.transport.row < self.song.patterns[p].rows as usize);
        if self.sequencing && !valid {
            self.stop();
        }
    }

    fn audition(&mut self, tag: u32, track: u8, slot: u8, pitch: u8, volume: u8) {
        if !self.start_audition(tag, track, slot, pitch, volume) {
            self.refuse();
        }
    }

    /// Starts a note outside the pattern (audition, MIDI thru) on `track` with instrument `slot`;
    /// false when the track or instrument does not exist (or is silent).
    pub(super) fn start_audition(
        &mut self,
        tag: u32,
        track: u8,
        slot: u8,
        pitch: u8,
        volume: u8,
    ) -> bool {
        let t = track as usize;
        let ok = t < self.song.tracks.len()
            && self.song.instrument(slot).is_some_and(|i| !i.is_silent());
        if !ok {
            return false;
        }
        // A new audition with the same tag replaces the old one (one-shot keys).
        for &vi in &self.active_list[..self.active_len] {
            let v = &mut self.voices[vi as usize];
            if v.active && v.lane == AUDITION_LANE && v.tag == tag {
                v.fade_out();
            }
        }
        let vi = self.alloc_voice();
        let Some(inst) = self.song.instrument(slot) else {
            return false;
        };
        let start = Start {
            slot,
            pitch: pitch as f32,
            gain: volume.min(0x40) as f32 / 64.0,
            pan: inst.pan,
            offset: 0,
            seed: Rng::seed_from(&[self.song.seed, t as u64, tag as u64, 0xA0D1]),
        };
        let v = &mut self.voices[vi];
        v.track = track as u16;
        v.lane = AUDITION_LANE;
        v.tag = tag;
        v.start(inst, &start, self.rate);
        self.list_voice(vi);
        true
    }
}
