//! The output's declick on a restart: playing again while the song sounds resets every voice
//! and effect memory (so that a play always starts from the same state and gives the same
//! samples), which left a step in the output from its last value to the new start's first: a
//! click. Here the step is taken out and put back gradually: the new output starts at the old
//! output's last value and reaches itself over [`DECLICK_SECONDS`], the difference fading along
//! a smoothstep (no corner at either end). What was sounding stops at once but without a click;
//! the new start is otherwise untouched.
//!
//! An engine that has output nothing but silence (a render, a first play) has no step to smooth
//! and starts exactly as before. No allocation, bounded work: it runs in the audio callback.

/// Time over which the step fades out (4 ms).
pub const DECLICK_SECONDS: f32 = 0.004;

/// The step's fade and the output's last frame.
#[derive(Clone, Copy, Debug)]
pub struct Declick {
    /// The engine's last output frame (left, right).
    last: [f32; 2],
    /// The step at the restart (old last frame minus new first frame); zero when none runs.
    step: [f32; 2],
    /// Frames of the fade done, and its length.
    done: u32,
    frames: u32,
    /// A restart happened: the next output frame measures the step.
    armed: bool,
}

impl Declick {
    /// A declick for output at `rate` Hz.
    pub fn new(rate: u32) -> Declick {
        Declick {
            last: [0.0; 2],
            step: [0.0; 2],
            done: 0,
            frames: ((DECLICK_SECONDS * rate as f32) as u32).max(1),
            armed: false,
        }
    }

    /// Playback restarts: the next output frame may jump from the last one.
    pub fn restart(&mut self) {
        self.armed = self.last != [0.0; 2];
    }

    /// Smooths the start of `left`/`right` after a restart and keeps their last frame.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        if n == 0 {
            return;
        }
        if self.armed {
            self.armed = false;
            // Measured from the output as it was heard: a step still fading at a second
            // restart is part of it, so the output stays continuous there too.
            self.step = [self.last[0] - left[0], self.last[1] - right[0]];
            self.done = 0;
        }
        if self.done < self.frames {
            let k = ((self.frames - self.done) as usize).min(n);
            let inv = 1.0 / self.frames as f32;
            for (i, (l, r)) in left[..k].iter_mut().zip(&mut right[..k]).enumerate() {
                // 1 at the first frame, 0 after the last, flat at both ends.
                let x = (self.done + i as u32) as f32 * inv;
                let g = 1.0 - x * x * (3.0 - 2.0 * x);
                *l += self.step[0] * g;
                *r += self.step[1] * g;
            }
            self.done += k as u32;
        }
        self.last = [left[n - 1], right[n - 1]];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_becomes_a_smooth_ramp() {
        let mut d = Declick::new(48_000);
        let (mut l, mut r) = (vec![0.8f32; 64], vec![-0.5f32; 64]);
        d.process(&mut l, &mut r);
        d.restart();
        // The new start: silence, processed in blocks of 7 frames.
        let (mut out_l, mut out_r) = (Vec::new(), Vec::new());
        for _ in 0..40 {
            let (mut l, mut r) = (vec![0.0f32; 7], vec![0.0f32; 7]);
            d.process(&mut l, &mut r);
            out_l.extend(l);
            out_r.extend(r);
        }
        assert_eq!(
            (out_l[0], out_r[0]),
            (0.8, -0.5),
            "starts where the output was"
        );
        let frames = (DECLICK_SECONDS * 48_000.0) as usize;
        assert!(
            out_l[frames..].iter().all(|&v| v == 0.0),
            "then the new output alone"
        );
        // The largest change between frames: a smoothstep's steepest slope is 1.5 / frames.
        let max_step = out_l
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(max_step <= 0.8 * 1.5 / frames as f32 * 1.01, "{max_step}");
        assert!(out_l.windows(2).all(|w| w[1] <= w[0]), "falls steadily");
    }

    #[test]
    fn silence_before_leaves_the_start_alone() {
        let mut d = Declick::new(48_000);
        d.restart();
        let (mut l, mut r) = (vec![0.3f32; 16], vec![0.3f32; 16]);
        d.process(&mut l, &mut r);
        assert!(l.iter().chain(&r).all(|&v| v == 0.3));
    }
}
