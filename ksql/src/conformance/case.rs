//! Reading ksqlDB's query-validation test files: JSON with `//` comments, a list of cases,
//! each with statements, input records, expected output records or an expected error.
//! A case listing `format`s is expanded into one case per format.

use serde_json::Value as Json;

/// A record to produce or expect, as the file gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRecord {
    pub topic: String,
    pub key: Json,
    pub value: Json,
    pub timestamp: Option<i64>,
    /// `{start, end}` for windowed keys.
    pub window: Option<(i64, i64)>,
}

/// A source the case expects to exist afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSource {
    pub name: String,
    pub kind: String,
    pub schema: Option<String>,
}

/// One case, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    pub statements: Vec<String>,
    pub properties: Vec<(String, String)>,
    pub inputs: Vec<TestRecord>,
    pub outputs: Vec<TestRecord>,
    /// The message an expected failure must contain.
    pub expected_error: Option<String>,
    pub expected_sources: Vec<ExpectedSource>,
    pub enabled: bool,
    /// The format this expansion of the case runs with, if it lists formats.
    pub format: Option<String>,
    /// REST cases: one expected response per statement.
    pub responses: Vec<Json>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no \"tests\" list")]
    NoTests,
}

/// Removes `//` comments that stand outside strings.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for skipped in chars.by_ref() {
                if skipped == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        in_string = c == '"';
        out.push(c);
    }
    out
}

fn record(json: &Json) -> TestRecord {
    let window = json
        .get("window")
        .and_then(|w| Some((w.get("start")?.as_i64()?, w.get("end")?.as_i64()?)));
    TestRecord {
        topic: json
            .get("topic")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        key: json.get("key").cloned().unwrap_or(Json::Null),
        value: json.get("value").cloned().unwrap_or(Json::Null),
        timestamp: json.get("timestamp").and_then(Json::as_i64),
        window,
    }
}

fn records(case: &Json, field: &str) -> Vec<TestRecord> {
    case.get(field)
        .and_then(Json::as_array)
        .map(|list| list.iter().map(record).collect())
        .unwrap_or_default()
}

fn strings(json: Option<&Json>) -> Vec<String> {
    json.and_then(Json::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn expected_sources(case: &Json) -> Vec<ExpectedSource> {
    let Some(sources) = case.pointer("/post/sources").and_then(Json::as_array) else {
        return Vec::new();
    };
    sources
        .iter()
        .map(|source| ExpectedSource {
            name: source
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
            kind: source
                .get("type")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
            schema: source
                .get("schema")
                .and_then(Json::as_str)
                .map(str::to_string),
        })
        .collect()
}

fn one_case(case: &Json, format: Option<&str>) -> Case {
    let substitute = |text: &str| match format {
        Some(format) => text.replace("{FORMAT}", format),
        None => text.to_string(),
    };
    let properties = case
        .get("properties")
        .and_then(Json::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let name = case.get("name").and_then(Json::as_str).unwrap_or("unnamed");
    Case {
        name: match format {
            Some(format) => format!("{name} - {format}"),
            None => name.to_string(),
        },
        statements: strings(case.get("statements"))
            .iter()
            .map(|s| substitute(s))
            .collect(),
        properties,
        inputs: records(case, "inputs"),
        outputs: records(case, "outputs"),
        expected_error: case
            .pointer("/expectedException/message")
            .or_else(|| case.pointer("/expectedError/message"))
            .and_then(Json::as_str)
            .map(str::to_string),
        responses: case
            .get("responses")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default(),
        expected_sources: expected_sources(case),
        enabled: case.get("enabled").and_then(Json::as_bool).unwrap_or(true),
        format: format.map(str::to_string),
    }
}

/// The cases of one file, formats expanded.
pub fn parse_case_file(text: &str) -> Result<Vec<Case>, CaseFileError> {
    let json: Json = serde_json::from_str(&strip_comments(text))?;
    let tests = json
        .get("tests")
        .and_then(Json::as_array)
        .ok_or(CaseFileError::NoTests)?;
    let mut cases = Vec::new();
    for case in tests {
        let formats = strings(case.get("format"));
        if formats.is_empty() {
            cases.push(one_case(case, None));
        } else {
            cases.extend(formats.iter().map(|format| one_case(case, Some(format))));
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_are_removed() {
        let text = "{\"a\": \"http://x\", // note\n \"b\": 1}";
        assert_eq!(strip_comments(text), "{\"a\": \"http://x\", \n \"b\": 1}");
    }

    #[test]
    fn formats_expand_into_cases() {
        let file = r#"{"tests": [{
            "name": "n", "format": ["JSON", "AVRO"],
            "statements": ["CREATE STREAM S (A INT) WITH (kafka_topic='t', value_format='{FORMAT}');"],
            "inputs": [{"topic": "t", "key": null, "value": {"A": 1}, "timestamp": 5}],
            "outputs": [{"topic": "o", "key": 1, "value": "x", "window": {"start": 0, "end": 10, "type": "time"}}],
            "expectedException": {"type": "X", "message": "boom"},
            "post": {"sources": [{"name": "S", "type": "stream", "schema": "A INT"}]}
        }]}"#;
        let cases = parse_case_file(file).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[1].name, "n - AVRO");
        assert!(cases[0].statements[0].contains("value_format='JSON'"));
        assert_eq!(cases[0].inputs[0].timestamp, Some(5));
        assert_eq!(cases[0].outputs[0].window, Some((0, 10)));
        assert_eq!(cases[0].expected_error.as_deref(), Some("boom"));
        assert_eq!(
            cases[0].expected_sources[0].schema.as_deref(),
            Some("A INT")
        );
        assert!(parse_case_file("{}").is_err());
    }
}
