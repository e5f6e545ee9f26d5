//! From a request frame to a response frame: read the header, check the API and version
//! against what this broker serves, decode with `kafka-protocol`, hand the typed request
//! to its handler, and encode the answer. One module per API family.

mod admin_configs;
mod admin_topics;
mod api_versions;
mod authorized_operations;
mod cluster;
mod fetch;
mod groups;
mod leader_epochs;
mod list_offsets;
mod metadata;
mod produce;
pub mod protocol_names;
mod reassignments;
mod records;
mod versions;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};
use thiserror::Error;

use crate::broker::Broker;

pub use versions::supported_versions;

/// Why a frame closes its connection instead of being answered, as Kafka does.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("request frame of {0} bytes is too short for a request header")]
    TooShort(usize),
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    #[error("{api:?} version {version} is not supported")]
    UnsupportedVersion { api: ApiKey, version: i16 },
    #[error("cannot decode {api:?} v{version} request: {reason}")]
    Decode {
        api: ApiKey,
        version: i16,
        reason: String,
    },
    #[error("{0:?} is listed as served but has no handler")]
    NoHandler(ApiKey),
    #[error("cannot encode {api:?} v{version} response: {reason}")]
    Encode {
        api: ApiKey,
        version: i16,
        reason: String,
    },
}

/// A frame, understood.
#[derive(Debug)]
pub enum Frame {
    Request {
        header: RequestHeader,
        request: Box<RequestKind>,
    },
    /// ApiVersions newer than this broker knows: answered with Kafka's v0 fallback.
    ApiVersionsTooNew { correlation_id: i32 },
}

/// Decodes one request frame (without its length prefix), checking the API and version
/// against what this broker serves. Pure, so the fuzz target drives it directly.
pub fn parse_frame(mut frame: Bytes) -> Result<Frame, FrameError> {
    if frame.len() < 8 {
        return Err(FrameError::TooShort(frame.len()));
    }
    let raw_key = (&frame[0..2]).get_i16();
    let version = (&frame[2..4]).get_i16();
    let correlation_id = (&frame[4..8]).get_i32();
    let api = ApiKey::try_from(raw_key).map_err(|_| FrameError::UnknownApiKey(raw_key))?;
    let Some(range) = supported_versions(api) else {
        return Err(FrameError::UnsupportedVersion { api, version });
    };
    if version < range.min || version > range.max {
        if api == ApiKey::ApiVersions {
            return Ok(Frame::ApiVersionsTooNew { correlation_id });
        }
        return Err(FrameError::UnsupportedVersion { api, version });
    }
    let error = |reason: anyhow::Error| FrameError::Decode {
        api,
        version,
        reason: reason.to_string(),
    };
    let header =
        RequestHeader::decode(&mut frame, api.request_header_version(version)).map_err(error)?;
    let request = RequestKind::decode(api, &mut frame, version).map_err(error)?;
    Ok(Frame::Request {
        header,
        request: Box::new(request),
    })
}

/// Answers one request frame. `Ok(None)` means the request expects no response
/// (Produce with acks=0).
pub async fn handle_frame(
    broker: &Broker,
    frame: Bytes,
    peer: SocketAddr,
    listener: &str,
) -> Result<Option<BytesMut>, FrameError> {
    let started = Instant::now();
    let (header, request) = match parse_frame(frame)? {
        Frame::Request { header, request } => (header, *request),
        Frame::ApiVersionsTooNew { correlation_id } => {
            return Ok(Some(api_versions::unsupported_version_fallback(
                correlation_id,
            )))
        }
    };
    let api = ApiKey::try_from(header.request_api_key).expect("checked by parse_frame");
    let version = header.request_api_version;
    let correlation_id = header.correlation_id;
    let api_label = format!("{api:?}");
    broker
        .metrics
        .requests
        .with_label_values(&[&api_label])
        .inc();

    let response = dispatch(broker, &header, request, peer, listener).await?;
    let encoded = response
        .map(|response| encode(api, version, correlation_id, &response))
        .transpose()?;
    broker
        .metrics
        .request_duration
        .with_label_values(&[&api_label])
        .observe(started.elapsed().as_secs_f64());
    Ok(encoded)
}

/// The response frame: length prefix, header, body.
fn encode(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> Result<BytesMut, FrameError> {
    let error = |reason: anyhow::Error| FrameError::Encode {
        api,
        version,
        reason: reason.to_string(),
    };
    let mut buffer = BytesMut::with_capacity(256);
    buffer.put_i32(0);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(&mut buffer, api.response_header_version(version))
        .map_err(error)?;
    response.encode(&mut buffer, version).map_err(error)?;
    let length = (buffer.len() - 4) as i32;
    buffer[0..4].copy_from_slice(&length.to_be_bytes());
    Ok(buffer)
}

async fn dispatch(
    broker: &Broker,
    header: &RequestHeader,
    request: RequestKind,
    peer: SocketAddr,
    listener: &str,
) -> Result<Option<ResponseKind>, FrameError> {
    let version = header.request_api_version;
    Ok(Some(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions::handle()),
        RequestKind::Metadata(r) => {
            ResponseKind::Metadata(metadata::handle(broker, r, version, listener).await)
        }
        RequestKind::Produce(r) => match produce::handle(broker, r).await {
            Some(response) => ResponseKind::Produce(response),
            None => return Ok(None),
        },
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch::handle(broker, r, version).await),
        RequestKind::OffsetForLeaderEpoch(r) => {
            ResponseKind::OffsetForLeaderEpoch(leader_epochs::handle(broker, r))
        }
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(list_offsets::handle(broker, r, version))
        }
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(admin_topics::create_topics(broker, r).await)
        }
        RequestKind::DeleteTopics(r) => {
            ResponseKind::DeleteTopics(admin_topics::delete_topics(broker, r).await)
        }
        RequestKind::CreatePartitions(r) => {
            ResponseKind::CreatePartitions(admin_topics::create_partitions(broker, r).await)
        }
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(admin_configs::describe_configs(broker, r))
        }
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(admin_configs::alter_configs(broker, r).await)
        }
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            admin_configs::incremental_alter_configs(broker, r).await,
        ),
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(cluster::describe_cluster(broker, r, version, listener))
        }
        RequestKind::DescribeTopicPartitions(r) => {
            ResponseKind::DescribeTopicPartitions(cluster::describe_topic_partitions(broker, r))
        }
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(cluster::describe_log_dirs(broker, r))
        }
        RequestKind::AlterPartitionReassignments(r) => ResponseKind::AlterPartitionReassignments(
            reassignments::alter_partition_reassignments(broker, r).await,
        ),
        RequestKind::ListPartitionReassignments(r) => ResponseKind::ListPartitionReassignments(
            reassignments::list_partition_reassignments(broker, r),
        ),
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(records::delete_records(broker, r))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(records::init_producer_id(broker, r).await)
        }
        RequestKind::FindCoordinator(r) => ResponseKind::FindCoordinator(
            groups::find_coordinator(broker, r, version, listener).await,
        ),
        RequestKind::JoinGroup(r) => {
            let client_id = header
                .client_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default();
            ResponseKind::JoinGroup(groups::join_group(broker, r, version, client_id, peer).await)
        }
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(groups::sync_group(broker, r).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(groups::heartbeat(broker, r)),
        RequestKind::LeaveGroup(r) => {
            ResponseKind::LeaveGroup(groups::leave_group(broker, r, version))
        }
        RequestKind::OffsetCommit(r) => {
            ResponseKind::OffsetCommit(groups::offset_commit(broker, r).await)
        }
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(groups::offset_fetch(broker, r, version))
        }
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(groups::describe_groups(broker, r, version))
        }
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(groups::list_groups(broker, r)),
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(groups::delete_groups(broker, r).await)
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(groups::offset_delete(broker, r).await)
        }
        _ => {
            let api = ApiKey::try_from(header.request_api_key).expect("checked by parse_frame");
            return Err(FrameError::NoHandler(api));
        }
    }))
}
