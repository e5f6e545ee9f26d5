//! `queued.max.request.bytes`: the memory requests may hold while they are read and handled,
//! shared by every connection of the broker, as Kafka's `MemoryPool`.
//!
//! A connection reserves a frame's announced size before reading its body and gives it back
//! once the response is written. While the pool lacks room the connection waits and stops
//! reading, so TCP's flow control pushes back on the client (Kafka mutes the channel). The
//! whole announced size is reserved at once, never bit by bit: clients that each held part of
//! what they need would wait on one another for ever.
//!
//! Frames of up to `SMALL_FRAME_BYTES` take nothing from the pool. Each connection has one
//! request in flight at a time, so they are bounded by `max.connections` instead; and the
//! requests that keep clients alive (metadata, heartbeats, fetches, small produces) keep
//! flowing while large frames wait for room.

use std::sync::Arc;

use prometheus::{IntCounter, IntGauge};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Frames up to this size are read without a reservation: 16 KiB holds the requests clients
/// send to stay alive, and 10,000 connections (`max.connections`) hold at most 160 MiB of them.
pub const SMALL_FRAME_BYTES: usize = 16 * 1024;

pub struct RequestMemoryPool {
    /// One permit per byte; `None` when `queued.max.request.bytes` is -1 (unbounded).
    bytes: Option<Arc<Semaphore>>,
    total: usize,
    reserved: IntGauge,
    waits: IntCounter,
}

/// Bytes taken from the pool, given back when dropped.
pub struct Reservation {
    _permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
    reserved: Option<IntGauge>,
}

impl RequestMemoryPool {
    /// A pool of `total` bytes, or an unbounded one; `reserved` and `waits` are its metrics.
    pub fn new(total: Option<usize>, reserved: IntGauge, waits: IntCounter) -> Self {
        let total = total.map(|bytes| bytes.min(Semaphore::MAX_PERMITS));
        RequestMemoryPool {
            bytes: total.map(|bytes| Arc::new(Semaphore::new(bytes))),
            total: total.unwrap_or(usize::MAX),
            reserved,
            waits,
        }
    }

    /// Whether a frame of `size` bytes can ever be read: a larger one would wait for ever.
    pub fn fits(&self, size: usize) -> bool {
        size <= SMALL_FRAME_BYTES || size <= self.total
    }

    /// Whether a frame of `size` bytes must reserve memory before its body is read.
    pub fn needs_reservation(&self, size: usize) -> bool {
        self.bytes.is_some() && size > SMALL_FRAME_BYTES
    }

    /// Reserves `size` bytes for a frame, waiting while the pool lacks room; callers check
    /// `fits` first (a frame larger than the pool would take all of it).
    pub async fn reserve(&self, size: usize) -> Reservation {
        let Some(semaphore) = self.bytes.as_ref().filter(|_| self.needs_reservation(size)) else {
            return Reservation::none();
        };
        let bytes = size.min(self.total);
        // A frame is at most i32::MAX bytes, as its length prefix says.
        let permits = u32::try_from(bytes).unwrap_or(u32::MAX);
        let permit = match semaphore.clone().try_acquire_many_owned(permits) {
            Ok(permit) => permit,
            Err(_) => {
                self.waits.inc();
                semaphore
                    .clone()
                    .acquire_many_owned(permits)
                    .await
                    .expect("the pool's semaphore is never closed")
            }
        };
        let bytes = permits as usize;
        self.reserved.add(bytes as i64);
        Reservation {
            _permit: Some(permit),
            bytes,
            reserved: Some(self.reserved.clone()),
        }
    }

    /// Bytes free now (`usize::MAX` when unbounded).
    pub fn available(&self) -> usize {
        self.bytes
            .as_ref()
            .map_or(usize::MAX, |semaphore| semaphore.available_permits())
    }
}

impl Reservation {
    /// Nothing reserved: a small frame, or an unbounded pool.
    pub fn none() -> Self {
        Reservation {
            _permit: None,
            bytes: 0,
            reserved: None,
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(reserved) = &self.reserved {
            reserved.sub(self.bytes as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LARGE: usize = SMALL_FRAME_BYTES + 1;

    fn pool(total: Option<usize>) -> RequestMemoryPool {
        RequestMemoryPool::new(
            total,
            IntGauge::new("reserved", "reserved").unwrap(),
            IntCounter::new("waits", "waits").unwrap(),
        )
    }

    async fn reserves_within(pool: &RequestMemoryPool, size: usize, wait: Duration) -> bool {
        tokio::time::timeout(wait, pool.reserve(size)).await.is_ok()
    }

    #[tokio::test]
    async fn small_frames_take_nothing_from_the_pool() {
        let pool = pool(Some(LARGE));
        let _large = pool.reserve(LARGE).await;
        assert_eq!(pool.available(), 0);
        let small = pool.reserve(SMALL_FRAME_BYTES).await;
        assert_eq!(small.bytes(), 0);
        assert!(!pool.needs_reservation(SMALL_FRAME_BYTES));
    }

    #[tokio::test]
    async fn a_frame_waits_until_the_pool_has_room_for_all_of_it() {
        let pool = pool(Some(3 * LARGE));
        let first = pool.reserve(2 * LARGE).await;
        assert_eq!(pool.reserved.get(), 2 * LARGE as i64);
        assert!(!reserves_within(&pool, 2 * LARGE, Duration::from_millis(50)).await);
        assert_eq!(pool.waits.get(), 1);
        drop(first);
        assert_eq!(pool.reserved.get(), 0);
        let second = pool.reserve(2 * LARGE).await;
        assert_eq!(second.bytes(), 2 * LARGE);
        assert_eq!(pool.available(), LARGE);
        drop(second);
        assert_eq!(pool.available(), 3 * LARGE);
        assert_eq!(pool.reserved.get(), 0);
    }

    #[tokio::test]
    async fn a_waiting_frame_gets_its_room_when_another_returns_it() {
        let pool = Arc::new(pool(Some(LARGE)));
        let first = pool.reserve(LARGE).await;
        let waiter = tokio::spawn({
            let pool = pool.clone();
            async move { pool.reserve(LARGE).await.bytes() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(first);
        let reserved = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("the waiter gets the memory")
            .unwrap();
        assert_eq!(reserved, LARGE);
    }

    #[test]
    fn frames_larger_than_the_pool_never_fit() {
        let bounded = pool(Some(LARGE));
        assert!(bounded.fits(LARGE));
        assert!(!bounded.fits(LARGE + 1));
        let tiny = pool(Some(10));
        assert!(
            tiny.fits(SMALL_FRAME_BYTES),
            "small frames do not use the pool"
        );
        let unbounded = pool(None);
        assert!(unbounded.fits(i32::MAX as usize));
        assert!(!unbounded.needs_reservation(i32::MAX as usize));
    }
}
