//! Binary arithmetic: every variant is bit-identical to the reference (NaN
//! payloads aside), except `axpy`, whose fused multiply-add may differ by the
//! rounding of the product: |fused − unfused| ≤ 1.5·ε·max(|alpha·x|, |result|)
//! in theory, measured max 1.0·ε·max(…).

use omnirt_kernels::binary::{self, BinaryOp};
use omnirt_kernels::testing::Rng;
use omnirt_kernels::Isa;

const LENGTHS: [usize; 14] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1003, 1029];

const SPECIAL: [f32; 10] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    1e-40,
    f32::MAX,
    3.0,
];

/// Mostly ordinary values with specials sprinkled in (so ±0 ties, NaNs and
/// infinities meet in every op).
fn values(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            if rng.below(6) == 0 {
                SPECIAL[rng.below(SPECIAL.len())]
            } else {
                rng.normal() * 4.0
            }
        })
        .collect()
}

fn same(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        assert!(ok, "{what}: element {i}: got {g:e}, want {w:e}");
    }
}

#[test]
fn slice_slice_ops_are_bit_exact() {
    let mut rng = Rng::new(20);
    for isa in Isa::available() {
        for op in BinaryOp::ALL {
            for &n in &LENGTHS {
                let (a, b) = (values(&mut rng, n), values(&mut rng, n));
                let mut got = vec![0.0; n];
                binary::binary_with(isa, op, &a, &b, &mut got);
                let want: Vec<f32> = a.iter().zip(&b).map(|(&x, &y)| op.apply(x, y)).collect();
                same(&got, &want, &format!("{isa} {op:?} n={n}"));
            }
        }
    }
}

#[test]
fn scalar_operand_ops_are_bit_exact() {
    let mut rng = Rng::new(21);
    for isa in Isa::available() {
        for op in BinaryOp::ALL {
            for &n in &LENGTHS {
                for s in [2.5f32, -0.0, 0.0, f32::NAN, f32::INFINITY] {
                    let a = values(&mut rng, n);
                    let mut got = vec![0.0; n];
                    binary::binary_scalar_with(isa, op, &a, s, &mut got);
                    let want: Vec<f32> = a.iter().map(|&x| op.apply(x, s)).collect();
                    same(&got, &want, &format!("{isa} {op:?} a op {s} n={n}"));
                    binary::binary_scalar_lhs_with(isa, op, s, &a, &mut got);
                    let want: Vec<f32> = a.iter().map(|&x| op.apply(s, x)).collect();
                    same(&got, &want, &format!("{isa} {op:?} {s} op a n={n}"));
                }
            }
        }
    }
}

#[test]
fn row_broadcast_applies_the_row_to_every_row() {
    let mut rng = Rng::new(22);
    for isa in Isa::available() {
        for op in BinaryOp::ALL {
            for (rows, dim) in [(0, 4), (1, 1), (3, 7), (5, 8), (4, 17), (64, 33), (2, 1029)] {
                let a = values(&mut rng, rows * dim);
                let b = values(&mut rng, dim);
                let mut got = vec![0.0; rows * dim];
                binary::binary_row_broadcast_with(isa, op, &a, &b, dim, &mut got);
                let want: Vec<f32> = (0..rows * dim)
                    .map(|i| op.apply(a[i], b[i % dim]))
                    .collect();
                same(&got, &want, &format!("{isa} {op:?} {rows}x{dim}"));
            }
        }
    }
    binary::binary_row_broadcast(BinaryOp::Add, &[], &[], 0, &mut []);
}

#[test]
fn in_place_updates_match_the_reference() {
    let mut rng = Rng::new(23);
    let mut worst_axpy = 0.0f64;
    for isa in Isa::available() {
        for &n in &LENGTHS {
            let acc0 = rng.vec(n);
            let x = rng.vec(n);

            let mut got = acc0.clone();
            binary::add_inplace_with(isa, &mut got, &x);
            let want: Vec<f32> = acc0.iter().zip(&x).map(|(a, b)| a + b).collect();
            same(&got, &want, &format!("{isa} add_inplace n={n}"));

            let mut got = acc0.clone();
            binary::scale_inplace_with(isa, &mut got, -1.75);
            let want: Vec<f32> = acc0.iter().map(|a| a * -1.75).collect();
            same(&got, &want, &format!("{isa} scale_inplace n={n}"));

            let alpha = 0.37f32;
            let mut got = acc0.clone();
            binary::axpy_with(isa, &mut got, alpha, &x);
            for i in 0..n {
                // Exact result in f64; both roundings (fused or not) stay within
                // one rounding of the product plus one of the sum.
                let exact = f64::from(acc0[i]) + f64::from(alpha) * f64::from(x[i]);
                let tol = (f64::from(alpha * x[i]).abs() + exact.abs()) * f64::from(f32::EPSILON);
                assert!(
                    (f64::from(got[i]) - exact).abs() <= tol,
                    "{isa} axpy n={n} i={i}"
                );
                let want = acc0[i] + alpha * x[i];
                let scale =
                    f64::from((alpha * x[i]).abs().max(want.abs())) * f64::from(f32::EPSILON);
                if scale > 0.0 {
                    worst_axpy = worst_axpy.max(f64::from(got[i] - want).abs() / scale);
                }
            }
        }
    }
    println!("axpy: max |fused - unfused| / (ε·max(|alpha·x|, |result|)) = {worst_axpy}");
    assert!(worst_axpy <= 1.5);
}

#[test]
fn known_values() {
    let a = [1.0, -2.0, 6.0, f32::NAN, -0.0, 0.0];
    let b = [3.0, 5.0, -4.0, 1.0, 0.0, -0.0];
    let mut out = [0.0; 6];
    binary::binary(BinaryOp::Max, &a, &b, &mut out);
    assert_eq!(&out[..3], &[3.0, 5.0, 6.0]);
    assert!(out[3].is_nan());
    // Ties return the second operand, as x86 maxps does.
    assert_eq!(out[4].to_bits(), 0.0f32.to_bits());
    assert_eq!(out[5].to_bits(), (-0.0f32).to_bits());
    binary::binary(BinaryOp::Min, &a, &b, &mut out);
    assert_eq!(&out[..3], &[1.0, -2.0, -4.0]);
    binary::binary_scalar_lhs(BinaryOp::Sub, 10.0, &[1.0, 2.0], &mut out[..2]);
    assert_eq!(&out[..2], &[9.0, 8.0]);
    binary::binary_scalar_lhs(BinaryOp::Div, 1.0, &[4.0, -0.5], &mut out[..2]);
    assert_eq!(&out[..2], &[0.25, -2.0]);
    binary::binary_scalar(BinaryOp::Div, &[1.0, 3.0], 2.0, &mut out[..2]);
    assert_eq!(&out[..2], &[0.5, 1.5]);
    let mut acc = [1.0, 2.0, 3.0];
    binary::axpy(&mut acc, 2.0, &[1.0, 1.0, -1.0]);
    assert_eq!(acc, [3.0, 4.0, 1.0]);
    binary::add_inplace(&mut acc, &[1.0, 1.0, 1.0]);
    assert_eq!(acc, [4.0, 5.0, 2.0]);
    binary::scale_inplace(&mut acc, 0.5);
    assert_eq!(acc, [2.0, 2.5, 1.0]);
}

#[test]
#[should_panic(expected = "lengths differ")]
fn length_mismatch_panics() {
    binary::binary(BinaryOp::Add, &[1.0, 2.0], &[1.0], &mut [0.0, 0.0]);
}

#[test]
#[should_panic(expected = "one row")]
fn broadcast_row_length_mismatch_panics() {
    binary::binary_row_broadcast(BinaryOp::Add, &[1.0; 6], &[1.0; 2], 3, &mut [0.0; 6]);
}
