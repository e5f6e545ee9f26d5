//! GROUP BY queries. Aggregate calls and grouping expressions are found in SELECT and
//! HAVING and replaced by references into the aggregate row, `[group values..., aggregate
//! results..., WINDOWSTART, WINDOWEND]`; whatever still refers to a source column was
//! neither grouped nor aggregated, which ksqlDB refuses.

use crate::catalog::Source;
use crate::expr::scope::Scope;
use crate::expr::{compile, Clause};
use crate::functions::aggregate::resolve_aggregate;
use crate::functions::is_aggregate;
use crate::parser::ast::{Expr, Ident, Literal, Query, SelectItem, SourceKind};
use crate::schema::{ColumnKind, WINDOW_COLUMNS};
use crate::types::SqlType;
use crate::value::Value;

use super::naming::{check_alias, natural_name, GeneratedNames};
use super::projection::{expand, Selected};
use super::rewrite::{rewrite, unqualified, visit, window_bound_in, window_bounds_misplaced};
use super::window::window_spec;
use super::{AggregateCall, AggregatePlan, OutputColumn, PlanError, Target};

/// Whether SELECT or HAVING calls an aggregate function.
pub(super) fn uses_aggregates(query: &Query) -> bool {
    let in_select = query.select.iter().any(|item| match item {
        SelectItem::Expr { expr, .. } => contains_aggregate(expr),
        _ => false,
    });
    in_select || query.having.as_ref().is_some_and(contains_aggregate)
}

fn contains_aggregate(expr: &Expr) -> bool {
    let mut found = false;
    visit(expr, &mut |e| {
        if let Expr::Function { name, .. } = e {
            found |= is_aggregate(&name.name);
        }
    });
    found
}

fn internal(name: String) -> Expr {
    Expr::Column {
        source: None,
        name: Ident::quoted(&name),
    }
}

fn group_name(i: usize) -> String {
    format!("$GROUP_{i}")
}

fn aggregate_name(i: usize) -> String {
    format!("$AGGREGATE_{i}")
}

/// The aggregate calls of SELECT and HAVING, in order of appearance, each once.
fn aggregate_calls(selected: &[Selected], having: Option<&Expr>) -> Vec<Expr> {
    let mut calls: Vec<Expr> = Vec::new();
    let exprs = selected.iter().map(|s| &s.expr).chain(having);
    for expr in exprs {
        visit(expr, &mut |e| {
            if let Expr::Function { name, .. } = e {
                let call = unqualified(e);
                if is_aggregate(&name.name) && !calls.contains(&call) {
                    calls.push(call);
                }
            }
        });
    }
    calls
}

fn plan_call(call: &Expr, scope: &Scope) -> Result<AggregateCall, PlanError> {
    let Expr::Function { name, args, star } = call else {
        return Err(PlanError(format!("{call} is not an aggregate call")));
    };
    if let Some(bound) = args.iter().find_map(window_bound_in) {
        return Err(window_bounds_misplaced(bound));
    }
    if args.iter().any(contains_aggregate) {
        return Err(PlanError(format!(
            "Aggregate functions can not be nested: {call}"
        )));
    }
    let counts_rows = name.name == "COUNT"
        && (*star
            || args.is_empty()
            || matches!(args.first(), Some(Expr::Literal(l)) if *l != Literal::Null));
    let argument = match args.first() {
        Some(arg) if !counts_rows => Some(compile(arg, scope, Clause::Select)?),
        _ => None,
    };
    let parameters: Vec<Value> = args
        .iter()
        .skip(1)
        .map(|arg| match arg {
            Expr::Literal(Literal::Integer(i)) => Value::Integer(*i as i32),
            _ => Value::Null,
        })
        .collect();
    let argument_type = argument.as_ref().and_then(|a| a.sql_type.clone());
    let function = resolve_aggregate(&name.name, argument_type, counts_rows, &parameters)
        .map_err(PlanError)?;
    Ok(AggregateCall { function, argument })
}

/// Plans the grouping and the output columns over the aggregate row.
pub(super) fn plan(
    query: &Query,
    source: &Source,
    alias: &str,
    scope: &Scope,
    target: Target<'_>,
) -> Result<(AggregatePlan, Vec<OutputColumn>), PlanError> {
    let selected = expand(&query.select, source, alias, target)?;
    // A push query may aggregate everything into one group; a persistent query needs a key.
    if query.group_by.is_empty() && target != Target::Client {
        let calls = aggregate_calls(&selected, query.having.as_ref());
        let shown: Vec<String> = calls.iter().map(|c| c.to_string()).collect();
        let statement = match target {
            Target::Sink {
                kind: SourceKind::Table,
                ..
            } => "CREATE TABLE AS SELECT",
            _ => "CREATE STREAM AS SELECT",
        };
        return Err(PlanError(format!(
            "{statement} statement does not support aggregate function [{}] without a GROUP BY clause.",
            shown.join(", ")
        )));
    }
    let group_by: Vec<Expr> = query.group_by.iter().map(unqualified).collect();
    let mut group_exprs = Vec::with_capacity(group_by.len());
    for expr in &query.group_by {
        group_exprs.push(compile(expr, scope, Clause::GroupBy)?);
    }
    let calls = aggregate_calls(&selected, query.having.as_ref());
    if calls.is_empty() {
        return Err(PlanError(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.".into(),
        ));
    }
    let aggregates = calls
        .iter()
        .map(|call| plan_call(call, scope))
        .collect::<Result<Vec<_>, _>>()?;
    if source.kind == SourceKind::Table {
        let refused: Vec<&str> = aggregates
            .iter()
            .filter(|a| !a.function.supports_undo())
            .map(|a| a.function.name.as_str())
            .collect();
        if !refused.is_empty() {
            return Err(PlanError(format!(
                "The aggregation functions {} cannot be applied to a table source, only to a stream source.",
                join_names(&refused)
            )));
        }
    }

    let mut aggregate_scope = Scope::default();
    for (i, expr) in group_exprs.iter().enumerate() {
        aggregate_scope.push(
            None,
            &group_name(i),
            expr.sql_type.clone().unwrap_or(SqlType::String),
        );
    }
    for (i, call) in aggregates.iter().enumerate() {
        aggregate_scope.push(None, &aggregate_name(i), call.function.return_type.clone());
    }
    let window = query.window.as_ref().map(window_spec).transpose()?;
    if window.is_some() {
        for (name, sql_type) in WINDOW_COLUMNS {
            aggregate_scope.push(Some(alias), name, sql_type.clone());
        }
    }
    let to_aggregate_row = |expr: &Expr| {
        rewrite(&unqualified(expr), &|e| {
            if let Some(i) = group_by.iter().position(|g| g == e) {
                return Some(internal(group_name(i)));
            }
            calls
                .iter()
                .position(|c| c == e)
                .map(|i| internal(aggregate_name(i)))
        })
    };

    let having = match &query.having {
        Some(having) => Some(
            compile(&to_aggregate_row(having), &aggregate_scope, Clause::Having)
                .map_err(|e| not_grouped(e.0, "HAVING", std::slice::from_ref(having)))?,
        ),
        None => None,
    };

    let mut generated = GeneratedNames::new(
        selected
            .iter()
            .filter_map(|s| s.alias.as_ref())
            .map(|a| a.name.as_str()),
    );
    let mut output: Vec<OutputColumn> = Vec::with_capacity(selected.len());
    let mut key_positions = vec![None; group_by.len()];
    let mut ungrouped = Vec::new();
    for item in &selected {
        let rewritten = to_aggregate_row(&item.expr);
        let name = match &item.alias {
            Some(alias) => {
                check_alias(alias)?;
                alias.name.clone()
            }
            None => natural_name(&item.expr)
                .filter(|_| !contains_aggregate(&item.expr))
                .unwrap_or_else(|| generated.next()),
        };
        let expr = match compile(&rewritten, &aggregate_scope, Clause::Select) {
            Ok(expr) => expr,
            Err(error) if error.0.ends_with("cannot be resolved.") => {
                ungrouped.push(item.expr.clone());
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        if let Expr::Column {
            name: column,
            source: None,
        } = &rewritten
        {
            if let Some(i) = (0..group_by.len()).find(|i| column.name == group_name(*i)) {
                if key_positions[i].is_none() {
                    key_positions[i] = Some(output.len());
                } else if matches!(target, Target::Sink { .. }) {
                    return Err(PlanError(format!(
                        "The projection contains a key column more than once: `{}` and `{name}`.",
                        output[key_positions[i].unwrap_or(0)].name
                    )));
                }
            }
        }
        output.push(OutputColumn {
            name,
            kind: ColumnKind::Value,
            expr,
        });
    }
    if !ungrouped.is_empty() {
        return Err(not_grouped(String::new(), "SELECT", &ungrouped));
    }
    let plan = AggregatePlan {
        group_by: group_exprs,
        aggregates,
        window,
        having,
    };
    let Target::Sink { name: sink, .. } = target else {
        return Ok((plan, output));
    };
    let missing: Vec<String> = key_positions
        .iter()
        .zip(&query.group_by)
        .filter(|(position, _)| position.is_none())
        .map(|(_, expr)| expr.to_string())
        .collect();
    if !missing.is_empty() {
        let (noun, list) = if missing.len() == 1 {
            ("expression", missing[0].clone())
        } else {
            (
                "expressions",
                join_names(&missing.iter().map(String::as_str).collect::<Vec<_>>()),
            )
        };
        return Err(PlanError(format!(
            "The query used to build `{sink}` must include the grouping {noun} {list} in its projection (eg, SELECT {}...).",
            missing.join(", ")
        )));
    }
    let keys: Vec<usize> = key_positions.into_iter().flatten().collect();
    Ok((plan, super::keys_first(output, &keys)))
}

/// `A, B and C`, as ksqlDB lists names.
fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn not_grouped(message: String, clause: &str, exprs: &[Expr]) -> PlanError {
    if !message.is_empty() && !message.ends_with("cannot be resolved.") {
        return PlanError(message);
    }
    let shown: Vec<String> = exprs.iter().map(|e| unqualified(e).to_string()).collect();
    if clause == "HAVING" {
        return PlanError(format!(
            "Non-aggregate HAVING expression not part of GROUP BY: {}",
            shown.join(", ")
        ));
    }
    PlanError(format!(
        "Non-aggregate SELECT expression(s) not part of GROUP BY: {}",
        shown.join(", ")
    ))
}
