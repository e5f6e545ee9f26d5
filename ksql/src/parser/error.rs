//! Parse errors, worded as ksqlDB words them: its ANTLR parser reports a mismatch, an
//! extraneous or missing token, or no viable alternative, and ksqlDB rewrites that report
//! into `line L:C: Syntax Error` and a detail line. Reproducing the rewrite keeps messages
//! (and the tests that compare them) identical.

use super::depth::TOO_DEEP;
use super::keywords::{is_reserved, keyword_rank};
use super::tokens::{Symbol, Token, TokenKind};

/// A statement that cannot be parsed. `line` and `column` are 1-based, as ksqlDB prints
/// them; `message` is everything after `line L:C: `, such as
/// `Syntax Error\nExpecting {',', ')'}` or `Invalid numeric literal: 99999999999999999999`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    /// An error at `token` (whose column is 0-based).
    pub(crate) fn at(token: &Token, message: String) -> Self {
        ParseError {
            line: token.line,
            column: token.column + 1,
            message,
        }
    }
}

/// Something the parser would have accepted where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Eof,
    Keyword(&'static str),
    Symbol(Symbol),
    StringLiteral,
    IntegerLiteral,
    /// Any identifier: to ksqlDB a set of dozens of tokens, so a list holding it is too long
    /// to show.
    Identifier,
    /// Any expression: likewise dozens of tokens.
    Expression,
}

/// The grammar's implicit tokens, numbered before every keyword.
const IMPLICIT: &[Symbol] = &[
    Symbol::Semicolon,
    Symbol::Comma,
    Symbol::LParen,
    Symbol::RParen,
    Symbol::Dot,
    Symbol::LBracket,
    Symbol::RBracket,
];

/// Operators in the lexer's order, numbered after the keywords.
const OPERATORS: &[Symbol] = &[
    Symbol::Eq,
    Symbol::NotEq,
    Symbol::Lt,
    Symbol::LtEq,
    Symbol::Gt,
    Symbol::GtEq,
    Symbol::Plus,
    Symbol::Minus,
    Symbol::Star,
    Symbol::Slash,
    Symbol::Percent,
    Symbol::Concat,
    Symbol::Assign,
    Symbol::Arrow,
    Symbol::Lambda,
];

/// Statement keywords, in token order: when a statement starts with anything else, ksqlDB
/// suggests the closest of these.
pub(crate) const COMMANDS: &[&str] = &[
    "SELECT",
    "CREATE",
    "INSERT",
    "DESCRIBE",
    "PRINT",
    "EXPLAIN",
    "SHOW",
    "LIST",
    "TERMINATE",
    "PAUSE",
    "RESUME",
    "DROP",
    "SET",
    "DEFINE",
    "UNDEFINE",
    "UNSET",
    "ASSERT",
    "ALTER",
];

impl Expect {
    /// ksqlDB's token number, which orders its "expecting" lists.
    fn rank(&self) -> usize {
        let keywords_from = IMPLICIT.len() + 1;
        let operators_from = keywords_from + 200;
        match self {
            Expect::Eof => 0,
            Expect::Symbol(symbol) => match IMPLICIT.iter().position(|s| s == symbol) {
                Some(index) => index + 1,
                None => operators_from + OPERATORS.iter().position(|s| s == symbol).unwrap_or(99),
            },
            Expect::Keyword(word) => keywords_from + keyword_rank(word).unwrap_or(0),
            Expect::StringLiteral => operators_from + 100,
            Expect::IntegerLiteral => operators_from + 101,
            Expect::Identifier => operators_from + 102,
            Expect::Expression => operators_from + 103,
        }
    }

    /// The name ANTLR gives the token in messages.
    fn display(&self) -> String {
        match self {
            Expect::Eof => "<EOF>".into(),
            Expect::Keyword(word) => format!("'{word}'"),
            Expect::Symbol(Symbol::NotEq) => "NEQ".into(),
            Expect::Symbol(symbol) => format!("'{}'", symbol.as_str()),
            Expect::StringLiteral => "STRING".into(),
            Expect::IntegerLiteral => "INTEGER_VALUE".into(),
            // Only their length matters: lists holding them are never shown.
            Expect::Identifier => {
                "IDENTIFIER, QUOTED_IDENTIFIER, BACKQUOTED_IDENTIFIER, ...".into()
            }
            Expect::Expression => "'(', '-', STRING, INTEGER_VALUE, IDENTIFIER, ...".into(),
        }
    }
}

/// A syntax error at the token with index `at`, before it is worded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub at: usize,
    pub kind: SyntaxErrorKind,
}

/// The four reports of ANTLR's error strategy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SyntaxErrorKind {
    /// The token fits none of `expected`.
    Mismatched(Vec<Expect>),
    /// The token is in the way: the one after it is among `expected`.
    Extraneous(Vec<Expect>),
    /// `expected` is missing before the token.
    Missing(Expect),
    /// No alternative of a choice starts with the token.
    NoViableAlternative,
    /// The statement nests too deeply to parse safely.
    TooDeep,
}

/// The `expecting` part of an ANTLR message: a single name, or `{a, b}` in token order.
fn expecting_list(expected: &[Expect]) -> String {
    let mut expected = expected.to_vec();
    expected.sort_by_key(Expect::rank);
    expected.dedup();
    let names: Vec<String> = expected.iter().map(Expect::display).collect();
    match names.as_slice() {
        [single] => single.clone(),
        _ => format!("{{{}}}", names.join(", ")),
    }
}

/// ANTLR's quoting of a token in messages.
fn token_display(token: &Token) -> String {
    let text = token
        .text
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    format!("'{text}'")
}

/// The message of a syntax error at `token`, worded as ksqlDB's `SyntaxErrorValidator`
/// rewrites ANTLR's report.
pub(crate) fn syntax_message(kind: &SyntaxErrorKind, token: &Token) -> String {
    let detail = match kind {
        SyntaxErrorKind::TooDeep => return TOO_DEEP.to_string(),
        SyntaxErrorKind::Extraneous(_)
            if token.kind == TokenKind::Word && is_reserved(&token.text.to_uppercase()) =>
        {
            format!(
                "\"{0}\" is a reserved keyword and it can't be used as an identifier. \
                 You can use it as an identifier by escaping it as '{0}' ",
                token.text
            )
        }
        SyntaxErrorKind::Mismatched(expected) | SyntaxErrorKind::Extraneous(expected) => {
            expectations(expected, token)
        }
        SyntaxErrorKind::Missing(expected) => format!(
            "missing {} at {}",
            expecting_list(&[*expected]),
            token_display(token)
        ),
        SyntaxErrorKind::NoViableAlternative => format!(
            "Syntax error at or near '{}' at line {}:{}",
            token.text,
            token.line,
            token.column + 1
        ),
    };
    format!("Syntax Error\n{detail}")
}

/// The detail for "expecting" reports: a suggestion when a statement starts with an unknown
/// word, a note about unclosed brackets at the end of the text, the list when it is short
/// (ksqlDB counts the pieces between commas, quoted commas included), else nothing.
fn expectations(expected: &[Expect], token: &Token) -> String {
    let list = expecting_list(expected);
    let commands: Vec<Expect> = COMMANDS.iter().map(|c| Expect::Keyword(c)).collect();
    let mut statement_starts: Vec<Expect> = expected
        .iter()
        .copied()
        .filter(|e| *e != Expect::Eof)
        .collect();
    statement_starts.sort_by_key(Expect::rank);
    statement_starts.dedup();
    if statement_starts == commands {
        return format!(
            "Unknown statement '{}'\nDid you mean '{}'?",
            token.text,
            closest_command(&token.text)
        );
    }
    if token.kind == TokenKind::Eof || expected.contains(&Expect::Eof) {
        return "Syntax error at or near \";\"\n'}', ']', or ')' is missing".into();
    }
    let pieces = list.trim_end_matches(',').split(',').count();
    if pieces <= 3 {
        format!("Expecting {list}")
    } else {
        String::new()
    }
}

/// How much of an unknown word is compared with the statement keywords: every keyword is
/// far shorter, so the nearest is the same for any realistic word, and a word of megabytes
/// costs no more than one of this length.
const SUGGESTION_PREFIX_CHARS: usize = 64;

/// The statement keyword nearest to `word` by edit distance (the first on ties).
fn closest_command(word: &str) -> &'static str {
    let word: Vec<char> = word
        .chars()
        .take(SUGGESTION_PREFIX_CHARS)
        .flat_map(char::to_uppercase)
        .collect();
    let mut best = ("", usize::MAX);
    for command in COMMANDS {
        let distance = edit_distance(&command.chars().collect::<Vec<_>>(), &word);
        if distance < best.1 {
            best = (command, distance);
        }
    }
    best.0
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: TokenKind, text: &str) -> Token {
        Token {
            kind,
            text: text.into(),
            line: 1,
            column: 32,
        }
    }

    #[test]
    fn short_lists_are_shown_in_token_order() {
        let message = syntax_message(
            &SyntaxErrorKind::Mismatched(vec![Expect::IntegerLiteral, Expect::Keyword("STRING")]),
            &token(TokenKind::Word, "KEY"),
        );
        assert_eq!(message, "Syntax Error\nExpecting {'STRING', INTEGER_VALUE}");
        let message = syntax_message(
            &SyntaxErrorKind::Mismatched(vec![
                Expect::Symbol(Symbol::RParen),
                Expect::Symbol(Symbol::Comma),
            ]),
            &token(TokenKind::Symbol(Symbol::LParen), "("),
        );
        assert_eq!(message, "Syntax Error\nExpecting {',', ')'}");
    }

    #[test]
    fn long_lists_are_left_out() {
        let expected = vec![
            Expect::Symbol(Symbol::Semicolon),
            Expect::Keyword("WHERE"),
            Expect::Keyword("LIMIT"),
            Expect::Keyword("EMIT"),
        ];
        let message = syntax_message(
            &SyntaxErrorKind::Mismatched(expected),
            &token(TokenKind::Word, "BY"),
        );
        assert_eq!(message, "Syntax Error\n");
    }

    #[test]
    fn unknown_statements_get_a_suggestion() {
        let mut expected: Vec<Expect> = COMMANDS.iter().map(|c| Expect::Keyword(c)).collect();
        expected.push(Expect::Eof);
        let message = syntax_message(
            &SyntaxErrorKind::Mismatched(expected),
            &token(TokenKind::Word, "selec"),
        );
        assert_eq!(
            message,
            "Syntax Error\nUnknown statement 'selec'\nDid you mean 'SELECT'?"
        );
        // A word of a megabyte is compared by its first characters only.
        assert_eq!(
            closest_command(&format!("selec{}", "t".repeat(1 << 20))),
            "SELECT"
        );
    }

    #[test]
    fn other_reports() {
        let comma = token(TokenKind::Symbol(Symbol::Comma), ",");
        assert_eq!(
            syntax_message(
                &SyntaxErrorKind::Missing(Expect::Symbol(Symbol::RParen)),
                &comma
            ),
            "Syntax Error\nmissing ')' at ','"
        );
        assert_eq!(
            syntax_message(
                &SyntaxErrorKind::NoViableAlternative,
                &token(TokenKind::Word, "NULL")
            ),
            "Syntax Error\nSyntax error at or near 'NULL' at line 1:33"
        );
        assert_eq!(
            syntax_message(
                &SyntaxErrorKind::Extraneous(vec![Expect::Symbol(Symbol::Comma)]),
                &token(TokenKind::Word, "from")
            ),
            "Syntax Error\n\"from\" is a reserved keyword and it can't be used as an \
             identifier. You can use it as an identifier by escaping it as 'from' "
        );
        assert_eq!(
            syntax_message(
                &SyntaxErrorKind::Mismatched(vec![Expect::Symbol(Symbol::RParen)]),
                &token(TokenKind::Eof, "<EOF>")
            ),
            "Syntax Error\nSyntax error at or near \";\"\n'}', ']', or ')' is missing"
        );
    }

    #[test]
    fn edit_distances() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(edit_distance(&chars(""), &chars("abc")), 3);
        assert_eq!(closest_command("DESCRIBEE"), "DESCRIBE");
    }
}
