//! The syntax tree of ksqlDB's dialect. Every node prints valid SQL again through `Display`,
//! in the canonical form ksqlDB uses in its messages and generated names: upper-cased
//! identifiers, backquotes where a name needs them, every binary operation in parentheses.

use std::fmt;

use crate::types::SqlType;

/// A name as written: unquoted names are upper-cased by the parser, backquoted names keep
/// their case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub quoted: bool,
}

impl Ident {
    /// An unquoted name, upper-cased as the parser would.
    pub fn new(name: &str) -> Self {
        Ident {
            name: name.to_uppercase(),
            quoted: false,
        }
    }

    /// A backquoted name, kept as given.
    pub fn quoted(name: &str) -> Self {
        Ident {
            name: name.to_string(),
            quoted: true,
        }
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_name(f, &self.name)
    }
}

/// Writes a name bare when it would read back as itself, backquoted otherwise.
pub fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if needs_quotes(name) {
        write!(f, "`{}`", name.replace('`', "``"))
    } else {
        f.write_str(name)
    }
}

fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_');
    let rest_plain = name
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '@');
    !starts_well || !rest_plain || super::keywords::is_reserved(name)
}

/// One statement, as separated by `;`.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateSource(CreateSource),
    CreateAsSelect(CreateAsSelect),
    InsertInto(InsertInto),
    InsertValues(InsertValues),
    Query(Query),
    Show(Show),
    Describe(Describe),
    Drop(Drop),
    Terminate(Terminate),
    SetProperty { name: String, value: String },
    UnsetProperty { name: String },
    Print(Print),
    AlterSource(AlterSource),
}

/// STREAM or TABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Stream,
    Table,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}

/// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (columns) WITH (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub or_replace: bool,
    /// `CREATE SOURCE ...`: a read-only source that queries may read but nothing writes to.
    pub read_only: bool,
    pub if_not_exists: bool,
    pub name: Ident,
    pub elements: Vec<TableElement>,
    pub properties: Properties,
}

/// A column declaration in CREATE STREAM / TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct TableElement {
    pub name: Ident,
    pub sql_type: SqlType,
    pub constraint: ColumnConstraint,
}

/// What a declared column is besides a value column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    None,
    Key,
    PrimaryKey,
    /// `HEADERS`: all headers as an array of key/value structs.
    Headers,
    /// `HEADER('key')`: one header's bytes.
    Header(String),
}

/// `WITH (name = value, ...)`; names are upper-cased, values are literals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties(pub Vec<(String, Literal)>);

impl Properties {
    /// The value of a property, names compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Literal> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }
}

/// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: Ident,
    pub properties: Properties,
    pub query: Query,
}

/// `INSERT INTO target [WITH (...)] SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertInto {
    pub target: Ident,
    pub properties: Properties,
    pub query: Query,
}

/// `INSERT INTO target [(columns)] VALUES (values)`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertValues {
    pub target: Ident,
    pub columns: Vec<Ident>,
    pub values: Vec<Expr>,
}

/// A SELECT: a push query when it has EMIT CHANGES, a pull query otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub window: Option<Window>,
    pub where_clause: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
}

/// `EMIT CHANGES` or `EMIT FINAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

/// One item of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard,
    /// `source.*`
    QualifiedWildcard(Ident),
    Expr {
        expr: Expr,
        alias: Option<Ident>,
    },
}

/// What a query reads: a source, or a join of sources.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    Source {
        name: Ident,
        alias: Option<Ident>,
    },
    Join {
        left: Box<Relation>,
        right: Box<Relation>,
        kind: JoinKind,
        within: Option<JoinWindow>,
        on: Expr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// `WITHIN n unit` or `WITHIN (before, after)` with an optional grace period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinWindow {
    pub before: Duration,
    pub after: Duration,
    pub grace: Option<Duration>,
}

/// `WINDOW TUMBLING (...)`, `WINDOW HOPPING (...)` or `WINDOW SESSION (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    Tumbling {
        size: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Hopping {
        size: Duration,
        advance: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
    Session {
        gap: Duration,
        retention: Option<Duration>,
        grace: Option<Duration>,
    },
}

/// A length of time as written (`10 SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub value: u64,
    pub unit: TimeUnit,
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Milliseconds => "MILLISECONDS",
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
        })
    }
}

/// The longest duration ksql computes with: event times and window bounds are milliseconds
/// in an i64, as Kafka's record timestamps are (about 292 million years).
pub const MAX_DURATION_MS: u64 = i64::MAX as u64;

impl Duration {
    /// The duration in milliseconds; None when over `MAX_DURATION_MS`.
    pub fn millis(&self) -> Option<u64> {
        self.value
            .checked_mul(self.unit.millis())
            .filter(|ms| *ms <= MAX_DURATION_MS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    /// Reads a unit in any of ksqlDB's spellings (`SECOND`, `SECONDS`, `ms`...).
    pub fn parse(word: &str) -> Option<TimeUnit> {
        Some(match word.to_ascii_uppercase().as_str() {
            "MILLISECOND" | "MILLISECONDS" | "MS" => TimeUnit::Milliseconds,
            "SECOND" | "SECONDS" => TimeUnit::Seconds,
            "MINUTE" | "MINUTES" => TimeUnit::Minutes,
            "HOUR" | "HOURS" => TimeUnit::Hours,
            "DAY" | "DAYS" => TimeUnit::Days,
            _ => return None,
        })
    }

    pub fn millis(&self) -> u64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }
}

/// SHOW / LIST statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    Streams { extended: bool },
    Tables { extended: bool },
    Queries { extended: bool },
    Topics { all: bool, extended: bool },
    Properties,
    Functions,
}

/// DESCRIBE statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Describe {
    Source { name: Ident, extended: bool },
    Streams { extended: bool },
    Tables { extended: bool },
    Function(Ident),
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drop {
    pub kind: SourceKind,
    pub if_exists: bool,
    pub name: Ident,
    pub delete_topic: bool,
}

/// `TERMINATE query_id` or `TERMINATE ALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminate {
    Query(String),
    All,
}

/// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Print {
    pub topic: String,
    pub from_beginning: bool,
    pub interval: Option<u64>,
    pub limit: Option<u64>,
}

/// `ALTER STREAM|TABLE name ADD [COLUMN] name type, ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterSource {
    pub kind: SourceKind,
    pub name: Ident,
    pub columns: Vec<TableElement>,
}

/// A literal value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// A whole number: INTEGER when it fits 32 bits, BIGINT otherwise.
    Integer(i64),
    /// A number with a point and no exponent: ksqlDB types it DECIMAL. Kept as written.
    Decimal(String),
    /// A number with an exponent (`1E0`): DOUBLE.
    Double(f64),
    String(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Boolean(value) => f.write_str(if *value { "true" } else { "false" }),
            Literal::Integer(value) => write!(f, "{value}"),
            Literal::Decimal(text) => f.write_str(text),
            // Scientific notation, as ksqlDB prints doubles: `1.5` would read back as a DECIMAL.
            Literal::Double(value) => write!(f, "{value:E}"),
            Literal::String(text) => write!(f, "'{}'", text.replace('\'', "''")),
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A column, optionally qualified by a source name or alias.
    Column {
        source: Option<Ident>,
        name: Ident,
    },
    /// `base->field`
    Dereference {
        base: Box<Expr>,
        field: Ident,
    },
    /// `base[index]`: 1-based for arrays (negative counts from the end), a key for maps.
    Subscript {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<char>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        to: SqlType,
    },
    /// A call; `COUNT(*)` has `star` set and no arguments.
    Function {
        name: Ident,
        args: Vec<Expr>,
        star: bool,
    },
    Array(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Struct(Vec<(Ident, Expr)>),
    /// `(x, y) => body`, only as a trailing function argument (`REDUCE(arr, 0, (s, x) => s + x)`).
    /// The body names its parameters as unqualified columns.
    Lambda {
        params: Vec<Ident>,
        body: Box<Expr>,
    },
    /// A time unit passed to a function (`TIMESTAMPADD(SECONDS, 5, ts)`).
    IntervalUnit(TimeUnit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Minus,
    Plus,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulus,
    Equal,
    NotEqual,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulus => "%",
            BinaryOp::Equal => "=",
            BinaryOp::NotEqual => "<>",
            BinaryOp::LessThan => "<",
            BinaryOp::LessThanOrEqual => "<=",
            BinaryOp::GreaterThan => ">",
            BinaryOp::GreaterThanOrEqual => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }

    /// The name ksqlDB's messages give a comparison (`GREATER_THAN_OR_EQUAL`).
    pub fn comparison_name(&self) -> Option<&'static str> {
        Some(match self {
            BinaryOp::Equal => "EQUAL",
            BinaryOp::NotEqual => "NOT_EQUAL",
            BinaryOp::LessThan => "LESS_THAN",
            BinaryOp::LessThanOrEqual => "LESS_THAN_OR_EQUAL",
            BinaryOp::GreaterThan => "GREATER_THAN",
            BinaryOp::GreaterThanOrEqual => "GREATER_THAN_OR_EQUAL",
            _ => return None,
        })
    }
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

fn not(negated: bool) -> &'static str {
    if negated {
        "NOT "
    } else {
        ""
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(literal) => write!(f, "{literal}"),
            Expr::Column {
                source: Some(source),
                name,
            } => write!(f, "{source}.{name}"),
            Expr::Column { source: None, name } => write!(f, "{name}"),
            Expr::Dereference { base, field } => write!(f, "{base}->{field}"),
            Expr::Subscript { base, index } => write!(f, "{base}[{index}]"),
            Expr::Unary {
                op: UnaryOp::Not,
                expr,
            } => write!(f, "(NOT {expr})"),
            // `-1` reads back as a negative literal, so a negated number keeps its parentheses,
            // and a space keeps `- -x` from turning into a `--` comment.
            Expr::Unary {
                op: UnaryOp::Minus,
                expr,
            } => match expr.as_ref() {
                Expr::Literal(Literal::Integer(_) | Literal::Decimal(_) | Literal::Double(_))
                    if !expr.to_string().starts_with('-') =>
                {
                    write!(f, "-({expr})")
                }
                _ => {
                    let text = expr.to_string();
                    let separator = if text.starts_with('-') { " " } else { "" };
                    write!(f, "-{separator}{text}")
                }
            },
            Expr::Unary {
                op: UnaryOp::Plus,
                expr,
            } => write!(f, "+{expr}"),
            Expr::Binary { op, left, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::IsNull { expr, negated } => write!(f, "({expr} IS {}NULL)", not(*negated)),
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => write!(f, "({left} IS {}DISTINCT FROM {right})", not(*negated)),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => write!(f, "({expr} {}BETWEEN {low} AND {high})", not(*negated)),
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                write!(f, "({expr} {}LIKE {pattern}", not(*negated))?;
                if let Some(escape) = escape {
                    let escape = escape.to_string().replace('\'', "''");
                    write!(f, " ESCAPE '{escape}'")?;
                }
                f.write_str(")")
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                write!(f, "({expr} {}IN (", not(*negated))?;
                write_list(f, list)?;
                f.write_str("))")
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                f.write_str("(CASE")?;
                if let Some(operand) = operand {
                    write!(f, " {operand}")?;
                }
                for (when, then) in whens {
                    write!(f, " WHEN {when} THEN {then}")?;
                }
                if let Some(otherwise) = otherwise {
                    write!(f, " ELSE {otherwise}")?;
                }
                f.write_str(" END)")
            }
            Expr::Cast { expr, to } => write!(f, "CAST({expr} AS {to})"),
            Expr::Function { name, star, .. } if *star => write!(f, "{name}(*)"),
            Expr::Function { name, args, .. } => {
                write!(f, "{name}(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::Array(items) => {
                f.write_str("ARRAY[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Expr::Map(entries) => {
                f.write_str("MAP(")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}:={value}")?;
                }
                f.write_str(")")
            }
            Expr::Struct(fields) => {
                f.write_str("STRUCT(")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}:={value}")?;
                }
                f.write_str(")")
            }
            Expr::Lambda { params, body } => {
                f.write_str("(")?;
                write_list(f, params)?;
                write!(f, ") => {body}")
            }
            Expr::IntervalUnit(unit) => write!(f, "{unit}"),
        }
    }
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard => f.write_str("*"),
            SelectItem::QualifiedWildcard(source) => write!(f, "{source}.*"),
            SelectItem::Expr { expr, alias: None } => write!(f, "{expr}"),
            SelectItem::Expr {
                expr,
                alias: Some(alias),
            } => write!(f, "{expr} AS {alias}"),
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Source { name, alias: None } => write!(f, "{name}"),
            Relation::Source {
                name,
                alias: Some(alias),
            } => write!(f, "{name} {alias}"),
            Relation::Join {
                left,
                right,
                kind,
                within,
                on,
            } => {
                let kind = match kind {
                    JoinKind::Inner => "INNER JOIN",
                    JoinKind::Left => "LEFT OUTER JOIN",
                    JoinKind::Right => "RIGHT OUTER JOIN",
                    JoinKind::Full => "FULL OUTER JOIN",
                };
                write!(f, "{left} {kind} {right}")?;
                if let Some(within) = within {
                    write!(f, " {within}")?;
                }
                write!(f, " ON {on}")
            }
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

impl fmt::Display for JoinWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.before == self.after {
            write!(f, "WITHIN {}", self.before)?;
        } else {
            write!(f, "WITHIN ({}, {})", self.before, self.after)?;
        }
        if let Some(grace) = &self.grace {
            write!(f, " GRACE PERIOD {grace}")?;
        }
        Ok(())
    }
}

fn write_window_tail(
    f: &mut fmt::Formatter<'_>,
    retention: &Option<Duration>,
    grace: &Option<Duration>,
) -> fmt::Result {
    if let Some(retention) = retention {
        write!(f, ", RETENTION {retention}")?;
    }
    if let Some(grace) = grace {
        write!(f, ", GRACE PERIOD {grace}")?;
    }
    f.write_str(")")
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Tumbling {
                size,
                retention,
                grace,
            } => {
                write!(f, "TUMBLING (SIZE {size}")?;
                write_window_tail(f, retention, grace)
            }
            Window::Hopping {
                size,
                advance,
                retention,
                grace,
            } => {
                write!(f, "HOPPING (SIZE {size}, ADVANCE BY {advance}")?;
                write_window_tail(f, retention, grace)
            }
            Window::Session {
                gap,
                retention,
                grace,
            } => {
                write!(f, "SESSION ({gap}")?;
                write_window_tail(f, retention, grace)
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        write_list(f, &self.select)?;
        write!(f, " FROM {}", self.from)?;
        if let Some(window) = &self.window {
            write!(f, " WINDOW {window}")?;
        }
        if let Some(condition) = &self.where_clause {
            write!(f, " WHERE {condition}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            write_list(f, &self.group_by)?;
        }
        if !self.partition_by.is_empty() {
            f.write_str(" PARTITION BY ")?;
            write_list(f, &self.partition_by)?;
        }
        if let Some(having) = &self.having {
            write!(f, " HAVING {having}")?;
        }
        match self.emit {
            Some(Emit::Changes) => f.write_str(" EMIT CHANGES")?,
            Some(Emit::Final) => f.write_str(" EMIT FINAL")?,
            None => {}
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WITH (")?;
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_name(f, name)?;
            write!(f, "={value}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for TableElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.sql_type)?;
        match &self.constraint {
            ColumnConstraint::None => Ok(()),
            ColumnConstraint::Key => f.write_str(" KEY"),
            ColumnConstraint::PrimaryKey => f.write_str(" PRIMARY KEY"),
            ColumnConstraint::Headers => f.write_str(" HEADERS"),
            ColumnConstraint::Header(key) => write!(f, " HEADER('{}')", key.replace('\'', "''")),
        }
    }
}

fn write_create_head(
    f: &mut fmt::Formatter<'_>,
    or_replace: bool,
    read_only: bool,
    kind: SourceKind,
    if_not_exists: bool,
    name: &Ident,
) -> fmt::Result {
    f.write_str("CREATE ")?;
    if or_replace {
        f.write_str("OR REPLACE ")?;
    }
    if read_only {
        f.write_str("SOURCE ")?;
    }
    write!(f, "{kind} ")?;
    if if_not_exists {
        f.write_str("IF NOT EXISTS ")?;
    }
    write!(f, "{name}")
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateSource(create) => {
                write_create_head(
                    f,
                    create.or_replace,
                    create.read_only,
                    create.kind,
                    create.if_not_exists,
                    &create.name,
                )?;
                if !create.elements.is_empty() {
                    f.write_str(" (")?;
                    write_list(f, &create.elements)?;
                    f.write_str(")")?;
                }
                if !create.properties.0.is_empty() {
                    write!(f, " {}", create.properties)?;
                }
                Ok(())
            }
            Statement::CreateAsSelect(create) => {
                write_create_head(
                    f,
                    create.or_replace,
                    false,
                    create.kind,
                    create.if_not_exists,
                    &create.name,
                )?;
                if !create.properties.0.is_empty() {
                    write!(f, " {}", create.properties)?;
                }
                write!(f, " AS {}", create.query)
            }
            Statement::InsertInto(insert) => {
                write!(f, "INSERT INTO {}", insert.target)?;
                if !insert.properties.0.is_empty() {
                    write!(f, " {}", insert.properties)?;
                }
                write!(f, " {}", insert.query)
            }
            Statement::InsertValues(insert) => {
                write!(f, "INSERT INTO {}", insert.target)?;
                if !insert.columns.is_empty() {
                    f.write_str(" (")?;
                    write_list(f, &insert.columns)?;
                    f.write_str(")")?;
                }
                f.write_str(" VALUES (")?;
                write_list(f, &insert.values)?;
                f.write_str(")")
            }
            Statement::Query(query) => write!(f, "{query}"),
            Statement::Show(show) => match show {
                Show::Streams { extended } => write!(f, "SHOW STREAMS{}", extended_word(*extended)),
                Show::Tables { extended } => write!(f, "SHOW TABLES{}", extended_word(*extended)),
                Show::Queries { extended } => write!(f, "SHOW QUERIES{}", extended_word(*extended)),
                Show::Topics { all, extended } => write!(
                    f,
                    "SHOW {}TOPICS{}",
                    if *all { "ALL " } else { "" },
                    extended_word(*extended)
                ),
                Show::Properties => f.write_str("SHOW PROPERTIES"),
                Show::Functions => f.write_str("SHOW FUNCTIONS"),
            },
            Statement::Describe(describe) => match describe {
                // A bare `DESCRIBE TABLES` lists tables, so a source of that name is quoted.
                Describe::Source { name, extended } if name.name == "TABLES" => {
                    write!(f, "DESCRIBE `TABLES`{}", extended_word(*extended))
                }
                Describe::Source { name, extended } => {
                    write!(f, "DESCRIBE {name}{}", extended_word(*extended))
                }
                Describe::Streams { extended } => {
                    write!(f, "DESCRIBE STREAMS{}", extended_word(*extended))
                }
                Describe::Tables { extended } => {
                    write!(f, "DESCRIBE TABLES{}", extended_word(*extended))
                }
                Describe::Function(name) => write!(f, "DESCRIBE FUNCTION {name}"),
            },
            Statement::Drop(drop) => {
                write!(f, "DROP {} ", drop.kind)?;
                if drop.if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                write!(f, "{}", drop.name)?;
                if drop.delete_topic {
                    f.write_str(" DELETE TOPIC")?;
                }
                Ok(())
            }
            Statement::Terminate(Terminate::Query(id)) => {
                f.write_str("TERMINATE ")?;
                write_name(f, id)
            }
            Statement::Terminate(Terminate::All) => f.write_str("TERMINATE ALL"),
            Statement::SetProperty { name, value } => write!(
                f,
                "SET '{}'='{}'",
                name.replace('\'', "''"),
                value.replace('\'', "''")
            ),
            Statement::UnsetProperty { name } => {
                write!(f, "UNSET '{}'", name.replace('\'', "''"))
            }
            Statement::Print(print) => {
                write!(f, "PRINT '{}'", print.topic.replace('\'', "''"))?;
                if print.from_beginning {
                    f.write_str(" FROM BEGINNING")?;
                }
                if let Some(interval) = print.interval {
                    write!(f, " INTERVAL {interval}")?;
                }
                if let Some(limit) = print.limit {
                    write!(f, " LIMIT {limit}")?;
                }
                Ok(())
            }
            Statement::AlterSource(alter) => {
                write!(f, "ALTER {} {}", alter.kind, alter.name)?;
                for (i, column) in alter.columns.iter().enumerate() {
                    f.write_str(if i == 0 {
                        " ADD COLUMN "
                    } else {
                        ", ADD COLUMN "
                    })?;
                    write!(f, "{column}")?;
                }
                Ok(())
            }
        }
    }
}

fn extended_word(extended: bool) -> &'static str {
    if extended {
        " EXTENDED"
    } else {
        ""
    }
}
