//! Softmax and log-softmax: SIMD variants against the f64 reference.
//!
//! Measured max deviation on these inputs (AVX2 / NEON), for rows up to 1029
//! long and, in brackets, for one 151936-long vocabulary row, where the f32
//! sum over 32 (16) lanes dominates:
//! - softmax, relative, for probabilities ≥ 1e-30: 3.0·ε / 3.2·ε
//!   [22·ε / 41·ε]; asserted `(dim/32 + 6)·ε`;
//! - log-softmax, absolute in units of ε·(|x − m| + 1): 3.7 / 4.0 [18 / 34];
//!   asserted `(dim/32 + 6)` of those units.

use omnirt_kernels::softmax;
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

const DIMS: [usize; 14] = [
    1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1003, 1029, 151_936,
];

fn logits(rng: &mut Rng, n: usize, spread: f32) -> Vec<f32> {
    (0..n).map(|_| rng.normal() * spread).collect()
}

fn bound(dim: usize) -> f32 {
    (dim as f32 / 32.0 + 6.0) * f32::EPSILON
}

#[test]
fn softmax_matches_the_reference() {
    let mut rng = Rng::new(50);
    // Worst relative deviation for rows up to 1029 long and for the vocabulary row.
    let (mut worst, mut worst_vocab) = (0.0f32, 0.0f32);
    for isa in Isa::available() {
        for &dim in &DIMS {
            for spread in [1.0, 8.0, 1e4] {
                let rows = if dim > 10_000 { 1 } else { 5 };
                let x = logits(&mut rng, rows * dim, spread);
                let mut got = vec![0.0; x.len()];
                let mut want = vec![0.0; x.len()];
                let worst = if dim > 10_000 {
                    &mut worst_vocab
                } else {
                    &mut worst
                };
                softmax::softmax_rows_with(isa, &x, dim, &mut got);
                softmax::softmax_rows_with(Isa::Scalar, &x, dim, &mut want);
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    let what =
                        format!("{isa} dim={dim} spread={spread} i={i}: got {g:e}, want {w:e}");
                    if w >= 1e-30 {
                        let rel = (g - w).abs() / w;
                        *worst = worst.max(rel / f32::EPSILON);
                        assert!(rel <= bound(dim), "{what}");
                    } else {
                        assert!((g - w).abs() <= 1e-37, "{what}");
                    }
                }
                // In place gives the same bits as out of place.
                let mut inplace = x.clone();
                softmax::softmax_rows_inplace_with(isa, &mut inplace, dim);
                assert_eq!(inplace, got, "{isa} dim={dim}: in place differs");
                for row in got.chunks(dim) {
                    let total: f64 = row.iter().map(|&v| f64::from(v)).sum();
                    assert!(
                        (total - 1.0).abs() <= 1e-5,
                        "{isa} dim={dim}: row sums to {total}"
                    );
                }
            }
        }
    }
    println!("softmax: max relative deviation {worst:.2}·ε (dim ≤ 1029), {worst_vocab:.2}·ε (dim 151936)");
}

#[test]
fn softmax_special_rows() {
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    for isa in Isa::available() {
        let run = |x: &[f32]| {
            let mut out = vec![0.0; x.len()];
            softmax::softmax_rows_with(isa, x, x.len(), &mut out);
            out
        };
        assert_close(
            &run(&[1.0, 2.0, 3.0]),
            &[0.090_030_57, 0.244_728_47, 0.665_240_96],
            0.0,
            3e-7,
            "1,2,3",
        );
        // Huge logits: no overflow.
        assert_eq!(run(&[1000.0, 1000.0]), [0.5, 0.5]);
        assert_eq!(run(&[1e30, -1e30, 0.0, 3e38]), [0.0, 0.0, 0.0, 1.0]);
        let mut wide = vec![-1e30f32; 37];
        wide[20] = 88.0;
        let out = run(&wide);
        assert_eq!(out[20], 1.0);
        assert!(out.iter().enumerate().all(|(i, &v)| i == 20 || v == 0.0));
        // −inf entries get exactly 0.
        assert_close(
            &run(&[-inf, 0.0, -inf, 0.0]),
            &[0.0, 0.5, 0.0, 0.5],
            0.0,
            0.0,
            "-inf",
        );
        // PyTorch semantics: NaN, +inf or an all −inf row poison the row.
        for bad in [vec![1.0, nan, 2.0], vec![1.0, inf, 2.0], vec![-inf; 9]] {
            assert!(run(&bad).iter().all(|v| v.is_nan()), "{isa} {bad:?}");
        }
    }
}

#[test]
fn log_softmax_matches_the_reference() {
    let mut rng = Rng::new(51);
    let (mut worst, mut worst_vocab) = (0.0f32, 0.0f32);
    for isa in Isa::available() {
        for &dim in &DIMS {
            for spread in [1.0, 8.0, 1e4] {
                let rows = if dim > 10_000 { 1 } else { 5 };
                let x = logits(&mut rng, rows * dim, spread);
                let mut got = vec![0.0; x.len()];
                let mut want = vec![0.0; x.len()];
                let worst = if dim > 10_000 {
                    &mut worst_vocab
                } else {
                    &mut worst
                };
                softmax::log_softmax_rows_with(isa, &x, dim, &mut got);
                softmax::log_softmax_rows_with(Isa::Scalar, &x, dim, &mut want);
                for (r, row) in x.chunks(dim).enumerate() {
                    let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                    for (j, &v) in row.iter().enumerate() {
                        let i = r * dim + j;
                        let scale = (v - m).abs() + 1.0;
                        let err = (got[i] - want[i]).abs() / scale;
                        *worst = worst.max(err / f32::EPSILON);
                        assert!(
                            err <= bound(dim),
                            "{isa} dim={dim} i={i}: got {}, want {}",
                            got[i],
                            want[i]
                        );
                    }
                }
            }
        }
    }
    println!("log_softmax: max deviation {worst:.2}·ε·(|x − m| + 1) (dim ≤ 1029), {worst_vocab:.2} (dim 151936)");
}

#[test]
fn log_softmax_known_rows() {
    for isa in Isa::available() {
        let mut out = [0.0; 2];
        softmax::log_softmax_rows_with(isa, &[0.0, 0.0], 2, &mut out);
        assert_close(&out, &[-std::f32::consts::LN_2; 2], 0.0, 1e-7, "ln 1/2");
        // Tiny probabilities stay finite and exact in log space.
        softmax::log_softmax_rows_with(isa, &[0.0, -1000.0], 2, &mut out);
        assert_eq!(out, [0.0, -1000.0]);
        let mut out = [0.0; 3];
        softmax::log_softmax_rows_with(isa, &[f32::NEG_INFINITY, 1.0, 1.0], 3, &mut out);
        assert_eq!(out[0], f32::NEG_INFINITY);
        assert_close(
            &out[1..],
            &[-std::f32::consts::LN_2; 2],
            0.0,
            1e-7,
            "with -inf",
        );
    }
}

#[test]
#[should_panic(expected = "whole rows")]
fn partial_row_panics() {
    softmax::softmax_rows(&[1.0; 7], 4, &mut [0.0; 7]);
}
