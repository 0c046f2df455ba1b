// Softmax over the last dim of contiguous rows (`Op::Softmax`).
// Reference: `softmax_rows_inplace` in kernels/src/softmax/scalar.rs:
//   m = max(row) (NaN-propagating), e_i = f32(exp_f64(x_i - m)) with the shift
//   in f32, sum = Σ e_i in f64 (of the f32-rounded e_i), y_i = f32(e_i * (1/sum)) in f64.
// Launch: grid = (rows), block = 256 (multiple of 32, <= 1024), no dynamic smem.
// exp is evaluated twice per element (once for the sum, once for the output)
// instead of staging e_i: simple, and the row stays in L2. PERF: stage in smem
// for dim <= ~12k if it matters.

template <typename T>
__device__ void softmax_impl(const T* x, T* y, i64_t rows, i64_t dim) {
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    i64_t row = blockIdx.x;
    if (row >= rows || dim <= 0) return;
    const T* xr = x + row * dim;
    T* yr = y + row * dim;
    float m = OMNIRT_NEG_INF;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) m = max_nan(m, load_f32(xr, i));
    m = block_max_nan_f32(m, fscratch);
    double sum = 0.0;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        sum += (double)(float)exp((double)(load_f32(xr, i) - m));
    }
    sum = block_sum_f64(sum, dscratch);
    double inv = 1.0 / sum;
    for (i64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        float e = (float)exp((double)(load_f32(xr, i) - m));
        store_f32(yr, i, (float)((double)e * inv));
    }
}

extern "C" __global__ void omnirt_softmax_f32(const float* x, float* y, long long rows, long long dim) { softmax_impl(x, y, rows, dim); }
extern "C" __global__ void omnirt_softmax_f16(const half_t* x, half_t* y, long long rows, long long dim) { softmax_impl(x, y, rows, dim); }
extern "C" __global__ void omnirt_softmax_bf16(const bf16_t* x, bf16_t* y, long long rows, long long dim) { softmax_impl(x, y, rows, dim); }
