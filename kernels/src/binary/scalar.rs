//! Reference binary arithmetic.

use super::BinaryOp;

/// `a op b`. Max/Min return NaN when either input is NaN, and otherwise the
/// first operand only when it is strictly larger (smaller): the same rule as
/// the x86 `maxps`/`minps` instructions, so ±0 ties resolve alike everywhere.
#[inline]
pub fn apply(op: BinaryOp, a: f32, b: f32) -> f32 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Max => {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a > b {
                a
            } else {
                b
            }
        }
        BinaryOp::Min => {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a < b {
                a
            } else {
                b
            }
        }
    }
}

pub fn binary(op: BinaryOp, a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = apply(op, x, y);
    }
}

pub fn binary_scalar(op: BinaryOp, a: &[f32], s: f32, out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = apply(op, x, s);
    }
}

pub fn binary_scalar_lhs(op: BinaryOp, s: f32, b: &[f32], out: &mut [f32]) {
    for (o, &y) in out.iter_mut().zip(b) {
        *o = apply(op, s, y);
    }
}

pub fn add_inplace(acc: &mut [f32], x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}

/// `acc += alpha · x` with the product rounded before the add.
pub fn axpy(acc: &mut [f32], alpha: f32, x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += alpha * v;
    }
}

pub fn scale_inplace(x: &mut [f32], s: f32) {
    for v in x {
        *v *= s;
    }
}
