//! The metronome and the count-in: a short click on every beat (higher on the first beat of a
//! bar of four), added to the output after the master chain. Only the live engine turns it on
//! (with [`super::Command::Metronome`]); renders never hear it.
//!
//! A count-in plays one to four bars of clicks before the song starts: the sequencer's first
//! tick waits that long, so the song (and the song positions of MIDI played along) start on the
//! next downbeat.

/// Beats per bar (ttrack songs have no time signature; 4/4 as FastTracker II's defaults assume).
pub const BEATS_PER_BAR: u32 = 4;
/// Click length in seconds.
const CLICK_SECONDS: f32 = 0.03;

/// Metronome state: settings, the count-in and the click sounding now. Frames here are the
/// engine's chunk frames (the output's clock, ahead of the music by the master look-ahead).
#[derive(Clone, Copy, Debug)]
pub struct Click {
    /// Clicks on the song's beats.
    pub on: bool,
    /// Linear gain of the click.
    pub level: f32,
    /// Bars of count-in for the next play start (0: none).
    pub count_in_bars: u8,
    /// The running count-in: first click's frame, clicks done, clicks in all, beat length.
    count_in: Option<(u64, u32, u32, f64)>,
    /// The next song-beat click: frame and downbeat.
    next: Option<(u64, bool)>,
    /// The click sounding: frames into it, and whether it is a downbeat.
    sounding: Option<(u32, bool)>,
    /// Frames of one click.
    length: u32,
    /// Phase step per frame of the two pitches (radians).
    steps: (f32, f32),
}

impl Click {
    /// A silent metronome for output at `rate`.
    pub fn new(rate: f32) -> Click {
        Click {
            on: false,
            level: 0.5,
            count_in_bars: 0,
            count_in: None,
            next: None,
            sounding: None,
            length: (CLICK_SECONDS * rate) as u32,
            steps: (
                std::f32::consts::TAU * 2000.0 / rate,
                std::f32::consts::TAU * 1000.0 / rate,
            ),
        }
    }

    /// Starts a count-in of `count_in_bars` bars with its first click at `frame` and beats
    /// `beat_frames` long; returns its length in frames (0 without one).
    pub fn start_count_in(&mut self, frame: u64, beat_frames: f64) -> u64 {
        self.sounding = None;
        self.next = None;
        if self.count_in_bars == 0 {
            self.count_in = None;
            return 0;
        }
        let beats = self.count_in_bars as u32 * BEATS_PER_BAR;
        self.count_in = Some((frame, 0, beats, beat_frames));
        (beats as f64 * beat_frames).round() as u64
    }

    /// Stops the count-in and any click (stop).
    pub fn cancel(&mut self) {
        self.count_in = None;
        self.next = None;
    }

    /// A beat of the song is heard at `frame` (`downbeat`: the first of a bar).
    pub fn beat(&mut self, frame: u64, downbeat: bool) {
        if self.on {
            self.next = Some((frame, downbeat));
        }
    }

    /// Adds the clicks of frames `frame..frame + left.len()` into the output.
    pub fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]) {
        if self.sounding.is_none() && self.next.is_none() && self.count_in.is_none() {
            return;
        }
        let n = left.len().min(right.len());
        for i in 0..n {
            let f = frame + i as u64;
            if let Some((start, k, total, beat)) = self.count_in
                && f >= start + (k as f64 * beat).round() as u64
            {
                self.sounding = Some((0, k.is_multiple_of(BEATS_PER_BAR)));
                self.count_in = (k + 1 < total).then_some((start, k + 1, total, beat));
            }
            if let Some((at, down)) = self.next
                && f >= at
            {
                self.sounding = Some((0, down));
                self.next = None;
            }
            let Some((t, down)) = self.sounding else {
                continue;
            };
            if t >= self.length {
                self.sounding = None;
                continue;
            }
            let step = if down { self.steps.0 } else { self.steps.1 };
            let env = 1.0 - t as f32 / self.length as f32;
            let v = (step * t as f32).sin() * env * env * self.level;
            left[i] += v;
            right[i] += v;
            self.sounding = Some((t + 1, down));
        }
    }
}
