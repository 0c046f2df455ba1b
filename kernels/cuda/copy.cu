// Data movement: strided -> contiguous copy (`Op::Copy`), row gather (`Op::Gather`),
// concatenation (`Op::Concat`). Dtype-agnostic: kernels move elements of a given
// byte size (b1/b2/b4/b8) or raw bytes, so they serve every dtype including
// Q8_0/Q4_0 rows (gather/concat of whole rows of blocks).
// All are grid-stride loops: block = 256, any grid (suggest ceil(n / 256) capped at 65535*4).

// dst[i] = src[layout_offset(l, i)] for the n = prod(l.dims) elements of the view.
template <typename E>
__device__ void copy_strided_impl(const E* src, Layout6 l, E* dst, i64_t n) {
    for (i64_t i = global_tid(); i < n; i += global_stride()) dst[i] = src[layout_offset(l, i)];
}

extern "C" __global__ void omnirt_copy_strided_b1(const unsigned char* src, Layout6 l, unsigned char* dst, long long n) { copy_strided_impl(src, l, dst, n); }
extern "C" __global__ void omnirt_copy_strided_b2(const unsigned short* src, Layout6 l, unsigned short* dst, long long n) { copy_strided_impl(src, l, dst, n); }
extern "C" __global__ void omnirt_copy_strided_b4(const unsigned int* src, Layout6 l, unsigned int* dst, long long n) { copy_strided_impl(src, l, dst, n); }
extern "C" __global__ void omnirt_copy_strided_b8(const unsigned long long* src, Layout6 l, unsigned long long* dst, long long n) { copy_strided_impl(src, l, dst, n); }

// Copies `len` bytes from s to d as 4-byte words when both addresses and len
// allow it (a uniform decision per launch in practice), else bytes. `t0`/`step`
// split the work over the grid.
__device__ __forceinline__ bool words_ok(const void* a, const void* b, i64_t len) {
    return ((((u64_t)a) | ((u64_t)b) | (u64_t)len) & 3ull) == 0ull;
}

// out[i, :] = table[ids[i], :] for i < n_ids; rows are `row_bytes` bytes
// (d * elem_size, or blocks_per_row * 34 / 18 for Q8_0 / Q4_0). An id outside
// 0..table_rows writes a zero row and sets *err = 1 (err may be null): the CPU
// backend returns an error there, so the host should check `err` (or validate
// ids) before trusting the output.
template <typename ID>
__device__ void gather_impl(const unsigned char* table, i64_t table_rows, i64_t row_bytes,
                            const ID* ids, i64_t n_ids, unsigned char* out, int* err) {
    bool words = words_ok(table, out, row_bytes);
    i64_t unit = words ? 4 : 1;
    i64_t per_row = row_bytes / unit;
    i64_t n = n_ids * per_row;
    for (i64_t t = global_tid(); t < n; t += global_stride()) {
        i64_t i = t / per_row, j = t % per_row;
        i64_t id = (i64_t)ids[i];
        bool ok = id >= 0 && id < table_rows;
        if (!ok && err && j == 0) *err = 1;
        if (words) {
            ((unsigned int*)out)[i * per_row + j] = ok ? ((const unsigned int*)table)[id * per_row + j] : 0u;
        } else {
            out[i * per_row + j] = ok ? table[id * per_row + j] : (unsigned char)0;
        }
    }
}

extern "C" __global__ void omnirt_gather_rows_i32(const unsigned char* table, long long table_rows, long long row_bytes, const int* ids, long long n_ids, unsigned char* out, int* err) { gather_impl(table, table_rows, row_bytes, ids, n_ids, out, err); }
extern "C" __global__ void omnirt_gather_rows_u32(const unsigned char* table, long long table_rows, long long row_bytes, const unsigned int* ids, long long n_ids, unsigned char* out, int* err) { gather_impl(table, table_rows, row_bytes, ids, n_ids, out, err); }
extern "C" __global__ void omnirt_gather_rows_i64(const unsigned char* table, long long table_rows, long long row_bytes, const long long* ids, long long n_ids, unsigned char* out, int* err) { gather_impl(table, table_rows, row_bytes, ids, n_ids, out, err); }

// One input of a concatenation along `dim`, launched once per input: with
// outer = prod(dims before dim), src_row_bytes = src.dims[dim] * inner * elem_size,
// dst_row_bytes = out.dims[dim] * inner * elem_size, dst_offset_bytes = (sum of
// the previous inputs' dims[dim]) * inner * elem_size:
//   dst[o * dst_row_bytes + dst_offset_bytes + j] = src[o * src_row_bytes + j],  j < src_row_bytes.
// src must be contiguous (copy_strided first otherwise).
extern "C" __global__ void omnirt_concat_rows(const unsigned char* src, long long outer, long long src_row_bytes,
                                              unsigned char* dst, long long dst_row_bytes, long long dst_offset_bytes) {
    if (src_row_bytes <= 0 || dst_offset_bytes < 0 || dst_offset_bytes + src_row_bytes > dst_row_bytes) return;
    bool words = words_ok(src, dst, src_row_bytes) && ((dst_row_bytes | dst_offset_bytes) & 3) == 0;
    i64_t unit = words ? 4 : 1;
    i64_t per_row = src_row_bytes / unit;
    i64_t dst_row = dst_row_bytes / unit, off = dst_offset_bytes / unit;
    i64_t n = outer * per_row;
    for (i64_t t = global_tid(); t < n; t += global_stride()) {
        i64_t o = t / per_row, j = t % per_row;
        if (words) {
            ((unsigned int*)dst)[o * dst_row + off + j] = ((const unsigned int*)src)[t];
        } else {
            dst[o * dst_row + off + j] = src[t];
        }
    }
}
