//! A real potok-ksql server on a free loopback port, against a [`Broker`]. It runs
//! `target/debug/potok-ksql` (build it first with `cargo build -p potok-ksql`) with
//! `config/ksql-server.properties`, the broker's address and a listener of its own, logging
//! into a temporary directory that goes away with it. A test includes it beside `support`
//! (`#[path = "support/ksql.rs"] mod ksql;`), so suites without ksql do not build it.

use std::time::Duration;

use crate::support::{debug_binary, free_port, workspace_root, Broker, Server};

/// How long a ksql server gets to replay its command topic and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct KsqlServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _server: Server,
    _logs: tempfile::TempDir,
}

impl KsqlServer {
    pub fn start(broker: &Broker) -> KsqlServer {
        let binary = debug_binary("potok-ksql", "potok-ksql");
        let logs = tempfile::tempdir().unwrap();
        let address = format!("127.0.0.1:{}", free_port());
        let overrides = [
            ("listeners", format!("http://{address}")),
            ("bootstrap.servers", broker.bootstrap.clone()),
        ];
        // The server listens only once its command topic is replayed, so listening means ready.
        let server = Server::start(
            &binary,
            &workspace_root().join("config/ksql-server.properties"),
            &overrides,
            &logs.path().join("ksql.log"),
            address,
            START_TIMEOUT,
        );
        KsqlServer {
            url: format!("http://{}", server.address),
            _server: server,
            _logs: logs,
        }
    }
}
