//! The time arguments of `kafka-consumer-groups --reset-offsets`: `--to-datetime` in
//! Kafka's `yyyy-MM-ddTHH:mm:SS.sss` form (local time unless a zone follows) and
//! `--by-duration` as an ISO-8601 duration `PnDTnHnMnS`.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};

/// Milliseconds since the epoch for a datetime such as `2024-01-31T12:00:00.000`,
/// `2024-01-31T12:00:00Z` or `2024-01-31T12:00:00.000+01:00`.
pub fn parse_datetime(text: &str) -> Result<i64, String> {
    let error = || {
        format!(
            "Error parsing datetime '{text}': expected the format 'yyyy-MM-ddTHH:mm:SS.sss', optionally followed by a zone such as Z or +01:00"
        )
    };
    if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
        return Ok(zoned.timestamp_millis());
    }
    if let Ok(zoned) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(zoned.timestamp_millis());
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| error())?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(error)
}

/// Milliseconds in an ISO-8601 duration of days, hours, minutes and seconds (`P1DT2H`,
/// `PT30M`, `PT0.5S`).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let error = || format!("Error parsing duration '{text}': expected the format 'PnDTnHnMnS'");
    let rest = text
        .strip_prefix('P')
        .or_else(|| text.strip_prefix('p'))
        .ok_or_else(error)?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((date, time)) if !time.is_empty() => (date, time),
        Some(_) => return Err(error()),
        None => (rest, ""),
    };
    if date.is_empty() && time.is_empty() {
        return Err(error());
    }
    let mut millis = 0f64;
    for (part, units) in [
        (date, &[('D', 86_400_000f64)][..]),
        (
            time,
            &[('H', 3_600_000f64), ('M', 60_000f64), ('S', 1_000f64)][..],
        ),
    ] {
        let mut remaining = part;
        let mut next_unit = 0;
        while !remaining.is_empty() {
            let end = remaining
                .find(|c: char| c.is_ascii_alphabetic())
                .ok_or_else(error)?;
            let value: f64 = remaining[..end].parse().map_err(|_| error())?;
            let unit = remaining[end..]
                .chars()
                .next()
                .map(|c| c.to_ascii_uppercase());
            let position = units[next_unit..]
                .iter()
                .position(|(u, _)| Some(*u) == unit)
                .ok_or_else(error)?;
            let (_, scale) = units[next_unit + position];
            if value < 0.0 || (value.fract() != 0.0 && unit != Some('S')) {
                return Err(error());
            }
            millis += value * scale;
            next_unit += position + 1;
            remaining = &remaining[end + 1..];
        }
    }
    if millis > i64::MAX as f64 {
        return Err(error());
    }
    Ok(millis as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_with_and_without_zones() {
        assert_eq!(
            parse_datetime("2024-01-31T12:00:00.000Z"),
            Ok(1_706_702_400_000)
        );
        assert_eq!(
            parse_datetime("2024-01-31T13:00:00.000+01:00"),
            Ok(1_706_702_400_000)
        );
        assert_eq!(
            parse_datetime("2024-01-31T13:00:00+0100"),
            Ok(1_706_702_400_000)
        );
        let local = parse_datetime("2024-01-31T12:00:00.000").unwrap();
        assert!((local - 1_706_702_400_000).abs() <= 14 * 3_600_000);
        assert!(parse_datetime("31/01/2024")
            .unwrap_err()
            .contains("yyyy-MM-dd"));
        assert!(parse_datetime("2024-13-01T00:00:00").is_err());
    }

    #[test]
    fn durations_in_iso_8601() {
        assert_eq!(parse_duration("PT30M"), Ok(1_800_000));
        assert_eq!(parse_duration("P1DT2H3M4.5S"), Ok(93_784_500));
        assert_eq!(parse_duration("P2D"), Ok(172_800_000));
        for bad in ["", "P", "PT", "30M", "PT5X", "PT1S2M", "P1.5D", "PT-1H"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }
}
