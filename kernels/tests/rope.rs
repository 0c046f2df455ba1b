//! RoPE: every variant is bit-identical to the reference in every rounding
//! mode; the reference matches closed-form rotations and bf16 arithmetic.

use half::bf16;
use omnirt_kernels::cast::Rounding;
use omnirt_kernels::rope;
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

/// cos/sin rows in `cat(freqs, freqs)` form for position `pos`.
fn tables(pos: f32, rotary_dim: usize, rounding: Rounding) -> (Vec<f32>, Vec<f32>) {
    let h = rotary_dim / 2;
    let angle = |i: usize| pos * 10000f32.powf(-((2 * (i % h.max(1))) as f32) / rotary_dim as f32);
    let cos = (0..rotary_dim)
        .map(|i| rounding.apply(angle(i).cos()))
        .collect();
    let sin = (0..rotary_dim)
        .map(|i| rounding.apply(angle(i).sin()))
        .collect();
    (cos, sin)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn rope_half_is_bit_identical_across_variants() {
    let mut rng = Rng::new(60);
    for isa in Isa::available() {
        for head_dim in [2, 8, 16, 18, 64, 80, 128, 130] {
            for rotary_dim in [0, 2, head_dim / 2 / 2 * 2, head_dim] {
                for rounding in [Rounding::None, Rounding::Bf16, Rounding::F16] {
                    let heads = 5;
                    let x: Vec<f32> = (0..heads * head_dim)
                        .map(|_| rounding.apply(rng.normal() * 2.0))
                        .collect();
                    let (cos, sin) = tables(37.0, rotary_dim, rounding);
                    let mut got = vec![0.0; x.len()];
                    let mut want = vec![0.0; x.len()];
                    rope::rope_half_rows_with(
                        isa, &x, &cos, &sin, head_dim, rotary_dim, rounding, &mut got,
                    );
                    rope::rope_half_rows_with(
                        Isa::Scalar,
                        &x,
                        &cos,
                        &sin,
                        head_dim,
                        rotary_dim,
                        rounding,
                        &mut want,
                    );
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{isa} head_dim={head_dim} rotary={rotary_dim} {rounding:?}"
                    );
                    for (g, xr) in got.chunks(head_dim).zip(x.chunks(head_dim)) {
                        assert_eq!(&g[rotary_dim..], &xr[rotary_dim..], "pass-through dims");
                    }
                }
            }
        }
    }
}

#[test]
fn rope_half_rotates_pairs_i_and_i_plus_half() {
    use std::f32::consts::FRAC_PI_2;
    // Pair (0, 2) turns by 90°, pair (1, 3) by 0°; dims 4.. pass through.
    let cos = [FRAC_PI_2.cos(), 1.0, FRAC_PI_2.cos(), 1.0];
    let sin = [1.0, 0.0, 1.0, 0.0];
    for isa in Isa::available() {
        let mut out = [0.0; 6];
        rope::rope_half_rows_with(
            isa,
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &cos,
            &sin,
            6,
            4,
            Rounding::None,
            &mut out,
        );
        assert_close(
            &out,
            &[-3.0, 2.0, 1.0, 4.0, 5.0, 6.0],
            1e-6,
            0.0,
            "90° turn",
        );
    }
    // Against the complex product (x_i + i·x_{i+h})·e^{iθ_i}, and norms kept.
    let mut rng = Rng::new(61);
    let (cos, sin) = tables(123.0, 64, Rounding::None);
    let x = rng.vec(128);
    let mut out = vec![0.0; 128];
    rope::rope_half_rows(&x, &cos, &sin, 128, 64, Rounding::None, &mut out);
    for i in 0..32 {
        let (re, im) = (f64::from(x[i]), f64::from(x[i + 32]));
        let (c, s) = (f64::from(cos[i]), f64::from(sin[i]));
        assert!((f64::from(out[i]) - (re * c - im * s)).abs() < 1e-6);
        assert!((f64::from(out[i + 32]) - (im * c + re * s)).abs() < 1e-6);
        let before = re.hypot(im);
        let after = f64::from(out[i]).hypot(f64::from(out[i + 32]));
        assert!((before - after).abs() < 1e-6 * (1.0 + before));
    }
}

#[test]
fn rope_half_bf16_mirrors_bf16_tensor_arithmetic() {
    // PyTorch on bf16 tensors: q·cos + rotate_half(q)·sin, each op rounded to bf16.
    let mut rng = Rng::new(62);
    let (head_dim, rotary_dim) = (128, 128);
    let h = rotary_dim / 2;
    let x: Vec<f32> = (0..4 * head_dim)
        .map(|_| Rounding::Bf16.apply(rng.normal() * 3.0))
        .collect();
    let (cos, sin) = tables(1000.0, rotary_dim, Rounding::Bf16);
    let b = |v: f32| bf16::from_f32(v);
    for isa in Isa::available() {
        let mut out = vec![0.0; x.len()];
        rope::rope_half_rows_with(
            isa,
            &x,
            &cos,
            &sin,
            head_dim,
            rotary_dim,
            Rounding::Bf16,
            &mut out,
        );
        for (row, out_row) in x.chunks(head_dim).zip(out.chunks(head_dim)) {
            for i in 0..rotary_dim {
                let rotated = if i < h { -b(row[i + h]) } else { b(row[i - h]) };
                let want = b(row[i]) * b(cos[i]) + rotated * b(sin[i]);
                assert_eq!(out_row[i].to_bits(), want.to_f32().to_bits(), "{isa} i={i}");
            }
        }
    }
}

#[test]
fn rope_interleaved_equals_rope_half_on_deinterleaved_rows() {
    let mut rng = Rng::new(63);
    for (head_dim, rotary_dim) in [(8, 8), (64, 32), (10, 6)] {
        for rounding in [Rounding::None, Rounding::Bf16] {
            let h = rotary_dim / 2;
            let x: Vec<f32> = (0..3 * head_dim)
                .map(|_| rounding.apply(rng.normal()))
                .collect();
            let (cos_full, sin_full) = tables(5.0, rotary_dim, rounding);
            let (cos, sin) = (&cos_full[..h], &sin_full[..h]);
            let mut got = vec![0.0; x.len()];
            rope::rope_interleaved_rows(&x, cos, sin, head_dim, rotary_dim, rounding, &mut got);
            // Move pairs (2p, 2p+1) to (p, p+h), apply rotate-half, move back.
            let permute = |row: &[f32]| -> Vec<f32> {
                let mut v: Vec<f32> = (0..h)
                    .map(|p| row[2 * p])
                    .chain((0..h).map(|p| row[2 * p + 1]))
                    .collect();
                v.extend_from_slice(&row[rotary_dim..]);
                v
            };
            for (r, row) in x.chunks(head_dim).enumerate() {
                let mut half = vec![0.0; head_dim];
                rope::rope_half_rows(
                    &permute(row),
                    &cos_full,
                    &sin_full,
                    head_dim,
                    rotary_dim,
                    rounding,
                    &mut half,
                );
                let got_row = &got[r * head_dim..(r + 1) * head_dim];
                assert_eq!(
                    bits(&permute(got_row)),
                    bits(&half),
                    "head_dim={head_dim} rotary={rotary_dim} {rounding:?}"
                );
            }
        }
    }
    let mut out = [0.0; 4];
    rope::rope_interleaved_rows(
        &[1.0, 2.0, 5.0, 6.0],
        &[0.0],
        &[1.0],
        4,
        2,
        Rounding::None,
        &mut out,
    );
    assert_eq!(out, [-2.0, 1.0, 5.0, 6.0]);
}

#[test]
#[should_panic(expected = "cos and sin must hold")]
fn table_length_mismatch_panics() {
    rope::rope_half_rows(
        &[0.0; 8],
        &[1.0; 2],
        &[0.0; 4],
        4,
        4,
        Rounding::None,
        &mut [0.0; 8],
    );
}

#[test]
#[should_panic(expected = "exceeds head_dim")]
fn rotary_dim_above_head_dim_panics() {
    rope::rope_half_rows(
        &[0.0; 8],
        &[1.0; 8],
        &[0.0; 8],
        4,
        8,
        Rounding::None,
        &mut [0.0; 8],
    );
}
