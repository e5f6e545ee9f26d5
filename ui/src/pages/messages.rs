//! A topic's messages: the search controls and the records they find (rendered here from
//! the same search the JSON API answers with, then reloaded by `messages.js` through that
//! API), a record's detail, the live tail, the CSV and JSON downloads, and producing.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, PreEscaped};

use crate::api::messages::partitions::partitions_of;
use crate::api::messages::query::{
    MessagesQuery, Order, SearchPlan, Seek, DEFAULT_LIMIT, MAX_LIMIT,
};
use crate::api::messages::record::MessageRecord;
use crate::api::messages::search::{search, SearchResult, MAX_DURATION, MAX_SCANNED};
use crate::auth::Caller;
use crate::cluster::{ClusterHandle, CurrentCluster};
use crate::pages::layout::{error_box, Page};
use crate::server::AppState;

/// Characters of a key or value shown in a row.
const PREVIEW_CHARS: usize = 120;

pub fn router() -> Router<AppState> {
    Router::new().route("/clusters/{cluster}/topics/{topic}/messages", get(page))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, topic)): Path<(String, String)>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Markup {
    let title = format!("Messages of {topic}");
    let page = Page::new(&state, &caller, cluster.name(), "/topics", &title)
        .with_scripts(&["messages.js"]);
    let may_change = caller.may_change(&cluster);
    let links = Links::new(&cluster, &topic);
    let toolbar = html! {
        div.toolbar {
            a.button.secondary href=(links.topic_page) { "Topic " (topic) }
            @if caller.read_messages().is_ok() {
                button #live-toggle type="button" aria-pressed="false" { "Live" }
                span #live-count.muted hidden {}
            }
            @if may_change {
                button #produce-open type="button" data-open="produce" { "Produce" }
            }
        }
        @if may_change {
            (produce_dialog(&topic, state.config.produce_max_bytes))
        }
    };
    if let Err(refused) = caller.read_messages() {
        return page.render(html! { (toolbar) (error_box(&refused.message)) });
    }
    let partitions = match partitions_of(&cluster, &topic).await {
        Ok(partitions) => partitions,
        Err(error) => return page.render(html! { (toolbar) (error_box(&error.message)) }),
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let plan = query.plan();
    let result = match &plan {
        Ok(plan) => search(&cluster, &topic, plan).await,
        Err(error) => Err(error.clone()),
    };
    let body = html! {
        section #messages-page data-api=(links.api) {
            (toolbar)
            (controls(&query, plan.as_ref().ok(), &partitions, &links))
            @match &result {
                Ok(found) => {
                    div #messages-error.error role="alert" hidden {}
                    p #messages-status.muted { (status_text(found)) }
                    (records_table(&found.records))
                    script #messages-data type="application/json" { (PreEscaped(embedded_json(found))) }
                }
                Err(error) => {
                    div #messages-error.error role="alert" { (error.message) }
                    p #messages-status.muted {}
                    (records_table(&[]))
                }
            }
            (detail_dialog())
        }
    };
    page.render(body)
}

/// The addresses the page links to.
struct Links {
    topic_page: String,
    page: String,
    api: String,
}

impl Links {
    fn new(cluster: &ClusterHandle, topic: &str) -> Links {
        let topic_page = format!("/clusters/{}/topics/{}", cluster.name(), encode(topic));
        Links {
            page: format!("{topic_page}/messages"),
            api: format!(
                "/api/clusters/{}/topics/{}/messages",
                cluster.name(),
                encode(topic)
            ),
            topic_page,
        }
    }

    /// The download of the current search in `format`.
    fn export(&self, query: &MessagesQuery, format: &str) -> String {
        let mut pairs = query_pairs(query);
        pairs.push(("format", format.to_string()));
        format!("{}?{}", self.api, query_string(&pairs))
    }
}

/// The search controls: a plain GET form (so the page works without its script), which
/// `messages.js` turns into a reload of the table alone.
fn controls(
    query: &MessagesQuery,
    plan: Option<&SearchPlan>,
    partitions: &[i32],
    links: &Links,
) -> Markup {
    let seek = plan.map_or("earliest", |p| match p.seek {
        Seek::Earliest => "earliest",
        Seek::Latest => "latest",
        Seek::Offset(_) => "offset",
        Seek::Timestamp(_) => "timestamp",
    });
    let newest = plan.is_some_and(|p| p.order == Order::NewestFirst);
    let partition = plan.and_then(|p| p.partition);
    let text = |field: &Option<String>| field.clone().unwrap_or_default();
    let limit = plan.map_or(DEFAULT_LIMIT, |p| p.limit);
    html! {
        form #messages-query.toolbar method="get" action=(links.page) {
            select name="partition" aria-label="Partition" {
                option value="all" selected[partition.is_none()] { "All partitions" }
                @for p in partitions {
                    option value=(p) selected[partition == Some(*p)] { "Partition " (p) }
                }
            }
            select name="seek" aria-label="Start from" {
                option value="earliest" selected[seek == "earliest"] { "Oldest records" }
                option value="latest" selected[seek == "latest"] { "Newest records" }
                option value="offset" selected[seek == "offset"] { "From offset" }
                option value="timestamp" selected[seek == "timestamp"] { "From time" }
            }
            input name="offset" type="number" min="0" placeholder="Offset" aria-label="Offset"
                value=(text(&query.offset)) hidden[seek != "offset"];
            input name="timestamp" placeholder="2024-05-01T12:00:00Z or ms" aria-label="Time (ISO-8601 or ms since the epoch)"
                value=(text(&query.timestamp)) hidden[seek != "timestamp"];
            select name="order" aria-label="Order" {
                option value="oldest" selected[!newest] { "Oldest first" }
                option value="newest" selected[newest] { "Newest first" }
            }
            input name="limit" type="number" min="1" max=(MAX_LIMIT) value=(limit) aria-label="Records to show";
            input name="filter" type="search" placeholder="Filter key, value, headers" aria-label="Filter"
                value=(text(&query.filter));
            button type="submit" { "Search" }
            a #export-csv.button.secondary href=(links.export(query, "csv")) { "CSV" }
            a #export-json.button.secondary href=(links.export(query, "json")) { "JSON" }
        }
    }
}

/// The query's given fields, in the form's order, as the page's own address carries them.
fn query_pairs(query: &MessagesQuery) -> Vec<(&'static str, String)> {
    [
        ("partition", &query.partition),
        ("seek", &query.seek),
        ("offset", &query.offset),
        ("timestamp", &query.timestamp),
        ("order", &query.order),
        ("limit", &query.limit),
        ("filter", &query.filter),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        value
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| (name, v.clone()))
    })
    .collect()
}

/// `name=value&...`, each part percent-encoded.
fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encoding of everything but URL-safe characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// "100 records, 350 scanned", with a word on a scan cut short.
fn status_text(found: &SearchResult) -> String {
    let mut text = format!("{} records, {} scanned", found.records.len(), found.scanned);
    if found.truncated {
        text.push_str(&format!(
            " — the scan stopped at its limit ({MAX_SCANNED} records or {} seconds); narrow the search",
            MAX_DURATION.as_secs()
        ));
    }
    text
}

fn records_table(records: &[MessageRecord]) -> Markup {
    html! {
        table #messages {
            thead { tr {
                th.num { "Partition" } th.num { "Offset" } th { "Timestamp" } th { "Key" } th { "Value" }
            } }
            tbody {
                @for record in records {
                    tr.record data-partition=(record.partition) data-offset=(record.offset) tabindex="0" {
                        td.num { (record.partition) }
                        td.num { (record.offset) }
                        td.time title=(record.timestamp) { (readable_time(record.timestamp)) }
                        (preview_cell("key", record.key.as_deref()))
                        (preview_cell("value", record.value.as_deref()))
                    }
                }
            }
        }
    }
}

fn preview_cell(class: &str, text: Option<&str>) -> Markup {
    match text {
        Some(text) => html! { td class=(class) { (preview(text)) } },
        None => html! { td class={ (class) " muted" } { "null" } },
    }
}

/// A key or value on one line: whitespace runs made one space, cut at
/// [`PREVIEW_CHARS`] characters.
fn preview(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > PREVIEW_CHARS {
        let cut: String = line.chars().take(PREVIEW_CHARS).collect();
        format!("{cut}…")
    } else {
        line
    }
}

/// `1714564800250` → "2024-05-01 12:00:00.250 UTC"; a dash for no timestamp.
fn readable_time(ms: i64) -> String {
    if ms < 0 {
        return "–".to_string();
    }
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
    )
}

/// The search's answer for the page's script, safe inside a `<script>` element.
fn embedded_json(found: &SearchResult) -> String {
    serde_json::to_string(found)
        .unwrap_or_else(|_| "null".to_string())
        .replace('<', "\\u003c")
}

fn detail_dialog() -> Markup {
    html! {
        dialog #record-detail aria-labelledby="record-title" {
            h2 #record-title { "Record" }
            dl #record-meta {}
            h3 { "Headers" }
            div #record-headers {}
            h3 { "Key " span #record-key-format.tag {} }
            pre #record-key {}
            h3 { "Value " span #record-value-format.tag {} }
            pre #record-value {}
            div.actions {
                button.secondary type="button" data-close="record-detail" { "Close" }
            }
        }
    }
}

fn produce_dialog(topic: &str, max_bytes: usize) -> Markup {
    html! {
        dialog #produce {
            form #produce-form {
                h2 { "Produce to " (topic) }
                label { "Key" input name="key" autocomplete="off"; }
                label { "Value" textarea name="value" rows="8" {} }
                label { "Headers, one key=value per line" textarea name="headers" rows="3" placeholder="trace-id=abc123" {} }
                label { "Partition" input name="partition" type="number" min="0" placeholder="chosen from the key"; }
                p.muted {
                    "An empty key or value is sent as null (an empty value is a tombstone). Key, value and headers may hold up to "
                    (max_bytes) " bytes (produce.max.bytes)."
                }
                div.form-error role="alert" hidden {}
                div.actions {
                    button type="submit" { "Produce" }
                    button.secondary type="button" data-close="produce" { "Cancel" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::messages::record::Format;

    #[test]
    fn previews_are_one_line_and_short() {
        assert_eq!(
            preview("{\n  \"a\": 1,\n  \"b\": 2\n}"),
            "{ \"a\": 1, \"b\": 2 }"
        );
        let long = "x".repeat(PREVIEW_CHARS + 5);
        let shown = preview(&long);
        assert_eq!(shown.chars().count(), PREVIEW_CHARS + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn times_read_in_utc() {
        assert_eq!(
            readable_time(1_714_564_800_250),
            "2024-05-01 12:00:00.250 UTC"
        );
        assert_eq!(readable_time(-1), "–");
    }

    #[test]
    fn export_links_carry_the_query() {
        let query = MessagesQuery {
            partition: Some("2".into()),
            filter: Some("a b&c".into()),
            limit: Some(String::new()),
            ..MessagesQuery::default()
        };
        let pairs = query_pairs(&query);
        assert_eq!(query_string(&pairs), "partition=2&filter=a%20b%26c");
    }

    #[test]
    fn embedded_json_cannot_close_its_script_element() {
        let record = MessageRecord {
            partition: 0,
            offset: 1,
            timestamp: 0,
            timestamp_type: "CREATE_TIME",
            key: None,
            value: Some("</script><script>alert(1)</script>".into()),
            key_format: Format::Null,
            value_format: Format::Text,
            headers: Vec::new(),
            key_size: 0,
            value_size: 34,
        };
        let found = SearchResult {
            records: vec![record],
            scanned: 1,
            truncated: false,
        };
        let json = embedded_json(&found);
        assert!(!json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back["records"][0]["value"],
            "</script><script>alert(1)</script>"
        );
    }
}
