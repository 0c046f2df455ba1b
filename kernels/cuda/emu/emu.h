// Minimal CPU emulation of the CUDA execution model, to test the omnirt kernels'
// logic (indexing, masks, ties, shuffles, block reductions) without a GPU:
// one std::thread per CUDA thread, blocks run one after another, a per-warp
// barrier around each shuffle, a block barrier for __syncthreads. Requires
// warp-uniform shuffles and warp-uniform early exits (true of every kernel here).
// Not a performance model, and host libm stands in for CUDA's math functions.
// Run: g++ -std=c++20 -O1 -pthread kernels/cuda/emu/test.cpp -o /tmp/omnirt-emu && /tmp/omnirt-emu
#include <barrier>
#include <thread>
#include <vector>
#include <deque>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <functional>
using std::sqrt; 
#define __device__
#define __forceinline__ inline
#define __global__
#define __shared__ static
struct dim3 { unsigned x = 1, y = 1, z = 1; dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {} };
thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
static inline unsigned int __float_as_uint(float f){unsigned int u;memcpy(&u,&f,4);return u;}
static inline float __uint_as_float(unsigned int u){float f;memcpy(&f,&u,4);return f;}
static inline float __int_as_float(int u){float f;memcpy(&f,&u,4);return f;}
static inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; ++i) c += (int)(signed char)(a >> (8 * i)) * (int)(signed char)(b >> (8 * i));
    return c;
}
std::barrier<>* g_block_bar;
std::deque<std::barrier<>>* g_warp_bars;
uint64_t g_slots[1024];
float g_dyn_smem[16384];
#define OMNIRT_DYN_SMEM(type, name) type* name = (type*)g_dyn_smem
template <class T> T shfl_impl(T v, int src) {
    int lane = threadIdx.x % 32, base = threadIdx.x - lane;
    auto& bar = (*g_warp_bars)[threadIdx.x / 32];
    uint64_t s = 0; memcpy(&s, &v, sizeof(T)); g_slots[threadIdx.x] = s;
    bar.arrive_and_wait();
    uint64_t r = g_slots[base + src];
    bar.arrive_and_wait();
    T out; memcpy(&out, &r, sizeof(T)); return out;
}
template <class T> T __shfl_xor_sync(unsigned, T v, int m) { return shfl_impl(v, (int)(threadIdx.x % 32) ^ m); }
template <class T> T __shfl_sync(unsigned, T v, int src) { return shfl_impl(v, src); }
template <class T> T __shfl_down_sync(unsigned, T v, int d) { int l = threadIdx.x % 32; return shfl_impl(v, l + d < 32 ? l + d : l); }
static void __syncthreads() { g_block_bar->arrive_and_wait(); }

template <class F> void launch(dim3 grid, dim3 block, F f) {
    blockDim = block; gridDim = grid;
    for (unsigned z = 0; z < grid.z; ++z) for (unsigned y = 0; y < grid.y; ++y) for (unsigned x = 0; x < grid.x; ++x) {
        std::barrier<> bb(block.x);
        std::deque<std::barrier<>> wb;
        for (unsigned w = 0; w < block.x / 32; ++w) wb.emplace_back(32);
        g_block_bar = &bb; g_warp_bars = &wb;
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block.x; ++t) ts.emplace_back([&, t] {
            threadIdx = dim3(t); blockIdx = dim3(x, y, z);
            f();
            (*g_warp_bars)[t / 32].arrive_and_drop();
            g_block_bar->arrive_and_drop();
        });
        for (auto& th : ts) th.join();
    }
}
