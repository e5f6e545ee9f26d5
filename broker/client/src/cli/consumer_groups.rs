//! `kafka-consumer-groups`: list, describe, reset offsets of and delete consumer groups,
//! with the flags, messages and table layouts of Kafka's `ConsumerGroupCommand`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;

use super::{parse_args, run, time_spec, CommandError, Failure};
use crate::admin::{AdminClient, GroupDescription, OffsetSpec};
use crate::cluster::{ClusterConfig, TopicPartition};

/// List all consumer groups, describe a consumer group, delete consumer group info, or reset
/// consumer group offsets.
#[derive(Debug, Parser)]
#[command(name = "kafka-consumer-groups", version)]
pub struct ConsumerGroupsArgs {
    /// The server(s) to connect to.
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// List all consumer groups.
    #[arg(long)]
    pub list: bool,
    /// Describe consumer group and list offset lag (number of messages not yet processed).
    #[arg(long)]
    pub describe: bool,
    /// Pass in groups to delete topic partition offsets and ownership information.
    #[arg(long)]
    pub delete: bool,
    /// Delete offsets of consumer group.
    #[arg(long)]
    pub delete_offsets: bool,
    /// Reset offsets of consumer group.
    #[arg(long)]
    pub reset_offsets: bool,
    /// The consumer group we wish to act on.
    #[arg(long)]
    pub group: Vec<String>,
    /// Apply to all consumer groups.
    #[arg(long)]
    pub all_groups: bool,
    /// The topic whose consumer group information should be deleted or reset: `topic` or
    /// `topic:0,1,2`.
    #[arg(long)]
    pub topic: Vec<String>,
    /// Consider all topics assigned to a group in the `reset-offsets` process.
    #[arg(long)]
    pub all_topics: bool,
    /// Describe members of the group.
    #[arg(long)]
    pub members: bool,
    /// Describe the group and list all topic partitions in the group along with their offset lag.
    #[arg(long)]
    pub offsets: bool,
    /// Describe the group's state.
    #[arg(long)]
    pub state: bool,
    /// Provide additional information, if any, when describing the group.
    #[arg(long)]
    pub verbose: bool,
    /// Only show results without executing changes on Consumer Groups.
    #[arg(long)]
    pub dry_run: bool,
    /// Execute operation.
    #[arg(long)]
    pub execute: bool,
    /// Reset offsets to earliest offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// Reset offsets to latest offset.
    #[arg(long)]
    pub to_latest: bool,
    /// Reset offsets to a specific offset.
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.
    #[arg(long, allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Reset offsets to current offset.
    #[arg(long)]
    pub to_current: bool,
    /// Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'
    #[arg(long)]
    pub to_datetime: Option<String>,
    /// Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'
    #[arg(long)]
    pub by_duration: Option<String>,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    match parse_args::<ConsumerGroupsArgs>() {
        Ok(args) => run(execute(args)),
        Err(code) => code,
    }
}

/// How `--reset-offsets` picks each partition's new offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    ShiftBy(i64),
    Current,
    /// The first offset at or after this time (ms since the epoch), or the end.
    Timestamp(i64),
}

fn check_args(args: &ConsumerGroupsArgs) -> Result<String, String> {
    let actions = [
        args.list,
        args.describe,
        args.delete,
        args.delete_offsets,
        args.reset_offsets,
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets".into());
    }
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or("Missing required argument \"[bootstrap-server]\"")?;
    if !args.list && args.group.is_empty() && !args.all_groups {
        return Err("Option [describe|delete|reset-offsets|delete-offsets] takes one of these options: [all-groups], [group]".into());
    }
    if args.dry_run && args.execute {
        return Err("Option [dry-run] cannot be used with [execute]".into());
    }
    Ok(bootstrap)
}

fn reset_to(args: &ConsumerGroupsArgs) -> Result<ResetTo, String> {
    let datetime = args
        .to_datetime
        .as_deref()
        .map(|d| time_spec::parse_datetime(d).map(ResetTo::Timestamp))
        .transpose()?;
    let duration = args
        .by_duration
        .as_deref()
        .map(|d| {
            let back = time_spec::parse_duration(d)?;
            let now = chrono::Utc::now().timestamp_millis();
            Ok::<_, String>(ResetTo::Timestamp(now.saturating_sub(back)))
        })
        .transpose()?;
    let chosen: Vec<ResetTo> = [
        datetime,
        duration,
        args.to_earliest.then_some(ResetTo::Earliest),
        args.to_latest.then_some(ResetTo::Latest),
        args.to_offset.map(ResetTo::Offset),
        args.shift_by.map(ResetTo::ShiftBy),
        args.to_current.then_some(ResetTo::Current),
    ]
    .into_iter()
    .flatten()
    .collect();
    match chosen.as_slice() {
        [one] => Ok(*one),
        _ => Err("Option [reset-offsets] takes exactly one of these options: [to-datetime], [by-duration], [to-earliest], [to-latest], [shift-by], [from-file], [to-current], [to-offset]".into()),
    }
}

/// `topic` or `topic:0,1,2` as `--topic` takes it.
fn parse_topic(spec: &str) -> Result<(String, Option<Vec<i32>>), String> {
    match spec.split_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((topic, partitions)) => {
            let partitions = partitions
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("Invalid partition list in --topic {spec}"))?;
            Ok((topic.to_string(), Some(partitions)))
        }
    }
}

async fn execute(args: ConsumerGroupsArgs) -> Result<(), Failure> {
    let bootstrap = check_args(&args).map_err(Failure::Usage)?;
    let config = ClusterConfig::new(&bootstrap).map_err(|e| Failure::Usage(e.to_string()))?;
    let admin = AdminClient::new(config);
    let groups = if args.all_groups {
        admin
            .list_groups()
            .await
            .map_err(|e| {
                Failure::Usage(format!(
                    "Error: Executing consumer group command failed due to {e}"
                ))
            })?
            .into_iter()
            .map(|g| g.group_id)
            .collect()
    } else {
        args.group.clone()
    };
    let outcome = if args.list {
        list(&admin).await
    } else if args.describe {
        describe(&admin, &args, &groups).await
    } else if args.delete {
        delete(&admin, &groups).await
    } else if args.delete_offsets {
        delete_offsets(&admin, &args, &groups).await
    } else {
        reset_offsets(&admin, &args, &groups).await
    };
    outcome.map_err(|e| match e {
        CommandError::Argument(message) => Failure::Usage(message),
        CommandError::Client(e) => Failure::Usage(format!(
            "Error: Executing consumer group command failed due to {e}"
        )),
    })
}

async fn list(admin: &AdminClient) -> Result<(), CommandError> {
    for group in admin.list_groups().await? {
        println!("{}", group.group_id);
    }
    Ok(())
}

/// Formats rows as Kafka does: each column left-aligned to the widest of its values (at
/// least `minimum`), separated by one space.
fn table(rows: &[Vec<String>], minimum: &[usize]) -> Vec<String> {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .max()
                .unwrap_or(0)
                .max(minimum.get(c).copied().unwrap_or(0))
        })
        .collect();
    rows.iter()
        .map(|row| {
            let last = row.len() - 1;
            row.iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c == last {
                        cell.clone()
                    } else {
                        format!("{cell:<width$}", width = widths[c])
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn print_table(rows: Vec<Vec<String>>, minimum: &[usize]) {
    println!();
    for line in table(&rows, minimum) {
        println!("{line}");
    }
}

async fn describe(
    admin: &AdminClient,
    args: &ConsumerGroupsArgs,
    groups: &[String],
) -> Result<(), CommandError> {
    for group in groups {
        let description = admin.describe_group(group).await?;
        if description.state == "Dead" {
            eprintln!("Error: Consumer group '{group}' does not exist.");
            continue;
        }
        if args.state {
            print_state(&description);
        } else if args.members {
            print_members(&description, args.verbose);
        } else {
            print_offsets(admin, &description).await?;
        }
    }
    Ok(())
}

fn print_state(description: &GroupDescription) {
    let rows = vec![
        vec![
            "GROUP".into(),
            "COORDINATOR (ID)".into(),
            "ASSIGNMENT-STRATEGY".into(),
            "STATE".into(),
            "#MEMBERS".into(),
        ],
        vec![
            description.group_id.clone(),
            format!(
                "{} ({})",
                description.coordinator_address, description.coordinator
            ),
            description.protocol.clone(),
            description.state.clone(),
            description.members.len().to_string(),
        ],
    ];
    print_table(rows, &[15, 25, 20, 15]);
}

fn print_members(description: &GroupDescription, verbose: bool) {
    if description.members.is_empty() {
        println!(
            "\nConsumer group '{}' has no active members.",
            description.group_id
        );
        return;
    }
    let mut header = vec!["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"];
    if verbose {
        header.push("ASSIGNMENT");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for member in &description.members {
        let mut row = vec![
            description.group_id.clone(),
            member.member_id.clone(),
            member.host.clone(),
            member.client_id.clone(),
            member.assignment.len().to_string(),
        ];
        if verbose {
            row.push(assignment_text(&member.assignment));
        }
        rows.push(row);
    }
    print_table(rows, &[15, 15, 15, 15, 12]);
}

/// `topic(0,1),other(2)` as Kafka prints an assignment.
fn assignment_text(assignment: &[TopicPartition]) -> String {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in assignment {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    if by_topic.is_empty() {
        return "-".into();
    }
    by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let list: Vec<String> = partitions.iter().map(i32::to_string).collect();
            format!("{topic}({})", list.join(","))
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn print_offsets(
    admin: &AdminClient,
    description: &GroupDescription,
) -> Result<(), CommandError> {
    let committed = admin.group_offsets(&description.group_id).await?;
    let mut owners: BTreeMap<TopicPartition, &crate::admin::MemberDescription> = BTreeMap::new();
    for member in &description.members {
        for tp in &member.assignment {
            owners.insert(tp.clone(), member);
        }
    }
    let partitions: Vec<TopicPartition> = committed
        .keys()
        .chain(owners.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let ends = offsets_at(admin, &partitions, OffsetSpec::Latest).await?;
    if description.members.is_empty() {
        println!(
            "\nConsumer group '{}' has no active members.",
            description.group_id
        );
    }
    let mut rows = vec![[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>()];
    for tp in &partitions {
        let current = committed.get(tp).copied();
        let end = ends.get(tp).copied();
        let lag = match (current, end) {
            (Some(c), Some(e)) => (e - c).max(0).to_string(),
            _ => "-".into(),
        };
        let owner = owners.get(tp);
        rows.push(vec![
            description.group_id.clone(),
            tp.topic.clone(),
            tp.partition.to_string(),
            current.map_or("-".into(), |c| c.to_string()),
            end.map_or("-".into(), |e| e.to_string()),
            lag,
            owner.map_or("-".into(), |m| m.member_id.clone()),
            owner.map_or("-".into(), |m| m.host.clone()),
            owner.map_or("-".into(), |m| m.client_id.clone()),
        ]);
    }
    print_table(rows, &[15, 15, 10, 15, 15, 15, 15, 15]);
    Ok(())
}

async fn delete(admin: &AdminClient, groups: &[String]) -> Result<(), CommandError> {
    let results = admin.delete_groups(groups).await?;
    let failed: Vec<(&String, String)> = results
        .iter()
        .filter_map(|(group, result)| {
            result
                .as_ref()
                .err()
                .map(|e| (group, e.message.clone().unwrap_or_else(|| e.name.clone())))
        })
        .collect();
    if failed.is_empty() {
        let names: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
        println!(
            "Deletion of requested consumer groups ({}) was successful.",
            names.join(", ")
        );
        return Ok(());
    }
    let mut message = String::from("Deletion of some consumer groups failed:");
    for (group, reason) in failed {
        message.push_str(&format!(
            "\n* Group '{group}' could not be deleted due to: {reason}"
        ));
    }
    Err(CommandError::Argument(message))
}

/// The partitions `--topic` names, or every partition of the topic when none are listed.
async fn selected_partitions(
    admin: &AdminClient,
    specs: &[String],
) -> Result<Vec<TopicPartition>, CommandError> {
    let mut selected = Vec::new();
    for spec in specs {
        let (topic, partitions) = parse_topic(spec).map_err(CommandError::Argument)?;
        let partitions = match partitions {
            Some(partitions) => partitions,
            None => {
                let metadata = admin.cluster().topic(&topic).await?;
                (0..metadata.partitions.len() as i32).collect()
            }
        };
        selected.extend(
            partitions
                .into_iter()
                .map(|p| TopicPartition::new(topic.clone(), p)),
        );
    }
    Ok(selected)
}

async fn delete_offsets(
    admin: &AdminClient,
    args: &ConsumerGroupsArgs,
    groups: &[String],
) -> Result<(), CommandError> {
    let partitions = selected_partitions(admin, &args.topic).await?;
    for group in groups {
        let results = admin.delete_group_offsets(group, &partitions).await?;
        let mut rows = vec![vec![
            "TOPIC".to_string(),
            "PARTITION".into(),
            "STATUS".into(),
        ]];
        for (tp, result) in results {
            rows.push(vec![
                tp.topic.clone(),
                tp.partition.to_string(),
                match result {
                    Ok(()) => "Successful".into(),
                    Err(e) => format!("Error: {e}"),
                },
            ]);
        }
        print_table(rows, &[15, 10]);
    }
    Ok(())
}

async fn reset_offsets(
    admin: &AdminClient,
    args: &ConsumerGroupsArgs,
    groups: &[String],
) -> Result<(), CommandError> {
    let target = reset_to(args).map_err(CommandError::Argument)?;
    if args.topic.is_empty() && !args.all_topics {
        return Err(CommandError::Argument(
            "Option [reset-offsets] takes one of these options: [all-topics], [topic]".into(),
        ));
    }
    if !args.execute && !args.dry_run {
        eprintln!("WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.");
    }
    for group in groups {
        let description = admin.describe_group(group).await?;
        if args.execute && !description.members.is_empty() {
            return Err(CommandError::Argument(format!(
                "Error: Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
                description.state
            )));
        }
        let committed = admin.group_offsets(group).await?;
        let partitions = if args.all_topics {
            committed.keys().cloned().collect()
        } else {
            selected_partitions(admin, &args.topic).await?
        };
        let new_offsets = new_offsets(admin, target, &partitions, &committed).await?;
        if args.execute {
            for (tp, result) in admin.alter_group_offsets(group, &new_offsets).await? {
                if let Err(e) = result {
                    return Err(CommandError::Argument(format!(
                        "Error: cannot reset {}-{}: {e}",
                        tp.topic, tp.partition
                    )));
                }
            }
        }
        let mut rows = vec![["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()];
        for (tp, offset) in &new_offsets {
            rows.push(vec![
                group.clone(),
                tp.topic.clone(),
                tp.partition.to_string(),
                offset.to_string(),
            ]);
        }
        print_table(rows, &[30, 30, 10]);
    }
    Ok(())
}

/// The offset `spec` finds in each partition; partitions that fail are left out.
async fn offsets_at(
    admin: &AdminClient,
    partitions: &[TopicPartition],
    spec: OffsetSpec,
) -> Result<BTreeMap<TopicPartition, i64>, CommandError> {
    let specs: Vec<(TopicPartition, OffsetSpec)> =
        partitions.iter().map(|tp| (tp.clone(), spec)).collect();
    Ok(admin
        .list_offsets(&specs)
        .await?
        .into_iter()
        .filter_map(|(tp, result)| Some((tp, result.ok()?.offset)))
        .collect())
}

/// Each partition's target offset, kept within the log's current range as Kafka does.
async fn new_offsets(
    admin: &AdminClient,
    target: ResetTo,
    partitions: &[TopicPartition],
    committed: &BTreeMap<TopicPartition, i64>,
) -> Result<BTreeMap<TopicPartition, i64>, CommandError> {
    let earliest = offsets_at(admin, partitions, OffsetSpec::Earliest).await?;
    let latest = offsets_at(admin, partitions, OffsetSpec::Latest).await?;
    let by_time = match target {
        ResetTo::Timestamp(t) => offsets_at(admin, partitions, OffsetSpec::Timestamp(t)).await?,
        _ => BTreeMap::new(),
    };
    let mut offsets = BTreeMap::new();
    for tp in partitions {
        let low = earliest.get(tp).copied().unwrap_or(0);
        let high = latest.get(tp).copied().unwrap_or(low);
        let current = committed.get(tp).copied().unwrap_or(low);
        let wanted = match target {
            ResetTo::Earliest => low,
            ResetTo::Latest => high,
            ResetTo::Offset(offset) => offset,
            ResetTo::ShiftBy(delta) => current.saturating_add(delta),
            ResetTo::Current => current,
            ResetTo::Timestamp(_) => by_time.get(tp).copied().filter(|o| *o >= 0).unwrap_or(high),
        };
        offsets.insert(tp.clone(), wanted.clamp(low, high));
    }
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> ConsumerGroupsArgs {
        ConsumerGroupsArgs::try_parse_from(
            std::iter::once("kafka-consumer-groups").chain(line.split_whitespace()),
        )
        .unwrap()
    }

    #[test]
    fn exactly_one_action_and_a_group_are_required() {
        assert!(check_args(&args("--bootstrap-server b --list")).is_ok());
        assert!(check_args(&args("--bootstrap-server b --list --describe")).is_err());
        assert!(check_args(&args("--bootstrap-server b --describe")).is_err());
        assert!(check_args(&args("--bootstrap-server b --describe --group g")).is_ok());
        assert!(check_args(&args("--list")).is_err());
    }

    #[test]
    fn reset_needs_exactly_one_target() {
        assert_eq!(reset_to(&args("--to-earliest")), Ok(ResetTo::Earliest));
        assert_eq!(reset_to(&args("--shift-by -5")), Ok(ResetTo::ShiftBy(-5)));
        assert!(reset_to(&args("--to-earliest --to-latest")).is_err());
        assert!(reset_to(&args("--reset-offsets")).is_err());
    }

    #[test]
    fn topic_specs_name_partitions() {
        assert_eq!(parse_topic("t"), Ok(("t".into(), None)));
        assert_eq!(parse_topic("t:0,2"), Ok(("t".into(), Some(vec![0, 2]))));
        assert!(parse_topic("t:x").is_err());
    }

    #[test]
    fn tables_align_like_kafkas() {
        let rows = vec![
            vec!["GROUP".to_string(), "TOPIC".into(), "LAG".into()],
            vec!["g".to_string(), "a-long-topic-name-here".into(), "5".into()],
        ];
        assert_eq!(
            table(&rows, &[15, 15]),
            vec![
                "GROUP           TOPIC                  LAG",
                "g               a-long-topic-name-here 5",
            ]
        );
    }

    #[test]
    fn assignments_print_grouped_by_topic() {
        let assignment = vec![
            TopicPartition::new("a", 0),
            TopicPartition::new("a", 1),
            TopicPartition::new("b", 2),
        ];
        assert_eq!(assignment_text(&assignment), "a(0,1),b(2)");
        assert_eq!(assignment_text(&[]), "-");
    }
}
