//! Just enough of a CREATE STREAM or CREATE TABLE statement to reconcile it: the source it
//! creates (named as ksql stores it) and whether it runs a persistent query. The ksql server
//! parses the whole statement; the operator only needs to find the source again.

use crate::resources::ksql_stream::SourceType;

/// What the operator needs from a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The source's name as ksql stores it: upper-cased unless it was quoted.
    pub source_name: String,
    pub source_type: SourceType,
    /// Whether it is a CREATE ... AS SELECT, which runs a persistent query writing into the
    /// source.
    pub runs_query: bool,
}

/// Why a statement's source cannot be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("spec.sql must start with CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] followed by the source's name")]
    NotACreate,
    #[error("spec.sql has an unterminated {0} quote")]
    Unterminated(char),
}

/// One token of ksql's lexical grammar, as far as this module needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A `` `backquoted` `` or `"double-quoted"` identifier, unescaped.
    Quoted(String),
    /// A `'string literal'`: skipped, so that `'... select ...'` is not a query.
    Literal,
    Punctuation(char),
}

/// The source `sql` creates, or why it cannot be found.
pub fn parse(sql: &str) -> Result<Statement, StatementError> {
    let tokens = tokenize(sql)?;
    let mut rest = tokens.iter().peekable();
    let mut keyword = |expected: &str| -> bool {
        let matched =
            matches!(rest.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(expected));
        if matched {
            rest.next();
        }
        matched
    };
    if !keyword("CREATE") {
        return Err(StatementError::NotACreate);
    }
    if keyword("OR") && !keyword("REPLACE") {
        return Err(StatementError::NotACreate);
    }
    keyword("SOURCE");
    let source_type = if keyword("STREAM") {
        SourceType::Stream
    } else if keyword("TABLE") {
        SourceType::Table
    } else {
        return Err(StatementError::NotACreate);
    };
    if keyword("IF") && !(keyword("NOT") && keyword("EXISTS")) {
        return Err(StatementError::NotACreate);
    }
    let source_name = match rest.next() {
        Some(Token::Word(word)) => word.to_ascii_uppercase(),
        Some(Token::Quoted(name)) if !name.is_empty() => name.clone(),
        _ => return Err(StatementError::NotACreate),
    };
    let runs_query = rest.any(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("SELECT")));
    Ok(Statement {
        source_name,
        source_type,
        runs_query,
    })
}

/// ksql's identifier characters (`IDENTIFIER` in ksqlDB's grammar: letters, digits, `_`,
/// `@` and `:`).
fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | ':')
}

fn tokenize(sql: &str) -> Result<Vec<Token>, StatementError> {
    let mut tokens = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '-' && sql_comment_follows(&mut chars) {
            chars.by_ref().take_while(|&c| c != '\n').for_each(drop);
        } else if matches!(c, '`' | '"' | '\'') {
            chars.next();
            let text = quoted(&mut chars, c)?;
            tokens.push(if c == '\'' {
                Token::Literal
            } else {
                Token::Quoted(text)
            });
        } else if is_identifier_char(c) {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|&&c| is_identifier_char(c)) {
                word.push(c);
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else {
            tokens.push(Token::Punctuation(c));
            chars.next();
        }
    }
    Ok(tokens)
}

/// Whether the `-` at the front of `chars` starts a `--` comment; consumes that `-`.
fn sql_comment_follows(chars: &mut std::iter::Peekable<std::str::Chars>) -> bool {
    let mut ahead = chars.clone();
    ahead.next();
    if ahead.peek() == Some(&'-') {
        chars.next();
        true
    } else {
        false
    }
}

/// The text up to the closing `quote`, with a doubled quote standing for one.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::Chars>,
    quote: char,
) -> Result<String, StatementError> {
    let mut text = String::new();
    loop {
        match chars.next() {
            Some(c) if c == quote => {
                if chars.peek() != Some(&quote) {
                    return Ok(text);
                }
                chars.next();
                text.push(quote);
            }
            Some(c) => text.push(c),
            None => return Err(StatementError::Unterminated(quote)),
        }
    }
}

/// `name` as an identifier in a statement: backquoted, so that ksql keeps it exactly.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(sql: &str) -> (String, SourceType, bool) {
        let statement = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        (
            statement.source_name,
            statement.source_type,
            statement.runs_query,
        )
    }

    #[test]
    fn unquoted_names_are_upper_cased_as_ksql_stores_them() {
        assert_eq!(
            source("CREATE STREAM payments (name VARCHAR, amount INTEGER) WITH (kafka_topic='payments', value_format='json', partitions=1);"),
            ("PAYMENTS".into(), SourceType::Stream, false)
        );
        assert_eq!(
            source("create table Payments_Table as select name, count(*) as cnt from payments group by name emit changes;"),
            ("PAYMENTS_TABLE".into(), SourceType::Table, true)
        );
        assert_eq!(
            source("CREATE TABLE t(id VARCHAR PRIMARY KEY) WITH (kafka_topic='t', value_format='json');"),
            ("T".into(), SourceType::Table, false)
        );
    }

    #[test]
    fn quoted_names_keep_their_case() {
        assert_eq!(
            source(
                "CREATE STREAM `MixedCase` (a INT) WITH (kafka_topic='m', value_format='json');"
            ),
            ("MixedCase".into(), SourceType::Stream, false)
        );
        assert_eq!(
            source("CREATE STREAM \"with \"\"quote\"\"\" AS SELECT * FROM s;"),
            ("with \"quote\"".into(), SourceType::Stream, true)
        );
        assert_eq!(source("CREATE STREAM `a``b` AS SELECT * FROM s;").0, "a`b");
    }

    #[test]
    fn every_optional_keyword_before_the_name() {
        let cases = [
            "CREATE OR REPLACE STREAM big AS SELECT * FROM payments WHERE amount > 100;",
            "CREATE SOURCE STREAM big (a INT) WITH (kafka_topic='big', value_format='json');",
            "CREATE STREAM IF NOT EXISTS big (a INT) WITH (kafka_topic='big', value_format='json');",
            "  create   or replace\n source stream if not exists big(a INT) WITH (kafka_topic='big', value_format='json')",
        ];
        for sql in cases {
            assert_eq!(source(sql).0, "BIG", "{sql}");
        }
    }

    #[test]
    fn select_counts_only_as_a_keyword() {
        let sql =
            "CREATE STREAM notes (text VARCHAR) WITH (kafka_topic='select', value_format='json');";
        assert!(!source(sql).2);
        let sql = "CREATE STREAM notes (text VARCHAR) WITH (kafka_topic='notes', value_format='json'); -- not a select";
        assert!(!source(sql).2);
        let sql =
            "CREATE STREAM `select` (text VARCHAR) WITH (kafka_topic='n', value_format='json');";
        assert_eq!(source(sql), ("select".into(), SourceType::Stream, false));
    }

    #[test]
    fn what_is_not_a_create_statement() {
        for sql in [
            "",
            "SELECT * FROM payments EMIT CHANGES;",
            "CREATE STREAM",
            "CREATE STREAM (a INT);",
            "CREATE OR STREAM x (a INT);",
            "CREATE STREAM IF EXISTS x (a INT);",
            "CREATE STREAMS x;",
            "CREATE STREAM ``(a INT);",
        ] {
            assert_eq!(parse(sql), Err(StatementError::NotACreate), "{sql}");
        }
        assert_eq!(
            parse("CREATE STREAM `open (a INT);"),
            Err(StatementError::Unterminated('`'))
        );
    }

    #[test]
    fn identifiers_are_backquoted_for_statements() {
        assert_eq!(quote_identifier("PAYMENTS"), "`PAYMENTS`");
        assert_eq!(quote_identifier("a`b"), "`a``b`");
    }
}
