//! Why the broker refuses or closes a connection, counted by reason in
//! `potok_connections_refused_total` and logged without letting a flood of connections
//! flood the log.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::metrics::Metrics;

/// At most one warning per reason in this interval; the rest go to debug and the metric.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Why the broker refused or closed a connection, the `reason` label of
/// `potok_connections_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// `max.connections` connections were open.
    MaxConnections,
    /// `max.connections.per.ip` connections were open from the client's address.
    MaxConnectionsPerIp,
    /// Nothing sent or read for `connections.max.idle.ms`.
    Idle,
    /// A frame larger than `socket.request.max.bytes` or `queued.max.request.bytes`.
    FrameTooLarge,
    /// A frame holding pool memory got no bytes for `connection::STALLED_REQUEST_TIMEOUT`.
    StalledRequest,
}

impl CloseReason {
    pub const ALL: [CloseReason; 5] = [
        CloseReason::MaxConnections,
        CloseReason::MaxConnectionsPerIp,
        CloseReason::Idle,
        CloseReason::FrameTooLarge,
        CloseReason::StalledRequest,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CloseReason::MaxConnections => "max_connections",
            CloseReason::MaxConnectionsPerIp => "max_connections_per_ip",
            CloseReason::Idle => "idle",
            CloseReason::FrameTooLarge => "frame_too_large",
            CloseReason::StalledRequest => "stalled_request",
        }
    }
}

/// Counts a refused or closed connection and logs it: idle connections at debug, since
/// closing them is routine; the others as a warning, at most one per reason every
/// `WARNING_INTERVAL`, so a flood of connections cannot flood the log.
pub fn report_close(metrics: &Metrics, reason: CloseReason, peer: SocketAddr, detail: &str) {
    metrics
        .connections_refused
        .with_label_values(&[reason.label()])
        .inc();
    if reason == CloseReason::Idle {
        tracing::debug!(%peer, "closing connection: {detail}");
        return;
    }
    warn_throttled(&WARNINGS[reason as usize], peer, reason.label(), detail);
}

/// Logs a warning through `throttle`: at debug level when it holds the warning back.
fn warn_throttled(throttle: &WarningThrottle, peer: SocketAddr, reason: &str, detail: &str) {
    match throttle.admit(Instant::now()) {
        Some(0) => tracing::warn!(%peer, reason, "closing connection: {detail}"),
        Some(held_back) => tracing::warn!(
            %peer,
            reason,
            "closing connection: {detail} ({held_back} more since the last warning)"
        ),
        None => tracing::debug!(%peer, reason, "closing connection: {detail}"),
    }
}

/// Closes for a frame that is not a request, or ends early; logged like the others, since
/// clients can send such frames as fast as they connect.
pub(super) fn report_broken_frame(peer: SocketAddr, detail: &str) {
    warn_throttled(&BROKEN_FRAME_WARNINGS, peer, "broken_frame", detail);
}

static WARNINGS: [WarningThrottle; 5] = [const { WarningThrottle::new() }; 5];
static BROKEN_FRAME_WARNINGS: WarningThrottle = WarningThrottle::new();

/// Lets one warning through per `WARNING_INTERVAL` and counts the ones it holds back.
struct WarningThrottle {
    last: Mutex<Option<Instant>>,
    held_back: AtomicU64,
}

impl WarningThrottle {
    const fn new() -> Self {
        WarningThrottle {
            last: Mutex::new(None),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(warnings held back since the last one)` when this one may be logged.
    fn admit(&self, now: Instant) -> Option<u64> {
        let mut last = self.last.lock().expect("warning throttle lock");
        if last.is_some_and(|last| now.duration_since(last) < WARNING_INTERVAL) {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.held_back.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_throttled_per_interval() {
        let throttle = WarningThrottle::new();
        let start = Instant::now();
        assert_eq!(throttle.admit(start), Some(0));
        assert_eq!(throttle.admit(start + Duration::from_secs(1)), None);
        assert_eq!(throttle.admit(start + Duration::from_secs(2)), None);
        assert_eq!(throttle.admit(start + WARNING_INTERVAL), Some(2));
    }
}
