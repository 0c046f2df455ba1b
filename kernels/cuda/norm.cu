// RMSNorm and LayerNorm over the last dim of contiguous rows.
// Reference: kernels/src/norm/scalar.rs (row statistics in f64, the rest in f32).
// Launch: grid = (rows), block = 256 (any multiple of 32 up to 1024), no dynamic
// shared memory. One block per row. PERF: for dim <= 1024 a warp per row (several
// rows per block) would launch fewer idle threads; tune on a GPU.

// y = w * round(x * inv), inv = 1 / sqrt(mean(x^2) + eps) (f32), mean in f64.
// `w` may be null (no weight). `rounding`: 0 none, 1 bf16, 2 f16.
template <typename T>
__device__ void rms_norm_impl(const T* x, const T* w, T* y, i64_t rows, i64_t dim, float eps, int rounding) {
    __shared__ double scratch[32];
    i64_t row = blockIdx.x;
    if (row >= rows || dim <= 0) return;
    const T* xr = x + row * dim;
    T* yr = y + row * dim;
    double sum_sq = 0.0;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        double v = (double)load_f32(xr, i);
        sum_sq += v * v;
    }
    sum_sq = block_sum_f64(sum_sq, scratch);
    float mean_sq = (float)(sum_sq / (double)dim);
    float inv = 1.0f / sqrtf(mean_sq + eps);
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = round_through(load_f32(xr, i) * inv, rounding);
        if (w) v = load_f32(w, i) * v;
        store_f32(yr, i, v);
    }
}

extern "C" __global__ void omnirt_rms_norm_f32(const float* x, const float* w, float* y, long long rows, long long dim, float eps, int rounding) { rms_norm_impl(x, w, y, rows, dim, eps, rounding); }
extern "C" __global__ void omnirt_rms_norm_f16(const half_t* x, const half_t* w, half_t* y, long long rows, long long dim, float eps, int rounding) { rms_norm_impl(x, w, y, rows, dim, eps, rounding); }
extern "C" __global__ void omnirt_rms_norm_bf16(const bf16_t* x, const bf16_t* w, bf16_t* y, long long rows, long long dim, float eps, int rounding) { rms_norm_impl(x, w, y, rows, dim, eps, rounding); }

// y = ((x - mean) * inv) * w + b with mean, var in f64 (two passes over the row),
// inv = 1 / sqrt(var + eps) in f32. `w` and `b` may each be null.
template <typename T>
__device__ void layer_norm_impl(const T* x, const T* w, const T* b, T* y, i64_t rows, i64_t dim, float eps) {
    __shared__ double scratch[32];
    i64_t row = blockIdx.x;
    if (row >= rows || dim <= 0) return;
    const T* xr = x + row * dim;
    T* yr = y + row * dim;
    double s = 0.0;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) s += (double)load_f32(xr, i);
    double mean = block_sum_f64(s, scratch) / (double)dim;
    double sq = 0.0;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        double d = (double)load_f32(xr, i) - mean;
        sq += d * d;
    }
    double var = block_sum_f64(sq, scratch) / (double)dim;
    float inv = 1.0f / sqrtf((float)var + eps);
    float mean_f = (float)mean;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = (load_f32(xr, i) - mean_f) * inv;
        if (w) v = v * load_f32(w, i);
        if (b) v = v + load_f32(b, i);
        store_f32(yr, i, v);
    }
}

extern "C" __global__ void omnirt_layer_norm_f32(const float* x, const float* w, const float* b, float* y, long long rows, long long dim, float eps) { layer_norm_impl(x, w, b, y, rows, dim, eps); }
extern "C" __global__ void omnirt_layer_norm_f16(const half_t* x, const half_t* w, const half_t* b, half_t* y, long long rows, long long dim, float eps) { layer_norm_impl(x, w, b, y, rows, dim, eps); }
extern "C" __global__ void omnirt_layer_norm_bf16(const bf16_t* x, const bf16_t* w, const bf16_t* b, bf16_t* y, long long rows, long long dim, float eps) { layer_norm_impl(x, w, b, y, rows, dim, eps); }
