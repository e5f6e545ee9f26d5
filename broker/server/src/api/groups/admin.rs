//! Group administration: DescribeGroups, ListGroups and DeleteGroups.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::api::authorized_operations;
use crate::api::protocol_names::text;
use crate::broker::Broker;
use crate::group::records::GroupRecordKey;
use crate::group::store;

pub fn describe_groups(
    broker: &Broker,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let mut response = DescribeGroupsResponse::default();
    for group_id in request.groups {
        let mut described = DescribedGroup::default();
        if let Err(error) = store::check_coordinator(broker, group_id.as_str()) {
            described.error_code = error.code();
            described.group_id = group_id;
            response.groups.push(described);
            continue;
        }
        match broker.groups.describe(group_id.as_str()) {
            Some(summary) => {
                described.group_state = text(summary.state);
                described.protocol_type = StrBytes::from_string(summary.protocol_type);
                described.protocol_data = StrBytes::from_string(summary.protocol);
                described.members = summary
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut member = DescribedGroupMember::default();
                        member.member_id = StrBytes::from_string(m.id);
                        member.group_instance_id = m.group_instance_id.map(StrBytes::from_string);
                        member.client_id = StrBytes::from_string(m.client_id);
                        member.client_host = StrBytes::from_string(m.client_host);
                        member.member_metadata = m.metadata;
                        member.member_assignment = m.assignment;
                        member
                    })
                    .collect();
            }
            None => {
                described.group_state = text("Dead");
                if version >= 6 {
                    described.error_code = ResponseError::GroupIdNotFound.code();
                    described.error_message =
                        Some(text(&format!("Group {} not found.", group_id.as_str())));
                }
            }
        }
        if version >= 3 && described.error_code == 0 {
            described.authorized_operations =
                authorized_operations::group(request.include_authorized_operations);
        }
        described.group_id = group_id;
        response.groups.push(described);
    }
    response
}

pub fn list_groups(broker: &Broker, request: ListGroupsRequest) -> ListGroupsResponse {
    let mut response = ListGroupsResponse::default();
    for id in broker.groups.group_ids() {
        if store::check_coordinator(broker, &id).is_err() {
            continue;
        }
        let Some(summary) = broker.groups.describe(&id) else {
            continue;
        };
        if !request.states_filter.is_empty()
            && !request
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(summary.state))
        {
            continue;
        }
        let mut listed = ListedGroup::default();
        listed.group_id = GroupId(StrBytes::from_string(id));
        listed.protocol_type = StrBytes::from_string(summary.protocol_type);
        listed.group_state = text(summary.state);
        listed.group_type = text("classic");
        response.groups.push(listed);
    }
    response
}

pub async fn delete_groups(broker: &Broker, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut response = DeleteGroupsResponse::default();
    for group_id in request.groups_names {
        let id = group_id.to_string();
        let described = store::check_coordinator(broker, &id).map(|()| broker.groups.describe(&id));
        let error = match described {
            Err(error) => Some(error),
            Ok(None) => Some(ResponseError::GroupIdNotFound),
            Ok(Some(summary)) if !summary.members.is_empty() => Some(ResponseError::NonEmptyGroup),
            Ok(Some(_)) => {
                let tombstones: Vec<(GroupRecordKey, Option<bytes::Bytes>)> = broker
                    .groups
                    .committed(&id)
                    .into_keys()
                    .map(|(topic, partition)| {
                        (
                            GroupRecordKey::Offset {
                                group: id.clone(),
                                topic,
                                partition,
                            },
                            None,
                        )
                    })
                    .chain(std::iter::once((
                        GroupRecordKey::Group { group: id.clone() },
                        None,
                    )))
                    .collect();
                match store::append(broker, &id, tombstones).await {
                    Ok(()) => {
                        broker.groups.remove(&id);
                        None
                    }
                    Err(error) => Some(error.error),
                }
            }
        };
        let mut result = DeletableGroupResult::default();
        result.group_id = group_id;
        result.error_code = error.map_or(0, |e| e.code());
        response.results.push(result);
    }
    response
}
