//! Producing one record from the console: the request checked (size against
//! `produce.max.bytes`, topic and partition against the metadata) and sent with the
//! cluster's producer ([`ClusterHandle::producer`]), shared by every request, so records of
//! many requests travel in the same batches and connections.

use std::sync::Arc;

use axum::http::StatusCode;
use bytes::Bytes;
use potok_client::producer::{ProducerRecord, RecordMetadata};
use potok_client::ClientError;
use serde::{Deserialize, Serialize};

use super::partitions::{partitions_of, select};
use crate::cluster::ClusterHandle;
use crate::error::{UiError, UiResult};

/// A record to produce, as the API takes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProduceRequest {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub headers: Vec<HeaderInput>,
    /// The producer's partitioner chooses when absent.
    #[serde(default)]
    pub partition: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderInput {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// Where the record was written.
#[derive(Debug, Clone, Serialize)]
pub struct Produced {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
}

impl ProduceRequest {
    /// Bytes of key, value and headers.
    pub fn size(&self) -> usize {
        self.key.as_ref().map_or(0, String::len)
            + self.value.as_ref().map_or(0, String::len)
            + self
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, String::len))
                .sum::<usize>()
    }

    /// Refuses a record larger than `max` bytes.
    pub fn check_size(&self, max: usize) -> UiResult<()> {
        let size = self.size();
        if size > max {
            return Err(UiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "MESSAGE_TOO_LARGE",
                format!(
                    "the record's key, value and headers are {size} bytes; this console produces at most {max} bytes (produce.max.bytes)"
                ),
            ));
        }
        Ok(())
    }

    fn record(self, topic: &str) -> ProducerRecord {
        ProducerRecord {
            topic: topic.to_string(),
            partition: self.partition,
            key: self.key.map(Bytes::from),
            value: self.value.map(Bytes::from),
            headers: self
                .headers
                .into_iter()
                .map(|h| (h.key, h.value.map(Bytes::from)))
                .collect(),
            timestamp: None,
        }
    }
}

/// Produces `request` to `topic` once it passes the checks.
pub async fn produce(
    cluster: &Arc<ClusterHandle>,
    topic: &str,
    request: ProduceRequest,
    max_bytes: usize,
) -> UiResult<Produced> {
    request.check_size(max_bytes)?;
    let existing = partitions_of(cluster, topic).await?;
    select(topic, &existing, request.partition)?;
    let record = request.record(topic);
    let sent = match cluster.producer().send(record.clone()).await {
        // The producer's task is gone (its runtime ended): start another, once.
        Err(ClientError::Closed) => {
            cluster.forget_producer();
            cluster.producer().send(record).await
        }
        other => other,
    };
    let RecordMetadata {
        partition,
        offset,
        timestamp,
        ..
    } = sent.map_err(|e| cluster.error(e))?;
    Ok(Produced {
        partition,
        offset,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_counts_key_value_and_headers() {
        let request: ProduceRequest = serde_json::from_str(
            r#"{"key": "ab", "value": "cde", "headers": [{"key": "h", "value": "vv"}, {"key": "n"}], "partition": null}"#,
        )
        .unwrap();
        assert_eq!(request.size(), 2 + 3 + 1 + 2 + 1);
        assert!(request.check_size(9).is_ok());
        let error = request.check_size(8).unwrap_err();
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            error
                .message
                .contains("at most 8 bytes (produce.max.bytes)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_request_becomes_a_record_with_nulls_kept() {
        let request: ProduceRequest = serde_json::from_str(r#"{"value": "v"}"#).unwrap();
        let record = request.record("t");
        assert_eq!(record.topic, "t");
        assert_eq!(record.key, None);
        assert_eq!(record.value.as_deref(), Some(&b"v"[..]));
        assert_eq!(record.partition, None);
        assert!(serde_json::from_str::<ProduceRequest>(r#"{"val": "v"}"#).is_err());
    }
}
