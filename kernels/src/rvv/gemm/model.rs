//! The portable model of the RVV GEMM kernels: the same per-output arithmetic as
//! the asm (one fused chain per output in k order; for the dot kernel the same
//! lane split and ordered lane sum), so results match bit for bit. The loops are
//! arranged for the host, not for RVV: 4 rows × 16 columns of accumulators in
//! fixed-size arrays that LLVM keeps in registers and vectorizes (with FMA when
//! the x86 host has it, chosen at run time; `mul_add` is exact either way).
//!
//! f16 accumulation emulates `vfmacc` at e16 as `f16(a·b + c)` computed in f64: the
//! product of two f16 values is exact in f64, but the f64 sum can round when the
//! operands' exponents are far apart, and rounding that sum again to f16 can in
//! rare cases differ from the single rounding of a fused f16 FMA (double
//! rounding). The tests compare this path native-vs-model bit for bit; a
//! difference there would show up as a failure naming this caveat.

use half::f16;

use super::super::strips;
use super::Kind;

/// A B element widened exactly to f32.
trait Widen: Copy {
    fn widen(self) -> f32;
}

impl Widen for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
}

/// bf16 bits: the top half of an f32 (the asm's `vzext.vf2` + `vsll.vi 16`).
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Bf16Bits(u16);

impl Widen for Bf16Bits {
    #[inline(always)]
    fn widen(self) -> f32 {
        f32::from_bits((self.0 as u32) << 16)
    }
}

impl Widen for f16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
}

/// Columns per model block (two AVX2 registers).
const W: usize = 16;
/// Rows per model block.
const G: usize = 4;

/// One f16 fused multiply-add `a·b + c` of f16 values (see the module docs for
/// the caveat), returned widened to f32.
#[inline(always)]
fn fma_f16(a: f32, b: f32, c: f32) -> f32 {
    round_to_f16(a as f64 * b as f64 + c as f64)
}

/// `x` rounded to the nearest f16 (ties to even, overflow to ±inf, subnormals
/// kept), widened to f32. Not `half::f16::from_f64`: its portable version drops
/// the low 32 mantissa bits before rounding and its F16C version goes through
/// f32, both of which round some ties wrongly.
#[inline(always)]
fn round_to_f16(x: f64) -> f32 {
    let ax = x.abs();
    // The f16 quantum at |x|: 2^(e-10) for normal values, 2^-24 below 2^-14
    // (NaN and infinity give e = 1024, still a valid exponent for both factors).
    let e = (((ax.to_bits() >> 52) as i64) - 1023).max(-14);
    let ulp = f64::from_bits(((e - 10 + 1023) as u64) << 52);
    let inv = f64::from_bits(((10 - e + 1023) as u64) << 52);
    // Scaling by powers of two is exact, so this is one correct rounding.
    let r = (ax * inv).round_ties_even() * ulp;
    // 65520 = 65504 + ulp/2, a tie that rounds to even: infinity.
    let r = if ax >= 65520.0 { f64::INFINITY } else { r };
    r.copysign(x) as f32
}

/// Whether the x86 host has AVX2 + FMA (checked once).
#[cfg(target_arch = "x86_64")]
fn has_fma() -> bool {
    use std::sync::OnceLock;
    static FMA: OnceLock<bool> = OnceLock::new();
    *FMA.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// See `super::tile`.
///
/// # Safety
/// As `super::tile`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn tile(
    kind: Kind,
    rows: usize,
    kc: usize,
    a: *const u8,
    b: *const u8,
    b_stride: usize,
    c: *mut f32,
    ldc: usize,
    vl: usize,
    load_c: bool,
) {
    // SAFETY (all arms): forwarded; the pointer casts name the kind's B type.
    unsafe {
        match kind {
            Kind::F32 => {
                chain_any::<f32>(rows, kc, a.cast(), b.cast(), b_stride, c, ldc, vl, load_c)
            }
            Kind::Bf16 => {
                chain_any::<Bf16Bits>(rows, kc, a.cast(), b.cast(), b_stride, c, ldc, vl, load_c)
            }
            Kind::F16Widen => {
                chain_any::<f16>(rows, kc, a.cast(), b.cast(), b_stride, c, ldc, vl, load_c)
            }
            Kind::F16Acc => chain_f16(rows, kc, a.cast(), b.cast(), b_stride, c, ldc, vl, load_c),
        }
    }
}

/// Picks the FMA build of `chain` when the host has it.
///
/// # Safety
/// As `super::tile` with `a` f32 and `b` of type `T`.
#[allow(clippy::too_many_arguments)]
unsafe fn chain_any<T: Widen>(
    rows: usize,
    kc: usize,
    a: *const f32,
    b: *const T,
    bs: usize,
    c: *mut f32,
    ldc: usize,
    vl: usize,
    load_c: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the host has AVX2 and FMA; the rest is forwarded.
        unsafe { chain_fma::<T>(rows, kc, a, b, bs, c, ldc, vl, load_c) };
        return;
    }
    // SAFETY: forwarded.
    unsafe { chain::<T>(rows, kc, a, b, bs, c, ldc, vl, load_c) }
}

/// `chain` compiled with AVX2 + FMA.
///
/// # Safety
/// The host has AVX2 and FMA; otherwise as `chain`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn chain_fma<T: Widen>(
    rows: usize,
    kc: usize,
    a: *const f32,
    b: *const T,
    bs: usize,
    c: *mut f32,
    ldc: usize,
    vl: usize,
    load_c: bool,
) {
    // SAFETY: forwarded.
    unsafe { chain::<T>(rows, kc, a, b, bs, c, ldc, vl, load_c) }
}

/// The f32 chains of a `rows × vl` tile, in blocks of up to `G` rows × 16 or 8
/// columns (the last block of a row range padded).
///
/// # Safety
/// As `super::tile` with `a` f32 and `b` of type `T`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn chain<T: Widen>(
    rows: usize,
    kc: usize,
    a: *const f32,
    b: *const T,
    bs: usize,
    c: *mut f32,
    ldc: usize,
    vl: usize,
    load_c: bool,
) {
    // SAFETY: the packed A holds `kc·rows` values.
    let a = unsafe { std::slice::from_raw_parts(a, kc * rows) };
    let mut c0 = 0;
    while c0 < vl {
        let left = vl - c0;
        let w = if left >= W { W } else { left.min(8) };
        for r0 in (0..rows).step_by(G) {
            let g = G.min(rows - r0);
            let blk = Block {
                kc,
                a,
                rows,
                r0,
                b,
                bs,
                c0,
                w,
                c,
                ldc,
                load_c,
            };
            // SAFETY: forwarded; the block lies inside the tile.
            unsafe {
                match (g, w > 8) {
                    (4, true) => blk.run::<4, 16>(),
                    (3, true) => blk.run::<3, 16>(),
                    (2, true) => blk.run::<2, 16>(),
                    (1, true) => blk.run::<1, 16>(),
                    (4, false) => blk.run::<4, 8>(),
                    (3, false) => blk.run::<3, 8>(),
                    (2, false) => blk.run::<2, 8>(),
                    _ => blk.run::<1, 8>(),
                }
            }
        }
        c0 += w;
    }
}

/// Rows `r0..r0+R` × columns `c0..c0+w` (`w ≤ WW`) of a tile.
struct Block<'a, T> {
    kc: usize,
    a: &'a [f32],
    rows: usize,
    r0: usize,
    b: *const T,
    bs: usize,
    c0: usize,
    w: usize,
    c: *mut f32,
    ldc: usize,
    load_c: bool,
}

impl<T: Widen> Block<'_, T> {
    /// # Safety
    /// `R` rows from `r0` and `w` columns from `c0` lie inside the tile (`super::tile`).
    #[inline(always)]
    unsafe fn run<const R: usize, const WW: usize>(&self) {
        let (w, c0, r0) = (self.w, self.c0, self.r0);
        let mut acc = [[0f32; WW]; R];
        if self.load_c {
            for (r, accr) in acc.iter_mut().enumerate() {
                // SAFETY: C row r0+r holds columns c0..c0+w.
                let cr =
                    unsafe { std::slice::from_raw_parts(self.c.add((r0 + r) * self.ldc + c0), w) };
                accr[..w].copy_from_slice(cr);
            }
        }
        let mut bv = [0f32; WW];
        for p in 0..self.kc {
            // SAFETY: B row p holds columns c0..c0+w.
            let br = unsafe { std::slice::from_raw_parts(self.b.add(p * self.bs + c0), w) };
            if let Ok(full) = <&[T; WW]>::try_from(br) {
                for l in 0..WW {
                    bv[l] = full[l].widen();
                }
            } else {
                for (x, y) in bv.iter_mut().zip(br) {
                    *x = y.widen();
                }
            }
            let ap = &self.a[p * self.rows + r0..][..R];
            for r in 0..R {
                for l in 0..WW {
                    acc[r][l] = ap[r].mul_add(bv[l], acc[r][l]);
                }
            }
        }
        for (r, accr) in acc.iter().enumerate() {
            // SAFETY: C row r0+r holds columns c0..c0+w that only this call writes.
            let cr =
                unsafe { std::slice::from_raw_parts_mut(self.c.add((r0 + r) * self.ldc + c0), w) };
            cr.copy_from_slice(&accr[..w]);
        }
    }
}

/// The f16 chains of a tile (A and B are f16 bits); C holds the widened results.
///
/// # Safety
/// As `super::tile` for `Kind::F16Acc`.
#[allow(clippy::too_many_arguments)]
unsafe fn chain_f16(
    rows: usize,
    kc: usize,
    a: *const u16,
    b: *const u16,
    bs: usize,
    c: *mut f32,
    ldc: usize,
    vl: usize,
    load_c: bool,
) {
    // SAFETY: the packed A holds `kc·rows` values.
    let a = unsafe { std::slice::from_raw_parts(a, kc * rows) };
    let mut acc = vec![0f32; rows * vl];
    if load_c {
        for (r, accr) in acc.chunks_exact_mut(vl).enumerate() {
            // SAFETY: C row r holds vl columns.
            let cr = unsafe { std::slice::from_raw_parts(c.add(r * ldc), vl) };
            // `vfncvt.f.f.w` of a value that came from f16: exact.
            for (x, &y) in accr.iter_mut().zip(cr) {
                *x = f16::from_f32(y).to_f32();
            }
        }
    }
    let mut bv = vec![0f32; vl];
    for p in 0..kc {
        // SAFETY: B row p holds vl elements.
        let br = unsafe { std::slice::from_raw_parts(b.add(p * bs), vl) };
        for (x, &y) in bv.iter_mut().zip(br) {
            *x = f16::from_bits(y).to_f32();
        }
        for (r, accr) in acc.chunks_exact_mut(vl).enumerate() {
            let av = f16::from_bits(a[p * rows + r]).to_f32();
            fma_f16_row(av, &bv, accr);
        }
    }
    for (r, accr) in acc.chunks_exact(vl).enumerate() {
        // SAFETY: C row r holds vl columns that only this call writes.
        let cr = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), vl) };
        cr.copy_from_slice(accr);
    }
}

/// `acc[l] = f16 fma(a, b[l], acc[l])`, vectorized with AVX2 on x86 hosts that
/// have it.
fn fma_f16_row(a: f32, b: &[f32], acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the host has AVX2 and FMA.
        unsafe { fma_f16_row_avx2(a, b, acc) };
        return;
    }
    for (x, &y) in acc.iter_mut().zip(b) {
        *x = fma_f16(a, y, *x);
    }
}

/// # Safety
/// The host has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_f16_row_avx2(a: f32, b: &[f32], acc: &mut [f32]) {
    for (x, &y) in acc.iter_mut().zip(b) {
        *x = fma_f16(a, y, *x);
    }
}

/// `acc[l] = f16 fma(a[l], b[l], acc[l])`.
fn fma_f16_rows(a: &[f32], b: &[f32], acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the host has AVX2 and FMA.
        unsafe { fma_f16_rows_avx2(a, b, acc) };
        return;
    }
    for ((x, &y), &z) in acc.iter_mut().zip(a).zip(b) {
        *x = fma_f16(y, z, *x);
    }
}

/// # Safety
/// The host has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_f16_rows_avx2(a: &[f32], b: &[f32], acc: &mut [f32]) {
    for ((x, &y), &z) in acc.iter_mut().zip(a).zip(b) {
        *x = fma_f16(y, z, *x);
    }
}

/// See `super::dot`: `lanes` is VLMAX at m4 of the chain's SEW.
///
/// # Safety
/// As `super::dot`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn dot(
    kind: Kind,
    rows: usize,
    k: usize,
    a: *const u8,
    lda: usize,
    b: *const u8,
    out: *mut f32,
    ldc: usize,
    lanes: usize,
) {
    // SAFETY (all arms): forwarded; the pointer casts name the kind's types.
    unsafe {
        match kind {
            Kind::F32 => dot_any::<f32>(rows, k, a.cast(), lda, b.cast(), out, ldc, lanes),
            Kind::Bf16 => dot_any::<Bf16Bits>(rows, k, a.cast(), lda, b.cast(), out, ldc, lanes),
            Kind::F16Widen => dot_any::<f16>(rows, k, a.cast(), lda, b.cast(), out, ldc, lanes),
            Kind::F16Acc => dot_f16(rows, k, a.cast(), lda, b.cast(), out, ldc, lanes),
        }
    }
}

/// # Safety
/// As `super::dot` with `a` f32 and `b` of type `T`.
#[allow(clippy::too_many_arguments)]
unsafe fn dot_any<T: Widen>(
    rows: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const T,
    out: *mut f32,
    ldc: usize,
    lanes: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the host has AVX2 and FMA; the rest is forwarded.
        unsafe { dot_fma::<T>(rows, k, a, lda, b, out, ldc, lanes) };
        return;
    }
    // SAFETY: forwarded.
    unsafe { dot_chain::<T>(rows, k, a, lda, b, out, ldc, lanes) }
}

/// `dot_chain` compiled with AVX2 + FMA.
///
/// # Safety
/// The host has AVX2 and FMA; otherwise as `dot_chain`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_fma<T: Widen>(
    rows: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const T,
    out: *mut f32,
    ldc: usize,
    lanes: usize,
) {
    // SAFETY: forwarded.
    unsafe { dot_chain::<T>(rows, k, a, lda, b, out, ldc, lanes) }
}

/// Lane `l` chains `p = s + l` over the strips `s`, then the lanes are summed in
/// order from +0 (`vfredosum`).
///
/// # Safety
/// As `super::dot` with `a` f32 and `b` of type `T`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_chain<T: Widen>(
    rows: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const T,
    out: *mut f32,
    ldc: usize,
    lanes: usize,
) {
    // SAFETY: B's row holds k elements.
    let b = unsafe { std::slice::from_raw_parts(b, k) };
    let mut acc = vec![0f32; lanes];
    for i in 0..rows {
        // SAFETY: A row i holds k elements.
        let ar = unsafe { std::slice::from_raw_parts(a.add(i * lda), k) };
        acc.fill(0.0);
        // Full strips, then the short last one (lanes past it keep their sums).
        let full = k / lanes * lanes;
        for (ac, bc) in ar[..full]
            .chunks_exact(lanes)
            .zip(b[..full].chunks_exact(lanes))
        {
            for ((x, &y), &z) in acc.iter_mut().zip(ac).zip(bc) {
                *x = y.mul_add(z.widen(), *x);
            }
        }
        for ((x, &y), &z) in acc.iter_mut().zip(&ar[full..]).zip(&b[full..]) {
            *x = y.mul_add(z.widen(), *x);
        }
        let sum = acc.iter().fold(0.0f32, |s, &x| s + x);
        // SAFETY: output i lies inside C and belongs to this call.
        unsafe { *out.add(i * ldc) = sum };
    }
}

/// The f16 chains per lane, summed in f32 in lane order (`vfwredosum`).
///
/// # Safety
/// As `super::dot` for `Kind::F16Acc`.
#[allow(clippy::too_many_arguments)]
unsafe fn dot_f16(
    rows: usize,
    k: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    out: *mut f32,
    ldc: usize,
    lanes: usize,
) {
    // SAFETY: B's row holds k elements.
    let b = unsafe { std::slice::from_raw_parts(b, k) };
    let h = |x: u16| f16::from_bits(x).to_f32();
    let bf: Vec<f32> = b.iter().map(|&x| h(x)).collect();
    let mut af = vec![0f32; k];
    let mut acc = vec![0f32; lanes];
    for i in 0..rows {
        // SAFETY: A row i holds k elements.
        let ar = unsafe { std::slice::from_raw_parts(a.add(i * lda), k) };
        for (x, &y) in af.iter_mut().zip(ar) {
            *x = h(y);
        }
        acc.fill(0.0);
        for (s, vl) in strips(k, lanes) {
            fma_f16_rows(&af[s..s + vl], &bf[s..s + vl], &mut acc[..vl]);
        }
        let sum = acc.iter().fold(0.0f32, |s, &x| s + x);
        // SAFETY: output i lies inside C and belongs to this call.
        unsafe { *out.add(i * ldc) = sum };
    }
}

#[cfg(test)]
mod tests {
    use super::round_to_f16;
    use half::f16;

    #[test]
    fn rounding_to_f16_matches_f32_conversion_and_breaks_ties_to_even() {
        // Every f16 value and every midpoint between neighbours (exact in f32,
        // where f32 -> f16 conversion rounds correctly).
        for bits in 0..0x7c00u16 {
            let x = f16::from_bits(bits).to_f32();
            let next = f16::from_bits(bits + 1).to_f32();
            for v in [x, (x + next) / 2.0, x + (next - x) * 0.25] {
                for s in [v, -v] {
                    let want = f16::from_f32(s).to_f32();
                    assert_eq!(round_to_f16(s as f64).to_bits(), want.to_bits(), "{s}");
                }
            }
        }
        // A tie in the high bits with a sticky bit far below rounds up.
        let tie = 1.0 + 2f64.powi(-11);
        assert_eq!(round_to_f16(tie) as f64, 1.0);
        assert_eq!(
            round_to_f16(tie + 2f64.powi(-40)) as f64,
            1.0 + 2f64.powi(-10)
        );
        assert_eq!(round_to_f16(65519.0), 65504.0);
        assert_eq!(round_to_f16(65520.0), f32::INFINITY);
        assert_eq!(round_to_f16(-1e9), f32::NEG_INFINITY);
        assert!(round_to_f16(f64::NAN).is_nan());
    }
}
