// Quantized GEMV for decode: y[r, j] = W[j, :] . x[r, :] with W [n, k] in Q8_0 or
// Q4_0 blocks (row j = k/32 consecutive blocks) and the activations x [m, k]
// quantized to Q8_0 first by `omnirt_quantize_q8_0_f32` (cast.cu) into xq
// [m, k/32] blocks. Per 32-value block: an exact integer dot product, then
// acc += f32(isum) * (f32(d_w) * f32(d_x)), accumulated in f32, exactly the
// per-block terms of kernels/src/quant/scalar.rs (`vec_dot_q8_0_q8_0`,
// `vec_dot_q4_0_q8_0`). The CPU adds the terms left to right; here each lane
// adds every 32nd block and the warp sums the 32 partials as a tree, so results
// can differ from the CPU in the last bits (same terms, different order).
//
// Launch: block = 256 (8 warps, one warp per output row j), grid = (ceil(n / 8), m),
// no dynamic shared memory. k must be a multiple of 32; m <= 65535.
// PERF: each lane reads whole 34/18-byte blocks with 2-byte loads (blocks are only
// 2-byte aligned); a warp still covers ~1 KB contiguous per step. To reach full
// HBM bandwidth a later GPU session should try 16-byte loads of a repacked
// layout (scales split from quants) or several rows per warp; measure first.

// Bytes j, j+1 (j even) of a 2-byte-aligned block, as a u16.
__device__ __forceinline__ unsigned int ld_u16(const unsigned char* p) { return *(const unsigned short*)p; }

// Four signed bytes packed in a u32 from two aligned u16 loads.
__device__ __forceinline__ int ld_i8x4(const unsigned char* p) {
    return (int)(ld_u16(p) | (ld_u16(p + 2) << 16));
}

extern "C" __global__ void omnirt_gemv_q8_0_f32(const unsigned char* w, const unsigned char* xq, float* y,
                                                long long m, long long n, long long k) {
    i64_t j = ((i64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;  // output column = weight row
    i64_t r = blockIdx.y;                                            // activation row
    int lane = threadIdx.x & 31;
    if (j >= n || r >= m || k <= 0 || (k & 31)) return;  // whole warps exit together
    i64_t kb = k >> 5;
    const unsigned char* wrow = w + j * kb * 34;
    const unsigned char* xrow = xq + r * kb * 34;
    float acc = 0.0f;
    for (i64_t b = lane; b < kb; b += 32) {
        const unsigned char* wb = wrow + b * 34;
        const unsigned char* xb = xrow + b * 34;
        int isum = 0;
        for (int i = 0; i < 32; i += 4) isum = __dp4a(ld_i8x4(wb + 2 + i), ld_i8x4(xb + 2 + i), isum);
        float dw = f16_bits_to_f32((unsigned short)ld_u16(wb));
        float dx = f16_bits_to_f32((unsigned short)ld_u16(xb));
        acc = acc + (float)isum * (dw * dx);
    }
    acc = warp_sum_f32(acc);
    if (lane == 0) y[r * n + j] = acc;
}

extern "C" __global__ void omnirt_gemv_q4_0_f32(const unsigned char* w, const unsigned char* xq, float* y,
                                                long long m, long long n, long long k) {
    i64_t j = ((i64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    i64_t r = blockIdx.y;
    int lane = threadIdx.x & 31;
    if (j >= n || r >= m || k <= 0 || (k & 31)) return;
    i64_t kb = k >> 5;
    const unsigned char* wrow = w + j * kb * 18;
    const unsigned char* xrow = xq + r * kb * 34;
    float acc = 0.0f;
    for (i64_t b = lane; b < kb; b += 32) {
        const unsigned char* wb = wrow + b * 18;
        const unsigned char* xb = xrow + b * 34;
        int isum = 0;
        for (int i = 0; i < 16; i += 4) {
            // Four weight bytes hold values i..i+3 (low nibbles) and i+16..i+19 (high).
            unsigned int q = ld_u16(wb + 2 + i) | (ld_u16(wb + 4 + i) << 16);
            int lo = (int)(q & 0x0f0f0f0fu);         // nibbles in 0..15, one per byte
            int hi = (int)((q >> 4) & 0x0f0f0f0fu);
            // (nib - 8) * x = nib * x - 8 * x; the -8 part is folded in with x_sum below.
            isum = __dp4a(lo, ld_i8x4(xb + 2 + i), isum);
            isum = __dp4a(hi, ld_i8x4(xb + 18 + i), isum);
        }
        int xsum = 0;
        for (int i = 0; i < 32; i += 4) xsum = __dp4a(0x01010101, ld_i8x4(xb + 2 + i), xsum);
        isum -= 8 * xsum;  // exact integer identity: sum (n-8)*x = sum n*x - 8*sum x
        float dw = f16_bits_to_f32((unsigned short)ld_u16(wb));
        float dx = f16_bits_to_f32((unsigned short)ld_u16(xb));
        acc = acc + (float)isum * (dw * dx);
    }
    acc = warp_sum_f32(acc);
    if (lane == 0) y[r * n + j] = acc;
}
