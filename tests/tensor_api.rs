//! Tensor semantics: views share storage and see the right elements, broadcast
//! rules, host round trips, in-place slice writes, and clear errors (never
//! panics) for bad shapes, dtypes and sizes.

mod common;

use omnirt::backend::MaskKind;
use omnirt::{DType, Device, Error, Shape, Tensor};
use proptest::prelude::*;

fn cpu() -> Device {
    Device::cpu()
}

fn iota(dims: &[usize]) -> (Tensor, Vec<f32>) {
    let v: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|i| i as f32)
        .collect();
    (Tensor::from_slice(&v, dims.to_vec(), &cpu()).unwrap(), v)
}

#[test]
fn round_trips_every_plain_dtype() {
    let d = cpu();
    assert_eq!(
        Tensor::from_slice(&[1u8, 2, 3], [3], &d)
            .unwrap()
            .to_vec::<u8>()
            .unwrap(),
        [1, 2, 3]
    );
    assert_eq!(
        Tensor::from_slice(&[-1i32, 7], [2], &d)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        [-1, 7]
    );
    assert_eq!(
        Tensor::from_slice(&[u32::MAX], [1], &d)
            .unwrap()
            .to_vec::<u32>()
            .unwrap(),
        [u32::MAX]
    );
    assert_eq!(
        Tensor::from_slice(&[i64::MIN], [1], &d)
            .unwrap()
            .to_vec::<i64>()
            .unwrap(),
        [i64::MIN]
    );
    let h = [half::f16::from_f32(0.5), half::f16::from_f32(-2.0)];
    assert_eq!(
        Tensor::from_slice(&h, [2], &d)
            .unwrap()
            .to_vec::<half::f16>()
            .unwrap(),
        h
    );
    let b = [half::bf16::from_f32(3.25)];
    assert_eq!(
        Tensor::from_slice(&b, [1], &d)
            .unwrap()
            .to_vec::<half::bf16>()
            .unwrap(),
        b
    );
    // Large integers survive int -> int casts.
    let big = Tensor::from_slice(&[16_777_217i64], [1], &d).unwrap();
    assert_eq!(
        big.to_dtype(DType::U32).unwrap().to_vec::<u32>().unwrap(),
        [16_777_217]
    );
    assert_eq!(
        Tensor::scalar(2.5f32, &d)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
        2.5
    );
}

#[test]
fn views_share_storage_and_index_correctly() {
    let (t, v) = iota(&[2, 3, 4]);
    let p = t.permute(&[2, 0, 1]).unwrap();
    assert!(p.shares_storage_with(&t));
    assert_eq!(p.dims(), &[4, 2, 3]);
    let pv = p.to_vec::<f32>().unwrap();
    for a in 0..4 {
        for b in 0..2 {
            for c in 0..3 {
                assert_eq!(pv[(a * 2 + b) * 3 + c], v[(b * 3 + c) * 4 + a]);
            }
        }
    }
    let n = t.narrow(2, 1, 2).unwrap().narrow(0, 1, 1).unwrap();
    assert_eq!(
        n.to_vec::<f32>().unwrap(),
        [13.0, 14.0, 17.0, 18.0, 21.0, 22.0]
    );
    let r = t.reshape([6, 4]).unwrap();
    assert!(r.shares_storage_with(&t));
    // Reshape of a strided view copies.
    let rt = t.transpose(1, 2).unwrap().reshape([8, 3]).unwrap();
    assert!(!rt.shares_storage_with(&t));
    assert_eq!(rt.to_vec::<f32>().unwrap()[..3], [0.0, 4.0, 8.0]);
    let u = t.unsqueeze(1).unwrap();
    assert_eq!(u.dims(), &[2, 1, 3, 4]);
    assert_eq!(u.squeeze(1).unwrap().to_vec::<f32>().unwrap(), v);
    let b = Tensor::from_slice(&[1f32, 2.0, 3.0], [3, 1], &cpu())
        .unwrap()
        .broadcast_as([2, 3, 4])
        .unwrap();
    assert_eq!(
        b.to_vec::<f32>().unwrap()[..8],
        [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    );
}

#[test]
fn shape_errors_are_typed() {
    let (t, _) = iota(&[2, 3]);
    assert!(matches!(t.narrow(1, 2, 2), Err(Error::Shape { .. })));
    assert!(matches!(t.narrow(5, 0, 1), Err(Error::Shape { .. })));
    assert!(matches!(t.permute(&[0, 0]), Err(Error::Shape { .. })));
    assert!(matches!(t.reshape([4, 2]), Err(Error::Shape { .. })));
    assert!(matches!(t.broadcast_as([3, 3]), Err(Error::Shape { .. })));
    assert!(matches!(t.squeeze(0), Err(Error::Shape { .. })));
    let (w, _) = iota(&[4, 5]);
    assert!(matches!(t.matmul(&w), Err(Error::Shape { .. })));
    assert!(matches!(t.add(&w), Err(Error::Shape { .. })));
    assert!(matches!(
        Tensor::from_slice(&[1f32, 2.0], [3], &cpu()),
        Err(Error::Shape { .. })
    ));
    // Overflowing shapes are rejected, not allocated.
    assert!(matches!(
        Tensor::zeros([usize::MAX, 2], DType::F32, &cpu()),
        Err(Error::Overflow(_))
    ));
    assert!(matches!(
        Tensor::zeros([1 << 62, 1 << 3], DType::F32, &cpu()),
        Err(Error::Overflow(_)) | Err(Error::Backend { .. })
    ));
    // Dtype mismatches.
    assert!(matches!(t.to_vec::<u32>(), Err(Error::DType { .. })));
    let ids = Tensor::from_slice(&[0u32], [1], &cpu()).unwrap();
    assert!(matches!(ids.softmax(), Err(Error::DType { .. })));
    assert!(matches!(
        t.add(&t.to_dtype(DType::BF16).unwrap()),
        Err(Error::DType { .. })
    ));
}

#[test]
fn op_argument_errors_are_typed() {
    let (t, _) = iota(&[3, 4]);
    let bad_ids = Tensor::from_slice(&[0u32, 3], [2], &cpu()).unwrap();
    assert!(matches!(
        t.gather_rows(&bad_ids),
        Err(Error::InvalidArgument(_))
    ));
    let neg = Tensor::from_slice(&[-1i64], [1], &cpu()).unwrap();
    assert!(matches!(
        t.gather_rows(&neg),
        Err(Error::InvalidArgument(_))
    ));
    assert!(t.topk_last(0).is_err());
    assert!(t.topk_last(5).is_err());
    let q = Tensor::zeros([1, 4, 2, 8], DType::F32, &cpu()).unwrap();
    let k = Tensor::zeros([1, 3, 2, 8], DType::F32, &cpu()).unwrap();
    assert!(matches!(
        Tensor::attention(&q, &k, &k, 1.0, MaskKind::None),
        Err(Error::Shape { .. })
    ));
    let k = Tensor::zeros([1, 2, 2, 8], DType::F32, &cpu()).unwrap();
    let bad = MaskKind::Segments {
        cu_seqlens: vec![0, 3],
    };
    assert!(matches!(
        Tensor::attention(&q, &k, &k, 1.0, bad),
        Err(Error::Shape { .. })
    ));
    assert!(Tensor::attention(&q, &k, &k, f32::NAN, MaskKind::None).is_err());
    let x = Tensor::zeros([1, 2, 3], DType::F32, &cpu()).unwrap();
    let w = Tensor::zeros([4, 2, 5], DType::F32, &cpu()).unwrap();
    assert!(
        matches!(
            x.conv1d(&w, None, 1, (0, 0), 1, 1),
            Err(Error::Shape { .. })
        ),
        "kernel longer than input"
    );
    assert!(
        x.conv1d(&w, None, 1, (0, 0), 1, 3).is_err(),
        "groups do not divide channels"
    );
}

#[test]
fn quantized_tensors_keep_whole_blocks() {
    let (t, _) = iota(&[4, 64]);
    let q = t.to_dtype(DType::Q8_0).unwrap();
    assert_eq!(q.dtype(), DType::Q8_0);
    assert!(q.narrow(0, 1, 2).is_ok());
    assert!(matches!(q.narrow(1, 0, 32), Err(Error::DType { .. })));
    assert!(matches!(q.t(), Err(Error::DType { .. })));
    assert!(matches!(
        Tensor::zeros([3, 33], DType::Q4_0, &cpu()),
        Err(Error::DType { .. })
    ));
    assert!(matches!(q.add(&q), Err(Error::DType { .. })));
    // Outer-dimension views still dequantize to the right rows.
    let rows = q.narrow(0, 2, 2).unwrap().to_f32_vec().unwrap();
    assert_eq!(rows, q.to_f32_vec().unwrap()[128..].to_vec());
    // Bytes round-trip exactly.
    let bytes = q.to_bytes().unwrap();
    assert_eq!(bytes.len(), 4 * 2 * 34);
    let again = Tensor::from_bytes(&bytes, DType::Q8_0, [4, 64], &cpu()).unwrap();
    assert_eq!(again.to_bytes().unwrap(), bytes);
}

#[test]
fn write_slice_appends_in_place() {
    let mut cache = Tensor::zeros([2, 5, 3], DType::F32, &cpu()).unwrap();
    let step = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6.], [2, 1, 3], &cpu()).unwrap();
    cache.write_slice(1, 2, &step).unwrap();
    let v = cache.to_vec::<f32>().unwrap();
    assert_eq!(&v[6..9], &[1., 2., 3.]);
    assert_eq!(&v[15 + 6..15 + 9], &[4., 5., 6.]);
    assert!(v[..6].iter().all(|&x| x == 0.0));
    // A live view blocks in-place writes instead of changing what it sees.
    let view = cache.narrow(1, 0, 3).unwrap();
    assert!(matches!(
        cache.write_slice(1, 0, &step),
        Err(Error::InvalidArgument(_))
    ));
    drop(view);
    cache.write_slice(1, 4, &step).unwrap();
    assert!(matches!(
        cache.write_slice(1, 5, &step),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn broadcast_shapes_follow_numpy() {
    let s = |v: &[usize]| Shape::new(v.to_vec());
    assert_eq!(
        Shape::broadcast("t", &s(&[3, 1, 5]), &s(&[4, 5])).unwrap(),
        s(&[3, 4, 5])
    );
    assert_eq!(Shape::broadcast("t", &s(&[]), &s(&[2])).unwrap(), s(&[2]));
    assert!(Shape::broadcast("t", &s(&[3]), &s(&[4])).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any chain of transposes and narrows reads the same elements as index
    /// arithmetic on the original data.
    #[test]
    fn random_views_match_index_arithmetic(
        d0 in 1usize..5, d1 in 1usize..5, d2 in 1usize..5,
        perm in Just([0usize, 1, 2]).prop_shuffle(),
        start in 0usize..4, len in 1usize..4,
    ) {
        let dims = [d0, d1, d2];
        let (t, v) = iota(&dims);
        let p = t.permute(&perm).unwrap();
        let pd = p.dims().to_vec();
        let s = start.min(pd[0] - 1);
        let l = len.min(pd[0] - s);
        let n = p.narrow(0, s, l).unwrap();
        let got = n.to_vec::<f32>().unwrap();
        let mut want = Vec::new();
        for a in s..s + l {
            for b in 0..pd[1] {
                for c in 0..pd[2] {
                    let mut idx = [0usize; 3];
                    idx[perm[0]] = a;
                    idx[perm[1]] = b;
                    idx[perm[2]] = c;
                    want.push(v[(idx[0] * dims[1] + idx[1]) * dims[2] + idx[2]]);
                }
            }
        }
        prop_assert_eq!(got, want);
    }
}
