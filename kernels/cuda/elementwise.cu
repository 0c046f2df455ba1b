// Elementwise ops: unary (every `UnaryOp`), binary with NumPy broadcasting,
// swiglu, SnakeBeta. References: kernels/src/act/scalar.rs, kernels/src/binary/scalar.rs.
//
// All kernels are grid-stride loops: any grid works; ABI.md suggests
// block = 256, grid = min(ceil(n / 256), 65535 * 4).
// Activations whose CPU reference evaluates in f64 and rounds once (silu, gelu,
// sigmoid, tanh, exp, sin, cos, log) are evaluated in f64 here too, so results
// match the reference bit for bit in practice. PERF: f64 is 1/2 rate on
// H100/A100 (fine, these kernels are memory bound) but 1/64 on consumer GPUs; a
// later GPU session may add f32 variants with a measured ulp bound.

// UnaryOp codes, in `UnaryOp::ALL` order (kernels/src/act/mod.rs).
#define U_SILU 0
#define U_GELU_TANH 1
#define U_GELU_ERF 2
#define U_SIGMOID 3
#define U_TANH 4
#define U_EXP 5
#define U_RELU 6
#define U_NEG 7
#define U_ABS 8
#define U_SQRT 9
#define U_RSQRT 10
#define U_RECIP 11
#define U_SQUARE 12
#define U_SIN 13
#define U_COS 14
#define U_LOG 15

__device__ __forceinline__ float silu_ref(float x) {
    double d = (double)x;
    return (float)(d / (1.0 + exp(-d)));
}

__device__ float unary_apply(int op, float x) {
    switch (op) {
    case U_SILU: return silu_ref(x);
    case U_GELU_TANH: {
        // u computed in f32 exactly as the reference: SQRT_2_OVER_PI * (x + GELU_CUBIC * (x*x*x)).
        float u = 0.7978846f * (x + 0.044715f * ((x * x) * x));
        double d = (double)x;
        return (float)(d / (1.0 + exp(-2.0 * (double)u)));
    }
    case U_GELU_ERF: {
        double d = (double)x;
        return (float)(0.5 * d * erfc(-d * 0.70710678118654752440));
    }
    case U_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
    case U_TANH: return (float)tanh((double)x);
    case U_EXP: return (float)exp((double)x);
    case U_RELU: return (x < 0.0f) ? 0.0f : x;  // NaN stays NaN
    case U_NEG: return -x;
    case U_ABS: return fabsf(x);
    case U_SQRT: return sqrtf(x);  // IEEE (no fast math)
    case U_RSQRT: return 1.0f / sqrtf(x);  // correctly rounded sqrt then division, like the CPU
    case U_RECIP: return 1.0f / x;
    case U_SQUARE: return x * x;
    case U_SIN: return (float)sin((double)x);
    case U_COS: return (float)cos((double)x);
    case U_LOG: return (float)log((double)x);
    default: return __int_as_float(0x7fc00000);  // unknown op: NaN (the host validates codes)
    }
}

template <typename T>
__device__ void unary_impl(const T* x, T* y, i64_t n, int op) {
    for (i64_t i = global_tid(); i < n; i += global_stride()) {
        store_f32(y, i, unary_apply(op, load_f32(x, i)));
    }
}

extern "C" __global__ void omnirt_unary_f32(const float* x, float* y, long long n, int op) { unary_impl(x, y, n, op); }
extern "C" __global__ void omnirt_unary_f16(const half_t* x, half_t* y, long long n, int op) { unary_impl(x, y, n, op); }
extern "C" __global__ void omnirt_unary_bf16(const bf16_t* x, bf16_t* y, long long n, int op) { unary_impl(x, y, n, op); }

// BinaryOp codes, in `BinaryOp::ALL` order (kernels/src/binary/mod.rs).
#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define B_MAX 4
#define B_MIN 5

__device__ __forceinline__ float binary_apply(int op, float a, float b) {
    switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    // NaN if either is NaN; otherwise the first operand only when strictly larger (smaller).
    case B_MAX: if (a != a || b != b) return a + b; return (a > b) ? a : b;
    case B_MIN: if (a != a || b != b) return a + b; return (a < b) ? a : b;
    default: return __int_as_float(0x7fc00000);
    }
}

// out[i] = a[la(i)] op b[lb(i)] for the contiguous output of n elements.
// `la.dims` and `lb.dims` are both the OUTPUT dims (same rank); their strides are
// the element strides of a and b with 0 in broadcast dims (NumPy rules, the host
// right-aligns the shapes and pads to the output rank).
template <typename T>
__device__ void binary_impl(const T* a, Layout6 la, const T* b, Layout6 lb, T* out, i64_t n, int op) {
    for (i64_t i = global_tid(); i < n; i += global_stride()) {
        float x = load_f32(a, layout_offset(la, i));
        float y = load_f32(b, layout_offset(lb, i));
        store_f32(out, i, binary_apply(op, x, y));
    }
}

extern "C" __global__ void omnirt_binary_f32(const float* a, Layout6 la, const float* b, Layout6 lb, float* out, long long n, int op) { binary_impl(a, la, b, lb, out, n, op); }
extern "C" __global__ void omnirt_binary_f16(const half_t* a, Layout6 la, const half_t* b, Layout6 lb, half_t* out, long long n, int op) { binary_impl(a, la, b, lb, out, n, op); }
extern "C" __global__ void omnirt_binary_bf16(const bf16_t* a, Layout6 la, const bf16_t* b, Layout6 lb, bf16_t* out, long long n, int op) { binary_impl(a, la, b, lb, out, n, op); }

// out = silu(gate) * up, all contiguous with n elements. The product is in f32
// after rounding silu to f32, like the reference.
template <typename T>
__device__ void swiglu_impl(const T* gate, const T* up, T* out, i64_t n) {
    for (i64_t i = global_tid(); i < n; i += global_stride()) {
        store_f32(out, i, silu_ref(load_f32(gate, i)) * load_f32(up, i));
    }
}

extern "C" __global__ void omnirt_swiglu_f32(const float* gate, const float* up, float* out, long long n) { swiglu_impl(gate, up, out, n); }
extern "C" __global__ void omnirt_swiglu_f16(const half_t* gate, const half_t* up, half_t* out, long long n) { swiglu_impl(gate, up, out, n); }
extern "C" __global__ void omnirt_swiglu_bf16(const bf16_t* gate, const bf16_t* up, bf16_t* out, long long n) { swiglu_impl(gate, up, out, n); }

// SnakeBeta over contiguous x [batch, channels, len] with per-channel log-scale
// alpha, beta [channels] (f32 always):
//   out = x + inv_mag * sin(x * freq)^2, freq = exp(alpha[c]), inv_mag = 1 / (exp(beta[c]) + 1e-9)
// freq and inv_mag in f32 (exp rounded once from f64), sin in f64 rounded to f32,
// then f32 products/sum exactly as `snake_beta` in kernels/src/act/scalar.rs.
template <typename T>
__device__ void snake_impl(const T* x, const float* alpha, const float* beta, T* out, i64_t batch, i64_t channels, i64_t len) {
    i64_t n = batch * channels * len;
    if (len <= 0 || channels <= 0) return;
    for (i64_t i = global_tid(); i < n; i += global_stride()) {
        i64_t c = (i / len) % channels;
        float freq = (float)exp((double)alpha[c]);
        float inv_mag = 1.0f / ((float)exp((double)beta[c]) + 1e-9f);
        float v = load_f32(x, i);
        float s = (float)sin((double)(v * freq));
        store_f32(out, i, v + inv_mag * (s * s));
    }
}

extern "C" __global__ void omnirt_snake_f32(const float* x, const float* alpha, const float* beta, float* out, long long batch, long long channels, long long len) { snake_impl(x, alpha, beta, out, batch, channels, len); }
extern "C" __global__ void omnirt_snake_f16(const half_t* x, const float* alpha, const float* beta, half_t* out, long long batch, long long channels, long long len) { snake_impl(x, alpha, beta, out, batch, channels, len); }
extern "C" __global__ void omnirt_snake_bf16(const bf16_t* x, const float* alpha, const float* beta, bf16_t* out, long long batch, long long channels, long long len) { snake_impl(x, alpha, beta, out, batch, channels, len); }
