//! Statements that write into a source: CREATE STREAM / TABLE AS SELECT and INSERT INTO ...
//! SELECT start a persistent query named after ksqlDB's scheme (`CSAS_S1_0`,
//! `CTAS_PAYMENTS_TABLE_3`, `INSERTQUERY_5`); INSERT INTO ... VALUES writes one record.

use crate::catalog::{Source, WindowKind};
use crate::expr::scope::Scope;
use crate::expr::{cast_value, compile, Clause};
use crate::parser::ast::{CreateAsSelect, InsertInto, InsertValues, SourceKind};
use crate::plan::{plan_query, QueryPlan, Shape, Target, WindowSpec};
use crate::schema::ColumnKind;
use crate::value::Value;

use super::create_source::{check_format, ensure_topic};
use super::properties::SourceProperties;
use super::{kind_word, Defaults, Effect, Engine, KsqlError, Outcome, PersistentQuery, Topics};

fn result_kind_error(plan: &QueryPlan, wanted: SourceKind) -> Option<KsqlError> {
    if plan.result_kind == wanted {
        return None;
    }
    let (produced, statement) = match plan.result_kind {
        SourceKind::Table => ("TABLE", "CREATE TABLE AS SELECT"),
        SourceKind::Stream => ("STREAM", "CREATE STREAM AS SELECT"),
    };
    Some(KsqlError::statement(format!(
        "Invalid result type. Your SELECT query produces a {produced}. Please use {statement} statement instead."
    )))
}

fn window_kind(plan: &QueryPlan) -> Option<WindowKind> {
    match &plan.shape {
        Shape::Aggregate(aggregate) => aggregate.window.map(|spec| match spec {
            WindowSpec::Tumbling { size, .. } => WindowKind::Tumbling { size_ms: size },
            WindowSpec::Hopping { size, .. } => WindowKind::Hopping { size_ms: size },
            WindowSpec::Session { .. } => WindowKind::Session,
        }),
        Shape::Project => plan.source_window,
    }
}

pub(super) fn create_as_select(
    engine: &mut Engine,
    create: &CreateAsSelect,
    text: &str,
    topics: &Topics,
    defaults: &Defaults,
) -> Result<(Outcome, Vec<Effect>), KsqlError> {
    let name = &create.name.name;
    if let Some(existing) = engine.catalog.get(name) {
        if create.if_not_exists {
            return Ok((
                Outcome::Status {
                    message: format!(
                        "Cannot add {} {name}: A {} with the same name already exists.",
                        kind_word(create.kind),
                        existing.kind_name()
                    ),
                    query_id: None,
                },
                Vec::new(),
            ));
        }
        if !create.or_replace || existing.read_only {
            return Err(KsqlError::statement(format!(
                "Cannot add {} '{name}': A {} with the same name already exists",
                kind_word(create.kind),
                existing.kind_name()
            )));
        }
    }
    let target = Target::Sink {
        name,
        kind: create.kind,
    };
    let plan = plan_query(&create.query, &engine.catalog, target)?;
    if let Some(error) = result_kind_error(&plan, create.kind) {
        return Err(error);
    }
    let properties = SourceProperties::read(&create.properties)?;
    let input = engine
        .catalog
        .get(&plan.source)
        .ok_or_else(|| KsqlError::statement(format!("Source `{}` does not exist.", plan.source)))?
        .clone();
    let schema = plan.output_schema();
    check_key_types(&schema)?;
    let has_key = schema.key_columns().next().is_some();
    if !has_key && properties.key_format.is_some() && create.kind == SourceKind::Stream {
        return Err(KsqlError::statement(
            "Key format specified for stream without key columns.",
        ));
    }
    let topic = properties.topic.clone().unwrap_or_else(|| name.clone());
    let partitions = properties
        .partitions
        .or_else(|| topics.get(&input.topic).copied())
        .unwrap_or(1);
    let (mut effects, _) = ensure_topic(
        &topic,
        Some(partitions),
        properties.replicas,
        topics,
        kind_word(create.kind),
    )
    .or_else(|error| match topics.get(&topic) {
        Some(existing) if properties.partitions.is_none() => Ok((Vec::new(), *existing)),
        _ => Err(error),
    })?;
    let value_format = match &properties.value_format {
        Some(_) => properties.value_format(None)?,
        None => input.value_format,
    };
    let key_format = match (&properties.key_format, input.key_format) {
        (Some(_), _) => properties.key_format(has_key, &defaults.key_format)?,
        (None, crate::format::Format::None) if has_key => {
            properties.key_format(has_key, &defaults.key_format)?
        }
        (None, format) => format,
    };
    let sink = Source {
        name: name.clone(),
        kind: create.kind,
        read_only: false,
        schema,
        topic,
        key_format,
        value_format,
        wrap_single_value: properties
            .wrap_single_value
            .unwrap_or(input.wrap_single_value),
        window: window_kind(&plan),
        timestamp: None,
        statement: text.to_string(),
    };
    check_format("Key", &sink.key_format, &sink.key_format_columns())?;
    check_format("Value", &sink.value_format, &sink.value_format_columns())?;
    let prefix = match create.kind {
        SourceKind::Stream => "CSAS",
        SourceKind::Table => "CTAS",
    };
    let id = format!("{prefix}_{}_{}", name.to_uppercase(), engine.command_count);
    engine.catalog.insert(sink);
    engine.queries.insert(
        id.clone(),
        PersistentQuery {
            id: id.clone(),
            statement: text.to_string(),
            plan,
            sink: name.clone(),
        },
    );
    effects.push(Effect::StartQuery(id.clone()));
    Ok((
        Outcome::Status {
            message: format!("Created query with ID {id}"),
            query_id: Some(id),
        },
        effects,
    ))
}

/// Refuses key columns holding maps, whose serialization is not stable.
pub(super) fn check_key_types(schema: &crate::schema::LogicalSchema) -> Result<(), KsqlError> {
    fn has_map(sql_type: &crate::types::SqlType) -> bool {
        use crate::types::SqlType;
        match sql_type {
            SqlType::Map(..) => true,
            SqlType::Array(element) => has_map(element),
            SqlType::Struct(fields) => fields.iter().any(|f| has_map(&f.sql_type)),
            _ => false,
        }
    }
    match schema.key_columns().find(|c| has_map(&c.sql_type)) {
        Some(column) => Err(KsqlError::statement(format!(
            "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
            column.name, column.sql_type
        ))),
        None => Ok(()),
    }
}

pub(super) fn insert_into(
    engine: &mut Engine,
    insert: &InsertInto,
    text: &str,
) -> Result<(Outcome, Vec<Effect>), KsqlError> {
    let name = &insert.target.name;
    let target = engine
        .catalog
        .get(name)
        .ok_or_else(|| KsqlError::statement(format!("Source `{name}` does not exist.")))?
        .clone();
    if target.read_only {
        return Err(KsqlError::statement(format!(
            "Cannot insert into read-only {}: {name}",
            target.kind_name()
        )));
    }
    if target.kind == SourceKind::Table {
        return Err(KsqlError::statement(format!(
            "INSERT INTO can only be used to insert into a stream. {name} is a table."
        )));
    }
    let plan = plan_query(
        &insert.query,
        &engine.catalog,
        Target::Sink {
            name,
            kind: target.kind,
        },
    )?;
    let result = plan.output_schema();
    if result != target.schema {
        return Err(KsqlError::statement(format!(
            "Incompatible schema between results and sink.\nResult schema is {result}\nSink schema is {}",
            target.schema
        )));
    }
    let id = format!("INSERTQUERY_{}", engine.command_count);
    engine.queries.insert(
        id.clone(),
        PersistentQuery {
            id: id.clone(),
            statement: text.to_string(),
            plan,
            sink: name.clone(),
        },
    );
    Ok((
        Outcome::Status {
            message: format!("Created query with ID {id}"),
            query_id: Some(id.clone()),
        },
        vec![Effect::StartQuery(id)],
    ))
}

pub(super) fn insert_values(
    engine: &mut Engine,
    insert: &InsertValues,
) -> Result<(Outcome, Vec<Effect>), KsqlError> {
    let name = &insert.target.name;
    let target = engine.catalog.get(name).ok_or_else(|| {
        KsqlError::statement(format!(
            "Cannot insert values into an unknown stream/table: `{name}`"
        ))
    })?;
    if target.read_only {
        return Err(KsqlError::statement(format!(
            "Cannot insert values into read-only {}: {name}",
            target.kind_name()
        )));
    }
    let columns: Vec<String> = if insert.columns.is_empty() {
        target
            .schema
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    } else {
        insert.columns.iter().map(|c| c.name.clone()).collect()
    };
    if columns.len() != insert.values.len() {
        return Err(KsqlError::statement(format!(
            "Expected a value for each column. Expected Columns: {columns:?}. Got {} values",
            insert.values.len()
        )));
    }
    let mut timestamp = None;
    let mut row: Vec<Value> = vec![Value::Null; target.schema.columns.len()];
    for (column_name, expr) in columns.iter().zip(&insert.values) {
        let value = compile(expr, &Scope::default(), Clause::Values)?
            .eval(&[])
            .map_err(|e| KsqlError::statement(e.0))?;
        if column_name == "ROWTIME" {
            timestamp = match cast_value(&value, &crate::types::SqlType::Bigint) {
                Ok(Value::Bigint(ms)) => Some(ms),
                _ => None,
            };
            continue;
        }
        let position = target
            .schema
            .columns
            .iter()
            .position(|c| c.name == *column_name)
            .ok_or_else(|| {
                KsqlError::statement(format!("Column name {column_name} does not exist."))
            })?;
        let column = &target.schema.columns[position];
        if matches!(column.kind, ColumnKind::Header(_)) {
            return Err(KsqlError::statement(format!(
                "Cannot insert into HEADER columns: {column_name}"
            )));
        }
        row[position] = cast_value(&value, &column.sql_type).map_err(|_| {
            KsqlError::statement(format!(
                "Expected type {} for field {column_name} but got {expr}",
                column.sql_type
            ))
        })?;
    }
    let key_count = target.schema.key_columns().count();
    let (key, value) = row.split_at(key_count);
    let value: Vec<Value> = value
        .iter()
        .zip(target.schema.value_columns())
        .filter(|(_, column)| column.kind == ColumnKind::Value)
        .map(|(v, _)| v.clone())
        .collect();
    let failed = |e: crate::format::FormatError| {
        KsqlError::statement(format!("Failed to insert values into '{name}'. {e}"))
    };
    let key_bytes = target
        .key_format
        .serialize(&target.key_format_columns(), key, false)
        .map_err(failed)?;
    let value_bytes = target
        .value_format
        .serialize(
            &target.value_format_columns(),
            &value,
            target.wrap_single_value,
        )
        .map_err(failed)?;
    Ok((
        Outcome::Status {
            message: String::new(),
            query_id: None,
        },
        vec![Effect::Produce {
            topic: target.topic.clone(),
            key: key_bytes,
            value: value_bytes,
            timestamp,
        }],
    ))
}
