//! A real potok-ksql server on a free loopback port, against a [`Broker`]. It runs
//! `target/debug/potok-ksql` (build it first with `cargo build -p potok-ksql`) with
//! `config/ksql-server.properties`, the broker's address and a listener of its own, logging
//! into a temporary directory that goes away with it. A test includes it beside `support`
//! (`#[path = "support/ksql.rs"] mod ksql;`), so suites without ksql do not build it.

use std::fs::File;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{debug_binary, free_port, workspace_root, Broker};

/// How long a ksql server gets to replay its command topic and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct KsqlServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    address: String,
    process: Child,
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
        let log = File::create(logs.path().join("ksql.log")).unwrap();
        let mut command = Command::new(&binary);
        command.arg(workspace_root().join("config/ksql-server.properties"));
        for (key, value) in overrides {
            command.arg("--override").arg(format!("{key}={value}"));
        }
        let process = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = KsqlServer {
            url: format!("http://{address}"),
            address,
            process,
            _logs: logs,
        };
        server.wait_until_listening();
        server
    }

    /// The server listens only once its command topic is replayed, so listening means ready.
    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&self.address).is_err() {
            if let Some(exit) = self.process.try_wait().unwrap() {
                panic!("potok-ksql exited before listening: {exit}");
            }
            assert!(
                Instant::now() < deadline,
                "potok-ksql did not listen in time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for KsqlServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
