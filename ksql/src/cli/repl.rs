//! The interactive session: the banner, the `ksql> ` prompt with line editing and history
//! kept in `~/.ksql-history`, statements gathered over lines, and the CLI's own commands
//! (`help`, `clear`, `exit`).

use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;

use super::session::Session;
use super::statement_reader::StatementReader;

const PROMPT: &str = "ksql> ";
const CONTINUATION_PROMPT: &str = ">";

const LOGO: &str = r"
                   _              _
   _ __     ___   | |_     ___   | | __
  | '_ \   / _ \  | __|   / _ \  | |/ /
  | |_) | | (_) | | |_   | (_) | |   <
  | .__/   \___/   \__|   \___/  |_|\_\
  |_|        ksql: streaming SQL on Kafka
";

const HELP_HINT: &str =
    "Having trouble? Type 'help' (case-insensitive) for a rundown of how things work!";

const HELP: &str = "
Statements end with a semicolon and may span several lines; a line may hold several.

  CREATE STREAM s (name VARCHAR, amount INT) WITH (kafka_topic='s', value_format='json');
  CREATE TABLE t AS SELECT name, SUM(amount) AS total FROM s GROUP BY name EMIT CHANGES;
  SELECT * FROM s EMIT CHANGES;      push query: rows as they arrive, Ctrl-C stops it
  SELECT * FROM t WHERE name='Bob';  pull query: the table's current rows
  SHOW STREAMS; SHOW TABLES; SHOW QUERIES; SHOW TOPICS; SHOW PROPERTIES;
  DESCRIBE s; DROP STREAM s; TERMINATE <query id>;
  SET 'auto.offset.reset'='earliest';   a property for the statements after it
  UNSET 'auto.offset.reset';

CLI commands (no semicolon needed):
  help     this text
  clear    clears the screen
  exit     leaves the CLI (so do 'quit' and Ctrl-D)
";

/// The banner: logo, versions, server status and the hint about `help`.
pub fn banner(session: &Session) -> String {
    let (server_version, status) = match session.client.info() {
        Ok(info) => (info.version, info.status),
        Err(_) => ("<unknown>".into(), "<unknown>".into()),
    };
    format!(
        "{LOGO}\nCLI v{}, Server v{server_version} located at {}\nServer Status: {status}\n\n{HELP_HINT}\n\n",
        env!("CARGO_PKG_VERSION"),
        session.client.url(),
    )
}

/// The CLI's own commands, typed alone on a line.
enum LocalCommand {
    Help,
    Clear,
    Exit,
}

fn local_command(line: &str) -> Option<LocalCommand> {
    let word = line
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_ascii_lowercase();
    match word.as_str() {
        "help" => Some(LocalCommand::Help),
        "clear" => Some(LocalCommand::Clear),
        "exit" | "quit" => Some(LocalCommand::Exit),
        _ => None,
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".ksql-history"))
}

/// Reads and runs statements until `exit` or Ctrl-D.
pub fn run(session: &mut Session) {
    print!("{}", banner(session));
    let mut editor: Editor<(), FileHistory> = match Editor::new() {
        Ok(editor) => editor,
        Err(error) => {
            eprintln!("Cannot read from the terminal: {error}");
            return;
        }
    };
    let history = history_path();
    if let Some(path) = &history {
        // A missing or unreadable history only means starting without one.
        let _ = editor.load_history(path);
    }
    let mut reader = StatementReader::default();
    let mut typed = Vec::new();
    loop {
        let prompt = if reader.is_continuing() {
            CONTINUATION_PROMPT
        } else {
            PROMPT
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                reader.clear();
                typed.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => {
                eprintln!("Cannot read from the terminal: {error}");
                break;
            }
        };
        if !reader.is_continuing() {
            match local_command(&line) {
                Some(LocalCommand::Exit) => break,
                Some(LocalCommand::Help) => {
                    print!("{HELP}");
                    continue;
                }
                Some(LocalCommand::Clear) => {
                    print!("\x1b[2J\x1b[H");
                    continue;
                }
                None => {}
            }
        }
        typed.push(line.clone());
        let statements = reader.push_line(&line);
        if !reader.is_continuing() {
            let entry = typed.join("\n");
            if !entry.trim().is_empty() {
                let _ = editor.add_history_entry(entry.trim());
            }
            typed.clear();
        }
        session.run(&statements);
    }
    if let Some(path) = &history {
        // Not being able to save history must not spoil leaving the CLI.
        let _ = editor.save_history(path);
    }
    println!("Exiting ksql.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_commands_ignore_case_and_semicolons() {
        assert!(matches!(local_command("HELP"), Some(LocalCommand::Help)));
        assert!(matches!(local_command(" exit; "), Some(LocalCommand::Exit)));
        assert!(matches!(local_command("Quit"), Some(LocalCommand::Exit)));
        assert!(local_command("SHOW STREAMS;").is_none());
    }

    #[test]
    fn the_logo_is_our_own_and_fits_the_hint_line() {
        assert!(LOGO.contains("ksql: streaming SQL on Kafka"));
        assert!(LOGO.lines().all(|line| line.len() <= HELP_HINT.len()));
    }
}
