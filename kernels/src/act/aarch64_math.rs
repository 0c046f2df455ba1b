//! NEON transcendentals on 4 lanes, shared by the activation and softmax
//! kernels: the same algorithms and constants as `x86_math.rs`.

use std::arch::aarch64::*;

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
#[target_feature(enable = "neon")]
unsafe fn splat(v: f32) -> float32x4_t {
    vdupq_n_f32(v)
}

/// Horner evaluation, coefficients highest degree first.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn horner<const N: usize>(x: float32x4_t, coeffs: &[f32; N]) -> float32x4_t {
    let mut acc = splat(coeffs[0]);
    for &c in &coeffs[1..] {
        acc = vfmaq_f32(splat(c), acc, x);
    }
    acc
}

/// `2^n` for integer lanes with −126 ≤ n ≤ 127.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn pow2i(n: int32x4_t) -> float32x4_t {
    vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n, vdupq_n_s32(127))))
}

/// e^x, within ~1 ulp of the correctly rounded value for normal results;
/// overflows to +inf, underflows through the subnormals to 0, NaN stays NaN.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn exp(x: float32x4_t) -> float32x4_t {
    // FMIN/FMAX propagate NaN.
    let x = vmaxq_f32(vminq_f32(x, splat(EXP_MAX_ARG)), splat(EXP_MIN_ARG));
    let n = vrndnq_f32(vmulq_f32(x, splat(std::f32::consts::LOG2_E)));
    let r = vfmsq_f32(x, n, splat(LN2_HI));
    let r = vfmsq_f32(r, n, splat(LN2_LO));
    let p = horner(r, &EXP_POLY);
    let er = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), splat(1.0));
    // n lies in [−150, 128]: apply 2^n as two factors so neither leaves the
    // normal range; the second multiply is the only rounding (into subnormals).
    let n = vcvtq_s32_f32(n);
    let half = vshrq_n_s32::<1>(n);
    let rest = vsubq_s32(n, half);
    vmulq_f32(vmulq_f32(er, pow2i(half)), pow2i(rest))
}

/// 1 / (1 + e^(−x)).
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn sigmoid(x: float32x4_t) -> float32x4_t {
    vdivq_f32(splat(1.0), vaddq_f32(splat(1.0), exp(vnegq_f32(x))))
}

/// x / (1 + e^(−x)).
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn silu(x: float32x4_t) -> float32x4_t {
    vdivq_f32(x, vaddq_f32(splat(1.0), exp(vnegq_f32(x))))
}

/// x / (1 + e^(−2u)), u = √(2/π)·(x + 0.044715·x³). u is rounded exactly as in
/// the reference (no FMA): e^(−2u) magnifies any difference in u by |2u|.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn gelu_tanh(x: float32x4_t) -> float32x4_t {
    let x3 = vmulq_f32(vmulq_f32(x, x), x);
    let inner = vaddq_f32(x, vmulq_f32(splat(GELU_CUBIC), x3));
    let u = vmulq_f32(splat(SQRT_2_OVER_PI), inner);
    vdivq_f32(x, vaddq_f32(splat(1.0), exp(vmulq_f32(splat(-2.0), u))))
}

/// tanh x: odd polynomial near 0 (where `1 − 2/(e^2|x| + 1)` would cancel),
/// that formula with the sign of x elsewhere.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn tanh(x: float32x4_t) -> float32x4_t {
    let ax = vabsq_f32(x);
    let z = vmulq_f32(x, x);
    let small = vfmaq_f32(x, vmulq_f32(x, z), horner(z, &TANH_POLY));
    let e = exp(vaddq_f32(ax, ax));
    let large = vsubq_f32(splat(1.0), vdivq_f32(splat(2.0), vaddq_f32(e, splat(1.0))));
    let sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x8000_0000));
    let large = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(large), sign));
    vbslq_f32(vcltq_f32(ax, splat(TANH_SMALL_LIMIT)), small, large)
}

/// erfc z, given z² = `sq_hi + sq_lo` exactly (see `x86_math::erfc_split`).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn erfc_split(z: float32x4_t, sq_hi: float32x4_t, sq_lo: float32x4_t) -> float32x4_t {
    let az = vabsq_f32(z);
    // Near 0: erfc = 1 − z·P(z²).
    let small = vfmsq_f32(splat(1.0), z, horner(vmulq_f32(z, z), &ERFC_SMALL));
    // Elsewhere: erfc|z| = e^(−z²)·R(t), t = 1/(1 + |z|/2), e^(−sq_lo) ≈ 1 − sq_lo.
    let t = vdivq_f32(splat(1.0), vfmaq_f32(splat(1.0), az, splat(0.5)));
    let r = horner(t, &ERFC_LARGE);
    let tail = vmulq_f32(exp(vnegq_f32(sq_hi)), vfmsq_f32(r, sq_lo, r));
    // Past the fitted range erfc|z| is 0 in f32 (this also maps inf to 0, not NaN).
    let beyond = vcgtq_f32(az, splat(ERFC_ZERO_BEYOND));
    let tail = vbslq_f32(beyond, splat(0.0), tail);
    let negative = vcltq_f32(z, splat(0.0));
    let large = vbslq_f32(negative, vsubq_f32(splat(2.0), tail), tail);
    vbslq_f32(vcltq_f32(az, splat(ERFC_SMALL_LIMIT)), small, large)
}

/// 0.5·x·erfc(−x/√2), with (x/√2)² taken exactly as x²/2.
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn gelu_erf(x: float32x4_t) -> float32x4_t {
    let z = vnegq_f32(vmulq_f32(x, splat(std::f32::consts::FRAC_1_SQRT_2)));
    let sq = vmulq_f32(x, x);
    let sq_err = vfmaq_f32(vnegq_f32(sq), x, x);
    let half = splat(0.5);
    let e = erfc_split(z, vmulq_f32(sq, half), vmulq_f32(sq_err, half));
    vmulq_f32(vmulq_f32(half, x), e)
}

/// Whether some lane's |x| is past the fast trigonometric range (or NaN/inf).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn beyond_trig_range(x: float32x4_t) -> bool {
    vminvq_u32(vcleq_f32(vabsq_f32(x), splat(TRIG_FAST_LIMIT))) == 0
}

/// The scalar reference on every lane (the rare out-of-range path).
#[inline(never)]
#[target_feature(enable = "neon")]
unsafe fn per_lane(x: float32x4_t, f: fn(f32) -> f32) -> float32x4_t {
    let mut lanes = [0.0f32; 4];
    vst1q_f32(lanes.as_mut_ptr(), x);
    for v in &mut lanes {
        *v = f(*v);
    }
    vld1q_f32(lanes.as_ptr())
}

/// Cephes range reduction: |x| = j·π/4 + r with j even, |r| ≤ π/4.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn reduce_quarter_pi(ax: float32x4_t) -> (float32x4_t, int32x4_t) {
    let j = vcvtq_s32_f32(vmulq_f32(ax, splat(FOUR_OVER_PI)));
    let j = vandq_s32(vaddq_s32(j, vdupq_n_s32(1)), vdupq_n_s32(!1));
    let y = vcvtq_f32_s32(j);
    let r = vfmsq_f32(ax, y, splat(PI_4_A));
    let r = vfmsq_f32(r, y, splat(PI_4_B));
    let r = vfmsq_f32(r, y, splat(PI_4_C));
    (r, j)
}

/// sin r (when `(j & 2) == 0`) or cos r, by octant, then the sign flip.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn trig_poly(r: float32x4_t, j: int32x4_t, sign: uint32x4_t) -> float32x4_t {
    let z = vmulq_f32(r, r);
    let c = vfmaq_f32(
        vfmsq_f32(splat(1.0), splat(0.5), z),
        vmulq_f32(horner(z, &COS_POLY), z),
        z,
    );
    let s = vfmaq_f32(r, vmulq_f32(horner(z, &SIN_POLY), z), r);
    let use_sin = vceqq_s32(vandq_s32(j, vdupq_n_s32(2)), vdupq_n_s32(0));
    let v = vbslq_f32(use_sin, s, c);
    vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(v), sign))
}

/// sin x (Cephes `sinf`).
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn sin(x: float32x4_t) -> float32x4_t {
    if beyond_trig_range(x) {
        return per_lane(x, scalar::sin);
    }
    let (r, j) = reduce_quarter_pi(vabsq_f32(x));
    let flip = vshlq_n_u32::<29>(vreinterpretq_u32_s32(vandq_s32(j, vdupq_n_s32(4))));
    let sign = veorq_u32(
        vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x8000_0000)),
        flip,
    );
    trig_poly(r, j, sign)
}

/// cos x (Cephes `cosf`).
#[inline]
#[target_feature(enable = "neon")]
pub(crate) unsafe fn cos(x: float32x4_t) -> float32x4_t {
    if beyond_trig_range(x) {
        return per_lane(x, scalar::cos);
    }
    let (r, j) = reduce_quarter_pi(vabsq_f32(x));
    let j = vsubq_s32(j, vdupq_n_s32(2));
    let flip = vshlq_n_u32::<29>(vreinterpretq_u32_s32(vbicq_s32(vdupq_n_s32(4), j)));
    trig_poly(r, j, flip)
}
