//! Mixer effects (placeholder interfaces until the DSP lands).
pub mod compressor;
pub mod delay;
pub mod eq;
pub mod limiter;
pub mod reverb;
