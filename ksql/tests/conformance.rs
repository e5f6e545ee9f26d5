//! ksqlDB's own query-validation cases, run from the directory named by `KSQLDB_QTT_DIR`
//! (its `qtt/` files). Prints, per file, the cases passed, failed (with the first
//! difference) and skipped (with the reason), then a total. Fails when a case crashes, or
//! when a file of the conformance bar has a failing case. Skipped when the variable is
//! unset or the directory missing. `KSQLDB_QTT_ONLY=sum,count` runs only those files and
//! prints every failure, not just the first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use potok_ksql::conformance::case::parse_case_file;
use potok_ksql::conformance::rest_run::run_rest;
use potok_ksql::conformance::run::{run, Verdict};

/// Files every case of which (in the supported formats) must pass.
const BAR: &[&str] = &[
    "average",
    "count",
    "hopping-windows",
    "project-filter",
    "push-queries",
    "row-offset-and-partition",
    "source-stream",
    "sum",
    "table",
    "tumbling-windows",
    "where",
];

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
    crashed: usize,
}

/// The case files of `qtt/` then `rqtt/`, each sorted.
fn case_files(directory: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for kind in ["qtt", "rqtt"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(directory.join(kind))
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|path| path.extension().is_some_and(|e| e == "json"));
        files.sort();
        all.extend(files);
    }
    all
}

/// Whether `path` holds REST cases.
fn is_rest(path: &Path) -> bool {
    path.parent()
        .and_then(|p| p.file_name())
        .is_some_and(|name| name == "rqtt")
}

fn run_file(path: &Path, total: &mut Tally, every_failure: bool) -> Tally {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tally = Tally::default();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            println!("{name}: cannot read: {error}");
            tally.failed += 1;
            return tally;
        }
    };
    let cases = match parse_case_file(&text) {
        Ok(cases) => cases,
        Err(error) => {
            println!("{name}: cannot parse: {error}");
            tally.failed += 1;
            return tally;
        }
    };
    let mut first_failure: Option<String> = None;
    let mut skip_reasons: Vec<String> = Vec::new();
    for case in &cases {
        let rest = is_rest(path);
        match std::panic::catch_unwind(|| if rest { run_rest(case) } else { run(case) }) {
            Ok(Verdict::Passed) => tally.passed += 1,
            Ok(Verdict::Failed(difference)) => {
                tally.failed += 1;
                if every_failure {
                    println!("    {}: {difference}", case.name);
                }
                first_failure.get_or_insert_with(|| format!("{}: {difference}", case.name));
            }
            Ok(Verdict::Skipped(reason)) => {
                tally.skipped += 1;
                if !skip_reasons.contains(&reason) {
                    skip_reasons.push(reason);
                }
            }
            Err(_) => {
                tally.crashed += 1;
                first_failure.get_or_insert_with(|| format!("{}: CRASHED", case.name));
            }
        }
    }
    println!(
        "{name}: {} passed, {} failed, {} skipped{}",
        tally.passed,
        tally.failed + tally.crashed,
        tally.skipped,
        if skip_reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", skip_reasons.join("; "))
        }
    );
    if let Some(failure) = first_failure {
        println!("    first failure: {failure}");
    }
    total.passed += tally.passed;
    total.failed += tally.failed;
    total.skipped += tally.skipped;
    total.crashed += tally.crashed;
    tally
}

fn main() -> ExitCode {
    let Some(directory) = std::env::var_os("KSQLDB_QTT_DIR").map(PathBuf::from) else {
        println!("conformance: skipped, KSQLDB_QTT_DIR is not set");
        return ExitCode::SUCCESS;
    };
    if !directory.is_dir() {
        println!(
            "conformance: skipped, {} is not a directory",
            directory.display()
        );
        return ExitCode::SUCCESS;
    }
    let mut total = Tally::default();
    let mut bar_failures = Vec::new();
    let only: Vec<String> = std::env::var("KSQLDB_QTT_ONLY")
        .map(|list| list.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    for path in case_files(&directory) {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let tally = run_file(&path, &mut total, !only.is_empty());
        if BAR.contains(&name.as_str()) && tally.failed + tally.crashed > 0 {
            bar_failures.push(name);
        }
    }
    println!(
        "total: {} passed, {} failed, {} skipped, {} crashed",
        total.passed, total.failed, total.skipped, total.crashed
    );
    if total.crashed > 0 || !bar_failures.is_empty() {
        println!(
            "conformance bar not met: crashed {}, failing files {bar_failures:?}",
            total.crashed
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
