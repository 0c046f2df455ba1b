//! Every cast variant must equal `half`'s conversions bit for bit.

use half::{bf16, f16};
use omnirt_kernels::cast::{self, Rounding};
use omnirt_kernels::testing::Rng;
use omnirt_kernels::Isa;

const LENGTHS: [usize; 14] = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1003, 1029];

/// Mix of ordinary values, random bit patterns (NaNs with payloads, subnormals,
/// infinities) and values sitting exactly on bf16/f16 rounding ties.
fn awkward_f32s(rng: &mut Rng, n: usize) -> Vec<f32> {
    const SPECIAL: [f32; 12] = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1.0e-45,
        65504.0,
        65520.0,
        -65536.0,
    ];
    (0..n)
        .map(|i| match i % 5 {
            0 => rng.normal() * 10f32.powi(rng.below(9) as i32 - 4),
            1 => f32::from_bits(rng.next_u64() as u32),
            // bf16 tie: low 16 bits exactly 0x8000.
            2 => f32::from_bits((rng.next_u64() as u32 & 0xFFFF_0000) | 0x8000),
            // f16 tie (normal f16 range): low 13 bits exactly 0x1000.
            3 => f32::from_bits(((rng.next_u64() as u32 & 0x07FF_E000) + 0x3800_0000) | 0x1000),
            _ => SPECIAL[rng.below(SPECIAL.len())],
        })
        .collect()
}

fn bits_eq(got: &[f32], want: &[f32], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}: element {i}: got {g:e}, want {w:e}"
        );
    }
}

#[test]
fn f32_to_bf16_matches_half_bit_for_bit() {
    let mut rng = Rng::new(1);
    for isa in Isa::available() {
        for &n in &LENGTHS {
            let src = awkward_f32s(&mut rng, n);
            let mut dst = vec![bf16::ZERO; n];
            cast::f32_to_bf16_with(isa, &src, &mut dst);
            for (i, (&s, d)) in src.iter().zip(&dst).enumerate() {
                let want = bf16::from_f32(s);
                assert_eq!(d.to_bits(), want.to_bits(), "{isa} n={n} i={i} src={s:e}");
            }
        }
    }
}

#[test]
fn f32_to_f16_matches_half_bit_for_bit() {
    let mut rng = Rng::new(2);
    for isa in Isa::available() {
        for &n in &LENGTHS {
            let src = awkward_f32s(&mut rng, n);
            let mut dst = vec![f16::ZERO; n];
            cast::f32_to_f16_with(isa, &src, &mut dst);
            for (i, (&s, d)) in src.iter().zip(&dst).enumerate() {
                let want = f16::from_f32(s);
                assert_eq!(d.to_bits(), want.to_bits(), "{isa} n={n} i={i} src={s:e}");
            }
        }
    }
}

#[test]
fn many_random_f32_bit_patterns_narrow_like_half() {
    let mut rng = Rng::new(3);
    let src: Vec<f32> = (0..1 << 18)
        .map(|_| f32::from_bits(rng.next_u64() as u32))
        .collect();
    for isa in Isa::available() {
        let mut b = vec![bf16::ZERO; src.len()];
        let mut h = vec![f16::ZERO; src.len()];
        cast::f32_to_bf16_with(isa, &src, &mut b);
        cast::f32_to_f16_with(isa, &src, &mut h);
        for (i, &s) in src.iter().enumerate() {
            assert_eq!(
                b[i].to_bits(),
                bf16::from_f32(s).to_bits(),
                "{isa} bf16 src={s:e}"
            );
            assert_eq!(
                h[i].to_bits(),
                f16::from_f32(s).to_bits(),
                "{isa} f16 src={s:e}"
            );
        }
    }
}

#[test]
fn every_16_bit_pattern_widens_like_half() {
    let all: Vec<u16> = (0..=u16::MAX).collect();
    let b: Vec<bf16> = all.iter().map(|&u| bf16::from_bits(u)).collect();
    let h: Vec<f16> = all.iter().map(|&u| f16::from_bits(u)).collect();
    let want_b: Vec<f32> = b.iter().map(|v| v.to_f32()).collect();
    let want_h: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
    for isa in Isa::available() {
        let mut got = vec![0.0f32; all.len()];
        cast::bf16_to_f32_with(isa, &b, &mut got);
        bits_eq(&got, &want_b, &format!("{isa} bf16_to_f32"));
        cast::f16_to_f32_with(isa, &h, &mut got);
        bits_eq(&got, &want_h, &format!("{isa} f16_to_f32"));
    }
}

#[test]
fn widening_handles_every_length() {
    let mut rng = Rng::new(4);
    for isa in Isa::available() {
        for &n in &LENGTHS {
            let b: Vec<bf16> = (0..n)
                .map(|_| bf16::from_bits(rng.next_u64() as u16))
                .collect();
            let h: Vec<f16> = (0..n)
                .map(|_| f16::from_bits(rng.next_u64() as u16))
                .collect();
            let mut got = vec![0.0f32; n];
            cast::bf16_to_f32_with(isa, &b, &mut got);
            let want: Vec<f32> = b.iter().map(|v| v.to_f32()).collect();
            bits_eq(&got, &want, &format!("{isa} bf16 n={n}"));
            cast::f16_to_f32_with(isa, &h, &mut got);
            let want: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
            bits_eq(&got, &want, &format!("{isa} f16 n={n}"));
        }
    }
}

#[test]
fn round_f32_through_equals_a_round_trip_through_half() {
    let mut rng = Rng::new(5);
    for isa in Isa::available() {
        for &n in &LENGTHS {
            let src = awkward_f32s(&mut rng, n);
            for to in [Rounding::None, Rounding::Bf16, Rounding::F16] {
                let mut got = src.clone();
                cast::round_f32_through_with(isa, &mut got, to);
                let want: Vec<f32> = src
                    .iter()
                    .map(|&v| match to {
                        Rounding::None => v,
                        Rounding::Bf16 => bf16::from_f32(v).to_f32(),
                        Rounding::F16 => f16::from_f32(v).to_f32(),
                    })
                    .collect();
                bits_eq(&got, &want, &format!("{isa} {to:?} n={n}"));
            }
        }
    }
}

#[test]
fn known_values() {
    let src = [
        1.0,
        -0.0,
        1.0 + 1.0 / 256.0,           // bf16 tie between 1 and 1+2^-7: even is 1
        1.0 + 3.0 / 256.0,           // bf16 tie between 1+2^-7 and 1+2^-6: even is 1+2^-6
        f32::from_bits(0x7F7F_FFFF), // f32::MAX rounds up to +inf in bf16
        f32::INFINITY,
        f32::from_bits(0x7F80_0001), // signalling NaN with payload in the low bits
    ];
    let want = [0x3F80, 0x8000, 0x3F80, 0x3F82, 0x7F80, 0x7F80, 0x7FC0];
    for isa in Isa::available() {
        let mut dst = vec![bf16::ZERO; src.len()];
        cast::f32_to_bf16_with(isa, &src, &mut dst);
        let got: Vec<u16> = dst.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want, "{isa}");

        let src = [65504.0f32, 65519.0, 65520.0, 6.0e-8, 2.0e-8, -0.0, 0.1];
        let want = [0x7BFF, 0x7BFF, 0x7C00, 0x0001, 0x0000, 0x8000, 0x2E66];
        let mut dst = vec![f16::ZERO; src.len()];
        cast::f32_to_f16_with(isa, &src, &mut dst);
        let got: Vec<u16> = dst.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want, "{isa}");
    }
    assert_eq!(Rounding::Bf16.apply(1.0 + 1.0 / 256.0), 1.0);
    assert_eq!(Rounding::F16.apply(0.1), 0.099975586);
    assert_eq!(Rounding::None.apply(0.1), 0.1);
}

#[test]
#[should_panic(expected = "lengths differ")]
fn length_mismatch_panics() {
    let mut dst = vec![bf16::ZERO; 3];
    cast::f32_to_bf16(&[1.0, 2.0], &mut dst);
}
