//! A CLI session: statements sent where ksqlDB's CLI sends them and their answers printed.
//! SELECT and PRINT stream from `/query` until they end or Ctrl-C cuts them off; SET and UNSET change the session's properties,
//! which go with every request (the server keeps no session, as in ksqlDB); runs of other
//! statements go to `/ksql` together.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::parser::ast::Statement;
use crate::parser::parse;

use super::args::OutputFormat;
use super::client::{ClientError, RestClient};
use super::entities::{pretty, render_entities};
use super::query_stream::{event, ArrayElements, QueryEvent};
use super::results::{ResultLayout, DEFAULT_WIDTH};
use super::terminal::{self, QueryGuard};

/// How often a streaming query checks for Ctrl-C and its timeout.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Limits given on the command line for streamed queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryLimits {
    pub rows: Option<u64>,
    pub timeout: Option<Duration>,
}

pub struct Session {
    pub client: RestClient,
    pub output: OutputFormat,
    pub limits: QueryLimits,
    properties: BTreeMap<String, String>,
}

/// What a statement is, for the CLI: where it goes.
enum Kind {
    Query,
    Print,
    Set { name: String, value: String },
    Unset { name: String },
    Other,
}

fn kind_of(statement: &str) -> Kind {
    match parse(statement).as_deref() {
        Ok([Statement::Query(_)]) => Kind::Query,
        Ok([Statement::Print(_)]) => Kind::Print,
        Ok([Statement::SetProperty { name, value }]) => Kind::Set {
            name: name.clone(),
            value: value.clone(),
        },
        Ok([Statement::UnsetProperty { name }]) => Kind::Unset { name: name.clone() },
        // Statements that do not parse go to the server, which explains what is wrong.
        _ => Kind::Other,
    }
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn print_error(message: &str) {
    let _ = std::io::stdout().flush();
    eprintln!("{message}");
}

impl Session {
    pub fn new(client: RestClient, output: OutputFormat, limits: QueryLimits) -> Session {
        Session {
            client,
            output,
            limits,
            properties: BTreeMap::new(),
        }
    }

    /// Runs complete statements in order, stopping at the first that fails; false then.
    pub fn run<S: AsRef<str>>(&mut self, statements: &[S]) -> bool {
        let mut batch = String::new();
        for statement in statements {
            let statement = statement.as_ref();
            let kind = kind_of(statement);
            if matches!(kind, Kind::Other) {
                if !batch.is_empty() {
                    batch.push('\n');
                }
                batch.push_str(statement);
                continue;
            }
            if !self.flush(&mut batch) {
                return false;
            }
            let succeeded = match kind {
                Kind::Query => self.query(statement, false),
                Kind::Print => self.query(statement, true),
                Kind::Set { name, value } => self.set(name, value),
                Kind::Unset { name } => self.unset(&name),
                Kind::Other => unreachable!("batched above"),
            };
            if !succeeded {
                return false;
            }
        }
        self.flush(&mut batch)
    }

    /// Sends the batched statements to `/ksql`.
    fn flush(&mut self, batch: &mut String) -> bool {
        if batch.is_empty() {
            return true;
        }
        let sql = std::mem::take(batch);
        match self.client.ksql(&sql, &self.properties) {
            Ok(entities) => {
                self.print_entities(&entities);
                true
            }
            Err(ClientError::Refused(error)) => {
                self.print_entities(&error.entities);
                print_error(&error.message);
                false
            }
            Err(unreachable) => {
                print_error(&unreachable.to_string());
                false
            }
        }
    }

    fn print_entities(&self, entities: &[Value]) {
        if entities.is_empty() {
            return;
        }
        match self.output {
            OutputFormat::Tabular => print(&render_entities(entities, terminal::width())),
            OutputFormat::Json => print(&format!("{}\n", pretty(&Value::from(entities)))),
        }
    }

    fn set(&mut self, name: String, value: String) -> bool {
        let message = match self.properties.insert(name.clone(), value.clone()) {
            Some(prior) => {
                format!("Successfully changed local property '{name}' from '{prior}' to '{value}'.\n")
            }
            None => format!(
                "Successfully changed local property '{name}' to '{value}'. Use the UNSET command to revert your change.\n"
            ),
        };
        print(&message);
        true
    }

    fn unset(&mut self, name: &str) -> bool {
        match self.properties.remove(name) {
            Some(prior) => {
                print(&format!(
                    "Successfully unset local property '{name}' (value was '{prior}').\n"
                ));
                true
            }
            None => {
                print_error(&format!(
                    "Cannot unset local property '{name}' which was never set in the first place"
                ));
                false
            }
        }
    }

    /// Streams a query's answer (or PRINT's lines) until it ends, its row limit or
    /// timeout, or Ctrl-C.
    fn query(&mut self, statement: &str, printing_topic: bool) -> bool {
        let guard = QueryGuard::start();
        let answer = match self.client.query(statement, &self.properties) {
            Ok(answer) => answer,
            Err(error) => {
                print_error(&error.to_string());
                return false;
            }
        };
        // The answer is read on its own thread so this one can watch for Ctrl-C; cutting
        // the connection ends that thread.
        let received = if printing_topic {
            read_lines(answer.body)
        } else {
            read_events(answer.body)
        };
        let mut printer = ResultPrinter::new(self.output);
        let started = Instant::now();
        let mut succeeded = true;
        loop {
            if guard.interrupted() || self.limits.timeout.is_some_and(|t| started.elapsed() >= t) {
                break;
            }
            match received.recv_timeout(POLL_INTERVAL) {
                Ok(Ok(Streamed::Event(event))) => {
                    if let QueryEvent::Error(message) = &event {
                        print_error(message);
                        succeeded = false;
                    }
                    printer.print(&event);
                    if self.limits.rows.is_some_and(|limit| printer.rows >= limit) {
                        break;
                    }
                }
                Ok(Ok(Streamed::Line(line))) => print(&format!("{line}\n")),
                Ok(Err(error)) => {
                    print_error(&format!("Error reading the query's results: {error}"));
                    succeeded = false;
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        answer.cut.cut();
        if let Some(query_id) = printer.query_id.as_deref() {
            // The server ends a push query when its client leaves; closing it by id as
            // well makes sure. A query that already ended is gone, and the server saying
            // so does not matter.
            let _ = self.client.close_query(query_id);
        }
        print(if printing_topic {
            "Topic printing ceased\n"
        } else {
            "Query terminated\n"
        });
        succeeded
    }
}

/// What the reading thread hands over: an element of a query's answer, or a PRINT line.
enum Streamed {
    Event(QueryEvent),
    Line(String),
}

type Received = mpsc::Receiver<Result<Streamed, String>>;

/// Reads a query's streamed JSON array on a thread of its own.
fn read_events(body: impl Read + Send + 'static) -> Received {
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for element in ArrayElements::new(body) {
            let message = match element {
                Ok(element) => match event(&element) {
                    Some(event) => Ok(Streamed::Event(event)),
                    None => continue,
                },
                Err(error) => Err(error.to_string()),
            };
            let failed = message.is_err();
            if sender.send(message).is_err() || failed {
                return;
            }
        }
    });
    received
}

/// Reads PRINT's text lines on a thread of its own; blank lines are left out.
fn read_lines(body: impl BufRead + Send + 'static) -> Received {
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in body.lines() {
            // A cut connection ends the lines; that is how PRINT stops.
            let Ok(line) = line else { return };
            if !line.is_empty() && sender.send(Ok(Streamed::Line(line))).is_err() {
                return;
            }
        }
    });
    received
}

/// Prints a query's answer as it arrives.
struct ResultPrinter {
    output: OutputFormat,
    layout: Option<ResultLayout>,
    query_id: Option<String>,
    rows: u64,
}

impl ResultPrinter {
    fn new(output: OutputFormat) -> ResultPrinter {
        ResultPrinter {
            output,
            layout: None,
            query_id: None,
            rows: 0,
        }
    }

    fn print(&mut self, event: &QueryEvent) {
        match event {
            QueryEvent::Header { query_id, columns } => {
                self.query_id = Some(query_id.clone()).filter(|id| !id.is_empty());
                let width = terminal::width().unwrap_or(DEFAULT_WIDTH);
                let layout = ResultLayout::new(width, columns.len());
                if self.output == OutputFormat::Tabular {
                    print(&layout.header(columns));
                } else {
                    print(&format!(
                        "{}\n",
                        pretty(&serde_json::json!({ "queryId": query_id, "columns": columns }))
                    ));
                }
                self.layout = Some(layout);
            }
            QueryEvent::Row { columns, tombstone } => {
                self.rows += 1;
                match (&self.layout, self.output) {
                    (Some(layout), OutputFormat::Tabular) => {
                        print(&layout.row(columns, *tombstone))
                    }
                    _ => print(&format!("{}\n", Value::Array(columns.clone()))),
                }
            }
            QueryEvent::Final(message) => print(&format!("{message}\n")),
            QueryEvent::Error(_) => {}
        }
    }
}
