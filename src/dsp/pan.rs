//! The pan law: constant power, −3 dB per side at centre (sin/cos), so a sound keeps its loudness as
//! it moves across the stereo field.

/// Left and right gains for `pan` in -1 (left) ..= 1 (right): `(cos θ, sin θ)` with
/// `θ = (pan + 1) · π/4`. Centre gives 0.7071 (−3.01 dB) on each side.
#[inline]
pub fn constant_power(pan: f32) -> (f32, f32) {
    let theta = (pan.clamp(-1.0, 1.0) + 1.0) * std::f32::consts::FRAC_PI_4;
    (theta.cos(), theta.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law() {
        let (l, r) = constant_power(0.0);
        assert!((l - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6 && (l - r).abs() < 1e-6);
        let (l, r) = constant_power(-1.0);
        assert!((l - 1.0).abs() < 1e-6 && r.abs() < 1e-6);
        for i in -10..=10 {
            let (l, r) = constant_power(i as f32 / 10.0);
            assert!((l * l + r * r - 1.0).abs() < 1e-5);
        }
    }
}
