//! The node processes of a local cluster: started in their own process groups (so Ctrl-C
//! reaches the operator alone and it decides the stopping order), logging to files,
//! restarted when they die (as Kubernetes restarts a pod, with a growing pause while one
//! keeps failing; the others run on), and stopped with SIGTERM, then SIGKILL if they hang.

use std::fs::OpenOptions;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::plan::{NodePlan, Role};
use super::restart::RestartPolicy;

/// How long a node gets to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the supervisor looks for nodes that exited or are due to start again.
const CHECK_INTERVAL: Duration = Duration::from_millis(200);
/// How much of a failed node's log is shown, to say why it failed.
const LOG_TAIL_LINES: usize = 10;
const LOG_TAIL_BYTES: u64 = 64 * 1024;

/// A node the supervisor keeps running.
struct Supervised {
    node: NodePlan,
    state: NodeState,
    restarts: RestartPolicy,
}

enum NodeState {
    Running {
        child: Child,
        started: Instant,
    },
    /// Exited; started again at `restart_at`.
    Waiting {
        restart_at: Instant,
    },
    /// Stopped on purpose, for a restart or for good.
    Stopped,
}

/// The programs nodes run.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub broker: PathBuf,
    pub ksql: PathBuf,
    pub ui: PathBuf,
}

/// A change to the node set, asked of the supervisor while it runs; answered once the
/// node's process is started (or stopped).
pub enum NodeCommand {
    /// Stops the node (SIGTERM, then SIGKILL if it hangs) and starts it with `node`'s
    /// properties, which the caller has written.
    Restart {
        node: NodePlan,
        done: oneshot::Sender<anyhow::Result<()>>,
    },
    /// Starts a node that was not running.
    Start {
        node: NodePlan,
        done: oneshot::Sender<anyhow::Result<()>>,
    },
    /// Stops the node for good.
    Remove {
        name: String,
        done: oneshot::Sender<anyhow::Result<()>>,
    },
}

pub struct Supervisor {
    binaries: Binaries,
    /// The restart pauses every node starts with.
    restarts: RestartPolicy,
    nodes: Vec<Supervised>,
}

impl Supervisor {
    pub fn new(binaries: Binaries, restarts: RestartPolicy) -> Supervisor {
        Supervisor {
            binaries,
            restarts,
            nodes: Vec::new(),
        }
    }

    pub fn start(&mut self, node: &NodePlan) -> anyhow::Result<()> {
        let child = spawn(&self.binaries, node)?;
        self.nodes.push(Supervised {
            node: node.clone(),
            state: NodeState::Running {
                child,
                started: Instant::now(),
            },
            restarts: self.restarts.clone(),
        });
        Ok(())
    }

    /// Waits until every node accepts connections; fails when one exits or time runs out.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        for supervised in &mut self.nodes {
            let node = &supervised.node;
            let NodeState::Running { child, .. } = &mut supervised.state else {
                anyhow::bail!("{} is not running", node.name);
            };
            loop {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!(
                        "{} exited ({status}); its log is {}:\n{}",
                        node.name,
                        node.log_file.display(),
                        log_tail(&node.log_file).join("\n")
                    );
                }
                if tokio::net::TcpStream::connect(&node.address).await.is_ok() {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
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

    /// Restarts nodes that exit, each after its own growing pause, and carries out
    /// `commands`, until `stop` resolves. A node that keeps failing is reported each time and
    /// retried ever more slowly; the others keep running.
    pub async fn supervise_until(
        &mut self,
        stop: impl Future<Output = ()>,
        mut commands: mpsc::Receiver<NodeCommand>,
    ) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                Some(command) = commands.recv() => self.carry_out(command).await,
                () = tokio::time::sleep(CHECK_INTERVAL) => {}
            }
            for supervised in &mut self.nodes {
                supervised.check(&self.binaries, Instant::now());
            }
        }
    }

    async fn carry_out(&mut self, command: NodeCommand) {
        match command {
            NodeCommand::Restart { node, done } => {
                let _ = done.send(self.restart(node).await);
            }
            NodeCommand::Start { node, done } => {
                let _ = done.send(self.start(&node));
            }
            NodeCommand::Remove { name, done } => {
                let outcome = match self.nodes.iter().position(|s| s.node.name == name) {
                    Some(index) => {
                        let mut removed = self.nodes.remove(index);
                        removed.stop().await;
                        Ok(())
                    }
                    None => Err(anyhow::anyhow!("{name} is not a node of this cluster")),
                };
                let _ = done.send(outcome);
            }
        }
    }

    /// Stops `node`'s process and starts it again as `node` now says.
    async fn restart(&mut self, node: NodePlan) -> anyhow::Result<()> {
        let supervised = self
            .nodes
            .iter_mut()
            .find(|s| s.node.name == node.name)
            .ok_or_else(|| anyhow::anyhow!("{} is not a node of this cluster", node.name))?;
        supervised.stop().await;
        let child = spawn(&self.binaries, &node)?;
        supervised.node = node;
        supervised.state = NodeState::Running {
            child,
            started: Instant::now(),
        };
        Ok(())
    }

    /// Stops the console, the ksql server, brokers, then coordinators: each group is sent
    /// SIGTERM together, then waited for. Nodes waiting to be restarted stay stopped.
    pub async fn stop_all(&mut self) {
        for role in [Role::Ui, Role::Ksql, Role::Broker, Role::Coordinator] {
            for supervised in self.nodes.iter().filter(|s| s.node.role == role) {
                if let NodeState::Running { child, .. } = &supervised.state {
                    if let Some(pid) = child.id() {
                        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                    }
                }
            }
            for supervised in self.nodes.iter_mut().filter(|s| s.node.role == role) {
                if let NodeState::Running { child, .. } = &mut supervised.state {
                    wait_or_kill(&supervised.node, child).await;
                }
            }
        }
    }
}

impl Supervised {
    /// SIGTERM, then SIGKILL if it hangs; a node waiting to restart just stays stopped.
    async fn stop(&mut self) {
        if let NodeState::Running { child, .. } = &mut self.state {
            if let Some(pid) = child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
            wait_or_kill(&self.node, child).await;
        }
        self.state = NodeState::Stopped;
    }

    /// Notices that the node exited (saying which, how and why, and when it starts again)
    /// or starts it again when its pause is over.
    fn check(&mut self, binaries: &Binaries, now: Instant) {
        match &mut self.state {
            NodeState::Running { child, started } => {
                let status = match child.try_wait() {
                    Ok(Some(status)) => status,
                    Ok(None) => return,
                    Err(error) => {
                        eprintln!("cannot tell whether {} is running: {error}", self.node.name);
                        return;
                    }
                };
                let delay = self.restarts.next_delay(*started, now);
                eprintln!("{}", self.exit_report(status, delay));
                self.state = NodeState::Waiting {
                    restart_at: now + delay,
                };
            }
            NodeState::Waiting { restart_at } if now >= *restart_at => {
                match spawn(binaries, &self.node) {
                    Ok(child) => {
                        eprintln!("{} started again", self.node.name);
                        self.state = NodeState::Running {
                            child,
                            started: now,
                        };
                    }
                    Err(error) => {
                        let delay = self.restarts.next_delay(now, now);
                        eprintln!("{error:#}; trying again in {}s", delay.as_secs());
                        self.state = NodeState::Waiting {
                            restart_at: now + delay,
                        };
                    }
                }
            }
            NodeState::Waiting { .. } | NodeState::Stopped => {}
        }
    }

    /// Which node exited, how, what its log said last, and when it starts again.
    fn exit_report(&self, status: ExitStatus, delay: Duration) -> String {
        let node = &self.node;
        let mut report = format!(
            "{} exited ({status}); restarting it in {}s (failure {} in a row; log: {})",
            node.name,
            delay.as_secs(),
            self.restarts.failures_in_a_row(),
            node.log_file.display()
        );
        let tail = log_tail(&node.log_file);
        if !tail.is_empty() {
            report.push_str(&format!("\n  last lines of {}:", node.name));
            for line in tail {
                report.push_str("\n  | ");
                report.push_str(line.trim_end());
            }
        }
        report
    }
}

fn spawn(binaries: &Binaries, node: &NodePlan) -> anyhow::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&node.log_file)
        .with_context(|| format!("cannot open {}", node.log_file.display()))?;
    let (binary, flag) = match node.role {
        Role::Ksql => (&binaries.ksql, "--ksql-bin"),
        Role::Ui => (&binaries.ui, "--ui-bin"),
        Role::Broker | Role::Coordinator => (&binaries.broker, "--broker-bin"),
    };
    let child = Command::new(binary)
        .arg(&node.properties_file)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} ({}); build it with `cargo build --bins` or pass {flag}",
                node.name,
                binary.display()
            )
        })?;
    Ok(child)
}

async fn wait_or_kill(node: &NodePlan, child: &mut Child) {
    if tokio::time::timeout(STOP_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        eprintln!(
            "{} did not stop within {}s; killing it",
            node.name,
            STOP_TIMEOUT.as_secs()
        );
        let _ = child.kill().await;
    }
}

/// The last lines of a node's log (its stdout and stderr), which usually say why it
/// stopped.
fn log_tail(log_file: &Path) -> Vec<String> {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(log_file).and_then(|mut file| {
        // The end is enough, and a long-running node's log can be large.
        let length = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)))?;
        file.read_to_end(&mut bytes)
    });
    if read.is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..]
        .iter()
        .map(|line| line.to_string())
        .collect()
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
