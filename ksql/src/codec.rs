//! Records between bytes and rows: a source's key and value formats read a Kafka record
//! into the row a query sees, and a sink's formats write an output row back. The Kafka
//! runtime and the in-memory conformance harness share this.

use crate::catalog::{Source, WindowKind};
use crate::engine::{OutputRow, SourceRecord, WindowBounds};
use crate::schema::ColumnKind;
use crate::value::{Row, Value};

/// A record as read from a topic, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: i64,
    pub partition: i32,
    pub offset: i64,
    pub window: Option<WindowBounds>,
}

/// Reads a record as a source's row, with NULL for header columns; the error is the
/// processing log's description.
pub fn decode(source: &Source, record: RawRecord<'_>) -> Result<SourceRecord, String> {
    let key_columns = source.key_format_columns();
    let key = source
        .key_format
        .deserialize(&key_columns, record.key, false)
        .map_err(|e| {
            format!(
                "Failed to deserialize key from topic: {}. {e}",
                source.topic
            )
        })?
        .unwrap_or_else(|| vec![Value::Null; key_columns.len()]);
    let value_columns = source.value_format_columns();
    let value = source
        .value_format
        .deserialize(&value_columns, record.value, source.wrap_single_value)
        .map_err(|e| {
            format!(
                "Failed to deserialize value from topic: {}. {e}",
                source.topic
            )
        })?;
    let value = value.map(|values| with_headers(source, values));
    let timestamp = match (&source.timestamp, &value) {
        (Some(column), Some(values)) => {
            event_time(source, &column.column, values).unwrap_or(record.timestamp)
        }
        _ => record.timestamp,
    };
    Ok(SourceRecord {
        key,
        value,
        timestamp,
        partition: record.partition,
        offset: record.offset,
        window: record.window,
    })
}

/// Places deserialized value columns among the schema's header columns (NULL here).
fn with_headers(source: &Source, values: Row) -> Row {
    let mut values = values.into_iter();
    source
        .schema
        .value_columns()
        .map(|column| match column.kind {
            ColumnKind::Header(_) => Value::Null,
            _ => values.next().unwrap_or(Value::Null),
        })
        .collect()
}

fn event_time(source: &Source, column: &str, values: &[Value]) -> Option<i64> {
    let position = source.schema.value_columns().position(|c| c.name == column);
    let value = match position {
        Some(position) => values.get(position)?,
        None => return None,
    };
    match value {
        Value::Bigint(ms) | Value::Timestamp(ms) => Some(*ms),
        Value::String(text) => crate::expr::time::parse_timestamp(text),
        _ => None,
    }
}

/// A record's key and value bytes; None for a null key or a tombstone.
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Writes an output row with the sink's formats.
pub fn encode(sink: &Source, row: &OutputRow) -> Result<KeyValue, String> {
    let key = sink
        .key_format
        .serialize(&sink.key_format_columns(), &row.key, false)
        .map_err(|e| format!("Failed to serialize key: {e}"))?;
    let value = match &row.value {
        Some(values) => sink
            .value_format
            .serialize(&sink.value_format_columns(), values, sink.wrap_single_value)
            .map_err(|e| format!("Failed to serialize value: {e}"))?,
        None => None,
    };
    Ok((key, value))
}

/// Kafka Streams' windowed key: the key's bytes then the window start as 8 big-endian
/// bytes (time windows), or the end then the start (session windows).
pub fn windowed_key(
    key: Option<Vec<u8>>,
    window: Option<WindowBounds>,
    kind: Option<WindowKind>,
) -> Option<Vec<u8>> {
    let (Some(window), Some(kind)) = (window, kind) else {
        return key;
    };
    let mut bytes = key.unwrap_or_default();
    if kind == WindowKind::Session {
        bytes.extend_from_slice(&window.end.to_be_bytes());
    }
    bytes.extend_from_slice(&window.start.to_be_bytes());
    Some(bytes)
}

/// Splits a windowed key into the key's bytes and its window; a key too short to carry a
/// window is read as unwindowed.
pub fn split_windowed_key(
    key: Option<&[u8]>,
    kind: Option<WindowKind>,
) -> (Option<&[u8]>, Option<WindowBounds>) {
    let (Some(bytes), Some(kind)) = (key, kind) else {
        return (key, None);
    };
    let suffix = if kind == WindowKind::Session { 16 } else { 8 };
    if bytes.len() < suffix {
        return (key, None);
    }
    let (key_bytes, window_bytes) = bytes.split_at(bytes.len() - suffix);
    let read = |at: usize| {
        let mut buffer = [0u8; 8];
        buffer.copy_from_slice(&window_bytes[at..at + 8]);
        i64::from_be_bytes(buffer)
    };
    let window = match kind {
        WindowKind::Session => WindowBounds {
            start: read(8),
            end: read(0),
        },
        WindowKind::Tumbling { size_ms } | WindowKind::Hopping { size_ms } => {
            let start = read(0);
            WindowBounds {
                start,
                end: start.saturating_add(i64::try_from(size_ms).unwrap_or(i64::MAX)),
            }
        }
    };
    (Some(key_bytes), Some(window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windowed_keys_round_trip() {
        let window = WindowBounds {
            start: 30_000,
            end: 60_000,
        };
        let tumbling = Some(WindowKind::Tumbling { size_ms: 30_000 });
        let bytes = windowed_key(Some(b"k".to_vec()), Some(window), tumbling).unwrap();
        assert_eq!(bytes.len(), 9);
        assert_eq!(
            split_windowed_key(Some(&bytes), tumbling),
            (Some(&b"k"[..]), Some(window))
        );
        let session = Some(WindowKind::Session);
        let bytes = windowed_key(Some(b"k".to_vec()), Some(window), session).unwrap();
        assert_eq!(
            split_windowed_key(Some(&bytes), session),
            (Some(&b"k"[..]), Some(window))
        );
        assert_eq!(
            split_windowed_key(Some(b"short"), tumbling),
            (Some(&b"short"[..]), None)
        );
    }
}
