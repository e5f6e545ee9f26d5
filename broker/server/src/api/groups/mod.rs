//! Consumer group APIs, one module per protocol family: FindCoordinator here, the classic
//! membership protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) in `membership`,
//! committed offsets (OffsetCommit, OffsetFetch, OffsetDelete) in `offsets` and
//! administration (DescribeGroups, ListGroups, DeleteGroups) in `admin`.

mod admin;
mod membership;
mod offsets;

pub use admin::{delete_groups, describe_groups, list_groups};
pub use membership::{heartbeat, join_group, leave_group, sync_group};
pub use offsets::{offset_commit, offset_delete, offset_fetch};

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::api::protocol_names::text;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::group::store;

/// Kafka's FindCoordinator key types.
const KEY_TYPE_GROUP: i8 = 0;

pub async fn find_coordinator(
    broker: &Broker,
    request: FindCoordinatorRequest,
    version: i16,
    listener: &str,
) -> FindCoordinatorResponse {
    let keys: Vec<StrBytes> = if version >= 4 {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    let ready = if request.key_type != KEY_TYPE_GROUP {
        Err(ApiError::new(
            ResponseError::CoordinatorNotAvailable,
            "Transactions are not supported by this broker",
        ))
    } else {
        store::ensure_topic(broker).await.map(|_| ())
    };
    let locate = |key: &str| -> Result<(i32, String, i32), ApiError> {
        ready.clone()?;
        coordinator_of(broker, key, listener)
    };
    let mut response = FindCoordinatorResponse::default();
    if version < 4 {
        match locate(request.key.as_str()) {
            Ok((node_id, host, port)) => {
                response.node_id = BrokerId(node_id);
                response.host = text(&host);
                response.port = port;
            }
            Err(error) => {
                response.error_code = error.error_code();
                response.error_message = error.message_str();
                response.node_id = BrokerId(-1);
            }
        }
        return response;
    }
    response.coordinators = keys
        .into_iter()
        .map(|key| {
            let mut coordinator = Coordinator::default();
            match locate(key.as_str()) {
                Ok((node_id, host, port)) => {
                    coordinator.node_id = BrokerId(node_id);
                    coordinator.host = text(&host);
                    coordinator.port = port;
                }
                Err(error) => {
                    coordinator.error_code = error.error_code();
                    coordinator.error_message = error.message_str();
                    coordinator.node_id = BrokerId(-1);
                }
            }
            coordinator.key = key;
            coordinator
        })
        .collect();
    response
}

/// The broker leading `group`'s home partition of `__consumer_offsets`: its id and address.
fn coordinator_of(
    broker: &Broker,
    group: &str,
    listener: &str,
) -> Result<(i32, String, i32), ApiError> {
    let image = broker.image();
    let unavailable = || {
        ApiError::new(
            ResponseError::CoordinatorNotAvailable,
            format!("The coordinator of group {group} is not available: its __consumer_offsets partition has no leader"),
        )
    };
    let index = store::home_partition(broker, group).ok_or_else(unavailable)?;
    let leader = image.topics[store::OFFSETS_TOPIC].partitions[index as usize].leader;
    let node = image.brokers.get(&leader).ok_or_else(unavailable)?;
    let (host, port) = node.address_on(listener);
    Ok((node.id, host.to_string(), port as i32))
}
