//! Straightforward reference implementations on row-major f32 vectors.

pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, b_transposed: bool) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f64;
            for p in 0..k {
                let bv = if b_transposed {
                    b[j * k + p]
                } else {
                    b[p * n + j]
                };
                acc += a[i * k + p] as f64 * bv as f64;
            }
            c[i * n + j] = acc as f32;
        }
    }
    c
}

pub fn rms_norm(x: &[f32], w: &[f32], d: usize, eps: f32) -> Vec<f32> {
    x.chunks(d)
        .flat_map(|r| {
            let ms = r.iter().map(|v| (v * v) as f64).sum::<f64>() / d as f64;
            let inv = 1.0 / (ms + eps as f64).sqrt();
            r.iter()
                .zip(w)
                .map(move |(v, w)| (*v as f64 * inv) as f32 * w)
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn layer_norm(x: &[f32], w: &[f32], b: &[f32], d: usize, eps: f32) -> Vec<f32> {
    x.chunks(d)
        .flat_map(|r| {
            let mean = r.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            let var = r.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            let inv = 1.0 / (var + eps as f64).sqrt();
            r.iter()
                .zip(w.iter().zip(b))
                .map(move |(&v, (&w, &b))| ((v as f64 - mean) * inv) as f32 * w + b)
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn softmax(x: &[f32], d: usize) -> Vec<f32> {
    x.chunks(d)
        .flat_map(|r| {
            let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f64> = r.iter().map(|&v| ((v - m) as f64).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter()
                .map(move |v| (v / s) as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `x [b, s, h, d]`, tables `[s, r]` shared by the batch.
#[allow(clippy::too_many_arguments)]
pub fn rope(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    b: usize,
    s: usize,
    h: usize,
    d: usize,
    r: usize,
) -> Vec<f32> {
    let mut out = x.to_vec();
    for bi in 0..b {
        for si in 0..s {
            for hi in 0..h {
                let base = ((bi * s + si) * h + hi) * d;
                for i in 0..r {
                    let rot = if i < r / 2 {
                        -x[base + i + r / 2]
                    } else {
                        x[base + i - r / 2]
                    };
                    out[base + i] = x[base + i] * cos[si * r + i] + rot * sin[si * r + i];
                }
            }
        }
    }
    out
}

/// `q [b, hq, sq, d]`, `k`/`v` `[b, hkv, skv, d]`; `visible(i, j)` says whether
/// query i sees key j.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    b: usize,
    hq: usize,
    hkv: usize,
    sq: usize,
    skv: usize,
    d: usize,
    scale: f32,
    visible: impl Fn(usize, usize) -> bool,
) -> Vec<f32> {
    let mut out = vec![0f32; b * hq * sq * d];
    for bi in 0..b {
        for h in 0..hq {
            let kh = h / (hq / hkv);
            for i in 0..sq {
                let qrow = &q[((bi * hq + h) * sq + i) * d..][..d];
                let scores: Vec<Option<f64>> = (0..skv)
                    .map(|j| {
                        visible(i, j).then(|| {
                            let krow = &k[((bi * hkv + kh) * skv + j) * d..][..d];
                            qrow.iter()
                                .zip(krow)
                                .map(|(a, b)| (a * b) as f64)
                                .sum::<f64>()
                                * scale as f64
                        })
                    })
                    .collect();
                let m = scores
                    .iter()
                    .flatten()
                    .cloned()
                    .fold(f64::NEG_INFINITY, f64::max);
                if m == f64::NEG_INFINITY {
                    continue;
                }
                let w: Vec<f64> = scores
                    .iter()
                    .map(|s| s.map_or(0.0, |s| (s - m).exp()))
                    .collect();
                let sum: f64 = w.iter().sum();
                let o = &mut out[((bi * hq + h) * sq + i) * d..][..d];
                for (j, wj) in w.iter().enumerate() {
                    let vrow = &v[((bi * hkv + kh) * skv + j) * d..][..d];
                    for (o, vv) in o.iter_mut().zip(vrow) {
                        *o += (wj / sum * *vv as f64) as f32;
                    }
                }
            }
        }
    }
    out
}

/// PyTorch Conv1d with (left, right) zero padding.
#[allow(clippy::too_many_arguments)]
pub fn conv1d(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    b: usize,
    c_in: usize,
    l: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    pad: (usize, usize),
    dil: usize,
    groups: usize,
) -> (Vec<f32>, usize) {
    let l_out = (l + pad.0 + pad.1 - dil * (k - 1) - 1) / stride + 1;
    let (cig, cog) = (c_in / groups, c_out / groups);
    let mut out = vec![0f32; b * c_out * l_out];
    for bi in 0..b {
        for co in 0..c_out {
            let g = co / cog;
            for t in 0..l_out {
                let mut acc = bias.map_or(0.0, |b| b[co] as f64);
                for ci in 0..cig {
                    for kk in 0..k {
                        let pos = (t * stride + kk * dil) as isize - pad.0 as isize;
                        if pos >= 0 && (pos as usize) < l {
                            acc += x[(bi * c_in + g * cig + ci) * l + pos as usize] as f64
                                * w[(co * cig + ci) * k + kk] as f64;
                        }
                    }
                }
                out[(bi * c_out + co) * l_out + t] = acc as f32;
            }
        }
    }
    (out, l_out)
}

/// PyTorch ConvTranspose1d, weight `[c_in, c_out/groups, k]`.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose1d(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    b: usize,
    c_in: usize,
    l: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    out_pad: usize,
    dil: usize,
    groups: usize,
) -> (Vec<f32>, usize) {
    let l_out = (l - 1) * stride + dil * (k - 1) + out_pad + 1 - 2 * pad;
    let (cig, cog) = (c_in / groups, c_out / groups);
    let mut full = vec![0f64; b * c_out * l_out];
    for bi in 0..b {
        for ci in 0..c_in {
            let g = ci / cig;
            for t in 0..l {
                for co in 0..cog {
                    for kk in 0..k {
                        let pos = (t * stride + kk * dil) as isize - pad as isize;
                        if pos >= 0 && (pos as usize) < l_out {
                            full[(bi * c_out + g * cog + co) * l_out + pos as usize] +=
                                x[(bi * c_in + ci) * l + t] as f64
                                    * w[(ci * cog + co) * k + kk] as f64;
                        }
                    }
                }
            }
        }
    }
    let out = full
        .iter()
        .enumerate()
        .map(|(i, v)| (v + bias.map_or(0.0, |b| b[(i / l_out) % c_out] as f64)) as f32)
        .collect();
    (out, l_out)
}

/// Direct 2-D convolution (dilation 1): `x [b, c_in, h, w]`, `w [c_out, c_in/g, kh, kw]`.
/// Returns the output and its dims `[b, c_out, h_out, w_out]`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    [b, c_in, h, wd]: [usize; 4],
    [c_out, kh, kw]: [usize; 3],
    (sh, sw): (usize, usize),
    (ph, pw): (usize, usize),
    groups: usize,
) -> (Vec<f32>, [usize; 4]) {
    let ho = (h + 2 * ph - kh) / sh + 1;
    let wo = (wd + 2 * pw - kw) / sw + 1;
    let (cig, cog) = (c_in / groups, c_out / groups);
    let mut out = vec![0.0f32; b * c_out * ho * wo];
    for n in 0..b {
        for co in 0..c_out {
            let g = co / cog;
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = bias[co] as f64;
                    for ci in 0..cig {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * sh + ky) as isize - ph as isize;
                                let ix = (ox * sw + kx) as isize - pw as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xi = ((n * c_in + g * cig + ci) * h + iy as usize) * wd
                                    + ix as usize;
                                let wi = ((co * cig + ci) * kh + ky) * kw + kx;
                                acc += x[xi] as f64 * w[wi] as f64;
                            }
                        }
                    }
                    out[((n * c_out + co) * ho + oy) * wo + ox] = acc as f32;
                }
            }
        }
    }
    (out, [b, c_out, ho, wo])
}

/// erf to ~1e-15 (Abramowitz–Stegun 7.1.26 is not enough for an f32
/// reference; this is the series / continued fraction pair).
pub fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        // Maclaurin series.
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        for n in 1..80 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc continued fraction (Lentz), good for |x| >= 2.5.
        let a = x.abs();
        let mut f = 0.0f64;
        for k in (1..60).rev() {
            f = (k as f64 / 2.0) / (a + f);
        }
        let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f);
        (1.0 - erfc).copysign(x)
    }
}
