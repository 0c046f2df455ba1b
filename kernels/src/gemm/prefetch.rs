//! Software prefetch of the next B panel's source while the current panel
//! computes. Packing reads B once, often from DRAM; issuing those reads early,
//! spread over the tiles of the current panel, hides their latency behind FMAs.

use super::problem::Problem;

const LINE: usize = 64;

/// The bytes of B one packed panel is read from: `rows` runs of `row_bytes`
/// contiguous bytes, `stride` bytes apart.
pub(crate) struct PanelSource {
    base: *const u8,
    rows: usize,
    stride: usize,
    row_bytes: usize,
    /// Prefetch addresses per run: one per line plus the run's last byte, which
    /// covers the extra line a misaligned run straddles.
    per_row: usize,
}

impl PanelSource {
    /// The panel of columns `j..j+width` and depth `p0..p0+kb` (all inside B).
    pub(crate) fn new<E>(
        pb: &Problem<'_, E>,
        p0: usize,
        kb: usize,
        j: usize,
        width: usize,
    ) -> PanelSource {
        let elem = std::mem::size_of::<E>();
        let (origin, rows, run) = if pb.b_transposed {
            (j * pb.ldb + p0, width, kb)
        } else {
            (p0 * pb.ldb + j, kb, width)
        };
        let row_bytes = run * elem;
        PanelSource {
            base: pb.b[origin..].as_ptr() as *const u8,
            rows,
            stride: pb.ldb * elem,
            row_bytes,
            per_row: row_bytes.div_ceil(LINE) + 1,
        }
    }

    /// Prefetches share `part` of `parts` of the panel's lines.
    pub(crate) fn prefetch_share(&self, part: usize, parts: usize, prefetch: fn(*const u8)) {
        let total = self.rows * self.per_row;
        let (start, end) = (total * part / parts, total * (part + 1) / parts);
        let (mut row, mut line) = (start / self.per_row, start % self.per_row);
        for _ in start..end {
            let within = (line * LINE).min(self.row_bytes - 1);
            // Stays inside the run, hence inside B; prefetching never faults anyway.
            prefetch(self.base.wrapping_add(row * self.stride + within));
            line += 1;
            if line == self.per_row {
                line = 0;
                row += 1;
            }
        }
    }
}
