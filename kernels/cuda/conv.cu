// Direct convolutions, f32 (`Op::Conv1d`, `Op::Conv2d`, `Op::ConvTranspose1d`).
// Reference: kernels/src/conv/scalar.rs, params in kernels/src/conv/params.rs.
// One thread per output element, accumulating in exactly the reference's order
// (bias first, then input channels of the group, then taps), with no FMA
// contraction (--fmad=false): results equal the scalar reference bit for bit.
// All tensors contiguous; `bias` may be null; groups must divide c_in and c_out;
// output lengths are computed by the host (PyTorch formulas, params.rs).
// Launch for all: grid-stride, block = 256, grid = ceil(outputs / 256) capped at 65535*4.
// PERF: fine for the audio/vision stems of Qwen3-Omni (small channel counts) and
// depthwise convs; large convs should go through im2col + cuBLAS (see
// kernels/src/conv/lowered.rs) -- a GPU session should measure.

// x [batch, c_in, l_in], w [c_out, c_in/groups, kernel], out [batch, c_out, l_out]:
//   out[b, co, o] = bias[co] + sum_{ci < c_in/g} sum_{t < kernel} w[co, ci, t] * x[b, g*c_in/g + ci, o*stride + t*dilation - pad_left]
// (taps outside [0, l_in) are zero padding).
extern "C" __global__ void omnirt_conv1d_f32(const float* x, const float* w, const float* bias, float* out,
                                             long long batch, long long c_in, long long l_in, long long c_out,
                                             long long kernel, long long l_out, long long stride, long long pad_left,
                                             long long dilation, long long groups) {
    if (groups <= 0 || c_in % groups || c_out % groups) return;
    i64_t cin_g = c_in / groups, cout_g = c_out / groups;
    i64_t n = batch * c_out * l_out;
    for (i64_t idx = global_tid(); idx < n; idx += global_stride()) {
        i64_t o = idx % l_out;
        i64_t co = (idx / l_out) % c_out;
        i64_t b = idx / (l_out * c_out);
        i64_t g = co / cout_g;
        float acc = bias ? bias[co] : 0.0f;
        for (i64_t ci = 0; ci < cin_g; ++ci) {
            const float* xr = x + (b * c_in + g * cin_g + ci) * l_in;
            const float* wr = w + (co * cin_g + ci) * kernel;
            for (i64_t t = 0; t < kernel; ++t) {
                i64_t pos = o * stride + t * dilation - pad_left;
                if (pos >= 0 && pos < l_in) acc += wr[t] * xr[pos];
            }
        }
        out[idx] = acc;
    }
}

// x [batch, c_in, h, w], w [c_out, c_in/groups, kh, kw], out [batch, c_out, h_out, w_out],
// symmetric padding (pad_h, pad_w), as conv1d per axis.
extern "C" __global__ void omnirt_conv2d_f32(const float* x, const float* w, const float* bias, float* out,
                                             long long batch, long long c_in, long long h, long long wd, long long c_out,
                                             long long kh, long long kw, long long h_out, long long w_out,
                                             long long stride_h, long long stride_w, long long pad_h, long long pad_w,
                                             long long dil_h, long long dil_w, long long groups) {
    if (groups <= 0 || c_in % groups || c_out % groups) return;
    i64_t cin_g = c_in / groups, cout_g = c_out / groups;
    i64_t n = batch * c_out * h_out * w_out;
    for (i64_t idx = global_tid(); idx < n; idx += global_stride()) {
        i64_t ox = idx % w_out;
        i64_t oy = (idx / w_out) % h_out;
        i64_t co = (idx / (w_out * h_out)) % c_out;
        i64_t b = idx / (w_out * h_out * c_out);
        i64_t g = co / cout_g;
        float acc = bias ? bias[co] : 0.0f;
        for (i64_t ci = 0; ci < cin_g; ++ci) {
            const float* xp = x + (b * c_in + g * cin_g + ci) * h * wd;
            const float* wk = w + (co * cin_g + ci) * kh * kw;
            for (i64_t ky = 0; ky < kh; ++ky) {
                i64_t iy = oy * stride_h + ky * dil_h - pad_h;
                if (iy < 0 || iy >= h) continue;
                for (i64_t kx = 0; kx < kw; ++kx) {
                    i64_t ix = ox * stride_w + kx * dil_w - pad_w;
                    if (ix >= 0 && ix < wd) acc += wk[ky * kw + kx] * xp[iy * wd + ix];
                }
            }
        }
        out[idx] = acc;
    }
}

// x [batch, c_in, l_in], w [c_in, c_out/groups, kernel], out [batch, c_out, l_out]
// (l_out = (l_in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1,
// from the host). Definition: input i of channel ci adds w[ci, co_g, t] * x to
// output i*stride + t*dilation - padding. Gather form: output o takes, for each
// ci of its group (ascending) and each tap t with (o + padding - t*dilation)
// divisible by stride, input i = (o + padding - t*dilation) / stride in [0, l_in).
// Taps run from t = kernel-1 down to 0 so that i ascends: the same order in which
// the reference's scatter loop adds into each output, hence the same f32 sums.
extern "C" __global__ void omnirt_conv_transpose1d_f32(const float* x, const float* w, const float* bias, float* out,
                                                       long long batch, long long c_in, long long l_in, long long c_out,
                                                       long long kernel, long long l_out, long long stride, long long padding,
                                                       long long dilation, long long groups) {
    if (groups <= 0 || c_in % groups || c_out % groups || stride <= 0) return;
    i64_t cin_g = c_in / groups, cout_g = c_out / groups;
    i64_t n = batch * c_out * l_out;
    for (i64_t idx = global_tid(); idx < n; idx += global_stride()) {
        i64_t o = idx % l_out;
        i64_t co = (idx / l_out) % c_out;
        i64_t b = idx / (l_out * c_out);
        i64_t g = co / cout_g, co_g = co % cout_g;
        float acc = bias ? bias[co] : 0.0f;
        for (i64_t cil = 0; cil < cin_g; ++cil) {
            i64_t ci = g * cin_g + cil;
            const float* xr = x + (b * c_in + ci) * l_in;
            const float* wr = w + (ci * cout_g + co_g) * kernel;
            for (i64_t t = kernel - 1; t >= 0; --t) {
                i64_t pos = o + padding - t * dilation;
                if (pos < 0 || pos % stride != 0) continue;
                i64_t i = pos / stride;
                if (i < l_in) acc += wr[t] * xr[i];
            }
        }
        out[idx] = acc;
    }
}
