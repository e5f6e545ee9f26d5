//! Walking and rebuilding expression trees: finding aggregate calls, replacing grouped or
//! partitioned expressions, and comparing expressions regardless of source qualifiers.

use crate::parser::ast::Expr;

/// Calls `f` on every node of `expr`, parents first.
pub(super) fn visit(expr: &Expr, f: &mut impl FnMut(&Expr)) {
    f(expr);
    let mut children: Vec<&Expr> = Vec::new();
    match expr {
        Expr::Literal(_) | Expr::Column { .. } | Expr::IntervalUnit(_) => {}
        Expr::Lambda { body, .. } => children.push(body),
        Expr::Dereference { base, .. } => children.push(base),
        Expr::Subscript { base, index } => children.extend([&**base, &**index]),
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => {
            children.push(expr)
        }
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            children.extend([&**left, &**right])
        }
        Expr::Between {
            expr, low, high, ..
        } => children.extend([&**expr, &**low, &**high]),
        Expr::Like { expr, pattern, .. } => children.extend([&**expr, &**pattern]),
        Expr::InList { expr, list, .. } => {
            children.push(expr);
            children.extend(list);
        }
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => {
            children.extend(operand.as_deref());
            for (when, then) in whens {
                children.extend([when, then]);
            }
            children.extend(otherwise.as_deref());
        }
        Expr::Function { args, .. } | Expr::Array(args) => children.extend(args),
        Expr::Map(entries) => {
            for (k, v) in entries {
                children.extend([k, v]);
            }
        }
        Expr::Struct(fields) => children.extend(fields.iter().map(|(_, v)| v)),
    }
    for child in children {
        visit(child, f);
    }
}

/// Rebuilds `expr` top-down; where `replace` returns a node, that whole subtree is swapped.
pub(super) fn rewrite(expr: &Expr, replace: &impl Fn(&Expr) -> Option<Expr>) -> Expr {
    if let Some(replaced) = replace(expr) {
        return replaced;
    }
    let r = |e: &Expr| Box::new(rewrite(e, replace));
    match expr {
        Expr::Literal(_) | Expr::Column { .. } | Expr::IntervalUnit(_) => expr.clone(),
        Expr::Lambda { params, body } => Expr::Lambda {
            params: params.clone(),
            body: r(body),
        },
        Expr::Dereference { base, field } => Expr::Dereference {
            base: r(base),
            field: field.clone(),
        },
        Expr::Subscript { base, index } => Expr::Subscript {
            base: r(base),
            index: r(index),
        },
        Expr::Unary { op, expr } => Expr::Unary {
            op: *op,
            expr: r(expr),
        },
        Expr::Binary { op, left, right } => Expr::Binary {
            op: *op,
            left: r(left),
            right: r(right),
        },
        Expr::IsNull { expr, negated } => Expr::IsNull {
            expr: r(expr),
            negated: *negated,
        },
        Expr::IsDistinctFrom {
            left,
            right,
            negated,
        } => Expr::IsDistinctFrom {
            left: r(left),
            right: r(right),
            negated: *negated,
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: r(expr),
            low: r(low),
            high: r(high),
            negated: *negated,
        },
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => Expr::Like {
            expr: r(expr),
            pattern: r(pattern),
            escape: *escape,
            negated: *negated,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: r(expr),
            list: list.iter().map(|e| rewrite(e, replace)).collect(),
            negated: *negated,
        },
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => Expr::Case {
            operand: operand.as_deref().map(r),
            whens: whens
                .iter()
                .map(|(w, t)| (rewrite(w, replace), rewrite(t, replace)))
                .collect(),
            otherwise: otherwise.as_deref().map(r),
        },
        Expr::Cast { expr, to } => Expr::Cast {
            expr: r(expr),
            to: to.clone(),
        },
        Expr::Function { name, args, star } => Expr::Function {
            name: name.clone(),
            args: args.iter().map(|e| rewrite(e, replace)).collect(),
            star: *star,
        },
        Expr::Array(items) => Expr::Array(items.iter().map(|e| rewrite(e, replace)).collect()),
        Expr::Map(entries) => Expr::Map(
            entries
                .iter()
                .map(|(k, v)| (rewrite(k, replace), rewrite(v, replace)))
                .collect(),
        ),
        Expr::Struct(fields) => Expr::Struct(
            fields
                .iter()
                .map(|(n, v)| (n.clone(), rewrite(v, replace)))
                .collect(),
        ),
    }
}

/// Drops source qualifiers, so that `T.ID` and `ID` match when there is one source.
pub(super) fn unqualified(expr: &Expr) -> Expr {
    rewrite(expr, &|e| match e {
        Expr::Column {
            source: Some(_),
            name,
        } => Some(Expr::Column {
            source: None,
            name: name.clone(),
        }),
        _ => None,
    })
}

/// The first window bound (`WINDOWSTART` / `WINDOWEND`) `expr` refers to, if any.
pub(super) fn window_bound_in(expr: &Expr) -> Option<&'static str> {
    let mut found = None;
    visit(expr, &mut |e| {
        if let Expr::Column { name, .. } = e {
            for bound in ["WINDOWSTART", "WINDOWEND"] {
                if found.is_none() && name.name == bound {
                    found = Some(bound);
                }
            }
        }
    });
    found
}

/// ksqlDB's refusal of window bounds outside a windowed aggregation's SELECT.
pub(super) fn window_bounds_misplaced(bound: &str) -> super::PlanError {
    super::PlanError(format!(
        "Window bounds column {bound} can only be used in the SELECT clause of windowed aggregations"
    ))
}
