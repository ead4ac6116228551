//! placeholder
use crate::model::mix::Delay;
/// Longest delay.
pub const MAX_DELAY_SECONDS: f32 = 10.0;
/// Delay.
pub struct DelayProcessor;
impl DelayProcessor {
    /// New.
    pub fn new(_rate: f32) -> Self {
        DelayProcessor
    }
    /// Set.
    pub fn set(&mut self, _d: &Delay, _bpm: f32, _lpb: u8) {}
    /// Process.
    pub fn process(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        out_l.copy_from_slice(in_l);
        out_r.copy_from_slice(in_r);
    }
    /// Reset.
    pub fn reset(&mut self) {}
}
