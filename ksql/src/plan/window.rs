//! WINDOW and WITHIN clauses into milliseconds, checked: every duration fits the i64
//! milliseconds of event time, and a hopping window gives a record a bounded number of
//! windows, so what the engine computes per record stays small and cannot overflow.

use crate::parser::ast::{Duration, Window, MAX_DURATION_MS};

use super::{PlanError, WindowSpec};

/// Kafka Streams' default window retention, from which the default grace period derives.
const DEFAULT_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// The most windows a HOPPING window may put one record in (`SIZE` / `ADVANCE BY`, rounded
/// up). Each is an aggregate updated and a row emitted per input record. Kafka Streams has no
/// such limit; Potok sets one so a query like `SIZE 3650 DAYS, ADVANCE BY 1 MILLISECOND`
/// (315 billion windows per record) is refused when it is created instead of stalling.
/// 5,000 allows a day by the minute (1,440) or an hour by the second (3,600).
pub const MAX_WINDOWS_PER_RECORD: u64 = 5_000;

/// `duration` in milliseconds, or why it cannot be used as `what` (`Window size`, ...).
pub(super) fn duration_ms(duration: &Duration, what: &str) -> Result<u64, PlanError> {
    duration.millis().ok_or_else(|| {
        PlanError(format!(
            "{what} {duration} is too large: durations may be at most {MAX_DURATION_MS} \
             milliseconds (about 292 million years)."
        ))
    })
}

/// The WINDOW clause of an aggregation, checked.
pub(super) fn window_spec(window: &Window) -> Result<WindowSpec, PlanError> {
    let default_grace = |size: u64| DEFAULT_RETENTION_MS.saturating_sub(size);
    let grace_ms = |grace: &Option<Duration>, size: u64| match grace {
        Some(grace) => duration_ms(grace, "Grace period"),
        None => Ok(default_grace(size)),
    };
    Ok(match window {
        Window::Tumbling { size, grace, .. } => {
            let size = duration_ms(size, "Window size")?;
            if size == 0 {
                return Err(PlanError("Window size must be greater than zero.".into()));
            }
            WindowSpec::Tumbling {
                size,
                grace: grace_ms(grace, size)?,
            }
        }
        Window::Hopping {
            size,
            advance,
            grace,
            ..
        } => {
            let size = duration_ms(size, "Window size")?;
            let advance = duration_ms(advance, "Window advance")?;
            if advance == 0 || advance > size {
                return Err(PlanError(format!(
                    "Window advance ({advance} ms) must be greater than zero and at most the window size ({size} ms)."
                )));
            }
            let spec = WindowSpec::Hopping {
                size,
                advance,
                grace: grace_ms(grace, size)?,
            };
            let windows = spec.windows_per_record();
            if windows > MAX_WINDOWS_PER_RECORD {
                return Err(PlanError(format!(
                    "A HOPPING window of SIZE {size} ms and ADVANCE BY {advance} ms would put each \
                     record in {windows} windows; at most {MAX_WINDOWS_PER_RECORD} windows per \
                     record are allowed. Use a larger ADVANCE BY or a smaller SIZE."
                )));
            }
            spec
        }
        Window::Session { .. } => {
            return Err(PlanError("SESSION windows are not supported yet.".into()));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::ast::TimeUnit;

    fn duration(value: u64, unit: TimeUnit) -> Duration {
        Duration { value, unit }
    }

    fn hopping(size: Duration, advance: Duration) -> Window {
        Window::Hopping {
            size,
            advance,
            retention: None,
            grace: None,
        }
    }

    #[test]
    fn hopping_windows_per_record_are_limited() {
        let refused = window_spec(&hopping(
            duration(3650, TimeUnit::Days),
            duration(1, TimeUnit::Milliseconds),
        ))
        .unwrap_err();
        assert!(
            refused
                .0
                .contains("would put each record in 315360000000 windows; at most 5000"),
            "{refused}"
        );
        let day_by_minute = window_spec(&hopping(
            duration(1, TimeUnit::Days),
            duration(1, TimeUnit::Minutes),
        ))
        .unwrap();
        assert_eq!(day_by_minute.windows_per_record(), 1440);
        let at_limit = window_spec(&hopping(
            duration(5000, TimeUnit::Seconds),
            duration(1, TimeUnit::Seconds),
        ));
        assert!(at_limit.is_ok());
        let over_limit = window_spec(&hopping(
            duration(5001, TimeUnit::Milliseconds),
            duration(1, TimeUnit::Milliseconds),
        ));
        assert!(over_limit.is_err());
    }

    #[test]
    fn durations_past_i64_milliseconds_are_refused() {
        let tumbling = |size: Duration, grace: Option<Duration>| Window::Tumbling {
            size,
            retention: None,
            grace,
        };
        let huge = window_spec(&tumbling(duration(u64::MAX, TimeUnit::Days), None)).unwrap_err();
        assert_eq!(
            huge.0,
            format!(
                "Window size {} DAYS is too large: durations may be at most \
                 9223372036854775807 milliseconds (about 292 million years).",
                u64::MAX
            )
        );
        let largest = duration(i64::MAX as u64, TimeUnit::Milliseconds);
        assert_eq!(
            window_spec(&tumbling(largest, None)),
            Ok(WindowSpec::Tumbling {
                size: i64::MAX as u64,
                grace: 0
            })
        );
        let days = MAX_DURATION_MS / TimeUnit::Days.millis();
        assert!(window_spec(&tumbling(duration(days, TimeUnit::Days), None)).is_ok());
        assert!(window_spec(&tumbling(duration(days + 1, TimeUnit::Days), None)).is_err());
        let grace = Some(duration(u64::MAX / 2, TimeUnit::Hours));
        let refused = window_spec(&tumbling(duration(1, TimeUnit::Seconds), grace)).unwrap_err();
        assert!(refused.0.starts_with("Grace period"), "{refused}");
    }
}
