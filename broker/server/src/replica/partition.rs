//! One partition replica hosted by this broker: its log, its idempotent-producer state and
//! its part in replication. As leader it tracks how far each follower has fetched, moves
//! the high watermark to what every in-sync replica holds, and says when the ISR should
//! shrink or grow. As follower it appends what it fetched from the leader.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use tokio::sync::Notify;
use uuid::Uuid;

use super::log_dir::LogDir;
use super::producer_state::{ProducerStates, SequenceCheck};
use crate::error::ApiError;
use crate::log::{
    validate_batches, AppendInfo, FirstBatch, LogConfig, LogError, PartitionLog, ReadResult,
};
use crate::metadata::PartitionImage;

/// How far back (in offsets) producer state is rebuilt from the log on start. Retried
/// batches are always near the tail; older producers are accepted at any sequence.
const PRODUCER_STATE_REBUILD_WINDOW: i64 = 100_000;
/// Where the high watermark survives restarts, beside the segments.
const HIGH_WATERMARK_FILE: &str = "high-watermark";

pub struct Partition {
    pub topic: String,
    pub index: i32,
    pub topic_id: Uuid,
    node_id: i32,
    /// The directory holding the log; offline after an I/O error on any of its logs.
    log_dir: Arc<LogDir>,
    log: RwLock<PartitionLog>,
    producers: Mutex<ProducerStates>,
    state: Mutex<ReplicaState>,
    /// Woken when the high watermark moves or the partition's role or ISR changes, so
    /// `acks=all` produces can re-check.
    changed: Notify,
}

/// The replication state, as this broker sees it.
#[derive(Debug)]
struct ReplicaState {
    leader: i32,
    leader_epoch: i32,
    replicas: Vec<i32>,
    /// The committed ISR, from the metadata image.
    isr: Vec<i32>,
    /// Replicas the leader asked to add to the ISR that the image does not show yet; they
    /// already count for the high watermark.
    pending_isr: Vec<i32>,
    /// The ISR last proposed to the controller and not yet seen committed.
    proposed_isr: Option<Vec<i32>>,
    high_watermark: i64,
    followers: HashMap<i32, FollowerProgress>,
    /// Set when this replica became a follower under a new epoch and must find where its
    /// log diverges from the leader's before fetching.
    needs_truncation: bool,
    min_insync_replicas: usize,
}

/// What the leader knows of one follower (Kafka's `Replica` state).
#[derive(Debug, Clone, Copy)]
struct FollowerProgress {
    log_end_offset: i64,
    last_caught_up: Instant,
    last_fetch: Instant,
    leader_end_at_last_fetch: i64,
}

/// The outcome of a leader append, as Produce reports it.
#[derive(Debug)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_append_time: i64,
    pub log_start_offset: i64,
}

/// What a follower fetch returns: the records and the leader's high watermark, and
/// whether the follower caught up enough to join the ISR.
pub struct FollowerFetch {
    pub read: ReadResult,
    pub high_watermark: i64,
    pub joins_isr: bool,
}

/// This replica's role after applying a metadata image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower {
        leader: i32,
    },
    /// The partition has no leader (every in-sync replica is down).
    Offline,
}

impl Partition {
    pub fn open(
        dir: &Path,
        topic: &str,
        index: i32,
        topic_id: Uuid,
        node_id: i32,
        config: LogConfig,
        log_dir: Arc<LogDir>,
    ) -> Result<Self, LogError> {
        let log = PartitionLog::open(dir, config, log_dir.clean_shutdown())?;
        let mut producers = ProducerStates::default();
        rebuild_producers(&log, &mut producers)?;
        let high_watermark = read_high_watermark(dir)?
            .unwrap_or(log.log_start_offset())
            .clamp(log.log_start_offset(), log.log_end_offset());
        Ok(Partition {
            topic: topic.to_string(),
            index,
            topic_id,
            node_id,
            log_dir,
            log: RwLock::new(log),
            producers: Mutex::new(producers),
            state: Mutex::new(ReplicaState {
                leader: -1,
                leader_epoch: -1,
                replicas: Vec::new(),
                isr: Vec::new(),
                pending_isr: Vec::new(),
                proposed_isr: None,
                high_watermark,
                followers: HashMap::new(),
                needs_truncation: false,
                min_insync_replicas: 1,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ReplicaState> {
        self.state.lock().expect("replica state poisoned")
    }

    /// Takes the leader, epoch, replicas and ISR of `assignment`. A new epoch as follower
    /// means the log may have diverged from the new leader's and must be checked first.
    /// Time is passed in (here and below) so simulations can drive it.
    pub fn apply_assignment(
        &self,
        assignment: &PartitionImage,
        min_insync_replicas: usize,
        now: Instant,
    ) -> Role {
        let log_end = self.log_end_offset();
        let mut state = self.state();
        let new_epoch = assignment.leader_epoch != state.leader_epoch;
        let leads = assignment.leader == self.node_id;
        if new_epoch && leads {
            state.followers = assignment
                .replicas
                .iter()
                .filter(|id| **id != self.node_id)
                .map(|id| {
                    let progress = FollowerProgress {
                        log_end_offset: -1,
                        last_caught_up: now,
                        last_fetch: now,
                        leader_end_at_last_fetch: log_end,
                    };
                    (*id, progress)
                })
                .collect();
        }
        if new_epoch && !leads {
            state.followers.clear();
            state.needs_truncation = assignment.leader >= 0;
        }
        // A reassignment changes the replicas under the same epoch: replicas it removed
        // stop counting, and those it adds are tracked from their first fetch.
        state
            .followers
            .retain(|id, _| assignment.replicas.contains(id));
        state.leader = assignment.leader;
        state.leader_epoch = assignment.leader_epoch;
        state.replicas = assignment.replicas.clone();
        state.isr = assignment.isr.clone();
        state
            .pending_isr
            .retain(|id| !assignment.isr.contains(id) && assignment.replicas.contains(id));
        state.proposed_isr = None;
        if new_epoch {
            state.pending_isr.clear();
        }
        state.min_insync_replicas = min_insync_replicas.max(1);
        if leads {
            self.advance_high_watermark(&mut state, log_end);
        }
        let role = state.role(self.node_id);
        drop(state);
        self.changed.notify_waiters();
        role
    }

    pub fn role(&self) -> Role {
        self.state().role(self.node_id)
    }

    pub fn leader_epoch(&self) -> i32 {
        self.state().leader_epoch
    }

    /// Checks a client's view of the leader epoch against ours (KIP-320): an older epoch
    /// is fenced, a newer one means our metadata lags.
    pub fn check_epoch(&self, current_leader_epoch: i32) -> Result<(), ApiError> {
        let ours = self.leader_epoch();
        if current_leader_epoch < 0 || current_leader_epoch == ours {
            Ok(())
        } else if current_leader_epoch < ours {
            Err(ResponseError::FencedLeaderEpoch.into())
        } else {
            Err(ResponseError::UnknownLeaderEpoch.into())
        }
    }

    /// Fails unless this replica leads the partition.
    pub fn check_leader(&self) -> Result<(), ApiError> {
        match self.role() {
            Role::Leader => Ok(()),
            _ => Err(ApiError::new(
                ResponseError::NotLeaderOrFollower,
                format!(
                    "Broker {} is not the leader of {}-{}",
                    self.node_id, self.topic, self.index
                ),
            )),
        }
    }

    /// Appends a Produce request's records. Kafka requires exactly one batch per partition
    /// from v3 on, which is what makes duplicate detection per batch exact. With
    /// `acks=all`, a partition whose ISR is below `min.insync.replicas` refuses the write.
    pub fn append_as_leader(
        &self,
        records: &[u8],
        now_ms: i64,
        acks_all: bool,
    ) -> Result<Appended, ApiError> {
        let headers = validate_batches(records).map_err(|e| storage_error(LogError::from(e)))?;
        let [header] = headers.as_slice() else {
            return Err(ApiError::new(
                ResponseError::InvalidRecord,
                format!(
                    "Produce requests are only allowed to contain exactly one record batch per partition, got {}",
                    headers.len()
                ),
            ));
        };
        self.check_leader()?;
        self.log_dir.check()?;
        let epoch = {
            let state = self.state();
            if acks_all && state.isr.len() < state.min_insync_replicas {
                return Err(ApiError::new(
                    ResponseError::NotEnoughReplicas,
                    format!(
                        "The in-sync replicas of {}-{} ({:?}) are fewer than min.insync.replicas ({})",
                        self.topic, self.index, state.isr, state.min_insync_replicas
                    ),
                ));
            }
            state.leader_epoch
        };
        let mut log = self.log.write().expect("log lock poisoned");
        let mut producers = self.producers.lock().expect("producer lock poisoned");
        if let SequenceCheck::Duplicate { base_offset } = producers.check(header)? {
            return Ok(Appended {
                base_offset,
                last_offset: base_offset + header.last_offset_delta as i64,
                log_append_time: -1,
                log_start_offset: log.log_start_offset(),
            });
        }
        let AppendInfo {
            base_offset,
            last_offset,
            log_append_time,
            log_start_offset,
        } = log
            .append(records, epoch, now_ms)
            .map_err(|e| self.disk_error(e))?;
        producers.record(header, base_offset);
        let log_end = log.log_end_offset();
        drop(producers);
        drop(log);
        let mut state = self.state();
        self.advance_high_watermark(&mut state, log_end);
        Ok(Appended {
            base_offset,
            last_offset,
            log_append_time,
            log_start_offset,
        })
    }

    /// Waits until `last_offset` is below the high watermark (every in-sync replica has
    /// it), for `acks=all`. Fails if leadership moves or the ISR falls below
    /// `min.insync.replicas` meanwhile, or after `timeout`.
    pub async fn wait_for_replication(
        &self,
        last_offset: i64,
        timeout: Duration,
    ) -> Result<(), ApiError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let state = self.state();
                if state.role(self.node_id) != Role::Leader {
                    return Err(ApiError::new(
                        ResponseError::NotLeaderOrFollower,
                        "Leadership moved before the records were replicated",
                    ));
                }
                // Kafka's rule: records below the high watermark are acknowledged only while
                // the ISR still holds min.insync.replicas. An ISR shrunk to fewer (followers
                // that lagged) also moves the high watermark, past records no follower has.
                let enough_replicas = state.isr.len() >= state.min_insync_replicas;
                if state.high_watermark > last_offset && enough_replicas {
                    return Ok(());
                }
                if !enough_replicas {
                    return Err(ApiError::new(
                        ResponseError::NotEnoughReplicasAfterAppend,
                        format!(
                            "The records were written, but the in-sync replicas of {}-{} fell below min.insync.replicas ({}) before they were replicated",
                            self.topic, self.index, state.min_insync_replicas
                        ),
                    ));
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(ApiError::new(
                    ResponseError::RequestTimedOut,
                    "The records were not replicated to every in-sync replica in time",
                ));
            }
        }
    }

    /// Moves the high watermark to the smallest log end offset among the in-sync replicas
    /// (and those being added). It never moves back.
    fn advance_high_watermark(&self, state: &mut ReplicaState, leader_end: i64) {
        let mut candidate = leader_end;
        for id in state.isr.iter().chain(&state.pending_isr) {
            if *id == self.node_id {
                continue;
            }
            let follower_end = state.followers.get(id).map_or(-1, |f| f.log_end_offset);
            candidate = candidate.min(follower_end);
        }
        if candidate > state.high_watermark {
            state.high_watermark = candidate;
            self.changed.notify_waiters();
        }
    }

    /// A consumer's read: leader only, up to the high watermark.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        first_batch: FirstBatch,
    ) -> Result<ReadResult, ApiError> {
        self.check_leader()?;
        self.log_dir.check()?;
        let high_watermark = self.high_watermark();
        let log = self.log.read().expect("log lock poisoned");
        let mut read = log
            .read(offset, max_bytes, high_watermark, first_batch)
            .map_err(|e| self.disk_error(e))?;
        read.log_end_offset = high_watermark;
        Ok(read)
    }

    /// Reads this replica's own log up to its end, whatever its role: for replaying
    /// `__consumer_offsets` when this broker becomes a group coordinator.
    pub fn read_local(&self, offset: i64, max_bytes: usize) -> Result<ReadResult, ApiError> {
        self.log_dir.check()?;
        let log = self.log.read().expect("log lock poisoned");
        log.read(offset, max_bytes, i64::MAX, FirstBatch::Whole)
            .map_err(|e| self.disk_error(e))
    }

    /// A follower's fetch: records up to the leader's log end, and the follower's progress
    /// noted. Its fetch offset is its log end offset, which may move the high watermark.
    pub fn read_for_follower(
        &self,
        follower: i32,
        fetch_offset: i64,
        max_bytes: usize,
        first_batch: FirstBatch,
        now: Instant,
    ) -> Result<FollowerFetch, ApiError> {
        self.check_leader()?;
        self.log_dir.check()?;
        let log = self.log.read().expect("log lock poisoned");
        let leader_end = log.log_end_offset();
        let read = log
            .read(fetch_offset, max_bytes, i64::MAX, first_batch)
            .map_err(|e| self.disk_error(e))?;
        let epoch_start = log
            .latest_epoch()
            .and_then(|epoch| log.end_offset_for_epoch(epoch - 1))
            .map_or(0, |(_, end)| end);
        drop(log);
        let mut state = self.state();
        if !state.replicas.contains(&follower) {
            return Err(ApiError::new(
                ResponseError::NotLeaderOrFollower,
                format!(
                    "Broker {follower} is not a replica of {}-{}",
                    self.topic, self.index
                ),
            ));
        }
        let progress = state.followers.entry(follower).or_insert(FollowerProgress {
            log_end_offset: -1,
            last_caught_up: now,
            last_fetch: now,
            leader_end_at_last_fetch: leader_end,
        });
        // Kafka's rule: caught up now if at the leader's end, or as of the previous fetch
        // if this one reaches where the leader's end was then.
        if fetch_offset >= leader_end {
            progress.last_caught_up = now;
        } else if fetch_offset >= progress.leader_end_at_last_fetch {
            progress.last_caught_up = progress.last_fetch;
        }
        progress.log_end_offset = fetch_offset;
        progress.last_fetch = now;
        progress.leader_end_at_last_fetch = leader_end;
        self.advance_high_watermark(&mut state, leader_end);
        let joins_isr = !state.isr.contains(&follower)
            && !state.pending_isr.contains(&follower)
            && fetch_offset >= state.high_watermark
            && fetch_offset >= epoch_start;
        if joins_isr {
            state.pending_isr.push(follower);
            if let Some(progress) = state.followers.get_mut(&follower) {
                progress.last_caught_up = now;
            }
        }
        Ok(FollowerFetch {
            read,
            high_watermark: state.high_watermark,
            joins_isr,
        })
    }

    /// The ISR this leader wants, when it differs from the committed one and was not
    /// proposed yet: followers that joined are added, followers that have not caught up
    /// within `max_lag` (`replica.lag.time.max.ms`) are dropped. The leader always stays.
    pub fn wanted_isr(&self, max_lag: Duration, now: Instant) -> Option<Vec<i32>> {
        let mut state = self.state();
        if state.role(self.node_id) != Role::Leader {
            return None;
        }
        let wanted: Vec<i32> = state
            .replicas
            .iter()
            .copied()
            .filter(|id| state.isr.contains(id) || state.pending_isr.contains(id))
            .filter(|id| {
                *id == self.node_id
                    || state
                        .followers
                        .get(id)
                        .is_some_and(|f| now.duration_since(f.last_caught_up) <= max_lag)
            })
            .collect();
        let unchanged =
            wanted.len() == state.isr.len() && wanted.iter().all(|id| state.isr.contains(id));
        if unchanged || state.proposed_isr.as_ref() == Some(&wanted) {
            return None;
        }
        state.proposed_isr = Some(wanted.clone());
        Some(wanted)
    }

    /// The controller refused the proposed ISR (a newer epoch, or a fenced follower):
    /// forget the proposal and the additions so neither holds the high watermark back.
    pub fn isr_proposal_failed(&self) {
        let mut state = self.state();
        state.proposed_isr = None;
        state.pending_isr.clear();
    }

    /// Appends batches fetched from the leader and follows its high watermark.
    pub fn append_as_follower(
        &self,
        records: &[u8],
        leader_high_watermark: i64,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        self.log_dir.check()?;
        let mut log = self.log.write().expect("log lock poisoned");
        if !records.is_empty() {
            let headers = validate_batches(records).map_err(|e| storage_error(e.into()))?;
            log.append_as_follower(records, now_ms)
                .map_err(|e| self.disk_error(e))?;
            let mut producers = self.producers.lock().expect("producer lock poisoned");
            for header in &headers {
                producers.record(header, header.base_offset);
            }
        }
        let log_end = log.log_end_offset();
        drop(log);
        let mut state = self.state();
        let high_watermark = leader_high_watermark.min(log_end);
        if high_watermark > state.high_watermark {
            state.high_watermark = high_watermark;
        }
        Ok(())
    }

    /// The leader does not have our fetch offset: find the divergence point again.
    pub fn request_truncation(&self) {
        self.state().needs_truncation = true;
    }

    /// The follower's side of OffsetForLeaderEpoch: whether it must ask, and which epoch.
    pub fn truncation_epoch(&self) -> Option<i32> {
        if !self.state().needs_truncation {
            return None;
        }
        let latest = self.log.read().expect("log lock poisoned").latest_epoch();
        if latest.is_none() {
            self.state().needs_truncation = false;
        }
        latest
    }

    /// Truncates to where this log diverges from the leader's: the leader's end offset for
    /// the largest epoch both know (`leader_epoch`, `leader_end`), or this log's own end
    /// for that epoch if smaller.
    pub fn truncate_to_leader(&self, leader_epoch: i32, leader_end: i64) -> Result<(), ApiError> {
        self.log_dir.check()?;
        let mut log = self.log.write().expect("log lock poisoned");
        let target = if leader_epoch < 0 || leader_end < 0 {
            self.state().high_watermark
        } else {
            let ours = log
                .end_offset_for_epoch(leader_epoch)
                .map_or(log.log_start_offset(), |(_, end)| end);
            ours.min(leader_end)
        };
        if target < log.log_end_offset() {
            tracing::info!(topic = %self.topic, partition = self.index, from = log.log_end_offset(), to = target, "truncating diverged follower log");
            log.truncate_to(target).map_err(|e| self.disk_error(e))?;
            let mut producers = ProducerStates::default();
            rebuild_producers(&log, &mut producers).map_err(|e| self.disk_error(e))?;
            *self.producers.lock().expect("producer lock poisoned") = producers;
        }
        let log_end = log.log_end_offset();
        drop(log);
        let mut state = self.state();
        state.high_watermark = state.high_watermark.min(log_end);
        state.needs_truncation = false;
        Ok(())
    }

    /// The leader no longer has our fetch offset (it is below its log start): start over
    /// at the leader's log start.
    pub fn restart_at(&self, offset: i64) -> Result<(), ApiError> {
        self.log_dir.check()?;
        self.log
            .write()
            .expect("log lock poisoned")
            .restart_at(offset)
            .map_err(|e| self.disk_error(e))?;
        *self.producers.lock().expect("producer lock poisoned") = ProducerStates::default();
        self.state().high_watermark = offset;
        Ok(())
    }

    /// OffsetForLeaderEpoch on the leader: the largest epoch not above `epoch` and its end.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.log
            .read()
            .expect("log lock poisoned")
            .end_offset_for_epoch(epoch)
    }

    pub fn high_watermark(&self) -> i64 {
        self.state().high_watermark
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log.read().expect("log lock poisoned").log_end_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log
            .read()
            .expect("log lock poisoned")
            .log_start_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.log.read().expect("log lock poisoned").size_bytes()
    }

    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, ApiError> {
        let log = self.log.read().expect("log lock poisoned");
        log.offset_for_timestamp(timestamp)
            .map_err(|e| self.disk_error(e))
    }

    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, ApiError> {
        let log = self.log.read().expect("log lock poisoned");
        log.max_timestamp().map_err(|e| self.disk_error(e))
    }

    /// DeleteRecords: `offset` -1 means the high watermark, as in Kafka.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ApiError> {
        self.check_leader()?;
        self.log_dir.check()?;
        let high_watermark = self.high_watermark();
        let mut log = self.log.write().expect("log lock poisoned");
        let target = if offset == -1 { high_watermark } else { offset };
        if target < 0 || target > high_watermark {
            return Err(ApiError::new(
                ResponseError::OffsetOutOfRange,
                format!(
                    "Cannot delete records before offset {offset}: the high watermark is {high_watermark}"
                ),
            ));
        }
        log.delete_records_before(target)
            .map_err(|e| self.disk_error(e))
    }

    pub fn update_config(&self, config: LogConfig) {
        self.log
            .write()
            .expect("log lock poisoned")
            .update_config(config);
    }

    pub fn apply_retention(&self, now_ms: i64) -> Result<usize, ApiError> {
        self.log_dir.check()?;
        self.log
            .write()
            .expect("log lock poisoned")
            .apply_retention(now_ms)
            .map_err(|e| self.disk_error(e))
    }

    /// Syncs the segments that rolls closed since the last call, outside the log's lock so
    /// appends go on meanwhile. A failed sync takes the log directory offline.
    pub fn sync_rolled_segments(&self) -> Result<(), ApiError> {
        let pending = {
            let log = self.log.read().expect("log lock poisoned");
            if !log.has_unsynced() {
                return Ok(());
            }
            log.unsynced_segments().map_err(|e| self.disk_error(e))?
        };
        let mut synced = Vec::with_capacity(pending.len());
        for (base, sync) in pending {
            sync.sync().map_err(|e| self.disk_error(e.into()))?;
            synced.push(base);
        }
        self.log
            .write()
            .expect("log lock poisoned")
            .mark_synced(&synced);
        Ok(())
    }

    /// Writes buffered data and the high watermark to disk.
    pub fn flush(&self) -> Result<(), ApiError> {
        self.log_dir.check()?;
        let mut log = self.log.write().expect("log lock poisoned");
        log.flush()
            .and_then(|()| write_high_watermark(log.dir(), self.high_watermark()))
            .map_err(|e| self.disk_error(e))
    }

    /// Maps a storage failure to the client's error; an I/O error takes the log
    /// directory offline first.
    fn disk_error(&self, error: LogError) -> ApiError {
        match error {
            LogError::Io(error) => {
                tracing::error!(topic = %self.topic, partition = self.index, %error, "log I/O failed");
                self.log_dir.fail(&error)
            }
            other => storage_error(other),
        }
    }

    /// Removes the partition's directory; the partition must no longer be reachable.
    pub fn delete(self) -> Result<(), LogError> {
        self.log.into_inner().expect("log lock poisoned").delete()
    }
}

impl ReplicaState {
    fn role(&self, node_id: i32) -> Role {
        if self.leader == node_id {
            Role::Leader
        } else if self.leader >= 0 {
            Role::Follower {
                leader: self.leader,
            }
        } else {
            Role::Offline
        }
    }
}

fn rebuild_producers(log: &PartitionLog, producers: &mut ProducerStates) -> Result<(), LogError> {
    let from = (log.log_end_offset() - PRODUCER_STATE_REBUILD_WINDOW).max(log.log_start_offset());
    for header in log.batch_headers(from)? {
        producers.record(&header, header.base_offset);
    }
    Ok(())
}

fn read_high_watermark(dir: &Path) -> Result<Option<i64>, LogError> {
    match std::fs::read_to_string(dir.join(HIGH_WATERMARK_FILE)) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn write_high_watermark(dir: &Path, offset: i64) -> Result<(), LogError> {
    crate::durable_file::replace(
        &dir.join(HIGH_WATERMARK_FILE),
        offset.to_string().as_bytes(),
    )?;
    Ok(())
}

/// Maps storage failures to the Kafka error a client can act on.
fn storage_error(error: LogError) -> ApiError {
    match error {
        LogError::OffsetOutOfRange {
            offset,
            log_start_offset,
            log_end_offset,
        } => ApiError::new(
            ResponseError::OffsetOutOfRange,
            format!("Offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"),
        ),
        LogError::Batch(error) => ApiError::new(error.response_error(), error.to_string()),
        other => {
            tracing::error!(error = %other, "storage error");
            ApiError::new(ResponseError::KafkaStorageError, other.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch_tests::encode_batch;
    use kafka_protocol::records::Compression;

    const LEADER: i32 = 1;
    const FOLLOWER: i32 = 2;

    fn partition(dir: &Path) -> Partition {
        let log_dir = Arc::new(LogDir::open(dir).unwrap());
        Partition::open(
            &dir.join("t-0"),
            "t",
            0,
            Uuid::from_u128(1),
            LEADER,
            LogConfig::default(),
            log_dir,
        )
        .unwrap()
    }

    fn lead(partition: &Partition, isr: Vec<i32>, min_insync_replicas: usize) {
        let assignment = PartitionImage {
            replicas: vec![LEADER, FOLLOWER],
            leader: LEADER,
            leader_epoch: 3,
            isr,
            ..PartitionImage::default()
        };
        partition.apply_assignment(&assignment, min_insync_replicas, Instant::now());
    }

    fn batch() -> Vec<u8> {
        encode_batch(2, 0, Compression::None)
    }

    #[test]
    fn the_high_watermark_waits_for_every_in_sync_follower() {
        let dir = tempfile::tempdir().unwrap();
        let partition = partition(dir.path());
        lead(&partition, vec![LEADER, FOLLOWER], 1);
        let appended = partition.append_as_leader(&batch(), 0, true).unwrap();
        assert_eq!((appended.base_offset, appended.last_offset), (0, 1));
        assert_eq!(partition.high_watermark(), 0);
        partition
            .read_for_follower(FOLLOWER, 2, 1 << 20, FirstBatch::Whole, Instant::now())
            .unwrap();
        assert_eq!(partition.high_watermark(), 2);
    }

    #[test]
    fn acks_all_is_refused_below_min_insync_replicas() {
        let dir = tempfile::tempdir().unwrap();
        let partition = partition(dir.path());
        lead(&partition, vec![LEADER], 2);
        let refused = partition.append_as_leader(&batch(), 0, true).unwrap_err();
        assert_eq!(refused.error, ResponseError::NotEnoughReplicas);
        assert!(partition.append_as_leader(&batch(), 0, false).is_ok());
    }

    #[test]
    fn a_lagging_follower_leaves_the_isr_and_a_caught_up_one_joins() {
        let dir = tempfile::tempdir().unwrap();
        let partition = partition(dir.path());
        lead(&partition, vec![LEADER, FOLLOWER], 1);
        partition.append_as_leader(&batch(), 0, false).unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(
            partition.wanted_isr(Duration::from_secs(30), later),
            Some(vec![LEADER])
        );
        lead(&partition, vec![LEADER], 1);
        let fetch = partition
            .read_for_follower(FOLLOWER, 2, 1 << 20, FirstBatch::Whole, Instant::now())
            .unwrap();
        assert!(fetch.joins_isr);
    }

    #[test]
    fn an_offline_log_directory_answers_with_a_storage_error() {
        let dir = tempfile::tempdir().unwrap();
        let partition = partition(dir.path());
        lead(&partition, vec![LEADER], 1);
        partition.append_as_leader(&batch(), 0, false).unwrap();
        partition
            .log_dir
            .fail(&std::io::Error::from_raw_os_error(libc::ENOSPC));
        for refused in [
            partition.append_as_leader(&batch(), 0, false).err(),
            partition.read(0, 1 << 20, FirstBatch::Whole).err(),
            partition.flush().err(),
        ] {
            assert_eq!(
                refused.map(|e| e.error),
                Some(ResponseError::KafkaStorageError)
            );
        }
    }

    #[tokio::test]
    async fn records_are_not_acknowledged_when_the_isr_shrinks_below_min_insync_replicas() {
        let dir = tempfile::tempdir().unwrap();
        let partition = partition(dir.path());
        lead(&partition, vec![LEADER, FOLLOWER], 2);
        let appended = partition.append_as_leader(&batch(), 0, true).unwrap();
        // The follower lagged and left the ISR: the high watermark passes the records,
        // which only the leader holds.
        lead(&partition, vec![LEADER], 2);
        assert_eq!(partition.high_watermark(), 2);
        let refused = partition
            .wait_for_replication(appended.last_offset, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(refused.error, ResponseError::NotEnoughReplicasAfterAppend);
    }

    #[tokio::test]
    async fn records_every_in_sync_replica_holds_are_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let partition = partition(dir.path());
        lead(&partition, vec![LEADER, FOLLOWER], 2);
        let appended = partition.append_as_leader(&batch(), 0, true).unwrap();
        partition
            .read_for_follower(FOLLOWER, 2, 1 << 20, FirstBatch::Whole, Instant::now())
            .unwrap();
        partition
            .wait_for_replication(appended.last_offset, Duration::from_secs(5))
            .await
            .unwrap();
    }
}
