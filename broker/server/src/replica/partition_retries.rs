//! Partitions whose last remote call was refused, waiting to try again: a leader's ISR
//! change the controller refused (a stale leader epoch, a fenced follower, no coordinator
//! leading), or a follower's fetch the leader refused (its metadata lags, its disk failed).
//! Without a pause the call would be repeated on the next follower fetch, every few
//! milliseconds. Each refused partition instead waits a growing, jittered pause
//! (`retry.backoff.ms` doubling to `retry.backoff.max.ms`), and each distinct refusal is
//! logged once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use potok_client::{Backoff, DistinctFailures};

pub struct PartitionRetries {
    /// The pauses every refused partition starts from.
    backoff: Backoff,
    waiting: HashMap<(String, i32), Waiting>,
}

/// One partition whose last call was refused.
struct Waiting {
    /// The leader epoch it was refused at; a new epoch starts afresh.
    leader_epoch: i32,
    backoff: Backoff,
    retry_at: Instant,
    failures: DistinctFailures,
}

/// What became of a refused change.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    /// How long until the partition may try again.
    pub retry_in: Duration,
    /// Refusals in a row, this one included.
    pub attempts: u32,
    /// False when the previous refusal said the same: log only new ones.
    pub is_new: bool,
}

impl PartitionRetries {
    pub fn new(backoff: Backoff) -> PartitionRetries {
        PartitionRetries {
            backoff,
            waiting: HashMap::new(),
        }
    }

    /// Whether the partition may try again at `now`: `None` while it waits out a refusal,
    /// else the refusals in a row before this attempt (0 for a first attempt).
    pub fn may_retry(
        &mut self,
        topic: &str,
        partition: i32,
        leader_epoch: i32,
        now: Instant,
    ) -> Option<u32> {
        // Asked for every partition of every fetch round: spare the key's allocation.
        if self.waiting.is_empty() {
            return Some(0);
        }
        let key = (topic.to_string(), partition);
        let waiting = match self.waiting.get(&key) {
            None => return Some(0),
            Some(waiting) if waiting.leader_epoch != leader_epoch => {
                self.waiting.remove(&key);
                return Some(0);
            }
            Some(waiting) => waiting,
        };
        (now >= waiting.retry_at).then(|| waiting.backoff.attempts())
    }

    /// The partition's call was refused at `now`: it waits before the next.
    pub fn refused(
        &mut self,
        topic: &str,
        partition: i32,
        leader_epoch: i32,
        error: &impl std::fmt::Display,
        now: Instant,
    ) -> Refused {
        let waiting = self
            .waiting
            .entry((topic.to_string(), partition))
            .or_insert_with(|| Waiting {
                leader_epoch,
                backoff: self.backoff.clone(),
                retry_at: now,
                failures: DistinctFailures::default(),
            });
        let retry_in = waiting.backoff.next_delay();
        waiting.retry_at = now + retry_in;
        Refused {
            retry_in,
            attempts: waiting.backoff.attempts(),
            is_new: waiting.failures.is_new(error),
        }
    }

    /// The partition's call succeeded; answers the refusals before it.
    pub fn succeeded(&mut self, topic: &str, partition: i32) -> Option<u32> {
        if self.waiting.is_empty() {
            return None;
        }
        self.waiting
            .remove(&(topic.to_string(), partition))
            .map(|waiting| waiting.backoff.attempts())
    }

    /// When the first waiting partition may try again.
    pub fn next_retry(&self) -> Option<Instant> {
        self.waiting.values().map(|w| w.retry_at).min()
    }

    /// Forgets partitions this broker no longer hosts.
    pub fn retain(&mut self, hosted: impl Fn(&str, i32) -> bool) {
        self.waiting
            .retain(|(topic, partition), _| hosted(topic, *partition));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn retries() -> PartitionRetries {
        PartitionRetries::new(Backoff::new(ms(100), ms(1000)))
    }

    #[test]
    fn a_refused_change_waits_longer_after_each_refusal() {
        let mut retries = retries();
        let mut now = Instant::now();
        assert_eq!(retries.may_retry("t", 0, 5, now), Some(0));
        let mut pauses = Vec::new();
        for attempt in 1..=6 {
            let refused = retries.refused("t", 0, 5, &"NOT_CONTROLLER", now);
            assert_eq!(refused.attempts, attempt);
            assert_eq!(retries.next_retry(), Some(now + refused.retry_in));
            // Not before the pause is over, and again once it is.
            assert_eq!(retries.may_retry("t", 0, 5, now), None);
            assert_eq!(
                retries.may_retry("t", 0, 5, now + refused.retry_in - ms(1)),
                None
            );
            now += refused.retry_in;
            assert_eq!(retries.may_retry("t", 0, 5, now), Some(attempt));
            pauses.push(refused.retry_in);
        }
        assert!(pauses[0] >= ms(50) && pauses[0] <= ms(100), "{pauses:?}");
        assert!(pauses[3] >= ms(400), "{pauses:?}");
        assert!(pauses.iter().all(|p| *p <= ms(1000)), "{pauses:?}");
    }

    #[test]
    fn each_distinct_refusal_is_new_once() {
        let mut retries = retries();
        let now = Instant::now();
        let is_new = |retries: &mut PartitionRetries, error: &str| {
            retries.refused("t", 0, 5, &error, now).is_new
        };
        assert!(is_new(&mut retries, "stale epoch"));
        assert!(!is_new(&mut retries, "stale epoch"));
        assert!(!is_new(&mut retries, "stale epoch"));
        assert!(is_new(&mut retries, "no quorum"));
        assert!(!is_new(&mut retries, "no quorum"));
    }

    #[test]
    fn success_or_a_new_epoch_starts_afresh() {
        let mut retries = retries();
        let now = Instant::now();
        retries.refused("t", 0, 5, &"refused", now);
        retries.refused("t", 0, 5, &"refused", now);
        assert_eq!(retries.succeeded("t", 0), Some(2));
        assert_eq!(retries.succeeded("t", 0), None);
        assert_eq!(retries.may_retry("t", 0, 5, now), Some(0));

        retries.refused("t", 0, 5, &"refused", now);
        assert_eq!(retries.may_retry("t", 0, 5, now), None);
        assert_eq!(retries.may_retry("t", 0, 6, now), Some(0));
        assert_eq!(retries.next_retry(), None);
        assert!(retries.refused("t", 0, 6, &"refused", now).is_new);
    }

    #[test]
    fn partitions_wait_independently_and_unhosted_ones_are_forgotten() {
        let mut retries = retries();
        let now = Instant::now();
        retries.refused("t", 0, 1, &"refused", now);
        assert_eq!(retries.may_retry("t", 1, 1, now), Some(0));
        assert_eq!(retries.may_retry("u", 0, 1, now), Some(0));
        retries.retain(|topic, _| topic != "t");
        assert_eq!(retries.next_retry(), None);
        assert_eq!(retries.may_retry("t", 0, 1, now), Some(0));
    }
}
