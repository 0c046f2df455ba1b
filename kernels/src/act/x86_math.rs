//! AVX2 + FMA transcendentals on 8 lanes, shared by the activation and softmax
//! kernels. Each mirrors the scalar reference's formula (see `scalar.rs`) so the
//! only differences are the polynomial approximations themselves.

use std::arch::x86_64::*;

use super::erfc_fit::{ERFC_LARGE, ERFC_SMALL, ERFC_SMALL_LIMIT, ERFC_ZERO_BEYOND};
use super::scalar::{self, GELU_CUBIC, SQRT_2_OVER_PI};

/// Cephes `expf` polynomial for e^r on |r| ≤ ln2/2, highest degree first:
/// e^r ≈ 1 + r + r²·P(r).
const EXP_POLY: [f32; 6] = [
    1.9875691e-4,
    1.3981999e-3,
    8.333452e-3,
    4.1665796e-2,
    1.6666666e-1,
    5e-1,
];
/// ln 2 split so that `n · LN2_HI` is exact for the n that occur (Cody–Waite).
const LN2_HI: f32 = 6.933594e-1;
const LN2_LO: f32 = -2.1219444e-4;
/// Below this e^x is 0 in f32 even after rounding; above the upper one it is +inf.
const EXP_MIN_ARG: f32 = -104.0;
const EXP_MAX_ARG: f32 = 89.0;

/// Cephes `tanhf` odd polynomial for |x| < 0.625: tanh x ≈ x + x·z·P(z), z = x².
const TANH_POLY: [f32; 5] = [
    -5.7049887e-3,
    2.0639088e-2,
    -5.3739715e-2,
    1.3331442e-1,
    -3.333328e-1,
];
const TANH_SMALL_LIMIT: f32 = 0.625;

/// Cephes `sinf`/`cosf`: polynomials on |r| ≤ π/4 and π/4 split in three.
const SIN_POLY: [f32; 3] = [-1.9515296e-4, 8.332161e-3, -1.6666655e-1];
const COS_POLY: [f32; 3] = [2.4433157e-5, -1.3887316e-3, 4.1666646e-2];
const PI_4_A: f32 = 7.8515625e-1;
const PI_4_B: f32 = 2.4187565e-4;
const PI_4_C: f32 = 3.774895e-8;
const FOUR_OVER_PI: f32 = 1.2732395;
/// Beyond this the three-part reduction loses accuracy; such lanes use the
/// scalar reference.
const TRIG_FAST_LIMIT: f32 = 8192.0;

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn splat(v: f32) -> __m256 {
    _mm256_set1_ps(v)
}

/// Horner evaluation, coefficients highest degree first.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn horner<const N: usize>(x: __m256, coeffs: &[f32; N]) -> __m256 {
    let mut acc = splat(coeffs[0]);
    for &c in &coeffs[1..] {
        acc = _mm256_fmadd_ps(acc, x, splat(c));
    }
    acc
}

#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn neg(x: __m256) -> __m256 {
    _mm256_xor_ps(x, splat(-0.0))
}

#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn abs(x: __m256) -> __m256 {
    _mm256_andnot_ps(splat(-0.0), x)
}

/// `2^n` for integer lanes with −126 ≤ n ≤ 127.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pow2i(n: __m256i) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
        n,
        _mm256_set1_epi32(127),
    )))
}

/// e^x, within ~1 ulp of the correctly rounded value for normal results;
/// overflows to +inf, underflows through the subnormals to 0, NaN stays NaN.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn exp(x: __m256) -> __m256 {
    // min/max return their second operand when one is NaN, so NaN survives.
    let x = _mm256_max_ps(splat(EXP_MIN_ARG), _mm256_min_ps(splat(EXP_MAX_ARG), x));
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        splat(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, splat(LN2_HI), x);
    let r = _mm256_fnmadd_ps(n, splat(LN2_LO), r);
    let p = horner(r, &EXP_POLY);
    let er = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), splat(1.0));
    // n lies in [−150, 128]: apply 2^n as two factors so neither leaves the
    // normal range; the second multiply is the only rounding (into subnormals).
    let n = _mm256_cvtps_epi32(n);
    let half = _mm256_srai_epi32::<1>(n);
    let rest = _mm256_sub_epi32(n, half);
    _mm256_mul_ps(_mm256_mul_ps(er, pow2i(half)), pow2i(rest))
}

/// 1 / (1 + e^(−x)).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sigmoid(x: __m256) -> __m256 {
    _mm256_div_ps(splat(1.0), _mm256_add_ps(splat(1.0), exp(neg(x))))
}

/// x / (1 + e^(−x)).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn silu(x: __m256) -> __m256 {
    _mm256_div_ps(x, _mm256_add_ps(splat(1.0), exp(neg(x))))
}

/// x / (1 + e^(−2u)), u = √(2/π)·(x + 0.044715·x³). u is rounded exactly as in
/// the reference (no FMA): e^(−2u) magnifies any difference in u by |2u|.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn gelu_tanh(x: __m256) -> __m256 {
    let x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    let inner = _mm256_add_ps(x, _mm256_mul_ps(splat(GELU_CUBIC), x3));
    let u = _mm256_mul_ps(splat(SQRT_2_OVER_PI), inner);
    _mm256_div_ps(
        x,
        _mm256_add_ps(splat(1.0), exp(_mm256_mul_ps(splat(-2.0), u))),
    )
}

/// tanh x: odd polynomial near 0 (where `1 − 2/(e^2|x| + 1)` would cancel),
/// that formula with the sign of x elsewhere.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn tanh(x: __m256) -> __m256 {
    let ax = abs(x);
    let z = _mm256_mul_ps(x, x);
    let small = _mm256_fmadd_ps(_mm256_mul_ps(x, z), horner(z, &TANH_POLY), x);
    let e = exp(_mm256_add_ps(ax, ax));
    let large = _mm256_sub_ps(
        splat(1.0),
        _mm256_div_ps(splat(2.0), _mm256_add_ps(e, splat(1.0))),
    );
    let large = _mm256_or_ps(large, _mm256_and_ps(x, splat(-0.0)));
    let is_small = _mm256_cmp_ps::<_CMP_LT_OQ>(ax, splat(TANH_SMALL_LIMIT));
    _mm256_blendv_ps(large, small, is_small)
}

/// erfc z, given z² = `sq_hi + sq_lo` exactly (callers split it with FMA, or
/// derive it from an exact square, so the Gaussian factor carries no error from
/// rounding z). Within a few ulp in relative terms for normal results; see
/// `erfc_fit.rs` for the approximation.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn erfc_split(z: __m256, sq_hi: __m256, sq_lo: __m256) -> __m256 {
    let az = abs(z);
    // Near 0: erfc = 1 − z·P(z²).
    let small = _mm256_fnmadd_ps(z, horner(_mm256_mul_ps(z, z), &ERFC_SMALL), splat(1.0));
    // Elsewhere: erfc|z| = e^(−z²)·R(t), t = 1/(1 + |z|/2), e^(−sq_lo) ≈ 1 − sq_lo.
    let t = _mm256_div_ps(splat(1.0), _mm256_fmadd_ps(az, splat(0.5), splat(1.0)));
    let r = horner(t, &ERFC_LARGE);
    let tail = _mm256_mul_ps(exp(neg(sq_hi)), _mm256_fnmadd_ps(sq_lo, r, r));
    // Past the fitted range erfc|z| is 0 in f32 (this also maps inf to 0, not NaN).
    let beyond = _mm256_cmp_ps::<_CMP_GT_OQ>(az, splat(ERFC_ZERO_BEYOND));
    let tail = _mm256_andnot_ps(beyond, tail);
    let negative = _mm256_cmp_ps::<_CMP_LT_OQ>(z, _mm256_setzero_ps());
    let large = _mm256_blendv_ps(tail, _mm256_sub_ps(splat(2.0), tail), negative);
    let is_small = _mm256_cmp_ps::<_CMP_LT_OQ>(az, splat(ERFC_SMALL_LIMIT));
    _mm256_blendv_ps(large, small, is_small)
}

/// 0.5·x·erfc(−x/√2), with (x/√2)² taken exactly as x²/2.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn gelu_erf(x: __m256) -> __m256 {
    let z = neg(_mm256_mul_ps(x, splat(std::f32::consts::FRAC_1_SQRT_2)));
    let sq = _mm256_mul_ps(x, x);
    let sq_err = _mm256_fmsub_ps(x, x, sq);
    let half = splat(0.5);
    let e = erfc_split(z, _mm256_mul_ps(sq, half), _mm256_mul_ps(sq_err, half));
    _mm256_mul_ps(_mm256_mul_ps(half, x), e)
}

/// Lanes whose |x| is past the fast trigonometric range (or NaN/inf).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn beyond_trig_range(x: __m256) -> bool {
    let ok = _mm256_cmp_ps::<_CMP_LE_OQ>(abs(x), splat(TRIG_FAST_LIMIT));
    _mm256_movemask_ps(ok) != 0xFF
}

/// The scalar reference on every lane (the rare out-of-range path).
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
unsafe fn per_lane(x: __m256, f: fn(f32) -> f32) -> __m256 {
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), x);
    for v in &mut lanes {
        *v = f(*v);
    }
    _mm256_loadu_ps(lanes.as_ptr())
}

/// Cephes range reduction: |x| = j·π/4 + r with j even, |r| ≤ π/4.
/// Returns (r, j).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn reduce_quarter_pi(ax: __m256) -> (__m256, __m256i) {
    let j = _mm256_cvttps_epi32(_mm256_mul_ps(ax, splat(FOUR_OVER_PI)));
    let j = _mm256_and_si256(
        _mm256_add_epi32(j, _mm256_set1_epi32(1)),
        _mm256_set1_epi32(!1),
    );
    let y = _mm256_cvtepi32_ps(j);
    let r = _mm256_fnmadd_ps(y, splat(PI_4_A), ax);
    let r = _mm256_fnmadd_ps(y, splat(PI_4_B), r);
    let r = _mm256_fnmadd_ps(y, splat(PI_4_C), r);
    (r, j)
}

/// sin r (when `(j & 2) == 0`) or cos r, by octant, then the sign flip.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn trig_poly(r: __m256, j: __m256i, sign: __m256) -> __m256 {
    let z = _mm256_mul_ps(r, r);
    let c = _mm256_fmadd_ps(
        _mm256_mul_ps(horner(z, &COS_POLY), z),
        z,
        _mm256_fnmadd_ps(splat(0.5), z, splat(1.0)),
    );
    let s = _mm256_fmadd_ps(_mm256_mul_ps(horner(z, &SIN_POLY), z), r, r);
    let use_sin = _mm256_cmpeq_epi32(
        _mm256_and_si256(j, _mm256_set1_epi32(2)),
        _mm256_setzero_si256(),
    );
    let v = _mm256_blendv_ps(c, s, _mm256_castsi256_ps(use_sin));
    _mm256_xor_ps(v, sign)
}

/// sin x (Cephes `sinf`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sin(x: __m256) -> __m256 {
    if beyond_trig_range(x) {
        return per_lane(x, scalar::sin);
    }
    let (r, j) = reduce_quarter_pi(abs(x));
    let flip = _mm256_slli_epi32::<29>(_mm256_and_si256(j, _mm256_set1_epi32(4)));
    let sign = _mm256_xor_ps(_mm256_and_ps(x, splat(-0.0)), _mm256_castsi256_ps(flip));
    trig_poly(r, j, sign)
}

/// cos x (Cephes `cosf`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn cos(x: __m256) -> __m256 {
    if beyond_trig_range(x) {
        return per_lane(x, scalar::cos);
    }
    let (r, j) = reduce_quarter_pi(abs(x));
    let j = _mm256_sub_epi32(j, _mm256_set1_epi32(2));
    let flip = _mm256_slli_epi32::<29>(_mm256_andnot_si256(j, _mm256_set1_epi32(4)));
    trig_poly(r, j, _mm256_castsi256_ps(flip))
}
