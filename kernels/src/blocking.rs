//! Cache-derived blocking: the one place where a chip's throughput profile reaches
//! the kernels. The backend turns its `ChipProfile` into a `CacheInfo`; kernels size
//! their tiles from it instead of hard-coding numbers.

/// Cache sizes in bytes (per core for L1/L2, shared for L3) and the vector width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheInfo {
    pub l1d: usize,
    pub l2: usize,
    pub l3: usize,
    /// Vector register width in bits the kernels use.
    pub vector_bits: usize,
}

impl Default for CacheInfo {
    /// A conservative desktop-class core: 32 KiB L1d, 512 KiB L2, 8 MiB L3, 256-bit vectors.
    fn default() -> Self {
        CacheInfo {
            l1d: 32 << 10,
            l2: 512 << 10,
            l3: 8 << 20,
            vector_bits: 256,
        }
    }
}

/// GEMM blocking (BLIS names): `kc` is the depth of a packed panel, `mc` the rows of
/// A kept in L2, `nc` the columns of B kept in L3. `mr x nr` is the register tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmBlocking {
    pub mr: usize,
    pub nr: usize,
    pub kc: usize,
    pub mc: usize,
    pub nc: usize,
}

impl GemmBlocking {
    /// Derive blocking for an `mr x nr` f32 register tile from the cache sizes:
    /// a `kc x nr` panel of B fills about half of L1 (the A sliver streams through),
    /// an `mc x kc` block of A about half of L2, and a `kc x nc` block of B about
    /// half of L3.
    pub fn for_f32(caches: &CacheInfo, mr: usize, nr: usize) -> GemmBlocking {
        let elem = 4usize;
        let kc = (caches.l1d / 2 / (nr * elem)).clamp(64, 512);
        let kc = kc / 8 * 8;
        let mc = (caches.l2 / 2 / (kc * elem)).clamp(mr, 1024);
        let mc = (mc / mr).max(1) * mr;
        let nc = (caches.l3 / 2 / (kc * elem)).clamp(nr, 8192);
        let nc = (nc / nr).max(1) * nr;
        GemmBlocking { mr, nr, kc, mc, nc }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_is_tile_aligned_and_bounded() {
        for caches in [
            CacheInfo::default(),
            CacheInfo {
                l1d: 64 << 10,
                l2: 2 << 20,
                l3: 64 << 20,
                vector_bits: 128,
            },
            CacheInfo {
                l1d: 4 << 10,
                l2: 64 << 10,
                l3: 0,
                vector_bits: 128,
            },
        ] {
            let b = GemmBlocking::for_f32(&caches, 6, 16);
            assert_eq!(b.mc % 6, 0);
            assert_eq!(b.nc % 16, 0);
            assert!(b.kc >= 64 && b.kc <= 512);
        }
    }
}
