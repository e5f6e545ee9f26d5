//! Producer settings under Kafka's property names, with Kafka's defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::records::Compression;

use crate::error::ClientError;

/// What the producer needs to know beyond the cluster's address.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `acks`: 0 (no answer), 1 (leader), -1 (`all`: the in-sync replicas).
    pub acks: i16,
    /// `linger.ms`: how long a batch waits for more records.
    pub linger: Duration,
    /// `batch.size`: a batch is sent once it holds this many bytes.
    pub batch_size: usize,
    /// `compression.type`.
    pub compression: Compression,
    /// `enable.idempotence`: producer id and sequence numbers, so retries never duplicate.
    pub idempotence: bool,
    /// `delivery.timeout.ms`: how long a record may take, retries included.
    pub delivery_timeout: Duration,
}

impl Default for ProducerConfig {
    /// Kafka 3.x/4.x producer defaults.
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            compression: Compression::None,
            idempotence: true,
            delivery_timeout: Duration::from_secs(120),
        }
    }
}

impl ProducerConfig {
    /// Reads the known keys of `properties`; idempotence is dropped silently when acks is not
    /// `all` unless it was asked for explicitly, as Kafka does.
    pub fn from_properties(
        properties: &BTreeMap<String, String>,
    ) -> Result<ProducerConfig, ClientError> {
        let mut config = ProducerConfig::default();
        if let Some(acks) = properties.get("acks") {
            config.acks = parse_acks(acks)?;
        }
        if let Some(linger) = properties.get("linger.ms") {
            config.linger = Duration::from_millis(number("linger.ms", linger)?);
        }
        if let Some(size) = properties.get("batch.size") {
            config.batch_size = number("batch.size", size)? as usize;
        }
        if let Some(codec) = properties.get("compression.type") {
            config.compression = parse_compression(codec)?;
        }
        if let Some(timeout) = properties.get("delivery.timeout.ms") {
            config.delivery_timeout =
                Duration::from_millis(number("delivery.timeout.ms", timeout)?);
        }
        match properties
            .get("enable.idempotence")
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "true" => {
                if config.acks != -1 {
                    return Err(ClientError::Config(
                        "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.".into(),
                    ));
                }
                config.idempotence = true;
            }
            Some(v) if v == "false" => config.idempotence = false,
            Some(other) => return Err(invalid("enable.idempotence", &other)),
            None => config.idempotence = config.acks == -1,
        }
        Ok(config)
    }
}

/// `acks`: `all`, `-1`, `0` or `1`.
pub fn parse_acks(value: &str) -> Result<i16, ClientError> {
    match value.trim() {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        other => Err(invalid("acks", other)),
    }
}

/// `compression.type`: none, gzip, snappy, lz4, zstd.
pub fn parse_compression(value: &str) -> Result<Compression, ClientError> {
    match value.trim() {
        "none" | "uncompressed" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => Err(invalid("compression.type", other)),
    }
}

fn number(key: &str, value: &str) -> Result<u64, ClientError> {
    value.trim().parse().map_err(|_| invalid(key, value))
}

fn invalid(key: &str, value: &str) -> ClientError {
    ClientError::Config(format!("Invalid value {value} for configuration {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn idempotence_follows_acks_unless_explicit() {
        assert!(
            ProducerConfig::from_properties(&props(&[]))
                .unwrap()
                .idempotence
        );
        assert!(
            !ProducerConfig::from_properties(&props(&[("acks", "1")]))
                .unwrap()
                .idempotence
        );
        assert!(ProducerConfig::from_properties(&props(&[
            ("acks", "1"),
            ("enable.idempotence", "true")
        ]))
        .is_err());
    }

    #[test]
    fn known_keys_are_read() {
        let c = ProducerConfig::from_properties(&props(&[
            ("acks", "all"),
            ("linger.ms", "20"),
            ("batch.size", "100"),
            ("compression.type", "zstd"),
        ]))
        .unwrap();
        assert_eq!(
            (c.acks, c.linger, c.batch_size),
            (-1, Duration::from_millis(20), 100)
        );
        assert_eq!(c.compression, Compression::Zstd);
        assert!(parse_compression("brotli").is_err());
    }
}
