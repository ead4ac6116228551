//! Playing frozen tracks: a frozen track's notes are replaced by its own audio (rendered after its
//! inserts, before its fader), started at the frame where each order position began when the
//! song was frozen. The audio plays on across order positions as long as the song runs as it did
//! then; when play starts, or the song goes somewhere else (a loop, a jump, play from the
//! cursor), it moves to that position's start. It goes into the track's buffer, so the fader,
//! pan, sends, group and master treat it exactly as they treated the notes.
//!
//! No allocation: the audio is shared (`Arc`) and the state is a fixed array.

use super::song::EngineSong;
use super::voice::FADE_OUT_FRAMES;
use crate::model::SampleData;
use std::sync::Arc;

/// A frozen track as the engine plays it.
#[derive(Clone, Debug)]
pub struct FrozenAudio {
    /// Stereo interleaved audio.
    pub audio: Arc<SampleData>,
    /// Frame of `audio` where each order position starts.
    pub starts: Vec<Option<u64>>,
    /// Frames of `audio` per output frame (1 when the rates match).
    pub step: f64,
}

/// Where one frozen track's playback is.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrozenState {
    /// Read position in the audio's frames.
    pos: f64,
    playing: bool,
    /// Frames left of the fade-out after a stop (0: not fading).
    fade: u32,
}

impl FrozenState {
    /// Whether the track's audio is playing (or fading out).
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Stops at once (a new play start).
    pub fn reset(&mut self) {
        *self = FrozenState::default();
    }

    /// Fades out over the voices' fade time (stop).
    pub fn stop(&mut self) {
        if self.playing && self.fade == 0 {
            self.fade = FADE_OUT_FRAMES;
        }
    }

    /// Goes to order position `order`, `offset` frames (of output) into it, unless already
    /// playing exactly there (the song running on as it did when frozen).
    pub fn enter(&mut self, f: &FrozenAudio, order: usize, offset: f64) {
        let Some(Some(start)) = f.starts.get(order) else {
            // A position the track was never frozen at (one added since): it fades out.
            self.stop();
            return;
        };
        let mut want = *start as f64 + offset * f.step;
        if f.step == 1.0 {
            want = want.round();
        }
        // Within two frames counts as in place: tick rounding counted from another play start
        // may put a row start one frame off, and a jump of one frame would be a tiny glitch.
        if self.playing && self.fade == 0 && (self.pos - want).abs() < 2.0 {
            return;
        }
        self.pos = want;
        self.playing = true;
        self.fade = 0;
    }

    /// Adds the next `l.len()` frames into `l`/`r` (or writes them when `add` is false); returns
    /// whether anything was written.
    pub fn render(&mut self, f: &FrozenAudio, l: &mut [f32], r: &mut [f32], add: bool) -> bool {
        if !self.playing {
            return false;
        }
        let data = &f.audio.data;
        let frames = (data.len() / 2) as u64;
        let len = l.len().min(r.len());
        if f.step == 1.0 && self.pos.fract() == 0.0 {
            // Same rate: the audio frame by frame, exactly.
            let start = self.pos as u64;
            for i in 0..len {
                let k = start + i as u64;
                let (a, b) = if k < frames {
                    (data[2 * k as usize], data[2 * k as usize + 1])
                } else {
                    (0.0, 0.0)
                };
                let g = self.fade_gain();
                if add {
                    l[i] += a * g;
                    r[i] += b * g;
                } else {
                    l[i] = a * g;
                    r[i] = b * g;
                }
            }
            self.pos += len as f64;
        } else {
            // Another rate: linear interpolation (freeze again at this rate for exact output).
            for i in 0..len {
                let k = self.pos.floor() as u64;
                let t = (self.pos - k as f64) as f32;
                let at = |k: u64, c: usize| {
                    if k < frames {
                        data[2 * k as usize + c]
                    } else {
                        0.0
                    }
                };
                let a = at(k, 0) + (at(k + 1, 0) - at(k, 0)) * t;
                let b = at(k, 1) + (at(k + 1, 1) - at(k, 1)) * t;
                let g = self.fade_gain();
                if add {
                    l[i] += a * g;
                    r[i] += b * g;
                } else {
                    l[i] = a * g;
                    r[i] = b * g;
                }
                self.pos += f.step;
            }
        }
        if self.pos >= frames as f64 {
            self.playing = false;
        }
        true
    }

    /// The fade-out gain for the next frame (1 when not fading); ends playback when the fade
    /// is over.
    #[inline]
    fn fade_gain(&mut self) -> f32 {
        if self.fade == 0 {
            return if self.playing { 1.0 } else { 0.0 };
        }
        self.fade -= 1;
        if self.fade == 0 {
            self.playing = false;
        }
        self.fade as f32 * (1.0 / FADE_OUT_FRAMES as f32)
    }
}

/// The frozen tracks of `song` for output at `rate`: one entry per track.
pub fn from_model(song: &crate::model::Song, rate: u32) -> Vec<Option<FrozenAudio>> {
    song.tracks
        .iter()
        .map(|t| {
            t.frozen.as_ref().map(|f| FrozenAudio {
                audio: f.audio.clone(),
                starts: f.starts.clone(),
                step: f.audio.rate as f64 / rate as f64,
            })
        })
        .collect()
}

impl EngineSong {
    /// The frozen audio of track `t`, if it is frozen.
    #[inline]
    pub fn frozen(&self, t: usize) -> Option<&FrozenAudio> {
        self.frozen.get(t)?.as_ref()
    }
}
