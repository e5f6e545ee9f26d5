//! What a ksql text is, read without a full parser: its statements (split at the `;`s
//! that are not inside quotes or comments), whether any of them changes the server (so it
//! needs an admin and an audit line), and whether it is one SELECT to stream.

/// How the console treats a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// SHOW, LIST, DESCRIBE, EXPLAIN, and SET/UNSET (which only last for their request).
    Read,
    /// SELECT and PRINT, which stream their answer from the query endpoint.
    Query,
    /// Anything else: CREATE, DROP, INSERT, TERMINATE, ALTER, ...
    Change,
}

/// The statements of `sql`, each trimmed and without its `;`; pieces holding only blanks
/// and comments are left out.
pub fn split(sql: &str) -> Vec<&str> {
    let mut statements = Vec::new();
    let mut start = 0;
    let mut scanner = Scanner::new(sql);
    while let Some((at, c, quoted)) = scanner.next() {
        if c == ';' && !quoted {
            statements.push(&sql[start..at]);
            start = at + 1;
        }
    }
    statements.push(&sql[start..]);
    statements
        .into_iter()
        .map(str::trim)
        .filter(|s| first_word(s).is_some())
        .collect()
}

/// The first keyword of a statement, upper-cased, past blanks and comments.
pub fn first_word(statement: &str) -> Option<String> {
    words(statement).into_iter().next()
}

/// The unquoted words of `sql`, upper-cased, in order; quoted text and comments are
/// skipped.
pub fn words(sql: &str) -> Vec<String> {
    tokens(sql)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(word) => Some(word),
            _ => None,
        })
        .collect()
}

/// A piece of ksql text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An unquoted word, upper-cased as ksql reads it.
    Word(String),
    /// A `` `quoted` `` or `"quoted"` identifier, as written.
    Identifier(String),
    /// A string literal or a comment.
    Text,
    /// Any other character but a blank.
    Symbol(char),
}

/// The tokens of `sql`, in order.
pub fn tokens(sql: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    // A quoted run: its opening character and what follows it.
    let mut run: Option<(char, String)> = None;
    let mut scanner = Scanner::new(sql);
    let flush_word = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some((_, c, quoted)) = scanner.next() {
        if quoted {
            flush_word(&mut word, &mut tokens);
            match &mut run {
                Some((_, text)) => text.push(c),
                None => run = Some((c, String::new())),
            }
            continue;
        }
        if let Some((open, text)) = run.take() {
            tokens.push(quoted_token(open, text));
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c.to_ascii_uppercase());
        } else {
            flush_word(&mut word, &mut tokens);
            if !c.is_whitespace() {
                tokens.push(Token::Symbol(c));
            }
        }
    }
    if let Some((open, text)) = run {
        tokens.push(quoted_token(open, text));
    }
    flush_word(&mut word, &mut tokens);
    tokens
}

/// A quoted run as a token; `text` ends with the closing quote (a doubled quote inside
/// was already read as one).
fn quoted_token(open: char, mut text: String) -> Token {
    if open == '`' || open == '"' {
        if text.ends_with(open) {
            text.pop();
        }
        Token::Identifier(text)
    } else {
        Token::Text
    }
}

/// The words that end a GROUP BY clause.
const AFTER_GROUP_BY: &[&str] = &["HAVING", "EMIT", "LIMIT", "PARTITION", "WINDOW"];

/// The columns that key the rows of an aggregating query (`GROUP BY a, b`): each grouped
/// column, and the window's bounds for a windowed one. `None` without GROUP BY; empty when
/// a grouping is an expression or a key the query does not return, as its rows cannot
/// then be told apart by key.
pub fn group_by_keys(select: &str, column_names: &[String]) -> Option<Vec<String>> {
    let tokens = tokens(select);
    let group = Token::Word("GROUP".into());
    let by = Token::Word("BY".into());
    let start = tokens
        .windows(2)
        .position(|pair| pair[0] == group && pair[1] == by)?
        + 2;
    let clause: Vec<&Token> = tokens[start..]
        .iter()
        .take_while(|t| match t {
            Token::Word(word) => !AFTER_GROUP_BY.contains(&word.as_str()),
            Token::Symbol(c) => *c != ';',
            _ => true,
        })
        .collect();
    let mut keys = Vec::new();
    for item in clause.split(|t| **t == Token::Symbol(',')) {
        let name = match item {
            [Token::Word(name) | Token::Identifier(name)] => name,
            [_, Token::Symbol('.'), Token::Word(name) | Token::Identifier(name)] => name,
            _ => return Some(Vec::new()),
        };
        keys.push(name.clone());
    }
    if tokens[..start].contains(&Token::Word("WINDOW".into())) {
        for bound in ["WINDOWSTART", "WINDOWEND"] {
            if column_names.iter().any(|c| c == bound) {
                keys.push(bound.to_string());
            }
        }
        if !keys.iter().any(|k| k == "WINDOWSTART") {
            return Some(Vec::new());
        }
    }
    let all_returned = keys.iter().all(|k| column_names.contains(k));
    Some(if all_returned { keys } else { Vec::new() })
}

/// What a statement does, from its first keyword.
pub fn classify(statement: &str) -> StatementKind {
    match first_word(statement).as_deref() {
        Some("SHOW" | "LIST" | "DESCRIBE" | "EXPLAIN" | "SET" | "UNSET") => StatementKind::Read,
        Some("SELECT" | "PRINT") => StatementKind::Query,
        _ => StatementKind::Change,
    }
}

/// Whether running `sql` on `/ksql` may change the server.
pub fn changes_anything(sql: &str) -> bool {
    split(sql)
        .iter()
        .any(|s| classify(s) == StatementKind::Change)
}

/// The one SELECT of `sql`, or why `sql` cannot be streamed as a query.
pub fn single_select(sql: &str) -> Result<&str, String> {
    match split(sql).as_slice() {
        [] => Err("there is no statement to run".into()),
        [one] if first_word(one).as_deref() == Some("SELECT") => Ok(one),
        [_] => Err(
            "only a SELECT streams as a query; run other statements with POST /api/clusters/{cluster}/ksql"
                .into(),
        ),
        _ => Err("a query is one SELECT statement; run the others on their own".into()),
    }
}

/// Whether a SELECT is a push query (`EMIT CHANGES` or `EMIT FINAL`), which runs until
/// closed, rather than a pull query, which ends after its rows.
pub fn is_push(select: &str) -> bool {
    words(select)
        .windows(2)
        .any(|pair| pair[0] == "EMIT" && matches!(pair[1].as_str(), "CHANGES" | "FINAL"))
}

/// `sql` on one line and at most `max` characters long, for the audit log.
pub fn one_line(sql: &str, max: usize) -> String {
    let line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        line
    } else {
        let mut cut: String = line.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// Walks the characters of ksql text, telling for each whether it is inside a string
/// (`'...'`), a quoted identifier (`` `...` `` or `"..."`) or a comment (`--` to the end
/// of the line, `/* ... */`).
struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Plain,
    Quoted(char),
    LineComment,
    BlockComment,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            chars: text.char_indices().peekable(),
            state: State::Plain,
        }
    }

    /// The next character: its byte offset, itself, and whether it is quoted or commented.
    fn next(&mut self) -> Option<(usize, char, bool)> {
        let (at, c) = self.chars.next()?;
        let next = self.chars.peek().map(|(_, n)| *n);
        let quoted = match self.state {
            State::Plain => match (c, next) {
                ('\'' | '`' | '"', _) => {
                    self.state = State::Quoted(c);
                    true
                }
                ('-', Some('-')) => {
                    self.state = State::LineComment;
                    true
                }
                ('/', Some('*')) => {
                    self.chars.next();
                    self.state = State::BlockComment;
                    true
                }
                _ => false,
            },
            State::Quoted(quote) => {
                if c == quote {
                    // A doubled quote stands for itself and stays inside.
                    if next == Some(quote) {
                        self.chars.next();
                    } else {
                        self.state = State::Plain;
                    }
                }
                true
            }
            State::LineComment => {
                if c == '\n' {
                    self.state = State::Plain;
                }
                true
            }
            State::BlockComment => {
                if c == '*' && next == Some('/') {
                    self.chars.next();
                    self.state = State::Plain;
                }
                true
            }
        };
        Some((at, c, quoted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        let sql = "CREATE STREAM s (v STRING) WITH (kafka_topic='a;b', value_format='JSON');\n\
                   -- a comment; still a comment\n\
                   INSERT INTO s (v) VALUES ('it''s; fine'); /* ; */ SHOW STREAMS";
        let statements = split(sql);
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[0].ends_with("value_format='JSON')"));
        assert!(statements[1].contains("INSERT INTO s"));
        assert_eq!(statements[2], "/* ; */ SHOW STREAMS");
        assert!(split("  ;; -- nothing\n").is_empty());
    }

    #[test]
    fn reads_are_told_from_changes() {
        for read in [
            "show streams",
            "LIST TABLES EXTENDED",
            " describe `s`",
            "EXPLAIN q1",
            "SET 'auto.offset.reset'='earliest'",
        ] {
            assert_eq!(classify(read), StatementKind::Read, "{read}");
        }
        for change in [
            "CREATE STREAM x AS SELECT * FROM s",
            "DROP TABLE t",
            "TERMINATE q1",
            "INSERT INTO s VALUES (1)",
            "ALTER STREAM s ADD COLUMN c INT",
        ] {
            assert_eq!(classify(change), StatementKind::Change, "{change}");
        }
        assert_eq!(classify("-- hello\nselect * from s;"), StatementKind::Query);
        assert!(!changes_anything("SHOW STREAMS; DESCRIBE s;"));
        assert!(changes_anything("SHOW STREAMS; DROP STREAM s;"));
        assert!(changes_anything("show streams; drop stream s"));
        // A quoted word is no keyword.
        assert_eq!(classify("`SHOW` x"), StatementKind::Change);
    }

    #[test]
    fn a_query_is_one_select() {
        assert_eq!(
            single_select(" SELECT * FROM s EMIT CHANGES; "),
            Ok("SELECT * FROM s EMIT CHANGES")
        );
        assert!(single_select("SHOW STREAMS").is_err());
        assert!(single_select("SELECT 1 FROM s; SELECT 2 FROM s").is_err());
        assert!(single_select(" ; ").is_err());
    }

    #[test]
    fn push_queries_emit_changes() {
        assert!(is_push("SELECT * FROM s EMIT CHANGES"));
        assert!(is_push(
            "select id, count(*) from s group by id emit final limit 3"
        ));
        assert!(!is_push("SELECT * FROM t WHERE id = 'EMIT CHANGES'"));
        assert!(!is_push("SELECT * FROM t"));
    }

    #[test]
    fn audit_text_is_one_short_line() {
        assert_eq!(one_line("DROP\n  STREAM   s", 100), "DROP STREAM s");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }

    #[test]
    fn tokens_tell_words_identifiers_and_text_apart() {
        assert_eq!(
            tokens("select `My``Col`, 'a b' -- c\n from s.t;"),
            [
                Token::Word("SELECT".into()),
                Token::Identifier("My`Col".into()),
                Token::Symbol(','),
                Token::Text,
                Token::Text,
                Token::Word("FROM".into()),
                Token::Word("S".into()),
                Token::Symbol('.'),
                Token::Word("T".into()),
                Token::Symbol(';'),
            ]
        );
    }

    #[test]
    fn grouped_columns_key_an_aggregations_rows() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let columns = names(&["REGION", "USER_ID", "N"]);
        assert_eq!(
            group_by_keys("SELECT * FROM s EMIT CHANGES", &columns),
            None
        );
        assert_eq!(
            group_by_keys("select region, p.user_id, count(*) as n from s p group by region, p.user_id emit changes;", &columns),
            Some(names(&["REGION", "USER_ID"]))
        );
        assert_eq!(
            group_by_keys("SELECT `Region`, COUNT(*) FROM s GROUP BY `Region` HAVING COUNT(*) > 1 EMIT CHANGES", &names(&["Region", "KSQL_COL_0"])),
            Some(names(&["Region"]))
        );
        let expression =
            "SELECT UCASE(region) AS r, COUNT(*) FROM s GROUP BY UCASE(region) EMIT CHANGES";
        assert_eq!(
            group_by_keys(expression, &names(&["R", "KSQL_COL_0"])),
            Some(vec![])
        );
        let not_returned = "SELECT COUNT(*) AS n FROM s GROUP BY region EMIT CHANGES";
        assert_eq!(group_by_keys(not_returned, &names(&["N"])), Some(vec![]));
        let windowed = "SELECT region, WINDOWSTART, WINDOWEND, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY region EMIT CHANGES";
        assert_eq!(
            group_by_keys(
                windowed,
                &names(&["REGION", "WINDOWSTART", "WINDOWEND", "N"])
            ),
            Some(names(&["REGION", "WINDOWSTART", "WINDOWEND"]))
        );
        assert_eq!(
            group_by_keys(windowed, &names(&["REGION", "N"])),
            Some(vec![]),
            "windows of one key would collide"
        );
    }
}
