//! Type checking: a syntax-tree expression and the columns in scope become a `TypedExpr`,
//! or an error worded as ksqlDB words it (`WHERE column 'BOB' cannot be resolved.`,
//! `Cannot compare ID (INTEGER) to '10' (STRING) with EQUAL.`).

use std::fmt;

use crate::decimal::Decimal;
use crate::functions;
use crate::parser::ast::{BinaryOp, Expr, Literal, UnaryOp};
use crate::types::SqlType;
use crate::value::Value;

use super::arithmetic::{as_decimal_type, result_type, ArithmeticOp};
use super::cast::castable;
use super::compare::comparable;
use super::like::LikePattern;
use super::scope::{Resolution, Scope};
use super::{ExprError, Node, TypedExpr};

/// Where an expression stands in a statement; ksqlDB's messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    Select,
    Where,
    Having,
    GroupBy,
    PartitionBy,
    JoinOn,
    Values,
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Clause::Select => "SELECT",
            Clause::Where => "WHERE",
            Clause::Having => "HAVING",
            Clause::GroupBy => "GROUP BY",
            Clause::PartitionBy => "PARTITION BY",
            Clause::JoinOn => "JOIN ON",
            Clause::Values => "VALUES",
        })
    }
}

/// Type-checks `expr` against the columns of `scope`.
pub fn compile(expr: &Expr, scope: &Scope, clause: Clause) -> Result<TypedExpr, ExprError> {
    let compiler = Compiler { scope, clause };
    let typed = compiler.expr(expr).map_err(|error| match error {
        Failure::Plain(message) => ExprError(message),
        Failure::Typing(message) if matches!(clause, Clause::Where | Clause::Having) => {
            ExprError(format!("Error in {clause} expression: {message}"))
        }
        Failure::Typing(message) => ExprError(message),
    })?;
    if matches!(clause, Clause::Where | Clause::Having) {
        if let Some(sql_type) = typed.sql_type.as_ref().filter(|t| **t != SqlType::Boolean) {
            return Err(ExprError(format!(
                "Type error in {clause} expression: Should evaluate to boolean but is {expr} ({sql_type}) instead."
            )));
        }
    }
    Ok(typed)
}

/// A message as is, or a type error that WHERE and HAVING prefix with their name.
enum Failure {
    Plain(String),
    Typing(String),
}

type Compiled = Result<TypedExpr, Failure>;

struct Compiler<'a> {
    scope: &'a Scope,
    clause: Clause,
}

fn typed(node: Node, sql_type: Option<SqlType>) -> TypedExpr {
    TypedExpr { node, sql_type }
}

fn type_name(sql_type: &Option<SqlType>) -> String {
    sql_type
        .as_ref()
        .map_or_else(|| "null".to_string(), SqlType::to_string)
}

/// The type both branches of a CASE or elements of an ARRAY can take.
pub fn common_type(left: &SqlType, right: &SqlType) -> Option<SqlType> {
    if left == right {
        return Some(left.clone());
    }
    if !(left.is_numeric() && right.is_numeric()) {
        return None;
    }
    if matches!(left, SqlType::Double) || matches!(right, SqlType::Double) {
        return Some(SqlType::Double);
    }
    if let (SqlType::Integer | SqlType::Bigint, SqlType::Integer | SqlType::Bigint) = (left, right)
    {
        return Some(SqlType::Bigint);
    }
    let (p1, s1) = as_decimal_type(left)?;
    let (p2, s2) = as_decimal_type(right)?;
    let scale = s1.max(s2);
    let whole = (p1 - s1).max(p2 - s2);
    Some(SqlType::Decimal {
        precision: (whole + scale).min(crate::types::MAX_DECIMAL_PRECISION),
        scale,
    })
}

fn literal(literal: &Literal) -> Result<TypedExpr, Failure> {
    Ok(match literal {
        Literal::Null => typed(Node::Literal(Value::Null), None),
        Literal::Boolean(b) => typed(Node::Literal(Value::Boolean(*b)), Some(SqlType::Boolean)),
        Literal::Integer(i) => match i32::try_from(*i) {
            Ok(small) => typed(Node::Literal(Value::Integer(small)), Some(SqlType::Integer)),
            Err(_) => typed(Node::Literal(Value::Bigint(*i)), Some(SqlType::Bigint)),
        },
        Literal::Decimal(text) => {
            let value = Decimal::parse(text).map_err(|e| Failure::Plain(e.to_string()))?;
            let (precision, scale) = (value.precision().max(value.scale), value.scale);
            if precision > crate::types::MAX_DECIMAL_PRECISION {
                return Err(Failure::Plain(format!(
                    "DECIMAL precision must be <= {}: DECIMAL({precision},{scale})",
                    crate::types::MAX_DECIMAL_PRECISION
                )));
            }
            let sql_type = SqlType::Decimal { precision, scale };
            typed(Node::Literal(Value::Decimal(value)), Some(sql_type))
        }
        Literal::Double(d) => typed(Node::Literal(Value::Double(*d)), Some(SqlType::Double)),
        Literal::String(s) => typed(
            Node::Literal(Value::String(s.clone())),
            Some(SqlType::String),
        ),
    })
}

impl Compiler<'_> {
    fn boxed(&self, expr: &Expr) -> Result<Box<TypedExpr>, Failure> {
        self.expr(expr).map(Box::new)
    }

    fn expr(&self, expr: &Expr) -> Compiled {
        match expr {
            Expr::Literal(value) => literal(value),
            Expr::Column { source, name } => {
                self.column(source.as_ref().map(|s| &s.name[..]), expr, &name.name)
            }
            Expr::Dereference { base, field } => self.dereference(base, &field.name),
            Expr::Subscript { base, index } => self.subscript(base, index),
            Expr::Unary { op, expr: inner } => self.unary(*op, expr, inner),
            Expr::Binary { op, left, right } => self.binary(*op, expr, left, right),
            Expr::IsNull { expr, negated } => Ok(typed(
                Node::IsNull {
                    expr: self.boxed(expr)?,
                    negated: *negated,
                },
                Some(SqlType::Boolean),
            )),
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let (l, r) = (self.boxed(left)?, self.boxed(right)?);
                self.check_comparable(BinaryOp::Equal, left, &l, right, &r)?;
                Ok(typed(
                    Node::IsDistinctFrom {
                        left: l,
                        right: r,
                        negated: *negated,
                    },
                    Some(SqlType::Boolean),
                ))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let (value, lo, hi) = (self.boxed(expr)?, self.boxed(low)?, self.boxed(high)?);
                self.check_comparable(BinaryOp::GreaterThanOrEqual, expr, &value, low, &lo)?;
                self.check_comparable(BinaryOp::LessThanOrEqual, expr, &value, high, &hi)?;
                Ok(typed(
                    Node::Between {
                        expr: value,
                        low: lo,
                        high: hi,
                        negated: *negated,
                    },
                    Some(SqlType::Boolean),
                ))
            }
            Expr::Like {
                expr: value,
                pattern,
                escape,
                negated,
            } => self.like(value, pattern, *escape, *negated),
            Expr::InList {
                expr: value,
                list,
                negated,
            } => {
                let compiled = self.boxed(value)?;
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    let typed_item = self.expr(item)?;
                    self.check_comparable(BinaryOp::Equal, value, &compiled, item, &typed_item)?;
                    items.push(typed_item);
                }
                Ok(typed(
                    Node::InList {
                        expr: compiled,
                        list: items,
                        negated: *negated,
                    },
                    Some(SqlType::Boolean),
                ))
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => self.case(operand.as_deref(), whens, otherwise.as_deref()),
            Expr::Cast { expr: inner, to } => {
                let compiled = self.boxed(inner)?;
                if let Some(from) = &compiled.sql_type {
                    if !castable(from, to) {
                        return Err(Failure::Plain(format!(
                            "Cast of {from} to {to} is not supported"
                        )));
                    }
                }
                Ok(typed(
                    Node::Cast {
                        expr: compiled,
                        to: to.clone(),
                    },
                    Some(to.clone()),
                ))
            }
            Expr::Function { name, args, star } => self.call(&name.name, args, *star),
            Expr::Array(items) => self.array(items),
            Expr::Map(entries) => self.map(entries),
            Expr::Lambda { .. } => Err(Failure::Plain(format!(
                "Lambda functions are not supported yet: {expr}"
            ))),
            Expr::IntervalUnit(_) => Err(Failure::Plain(format!(
                "A time unit is only allowed as a function argument: {expr}"
            ))),
            Expr::Struct(fields) => {
                let mut compiled = Vec::with_capacity(fields.len());
                let mut field_types = Vec::with_capacity(fields.len());
                for (name, value) in fields {
                    let value = self.expr(value)?;
                    field_types.push(crate::types::StructField {
                        name: name.name.clone(),
                        sql_type: value.sql_type.clone().unwrap_or(SqlType::String),
                    });
                    compiled.push((name.name.clone(), value));
                }
                Ok(typed(
                    Node::Struct(compiled),
                    Some(SqlType::Struct(field_types)),
                ))
            }
        }
    }

    fn column(&self, source: Option<&str>, written: &Expr, name: &str) -> Compiled {
        match self.scope.resolve(source, name) {
            Ok(index) => Ok(typed(
                Node::Column(index),
                Some(self.scope.columns[index].sql_type.clone()),
            )),
            Err(Resolution::Unknown) => Err(Failure::Plain(format!(
                "{} column '{}' cannot be resolved.",
                self.clause,
                written.to_string().replace('`', "")
            ))),
            Err(Resolution::Ambiguous(sources)) => Err(Failure::Plain(format!(
                "Column '{name}' is ambiguous. Could be any of: {}",
                sources
                    .iter()
                    .map(|s| format!("{s}.{name}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn dereference(&self, base: &Expr, field: &str) -> Compiled {
        let compiled = self.boxed(base)?;
        let Some(SqlType::Struct(fields)) = &compiled.sql_type else {
            return Err(Failure::Typing(format!(
                "Expected STRUCT type, got: {}",
                type_name(&compiled.sql_type)
            )));
        };
        let Some(index) = fields.iter().position(|f| f.name == field) else {
            return Err(Failure::Plain(format!(
                "Could not find field '{field}' in '{base}'."
            )));
        };
        let sql_type = fields[index].sql_type.clone();
        Ok(typed(
            Node::Field {
                base: compiled,
                index,
            },
            Some(sql_type),
        ))
    }

    fn subscript(&self, base: &Expr, index: &Expr) -> Compiled {
        let compiled = self.boxed(base)?;
        let position = self.boxed(index)?;
        match compiled.sql_type.clone() {
            Some(SqlType::Array(element)) => {
                if !matches!(
                    position.sql_type,
                    Some(SqlType::Integer | SqlType::Bigint) | None
                ) {
                    return Err(Failure::Typing(format!(
                        "Array index must be INTEGER, got {}",
                        type_name(&position.sql_type)
                    )));
                }
                Ok(typed(
                    Node::ArrayIndex {
                        base: compiled,
                        index: position,
                    },
                    Some(*element),
                ))
            }
            Some(SqlType::Map(_, value)) => Ok(typed(
                Node::MapLookup {
                    base: compiled,
                    key: position,
                },
                Some(*value),
            )),
            other => Err(Failure::Typing(format!(
                "Subscript expression must be on ARRAY or MAP, got {}",
                type_name(&other)
            ))),
        }
    }

    fn unary(&self, op: UnaryOp, whole: &Expr, inner: &Expr) -> Compiled {
        let compiled = self.boxed(inner)?;
        let sql_type = compiled.sql_type.clone();
        match op {
            UnaryOp::Not => {
                if !matches!(sql_type, Some(SqlType::Boolean) | None) {
                    return Err(Failure::Typing(format!(
                        "Error processing expression: {whole}. NOT requires a BOOLEAN, got {}",
                        type_name(&sql_type)
                    )));
                }
                Ok(typed(Node::Not(compiled), Some(SqlType::Boolean)))
            }
            UnaryOp::Plus | UnaryOp::Minus => {
                if !sql_type.as_ref().is_some_and(SqlType::is_numeric) {
                    return Err(Failure::Typing(format!(
                        "Error processing expression: {whole}. Unsupported arithmetic type. {}",
                        type_name(&sql_type)
                    )));
                }
                if op == UnaryOp::Plus {
                    return Ok(*compiled);
                }
                Ok(typed(Node::Negate(compiled), sql_type))
            }
        }
    }

    fn binary(&self, op: BinaryOp, whole: &Expr, left: &Expr, right: &Expr) -> Compiled {
        let (l, r) = (self.boxed(left)?, self.boxed(right)?);
        let arithmetic = match op {
            BinaryOp::Add => Some(ArithmeticOp::Add),
            BinaryOp::Subtract => Some(ArithmeticOp::Subtract),
            BinaryOp::Multiply => Some(ArithmeticOp::Multiply),
            BinaryOp::Divide => Some(ArithmeticOp::Divide),
            BinaryOp::Modulus => Some(ArithmeticOp::Modulus),
            _ => None,
        };
        if let Some(arithmetic) = arithmetic {
            return self.arithmetic(arithmetic, whole, l, r);
        }
        match op {
            BinaryOp::And | BinaryOp::Or => {
                for (side, written) in [(&l, left), (&r, right)] {
                    if !matches!(side.sql_type, Some(SqlType::Boolean) | None) {
                        return Err(Failure::Typing(format!(
                            "Logical binary expects two boolean values.  Actual {written} ({})",
                            type_name(&side.sql_type)
                        )));
                    }
                }
                let node = if op == BinaryOp::And {
                    Node::And(l, r)
                } else {
                    Node::Or(l, r)
                };
                Ok(typed(node, Some(SqlType::Boolean)))
            }
            _ => {
                self.check_comparable(op, left, &l, right, &r)?;
                Ok(typed(
                    Node::Compare {
                        op,
                        left: l,
                        right: r,
                    },
                    Some(SqlType::Boolean),
                ))
            }
        }
    }

    fn arithmetic(
        &self,
        op: ArithmeticOp,
        whole: &Expr,
        left: Box<TypedExpr>,
        right: Box<TypedExpr>,
    ) -> Compiled {
        let (Some(lt), Some(rt)) = (&left.sql_type, &right.sql_type) else {
            return Err(Failure::Typing(format!(
                "Error processing expression: {whole}. Arithmetic on types {} and {} are not supported.",
                type_name(&left.sql_type),
                type_name(&right.sql_type)
            )));
        };
        if op == ArithmeticOp::Add && *lt == SqlType::String && *rt == SqlType::String {
            return Ok(typed(Node::Concat(left, right), Some(SqlType::String)));
        }
        match result_type(op, lt, rt) {
            Some(result) => Ok(typed(Node::Arithmetic { op, left, right }, Some(result))),
            None => Err(Failure::Typing(format!(
                "Error processing expression: {whole}. Unsupported arithmetic types. {} {}",
                lt.family(),
                rt.family()
            ))),
        }
    }

    fn check_comparable(
        &self,
        op: BinaryOp,
        left: &Expr,
        l: &TypedExpr,
        right: &Expr,
        r: &TypedExpr,
    ) -> Result<(), Failure> {
        let (Some(lt), Some(rt)) = (&l.sql_type, &r.sql_type) else {
            return Ok(());
        };
        if comparable(op, lt, rt) {
            return Ok(());
        }
        let name = op.comparison_name().unwrap_or("EQUAL");
        Err(Failure::Typing(format!(
            "Cannot compare {left} ({lt}) to {right} ({rt}) with {name}."
        )))
    }

    fn like(&self, value: &Expr, pattern: &Expr, escape: Option<char>, negated: bool) -> Compiled {
        let compiled = self.boxed(value)?;
        if !matches!(compiled.sql_type, Some(SqlType::String) | None) {
            return Err(Failure::Typing(format!(
                "LIKE operator expects STRING values, got {value} ({})",
                type_name(&compiled.sql_type)
            )));
        }
        let Expr::Literal(Literal::String(pattern)) = pattern else {
            return Err(Failure::Typing(format!(
                "LIKE pattern must be a string literal, got {pattern}"
            )));
        };
        Ok(typed(
            Node::Like {
                expr: compiled,
                pattern: LikePattern::new(pattern, escape),
                negated,
            },
            Some(SqlType::Boolean),
        ))
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        otherwise: Option<&Expr>,
    ) -> Compiled {
        let mut branches = Vec::with_capacity(whens.len());
        let mut result_type: Option<SqlType> = None;
        let mut widen = |branch: &TypedExpr| -> Result<(), Failure> {
            if let Some(sql_type) = &branch.sql_type {
                result_type = Some(match &result_type {
                    None => sql_type.clone(),
                    Some(current) => common_type(current, sql_type).ok_or_else(|| {
                        Failure::Typing(format!(
                            "Invalid Case expression. Type for all 'THEN' clauses should be the same.\nTHEN expression has type {sql_type}, but the previous branches have type {current}."
                        ))
                    })?,
                });
            }
            Ok(())
        };
        for (when, then) in whens {
            let condition = match operand {
                Some(operand) => Expr::Binary {
                    op: BinaryOp::Equal,
                    left: Box::new(operand.clone()),
                    right: Box::new(when.clone()),
                },
                None => when.clone(),
            };
            let condition = self.expr(&condition)?;
            if !matches!(condition.sql_type, Some(SqlType::Boolean) | None) {
                return Err(Failure::Typing(format!(
                    "WHEN operand type should be boolean.\nType for '{when}' is {}",
                    type_name(&condition.sql_type)
                )));
            }
            let result = self.expr(then)?;
            widen(&result)?;
            branches.push((condition, result));
        }
        let otherwise = match otherwise {
            Some(otherwise) => {
                let compiled = self.expr(otherwise)?;
                widen(&compiled)?;
                Some(Box::new(compiled))
            }
            None => None,
        };
        if result_type.is_none() {
            return Err(Failure::Plain(
                "Invalid Case expression. All case branches have NULL type".into(),
            ));
        }
        Ok(typed(
            Node::Case {
                whens: branches,
                otherwise,
            },
            result_type,
        ))
    }

    fn call(&self, name: &str, args: &[Expr], star: bool) -> Compiled {
        if functions::is_aggregate(name) {
            return Err(Failure::Plain(format!(
                "{} does not support aggregate functions: {name} is an aggregate function.",
                self.clause
            )));
        }
        let compiled = if star {
            Vec::new()
        } else {
            args.iter()
                .map(|arg| self.expr(arg))
                .collect::<Result<Vec<_>, _>>()?
        };
        let arg_types: Vec<Option<SqlType>> =
            compiled.iter().map(|arg| arg.sql_type.clone()).collect();
        let (function, return_type) =
            functions::resolve_scalar(name, &arg_types).map_err(Failure::Plain)?;
        Ok(typed(
            Node::Call {
                function,
                args: compiled,
            },
            return_type,
        ))
    }

    fn array(&self, items: &[Expr]) -> Compiled {
        let compiled = items
            .iter()
            .map(|item| self.expr(item))
            .collect::<Result<Vec<_>, _>>()?;
        let mut element: Option<SqlType> = None;
        for item in &compiled {
            if let Some(sql_type) = &item.sql_type {
                element = Some(match &element {
                    None => sql_type.clone(),
                    Some(current) => common_type(current, sql_type).ok_or_else(|| {
                        Failure::Typing(format!(
                            "invalid input syntax for type {current}: array elements must share a type, got {sql_type}"
                        ))
                    })?,
                });
            }
        }
        let Some(element) = element else {
            return Err(Failure::Plain(
                "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.".into(),
            ));
        };
        Ok(typed(
            Node::Array(compiled),
            Some(SqlType::Array(Box::new(element))),
        ))
    }

    fn map(&self, entries: &[(Expr, Expr)]) -> Compiled {
        let mut compiled = Vec::with_capacity(entries.len());
        let (mut key_type, mut value_type): (Option<SqlType>, Option<SqlType>) = (None, None);
        for (key, value) in entries {
            let (key, value) = (self.expr(key)?, self.expr(value)?);
            key_type = key_type.or_else(|| key.sql_type.clone());
            value_type = value_type.or_else(|| value.sql_type.clone());
            compiled.push((key, value));
        }
        let (Some(key_type), Some(value_type)) = (key_type, value_type) else {
            return Err(Failure::Plain(
                "Cannot construct a map with all NULL keys or values. As a workaround, you may cast a NULL value to the desired type.".into(),
            ));
        };
        Ok(typed(
            Node::Map(compiled),
            Some(SqlType::Map(Box::new(key_type), Box::new(value_type))),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::ast::Ident;

    fn scope() -> Scope {
        let mut scope = Scope::default();
        scope.push(Some("INPUT"), "ID", SqlType::Integer);
        scope.push(Some("INPUT"), "NAME", SqlType::String);
        scope
    }

    fn column(name: &str) -> Expr {
        Expr::Column {
            source: None,
            name: Ident::new(name),
        }
    }

    fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    fn string(text: &str) -> Expr {
        Expr::Literal(Literal::String(text.into()))
    }

    #[test]
    fn where_filters_evaluate_over_rows() {
        let condition = binary(
            BinaryOp::And,
            binary(
                BinaryOp::LessThan,
                column("ID"),
                Expr::Literal(Literal::Integer(10)),
            ),
            binary(BinaryOp::Equal, column("NAME"), string("Bob")),
        );
        let typed = compile(&condition, &scope(), Clause::Where).unwrap();
        let row = vec![Value::Integer(3), Value::String("Bob".into())];
        assert_eq!(typed.eval(&row), Ok(Value::Boolean(true)));
        let null_name = vec![Value::Integer(3), Value::Null];
        assert_eq!(typed.eval(&null_name), Ok(Value::Boolean(false)));
    }

    #[test]
    fn messages_match_ksqldb() {
        let unknown = Expr::Function {
            name: Ident::new("ABS"),
            args: vec![column("BOB")],
            star: false,
        };
        assert_eq!(
            compile(
                &binary(
                    BinaryOp::LessThan,
                    unknown,
                    Expr::Literal(Literal::Integer(10))
                ),
                &scope(),
                Clause::Where
            )
            .unwrap_err()
            .0,
            "WHERE column 'BOB' cannot be resolved."
        );
        assert_eq!(
            compile(
                &binary(BinaryOp::Equal, column("ID"), string("10")),
                &scope(),
                Clause::Where
            )
            .unwrap_err()
            .0,
            "Error in WHERE expression: Cannot compare ID (INTEGER) to '10' (STRING) with EQUAL."
        );
        assert_eq!(
            compile(&string("not a boolean"), &scope(), Clause::Where).unwrap_err().0,
            "Type error in WHERE expression: Should evaluate to boolean but is 'not a boolean' (STRING) instead."
        );
        let null_sum = binary(
            BinaryOp::Add,
            Expr::Literal(Literal::Integer(1)),
            Expr::Literal(Literal::Null),
        );
        assert_eq!(
            compile(&null_sum, &scope(), Clause::Select).unwrap_err().0,
            "Error processing expression: (1 + null). Arithmetic on types INTEGER and null are not supported."
        );
        let bool_sum = binary(
            BinaryOp::Add,
            Expr::Literal(Literal::Boolean(true)),
            Expr::Literal(Literal::Decimal("1.5".into())),
        );
        assert_eq!(
            compile(&bool_sum, &scope(), Clause::Where).unwrap_err().0,
            "Error in WHERE expression: Error processing expression: (true + 1.5). Unsupported arithmetic types. BOOLEAN DECIMAL"
        );
    }

    #[test]
    fn decimal_literals_and_casts_out_of_range_are_errors() {
        let literal = |text: &str| Expr::Literal(Literal::Decimal(text.into()));
        let tiny = format!("0.{}1", "0".repeat(100));
        assert_eq!(
            compile(&literal(&tiny), &scope(), Clause::Select)
                .unwrap_err()
                .0,
            "DECIMAL precision must be <= 38: DECIMAL(101,101)"
        );
        let wide = format!("{}.5", "9".repeat(60));
        assert_eq!(
            compile(&literal(&wide), &scope(), Clause::Select)
                .unwrap_err()
                .0,
            "Numeric field overflow"
        );
        let cast = Expr::Cast {
            expr: Box::new(string("1e2000000000")),
            to: SqlType::Decimal {
                precision: 10,
                scale: 2,
            },
        };
        let typed = compile(&cast, &scope(), Clause::Select).unwrap();
        assert!(typed.eval(&[Value::Integer(1), Value::Null]).is_err());
    }

    #[test]
    fn case_takes_the_wider_branch_type() {
        let case = Expr::Case {
            operand: None,
            whens: vec![(
                binary(
                    BinaryOp::GreaterThan,
                    column("ID"),
                    Expr::Literal(Literal::Integer(1)),
                ),
                Expr::Literal(Literal::Integer(1)),
            )],
            otherwise: Some(Box::new(Expr::Literal(Literal::Integer(5_000_000_000)))),
        };
        let typed = compile(&case, &scope(), Clause::Select).unwrap();
        assert_eq!(typed.sql_type, Some(SqlType::Bigint));
        let row = vec![Value::Integer(3), Value::Null];
        assert_eq!(typed.eval(&row), Ok(Value::Bigint(1)));
    }
}
