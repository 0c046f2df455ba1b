//! Reference conversions: `half`'s own, element by element. Slices hold the raw
//! 16-bit patterns so every variant shares one signature.

use half::{bf16, f16};

use super::Rounding;

pub fn f32_to_bf16(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = bf16::from_f32(s).to_bits();
    }
}

pub fn bf16_to_f32(src: &[u16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = bf16::from_bits(s).to_f32();
    }
}

pub fn f32_to_f16(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_f32(s).to_bits();
    }
}

pub fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_bits(s).to_f32();
    }
}

pub fn round_f32_through(x: &mut [f32], to: Rounding) {
    for v in x {
        *v = to.apply(*v);
    }
}
