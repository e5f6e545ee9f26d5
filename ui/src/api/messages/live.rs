//! The live tail of a topic as Server-Sent Events: from the partitions' end offsets at
//! the moment of the request, each poll's matching records go out as one `records` event
//! (a JSON array), so a browser keeps up with a busy topic; a comment keeps idle
//! connections open. The next poll waits until the last event was taken, so nothing
//! piles up, and the stream ends when the client goes away or the console stops. A tail of
//! every partition looks for new ones every few seconds and reads them from their start.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use potok_client::admin::OffsetSpec;
use potok_client::consumer::{Consumer, ConsumerConfig, SeekTo};
use potok_client::shutdown::Shutdown;
use potok_client::TopicPartition;
use serde::Deserialize;

use super::partitions::{partitions_of, select};
use super::query::parse_partition;
use super::record::{passes, Filter, MessageRecord, RawRecord};
use crate::auth::Caller;
use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::error::{UiError, UiResult};
use crate::server::AppState;

/// How often an idle stream sends a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long one poll waits for records.
const POLL_WAIT: Duration = Duration::from_secs(1);
/// How often a tail of every partition looks for partitions added since it began.
const NEW_PARTITIONS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    filter: Option<String>,
}

/// What the stream carries from one poll to the next.
struct Tail {
    consumer: Consumer,
    cluster: Arc<ClusterHandle>,
    topic: String,
    /// When to look for new partitions next; `None` when one partition was asked for.
    next_partition_check: Option<tokio::time::Instant>,
    filter: Option<Filter>,
    stopping: Shutdown,
    /// Set after a failure event: the stream ends with it.
    failed: bool,
}

/// `GET .../messages/live`.
pub async fn handler(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
    query: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
) -> UiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    caller.read_messages()?;
    let Query(query) = query.map_err(|e| UiError::bad_request(e.body_text()))?;
    let wanted = parse_partition(&query.partition)?;
    let existing = partitions_of(&cluster, &topic).await?;
    let partitions: Vec<TopicPartition> = select(&topic, &existing, wanted)?
        .into_iter()
        .map(|p| TopicPartition::new(topic.clone(), p))
        .collect();
    // The end offsets now, so every record written after this answer is in the stream.
    let specs: Vec<_> = partitions
        .iter()
        .map(|tp| (tp.clone(), OffsetSpec::Latest))
        .collect();
    let ends = cluster
        .admin
        .list_offsets(&specs)
        .await
        .map_err(|e| cluster.error(e))?;
    let config = ConsumerConfig {
        // Gather a poll's worth before answering, so events carry batches, not single
        // records, when the topic is busy.
        fetch_min_bytes: 64 * 1024,
        fetch_max_wait: Duration::from_millis(250),
        auto_offset_reset: SeekTo::End,
        ..ConsumerConfig::default()
    };
    // Its own connections: a fetch waiting for records would hold up every other request
    // on a shared one.
    let mut connections = cluster.admin.cluster().config().clone();
    connections.client_id = "potok-ui-live".to_string();
    let mut consumer = Consumer::new(connections, config);
    consumer.assign(partitions.clone());
    for tp in &partitions {
        let start = match ends.get(tp) {
            Some(Ok(listed)) => SeekTo::Offset(listed.offset),
            _ => SeekTo::End,
        };
        consumer
            .seek(&tp.topic, tp.partition, start)
            .map_err(|e| cluster.error(e))?;
    }
    let tail = Tail {
        consumer,
        next_partition_check: wanted
            .is_none()
            .then(|| tokio::time::Instant::now() + NEW_PARTITIONS_EVERY),
        cluster,
        topic,
        filter: query.filter.as_deref().and_then(Filter::new),
        stopping: state.stopping.clone(),
        failed: false,
    };
    Ok(
        Sse::new(stream::unfold(tail, next_event))
            .keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    )
}

/// The next event: the matching records of the next poll that has any, a `failure` event
/// when reading fails, or the end of the stream when the console stops.
async fn next_event(mut tail: Tail) -> Option<(Result<Event, Infallible>, Tail)> {
    if tail.failed {
        return None;
    }
    loop {
        if let Err(error) = follow_new_partitions(&mut tail).await {
            tail.failed = true;
            return Some((Ok(failure_event(&error)), tail));
        }
        let polled = tokio::select! {
            _ = tail.stopping.recv() => return None,
            polled = tail.consumer.poll(POLL_WAIT) => polled,
        };
        match polled {
            Ok(records) => {
                let shown: Vec<MessageRecord> = records
                    .iter()
                    .map(RawRecord::of)
                    .filter(|raw| passes(tail.filter.as_ref(), raw))
                    .map(|raw| raw.shown())
                    .collect();
                if shown.is_empty() {
                    continue;
                }
                return Some((Ok(records_event(&shown)), tail));
            }
            Err(error) => {
                tail.failed = true;
                let error = UiError::from_client(tail.cluster.name(), error);
                return Some((Ok(failure_event(&error)), tail));
            }
        }
    }
}

/// When due, assigns the partitions the topic gained since the last look, from their
/// start: every record in them was written after the tail began.
async fn follow_new_partitions(tail: &mut Tail) -> UiResult<()> {
    let Some(due) = tail.next_partition_check else {
        return Ok(());
    };
    if tokio::time::Instant::now() < due {
        return Ok(());
    }
    tail.next_partition_check = Some(due + NEW_PARTITIONS_EVERY);
    let existing = partitions_of(&tail.cluster, &tail.topic).await?;
    let assigned = tail.consumer.assignment();
    let added: Vec<TopicPartition> = existing
        .into_iter()
        .map(|p| TopicPartition::new(tail.topic.clone(), p))
        .filter(|tp| !assigned.contains(tp))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    tail.consumer
        .assign(assigned.into_iter().chain(added.iter().cloned()).collect());
    for tp in &added {
        tail.consumer
            .seek(&tp.topic, tp.partition, SeekTo::Beginning)
            .map_err(|e| tail.cluster.error(e))?;
    }
    Ok(())
}

fn failure_event(error: &UiError) -> Event {
    let body = serde_json::json!({"error": error.code, "message": error.message});
    Event::default().event("failure").data(body.to_string())
}

fn records_event(records: &[MessageRecord]) -> Event {
    let data = serde_json::to_string(records).unwrap_or_else(|_| "[]".to_string());
    Event::default().event("records").data(data)
}
