//! What `/ksql` answers, drawn as ksqlDB's CLI draws it: a status as a one-column
//! `Message` table, SHOW listings as tables with ksqlDB's column names, DESCRIBE as the
//! source's name and a `Field | Type` table. Entities the CLI does not know print as JSON.

use serde_json::Value;

use super::table::Table;

/// The text for a list of entities: a blank line before each, and each one's statement
/// when there are several, as ksqlDB's CLI prints them.
pub fn render_entities(entities: &[Value], width: Option<usize>) -> String {
    let mut out = String::new();
    for entity in entities {
        out.push('\n');
        if entities.len() > 1 {
            if let Some(text) = entity["statementText"].as_str() {
                out.push_str(text);
                out.push('\n');
            }
        }
        out.push_str(&render_entity(entity, width));
        for warning in entity["warnings"].as_array().into_iter().flatten() {
            let message = warning["message"].as_str().unwrap_or_default();
            out.push_str(&format!("WARNING: {message}\n"));
        }
    }
    out
}

/// One entity as text.
pub fn render_entity(entity: &Value, width: Option<usize>) -> String {
    let kind = entity["@type"].as_str().unwrap_or_default();
    let table = match kind {
        "currentStatus" => status(entity),
        "streams" => sources(&entity["streams"], "Stream Name"),
        "tables" => sources(&entity["tables"], "Table Name"),
        "queries" => queries(&entity["queries"]),
        "kafka_topics" => topics(&entity["topics"]),
        "properties" => properties(entity),
        "function_names" => functions(&entity["functions"]),
        "sourceDescription" => return describe(&entity["sourceDescription"], width),
        "source_descriptions" => {
            return list(&entity["sourceDescriptions"])
                .iter()
                .map(|source| describe(source, width))
                .collect::<Vec<_>>()
                .join("\n");
        }
        _ => return format!("{}\n", pretty(entity)),
    };
    table.render(width)
}

pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// A JSON value as a cell: text without quotes, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn status(entity: &Value) -> Table {
    Table::new(["Message"]).row([text(&entity["commandStatus"]["message"])])
}

fn sources(listed: &Value, name_header: &str) -> Table {
    let mut table = Table::new([
        name_header,
        "Kafka Topic",
        "Key Format",
        "Value Format",
        "Windowed",
    ]);
    for source in list(listed) {
        table = table.row([
            text(&source["name"]),
            text(&source["topic"]),
            text(&source["keyFormat"]),
            text(&source["valueFormat"]),
            text(&source["isWindowed"]),
        ]);
    }
    table
}

/// `RUNNING:1`: how many instances of a query are in each state.
fn status_counts(counts: &Value) -> String {
    match counts.as_object() {
        Some(counts) if !counts.is_empty() => counts
            .iter()
            .map(|(state, count)| format!("{state}:{}", text(count)))
            .collect::<Vec<_>>()
            .join(","),
        _ => "N/A".into(),
    }
}

/// A statement on one line, as SHOW QUERIES lists it.
fn single_line(statement: &str) -> String {
    statement.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn joined(values: &Value) -> String {
    list(values).iter().map(text).collect::<Vec<_>>().join(",")
}

fn queries(listed: &Value) -> Table {
    let mut table = Table::new([
        "Query ID",
        "Query Type",
        "Status",
        "Sink Name",
        "Sink Kafka Topic",
        "Query String",
    ]);
    for query in list(listed) {
        table = table.row([
            text(&query["id"]),
            text(&query["queryType"]),
            status_counts(&query["statusCount"]),
            joined(&query["sinks"]),
            joined(&query["sinkKafkaTopics"]),
            single_line(query["queryString"].as_str().unwrap_or_default()),
        ]);
    }
    table.footer("For detailed information on a Query run: EXPLAIN <Query ID>;")
}

/// Replicas per partition: one number when all partitions agree.
fn replica_counts(replicas: &[Value]) -> String {
    let counts: Vec<String> = replicas.iter().map(text).collect();
    match counts.first() {
        None => "0".into(),
        Some(first) if counts.iter().all(|c| c == first) => first.clone(),
        Some(_) => counts.join(", "),
    }
}

fn topics(listed: &Value) -> Table {
    let mut table = Table::new(["Kafka Topic", "Partitions", "Partition Replicas"]);
    for topic in list(listed) {
        let replicas = list(&topic["replicaInfo"]);
        table = table.row([
            text(&topic["name"]),
            replicas.len().to_string(),
            replica_counts(replicas),
        ]);
    }
    table
}

fn properties(entity: &Value) -> Table {
    let names = |field: &str| -> Vec<String> { list(&entity[field]).iter().map(text).collect() };
    let (overwritten, defaults) = (names("overwrittenProperties"), names("defaultProperties"));
    let mut rows: Vec<[String; 4]> = list(&entity["properties"])
        .iter()
        .map(|property| {
            let name = text(&property["name"]);
            let level = if overwritten.contains(&name) {
                "SESSION"
            } else if defaults.contains(&name) {
                ""
            } else {
                "SERVER"
            };
            let value = match &property["value"] {
                Value::Null => "NULL".to_string(),
                other => text(other),
            };
            [name, text(&property["scope"]), level.to_string(), value]
        })
        .collect();
    rows.sort();
    let mut table = Table::new(["Property", "Scope", "Default override", "Effective Value"]);
    for row in rows {
        table = table.row(row);
    }
    table
}

fn functions(listed: &Value) -> Table {
    let mut table = Table::new(["Function Name", "Category"]);
    for function in list(listed) {
        table = table.row([text(&function["name"]), text(&function["category"])]);
    }
    table.footer(
        "For detailed information about a function, run: DESCRIBE FUNCTION <Function Name>;",
    )
}

/// A column type as ksqlDB's CLI writes it: `VARCHAR(STRING)`, `ARRAY<INTEGER>`, ...
pub fn type_text(schema: &Value) -> String {
    let family = schema["type"].as_str().unwrap_or("UNKNOWN");
    match family {
        "STRING" => "VARCHAR(STRING)".into(),
        "ARRAY" => format!("ARRAY<{}>", type_text(&schema["memberSchema"])),
        "MAP" => format!("MAP<STRING, {}>", type_text(&schema["memberSchema"])),
        "STRUCT" => {
            let fields: Vec<String> = list(&schema["fields"])
                .iter()
                .map(|f| format!("{} {}", text(&f["name"]), type_text(&f["schema"])))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "DECIMAL" => {
            let parameters = &schema["parameters"];
            format!(
                "DECIMAL({}, {})",
                text(&parameters["precision"]),
                text(&parameters["scale"])
            )
        }
        other => other.to_string(),
    }
}

/// A field's type with what kind of column it is: `(key)`, `(primary key)`, a header.
fn field_type(field: &Value, window_type: &Value, is_table: bool) -> String {
    let type_name = type_text(&field["schema"]);
    match field["type"].as_str() {
        Some("KEY") => {
            let key = if is_table { "(primary key)" } else { "(key)" };
            let window = window_type
                .as_str()
                .map_or(String::new(), |w| format!(" (Window type: {w})"));
            format!("{type_name:<16} {key}{window}")
        }
        Some("HEADER") => {
            let header = field["headerKey"]
                .as_str()
                .map_or("(headers)".to_string(), |k| format!("(header('{k}'))"));
            format!("{type_name:<16} {header}")
        }
        _ => type_name,
    }
}

fn describe(source: &Value, width: Option<usize>) -> String {
    let extended = source["extended"].as_bool().unwrap_or(false);
    let is_table = source["type"].as_str() == Some("TABLE");
    let mut out = format!("{:<20} : {}\n", "Name", text(&source["name"]));
    if extended {
        out.push_str(&extended_header(source));
    }
    let mut fields = Table::new(["Field", "Type"]);
    for field in list(&source["fields"]) {
        fields = fields.row([
            text(&field["name"]),
            field_type(field, &source["windowType"], is_table),
        ]);
    }
    out.push_str(&fields.render(width));
    if !extended {
        out.push_str(
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;\n",
        );
        return out;
    }
    for (queries, operation) in [
        (&source["readQueries"], "read"),
        (&source["writeQueries"], "write"),
    ] {
        out.push_str(&query_list(queries, operation, is_table));
    }
    out
}

/// Type, timestamp, formats, topic and statement: DESCRIBE EXTENDED's opening lines.
fn extended_header(source: &Value) -> String {
    let line = |label: &str, value: String| format!("{label:<20} : {value}\n");
    let timestamp = match text(&source["timestamp"]) {
        t if t.is_empty() => "Not set - using <ROWTIME>".to_string(),
        t => t,
    };
    let mut topic = text(&source["topic"]);
    if source["partitions"].as_i64().unwrap_or(0) != 0 {
        topic.push_str(&format!(
            " (partitions: {}, replication: {})",
            text(&source["partitions"]),
            text(&source["replication"])
        ));
    }
    let mut out = line("Type", text(&source["type"]));
    out.push_str(&line("Timestamp field", timestamp));
    out.push_str(&line("Key format", text(&source["keyFormat"])));
    out.push_str(&line("Value format", text(&source["valueFormat"])));
    out.push_str(&line("Kafka topic", topic));
    out.push_str(&line("Statement", text(&source["statement"])));
    out.push('\n');
    out
}

fn query_list(queries: &Value, operation: &str, is_table: bool) -> String {
    let queries = list(queries);
    if queries.is_empty() {
        return String::new();
    }
    let kind = if is_table { "table" } else { "stream" };
    let mut out = format!(
        "\nQueries that {operation} from this {kind}\n-----------------------------------\n"
    );
    for query in queries {
        out.push_str(&format!(
            "{} ({}) : {}\n",
            text(&query["id"]),
            query["state"].as_str().unwrap_or("N/A"),
            single_line(query["queryString"].as_str().unwrap_or_default())
        ));
    }
    out.push_str("\nFor query topology and execution plan please run: EXPLAIN <QueryId>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_is_a_message_table() {
        let entity = json!({"@type": "currentStatus", "statementText": "CREATE STREAM ...;", "commandStatus": {"status": "SUCCESS", "message": "Stream created"}, "warnings": []});
        assert_eq!(
            render_entities(&[entity], None),
            "\n Message        \n----------------\n Stream created \n----------------\n"
        );
    }

    #[test]
    fn streams_list_as_ksqldb_lists_them() {
        let entity = json!({"@type": "streams", "statementText": "SHOW STREAMS;", "streams": [
            {"type": "STREAM", "name": "PAYMENTS", "topic": "payments", "keyFormat": "KAFKA", "valueFormat": "JSON", "isWindowed": false}
        ], "warnings": []});
        let expected = concat!(
            " Stream Name | Kafka Topic | Key Format | Value Format | Windowed \n",
            "------------------------------------------------------------------\n",
            " PAYMENTS    | payments    | KAFKA      | JSON         | false    \n",
            "------------------------------------------------------------------\n",
        );
        assert_eq!(render_entity(&entity, None), expected);
    }

    #[test]
    fn several_entities_show_their_statements() {
        let status = |message: &str, text: &str| json!({"@type": "currentStatus", "statementText": text, "commandStatus": {"message": message}});
        let out = render_entities(
            &[
                status("Stream created", "CREATE A;"),
                status("Stream dropped", "DROP A;"),
            ],
            None,
        );
        assert!(out.starts_with("\nCREATE A;\n Message "));
        assert!(out.contains("\nDROP A;\n Message "));
    }

    #[test]
    fn topics_and_queries_use_ksqldb_columns() {
        let topics = json!({"@type": "kafka_topics", "topics": [{"name": "payments", "replicaInfo": [3, 3]}]});
        let out = render_entity(&topics, None);
        assert!(out.starts_with(" Kafka Topic | Partitions | Partition Replicas \n"));
        assert!(out.contains(" payments    | 2          | 3                  \n"));
        let queries = json!({"@type": "queries", "queries": [{"id": "CSAS_BOB_1", "queryType": "PERSISTENT", "statusCount": {"RUNNING": 1}, "sinks": ["BOB"], "sinkKafkaTopics": ["BOB"], "queryString": "CREATE STREAM bob AS\n  SELECT * FROM p;"}]});
        let out = render_entity(&queries, None);
        assert!(out.contains(" CSAS_BOB_1 | PERSISTENT | RUNNING:1 | BOB       | BOB              | CREATE STREAM bob AS SELECT * FROM p; \n"));
        assert!(out.ends_with("For detailed information on a Query run: EXPLAIN <Query ID>;\n"));
    }

    #[test]
    fn describe_draws_name_and_fields() {
        let entity = json!({"@type": "sourceDescription", "sourceDescription": {
        "name": "TOTALS", "type": "TABLE", "windowType": "TUMBLING", "extended": false,
        "fields": [
            {"name": "NAME", "type": "KEY", "schema": {"type": "STRING"}},
            {"name": "TOTAL", "schema": {"type": "INTEGER"}},
            {"name": "TAGS", "schema": {"type": "ARRAY", "memberSchema": {"type": "STRING"}}}
        ]}});
        let expected = concat!(
            "Name                 : TOTALS\n",
            " Field | Type                                                   \n",
            "----------------------------------------------------------------\n",
            " NAME  | VARCHAR(STRING)  (primary key) (Window type: TUMBLING) \n",
            " TOTAL | INTEGER                                                \n",
            " TAGS  | ARRAY<VARCHAR(STRING)>                                 \n",
            "----------------------------------------------------------------\n",
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;\n",
        );
        assert_eq!(render_entity(&entity, None), expected);
    }

    #[test]
    fn unknown_entities_print_as_json() {
        let entity = json!({"@type": "something_new", "x": 1});
        assert!(render_entity(&entity, None).contains("\"x\": 1"));
    }
}
