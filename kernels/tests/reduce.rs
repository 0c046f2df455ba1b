//! Reductions: SIMD sums/dots against the f64 reference within
//! `(len/32 + 8)·ε·Σ|terms|` (measured max 0.47·ε·Σ|terms| on AVX2 and NEON,
//! printed with `--nocapture`); max/min bit-exact; argmax/top-k against a full
//! sort.

use omnirt_kernels::reduce::{self, ReduceOp};
use omnirt_kernels::testing::Rng;
use omnirt_kernels::Isa;

const LENGTHS: [usize; 14] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1003, 1029];

/// Allowed error of an f32 sum of `n` terms whose magnitudes add up to `abs_sum`,
/// and the error in units of `ε·abs_sum` for reporting.
fn sum_error(got: f32, want: f32, n: usize, abs_sum: f64) -> (bool, f64) {
    let unit = abs_sum * f64::from(f32::EPSILON);
    let err = (f64::from(got) - f64::from(want)).abs();
    let ok = err <= (n as f64 / 32.0 + 8.0) * unit;
    (ok, if unit > 0.0 { err / unit } else { 0.0 })
}

#[test]
fn row_reductions_match_the_reference() {
    let mut rng = Rng::new(30);
    let mut worst = 0.0f64;
    for isa in Isa::available() {
        for op in ReduceOp::ALL {
            for &dim in &LENGTHS {
                let rows = 3;
                let x: Vec<f32> = (0..rows * dim).map(|_| rng.normal() * 10.0 + 1.0).collect();
                let mut got = vec![0.0; rows];
                reduce::reduce_rows_with(isa, op, &x, dim, &mut got);
                for r in 0..rows {
                    let row = &x[r * dim..(r + 1) * dim];
                    let want = reduce::scalar::reduce_row(op, row);
                    let what = format!(
                        "{isa} {op:?} dim={dim} row={r}: got {}, want {want}",
                        got[r]
                    );
                    match op {
                        ReduceOp::Sum | ReduceOp::Mean => {
                            let mut abs_sum: f64 = row.iter().map(|v| f64::from(v.abs())).sum();
                            if op == ReduceOp::Mean {
                                abs_sum /= dim.max(1) as f64;
                            }
                            let (ok, units) = sum_error(got[r], want, dim, abs_sum);
                            worst = worst.max(units);
                            assert!(ok || (got[r].is_nan() && want.is_nan()), "{what}");
                        }
                        ReduceOp::Max | ReduceOp::Min => assert_eq!(got[r], want, "{what}"),
                    }
                }
            }
        }
    }
    println!("sum/mean: max error {worst:.3}·ε·Σ|x|");
}

#[test]
fn nan_and_empty_rows() {
    for isa in Isa::available() {
        for dim in [1, 5, 8, 40, 100] {
            for pos in [0, dim / 2, dim - 1] {
                let mut x = vec![1.0f32; dim];
                x[pos] = f32::NAN;
                for op in ReduceOp::ALL {
                    let mut out = [0.0];
                    reduce::reduce_rows_with(isa, op, &x, dim, &mut out);
                    assert!(out[0].is_nan(), "{isa} {op:?} dim={dim} NaN at {pos}");
                }
            }
        }
        let mut out = [7.0; 2];
        for (op, want) in [
            (ReduceOp::Sum, 0.0),
            (ReduceOp::Max, f32::NEG_INFINITY),
            (ReduceOp::Min, f32::INFINITY),
        ] {
            reduce::reduce_rows_with(isa, op, &[], 0, &mut out);
            assert_eq!(out, [want; 2], "{isa} {op:?} empty rows");
        }
        reduce::reduce_rows_with(isa, ReduceOp::Mean, &[], 0, &mut out);
        assert!(out.iter().all(|v| v.is_nan()));
        // Infinities are ordinary values for max/min.
        let x = [
            1.0,
            f32::INFINITY,
            -3.0,
            f32::NEG_INFINITY,
            2.0,
            0.0,
            5.0,
            6.0,
            7.0,
        ];
        let mut out = [0.0];
        reduce::reduce_rows_with(isa, ReduceOp::Max, &x, 9, &mut out);
        assert_eq!(out[0], f32::INFINITY);
        reduce::reduce_rows_with(isa, ReduceOp::Min, &x, 9, &mut out);
        assert_eq!(out[0], f32::NEG_INFINITY);
    }
}

#[test]
fn dot_matches_the_reference() {
    let mut rng = Rng::new(31);
    let mut worst = 0.0f64;
    for isa in Isa::available() {
        for &n in LENGTHS.iter().chain(&[4096, 151_936]) {
            let a = rng.vec(n);
            let b = rng.vec(n);
            let got = reduce::dot_with(isa, &a, &b);
            let want = reduce::scalar::dot(&a, &b);
            let abs_sum: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from((x * y).abs()))
                .sum();
            let (ok, units) = sum_error(got, want, n, abs_sum);
            worst = worst.max(units);
            assert!(ok, "{isa} n={n}: got {got}, want {want}");
        }
    }
    println!("dot: max error {worst:.3}·ε·Σ|a·b|");
    assert_eq!(reduce::dot(&[1.0, 2.0, 3.0], &[4.0, -5.0, 6.0]), 12.0);
}

#[test]
fn known_reductions() {
    let x = [1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 8.0, -2.0];
    let mut out = [0.0; 2];
    reduce::reduce_rows(ReduceOp::Sum, &x, 4, &mut out);
    assert_eq!(out, [10.0, 5.5]);
    reduce::reduce_rows(ReduceOp::Mean, &x, 4, &mut out);
    assert_eq!(out, [2.5, 1.375]);
    reduce::reduce_rows(ReduceOp::Max, &x, 4, &mut out);
    assert_eq!(out, [4.0, 8.0]);
    reduce::reduce_rows(ReduceOp::Min, &x, 4, &mut out);
    assert_eq!(out, [1.0, -2.0]);
}

#[test]
fn argmax_takes_the_first_maximum_and_nan_wins() {
    let x = [
        1.0,
        3.0,
        3.0,
        2.0, // tie: first
        -5.0,
        -1.0,
        -1.0,
        -9.0, // negatives
        0.0,
        f32::NAN,
        9.0,
        f32::NAN, // first NaN
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    ];
    let mut out = [9; 4];
    reduce::argmax_rows(&x, 4, &mut out);
    assert_eq!(out, [1, 1, 1, 0]);
    let mut rng = Rng::new(32);
    for &dim in LENGTHS.iter().filter(|&&d| d > 0) {
        let x: Vec<f32> = (0..5 * dim).map(|_| (rng.normal() * 4.0).round()).collect();
        let mut out = vec![0; 5];
        reduce::argmax_rows(&x, dim, &mut out);
        for (r, &i) in out.iter().enumerate() {
            let row = &x[r * dim..(r + 1) * dim];
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(
                i as usize,
                row.iter().position(|&v| v == m).unwrap(),
                "dim={dim} row={r}"
            );
        }
    }
}

/// Top-k by sorting everything: value descending, NaN first, index ascending.
fn topk_by_full_sort(row: &[f32], k: usize) -> (Vec<f32>, Vec<u32>) {
    let mut idx: Vec<u32> = (0..row.len() as u32).collect();
    idx.sort_by(|&a, &b| {
        let (va, vb) = (row[a as usize], row[b as usize]);
        let key = |v: f32| if v.is_nan() { f32::INFINITY } else { v };
        let nan_first = vb.is_nan().cmp(&va.is_nan());
        nan_first
            .then(key(vb).partial_cmp(&key(va)).unwrap())
            .then(a.cmp(&b))
    });
    idx.truncate(k);
    (idx.iter().map(|&i| row[i as usize]).collect(), idx)
}

#[test]
fn topk_is_sorted_descending_with_lower_index_first_on_ties() {
    let x = [3.0, 1.0, 3.0, f32::NAN, 2.0, 5.0, 5.0, -1.0];
    let (mut v, mut i) = ([0.0; 5], [0; 5]);
    reduce::topk_rows(&x, 8, 5, &mut v, &mut i);
    assert!(v[0].is_nan());
    assert_eq!(&v[1..], &[5.0, 5.0, 3.0, 3.0]);
    assert_eq!(i, [3, 5, 6, 0, 2]);

    let mut rng = Rng::new(33);
    for &dim in LENGTHS.iter().filter(|&&d| d > 0).chain(&[5000]) {
        for k in [0, 1, 2, dim / 3, dim - 1, dim]
            .into_iter()
            .filter(|&k| k <= dim)
        {
            let rows = 3;
            // Few distinct values, so ties are common.
            let x: Vec<f32> = (0..rows * dim)
                .map(|_| (rng.normal() * 3.0).round())
                .collect();
            let mut values = vec![0.0; rows * k];
            let mut indices = vec![0; rows * k];
            reduce::topk_rows(&x, dim, k, &mut values, &mut indices);
            for r in 0..rows {
                let (want_v, want_i) = topk_by_full_sort(&x[r * dim..(r + 1) * dim], k);
                assert_eq!(
                    &values[r * k..(r + 1) * k],
                    &want_v[..],
                    "dim={dim} k={k} row={r}"
                );
                assert_eq!(
                    &indices[r * k..(r + 1) * k],
                    &want_i[..],
                    "dim={dim} k={k} row={r}"
                );
            }
        }
    }
}

#[test]
#[should_panic(expected = "exceeds dim")]
fn topk_with_k_above_dim_panics() {
    reduce::topk_rows(&[1.0, 2.0], 2, 3, &mut [0.0; 3], &mut [0; 3]);
}

#[test]
#[should_panic(expected = "rows of dim")]
fn reduce_rows_shape_mismatch_panics() {
    reduce::reduce_rows(ReduceOp::Sum, &[1.0; 7], 4, &mut [0.0; 2]);
}
