// Half-rotation RoPE (`Op::Rope`): x [b, s, h, d] contiguous, cos/sin [b, s, r]
// contiguous f32 (already in cat(freqs, freqs) form), r <= d and r even.
// Reference: `rope_half_rows` in kernels/src/rope/scalar.rs, every product and
// sum rounded through `rounding` (0 none, 1 bf16, 2 f16):
//   out[i]     = R(R(a*cos[i])     - R(b*sin[i]))      for i < r/2, a = x[i], b = x[i + r/2]
//   out[i+r/2] = R(R(b*cos[i+r/2]) + R(a*sin[i+r/2]))
//   out[j]     = x[j]                                   for r <= j < d
// Grid-stride over the b*s*h*(d - r/2) work items (one per rotated pair or
// passed-through element): block = 256, grid = ceil(items / 256) (capped; any grid works).

template <typename T>
__device__ void rope_impl(const T* x, const float* cos_t, const float* sin_t, T* out,
                          i64_t batch, i64_t seq, i64_t heads, i64_t d, i64_t r, int rounding) {
    if (d <= 0 || r < 0 || r > d || (r & 1)) return;
    i64_t half = r / 2;
    i64_t per_row = d - half;  // half pairs + (d - r) pass-through elements
    i64_t n = batch * seq * heads * per_row;
    for (i64_t t = global_tid(); t < n; t += global_stride()) {
        i64_t row = t / per_row;  // (b, s, h) flattened
        i64_t j = t % per_row;
        i64_t bs = row / heads;   // (b, s) flattened: index of the cos/sin row
        const T* xr = x + row * d;
        T* orow = out + row * d;
        if (j < half) {
            const float* c = cos_t + bs * r;
            const float* s = sin_t + bs * r;
            float a = load_f32(xr, j), b = load_f32(xr, j + half);
            float first = round_through(round_through(a * c[j], rounding) - round_through(b * s[j], rounding), rounding);
            float second = round_through(round_through(b * c[j + half], rounding) + round_through(a * s[j + half], rounding), rounding);
            store_f32(orow, j, first);
            store_f32(orow, j + half, second);
        } else {
            i64_t k = r + (j - half);  // pass-through element
            orow[k] = xr[k];
        }
    }
}

extern "C" __global__ void omnirt_rope_f32(const float* x, const float* cos_t, const float* sin_t, float* out, long long batch, long long seq, long long heads, long long d, long long r, int rounding) { rope_impl(x, cos_t, sin_t, out, batch, seq, heads, d, r, rounding); }
extern "C" __global__ void omnirt_rope_f16(const half_t* x, const float* cos_t, const float* sin_t, half_t* out, long long batch, long long seq, long long heads, long long d, long long r, int rounding) { rope_impl(x, cos_t, sin_t, out, batch, seq, heads, d, r, rounding); }
extern "C" __global__ void omnirt_rope_bf16(const bf16_t* x, const float* cos_t, const float* sin_t, bf16_t* out, long long batch, long long seq, long long heads, long long d, long long r, int rounding) { rope_impl(x, cos_t, sin_t, out, batch, seq, heads, d, r, rounding); }
