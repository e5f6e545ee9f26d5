//! Query results as ksqlDB's CLI prints them while they stream: the terminal's width shared
//! equally among the columns, `+----+` borders around the header, one `|a   |b   |` line
//! per row printed as it arrives, and long values wrapped onto further lines.

use serde_json::Value;

/// A column never gets narrower than this, however many there are (ksqlDB's minimum).
const MIN_CELL_WIDTH: usize = 5;

/// The width used when output does not go to a terminal.
pub const DEFAULT_WIDTH: usize = 80;

/// How wide each column of a result is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResultLayout {
    cell_width: usize,
    columns: usize,
}

impl ResultLayout {
    /// Columns sharing `width` characters, with a `|` before, between and after them.
    pub fn new(width: usize, columns: usize) -> ResultLayout {
        let columns = columns.max(1);
        let cell_width = (width.saturating_sub(columns + 1) / columns).max(MIN_CELL_WIDTH);
        ResultLayout {
            cell_width,
            columns,
        }
    }

    fn border(&self) -> String {
        let dashes = "-".repeat(self.cell_width);
        format!("+{}+", vec![dashes; self.columns].join("+"))
    }

    /// The header: column names between two borders.
    pub fn header(&self, names: &[String]) -> String {
        let border = self.border();
        format!("{border}\n{}{border}\n", self.line(names))
    }

    /// One row; a table's deleted row shows `<TOMBSTONE>` where its values would be.
    pub fn row(&self, values: &[Value], tombstone: bool) -> String {
        let cells: Vec<String> = values
            .iter()
            .map(|value| match value {
                Value::Null if tombstone => "<TOMBSTONE>".to_string(),
                other => cell_text(other),
            })
            .collect();
        self.line(&cells)
    }

    /// Cells side by side, each wrapped to the column width.
    fn line(&self, cells: &[String]) -> String {
        let wrapped: Vec<Vec<String>> = cells.iter().map(|c| wrap(c, self.cell_width)).collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        let width = self.cell_width;
        let mut out = String::new();
        for line in 0..height {
            out.push('|');
            for cell in &wrapped {
                let part = cell.get(line).map_or("", String::as_str);
                out.push_str(&format!("{part:<width$}|"));
            }
            out.push('\n');
        }
        out
    }
}

/// A value as a cell shows it: text as it is, null as `null`, numbers as JSON writes them,
/// arrays, maps and structs as JSON.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `text` cut into pieces of at most `width` characters; at least one, maybe empty.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().filter(|c| *c != '\n').collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(width.max(1))
        .map(|chunk| chunk.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_share_the_terminal_width() {
        let layout = ResultLayout::new(25, 2);
        assert_eq!(
            layout.header(&["NAME".into(), "TOTAL".into()]),
            "+-----------+-----------+\n|NAME       |TOTAL      |\n+-----------+-----------+\n"
        );
        assert_eq!(
            layout.row(&[json!("Bob"), json!(30)], false),
            "|Bob        |30         |\n"
        );
    }

    #[test]
    fn values_render_as_ksqldb_shows_them() {
        assert_eq!(cell_text(&json!("plain text")), "plain text");
        assert_eq!(cell_text(&Value::Null), "null");
        assert_eq!(cell_text(&json!(12.5)), "12.5");
        assert_eq!(cell_text(&json!(true)), "true");
        assert_eq!(cell_text(&json!([1, "a"])), "[1,\"a\"]");
        assert_eq!(cell_text(&json!({"A": 1})), "{\"A\":1}");
    }

    #[test]
    fn long_values_wrap_and_tombstones_show() {
        let layout = ResultLayout::new(10, 3);
        assert_eq!(
            layout.row(&[json!("abcdefgh"), Value::Null, json!(1)], true),
            "|abcde|<TOMB|1    |\n|fgh  |STONE|     |\n|     |>    |     |\n"
        );
    }
}
