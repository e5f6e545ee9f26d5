//! A stand-in ksql server for the KsqlStream reconciler's tests: it runs no sources, accepts
//! every statement and answers `POST /ksql` with the entities ksqlDB would, recording the
//! statements it was sent. The real server's behaviour is covered by the reconcile core's
//! own tests (`operator/tests/ksql_stream_reconcile.rs`); this one only lets the
//! Kubernetes side be followed through a successful reconcile without a broker.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// What `SHOW STREAMS; SHOW TABLES; SHOW QUERIES;` answers on an empty server.
fn empty_listings() -> Value {
    json!([
        { "@type": "streams", "streams": [] },
        { "@type": "tables", "tables": [] },
        { "@type": "queries", "queries": [] },
    ])
}

/// What a CREATE STREAM without AS SELECT answers once it ran.
fn created() -> Value {
    json!([{
        "@type": "currentStatus",
        "commandStatus": { "status": "SUCCESS", "message": "Stream created" },
    }])
}

pub struct FakeKsql {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The `ksql` field of every request, in order.
    pub statements: Arc<Mutex<Vec<String>>>,
}

impl FakeKsql {
    /// Listens on a free loopback port until the test process ends.
    pub fn start() -> FakeKsql {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let statements = Arc::new(Mutex::new(Vec::new()));
        let recorded = statements.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                answer(stream.unwrap(), &recorded);
            }
        });
        FakeKsql { url, statements }
    }
}

/// Reads one request and answers it, closing the connection.
fn answer(stream: TcpStream, recorded: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let request: Value = serde_json::from_slice(&body).unwrap();
    let statement = request["ksql"].as_str().unwrap_or_default().to_owned();
    let entities = if statement.starts_with("SHOW STREAMS") {
        empty_listings()
    } else {
        created()
    };
    recorded.lock().unwrap().push(statement);
    let body = entities.to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    reader.into_inner().write_all(response.as_bytes()).unwrap();
}
