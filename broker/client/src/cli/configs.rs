//! `kafka-configs`: describe and alter topic and broker configs, with the flags, messages
//! and output layout of Kafka's `ConfigCommand`.

use std::process::ExitCode;

use clap::Parser;

use super::{parse_args, run, CommandError, Failure};
use crate::admin::{
    AdminClient, AlterConfigOp, ConfigEntry, ConfigResource, ConfigResourceType, ConfigSource,
};
use crate::cluster::ClusterConfig;
use crate::error::ClientError;

/// This tool helps to manipulate and describe entity config for a topic or broker.
#[derive(Debug, Parser)]
#[command(name = "kafka-configs", version)]
pub struct ConfigsArgs {
    /// The Kafka servers to connect to.
    #[arg(long, value_name = "server to connect to")]
    pub bootstrap_server: Option<String>,
    /// Alter the configuration for the entity.
    #[arg(long)]
    pub alter: bool,
    /// List configs for the given entity.
    #[arg(long)]
    pub describe: bool,
    /// List all configs for the given entity, including static configs if available.
    #[arg(long)]
    pub all: bool,
    /// Type of entity (topics/brokers).
    #[arg(long)]
    pub entity_type: Option<String>,
    /// Name of entity (topic name/broker id).
    #[arg(long)]
    pub entity_name: Option<String>,
    /// Default entity name for brokers (applies to corresponding entity type).
    #[arg(long)]
    pub entity_default: bool,
    /// The topic's name (same as --entity-type topics --entity-name <topic>).
    #[arg(long)]
    pub topic: Option<String>,
    /// The broker's id (same as --entity-type brokers --entity-name <broker>).
    #[arg(long)]
    pub broker: Option<String>,
    /// The config defaults for all brokers (same as --entity-type brokers --entity-default).
    #[arg(long)]
    pub broker_defaults: bool,
    /// Key Value pairs of configs to add. Square brackets can be used to group values which
    /// contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'.
    #[arg(long)]
    pub add_config: Option<String>,
    /// config keys to remove 'k1,k2'
    #[arg(long, value_delimiter = ',')]
    pub delete_config: Vec<String>,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match parse_args::<ConfigsArgs>() {
        Ok(args) => run(execute(args, raw.join(" "))),
        Err(code) => code,
    }
}

/// The entity a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    /// `topics` or `brokers`, as on the command line.
    entity_type: String,
    /// Empty for `--entity-default`; `None` for "all entities of the type" (describe only).
    name: Option<String>,
}

async fn execute(args: ConfigsArgs, raw_args: String) -> Result<(), Failure> {
    let (bootstrap, entity) = check_args(&args).map_err(Failure::Usage)?;
    let config = ClusterConfig::new(&bootstrap).map_err(|e| Failure::Usage(e.to_string()))?;
    let admin = AdminClient::new(config);
    let outcome = if args.alter {
        alter(&admin, &args, &entity).await
    } else {
        describe(&admin, &entity, args.all).await
    };
    outcome.map_err(|e| match e {
        CommandError::Argument(message) => Failure::Usage(message),
        CommandError::Client(e) => Failure::Usage(format!(
            "Error while executing config command with args '{raw_args}'\n{}",
            exception_line(&e)
        )),
    })
}

/// The exception line Kafka's tool prints under its error message.
fn exception_line(e: &ClientError) -> String {
    match e {
        ClientError::Kafka(k) => format!("{}: {k}", k.name),
        other => other.to_string(),
    }
}

/// ConfigCommand's argument checks; returns the bootstrap servers and the entity.
fn check_args(args: &ConfigsArgs) -> Result<(String, Entity), String> {
    if args.alter == args.describe {
        return Err("Command must include exactly one action: --describe, --alter".into());
    }
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or("One of the required --bootstrap-server or --bootstrap-controller arguments must be specified")?;
    let entity = if let Some(topic) = &args.topic {
        Entity {
            entity_type: "topics".into(),
            name: Some(topic.clone()),
        }
    } else if let Some(broker) = &args.broker {
        Entity {
            entity_type: "brokers".into(),
            name: Some(broker.clone()),
        }
    } else if args.broker_defaults {
        Entity {
            entity_type: "brokers".into(),
            name: Some(String::new()),
        }
    } else {
        let entity_type = args
            .entity_type
            .clone()
            .ok_or("At least one entity type must be specified")?;
        if !["topics", "brokers"].contains(&entity_type.as_str()) {
            return Err(format!(
                "Invalid entity type {entity_type}, the entity type must be one of topics, brokers"
            ));
        }
        let name = match (&args.entity_name, args.entity_default) {
            (Some(name), _) => Some(name.clone()),
            (None, true) if entity_type == "topics" => {
                return Err("--entity-default isn't supported for topics".into());
            }
            (None, true) => Some(String::new()),
            (None, false) => None,
        };
        Entity { entity_type, name }
    };
    if args.alter {
        if entity.name.is_none() {
            return Err("An entity name must be specified with --alter of topics"
                .replace("topics", &entity.entity_type));
        }
        if args.add_config.is_none() && args.delete_config.is_empty() {
            return Err(
                "At least one of --add-config or --delete-config must be specified with --alter"
                    .into(),
            );
        }
    } else if args.add_config.is_some() || !args.delete_config.is_empty() {
        return Err("Option \"[add-config]\" can't be used with option \"[describe]\"".into());
    }
    if entity.entity_type == "brokers" {
        if let Some(name) = entity.name.as_deref().filter(|n| !n.is_empty()) {
            if name.parse::<i32>().is_err() {
                return Err(format!("The entity name for brokers must be a valid integer broker id, but it is: {name}"));
            }
        }
    }
    Ok((bootstrap, entity))
}

/// `--add-config 'k1=v1,k2=[a,b],k3='`: commas inside square brackets do not separate
/// pairs, and the brackets themselves are dropped, as ConfigCommand does.
fn parse_add_config(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut pieces = Vec::new();
    for c in raw.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                pieces.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    pieces.push(current);
    for piece in pieces {
        let parts: Vec<&str> = piece.splitn(3, '=').collect();
        let (key, value) = match parts.as_slice() {
            [k, v] => (k.trim(), v.trim()),
            _ => return Err("Invalid entity config: all configs to be added must be in the format \"key=val\" or  \"key=[val1,val2]\" to group values which contain commas.".into()),
        };
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(format!("Invalid character found for config key: {key}"));
        }
        let value: String = value.chars().filter(|c| *c != '[' && *c != ']').collect();
        pairs.push((key.to_owned(), value.trim().to_owned()));
    }
    Ok(pairs)
}

fn resource_for(entity_type: &str, name: &str) -> ConfigResource {
    if entity_type == "topics" {
        ConfigResource::topic(name)
    } else {
        ConfigResource::broker(name)
    }
}

async fn alter(
    admin: &AdminClient,
    args: &ConfigsArgs,
    entity: &Entity,
) -> Result<(), CommandError> {
    let name = entity.name.clone().unwrap_or_default();
    let to_add = match &args.add_config {
        Some(raw) => parse_add_config(raw).map_err(CommandError::Argument)?,
        None => Vec::new(),
    };
    let to_delete: Vec<String> = args
        .delete_config
        .iter()
        .map(|k| k.trim().to_owned())
        .collect();
    let resource = resource_for(&entity.entity_type, &name);
    if !to_delete.is_empty() {
        let current = dynamic_configs(admin, &resource, false, false).await?;
        let missing: Vec<&str> = to_delete
            .iter()
            .filter(|k| !current.iter().any(|c| &c.name == *k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(CommandError::Argument(format!(
                "Invalid config(s): {}",
                missing.join(",")
            )));
        }
    }
    let ops: Vec<AlterConfigOp> = to_delete
        .into_iter()
        .map(AlterConfigOp::Delete)
        .chain(to_add.into_iter().map(|(k, v)| AlterConfigOp::Set(k, v)))
        .collect();
    let results = admin
        .incremental_alter_configs(&[(resource, ops)], false)
        .await?;
    for (_, result) in results {
        result?;
    }
    println!("{}", completed_message(&entity.entity_type, &name));
    Ok(())
}

fn completed_message(entity_type: &str, name: &str) -> String {
    if name.is_empty() {
        format!("Completed updating default config for {entity_type} in the cluster.")
    } else {
        format!(
            "Completed updating config for {} {name}.",
            singular(entity_type)
        )
    }
}

fn singular(entity_type: &str) -> &str {
    entity_type.strip_suffix('s').unwrap_or(entity_type)
}

async fn describe(admin: &AdminClient, entity: &Entity, all: bool) -> Result<(), CommandError> {
    let names = match &entity.name {
        Some(name) => vec![name.clone()],
        None if entity.entity_type == "topics" => admin
            .list_topics(true)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect(),
        None => {
            let mut ids: Vec<String> = admin
                .describe_cluster()
                .await?
                .brokers
                .iter()
                .map(|b| b.id.to_string())
                .collect();
            ids.push(String::new());
            ids
        }
    };
    for name in names {
        println!("{}", describe_header(&entity.entity_type, &name, all));
        let resource = resource_for(&entity.entity_type, &name);
        for entry in dynamic_configs(admin, &resource, true, all).await? {
            println!("{}", config_line(&entry));
        }
    }
    Ok(())
}

fn describe_header(entity_type: &str, name: &str, all: bool) -> String {
    if name.is_empty() {
        format!("Default configs for {entity_type} in the cluster are:")
    } else {
        let which = if all { "All" } else { "Dynamic" };
        format!("{which} configs for {} {name} are:", singular(entity_type))
    }
}

/// The configs `--describe` lists: with `--all` every entry, otherwise only those set
/// dynamically at this entity's level; sorted by name.
async fn dynamic_configs(
    admin: &AdminClient,
    resource: &ConfigResource,
    include_synonyms: bool,
    all: bool,
) -> Result<Vec<ConfigEntry>, CommandError> {
    let level = match (resource.kind, resource.name.is_empty()) {
        (ConfigResourceType::Topic, _) => ConfigSource::DynamicTopicConfig,
        (_, true) => ConfigSource::DynamicDefaultBrokerConfig,
        (_, false) => ConfigSource::DynamicBrokerConfig,
    };
    let results = admin
        .describe_configs(std::slice::from_ref(resource), include_synonyms)
        .await?;
    let mut entries = Vec::new();
    for (_, result) in results {
        entries.extend(result?.into_iter().filter(|e| all || e.source == level));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// `  name=value sensitive=false synonyms={SOURCE:name=value, ...}`.
fn config_line(entry: &ConfigEntry) -> String {
    let synonyms: Vec<String> = entry
        .synonyms
        .iter()
        .map(|s| {
            format!(
                "{}:{}={}",
                s.source,
                s.name,
                s.value.as_deref().unwrap_or("null")
            )
        })
        .collect();
    format!(
        "  {}={} sensitive={} synonyms={{{}}}",
        entry.name,
        entry.value.as_deref().unwrap_or("null"),
        entry.sensitive,
        synonyms.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::ConfigSynonym;

    fn args(line: &str) -> ConfigsArgs {
        ConfigsArgs::try_parse_from(std::iter::once("kafka-configs").chain(line.split_whitespace()))
            .unwrap()
    }

    #[test]
    fn add_config_groups_bracketed_lists() {
        let pairs = parse_add_config("min.insync.replicas=2,cleanup.policy=[compact,delete], a = ")
            .unwrap();
        assert_eq!(
            pairs,
            [
                ("min.insync.replicas".into(), "2".into()),
                ("cleanup.policy".into(), "compact,delete".into()),
                ("a".into(), "".into())
            ]
        );
        assert!(parse_add_config("novalue").is_err());
        assert!(parse_add_config("bad key=1")
            .unwrap_err()
            .contains("Invalid character"));
    }

    #[test]
    fn entities_come_from_either_flag_style() {
        let (_, e) = check_args(&args(
            "--bootstrap-server h:1 --alter --entity-type topics --entity-name t --add-config a=1",
        ))
        .unwrap();
        assert_eq!(e.name.as_deref(), Some("t"));
        let (_, e) = check_args(&args(
            "--bootstrap-server h:1 --describe --entity-type brokers --entity-default",
        ))
        .unwrap();
        assert_eq!(e.name.as_deref(), Some(""));
        let (_, e) = check_args(&args("--bootstrap-server h:1 --describe --topic t")).unwrap();
        assert_eq!(e.entity_type, "topics");
        let a = args("--bootstrap-server h:1 --alter --entity-type topics --entity-name t --delete-config a,b");
        assert_eq!(a.delete_config, ["a", "b"]);
        assert!(check_args(&args(
            "--bootstrap-server h:1 --describe --entity-type brokers --entity-name x"
        ))
        .is_err());
        assert!(check_args(&args(
            "--bootstrap-server h:1 --alter --entity-type topics --entity-name t"
        ))
        .is_err());
    }

    #[test]
    fn describe_output_matches_config_command() {
        let entry = ConfigEntry {
            name: "min.insync.replicas".into(),
            value: Some("2".into()),
            source: ConfigSource::DynamicTopicConfig,
            read_only: false,
            sensitive: false,
            synonyms: vec![
                ConfigSynonym {
                    name: "min.insync.replicas".into(),
                    value: Some("2".into()),
                    source: ConfigSource::DynamicTopicConfig,
                },
                ConfigSynonym {
                    name: "min.insync.replicas".into(),
                    value: Some("1".into()),
                    source: ConfigSource::DefaultConfig,
                },
            ],
        };
        assert_eq!(
            config_line(&entry),
            "  min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=2, DEFAULT_CONFIG:min.insync.replicas=1}"
        );
        assert_eq!(
            describe_header("topics", "test", false),
            "Dynamic configs for topic test are:"
        );
        assert_eq!(
            describe_header("brokers", "1", true),
            "All configs for broker 1 are:"
        );
        assert_eq!(
            describe_header("brokers", "", false),
            "Default configs for brokers in the cluster are:"
        );
        assert_eq!(
            completed_message("topics", "test"),
            "Completed updating config for topic test."
        );
        assert_eq!(
            completed_message("brokers", ""),
            "Completed updating default config for brokers in the cluster."
        );
    }
}
