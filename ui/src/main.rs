//! `potok-ui`: the web console. `potok-ui [ui.properties] [--override key=value]...`
//! serves it (on :8282 by default); `potok-ui hash-password` prints the hash to put in
//! `auth.users.N.password`.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use potok_ui::config::UiConfig;

/// Many short-lived buffers per request and stream; mimalloc returns them to the system
/// where glibc's allocator kept them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Potok's web console.
#[derive(Parser)]
#[command(name = "potok-ui", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The console's properties file (clusters, listener, users).
    config: Option<PathBuf>,
    /// A property set on top of the file and environment, as key=value; may be repeated.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Reads a password from standard input and prints its Argon2id hash.
    HashPassword,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if let Some(Command::HashPassword) = args.command {
        return hash_password();
    }
    let config = match UiConfig::load(args.config.as_deref(), &args.overrides, std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("potok-ui: {error}");
            return ExitCode::from(2);
        }
    };
    match potok_ui::server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("potok-ui: {error}");
            ExitCode::FAILURE
        }
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim_end().is_empty() {
        eprintln!("potok-ui hash-password: give the password on standard input");
        return ExitCode::from(2);
    }
    match potok_ui::auth::password::hash(line.trim_end_matches(['\r', '\n'])) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("potok-ui hash-password: {error}");
            ExitCode::FAILURE
        }
    }
}
