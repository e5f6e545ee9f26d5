//! Kafka's `DefaultMessageFormatter`, which `kafka-console-consumer` prints records with:
//! optional timestamp, partition, offset, headers and key before the value, separated by
//! `key.separator`, each record ending with `line.separator`.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::records::TimestampType;

use super::properties::java_bool;
use crate::consumer::ConsumerRecord;

/// Formatter class names Kafka accepts for the default formatter.
pub(crate) const DEFAULT_FORMATTER_NAMES: [&str; 3] = [
    "kafka.tools.DefaultMessageFormatter",
    "org.apache.kafka.tools.consumer.DefaultMessageFormatter",
    "DefaultMessageFormatter",
];

/// The formatter's settings, from `--property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefaultFormatter {
    print_timestamp: bool,
    print_key: bool,
    print_offset: bool,
    print_partition: bool,
    print_headers: bool,
    print_value: bool,
    key_separator: String,
    line_separator: String,
    headers_separator: String,
    null_literal: String,
}

impl DefaultFormatter {
    pub(crate) fn from_properties(p: &BTreeMap<String, String>) -> DefaultFormatter {
        let flag = |k: &str, default: bool| p.get(k).map_or(default, |v| java_bool(v));
        let text = |k: &str, default: &str| p.get(k).cloned().unwrap_or_else(|| default.to_owned());
        DefaultFormatter {
            print_timestamp: flag("print.timestamp", false),
            print_key: flag("print.key", false),
            print_offset: flag("print.offset", false),
            print_partition: flag("print.partition", false),
            print_headers: flag("print.headers", false),
            print_value: flag("print.value", true),
            key_separator: text("key.separator", "\t"),
            line_separator: text("line.separator", "\n"),
            headers_separator: text("headers.separator", ","),
            null_literal: text("null.literal", "null"),
        }
    }

    /// The bytes printed for `record`.
    pub(crate) fn format(&self, record: &ConsumerRecord) -> Vec<u8> {
        let mut fields: Vec<Vec<u8>> = Vec::new();
        if self.print_timestamp {
            let kind = match record.timestamp_type {
                TimestampType::Creation => "CreateTime",
                TimestampType::LogAppend => "LogAppendTime",
            };
            let text = if record.timestamp < 0 {
                "NO_TIMESTAMP".to_owned()
            } else {
                format!("{kind}:{}", record.timestamp)
            };
            fields.push(text.into_bytes());
        }
        if self.print_partition {
            fields.push(format!("Partition:{}", record.partition).into_bytes());
        }
        if self.print_offset {
            fields.push(format!("Offset:{}", record.offset).into_bytes());
        }
        if self.print_headers {
            fields.push(self.headers(&record.headers));
        }
        if self.print_key {
            fields.push(self.bytes_or_null(&record.key));
        }
        if self.print_value {
            fields.push(self.bytes_or_null(&record.value));
        }
        let mut out = fields.join(self.key_separator.as_bytes());
        if !fields.is_empty() {
            out.extend_from_slice(self.line_separator.as_bytes());
        }
        out
    }

    fn headers(&self, headers: &[(String, Option<Bytes>)]) -> Vec<u8> {
        if headers.is_empty() {
            return b"NO_HEADERS".to_vec();
        }
        let parts: Vec<Vec<u8>> = headers
            .iter()
            .map(|(k, v)| {
                let mut part = k.as_bytes().to_vec();
                part.push(b':');
                part.extend(self.bytes_or_null(v));
                part
            })
            .collect();
        parts.join(self.headers_separator.as_bytes())
    }

    fn bytes_or_null(&self, bytes: &Option<Bytes>) -> Vec<u8> {
        bytes
            .as_ref()
            .map_or_else(|| self.null_literal.as_bytes().to_vec(), |b| b.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatter(pairs: &[(&str, &str)]) -> DefaultFormatter {
        DefaultFormatter::from_properties(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn record(key: Option<&str>, headers: Vec<(String, Option<Bytes>)>) -> ConsumerRecord {
        ConsumerRecord {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            timestamp: 1_700_000_000_000,
            timestamp_type: TimestampType::Creation,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::from_static(b"value")),
            headers,
        }
    }

    fn text(f: &DefaultFormatter, r: &ConsumerRecord) -> String {
        String::from_utf8(f.format(r)).unwrap()
    }

    #[test]
    fn value_only_by_default() {
        assert_eq!(text(&formatter(&[]), &record(Some("k"), vec![])), "value\n");
    }

    #[test]
    fn all_fields_in_kafkas_order() {
        let f = formatter(&[
            ("print.timestamp", "true"),
            ("print.partition", "true"),
            ("print.offset", "true"),
            ("print.key", "true"),
        ]);
        assert_eq!(
            text(&f, &record(Some("key"), vec![])),
            "CreateTime:1700000000000\tPartition:0\tOffset:5\tkey\tvalue\n"
        );
        assert_eq!(
            text(
                &formatter(&[("print.key", "true"), ("key.separator", " | ")]),
                &record(None, vec![])
            ),
            "null | value\n"
        );
    }

    #[test]
    fn headers_or_no_headers() {
        let f = formatter(&[("print.headers", "true"), ("print.value", "false")]);
        assert_eq!(text(&f, &record(None, vec![])), "NO_HEADERS\n");
        let headers = vec![
            ("h1".into(), Some(Bytes::from_static(b"v1"))),
            ("h2".into(), None),
        ];
        assert_eq!(text(&f, &record(None, headers)), "h1:v1,h2:null\n");
    }
}
