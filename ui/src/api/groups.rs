//! Consumer groups: the list with members and total lag, one group's members and
//! per-partition offsets and lag (also as a live stream), resetting a stopped group's
//! offsets, and deleting a group.
//!
//! Lag follows `kafka-consumer-groups --describe`: a partition's end offset minus the
//! group's committed offset, never below zero, and unknown ("-") without both. The `list`
//! and `describe` functions are what both the JSON API and the pages show.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use potok_client::admin::{GroupDescription, OffsetSpec};
use potok_client::shutdown::Shutdown;
use potok_client::{ClientError, TopicPartition};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::error::{UiError, UiResult};
use crate::server::AppState;

/// How often the live stream sends a group's offsets.
const LIVE_INTERVAL: Duration = Duration::from_secs(2);

/// How many groups the list describes at the same time.
const DESCRIBE_CONCURRENCY: usize = 8;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/consumer-groups", get(list_handler))
        .route(
            "/clusters/{cluster}/consumer-groups/{group}",
            get(describe_handler).delete(delete_handler),
        )
        .route(
            "/clusters/{cluster}/consumer-groups/{group}/offsets",
            post(reset_handler),
        )
        .route(
            "/clusters/{cluster}/consumer-groups/{group}/live",
            get(live_handler),
        )
}

/// A group as the list shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummary {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    /// How many members the group has.
    pub members: usize,
    /// The topics the group has committed offsets in, sorted.
    pub topics: Vec<String>,
    /// The sum of the partitions' lag; `None` when it cannot be known.
    pub lag: Option<i64>,
}

/// The broker coordinating a group.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coordinator {
    pub id: i32,
    /// `host:port` as the cluster advertises it.
    pub address: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedPartition {
    pub topic: String,
    pub partition: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<AssignedPartition>,
}

/// One partition the group consumes or has committed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetRow {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset; `None` when it has not committed one.
    pub committed: Option<i64>,
    /// The partition's end offset (high watermark); `None` when it could not be read.
    pub end: Option<i64>,
    pub lag: Option<i64>,
    /// The member the partition is assigned to.
    pub member_id: Option<String>,
}

/// One group with its members and offsets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDetail {
    pub group_id: String,
    pub state: String,
    /// The assignment strategy the members agreed on ("range", ...).
    pub protocol: String,
    pub protocol_type: String,
    pub coordinator: Coordinator,
    pub members: Vec<Member>,
    pub offsets: Vec<OffsetRow>,
    pub lag: Option<i64>,
}

impl GroupDetail {
    /// The topics of the group's offsets, sorted, each once.
    pub fn topics(&self) -> Vec<&str> {
        let topics: BTreeSet<&str> = self.offsets.iter().map(|o| o.topic.as_str()).collect();
        topics.into_iter().collect()
    }
}

/// A partition's lag: how far its end is past the committed offset.
pub fn partition_lag(committed: Option<i64>, end: Option<i64>) -> Option<i64> {
    Some((end? - committed?).max(0))
}

/// The group's total lag. Partitions without a committed offset have no lag to count; the
/// total is unknown when no partition has one, or when one's end offset is unknown (a sum
/// without it would read as less lag than there is).
pub fn total_lag(rows: &[OffsetRow]) -> Option<i64> {
    let committed: Vec<&OffsetRow> = rows.iter().filter(|r| r.committed.is_some()).collect();
    if committed.is_empty() {
        return None;
    }
    committed
        .iter()
        .try_fold(0i64, |sum, r| Some(sum.saturating_add(r.lag?)))
}

/// One row per partition that has a committed offset or an owner, sorted by partition.
fn offset_rows(
    committed: &BTreeMap<TopicPartition, i64>,
    owners: &BTreeMap<TopicPartition, String>,
    ends: &BTreeMap<TopicPartition, i64>,
) -> Vec<OffsetRow> {
    let partitions: BTreeSet<&TopicPartition> = committed.keys().chain(owners.keys()).collect();
    partitions
        .into_iter()
        .map(|tp| {
            let current = committed.get(tp).copied();
            let end = ends.get(tp).copied();
            OffsetRow {
                topic: tp.topic.clone(),
                partition: tp.partition,
                committed: current,
                end,
                lag: partition_lag(current, end),
                member_id: owners.get(tp).cloned(),
            }
        })
        .collect()
}

/// Kafka describes a group it does not know as Dead, without members or offsets.
fn is_unknown(state: &str, members: usize, committed: usize) -> bool {
    state == "Dead" && members == 0 && committed == 0
}

fn unknown_group(group: &str) -> UiError {
    UiError::new(
        StatusCode::NOT_FOUND,
        "GROUP_ID_NOT_FOUND",
        format!("consumer group '{group}' does not exist"),
    )
}

/// Turns a client error about `group` into the console's, naming the group when the
/// cluster does not know it.
fn group_error(cluster: &ClusterHandle, group: &str, error: ClientError) -> UiError {
    match error.kafka() {
        Some(kafka) if kafka.name == "GROUP_ID_NOT_FOUND" => unknown_group(group),
        _ => cluster.error(error),
    }
}

/// Offsets may only be set in a group with no consumers running (Kafka's
/// `kafka-consumer-groups --reset-offsets --execute` refuses otherwise too).
fn check_stopped(group: &str, state: &str, members: usize) -> UiResult<()> {
    if members == 0 && matches!(state, "Empty" | "Dead") {
        return Ok(());
    }
    Err(UiError::new(
        StatusCode::CONFLICT,
        "NON_EMPTY_GROUP",
        format!(
            "consumer group '{group}' is {state} with {members} member{}; stop its consumers before resetting offsets",
            if members == 1 { "" } else { "s" }
        ),
    ))
}

/// The end offset of each partition; partitions whose lookup fails are left out, so their
/// lag reads as unknown.
async fn end_offsets(
    cluster: &ClusterHandle,
    partitions: &[TopicPartition],
) -> BTreeMap<TopicPartition, i64> {
    offsets_at(cluster, partitions, OffsetSpec::Latest)
        .await
        .into_iter()
        .filter_map(|(tp, offset)| Some((tp, offset.ok()?)))
        .collect()
}

/// Each partition's offset for `spec`, or why it could not be read.
async fn offsets_at(
    cluster: &ClusterHandle,
    partitions: &[TopicPartition],
    spec: OffsetSpec,
) -> BTreeMap<TopicPartition, Result<i64, String>> {
    if partitions.is_empty() {
        return BTreeMap::new();
    }
    let specs: Vec<(TopicPartition, OffsetSpec)> =
        partitions.iter().map(|tp| (tp.clone(), spec)).collect();
    match cluster.admin.list_offsets(&specs).await {
        Ok(listed) => listed
            .into_iter()
            .map(|(tp, result)| (tp, result.map(|o| o.offset).map_err(|e| e.to_string())))
            .collect(),
        Err(error) => partitions
            .iter()
            .map(|tp| (tp.clone(), Err(error.to_string())))
            .collect(),
    }
}

/// Every group of the cluster, sorted by id, with its member count and total lag.
pub async fn list(cluster: &ClusterHandle) -> UiResult<Vec<GroupSummary>> {
    let listings = cluster
        .admin
        .list_groups()
        .await
        .map_err(|e| cluster.error(e))?;
    let described: Vec<UiResult<(GroupDescription, BTreeMap<TopicPartition, i64>)>> =
        futures_util::stream::iter(listings)
            .map(|listing| async move {
                let group = listing.group_id;
                let (description, committed) = tokio::join!(
                    cluster.admin.describe_group(&group),
                    cluster.admin.group_offsets(&group)
                );
                Ok((
                    description.map_err(|e| group_error(cluster, &group, e))?,
                    committed.map_err(|e| group_error(cluster, &group, e))?,
                ))
            })
            .buffered(DESCRIBE_CONCURRENCY)
            .collect()
            .await;
    let described = described.into_iter().collect::<UiResult<Vec<_>>>()?;
    let partitions: Vec<TopicPartition> = described
        .iter()
        .flat_map(|(_, committed)| committed.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ends = end_offsets(cluster, &partitions).await;
    let mut groups: Vec<GroupSummary> = described
        .into_iter()
        .map(|(description, committed)| {
            let rows = offset_rows(&committed, &BTreeMap::new(), &ends);
            let topics: BTreeSet<String> = committed.keys().map(|tp| tp.topic.clone()).collect();
            GroupSummary {
                lag: total_lag(&rows),
                members: description.members.len(),
                topics: topics.into_iter().collect(),
                group_id: description.group_id,
                state: description.state,
                protocol_type: description.protocol_type,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    Ok(groups)
}

/// One group's members, and the offsets and lag of every partition it has committed in or
/// is assigned.
pub async fn describe(cluster: &ClusterHandle, group: &str) -> UiResult<GroupDetail> {
    let (description, committed) = tokio::join!(
        cluster.admin.describe_group(group),
        cluster.admin.group_offsets(group)
    );
    let description = description.map_err(|e| group_error(cluster, group, e))?;
    let committed = committed.map_err(|e| group_error(cluster, group, e))?;
    if is_unknown(
        &description.state,
        description.members.len(),
        committed.len(),
    ) {
        return Err(unknown_group(group));
    }
    let owners: BTreeMap<TopicPartition, String> = description
        .members
        .iter()
        .flat_map(|m| {
            m.assignment
                .iter()
                .map(|tp| (tp.clone(), m.member_id.clone()))
        })
        .collect();
    let partitions: Vec<TopicPartition> = committed
        .keys()
        .chain(owners.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ends = end_offsets(cluster, &partitions).await;
    let offsets = offset_rows(&committed, &owners, &ends);
    Ok(GroupDetail {
        lag: total_lag(&offsets),
        offsets,
        group_id: description.group_id,
        state: description.state,
        protocol: description.protocol,
        protocol_type: description.protocol_type,
        coordinator: Coordinator {
            id: description.coordinator,
            address: description.coordinator_address,
        },
        members: description
            .members
            .into_iter()
            .map(|m| Member {
                member_id: m.member_id,
                client_id: m.client_id,
                host: m.host,
                assignment: m
                    .assignment
                    .into_iter()
                    .map(|tp| AssignedPartition {
                        topic: tp.topic,
                        partition: tp.partition,
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// Where to move a group's committed offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTarget {
    /// Each partition's log start.
    Earliest,
    /// Each partition's end: the group skips what it has not read.
    Latest,
    /// This offset, kept within each partition's log.
    Offset(i64),
    /// The first record at or after this time (ms since the epoch), or the end.
    Timestamp(i64),
}

impl std::fmt::Display for ResetTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResetTarget::Earliest => f.write_str("earliest"),
            ResetTarget::Latest => f.write_str("latest"),
            ResetTarget::Offset(offset) => write!(f, "offset {offset}"),
            ResetTarget::Timestamp(ms) => match chrono::DateTime::from_timestamp_millis(*ms) {
                Some(time) => write!(
                    f,
                    "timestamp {ms} ({})",
                    time.format("%Y-%m-%dT%H:%M:%S%.3fZ")
                ),
                None => write!(f, "timestamp {ms}"),
            },
        }
    }
}

/// Which partitions a reset moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetScope {
    /// Every partition the group has a committed offset in.
    AllTopics,
    /// One topic: all its partitions, or one.
    Topic {
        topic: String,
        partition: Option<i32>,
    },
}

impl std::fmt::Display for ResetScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResetScope::AllTopics => f.write_str("all its topics"),
            ResetScope::Topic {
                topic,
                partition: None,
            } => write!(f, "topic {topic}"),
            ResetScope::Topic {
                topic,
                partition: Some(p),
            } => write!(f, "partition {topic}-{p}"),
        }
    }
}

/// The body of `POST .../consumer-groups/{group}/offsets`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    /// `earliest`, `latest`, `offset` or `timestamp`.
    pub to: String,
    /// The group's topics with committed offsets when left out (or empty).
    #[serde(default)]
    pub topic: Option<String>,
    /// Every partition of `topic` when left out.
    #[serde(default)]
    pub partition: Option<i32>,
    /// For `to: offset`.
    #[serde(default)]
    pub offset: Option<i64>,
    /// For `to: timestamp`, in ms since the epoch.
    #[serde(default)]
    pub timestamp: Option<i64>,
}

impl ResetRequest {
    /// What the request asks for, or a 400 saying how to ask.
    pub fn target(&self) -> UiResult<ResetTarget> {
        match self.to.trim().to_ascii_lowercase().as_str() {
            "earliest" => Ok(ResetTarget::Earliest),
            "latest" => Ok(ResetTarget::Latest),
            "offset" => match self.offset {
                Some(offset) if offset >= 0 => Ok(ResetTarget::Offset(offset)),
                Some(offset) => Err(UiError::bad_request(format!(
                    "offset {offset} is negative; give an offset of 0 or more"
                ))),
                None => Err(UiError::bad_request(
                    "to: \"offset\" needs the offset to reset to, as \"offset\": 42",
                )),
            },
            "timestamp" => match self.timestamp {
                Some(ms) if ms >= 0 => Ok(ResetTarget::Timestamp(ms)),
                Some(ms) => Err(UiError::bad_request(format!(
                    "timestamp {ms} is before 1970; give milliseconds since the epoch"
                ))),
                None => Err(UiError::bad_request(
                    "to: \"timestamp\" needs the time to reset to, as \"timestamp\": milliseconds since the epoch",
                )),
            },
            other => Err(UiError::bad_request(format!(
                "'{other}' is not a place to reset offsets to; use \"to\": \"earliest\", \"latest\", \"offset\" (with \"offset\") or \"timestamp\" (with \"timestamp\" in ms)"
            ))),
        }
    }

    /// The partitions the request names, or a 400 when it names a partition without its topic.
    pub fn scope(&self) -> UiResult<ResetScope> {
        let topic = self
            .topic
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        match (topic, self.partition) {
            (None, None) => Ok(ResetScope::AllTopics),
            (None, Some(_)) => Err(UiError::bad_request(
                "a partition needs its topic; add \"topic\" or leave \"partition\" out to reset every topic",
            )),
            (Some(_), Some(p)) if p < 0 => Err(UiError::bad_request(format!(
                "partition {p} is negative; partitions count from 0"
            ))),
            (Some(topic), partition) => Ok(ResetScope::Topic {
                topic: topic.to_string(),
                partition,
            }),
        }
    }
}

/// The offset a reset moves a partition to, kept within its log (`low`..=`high`) as
/// Kafka does; `at_time` is the timestamp lookup's answer (-1 or `None`: no record that
/// late, so the end).
pub fn reset_offset(target: ResetTarget, low: i64, high: i64, at_time: Option<i64>) -> i64 {
    let wanted = match target {
        ResetTarget::Earliest => low,
        ResetTarget::Latest => high,
        ResetTarget::Offset(offset) => offset,
        ResetTarget::Timestamp(_) => at_time.filter(|o| *o >= 0).unwrap_or(high),
    };
    wanted.clamp(low, high.max(low))
}

/// The partitions `scope` names in `group`.
async fn reset_partitions(
    cluster: &ClusterHandle,
    group: &str,
    scope: &ResetScope,
    committed: &BTreeMap<TopicPartition, i64>,
) -> UiResult<Vec<TopicPartition>> {
    match scope {
        ResetScope::AllTopics if committed.is_empty() => Err(UiError::bad_request(format!(
            "consumer group '{group}' has no committed offsets; name the topic to reset"
        ))),
        ResetScope::AllTopics => Ok(committed.keys().cloned().collect()),
        ResetScope::Topic { topic, partition } => {
            let metadata = cluster
                .admin
                .cluster()
                .refresh_topic(topic, false)
                .await
                .map_err(|e| match e.kafka() {
                    Some(k) if k.name == "UNKNOWN_TOPIC_OR_PARTITION" => UiError::new(
                        StatusCode::NOT_FOUND,
                        "UNKNOWN_TOPIC_OR_PARTITION",
                        format!("topic '{topic}' does not exist"),
                    ),
                    _ => cluster.error(e),
                })?;
            let all = metadata.partitions.iter().map(|p| p.partition);
            match partition {
                None => Ok(all.map(|p| TopicPartition::new(topic.clone(), p)).collect()),
                Some(p) if metadata.partitions.iter().any(|m| m.partition == *p) => {
                    Ok(vec![TopicPartition::new(topic.clone(), *p)])
                }
                Some(p) => Err(UiError::new(
                    StatusCode::NOT_FOUND,
                    "UNKNOWN_TOPIC_OR_PARTITION",
                    format!(
                        "topic '{topic}' has no partition {p}; it has partitions 0 to {}",
                        metadata.partitions.len().saturating_sub(1)
                    ),
                )),
            }
        }
    }
}

/// Moves the committed offsets of a stopped group and answers the partitions' new rows.
pub async fn reset(
    cluster: &ClusterHandle,
    caller: &Caller,
    group: &str,
    request: &ResetRequest,
) -> UiResult<Vec<OffsetRow>> {
    let target = request.target()?;
    let scope = request.scope()?;
    caller.change(
        cluster,
        &format!("reset offsets of group {group} to {target} in {scope}"),
    )?;
    let description = cluster
        .admin
        .describe_group(group)
        .await
        .map_err(|e| group_error(cluster, group, e))?;
    check_stopped(group, &description.state, description.members.len())?;
    let committed = cluster
        .admin
        .group_offsets(group)
        .await
        .map_err(|e| group_error(cluster, group, e))?;
    let partitions = reset_partitions(cluster, group, &scope, &committed).await?;
    let (earliest, latest, at_time) = tokio::join!(
        offsets_at(cluster, &partitions, OffsetSpec::Earliest),
        offsets_at(cluster, &partitions, OffsetSpec::Latest),
        async {
            match target {
                ResetTarget::Timestamp(ms) => {
                    offsets_at(cluster, &partitions, OffsetSpec::Timestamp(ms)).await
                }
                _ => BTreeMap::new(),
            }
        }
    );
    let mut new_offsets = BTreeMap::new();
    let mut ends = BTreeMap::new();
    for tp in &partitions {
        let bound = |found: &BTreeMap<TopicPartition, Result<i64, String>>| match found.get(tp) {
            Some(Ok(offset)) => Ok(*offset),
            Some(Err(why)) => Err(unreadable(tp, why)),
            None => Err(unreadable(tp, "no leader answered")),
        };
        let (low, high) = (bound(&earliest)?, bound(&latest)?);
        let found = at_time.get(tp).and_then(|r| r.as_ref().ok()).copied();
        new_offsets.insert(tp.clone(), reset_offset(target, low, high, found));
        ends.insert(tp.clone(), high);
    }
    let results = cluster
        .admin
        .alter_group_offsets(group, &new_offsets)
        .await
        .map_err(|e| group_error(cluster, group, e))?;
    match results.into_values().find_map(Result::err) {
        // The coordinator refuses a commit from outside a group that members joined since
        // the check above.
        Some(error)
            if matches!(
                error.name.as_str(),
                "UNKNOWN_MEMBER_ID" | "ILLEGAL_GENERATION" | "REBALANCE_IN_PROGRESS"
            ) =>
        {
            return Err(UiError::new(
                StatusCode::CONFLICT,
                "NON_EMPTY_GROUP",
                format!("consumers of group '{group}' started while its offsets were being reset; stop them and try again"),
            ));
        }
        Some(error) => return Err(group_error(cluster, group, error.into())),
        None => {}
    }
    Ok(offset_rows(&new_offsets, &BTreeMap::new(), &ends))
}

fn unreadable(tp: &TopicPartition, why: &str) -> UiError {
    UiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "OFFSETS_UNAVAILABLE",
        format!(
            "the offsets of {}-{} cannot be read ({why}); nothing was reset, try again",
            tp.topic, tp.partition
        ),
    )
}

/// Deletes a group without members, with its committed offsets.
pub async fn delete(cluster: &ClusterHandle, caller: &Caller, group: &str) -> UiResult<()> {
    caller.change(cluster, &format!("delete consumer group {group}"))?;
    let results = cluster
        .admin
        .delete_groups(&[group.to_string()])
        .await
        .map_err(|e| group_error(cluster, group, e))?;
    match results.into_values().next() {
        Some(Err(error)) if error.name == "NON_EMPTY_GROUP" => Err(UiError::new(
            StatusCode::CONFLICT,
            "NON_EMPTY_GROUP",
            format!(
                "consumer group '{group}' has active members; stop its consumers before deleting it"
            ),
        )),
        Some(Err(error)) => Err(group_error(cluster, group, error.into())),
        _ => Ok(()),
    }
}

async fn list_handler(
    CurrentCluster(cluster): CurrentCluster,
) -> UiResult<Json<Vec<GroupSummary>>> {
    list(&cluster).await.map(Json)
}

async fn describe_handler(
    CurrentCluster(cluster): CurrentCluster,
    Path((_, group)): Path<(String, String)>,
) -> UiResult<Json<GroupDetail>> {
    describe(&cluster, &group).await.map(Json)
}

async fn reset_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, group)): Path<(String, String)>,
    body: Result<Json<ResetRequest>, axum::extract::rejection::JsonRejection>,
) -> UiResult<Json<Vec<OffsetRow>>> {
    let Json(request) = body.map_err(|e| UiError::bad_request(e.body_text()))?;
    reset(&cluster, &caller, &group, &request).await.map(Json)
}

async fn delete_handler(
    CurrentCluster(cluster): CurrentCluster,
    caller: Caller,
    Path((_, group)): Path<(String, String)>,
) -> UiResult<StatusCode> {
    delete(&cluster, &caller, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group's detail as event "group" at once and every [`LIVE_INTERVAL`]; a failed read
/// is sent as event "error" (`{"error", "message"}`) and the stream goes on, so the page
/// recovers when the cluster does. Ends when the client goes away or the console stops.
async fn live_handler(
    State(state): State<AppState>,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, group)): Path<(String, String)>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(live_events(cluster, group, state.stopping)).keep_alive(KeepAlive::default())
}

/// What the live stream carries between events.
struct Live {
    cluster: Arc<ClusterHandle>,
    group: String,
    stopping: Shutdown,
    first: bool,
}

fn live_events(
    cluster: Arc<ClusterHandle>,
    group: String,
    stopping: Shutdown,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let live = Live {
        cluster,
        group,
        stopping,
        first: true,
    };
    futures_util::stream::unfold(live, |mut live| async move {
        if !live.first {
            tokio::select! {
                _ = live.stopping.recv() => return None,
                _ = tokio::time::sleep(LIVE_INTERVAL) => {}
            }
        }
        live.first = false;
        let described = tokio::select! {
            _ = live.stopping.recv() => return None,
            described = describe(&live.cluster, &live.group) => described,
        };
        let event = match described {
            Ok(detail) => Event::default().event("group").json_data(&detail),
            Err(error) => Event::default()
                .event("error")
                .json_data(serde_json::json!({"error": error.code, "message": error.message})),
        };
        let event = event.unwrap_or_else(|e| Event::default().event("error").data(e.to_string()));
        Some((Ok(event), live))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    fn request(body: serde_json::Value) -> ResetRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn lag_is_end_minus_committed_and_unknown_without_both() {
        assert_eq!(partition_lag(Some(3), Some(10)), Some(7));
        assert_eq!(partition_lag(Some(10), Some(10)), Some(0));
        assert_eq!(
            partition_lag(Some(12), Some(10)),
            Some(0),
            "a truncated log is no negative lag"
        );
        assert_eq!(partition_lag(None, Some(10)), None);
        assert_eq!(partition_lag(Some(3), None), None);
    }

    #[test]
    fn rows_cover_committed_and_assigned_partitions() {
        let committed = BTreeMap::from([(tp("a", 0), 5), (tp("a", 1), 8)]);
        let owners = BTreeMap::from([
            (tp("a", 1), "m1".to_string()),
            (tp("b", 0), "m2".to_string()),
        ]);
        let ends = BTreeMap::from([(tp("a", 0), 10), (tp("a", 1), 8), (tp("b", 0), 4)]);
        let rows = offset_rows(&committed, &owners, &ends);
        let row = |topic: &str, partition, committed, end, lag, member: Option<&str>| OffsetRow {
            topic: topic.into(),
            partition,
            committed,
            end,
            lag,
            member_id: member.map(String::from),
        };
        assert_eq!(
            rows,
            vec![
                row("a", 0, Some(5), Some(10), Some(5), None),
                row("a", 1, Some(8), Some(8), Some(0), Some("m1")),
                row("b", 0, None, Some(4), None, Some("m2")),
            ]
        );
        assert_eq!(
            total_lag(&rows),
            Some(5),
            "a partition never committed adds no lag"
        );
    }

    #[test]
    fn total_lag_is_unknown_without_commits_or_with_an_unknown_end() {
        assert_eq!(total_lag(&[]), None);
        let owners = BTreeMap::from([(tp("a", 0), "m".to_string())]);
        let only_assigned = offset_rows(
            &BTreeMap::new(),
            &owners,
            &BTreeMap::from([(tp("a", 0), 9)]),
        );
        assert_eq!(total_lag(&only_assigned), None);
        let committed = BTreeMap::from([(tp("a", 0), 1), (tp("a", 1), 2)]);
        let one_end = offset_rows(
            &committed,
            &BTreeMap::new(),
            &BTreeMap::from([(tp("a", 0), 9)]),
        );
        assert_eq!(total_lag(&one_end), None);
        let both_ends = BTreeMap::from([(tp("a", 0), 9), (tp("a", 1), 4)]);
        assert_eq!(
            total_lag(&offset_rows(&committed, &BTreeMap::new(), &both_ends)),
            Some(10)
        );
    }

    #[test]
    fn only_a_dead_group_with_nothing_committed_is_unknown() {
        assert!(is_unknown("Dead", 0, 0));
        assert!(!is_unknown("Dead", 0, 3));
        assert!(!is_unknown("Empty", 0, 0));
        assert!(!is_unknown("Stable", 2, 0));
    }

    #[test]
    fn offsets_are_reset_only_in_a_stopped_group() {
        assert!(check_stopped("g", "Empty", 0).is_ok());
        assert!(check_stopped("g", "Dead", 0).is_ok());
        let running = check_stopped("g", "Stable", 2).unwrap_err();
        assert_eq!(running.status, StatusCode::CONFLICT);
        assert_eq!(running.code, "NON_EMPTY_GROUP");
        assert_eq!(
            running.message,
            "consumer group 'g' is Stable with 2 members; stop its consumers before resetting offsets"
        );
        let rebalancing = check_stopped("g", "PreparingRebalance", 1).unwrap_err();
        assert!(
            rebalancing
                .message
                .contains("PreparingRebalance with 1 member;"),
            "{}",
            rebalancing.message
        );
    }

    #[test]
    fn reset_targets_need_their_value() {
        assert_eq!(
            request(serde_json::json!({"to": "earliest"})).target(),
            Ok(ResetTarget::Earliest)
        );
        assert_eq!(
            request(serde_json::json!({"to": "Latest"})).target(),
            Ok(ResetTarget::Latest)
        );
        assert_eq!(
            request(serde_json::json!({"to": "offset", "offset": 42})).target(),
            Ok(ResetTarget::Offset(42))
        );
        assert_eq!(
            request(serde_json::json!({"to": "timestamp", "timestamp": 1700000000000i64})).target(),
            Ok(ResetTarget::Timestamp(1_700_000_000_000))
        );
        for bad in [
            serde_json::json!({"to": "offset"}),
            serde_json::json!({"to": "offset", "offset": -1}),
            serde_json::json!({"to": "timestamp"}),
            serde_json::json!({"to": "yesterday"}),
        ] {
            let error = request(bad.clone()).target().unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let missing = request(serde_json::json!({"to": "offset"}))
            .target()
            .unwrap_err();
        assert!(
            missing.message.contains("\"offset\": 42"),
            "{}",
            missing.message
        );
    }

    #[test]
    fn reset_scope_is_all_topics_one_topic_or_one_partition() {
        assert_eq!(
            request(serde_json::json!({"to": "latest"})).scope(),
            Ok(ResetScope::AllTopics)
        );
        assert_eq!(
            request(serde_json::json!({"to": "latest", "topic": ""})).scope(),
            Ok(ResetScope::AllTopics)
        );
        assert_eq!(
            request(serde_json::json!({"to": "latest", "topic": "t", "partition": 2})).scope(),
            Ok(ResetScope::Topic {
                topic: "t".into(),
                partition: Some(2)
            })
        );
        assert!(request(serde_json::json!({"to": "latest", "partition": 2}))
            .scope()
            .is_err());
        assert!(
            request(serde_json::json!({"to": "latest", "topic": "t", "partition": -1}))
                .scope()
                .is_err()
        );
        assert!(serde_json::from_value::<ResetRequest>(
            serde_json::json!({"to": "latest", "shift": 1})
        )
        .is_err());
    }

    #[test]
    fn reset_offsets_stay_within_the_log() {
        assert_eq!(reset_offset(ResetTarget::Earliest, 5, 20, None), 5);
        assert_eq!(reset_offset(ResetTarget::Latest, 5, 20, None), 20);
        assert_eq!(reset_offset(ResetTarget::Offset(12), 5, 20, None), 12);
        assert_eq!(reset_offset(ResetTarget::Offset(2), 5, 20, None), 5);
        assert_eq!(reset_offset(ResetTarget::Offset(99), 5, 20, None), 20);
        assert_eq!(reset_offset(ResetTarget::Timestamp(1), 5, 20, Some(9)), 9);
        assert_eq!(
            reset_offset(ResetTarget::Timestamp(1), 5, 20, Some(-1)),
            20,
            "no record that late"
        );
        assert_eq!(reset_offset(ResetTarget::Timestamp(1), 5, 20, None), 20);
    }

    #[test]
    fn targets_read_plainly_in_the_audit_log() {
        assert_eq!(ResetTarget::Offset(7).to_string(), "offset 7");
        assert_eq!(
            ResetTarget::Timestamp(0).to_string(),
            "timestamp 0 (1970-01-01T00:00:00.000Z)"
        );
        assert_eq!(
            ResetScope::Topic {
                topic: "t".into(),
                partition: Some(1)
            }
            .to_string(),
            "partition t-1"
        );
    }
}
