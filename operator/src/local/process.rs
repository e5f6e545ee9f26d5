//! The node processes of a local cluster: started in their own process groups (so Ctrl-C
//! reaches the operator alone and it decides the stopping order), logging to files, and
//! stopped with SIGTERM, then SIGKILL if they hang.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use super::plan::{NodePlan, Role};

/// How long a node gets to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

struct Running {
    node: NodePlan,
    child: Child,
}

pub struct Supervisor {
    binary: PathBuf,
    running: Vec<Running>,
}

impl Supervisor {
    pub fn new(binary: &Path) -> Supervisor {
        Supervisor {
            binary: binary.to_path_buf(),
            running: Vec::new(),
        }
    }

    pub fn start(&mut self, node: &NodePlan) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log_file)
            .with_context(|| format!("cannot open {}", node.log_file.display()))?;
        let child = Command::new(&self.binary)
            .arg(&node.properties_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} ({}); build it with `cargo build --bins` or pass --broker-bin",
                    node.name,
                    self.binary.display()
                )
            })?;
        self.running.push(Running {
            node: node.clone(),
            child,
        });
        Ok(())
    }

    /// Waits until every node accepts connections; fails when one exits or time runs out.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        for index in 0..self.running.len() {
            loop {
                if let Some(status) = self.running[index].child.try_wait()? {
                    return Err(exited(&self.running[index].node, status));
                }
                let address = self.running[index].node.address.clone();
                if tokio::net::TcpStream::connect(&address).await.is_ok() {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    let node = &self.running[index].node;
                    anyhow::bail!(
                        "{} did not accept connections on {} within {}s; see {}",
                        node.name,
                        node.address,
                        timeout.as_secs(),
                        node.log_file.display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Resolves when any node exits, describing which and where its log is.
    pub async fn any_exit(&mut self) -> anyhow::Error {
        loop {
            for running in &mut self.running {
                if let Ok(Some(status)) = running.child.try_wait() {
                    return exited(&running.node, status);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops brokers, then coordinators: each group is sent SIGTERM together, then waited for.
    pub async fn stop_all(&mut self) {
        for role in [Role::Broker, Role::Coordinator] {
            for running in self.running.iter().filter(|r| r.node.role == role) {
                if let Some(pid) = running.child.id() {
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                }
            }
            for running in self.running.iter_mut().filter(|r| r.node.role == role) {
                wait_or_kill(running).await;
            }
        }
    }
}

async fn wait_or_kill(running: &mut Running) {
    if tokio::time::timeout(STOP_TIMEOUT, running.child.wait())
        .await
        .is_err()
    {
        eprintln!(
            "{} did not stop within {}s; killing it",
            running.node.name,
            STOP_TIMEOUT.as_secs()
        );
        let _ = running.child.kill().await;
    }
}

fn exited(node: &NodePlan, status: std::process::ExitStatus) -> anyhow::Error {
    let tail = std::fs::read_to_string(&node.log_file)
        .map(|text| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(10)..].join("\n")
        })
        .unwrap_or_default();
    anyhow::anyhow!(
        "{} exited ({status}); its log is {}:\n{tail}",
        node.name,
        node.log_file.display()
    )
}

/// One `up` per data directory: a second one would fight the first over ports and files.
pub struct DataDirLock {
    path: PathBuf,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = data_dir.join("potok-operator.pid");
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                if pid != std::process::id() as i32 && kill(Pid::from_raw(pid), None).is_ok() {
                    anyhow::bail!(
                        "a cluster is already running from {} (potok-operator pid {pid}); stop it first",
                        data_dir.display()
                    );
                }
            }
        }
        std::fs::write(&path, std::process::id().to_string())?;
        Ok(DataDirLock { path })
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
