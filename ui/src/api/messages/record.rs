//! One record as the console shows it: key and value as JSON, text or hex (whichever they
//! are), headers, sizes and the timestamp with its type; and the text filter the search
//! and the live tail match records against.

use std::borrow::Cow;

use bytes::Bytes;
use potok_client::consumer::ConsumerRecord;
use serde::Serialize;

/// How a key or value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Valid JSON; the page pretty-prints it.
    Json,
    /// UTF-8 text without control characters other than tabs and line breaks.
    Text,
    /// Anything else, as lowercase hex.
    Hex,
    /// No key or value at all (a tombstone's value, an unkeyed record's key).
    Null,
}

impl Format {
    /// The name the API uses.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "text",
            Format::Hex => "hex",
            Format::Null => "null",
        }
    }
}

/// How `bytes` are shown.
pub fn format_of(bytes: Option<&[u8]>) -> Format {
    let Some(bytes) = bytes else {
        return Format::Null;
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if is_readable(text) => {
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                Format::Json
            } else {
                Format::Text
            }
        }
        _ => Format::Hex,
    }
}

/// Text a person can read: no control characters but tabs and line breaks.
fn is_readable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// `bytes` as shown: the text itself when readable, else hex.
fn shown(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if is_readable(text) => Cow::Borrowed(text),
        _ => Cow::Owned(hex(bytes)),
    }
}

/// Lowercase hex, two digits a byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// A record header as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    pub key: String,
    pub value: Option<String>,
}

/// A record as the API answers with it and the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// `CREATE_TIME` or `LOG_APPEND_TIME`, as Kafka names them.
    pub timestamp_type: &'static str,
    pub key: Option<String>,
    pub value: Option<String>,
    pub key_format: Format,
    pub value_format: Format,
    pub headers: Vec<Header>,
    /// Bytes of the key as stored (0 for none).
    pub key_size: usize,
    pub value_size: usize,
}

/// The parts of a record the console reads, whatever client type carried them.
pub struct RawRecord<'a> {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub log_append_time: bool,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Bytes>)],
}

impl<'a> RawRecord<'a> {
    pub fn of(record: &'a ConsumerRecord) -> RawRecord<'a> {
        RawRecord {
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            // Kafka's attribute bit: 0 is CreateTime, 1 LogAppendTime.
            log_append_time: record.timestamp_type as u8 == 1,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            headers: &record.headers,
        }
    }

    /// Bytes of key, value and headers, as a producer's size limit counts them.
    pub fn size(&self) -> usize {
        self.key.map_or(0, <[u8]>::len)
            + self.value.map_or(0, <[u8]>::len)
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
    }

    pub fn shown(&self) -> MessageRecord {
        MessageRecord {
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: if self.log_append_time {
                "LOG_APPEND_TIME"
            } else {
                "CREATE_TIME"
            },
            key: self.key.map(|k| shown(k).into_owned()),
            value: self.value.map(|v| shown(v).into_owned()),
            key_format: format_of(self.key),
            value_format: format_of(self.value),
            headers: self
                .headers
                .iter()
                .map(|(key, value)| Header {
                    key: key.clone(),
                    value: value.as_deref().map(|v| shown(v).into_owned()),
                })
                .collect(),
            key_size: self.key.map_or(0, <[u8]>::len),
            value_size: self.value.map_or(0, <[u8]>::len),
        }
    }
}

/// A case-insensitive substring looked for in a record's key, value, header keys and
/// header values, as they are shown (so binary parts match their hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    needle: String,
}

impl Filter {
    /// No filter for empty text.
    pub fn new(text: &str) -> Option<Filter> {
        (!text.is_empty()).then(|| Filter {
            needle: text.to_lowercase(),
        })
    }

    pub fn matches(&self, record: &RawRecord<'_>) -> bool {
        let found = |bytes: &[u8]| shown(bytes).to_lowercase().contains(&self.needle);
        record.key.is_some_and(found)
            || record.value.is_some_and(found)
            || record.headers.iter().any(|(key, value)| {
                key.to_lowercase().contains(&self.needle) || value.as_deref().is_some_and(found)
            })
    }
}

/// Whether `filter` (when there is one) matches `record`.
pub fn passes(filter: Option<&Filter>, record: &RawRecord<'_>) -> bool {
    filter.is_none_or(|f| f.matches(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(
        key: Option<&'a [u8]>,
        value: Option<&'a [u8]>,
        headers: &'a [(String, Option<Bytes>)],
    ) -> RawRecord<'a> {
        RawRecord {
            partition: 0,
            offset: 7,
            timestamp: 1_700_000_000_000,
            log_append_time: false,
            key,
            value,
            headers,
        }
    }

    #[test]
    fn formats_are_json_then_text_then_hex() {
        assert_eq!(format_of(None), Format::Null);
        assert_eq!(format_of(Some(br#"{"a": [1, 2]}"#)), Format::Json);
        assert_eq!(format_of(Some(b"42")), Format::Json);
        assert_eq!(format_of(Some(b"hello world")), Format::Text);
        assert_eq!(format_of(Some(b"line one\nline two\t")), Format::Text);
        assert_eq!(format_of(Some(b"{not json")), Format::Text);
        assert_eq!(format_of(Some(b"")), Format::Text);
        assert_eq!(format_of(Some("grüße".as_bytes())), Format::Text);
        assert_eq!(format_of(Some(&[0xff, 0x00, 0x10])), Format::Hex);
        assert_eq!(format_of(Some(b"a\x00b")), Format::Hex);
    }

    #[test]
    fn binary_is_shown_as_hex_and_text_as_itself() {
        assert_eq!(shown(&[0xde, 0xad, 0x01]), "dead01");
        assert_eq!(shown(b"plain"), "plain");
    }

    #[test]
    fn a_record_is_shown_with_formats_sizes_and_headers() {
        let headers = vec![
            ("trace".to_string(), Some(Bytes::from_static(b"abc"))),
            ("bin".to_string(), Some(Bytes::from_static(&[0x00, 0xff]))),
            ("none".to_string(), None),
        ];
        let record = raw(None, Some(br#"{"n":1}"#), &headers);
        let shown = record.shown();
        assert_eq!(shown.key, None);
        assert_eq!(shown.key_format, Format::Null);
        assert_eq!(shown.value_format, Format::Json);
        assert_eq!(shown.value.as_deref(), Some(r#"{"n":1}"#));
        assert_eq!(shown.key_size, 0);
        assert_eq!(shown.value_size, 7);
        assert_eq!(shown.timestamp_type, "CREATE_TIME");
        assert_eq!(shown.headers[1].value.as_deref(), Some("00ff"));
        assert_eq!(shown.headers[2].value, None);
        assert_eq!(record.size(), 7 + 5 + 3 + 3 + 2 + 4);
        let json = serde_json::to_value(&shown).unwrap();
        assert_eq!(json["valueFormat"], "json");
        assert_eq!(json["keyFormat"], "null");
        assert_eq!(
            json["headers"][0],
            serde_json::json!({"key": "trace", "value": "abc"})
        );
    }

    #[test]
    fn the_filter_looks_in_key_value_and_headers_without_regard_to_case() {
        let headers = vec![("Trace-Id".to_string(), Some(Bytes::from_static(b"XYZ-42")))];
        let record = raw(
            Some(b"Order-17"),
            Some(b"{\"status\":\"Shipped\"}"),
            &headers,
        );
        for text in ["order-17", "SHIPPED", "trace-id", "xyz-4", "\"status\""] {
            assert!(Filter::new(text).unwrap().matches(&record), "{text}");
        }
        assert!(!Filter::new("cancelled").unwrap().matches(&record));
        let binary = raw(None, Some(&[0xca, 0xfe]), &[]);
        assert!(Filter::new("CAFE").unwrap().matches(&binary));
        assert!(Filter::new("").is_none());
        assert!(passes(None, &binary));
    }
}
