//! Linear parameter smoothing: every continuously editable value ramps to its target instead of
//! jumping, so there is no zipper noise or click.

/// A value that ramps linearly to its target over a fixed number of frames.
#[derive(Clone, Copy, Debug)]
pub struct Smoothed {
    value: f32,
    target: f32,
    step: f32,
    remaining: u32,
    ramp_frames: u32,
}

impl Smoothed {
    /// A smoother at `value` that takes `ramp_frames` to reach a new target.
    pub fn new(value: f32, ramp_frames: u32) -> Smoothed {
        Smoothed {
            value,
            target: value,
            step: 0.0,
            remaining: 0,
            ramp_frames: ramp_frames.max(1),
        }
    }

    /// Sets a new target; the ramp restarts from the current value.
    #[inline]
    pub fn set(&mut self, target: f32) {
        if target != self.target || self.remaining > 0 {
            self.target = target;
            self.remaining = self.ramp_frames;
            self.step = (target - self.value) / self.ramp_frames as f32;
        }
    }

    /// Jumps to `value` at once.
    #[inline]
    pub fn snap(&mut self, value: f32) {
        self.value = value;
        self.target = value;
        self.remaining = 0;
    }

    /// The next value.
    #[inline]
    pub fn next_value(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.value = if self.remaining == 0 {
                self.target
            } else {
                self.value + self.step
            };
        }
        self.value
    }

    /// The current value without advancing.
    #[inline]
    pub fn value(&self) -> f32 {
        self.value
    }

    /// The target value.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// True while ramping.
    #[inline]
    pub fn is_ramping(&self) -> bool {
        self.remaining > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_target_exactly() {
        let mut s = Smoothed::new(0.0, 480);
        s.set(1.0);
        let mut last = 0.0;
        for i in 0..480 {
            let v = s.next_value();
            assert!(v >= last, "monotonic at {i}");
            last = v;
        }
        assert_eq!(s.value(), 1.0);
        assert!(!s.is_ramping());
    }
}
