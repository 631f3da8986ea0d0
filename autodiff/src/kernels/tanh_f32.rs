//! `tanh` for `f32`, computed in `f64` and rounded once, in straight-line
//! code that the compiler vectorizes over a slice.
//!
//! glibc's `tanhf` is a call per element through `expm1f` (about 13 ns
//! here, a third of the note's 2→8→8→2 tanh network step). This one has no
//! call and no branch:
//!
//! - `|x| < 1/16`: the odd Taylor series `x − x³/3 + 2x⁵/15 − 17x⁷/315 +
//!   62x⁹/2835 − 1382x¹¹/155925`; the first term left out, `21844x¹³/6081075`,
//!   is below 2⁻⁵⁶ of the result;
//! - otherwise `tanh |x| = (1 − e)/(1 + e)` with `e = e^{−2|x|}`, |x|
//!   clamped to 20 (where `tanh` is 1 in `f64`), and `e^t` as `2ᵏ·eʳ`:
//!   `k = round(t/ln 2)`, `r = t − k·ln 2` (ln 2 split in two so that `k·ln
//!   2_hi` is exact), `|r| ≤ ln 2 / 2`, `eʳ` by its Taylor series to `r¹¹`
//!   (remainder below 7·10⁻¹⁵ of the result). At `|x| ≥ 1/16`, `1 − e ≥ 0.117`,
//!   so the subtraction costs at most three bits of those 52.
//!
//! The `f64` result is within about 5·10⁻¹⁴ of `tanh x` relative (most
//! near |x| = 1/16, where `1 − e` cancels), so its rounding to `f32` is the
//! correctly rounded `tanh x` unless that lies as close to a halfway point
//! between two `f32`, and then one ulp off: at most about one input in a
//! million, and none of the 16.6 million inputs the unit test sweeps. Signs,
//! zeros, infinities (±1) and NaN are kept.
//!
//! The derivative is unchanged: `d tanh/dz = 1 − tanh² z`, from the output.

use std::mem::MaybeUninit;

/// `out[i] = tanh src[i]` for `i < out.len()`, in 256-bit vectors where the
/// CPU has AVX2 and in 128-bit ones (x86-64's baseline) otherwise. The
/// arithmetic is the same plain multiplications and additions either way
/// (no fused multiply-add), so every CPU computes the same bits.
///
/// # Panics
/// When `src` is shorter than `out`.
pub(crate) fn tanh_into(src: &[f32], out: &mut [MaybeUninit<f32>]) {
    let src = &src[..out.len()];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the one feature the function enables.
        unsafe { tanh_into_avx2(src, out) };
        return;
    }
    tanh_into_baseline(src, out);
}

#[inline(always)]
fn tanh_into_baseline(src: &[f32], out: &mut [MaybeUninit<f32>]) {
    for (o, &x) in out.iter_mut().zip(src) {
        o.write(tanh(x));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tanh_into_avx2(src: &[f32], out: &mut [MaybeUninit<f32>]) {
    tanh_into_baseline(src, out);
}

/// `1.5·2⁵²`: adding it to a double of magnitude below 2⁵¹ rounds it to an
/// integer and leaves that integer in the low bits of the mantissa.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// `log₂ e`.
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// `ln 2` in two parts (their sum rounds to `LN_2`; the low part carries
/// the next 53 bits): the high one ends in 21 zero bits, so `k·LN2_HI` is
/// exact for |k| < 2²¹.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// Beyond this |x|, `tanh x` is 1 in `f64`: 1 − 2e⁻⁴⁰ rounds to 1.
const SATURATE: f64 = 20.0;
/// Below this |x|, the Taylor series at 0.
const SERIES_BELOW: f64 = 0.0625;

/// `tanh x`, correctly rounded but for at most about one input in a million
/// (one ulp off). See the module documentation for the method and its error.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let a = f64::from(x).abs();
    let series = odd_series(a);
    // `min` picks SATURATE for a NaN `a`; the NaN is restored below
    let e = exp_of_negative(-2.0 * a.min(SATURATE));
    let ratio = (1.0 - e) / (1.0 + e);
    let magnitude = (if a < SERIES_BELOW { series } else { ratio }) as f32;
    if x.is_nan() {
        x
    } else {
        magnitude.copysign(x)
    }
}

/// `tanh a` for `0 ≤ a < 1/16`: its Taylor series to `a¹¹`, in Horner form.
#[inline(always)]
fn odd_series(a: f64) -> f64 {
    let s = a * a;
    let p = -1382.0 / 155_925.0;
    let p = p * s + 62.0 / 2835.0;
    let p = p * s - 17.0 / 315.0;
    let p = p * s + 2.0 / 15.0;
    let p = p * s - 1.0 / 3.0;
    a + a * (s * p)
}

/// `eᵗ` for `−40 ≤ t ≤ 0`: `2ᵏ·eʳ` with `k = round(t/ln 2)`.
#[inline(always)]
fn exp_of_negative(t: f64) -> f64 {
    let shifted = t * LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (t - k * LN2_HI) - k * LN2_LO;
    // eʳ = Σ rⁿ/n!, n ≤ 11, Horner from the highest term
    let mut p = 1.0 / 39_916_800.0;
    for inverse_factorial in [
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + inverse_factorial;
    }
    // the low bits of `shifted` hold k (two's complement, |k| ≤ 58); k + 1023
    // moved to the exponent field is the double 2ᵏ
    let two_to_k = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    p * two_to_k
}

#[cfg(test)]
mod tests {
    use super::{tanh, LN2_HI, LN2_LO};

    /// One unit in the last place apart (or equal), by the ordered bits.
    fn ulps(a: f32, b: f32) -> u32 {
        let key = |v: f32| {
            let bits = v.to_bits() as i32;
            if bits < 0 {
                i32::MIN - bits
            } else {
                bits
            }
        };
        key(a).abs_diff(key(b))
    }

    #[test]
    fn agrees_with_f64_tanh_rounded_once_over_a_sweep_of_all_f32() {
        // every 257th bit pattern: 16.7 million inputs of every sign, binade,
        // subnormals and NaNs among them
        let (mut checked, mut off_by_one) = (0u64, 0u64);
        for bits in (0..=u32::MAX).step_by(257) {
            let x = f32::from_bits(bits);
            let (got, want) = (tanh(x), f64::from(x).tanh() as f32);
            if x.is_nan() {
                assert!(got.is_nan(), "tanh(NaN) = {got}");
                continue;
            }
            checked += 1;
            match ulps(got, want) {
                0 => {}
                1 => off_by_one += 1,
                d => panic!("tanh({x:e}) = {got:e}, f64 tanh rounded: {want:e} ({d} ulps)"),
            }
        }
        assert!(checked > 16_000_000);
        // the module's bound allows about one in a million
        assert!(off_by_one <= 17, "{off_by_one} of {checked} one ulp off");
    }

    #[test]
    fn the_slice_kernel_computes_the_same_bits() {
        // long enough for the vector loop and its remainder, with specials
        let mut xs: Vec<f32> = (0..1003).map(|i| (i as f32 - 501.0) * 0.0173).collect();
        xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-30]);
        let mut out = vec![std::mem::MaybeUninit::uninit(); xs.len()];
        super::tanh_into(&xs, &mut out);
        for (x, o) in xs.iter().zip(&out) {
            // SAFETY: `tanh_into` wrote every element of `out`
            let got = unsafe { o.assume_init() };
            assert_eq!(got.to_bits(), tanh(*x).to_bits(), "tanh({x})");
        }
    }

    #[test]
    fn splits_ln_2_exactly() {
        assert!(LN2_HI.to_bits().trailing_zeros() >= 21);
        assert_eq!(LN2_HI + LN2_LO, std::f64::consts::LN_2);
    }

    #[test]
    fn keeps_signs_zeros_infinities_and_tiny_inputs() {
        assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh(f32::MAX), 1.0);
        assert_eq!(tanh(-9.5), -1.0);
        let tiny = f32::from_bits(1); // the smallest subnormal
        assert_eq!(tanh(tiny), tiny);
        assert_eq!(tanh(1e-20), 1e-20);
        assert!(tanh(f32::NAN).is_nan());
        // the switch between the two formulas, both sides
        let at = 0.0625f32.to_bits();
        for x in [at - 1, at, at + 1].map(f32::from_bits) {
            assert!(ulps(tanh(x), f64::from(x).tanh() as f32) <= 1, "{x}");
        }
    }
}
