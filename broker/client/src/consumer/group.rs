//! Membership in a consumer group through Kafka's classic protocol: JoinGroup, the leader's
//! range assignment in SyncGroup, heartbeats from a background task, commits carrying the
//! generation, and LeaveGroup on close.
//!
//! Joining happens inside `Consumer::poll`, as in Kafka's consumer; the heartbeat task only
//! keeps the session alive and raises a flag when the coordinator asks the member to rejoin.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use tokio::task::JoinHandle;

use super::assignor::{range_assign, RANGE};
use super::protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
};
use crate::admin::AdminClient;
use crate::cluster::{Cluster, TopicPartition};
use crate::error::{check, ClientError, KafkaError};

/// Group settings under Kafka's consumer property names, with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.id`.
    pub group_id: String,
    /// `session.timeout.ms`: how long the coordinator waits for a heartbeat.
    pub session_timeout: Duration,
    /// `max.poll.interval.ms`: how long a rebalance waits for members to rejoin.
    pub rebalance_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `auto.commit.interval.ms` when `enable.auto.commit` is true, else `None`.
    pub auto_commit_interval: Option<Duration>,
}

impl GroupConfig {
    pub fn new(group_id: impl Into<String>) -> GroupConfig {
        GroupConfig {
            group_id: group_id.into(),
            session_timeout: Duration::from_secs(45),
            rebalance_timeout: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(3),
            auto_commit_interval: Some(Duration::from_secs(5)),
        }
    }
}

/// Raised by the heartbeat task, read by the member at its next poll.
#[derive(Debug, Default)]
struct Signals {
    rejoin: AtomicBool,
    forget_member_id: AtomicBool,
}

/// This consumer's place in its group.
#[derive(Debug)]
pub(crate) struct Membership {
    cluster: Arc<Cluster>,
    config: GroupConfig,
    topics: Vec<String>,
    member_id: String,
    generation: i32,
    signals: Arc<Signals>,
    heartbeat: Option<JoinHandle<()>>,
}

/// What a completed rebalance gave this member.
#[derive(Debug)]
pub(crate) struct Assignment {
    pub partitions: Vec<TopicPartition>,
    /// Committed offsets of the assigned partitions that have one.
    pub committed: BTreeMap<TopicPartition, i64>,
}

impl Membership {
    pub fn new(cluster: Arc<Cluster>, config: GroupConfig, topics: Vec<String>) -> Membership {
        let signals = Arc::new(Signals::default());
        signals.rejoin.store(true, Ordering::Relaxed);
        Membership {
            cluster,
            config,
            topics,
            member_id: String::new(),
            generation: -1,
            signals,
            heartbeat: None,
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// True before the first join and whenever the coordinator started a rebalance.
    pub fn needs_join(&self) -> bool {
        self.signals.rejoin.load(Ordering::Relaxed)
    }

    /// Joins (or rejoins) the group and returns this member's new assignment.
    pub async fn join(&mut self) -> Result<Assignment, ClientError> {
        self.stop_heartbeat();
        if self.signals.forget_member_id.swap(false, Ordering::Relaxed) {
            self.member_id.clear();
        }
        let deadline = tokio::time::Instant::now() + self.config.rebalance_timeout;
        let mut backoff = self.cluster.config().backoff();
        loop {
            match self.try_join().await {
                Ok(partitions) => {
                    let committed = self.committed(&partitions).await?;
                    self.signals.rejoin.store(false, Ordering::Relaxed);
                    self.start_heartbeat();
                    return Ok(Assignment {
                        partitions,
                        committed,
                    });
                }
                Err(e) if rejoinable(&e) && tokio::time::Instant::now() < deadline => {
                    tracing::debug!("rejoining group {}: {e}", self.config.group_id);
                    if is(&e, ResponseError::UnknownMemberId) {
                        self.member_id.clear();
                    }
                    if !is(&e, ResponseError::MemberIdRequired)
                        && !is(&e, ResponseError::RebalanceInProgress)
                    {
                        tokio::time::sleep(backoff.next_delay()).await;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One JoinGroup and SyncGroup round; errors that call for another round come back as
    /// errors for `join` to sort out.
    async fn try_join(&mut self) -> Result<Vec<TopicPartition>, ClientError> {
        let coordinator = self
            .cluster
            .group_coordinator(&self.config.group_id)
            .await?;
        let connection = self.cluster.connection(coordinator).await?;
        let request = JoinGroupRequest::default()
            .with_group_id(self.group_id())
            .with_session_timeout_ms(millis(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis(self.config.rebalance_timeout))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str(RANGE))
                .with_metadata(encode_subscription(&self.topics)?)]);
        let joined = connection
            .send_holding(request, self.config.rebalance_timeout)
            .await?;
        if joined.error_code == ResponseError::MemberIdRequired.code() {
            self.member_id = joined.member_id.to_string();
        }
        check(joined.error_code, None)?;
        self.member_id = joined.member_id.to_string();
        self.generation = joined.generation_id;
        let assignments = if joined.leader == joined.member_id {
            self.assign(&joined).await?
        } else {
            Vec::new()
        };
        let synced = connection
            .send(
                SyncGroupRequest::default()
                    .with_group_id(self.group_id())
                    .with_generation_id(self.generation)
                    .with_member_id(joined.member_id.clone())
                    .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
                    .with_protocol_name(Some(StrBytes::from_static_str(RANGE)))
                    .with_assignments(assignments),
            )
            .await?;
        check(synced.error_code, None)?;
        Ok(decode_assignment(synced.assignment))
    }

    /// The leader's job: range-assign the partitions of every topic any member subscribes to.
    async fn assign(
        &self,
        joined: &JoinGroupResponse,
    ) -> Result<Vec<SyncGroupRequestAssignment>, ClientError> {
        let subscriptions: BTreeMap<String, Vec<String>> = joined
            .members
            .iter()
            .map(|m| {
                let topics = decode_subscription(m.metadata.clone()).unwrap_or_default();
                (m.member_id.to_string(), topics)
            })
            .collect();
        let mut partition_counts = BTreeMap::new();
        for topic in subscriptions.values().flatten() {
            if partition_counts.contains_key(topic) {
                continue;
            }
            match self.cluster.refresh_topic(topic, false).await {
                Ok(metadata) => {
                    partition_counts.insert(topic.clone(), metadata.partitions.len() as i32);
                }
                Err(e) => tracing::warn!("not assigning topic {topic}: {e}"),
            }
        }
        range_assign(&subscriptions, &partition_counts)
            .into_iter()
            .map(|(member, partitions)| {
                Ok(SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member))
                    .with_assignment(encode_assignment(&partitions)?))
            })
            .collect()
    }

    async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>, ClientError> {
        let mut all = AdminClient::with_cluster(self.cluster.clone())
            .group_offsets(&self.config.group_id)
            .await?;
        all.retain(|tp, _| partitions.contains(tp));
        Ok(all)
    }

    /// Commits `offsets` as this generation's member. A commit refused because the group
    /// moved on raises the rejoin flag and fails with Kafka's error.
    pub async fn commit(&self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<(), ClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let results = AdminClient::with_cluster(self.cluster.clone())
            .commit_offsets(
                &self.config.group_id,
                self.generation,
                &self.member_id,
                offsets,
            )
            .await?;
        for result in results.into_values() {
            if let Err(e) = result {
                self.react_to(&e);
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Leaves the group so its partitions move at once rather than after the session timeout.
    pub async fn leave(&mut self) {
        self.stop_heartbeat();
        if self.member_id.is_empty() {
            return;
        }
        let leave = async {
            let coordinator = self
                .cluster
                .group_coordinator(&self.config.group_id)
                .await?;
            let connection = self.cluster.connection(coordinator).await?;
            let member = StrBytes::from_string(self.member_id.clone());
            let response = connection
                .send(
                    LeaveGroupRequest::default()
                        .with_group_id(self.group_id())
                        .with_member_id(member.clone())
                        .with_members(vec![MemberIdentity::default().with_member_id(member)]),
                )
                .await?;
            check(response.error_code, None).map_err(ClientError::from)
        };
        if let Err(e) = leave.await {
            tracing::debug!("leaving group {}: {e}", self.config.group_id);
        }
        self.member_id.clear();
        self.generation = -1;
        self.signals.rejoin.store(true, Ordering::Relaxed);
    }

    fn react_to(&self, error: &KafkaError) {
        react(&self.signals, error);
    }

    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.config.group_id.clone()))
    }

    fn start_heartbeat(&mut self) {
        let cluster = self.cluster.clone();
        let signals = self.signals.clone();
        let interval = self.config.heartbeat_interval;
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let group = self.config.group_id.clone();
        self.heartbeat = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let beat = async {
                    let coordinator = cluster.group_coordinator(&group).await?;
                    let connection = cluster.connection(coordinator).await?;
                    let response = connection.send(request.clone()).await?;
                    check(response.error_code, None).map_err(ClientError::from)
                };
                match beat.await {
                    Ok(()) => {}
                    Err(ClientError::Kafka(e)) => {
                        react(&signals, &e);
                        if signals.rejoin.load(Ordering::Relaxed) {
                            return;
                        }
                    }
                    Err(e) => tracing::debug!("heartbeat for group {group} failed: {e}"),
                }
            }
        }));
    }

    fn stop_heartbeat(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

/// Raises the rejoin flag for the errors that mean this member's generation is over.
fn react(signals: &Signals, error: &KafkaError) {
    let over = [
        ResponseError::RebalanceInProgress,
        ResponseError::IllegalGeneration,
        ResponseError::UnknownMemberId,
        ResponseError::NotCoordinator,
        ResponseError::CoordinatorNotAvailable,
    ];
    if error.is(ResponseError::UnknownMemberId) {
        signals.forget_member_id.store(true, Ordering::Relaxed);
    }
    if over.iter().any(|&e| error.is(e)) {
        signals.rejoin.store(true, Ordering::Relaxed);
    }
}

fn is(error: &ClientError, code: ResponseError) -> bool {
    error.kafka().is_some_and(|e| e.is(code))
}

/// Errors after which another JoinGroup round is the cure.
fn rejoinable(error: &ClientError) -> bool {
    error.is_retriable()
        || [
            ResponseError::MemberIdRequired,
            ResponseError::UnknownMemberId,
            ResponseError::IllegalGeneration,
            ResponseError::RebalanceInProgress,
        ]
        .into_iter()
        .any(|code| is(error, code))
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}
