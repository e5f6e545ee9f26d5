//! Gathering typed lines into whole statements: a statement ends at a `;` outside quotes and
//! comments, may span lines, and a line may hold several. The server's own splitter decides
//! where statements end, so the CLI and the server never disagree.

use crate::parser::split_statements;

/// Lines typed so far that do not yet end a statement.
#[derive(Debug, Default)]
pub struct StatementReader {
    pending: String,
}

/// Stands after the text so an unfinished tail shows: it is a statement of its own only
/// when everything before it ended with a `;` outside quotes and comments.
const SENTINEL: &str = "\u{1}";

impl StatementReader {
    /// Whether an unfinished statement is waiting for more lines.
    pub fn is_continuing(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Forgets the unfinished statement (Ctrl-C at the prompt).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Adds a line; returns the statements it completes, each with its `;`.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        let (complete, rest) = complete_statements(&self.pending);
        self.pending = rest;
        complete
    }
}

/// The complete statements of `text` and the unfinished text after them (empty when only
/// comments follow the last statement).
pub fn complete_statements(text: &str) -> (Vec<String>, String) {
    let marked = format!("{text}\n{SENTINEL}");
    let mut pieces: Vec<String> = split_statements(&marked)
        .into_iter()
        .map(str::to_string)
        .collect();
    let last = pieces.pop().unwrap_or_default();
    let rest = last.strip_suffix(SENTINEL).unwrap_or(&last).trim();
    if only_comments(rest) {
        return (pieces, String::new());
    }
    (pieces, rest.to_string())
}

/// Whether `text` holds nothing but blank lines and `--` comments.
fn only_comments(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with("--")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_spans_lines_until_its_semicolon() {
        let mut reader = StatementReader::default();
        assert!(reader
            .push_line("CREATE STREAM payments (name VARCHAR,")
            .is_empty());
        assert!(reader.is_continuing());
        assert!(reader.push_line("  amount INTEGER)").is_empty());
        let done = reader.push_line("  WITH (kafka_topic='payments', value_format='json');");
        assert_eq!(
            done,
            vec!["CREATE STREAM payments (name VARCHAR,\n  amount INTEGER)\n  WITH (kafka_topic='payments', value_format='json');"]
        );
        assert!(!reader.is_continuing());
    }

    #[test]
    fn several_statements_on_one_line_and_a_started_one_kept() {
        let mut reader = StatementReader::default();
        let done = reader.push_line("SHOW STREAMS; SHOW TABLES;SELECT * FROM t");
        assert_eq!(done, vec!["SHOW STREAMS;", "SHOW TABLES;"]);
        assert!(reader.is_continuing());
        assert_eq!(
            reader.push_line("EMIT CHANGES;"),
            vec!["SELECT * FROM t\nEMIT CHANGES;"]
        );
    }

    #[test]
    fn semicolons_in_quotes_and_comments_do_not_end_statements() {
        let mut reader = StatementReader::default();
        assert!(reader
            .push_line("SELECT * FROM s WHERE name = 'a;")
            .is_empty());
        assert!(reader.push_line("b' -- not; the end").is_empty());
        assert_eq!(
            reader.push_line("EMIT CHANGES;"),
            vec!["SELECT * FROM s WHERE name = 'a;\nb' -- not; the end\nEMIT CHANGES;"]
        );
        assert!(reader.push_line("/* a; b").is_empty());
        assert_eq!(
            reader.push_line("*/ SHOW STREAMS;"),
            vec!["/* a; b\n*/ SHOW STREAMS;"]
        );
        assert!(reader.push_line("SELECT `a;b` FROM s").is_empty());
    }

    #[test]
    fn a_trailing_comment_does_not_leave_a_statement_open() {
        let mut reader = StatementReader::default();
        assert_eq!(
            reader.push_line("SHOW STREAMS; -- all of them"),
            vec!["SHOW STREAMS;"]
        );
        assert!(!reader.is_continuing());
        assert!(reader.push_line("-- just a note").is_empty());
        assert!(!reader.is_continuing());
        assert!(reader.push_line("   ").is_empty());
        assert!(!reader.is_continuing());
    }

    #[test]
    fn a_script_splits_into_its_statements() {
        let (statements, rest) = complete_statements(
            "CREATE STREAM a (x INT) WITH (kafka_topic='a;', value_format='json');\n\nSHOW STREAMS;\n",
        );
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[1], "SHOW STREAMS;");
        assert_eq!(rest, "");
        let (statements, rest) = complete_statements("SHOW STREAMS");
        assert!(statements.is_empty());
        assert_eq!(rest, "SHOW STREAMS");
    }
}
