// Reductions over the last dim of contiguous rows: sum / mean / max / min
// (`Op::Reduce`), argmax (`Op::ArgMax`), top-k (`Op::TopK`).
// Reference: kernels/src/reduce/scalar.rs and select.rs:
//  - sum and mean accumulate in f64 (mean = f32(sum / dim)); order differs from
//    the CPU (tree), so results may differ in the last f32 ulp only when the f64
//    sum itself rounds differently (rare);
//  - max / min propagate NaN; empty rows give 0 (sum), NaN (mean), -inf (max), +inf (min);
//  - argmax / top-k rank larger values first, NaN above every number, lower
//    index first among equals (a total order, so results equal the CPU's exactly).
// Launch for all: grid = (rows), block = 256 (multiple of 32, <= 1024), no dynamic smem.

#define R_SUM 0
#define R_MEAN 1
#define R_MAX 2
#define R_MIN 3

template <typename T>
__device__ void reduce_impl(const T* x, T* y, i64_t rows, i64_t dim, int op) {
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    i64_t row = blockIdx.x;
    if (row >= rows) return;
    const T* xr = x + row * (dim > 0 ? dim : 0);
    float result;
    if (op == R_SUM || op == R_MEAN) {
        double s = 0.0;
        for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) s += (double)load_f32(xr, i);
        s = block_sum_f64(s, dscratch);
        result = (op == R_SUM) ? (float)s : (float)(s / (double)dim);  // dim 0: 0/0 = NaN
    } else if (op == R_MAX) {
        float m = OMNIRT_NEG_INF;
        for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) m = max_nan(m, load_f32(xr, i));
        result = block_max_nan_f32(m, fscratch);
    } else {
        float m = OMNIRT_INF;
        for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) m = min_nan(m, load_f32(xr, i));
        result = block_min_nan_f32(m, fscratch);
    }
    if (threadIdx.x == 0) store_f32(y, row, result);
}

extern "C" __global__ void omnirt_reduce_f32(const float* x, float* y, long long rows, long long dim, int op) { reduce_impl(x, y, rows, dim, op); }
extern "C" __global__ void omnirt_reduce_f16(const half_t* x, half_t* y, long long rows, long long dim, int op) { reduce_impl(x, y, rows, dim, op); }
extern "C" __global__ void omnirt_reduce_bf16(const bf16_t* x, bf16_t* y, long long rows, long long dim, int op) { reduce_impl(x, y, rows, dim, op); }

// out[row] = index (u32) of the best-ranked element; 0 for an empty row (as the CPU).
template <typename T>
__device__ void argmax_impl(const T* x, unsigned int* out, i64_t rows, i64_t dim) {
    __shared__ float sv[32];
    __shared__ unsigned int si[32];
    i64_t row = blockIdx.x;
    if (row >= rows) return;
    const T* xr = x + row * (dim > 0 ? dim : 0);
    float v = 0.0f;
    unsigned int idx = 0xffffffffu;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        float c = load_f32(xr, i);
        if (idx == 0xffffffffu || ranks_before(c, (unsigned int)i, v, idx)) { v = c; idx = (unsigned int)i; }
    }
    block_best(&v, &idx, sv, si);
    if (threadIdx.x == 0) out[row] = (idx == 0xffffffffu) ? 0u : idx;
}

extern "C" __global__ void omnirt_argmax_f32(const float* x, unsigned int* out, long long rows, long long dim) { argmax_impl(x, out, rows, dim); }
extern "C" __global__ void omnirt_argmax_f16(const half_t* x, unsigned int* out, long long rows, long long dim) { argmax_impl(x, out, rows, dim); }
extern "C" __global__ void omnirt_argmax_bf16(const bf16_t* x, unsigned int* out, long long rows, long long dim) { argmax_impl(x, out, rows, dim); }

// The k best-ranked elements of each row, best first: values [rows, k] (input
// dtype) and indices [rows, k] (u32). Needs 0 <= k <= dim (the host validates);
// slots past dim, if any, are left untouched.
// Algorithm: k rounds of a block-wide selection, round j picking the best
// element that ranks strictly after the one picked in round j-1. Because the
// ranking is a total order this yields exactly the CPU's sorted top-k, ties
// included. Cost O(k * dim) reads per row: fine for MoE (k <= 8) and sampling
// (k <= ~100 over a 150k vocab: ~15M reads from L2 per row). PERF: for large k
// switch to a radix-select + bitonic sort; tune on a GPU.
template <typename T>
__device__ void topk_impl(const T* x, T* values, unsigned int* indices, i64_t rows, i64_t dim, i64_t k) {
    __shared__ float sv[32];
    __shared__ unsigned int si[32];
    i64_t row = blockIdx.x;
    if (row >= rows || k <= 0 || dim <= 0) return;
    const T* xr = x + row * dim;
    i64_t kk = k < dim ? k : dim;
    float prev_v = 0.0f;
    unsigned int prev_i = 0xffffffffu;  // none picked yet
    for (i64_t j = 0; j < kk; ++j) {
        float v = 0.0f;
        unsigned int idx = 0xffffffffu;
        for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
            float c = load_f32(xr, i);
            unsigned int ci = (unsigned int)i;
            bool after_prev = (prev_i == 0xffffffffu) || ranks_before(prev_v, prev_i, c, ci);
            if (after_prev && (idx == 0xffffffffu || ranks_before(c, ci, v, idx))) { v = c; idx = ci; }
        }
        block_best(&v, &idx, sv, si);
        if (idx == 0xffffffffu) break;  // cannot happen for j < dim
        if (threadIdx.x == 0) {
            values[row * k + j] = xr[idx];  // the element itself (exact, any dtype)
            indices[row * k + j] = idx;
        }
        prev_v = v;
        prev_i = idx;
    }
}

extern "C" __global__ void omnirt_topk_f32(const float* x, float* values, unsigned int* indices, long long rows, long long dim, long long k) { topk_impl(x, values, indices, rows, dim, k); }
extern "C" __global__ void omnirt_topk_f16(const half_t* x, half_t* values, unsigned int* indices, long long rows, long long dim, long long k) { topk_impl(x, values, indices, rows, dim, k); }
extern "C" __global__ void omnirt_topk_bf16(const bf16_t* x, bf16_t* values, unsigned int* indices, long long rows, long long dim, long long k) { topk_impl(x, values, indices, rows, dim, k); }
