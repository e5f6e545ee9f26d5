//! `potok-operator get`: the stored resources as `kubectl get` prints them, with the
//! columns of each CRD's `additionalPrinterColumns` (so both show the same table) and ages
//! in kubectl's short form.

use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition,
};
use k8s_openapi::jiff::Timestamp;
use kube::CustomResourceExt;
use serde_json::Value;

use super::store::{Store, Stored};
use crate::resources::{KafkaCluster, KsqlStream, Topic};

/// The kinds `get` knows, by every name kubectl accepts for them.
fn resolve(kind: &str) -> Option<CustomResourceDefinition> {
    [KafkaCluster::crd(), Topic::crd(), KsqlStream::crd()]
        .into_iter()
        .find(|crd| {
            let names = &crd.spec.names;
            let wanted = kind.to_ascii_lowercase();
            wanted == names.plural
                || Some(&wanted) == names.singular.as_ref()
                || wanted == names.kind.to_ascii_lowercase()
                || names
                    .short_names
                    .iter()
                    .flatten()
                    .any(|short| *short == wanted)
        })
}

/// The table for `kind`, or an error naming the kinds there are.
pub fn get(kind: &str, data_dir: &Path, wide: bool) -> anyhow::Result<String> {
    let Some(crd) = resolve(kind) else {
        anyhow::bail!(
            "the server doesn't have a resource type \"{kind}\"; use kafkaclusters (kc), topics (kt) or ksqlstreams (ks)"
        );
    };
    let store = Store::new(data_dir);
    let resources = match crd.spec.names.kind.as_str() {
        "KafkaCluster" => as_values(store.all::<KafkaCluster>()?),
        "Topic" => as_values(store.all::<Topic>()?),
        _ => as_values(store.all::<KsqlStream>()?),
    };
    if resources.is_empty() {
        return Ok("No resources found in default namespace.\n".into());
    }
    let columns: Vec<CustomResourceColumnDefinition> = crd.spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|column| wide || column.priority.unwrap_or(0) == 0)
        .collect();
    let now = Timestamp::now();
    let mut rows = vec![std::iter::once("NAME".to_string())
        .chain(columns.iter().map(|c| c.name.to_ascii_uppercase()))
        .collect::<Vec<_>>()];
    for resource in &resources {
        let name = lookup(resource, ".metadata.name").unwrap_or_default();
        let cells = columns.iter().map(|column| {
            let value = lookup(resource, &column.json_path).unwrap_or_default();
            if column.type_ == "date" {
                value
                    .parse::<Timestamp>()
                    .map(|then| age(now.as_second() - then.as_second()))
                    .unwrap_or_else(|_| "<unknown>".into())
            } else if value.is_empty() {
                "<none>".into()
            } else {
                value
            }
        });
        rows.push(std::iter::once(name).chain(cells).collect());
    }
    Ok(table(&rows))
}

fn as_values<K: Stored>(resources: Vec<K>) -> Vec<Value> {
    resources
        .iter()
        .filter_map(|resource| serde_json::to_value(resource).ok())
        .collect()
}

/// Columns padded to their widest cell and three spaces apart, as kubectl prints them.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// The value at a printer column's JSONPath: dotted fields and kubectl's one filter form,
/// `[?(@.field=="value")]`, which picks the first matching list element.
fn lookup(resource: &Value, path: &str) -> Option<String> {
    let mut current = resource;
    for segment in segments(path) {
        let (field, filter) = match segment.split_once("[?(@") {
            Some((field, filter)) => (field, Some(filter)),
            None => (segment, None),
        };
        current = current.get(field)?;
        if let Some(filter) = filter {
            let (key, wanted) = filter.trim_end_matches(")]").split_once("==")?;
            let key = key.trim_start_matches('.');
            let wanted = wanted.trim_matches('"');
            current = current
                .as_array()?
                .iter()
                .find(|item| item.get(key).and_then(Value::as_str) == Some(wanted))?;
        }
    }
    Some(match current {
        Value::String(text) => text.clone(),
        Value::Null => return None,
        other => other.to_string(),
    })
}

/// The path's fields, split at the dots outside `[...]`.
fn segments(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                segments.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segments.push(&path[start..]);
    segments.into_iter().filter(|s| !s.is_empty()).collect()
}

/// kubectl's short age: `45s`, `3m20s`, `25m`, `5h10m`, `30h`, `3d4h`, `12d`.
fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if h < 3 => format!("{m}m"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 => format!("{d}d{}h", h % 24),
        _ => format!("{d}d"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths_read_fields_and_the_ready_condition() {
        let topic = serde_json::json!({
            "metadata": {"name": "test"},
            "spec": {"partitions": 3},
            "status": {"conditions": [
                {"type": "Progressing", "status": "False"},
                {"type": "Ready", "status": "True"}
            ]}
        });
        assert_eq!(lookup(&topic, ".spec.partitions").as_deref(), Some("3"));
        assert_eq!(
            lookup(&topic, r#".status.conditions[?(@.type=="Ready")].status"#).as_deref(),
            Some("True")
        );
        assert_eq!(lookup(&topic, ".status.topicName"), None);
    }

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        let ages: Vec<String> = [
            45,
            200,
            1500,
            5 * 3600 + 600,
            30 * 3600,
            3 * 86400 + 4 * 3600,
            12 * 86400,
        ]
        .into_iter()
        .map(age)
        .collect();
        assert_eq!(ages, ["45s", "3m20s", "25m", "5h10m", "30h", "3d4h", "12d"]);
    }

    #[test]
    fn kinds_answer_to_their_kubectl_names() {
        for name in ["topics", "topic", "kt", "Topic"] {
            assert_eq!(resolve(name).unwrap().spec.names.kind, "Topic");
        }
        assert_eq!(resolve("ks").unwrap().spec.names.kind, "KsqlStream");
        assert_eq!(
            resolve("kafkaclusters").unwrap().spec.names.kind,
            "KafkaCluster"
        );
        assert!(resolve("pods").is_none());
    }

    #[test]
    fn an_empty_store_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            get("topics", dir.path(), false).unwrap(),
            "No resources found in default namespace.\n"
        );
        let unknown = get("pods", dir.path(), false).unwrap_err().to_string();
        assert!(unknown.contains("doesn't have a resource type \"pods\""));
    }
}
