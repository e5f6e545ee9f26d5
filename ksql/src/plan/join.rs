//! Joins of two sources, with ksqlDB's rules: a stream joins a stream within a window, a
//! stream joins a table on the table's primary key, a table joins a table on the right
//! table's primary key (or, from a left column, as a foreign-key join). The ON condition is
//! split into each side's key expression. The joined row is the left source's row, then the
//! right's, then ROWKEY when the join key is synthetic (it matches no source column).

use crate::catalog::{Catalog, Source, WindowKind};
use crate::expr::scope::{Resolution, Scope};
use crate::expr::{compile, Clause, Node, TypedExpr};
use crate::format::Format;
use crate::parser::ast::{
    BinaryOp, Expr, JoinKind, JoinWindow, Query, Relation, SourceKind, MAX_DURATION_MS,
};
use crate::types::SqlType;

use super::window::duration_ms;
use super::{join_output, rewrite, source_scope, PlanError, QueryPlan, Shape, Target};

/// Kafka Streams' grace period for stream-stream joins that name none: a day.
const LEGACY_GRACE_MS: u64 = 24 * 60 * 60 * 1000;

/// How the two sources of a join meet.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub kind: JoinKind,
    /// The right source, by catalog name.
    pub right: String,
    pub right_kind: SourceKind,
    pub right_window: Option<WindowKind>,
    /// How many columns each side's row has in the joined row.
    pub left_width: usize,
    pub right_width: usize,
    /// The join key over each side's own row.
    pub left_key: TypedExpr,
    pub right_key: TypedExpr,
    /// Joined-row positions that hold the join key whichever side is missing: the source
    /// columns the join is on, or ROWKEY.
    pub key_positions: Vec<usize>,
    /// Whether the joined row ends with ROWKEY.
    pub synthetic_key: bool,
    /// The left table's column refers to the right table's key (a foreign-key join).
    pub foreign_key: bool,
    /// For a stream-stream join: how far apart matching records may be, in milliseconds.
    pub within: Option<JoinWithin>,
}

/// `WITHIN (before, after) GRACE PERIOD grace`, in milliseconds, as seen from the left side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWithin {
    pub before: u64,
    pub after: u64,
    pub grace: u64,
    /// No GRACE PERIOD was given: unmatched records of an outer join are emitted at once,
    /// as ksqlDB did before grace periods.
    pub legacy: bool,
}

impl JoinWithin {
    fn from_ast(window: &JoinWindow) -> Result<JoinWithin, PlanError> {
        Ok(JoinWithin {
            before: duration_ms(&window.before, "Join window")?,
            after: duration_ms(&window.after, "Join window")?,
            grace: match &window.grace {
                Some(grace) => duration_ms(grace, "Grace period")?,
                None => LEGACY_GRACE_MS,
            },
            legacy: window.grace.is_none(),
        })
    }

    /// How long a buffered record can still be joined: the whole window and the grace
    /// period, at most the longest duration.
    pub fn retention_ms(&self) -> u64 {
        self.before
            .saturating_add(self.after)
            .saturating_add(self.grace)
            .min(MAX_DURATION_MS)
    }
}

/// The two sides of a join as the planner sees them.
pub(super) struct Sides<'c> {
    pub left: &'c Source,
    pub left_alias: String,
    pub right: &'c Source,
    pub right_alias: String,
    /// The joined row's columns, ROWKEY included when synthetic.
    pub scope: Scope,
    pub join: JoinPlan,
}

/// Plans a SELECT whose FROM is a join.
pub(super) fn plan(
    query: &Query,
    catalog: &Catalog,
    target: Target<'_>,
) -> Result<QueryPlan, PlanError> {
    let sides = plan_sides(&query.from, catalog)?;
    if !query.group_by.is_empty() || super::aggregation::uses_aggregates(query) {
        return Err(PlanError(
            "Aggregations over joins are not supported yet: write the join into a stream or table with CREATE ... AS SELECT, then aggregate that.".into(),
        ));
    }
    if query.window.is_some() {
        return Err(PlanError(
            "WINDOW clause requires a GROUP BY clause.".into(),
        ));
    }
    if !query.partition_by.is_empty() {
        return Err(PlanError(
            "PARTITION BY is not supported on joins yet: re-key the result with a second query."
                .into(),
        ));
    }
    let filter = match &query.where_clause {
        Some(condition) => Some(compile(condition, &sides.scope, Clause::Where)?),
        None => None,
    };
    let output = join_output::plan(query, &sides, target)?;
    let result_kind = match (sides.left.kind, sides.right.kind) {
        (SourceKind::Table, SourceKind::Table) => SourceKind::Table,
        _ => SourceKind::Stream,
    };
    Ok(QueryPlan {
        source: sides.left.name.clone(),
        alias: sides.left_alias.clone(),
        source_kind: sides.left.kind,
        source_window: sides.left.window,
        value_columns: sides.left.schema.value_columns().count(),
        filter,
        shape: Shape::Project,
        output,
        result_kind,
        limit: query.limit,
        join: Some(sides.join),
    })
}

fn named_source<'c>(
    relation: &Relation,
    catalog: &'c Catalog,
) -> Result<(&'c Source, String), PlanError> {
    match relation {
        Relation::Source { name, alias } => {
            let source = catalog
                .get(&name.name)
                .ok_or_else(|| PlanError(format!("Source `{}` does not exist.", name.name)))?;
            Ok((source, alias.as_ref().unwrap_or(name).name.clone()))
        }
        Relation::Join { .. } => Err(PlanError(
            "Joins of more than two sources are not supported yet: join two of them into a stream or table first.".into(),
        )),
    }
}

/// ksqlDB's spelling of a join type in messages.
fn kind_text(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "[INNER] JOIN",
        JoinKind::Left => "LEFT [OUTER] JOIN",
        JoinKind::Right => "RIGHT [OUTER] JOIN",
        JoinKind::Full => "[FULL] OUTER JOIN",
    }
}

fn window_name(window: Option<WindowKind>) -> &'static str {
    match window {
        Some(WindowKind::Tumbling { .. }) => "TUMBLING",
        Some(WindowKind::Hopping { .. }) => "HOPPING",
        Some(WindowKind::Session) => "SESSION",
        None => "not",
    }
}

fn plan_sides<'c>(from: &Relation, catalog: &'c Catalog) -> Result<Sides<'c>, PlanError> {
    let Relation::Join {
        left,
        right,
        kind,
        within,
        on,
    } = from
    else {
        return Err(PlanError("not a join".into()));
    };
    let (left, left_alias) = named_source(left, catalog)?;
    let (right, right_alias) = named_source(right, catalog)?;
    if left.name == right.name {
        return Err(PlanError(format!(
            "Can not join '{0}' to '{0}': self joins are not yet supported.",
            left.name
        )));
    }
    let kafka: Vec<&str> = [left, right]
        .into_iter()
        .filter(|s| s.value_format == Format::Kafka)
        .map(|s| s.name.as_str())
        .collect();
    if !kafka.is_empty() {
        return Err(PlanError(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    check_windows(left, right)?;
    let mut scope = source_scope(left, &left_alias);
    let left_width = scope.columns.len();
    scope
        .columns
        .extend(source_scope(right, &right_alias).columns);
    let right_width = scope.columns.len() - left_width;
    let condition = split_condition(on, &scope, left_width)?;
    let left_key = compile(
        condition.left,
        &source_scope(left, &left_alias),
        Clause::JoinOn,
    )?;
    let right_key = compile(
        condition.right,
        &source_scope(right, &right_alias),
        Clause::JoinOn,
    )?;
    let written = |expr: &Expr| describe(expr, &scope);
    let got = format!(
        "{} = {}",
        written(condition.first),
        written(condition.second)
    );
    if left_key.sql_type != right_key.sql_type {
        let typed = |expr: &Expr, key: &TypedExpr| {
            let sql_type = key
                .sql_type
                .as_ref()
                .map_or("NULL".into(), SqlType::to_string);
            format!("{}{{{sql_type}}}", written(expr))
        };
        let (first, second) = if condition.swapped {
            (
                typed(condition.first, &right_key),
                typed(condition.second, &left_key),
            )
        } else {
            (
                typed(condition.first, &left_key),
                typed(condition.second, &right_key),
            )
        };
        return Err(PlanError(format!(
            "Invalid join condition: types don't match. Got {first} = {second}."
        )));
    }
    let got_join = format!("{} {} {}", left.name, kind_text(*kind), right.name);
    let is_key = |key: &TypedExpr, source: &Source| {
        matches!(key.node, Node::Column(0)) && source.schema.key_columns().count() == 1
    };
    let mut foreign_key = false;
    match (left.kind, right.kind) {
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(PlanError(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {got_join}."
            )));
        }
        (SourceKind::Stream, SourceKind::Table) => {
            if matches!(kind, JoinKind::Full | JoinKind::Right) {
                let word = if *kind == JoinKind::Full {
                    "full-outer"
                } else {
                    "right-outer"
                };
                return Err(PlanError(format!(
                    "Invalid join type: {word} join not supported for stream-table join. Got {got_join}."
                )));
            }
            if !is_key(&right_key, right) {
                return Err(PlanError(format!(
                    "Invalid join condition: stream-table joins require to join on the table's primary key. Got {got}."
                )));
            }
        }
        (SourceKind::Table, SourceKind::Table) => {
            if !is_key(&right_key, right) {
                return Err(PlanError(format!(
                    "Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {got}."
                )));
            }
            foreign_key = !is_key(&left_key, left);
            if foreign_key && (left.window.is_some() || right.window.is_some()) {
                return Err(PlanError(
                    "Foreign-key table-table joins are not supported on windowed tables.".into(),
                ));
            }
            if foreign_key && matches!(kind, JoinKind::Right | JoinKind::Full) {
                return Err(PlanError(format!(
                    "Invalid join type: {} foreign-key table-table joins are not supported. Got {got_join}.",
                    if *kind == JoinKind::Full { "full-outer" } else { "right-outer" }
                )));
            }
        }
        (SourceKind::Stream, SourceKind::Stream) => {}
    }
    let stream_stream = left.kind == SourceKind::Stream && right.kind == SourceKind::Stream;
    match (stream_stream, within) {
        (true, None) => {
            return Err(PlanError(
                "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.ksqldb.io/en/latest/developer-guide/joins/join-streams-and-tables/".into(),
            ));
        }
        (false, Some(_)) => {
            let pair = if right.kind == SourceKind::Table && left.kind == SourceKind::Table {
                "Table-Table"
            } else {
                "Stream-Table"
            };
            return Err(PlanError(format!(
                "A window definition was provided for a {pair} join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to execute your join again."
            )));
        }
        _ => {}
    }
    let windowed = left.window.is_some() || right.window.is_some();
    if windowed && !(is_key(&left_key, left) && is_key(&right_key, right)) {
        return Err(PlanError(
            "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.".into(),
        ));
    }
    let plain = |key: &TypedExpr, offset: usize| match key.node {
        Node::Column(index) => Some(index + offset),
        _ => None,
    };
    let mut key_positions: Vec<usize> = if foreign_key {
        vec![0]
    } else if *kind == JoinKind::Full {
        Vec::new()
    } else {
        [plain(&left_key, 0), plain(&right_key, left_width)]
            .into_iter()
            .flatten()
            .collect()
    };
    let synthetic_key = key_positions.is_empty();
    if synthetic_key {
        let key_type = left_key.sql_type.clone().unwrap_or(SqlType::String);
        scope.push(None, "ROWKEY", key_type);
        key_positions.push(scope.columns.len() - 1);
    }
    Ok(Sides {
        left,
        left_alias,
        right,
        right_alias,
        scope,
        join: JoinPlan {
            kind: *kind,
            right: right.name.clone(),
            right_kind: right.kind,
            right_window: right.window,
            left_width,
            right_width,
            left_key,
            right_key,
            key_positions,
            synthetic_key,
            foreign_key,
            within: within.as_ref().map(JoinWithin::from_ast).transpose()?,
        },
    })
}

/// Refuses windowed sources that cannot meet: windowed with non-windowed, session with time
/// windows.
fn check_windows(left: &Source, right: &Source) -> Result<(), PlanError> {
    match (left.window, right.window) {
        (None, None) => Ok(()),
        (Some(_), None) | (None, Some(_)) => {
            let line = |source: &Source| {
                format!(
                    "`{}` is {} windowed",
                    source.name,
                    window_name(source.window)
                )
            };
            Err(PlanError(format!(
                "Can not join windowed source to non-windowed source.\n{}\n{}",
                line(left),
                line(right)
            )))
        }
        (Some(l), Some(r)) => {
            let session = |w: WindowKind| w == WindowKind::Session;
            if session(l) != session(r) {
                return Err(PlanError(format!(
                    "Incompatible windowed sources.\nLeft source: {}\nRight source: {}\nSession windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for the join to work\nHopping and tumbling windowed sources can only be joined to other hopping and tumbling windowed sources",
                    window_name(left.window),
                    window_name(right.window)
                )));
            }
            if l != r {
                return Err(PlanError(
                    "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.".into(),
                ));
            }
            Ok(())
        }
    }
}

/// The ON condition's two sides, put in left-right order.
struct Condition<'a> {
    left: &'a Expr,
    right: &'a Expr,
    /// The sides as written.
    first: &'a Expr,
    second: &'a Expr,
    swapped: bool,
}

fn split_condition<'a>(
    on: &'a Expr,
    scope: &Scope,
    left_width: usize,
) -> Result<Condition<'a>, PlanError> {
    let Expr::Binary {
        op: BinaryOp::Equal,
        left: first,
        right: second,
    } = on
    else {
        let message = match on {
            Expr::Binary {
                op: BinaryOp::And | BinaryOp::Or,
                ..
            } => format!(
                "Invalid join condition: joins on multiple conditions are not yet supported. Got {on}."
            ),
            _ => format!(
                "Unsupported join expression: {on}. Joins are on the equality of one expression from each source."
            ),
        };
        return Err(PlanError(message));
    };
    let side_of = |expr: &Expr| -> Result<bool, PlanError> {
        let sides = referenced_sides(expr, scope, left_width)?;
        match sides.as_slice() {
            [is_left] => Ok(*is_left),
            _ => Err(PlanError(format!(
                "Invalid comparison expression '{expr}' in join '{on}'. Each side of the join comparision must contain references from exactly one source."
            ))),
        }
    };
    let (first_left, second_left) = (side_of(first)?, side_of(second)?);
    if first_left == second_left {
        return Err(PlanError(format!(
            "Invalid comparison expression '{second}' in join '{on}'. Each side of the join comparision must contain references from exactly one source."
        )));
    }
    Ok(if first_left {
        Condition {
            left: first,
            right: second,
            first,
            second,
            swapped: false,
        }
    } else {
        Condition {
            left: second,
            right: first,
            first,
            second,
            swapped: true,
        }
    })
}

/// Which sides an expression's columns come from (true for left), each listed once.
fn referenced_sides(expr: &Expr, scope: &Scope, left_width: usize) -> Result<Vec<bool>, PlanError> {
    let mut sides = Vec::new();
    let mut failure = None;
    rewrite::visit(expr, &mut |node| {
        let Expr::Column { source, name } = node else {
            return;
        };
        if failure.is_some() {
            return;
        }
        let qualifier = source.as_ref().map(|s| s.name.as_str());
        if let Some(qualifier) = qualifier {
            if !scope.sources().contains(&qualifier) {
                failure = Some(PlanError(format!(
                    "'{qualifier}' is not a valid stream/table name or alias."
                )));
                return;
            }
        }
        match scope.resolve(qualifier, &name.name) {
            Ok(index) => {
                let is_left = index < left_width;
                if !sides.contains(&is_left) {
                    sides.push(is_left);
                }
            }
            Err(Resolution::Unknown) => {
                failure = Some(PlanError(format!(
                    "JOIN ON column '{}' cannot be resolved.",
                    node.to_string().replace('`', "")
                )));
            }
            Err(Resolution::Ambiguous(sources)) => {
                let candidates: Vec<String> = sources
                    .iter()
                    .map(|s| format!("{s}.{}", name.name))
                    .collect();
                failure = Some(PlanError(format!(
                    "Column '{}' is ambiguous. Could be {}.",
                    name.name,
                    candidates.join(" or ")
                )));
            }
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(sides),
    }
}

/// An ON expression as ksqlDB quotes it: a column qualified by its source.
fn describe(expr: &Expr, scope: &Scope) -> String {
    if let Expr::Column { source, name } = expr {
        if let Ok(index) = scope.resolve(source.as_ref().map(|s| s.name.as_str()), &name.name) {
            if let Some(qualifier) = &scope.columns[index].source {
                return format!("{qualifier}.{}", name.name);
            }
        }
    }
    expr.to_string()
}
