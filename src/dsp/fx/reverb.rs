//! placeholder
use crate::model::mix::Reverb;
/// Reverb.
pub struct ReverbProcessor;
impl ReverbProcessor {
    /// New.
    pub fn new(_rate: f32) -> Self {
        ReverbProcessor
    }
    /// Set.
    pub fn set(&mut self, _r: &Reverb) {}
    /// Process.
    pub fn process(&mut self, in_l: &[f32], in_r: &[f32], out_l: &mut [f32], out_r: &mut [f32]) {
        out_l.copy_from_slice(in_l);
        out_r.copy_from_slice(in_r);
    }
    /// Reset.
    pub fn reset(&mut self) {}
}
