//! The command line, with ksqlDB CLI's flags: `ksql [server] [--file f | --execute sql]
//! [--output TABULAR|JSON] [--query-row-limit n] [--query-timeout ms]`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// ksqlDB CLI's default server address.
pub const DEFAULT_SERVER: &str = "http://localhost:8088";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum OutputFormat {
    Tabular,
    Json,
}

/// The ksql command line: statements for a ksqlDB-compatible server, typed or scripted.
#[derive(Debug, Parser)]
#[command(name = "ksql", version)]
pub struct Args {
    /// The address of the ksql server.
    #[arg(default_value = DEFAULT_SERVER)]
    pub server: String,

    /// Runs the statements in this file, then exits.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        conflicts_with = "execute"
    )]
    pub file: Option<PathBuf>,

    /// Runs these statements, then exits.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    pub execute: Option<String>,

    /// How results are printed.
    #[arg(long, value_enum, ignore_case = true, default_value = "TABULAR")]
    pub output: OutputFormat,

    /// Stops a streamed query after this many rows.
    #[arg(long = "query-row-limit", value_name = "ROWS")]
    pub query_row_limit: Option<u64>,

    /// Stops a streamed query after this many milliseconds.
    #[arg(long = "query-timeout", value_name = "MS")]
    pub query_timeout: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ksqldb_cli_flags() {
        let args = Args::try_parse_from(["ksql"]).unwrap();
        assert_eq!(args.server, DEFAULT_SERVER);
        assert_eq!(args.output, OutputFormat::Tabular);
        let args = Args::try_parse_from([
            "ksql",
            "http://ksql:8088",
            "-e",
            "SHOW STREAMS;",
            "--output",
            "json",
            "--query-row-limit",
            "5",
        ])
        .unwrap();
        assert_eq!(args.server, "http://ksql:8088");
        assert_eq!(args.execute.as_deref(), Some("SHOW STREAMS;"));
        assert_eq!(args.output, OutputFormat::Json);
        assert_eq!(args.query_row_limit, Some(5));
        assert!(Args::try_parse_from(["ksql", "-f", "a.sql", "-e", "SHOW STREAMS;"]).is_err());
    }
}
