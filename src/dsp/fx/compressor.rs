//! placeholder
use crate::model::mix::Compressor;
/// Comp.
pub struct CompressorProcessor;
impl CompressorProcessor {
    /// New.
    pub fn new(_rate: f32) -> Self {
        CompressorProcessor
    }
    /// Set.
    pub fn set(&mut self, _c: &Compressor) {}
    /// Process.
    pub fn process(&mut self, _l: &mut [f32], _r: &mut [f32]) {}
    /// GR.
    pub fn gain_reduction_db(&self) -> f32 {
        0.0
    }
    /// Reset.
    pub fn reset(&mut self) {}
}
