//! `kafka-console-producer`: one record per line of standard input, with the flags of
//! Kafka's `ConsoleProducer`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::line_reader::LineReader;
use super::properties::split_pair;
use super::{parse_args, run, Failure};
use crate::cluster::ClusterConfig;
use crate::producer::{Producer, ProducerConfig, ProducerRecord};

/// This tool helps to read data from standard input and publish it to Kafka.
#[derive(Debug, Parser)]
#[command(name = "kafka-console-producer", version)]
pub struct ConsoleProducerArgs {
    /// REQUIRED unless --broker-list (deprecated) is specified. The server(s) to connect to.
    #[arg(long)]
    pub bootstrap_server: Option<String>,
    /// DEPRECATED, use --bootstrap-server instead.
    #[arg(long)]
    pub broker_list: Option<String>,
    /// REQUIRED: The topic id to produce messages to.
    #[arg(long)]
    pub topic: Option<String>,
    /// The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified
    /// without value, then it defaults to 'gzip'.
    #[arg(long, num_args = 0..=1, default_missing_value = "gzip")]
    pub compression_codec: Option<String>,
    /// If set message send requests to the brokers are synchronously, one at a time as they arrive.
    #[arg(long)]
    pub sync: bool,
    /// Number of messages to send in a single batch if they are not being sent synchronously.
    #[arg(long, default_value_t = 16384)]
    pub batch_size: u64,
    /// If set and the producer is running in asynchronous mode, this gives the maximum amount
    /// of time a message will queue awaiting sufficient batch size (ms).
    #[arg(long, default_value_t = 1000)]
    pub timeout: u64,
    /// The required acks of the producer requests.
    #[arg(long, default_value = "-1")]
    pub request_required_acks: String,
    /// The ack timeout of the producer requests (ms).
    #[arg(long, default_value_t = 1500)]
    pub request_timeout_ms: u64,
    /// A mechanism to pass user-defined properties in the form key=value to the message reader.
    #[arg(long = "property")]
    pub properties: Vec<String>,
    /// A mechanism to pass user-defined properties in the form key=value to the producer.
    #[arg(long = "producer-property")]
    pub producer_properties: Vec<String>,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    match parse_args::<ConsoleProducerArgs>() {
        Ok(args) => run(execute(args)),
        Err(code) => code,
    }
}

/// Producer properties from the flags, `--producer-property` overriding them.
fn producer_properties(args: &ConsoleProducerArgs) -> Result<BTreeMap<String, String>, String> {
    let mut props = BTreeMap::from([
        ("acks".to_owned(), args.request_required_acks.clone()),
        ("linger.ms".to_owned(), args.timeout.to_string()),
        ("batch.size".to_owned(), args.batch_size.to_string()),
        (
            "request.timeout.ms".to_owned(),
            args.request_timeout_ms.to_string(),
        ),
    ]);
    if let Some(codec) = &args.compression_codec {
        props.insert("compression.type".into(), codec.clone());
    }
    if args.sync {
        props.insert("linger.ms".into(), "0".into());
    }
    props.extend(key_values(&args.producer_properties)?);
    Ok(props)
}

fn key_values(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| {
            split_pair(p)
                .ok_or_else(|| format!("Invalid property: {p}, must be in the form key=value"))
        })
        .collect()
}

async fn execute(args: ConsoleProducerArgs) -> Result<(), Failure> {
    let bootstrap = args
        .bootstrap_server
        .clone()
        .or_else(|| args.broker_list.clone())
        .ok_or_else(|| Failure::Usage("Missing required option(s) [bootstrap-server]".into()))?;
    let topic = args
        .topic
        .clone()
        .ok_or_else(|| Failure::Usage("Missing required argument \"[topic]\"".into()))?;
    let props = producer_properties(&args).map_err(Failure::Usage)?;
    let reader =
        LineReader::from_properties(&key_values(&args.properties).map_err(Failure::Usage)?)
            .map_err(Failure::Usage)?;
    let mut cluster = ClusterConfig::new(&bootstrap).map_err(|e| Failure::Usage(e.to_string()))?;
    cluster.client_id = "console-producer".into();
    if let Some(ms) = props.get("request.timeout.ms").and_then(|v| v.parse().ok()) {
        cluster.request_timeout = Duration::from_millis(ms).max(Duration::from_secs(5));
    }
    let config =
        ProducerConfig::from_properties(&props).map_err(|e| Failure::Usage(e.to_string()))?;
    let producer = Producer::new(cluster, config);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut in_flight = Vec::new();
    let mut line_number = 0;
    let mut failed = false;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                return Err(Failure::Usage(format!(
                    "reading standard input failed: {e}"
                )))
            }
        };
        line_number += 1;
        let parsed = reader.parse(&line, line_number).map_err(Failure::Usage)?;
        let describe = (describe_bytes(&parsed.key), describe_bytes(&parsed.value));
        let delivery = producer.send(ProducerRecord {
            topic: topic.clone(),
            partition: None,
            key: parsed.key,
            value: parsed.value,
            headers: parsed.headers,
            timestamp: None,
        });
        if args.sync {
            failed |= report(&topic, describe, delivery.await);
        } else {
            in_flight.push((describe, tokio::spawn(delivery)));
        }
    }
    if producer.close().await.is_err() {
        failed = true;
    }
    for (describe, delivery) in in_flight {
        let result = delivery
            .await
            .unwrap_or(Err(crate::error::ClientError::Closed));
        failed |= report(&topic, describe, result);
    }
    if failed {
        Err(Failure::AlreadyReported)
    } else {
        Ok(())
    }
}

/// `null` or `N bytes`, as Kafka's `ErrorLoggingCallback` describes keys and values.
fn describe_bytes(bytes: &Option<bytes::Bytes>) -> String {
    bytes
        .as_ref()
        .map_or_else(|| "null".to_owned(), |b| format!("{} bytes", b.len()))
}

/// Prints a failed delivery like Kafka's `ErrorLoggingCallback`; true when it failed.
fn report(
    topic: &str,
    (key, value): (String, String),
    result: Result<crate::producer::RecordMetadata, crate::error::ClientError>,
) -> bool {
    match result {
        Ok(_) => false,
        Err(e) => {
            eprintln!("ERROR Error when sending message to topic {topic} with key: {key}, value: {value} with error: {e}");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> ConsoleProducerArgs {
        ConsoleProducerArgs::try_parse_from(
            std::iter::once("kafka-console-producer").chain(line.split_whitespace()),
        )
        .unwrap()
    }

    #[test]
    fn flags_become_producer_properties() {
        let props = producer_properties(&args("--bootstrap-server h:1 --topic t --compression-codec --request-required-acks 1 --producer-property linger.ms=7")).unwrap();
        assert_eq!(props["compression.type"], "gzip");
        assert_eq!(props["acks"], "1");
        assert_eq!(props["linger.ms"], "7");
        let props = producer_properties(&args(
            "--broker-list h:1 --topic t --compression-codec zstd --sync",
        ))
        .unwrap();
        assert_eq!(props["compression.type"], "zstd");
        assert_eq!(props["linger.ms"], "0");
        assert_eq!(props["acks"], "-1");
    }
}
