//! Admission control: an engine-wide KV-cache budget in bytes and a cap on
//! live requests. A request reserves its whole cache up front; the
//! `Reservation` gives it back when dropped (stream finished or dropped).

use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct Usage {
    bytes: usize,
    active: usize,
}

#[derive(Debug)]
pub(crate) struct Admission {
    budget_bytes: usize,
    max_concurrent: usize,
    usage: Mutex<Usage>,
}

impl Admission {
    pub(crate) fn new(budget_bytes: usize, max_concurrent: usize) -> Admission {
        Admission {
            budget_bytes,
            max_concurrent,
            usage: Mutex::new(Usage::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Usage> {
        // The counters stay consistent even if a holder panicked.
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves `bytes` or says why not, right away (never waits).
    pub(crate) fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation> {
        let mut u = self.lock();
        if u.active >= self.max_concurrent {
            return Err(Error::InvalidArgument(format!(
                "engine busy: {} requests running (max_concurrent {}); retry when one finishes",
                u.active, self.max_concurrent
            )));
        }
        let free = self.budget_bytes.saturating_sub(u.bytes);
        if bytes > free {
            let hint = if bytes > self.budget_bytes {
                "lower max_tokens or the prompt length, or raise the engine's kv_budget_bytes"
            } else {
                "retry when running requests finish, or lower max_tokens"
            };
            return Err(Error::InvalidArgument(format!(
                "KV budget exceeded: the request needs {bytes} bytes of KV cache, {free} of {} are free; {hint}",
                self.budget_bytes
            )));
        }
        u.bytes += bytes;
        u.active += 1;
        Ok(Reservation {
            admission: Arc::clone(self),
            bytes,
        })
    }

    pub(crate) fn bytes_in_use(&self) -> usize {
        self.lock().bytes
    }

    pub(crate) fn active(&self) -> usize {
        self.lock().active
    }

    pub(crate) fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }
}

/// A held share of the budget; released on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    admission: Arc<Admission>,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut u = self.admission.lock();
        u.bytes -= self.bytes;
        u.active -= 1;
    }
}
