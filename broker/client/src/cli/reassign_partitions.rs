//! `kafka-reassign-partitions`: propose (`--generate`), start (`--execute`), check
//! (`--verify`), cancel (`--cancel`) and list (`--list`) moves of partitions between brokers,
//! with the flags, JSON files, messages and exit codes of Kafka's `ReassignPartitionsCommand`.
//!
//! Potok's brokers have no replication throttles and one log directory each, so
//! `--throttle`, `--replica-alter-log-dirs-throttle` and log directories other than "any"
//! are refused with a message saying so; `--preserve-throttles` is accepted and has
//! nothing to preserve.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use clap::Parser;

use super::reassignment_json::{format_reassignment, parse_reassignment, parse_topics_to_move};
use super::reassignment_plan::{
    broker_placements, check_execute_input, duplicates, failures_text, java_set, joined, list_text,
    moving_partitions, parse_broker_list, plural, propose, verify_text,
};
use super::{parse_args, properties, run, Failure};
use crate::admin::AdminClient;
use crate::cluster::{ClusterConfig, TopicPartition};
use crate::error::KafkaError;
use crate::placement::StartIndex;

/// Kafka's `client.id` for this tool, unless `--command-config` sets one.
const CLIENT_ID: &str = "reassign-partitions-tool";

/// Kafka's refusal to start reassignments while others are in progress.
const CANNOT_EXECUTE_BECAUSE_OF_EXISTING: &str = "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.";

/// This tool helps to move topic partitions between replicas.
#[derive(Debug, Parser)]
#[command(name = "kafka-reassign-partitions", version)]
pub struct ReassignPartitionsArgs {
    /// REQUIRED: the server(s) to use for bootstrapping.
    #[arg(long, value_name = "Server(s) to use for bootstrapping")]
    pub bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "Admin client property file")]
    pub command_config: Option<String>,
    /// Generate a candidate partition reassignment configuration. Note that this only
    /// generates a candidate assignment, it does not execute it.
    #[arg(long)]
    pub generate: bool,
    /// Kick off the reassignment as specified by the --reassignment-json-file option.
    #[arg(long)]
    pub execute: bool,
    /// Verify if the reassignment completed as specified by the --reassignment-json-file
    /// option.
    #[arg(long)]
    pub verify: bool,
    /// Cancel an active reassignment.
    #[arg(long)]
    pub cancel: bool,
    /// List all active partition reassignments.
    #[arg(long)]
    pub list: bool,
    /// The JSON file with the partition reassignment configuration. The format to use is -
    /// {"partitions": [{"topic": "foo", "partition": 1, "replicas": [1,2,3], "log_dirs":
    /// ["any","any","any"]}], "version":1}. "log_dirs" is optional; only "any" is supported.
    #[arg(long, value_name = "manual assignment json file path")]
    pub reassignment_json_file: Option<String>,
    /// Generate a reassignment configuration to move the partitions of the specified topics
    /// to the list of brokers specified by the --broker-list option. The format to use is -
    /// {"topics": [{"topic": "foo"},{"topic": "foo1"}], "version":1}
    #[arg(long, value_name = "topics to reassign json file path")]
    pub topics_to_move_json_file: Option<String>,
    /// The list of brokers to which the partitions need to be reassigned in the form
    /// "0,1,2". This is required if --topics-to-move-json-file is used to generate
    /// reassignment configuration.
    #[arg(long, value_name = "brokerlist")]
    pub broker_list: Option<String>,
    /// Disable rack aware replica assignment.
    #[arg(long)]
    pub disable_rack_aware: bool,
    /// Not supported: Potok brokers do not throttle replication.
    #[arg(long, value_name = "throttle", allow_hyphen_values = true)]
    pub throttle: Option<i64>,
    /// Not supported: Potok brokers have one log directory and no log directory throttle.
    #[arg(
        long,
        value_name = "replicaAlterLogDirsThrottle",
        allow_hyphen_values = true
    )]
    pub replica_alter_log_dirs_throttle: Option<i64>,
    /// The maximum time in ms to wait for log directory replica assignment to begin.
    #[arg(long, value_name = "timeout")]
    pub timeout: Option<i64>,
    /// Execute this reassignment in addition to any other ongoing ones.
    #[arg(long)]
    pub additional: bool,
    /// Do not modify broker or topic throttles.
    #[arg(long)]
    pub preserve_throttles: bool,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    match parse_args::<ReassignPartitionsArgs>() {
        Ok(args) => run(execute(args)),
        Err(code) => code,
    }
}

/// The one thing a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Generate,
    Execute,
    Verify,
    Cancel,
    List,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Generate => "generate",
            Action::Execute => "execute",
            Action::Verify => "verify",
            Action::Cancel => "cancel",
            Action::List => "list",
        }
    }

    /// The options an action needs, then those it also accepts (Kafka's required and
    /// permitted argument tables).
    fn options(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Action::Generate => (
                &["topics-to-move-json-file", "broker-list"],
                &["bootstrap-server", "command-config", "disable-rack-aware"],
            ),
            Action::Execute => (
                &["reassignment-json-file"],
                &[
                    "additional",
                    "bootstrap-server",
                    "command-config",
                    "throttle",
                    "replica-alter-log-dirs-throttle",
                    "timeout",
                ],
            ),
            Action::Verify => (
                &["reassignment-json-file"],
                &["bootstrap-server", "command-config", "preserve-throttles"],
            ),
            Action::Cancel => (
                &["reassignment-json-file"],
                &[
                    "bootstrap-server",
                    "command-config",
                    "preserve-throttles",
                    "timeout",
                ],
            ),
            Action::List => (&[], &["bootstrap-server", "command-config"]),
        }
    }
}

async fn execute(args: ReassignPartitionsArgs) -> Result<(), Failure> {
    let (action, bootstrap) = check_args(&args).map_err(Failure::Usage)?;
    refuse_throttles(&args).map_err(Failure::Stdout)?;
    let mut config = ClusterConfig::new(&bootstrap).map_err(|e| Failure::Usage(e.to_string()))?;
    config.client_id = CLIENT_ID.to_owned();
    if let Some(path) = &args.command_config {
        apply_command_config(&mut config, path).map_err(error)?;
    }
    let admin = AdminClient::new(config);
    match action {
        Action::Generate => generate(&admin, &args).await,
        Action::Execute => execute_assignment(&admin, &args).await,
        Action::Verify => verify(&admin, &args).await,
        Action::Cancel => cancel(&admin, &args).await,
        Action::List => list(&admin).await,
    }
}

/// ReassignPartitionsCommand's argument checks: one action, a bootstrap server, the
/// action's required options and no option it does not take.
fn check_args(args: &ReassignPartitionsArgs) -> Result<(Action, String), String> {
    let actions = [
        (Action::Generate, args.generate),
        (Action::Execute, args.execute),
        (Action::Verify, args.verify),
        (Action::Cancel, args.cancel),
        (Action::List, args.list),
    ];
    let chosen: Vec<Action> = actions.iter().filter(|a| a.1).map(|a| a.0).collect();
    let [action] = chosen.as_slice() else {
        return Err("Command must include exactly one action: --generate, --execute, --verify, --cancel, --list".into());
    };
    let action = *action;
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or("Please specify --bootstrap-server")?;
    let given = given_options(args);
    let (required, permitted) = action.options();
    if let Some(missing) = required.iter().find(|r| !given.contains(r)) {
        return Err(format!("Missing required argument \"[{missing}]\""));
    }
    if let Some(extra) = given
        .iter()
        .find(|o| !required.contains(o) && !permitted.contains(o))
    {
        return Err(format!(
            "Option \"[{extra}]\" can't be used with action \"[{}]\"",
            action.name()
        ));
    }
    Ok((action, bootstrap))
}

/// The non-action options present on the command line.
fn given_options(args: &ReassignPartitionsArgs) -> Vec<&'static str> {
    [
        ("bootstrap-server", args.bootstrap_server.is_some()),
        ("command-config", args.command_config.is_some()),
        (
            "reassignment-json-file",
            args.reassignment_json_file.is_some(),
        ),
        (
            "topics-to-move-json-file",
            args.topics_to_move_json_file.is_some(),
        ),
        ("broker-list", args.broker_list.is_some()),
        ("disable-rack-aware", args.disable_rack_aware),
        ("throttle", args.throttle.is_some()),
        (
            "replica-alter-log-dirs-throttle",
            args.replica_alter_log_dirs_throttle.is_some(),
        ),
        ("timeout", args.timeout.is_some()),
        ("additional", args.additional),
        ("preserve-throttles", args.preserve_throttles),
    ]
    .into_iter()
    .filter(|o| o.1)
    .map(|o| o.0)
    .collect()
}

/// Throttles, which Kafka applies as broker and topic configs, do not exist on Potok's
/// brokers; a negative value is Kafka's "no throttle" and passes.
fn refuse_throttles(args: &ReassignPartitionsArgs) -> Result<(), String> {
    let asked = [
        ("--throttle", args.throttle),
        (
            "--replica-alter-log-dirs-throttle",
            args.replica_alter_log_dirs_throttle,
        ),
    ];
    match asked.iter().find(|(_, rate)| rate.is_some_and(|r| r >= 0)) {
        Some((flag, _)) => Err(format!(
            "{flag} is not supported: Potok brokers do not throttle replication, so a reassignment cannot be rate-limited. Run the reassignment without {flag}."
        )),
        None => Ok(()),
    }
}

/// Reads `--command-config`'s properties file into `config`.
fn apply_command_config(config: &mut ClusterConfig, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    apply_properties(config, &text)
}

/// Applies the admin client settings this client has (`client.id`, `request.timeout.ms`);
/// other settings are ignored, and a security protocol it cannot speak is refused rather
/// than silently connecting in plaintext.
fn apply_properties(config: &mut ClusterConfig, text: &str) -> Result<(), String> {
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = properties::split_pair(line) else {
            continue;
        };
        match key.as_str() {
            "client.id" => config.client_id = value,
            "request.timeout.ms" => {
                let ms: u64 = value
                    .parse()
                    .map_err(|_| format!("Invalid value {value} for configuration {key}"))?;
                config.request_timeout = std::time::Duration::from_millis(ms);
            }
            "security.protocol" if !value.eq_ignore_ascii_case("PLAINTEXT") => {
                return Err(format!("security.protocol {value} is not supported"));
            }
            _ => {}
        }
    }
    Ok(())
}

fn read_file(path: Option<&str>) -> Result<String, Failure> {
    let path = path.unwrap_or_default();
    std::fs::read_to_string(path).map_err(|e| error(format!("{path}: {e}")))
}

/// A failure Kafka reports as "Error: " and the exception's message.
fn error(message: impl std::fmt::Display) -> Failure {
    Failure::Stdout(format!("Error: {message}"))
}

async fn generate(admin: &AdminClient, args: &ReassignPartitionsArgs) -> Result<(), Failure> {
    let brokers =
        parse_broker_list(args.broker_list.as_deref().unwrap_or_default()).map_err(error)?;
    let topics = parse_topics_to_move(&read_file(args.topics_to_move_json_file.as_deref())?)
        .map_err(error)?;
    let duplicates = duplicates(&topics);
    if !duplicates.is_empty() {
        return Err(error(format!(
            "List of topics to reassign contains duplicate entries: {}",
            java_set(&duplicates)
        )));
    }
    let current = current_assignment(admin, &topics).await?;
    let cluster = admin.describe_cluster().await.map_err(error)?;
    let placements =
        broker_placements(&cluster.brokers, &brokers, !args.disable_rack_aware).map_err(error)?;
    let proposed = propose(&current, &placements, StartIndex::Random).map_err(error)?;
    println!(
        "Current partition replica assignment\n{}\n",
        format_reassignment(&current)
    );
    println!(
        "Proposed partition reassignment configuration\n{}",
        format_reassignment(&proposed)
    );
    Ok(())
}

async fn execute_assignment(
    admin: &AdminClient,
    args: &ReassignPartitionsArgs,
) -> Result<(), Failure> {
    let parsed =
        parse_reassignment(&read_file(args.reassignment_json_file.as_deref())?).map_err(error)?;
    let proposed = check_execute_input(parsed).map_err(error)?;
    let ongoing = admin
        .list_partition_reassignments(None)
        .await
        .map_err(error)?;
    if !args.additional && !ongoing.is_empty() {
        return Err(Failure::Stdout(CANNOT_EXECUTE_BECAUSE_OF_EXISTING.into()));
    }
    let cluster = admin.describe_cluster().await.map_err(error)?;
    let known: BTreeSet<i32> = cluster.brokers.iter().map(|b| b.id).collect();
    if let Some(unknown) = proposed.values().flatten().find(|id| !known.contains(id)) {
        return Err(error(format!("Unknown broker id {unknown}")));
    }
    let topics: Vec<String> = proposed
        .keys()
        .map(|p| p.topic.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let current = current_assignment(admin, &topics).await?;
    let missing: Vec<String> = proposed
        .keys()
        .filter(|p| !current.contains_key(p))
        .map(TopicPartition::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(error(format!(
            "Unable to find partition: {}",
            missing.join(", ")
        )));
    }
    let rollback: BTreeMap<TopicPartition, Vec<i32>> = current
        .into_iter()
        .filter(|(p, _)| proposed.contains_key(p))
        .collect();
    println!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
        format_reassignment(&rollback)
    );
    let request = proposed
        .iter()
        .map(|(p, replicas)| (p.clone(), Some(replicas.clone())))
        .collect();
    let results = admin
        .alter_partition_reassignments(&request)
        .await
        .map_err(error)?;
    if let Some(failed) = failures_text(&results) {
        return Err(Failure::Stdout(format!(
            "Error reassigning partition(s):\n{failed}"
        )));
    }
    println!(
        "Successfully started partition reassignment{} for {}",
        plural(proposed.len()),
        joined(proposed.keys(), ",")
    );
    Ok(())
}

async fn verify(admin: &AdminClient, args: &ReassignPartitionsArgs) -> Result<(), Failure> {
    let targets =
        parse_reassignment(&read_file(args.reassignment_json_file.as_deref())?).map_err(error)?;
    let ongoing = admin
        .list_partition_reassignments(None)
        .await
        .map_err(error)?;
    let settled_topics: Vec<String> = targets
        .iter()
        .filter(|(p, _)| !ongoing.contains_key(p))
        .map(|(p, _)| p.topic.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let current = replicas_if_known(admin, &settled_topics).await?;
    println!("{}", verify_text(&targets, &ongoing, &current));
    Ok(())
}

async fn cancel(admin: &AdminClient, args: &ReassignPartitionsArgs) -> Result<(), Failure> {
    let targets =
        parse_reassignment(&read_file(args.reassignment_json_file.as_deref())?).map_err(error)?;
    let partitions: Vec<TopicPartition> = targets.into_iter().map(|(p, _)| p).collect();
    let ongoing = admin
        .list_partition_reassignments(Some(&partitions))
        .await
        .map_err(error)?;
    let moving = moving_partitions(&ongoing);
    if moving.is_empty() {
        println!("None of the specified partition reassignments are active.");
    } else {
        let request = moving.iter().map(|p| (p.clone(), None)).collect();
        let results = admin
            .alter_partition_reassignments(&request)
            .await
            .map_err(error)?;
        if let Some(failed) = failures_text(&results) {
            return Err(Failure::Stdout(format!(
                "Error cancelling partition reassignment{} for:\n{failed}",
                plural(results.values().filter(|r| r.is_err()).count())
            )));
        }
        println!(
            "Successfully cancelled partition reassignment{} for: {}",
            plural(moving.len()),
            joined(moving.iter(), ",")
        );
    }
    println!("None of the specified partition moves are active.");
    Ok(())
}

async fn list(admin: &AdminClient) -> Result<(), Failure> {
    let ongoing = admin
        .list_partition_reassignments(None)
        .await
        .map_err(error)?;
    println!("{}", list_text(&ongoing));
    Ok(())
}

/// Every partition's replicas of `topics`; an unknown topic is an error, in Kafka's words.
async fn current_assignment(
    admin: &AdminClient,
    topics: &[String],
) -> Result<BTreeMap<TopicPartition, Vec<i32>>, Failure> {
    if topics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let described = admin.describe_topics(topics).await.map_err(error)?;
    let mut assignment = BTreeMap::new();
    for (name, result) in described {
        let description = result.map_err(|e| {
            if is_unknown_topic(&e) {
                error(format!("Topic {name} not found."))
            } else {
                error(e)
            }
        })?;
        for p in description.partitions {
            assignment.insert(TopicPartition::new(name.clone(), p.partition), p.replicas);
        }
    }
    Ok(assignment)
}

/// Like [`current_assignment`], but unknown topics just have no partitions (`--verify`
/// reports their replica set as empty, as Kafka does).
async fn replicas_if_known(
    admin: &AdminClient,
    topics: &[String],
) -> Result<BTreeMap<TopicPartition, Vec<i32>>, Failure> {
    if topics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let described = admin.describe_topics(topics).await.map_err(error)?;
    let mut assignment = BTreeMap::new();
    for (name, result) in described {
        let description = match result {
            Ok(description) => description,
            Err(e) if is_unknown_topic(&e) => continue,
            Err(e) => return Err(error(e)),
        };
        for p in description.partitions {
            assignment.insert(TopicPartition::new(name.clone(), p.partition), p.replicas);
        }
    }
    Ok(assignment)
}

fn is_unknown_topic(e: &KafkaError) -> bool {
    e.is(kafka_protocol::error::ResponseError::UnknownTopicOrPartition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> ReassignPartitionsArgs {
        ReassignPartitionsArgs::parse_from(
            std::iter::once("kafka-reassign-partitions").chain(line.split_whitespace()),
        )
    }
    #[test]
    fn exactly_one_action_and_its_required_options() {
        assert_eq!(
            check_args(&args("--bootstrap-server b:9092")).unwrap_err(),
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
        );
        assert_eq!(
            check_args(&args("--list")).unwrap_err(),
            "Please specify --bootstrap-server"
        );
        assert_eq!(
            check_args(&args("--bootstrap-server b:9092 --execute")).unwrap_err(),
            "Missing required argument \"[reassignment-json-file]\""
        );
        assert_eq!(
            check_args(&args(
                "--bootstrap-server b:9092 --generate --topics-to-move-json-file t.json"
            ))
            .unwrap_err(),
            "Missing required argument \"[broker-list]\""
        );
        assert_eq!(
            check_args(&args(
                "--bootstrap-server b:9092 --verify --reassignment-json-file r.json --throttle 10"
            ))
            .unwrap_err(),
            "Option \"[throttle]\" can't be used with action \"[verify]\""
        );
        let (action, bootstrap) = check_args(&args(
            "--bootstrap-server b:9092 --verify --reassignment-json-file r.json --preserve-throttles",
        ))
        .unwrap();
        assert_eq!((action, bootstrap.as_str()), (Action::Verify, "b:9092"));
    }

    #[test]
    fn throttles_are_refused_unless_negative() {
        let refused = refuse_throttles(&args("--execute --throttle 1000")).unwrap_err();
        assert!(
            refused.starts_with("--throttle is not supported"),
            "{refused}"
        );
        assert!(refuse_throttles(&args("--execute --replica-alter-log-dirs-throttle 5")).is_err());
        assert!(refuse_throttles(&args("--execute --throttle -1")).is_ok());
        assert!(refuse_throttles(&args("--execute")).is_ok());
    }

    #[test]
    fn command_config_sets_client_settings_and_refuses_other_protocols() {
        let mut config = ClusterConfig::new("b:9092").unwrap();
        apply_properties(
            &mut config,
            "# admin\nclient.id = ops\nrequest.timeout.ms=5000\nretries=3\n",
        )
        .unwrap();
        assert_eq!(config.client_id, "ops");
        assert_eq!(
            config.request_timeout,
            std::time::Duration::from_millis(5000)
        );
        assert!(apply_properties(&mut config, "security.protocol=PLAINTEXT").is_ok());
        assert_eq!(
            apply_properties(&mut config, "security.protocol=SASL_SSL").unwrap_err(),
            "security.protocol SASL_SSL is not supported"
        );
    }
}
