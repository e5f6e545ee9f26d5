//! A search's records as a download: CSV (a header row, RFC 4180 quoting) for
//! spreadsheets, or a JSON array of the records as the API shows them. In the CSV a key,
//! value or headers cell that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`,
//! a tab or a carriage return first) starts with a `'`, so opening an export never runs
//! what a producer wrote; the JSON keeps every byte as it was.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::query::Export;
use super::record::MessageRecord;

/// The CSV's columns, in order.
const COLUMNS: &[&str] = &[
    "partition",
    "offset",
    "timestamp",
    "time",
    "timestampType",
    "key",
    "keyFormat",
    "value",
    "valueFormat",
    "headers",
    "keySize",
    "valueSize",
];

/// `records` of `topic` as an attachment named `<topic>-messages.csv` or `.json`.
pub fn download(topic: &str, format: Export, records: &[MessageRecord]) -> Response {
    let (extension, content_type, body) = match format {
        Export::Csv => ("csv", "text/csv; charset=utf-8", csv(records)),
        Export::Json => (
            "json",
            "application/json",
            serde_json::to_string_pretty(records).unwrap_or_else(|_| "[]".to_string()),
        ),
    };
    let disposition = format!(
        "attachment; filename=\"{}-messages.{extension}\"",
        file_name(topic)
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// A topic name fit for a file name and a header: Kafka's topic characters kept, any
/// other replaced.
fn file_name(topic: &str) -> String {
    topic
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The records as CSV, lines ending in CRLF as RFC 4180 has them.
pub fn csv(records: &[MessageRecord]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for record in records {
        let headers = serde_json::to_string(&record.headers).unwrap_or_default();
        let cells = [
            record.partition.to_string(),
            record.offset.to_string(),
            record.timestamp.to_string(),
            iso_time(record.timestamp),
            record.timestamp_type.to_string(),
            inert(record.key.as_deref().unwrap_or_default()),
            record.key_format.name().to_string(),
            inert(record.value.as_deref().unwrap_or_default()),
            record.value_format.name().to_string(),
            inert(&headers),
            record.key_size.to_string(),
            record.value_size.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|c| quote(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A cell written by a producer, with a `'` before a first character that would make a
/// spreadsheet read it as a formula.
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// A cell, quoted when it holds a comma, a quote, a line break or edge spaces, with its
/// quotes doubled.
pub fn quote(cell: &str) -> String {
    let needs_quotes =
        cell.contains([',', '"', '\n', '\r']) || cell.starts_with(' ') || cell.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// Milliseconds since the epoch as ISO-8601 in UTC; empty for a record without a
/// timestamp (-1).
pub fn iso_time(ms: i64) -> String {
    if ms < 0 {
        return String::new();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::messages::record::{Format, Header};

    #[test]
    fn cells_are_quoted_only_when_they_must_be() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote(""), "");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("cr\r"), "\"cr\r\"");
        assert_eq!(quote(" padded"), "\" padded\"");
    }

    #[test]
    fn a_csv_has_a_header_row_and_one_line_per_record() {
        let record = MessageRecord {
            partition: 1,
            offset: 42,
            timestamp: 1_714_564_800_250,
            timestamp_type: "CREATE_TIME",
            key: Some("k,1".into()),
            value: Some("{\"a\": \"b\"}".into()),
            key_format: Format::Text,
            value_format: Format::Json,
            headers: vec![Header {
                key: "h".into(),
                value: Some("v".into()),
            }],
            key_size: 3,
            value_size: 10,
        };
        let text = csv(&[record]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "1,42,1714564800250,2024-05-01T12:00:00.250Z,CREATE_TIME,\"k,1\",text,\
             \"{\"\"a\"\": \"\"b\"\"}\",json,\"[{\"\"key\"\":\"\"h\"\",\"\"value\"\":\"\"v\"\"}]\",3,10"
        );
        assert_eq!(lines[2], "");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_made_text() {
        assert_eq!(
            inert("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(inert("+1"), "'+1");
        assert_eq!(inert("-2+3"), "'-2+3");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("\tx"), "'\tx");
        assert_eq!(inert("plain = text"), "plain = text");
        assert_eq!(inert(""), "");
    }

    #[test]
    fn file_names_keep_topic_characters_only() {
        assert_eq!(file_name("orders.v1_x-y"), "orders.v1_x-y");
        assert_eq!(file_name("a\"b/c"), "a_b_c");
    }
}
