//! ttrack: a keyboard-driven terminal tracker. All logic lives in this library; `main.rs` only calls
//! [`cli::main`]. Layers (dependencies point down only):
//!
//! ```text
//! layer 4   cli
//! layer 3   render  audio  midi  record
//! layer 2   engine  format
//! layer 1   model   dsp
//! ```
#![deny(unsafe_code)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod audio;
pub mod cli;
pub mod dsp;
pub mod engine;
pub mod format;
pub mod midi;
pub mod model;
pub mod record;
pub mod render;
pub mod ui;

#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
