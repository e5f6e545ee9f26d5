//! Follower replication: one task per leader broker fetches every partition this broker
//! follows from it, with Kafka's own Fetch (as replica `node.id`). A partition that just
//! became a follower under a new epoch first asks the leader where that epoch ends
//! (OffsetForLeaderEpoch) and truncates what diverged. A partition the leader refuses is
//! left out of the following rounds for a growing pause, as Kafka's fetcher delays
//! partitions in error, so it does not turn the leader's long poll into a busy loop for
//! the others.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, OffsetForLeaderEpochRequest};
use kafka_protocol::ResponseError;
use potok_client::connection::Connection;
use potok_client::DistinctFailures;
use tokio::sync::Notify;

use super::{Partition, PartitionRetries};
use crate::api::protocol_names::topic_name;
use crate::broker::{retry_backoff, Broker};
use crate::clock::now_ms;

/// Kafka's `replica.fetch.max.bytes` and `replica.fetch.response.max.bytes` defaults.
const PARTITION_MAX_BYTES: i32 = 1_048_576;
const RESPONSE_MAX_BYTES: i32 = 10_485_760;

/// How a round with the leader went.
enum Round {
    /// The leader answered the fetch.
    Fetched,
    /// The leader refused every partition (its metadata or ours lags), or could not yet
    /// say where a diverged one should truncate, or every partition waits out a refusal.
    Refused,
    /// Metadata gave this broker a partition to follow from the leader while the fetch
    /// waited in the leader's long poll. The leader answers a connection's requests in
    /// order, so the connection is dropped and the next round asks for the new partition
    /// at once, instead of up to `replica.fetch.wait.max.ms` later: until then the
    /// leader's acks=all producers on it would wait.
    Interrupted,
}

/// The leaders this broker runs a fetcher for.
#[derive(Default)]
pub struct Fetchers {
    running: Mutex<HashSet<i32>>,
    /// Counts metadata changes, so a fetch round knows whether one happened since it began.
    metadata_changes: AtomicU64,
    /// Woken after every metadata change, for fetchers waiting on their leader.
    metadata_changed: Notify,
}

impl Fetchers {
    /// Starts a fetcher for every leader this broker follows a partition from.
    pub fn ensure(&self, broker: &Arc<Broker>) {
        let leaders: HashSet<i32> = broker
            .replicas
            .all()
            .iter()
            .filter_map(|p| match p.role() {
                super::Role::Follower { leader } => Some(leader),
                _ => None,
            })
            .collect();
        let mut running = self.running.lock().expect("fetcher lock poisoned");
        for leader in leaders {
            if running.insert(leader) {
                tokio::spawn(run(broker.clone(), leader));
            }
        }
        self.metadata_changes.fetch_add(1, Ordering::AcqRel);
        self.metadata_changed.notify_waiters();
    }

    /// The count of metadata changes so far; taken before a round reads its partitions.
    fn metadata_version(&self) -> u64 {
        self.metadata_changes.load(Ordering::Acquire)
    }

    /// Completes once this broker follows a partition from `leader` that `asked` lacks;
    /// `asked` was read at metadata version `read_at`. Only metadata changes are checked, so
    /// a round pays for none of this while the metadata stays put.
    async fn follows_more_than(
        &self,
        broker: &Broker,
        leader: i32,
        asked: &[Arc<Partition>],
        mut read_at: u64,
    ) {
        loop {
            let changed = self.metadata_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let version = self.metadata_version();
            if version != read_at {
                read_at = version;
                let asking: HashSet<(&str, i32)> =
                    asked.iter().map(|p| (p.topic.as_str(), p.index)).collect();
                let followed = broker.replicas.followed_from(leader);
                if followed
                    .iter()
                    .any(|p| !asking.contains(&(p.topic.as_str(), p.index)))
                {
                    return;
                }
            }
            changed.await;
        }
    }

    /// The partitions to fetch from `leader`; when none are left the fetcher ends, and
    /// leaves the registry in the same step so a later `ensure` starts a new one.
    fn partitions_or_stop(&self, broker: &Broker, leader: i32) -> Vec<Arc<Partition>> {
        let mut running = self.running.lock().expect("fetcher lock poisoned");
        let partitions = broker.replicas.followed_from(leader);
        if partitions.is_empty() {
            running.remove(&leader);
        }
        partitions
    }
}

async fn run(broker: Arc<Broker>, leader: i32) {
    tracing::info!(leader, "replica fetcher started");
    let mut connection: Option<Connection> = None;
    // Failed or refused rounds are retried after growing pauses, reset by a fetch.
    let mut backoff = retry_backoff(&broker.config);
    let mut failures = DistinctFailures::default();
    let mut refusals = PartitionRetries::new(retry_backoff(&broker.config));
    loop {
        let read_at = broker.fetchers.metadata_version();
        let partitions = broker.fetchers.partitions_or_stop(&broker, leader);
        if partitions.is_empty() {
            tracing::info!(leader, "replica fetcher stopped: nothing left to follow");
            return;
        }
        refusals.retain(|topic, index| {
            broker
                .replicas
                .get(topic, index)
                .is_some_and(|p| p.role() == super::Role::Follower { leader })
        });
        let round = fetch_round(
            &broker,
            leader,
            (&partitions, read_at),
            &mut connection,
            &mut refusals,
        );
        match round.await {
            Ok(Round::Fetched) => {
                backoff.reset();
                if failures.clear() {
                    tracing::info!(leader, "replica fetcher reaches the leader again");
                }
            }
            Ok(Round::Refused) => tokio::time::sleep(backoff.next_delay()).await,
            Ok(Round::Interrupted) => connection = None,
            Err(error) => {
                if failures.is_new(&error) {
                    tracing::info!(leader, %error, "replica fetch failed; retrying with backoff");
                } else {
                    tracing::debug!(leader, %error, "replica fetch failed again");
                }
                connection = None;
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// One round: truncate diverged partitions, then fetch the rest once, leaving out those
/// waiting out a refusal.
async fn fetch_round(
    broker: &Broker,
    leader: i32,
    (partitions, read_at): (&[Arc<Partition>], u64),
    connection: &mut Option<Connection>,
    refusals: &mut PartitionRetries,
) -> anyhow::Result<Round> {
    if connection.as_ref().is_none_or(|c| !c.is_usable()) {
        let image = broker.image();
        let node = image
            .brokers
            .get(&leader)
            .ok_or_else(|| anyhow::anyhow!("leader {leader} is not a registered broker"))?;
        let address = format!("{}:{}", node.host, node.port);
        let client_id = format!("potok-replica-fetcher-{}", broker.config.node_id);
        *connection =
            Some(Connection::connect(&address, &client_id, Duration::from_secs(30)).await?);
    }
    let connection = connection.as_ref().expect("connected above");
    let diverged: Vec<(&Arc<Partition>, i32)> = partitions
        .iter()
        .filter_map(|p| p.truncation_epoch().map(|epoch| (p, epoch)))
        .collect();
    if !diverged.is_empty() {
        truncate(broker, connection, &diverged).await?;
    }
    let now = Instant::now();
    let ready: Vec<&Arc<Partition>> = partitions
        .iter()
        .filter(|p| p.truncation_epoch().is_none())
        .filter(|p| {
            refusals
                .may_retry(&p.topic, p.index, p.leader_epoch(), now)
                .is_some()
        })
        .collect();
    if ready.is_empty() {
        return Ok(Round::Refused);
    }
    let answered = fetch(broker, connection, &ready, refusals);
    tokio::select! {
        round = answered => round,
        () = broker.fetchers.follows_more_than(broker, leader, partitions, read_at) => Ok(Round::Interrupted),
    }
}

async fn truncate(
    broker: &Broker,
    connection: &Connection,
    diverged: &[(&Arc<Partition>, i32)],
) -> anyhow::Result<()> {
    let mut by_topic: HashMap<&str, Vec<OffsetForLeaderPartition>> = HashMap::new();
    for (partition, epoch) in diverged {
        let mut wanted = OffsetForLeaderPartition::default();
        wanted.partition = partition.index;
        wanted.current_leader_epoch = partition.leader_epoch();
        wanted.leader_epoch = *epoch;
        by_topic.entry(&partition.topic).or_default().push(wanted);
    }
    let mut request = OffsetForLeaderEpochRequest::default();
    request.replica_id = BrokerId(broker.config.node_id);
    request.topics = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let mut t = OffsetForLeaderTopic::default();
            t.topic = topic_name(topic);
            t.partitions = partitions;
            t
        })
        .collect();
    let response = connection.send(request).await?;
    for topic in response.topics {
        for answer in topic.partitions {
            let Some(partition) = broker.replicas.get(topic.topic.as_str(), answer.partition)
            else {
                continue;
            };
            if answer.error_code != 0 {
                tracing::debug!(topic = %topic.topic.as_str(), partition = answer.partition, code = answer.error_code, "leader cannot answer OffsetForLeaderEpoch yet");
                continue;
            }
            partition.truncate_to_leader(answer.leader_epoch, answer.end_offset)?;
        }
    }
    Ok(())
}

async fn fetch(
    broker: &Broker,
    connection: &Connection,
    partitions: &[&Arc<Partition>],
    refusals: &mut PartitionRetries,
) -> anyhow::Result<Round> {
    // A partition waiting out a refusal is asked for again when its pause ends, not when
    // the leader's long poll for the others would.
    let wait = broker.config.duration_ms("replica.fetch.wait.max.ms", 500);
    let wait = refusals.next_retry().map_or(wait, |at| {
        wait.min(at.saturating_duration_since(Instant::now()))
    });
    let mut by_topic: HashMap<&str, Vec<FetchPartition>> = HashMap::new();
    for partition in partitions {
        let mut wanted = FetchPartition::default();
        wanted.partition = partition.index;
        wanted.current_leader_epoch = partition.leader_epoch();
        wanted.fetch_offset = partition.log_end_offset();
        wanted.log_start_offset = partition.log_start_offset();
        wanted.partition_max_bytes = PARTITION_MAX_BYTES;
        by_topic.entry(&partition.topic).or_default().push(wanted);
    }
    let mut request = FetchRequest::default();
    request.replica_id = BrokerId(broker.config.node_id);
    request.max_wait_ms = wait.as_millis() as i32;
    request.min_bytes = 1;
    request.max_bytes = RESPONSE_MAX_BYTES;
    request.session_epoch = -1;
    request.topics = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let mut t = FetchTopic::default();
            t.topic = topic_name(topic);
            t.partitions = partitions;
            t
        })
        .collect();
    let response = connection.send_holding(request, wait).await?;
    let mut appended = false;
    let mut refused = 0;
    let asked = partitions.len();
    for topic in response.responses {
        for data in topic.partitions {
            let Some(partition) = broker
                .replicas
                .get(topic.topic.as_str(), data.partition_index)
            else {
                continue;
            };
            match ResponseError::try_from_code(data.error_code) {
                None => {
                    refusals.succeeded(&partition.topic, partition.index);
                    let records = data.records.unwrap_or_default();
                    appended |= !records.is_empty();
                    partition.append_as_follower(&records, data.high_watermark, now_ms())?;
                }
                Some(ResponseError::OffsetOutOfRange) => {
                    if partition.log_end_offset() < data.log_start_offset {
                        partition.restart_at(data.log_start_offset)?;
                    } else {
                        partition.request_truncation();
                    }
                }
                Some(error) => {
                    refused += 1;
                    let epoch = partition.leader_epoch();
                    let retry = refusals.refused(
                        &partition.topic,
                        partition.index,
                        epoch,
                        &error,
                        Instant::now(),
                    );
                    tracing::debug!(topic = %topic.topic.as_str(), partition = data.partition_index, ?error, attempts = retry.attempts, retry_in = ?retry.retry_in, "leader refused the fetch");
                }
            }
        }
    }
    if appended {
        broker.replicas.notify_appended();
    }
    if refused == asked {
        // The leader's metadata lags ours (or ours lags): give it time to catch up.
        return Ok(Round::Refused);
    }
    Ok(Round::Fetched)
}
