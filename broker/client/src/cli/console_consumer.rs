//! `kafka-console-consumer`: prints records of a topic with Kafka's
//! `DefaultMessageFormatter`, with the flags of Kafka's `ConsoleConsumer`.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::time::Instant;

use super::formatter::{DefaultFormatter, DEFAULT_FORMATTER_NAMES};
use super::properties::split_pair;
use super::{parse_args, run, Failure};
use crate::cluster::{ClusterConfig, TopicPartition};
use crate::consumer::{Consumer, ConsumerConfig, ConsumerRecord, GroupConfig, SeekTo};

/// This tool helps to read data from Kafka topics and outputs it to standard output.
#[derive(Debug, Parser)]
#[command(name = "kafka-console-consumer", version)]
pub struct ConsoleConsumerArgs {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long)]
    pub bootstrap_server: Option<String>,
    /// The topic to consume on.
    #[arg(long)]
    pub topic: Option<String>,
    /// The partition to consume from. Consumption starts from the end of the partition unless
    /// '--offset' is specified.
    #[arg(long)]
    pub partition: Option<i32>,
    /// The offset to consume from (a non-negative number), or 'earliest' which means from
    /// beginning, or 'latest' which means from end.
    #[arg(long, allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// If the consumer does not already have an established offset to consume from, start
    /// with the earliest message present in the log rather than the latest message.
    #[arg(long)]
    pub from_beginning: bool,
    /// The maximum number of messages to consume before exiting.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// If specified, exit if no message is available for consumption for the specified interval.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// The consumer group id of the consumer.
    #[arg(long)]
    pub group: Option<String>,
    /// The name of a class to use for formatting Kafka messages for display.
    #[arg(long)]
    pub formatter: Option<String>,
    /// The properties to initialize the message formatter.
    #[arg(long = "property")]
    pub properties: Vec<String>,
    /// A mechanism to pass user-defined properties in the form key=value to the consumer.
    #[arg(long = "consumer-property")]
    pub consumer_properties: Vec<String>,
    /// If there is an error when processing a message, skip it instead of halt.
    #[arg(long)]
    pub skip_message_on_error: bool,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    match parse_args::<ConsoleConsumerArgs>() {
        Ok(args) => run(execute(args)),
        Err(code) => code,
    }
}

/// What the flags ask for, checked as ConsoleConsumer checks them.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    bootstrap: String,
    topic: String,
    partition: Option<i32>,
    start: SeekTo,
    /// Set when consuming through a consumer group.
    group: Option<GroupConfig>,
    formatter: DefaultFormatter,
}

fn plan(args: &ConsoleConsumerArgs) -> Result<Plan, String> {
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or("Missing required argument \"[bootstrap-server]\"")?;
    let topic = args
        .topic
        .clone()
        .ok_or("Exactly one of whitelist/topic is required.")?;
    if args.offset.is_some() && args.partition.is_none() {
        return Err("The partition is required when offset is specified.".into());
    }
    if args.offset.is_some() && args.from_beginning {
        return Err("Options from-beginning and offset cannot be specified together.".into());
    }
    let consumer_props: BTreeMap<String, String> = pairs(&args.consumer_properties)?;
    let group = group_config(args.group.as_deref(), &consumer_props)?;
    if args.partition.is_some() && group.is_some() {
        return Err("Options group and partition cannot be specified together.".into());
    }
    let reset = match consumer_props.get("auto.offset.reset").map(String::as_str) {
        Some("earliest") => SeekTo::Beginning,
        _ => SeekTo::End,
    };
    let start = match args.offset.as_deref() {
        Some("earliest") => SeekTo::Beginning,
        Some("latest") => SeekTo::End,
        Some(number) => match number.parse::<i64>() {
            Ok(n) if n >= 0 => SeekTo::Offset(n),
            _ => {
                return Err(format!(
                    "The provided offset value '{number}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
                ))
            }
        },
        None if args.from_beginning => SeekTo::Beginning,
        None => reset,
    };
    if let Some(name) = &args.formatter {
        if !DEFAULT_FORMATTER_NAMES.contains(&name.as_str()) {
            return Err(format!(
                "Formatter {name} is not supported; only the DefaultMessageFormatter is."
            ));
        }
    }
    Ok(Plan {
        bootstrap,
        topic,
        partition: args.partition,
        start,
        group,
        formatter: DefaultFormatter::from_properties(&pairs(&args.properties)?),
    })
}

/// The group to consume through, from `--group` or the `group.id` consumer property, with
/// the consumer properties that tune membership.
fn group_config(
    flag: Option<&str>,
    props: &BTreeMap<String, String>,
) -> Result<Option<GroupConfig>, String> {
    let id = match (flag, props.get("group.id")) {
        (Some(a), Some(b)) if a != b => {
            return Err("The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: '".to_string() + a + "', '" + b + "'")
        }
        (Some(id), _) => id.to_string(),
        (None, Some(id)) => id.clone(),
        (None, None) => return Ok(None),
    };
    let mut config = GroupConfig::new(id);
    let millis = |key: &str| -> Result<Option<Duration>, String> {
        props
            .get(key)
            .map(|v| {
                v.parse::<u64>().map(Duration::from_millis).map_err(|_| {
                    format!("Invalid value {v} for configuration {key}: Not a number of type LONG")
                })
            })
            .transpose()
    };
    if let Some(d) = millis("session.timeout.ms")? {
        config.session_timeout = d;
    }
    if let Some(d) = millis("heartbeat.interval.ms")? {
        config.heartbeat_interval = d;
    }
    if let Some(d) = millis("max.poll.interval.ms")? {
        config.rebalance_timeout = d;
    }
    if let Some(d) = millis("auto.commit.interval.ms")? {
        config.auto_commit_interval = Some(d);
    }
    match props.get("enable.auto.commit").map(String::as_str) {
        None | Some("true") => {}
        Some("false") => config.auto_commit_interval = None,
        Some(other) => {
            return Err(format!(
                "Invalid value {other} for configuration enable.auto.commit: Expected value to be either true or false"
            ))
        }
    }
    Ok(Some(config))
}

fn pairs(values: &[String]) -> Result<BTreeMap<String, String>, String> {
    values
        .iter()
        .map(|p| {
            split_pair(p)
                .ok_or_else(|| format!("Invalid property: {p}, must be in the form key=value"))
        })
        .collect()
}

async fn execute(args: ConsoleConsumerArgs) -> Result<(), Failure> {
    let plan = plan(&args).map_err(Failure::Usage)?;
    let mut cluster =
        ClusterConfig::new(&plan.bootstrap).map_err(|e| Failure::Usage(e.to_string()))?;
    cluster.client_id = "console-consumer".into();
    let mut consumer = match plan.group.clone() {
        Some(group) => {
            // With a group, the start position applies only where nothing is committed.
            let config = ConsumerConfig {
                auto_offset_reset: plan.start,
                ..ConsumerConfig::default()
            };
            let mut consumer = Consumer::new(cluster, config);
            consumer.subscribe(group, vec![plan.topic.clone()]);
            consumer
        }
        None => assigned_consumer(cluster, &plan).await?,
    };
    let processed = consume(
        &mut consumer,
        &plan.formatter,
        args.max_messages,
        args.timeout_ms.map(Duration::from_millis),
    )
    .await;
    consumer.close().await;
    let (count, error) = match processed {
        Ok(count) => (count, None),
        Err((count, e)) => (count, Some(e)),
    };
    if let Some(e) = &error {
        eprintln!("ERROR Error processing message, terminating consumer process: {e}");
    }
    eprintln!("Processed a total of {count} messages");
    match error {
        Some(Stop::Failed(_)) => Err(Failure::AlreadyReported),
        _ => Ok(()),
    }
}

/// A consumer of the requested partition, or of every partition of the topic.
async fn assigned_consumer(cluster: ClusterConfig, plan: &Plan) -> Result<Consumer, Failure> {
    let mut consumer = Consumer::new(cluster, ConsumerConfig::default());
    let partitions = match plan.partition {
        Some(p) => vec![TopicPartition::new(plan.topic.clone(), p)],
        None => {
            let c = consumer.cluster().clone();
            let topic = c
                .retry(|| c.refresh_topic(&plan.topic, true))
                .await
                .map_err(|e| {
                    Failure::Usage(format!(
                        "ERROR Error processing message, terminating consumer process: {e}"
                    ))
                })?;
            topic
                .partitions
                .iter()
                .map(|p| TopicPartition::new(plan.topic.clone(), p.partition))
                .collect()
        }
    };
    consumer.assign(partitions.clone());
    for tp in &partitions {
        consumer
            .seek(&tp.topic, tp.partition, plan.start)
            .map_err(|e| Failure::Usage(e.to_string()))?;
    }
    Ok(consumer)
}

/// Why consuming ended early.
#[derive(Debug)]
enum Stop {
    /// `--timeout-ms` passed without a message (Kafka reports a TimeoutException but exits 0).
    Timeout,
    Failed(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Timeout => f.write_str("org.apache.kafka.common.errors.TimeoutException"),
            Stop::Failed(m) => f.write_str(m),
        }
    }
}

/// Polls and prints until `max_messages`, a timeout without messages, Ctrl-C or an error;
/// returns how many messages were printed.
async fn consume(
    consumer: &mut Consumer,
    formatter: &DefaultFormatter,
    max_messages: Option<u64>,
    idle_timeout: Option<Duration>,
) -> Result<u64, (u64, Stop)> {
    let mut count = 0u64;
    let mut last_message = Instant::now();
    let stdout = std::io::stdout();
    loop {
        if max_messages.is_some_and(|max| count >= max) {
            return Ok(count);
        }
        let mut wait = Duration::from_secs(1);
        if let Some(timeout) = idle_timeout {
            let left = (last_message + timeout).saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err((count, Stop::Timeout));
            }
            wait = wait.min(left);
        }
        let records = tokio::select! {
            polled = consumer.poll(wait) => polled.map_err(|e| (count, Stop::Failed(e.to_string())))?,
            _ = tokio::signal::ctrl_c() => return Ok(count),
        };
        if !records.is_empty() {
            last_message = Instant::now();
        }
        let mut out = stdout.lock();
        let mut records = records.into_iter();
        while let Some(record) = records.next() {
            if max_messages.is_some_and(|max| count >= max) {
                rewind(consumer, record, records);
                break;
            }
            out.write_all(&formatter.format(&record))
                .and_then(|()| out.flush())
                .map_err(|e| (count, Stop::Failed(e.to_string())))?;
            count += 1;
        }
    }
}

/// Moves positions back to the first record not printed, so a group commits only what
/// was shown.
fn rewind(
    consumer: &mut Consumer,
    first: ConsumerRecord,
    rest: impl Iterator<Item = ConsumerRecord>,
) {
    let mut earliest: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    for record in std::iter::once(first).chain(rest) {
        earliest
            .entry(TopicPartition::new(record.topic, record.partition))
            .or_insert(record.offset);
    }
    for (tp, offset) in earliest {
        // The partition is assigned: the record came from it.
        let _ = consumer.seek(&tp.topic, tp.partition, SeekTo::Offset(offset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> ConsoleConsumerArgs {
        ConsoleConsumerArgs::try_parse_from(
            std::iter::once("kafka-console-consumer").chain(line.split_whitespace()),
        )
        .unwrap()
    }

    #[test]
    fn start_position_follows_the_flags() {
        let p = plan(&args("--bootstrap-server h:1 --topic t")).unwrap();
        assert_eq!(p.start, SeekTo::End);
        let p = plan(&args("--bootstrap-server h:1 --topic t --from-beginning")).unwrap();
        assert_eq!(p.start, SeekTo::Beginning);
        let p = plan(&args(
            "--bootstrap-server h:1 --topic t --partition 1 --offset 42",
        ))
        .unwrap();
        assert_eq!((p.partition, p.start), (Some(1), SeekTo::Offset(42)));
        let p = plan(&args(
            "--bootstrap-server h:1 --topic t --consumer-property auto.offset.reset=earliest",
        ))
        .unwrap();
        assert_eq!(p.start, SeekTo::Beginning);
    }

    #[test]
    fn group_comes_from_the_flag_or_the_property() {
        let p = plan(&args(
            "--bootstrap-server h:1 --topic t --group g --from-beginning",
        ))
        .unwrap();
        let group = p.group.unwrap();
        assert_eq!(group.group_id, "g");
        assert_eq!(group.auto_commit_interval, Some(Duration::from_secs(5)));
        assert_eq!(p.start, SeekTo::Beginning);
        let p = plan(&args(
            "--bootstrap-server h:1 --topic t --consumer-property group.id=g --consumer-property enable.auto.commit=false --consumer-property session.timeout.ms=10000",
        ))
        .unwrap();
        let group = p.group.unwrap();
        assert_eq!(group.auto_commit_interval, None);
        assert_eq!(group.session_timeout, Duration::from_secs(10));
        assert!(plan(&args(
            "--bootstrap-server h:1 --topic t --group a --consumer-property group.id=b"
        ))
        .unwrap_err()
        .contains("do not match"));
        assert!(plan(&args(
            "--bootstrap-server h:1 --topic t --group a --partition 0"
        ))
        .is_err());
    }

    #[test]
    fn invalid_combinations_are_refused() {
        assert_eq!(
            plan(&args("--bootstrap-server h:1 --topic t --offset 1")).unwrap_err(),
            "The partition is required when offset is specified."
        );
        assert!(plan(&args(
            "--bootstrap-server h:1 --topic t --partition 0 --offset -3"
        ))
        .is_err());
        assert!(plan(&args(
            "--bootstrap-server h:1 --topic t --formatter com.example.Other"
        ))
        .is_err());
        assert!(plan(&args(
            "--bootstrap-server h:1 --topic t --formatter kafka.tools.DefaultMessageFormatter"
        ))
        .is_ok());
    }
}
