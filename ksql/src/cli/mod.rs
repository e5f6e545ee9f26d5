//! The `ksql` command line, as ksqlDB's CLI: an interactive prompt, or a script with
//! `--file` / `--execute`, talking to the server's REST API.
//!
//! - `args`: the command line's flags.
//! - `client`: HTTP requests to `/info`, `/ksql`, `/query` and `/close-query`.
//! - `statement_reader`: typed lines gathered into whole statements.
//! - `session`: each statement sent where it belongs, SET/UNSET kept, answers printed.
//! - `http_stream`: streamed answers on a connection the CLI can cut.
//! - `query_stream`: `/query`'s streamed JSON array read element by element.
//! - `table`, `entities`: listings and statuses drawn as ksqlDB's tables.
//! - `results`: query rows drawn as they stream.
//! - `repl`: the prompt, history and the CLI's own commands.
//! - `terminal`: the terminal's width and Ctrl-C during queries.

pub mod args;
pub mod client;
pub mod entities;
pub mod http_stream;
pub mod query_stream;
pub mod repl;
pub mod results;
pub mod session;
pub mod statement_reader;
pub mod table;
pub mod terminal;

use std::process::ExitCode;
use std::time::Duration;

use args::Args;
use client::RestClient;
use session::{QueryLimits, Session};
use statement_reader::complete_statements;

/// Runs the CLI; the exit status is a failure when a scripted statement failed or the
/// server could not be reached.
pub fn run(args: Args) -> ExitCode {
    let scripted = args.file.is_some() || args.execute.is_some();
    terminal::handle_interrupts(!scripted);
    let limits = QueryLimits {
        rows: args.query_row_limit,
        timeout: args.query_timeout.map(Duration::from_millis),
    };
    let mut session = Session::new(RestClient::new(&args.server), args.output, limits);
    if let Err(error) = session.client.info() {
        eprintln!("{error}");
        return ExitCode::FAILURE;
    }
    let script = match (&args.file, &args.execute) {
        (Some(path), _) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("Cannot read {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
        (None, Some(sql)) => sql.clone(),
        (None, None) => {
            repl::run(&mut session);
            return ExitCode::SUCCESS;
        }
    };
    let (mut statements, rest) = complete_statements(&script);
    // The last statement of a script may leave out its semicolon.
    if !rest.is_empty() {
        statements.push(format!("{rest};"));
    }
    if session.run(&statements) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
