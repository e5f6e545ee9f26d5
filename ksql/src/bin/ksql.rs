//! `ksql`: the command line for the ksql server, as ksqlDB's CLI.

use clap::Parser;

fn main() -> std::process::ExitCode {
    potok_ksql::cli::run(potok_ksql::cli::args::Args::parse())
}
