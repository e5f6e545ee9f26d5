//! Reading `/query`'s answer as it arrives. The server streams one JSON array, `[{"header":
//! ...}`, then `,{"row": ...}` per row, maybe `,{"finalMessage": ...}`, and `]` at the end;
//! a push query's array never ends, so each element is handed on as soon as it is whole.

use std::io::{self, BufRead, BufReader, Read};

use serde_json::Value;

/// One element of the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryEvent {
    /// The query's id and its column names, from the header's schema.
    Header {
        query_id: String,
        columns: Vec<String>,
    },
    Row {
        columns: Vec<Value>,
        tombstone: bool,
    },
    /// `finalMessage`, such as `Limit Reached`.
    Final(String),
    /// `errorMessage`: the query failed while running.
    Error(String),
}

/// The elements of a streamed JSON array of objects, in order.
pub struct ArrayElements<R> {
    input: BufReader<R>,
}

impl<R: Read> ArrayElements<R> {
    pub fn new(input: R) -> ArrayElements<R> {
        ArrayElements {
            input: BufReader::new(input),
        }
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let buffer = self.input.fill_buf()?;
        let Some(&byte) = buffer.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        Ok(Some(byte))
    }

    /// The next whole object's text, or None at the end of the input.
    fn next_object(&mut self) -> io::Result<Option<Vec<u8>>> {
        // Between elements: whitespace, the array's brackets and commas.
        let first = loop {
            match self.next_byte()? {
                None => return Ok(None),
                Some(b'{') => break b'{',
                Some(_) => continue,
            }
        };
        let mut object = vec![first];
        let (mut depth, mut in_string, mut escaped) = (1usize, false, false);
        while depth > 0 {
            let Some(byte) = self.next_byte()? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the query's answer ended in the middle of a row",
                ));
            };
            object.push(byte);
            if in_string {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        Ok(Some(object))
    }
}

impl<R: Read> Iterator for ArrayElements<R> {
    type Item = io::Result<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_object() {
            Ok(Some(text)) => Some(serde_json::from_slice(&text).map_err(io::Error::other)),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

/// What an element of the answer means; None for elements the CLI has no use for.
pub fn event(element: &Value) -> Option<QueryEvent> {
    if let Some(header) = element.get("header") {
        let query_id = header["queryId"].as_str().unwrap_or_default().to_string();
        let columns = column_names(header["schema"].as_str().unwrap_or_default());
        return Some(QueryEvent::Header { query_id, columns });
    }
    if let Some(row) = element.get("row") {
        let columns = row["columns"].as_array().cloned().unwrap_or_default();
        let tombstone = row["tombstone"].as_bool().unwrap_or(false);
        return Some(QueryEvent::Row { columns, tombstone });
    }
    if let Some(message) = element.get("finalMessage") {
        return Some(QueryEvent::Final(text_of(message)));
    }
    if let Some(error) = element.get("errorMessage") {
        let message = error.get("message").map_or_else(|| text_of(error), text_of);
        return Some(QueryEvent::Error(message));
    }
    None
}

fn text_of(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// The column names of a header schema: `` `ID` STRING KEY, `S` STRUCT<`A` INT, `B` INT> ``.
pub fn column_names(schema: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = schema.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '`' {
            continue;
        }
        let mut name = String::new();
        while let Some(c) = chars.next() {
            if c == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                } else {
                    break;
                }
            }
            name.push(c);
        }
        names.push(name);
        // Skip the type, which may hold nested field names, up to the next column.
        let mut depth = 0usize;
        let mut in_name = false;
        for c in chars.by_ref() {
            match c {
                '`' => in_name = !in_name,
                '<' | '(' if !in_name => depth += 1,
                '>' | ')' if !in_name => depth = depth.saturating_sub(1),
                ',' if !in_name && depth == 0 => break,
                _ => {}
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_elements_as_they_arrive() {
        let body = "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`NAME` STRING, `TOTAL` INTEGER\"}},\n{\"row\":{\"columns\":[\"a]}\\\"\",1]}},\n{\"finalMessage\":\"Limit Reached\"}]\n";
        let elements: Vec<Value> = ArrayElements::new(body.as_bytes())
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(elements.len(), 3);
        assert_eq!(
            event(&elements[0]),
            Some(QueryEvent::Header {
                query_id: "q1".into(),
                columns: vec!["NAME".into(), "TOTAL".into()]
            })
        );
        assert_eq!(
            event(&elements[1]),
            Some(QueryEvent::Row {
                columns: vec![json!("a]}\""), json!(1)],
                tombstone: false
            })
        );
        assert_eq!(
            event(&elements[2]),
            Some(QueryEvent::Final("Limit Reached".into()))
        );
    }

    #[test]
    fn a_cut_answer_is_an_error() {
        let mut elements = ArrayElements::new("[{\"row\":{\"columns\":[1".as_bytes());
        assert!(elements.next().unwrap().is_err());
    }

    #[test]
    fn errors_while_running_are_reported() {
        let element = json!({"errorMessage": {"@type": "generic_error", "error_code": 50000, "message": "boom"}});
        assert_eq!(event(&element), Some(QueryEvent::Error("boom".into())));
    }

    #[test]
    fn column_names_skip_nested_types() {
        assert_eq!(
            column_names("`ID` STRING KEY, `S` STRUCT<`A` INTEGER, `B` MAP<STRING, DECIMAL(4, 2)>>, `WE``IRD` BIGINT"),
            vec!["ID", "S", "WE`IRD"]
        );
        assert!(column_names("").is_empty());
    }
}
