//! Planning: a SELECT over the catalog becomes a `QueryPlan`, the typed description of what
//! the engine runs for each record: filter, then either a projection (with the key kept or
//! re-chosen by PARTITION BY) or an aggregation (grouping, windowing, HAVING, projection).
//! All of ksqlDB's rules about keys, names and reserved columns are checked here, so a bad
//! statement fails before any query starts.

mod aggregation;
mod join;
mod join_output;
mod naming;
mod partition_by;
mod projection;
mod pull;
mod rewrite;
mod source_scope;
mod window;

use crate::catalog::{Catalog, WindowKind};
use crate::expr::{compile, Clause, ExprError, TypedExpr};
use crate::functions::aggregate::AggregateFunction;
use crate::parser::ast::{Query, Relation, SourceKind};
use crate::schema::{ColumnKind, LogicalSchema};

pub use join::{JoinPlan, JoinWithin};
pub use pull::check_pull;
pub use source_scope::source_scope;
pub use window::MAX_WINDOWS_PER_RECORD;

/// A statement that cannot be planned, with ksqlDB's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

impl From<ExprError> for PlanError {
    fn from(error: ExprError) -> Self {
        PlanError(error.0)
    }
}

/// What the query is planned for: a persistent query writing into `sink`, or a transient
/// push or pull query answering a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Sink { name: &'a str, kind: SourceKind },
    Client,
}

/// One output column and how it is computed.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub name: String,
    pub kind: ColumnKind,
    pub expr: TypedExpr,
}

/// The typed plan of one SELECT.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// The source read and the name its columns are qualified with.
    pub source: String,
    pub alias: String,
    pub source_kind: SourceKind,
    /// Whether the source's keys are windowed (rows carry WINDOWSTART / WINDOWEND).
    pub source_window: Option<WindowKind>,
    /// How many value and header columns a source row has after its keys.
    pub value_columns: usize,
    pub filter: Option<TypedExpr>,
    pub shape: Shape,
    /// Output columns in order; for a sink, keys come first.
    pub output: Vec<OutputColumn>,
    /// The kind of the result: a table when aggregating or reading a table.
    pub result_kind: SourceKind,
    pub limit: Option<u64>,
    /// The second source and how rows meet, for a join; the source above is its left side.
    pub join: Option<JoinPlan>,
}

/// How rows become output rows.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Output columns are computed from the source row.
    Project,
    /// Rows are grouped; output columns are computed from the aggregate row.
    Aggregate(AggregatePlan),
}

/// One aggregate call: the function and its argument over the source row.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    pub function: AggregateFunction,
    pub argument: Option<TypedExpr>,
}

/// Grouping: the aggregate row is `[group values..., aggregate results..., WINDOWSTART,
/// WINDOWEND]`, and HAVING and the output columns are computed over it.
#[derive(Debug, Clone)]
pub struct AggregatePlan {
    pub group_by: Vec<TypedExpr>,
    pub aggregates: Vec<AggregateCall>,
    pub window: Option<WindowSpec>,
    pub having: Option<TypedExpr>,
}

/// A grouping window in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    Tumbling { size: u64, grace: u64 },
    Hopping { size: u64, advance: u64, grace: u64 },
    Session { gap: u64, grace: u64 },
}

impl WindowSpec {
    /// How many windows one record falls in: SIZE / ADVANCE BY rounded up for a hopping
    /// window, one for the others.
    pub fn windows_per_record(&self) -> u64 {
        match *self {
            WindowSpec::Hopping { size, advance, .. } => size.div_ceil(advance.max(1)),
            WindowSpec::Tumbling { .. } | WindowSpec::Session { .. } => 1,
        }
    }
}

/// The output columns with those at `keys` (in that order) marked as keys and moved first,
/// as a sink's schema lists them.
fn keys_first(output: Vec<OutputColumn>, keys: &[usize]) -> Vec<OutputColumn> {
    let mut ordered: Vec<OutputColumn> = keys
        .iter()
        .map(|i| OutputColumn {
            kind: ColumnKind::Key,
            ..output[*i].clone()
        })
        .collect();
    ordered.extend(
        output
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !keys.contains(i))
            .map(|(_, column)| column),
    );
    ordered
}

impl QueryPlan {
    /// The schema of the result as a sink records it.
    pub fn output_schema(&self) -> LogicalSchema {
        LogicalSchema {
            columns: self
                .output
                .iter()
                .map(|column| crate::schema::Column {
                    name: column.name.clone(),
                    sql_type: column
                        .expr
                        .sql_type
                        .clone()
                        .unwrap_or(crate::types::SqlType::String),
                    kind: column.kind.clone(),
                })
                .collect(),
        }
    }
}

impl QueryPlan {
    /// The sources the query reads, by catalog name: one, or a join's left and right.
    pub fn inputs(&self) -> Vec<&str> {
        let mut inputs = vec![self.source.as_str()];
        inputs.extend(self.join.as_ref().map(|join| join.right.as_str()));
        inputs
    }

    /// The result's columns as a query header names them (`` `ID` STRING KEY, `N` BIGINT ``);
    /// a pull query marks the columns that select its table's key columns.
    pub fn header_schema(&self, mark_keys: bool, key_columns: usize) -> String {
        self.output
            .iter()
            .map(|column| {
                let sql_type = column
                    .expr
                    .sql_type
                    .clone()
                    .unwrap_or(crate::types::SqlType::String);
                // A windowed table's key includes its window bounds, which follow the
                // value columns and the three pseudocolumns in the source row.
                let bounds = key_columns + self.value_columns + 3;
                let is_key = matches!(column.expr.node, crate::expr::Node::Column(i)
                    if i < key_columns
                        || (self.source_window.is_some() && (bounds..bounds + 2).contains(&i)));
                let marker = if mark_keys && is_key { " KEY" } else { "" };
                format!("`{}` {sql_type}{marker}", column.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Plans `query` over the catalog for `target`.
pub fn plan_query(
    query: &Query,
    catalog: &Catalog,
    target: Target<'_>,
) -> Result<QueryPlan, PlanError> {
    let Relation::Source { name, alias } = &query.from else {
        return join::plan(query, catalog, target);
    };
    let source = catalog
        .get(&name.name)
        .ok_or_else(|| PlanError(format!("Source `{}` does not exist.", name.name)))?;
    let alias = alias.as_ref().unwrap_or(name).name.clone();
    let scope = source_scope(source, &alias);
    if source.window.is_none() {
        if let Some(bound) = query
            .where_clause
            .as_ref()
            .and_then(rewrite::window_bound_in)
        {
            return Err(PlanError(format!(
                "Error in WHERE expression: Unknown column {bound}."
            )));
        }
        let misplaced = query
            .group_by
            .iter()
            .chain(&query.partition_by)
            .find_map(rewrite::window_bound_in);
        if let Some(bound) = misplaced {
            return Err(rewrite::window_bounds_misplaced(bound));
        }
    }
    let filter = match &query.where_clause {
        Some(condition) => Some(compile(condition, &scope, Clause::Where)?),
        None => None,
    };
    let aggregating = !query.group_by.is_empty() || aggregation::uses_aggregates(query);
    if aggregating {
        let (aggregate, output) = aggregation::plan(query, source, &alias, &scope, target)?;
        return Ok(QueryPlan {
            source: source.name.clone(),
            alias,
            source_kind: source.kind,
            source_window: source.window,
            value_columns: source.schema.value_columns().count(),
            filter,
            shape: Shape::Aggregate(aggregate),
            output,
            result_kind: SourceKind::Table,
            limit: query.limit,
            join: None,
        });
    }
    if query.window.is_some() {
        return Err(PlanError(
            "WINDOW clause requires a GROUP BY clause.".into(),
        ));
    }
    let output = projection::plan(query, source, &scope, target)?;
    Ok(QueryPlan {
        source: source.name.clone(),
        alias,
        source_kind: source.kind,
        source_window: source.window,
        value_columns: source.schema.value_columns().count(),
        filter,
        shape: Shape::Project,
        output,
        result_kind: source.kind,
        limit: query.limit,
        join: None,
    })
}
