//! placeholder
use crate::model::mix::Eq;
/// EQ.
pub struct EqProcessor;
impl EqProcessor {
    /// New.
    pub fn new(_rate: f32) -> Self {
        EqProcessor
    }
    /// Set.
    pub fn set(&mut self, _eq: &Eq) {}
    /// Process.
    pub fn process(&mut self, _l: &mut [f32], _r: &mut [f32]) {}
    /// Reset.
    pub fn reset(&mut self) {}
}
