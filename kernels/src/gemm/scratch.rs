//! Per-thread packing buffers, kept between calls so a large GEMM neither
//! allocates nor page-faults its packed panels on every call. Each rayon worker
//! keeps at most one A block (`mc×kc`) and one B block (`kc×nc`) alive.

use std::cell::Cell;

/// Which of the two per-thread buffers to borrow.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    PackedA,
    PackedB,
}

thread_local! {
    static PACKED_A: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    static PACKED_B: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Cache-line alignment in floats: packed panels start on a line, so 32-byte
/// vector loads from them never straddle two lines.
const ALIGN_FLOATS: usize = 16;

/// Runs `f` on a cache-line-aligned scratch slice of `len` floats with unspecified
/// (but initialised) contents.
pub(crate) fn with_scratch<R>(slot: Slot, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let cell = match slot {
        Slot::PackedA => &PACKED_A,
        Slot::PackedB => &PACKED_B,
    };
    // `take` leaves an empty Vec behind, so a re-entrant use on the same thread
    // (not expected, but possible through rayon work stealing) allocates its own.
    let mut buf = cell.with(Cell::take);
    if buf.len() < len + ALIGN_FLOATS {
        buf.resize(len + ALIGN_FLOATS, 0.0);
    }
    let offset = buf.as_ptr().align_offset(ALIGN_FLOATS * 4);
    let offset = if offset < ALIGN_FLOATS { offset } else { 0 };
    let result = f(&mut buf[offset..offset + len]);
    cell.with(|c| c.set(buf));
    result
}
