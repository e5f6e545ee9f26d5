//! A coordinator: one voter of the metadata quorum. It serves the quorum protocol on its
//! listener, and while it leads it commits brokers' proposals and keeps their leases:
//! a broker that stops heartbeating for `broker.session.timeout.ms` is fenced.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, SnapshotPolicy};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use super::command::{CommandOutcome, MetadataCommand};
use super::log_store::LogStore;
use super::network::Network;
use super::rpc::{read_frame, write_frame, Request, Response, Stream, TcpTransport, Transport};
use super::state_machine::{StateMachine, VersionedImage};
use super::{NodeId, Raft};
use crate::metadata::{claim_log_dir, new_cluster_id, read_meta_properties};

/// How a coordinator is set up; from `node.id`, `controller.quorum.voters` and `log.dirs`.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    pub node_id: NodeId,
    /// Every voter's id and `host:port`, this node included.
    pub voters: BTreeMap<NodeId, String>,
    pub data_dir: PathBuf,
    /// `broker.session.timeout.ms`.
    pub broker_session_timeout: Duration,
}

pub struct Coordinator {
    config: CoordinatorConfig,
    raft: Raft,
    images: watch::Receiver<VersionedImage>,
    /// Last heartbeat per broker; kept by the leader only.
    leases: Mutex<HashMap<i32, Instant>>,
    /// The term this node last started leading in, to grant fresh leases once per term.
    leading_term: Mutex<Option<u64>>,
}

impl Coordinator {
    /// Opens the quorum's storage and joins it over TCP.
    pub async fn start(config: CoordinatorConfig) -> anyhow::Result<Arc<Coordinator>> {
        Coordinator::start_on(config, Arc::new(TcpTransport)).await
    }

    /// Opens the quorum's storage and joins it, reaching the other voters through
    /// `transport`. On a brand-new quorum every voter proposes the same membership, so
    /// whichever is elected first starts the log. Keeping brokers' leases starts here too.
    pub async fn start_on(
        config: CoordinatorConfig,
        transport: Arc<dyn Transport>,
    ) -> anyhow::Result<Arc<Coordinator>> {
        if let Some((cluster_id, node_id)) = read_meta_properties(&config.data_dir)? {
            anyhow::ensure!(
                node_id as u64 == config.node_id,
                "{} belongs to node.id {node_id} of cluster {cluster_id}, but this coordinator is node.id {}; point log.dirs at this node's own directory",
                config.data_dir.display(),
                config.node_id
            );
        }
        let dir = config.data_dir.join("__cluster_metadata-0");
        let log = LogStore::open(&dir)?;
        let (state_machine, images) = StateMachine::open(&dir)?;
        let raft_config = openraft::Config {
            cluster_name: "potok".into(),
            heartbeat_interval: 150,
            election_timeout_min: 600,
            election_timeout_max: 1200,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(500),
            max_in_snapshot_log_to_keep: 100,
            ..Default::default()
        }
        .validate()?;
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config),
            Network { transport },
            log,
            state_machine,
        )
        .await?;
        if !raft.is_initialized().await? {
            let members: BTreeMap<NodeId, BasicNode> = config
                .voters
                .iter()
                .map(|(id, address)| (*id, BasicNode::new(address)))
                .collect();
            if let Err(e) = raft.initialize(members).await {
                tracing::debug!("quorum already initialized elsewhere: {e}");
            }
        }
        let coordinator = Arc::new(Coordinator {
            config,
            raft,
            images,
            leases: Mutex::new(HashMap::new()),
            leading_term: Mutex::new(None),
        });
        tokio::spawn(coordinator.clone().keep_leases());
        Ok(coordinator)
    }

    /// Waits until the quorum names its cluster, then claims the data directory for it
    /// (`meta.properties`); fails when the directory belongs to another cluster.
    pub async fn claim_data_dir(&self) -> anyhow::Result<()> {
        let mut images = self.images.clone();
        let named = images
            .wait_for(|latest| !latest.image.cluster_id.is_empty())
            .await?
            .image
            .cluster_id
            .clone();
        claim_log_dir(&self.config.data_dir, &named, self.config.node_id as i32)?;
        Ok(())
    }

    /// The committed image as this node has applied it.
    pub fn images(&self) -> watch::Receiver<VersionedImage> {
        self.images.clone()
    }

    /// openraft's view of this node: term, leader, log indexes.
    pub fn raft_metrics(&self) -> openraft::RaftMetrics<NodeId, BasicNode> {
        self.raft.metrics().borrow().clone()
    }

    /// The current leader's id, if one is known.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// Serves the quorum protocol until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let coordinator = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = stream.set_nodelay(true) {
                            tracing::debug!(%peer, "quorum connection: {e}");
                        }
                        if let Err(e) = coordinator.serve_connection(stream).await {
                            tracing::debug!(%peer, "quorum connection closed: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("accepting a quorum connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Waits until Raft stops on its own: a write to the metadata log failed (a full or
    /// failing disk) or Raft panicked. A node in that state can neither vote nor lead, so
    /// its process should end and be restarted once the disk is fixed. Never returns after
    /// a `shutdown` this process asked for.
    pub async fn failed(&self) -> String {
        let mut metrics = self.raft.metrics();
        loop {
            if let Err(fatal) = &metrics.borrow_and_update().running_state {
                if !matches!(fatal, openraft::error::Fatal::Stopped) {
                    return fatal.to_string();
                }
            }
            if metrics.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// The directory holding this node's metadata log.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.config.data_dir
    }

    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("stopping raft: {e}");
        }
    }

    /// Answers requests on one connection until the peer closes it.
    pub async fn serve_connection(&self, mut stream: impl Stream) -> std::io::Result<()> {
        while let Some(request) = read_frame::<Request, _>(&mut stream).await? {
            let response = self.handle(request).await;
            write_frame(&mut stream, &response).await?;
        }
        Ok(())
    }

    async fn handle(&self, request: Request) -> Response {
        match request {
            Request::AppendEntries(rpc) => {
                Response::AppendEntries(self.raft.append_entries(rpc).await)
            }
            Request::Vote(rpc) => Response::Vote(self.raft.vote(rpc).await),
            Request::InstallSnapshot(rpc) => {
                Response::InstallSnapshot(self.raft.install_snapshot(rpc).await)
            }
            Request::Propose(command) => self.propose(command).await,
            Request::Heartbeat { broker_id } => self.heartbeat(broker_id).await,
            Request::Watch { after, wait_ms } => self.watch(after, wait_ms).await,
        }
    }

    /// Commits `command` and answers with its outcome once applied, or points at the leader.
    pub async fn propose(&self, command: MetadataCommand) -> Response {
        if let MetadataCommand::RegisterBroker { broker } = &command {
            self.lease(broker.id);
        }
        match self.raft.client_write(command).await {
            Ok(written) => Response::Proposed {
                outcome: written.data,
                index: written.log_id.index,
            },
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                Response::NotLeader {
                    leader: forward.leader_node.map(|node| node.addr),
                }
            }
            Err(e) => Response::Proposed {
                outcome: CommandOutcome::Refused {
                    code: ResponseError::NotController.code(),
                    message: Some(format!("the metadata quorum cannot commit: {e}")),
                },
                index: 0,
            },
        }
    }

    async fn heartbeat(&self, broker_id: i32) -> Response {
        if self.leader() != Some(self.config.node_id) {
            return self.not_leader();
        }
        let image = self.images.borrow().image.clone();
        if !image.brokers.contains_key(&broker_id) {
            return Response::Proposed {
                outcome: CommandOutcome::Refused {
                    code: ResponseError::BrokerIdNotRegistered.code(),
                    message: Some(format!("broker {broker_id} is not registered")),
                },
                index: 0,
            };
        }
        self.lease(broker_id);
        if image.fenced_brokers.contains(&broker_id) {
            return self
                .propose(MetadataCommand::UnfenceBroker { id: broker_id })
                .await;
        }
        Response::HeartbeatAccepted
    }

    async fn watch(&self, after: u64, wait_ms: u64) -> Response {
        let mut images = self.images.clone();
        let newer = images.wait_for(|current| current.version > after);
        let _ = tokio::time::timeout(Duration::from_millis(wait_ms.min(30_000)), newer).await;
        let current = images.borrow().clone();
        Response::Image {
            version: current.version,
            image: (*current.image).clone(),
        }
    }

    fn not_leader(&self) -> Response {
        let leader = self
            .leader()
            .and_then(|id| self.config.voters.get(&id).cloned());
        Response::NotLeader { leader }
    }

    fn lease(&self, broker_id: i32) {
        self.leases
            .lock()
            .expect("lease lock poisoned")
            .insert(broker_id, Instant::now());
    }

    /// While leading: names the cluster once, and fences brokers whose lease lapsed. A new
    /// leader first grants every broker a full session, since it has seen no heartbeats yet.
    /// Ends when Raft stops.
    async fn keep_leases(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        loop {
            ticker.tick().await;
            let metrics = self.raft.metrics().borrow().clone();
            if metrics.running_state.is_err() {
                return;
            }
            if metrics.current_leader != Some(self.config.node_id) {
                continue;
            }
            let image = self.images.borrow().image.clone();
            let started_leading = {
                let mut term = self.leading_term.lock().expect("term lock poisoned");
                let new = *term != Some(metrics.current_term);
                *term = Some(metrics.current_term);
                new
            };
            if started_leading {
                tracing::info!(term = metrics.current_term, "leading the metadata quorum");
                let now = Instant::now();
                let mut leases = self.leases.lock().expect("lease lock poisoned");
                for id in image.brokers.keys() {
                    leases.insert(*id, now);
                }
            }
            if image.cluster_id.is_empty() {
                let cluster_id = new_cluster_id();
                self.propose(MetadataCommand::InitCluster { cluster_id })
                    .await;
            }
            // A live broker this leader has no lease for registered through an earlier
            // leader, in an entry applied here only now: it gets a full session too.
            let lapsed: Vec<i32> = {
                let mut leases = self.leases.lock().expect("lease lock poisoned");
                image
                    .live_brokers()
                    .map(|b| b.id)
                    .filter(|id| {
                        leases.entry(*id).or_insert_with(Instant::now).elapsed()
                            > self.config.broker_session_timeout
                    })
                    .collect()
            };
            for id in lapsed {
                tracing::info!(broker = id, "fencing broker: its session lapsed");
                self.propose(MetadataCommand::FenceBroker { id }).await;
            }
        }
    }
}
