// MoE router (the routing half of src/models/qwen3_omni/moe.rs `route`):
//   probs = softmax(f32(logits)) over experts (the Softmax reference:
//           f32 shift, exp in f64 rounded to f32, f64 sum, f32(e * (1/sum)));
//   (top_p, top_i) = top-k of probs (ranking of kernels/src/reduce/select.rs:
//           larger first, NaN first, lower index first on ties);
//   weight[j] = norm_topk ? top_p[j] / sum : top_p[j], sum = top_p[0] + ... + top_p[k-1]
//           summed in f32 in that order (as moe.rs).
// logits [tokens, experts] (f32, f16 or bf16) -> weights [tokens, k] f32, ids [tokens, k] u32.
// Launch: grid = (tokens), block = 128 or 256 (multiple of 32, <= 1024),
// dynamic shared memory = experts * 4 bytes (the token's probabilities).
// Needs 1 <= k <= experts (the host validates).

template <typename T>
__device__ void moe_router_impl(const T* logits, float* weights, unsigned int* ids,
                                i64_t tokens, i64_t experts, i64_t k, int norm_topk) {
    OMNIRT_DYN_SMEM(float, probs);  // [experts]
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    __shared__ float sv[32];
    __shared__ unsigned int si[32];
    i64_t t = blockIdx.x;
    if (t >= tokens || experts <= 0 || k <= 0 || k > experts) return;
    const T* row = logits + t * experts;

    float m = OMNIRT_NEG_INF;
    for (i64_t e = threadIdx.x; e < experts; e += blockDim.x) m = max_nan(m, load_f32(row, e));
    m = block_max_nan_f32(m, fscratch);
    double sum = 0.0;
    for (i64_t e = threadIdx.x; e < experts; e += blockDim.x) {
        float p = (float)exp((double)(load_f32(row, e) - m));
        probs[e] = p;
        sum += (double)p;
    }
    sum = block_sum_f64(sum, dscratch);  // also orders the probs[] writes before the reads below
    double inv = 1.0 / sum;
    for (i64_t e = threadIdx.x; e < experts; e += blockDim.x) probs[e] = (float)((double)probs[e] * inv);
    __syncthreads();

    float prev_v = 0.0f;
    unsigned int prev_i = 0xffffffffu;
    float* w_out = weights + t * k;
    unsigned int* i_out = ids + t * k;
    for (i64_t j = 0; j < k; ++j) {
        float v = 0.0f;
        unsigned int idx = 0xffffffffu;
        for (i64_t e = threadIdx.x; e < experts; e += blockDim.x) {
            float c = probs[e];
            unsigned int ci = (unsigned int)e;
            bool after_prev = (prev_i == 0xffffffffu) || ranks_before(prev_v, prev_i, c, ci);
            if (after_prev && (idx == 0xffffffffu || ranks_before(c, ci, v, idx))) { v = c; idx = ci; }
        }
        block_best(&v, &idx, sv, si);
        if (threadIdx.x == 0) { w_out[j] = v; i_out[j] = idx; }
        prev_v = v;
        prev_i = idx;
    }
    if (norm_topk && threadIdx.x == 0) {
        // Thread 0 wrote w_out[0..k]; it alone reads them back (no sync needed).
        float s = 0.0f;
        for (i64_t j = 0; j < k; ++j) s += w_out[j];
        for (i64_t j = 0; j < k; ++j) w_out[j] = w_out[j] / s;
    }
}

extern "C" __global__ void omnirt_moe_router_f32(const float* logits, float* weights, unsigned int* ids, long long tokens, long long experts, long long k, int norm_topk) { moe_router_impl(logits, weights, ids, tokens, experts, k, norm_topk); }
extern "C" __global__ void omnirt_moe_router_f16(const half_t* logits, float* weights, unsigned int* ids, long long tokens, long long experts, long long k, int norm_topk) { moe_router_impl(logits, weights, ids, tokens, experts, k, norm_topk); }
extern "C" __global__ void omnirt_moe_router_bf16(const bf16_t* logits, float* weights, unsigned int* ids, long long tokens, long long experts, long long k, int norm_topk) { moe_router_impl(logits, weights, ids, tokens, experts, k, norm_topk); }
