//! Sample-format conversion for the live callback: the engine's deinterleaved `f32` stereo into the
//! device's interleaved buffer of any channel count and sample type (DESIGN.md §4). Mono gets the
//! average of left and right; more than two channels get left, right and silence. Float formats
//! pass the values through unchanged, so an `f32` device receives exactly what the offline
//! renderer writes; integer formats are clamped to full scale first. Nothing here allocates.

use cpal::{FromSample, SizedSample};

/// Largest `f32` below 1.0: full scale for the integer formats, whose positive range is one step
/// shorter than the negative one.
const BELOW_ONE: f32 = 1.0 - f32::EPSILON / 2.0;

/// Converts one engine sample to the device type `T`: floats as they are, integers clamped to
/// −1..<1 (NaN becomes 0).
#[inline]
pub fn to_device<T: SizedSample + FromSample<f32>>(x: f32) -> T {
    if T::FORMAT.is_float() {
        T::from_sample(x)
    } else {
        T::from_sample(x.clamp(-1.0, BELOW_ONE))
    }
}

/// Writes `left`/`right` into the interleaved `out` with `channels` samples per frame. Frames
/// beyond the shorter input, and a trailing partial frame, are filled with silence (the type's
/// equilibrium, e.g. 32768 for `u16`). `channels == 0` fills `out` with silence.
pub fn write_interleaved<T: SizedSample + FromSample<f32>>(
    left: &[f32],
    right: &[f32],
    out: &mut [T],
    channels: usize,
) {
    if channels == 0 {
        out.fill(T::EQUILIBRIUM);
        return;
    }
    let frames = left.len().min(right.len()).min(out.len() / channels);
    let (body, rest) = out.split_at_mut(frames * channels);
    match channels {
        1 => {
            for ((o, &l), &r) in body.iter_mut().zip(left).zip(right) {
                *o = to_device(0.5 * (l + r));
            }
        }
        2 => {
            for ((o, &l), &r) in body.chunks_exact_mut(2).zip(left).zip(right) {
                o[0] = to_device(l);
                o[1] = to_device(r);
            }
        }
        _ => {
            for ((o, &l), &r) in body.chunks_exact_mut(channels).zip(left).zip(right) {
                o[0] = to_device(l);
                o[1] = to_device(r);
                o[2..].fill(T::EQUILIBRIUM);
            }
        }
    }
    rest.fill(T::EQUILIBRIUM);
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpal::Sample;

    const L: [f32; 3] = [0.5, -1.0, 1.0];
    const R: [f32; 3] = [-0.25, 0.0, 2.0];

    #[test]
    fn f32_stereo_is_passed_through_unchanged() {
        let mut out = [9.0f32; 6];
        write_interleaved(&L, &R, &mut out, 2);
        assert_eq!(out, [0.5, -0.25, -1.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn f32_mono_is_the_average() {
        let mut out = [9.0f32; 3];
        write_interleaved(&L, &R, &mut out, 1);
        assert_eq!(out, [0.125, -0.5, 1.5]);
    }

    #[test]
    fn four_channels_get_left_right_and_silence() {
        let mut out = [9.0f32; 12];
        write_interleaved(&L, &R, &mut out, 4);
        assert_eq!(
            out,
            [
                0.5, -0.25, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0
            ]
        );
        let mut out = [9i16; 12];
        write_interleaved(&L, &R, &mut out, 4);
        assert_eq!(
            out,
            [16384, -8192, 0, 0, -32768, 0, 0, 0, 32767, 32767, 0, 0]
        );
    }

    #[test]
    fn i16_is_scaled_and_clamped() {
        let mut out = [0i16; 6];
        write_interleaved(&L, &R, &mut out, 2);
        assert_eq!(out, [16384, -8192, -32768, 0, 32767, 32767]);
        let mut mono = [0i16; 3];
        write_interleaved(&L, &R, &mut mono, 1);
        assert_eq!(mono, [4096, -16384, 32767]);
    }

    #[test]
    fn u16_is_offset_binary_with_silence_at_32768() {
        let mut out = [0u16; 6];
        write_interleaved(&L, &R, &mut out, 2);
        assert_eq!(out, [49152, 24576, 0, 32768, 65535, 65535]);
        let mut quad = [0u16; 8];
        write_interleaved(&L[..2], &R[..2], &mut quad, 4);
        assert_eq!(quad, [49152, 24576, 32768, 32768, 0, 32768, 32768, 32768]);
    }

    #[test]
    fn wide_integers_stay_in_range() {
        let mut out = [0i32; 2];
        write_interleaved(&[1.0], &[-1.0], &mut out, 2);
        assert_eq!(out, [i32::MAX - 127, i32::MIN]);
        let mut out = [cpal::I24::EQUILIBRIUM; 2];
        write_interleaved(&[4.0], &[f32::NAN], &mut out, 2);
        assert_eq!(out[0].inner(), (1 << 23) - 1);
        assert_eq!(out[1].inner(), 0);
    }

    #[test]
    fn short_input_and_partial_frames_become_silence() {
        let mut out = [7u16; 7];
        write_interleaved(&L[..1], &R, &mut out, 2);
        assert_eq!(out, [49152, 24576, 32768, 32768, 32768, 32768, 32768]);
        let mut out = [7i16; 3];
        write_interleaved(&L, &R, &mut out, 0);
        assert_eq!(out, [0, 0, 0]);
    }
}
