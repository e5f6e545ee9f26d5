//! The bordered text table ksqlDB's CLI draws for listings and statuses: each cell padded to
//! its column's widest value, columns joined by ` | ` with a space at both ends of a line,
//! and a dashed line under the headers and after the last row, no wider than the terminal.

/// A table with optional lines printed above and below it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Table {
    pub header_lines: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub footer_lines: Vec<String>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            ..Table::default()
        }
    }

    pub fn row<S: Into<String>>(mut self, cells: impl IntoIterator<Item = S>) -> Table {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub fn footer(mut self, line: impl Into<String>) -> Table {
        self.footer_lines.push(line.into());
        self
    }

    /// The table as text, every line ended by a newline; dashed lines are cut at
    /// `max_width` characters when the terminal's width is known.
    pub fn render(&self, max_width: Option<usize>) -> String {
        let mut out = String::new();
        for line in &self.header_lines {
            out.push_str(line);
            out.push('\n');
        }
        if !self.headers.is_empty() {
            let widths: Vec<usize> = (0..self.headers.len())
                .map(|i| self.column_width(i))
                .collect();
            let line_width = widths.iter().map(|w| w + 3).sum::<usize>() - 1;
            let separator = "-".repeat(max_width.map_or(line_width, |max| max.min(line_width)));
            out.push_str(&format_row(&self.headers, &widths));
            out.push_str(&separator);
            out.push('\n');
            for row in &self.rows {
                out.push_str(&format_row(row, &widths));
            }
            out.push_str(&separator);
            out.push('\n');
        }
        for line in &self.footer_lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    fn column_width(&self, column: usize) -> usize {
        let widest_cell = self
            .rows
            .iter()
            .filter_map(|row| row.get(column))
            .flat_map(|cell| cell.lines().map(|line| line.chars().count()))
            .max()
            .unwrap_or(0);
        widest_cell.max(self.headers[column].chars().count())
    }
}

/// ` a   | b `: each cell left-aligned in its column.
fn format_row(cells: &[String], widths: &[usize]) -> String {
    let padded: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, width)| {
            let cell = cells.get(i).map_or("", String::as_str);
            format!("{cell:<width$}")
        })
        .collect();
    format!(" {} \n", padded.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_status_as_ksqldb_does() {
        let table = Table::new(["Message"]).row(["Stream created"]);
        assert_eq!(
            table.render(None),
            " Message        \n----------------\n Stream created \n----------------\n"
        );
    }

    #[test]
    fn pads_columns_to_their_widest_value() {
        let table = Table::new(["Stream Name", "Kafka Topic", "Windowed"])
            .row(["PAYMENTS", "payments", "false"])
            .row(["BOB_PAYMENTS_WITH_A_LONG_NAME", "bob", "false"])
            .footer("done");
        let expected = concat!(
            " Stream Name                   | Kafka Topic | Windowed \n",
            "--------------------------------------------------------\n",
            " PAYMENTS                      | payments    | false    \n",
            " BOB_PAYMENTS_WITH_A_LONG_NAME | bob         | false    \n",
            "--------------------------------------------------------\n",
            "done\n",
        );
        assert_eq!(table.render(None), expected);
    }

    #[test]
    fn dashes_stop_at_the_terminal_width_and_empty_listings_keep_headers() {
        let table = Table::new(["Kafka Topic", "Partitions"]);
        assert_eq!(
            table.render(Some(10)),
            " Kafka Topic | Partitions \n----------\n----------\n"
        );
    }
}
