//! How long to wait before retrying a remote call: exponential backoff with jitter, as
//! Kafka's clients do since KIP-580 (`retry.backoff.ms` doubling up to
//! `retry.backoff.max.ms`). Every loop that retries a call to another process (a broker,
//! the metadata quorum) waits with one of these, so a refused or failing call is not
//! repeated every few milliseconds, and many waiters do not retry in step.

use std::time::Duration;

use rand::Rng;

/// Kafka's default `retry.backoff.ms`: the first pause before a retry.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Kafka's default `retry.backoff.max.ms`: the longest pause between retries.
pub const DEFAULT_RETRY_BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Each failed attempt doubles the pause, as Kafka's `ExponentialBackoff` does.
const MULTIPLIER: u32 = 2;

/// The pauses between attempts of one retried call. The n-th pause (from 0) is drawn from
/// `[ceiling / 2, ceiling]` with `ceiling = min(initial * 2^n, max)` ("equal jitter"): it
/// grows like the ceiling but retriers that failed together spread out.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// Failed attempts since the last success.
    attempts: u32,
}

impl Backoff {
    /// Pauses from `initial` doubling up to `max` (`max` below `initial` is raised to it).
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            attempts: 0,
        }
    }

    /// `retry.backoff.ms` and `retry.backoff.max.ms` from their values in milliseconds.
    pub fn from_millis(initial_ms: u64, max_ms: u64) -> Backoff {
        Backoff::new(
            Duration::from_millis(initial_ms),
            Duration::from_millis(max_ms),
        )
    }

    /// The pause to take before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(&mut rand::rng())
    }

    /// [`Backoff::next_delay`] drawing the jitter from `rng` (seeded in tests).
    pub fn next_delay_with(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling();
        self.attempts = self.attempts.saturating_add(1);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_nanos() as u64;
        half + Duration::from_nanos(rng.random_range(0..=spread))
    }

    /// The longest the next pause can be: `initial * 2^attempts`, capped at `max`.
    pub fn ceiling(&self) -> Duration {
        MULTIPLIER
            .checked_pow(self.attempts)
            .and_then(|factor| self.initial.checked_mul(factor))
            .map_or(self.max, |delay| delay.min(self.max))
    }

    /// Starts again from `initial`, after a success.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// Failed attempts since the last success (or since it was made).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl Default for Backoff {
    /// Kafka's defaults: 100 ms doubling up to 1 s.
    fn default() -> Backoff {
        Backoff::new(DEFAULT_RETRY_BACKOFF, DEFAULT_RETRY_BACKOFF_MAX)
    }
}

/// The last failure of a retried call, so that each distinct failure is logged once
/// instead of on every attempt.
#[derive(Debug, Default)]
pub struct DistinctFailures {
    last: Option<String>,
}

impl DistinctFailures {
    /// True when `failure` differs from the previous one (log it), false for a repeat.
    pub fn is_new(&mut self, failure: &impl std::fmt::Display) -> bool {
        let text = failure.to_string();
        if self.last.as_ref() == Some(&text) {
            return false;
        }
        self.last = Some(text);
        true
    }

    /// Forgets the failure after a success; true when there was one (log the recovery).
    pub fn clear(&mut self) -> bool {
        self.last.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn ceilings_double_from_initial_up_to_max() {
        let mut backoff = Backoff::new(ms(100), ms(1000));
        let mut ceilings = Vec::new();
        for _ in 0..7 {
            ceilings.push(backoff.ceiling());
            backoff.next_delay();
        }
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1000, 1000, 1000].map(ms).to_vec()
        );
        assert_eq!(backoff.attempts(), 7);
    }

    #[test]
    fn every_delay_stays_between_half_its_ceiling_and_its_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(ms(100), ms(60_000));
        for _ in 0..1000 {
            let ceiling = backoff.ceiling();
            let delay = backoff.next_delay_with(&mut rng);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} {ceiling:?}"
            );
        }
    }

    #[test]
    fn delays_grow_until_the_cap_and_never_pass_it() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut backoff = Backoff::new(ms(100), ms(1000));
        let delays: Vec<Duration> = (0..50).map(|_| backoff.next_delay_with(&mut rng)).collect();
        // Below the cap a pause is at least half its ceiling, the previous pause's ceiling.
        for pair in delays[..4].windows(2) {
            assert!(pair[1] >= pair[0], "{delays:?}");
        }
        assert!(delays[4..].iter().all(|d| *d >= ms(500) && *d <= ms(1000)));
    }

    #[test]
    fn jitter_spreads_retriers_that_failed_together() {
        let mut rng = StdRng::seed_from_u64(3);
        let distinct: std::collections::BTreeSet<Duration> = (0..20)
            .map(|_| Backoff::new(ms(1000), ms(1000)).next_delay_with(&mut rng))
            .collect();
        assert!(distinct.len() > 10, "{distinct:?}");
    }

    #[test]
    fn reset_starts_again_from_initial() {
        let mut backoff = Backoff::default();
        for _ in 0..10 {
            backoff.next_delay();
        }
        assert_eq!(backoff.ceiling(), DEFAULT_RETRY_BACKOFF_MAX);
        backoff.reset();
        assert_eq!(backoff.attempts(), 0);
        assert_eq!(backoff.ceiling(), DEFAULT_RETRY_BACKOFF);
        assert!(backoff.next_delay() <= DEFAULT_RETRY_BACKOFF);
    }

    #[test]
    fn many_failures_neither_overflow_nor_pass_the_cap() {
        let mut backoff = Backoff::new(ms(1), Duration::from_secs(3600));
        for _ in 0..10_000 {
            assert!(backoff.next_delay() <= Duration::from_secs(3600));
        }
        assert_eq!(backoff.ceiling(), Duration::from_secs(3600));
    }

    #[test]
    fn a_failure_is_new_once_until_another_or_a_success() {
        let mut failures = DistinctFailures::default();
        assert!(!failures.clear());
        assert!(failures.is_new(&"refused: stale epoch"));
        assert!(!failures.is_new(&"refused: stale epoch"));
        assert!(failures.is_new(&"timed out"));
        assert!(failures.is_new(&"refused: stale epoch"));
        assert!(failures.clear());
        assert!(failures.is_new(&"refused: stale epoch"));
    }

    #[test]
    fn a_max_below_initial_is_raised_to_it() {
        let mut backoff = Backoff::from_millis(500, 100);
        assert_eq!(backoff.ceiling(), ms(500));
        backoff.next_delay();
        assert_eq!(backoff.ceiling(), ms(500));
    }
}
