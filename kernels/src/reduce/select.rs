//! The ranking used by argmax and top-k: larger values first, NaN above every
//! number, lower index first among equals (so the order is total).

use std::cmp::Ordering;

/// Total order on values with NaN greatest (all NaNs equal; −0 equals +0).
pub(crate) fn value_order(a: f32, b: f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A candidate ordered by rank: `Less` means "ranks before" (better).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ranked {
    pub value: f32,
    pub index: u32,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        value_order(other.value, self.value).then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}
