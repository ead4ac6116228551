//! Wider vector instructions where the processor has them. Release builds target baseline x86-64
//! (SSE2, four floats per instruction) so that they run on any 64-bit PC; the hottest loops are
//! compiled a second time for AVX2 (eight floats) and chosen at run time.
//!
//! Only AVX2, not FMA: fused multiply-adds round differently, and a song must render to the same
//! bytes on every machine. (The one exception is a measurement, the loudness meter's filter, see
//! [`avx2_fma`].) Element-wise float operations give the same results at any vector
//! width (and the compiler reorders no float sums without being allowed to), so both versions of
//! a loop produce identical samples; the render tests' checksums hold on either path.

use std::sync::atomic::{AtomicU8, Ordering};

/// `dispatch!(wide, any)`, as the body of a hot function: returns `wide` (a call of the
/// function's copy compiled with `#[target_feature(enable = "avx2")]`) when [`avx2`] says the
/// processor has AVX2, else evaluates `any` (the same code at the baseline width). Both copies
/// call one `#[inline(always)]` body, so they are the same code compiled twice.
macro_rules! dispatch {
    ($wide:expr, $any:expr $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        if $crate::dsp::simd::avx2() {
            // SAFETY: the processor has AVX2 (checked just above), all that the function called
            // here requires (it is only marked `#[target_feature(enable = "avx2")]`).
            #[allow(unsafe_code)]
            unsafe {
                return $wide;
            }
        }
        $any
    }};
}
pub(crate) use dispatch;

const UNKNOWN: u8 = 0;
const WIDE: u8 = 1;
const BASELINE: u8 = 2;

/// The path chosen: not yet known, AVX2, or baseline.
static CHOICE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether the hot loops take their AVX2 versions: the processor has AVX2 and
/// [`use_baseline`] did not say otherwise. One atomic load once known; the first call detects
/// the processor's features (no allocation, no lock), and [`warm`] makes it outside the audio
/// callback.
#[inline]
pub fn avx2() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        WIDE => true,
        BASELINE => false,
        _ => {
            let wide = detect();
            CHOICE.store(if wide { WIDE } else { BASELINE }, Ordering::Relaxed);
            wide
        }
    }
}

/// Makes every hot loop take its baseline version (`true`), or the best the processor has again
/// (`false`). For tests and measurements: both give the same samples.
pub fn use_baseline(baseline: bool) {
    let wide = !baseline && detect();
    CHOICE.store(if wide { WIDE } else { BASELINE }, Ordering::Relaxed);
}

fn detect() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the processor has fused multiply-add as well as AVX2 (and [`use_baseline`] did not say
/// otherwise). Only the loudness meter uses it (see `render::loudness`): a measurement whose
/// figures may differ in their last bits, never the samples.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn avx2_fma() -> bool {
    avx2() && std::arch::is_x86_feature_detected!("fma")
}

/// Detects the processor's features now (the engine calls this when it is made).
pub fn warm() {
    let _ = avx2();
}
