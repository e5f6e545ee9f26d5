//! Names of output columns: an alias as given, a column's own name, a struct field's name
//! for `s->field`, and `KSQL_COL_n` for anything else, counting up past names in use.

use std::collections::HashSet;

use crate::parser::ast::{Expr, Ident};
use crate::schema::is_reserved_column;

use super::PlanError;

/// Hands out `KSQL_COL_0`, `KSQL_COL_1`, ... skipping names already taken.
#[derive(Default)]
pub struct GeneratedNames {
    next: usize,
    taken: HashSet<String>,
}

impl GeneratedNames {
    pub fn new<'a>(taken: impl IntoIterator<Item = &'a str>) -> Self {
        GeneratedNames {
            next: 0,
            taken: taken.into_iter().map(str::to_string).collect(),
        }
    }

    /// Names that avoid the source's columns and every alias the SELECT list gives.
    pub fn avoiding<'a>(
        columns: impl IntoIterator<Item = &'a str>,
        aliases: impl IntoIterator<Item = Option<&'a Ident>>,
    ) -> Self {
        GeneratedNames::new(
            columns
                .into_iter()
                .chain(aliases.into_iter().flatten().map(|a| a.name.as_str())),
        )
    }

    pub fn next(&mut self) -> String {
        loop {
            let name = format!("KSQL_COL_{}", self.next);
            self.next += 1;
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }
}

/// The name an unaliased expression gets without generating one, if it has one.
pub fn natural_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Column { name, .. } => Some(name.name.clone()),
        Expr::Dereference { field, .. } => Some(field.name.clone()),
        _ => None,
    }
}

/// Refuses an alias that is a pseudocolumn's name.
pub fn check_alias(alias: &Ident) -> Result<(), PlanError> {
    if is_reserved_column(&alias.name) {
        return Err(PlanError(format!(
            "`{}` is a reserved column name. You cannot use it as an alias for a column.",
            alias.name
        )));
    }
    Ok(())
}

/// Refuses an unaliased pseudocolumn in a persistent query's projection.
pub fn check_unaliased(name: &str) -> Result<(), PlanError> {
    if is_reserved_column(name) {
        return Err(PlanError(format!(
            "Reserved column name in select: `{name}`. Please remove or alias the column."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_skip_taken_ones() {
        let mut names = GeneratedNames::new(["KSQL_COL_0"]);
        assert_eq!(names.next(), "KSQL_COL_1");
        assert_eq!(names.next(), "KSQL_COL_2");
    }
}
