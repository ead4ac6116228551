//! placeholder
use crate::model::mix::Limiter;
/// Limiter.
pub struct LimiterProcessor;
impl LimiterProcessor {
    /// New.
    pub fn new(_rate: f32) -> Self {
        LimiterProcessor
    }
    /// Set.
    pub fn set(&mut self, _l: &Limiter) {}
    /// Latency.
    pub fn latency_frames(&self) -> usize {
        0
    }
    /// Process.
    pub fn process(&mut self, _l: &mut [f32], _r: &mut [f32]) {}
    /// GR.
    pub fn gain_reduction_db(&self) -> f32 {
        0.0
    }
    /// Reset.
    pub fn reset(&mut self) {}
}
