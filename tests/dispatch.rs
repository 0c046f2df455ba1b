//! The dispatcher: ops a backend refuses run on the CPU, give the same result,
//! and are counted; devices cannot be mixed silently; typed errors for
//! unsupported devices.

mod common;

use std::sync::Arc;

use common::{assert_close, tensor, Rng};
use omnirt::backend::cpu::CpuBackend;
use omnirt::backend::{Backend, Buffer, DeviceBuffer, Op, OutputSlot};
use omnirt::profile::ChipProfile;
use omnirt::{DType, Device, Error, Tensor};

/// A host-memory backend that only runs elementwise binary ops itself, the way
/// a young backend starts out.
#[derive(Debug)]
struct BinaryOnly {
    inner: CpuBackend,
}

impl Backend for BinaryOnly {
    fn name(&self) -> &str {
        "binary-only"
    }
    fn profile(&self) -> &ChipProfile {
        self.inner.profile()
    }
    fn alloc(&self, bytes: usize) -> omnirt::Result<Buffer> {
        self.inner.alloc(bytes)
    }
    fn write(&self, dst: &mut dyn DeviceBuffer, offset: usize, src: &[u8]) -> omnirt::Result<()> {
        self.inner.write(dst, offset, src)
    }
    fn read(&self, src: &dyn DeviceBuffer, offset: usize, dst: &mut [u8]) -> omnirt::Result<()> {
        self.inner.read(src, offset, dst)
    }
    fn supports(&self, op: &Op, dtypes: &[DType]) -> bool {
        matches!(op, Op::Binary(_)) && dtypes.iter().all(|d| *d == DType::F32)
    }
    fn run(
        &self,
        op: &Op,
        inputs: &[&Tensor],
        outputs: &mut [OutputSlot<'_>],
    ) -> omnirt::Result<()> {
        assert!(
            matches!(op, Op::Binary(_)),
            "dispatcher sent an unsupported op: {op:?}"
        );
        self.inner.run(op, inputs, outputs)
    }
    fn synchronize(&self) -> omnirt::Result<()> {
        Ok(())
    }
}

fn partial_device() -> Device {
    Device::from_backend(Arc::new(BinaryOnly {
        inner: CpuBackend::new(),
    }))
}

#[test]
fn unsupported_ops_fall_back_to_cpu_and_are_counted() {
    let dev = partial_device();
    let cpu = Device::cpu();
    let mut rng = Rng::new(1);
    let (a, av) = tensor(&mut rng, &[4, 8], &dev);
    let (b, bv) = tensor(&mut rng, &[8, 3], &dev);
    let before = dev.stats();
    assert_eq!(before.total_calls(), 0);

    let sum = a.add(&a).unwrap();
    let prod = a.matmul(&b).unwrap();
    let sm = prod.softmax().unwrap();
    assert_eq!(sm.device(), &dev, "results come back to the partial device");

    let stats = dev.stats();
    assert_eq!(stats.fallbacks("binary"), 0);
    assert_eq!(stats.fallbacks("matmul"), 1);
    assert_eq!(stats.fallbacks("softmax"), 1);
    assert_eq!(stats.total_fallbacks(), 2);
    assert_eq!(stats.ops["binary"].calls, 1);
    assert!(stats.ops["matmul"].flops >= 2.0 * 4.0 * 8.0 * 3.0);

    // Same numbers as on the CPU.
    let want = a
        .to_device(&cpu)
        .unwrap()
        .matmul(&b.to_device(&cpu).unwrap())
        .unwrap();
    assert_close(
        &prod.to_vec::<f32>().unwrap(),
        &want.to_vec::<f32>().unwrap(),
        0.0,
        "fallback matmul",
    );
    let want_sum: Vec<f32> = av.iter().map(|v| v + v).collect();
    assert_eq!(sum.to_vec::<f32>().unwrap(), want_sum);
    let _ = bv;

    // A bf16 binary op is refused by dtype and falls back too.
    let a16 = a.to_dtype(DType::BF16).unwrap();
    a16.add(&a16).unwrap();
    assert_eq!(dev.stats().fallbacks("binary"), 1);
    dev.reset_stats();
    assert_eq!(dev.stats().total_calls(), 0);
}

#[test]
fn mixing_devices_is_an_error() {
    let dev = partial_device();
    let a = Tensor::from_slice(&[1f32, 2.0], [2], &dev).unwrap();
    let b = Tensor::from_slice(&[1f32, 2.0], [2], &Device::cpu()).unwrap();
    match a.add(&b) {
        Err(Error::DeviceMismatch { .. }) => {}
        other => panic!("expected DeviceMismatch, got {other:?}"),
    }
}

#[test]
fn unavailable_devices_are_typed_errors() {
    assert!(matches!(Device::parse("cpu"), Ok(d) if d.is_cpu()));
    assert!(matches!(
        Device::parse("cuda:0"),
        Err(Error::Unsupported(_))
    ));
    // T-Head profiles run anywhere (natively or through the RVV kernel model);
    // an unknown profile is a bad argument.
    assert!(matches!(Device::parse("thead:c920v2"), Ok(d) if d.name() == "thead:c920v2"));
    assert!(matches!(
        Device::parse("thead:nope"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Device::parse("tpu"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Device::parse("cuda:x"),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn cpu_device_counts_ops_without_fallbacks() {
    let dev = Device::from_backend(Arc::new(CpuBackend::new()));
    let a = Tensor::from_slice(&[1f32, 2.0, 3.0], [3], &dev).unwrap();
    a.exp().unwrap().softmax().unwrap();
    let s = dev.stats();
    assert_eq!(s.total_calls(), 2);
    assert_eq!(s.total_fallbacks(), 0);
}
