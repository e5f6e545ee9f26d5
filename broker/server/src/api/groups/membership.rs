//! The classic group membership protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup.

use std::time::{Duration, Instant};

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::group::membership::JoinRequest;
use crate::group::store;

pub async fn join_group(
    broker: &Broker,
    request: JoinGroupRequest,
    version: i16,
    client_id: String,
    peer: std::net::SocketAddr,
) -> JoinGroupResponse {
    let mut response = JoinGroupResponse::default();
    response.generation_id = -1;
    let group_id = request.group_id.to_string();
    let config = &broker.groups.config;
    let session = request.session_timeout_ms as i64;
    let error = if group_id.is_empty() {
        Some(ResponseError::InvalidGroupId)
    } else if let Err(error) = store::check_coordinator(broker, &group_id) {
        Some(error)
    } else if session < config.min_session_timeout_ms || session > config.max_session_timeout_ms {
        Some(ResponseError::InvalidSessionTimeout)
    } else {
        None
    };
    if let Some(error) = error {
        response.error_code = error.code();
        response.member_id = request.member_id;
        return response;
    }
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    let rebalance_timeout = if request.rebalance_timeout_ms > 0 {
        request.rebalance_timeout_ms
    } else {
        request.session_timeout_ms
    };
    let join = JoinRequest {
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id,
        client_host: format!("/{}", peer.ip()),
        session_timeout: Duration::from_millis(request.session_timeout_ms as u64),
        rebalance_timeout: Duration::from_millis(rebalance_timeout as u64),
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let waiting = broker
        .groups
        .with_group(&group_id, |group| group.join(join, Instant::now()));
    let outcome = match waiting {
        Err(immediate) => *immediate,
        Ok(receiver) => match receiver.await {
            Ok(outcome) => outcome,
            Err(_) => {
                response.error_code = ResponseError::UnknownMemberId.code();
                response.member_id = request.member_id;
                return response;
            }
        },
    };
    response.error_code = outcome.error.map_or(0, |e| e.code());
    response.generation_id = outcome.generation;
    response.protocol_type = outcome.protocol_type.map(StrBytes::from_string);
    response.protocol_name = outcome.protocol.map(StrBytes::from_string);
    response.leader = StrBytes::from_string(outcome.leader);
    response.member_id = StrBytes::from_string(outcome.member_id);
    response.members = outcome
        .members
        .into_iter()
        .map(|(id, instance, metadata)| {
            let mut member = JoinGroupResponseMember::default();
            member.member_id = StrBytes::from_string(id);
            member.group_instance_id = instance.map(StrBytes::from_string);
            member.metadata = metadata;
            member
        })
        .collect();
    response
}

pub async fn sync_group(broker: &Broker, request: SyncGroupRequest) -> SyncGroupResponse {
    let group_id = request.group_id.to_string();
    if let Err(error) = store::check_coordinator(broker, &group_id) {
        let mut response = SyncGroupResponse::default();
        response.error_code = error.code();
        return response;
    }
    let member_id = request.member_id.to_string();
    let assignments = request
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    let waiting = broker
        .groups
        .with_existing(&group_id, |group| {
            let waiting = group.sync(
                &member_id,
                request.generation_id,
                assignments,
                Instant::now(),
            );
            let stored = (group.protocol_type.clone(), group.protocol.clone());
            waiting.map(|(receiver, stable)| (receiver, stable, stored))
        })
        .unwrap_or(Err(ResponseError::UnknownMemberId));
    let mut response = SyncGroupResponse::default();
    let (receiver, _, (protocol_type, protocol)) = match waiting {
        Ok(waiting) => waiting,
        Err(error) => {
            response.error_code = error.code();
            return response;
        }
    };
    match receiver.await {
        Ok(Ok(assignment)) => {
            response.assignment = assignment;
            response.protocol_type = protocol_type.map(StrBytes::from_string);
            response.protocol_name = protocol.map(StrBytes::from_string);
        }
        Ok(Err(error)) => response.error_code = error.code(),
        Err(_) => response.error_code = ResponseError::UnknownMemberId.code(),
    }
    response
}

pub fn heartbeat(broker: &Broker, request: HeartbeatRequest) -> HeartbeatResponse {
    let outcome = store::check_coordinator(broker, request.group_id.as_str()).and_then(|()| {
        broker
            .groups
            .with_existing(request.group_id.as_str(), |group| {
                group.heartbeat(
                    request.member_id.as_str(),
                    request.generation_id,
                    Instant::now(),
                )
            })
            .unwrap_or(Err(ResponseError::UnknownMemberId))
    });
    let mut response = HeartbeatResponse::default();
    response.error_code = outcome.err().map_or(0, |e| e.code());
    response
}

pub fn leave_group(
    broker: &Broker,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let leaving: Vec<(StrBytes, Option<StrBytes>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| (m.member_id.clone(), m.group_instance_id.clone()))
            .collect()
    } else {
        vec![(request.member_id.clone(), None)]
    };
    if let Err(error) = store::check_coordinator(broker, request.group_id.as_str()) {
        let mut response = LeaveGroupResponse::default();
        response.error_code = error.code();
        return response;
    }
    let now = Instant::now();
    let results: Vec<(StrBytes, Option<StrBytes>, i16)> = leaving
        .into_iter()
        .map(|(member_id, instance)| {
            let outcome = broker
                .groups
                .with_existing(request.group_id.as_str(), |group| {
                    group.leave(member_id.as_str(), now)
                })
                .unwrap_or(Err(ResponseError::UnknownMemberId));
            (member_id, instance, outcome.err().map_or(0, |e| e.code()))
        })
        .collect();
    let mut response = LeaveGroupResponse::default();
    if version >= 3 {
        response.members = results
            .into_iter()
            .map(|(member_id, instance, error_code)| {
                let mut member = MemberResponse::default();
                member.member_id = member_id;
                member.group_instance_id = instance;
                member.error_code = error_code;
                member
            })
            .collect();
    } else {
        response.error_code = results.first().map_or(0, |r| r.2);
    }
    response
}
