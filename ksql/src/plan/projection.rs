//! The SELECT list of a query that does not aggregate. A persistent query keeps its source's
//! key: each key column must be selected exactly once (it may be renamed), and it leads the
//! output; everything else is a value column. A transient query returns columns as listed.

use crate::catalog::Source;
use crate::expr::scope::Scope;
use crate::expr::{compile, Clause};
use crate::parser::ast::{Expr, Ident, Query, SelectItem};
use crate::schema::{ColumnKind, WINDOW_COLUMNS};

use super::naming::{check_alias, check_unaliased, natural_name, GeneratedNames};
use super::{OutputColumn, PlanError, Target};

/// One selected expression after `*` is expanded.
pub(super) struct Selected {
    pub expr: Expr,
    pub alias: Option<Ident>,
}

fn column_ref(alias: &str, name: &str) -> Expr {
    Expr::Column {
        source: Some(Ident::quoted(alias)),
        name: Ident::quoted(name),
    }
}

/// Expands `*` and `alias.*` into the source's columns; window bounds are listed for a
/// client reading a windowed source, as ksqlDB does.
pub(super) fn expand(
    items: &[SelectItem],
    source: &Source,
    alias: &str,
    target: Target<'_>,
) -> Result<Vec<Selected>, PlanError> {
    let mut selected = Vec::new();
    for item in items {
        match item {
            SelectItem::Expr { expr, alias } => selected.push(Selected {
                expr: expr.clone(),
                alias: alias.clone(),
            }),
            SelectItem::QualifiedWildcard(qualifier) if qualifier.name != alias => {
                return Err(PlanError(format!(
                    "'{}' is not a valid stream/table name or alias.",
                    qualifier.name
                )));
            }
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                for column in source.schema.key_columns() {
                    selected.push(Selected {
                        expr: column_ref(alias, &column.name),
                        alias: None,
                    });
                }
                if source.window.is_some() && target == Target::Client {
                    for (name, _) in WINDOW_COLUMNS {
                        selected.push(Selected {
                            expr: column_ref(alias, name),
                            alias: None,
                        });
                    }
                }
                for column in source.schema.value_columns() {
                    selected.push(Selected {
                        expr: column_ref(alias, &column.name),
                        alias: None,
                    });
                }
            }
        }
    }
    Ok(selected)
}

/// Names every selected expression, refusing reserved names in persistent queries.
pub(super) fn name_all(
    selected: &[Selected],
    source: &Source,
    target: Target<'_>,
) -> Result<Vec<String>, PlanError> {
    let mut generated = GeneratedNames::avoiding(
        source.schema.columns.iter().map(|c| c.name.as_str()),
        selected.iter().map(|s| s.alias.as_ref()),
    );
    selected
        .iter()
        .map(|item| {
            if let Some(alias) = &item.alias {
                check_alias(alias)?;
                return Ok(alias.name.clone());
            }
            match natural_name(&item.expr) {
                Some(name) => {
                    if matches!(target, Target::Sink { .. })
                        && matches!(item.expr, Expr::Column { .. })
                    {
                        check_unaliased(&name)?;
                    }
                    Ok(name)
                }
                None => Ok(generated.next()),
            }
        })
        .collect()
}

/// The key column a selected expression is, if it is a bare reference to one.
fn selected_key<'s>(expr: &Expr, source: &'s Source) -> Option<&'s str> {
    let Expr::Column { name, .. } = expr else {
        return None;
    };
    source
        .schema
        .key_columns()
        .find(|key| key.name == name.name)
        .map(|key| key.name.as_str())
}

pub(super) fn plan(
    query: &Query,
    source: &Source,
    scope: &Scope,
    target: Target<'_>,
) -> Result<Vec<OutputColumn>, PlanError> {
    let alias = scope
        .sources()
        .first()
        .map(|s| s.to_string())
        .unwrap_or_default();
    if let (Target::Sink { name: sink, .. }, false) = (target, query.partition_by.is_empty()) {
        return super::partition_by::plan(query, source, &alias, scope, sink);
    }
    let selected = expand(&query.select, source, &alias, target)?;
    let names = name_all(&selected, source, target)?;
    let mut output = Vec::with_capacity(selected.len());
    for (item, name) in selected.iter().zip(names) {
        output.push(OutputColumn {
            name,
            kind: ColumnKind::Value,
            expr: compile(&item.expr, scope, Clause::Select)?,
        });
    }
    let Target::Sink { name: sink, .. } = target else {
        return Ok(output);
    };
    let mut keys = Vec::new();
    let mut missing = Vec::new();
    for key in source.schema.key_columns() {
        let positions: Vec<usize> = selected
            .iter()
            .enumerate()
            .filter(|(_, item)| selected_key(&item.expr, source) == Some(&key.name))
            .map(|(i, _)| i)
            .collect();
        match positions.as_slice() {
            [] => missing.push(key.name.clone()),
            [one] => keys.push(*one),
            many => {
                let aliases: Vec<&str> = many.iter().map(|i| output[*i].name.as_str()).collect();
                return Err(PlanError(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                    key.name,
                    aliases.join(" and ")
                )));
            }
        }
    }
    if !missing.is_empty() {
        // ksqlDB names every key column once any is missing.
        let missing: Vec<String> = source
            .schema
            .key_columns()
            .map(|k| k.name.clone())
            .collect();
        let (noun, listed) = match missing.as_slice() {
            [one] => ("column", one.clone()),
            [init @ .., last] => ("columns", format!("{} and {last}", init.join(", "))),
            [] => ("column", String::new()),
        };
        return Err(PlanError(format!(
            "The query used to build `{sink}` must include the key {noun} {listed} in its projection (eg, SELECT {}...).",
            missing.join(", ")
        )));
    }
    let ordered = super::keys_first(output, &keys);
    if ordered.iter().all(|c| c.kind == ColumnKind::Key) {
        return Err(PlanError(
            "The projection contains no value columns.".into(),
        ));
    }
    Ok(ordered)
}
