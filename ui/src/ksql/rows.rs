//! A query's answer in ksqlDB's delimited format (`application/vnd.ksqlapi.delimited.v1`):
//! a first line with the query's id and columns, then one JSON array per row, and an error
//! object should the query fail. Also which columns key a query's rows, and rows gathered
//! into batches for the browser.

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The first line of a query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryHeader {
    /// `None` for servers that give pull queries no id.
    #[serde(default)]
    pub query_id: Option<String>,
    pub column_names: Vec<String>,
    #[serde(default)]
    pub column_types: Vec<String>,
}

impl QueryHeader {
    /// The header line, or ksql's error when the line is one.
    pub fn parse(line: &str) -> Result<QueryHeader, String> {
        let value: Value = serde_json::from_str(line.trim())
            .map_err(|e| format!("the query's first line is not JSON: {e}"))?;
        if let Some(message) = error_message(&value) {
            return Err(message);
        }
        serde_json::from_value(value)
            .map_err(|e| format!("the query's first line is not a query header: {e}"))
    }
}

/// One line of rows: a row, ksql's error, or nothing (a blank line or a lone separator).
pub fn parse_row(line: &str) -> Option<Result<Vec<Value>, String>> {
    let line = line.trim().trim_start_matches(',').trim();
    if line.is_empty() || line == "]" {
        return None;
    }
    Some(match serde_json::from_str::<Value>(line) {
        Ok(Value::Array(row)) => Ok(row),
        Ok(other) => Err(error_message(&other)
            .unwrap_or_else(|| format!("the ksql server sent a line that is no row: {other}"))),
        Err(e) => Err(format!("the ksql server sent a line that is no row: {e}")),
    })
}

/// ksqlDB's error message in an answer: `{"message"}` or `{"errorMessage": {"message"}}`.
pub fn error_message(value: &Value) -> Option<String> {
    let error = value.get("errorMessage").unwrap_or(value);
    error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Reads a streamed body line by line, holding at most one line of `max` bytes.
pub struct LineReader<B> {
    body: B,
    buffer: BytesMut,
    max: usize,
    done: bool,
}

impl<B> LineReader<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    pub fn new(body: B, max: usize) -> LineReader<B> {
        LineReader {
            body,
            buffer: BytesMut::new(),
            max,
            done: false,
        }
    }

    /// The next line without its newline; `None` once the body has ended.
    pub async fn next_line(&mut self) -> Option<Result<String, String>> {
        loop {
            let end = self.buffer.iter().position(|b| *b == b'\n');
            if let Some(end) = end.filter(|end| *end <= self.max) {
                let line = self.buffer.split_to(end + 1);
                return Some(Ok(String::from_utf8_lossy(&line[..end]).into_owned()));
            }
            if end.is_some() || self.buffer.len() > self.max {
                self.done = true;
                self.buffer.clear();
                return Some(Err(format!("a row is longer than {} bytes", self.max)));
            }
            if self.done {
                if self.buffer.is_empty() {
                    return None;
                }
                let rest = self.buffer.split();
                return Some(Ok(String::from_utf8_lossy(&rest).into_owned()));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        while data.has_remaining() {
                            let chunk = data.chunk();
                            self.buffer.extend_from_slice(chunk);
                            let read = chunk.len();
                            data.advance(read);
                        }
                    }
                }
                Some(Err(error)) => {
                    self.done = true;
                    return Some(Err(error.to_string()));
                }
                None => self.done = true,
            }
        }
    }
}

/// The source a query reads, from ksqlDB's transient query id (`transient_PAGEVIEWS_123`).
pub fn source_of_query_id(id: &str) -> Option<&str> {
    let (source, number) = id.strip_prefix("transient_")?.rsplit_once('_')?;
    let numeric = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    (numeric && !source.is_empty()).then_some(source)
}

/// The columns that key the rows of a query reading the source `description` (a
/// `sourceDescription` entity of DESCRIBE): a table's key columns (and the window bounds
/// of a windowed one), when the query returns them all; otherwise none, and rows are
/// simply appended.
pub fn table_keys(description: &Value, column_names: &[String]) -> Vec<String> {
    let source = description.get("sourceDescription").unwrap_or(description);
    if source.get("type").and_then(Value::as_str) != Some("TABLE") {
        return Vec::new();
    }
    let mut keys: Vec<String> = source
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("KEY"))
        .filter_map(|f| f.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    if source.get("windowType").is_some_and(|w| !w.is_null()) {
        keys.extend(["WINDOWSTART".to_string(), "WINDOWEND".to_string()]);
    }
    let all_returned = keys.iter().all(|k| column_names.contains(k));
    if keys.is_empty() || !all_returned {
        return Vec::new();
    }
    keys
}

/// Rows gathered for one message to the browser, at most `max` at a time.
#[derive(Debug)]
pub struct RowBatch {
    rows: Vec<Vec<Value>>,
    max: usize,
}

impl RowBatch {
    pub fn new(max: usize) -> RowBatch {
        RowBatch {
            rows: Vec::new(),
            max: max.max(1),
        }
    }

    /// Adds a row; the full batch once it holds `max` rows.
    pub fn push(&mut self, row: Vec<Value>) -> Option<Vec<Vec<Value>>> {
        self.rows.push(row);
        (self.rows.len() >= self.max).then(|| self.take()).flatten()
    }

    /// The rows gathered so far, if any.
    pub fn take(&mut self) -> Option<Vec<Vec<Value>>> {
        (!self.rows.is_empty()).then(|| std::mem::take(&mut self.rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use serde_json::json;

    #[test]
    fn reads_the_header_or_the_error_in_its_place() {
        let header = QueryHeader::parse(
            r#"{"queryId":"transient_T_1","columnNames":["ID","N"],"columnTypes":["STRING","BIGINT"]}"#,
        )
        .unwrap();
        assert_eq!(header.query_id.as_deref(), Some("transient_T_1"));
        assert_eq!(header.column_names, ["ID", "N"]);
        assert_eq!(header.column_types, ["STRING", "BIGINT"]);
        let pull = QueryHeader::parse(r#"{"columnNames":["X"]}"#).unwrap();
        assert_eq!(pull.query_id, None);
        let error = QueryHeader::parse(
            r#"{"@type":"generic_error","error_code":40001,"message":"no such stream"}"#,
        );
        assert_eq!(error, Err("no such stream".to_string()));
        assert!(QueryHeader::parse("not json").is_err());
    }

    #[test]
    fn reads_rows_and_errors_between_them() {
        assert_eq!(
            parse_row(r#"["a",1]"#),
            Some(Ok(vec![json!("a"), json!(1)]))
        );
        assert_eq!(
            parse_row(r#",["a",null]"#),
            Some(Ok(vec![json!("a"), Value::Null]))
        );
        assert_eq!(parse_row(""), None);
        assert_eq!(parse_row(","), None);
        let error = parse_row(
            r#"{"errorMessage":{"@type":"generic_error","error_code":50000,"message":"boom"}}"#,
        );
        assert_eq!(error, Some(Err("boom".to_string())));
        assert!(matches!(parse_row("{\"x\":1}"), Some(Err(_))));
    }

    fn body(
        chunks: &[&'static str],
    ) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, String>>> {
        let frames: Vec<Result<Frame<Bytes>, String>> = chunks
            .iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn lines_come_whole_across_chunks() {
        let mut lines = LineReader::new(body(&["{\"a\"", ":1}\n[1]\n[2", "]\n", "[3]"]), 100);
        let mut read = Vec::new();
        while let Some(line) = lines.next_line().await {
            read.push(line.unwrap());
        }
        assert_eq!(read, ["{\"a\":1}", "[1]", "[2]", "[3]"]);
    }

    #[tokio::test]
    async fn a_line_over_the_limit_ends_the_reading() {
        let mut lines = LineReader::new(body(&["[\"0123456789\"]\n"]), 8);
        assert!(lines.next_line().await.unwrap().is_err());
        assert!(lines.next_line().await.is_none());
    }

    #[test]
    fn finds_the_source_of_a_transient_query() {
        assert_eq!(
            source_of_query_id("transient_PAGE_VIEWS_8812"),
            Some("PAGE_VIEWS")
        );
        assert_eq!(source_of_query_id("transient_T_1"), Some("T"));
        assert_eq!(source_of_query_id("CTAS_T_3"), None);
        assert_eq!(source_of_query_id("transient_T_x"), None);
    }

    #[test]
    fn tables_key_their_rows_and_streams_do_not() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let table = json!({"@type": "sourceDescription", "sourceDescription": {
            "type": "TABLE", "windowType": null,
            "fields": [{"name": "ID", "type": "KEY"}, {"name": "N"}]}});
        assert_eq!(table_keys(&table, &names(&["ID", "N"])), ["ID"]);
        assert!(
            table_keys(&table, &names(&["N"])).is_empty(),
            "the key is not returned"
        );
        let windowed = json!({"sourceDescription": {"type": "TABLE", "windowType": "TUMBLING",
            "fields": [{"name": "ID", "type": "KEY"}, {"name": "N"}]}});
        assert_eq!(
            table_keys(&windowed, &names(&["ID", "WINDOWSTART", "WINDOWEND", "N"])),
            ["ID", "WINDOWSTART", "WINDOWEND"]
        );
        let stream = json!({"sourceDescription": {"type": "STREAM",
            "fields": [{"name": "ID", "type": "KEY"}]}});
        assert!(table_keys(&stream, &names(&["ID"])).is_empty());
    }

    #[test]
    fn rows_go_out_in_batches_of_at_most_max() {
        let mut batch = RowBatch::new(2);
        assert!(batch.take().is_none());
        assert!(batch.push(vec![json!(1)]).is_none());
        assert_eq!(
            batch.push(vec![json!(2)]),
            Some(vec![vec![json!(1)], vec![json!(2)]])
        );
        assert!(batch.take().is_none(), "a full batch leaves nothing behind");
        assert!(batch.push(vec![json!(3)]).is_none());
        assert_eq!(batch.take(), Some(vec![vec![json!(3)]]));
        assert!(batch.take().is_none());
    }
}
