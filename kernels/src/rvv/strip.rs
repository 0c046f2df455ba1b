//! Strip-mining as the native kernels do it: `vl = min(remaining, vlmax)`.

/// `(start, vl)` for each strip of `n` elements at `vlmax` lanes per strip.
pub fn strips(n: usize, vlmax: usize) -> Strips {
    assert!(vlmax > 0, "strips: vlmax must be positive");
    Strips { next: 0, n, vlmax }
}

#[derive(Clone, Debug)]
pub struct Strips {
    next: usize,
    n: usize,
    vlmax: usize,
}

impl Iterator for Strips {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.next >= self.n {
            return None;
        }
        let start = self.next;
        let vl = (self.n - start).min(self.vlmax);
        self.next += vl;
        Some((start, vl))
    }
}

#[cfg(test)]
mod tests {
    use super::strips;

    #[test]
    fn strips_cover_everything_once_with_a_short_last_strip() {
        let s: Vec<_> = strips(10, 4).collect();
        assert_eq!(s, vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(strips(0, 4).count(), 0);
        assert_eq!(strips(8, 8).collect::<Vec<_>>(), vec![(0, 8)]);
    }
}
