//! The consumer groups pages: the searchable, sortable list with each group's lag, and one
//! group's members and per-partition offsets (kept live by `groups.js`), with the reset
//! and delete actions for those who may change the cluster.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crate::api::groups::{self, GroupDetail, GroupSummary, Member};
use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::pages::layout::{count, error_box, Page};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/consumer-groups", get(list_page))
        .route(
            "/clusters/{cluster}/consumer-groups/{group}",
            get(group_page),
        )
}

/// `text` made safe as one segment of a URL path: group ids may hold any character.
pub fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

async fn list_page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
) -> Markup {
    let page = Page::new(
        &state,
        &caller,
        cluster.name(),
        "/consumer-groups",
        "Consumer groups",
    );
    let listing = match groups::list(&cluster).await {
        Ok(list) => groups_table(cluster.name(), &list),
        Err(error) => error_box(&error.message),
    };
    page.render(html! {
        div.toolbar {
            input #group-search type="search" placeholder="Search consumer groups"
                data-filter-table="groups" autofocus;
        }
        (listing)
    })
}

fn groups_table(cluster: &str, list: &[GroupSummary]) -> Markup {
    html! {
        table.sortable #groups {
            thead { tr {
                th { "Group" } th { "State" } th.num { "Members" } th { "Topics" } th.num { "Lag" }
            } }
            tbody {
                @for g in list {
                    tr data-group=(g.group_id) {
                        td { a href={ "/clusters/" (cluster) "/consumer-groups/" (path_segment(&g.group_id)) } { (g.group_id) } }
                        td { span.tag { (g.state) } }
                        td.num { (g.members) }
                        td { (g.topics.join(", ")) }
                        td.num data-sort=(g.lag.unwrap_or(-1)) { (count(g.lag)) }
                    }
                }
            }
        }
        p.muted { (list.len()) " consumer groups" }
    }
}

async fn group_page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, group)): Path<(String, String)>,
) -> Markup {
    let title = format!("Consumer group {group}");
    let page = Page::new(&state, &caller, cluster.name(), "/consumer-groups", &title)
        .with_scripts(&["groups.js"]);
    let api = format!(
        "/api/clusters/{}/consumer-groups/{}",
        path_segment(cluster.name()),
        path_segment(&group)
    );
    let body = match groups::describe(&cluster, &group).await {
        Ok(detail) => {
            let may_change = caller.may_change(&cluster);
            html! {
                (summary(&detail))
                @if may_change {
                    div.toolbar {
                        button.danger #delete-group type="button" data-method="DELETE" data-url=(api)
                            data-confirm={ "Delete consumer group " (group) " and its committed offsets?" }
                            data-then={ "go:/clusters/" (cluster.name()) "/consumer-groups" } { "Delete group" }
                    }
                }
                h2 { "Members" }
                (members_table(&detail.members))
                h2 { "Offsets" }
                (offsets_table(&detail, &api))
                @if may_change {
                    (reset_form(&detail, &api))
                }
            }
        }
        Err(error) => error_box(&error.message),
    };
    page.render(body)
}

fn summary(detail: &GroupDetail) -> Markup {
    html! {
        section.figures #group-summary {
            div.figure { span.value #group-state { (detail.state) } span.label { "state" } }
            div.figure { span.value #group-members { (detail.members.len()) } span.label { "members" } }
            div.figure { span.value #group-lag { (count(detail.lag)) } span.label { "total lag" } }
            div.figure {
                span.value #group-coordinator { (detail.coordinator.id) }
                span.label { "coordinator " (detail.coordinator.address) }
            }
        }
        p.muted {
            "Protocol type " code { (detail.protocol_type) }
            @if !detail.protocol.is_empty() { ", assignment strategy " code { (detail.protocol) } }
        }
    }
}

/// `topic: 0, 1; other: 2` for a member's assignment.
pub fn assignment_text(member: &Member) -> String {
    let mut parts: Vec<(String, Vec<String>)> = Vec::new();
    for assigned in &member.assignment {
        let partition = assigned.partition.to_string();
        match parts.iter_mut().find(|(topic, _)| *topic == assigned.topic) {
            Some((_, partitions)) => partitions.push(partition),
            None => parts.push((assigned.topic.clone(), vec![partition])),
        }
    }
    parts
        .into_iter()
        .map(|(topic, partitions)| format!("{topic}: {}", partitions.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn members_table(members: &[Member]) -> Markup {
    html! {
        table.sortable #members {
            thead { tr { th { "Member" } th { "Client id" } th { "Host" } th { "Assigned partitions" } } }
            tbody {
                @for m in members {
                    tr data-member=(m.member_id) {
                        td { code { (m.member_id) } }
                        td { (m.client_id) }
                        td { (m.host) }
                        td { (assignment_text(m)) }
                    }
                }
            }
        }
        p.muted #members-empty hidden[!members.is_empty()] { "No active members: the group's consumers are stopped." }
    }
}

fn offsets_table(detail: &GroupDetail, api: &str) -> Markup {
    html! {
        table.sortable #offsets data-live={ (api) "/live" } {
            thead { tr {
                th { "Topic" } th.num { "Partition" } th.num { "Committed" } th.num { "End" }
                th.num { "Lag" } th { "Member" }
            } }
            tbody {
                @for o in &detail.offsets {
                    tr data-topic=(o.topic) data-partition=(o.partition) {
                        td { (o.topic) }
                        td.num { (o.partition) }
                        td.num.committed { (count(o.committed)) }
                        td.num.end { (count(o.end)) }
                        td.num.lag { (count(o.lag)) }
                        td.member { code { (o.member_id.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
        p.muted #live-status { "Offsets refresh every 2 seconds." }
    }
}

fn reset_form(detail: &GroupDetail, api: &str) -> Markup {
    html! {
        h2 { "Reset offsets" }
        form #reset-offsets data-reset-url={ (api) "/offsets" } {
            p.muted { "Only a stopped group's offsets can be reset: stop its consumers first." }
            label { "Reset to"
                select name="to" {
                    option value="earliest" { "Earliest offset" }
                    option value="latest" { "Latest offset" }
                    option value="offset" { "A specific offset" }
                    option value="timestamp" { "A point in time" }
                }
            }
            label { "Topic"
                select name="topic" {
                    option value="" { "All the group's topics" }
                    @for topic in detail.topics() { option value=(topic) { (topic) } }
                }
            }
            label { "Partition"
                input name="partition" type="number" min="0" placeholder="all partitions";
            }
            label.reset-offset { "Offset"
                input name="offset" type="number" min="0";
            }
            label.reset-timestamp { "Time (your local time)"
                input name="timestamp" type="datetime-local" step="1";
            }
            div.form-error role="alert" hidden {}
            div.actions { button type="submit" { "Reset offsets" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::groups::AssignedPartition;

    #[test]
    fn group_ids_are_encoded_as_one_path_segment() {
        assert_eq!(path_segment("orders-app_1.v2"), "orders-app_1.v2");
        assert_eq!(path_segment("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(path_segment("grüße"), "gr%C3%BC%C3%9Fe");
    }

    #[test]
    fn assignments_read_by_topic() {
        let assigned = |topic: &str, partition| AssignedPartition {
            topic: topic.into(),
            partition,
        };
        let member = Member {
            member_id: "m".into(),
            client_id: "c".into(),
            host: "/127.0.0.1".into(),
            assignment: vec![assigned("a", 0), assigned("a", 1), assigned("b", 2)],
        };
        assert_eq!(assignment_text(&member), "a: 0, 1; b: 2");
    }
}
