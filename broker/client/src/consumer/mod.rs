//! `Consumer`: reads partitions with Fetch from their leaders, either assigned explicitly
//! or given by a consumer group it subscribes through.
//!
//! Positions are per partition; a seek to the beginning, end or a timestamp is resolved
//! with ListOffsets at the next poll, as Kafka's consumer does. In a group, each rebalance
//! replaces the assignment and positions start from the group's committed offsets.

pub mod assignor;
mod decode;
mod group;
pub mod protocol;

pub use group::GroupConfig;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::TimestampType;
use tokio::time::Instant;

use crate::admin::{list_offsets, OffsetSpec};
use crate::backoff::Backoff;
use crate::cluster::{Cluster, ClusterConfig, TopicPartition};
use crate::error::{ClientError, KafkaError};
use group::Membership;

/// Consumer settings under Kafka's property names, with Kafka's defaults.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `fetch.min.bytes`.
    pub fetch_min_bytes: i32,
    /// `fetch.max.wait.ms`.
    pub fetch_max_wait: Duration,
    /// `max.partition.fetch.bytes`.
    pub max_partition_fetch_bytes: i32,
    /// `auto.offset.reset`: where to start without a position, or after OFFSET_OUT_OF_RANGE.
    pub auto_offset_reset: SeekTo,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            fetch_min_bytes: 1,
            fetch_max_wait: Duration::from_millis(500),
            max_partition_fetch_bytes: 1_048_576,
            auto_offset_reset: SeekTo::End,
        }
    }
}

/// Where to move a partition's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTo {
    Offset(i64),
    Beginning,
    End,
    /// The first record at or after this timestamp (ms), or the end if there is none.
    Timestamp(i64),
}

/// A record read from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

#[derive(Debug, Clone, Copy)]
enum Position {
    At(i64),
    Unresolved(SeekTo),
}

fn positions_of(positions: &BTreeMap<TopicPartition, Position>) -> BTreeMap<TopicPartition, i64> {
    positions
        .iter()
        .filter_map(|(tp, p)| match p {
            Position::At(offset) => Some((tp.clone(), *offset)),
            Position::Unresolved(_) => None,
        })
        .collect()
}

/// A Kafka consumer of explicitly assigned partitions.
#[derive(Debug)]
pub struct Consumer {
    cluster: Arc<Cluster>,
    config: ConsumerConfig,
    positions: BTreeMap<TopicPartition, Position>,
    group: Option<Membership>,
    last_commit: Instant,
    /// The pause after a fetch round that reached no leader, growing while none answers.
    retry_backoff: Backoff,
}

impl Consumer {
    pub fn new(cluster: ClusterConfig, config: ConsumerConfig) -> Consumer {
        Consumer::with_cluster(Cluster::new(cluster), config)
    }

    pub fn with_cluster(cluster: Arc<Cluster>, config: ConsumerConfig) -> Consumer {
        Consumer {
            retry_backoff: cluster.config().backoff(),
            cluster,
            config,
            positions: BTreeMap::new(),
            group: None,
            last_commit: Instant::now(),
        }
    }

    /// The shared cluster state (for partition counts and the like).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Replaces the assignment; new partitions start at `auto.offset.reset`.
    pub fn assign(&mut self, partitions: Vec<TopicPartition>) {
        let reset = Position::Unresolved(self.config.auto_offset_reset);
        let mut positions = BTreeMap::new();
        for tp in partitions {
            let position = self.positions.get(&tp).copied().unwrap_or(reset);
            positions.insert(tp, position);
        }
        self.positions = positions;
    }

    /// Consumes `topics` as a member of the group `group.group_id`; the group decides
    /// which partitions this consumer reads. Joining happens at the next poll.
    pub fn subscribe(&mut self, group: GroupConfig, topics: Vec<String>) {
        self.positions.clear();
        self.group = Some(Membership::new(self.cluster.clone(), group, topics));
    }

    /// Commits the current positions for the group (the offsets after the records
    /// returned so far).
    pub async fn commit(&mut self) -> Result<(), ClientError> {
        let Some(group) = &self.group else {
            return Err(ClientError::Config(
                "Committing offsets requires a group.id; subscribe to a group first".into(),
            ));
        };
        group.commit(&self.positions()).await?;
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Leaves the group, committing positions first when auto-commit is on.
    pub async fn close(&mut self) {
        if let Some(group) = &self.group {
            if group.config().auto_commit_interval.is_some() && !group.needs_join() {
                if let Err(e) = group.commit(&self.positions()).await {
                    tracing::warn!("committing offsets on close failed: {e}");
                }
            }
        }
        if let Some(group) = &mut self.group {
            group.leave().await;
        }
    }

    /// Moves the position of an assigned partition.
    pub fn seek(&mut self, topic: &str, partition: i32, to: SeekTo) -> Result<(), ClientError> {
        let position = self
            .positions
            .get_mut(&TopicPartition::new(topic, partition))
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "No current assignment for partition {topic}-{partition}"
                ))
            })?;
        *position = match to {
            SeekTo::Offset(offset) => Position::At(offset),
            other => Position::Unresolved(other),
        };
        Ok(())
    }

    /// The next offset to read for each partition whose position is known.
    pub fn positions(&self) -> BTreeMap<TopicPartition, i64> {
        positions_of(&self.positions)
    }

    /// The partitions this consumer reads now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.positions.keys().cloned().collect()
    }

    /// Fetches until records arrive or `timeout` passes.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.maintain_group().await?;
            self.resolve_positions().await?;
            let records = self.fetch_once(deadline).await?;
            let rebalancing = self.group.as_ref().is_some_and(Membership::needs_join);
            if !records.is_empty() || rebalancing || Instant::now() >= deadline {
                return Ok(records);
            }
        }
    }

    /// Rejoins the group when it rebalances (committing first, so the next owner of a
    /// partition starts where this consumer stopped) and auto-commits on schedule.
    async fn maintain_group(&mut self) -> Result<(), ClientError> {
        let Some(group) = &mut self.group else {
            return Ok(());
        };
        let auto_commit = group.config().auto_commit_interval;
        if group.needs_join() {
            if auto_commit.is_some() && !self.positions.is_empty() {
                let positions = positions_of(&self.positions);
                if let Err(e) = group.commit(&positions).await {
                    tracing::warn!("committing offsets before rebalancing failed: {e}");
                }
            }
            let assignment = group.join().await?;
            let reset = Position::Unresolved(self.config.auto_offset_reset);
            self.positions = assignment
                .partitions
                .into_iter()
                .map(|tp| {
                    let position = match assignment.committed.get(&tp) {
                        Some(&offset) => Position::At(offset),
                        None => reset,
                    };
                    (tp, position)
                })
                .collect();
            self.last_commit = Instant::now();
        } else if auto_commit.is_some_and(|every| self.last_commit.elapsed() >= every) {
            let positions = positions_of(&self.positions);
            if let Err(e) = group.commit(&positions).await {
                tracing::warn!("auto-commit failed: {e}");
            }
            self.last_commit = Instant::now();
        }
        Ok(())
    }

    async fn resolve_positions(&mut self) -> Result<(), ClientError> {
        let pending: Vec<(TopicPartition, OffsetSpec)> = self
            .positions
            .iter()
            .filter_map(|(tp, p)| match p {
                Position::Unresolved(SeekTo::Beginning) => Some((tp.clone(), OffsetSpec::Earliest)),
                Position::Unresolved(SeekTo::End) => Some((tp.clone(), OffsetSpec::Latest)),
                Position::Unresolved(SeekTo::Timestamp(t)) => {
                    Some((tp.clone(), OffsetSpec::Timestamp(*t)))
                }
                _ => None,
            })
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let resolved = list_offsets(&self.cluster, &pending).await?;
        let mut unresolved_timestamps = Vec::new();
        for (tp, result) in resolved {
            match result {
                Ok(listed) if listed.offset >= 0 => {
                    self.positions.insert(tp, Position::At(listed.offset));
                }
                // No record at or after the timestamp: Kafka moves to the end.
                Ok(_) => unresolved_timestamps.push(tp),
                Err(e) if e.is_retriable() => {}
                Err(e) => return Err(e.into()),
            }
        }
        for tp in unresolved_timestamps {
            self.positions.insert(tp, Position::Unresolved(SeekTo::End));
        }
        Ok(())
    }

    async fn fetch_once(&mut self, deadline: Instant) -> Result<Vec<ConsumerRecord>, ClientError> {
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        let mut failed = false;
        for (tp, position) in &self.positions {
            let Position::At(offset) = position else {
                continue;
            };
            match self.cluster.leader_for(&tp.topic, tp.partition).await {
                Ok(leader) => by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp.clone(), *offset)),
                Err(e) if e.is_retriable() => {
                    self.cluster.invalidate(&tp.topic);
                    failed = true;
                }
                Err(e) => return Err(e),
            }
        }
        if by_leader.is_empty() {
            let pause = if failed {
                self.retry_backoff.next_delay()
            } else {
                self.config.fetch_max_wait.min(Duration::from_millis(100))
            };
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
            return Ok(Vec::new());
        }
        let max_wait = self
            .config
            .fetch_max_wait
            .min(deadline.saturating_duration_since(Instant::now()));
        let mut records = Vec::new();
        for (leader, partitions) in by_leader {
            let request = self.fetch_request(&partitions, max_wait);
            let response = match self.cluster.connection(leader).await {
                Ok(connection) => connection.send(request).await,
                Err(e) => Err(e),
            };
            let response = match response {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    partitions
                        .iter()
                        .for_each(|(tp, _)| self.cluster.invalidate(&tp.topic));
                    failed = true;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if response.error_code != 0 {
                return Err(KafkaError::new(response.error_code, None).into());
            }
            for topic in response.responses {
                let name = topic.topic.0.to_string();
                for partition in topic.partitions {
                    let tp = TopicPartition::new(name.clone(), partition.partition_index);
                    let Some(Position::At(offset)) = self.positions.get(&tp).copied() else {
                        continue;
                    };
                    if partition.error_code != 0 {
                        self.handle_partition_error(&tp, partition.error_code);
                        continue;
                    }
                    let fetched =
                        decode::records(&tp, partition.records.unwrap_or_default(), offset);
                    self.positions.insert(tp, Position::At(fetched.next_offset));
                    records.extend(fetched.records);
                }
            }
        }
        if !failed {
            self.retry_backoff.reset();
        } else if records.is_empty() {
            // A leader is down or moved: let the cluster settle before asking again.
            let pause = self.retry_backoff.next_delay();
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
        Ok(records)
    }

    fn fetch_request(
        &self,
        partitions: &[(TopicPartition, i64)],
        max_wait: Duration,
    ) -> FetchRequest {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, offset) in partitions {
            topics.entry(&tp.topic).or_default().push(
                FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_fetch_offset(*offset)
                    .with_partition_max_bytes(self.config.max_partition_fetch_bytes),
            );
        }
        FetchRequest::default()
            .with_max_wait_ms(max_wait.as_millis() as i32)
            .with_min_bytes(self.config.fetch_min_bytes)
            .with_max_bytes(52_428_800)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        FetchTopic::default()
                            .with_topic(TopicName(StrBytes::from_string(name.to_owned())))
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
    }

    fn handle_partition_error(&mut self, tp: &TopicPartition, code: i16) {
        let error = KafkaError::new(code, None);
        if error.is(kafka_protocol::error::ResponseError::OffsetOutOfRange) {
            self.positions.insert(
                tp.clone(),
                Position::Unresolved(self.config.auto_offset_reset),
            );
        } else if error.is_retriable() {
            self.cluster.invalidate(&tp.topic);
        } else {
            tracing::warn!("fetching {tp} failed: {}", error.name);
        }
    }
}
