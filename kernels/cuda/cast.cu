// Dtype conversions (`Op::Cast`) and Q8_0 / Q4_0 quantize / dequantize.
// References: kernels/src/cast/scalar.rs (half crate conversions, RNE),
// src/backend/cpu/data.rs + access.rs (int <-> float rules), kernels/src/quant/scalar.rs.

// Dtype codes used by omnirt_cast_any.
#define DT_F32 0
#define DT_F16 1
#define DT_BF16 2
#define DT_I32 3
#define DT_U32 4
#define DT_I64 5
#define DT_U8 6

__device__ __forceinline__ bool dt_is_int(int dt) { return dt >= DT_I32 && dt <= DT_U8; }

__device__ float load_any_f32(const void* p, int dt, i64_t i) {
    switch (dt) {
    case DT_F32: return ((const float*)p)[i];
    case DT_F16: return f16_bits_to_f32(((const unsigned short*)p)[i]);
    case DT_BF16: return bf16_bits_to_f32(((const unsigned short*)p)[i]);
    case DT_I32: return (float)((const int*)p)[i];                 // RNE
    case DT_U32: return (float)((const unsigned int*)p)[i];        // RNE
    case DT_I64: return (float)((const long long*)p)[i];           // RNE
    case DT_U8: return (float)((const unsigned char*)p)[i];
    default: return 0.0f;
    }
}

__device__ i64_t load_any_i64(const void* p, int dt, i64_t i) {
    switch (dt) {
    case DT_I32: return (i64_t)((const int*)p)[i];
    case DT_U32: return (i64_t)((const unsigned int*)p)[i];
    case DT_I64: return ((const long long*)p)[i];
    case DT_U8: return (i64_t)((const unsigned char*)p)[i];
    default: return 0;
    }
}

// Rust `f as i32/u32/i64/u8`: truncate toward zero, saturate, NaN -> 0.
__device__ __forceinline__ int sat_i32(float v) {
    if (v != v) return 0;
    if (v >= 2147483648.0f) return 2147483647;
    if (v <= -2147483648.0f) return (int)0x80000000u;
    return (int)v;
}
__device__ __forceinline__ unsigned int sat_u32(float v) {
    if (!(v > 0.0f)) return 0u;  // NaN, negatives (truncate to 0 or saturate to 0)
    if (v >= 4294967296.0f) return 0xffffffffu;
    return (unsigned int)v;
}
__device__ __forceinline__ long long sat_i64(float v) {
    if (v != v) return 0;
    if (v >= 9223372036854775808.0f) return 0x7fffffffffffffffll;
    if (v <= -9223372036854775808.0f) return (long long)0x8000000000000000ull;
    return (long long)v;
}
__device__ __forceinline__ unsigned char sat_u8(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (unsigned char)v;
}

__device__ void store_any_f32(void* p, int dt, i64_t i, float v) {
    switch (dt) {
    case DT_F32: ((float*)p)[i] = v; break;
    case DT_F16: ((unsigned short*)p)[i] = f32_to_f16_bits(v); break;
    case DT_BF16: ((unsigned short*)p)[i] = f32_to_bf16_bits(v); break;
    case DT_I32: ((int*)p)[i] = sat_i32(v); break;
    case DT_U32: ((unsigned int*)p)[i] = sat_u32(v); break;
    case DT_I64: ((long long*)p)[i] = sat_i64(v); break;
    case DT_U8: ((unsigned char*)p)[i] = sat_u8(v); break;
    default: break;
    }
}

// Rust `i64 as i32/u32/u8`: keep the low bits (two's complement wrap).
__device__ void store_any_i64(void* p, int dt, i64_t i, i64_t v) {
    u64_t u = (u64_t)v;
    switch (dt) {
    case DT_I32: ((int*)p)[i] = (int)(unsigned int)u; break;
    case DT_U32: ((unsigned int*)p)[i] = (unsigned int)u; break;
    case DT_I64: ((long long*)p)[i] = v; break;
    case DT_U8: ((unsigned char*)p)[i] = (unsigned char)u; break;
    default: break;
    }
}

// dst[i] = convert(src[i]) for i < n, both contiguous. int -> int goes through
// i64 (wrapping like Rust `as`), everything else through f32 (like the CPU
// backend: e.g. i64 -> bf16 is i64 -> f32 (RNE) -> bf16 (RNE)). src_dtype ==
// dst_dtype copies through the same path (exact for every dtype except i64 ->
// f32 -> i64 outside the f32-exact range: use a plain copy for identity casts).
// Grid-stride: block = 256, any grid. PERF: a typed kernel per pair would avoid
// the (uniform) switches; only worth it if casts show up in profiles.
extern "C" __global__ void omnirt_cast_any(const void* src, int src_dtype, void* dst, int dst_dtype, long long n) {
    bool via_int = dt_is_int(src_dtype) && dt_is_int(dst_dtype);
    for (i64_t i = global_tid(); i < n; i += global_stride()) {
        if (via_int) {
            store_any_i64(dst, dst_dtype, i, load_any_i64(src, src_dtype, i));
        } else {
            store_any_f32(dst, dst_dtype, i, load_any_f32(src, src_dtype, i));
        }
    }
}

// ---------------------------------------------------------------------------
// Q8_0 / Q4_0 (ggml layouts, kernels/src/quant/mod.rs). Blocks are packed with
// no padding: Q8_0 = { u16 d (f16 bits); i8 qs[32] } = 34 bytes, Q4_0 =
// { u16 d; u8 qs[16] } = 18 bytes; block b of the flat array starts at byte
// b*34 (b*18), so `d` is 2-byte aligned when the buffer is.
//
// Launch for all four: one warp per block of 32 values, lane i <-> value i.
// block = 256 threads (8 quant blocks per CUDA block), grid = ceil(nblocks / 8);
// nblocks = number of 32-value blocks = n / 32 (n must be a multiple of 32; a
// row-major [rows, k] tensor with k % 32 == 0 is just rows*k/32 blocks).
// Non-finite inputs give unspecified but memory-safe blocks (as on the CPU).

__device__ __forceinline__ signed char sat_i8(float v) {
    if (v != v) return 0;
    if (v >= 127.0f) return 127;
    if (v <= -128.0f) return -128;
    return (signed char)(int)v;
}

// x: n f32 values; out: n/32 Q8_0 blocks.
extern "C" __global__ void omnirt_quantize_q8_0_f32(const float* x, unsigned char* out, long long nblocks) {
    i64_t blk = ((i64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (blk >= nblocks) return;  // whole warps exit together
    float v = x[blk * 32 + lane];
    float amax = fabsf(v);
    // Rust f32::max ignores NaN; finite inputs only matter here.
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    float d = amax / 127.0f;
    float id = (d != 0.0f) ? 1.0f / d : 0.0f;
    unsigned char* ob = out + blk * 34;
    if (lane == 0) *(unsigned short*)ob = f32_to_f16_bits(d);
    ob[2 + lane] = (unsigned char)sat_i8(roundf(v * id));  // roundf: half away from zero, like Rust round()
}

// x: n f32 values; out: n/32 Q4_0 blocks.
extern "C" __global__ void omnirt_quantize_q4_0_f32(const float* x, unsigned char* out, long long nblocks) {
    i64_t blk = ((i64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (blk >= nblocks) return;
    float v = x[blk * 32 + lane];
    // The first value of largest magnitude (> 0; NaN never wins), as the reference's
    // `if amax < |v|` scan; none -> max = +0.
    float a = fabsf(v);
    float key = (a > 0.0f) ? a : -1.0f;
    int idx = lane;
    for (int o = 16; o > 0; o >>= 1) {
        float ok = __shfl_xor_sync(0xffffffffu, key, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        if (ok > key || (ok == key && oi < idx)) { key = ok; idx = oi; }
    }
    float vmax = __shfl_sync(0xffffffffu, v, idx);
    float max = (key > 0.0f) ? vmax : 0.0f;
    float d = max / -8.0f;
    float id = (d != 0.0f) ? 1.0f / d : 0.0f;
    int nib = (int)sat_i8(v * id + 8.5f);
    nib = nib < 0 ? 0 : (nib > 15 ? 15 : nib);
    int hi = __shfl_down_sync(0xffffffffu, nib, 16);  // lane j < 16 gets value j + 16
    unsigned char* ob = out + blk * 18;
    if (lane == 0) *(unsigned short*)ob = f32_to_f16_bits(d);
    if (lane < 16) ob[2 + lane] = (unsigned char)(nib | (hi << 4));
}

// blocks: nblocks Q8_0 blocks; y: nblocks*32 f32 values (q * d).
extern "C" __global__ void omnirt_dequantize_q8_0_f32(const unsigned char* blocks, float* y, long long nblocks) {
    i64_t blk = ((i64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (blk >= nblocks) return;
    const unsigned char* b = blocks + blk * 34;
    float d = f16_bits_to_f32(*(const unsigned short*)b);
    y[blk * 32 + lane] = (float)(signed char)b[2 + lane] * d;
}

// blocks: nblocks Q4_0 blocks; y: nblocks*32 f32 values ((nibble - 8) * d; value
// j < 16 is the low nibble of qs[j], value j + 16 its high nibble).
extern "C" __global__ void omnirt_dequantize_q4_0_f32(const unsigned char* blocks, float* y, long long nblocks) {
    i64_t blk = ((i64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (blk >= nblocks) return;
    const unsigned char* b = blocks + blk * 18;
    float d = f16_bits_to_f32(*(const unsigned short*)b);
    int q = b[2 + (lane & 15)];
    int nib = (lane < 16) ? (q & 0x0f) : (q >> 4);
    y[blk * 32 + lane] = (float)(nib - 8) * d;
}
