//! A real single-node potok-broker on a free loopback port, for tests that talk to a live
//! cluster. It runs `target/debug/potok-broker` (build it first with
//! `cargo build -p potok-broker`) with `config/server.properties` and the overrides the
//! Python suite's `Broker` uses, in a temporary directory that goes away with it.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a broker gets to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Broker {
    pub bootstrap: String,
    _server: Server,
    _data: tempfile::TempDir,
}

impl Broker {
    pub fn start() -> Broker {
        let root = workspace_root();
        let binary = debug_binary("potok-broker", "potok-broker");
        let data = tempfile::tempdir().unwrap();
        let (port, metrics_port) = (free_port(), free_port());
        let listener = format!("PLAINTEXT://127.0.0.1:{port}");
        let overrides = [
            ("node.id", "1".to_string()),
            ("listeners", listener.clone()),
            ("advertised.listeners", listener),
            ("log.dirs", data.path().join("logs").display().to_string()),
            (
                "potok.metrics.listener",
                format!("127.0.0.1:{metrics_port}"),
            ),
        ];
        let server = Server::start(
            &binary,
            &root.join("config/server.properties"),
            &overrides,
            &data.path().join("broker.log"),
            format!("127.0.0.1:{port}"),
            START_TIMEOUT,
        );
        Broker {
            bootstrap: server.address.clone(),
            _server: server,
            _data: data,
        }
    }
}

/// A server process started with `--override`s and waited for until it listens; killed
/// when dropped.
pub struct Server {
    pub address: String,
    process: Child,
}

impl Server {
    pub fn start(
        binary: &Path,
        properties: &Path,
        overrides: &[(&str, String)],
        log: &Path,
        address: String,
        timeout: Duration,
    ) -> Server {
        let log = File::create(log).unwrap();
        let mut command = Command::new(binary);
        command.arg(properties);
        for (key, value) in overrides {
            command.arg("--override").arg(format!("{key}={value}"));
        }
        let process = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server { address, process };
        let deadline = Instant::now() + timeout;
        let name = binary.file_name().unwrap().to_string_lossy().into_owned();
        while TcpStream::connect(&server.address).is_err() {
            if let Some(exit) = server.process.try_wait().unwrap() {
                panic!("{name} exited before listening: {exit}");
            }
            assert!(Instant::now() < deadline, "{name} did not listen in time");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The workspace's root directory, where `config/` is.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/debug/<name>`, built by `cargo build -p <package>`.
pub fn debug_binary(name: &str, package: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let binary = target.join("debug").join(name);
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p {package}`",
        binary.display()
    );
    binary
}

/// A loopback port for a test server, nobody listening on it right now. Ports come from
/// below Linux's ephemeral range (32768-60999), so no outgoing connection of a concurrent
/// test takes one as its local port between this choice and the server's bind, and a
/// counter keeps them distinct within this process, whose tests start servers in parallel.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % SPAN;
    loop {
        let candidate = FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = candidate as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
