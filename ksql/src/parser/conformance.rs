//! Conformance with ksqlDB's own test cases, read from the directory named by `KSQLDB_QTT_DIR`
//! (its `qtt/*.json` and `rqtt/*.json`; skipped when unset): every statement of a case that
//! expects no error parses and prints back to the same tree, and every case that expects a
//! syntax error fails with ksqlDB's message.

use std::path::Path;

use serde_json::Value;

use super::parse;
use super::statements::round_trip;

/// Drops `//` comments outside JSON strings.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '/' && chars.peek() == Some(&'/') {
            while chars.peek().is_some_and(|&c| c != '\n') {
                chars.next();
            }
        } else {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// One run of a case: its statements with `{FORMAT}` replaced, and the error it expects.
struct Run {
    name: String,
    statements: Vec<String>,
    expected_error: Option<String>,
}

fn runs(case: &Value) -> Vec<Run> {
    let name = case["name"].as_str().unwrap_or("?").to_string();
    let statements: Vec<&str> = case["statements"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let expected_error = ["expectedException", "expectedError"]
        .iter()
        .find_map(|key| case[key]["message"].as_str())
        .map(str::to_string);
    let formats: Vec<Option<&str>> = match case["format"].as_array() {
        Some(formats) => formats.iter().map(Value::as_str).collect(),
        None => vec![None],
    };
    formats
        .into_iter()
        .map(|format| Run {
            name: format!("{name} [{}]", format.unwrap_or("-")),
            statements: statements
                .iter()
                .map(|s| s.replace("{FORMAT}", format.unwrap_or("{FORMAT}")))
                .collect(),
            expected_error: expected_error.clone(),
        })
        .collect()
}

/// The part of an expected message that is about parsing, if any: without ksqlDB's
/// "Failed to prepare statement: " prefix and the statement it appends.
fn parse_message(expected: &str) -> Option<&str> {
    let message = expected
        .strip_prefix("Failed to prepare statement: ")
        .unwrap_or(expected);
    let message = message.split("\nStatement:").next().unwrap_or(message);
    let about_parsing = message.starts_with("line ")
        || message.contains("Syntax Error")
        || message.contains("Syntax error");
    about_parsing.then_some(message)
}

#[derive(Default)]
struct Tally {
    statements: usize,
    parsed: usize,
    failures: Vec<String>,
    error_cases: usize,
    errors_matched: usize,
    rejected_other: Vec<String>,
}

/// Checks a run. qtt cases parse their statements as one text, one per line, which is what
/// their messages' line numbers count; rqtt cases send each statement alone.
fn check(run: &Run, joined: bool, tally: &mut Tally) {
    let results: Vec<_> = if joined {
        vec![(run.statements.join("\n"), parse(&run.statements.join("\n")))]
    } else {
        run.statements
            .iter()
            .map(|s| (s.clone(), parse(s)))
            .collect()
    };
    let first_error = results.iter().find_map(|(_, result)| result.as_ref().err());
    match run.expected_error.as_deref() {
        None => {
            for statement in &run.statements {
                tally.statements += 1;
                let outcome = parse(statement)
                    .map_err(|e| e.to_string())
                    .and_then(|parsed| parsed.iter().try_for_each(round_trip));
                match outcome {
                    Ok(()) => tally.parsed += 1,
                    Err(error) => tally
                        .failures
                        .push(format!("{}: {statement}\n  {error}", run.name)),
                }
            }
        }
        Some(expected) => match parse_message(expected) {
            Some(message) => {
                tally.error_cases += 1;
                match first_error {
                    Some(error) if error.to_string().contains(message) => tally.errors_matched += 1,
                    other => tally.failures.push(format!(
                        "{}: expected {message:?}, got {:?}",
                        run.name,
                        other.map(|e| e.to_string())
                    )),
                }
            }
            None => {
                if let Some(error) = first_error {
                    tally
                        .rejected_other
                        .push(format!("{}: {error}\n  (ksqlDB: {expected})", run.name));
                }
            }
        },
    }
}

#[test]
fn ksqldb_test_cases_parse() {
    let Some(dir) = std::env::var_os("KSQLDB_QTT_DIR") else {
        eprintln!("KSQLDB_QTT_DIR is not set: skipped");
        return;
    };
    let dir = Path::new(&dir);
    if !dir.is_dir() {
        eprintln!("{} is not a directory: skipped", dir.display());
        return;
    }
    let mut tally = Tally::default();
    for (sub, joined) in [("qtt", true), ("rqtt", false)] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "json"))
        {
            let text = std::fs::read_to_string(file).unwrap();
            let json: Value = serde_json::from_str(&strip_comments(&text))
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for case in json["tests"].as_array().into_iter().flatten() {
                for run in runs(case) {
                    check(&run, joined, &mut tally);
                }
            }
        }
    }
    for rejected in &tally.rejected_other {
        eprintln!("rejected, where ksqlDB fails later: {rejected}");
    }
    for failure in &tally.failures {
        eprintln!("FAILED {failure}");
    }
    eprintln!(
        "{} of {} statements parse and print back; {} of {} expected syntax errors match; \
         {} cases ksqlDB rejects after parsing are rejected here already",
        tally.parsed,
        tally.statements,
        tally.errors_matched,
        tally.error_cases,
        tally.rejected_other.len()
    );
    assert!(
        tally.failures.is_empty(),
        "{} failures",
        tally.failures.len()
    );
}

#[test]
fn comments_are_stripped_outside_strings() {
    let text = "{\"a\": \"x // y\", // note\n \"b\": \"\\\"//\"}";
    let json: Value = serde_json::from_str(&strip_comments(text)).unwrap();
    assert_eq!(json["a"], "x // y");
    assert_eq!(json["b"], "\"//");
}
