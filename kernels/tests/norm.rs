//! RMSNorm and LayerNorm: SIMD variants against the f64-statistics reference,
//! and the reference against hand-computed rows.
//!
//! Measured max deviation from the reference with Rounding::None, in units of
//! ε = 2^-23: RMSNorm 2.3 (AVX2) / 1.8 (NEON) relative; LayerNorm 6.0 / 4.0
//! absolute on outputs of unit scale, times (1 + |mean|/σ) for offset rows.
//! Asserted bounds: `(dim/32 + 4)·ε` and twice that. With bf16/f16 rounding
//! outputs agree except where the f32 value sits on a rounding boundary, which
//! moves it by one step of that format.

use omnirt_kernels::cast::Rounding;
use omnirt_kernels::norm;
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

const DIMS: [usize; 13] = [1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 128, 1000, 1029];

fn bound(dim: usize) -> f32 {
    (dim as f32 / 32.0 + 4.0) * f32::EPSILON
}

/// Largest step of `rounding` relative to the value (0 for none).
fn format_step(rounding: Rounding) -> f32 {
    match rounding {
        Rounding::None => 0.0,
        Rounding::Bf16 => 2f32.powi(-7),
        Rounding::F16 => 2f32.powi(-10),
    }
}

#[test]
fn rms_norm_matches_the_reference() {
    let mut rng = Rng::new(40);
    let mut worst = 0.0f32;
    for isa in Isa::available() {
        for &dim in &DIMS {
            for rounding in [Rounding::None, Rounding::Bf16, Rounding::F16] {
                for with_weight in [false, true] {
                    let rows = 4;
                    let x: Vec<f32> = (0..rows * dim).map(|_| rng.normal() * 3.0).collect();
                    let w: Vec<f32> = (0..dim).map(|_| 1.0 + rng.normal() * 0.1).collect();
                    let weight = with_weight.then_some(&w[..]);
                    let mut got = vec![0.0; x.len()];
                    let mut want = vec![0.0; x.len()];
                    norm::rms_norm_rows_with(isa, &x, weight, dim, 1e-6, rounding, &mut got);
                    norm::rms_norm_rows_with(
                        Isa::Scalar,
                        &x,
                        weight,
                        dim,
                        1e-6,
                        rounding,
                        &mut want,
                    );
                    let step = format_step(rounding);
                    for (i, (&g, &v)) in got.iter().zip(&want).enumerate() {
                        let rel = (g - v).abs() / v.abs().max(f32::MIN_POSITIVE);
                        let what = format!(
                            "{isa} dim={dim} {rounding:?} w={with_weight} i={i}: got {g}, want {v}"
                        );
                        if rounding == Rounding::None {
                            worst = worst.max(rel / f32::EPSILON);
                            assert!(rel <= bound(dim), "{what}");
                        } else {
                            assert!(rel <= step * 1.05 || g == v, "{what}");
                        }
                    }
                }
            }
        }
    }
    println!("rms_norm: max relative deviation {worst:.2}·ε");
}

#[test]
fn rms_norm_known_rows() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let inv = 1.0 / 7.5f32.sqrt();
    for isa in Isa::available() {
        let mut out = [0.0; 4];
        norm::rms_norm_rows_with(isa, &x, None, 4, 0.0, Rounding::None, &mut out);
        assert_close(
            &out,
            &[inv, 2.0 * inv, 3.0 * inv, 4.0 * inv],
            0.0,
            2e-7,
            "rms plain",
        );
        norm::rms_norm_rows_with(
            isa,
            &x,
            Some(&[1.0, 1.0, 2.0, 0.5]),
            4,
            0.0,
            Rounding::None,
            &mut out,
        );
        assert_close(
            &out,
            &[inv, 2.0 * inv, 6.0 * inv, 2.0 * inv],
            0.0,
            2e-7,
            "rms weighted",
        );
        // 3/sqrt(12.5) = 0.848528 → bf16 0.84765625; 4/sqrt(12.5) = 1.131371 → 1.1328125.
        let mut out = [0.0; 2];
        norm::rms_norm_rows_with(isa, &[3.0, 4.0], None, 2, 0.0, Rounding::Bf16, &mut out);
        assert_eq!(out, [0.847_656_25, 1.132_812_5], "{isa}");
        // All zeros: eps keeps it finite.
        let mut out = [9.0; 3];
        norm::rms_norm_rows_with(isa, &[0.0; 3], None, 3, 1e-6, Rounding::None, &mut out);
        assert_eq!(out, [0.0; 3]);
        norm::rms_norm_rows_with(isa, &[], None, 0, 1e-6, Rounding::None, &mut []);
    }
}

#[test]
fn layer_norm_matches_the_reference() {
    let mut rng = Rng::new(41);
    let mut worst = 0.0f32;
    for isa in Isa::available() {
        for &dim in &DIMS {
            for (with_weight, with_bias) in
                [(false, false), (true, false), (false, true), (true, true)]
            {
                for offset in [0.0, 100.0] {
                    let rows = 3;
                    let x: Vec<f32> = (0..rows * dim)
                        .map(|_| offset + rng.normal() * 2.0)
                        .collect();
                    let w: Vec<f32> = (0..dim).map(|_| 1.0 + rng.normal() * 0.1).collect();
                    let b: Vec<f32> = (0..dim).map(|_| rng.normal() * 0.1).collect();
                    let (weight, bias) =
                        (with_weight.then_some(&w[..]), with_bias.then_some(&b[..]));
                    let mut got = vec![0.0; x.len()];
                    let mut want = vec![0.0; x.len()];
                    norm::layer_norm_rows_with(isa, &x, weight, bias, dim, 1e-5, &mut got);
                    norm::layer_norm_rows_with(Isa::Scalar, &x, weight, bias, dim, 1e-5, &mut want);
                    // Outputs are O(1); the mean's rounding shifts all of them by about
                    // ε·|offset|/σ, so judge against that scale.
                    let scale = 1.0 + offset / 2.0;
                    for (i, (&g, &v)) in got.iter().zip(&want).enumerate() {
                        let err = (g - v).abs() / scale;
                        worst = worst.max(err / f32::EPSILON);
                        let what = format!("{isa} dim={dim} w={with_weight} b={with_bias} +{offset} i={i}: {g} vs {v}");
                        assert!(err <= 2.0 * bound(dim), "{what}");
                    }
                }
            }
        }
    }
    println!("layer_norm: max deviation {worst:.2}·ε·(1 + |mean|/σ)");
}

#[test]
fn layer_norm_known_rows() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let inv = 1.0 / 1.25f32.sqrt();
    for isa in Isa::available() {
        let mut out = [0.0; 4];
        norm::layer_norm_rows_with(isa, &x, None, None, 4, 0.0, &mut out);
        assert_close(
            &out,
            &[-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv],
            1e-7,
            1e-6,
            "ln plain",
        );
        norm::layer_norm_rows_with(isa, &x, Some(&[2.0; 4]), Some(&[1.0; 4]), 4, 0.0, &mut out);
        let want = [1.0 - 3.0 * inv, 1.0 - inv, 1.0 + inv, 1.0 + 3.0 * inv];
        assert_close(&out, &want, 1e-6, 1e-6, "ln affine");
        // A constant row normalises to 0 (+ bias).
        norm::layer_norm_rows_with(isa, &[5.0; 4], None, Some(&[0.5; 4]), 4, 1e-5, &mut out);
        assert_eq!(out, [0.5; 4]);
    }
}

#[test]
#[should_panic(expected = "weight must hold")]
fn weight_length_mismatch_panics() {
    norm::rms_norm_rows(
        &[1.0; 8],
        Some(&[1.0; 3]),
        4,
        1e-6,
        Rounding::None,
        &mut [0.0; 8],
    );
}

#[test]
#[should_panic(expected = "whole rows")]
fn partial_row_panics() {
    norm::layer_norm_rows(&[1.0; 7], None, None, 4, 1e-5, &mut [0.0; 7]);
}
