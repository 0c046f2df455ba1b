// Fused attention (`Op::Attention`): out = softmax(q . k^T * scale + mask) . v
// with an online (flash-attention-style) softmax in f32, never materialising
// the score matrix. Reference: kernels/src/attention/scalar.rs and mask.rs.
//
//   q   [b, hq, sq, d]  f32, element strides (q_sb, q_sh, q_ss), unit last stride
//   k,v [b, hkv, skv, d] f32 / f16 / bf16 (kernel suffix), element strides
//                        (k_sb, k_sh, k_ss), (v_sb, v_sh, v_ss), unit last stride:
//                        a KV cache is read in place
//   out [b, hq, sq, d]  f32 contiguous
// GQA: query head h reads kv head h / (hq / hkv) (hq must be a multiple of hkv).
// d <= 256.
//
// Masks (mask_kind), each leaving query row i a contiguous key range [lo, hi)
// clipped to [0, skv) (AttentionMask::visible_keys):
//   0 none:     [0, skv)
//   1 causal:   [0, q_offset + i + 1)
//   2 sliding:  [max(0, q_offset + i + 1 - window), q_offset + i + 1)   (window 0 sees nothing)
//   3 segments: [cu[s], cu[s+1]) where s = (number of cu entries <= i) - 1,
//               cu = cu_seqlens (device i64 array of n_cu entries, 0 = cu[0] <= ... = sq = skv)
// A row that sees no key gets zeros (as the reference).
//
// Work split: one warp per (query row, split). Lane l holds dims l, l+32, ... of
// q and of the running output. For each key: s = warp_sum(q . k) * scale (f32),
// then the online update m' = max(m, s), c = exp(m - m'), l = l*c + exp(s - m'),
// acc = acc*c + exp(s - m') * v.
// The reference sums the dot product left to right and normalises with the row
// max; here the dot product is a warp tree and the softmax is rescaled on the
// fly, so results agree to a few f32 ulp (not bit for bit).
//
// Split-K ("flash decoding"): with num_splits > 1, split s of row i handles the
// s-th of num_splits equal chunks of [lo, hi) and writes its unnormalised
// partial state to the workspace; omnirt_attention_combine_f32 merges them.
// Use it for decode (sq small, skv long) so enough blocks run: e.g.
// num_splits = clamp(ceil(skv / 512), 1, 64).
//
// Launch (omnirt_attention_<kv>): block = 128 (4 warps = 4 consecutive query rows
// of one (batch, head)), grid = (ceil(sq / 4), b * hq, num_splits), no dynamic
// shared memory (b * hq <= 65535, num_splits <= 65535).
//   num_splits == 1: writes out; part_acc / part_ml are unused (may be null).
//   num_splits  > 1: writes part_acc [b*hq*sq, num_splits, d] f32 and
//                    part_ml [b*hq*sq, num_splits, 2] f32 (running max m, sum l);
//                    out is untouched (may be null).
// PERF: this is the simple CUDA-core version. K/V rows are re-read by every
// query row (4 warps of a block read the same rows, so mostly from L1/L2). A
// GPU session should add a tensor-core prefill kernel (smem K/V tiles, mma) and,
// for GQA decode, let one block serve all query heads of a kv head.

#define ATT_MAX_D 256
#define ATT_PER_LANE (ATT_MAX_D / 32)

__device__ __forceinline__ float kv_load(const float* p, i64_t i) { return p[i]; }
__device__ __forceinline__ float kv_load(const half_t* p, i64_t i) { return f16_bits_to_f32(p[i].bits); }
__device__ __forceinline__ float kv_load(const bf16_t* p, i64_t i) { return bf16_bits_to_f32(p[i].bits); }

// The visible key range [*lo, *hi) of query row i (see the header).
__device__ void visible_keys(int mask_kind, i64_t q_offset, i64_t window, const long long* cu, i64_t n_cu,
                             i64_t i, i64_t skv, i64_t* lo, i64_t* hi) {
    i64_t a = 0, b = skv;
    if (mask_kind == 1) {
        b = q_offset + i + 1;
    } else if (mask_kind == 2) {
        b = q_offset + i + 1;
        a = b - window;
        if (a < 0) a = 0;
    } else if (mask_kind == 3) {
        i64_t count = 0;  // partition_point(c <= i); linear scan: segments are few
        while (count < n_cu && cu[count] <= i) ++count;
        i64_t s = count > 0 ? count - 1 : 0;
        if (s + 1 < n_cu) { a = cu[s]; b = cu[s + 1]; } else { a = 0; b = 0; }
    }
    if (a > skv) a = skv;
    if (b > skv) b = skv;
    if (a < 0) a = 0;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

template <typename KV>
__device__ void attention_impl(const float* q, long long q_sb, long long q_sh, long long q_ss,
                               const KV* k, long long k_sb, long long k_sh, long long k_ss,
                               const KV* v, long long v_sb, long long v_sh, long long v_ss,
                               float* out, float* part_acc, float* part_ml,
                               long long batch, long long hq, long long hkv, long long sq, long long skv, long long d,
                               float scale, int mask_kind, long long q_offset, long long window,
                               const long long* cu_seqlens, long long n_cu, int num_splits) {
    int lane = threadIdx.x & 31;
    i64_t i = (i64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);  // query row
    i64_t bh = blockIdx.y;                                                  // b * hq + h
    i64_t split = blockIdx.z;
    if (i >= sq || bh >= batch * hq || d <= 0 || d > ATT_MAX_D || hkv <= 0 || hq % hkv != 0) return;
    if (num_splits < 1 || split >= num_splits) return;
    i64_t b = bh / hq, h = bh % hq;
    i64_t kvh = h / (hq / hkv);

    i64_t lo, hi;
    visible_keys(mask_kind, q_offset, window, cu_seqlens, n_cu, i, skv, &lo, &hi);
    i64_t chunk = (hi - lo + num_splits - 1) / num_splits;
    i64_t j0 = lo + split * chunk;
    i64_t j1 = j0 + chunk < hi ? j0 + chunk : hi;

    const float* qr = q + b * q_sb + h * q_sh + i * q_ss;
    float qv[ATT_PER_LANE], acc[ATT_PER_LANE];
#pragma unroll
    for (int t = 0; t < ATT_PER_LANE; ++t) {
        i64_t c = lane + 32 * t;
        qv[t] = (c < d) ? qr[c] : 0.0f;
        acc[t] = 0.0f;
    }
    float m = OMNIRT_NEG_INF, l = 0.0f;
    const KV* kbase = k + b * k_sb + kvh * k_sh;
    const KV* vbase = v + b * v_sb + kvh * v_sh;
    for (i64_t j = j0; j < j1; ++j) {
        const KV* kr = kbase + j * k_ss;
        float dot = 0.0f;
#pragma unroll
        for (int t = 0; t < ATT_PER_LANE; ++t) {
            i64_t c = lane + 32 * t;
            if (c < d) dot += qv[t] * kv_load(kr, c);
        }
        float s = warp_sum_f32(dot) * scale;
        float m_new = fmaxf(m, s);
        // First key: m = -inf, so corr = 0 (guarded so that m = m_new = -inf gives 0, not NaN).
        float corr = (m == OMNIRT_NEG_INF) ? 0.0f : expf(m - m_new);
        float p = expf(s - m_new);
        l = l * corr + p;
        const KV* vr = vbase + j * v_ss;
#pragma unroll
        for (int t = 0; t < ATT_PER_LANE; ++t) {
            i64_t c = lane + 32 * t;
            if (c < d) acc[t] = acc[t] * corr + p * kv_load(vr, c);
        }
        m = m_new;
    }

    i64_t row = bh * sq + i;  // row of out / of the workspace
    if (num_splits == 1) {
        float inv = (l > 0.0f) ? 1.0f / l : 0.0f;
        float* o = out + row * d;
#pragma unroll
        for (int t = 0; t < ATT_PER_LANE; ++t) {
            i64_t c = lane + 32 * t;
            if (c < d) o[c] = (l > 0.0f) ? acc[t] * inv : 0.0f;
        }
    } else {
        float* pa = part_acc + (row * num_splits + split) * d;
#pragma unroll
        for (int t = 0; t < ATT_PER_LANE; ++t) {
            i64_t c = lane + 32 * t;
            if (c < d) pa[c] = acc[t];
        }
        if (lane == 0) {
            part_ml[(row * num_splits + split) * 2] = m;
            part_ml[(row * num_splits + split) * 2 + 1] = l;
        }
    }
}

extern "C" __global__ void omnirt_attention_f32(const float* q, long long q_sb, long long q_sh, long long q_ss,
    const float* k, long long k_sb, long long k_sh, long long k_ss, const float* v, long long v_sb, long long v_sh, long long v_ss,
    float* out, float* part_acc, float* part_ml, long long batch, long long hq, long long hkv, long long sq, long long skv, long long d,
    float scale, int mask_kind, long long q_offset, long long window, const long long* cu_seqlens, long long n_cu, int num_splits) {
    attention_impl(q, q_sb, q_sh, q_ss, k, k_sb, k_sh, k_ss, v, v_sb, v_sh, v_ss, out, part_acc, part_ml,
                   batch, hq, hkv, sq, skv, d, scale, mask_kind, q_offset, window, cu_seqlens, n_cu, num_splits);
}
extern "C" __global__ void omnirt_attention_f16(const float* q, long long q_sb, long long q_sh, long long q_ss,
    const half_t* k, long long k_sb, long long k_sh, long long k_ss, const half_t* v, long long v_sb, long long v_sh, long long v_ss,
    float* out, float* part_acc, float* part_ml, long long batch, long long hq, long long hkv, long long sq, long long skv, long long d,
    float scale, int mask_kind, long long q_offset, long long window, const long long* cu_seqlens, long long n_cu, int num_splits) {
    attention_impl(q, q_sb, q_sh, q_ss, k, k_sb, k_sh, k_ss, v, v_sb, v_sh, v_ss, out, part_acc, part_ml,
                   batch, hq, hkv, sq, skv, d, scale, mask_kind, q_offset, window, cu_seqlens, n_cu, num_splits);
}
extern "C" __global__ void omnirt_attention_bf16(const float* q, long long q_sb, long long q_sh, long long q_ss,
    const bf16_t* k, long long k_sb, long long k_sh, long long k_ss, const bf16_t* v, long long v_sb, long long v_sh, long long v_ss,
    float* out, float* part_acc, float* part_ml, long long batch, long long hq, long long hkv, long long sq, long long skv, long long d,
    float scale, int mask_kind, long long q_offset, long long window, const long long* cu_seqlens, long long n_cu, int num_splits) {
    attention_impl(q, q_sb, q_sh, q_ss, k, k_sb, k_sh, k_ss, v, v_sb, v_sh, v_ss, out, part_acc, part_ml,
                   batch, hq, hkv, sq, skv, d, scale, mask_kind, q_offset, window, cu_seqlens, n_cu, num_splits);
}

// Merges the num_splits partial states of each of `rows` (= b * hq * sq) rows:
//   M = max over splits with l_s > 0 of m_s, L = sum_s l_s * exp(m_s - M),
//   out[row, c] = sum_s part_acc[row, s, c] * exp(m_s - M) / L   (zeros when L == 0).
// Launch: block = 128 (one warp per row), grid = ceil(rows / 4), no dynamic smem.
extern "C" __global__ void omnirt_attention_combine_f32(const float* part_acc, const float* part_ml, float* out,
                                                        long long rows, long long d, int num_splits) {
    int lane = threadIdx.x & 31;
    i64_t row = (i64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows || d <= 0 || num_splits < 1) return;
    const float* ml = part_ml + row * num_splits * 2;
    float big_m = OMNIRT_NEG_INF;
    for (int s = 0; s < num_splits; ++s) {
        if (ml[2 * s + 1] > 0.0f) big_m = fmaxf(big_m, ml[2 * s]);
    }
    float big_l = 0.0f;
    for (int s = 0; s < num_splits; ++s) {
        if (ml[2 * s + 1] > 0.0f) big_l += ml[2 * s + 1] * expf(ml[2 * s] - big_m);
    }
    float* o = out + row * d;
    for (i64_t c = lane; c < d; c += 32) {
        float acc = 0.0f;
        for (int s = 0; s < num_splits; ++s) {
            if (ml[2 * s + 1] > 0.0f) acc += part_acc[(row * num_splits + s) * d + c] * expf(ml[2 * s] - big_m);
        }
        o[c] = (big_l > 0.0f) ? acc / big_l : 0.0f;
    }
}
