//! Which windows a record's timestamp falls in, and when a window is closed to late records
//! (its end plus the grace period is at or before the stream time), as Kafka Streams decides.
//!
//! The arithmetic is done in i128, where no sum of two i64 or u64 values overflows; a window
//! whose bounds do not fit an i64 (a record stamped near the largest timestamp) is an error
//! for that record, which then goes to the processing log.

use crate::plan::{WindowSpec, MAX_WINDOWS_PER_RECORD};

use super::WindowBounds;

/// Why a record's windows could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error(
        "A window of {size} ms containing the record's timestamp {timestamp} would start or \
         end outside the range of timestamps ({min} to {max})",
        min = i64::MIN,
        max = i64::MAX
    )]
    OutOfRange { timestamp: i64, size: u64 },
    #[error(
        "A HOPPING window of SIZE {size} ms and ADVANCE BY {advance} ms puts a record in more \
         than {MAX_WINDOWS_PER_RECORD} windows"
    )]
    TooMany { size: u64, advance: u64 },
}

/// The windows containing `timestamp`, oldest first.
pub fn windows_for(spec: &WindowSpec, timestamp: i64) -> Result<Vec<WindowBounds>, WindowError> {
    let time = i128::from(timestamp);
    let bounds = |start: i128, size: u64| {
        let end = start + i128::from(size);
        match (i64::try_from(start), i64::try_from(end)) {
            (Ok(start), Ok(end)) => Ok(WindowBounds { start, end }),
            _ => Err(WindowError::OutOfRange { timestamp, size }),
        }
    };
    match *spec {
        WindowSpec::Tumbling { size, .. } => {
            let size = size.max(1);
            let start = time - time.rem_euclid(i128::from(size));
            Ok(vec![bounds(start, size)?])
        }
        WindowSpec::Hopping { size, advance, .. } => {
            // The planner refuses more windows than this; a spec from elsewhere is checked
            // again so the loop below stays bounded.
            if spec.windows_per_record() > MAX_WINDOWS_PER_RECORD {
                return Err(WindowError::TooMany { size, advance });
            }
            let step = i128::from(advance.max(1));
            let earliest = (time - i128::from(size) + step).max(0);
            let mut start = earliest - earliest.rem_euclid(step);
            let mut windows = Vec::new();
            while start <= time {
                if time < start + i128::from(size) {
                    windows.push(bounds(start, size)?);
                }
                start += step;
            }
            Ok(windows)
        }
        WindowSpec::Session { .. } => Ok(Vec::new()),
    }
}

/// Whether a record for `window` arriving at `stream_time` is too late.
pub fn is_closed(spec: &WindowSpec, window: &WindowBounds, stream_time: i64) -> bool {
    let grace = match *spec {
        WindowSpec::Tumbling { grace, .. }
        | WindowSpec::Hopping { grace, .. }
        | WindowSpec::Session { grace, .. } => grace,
    };
    let grace = i64::try_from(grace).unwrap_or(i64::MAX);
    window.end.saturating_add(grace) <= stream_time
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(start: i64, end: i64) -> WindowBounds {
        WindowBounds { start, end }
    }

    #[test]
    fn tumbling_windows_align_to_their_size() {
        let spec = WindowSpec::Tumbling {
            size: 30_000,
            grace: 0,
        };
        assert_eq!(
            windows_for(&spec, 89_999).unwrap(),
            vec![bounds(60_000, 90_000)]
        );
        assert_eq!(
            windows_for(&spec, 90_000).unwrap(),
            vec![bounds(90_000, 120_000)]
        );
        assert_eq!(windows_for(&spec, 0).unwrap(), vec![bounds(0, 30_000)]);
    }

    #[test]
    fn hopping_windows_overlap() {
        let spec = WindowSpec::Hopping {
            size: 30_000,
            advance: 10_000,
            grace: 0,
        };
        assert_eq!(
            windows_for(&spec, 25_000).unwrap(),
            vec![
                bounds(0, 30_000),
                bounds(10_000, 40_000),
                bounds(20_000, 50_000)
            ]
        );
        assert_eq!(windows_for(&spec, 5_000).unwrap(), vec![bounds(0, 30_000)]);
    }

    #[test]
    fn extreme_sizes_and_timestamps_neither_panic_nor_wrap() {
        let largest = i64::MAX as u64;
        let huge = WindowSpec::Tumbling {
            size: largest,
            grace: largest,
        };
        assert_eq!(windows_for(&huge, 0), Ok(vec![bounds(0, i64::MAX)]));
        assert_eq!(
            windows_for(&huge, 5),
            Ok(vec![bounds(0, i64::MAX)]),
            "the window starting at 0 holds every timestamp below i64::MAX"
        );
        assert_eq!(windows_for(&huge, -1), Ok(vec![bounds(-i64::MAX, 0)]));
        assert_eq!(
            windows_for(&huge, i64::MIN),
            Err(WindowError::OutOfRange {
                timestamp: i64::MIN,
                size: largest
            })
        );
        assert!(windows_for(&huge, i64::MAX).is_err());
        assert!(!is_closed(&huge, &bounds(0, i64::MAX), i64::MAX - 1));
        assert!(is_closed(&huge, &bounds(0, i64::MAX), i64::MAX));
        let ten_seconds = WindowSpec::Tumbling {
            size: 10_000,
            grace: 0,
        };
        assert!(matches!(
            windows_for(&ten_seconds, i64::MAX),
            Err(WindowError::OutOfRange { .. })
        ));
        assert!(matches!(
            windows_for(&ten_seconds, i64::MIN),
            Err(WindowError::OutOfRange { .. })
        ));
        assert_eq!(windows_for(&ten_seconds, -1), Ok(vec![bounds(-10_000, 0)]));
        let unbounded = WindowSpec::Tumbling {
            size: u64::MAX,
            grace: u64::MAX,
        };
        assert!(windows_for(&unbounded, 0).is_err());
        assert!(!is_closed(&unbounded, &bounds(0, 1), i64::MAX - 1));
    }

    #[test]
    fn hopping_windows_near_the_largest_timestamp() {
        let spec = WindowSpec::Hopping {
            size: 30_000,
            advance: 10_000,
            grace: 0,
        };
        assert!(matches!(
            windows_for(&spec, i64::MAX),
            Err(WindowError::OutOfRange { .. })
        ));
        assert_eq!(windows_for(&spec, i64::MIN), Ok(vec![]));
        let largest = i64::MAX as u64;
        let whole_range = WindowSpec::Hopping {
            size: largest,
            advance: largest,
            grace: 0,
        };
        assert_eq!(windows_for(&whole_range, 42), Ok(vec![bounds(0, i64::MAX)]));
        let too_many = WindowSpec::Hopping {
            size: 3_650 * 86_400_000,
            advance: 1,
            grace: 0,
        };
        assert!(matches!(
            windows_for(&too_many, 0),
            Err(WindowError::TooMany { .. })
        ));
    }

    #[test]
    fn late_records_miss_closed_windows() {
        let spec = WindowSpec::Tumbling { size: 10, grace: 5 };
        assert!(!is_closed(&spec, &bounds(0, 10), 14));
        assert!(is_closed(&spec, &bounds(0, 10), 15));
    }
}
