//! Limits password guessing: after a few failed sign-ins as one username within a minute,
//! further attempts are refused for a while without checking the password. Checks still
//! under way count against the limit too, so many guesses sent at once cannot slip past
//! it, while a script signing in correctly from several requests at once is never refused.
//! A successful sign-in clears the count. The table is bounded: when full, entries that no
//! longer matter go first, then the one closest to mattering no more.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failed attempts allowed per username within [`WINDOW`].
pub const LIMIT: u32 = 5;
/// The span failures are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long a username is refused once it reached [`LIMIT`].
pub const PENALTY: Duration = Duration::from_secs(60);
/// The most usernames tracked at once.
pub const CAPACITY: usize = 10_000;
/// How long to wait when the checks under way could still reach the limit.
const BUSY_WAIT: Duration = Duration::from_secs(1);
/// Usernames are tracked by at most this many characters, so a key's size is bounded.
const KEY_CHARS: usize = 128;

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: Instant,
    failures: u32,
    /// Checks begun and not yet finished.
    in_flight: u32,
    refused_until: Option<Instant>,
}

impl Entry {
    fn new(now: Instant) -> Entry {
        Entry {
            window_start: now,
            failures: 0,
            in_flight: 0,
            refused_until: None,
        }
    }

    /// When this entry stops affecting anything (if no check is under way).
    fn ends(&self, window: Duration) -> Instant {
        self.refused_until.unwrap_or(self.window_start + window)
    }

    /// Starts counting afresh once the refusal or the window is over.
    fn renew(&mut self, now: Instant, window: Duration) {
        let over = match self.refused_until {
            Some(until) => until <= now,
            None => now.duration_since(self.window_start) >= window,
        };
        if over {
            *self = Entry {
                in_flight: self.in_flight,
                ..Entry::new(now)
            };
        }
    }
}

#[derive(Debug)]
pub struct Throttle {
    entries: HashMap<String, Entry>,
    limit: u32,
    window: Duration,
    penalty: Duration,
    capacity: usize,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration, penalty: Duration, capacity: usize) -> Throttle {
        Throttle {
            entries: HashMap::new(),
            limit,
            window,
            penalty,
            capacity: capacity.max(1),
        }
    }

    /// Begins a password check for `username`, or refuses it with how long to wait. Every
    /// check begun must be [`finish`](Throttle::finish)ed.
    pub fn begin(&mut self, username: &str, now: Instant) -> Result<(), Duration> {
        let (limit, window) = (self.limit, self.window);
        let entry = self.entry(username, now);
        if let Some(until) = entry.refused_until.filter(|until| *until > now) {
            return Err(until - now);
        }
        entry.renew(now, window);
        if entry.failures > 0 && entry.failures + entry.in_flight >= limit {
            return Err(BUSY_WAIT);
        }
        entry.in_flight += 1;
        Ok(())
    }

    /// Ends a check begun for `username`: a success clears its count, a failure adds to it
    /// and, at the limit, refuses the username for a while.
    pub fn finish(&mut self, username: &str, succeeded: bool, now: Instant) {
        if succeeded {
            self.entries.remove(&key(username));
            return;
        }
        let (limit, window, penalty) = (self.limit, self.window, self.penalty);
        let entry = self.entry(username, now);
        entry.in_flight = entry.in_flight.saturating_sub(1);
        entry.renew(now, window);
        entry.failures += 1;
        if entry.failures >= limit && entry.refused_until.is_none() {
            entry.refused_until = Some(now + penalty);
        }
    }

    fn entry(&mut self, username: &str, now: Instant) -> &mut Entry {
        let key = key(username);
        if !self.entries.contains_key(&key) {
            self.make_room(now);
        }
        self.entries.entry(key).or_insert_with(|| Entry::new(now))
    }

    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < self.capacity {
            return;
        }
        let window = self.window;
        self.entries
            .retain(|_, entry| entry.in_flight > 0 || entry.ends(window) > now);
        while self.entries.len() >= self.capacity {
            let first_to_end = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| (entry.refused_until.is_some(), entry.ends(window)))
                .map(|(key, _)| key.clone());
            match first_to_end {
                Some(key) => self.entries.remove(&key),
                None => break,
            };
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.entries.len()
    }
}

fn key(username: &str) -> String {
    username.chars().take(KEY_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(capacity: usize) -> Throttle {
        Throttle::new(LIMIT, WINDOW, PENALTY, capacity)
    }

    /// A check of `username` at `now` that fails.
    fn fail(throttle: &mut Throttle, username: &str, now: Instant) -> Result<(), Duration> {
        throttle.begin(username, now)?;
        throttle.finish(username, false, now);
        Ok(())
    }

    #[test]
    fn five_failures_a_minute_then_a_minute_of_refusals() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut throttle = throttle(100);
        for s in 0..5 {
            assert_eq!(fail(&mut throttle, "ann", at(s)), Ok(()));
        }
        assert_eq!(throttle.begin("ann", at(4)), Err(Duration::from_secs(60)));
        assert_eq!(throttle.begin("ann", at(34)), Err(Duration::from_secs(30)));
        assert_eq!(
            fail(&mut throttle, "bob", at(34)),
            Ok(()),
            "other users are not affected"
        );
        assert_eq!(throttle.begin("ann", at(64)), Ok(()), "the refusal is over");
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_are_not_refused() {
        let start = Instant::now();
        let mut throttle = throttle(100);
        for s in 0..20 {
            let now = start + Duration::from_secs(s * 15);
            assert_eq!(
                fail(&mut throttle, "ann", now),
                Ok(()),
                "attempt at {}s",
                s * 15
            );
        }
    }

    #[test]
    fn signing_in_clears_the_count() {
        let now = Instant::now();
        let mut throttle = throttle(100);
        for _ in 0..4 {
            fail(&mut throttle, "ann", now).unwrap();
        }
        throttle.begin("ann", now).unwrap();
        throttle.finish("ann", true, now);
        for _ in 0..5 {
            assert_eq!(fail(&mut throttle, "ann", now), Ok(()));
        }
        assert!(throttle.begin("ann", now).is_err());
    }

    #[test]
    fn guesses_sent_at_once_cannot_pass_the_limit() {
        let now = Instant::now();
        let mut throttle = throttle(100);
        fail(&mut throttle, "ann", now).unwrap();
        let begun = (0..10)
            .filter(|_| throttle.begin("ann", now).is_ok())
            .count();
        assert_eq!(begun, 4, "one failure and four checks under way make five");
        assert_eq!(throttle.begin("ann", now), Err(BUSY_WAIT));
        for _ in 0..4 {
            throttle.finish("ann", false, now);
        }
        assert_eq!(throttle.begin("ann", now), Err(PENALTY));
    }

    #[test]
    fn correct_sign_ins_at_once_are_never_refused() {
        let now = Instant::now();
        let mut throttle = throttle(100);
        for _ in 0..50 {
            assert_eq!(throttle.begin("script", now), Ok(()));
        }
        for _ in 0..50 {
            throttle.finish("script", true, now);
        }
        assert_eq!(throttle.tracked(), 0);
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_refused_users_longest() {
        let start = Instant::now();
        let mut throttle = throttle(3);
        for _ in 0..5 {
            fail(&mut throttle, "target", start).unwrap();
        }
        for (i, name) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            fail(&mut throttle, name, start + Duration::from_secs(i as u64)).unwrap();
            assert!(throttle.tracked() <= 3);
        }
        assert!(
            throttle
                .begin("target", start + Duration::from_secs(10))
                .is_err(),
            "a flood of other names does not lift a refusal"
        );
        fail(&mut throttle, "f", start + Duration::from_secs(500)).unwrap();
        assert_eq!(
            throttle.tracked(),
            1,
            "entries that no longer matter are dropped"
        );
    }

    #[test]
    fn long_usernames_are_tracked_by_their_start() {
        let now = Instant::now();
        let mut throttle = throttle(100);
        let long = "x".repeat(10_000);
        for i in 0..5 {
            fail(&mut throttle, &format!("{long}{i}"), now).unwrap();
        }
        assert!(throttle.begin(&long, now).is_err());
    }
}
