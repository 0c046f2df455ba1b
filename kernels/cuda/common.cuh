// omnirt CUDA common helpers, prepended to every kernels/cuda/*.cu file by
// `omnirt_kernels::cuda_sources` before NVRTC compiles it (so NVRTC line numbers
// in a `.cu` file are offset by the length of this file).
//
// Rules for every source: no include directives (the NVRTC from PyPI ships no headers), so
// f16/bf16 are handled as raw `unsigned short` bits wrapped in `half_t`/`bf16_t`
// with conversions written out here, and all arithmetic is done in f32 (or f64
// where the CPU reference uses f64). Compile options (see ABI.md): `-std=c++17
// --fmad=false`, no fast math: products and sums round exactly as written, and
// kernels that want fused multiply-adds call fmaf() explicitly.

typedef long long i64_t;
typedef unsigned long long u64_t;

// 16-bit float storage types: raw bits, no arithmetic operators on purpose.
struct half_t { unsigned short bits; };
struct bf16_t { unsigned short bits; };

// Declares the kernel's dynamic shared memory (`extern __shared__`); a macro so
// the CPU emulation test (emu/test.cpp) can substitute a plain array.
#ifndef OMNIRT_DYN_SMEM
#define OMNIRT_DYN_SMEM(type, name) extern __shared__ type name[]
#endif

#define OMNIRT_INF (__int_as_float(0x7f800000))
#define OMNIRT_NEG_INF (__int_as_float(0xff800000))

// ---------------------------------------------------------------------------
// f32 <-> bf16 / f16, round to nearest even, bit-exact with the `half` crate.

__device__ __forceinline__ unsigned short f32_to_bf16_bits(float f) {
    unsigned int x = __float_as_uint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short)((x >> 16) | 0x0040u);  // NaN: keep sign/payload, make quiet
    }
    const unsigned int round_bit = 0x00008000u;
    if ((x & round_bit) != 0u && (x & (3u * round_bit - 1u)) != 0u) {
        return (unsigned short)((x >> 16) + 1u);
    }
    return (unsigned short)(x >> 16);
}

__device__ __forceinline__ float bf16_bits_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned int)h) << 16);
}

__device__ __forceinline__ unsigned short f32_to_f16_bits(float f) {
    unsigned int x = __float_as_uint(f);
    unsigned int sign = x & 0x80000000u;
    unsigned int exp = x & 0x7f800000u;
    unsigned int man = x & 0x007fffffu;
    if (exp == 0x7f800000u) {  // Inf or NaN
        unsigned int nan_bit = (man == 0u) ? 0u : 0x0200u;
        return (unsigned short)((sign >> 16) | 0x7c00u | nan_bit | (man >> 13));
    }
    unsigned int half_sign = sign >> 16;
    int half_exp = (int)(exp >> 23) - 127 + 15;
    if (half_exp >= 0x1f) {  // overflow: infinity
        return (unsigned short)(half_sign | 0x7c00u);
    }
    if (half_exp <= 0) {  // subnormal or zero
        if (14 - half_exp > 24) {
            return (unsigned short)half_sign;
        }
        unsigned int m = man | 0x00800000u;
        unsigned int half_man = m >> (14 - half_exp);
        unsigned int round_bit = 1u << (13 - half_exp);
        if ((m & round_bit) != 0u && (m & (3u * round_bit - 1u)) != 0u) {
            half_man += 1u;
        }
        return (unsigned short)(half_sign | half_man);
    }
    unsigned int bits = half_sign | ((unsigned int)half_exp << 10) | (man >> 13);
    const unsigned int round_bit = 0x00001000u;
    if ((man & round_bit) != 0u && (man & (3u * round_bit - 1u)) != 0u) {
        bits += 1u;  // may carry into the exponent: correct (rounds up to the next binade / inf)
    }
    return (unsigned short)bits;
}

__device__ __forceinline__ float f16_bits_to_f32(unsigned short h) {
    unsigned int sign = ((unsigned int)h & 0x8000u) << 16;
    unsigned int exp = ((unsigned int)h >> 10) & 0x1fu;
    unsigned int man = (unsigned int)h & 0x03ffu;
    if (exp == 0x1fu) {  // Inf / NaN (NaN made quiet, like `half`)
        if (man == 0u) {
            return __uint_as_float(sign | 0x7f800000u);
        }
        return __uint_as_float(sign | 0x7fc00000u | (man << 13));
    }
    if (exp == 0u) {  // zero or subnormal: man * 2^-24, exact in f32
        float r = (float)man * 5.9604644775390625e-8f;
        return sign ? -r : r;
    }
    return __uint_as_float(sign | ((exp + 112u) << 23) | (man << 13));
}

// Rounding modes of `Rounding` (kernels/src/cast/mod.rs): 0 = None, 1 = Bf16, 2 = F16.
__device__ __forceinline__ float round_through(float x, int rounding) {
    if (rounding == 1) return bf16_bits_to_f32(f32_to_bf16_bits(x));
    if (rounding == 2) return f16_bits_to_f32(f32_to_f16_bits(x));
    return x;
}

// Typed loads/stores: every kernel template reads and writes through these.
__device__ __forceinline__ float load_f32(const float* p, i64_t i) { return p[i]; }
__device__ __forceinline__ float load_f32(const half_t* p, i64_t i) { return f16_bits_to_f32(p[i].bits); }
__device__ __forceinline__ float load_f32(const bf16_t* p, i64_t i) { return bf16_bits_to_f32(p[i].bits); }
__device__ __forceinline__ void store_f32(float* p, i64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store_f32(half_t* p, i64_t i, float v) { half_t h; h.bits = f32_to_f16_bits(v); p[i] = h; }
__device__ __forceinline__ void store_f32(bf16_t* p, i64_t i, float v) { bf16_t h; h.bits = f32_to_bf16_bits(v); p[i] = h; }

// ---------------------------------------------------------------------------
// Strided layouts. `Layout6` is passed BY VALUE to kernels (104 bytes; Rust:
// `#[repr(C)] struct Layout6 { dims: [i64; 6], strides: [i64; 6], rank: i32, _pad: i32 }`).
// `dims[0..rank]` are the logical dims (outermost first), `strides[0..rank]` the
// element strides of the tensor being read (0 for a broadcast dim). Entries at
// and beyond `rank` are ignored. rank 0 is a scalar (offset 0).
struct Layout6 {
    i64_t dims[6];
    i64_t strides[6];
    int rank;
    int _pad;
};

// Element offset of logical (row-major, contiguous) index `linear` in `l`.
__device__ __forceinline__ i64_t layout_offset(const Layout6& l, i64_t linear) {
    i64_t off = 0;
    for (int d = l.rank - 1; d >= 0; --d) {
        i64_t dim = l.dims[d];
        if (dim <= 0) return 0;
        off += (linear % dim) * l.strides[d];
        linear /= dim;
    }
    return off;
}

// ---------------------------------------------------------------------------
// Block reductions. Blocks must have blockDim.x a multiple of 32 and <= 1024.
// Every thread gets the result. Uses 32 slots of shared memory passed in.

__device__ __forceinline__ double warp_sum_f64(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_sum_f32(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ double block_sum_f64(double v, double* scratch32) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    v = warp_sum_f64(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch32[warp] = v;
    __syncthreads();
    double t = (lane < nwarps) ? scratch32[lane] : 0.0;
    return warp_sum_f64(t);
}

// Max that propagates NaN (like the CPU `reduce_row(Max)`: a NaN anywhere wins).
__device__ __forceinline__ float max_nan(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return a > b ? a : b;
}
__device__ __forceinline__ float min_nan(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return a < b ? a : b;
}

__device__ float block_max_nan_f32(float v, float* scratch32) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) scratch32[warp] = v;
    __syncthreads();
    float t = (lane < nwarps) ? scratch32[lane] : OMNIRT_NEG_INF;
    for (int o = 16; o > 0; o >>= 1) t = max_nan(t, __shfl_xor_sync(0xffffffffu, t, o));
    return t;
}

__device__ float block_min_nan_f32(float v, float* scratch32) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) v = min_nan(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) scratch32[warp] = v;
    __syncthreads();
    float t = (lane < nwarps) ? scratch32[lane] : OMNIRT_INF;
    for (int o = 16; o > 0; o >>= 1) t = min_nan(t, __shfl_xor_sync(0xffffffffu, t, o));
    return t;
}

// The ranking of argmax/top-k (kernels/src/reduce/select.rs): larger value first,
// NaN above every number (all NaNs equal, -0 == +0), then lower index first.
// True when (va, ia) ranks strictly before (vb, ib).
__device__ __forceinline__ bool ranks_before(float va, unsigned int ia, float vb, unsigned int ib) {
    bool na = va != va, nb = vb != vb;
    if (na && !nb) return true;
    if (!na && nb) return false;
    if (!na && !nb) {
        if (va > vb) return true;
        if (va < vb) return false;
    }
    return ia < ib;
}

// The best (value, index) pair over the block; `idx == 0xffffffff` means none.
__device__ void block_best(float* v, unsigned int* idx, float* sv32, unsigned int* si32) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, *v, o);
        unsigned int oi = __shfl_xor_sync(0xffffffffu, *idx, o);
        if (oi != 0xffffffffu && (*idx == 0xffffffffu || ranks_before(ov, oi, *v, *idx))) {
            *v = ov;
            *idx = oi;
        }
    }
    __syncthreads();
    if (lane == 0) { sv32[warp] = *v; si32[warp] = *idx; }
    __syncthreads();
    *v = (lane < nwarps) ? sv32[lane] : 0.0f;
    *idx = (lane < nwarps) ? si32[lane] : 0xffffffffu;
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, *v, o);
        unsigned int oi = __shfl_xor_sync(0xffffffffu, *idx, o);
        if (oi != 0xffffffffu && (*idx == 0xffffffffu || ranks_before(ov, oi, *v, *idx))) {
            *v = ov;
            *idx = oi;
        }
    }
}

// Global linear thread index and stride for grid-stride loops over n elements.
__device__ __forceinline__ i64_t global_tid() { return (i64_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64_t global_stride() { return (i64_t)gridDim.x * blockDim.x; }
