//! The last hour of a cluster's figures, one point per scrape: byte and request rates,
//! the produce latency's 99th percentile, and what the scrape itself saw (servers up, the
//! quorum's leader). Rates come from the difference of two scrapes' counters; a counter that
//! went down (a server restarted) gives no point rather than a negative rate.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::exposition::Sample;

/// One point of a series: milliseconds since the epoch, and the value.
pub type Point = (i64, f64);

/// A chart's data.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub points: VecDeque<Point>,
}

/// The counters of one scrape, summed over every server that answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub at_ms: i64,
    pub bytes_in: f64,
    pub bytes_out: f64,
    pub requests: f64,
    /// Produce requests' duration histogram: cumulative count per upper bound (seconds).
    pub produce_buckets: BTreeMap<OrderedBound, f64>,
}

/// A histogram bucket's upper bound, ordered (`+Inf` last).
#[derive(Debug, Clone, Copy)]
pub struct OrderedBound(pub f64);

impl PartialEq for OrderedBound {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for OrderedBound {}

impl PartialOrd for OrderedBound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedBound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Totals {
    /// Sums the samples of every answering server.
    pub fn from_samples(at_ms: i64, servers: &[Vec<Sample>]) -> Totals {
        let mut totals = Totals {
            at_ms,
            ..Totals::default()
        };
        for sample in servers.iter().flatten() {
            match sample.name.as_str() {
                "potok_bytes_in_total" => totals.bytes_in += sample.value,
                "potok_bytes_out_total" => totals.bytes_out += sample.value,
                "potok_requests_total" => totals.requests += sample.value,
                "potok_request_duration_seconds_bucket"
                    if sample.label("api") == Some("Produce") =>
                {
                    let bound = match sample.label("le") {
                        Some("+Inf") => f64::INFINITY,
                        Some(le) => match le.parse() {
                            Ok(bound) => bound,
                            Err(_) => continue,
                        },
                        None => continue,
                    };
                    *totals
                        .produce_buckets
                        .entry(OrderedBound(bound))
                        .or_default() += sample.value;
                }
                _ => {}
            }
        }
        totals
    }
}

/// The charts of one cluster, bounded to `capacity` points each.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub interval_seconds: u64,
    pub series: Vec<Series>,
    /// Servers whose `/metrics` answered at the last scrape, of all configured.
    pub servers_up: usize,
    pub servers: usize,
    /// The quorum's leader as the coordinators report it (`potok_quorum_leader_id`).
    pub quorum_leader: Option<i64>,
    /// Coordinators whose `/metrics` answered the last scrape.
    pub coordinators_up: usize,
    /// Why the last scrape missed a server, in the user's terms.
    pub last_error: Option<String>,
    #[serde(skip)]
    capacity: usize,
    #[serde(skip)]
    previous: Option<Totals>,
}

impl History {
    pub fn new(interval_seconds: u64, servers: usize) -> History {
        let series = |name, title, unit| Series {
            name,
            title,
            unit,
            points: VecDeque::new(),
        };
        History {
            interval_seconds,
            series: vec![
                series("bytes_in", "Bytes in per second", "B/s"),
                series("bytes_out", "Bytes out per second", "B/s"),
                series("requests", "Requests per second", "req/s"),
                series("produce_p99", "Produce latency, 99th percentile", "ms"),
                series("consumer_lag", "Consumer lag, all groups", "records"),
            ],
            servers_up: 0,
            servers,
            quorum_leader: None,
            coordinators_up: 0,
            last_error: None,
            capacity: (3600 / interval_seconds.max(1)) as usize,
            previous: None,
        }
    }

    /// Adds a scrape's totals; rates need the scrape before it.
    pub fn record(&mut self, totals: Totals) {
        if let Some(previous) = self.previous.replace(totals.clone()) {
            let seconds = (totals.at_ms - previous.at_ms) as f64 / 1000.0;
            if seconds > 0.0 {
                let rate =
                    |now: f64, before: f64| (now >= before).then(|| (now - before) / seconds);
                let at = totals.at_ms;
                if let Some(v) = rate(totals.bytes_in, previous.bytes_in) {
                    self.push("bytes_in", (at, v));
                }
                if let Some(v) = rate(totals.bytes_out, previous.bytes_out) {
                    self.push("bytes_out", (at, v));
                }
                if let Some(v) = rate(totals.requests, previous.requests) {
                    self.push("requests", (at, v));
                }
                if let Some(p99) =
                    percentile(&previous.produce_buckets, &totals.produce_buckets, 0.99)
                {
                    self.push("produce_p99", (at, p99 * 1000.0));
                }
            }
        }
    }

    /// Adds a point to the series named `name`, dropping the oldest past the hour.
    pub fn push(&mut self, name: &str, point: Point) {
        let capacity = self.capacity;
        if let Some(series) = self.series.iter_mut().find(|s| s.name == name) {
            series.points.push_back(point);
            while series.points.len() > capacity {
                series.points.pop_front();
            }
        }
    }

    /// The latest value of a series.
    pub fn latest(&self, name: &str) -> Option<f64> {
        self.series
            .iter()
            .find(|s| s.name == name)?
            .points
            .back()
            .map(|(_, v)| *v)
    }
}

/// The upper bound of the bucket holding the `quantile` of the requests between two
/// scrapes of a cumulative histogram; `None` when there were none.
fn percentile(
    before: &BTreeMap<OrderedBound, f64>,
    now: &BTreeMap<OrderedBound, f64>,
    quantile: f64,
) -> Option<f64> {
    let delta = |bound: &OrderedBound| {
        now.get(bound).copied().unwrap_or(0.0) - before.get(bound).copied().unwrap_or(0.0)
    };
    let total = now.keys().last().map(delta)?;
    if total <= 0.0 {
        return None;
    }
    now.keys()
        .find(|bound| delta(bound) >= quantile * total)
        .map(|bound| bound.0)
        .filter(|bound| bound.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::parse;

    fn scrape(at_ms: i64, bytes_in: u64, fast: u64, slow: u64) -> Totals {
        let text = format!(
            "potok_bytes_in_total {bytes_in}\npotok_request_duration_seconds_bucket{{api=\"Produce\",le=\"0.001\"}} {fast}\npotok_request_duration_seconds_bucket{{api=\"Produce\",le=\"0.01\"}} {}\npotok_request_duration_seconds_bucket{{api=\"Produce\",le=\"+Inf\"}} {}\n",
            fast + slow,
            fast + slow
        );
        Totals::from_samples(at_ms, &[parse(&text), parse(&text)])
    }

    #[test]
    fn rates_and_percentiles_come_from_two_scrapes() {
        let mut history = History::new(10, 2);
        history.record(scrape(0, 1000, 0, 0));
        assert_eq!(history.latest("bytes_in"), None);
        history.record(scrape(10_000, 6000, 990, 0));
        // Two servers, each 5000 bytes more, over 10 s.
        assert_eq!(history.latest("bytes_in"), Some(1000.0));
        assert_eq!(history.latest("produce_p99"), Some(1.0));
        history.record(scrape(20_000, 7000, 990, 100));
        assert_eq!(history.latest("produce_p99"), Some(10.0));
    }

    #[test]
    fn a_restarted_server_gives_no_negative_rate_and_an_hour_is_kept() {
        let mut history = History::new(1800, 1);
        history.record(scrape(0, 5000, 0, 0));
        history.record(scrape(1_000, 10, 0, 0));
        assert_eq!(history.latest("bytes_in"), None);
        for i in 0..5 {
            history.push("bytes_in", (i, i as f64));
        }
        assert_eq!(history.series[0].points.len(), 2);
    }
}
