//! Problem sizes and the strided 4-D views attention reads its inputs through.

/// Sizes of one attention call. Query head `h` reads kv head
/// `h / (q_heads / kv_heads)` (grouped-query attention; `q_heads == kv_heads` is
/// plain multi-head attention).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionShape {
    pub batch: usize,
    pub q_heads: usize,
    pub kv_heads: usize,
    pub q_len: usize,
    pub kv_len: usize,
    pub head_dim: usize,
    /// Multiplies `q·k` before the softmax (usually `1/sqrt(head_dim)`).
    pub scale: f32,
}

impl AttentionShape {
    /// Query heads per kv head.
    pub fn group_size(&self) -> usize {
        self.q_heads / self.kv_heads
    }

    /// Elements of the contiguous `[batch, q_heads, q_len, head_dim]` output.
    pub fn out_len(&self) -> Option<usize> {
        self.batch
            .checked_mul(self.q_heads)?
            .checked_mul(self.q_len)?
            .checked_mul(self.head_dim)
    }
}

/// Strides in elements for a `[batch, heads, seq, head_dim]` view with unit stride
/// on `head_dim`. Any memory order of the first three axes works, and a view may
/// cover the first `kv_len` rows of a larger preallocated cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strides4 {
    pub batch: usize,
    pub head: usize,
    pub seq: usize,
}

impl Strides4 {
    /// Contiguous `[batch, heads, seq, head_dim]`.
    pub fn bhsd(heads: usize, seq: usize, head_dim: usize) -> Strides4 {
        Strides4 {
            batch: heads * seq * head_dim,
            head: seq * head_dim,
            seq: head_dim,
        }
    }

    /// Contiguous `[batch, seq, heads, head_dim]` (the order projections produce).
    pub fn bshd(seq: usize, heads: usize, head_dim: usize) -> Strides4 {
        Strides4 {
            batch: seq * heads * head_dim,
            head: head_dim,
            seq: heads * head_dim,
        }
    }

    /// Offset of row (`b`, `h`, `s`); in bounds once `required_len` was checked.
    #[inline]
    pub(crate) fn offset(&self, b: usize, h: usize, s: usize) -> usize {
        b * self.batch + h * self.head + s * self.seq
    }

    /// The smallest buffer length holding every element of a
    /// `[batch, heads, seq, head_dim]` view (0 when the view is empty), or `None`
    /// when that overflows `usize`.
    pub fn required_len(
        &self,
        batch: usize,
        heads: usize,
        seq: usize,
        head_dim: usize,
    ) -> Option<usize> {
        if batch == 0 || heads == 0 || seq == 0 || head_dim == 0 {
            return Some(0);
        }
        let last_row = (batch - 1)
            .checked_mul(self.batch)?
            .checked_add((heads - 1).checked_mul(self.head)?)?
            .checked_add((seq - 1).checked_mul(self.seq)?)?;
        last_row.checked_add(head_dim)
    }
}
