//! `/inserts-stream`: the request body is a JSON line naming the target stream, then one
//! JSON object per row; each row is written to the stream's topic and acknowledged in the
//! response as it goes (`{"status":"ok","seq":0}`), or refused with the reason.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::catalog::Source;
use crate::format::{Format, FormatColumn};
use crate::parser::ast::SourceKind;
use crate::schema::ColumnKind;

use super::body::BodyError;
use super::statements::{BAD_REQUEST, REQUEST_TOO_LARGE};
use super::KsqlServer;

/// Reads the first line `{"target": "NAME"}` and finds the stream it names.
pub async fn target(server: &KsqlServer, line: &str) -> Result<Source, String> {
    let request: Json =
        serde_json::from_str(line).map_err(|e| format!("Invalid JSON in inserts request: {e}"))?;
    let name = request
        .get("target")
        .and_then(Json::as_str)
        .ok_or("The inserts request must start with {\"target\": \"<stream>\"}")?;
    let engine = server.engine.lock().await;
    let source = engine
        .catalog
        .get(&name.to_uppercase())
        .or_else(|| engine.catalog.get(name))
        .ok_or_else(|| format!("Cannot insert into an unknown stream: {name}"))?;
    if source.kind != SourceKind::Stream {
        return Err(format!("Cannot insert into a table: {name}"));
    }
    if source.read_only {
        return Err(format!("Cannot insert into read-only stream: {name}"));
    }
    Ok(source.clone())
}

/// Writes one row line into `target`; the answer is the acknowledgement or error line.
pub async fn insert(server: &Arc<KsqlServer>, target: &Source, seq: u64, line: &str) -> Json {
    match write_row(server, target, line).await {
        Ok(()) => json!({ "status": "ok", "seq": seq }),
        Err(message) => {
            json!({ "status": "error", "seq": seq, "error_code": BAD_REQUEST, "message": message })
        }
    }
}

/// The acknowledgement of a line that could not be read; the request ends with it.
pub fn refused(seq: u64, error: &BodyError) -> Json {
    let code = match error {
        BodyError::TooLarge { .. } | BodyError::LineTooLong { .. } => REQUEST_TOO_LARGE,
        BodyError::Failed(_) => BAD_REQUEST,
    };
    json!({ "status": "error", "seq": seq, "error_code": code, "message": error.to_string() })
}

async fn write_row(server: &KsqlServer, target: &Source, line: &str) -> Result<(), String> {
    let columns: Vec<FormatColumn> = target
        .schema
        .columns
        .iter()
        .filter(|c| !matches!(c.kind, ColumnKind::Header(_)))
        .map(|c| FormatColumn {
            name: &c.name,
            sql_type: &c.sql_type,
            key: c.kind == ColumnKind::Key,
        })
        .collect();
    let row = Format::Json
        .deserialize(&columns, Some(line.as_bytes()), true)
        .map_err(|e| format!("Invalid row: {e}"))?
        .ok_or("An empty row cannot be inserted")?;
    let keys = target.key_format_columns();
    let (key, value) = row.split_at(keys.len().min(row.len()));
    let key = target
        .key_format
        .serialize(&keys, key, false)
        .map_err(|e| e.to_string())?;
    let value = target
        .value_format
        .serialize(
            &target.value_format_columns(),
            value,
            target.wrap_single_value,
        )
        .map_err(|e| e.to_string())?;
    server
        .io
        .produce(&target.topic, key, value, None)
        .await
        .map_err(|e| format!("Failed to insert into {}: {e}", target.name))
}
