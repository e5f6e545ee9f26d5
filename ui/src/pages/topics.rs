//! The topics pages: the searchable, sortable list with the create form, and one topic's
//! partitions, configs and actions.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use potok_client::admin::ConfigResource;

use crate::api::topics::{self, ConfigRow, ListQuery, TopicDetail};
use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::pages::layout::{bytes, count, error_box, Page};
use crate::server::AppState;

/// Kafka's topic-level configs, offered when creating a topic.
const TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "index.interval.bytes",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/topics", get(list_page))
        .route("/clusters/{cluster}/topics/{topic}", get(topic_page))
}

async fn list_page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Query(query): Query<ListQuery>,
) -> Markup {
    let page = Page::new(&state, &caller, cluster.name(), "/topics", "Topics");
    let show_internal = query.internal.unwrap_or(false);
    let query = ListQuery {
        search: None,
        internal: Some(show_internal),
    };
    let base = format!("/clusters/{}/topics", cluster.name());
    let listing = match topics::list(&cluster, &query).await {
        Ok(list) => html! {
            table.sortable #topics {
                thead { tr {
                    th { "Topic" } th.num { "Partitions" } th.num { "Replication" }
                    th.num { "Under-replicated" } th.num { "Messages" } th.num { "Size" }
                } }
                tbody {
                    @for t in &list {
                        tr data-name=(t.name) {
                            td { a href={ (base) "/" (t.name) } { (t.name) } @if t.internal { " " span.tag { "internal" } } }
                            td.num { (t.partitions) }
                            td.num { (t.replication_factor) }
                            td.num class=[(t.under_replicated > 0).then_some("bad")] { (t.under_replicated) }
                            td.num data-sort=(t.messages.unwrap_or(0)) { (count(t.messages)) }
                            td.num data-sort=(t.size_bytes.unwrap_or(0)) { (bytes(t.size_bytes)) }
                        }
                    }
                }
            }
            p.muted { (list.len()) " topics" }
        },
        Err(error) => error_box(&error.message),
    };
    let body = html! {
        div.toolbar {
            input #topic-search type="search" placeholder="Search topics" data-filter-table="topics" autofocus;
            label.check {
                input #show-internal type="checkbox" checked[show_internal]
                    data-toggle-query="internal";
                " Show internal topics"
            }
            @if caller.may_change(&cluster) {
                button #create-topic-open type="button" data-open="create-topic" { "Create topic" }
            }
        }
        @if caller.may_change(&cluster) {
            (create_form(cluster.name()))
        }
        (listing)
    };
    page.render(body)
}

fn create_form(cluster: &str) -> Markup {
    html! {
        dialog #create-topic {
            form data-method="POST" data-url={ "/api/clusters/" (cluster) "/topics" }
                data-then={ "go:/clusters/" (cluster) "/topics/{name}" } {
                h2 { "Create topic" }
                label { "Name" input name="name" required pattern="[a-zA-Z0-9._\\-]+" maxlength="249"; }
                label { "Partitions" input name="partitions" type="number" min="1" data-type="int" placeholder="broker default"; }
                label { "Replication factor" input name="replicationFactor" type="number" min="1" data-type="int" placeholder="broker default"; }
                label { "Configs, one key=value per line"
                    textarea name="configs" data-type="properties" rows="3" list="topic-config-names"
                        placeholder="min.insync.replicas=2" {}
                }
                datalist #topic-config-names { @for name in TOPIC_CONFIGS { option value=(name) {} } }
                p.muted { "Known keys: " (TOPIC_CONFIGS.join(", ")) }
                div.form-error role="alert" hidden {}
                div.actions {
                    button type="submit" { "Create" }
                    button.secondary type="button" data-close="create-topic" { "Cancel" }
                }
            }
        }
    }
}

async fn topic_page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
) -> Markup {
    let title = format!("Topic {topic}");
    let page = Page::new(&state, &caller, cluster.name(), "/topics", &title);
    let api = format!("/api/clusters/{}/topics/{topic}", cluster.name());
    let may_change = caller.may_change(&cluster);
    let (detail, configs) = tokio::join!(
        topics::describe(&cluster, &topic),
        topics::configs(&cluster, ConfigResource::topic(&topic))
    );
    let body = match detail {
        Ok(detail) => html! {
            div.toolbar {
                a.button href={ "/clusters/" (cluster.name()) "/topics/" (topic) "/messages" } { "Messages" }
                @if may_change {
                    form.inline data-method="POST" data-url={ (api) "/partitions" } data-then="reload" {
                        input name="count" type="number" data-type="int" min=(detail.partitions.len() + 1)
                            value=(detail.partitions.len() + 1) aria-label="Partitions after the increase";
                        button type="submit" { "Increase partitions" }
                        div.form-error role="alert" hidden {}
                    }
                    button.danger #delete-topic type="button" data-method="DELETE" data-url=(api)
                        data-confirm={ "Delete topic " (topic) " and all its records?" }
                        data-then={ "go:/clusters/" (cluster.name()) "/topics" } { "Delete topic" }
                }
            }
            (partitions_table(&detail))
            h2 { "Configs" }
            @match &configs {
                Ok(rows) => (config_table(rows, &format!("{api}/configs"), may_change, false)),
                Err(error) => (error_box(&error.message)),
            }
        },
        Err(error) => error_box(&error.message),
    };
    page.render(body)
}

fn partitions_table(detail: &TopicDetail) -> Markup {
    let list = |ids: &[i32]| {
        ids.iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        p.muted {
            (detail.partitions.len()) " partitions, replication factor " (detail.replication_factor)
            ", " (count(detail.messages)) " messages, " (bytes(detail.size_bytes))
        }
        table.sortable #partitions {
            thead { tr {
                th.num { "Partition" } th.num { "Leader" } th { "Replicas" } th { "In-sync replicas" }
                th.num { "Start offset" } th.num { "End offset" } th.num { "Size" }
            } }
            tbody {
                @for p in &detail.partitions {
                    tr class=[(p.isr.len() < p.replicas.len()).then_some("warn")] {
                        td.num { (p.partition) }
                        td.num { (p.leader.map_or("none".to_string(), |l| l.to_string())) }
                        td { (list(&p.replicas)) }
                        td { (list(&p.isr)) }
                        td.num { (count(p.earliest_offset)) }
                        td.num { (count(p.latest_offset)) }
                        td.num data-sort=(p.size_bytes.unwrap_or(0)) { (bytes(p.size_bytes)) }
                    }
                }
            }
        }
    }
}

/// A configs table whose editable rows set (PATCH `{name: value}`) or reset (`{name:
/// null}`) through `endpoint`. With `dynamic_only`, only configs whose source is dynamic
/// or that may be set dynamically (broker configs not read-only) are editable.
pub fn config_table(
    rows: &[ConfigRow],
    endpoint: &str,
    may_change: bool,
    dynamic_only: bool,
) -> Markup {
    html! {
        input type="search" placeholder="Filter configs" data-filter-table="configs";
        table.sortable #configs data-endpoint=(endpoint) {
            thead { tr { th { "Name" } th { "Value" } th { "Source" } th { "Default" } th {} } }
            tbody {
                @for row in rows {
                    @let editable = may_change && !row.read_only && !(dynamic_only && row.sensitive);
                    tr data-config=(row.name) class=[(!row.source.starts_with("DEFAULT")).then_some("set")] {
                        td { code { (row.name) } }
                        td {
                            @if editable {
                                input.config-value value=(row.value.as_deref().unwrap_or("")) aria-label={ "Value of " (row.name) };
                            } @else if row.sensitive {
                                span.muted { "(sensitive)" }
                            } @else {
                                (row.value.as_deref().unwrap_or(""))
                            }
                        }
                        td { span.tag { (row.source) } }
                        td { (row.default.as_deref().unwrap_or("")) }
                        td.actions {
                            @if editable {
                                button.small type="button" data-config-save { "Save" }
                                @if row.source.starts_with("DYNAMIC") {
                                    button.small.secondary type="button" data-config-reset { "Reset" }
                                }
                            }
                        }
                    }
                }
            }
        }
        div.form-error #configs-error role="alert" hidden {}
    }
}
