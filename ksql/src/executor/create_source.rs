//! CREATE [OR REPLACE] [SOURCE] STREAM | TABLE over a topic: column rules (keys, reserved
//! names, duplicates), formats able to carry the columns, windowed keys, the timestamp
//! column, and the topic, created when PARTITIONS is given and it does not exist.

use std::collections::HashSet;

use crate::catalog::{Source, TimestampColumn, WindowKind};
use crate::format::{Format, FormatColumn};
use crate::parser::ast::{
    ColumnConstraint, CreateSource, Duration, SourceKind, TimeUnit, MAX_DURATION_MS,
};
use crate::schema::{is_reserved_column, Column, ColumnKind, LogicalSchema};
use crate::types::SqlType;

use super::properties::SourceProperties;
use super::{kind_title, kind_word, Defaults, Effect, Engine, KsqlError, Outcome, Topics};

const KEY_RULES: &str = "Tables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.";

fn schema_of(create: &CreateSource) -> Result<LogicalSchema, KsqlError> {
    if create.elements.is_empty() {
        return Err(KsqlError::statement(
            "The statement does not define any columns.",
        ));
    }
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for element in &create.elements {
        let name = &element.name.name;
        if is_reserved_column(name) {
            return Err(KsqlError::statement(format!(
                "'{name}' is a reserved column name. You cannot use it as a name for a column."
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(KsqlError::statement(format!(
                "Duplicate column names: {name}"
            )));
        }
        let kind = match (&element.constraint, create.kind) {
            (ColumnConstraint::Key, SourceKind::Table) => {
                return Err(KsqlError::statement(format!(
                    "Column `{name}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\n{KEY_RULES}"
                )))
            }
            (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                return Err(KsqlError::statement(format!(
                    "Column `{name}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\n{KEY_RULES}"
                )))
            }
            (ColumnConstraint::Key | ColumnConstraint::PrimaryKey, _) => ColumnKind::Key,
            (ColumnConstraint::None, _) => ColumnKind::Value,
            (ColumnConstraint::Headers, _) => ColumnKind::Header(None),
            (ColumnConstraint::Header(key), _) => ColumnKind::Header(Some(key.clone())),
        };
        let column = Column {
            name: name.clone(),
            sql_type: element.sql_type.clone(),
            kind,
        };
        if column.kind == ColumnKind::Key {
            keys.push(column);
        } else {
            values.push(column);
        }
    }
    if create.kind == SourceKind::Table && keys.is_empty() {
        return Err(KsqlError::statement(
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
        ));
    }
    keys.extend(values);
    Ok(LogicalSchema { columns: keys })
}

/// Checks that `format` can carry `columns`, in ksqlDB's words.
pub(super) fn check_format(
    part: &str,
    format: &Format,
    columns: &[FormatColumn],
) -> Result<(), KsqlError> {
    format.check_columns(columns).map_err(|reason| {
        let listed: Vec<String> = columns.iter().map(ToString::to_string).collect();
        KsqlError::statement(format!(
            "{part} format does not support schema.\nformat: {format}\nschema: Persistence{{columns=[{}], features=[]}}\nreason: {reason}",
            listed.join(", ")
        ))
    })
}

/// Reads `30 seconds` as WINDOW_SIZE; ksqlDB's message otherwise.
fn window_size(text: &str) -> Result<u64, KsqlError> {
    let invalid = |detail: String| {
        KsqlError::statement(format!(
            "Configuration WINDOW_SIZE is invalid: Invalid duration: '{text}'. {detail}"
        ))
    };
    let mut parts = text.split_whitespace();
    let (Some(amount), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("Expected '<value> <unit>'".into()));
    };
    let amount: u64 = amount
        .parse()
        .map_err(|_| invalid(format!("Not a number: '{amount}'")))?;
    let unit = TimeUnit::parse(unit)
        .ok_or_else(|| invalid(format!("Unknown time unit: '{}'", unit.to_uppercase())))?;
    Duration {
        value: amount,
        unit,
    }
    .millis()
    .ok_or_else(|| {
        invalid(format!(
            "Durations may be at most {MAX_DURATION_MS} milliseconds (about 292 million years)"
        ))
    })
}

fn window_of(properties: &SourceProperties) -> Result<Option<WindowKind>, KsqlError> {
    let Some(window_type) = &properties.window_type else {
        return Ok(None);
    };
    let size = properties
        .window_size
        .as_deref()
        .map(window_size)
        .transpose()?;
    let kind = match (window_type.to_uppercase().as_str(), size) {
        ("SESSION", None) => WindowKind::Session,
        ("SESSION", Some(_)) => {
            return Err(KsqlError::statement(
                "'WINDOW_SIZE' should not be set for SESSION windows.",
            ))
        }
        ("TUMBLING", Some(size_ms)) => WindowKind::Tumbling { size_ms },
        ("HOPPING", Some(size_ms)) => WindowKind::Hopping { size_ms },
        ("TUMBLING" | "HOPPING", None) => {
            return Err(KsqlError::statement(format!(
                "WINDOW_SIZE config is required for {} windows.",
                window_type.to_uppercase()
            )))
        }
        (other, _) => {
            return Err(KsqlError::statement(format!(
                "Invalid WINDOW_TYPE: {other}. Valid values are: SESSION, HOPPING, TUMBLING"
            )))
        }
    };
    Ok(Some(kind))
}

/// The TIMESTAMP column must exist and hold a time: BIGINT, TIMESTAMP, or STRING with a
/// TIMESTAMP_FORMAT.
pub(super) fn timestamp_column(
    properties: &SourceProperties,
    schema: &LogicalSchema,
) -> Result<Option<TimestampColumn>, KsqlError> {
    let Some(name) = &properties.timestamp else {
        return Ok(None);
    };
    let column = schema.column(name).ok_or_else(|| {
        KsqlError::statement(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
        ))
    })?;
    let fits = match column.sql_type {
        SqlType::Bigint | SqlType::Timestamp => true,
        SqlType::String => properties.timestamp_format.is_some(),
        _ => false,
    };
    if !fits {
        return Err(KsqlError::statement(format!(
            "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."
        )));
    }
    Ok(Some(TimestampColumn {
        column: name.clone(),
        format: properties.timestamp_format.clone(),
    }))
}

/// The effect that makes sure `topic` exists with `partitions`, or the error when it does
/// not and no partition count was given.
pub(super) fn ensure_topic(
    topic: &str,
    partitions: Option<i32>,
    replicas: Option<i16>,
    topics: &Topics,
    example: &str,
) -> Result<(Vec<Effect>, i32), KsqlError> {
    match (topics.get(topic), partitions) {
        (Some(existing), Some(wanted)) if *existing != wanted => Err(KsqlError::statement(format!(
            "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {wanted} partitions (topic has {existing})."
        ))),
        (Some(existing), _) => Ok((Vec::new(), *existing)),
        (None, Some(partitions)) => Ok((
            vec![Effect::CreateTopic {
                name: topic.to_string(),
                partitions,
                replicas,
            }],
            partitions,
        )),
        (None, None) => Err(KsqlError::statement(format!(
            "Topic '{topic}' does not exist. If you want to create a new topic for the {example} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {} FOO (ID INT, VALUE STRING) WITH (KAFKA_TOPIC='{topic}', PARTITIONS=2, REPLICAS=1, FORMAT='JSON');",
            example.to_uppercase()
        ))),
    }
}

pub(super) fn execute(
    engine: &mut Engine,
    create: &CreateSource,
    text: &str,
    topics: &Topics,
    defaults: &Defaults,
) -> Result<(Outcome, Vec<Effect>), KsqlError> {
    let name = &create.name.name;
    let kind = kind_word(create.kind);
    if let Some(existing) = engine.catalog.get(name) {
        if create.or_replace && (create.read_only || existing.read_only) {
            return Err(KsqlError::statement(format!(
                "Cannot add {kind} '{name}': CREATE OR REPLACE is not supported on source {kind}s."
            )));
        }
        if create.if_not_exists {
            return Ok((
                Outcome::Status {
                    message: format!(
                        "Cannot add {kind} {name}: A {kind} with the same name already exists."
                    ),
                    query_id: None,
                },
                Vec::new(),
            ));
        }
        if !create.or_replace {
            return Err(KsqlError::statement(format!(
                "Cannot add {kind} '{name}': A {} with the same name already exists",
                existing.kind_name()
            )));
        }
    } else if create.or_replace && create.read_only {
        return Err(KsqlError::statement(format!(
            "Cannot add {kind} '{name}': CREATE OR REPLACE is not supported on source {kind}s."
        )));
    }
    let properties = SourceProperties::read(&create.properties)?;
    let topic = properties.topic.clone().ok_or_else(|| {
        KsqlError::statement(
            "Missing required property \"KAFKA_TOPIC\" which has no default value.",
        )
    })?;
    let schema = schema_of(create)?;
    super::persistent::check_key_types(&schema)?;
    let has_key = schema.key_columns().next().is_some();
    let value_format = properties.value_format(defaults.value_format.as_deref())?;
    let key_format = properties.key_format(has_key, &defaults.key_format)?;
    let window = window_of(&properties)?;
    if window.is_some() && !has_key {
        return Err(KsqlError::statement(
            "Windowed sources require a key column.",
        ));
    }
    let timestamp = timestamp_column(&properties, &schema)?;
    let (effects, _) = ensure_topic(
        &topic,
        properties.partitions,
        properties.replicas,
        topics,
        kind,
    )?;
    let source = Source {
        name: name.clone(),
        kind: create.kind,
        read_only: create.read_only,
        schema,
        topic,
        key_format,
        value_format,
        wrap_single_value: properties.wrap_single_value.unwrap_or(true),
        window,
        timestamp,
        statement: text.to_string(),
    };
    check_format("Key", &source.key_format, &source.key_format_columns())?;
    let value_columns = source.value_format_columns();
    check_format("Value", &source.value_format, &value_columns)?;
    if let Some(wrap) = properties.wrap_single_value {
        source
            .value_format
            .check_wrap_single_value(wrap, value_columns.len())
            .map_err(|e| KsqlError::statement(e.to_string()))?;
    }
    engine.catalog.insert(source);
    Ok((
        Outcome::Status {
            message: format!("{} created", kind_title(create.kind)),
            query_id: None,
        },
        effects,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_read_as_ksqldb_reads_them() {
        assert_eq!(window_size("30 seconds").unwrap(), 30_000);
        assert_eq!(window_size("1 MINUTE").unwrap(), 60_000);
        assert_eq!(
            window_size("30 bobs").unwrap_err().message,
            "Configuration WINDOW_SIZE is invalid: Invalid duration: '30 bobs'. Unknown time unit: 'BOBS'"
        );
        assert_eq!(
            window_size("106751991167 DAYS").unwrap(),
            106_751_991_167 * 86_400_000
        );
        assert!(window_size("106751991168 DAYS")
            .unwrap_err()
            .message
            .ends_with(
            "Durations may be at most 9223372036854775807 milliseconds (about 292 million years)"
        ));
        assert!(window_size(&format!("{} DAYS", u64::MAX)).is_err());
    }
}
