//! What a pull query may not do, in ksqlDB's words: it reads the current rows once, so
//! GROUP BY, WINDOW and JOIN belong to push queries, and a row's partition and offset mean
//! nothing for a table's current row.

use crate::parser::ast::{Expr, Query, Relation, SelectItem};

use super::{rewrite, PlanError};

const ADVICE: &str =
    "See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";

/// Refuses what a pull query (a SELECT without EMIT CHANGES) cannot do.
pub fn check_pull(query: &Query) -> Result<(), PlanError> {
    let refuse = |clause: &str| {
        PlanError(format!(
            "Pull queries don't support {clause} clauses. {ADVICE}"
        ))
    };
    if matches!(query.from, Relation::Join { .. }) {
        return Err(refuse("JOIN"));
    }
    if query.window.is_some() {
        return Err(refuse("WINDOW"));
    }
    if !query.group_by.is_empty() {
        return Err(refuse("GROUP BY"));
    }
    let selected: Vec<&Expr> = query
        .select
        .iter()
        .filter_map(|item| match item {
            SelectItem::Expr { expr, .. } => Some(expr),
            _ => None,
        })
        .collect();
    for (clause, exprs) in [
        ("SELECT", selected),
        ("WHERE", query.where_clause.iter().collect()),
    ] {
        let mut disallowed = Vec::new();
        for expr in exprs {
            rewrite::visit(expr, &mut |node| {
                if let Expr::Column { name, .. } = node {
                    if matches!(name.name.as_str(), "ROWPARTITION" | "ROWOFFSET")
                        && !disallowed.contains(&name.name)
                    {
                        disallowed.push(name.name.clone());
                    }
                }
            });
        }
        if !disallowed.is_empty() {
            let listed: Vec<String> = disallowed.iter().map(|n| format!("`{n}`")).collect();
            return Err(PlanError(format!(
                "Pull queries don't support the following columns in {clause} clauses: {}",
                listed.join(", ")
            )));
        }
    }
    Ok(())
}
