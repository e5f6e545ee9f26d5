//! The SELECT list of a join. `*` and `alias.*` list each side's columns named
//! `ALIAS_COLUMN` (with ROWKEY first for `*` when the key is synthetic); a qualified column
//! whose name both sides have is named the same way. A persistent query's key is the join
//! key: one selected expression must be a column the join is on (the left one preferred), or
//! ROWKEY; it leads the output.

use crate::catalog::Source;
use crate::expr::{compile, Clause, Node};
use crate::parser::ast::{Expr, Ident, Query, SelectItem};
use crate::schema::{ColumnKind, WINDOW_COLUMNS};

use super::join::Sides;
use super::naming::{check_alias, natural_name, GeneratedNames};
use super::projection::Selected;
use super::{OutputColumn, PlanError, Target};

fn prefixed(alias: &str, name: &str) -> Selected {
    Selected {
        expr: Expr::Column {
            source: Some(Ident::quoted(alias)),
            name: Ident::quoted(name),
        },
        alias: Some(Ident::quoted(&format!("{alias}_{name}"))),
    }
}

/// One side's columns as `*` lists them: keys, window bounds, values.
fn side_columns(source: &Source, alias: &str, selected: &mut Vec<Selected>) {
    for column in source.schema.key_columns() {
        selected.push(prefixed(alias, &column.name));
    }
    if source.window.is_some() {
        for (name, _) in WINDOW_COLUMNS {
            selected.push(prefixed(alias, name));
        }
    }
    for column in source.schema.value_columns() {
        selected.push(prefixed(alias, &column.name));
    }
}

fn expand(items: &[SelectItem], sides: &Sides<'_>) -> Result<Vec<Selected>, PlanError> {
    let mut selected = Vec::new();
    for item in items {
        match item {
            SelectItem::Expr { expr, alias } => selected.push(Selected {
                expr: expr.clone(),
                alias: alias.clone(),
            }),
            SelectItem::Wildcard => {
                if sides.join.synthetic_key {
                    selected.push(Selected {
                        expr: Expr::Column {
                            source: None,
                            name: Ident::quoted("ROWKEY"),
                        },
                        alias: None,
                    });
                }
                side_columns(sides.left, &sides.left_alias, &mut selected);
                side_columns(sides.right, &sides.right_alias, &mut selected);
            }
            SelectItem::QualifiedWildcard(qualifier) if qualifier.name == sides.left_alias => {
                side_columns(sides.left, &sides.left_alias, &mut selected)
            }
            SelectItem::QualifiedWildcard(qualifier) if qualifier.name == sides.right_alias => {
                side_columns(sides.right, &sides.right_alias, &mut selected)
            }
            SelectItem::QualifiedWildcard(qualifier) => {
                return Err(PlanError(format!(
                    "'{}' is not a valid stream/table name or alias.",
                    qualifier.name
                )));
            }
        }
    }
    Ok(selected)
}

/// The name of a selected expression: its alias, `ALIAS_COLUMN` for a qualified column both
/// sides have, its natural name, or a generated one.
fn name_all(selected: &[Selected], sides: &Sides<'_>) -> Result<Vec<String>, PlanError> {
    let in_both = |name: &str| {
        sides.left.schema.columns.iter().any(|c| c.name == name)
            && sides.right.schema.columns.iter().any(|c| c.name == name)
            || crate::schema::is_reserved_column(name)
    };
    let mut generated = GeneratedNames::avoiding(
        sides.scope.columns.iter().map(|c| c.name.as_str()),
        selected.iter().map(|s| s.alias.as_ref()),
    );
    selected
        .iter()
        .map(|item| {
            if let Some(alias) = &item.alias {
                check_alias(alias)?;
                return Ok(alias.name.clone());
            }
            if let Expr::Column {
                source: Some(qualifier),
                name,
            } = &item.expr
            {
                if in_both(&name.name) {
                    return Ok(format!("{}_{}", qualifier.name, name.name));
                }
            }
            Ok(natural_name(&item.expr).unwrap_or_else(|| generated.next()))
        })
        .collect()
}

pub(super) fn plan(
    query: &Query,
    sides: &Sides<'_>,
    target: Target<'_>,
) -> Result<Vec<OutputColumn>, PlanError> {
    let selected = expand(&query.select, sides)?;
    let compiled = selected
        .iter()
        .map(|item| compile(&item.expr, &sides.scope, Clause::Select))
        .collect::<Result<Vec<_>, _>>()?;
    let names = name_all(&selected, sides)?;
    let output: Vec<OutputColumn> = names
        .into_iter()
        .zip(compiled)
        .map(|(name, expr)| OutputColumn {
            name,
            kind: ColumnKind::Value,
            expr,
        })
        .collect();
    let Target::Sink { name: sink, .. } = target else {
        return Ok(output);
    };
    let positions = &sides.join.key_positions;
    let selects = |position: usize| -> Vec<usize> {
        output
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.expr.node, Node::Column(i) if i == position))
            .map(|(i, _)| i)
            .collect()
    };
    let Some((position, chosen)) = positions
        .iter()
        .map(|p| (*p, selects(*p)))
        .find(|(_, chosen)| !chosen.is_empty())
    else {
        return Err(missing_key(sides, sink));
    };
    if chosen.len() > 1 {
        let mut aliases: Vec<&str> = chosen.iter().map(|i| output[*i].name.as_str()).collect();
        aliases.sort_unstable();
        let column = &sides.scope.columns[position];
        let key_name = match &column.source {
            Some(source) => format!("{source}_{}", column.name),
            None => column.name.clone(),
        };
        return Err(PlanError(format!(
            "The projection contains a key column (`{key_name}`) more than once, aliased as: {}.",
            aliases.join(" and ")
        )));
    }
    let ordered = super::keys_first(output, &chosen);
    if ordered.len() == 1 {
        return Err(PlanError(
            "The projection contains no value columns.".into(),
        ));
    }
    Ok(ordered)
}

/// ksqlDB's message for a join sink whose projection leaves out the join key.
fn missing_key(sides: &Sides<'_>, sink: &str) -> PlanError {
    if sides.join.synthetic_key {
        return PlanError(format!(
            "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{sink}` must include the join expression ROWKEY in its projection (eg, SELECT ROWKEY...).\nROWKEY was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased."
        ));
    }
    let written: Vec<String> = sides
        .join
        .key_positions
        .iter()
        .map(|p| {
            let column = &sides.scope.columns[*p];
            format!(
                "{}.{}",
                column.source.as_deref().unwrap_or_default(),
                column.name
            )
        })
        .collect();
    let (noun, listed) = match written.as_slice() {
        [one] => ("expression", one.clone()),
        _ => ("expressions", written.join(" or ")),
    };
    PlanError(format!(
        "The query used to build `{sink}` must include the join {noun} {listed} in its projection (eg, SELECT {}...).",
        written[0]
    ))
}
