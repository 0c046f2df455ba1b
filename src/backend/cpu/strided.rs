//! Reading strided views into contiguous memory, for any plain element type.

use crate::tensor::Layout;

/// Calls `f(offset)` with the storage offset (in elements) of every element of
/// `layout` in row-major order, in runs: `f(start, len, stride)` covers `len`
/// elements of the last dimension starting at `start`, `stride` apart.
pub(crate) fn for_each_run(layout: &Layout, mut f: impl FnMut(usize, usize, usize)) {
    let dims = layout.dims();
    let strides = layout.strides();
    if dims.contains(&0) {
        return;
    }
    if dims.is_empty() {
        f(layout.offset(), 1, 1);
        return;
    }
    let rank = dims.len();
    let (inner_len, inner_stride) = (dims[rank - 1], strides[rank - 1]);
    let outer = &dims[..rank - 1];
    let mut index = vec![0usize; outer.len()];
    let mut offset = layout.offset();
    loop {
        f(offset, inner_len, inner_stride);
        // Odometer increment over the outer dimensions.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            offset += strides[d];
            if index[d] < outer[d] {
                break;
            }
            offset -= strides[d] * outer[d];
            index[d] = 0;
        }
    }
}

/// Copy the elements of a strided view of `src` into `dst` (row-major).
pub(crate) fn gather<T: Copy>(src: &[T], layout: &Layout, dst: &mut [T]) {
    let mut pos = 0;
    for_each_run(layout, |start, len, stride| {
        let out = &mut dst[pos..pos + len];
        if stride == 1 {
            out.copy_from_slice(&src[start..start + len]);
        } else {
            for (i, o) in out.iter_mut().enumerate() {
                *o = src[start + i * stride];
            }
        }
        pos += len;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Shape;

    #[test]
    fn gathers_a_transposed_narrowed_view() {
        // 3x4 matrix 0..12, transpose -> 4x3, narrow rows 1..3
        let src: Vec<u32> = (0..12).collect();
        let l = Layout::contiguous(Shape::new([3, 4]))
            .transpose(0, 1)
            .unwrap()
            .narrow(0, 1, 2)
            .unwrap();
        let mut dst = vec![0; 6];
        gather(&src, &l, &mut dst);
        assert_eq!(dst, vec![1, 5, 9, 2, 6, 10]);
    }

    #[test]
    fn broadcast_and_scalar_layouts() {
        let src = [7u8, 8];
        let l = Layout::contiguous(Shape::new([2]))
            .broadcast_as(&Shape::new([3, 2]))
            .unwrap();
        let mut dst = vec![0; 6];
        gather(&src, &l, &mut dst);
        assert_eq!(dst, vec![7, 8, 7, 8, 7, 8]);
        let mut one = [0u8];
        gather(&src, &Layout::contiguous(Shape::scalar()), &mut one);
        assert_eq!(one, [7]);
    }
}
