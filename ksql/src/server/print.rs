//! PRINT: a topic's records as text lines, as ksqlDB prints them (`rowtime: ..., key: ...,
//! value: ..., partition: ...`), from the latest offset or FROM BEGINNING, every
//! INTERVAL-th record, until LIMIT records or the client leaves.

use std::sync::Arc;
use std::time::Duration;

use potok_client::consumer::{ConsumerConfig, ConsumerRecord, SeekTo};
use potok_client::TopicPartition;
use tokio::sync::mpsc;

use crate::parser::ast::Print;

use super::statements::StatementFailure;
use super::transient::failure;
use super::KsqlServer;

/// How a key or value's bytes read best: as text, a big-endian number, or hex.
fn show(bytes: Option<&[u8]>) -> String {
    let Some(bytes) = bytes else {
        return "<null>".into();
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_string(),
        _ => match bytes.len() {
            4 => i32::from_be_bytes(bytes.try_into().unwrap_or_default()).to_string(),
            8 => i64::from_be_bytes(bytes.try_into().unwrap_or_default()).to_string(),
            _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        },
    }
}

/// The format ksqlDB would name for a key or value.
fn format_name(bytes: Option<&[u8]>) -> &'static str {
    match bytes {
        None => "¯\\_(ツ)_/¯ - no data processed",
        Some(b) if serde_json::from_slice::<serde_json::Value>(b).is_ok_and(|v| v.is_object()) => {
            "JSON or KAFKA_STRING"
        }
        Some(b) if std::str::from_utf8(b).is_ok_and(|t| !t.chars().any(char::is_control)) => {
            "KAFKA_STRING"
        }
        Some(b) if b.len() == 4 => "KAFKA_INT or KAFKA_STRING",
        Some(b) if b.len() == 8 => "KAFKA_BIGINT or KAFKA_DOUBLE",
        Some(_) => "KAFKA_BYTES",
    }
}

/// One record as a PRINT line.
pub fn line(record: &ConsumerRecord) -> String {
    let rowtime = chrono::DateTime::from_timestamp_millis(record.timestamp).map_or_else(
        || "N/A".to_string(),
        |t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
    );
    format!(
        "rowtime: {rowtime}, key: {}, value: {}, partition: {}",
        show(record.key.as_deref()),
        show(record.value.as_deref()),
        record.partition
    )
}

impl KsqlServer {
    /// Starts printing a topic; the lines arrive on the returned channel.
    pub async fn start_print(
        self: &Arc<Self>,
        text: &str,
        print: &Print,
    ) -> Result<mpsc::Receiver<String>, StatementFailure> {
        let topics = self.io.topics().await.map_err(|e| failure(text, e))?;
        let Some(partitions) = topics.get(&print.topic).copied() else {
            return Err(failure(
                text,
                format!(
                    "Could not find topic '{}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.",
                    print.topic
                ),
            ));
        };
        let mut consumer = self.io.consumer(ConsumerConfig {
            auto_offset_reset: if print.from_beginning {
                SeekTo::Beginning
            } else {
                SeekTo::End
            },
            ..ConsumerConfig::default()
        });
        consumer.assign(
            (0..partitions)
                .map(|p| TopicPartition::new(print.topic.clone(), p))
                .collect(),
        );
        let (lines, receiver) = mpsc::channel(256);
        let interval = print.interval.unwrap_or(1).max(1);
        let limit = print.limit;
        tokio::spawn(async move {
            let (mut seen, mut printed) = (0u64, 0u64);
            loop {
                let records = tokio::select! {
                    _ = lines.closed() => break,
                    polled = consumer.poll(Duration::from_millis(200)) => polled,
                };
                let Ok(records) = records else {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                };
                for record in &records {
                    if seen == 0 {
                        let formats = format!(
                            "Key format: {}\nValue format: {}",
                            format_name(record.key.as_deref()),
                            format_name(record.value.as_deref())
                        );
                        if lines.send(formats).await.is_err() {
                            return;
                        }
                    }
                    seen += 1;
                    if (seen - 1) % interval != 0 {
                        continue;
                    }
                    if lines.send(line(record)).await.is_err() {
                        return;
                    }
                    printed += 1;
                    if limit.is_some_and(|limit| printed >= limit) {
                        return;
                    }
                }
            }
            consumer.close().await;
        });
        Ok(receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_bytes_as_text_numbers_or_hex() {
        assert_eq!(show(None), "<null>");
        assert_eq!(show(Some(b"{\"a\":1}")), "{\"a\":1}");
        assert_eq!(show(Some(&7i32.to_be_bytes())), "7");
        assert_eq!(show(Some(&[0xff, 0x00])), "ff00");
        assert_eq!(format_name(Some(b"{\"a\":1}")), "JSON or KAFKA_STRING");
    }
}
