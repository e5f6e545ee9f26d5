//! The crate's one policy for poisoned locks: recover the guard and go on.
//!
//! A `std::sync::Mutex` is poisoned when a thread panics while holding it. Nothing reachable
//! from input panics in ksql, so a poisoned lock means a bug; refusing every later request
//! (what `lock().expect(..)` does) would turn that one bug into a dead server. The data
//! behind ksql's locks is a query's pipeline or a table of running queries, each change to
//! which is a single insert, remove or record processed, so what the panicking thread left is
//! at worst one record half applied, which the processing log and at-least-once replay
//! already allow for. The recovery is logged so the bug is seen.

use std::sync::{Mutex, MutexGuard};

/// `lock()` with the crate's poisoning policy.
pub trait LockExt<T: ?Sized> {
    /// The guard, recovered (and logged) when another thread panicked while holding it.
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockExt<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| {
            tracing::warn!("a lock was poisoned by a panic; going on with its data");
            self.clear_poison();
            poisoned.into_inner()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_recovered_with_its_data() {
        let lock = Mutex::new(vec![1]);
        let _ = std::panic::catch_unwind(|| {
            let mut guard = lock.lock().unwrap();
            guard.push(2);
            panic!("a bug while holding the lock");
        });
        assert!(lock.is_poisoned());
        assert_eq!(*lock.lock_or_recover(), vec![1, 2]);
        assert!(!lock.is_poisoned());
    }
}
