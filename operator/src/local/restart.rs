//! When a node that exited is started again, as Kubernetes' CrashLoopBackOff decides for a
//! pod: after a pause that doubles with each failure in a row, up to a cap, and from the
//! first pause again once the node has stayed up long enough to count as healthy. A node
//! that keeps failing is retried ever more slowly, never given up on, and never takes the
//! rest of the cluster down with it. The pauses have no jitter: one process restarts one
//! node, and the user reads the delays in the output.

use std::time::{Duration, Instant};

/// The first pause before restarting a node.
pub const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
/// The default longest pause (`potok-operator up --max-restart-delay`).
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);
/// A node that ran this long before exiting was healthy: its restart pause starts over.
pub const STABLE_UPTIME: Duration = Duration::from_secs(120);

/// One node's restart pauses, from the history of its exits.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    first_delay: Duration,
    max_delay: Duration,
    stable_uptime: Duration,
    /// Exits in a row, each soon after its start.
    failures_in_a_row: u32,
}

impl RestartPolicy {
    pub fn new(first_delay: Duration, max_delay: Duration, stable_uptime: Duration) -> Self {
        RestartPolicy {
            first_delay,
            max_delay: max_delay.max(first_delay),
            stable_uptime,
            failures_in_a_row: 0,
        }
    }

    /// The node started at `started` exited (or failed to start) at `exited`: how long to
    /// wait before starting it again.
    pub fn next_delay(&mut self, started: Instant, exited: Instant) -> Duration {
        if exited.saturating_duration_since(started) >= self.stable_uptime {
            self.failures_in_a_row = 0;
        }
        let delay = 2u32
            .checked_pow(self.failures_in_a_row)
            .and_then(|factor| self.first_delay.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay));
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        delay
    }

    /// Exits in a row, the last one included.
    pub fn failures_in_a_row(&self) -> u32 {
        self.failures_in_a_row
    }
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy::new(FIRST_RESTART_DELAY, MAX_RESTART_DELAY, STABLE_UPTIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Replays exits after the given uptimes (in seconds), each restart on time, on a clock
    /// of our own; answers the pauses chosen.
    fn delays_for(policy: &mut RestartPolicy, uptimes: &[u64]) -> Vec<u64> {
        let mut now = Instant::now();
        uptimes
            .iter()
            .map(|uptime| {
                let started = now;
                now += secs(*uptime);
                let delay = policy.next_delay(started, now);
                now += delay;
                delay.as_secs()
            })
            .collect()
    }

    #[test]
    fn a_node_that_keeps_failing_waits_twice_as_long_each_time_up_to_a_minute() {
        let mut policy = RestartPolicy::default();
        assert_eq!(
            delays_for(&mut policy, &[0, 1, 0, 5, 2, 0, 3, 1, 0, 0]),
            [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
        );
        assert_eq!(policy.failures_in_a_row(), 10);
    }

    #[test]
    fn staying_up_for_a_while_starts_the_pauses_over() {
        let mut policy = RestartPolicy::default();
        assert_eq!(delays_for(&mut policy, &[0, 0, 0, 0]), [1, 2, 4, 8]);
        assert_eq!(delays_for(&mut policy, &[119]), [16]);
        assert_eq!(delays_for(&mut policy, &[120, 3, 600, 0]), [1, 2, 1, 2]);
        assert_eq!(policy.failures_in_a_row(), 2);
    }

    #[test]
    fn the_cap_can_be_lowered_and_never_overflows() {
        let mut policy = RestartPolicy::new(secs(1), secs(4), STABLE_UPTIME);
        assert_eq!(
            delays_for(&mut policy, &[0, 0, 0, 0, 0, 0]),
            [1, 2, 4, 4, 4, 4]
        );
        let mut policy = RestartPolicy::new(secs(1), secs(3600), STABLE_UPTIME);
        let delays = delays_for(&mut policy, &[0; 100]);
        assert_eq!(delays[99], 3600);
    }

    #[test]
    fn a_cap_below_the_first_pause_is_raised_to_it() {
        let mut policy = RestartPolicy::new(secs(2), secs(1), STABLE_UPTIME);
        assert_eq!(delays_for(&mut policy, &[0, 0]), [2, 2]);
    }

    #[test]
    fn a_clock_that_went_backwards_counts_as_no_uptime() {
        let mut policy = RestartPolicy::default();
        let now = Instant::now();
        assert_eq!(policy.next_delay(now + secs(500), now), secs(1));
        assert_eq!(policy.next_delay(now + secs(500), now), secs(2));
    }
}
