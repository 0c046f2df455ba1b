//! Activation kernels: every variant against the scalar reference, and the
//! scalar reference against closed-form / high-precision values.
//!
//! The reference evaluates each function in f64 and rounds once, so it is
//! correctly rounded in practice; the numbers below are the SIMD variants' own
//! errors. Maximum deviation measured on this suite's inputs, in ulp of the
//! reference for results ≥ 1e-35 in magnitude (smaller results may flush toward
//! zero in SIMD, where e^x overflows first; they are checked in absolute terms):
//!
//! | op                  | AVX2 (Zen 3) | NEON (qemu) | bound asserted |
//! |---------------------|--------------|-------------|----------------|
//! | exp                 | 1            | 1           | 1              |
//! | sigmoid, silu       | 2            | 2           | 3              |
//! | gelu_tanh           | 2            | 2           | 3              |
//! | tanh                | 1            | 1           | 2              |
//! | gelu_erf            | 5            | 5           | 6              |
//! | sin, cos (≤ 8192)   | 1, 2         | 1, 2        | 2; 1e-7 abs near zeros (measured 6e-11) |
//! | swiglu              | ≤ 3          | ≤ 3         | 3              |
//! | snake_beta          | 1.0e-7·(1+|x|)(1+e^−β) abs | same | 2.4e-7·(1+|x|)(1+e^−β) |
//! | relu, neg, abs, sqrt, rsqrt, recip, square, log | 0 | 0 | 0 (bit-exact) |
//!
//! `cargo test --test act -- --nocapture` prints the measured maxima.

use omnirt_kernels::act::{self, UnaryOp};
use omnirt_kernels::testing::{assert_close, Rng};
use omnirt_kernels::Isa;

const LENGTHS: [usize; 14] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1003, 1029];

/// Distance in representable f32 values (0 for equal values or two NaNs).
fn ulp_diff(a: f32, b: f32) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    let key = |x: f32| {
        let b = i64::from(x.to_bits() as i32);
        if b < 0 {
            i64::from(i32::MIN) - b
        } else {
            b
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// Results smaller than this may flush towards zero in the SIMD variants (their
/// e^x overflows first); they are judged by absolute error.
const TINY: f32 = 1e-35;

/// Largest ulp error over results ≥ `TINY` in magnitude and largest absolute
/// error below that, with the input that produced each.
#[derive(Default, Debug)]
struct Deviation {
    ulp: u64,
    ulp_at: (f32, f32, f32),
    tiny_abs: f32,
    tiny_at: (f32, f32, f32),
}

impl Deviation {
    fn add(&mut self, input: f32, got: f32, want: f32) {
        if want.abs() >= TINY || want.is_nan() || want.is_infinite() {
            let d = ulp_diff(got, want);
            if d > self.ulp {
                self.ulp = d;
                self.ulp_at = (input, got, want);
            }
        } else if (got - want).abs() > self.tiny_abs || got.is_nan() {
            self.tiny_abs = if got.is_nan() {
                f32::INFINITY
            } else {
                (got - want).abs()
            };
            self.tiny_at = (input, got, want);
        }
    }
}

fn special_values() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-45,
        -1e-45,
        f32::MIN_POSITIVE,
        1e-20,
        -1e-20,
        1e-7,
        0.5,
        -0.5,
        0.625,
        -0.625,
        1.0,
        -1.0,
        88.72,
        88.73,
        -87.3,
        -88.0,
        -103.9,
        -104.5,
        89.0,
        -89.0,
        200.0,
        -200.0,
        1e30,
        -1e30,
        f32::MAX,
        f32::MIN,
    ];
    // Points around the erfc region boundaries of the exact GELU (|x|/√2 = 0.5, 10.1).
    for z in [0.5f32, 10.1, 14.2] {
        let x = z * std::f32::consts::SQRT_2;
        for k in -2i32..=2 {
            let y = f32::from_bits((x.to_bits() as i32 + k) as u32);
            v.extend([y, -y]);
        }
    }
    v
}

/// Inputs that exercise `op` over its useful domain. Regimes come in blocks of
/// 32 so that vectors are mostly uniform: the SIMD sin/cos take a scalar path
/// for a whole vector when one lane is out of their fast range.
fn inputs(op: UnaryOp, rng: &mut Rng, n: usize) -> Vec<f32> {
    let specials = special_values();
    (0..n)
        .map(|i| {
            let block = (i / 32) % 8;
            if block == 7 && i % 3 == 0 {
                return specials[rng.below(specials.len())];
            }
            match op {
                UnaryOp::Exp => rng.uniform(-110.0, 95.0),
                UnaryOp::Sqrt | UnaryOp::Rsqrt | UnaryOp::Log => {
                    rng.uniform(0.0, 1.0) * 10f32.powi(rng.below(12) as i32 - 6)
                }
                UnaryOp::Sin | UnaryOp::Cos => match block {
                    0..=2 => rng.uniform(-10.0, 10.0),
                    3..=5 => rng.uniform(-8192.0, 8192.0),
                    _ => rng.uniform(-1e6, 1e6),
                },
                _ => match block % 3 {
                    0 => rng.normal() * 3.0,
                    1 => rng.uniform(-20.0, 20.0),
                    _ => rng.uniform(-120.0, 120.0),
                },
            }
        })
        .collect()
}

/// Asserted bound in ulp, and absolute error allowed for results below `TINY`.
fn bound(op: UnaryOp) -> (u64, f32) {
    match op {
        UnaryOp::Exp => (1, 1e-41),
        UnaryOp::Sigmoid | UnaryOp::Silu | UnaryOp::GeluTanh => (3, 1e-36),
        UnaryOp::Tanh => (2, 0.0),
        UnaryOp::GeluErf => (6, 1e-41),
        UnaryOp::Sin | UnaryOp::Cos => (2, 0.0),
        _ => (0, 0.0),
    }
}

#[test]
fn every_variant_matches_the_reference_within_documented_ulp() {
    let mut rng = Rng::new(10);
    for isa in Isa::available() {
        for op in UnaryOp::ALL {
            let mut dev = Deviation::default();
            let mut near_zero = Deviation::default();
            for n in LENGTHS.iter().copied().chain([50_000]) {
                let x = inputs(op, &mut rng, n);
                let mut got = vec![f32::NAN; n];
                act::unary_with(isa, op, &x, &mut got);
                for (&g, &xi) in got.iter().zip(&x) {
                    let want = op.apply(xi);
                    // sin/cos near their zeros: judged by absolute error.
                    if matches!(op, UnaryOp::Sin | UnaryOp::Cos) && want.abs() < 1e-3 {
                        near_zero.tiny_abs = near_zero.tiny_abs.max((g - want).abs());
                    } else {
                        dev.add(xi, g, want);
                    }
                }
            }
            println!(
                "{isa:>6} {op:?}: max {} ulp at {:?}, tiny max abs {:e}, sin/cos zeros max abs {:e}",
                dev.ulp, dev.ulp_at, dev.tiny_abs, near_zero.tiny_abs
            );
            let (max_ulp, tiny_abs) = bound(op);
            assert!(dev.ulp <= max_ulp, "{isa} {op:?}: {dev:?}");
            assert!(dev.tiny_abs <= tiny_abs, "{isa} {op:?}: {dev:?}");
            assert!(near_zero.tiny_abs <= 1e-7, "{isa} {op:?}: {near_zero:?}");
        }
    }
}

#[test]
fn named_functions_match_the_dispatcher() {
    let x: Vec<f32> = Rng::new(11).vec(37);
    type Kernel = fn(&[f32], &mut [f32]);
    let fns: [(UnaryOp, Kernel); 16] = [
        (UnaryOp::Silu, act::silu),
        (UnaryOp::GeluTanh, act::gelu_tanh),
        (UnaryOp::GeluErf, act::gelu_erf),
        (UnaryOp::Sigmoid, act::sigmoid),
        (UnaryOp::Tanh, act::tanh),
        (UnaryOp::Exp, act::exp),
        (UnaryOp::Relu, act::relu),
        (UnaryOp::Neg, act::neg),
        (UnaryOp::Abs, act::abs),
        (UnaryOp::Sqrt, act::sqrt),
        (UnaryOp::Rsqrt, act::rsqrt),
        (UnaryOp::Recip, act::recip),
        (UnaryOp::Square, act::square),
        (UnaryOp::Sin, act::sin),
        (UnaryOp::Cos, act::cos),
        (UnaryOp::Log, act::log),
    ];
    for (op, f) in fns {
        let mut a = vec![0.0; x.len()];
        let mut b = vec![0.0; x.len()];
        f(&x, &mut a);
        act::unary(op, &x, &mut b);
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{op:?}"
        );
    }
}

#[test]
fn named_with_functions_pick_the_variant() {
    let x: Vec<f32> = Rng::new(14).vec(29);
    for isa in Isa::available() {
        let mut a = vec![0.0; x.len()];
        let mut b = vec![0.0; x.len()];
        act::gelu_erf_with(isa, &x, &mut a);
        act::unary_with(isa, UnaryOp::GeluErf, &x, &mut b);
        assert_eq!(a, b, "{isa}");
        act::silu_with(isa, &x, &mut a);
        act::unary_with(isa, UnaryOp::Silu, &x, &mut b);
        assert_eq!(a, b, "{isa}");
    }
}

fn close_ulp(got: f32, want: f32, ulps: u64, what: &str) {
    assert!(
        ulp_diff(got, want) <= ulps,
        "{what}: got {got:e}, want {want:e}"
    );
}

#[test]
fn reference_activations_hit_closed_form_values() {
    // Values from Python's double-precision math, rounded to f32.
    let cases: [(UnaryOp, f32, f32); 16] = [
        (UnaryOp::GeluErf, 1.0, 0.841_344_8),
        (UnaryOp::GeluErf, -1.0, -0.158_655_26),
        (UnaryOp::GeluErf, 2.0, 1.954_499_7),
        (UnaryOp::GeluErf, -3.0, -0.004_049_694),
        (UnaryOp::GeluErf, 0.5, 0.345_731_23),
        (UnaryOp::GeluTanh, 1.0, 0.841_192),
        (UnaryOp::GeluTanh, -1.0, -0.158_808_01),
        (UnaryOp::GeluTanh, -3.0, -0.003_637_392),
        (UnaryOp::Silu, 1.0, 0.731_058_6),
        (UnaryOp::Silu, -1.0, -0.268_941_43),
        (UnaryOp::Silu, 2.0, 1.761_594_2),
        (UnaryOp::Sigmoid, 0.0, 0.5),
        (UnaryOp::Sigmoid, -3.0, 0.047_425_874),
        (UnaryOp::Relu, -0.5, 0.0),
        (UnaryOp::Rsqrt, 4.0, 0.5),
        (UnaryOp::Square, -3.0, 9.0),
    ];
    for (op, x, want) in cases {
        // f32 evaluation of the formulas' inner arguments costs a few ulp in the
        // tails (e.g. 2 ulp for gelu_tanh(-3)), as in PyTorch.
        close_ulp(op.apply(x), want, 4, &format!("{op:?}({x})"));
    }
    close_ulp(
        UnaryOp::GeluErf.apply(1.0),
        0.841_344_8,
        0,
        "gelu_erf is correctly rounded",
    );
    close_ulp(
        UnaryOp::GeluErf.apply(-3.0),
        -0.004_049_694,
        0,
        "gelu_erf is correctly rounded",
    );
    // Limits: no overflow NaNs in the sigmoid family.
    assert_eq!(UnaryOp::Silu.apply(-200.0), -0.0);
    assert_eq!(UnaryOp::Sigmoid.apply(200.0), 1.0);
    assert_eq!(UnaryOp::GeluTanh.apply(-200.0), -0.0);
    assert_eq!(UnaryOp::GeluErf.apply(f32::INFINITY), f32::INFINITY);
    assert!(UnaryOp::Relu.apply(f32::NAN).is_nan());
}

#[test]
fn reference_erf_matches_a_table() {
    // (x, erf x, erfc x) from Python's double-precision math, rounded to f32.
    let table: [(f32, f32, f32); 8] = [
        (0.1, 0.112_462_915, 0.887_537_06),
        (0.25, 0.276_326_4, 0.723_673_6),
        (0.5, 0.520_499_9, 0.479_500_1),
        (1.0, 0.842_700_8, 0.157_299_2),
        (2.0, 0.995_322_3, 0.004_677_735),
        (2.5, 0.999_593, 0.000_406_952_02),
        (3.0, 0.999_977_9, 2.209_049_7e-5),
        (4.0, 1.0, 1.541_725_9e-8),
    ];
    for (x, e, c) in table {
        close_ulp(act::erf(x), e, 1, &format!("erf({x})"));
        close_ulp(act::erf(-x), -e, 1, &format!("erf(-{x})"));
        close_ulp(act::erfc(x), c, 1, &format!("erfc({x})"));
        close_ulp(act::erfc(-x), 2.0 - c, 1, &format!("erfc(-{x})"));
    }
    close_ulp(act::erfc(5.0), 1.537_459_8e-12, 1, "erfc(5)");
    close_ulp(act::erfc(9.0), 4.137_031_7e-37, 1, "erfc(9)");
    assert_eq!(act::erfc(10.0), 1e-45);
    assert_eq!(act::erfc(30.0), 0.0);
    assert_eq!(act::erf(f32::INFINITY), 1.0);
    assert_eq!(act::erf(f32::NEG_INFINITY), -1.0);
    assert_eq!(act::erfc(f32::NEG_INFINITY), 2.0);
    assert_eq!(act::erf(-0.0).to_bits(), (-0.0f32).to_bits());
    assert!(act::erf(f32::NAN).is_nan() && act::erfc(f32::NAN).is_nan());
    // Odd symmetry and erf + erfc = 1 across a sweep.
    for i in 0..4000 {
        let x = i as f32 * 1e-3;
        assert_eq!(act::erf(-x), -act::erf(x));
        assert!((act::erf(x) + act::erfc(x) - 1.0).abs() <= 1.2e-7, "x={x}");
    }
}

#[test]
fn swiglu_matches_the_reference() {
    let mut rng = Rng::new(12);
    for isa in Isa::available() {
        for &n in &LENGTHS {
            let gate = inputs(UnaryOp::Silu, &mut rng, n);
            let up = rng.vec(n);
            let mut got = vec![0.0; n];
            act::swiglu_with(isa, &gate, &up, &mut got);
            for i in 0..n {
                let want = UnaryOp::Silu.apply(gate[i]) * up[i];
                let ok = ulp_diff(got[i], want) <= 3
                    || (want.abs() < TINY && (got[i] - want).abs() <= 1e-36);
                assert!(
                    ok,
                    "{isa} n={n} i={i}: gate={} up={}: got {}, want {want}",
                    gate[i], up[i], got[i]
                );
            }
        }
    }
    let mut out = [0.0; 2];
    act::swiglu(&[1.0, -1.0], &[2.0, 3.0], &mut out);
    assert_close(
        &out,
        &[2.0 * 0.731_058_6, 3.0 * -0.268_941_43],
        0.0,
        1e-6,
        "swiglu known",
    );
}

#[test]
fn snake_beta_matches_the_reference() {
    let mut rng = Rng::new(13);
    let mut worst = 0.0f32;
    for isa in Isa::available() {
        for (channels, len) in [
            (0, 5),
            (3, 0),
            (1, 1),
            (2, 7),
            (5, 17),
            (4, 100),
            (3, 1029),
            (64, 33),
        ] {
            let n = channels * len;
            let x: Vec<f32> = (0..n).map(|_| rng.normal() * 4.0).collect();
            let alpha: Vec<f32> = (0..channels).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let beta: Vec<f32> = (0..channels).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let mut got = vec![0.0; n];
            let mut want = vec![0.0; n];
            act::snake_beta_with(isa, &x, channels, len, &alpha, &beta, &mut got);
            act::snake_beta_with(Isa::Scalar, &x, channels, len, &alpha, &beta, &mut want);
            for i in 0..n {
                let c = i / len;
                // sin is within ~1e-7 absolute; the result scales it by 1/exp(beta).
                let tol = 2.4e-7 * (1.0 + x[i].abs()) * (1.0 + (-beta[c]).exp());
                let e = (got[i] - want[i]).abs();
                worst = worst.max(e / (1.0 + x[i].abs()) / (1.0 + (-beta[c]).exp()));
                assert!(
                    e <= tol,
                    "{isa} c={channels} len={len} i={i}: got {}, want {}",
                    got[i],
                    want[i]
                );
            }
        }
    }
    println!("snake_beta: max |err| / ((1+|x|)(1+e^-beta)) = {worst:e}");
    // alpha = beta = 0: y = x + sin(x)² / (1 + 1e-9).
    let x = [
        std::f32::consts::FRAC_PI_2,
        0.0,
        -std::f32::consts::FRAC_PI_2,
    ];
    let mut out = [0.0; 3];
    act::snake_beta(&x, 1, 3, &[0.0], &[0.0], &mut out);
    assert_close(
        &out,
        &[
            std::f32::consts::FRAC_PI_2 + 1.0,
            0.0,
            1.0 - std::f32::consts::FRAC_PI_2,
        ],
        1e-6,
        1e-6,
        "snake known",
    );
}

#[test]
#[should_panic(expected = "lengths differ")]
fn unary_length_mismatch_panics() {
    act::silu(&[1.0, 2.0], &mut [0.0]);
}

#[test]
#[should_panic(expected = "one value per channel")]
fn snake_beta_parameter_length_mismatch_panics() {
    act::snake_beta(&[0.0; 6], 2, 3, &[0.0], &[0.0, 0.0], &mut [0.0; 6]);
}
