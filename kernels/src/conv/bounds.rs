//! Which outputs of a strided tap read inside the input (the rest read padding).

use std::ops::Range;

/// The outputs `o` in `0..n_out` for which `o * stride + offset` lies in `0..len`
/// (`offset` = tap offset minus padding, so possibly negative). Contiguous
/// because the position grows with `o`.
pub(super) fn in_bounds(n_out: usize, stride: usize, offset: i128, len: usize) -> Range<usize> {
    let (n_out_i, stride, len) = (n_out as i128, stride as i128, len as i128);
    let lo = if offset < 0 {
        (-offset + stride - 1) / stride
    } else {
        0
    };
    let hi = if len > offset {
        (len - offset - 1) / stride + 1
    } else {
        0
    };
    let lo = lo.min(n_out_i) as usize;
    let hi = hi.clamp(0, n_out_i) as usize;
    lo..hi.max(lo)
}

/// `t * dilation - pad` as a signed offset.
pub(super) fn tap_offset(t: usize, dilation: usize, pad: usize) -> i128 {
    (t as i128) * (dilation as i128) - pad as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force() {
        for n_out in 0..7 {
            for stride in 1..4 {
                for offset in -6i128..6 {
                    for len in 0..8 {
                        let want: Vec<usize> = (0..n_out)
                            .filter(|&o| {
                                (0..len as i128).contains(&(o as i128 * stride as i128 + offset))
                            })
                            .collect();
                        let got: Vec<usize> = in_bounds(n_out, stride, offset, len).collect();
                        assert_eq!(
                            got, want,
                            "n_out {n_out} stride {stride} offset {offset} len {len}"
                        );
                    }
                }
            }
        }
    }
}
