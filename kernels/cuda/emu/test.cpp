// Logic tests of kernels/cuda/*.cu on the CPU (see emu.h), against C++ ports of
// the scalar references in kernels/src/*/scalar.rs (exact where the kernel is
// meant to be bit-exact, a few ulp for attention and the quantized GEMV).
// Run from the repository root:
//   g++ -std=c++20 -O1 -pthread kernels/cuda/emu/test.cpp -o /tmp/omnirt-emu && /tmp/omnirt-emu
#include "emu.h"
#include "../common.cuh"
#include "../elementwise.cu"
#include "../norm.cu"
#include "../rope.cu"
#include "../softmax.cu"
#include "../cast.cu"
#include "../copy.cu"
#include "../reduce.cu"
#include "../moe.cu"
#include "../quant.cu"
#include "../attention.cu"
#include "../conv.cu"
#include <random>
#include <vector>
using V = std::vector<float>;
static std::mt19937 rng(42);
V rnd(size_t n, float lo = -2, float hi = 2) { std::uniform_real_distribution<float> d(lo, hi); V v(n); for (auto& x : v) x = d(rng); return v; }
static int fails = 0;
void check(const char* what, const V& got, const V& want, double tol) {
    double worst = 0; size_t at = 0;
    if (got.size() != want.size()) { printf("FAIL %s size\n", what); fails++; return; }
    for (size_t i = 0; i < got.size(); ++i) {
        double e = std::fabs((double)got[i] - want[i]) / std::max(1.0, std::fabs((double)want[i]));
        if (std::isnan(got[i]) != std::isnan(want[i])) e = 1e9;
        if (std::isnan(got[i]) && std::isnan(want[i])) e = 0;
        if (e > worst) { worst = e; at = i; }
    }
    bool ok = worst <= tol;
    if (!ok) fails++;
    printf("%s %-28s max rel err %.3g (at %zu: got %.9g want %.9g)\n", ok ? "ok  " : "FAIL", what, worst, at, got.empty()?0:got[at], want.empty()?0:want[at]);
}
// --- references (ports of kernels/src/*/scalar.rs) ---
float ref_max(const float* r, int n) { float b = -INFINITY; for (int i = 0; i < n; ++i) { if (r[i] != r[i]) return r[i]; if (r[i] > b) b = r[i]; } return b; }
bool rank_lt(float a, unsigned ia, float b, unsigned ib) { // a ranks before b
    bool na = a != a, nb = b != b;
    if (na != nb) return na;
    if (!na && a != b) return a > b;
    return ia < ib;
}
int main() {
    // binary broadcast: a [2,3,4] contiguous, b [3,1] -> out [2,3,4]
    {
        V a = rnd(24), b = rnd(3), out(24), want(24);
        Layout6 la{}, lb{}; la.rank = lb.rank = 3;
        long long dims[3] = {2, 3, 4};
        for (int i = 0; i < 3; ++i) la.dims[i] = lb.dims[i] = dims[i];
        la.strides[0] = 12; la.strides[1] = 4; la.strides[2] = 1;
        lb.strides[0] = 0; lb.strides[1] = 1; lb.strides[2] = 0;
        for (int op = 0; op < 6; ++op) {
            launch(dim3(2), dim3(64), [&] { omnirt_binary_f32(a.data(), la, b.data(), lb, out.data(), 24, op); });
            for (int i = 0; i < 24; ++i) { float x = a[i], y = b[(i / 4) % 3]; float r;
                switch (op) { case 0: r = x + y; break; case 1: r = x - y; break; case 2: r = x * y; break; case 3: r = x / y; break; case 4: r = x > y ? x : y; break; default: r = x < y ? x : y; }
                want[i] = r; }
            check("binary broadcast", out, want, 0);
        }
    }
    // rms_norm / layer_norm
    {
        int rows = 3, dim = 1000; V x = rnd(rows * dim), w = rnd(dim), y(rows * dim), want(rows * dim);
        for (int rounding = 0; rounding < 3; ++rounding) {
            launch(dim3(rows), dim3(256), [&] { omnirt_rms_norm_f32(x.data(), w.data(), y.data(), rows, dim, 1e-6f, rounding); });
            for (int r = 0; r < rows; ++r) { double s = 0; for (int i = 0; i < dim; ++i) s += (double)x[r*dim+i] * x[r*dim+i];
                float inv = 1.0f / std::sqrt((float)(s / dim) + 1e-6f);
                for (int i = 0; i < dim; ++i) want[r*dim+i] = w[i] * round_through(x[r*dim+i] * inv, rounding); }
            check("rms_norm", y, want, 0);
        }
        V b = rnd(dim);
        launch(dim3(rows), dim3(128), [&] { omnirt_layer_norm_f32(x.data(), w.data(), b.data(), y.data(), rows, dim, 1e-5f); });
        for (int r = 0; r < rows; ++r) { double m = 0; for (int i = 0; i < dim; ++i) m += x[r*dim+i]; m /= dim; double v = 0;
            for (int i = 0; i < dim; ++i) v += (x[r*dim+i] - m) * (x[r*dim+i] - m); v /= dim;
            float inv = 1.0f / std::sqrt((float)v + 1e-5f); float mf = (float)m;
            for (int i = 0; i < dim; ++i) want[r*dim+i] = (x[r*dim+i] - mf) * inv * w[i] + b[i]; }
        check("layer_norm", y, want, 1e-7);
    }
    // rope
    {
        int B = 2, S = 3, H = 2, D = 8, R = 6; V x = rnd(B*S*H*D), c = rnd(B*S*R), s = rnd(B*S*R), y(x.size()), want(x.size());
        for (int rounding = 0; rounding < 3; ++rounding) {
            launch(dim3(1), dim3(64), [&] { omnirt_rope_f32(x.data(), c.data(), s.data(), y.data(), B, S, H, D, R, rounding); });
            auto Rn = [&](float v) { return round_through(v, rounding); };
            for (int row = 0; row < B*S*H; ++row) { int bs = row / H; const float* xr = &x[row*D]; const float* cr = &c[bs*R]; const float* sr = &s[bs*R];
                for (int i = 0; i < R/2; ++i) { float a = xr[i], bb = xr[i+R/2];
                    want[row*D+i] = Rn(Rn(a*cr[i]) - Rn(bb*sr[i])); want[row*D+i+R/2] = Rn(Rn(bb*cr[i+R/2]) + Rn(a*sr[i+R/2])); }
                for (int i = R; i < D; ++i) want[row*D+i] = xr[i]; }
            check("rope", y, want, 0);
        }
    }
    // softmax
    {
        int rows = 2, dim = 777; V x = rnd(rows*dim, -10, 10), y(x.size()), want(x.size());
        launch(dim3(rows), dim3(256), [&] { omnirt_softmax_f32(x.data(), y.data(), rows, dim); });
        for (int r = 0; r < rows; ++r) { float m = ref_max(&x[r*dim], dim); double sum = 0; V e(dim);
            for (int i = 0; i < dim; ++i) { e[i] = (float)std::exp((double)(x[r*dim+i] - m)); sum += e[i]; }
            for (int i = 0; i < dim; ++i) want[r*dim+i] = (float)(e[i] * (1.0 / sum)); }
        check("softmax", y, want, 1e-7);
    }
    // cast
    {
        V x = {1.5f, -1.5f, 3e9f, -3e9f, NAN, 255.9f, 300.f, -0.7f};
        std::vector<int> i32(8); std::vector<unsigned char> u8(8);
        launch(dim3(1), dim3(32), [&] { omnirt_cast_any(x.data(), 0, i32.data(), 3, 8); omnirt_cast_any(x.data(), 0, u8.data(), 6, 8); });
        int wi[8] = {1, -1, 2147483647, (int)0x80000000u, 0, 255, 300, 0}; unsigned char wu[8] = {1, 0, 255, 0, 0, 255, 255, 0};
        bool ok = true; for (int i = 0; i < 8; ++i) ok &= i32[i] == wi[i] && u8[i] == wu[i];
        printf("%s cast f32->i32/u8\n", ok ? "ok  " : "FAIL"); if (!ok) fails++;
        std::vector<long long> big = {0x100000005ll, -1, 4294967295ll}; std::vector<int> o(3);
        launch(dim3(1), dim3(32), [&] { omnirt_cast_any(big.data(), 5, o.data(), 3, 3); });
        ok = o[0] == 5 && o[1] == -1 && o[2] == -1; printf("%s cast i64->i32 wrap\n", ok ? "ok  " : "FAIL"); if (!ok) fails++;
    }
    // quantize / dequantize / gemv
    {
        int n = 5, k = 96, kb = k / 32; V w = rnd(n * k), x = rnd(k);
        w[3] = 0; for (int i = 32; i < 64; ++i) w[i] = 0;  // an all-zero block
        w[64] = 1.75f; w[70] = -1.75f;                      // tie in |max|: first wins
        std::vector<unsigned char> wq8(n * kb * 34), wq4(n * kb * 18), xq(kb * 34);
        int nb = n * kb;
        launch(dim3((nb + 7) / 8), dim3(256), [&] { omnirt_quantize_q8_0_f32(w.data(), wq8.data(), nb); });
        launch(dim3((nb + 7) / 8), dim3(256), [&] { omnirt_quantize_q4_0_f32(w.data(), wq4.data(), nb); });
        launch(dim3(1), dim3(256), [&] { omnirt_quantize_q8_0_f32(x.data(), xq.data(), kb); });
        // reference quantizers
        std::vector<unsigned char> r8(wq8.size()), r4(wq4.size());
        for (int b = 0; b < nb; ++b) { const float* xb = &w[b*32];
            float amax = 0; for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(xb[i]));
            float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0; unsigned short h = f32_to_f16_bits(d); memcpy(&r8[b*34], &h, 2);
            for (int i = 0; i < 32; ++i) r8[b*34+2+i] = (unsigned char)(signed char)std::round(xb[i] * id);
            float am = 0, mx = 0; for (int i = 0; i < 32; ++i) if (am < std::fabs(xb[i])) { am = std::fabs(xb[i]); mx = xb[i]; }
            d = mx / -8.0f; id = d != 0 ? 1.0f / d : 0; h = f32_to_f16_bits(d); memcpy(&r4[b*18], &h, 2);
            auto nib = [&](float v) { int q = (int)(signed char)(int)(v * id + 8.5f); return std::clamp(q, 0, 15); };
            for (int j = 0; j < 16; ++j) r4[b*18+2+j] = (unsigned char)(nib(xb[j]) | (nib(xb[j+16]) << 4)); }
        bool ok8 = r8 == wq8, ok4 = r4 == wq4;
        printf("%s quantize q8_0\n%s quantize q4_0\n", ok8 ? "ok  " : "FAIL", ok4 ? "ok  " : "FAIL"); fails += !ok8 + !ok4;
        V dq(n*k), want(n*k);
        launch(dim3((nb + 7) / 8), dim3(256), [&] { omnirt_dequantize_q4_0_f32(wq4.data(), dq.data(), nb); });
        for (int b = 0; b < nb; ++b) { unsigned short h; memcpy(&h, &r4[b*18], 2); float d = f16_bits_to_f32(h);
            for (int j = 0; j < 16; ++j) { int q = r4[b*18+2+j]; want[b*32+j] = ((q & 15) - 8) * d; want[b*32+j+16] = ((q >> 4) - 8) * d; } }
        check("dequantize q4_0", dq, want, 0);
        launch(dim3((nb + 7) / 8), dim3(256), [&] { omnirt_dequantize_q8_0_f32(wq8.data(), dq.data(), nb); });
        for (int b = 0; b < nb; ++b) { unsigned short h; memcpy(&h, &r8[b*34], 2); float d = f16_bits_to_f32(h);
            for (int j = 0; j < 32; ++j) want[b*32+j] = (signed char)r8[b*34+2+j] * d; }
        check("dequantize q8_0", dq, want, 0);
        V y8(n), y4(n), w8(n), w4(n);
        launch(dim3((n + 7) / 8, 1), dim3(256), [&] { omnirt_gemv_q8_0_f32(wq8.data(), xq.data(), y8.data(), 1, n, k); });
        launch(dim3((n + 7) / 8, 1), dim3(256), [&] { omnirt_gemv_q4_0_f32(wq4.data(), xq.data(), y4.data(), 1, n, k); });
        for (int j = 0; j < n; ++j) { float a8 = 0, a4 = 0;
            for (int b = 0; b < kb; ++b) { const unsigned char* W8 = &r8[(j*kb+b)*34]; const unsigned char* W4 = &r4[(j*kb+b)*18]; const unsigned char* X = &xq[b*34];
                unsigned short h; memcpy(&h, W8, 2); float d8 = f16_bits_to_f32(h); memcpy(&h, W4, 2); float d4 = f16_bits_to_f32(h); memcpy(&h, X, 2); float dx = f16_bits_to_f32(h);
                int s8 = 0, s4 = 0; for (int i = 0; i < 32; ++i) s8 += (signed char)W8[2+i] * (signed char)X[2+i];
                for (int i = 0; i < 16; ++i) { int q = W4[2+i]; s4 += ((q & 15) - 8) * (signed char)X[2+i] + ((q >> 4) - 8) * (signed char)X[18+i]; }
                a8 = a8 + (float)s8 * (d8 * dx); a4 = a4 + (float)s4 * (d4 * dx); }
            w8[j] = a8; w4[j] = a4; }
        check("gemv q8_0", y8, w8, 1e-6); check("gemv q4_0", y4, w4, 1e-6);
    }
    // copy strided (transpose), gather, concat
    {
        V x = rnd(6); V y(6); Layout6 l{}; l.rank = 2; l.dims[0] = 3; l.dims[1] = 2; l.strides[0] = 1; l.strides[1] = 3;
        launch(dim3(1), dim3(32), [&] { omnirt_copy_strided_b4((const unsigned int*)x.data(), l, (unsigned int*)y.data(), 6); });
        V want = {x[0], x[3], x[1], x[4], x[2], x[5]}; check("copy_strided transpose", y, want, 0);
        V table = rnd(4 * 3); std::vector<long long> ids = {2, 0, 7}; V out(9); int err = 0;
        launch(dim3(1), dim3(32), [&] { omnirt_gather_rows_i64((const unsigned char*)table.data(), 4, 12, ids.data(), 3, (unsigned char*)out.data(), &err); });
        want = {table[6], table[7], table[8], table[0], table[1], table[2], 0, 0, 0}; check("gather", out, want, 0);
        printf("%s gather err flag\n", err == 1 ? "ok  " : "FAIL"); fails += err != 1;
        V a = rnd(4), b = rnd(6), c(10); // a [2,2], b [2,3] -> c [2,5] along dim 1
        launch(dim3(1), dim3(32), [&] { omnirt_concat_rows((const unsigned char*)a.data(), 2, 8, (unsigned char*)c.data(), 20, 0);
                                        omnirt_concat_rows((const unsigned char*)b.data(), 2, 12, (unsigned char*)c.data(), 20, 8); });
        want = {a[0], a[1], b[0], b[1], b[2], a[2], a[3], b[3], b[4], b[5]}; check("concat", c, want, 0);
    }
    // reduce / argmax / topk with ties and NaN
    {
        int rows = 3, dim = 300; V x(rows * dim);
        std::uniform_int_distribution<int> small(-5, 5);
        for (auto& v : x) v = (float)small(rng);  // many ties
        x[dim + 17] = NAN; x[dim + 200] = NAN; x[2*dim + 5] = -0.0f;
        V s(rows), ws(rows); launch(dim3(rows), dim3(256), [&] { omnirt_reduce_f32(x.data(), s.data(), rows, dim, 0); });
        for (int r = 0; r < rows; ++r) { double t = 0; for (int i = 0; i < dim; ++i) t += x[r*dim+i]; ws[r] = (float)t; }
        check("reduce sum", s, ws, 0);
        launch(dim3(rows), dim3(64), [&] { omnirt_reduce_f32(x.data(), s.data(), rows, dim, 3); });
        for (int r = 0; r < rows; ++r) { float b = INFINITY; for (int i = 0; i < dim; ++i) { float v = x[r*dim+i]; if (v != v) { b = v; break; } if (v < b) b = v; } ws[r] = b; }
        check("reduce min", s, ws, 0);
        std::vector<unsigned> am(rows);
        launch(dim3(rows), dim3(256), [&] { omnirt_argmax_f32(x.data(), am.data(), rows, dim); });
        bool ok = true;
        for (int r = 0; r < rows; ++r) { unsigned best = 0; for (int i = 1; i < dim; ++i) if (rank_lt(x[r*dim+i], i, x[r*dim+best], best)) best = i; ok &= am[r] == best; }
        printf("%s argmax\n", ok ? "ok  " : "FAIL"); fails += !ok;
        int k = 37; V vals(rows * k); std::vector<unsigned> idx(rows * k);
        launch(dim3(rows), dim3(128), [&] { omnirt_topk_f32(x.data(), vals.data(), idx.data(), rows, dim, k); });
        ok = true;
        for (int r = 0; r < rows; ++r) { std::vector<unsigned> ord(dim); for (int i = 0; i < dim; ++i) ord[i] = i;
            std::sort(ord.begin(), ord.end(), [&](unsigned a, unsigned b) { return rank_lt(x[r*dim+a], a, x[r*dim+b], b); });
            for (int j = 0; j < k; ++j) ok &= idx[r*k+j] == ord[j]; }
        printf("%s topk (ties, NaN)\n", ok ? "ok  " : "FAIL"); fails += !ok;
    }
    // moe router
    {
        int T = 3, E = 60, K = 8; V lg = rnd(T * E, -3, 3); lg[5] = lg[9];  // a tie
        V w(T * K); std::vector<unsigned> ids(T * K);
        for (int norm = 0; norm < 2; ++norm) {
            launch(dim3(T), dim3(128), [&] { omnirt_moe_router_f32(lg.data(), w.data(), ids.data(), T, E, K, norm); });
            V ww(T * K); bool ok = true;
            for (int t = 0; t < T; ++t) { float m = ref_max(&lg[t*E], E); double sum = 0; V e(E);
                for (int i = 0; i < E; ++i) { e[i] = (float)std::exp((double)(lg[t*E+i] - m)); sum += e[i]; }
                V p(E); for (int i = 0; i < E; ++i) p[i] = (float)(e[i] * (1.0 / sum));
                std::vector<unsigned> ord(E); for (int i = 0; i < E; ++i) ord[i] = i;
                std::sort(ord.begin(), ord.end(), [&](unsigned a, unsigned b) { return rank_lt(p[a], a, p[b], b); });
                float s = 0; for (int j = 0; j < K; ++j) s += p[ord[j]];
                for (int j = 0; j < K; ++j) { ww[t*K+j] = norm ? p[ord[j]] / s : p[ord[j]]; ok &= ids[t*K+j] == ord[j]; } }
            printf("%s moe router ids\n", ok ? "ok  " : "FAIL"); fails += !ok;
            check("moe router weights", w, ww, 0);
        }
    }
    // attention: all masks, GQA, strided K/V, split-K
    {
        int B = 2, HQ = 4, HKV = 2, D = 40;
        for (int mk = 0; mk < 4; ++mk) for (int splits : {1, 3}) {
            int SQ = (mk == 3) ? 9 : 5, SKV = (mk == 3) ? 9 : 11; long long qoff = SKV - SQ, win = 4;
            std::vector<long long> cu = {0, 3, 3, 7, 9};
            V q = rnd(B*HQ*SQ*D);
            // K/V cache laid out [B, SKVcap=16, HKV, D] (strided view), f16 values stored
            int CAP = 16; std::vector<half_t> k(B*CAP*HKV*D), v(B*CAP*HKV*D);
            for (auto& h : k) h.bits = f32_to_f16_bits(rnd(1)[0]); for (auto& h : v) h.bits = f32_to_f16_bits(rnd(1)[0]);
            long long k_sb = CAP*HKV*D, k_sh = D, k_ss = HKV*D;
            V out(B*HQ*SQ*D, -7.0f), pa(B*HQ*SQ*splits*D), pm(B*HQ*SQ*splits*2);
            float scale = 0.3f;
            launch(dim3((SQ + 3) / 4, B*HQ, splits), dim3(128), [&] {
                omnirt_attention_f16(q.data(), HQ*SQ*D, SQ*D, D, k.data(), k_sb, k_sh, k_ss, v.data(), k_sb, k_sh, k_ss,
                    out.data(), pa.data(), pm.data(), B, HQ, HKV, SQ, SKV, D, scale, mk, qoff, win, cu.data(), (long long)cu.size(), splits); });
            if (splits > 1) launch(dim3((B*HQ*SQ + 3) / 4), dim3(128), [&] { omnirt_attention_combine_f32(pa.data(), pm.data(), out.data(), B*HQ*SQ, D, splits); });
            V want(out.size());
            auto seg = [&](long long i) { long long c = 0; while (c < (long long)cu.size() && cu[c] <= i) ++c; return c > 0 ? c - 1 : 0; };
            auto vis = [&](long long i, long long j) { switch (mk) { case 0: return true; case 1: return j <= qoff + i;
                case 2: return j <= qoff + i && j + win > qoff + i; default: return seg(i) == seg(j); } };
            for (int b = 0; b < B; ++b) for (int h = 0; h < HQ; ++h) for (int i = 0; i < SQ; ++i) {
                int kvh = h / (HQ / HKV); const float* qr = &q[((b*HQ+h)*SQ+i)*D]; V sc(SKV); float mx = -INFINITY; bool any = false;
                for (int j = 0; j < SKV; ++j) { if (!vis(i, j)) continue; float dot = 0; for (int c = 0; c < D; ++c) dot += qr[c] * f16_bits_to_f32(k[b*k_sb+kvh*k_sh+j*k_ss+c].bits); sc[j] = dot * scale; mx = std::max(mx, sc[j]); any = true; }
                float* o = &want[((b*HQ+h)*SQ+i)*D]; for (int c = 0; c < D; ++c) o[c] = 0; if (!any) continue; float sum = 0;
                for (int j = 0; j < SKV; ++j) { if (!vis(i, j)) continue; float p = std::exp(sc[j] - mx); sum += p; for (int c = 0; c < D; ++c) o[c] += p * f16_bits_to_f32(v[b*k_sb+kvh*k_sh+j*k_ss+c].bits); }
                for (int c = 0; c < D; ++c) o[c] /= sum; }
            char name[64]; snprintf(name, 64, "attention mask %d splits %d", mk, splits); check(name, out, want, 2e-6);
        }
    }
    // conv
    {
        int B = 2, CI = 4, CO = 6, G = 2, L = 13, K = 3, S = 2, P = 2, DL = 2;
        int LO = (L + P + 1 - DL * (K - 1) - 1) / S + 1;  // pad_left P, pad_right 1
        V x = rnd(B*CI*L), w = rnd(CO*(CI/G)*K), bias = rnd(CO), y(B*CO*LO), want(B*CO*LO);
        launch(dim3(1), dim3(64), [&] { omnirt_conv1d_f32(x.data(), w.data(), bias.data(), y.data(), B, CI, L, CO, K, LO, S, P, DL, G); });
        int cig = CI/G, cog = CO/G;
        for (int b = 0; b < B; ++b) for (int co = 0; co < CO; ++co) for (int o = 0; o < LO; ++o) { int g = co / cog; float acc = bias[co];
            for (int ci = 0; ci < cig; ++ci) for (int t = 0; t < K; ++t) { long p = (long)o*S + t*DL - P; if (p >= 0 && p < L) acc += w[(co*cig+ci)*K+t] * x[(b*CI+g*cig+ci)*L+p]; }
            want[(b*CO+co)*LO+o] = acc; }
        check("conv1d", y, want, 0);
        // conv2d
        int H = 7, W = 6, KH = 3, KW = 2, PH = 1, PW = 1, SH = 2, SW = 1, DH = 1, DW = 2;
        int HO = (H + 2*PH - DH*(KH-1) - 1)/SH + 1, WO = (W + 2*PW - DW*(KW-1) - 1)/SW + 1;
        V x2 = rnd(B*CI*H*W), w2 = rnd(CO*cig*KH*KW), y2(B*CO*HO*WO), want2(y2.size());
        launch(dim3(2), dim3(64), [&] { omnirt_conv2d_f32(x2.data(), w2.data(), nullptr, y2.data(), B, CI, H, W, CO, KH, KW, HO, WO, SH, SW, PH, PW, DH, DW, G); });
        for (int b = 0; b < B; ++b) for (int co = 0; co < CO; ++co) for (int oy = 0; oy < HO; ++oy) for (int ox = 0; ox < WO; ++ox) { int g = co / cog; float acc = 0;
            for (int ci = 0; ci < cig; ++ci) for (int ky = 0; ky < KH; ++ky) { int iy = oy*SH + ky*DH - PH; if (iy < 0 || iy >= H) continue;
                for (int kx = 0; kx < KW; ++kx) { int ix = ox*SW + kx*DW - PW; if (ix >= 0 && ix < W) acc += w2[((co*cig+ci)*KH+ky)*KW+kx] * x2[((b*CI+g*cig+ci)*H+iy)*W+ix]; } }
            want2[((b*CO+co)*HO+oy)*WO+ox] = acc; }
        check("conv2d", y2, want2, 0);
        // conv transpose 1d: w [CI, CO/G, K]
        int OP = 1; int LT = (L - 1)*S - 2*P + DL*(K-1) + OP + 1;
        V wt = rnd(CI*cog*K), yt(B*CO*LT), wantt(B*CO*LT);
        launch(dim3(1), dim3(64), [&] { omnirt_conv_transpose1d_f32(x.data(), wt.data(), bias.data(), yt.data(), B, CI, L, CO, K, LT, S, P, DL, G); });
        for (int b = 0; b < B; ++b) { for (int co = 0; co < CO; ++co) for (int o = 0; o < LT; ++o) wantt[(b*CO+co)*LT+o] = bias[co];
            for (int ci = 0; ci < CI; ++ci) { int g = ci / cig; for (int i = 0; i < L; ++i) { float xv = x[(b*CI+ci)*L+i];
                for (int cg = 0; cg < cog; ++cg) { int co = g*cog+cg; for (int t = 0; t < K; ++t) { long p = (long)i*S + t*DL - P; if (p >= 0 && p < LT) wantt[(b*CO+co)*LT+p] += wt[(ci*cog+cg)*K+t] * xv; } } } } }
        check("conv_transpose1d", yt, wantt, 0);
    }
    printf("%d failure(s)\n", fails);
    return fails != 0;
}
