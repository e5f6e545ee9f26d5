//! How `kafka-console-producer` turns an input line into a record (Kafka's
//! `LineMessageReader`): optional headers before `headers.delimiter`, an optional key
//! before `key.separator`, the rest is the value; `null.marker` stands for null.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::properties::java_bool;

/// The reader's settings, from `--property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineReader {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: String,
    headers_key_separator: String,
    ignore_error: bool,
    null_marker: Option<String>,
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedLine {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl LineReader {
    pub(crate) fn from_properties(p: &BTreeMap<String, String>) -> Result<LineReader, String> {
        let get = |k: &str, default: &str| p.get(k).cloned().unwrap_or_else(|| default.to_owned());
        let reader = LineReader {
            parse_key: p.get("parse.key").is_some_and(|v| java_bool(v)),
            key_separator: get("key.separator", "\t"),
            parse_headers: p.get("parse.headers").is_some_and(|v| java_bool(v)),
            headers_delimiter: get("headers.delimiter", "\t"),
            headers_separator: get("headers.separator", ","),
            headers_key_separator: get("headers.key.separator", ":"),
            ignore_error: p.get("ignore.error").is_some_and(|v| java_bool(v)),
            null_marker: p.get("null.marker").cloned(),
        };
        if reader.headers_separator == reader.headers_key_separator {
            return Err("headers.separator and headers.key.separator may not be equal".into());
        }
        if let Some(marker) = &reader.null_marker {
            for (name, value) in [
                ("key.separator", &reader.key_separator),
                ("headers.delimiter", &reader.headers_delimiter),
                ("headers.separator", &reader.headers_separator),
                ("headers.key.separator", &reader.headers_key_separator),
            ] {
                if marker == value {
                    return Err(format!("null.marker and {name} may not be equal"));
                }
            }
        }
        Ok(reader)
    }

    /// Parses line number `line_number` (1-based, for error messages).
    pub(crate) fn parse(&self, line: &str, line_number: usize) -> Result<ParsedLine, String> {
        let mut rest = line;
        let mut headers = Vec::new();
        if self.parse_headers {
            match rest.split_once(self.headers_delimiter.as_str()) {
                Some((header_part, remainder)) => {
                    headers = self.parse_headers_part(header_part, line_number)?;
                    rest = remainder;
                }
                None if self.ignore_error => {}
                None => {
                    return Err(format!(
                        "No headers delimiter found on line number {line_number}: '{line}'"
                    ));
                }
            }
        }
        let mut key = None;
        if self.parse_key {
            match rest.split_once(self.key_separator.as_str()) {
                Some((k, remainder)) => {
                    key = self.nullable(k);
                    rest = remainder;
                }
                None if self.ignore_error => {}
                None => {
                    return Err(format!(
                        "No key separator found on line number {line_number}: '{line}'"
                    ))
                }
            }
        }
        Ok(ParsedLine {
            key,
            value: self.nullable(rest),
            headers,
        })
    }

    fn parse_headers_part(
        &self,
        part: &str,
        line_number: usize,
    ) -> Result<Vec<(String, Option<Bytes>)>, String> {
        if part.is_empty() {
            return Ok(Vec::new());
        }
        part.split(self.headers_separator.as_str())
            .map(|pair| {
                let (key, value) = pair.split_once(self.headers_key_separator.as_str()).ok_or_else(|| {
                    format!("No header key separator found in pair '{pair}' on line number {line_number}")
                })?;
                if self.null_marker.as_deref() == Some(key) {
                    return Err(format!(
                        "Header keys should not be equal to the null marker '{key}' as they can't be null"
                    ));
                }
                Ok((key.to_owned(), self.nullable(value)))
            })
            .collect()
    }

    fn nullable(&self, text: &str) -> Option<Bytes> {
        if self.null_marker.as_deref() == Some(text) {
            None
        } else {
            Some(Bytes::copy_from_slice(text.as_bytes()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(pairs: &[(&str, &str)]) -> LineReader {
        let p = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LineReader::from_properties(&p).unwrap()
    }

    fn b(s: &str) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn plain_lines_are_values() {
        let parsed = reader(&[]).parse("hello\tworld", 1).unwrap();
        assert_eq!((parsed.key, parsed.value), (None, b("hello\tworld")));
    }

    #[test]
    fn keys_headers_and_null_marker() {
        let r = reader(&[
            ("parse.key", "true"),
            ("key.separator", ":"),
            ("parse.headers", "true"),
            ("headers.delimiter", "|"),
            ("headers.key.separator", "="),
            ("null.marker", "NULL"),
        ]);
        let parsed = r.parse("h1=v1,h2=NULL|k:v", 1).unwrap();
        assert_eq!(
            parsed.headers,
            vec![("h1".into(), b("v1")), ("h2".into(), None)]
        );
        assert_eq!((parsed.key, parsed.value), (b("k"), b("v")));
        let parsed = r.parse("|NULL:NULL", 2).unwrap();
        assert_eq!((parsed.key, parsed.value), (None, None));
        assert_eq!(
            r.parse("|novalue", 3).unwrap_err(),
            "No key separator found on line number 3: '|novalue'"
        );
    }

    #[test]
    fn ignore_error_keeps_whole_line_as_value() {
        let r = reader(&[("parse.key", "true"), ("ignore.error", "true")]);
        let parsed = r.parse("novalue", 1).unwrap();
        assert_eq!((parsed.key, parsed.value), (None, b("novalue")));
    }
}
