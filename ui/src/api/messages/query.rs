//! The search's query string (`partition`, `seek`, `offset`, `timestamp`, `order`,
//! `limit`, `filter`, `format`), checked into a [`SearchPlan`]. Every field arrives as text
//! so a mistake is answered with its fix rather than a parser's message; empty fields (an
//! untouched form input) count as absent.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::record::Filter;
use crate::error::{UiError, UiResult};

/// Records a search returns when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 100;
/// The most records one search returns.
pub const MAX_LIMIT: usize = 1000;

/// The query string as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessagesQuery {
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub seek: Option<String>,
    #[serde(default)]
    pub offset: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
}

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    /// From each partition's first record, forwards.
    Earliest,
    /// The last records before each partition's end, read backwards.
    Latest,
    /// From this offset of each partition read, forwards.
    Offset(i64),
    /// From the first record at or after this time (ms since the epoch), forwards.
    Timestamp(i64),
}

/// The order records are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// A download of the search's records instead of the JSON answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Csv,
    Json,
}

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPlan {
    /// `None`: every partition.
    pub partition: Option<i32>,
    pub seek: Seek,
    pub order: Order,
    pub limit: usize,
    pub filter: Option<Filter>,
}

/// A field's text, `None` when absent or empty.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl MessagesQuery {
    pub fn plan(&self) -> UiResult<SearchPlan> {
        let seek = self.seek()?;
        let order = match given(&self.order) {
            None if seek == Seek::Latest => Order::NewestFirst,
            None => Order::OldestFirst,
            Some(text) => match text.to_ascii_lowercase().as_str() {
                "oldest" => Order::OldestFirst,
                "newest" => Order::NewestFirst,
                _ => {
                    return Err(UiError::bad_request(format!(
                        "order must be oldest or newest; got '{text}'"
                    )))
                }
            },
        };
        Ok(SearchPlan {
            partition: parse_partition(&self.partition)?,
            seek,
            order,
            limit: parse_limit(&self.limit)?,
            filter: self.filter.as_deref().and_then(Filter::new),
        })
    }

    /// Where reading starts. Without `seek`, an `offset` or `timestamp` given alone says
    /// which; with neither, reading starts at the earliest record.
    fn seek(&self) -> UiResult<Seek> {
        let offset = || -> UiResult<Seek> {
            let text = given(&self.offset).ok_or_else(|| {
                UiError::bad_request("seek=offset needs offset=N, the first offset to read")
            })?;
            parse_offset(text).map(Seek::Offset)
        };
        let timestamp = || -> UiResult<Seek> {
            let text = given(&self.timestamp).ok_or_else(|| {
                UiError::bad_request(
                    "seek=timestamp needs timestamp=, in ms since the epoch or ISO-8601 (2024-05-01T12:00:00Z)",
                )
            })?;
            parse_timestamp(text).map(Seek::Timestamp)
        };
        match given(&self.seek).map(str::to_ascii_lowercase).as_deref() {
            Some("earliest") | Some("oldest") | Some("beginning") => Ok(Seek::Earliest),
            Some("latest") | Some("newest") | Some("end") => Ok(Seek::Latest),
            Some("offset") => offset(),
            Some("timestamp") => timestamp(),
            Some(_) => Err(UiError::bad_request(format!(
                "seek must be earliest, latest, offset or timestamp; got '{}'",
                given(&self.seek).unwrap_or_default()
            ))),
            None if given(&self.offset).is_some() => offset(),
            None if given(&self.timestamp).is_some() => timestamp(),
            None => Ok(Seek::Earliest),
        }
    }

    /// The download asked for with `format=csv|json`, if any.
    pub fn export(&self) -> UiResult<Option<Export>> {
        match given(&self.format).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("csv") => Ok(Some(Export::Csv)),
            Some("json") => Ok(Some(Export::Json)),
            Some(_) => Err(UiError::bad_request(format!(
                "format must be csv or json (or left out for the JSON answer); got '{}'",
                given(&self.format).unwrap_or_default()
            ))),
        }
    }
}

/// `partition=N`, or `all`/absent for every partition.
pub fn parse_partition(field: &Option<String>) -> UiResult<Option<i32>> {
    match given(field) {
        None => Ok(None),
        Some(text) if text.eq_ignore_ascii_case("all") => Ok(None),
        Some(text) => match text.parse::<i32>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(UiError::bad_request(format!(
                "partition must be a partition number or 'all'; got '{text}'"
            ))),
        },
    }
}

fn parse_offset(text: &str) -> UiResult<i64> {
    match text.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(UiError::bad_request(format!(
            "offset must be a non-negative whole number; got '{text}'"
        ))),
    }
}

fn parse_limit(field: &Option<String>) -> UiResult<usize> {
    let Some(text) = given(field) else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(UiError::bad_request(format!(
            "limit must be a whole number from 1 to {MAX_LIMIT}; got '{text}'"
        ))),
    }
}

/// Milliseconds since the epoch, or an ISO-8601 time: with an offset (`...Z`,
/// `...+02:00`), without one (read as UTC), or a date alone (its midnight, UTC).
pub fn parse_timestamp(text: &str) -> UiResult<i64> {
    let text = text.trim();
    let parsed = if let Ok(ms) = text.parse::<i64>() {
        (ms >= 0).then_some(ms)
    } else if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        Some(time.timestamp_millis())
    } else if let Some(time) = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    {
        Some(time.and_utc().timestamp_millis())
    } else {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|time| time.and_utc().timestamp_millis())
    };
    parsed.ok_or_else(|| {
        UiError::bad_request(format!(
            "timestamp must be milliseconds since the epoch or an ISO-8601 time such as 2024-05-01T12:00:00Z; got '{text}'"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query as axum decodes it from a request's URI.
    fn query(pairs: &[(&str, &str)]) -> MessagesQuery {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let uri: axum::http::Uri = format!("/messages?{}", text.join("&")).parse().unwrap();
        axum::extract::Query::<MessagesQuery>::try_from_uri(&uri)
            .unwrap()
            .0
    }

    #[test]
    fn defaults_read_the_first_hundred_records_of_every_partition() {
        let plan = query(&[]).plan().unwrap();
        assert_eq!(plan.partition, None);
        assert_eq!(plan.seek, Seek::Earliest);
        assert_eq!(plan.order, Order::OldestFirst);
        assert_eq!(plan.limit, DEFAULT_LIMIT);
        assert_eq!(plan.filter, None);
    }

    #[test]
    fn latest_lists_newest_first_unless_told_otherwise() {
        let plan = query(&[("seek", "latest")]).plan().unwrap();
        assert_eq!((plan.seek, plan.order), (Seek::Latest, Order::NewestFirst));
        let plan = query(&[("seek", "latest"), ("order", "oldest")])
            .plan()
            .unwrap();
        assert_eq!(plan.order, Order::OldestFirst);
        let plan = query(&[("seek", "earliest"), ("order", "NEWEST")])
            .plan()
            .unwrap();
        assert_eq!(plan.order, Order::NewestFirst);
    }

    #[test]
    fn offsets_timestamps_and_partitions_are_read() {
        let plan = query(&[("seek", "offset"), ("offset", "42"), ("partition", "3")])
            .plan()
            .unwrap();
        assert_eq!((plan.seek, plan.partition), (Seek::Offset(42), Some(3)));
        let plan = query(&[("offset", "5")]).plan().unwrap();
        assert_eq!(plan.seek, Seek::Offset(5));
        let plan = query(&[("seek", "timestamp"), ("timestamp", "1700000000000")])
            .plan()
            .unwrap();
        assert_eq!(plan.seek, Seek::Timestamp(1_700_000_000_000));
        let plan = query(&[("partition", "all"), ("limit", "1000"), ("filter", "Abc")])
            .plan()
            .unwrap();
        assert_eq!(plan.partition, None);
        assert_eq!(plan.limit, 1000);
        assert_eq!(plan.filter, Filter::new("Abc"));
        let plan = query(&[("partition", ""), ("offset", ""), ("limit", "")])
            .plan()
            .unwrap();
        assert_eq!(
            (plan.partition, plan.seek, plan.limit),
            (None, Seek::Earliest, DEFAULT_LIMIT)
        );
    }

    #[test]
    fn timestamps_are_milliseconds_or_iso_8601() {
        assert_eq!(parse_timestamp("0").unwrap(), 0);
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00Z").unwrap(),
            1_714_564_800_000
        );
        assert_eq!(
            parse_timestamp("2024-05-01T14:00:00+02:00").unwrap(),
            1_714_564_800_000
        );
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00.250").unwrap(),
            1_714_564_800_250
        );
        assert_eq!(
            parse_timestamp("2024-05-01T12:00").unwrap(),
            1_714_564_800_000
        );
        assert_eq!(parse_timestamp("2024-05-01").unwrap(), 1_714_521_600_000);
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("-5").is_err());
    }

    #[test]
    fn mistakes_are_refused_with_their_fix() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("seek", "middle")],
                "seek must be earliest, latest, offset or timestamp",
            ),
            (&[("seek", "offset")], "seek=offset needs offset=N"),
            (
                &[("seek", "offset"), ("offset", "-1")],
                "offset must be a non-negative",
            ),
            (&[("seek", "timestamp")], "seek=timestamp needs timestamp="),
            (
                &[("seek", "timestamp"), ("timestamp", "soon")],
                "timestamp must be milliseconds",
            ),
            (
                &[("limit", "0")],
                "limit must be a whole number from 1 to 1000",
            ),
            (
                &[("limit", "1001")],
                "limit must be a whole number from 1 to 1000",
            ),
            (&[("limit", "ten")], "got 'ten'"),
            (&[("order", "random")], "order must be oldest or newest"),
            (
                &[("partition", "-1")],
                "partition must be a partition number or 'all'",
            ),
            (
                &[("partition", "x")],
                "partition must be a partition number or 'all'",
            ),
        ];
        for (pairs, expected) in cases {
            let error = query(pairs).plan().unwrap_err();
            assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
            assert!(
                error.message.contains(expected),
                "{pairs:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn exports_are_csv_or_json() {
        assert_eq!(query(&[]).export().unwrap(), None);
        assert_eq!(
            query(&[("format", "csv")]).export().unwrap(),
            Some(Export::Csv)
        );
        assert_eq!(
            query(&[("format", "JSON")]).export().unwrap(),
            Some(Export::Json)
        );
        assert!(query(&[("format", "xml")]).export().is_err());
    }
}
