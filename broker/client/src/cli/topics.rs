//! `kafka-topics`: create, list, describe, alter (partition count) and delete topics,
//! with the flags, checks, messages and output layout of Kafka's `TopicCommand`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use clap::Parser;

use super::topic_filter;
use super::{parse_args, run, CommandError, Failure};
use crate::admin::{
    AdminClient, ConfigEntry, ConfigResource, NewPartitions, NewTopic, PartitionInfo,
    PartitionReassignment, TopicDescription,
};
use crate::cluster::{ClusterConfig, TopicPartition};
use crate::topic_id;

/// Create, delete, describe, or change a topic.
#[derive(Debug, Parser)]
#[command(name = "kafka-topics", version)]
pub struct TopicsArgs {
    /// REQUIRED: The Kafka server to connect to.
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// List all available topics.
    #[arg(long)]
    pub list: bool,
    /// Create a new topic.
    #[arg(long)]
    pub create: bool,
    /// Delete a topic.
    #[arg(long)]
    pub delete: bool,
    /// Alter the number of partitions and replica assignment.
    #[arg(long)]
    pub alter: bool,
    /// List details for the given topics.
    #[arg(long)]
    pub describe: bool,
    /// The topic to create, alter, describe or delete. It also accepts a regular expression,
    /// except for --create option.
    #[arg(long)]
    pub topic: Option<String>,
    /// A topic configuration override for the topic being created.
    #[arg(long = "config", value_name = "name=value")]
    pub configs: Vec<String>,
    /// The number of partitions for the topic being created or altered.
    #[arg(long, value_name = "# of partitions")]
    pub partitions: Option<i32>,
    /// The replication factor for each partition in the topic being created.
    #[arg(long, value_name = "replication factor")]
    pub replication_factor: Option<i32>,
    /// A list of manual partition-to-broker assignments for the topic being created or altered.
    #[arg(long)]
    pub replica_assignment: Option<String>,
    /// If set when describing topics, only show under-replicated partitions.
    #[arg(long)]
    pub under_replicated_partitions: bool,
    /// If set when describing topics, only show partitions whose leader is not available.
    #[arg(long)]
    pub unavailable_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is less than the
    /// configured minimum.
    #[arg(long)]
    pub under_min_isr_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is equal to the
    /// configured minimum.
    #[arg(long)]
    pub at_min_isr_partitions: bool,
    /// If set when describing topics, only show topics that have overridden configs.
    #[arg(long)]
    pub topics_with_overrides: bool,
    /// If set when altering or deleting or describing topics, the action will only execute
    /// if the topic exists.
    #[arg(long)]
    pub if_exists: bool,
    /// If set when creating topics, the create request will not fail if the topic already exists.
    #[arg(long)]
    pub if_not_exists: bool,
    /// Exclude internal topics when listing or describing topics.
    #[arg(long)]
    pub exclude_internal: bool,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    match parse_args::<TopicsArgs>() {
        Ok(args) => run(execute(args)),
        Err(code) => code,
    }
}

async fn execute(args: TopicsArgs) -> Result<(), Failure> {
    let bootstrap = check_args(&args).map_err(Failure::Usage)?;
    let config = ClusterConfig::new(&bootstrap).map_err(|e| Failure::Usage(e.to_string()))?;
    let admin = AdminClient::new(config);
    let outcome = if args.create {
        create(&admin, &args).await
    } else if args.alter {
        alter(&admin, &args).await
    } else if args.list {
        list(&admin, &args).await
    } else if args.describe {
        describe(&admin, &args).await
    } else {
        delete(&admin, &args).await
    };
    outcome.map_err(|e| match e {
        CommandError::Argument(message) => Failure::Usage(message),
        CommandError::Client(e) => {
            Failure::Stdout(format!("Error while executing topic command : {e}"))
        }
    })
}

/// TopicCommand's argument checks; returns the bootstrap servers.
fn check_args(args: &TopicsArgs) -> Result<String, String> {
    let actions = [
        args.create,
        args.list,
        args.alter,
        args.describe,
        args.delete,
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err("Command must include exactly one action: --list, --describe, --create, --alter or --delete".into());
    }
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or("--bootstrap-server must be specified")?;
    if !args.list && !args.describe && args.topic.is_none() {
        return Err("Missing required argument \"[topic]\"".into());
    }
    if args.alter && args.partitions.is_none() {
        return Err("Missing required argument \"[partitions]\"".into());
    }
    let action = if args.create {
        "create"
    } else if args.alter {
        "alter"
    } else if args.list {
        "list"
    } else if args.describe {
        "describe"
    } else {
        "delete"
    };
    let invalid = |option: &str, allowed: &[&str]| -> Result<(), String> {
        if allowed.contains(&action) {
            Ok(())
        } else {
            Err(format!(
                "Option \"[{option}]\" can't be used with option \"[{action}]\""
            ))
        }
    };
    if !args.configs.is_empty() {
        if args.alter {
            return Err("Option \"[alter]\" can't be used with option \"[config]\" (To alter topic configurations, the kafka-configs tool can be used.)".into());
        }
        invalid("config", &["create"])?;
    }
    if args.partitions.is_some() {
        invalid("partitions", &["create", "alter"])?;
    }
    if args.replication_factor.is_some() {
        invalid("replication-factor", &["create"])?;
    }
    if args.replica_assignment.is_some() {
        invalid("replica-assignment", &["create", "alter"])?;
        if args.create && args.partitions.is_some() {
            return Err(
                "Option \"[replica-assignment]\" can't be used with option \"[partitions]\"".into(),
            );
        }
        if args.create && args.replication_factor.is_some() {
            return Err("Option \"[replica-assignment]\" can't be used with option \"[replication-factor]\"".into());
        }
    }
    let reports = [
        (
            "under-replicated-partitions",
            args.under_replicated_partitions,
        ),
        ("under-min-isr-partitions", args.under_min_isr_partitions),
        ("at-min-isr-partitions", args.at_min_isr_partitions),
        ("unavailable-partitions", args.unavailable_partitions),
    ];
    for (name, set) in reports {
        if set {
            invalid(name, &["describe"])?;
            if args.topics_with_overrides {
                return Err(format!(
                    "Option \"[{name}]\" can't be used with option \"[topics-with-overrides]\""
                ));
            }
        }
    }
    if args.topics_with_overrides {
        invalid("topics-with-overrides", &["describe"])?;
    }
    if args.if_exists {
        invalid("if-exists", &["alter", "delete", "describe"])?;
    }
    if args.if_not_exists {
        invalid("if-not-exists", &["create"])?;
    }
    if args.exclude_internal {
        invalid("exclude-internal", &["list", "describe"])?;
    }
    Ok(bootstrap)
}

/// `--config k=v` as TopicCommand splits it: exactly one `=`, surrounding spaces trimmed.
fn parse_configs(configs: &[String]) -> Result<Vec<(String, String)>, String> {
    configs
        .iter()
        .map(|c| {
            let parts: Vec<&str> = c.split('=').collect();
            match parts.as_slice() {
                [k, v] => Ok((k.trim().to_owned(), v.trim().to_owned())),
                _ => Err("requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".".to_owned()),
            }
        })
        .collect()
}

/// `--replica-assignment 1:2,2:3`: replicas per partition, partitions separated by commas.
fn parse_replica_assignment(raw: &str) -> Result<BTreeMap<i32, Vec<i32>>, String> {
    let mut assignment = BTreeMap::new();
    for (partition, replicas) in raw.split(',').enumerate() {
        let brokers = replicas
            .split(':')
            .map(|b| {
                b.trim()
                    .parse::<i32>()
                    .map_err(|_| format!("For input string: \"{}\"", b.trim()))
            })
            .collect::<Result<Vec<i32>, String>>()?;
        let unique: BTreeSet<i32> = brokers.iter().copied().collect();
        if unique.len() != brokers.len() {
            let duplicates: Vec<String> = unique
                .iter()
                .filter(|b| brokers.iter().filter(|x| x == b).count() > 1)
                .map(i32::to_string)
                .collect();
            return Err(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                duplicates.join(",")
            ));
        }
        let first_len = assignment.get(&0).map_or(brokers.len(), Vec::len);
        if brokers.len() != first_len {
            return Err(format!(
                "Partition {partition} has different replication factor: {brokers:?}"
            ));
        }
        assignment.insert(partition as i32, brokers);
    }
    Ok(assignment)
}

fn new_topic(args: &TopicsArgs) -> Result<NewTopic, String> {
    let name = args.topic.clone().unwrap_or_default();
    if let Some(rf) = args.replication_factor {
        if !(1..=i32::from(i16::MAX)).contains(&rf) {
            return Err(format!(
                "The replication factor must be between 1 and {} inclusive",
                i16::MAX
            ));
        }
    }
    if args.partitions.is_some_and(|p| p < 1) {
        return Err("The partitions must be greater than 0".into());
    }
    Ok(NewTopic {
        name,
        partitions: args.partitions,
        replication_factor: args.replication_factor.map(|rf| rf as i16),
        replica_assignment: match &args.replica_assignment {
            Some(raw) if !raw.is_empty() => parse_replica_assignment(raw)?,
            _ => BTreeMap::new(),
        },
        configs: parse_configs(&args.configs)?,
    })
}

async fn create(admin: &AdminClient, args: &TopicsArgs) -> Result<(), CommandError> {
    let topic = new_topic(args).map_err(CommandError::Argument)?;
    if topic.name.contains('.') || topic.name.contains('_') {
        println!("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
    }
    let results = admin
        .create_topics(std::slice::from_ref(&topic), false)
        .await?;
    match results.get(&topic.name) {
        Some(Err(e))
            if e.is(kafka_protocol::error::ResponseError::TopicAlreadyExists)
                && args.if_not_exists =>
        {
            Ok(())
        }
        Some(Err(e)) => Err(e.clone().into()),
        _ => {
            println!("Created topic {}.", topic.name);
            Ok(())
        }
    }
}

/// The topics `--topic` selects, with Kafka's "does not exist" check unless `--if-exists`.
async fn selected_topics(
    admin: &AdminClient,
    args: &TopicsArgs,
) -> Result<Vec<String>, CommandError> {
    let all = admin
        .list_topics(!args.exclude_internal)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let topics = topic_filter::select(all, args.topic.as_deref(), args.exclude_internal)
        .map_err(CommandError::Argument)?;
    if let Some(requested) = args.topic.as_deref().filter(|t| !t.is_empty()) {
        if topics.is_empty() && !args.if_exists && !args.list {
            return Err(CommandError::Argument(format!(
                "Topic '{requested}' does not exist as expected"
            )));
        }
    }
    Ok(topics)
}

async fn list(admin: &AdminClient, args: &TopicsArgs) -> Result<(), CommandError> {
    for topic in selected_topics(admin, args).await? {
        println!("{topic}");
    }
    Ok(())
}

async fn alter(admin: &AdminClient, args: &TopicsArgs) -> Result<(), CommandError> {
    let topics = selected_topics(admin, args).await?;
    if topics.is_empty() {
        return Ok(());
    }
    let total_count = args.partitions.unwrap_or_default();
    let extra_assignment = match &args.replica_assignment {
        Some(raw) if !raw.is_empty() => {
            Some(parse_replica_assignment(raw).map_err(CommandError::Argument)?)
        }
        _ => None,
    };
    let mut increases = Vec::new();
    for topic in &topics {
        let assignments = match &extra_assignment {
            None => None,
            Some(all) => {
                let current = admin.describe_topics(std::slice::from_ref(topic)).await?;
                let existing = match current.get(topic) {
                    Some(Ok(d)) => d.partitions.len(),
                    Some(Err(e)) => return Err(e.clone().into()),
                    None => 0,
                };
                Some(all.values().skip(existing).cloned().collect())
            }
        };
        increases.push(NewPartitions {
            topic: topic.clone(),
            total_count,
            assignments,
        });
    }
    let results = admin.create_partitions(&increases, false).await?;
    first_error(results.into_values())
}

async fn delete(admin: &AdminClient, args: &TopicsArgs) -> Result<(), CommandError> {
    let topics = selected_topics(admin, args).await?;
    if topics.is_empty() {
        return Ok(());
    }
    let results = admin.delete_topics(&topics).await?;
    first_error(results.into_values())
}

fn first_error(
    results: impl Iterator<Item = Result<(), crate::error::KafkaError>>,
) -> Result<(), CommandError> {
    results
        .collect::<Result<Vec<()>, _>>()
        .map(|_| ())
        .map_err(Into::into)
}

async fn describe(admin: &AdminClient, args: &TopicsArgs) -> Result<(), CommandError> {
    let topics = selected_topics(admin, args).await?;
    if topics.is_empty() {
        return Ok(());
    }
    let descriptions = admin.describe_topics(&topics).await?;
    let resources: Vec<ConfigResource> = topics.iter().map(|t| ConfigResource::topic(t)).collect();
    let configs = admin.describe_configs(&resources, false).await?;
    let live_brokers: BTreeSet<i32> = admin
        .describe_cluster()
        .await?
        .brokers
        .iter()
        .map(|b| b.id)
        .collect();
    let partitions: Vec<TopicPartition> = descriptions
        .iter()
        .filter_map(|(name, d)| Some((name, d.as_ref().ok()?)))
        .flat_map(|(name, d)| {
            d.partitions
                .iter()
                .map(|p| TopicPartition::new(name.as_str(), p.partition))
        })
        .collect();
    // As Kafka's tool: a broker that cannot list reassignments describes without them.
    let moving = admin
        .list_partition_reassignments(Some(&partitions))
        .await
        .unwrap_or_default();
    let options = DescribeOptions::from(args);
    let mut configs_by_topic: BTreeMap<String, Vec<ConfigEntry>> = BTreeMap::new();
    for (resource, result) in configs {
        configs_by_topic.insert(resource.name, result?);
    }
    for (name, description) in descriptions {
        let description = description?;
        let entries = configs_by_topic.remove(&name).unwrap_or_default();
        for line in describe_lines(&description, &entries, &live_brokers, &moving, &options) {
            println!("{line}");
        }
    }
    Ok(())
}

/// Which parts of a description `--describe` prints, from the report flags.
#[derive(Debug, Default, Clone)]
struct DescribeOptions {
    under_replicated: bool,
    unavailable: bool,
    under_min_isr: bool,
    at_min_isr: bool,
    with_overrides: bool,
}

impl From<&TopicsArgs> for DescribeOptions {
    fn from(args: &TopicsArgs) -> Self {
        DescribeOptions {
            under_replicated: args.under_replicated_partitions,
            unavailable: args.unavailable_partitions,
            under_min_isr: args.under_min_isr_partitions,
            at_min_isr: args.at_min_isr_partitions,
            with_overrides: args.topics_with_overrides,
        }
    }
}

impl DescribeOptions {
    fn any_report(&self) -> bool {
        self.under_replicated || self.unavailable || self.under_min_isr || self.at_min_isr
    }
}

/// The lines `kafka-topics --describe` prints for one topic.
fn describe_lines(
    topic: &TopicDescription,
    configs: &[ConfigEntry],
    live_brokers: &BTreeSet<i32>,
    moving: &BTreeMap<TopicPartition, PartitionReassignment>,
    options: &DescribeOptions,
) -> Vec<String> {
    let mut lines = Vec::new();
    let has_non_default = configs.iter().any(|c| !c.is_default());
    let reassignment =
        |p: &PartitionInfo| moving.get(&TopicPartition::new(topic.name.as_str(), p.partition));
    if !options.any_report() && (!options.with_overrides || has_non_default) {
        if let Some(first) = topic.partitions.first() {
            // Kafka counts a partition being moved by the replicas it is not adding.
            let adding = reassignment(first).map_or(0, |r| r.adding_replicas.len());
            lines.push(topic_line(topic, first.replicas.len() - adding, configs));
        }
    }
    if options.with_overrides {
        return lines;
    }
    let min_isr = configs
        .iter()
        .find(|c| c.name == "min.insync.replicas")
        .and_then(|c| c.value.as_deref())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    for partition in &topic.partitions {
        let under_replicated = partition.replicas.len() > partition.isr.len();
        let unavailable = partition.leader.is_none_or(|l| !live_brokers.contains(&l));
        let under_min_isr = partition.leader.is_none() || partition.isr.len() < min_isr;
        let at_min_isr = partition.isr.len() == min_isr;
        let print = !options.any_report()
            || (options.under_replicated && under_replicated)
            || (options.unavailable && unavailable)
            || (options.under_min_isr && under_min_isr)
            || (options.at_min_isr && at_min_isr);
        if print {
            lines.push(partition_line(
                &topic.name,
                partition,
                reassignment(partition),
            ));
        }
    }
    lines
}

/// `Topic: t\tTopicId: ...\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: k=v,...`; the
/// configs are those not at their built-in default, as Kafka's `ConfigEntry.isDefault`.
fn topic_line(
    topic: &TopicDescription,
    replication_factor: usize,
    configs: &[ConfigEntry],
) -> String {
    let configs: Vec<String> = configs
        .iter()
        .filter(|c| !c.is_default())
        .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("null")))
        .collect();
    let mut line = format!("Topic: {}", topic.name);
    if !topic.id.is_nil() {
        line.push_str(&format!(
            "\tTopicId: {}",
            topic_id::to_kafka_string(&topic.id)
        ));
    }
    line.push_str(&format!(
        "\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        topic.partitions.len(),
        replication_factor,
        configs.join(",")
    ));
    line
}

/// `\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tElr: \tLastKnownElr: `;
/// `N/A` for ELR lists the broker did not report, `none` for a missing leader, and the
/// adding and removing replicas after the ISR while the partition is being moved.
fn partition_line(
    topic: &str,
    p: &PartitionInfo,
    moving: Option<&PartitionReassignment>,
) -> String {
    let join = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let optional = |ids: &Option<Vec<i32>>| ids.as_deref().map_or_else(|| "N/A".to_owned(), join);
    let moves = moving.map_or_else(String::new, |r| {
        format!(
            "\tAdding Replicas: {}\tRemoving Replicas: {}",
            join(&r.adding_replicas),
            join(&r.removing_replicas)
        )
    });
    format!(
        "\tTopic: {topic}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}{moves}\tElr: {}\tLastKnownElr: {}",
        p.partition,
        p.leader.map_or_else(|| "none".to_owned(), |l| l.to_string()),
        join(&p.replicas),
        join(&p.isr),
        optional(&p.elr),
        optional(&p.last_known_elr),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::ConfigSource;
    use uuid::Uuid;

    fn args(line: &str) -> TopicsArgs {
        TopicsArgs::try_parse_from(std::iter::once("kafka-topics").chain(line.split_whitespace()))
            .unwrap()
    }

    fn entry(name: &str, value: &str, source: ConfigSource) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source,
            read_only: false,
            sensitive: false,
            synonyms: vec![],
        }
    }

    fn partition(
        index: i32,
        leader: Option<i32>,
        replicas: Vec<i32>,
        isr: Vec<i32>,
    ) -> PartitionInfo {
        PartitionInfo {
            partition: index,
            leader,
            replicas,
            isr,
            elr: Some(vec![]),
            last_known_elr: Some(vec![]),
            offline_replicas: vec![],
        }
    }

    fn description() -> TopicDescription {
        TopicDescription {
            name: "test".into(),
            id: Uuid::parse_str("fbfffe00-0102-0304-0506-0708090a0bff").unwrap(),
            is_internal: false,
            partitions: vec![
                partition(0, Some(1), vec![1, 2], vec![1, 2]),
                partition(1, Some(2), vec![2, 1], vec![2]),
            ],
        }
    }

    #[test]
    fn create_arguments_become_a_new_topic() {
        let a = args("--bootstrap-server h:1 --create --topic t --partitions 3 --replication-factor 2 --config a=1 --config b=2");
        assert_eq!(check_args(&a).unwrap(), "h:1");
        let topic = new_topic(&a).unwrap();
        assert_eq!(topic.partitions, Some(3));
        assert_eq!(topic.replication_factor, Some(2));
        assert_eq!(
            topic.configs,
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn argument_checks_match_topic_command() {
        let no_action = args("--bootstrap-server h:1 --topic t");
        assert!(check_args(&no_action)
            .unwrap_err()
            .starts_with("Command must include exactly one action"));
        let no_bootstrap = args("--list");
        assert_eq!(
            check_args(&no_bootstrap).unwrap_err(),
            "--bootstrap-server must be specified"
        );
        let alter_without_partitions = args("--bootstrap-server h:1 --alter --topic t");
        assert_eq!(
            check_args(&alter_without_partitions).unwrap_err(),
            "Missing required argument \"[partitions]\""
        );
        let bad = args("--bootstrap-server h:1 --describe --topic t --partitions 2");
        assert_eq!(
            check_args(&bad).unwrap_err(),
            "Option \"[partitions]\" can't be used with option \"[describe]\""
        );
        let bad_config = parse_configs(&["a=b=c".into()]).unwrap_err();
        assert!(bad_config.contains("key=val"));
        let rf = new_topic(&args(
            "--bootstrap-server h:1 --create --topic t --replication-factor 0",
        ))
        .unwrap_err();
        assert_eq!(
            rf,
            "The replication factor must be between 1 and 32767 inclusive"
        );
    }

    #[test]
    fn replica_assignment_is_parsed_per_partition() {
        let parsed = parse_replica_assignment("1:2,2:3").unwrap();
        assert_eq!(parsed, BTreeMap::from([(0, vec![1, 2]), (1, vec![2, 3])]));
        assert!(parse_replica_assignment("1:1")
            .unwrap_err()
            .contains("duplicate entries: 1"));
        assert!(parse_replica_assignment("1:2,3")
            .unwrap_err()
            .contains("different replication factor"));
    }

    #[test]
    fn describe_prints_kafkas_layout() {
        let configs = vec![
            entry("min.insync.replicas", "2", ConfigSource::DynamicTopicConfig),
            entry(
                "segment.bytes",
                "1073741824",
                ConfigSource::StaticBrokerConfig,
            ),
            entry("retention.ms", "604800000", ConfigSource::DefaultConfig),
        ];
        let lines = describe_lines(
            &description(),
            &configs,
            &BTreeSet::from([1, 2]),
            &BTreeMap::new(),
            &DescribeOptions::default(),
        );
        assert_eq!(
            lines,
            [
                "Topic: test\tTopicId: -__-AAECAwQFBgcICQoL_w\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: min.insync.replicas=2,segment.bytes=1073741824",
                "\tTopic: test\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tElr: \tLastKnownElr: ",
                "\tTopic: test\tPartition: 1\tLeader: 2\tReplicas: 2,1\tIsr: 2\tElr: \tLastKnownElr: ",
            ]
        );
    }

    #[test]
    fn a_partition_being_moved_shows_its_adding_and_removing_replicas() {
        let moving = BTreeMap::from([(
            TopicPartition::new("test", 0),
            PartitionReassignment {
                replicas: vec![3, 2, 1],
                adding_replicas: vec![3],
                removing_replicas: vec![1],
            },
        )]);
        let mut topic = description();
        topic.partitions[0].replicas = vec![3, 2, 1];
        let lines = describe_lines(
            &topic,
            &[],
            &BTreeSet::from([1, 2, 3]),
            &moving,
            &DescribeOptions::default(),
        );
        assert!(
            lines[0].contains("\tReplicationFactor: 2\t"),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            "\tTopic: test\tPartition: 0\tLeader: 1\tReplicas: 3,2,1\tIsr: 1,2\tAdding Replicas: 3\tRemoving Replicas: 1\tElr: \tLastKnownElr: "
        );
    }

    #[test]
    fn partition_line_marks_missing_leader_and_unknown_elr() {
        let mut p = partition(3, None, vec![1], vec![]);
        p.elr = None;
        p.last_known_elr = None;
        assert_eq!(
            partition_line("t", &p, None),
            "\tTopic: t\tPartition: 3\tLeader: none\tReplicas: 1\tIsr: \tElr: N/A\tLastKnownElr: N/A"
        );
    }

    #[test]
    fn reports_filter_partitions_and_hide_the_topic_line() {
        let configs = vec![entry(
            "min.insync.replicas",
            "2",
            ConfigSource::DynamicTopicConfig,
        )];
        let under = DescribeOptions {
            under_replicated: true,
            ..DescribeOptions::default()
        };
        let lines = describe_lines(
            &description(),
            &configs,
            &BTreeSet::from([1, 2]),
            &BTreeMap::new(),
            &under,
        );
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("Partition: 1"));
        let unavailable = DescribeOptions {
            unavailable: true,
            ..DescribeOptions::default()
        };
        let lines = describe_lines(
            &description(),
            &configs,
            &BTreeSet::from([1]),
            &BTreeMap::new(),
            &unavailable,
        );
        assert!(lines[0].contains("Partition: 1"));
        let overrides = DescribeOptions {
            with_overrides: true,
            ..DescribeOptions::default()
        };
        assert_eq!(
            describe_lines(
                &description(),
                &configs,
                &BTreeSet::new(),
                &BTreeMap::new(),
                &overrides
            )
            .len(),
            1
        );
        let defaults = vec![entry("retention.ms", "1", ConfigSource::DefaultConfig)];
        assert!(describe_lines(
            &description(),
            &defaults,
            &BTreeSet::new(),
            &BTreeMap::new(),
            &overrides
        )
        .is_empty());
    }
}
