//! The ksql page: an editor that runs statements and queries (a query's rows appear as
//! they arrive, and a table's rows update in place), and the server's streams, tables
//! and running queries.
//!
//! The lists are rendered here only; after a statement the page's script fetches this
//! page again and swaps `#ksql-catalog`, so the lists have one rendering.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crate::api::ksql::{self as api, KsqlSource, RunningQuery, SourceKind};
use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::pages::layout::{error_box, Page};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/clusters/{cluster}/ksql", get(page))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
) -> Markup {
    let page =
        Page::new(&state, &caller, cluster.name(), "/ksql", "ksql").with_scripts(&["ksql.js"]);
    if let Err(error) = api::client(&cluster) {
        return page.render(error_box(&error.message));
    }
    let (streams, tables, queries) = tokio::join!(
        api::sources(&cluster, SourceKind::Stream),
        api::sources(&cluster, SourceKind::Table),
        api::queries(&cluster)
    );
    let may_change = caller.may_change(&cluster);
    let body = html! {
        section #ksql-workspace {
            label for="ksql-editor" { "Statements or a query (Ctrl+Enter runs)" }
            textarea #ksql-editor spellcheck="false" autofocus
                placeholder="SHOW STREAMS;  ·  SELECT * FROM my_table EMIT CHANGES;" {}
            div.toolbar {
                button #ksql-run type="button" { "Run" }
                button.danger #ksql-stop type="button" hidden { "Stop" }
                label.check {
                    "auto.offset.reset "
                    select #ksql-offset-reset {
                        option value="latest" selected { "latest" }
                        option value="earliest" { "earliest" }
                    }
                }
                span.muted #ksql-status {}
            }
            div #ksql-results {}
        }
        div #ksql-catalog data-may-change=(may_change) {
            @match &streams {
                // A server that is down is said once, not once per list.
                Err(error) if error.status == StatusCode::SERVICE_UNAVAILABLE => (error_box(&error.message)),
                _ => {
                    h2 { "Streams" }
                    (sources_table("ksql-streams", &streams))
                    h2 { "Tables" }
                    (sources_table("ksql-tables", &tables))
                    h2 { "Running queries" }
                    (queries_table(&queries, may_change))
                }
            }
        }
    };
    page.render(body)
}

/// Streams or tables; a name click puts a push query of the source in the editor.
fn sources_table(id: &str, sources: &Result<Vec<KsqlSource>, crate::error::UiError>) -> Markup {
    let sources = match sources {
        Ok(sources) => sources,
        Err(error) => return error_box(&error.message),
    };
    html! {
        table.sortable id=(id) {
            thead { tr { th { "Name" } th { "Topic" } th { "Key format" } th { "Value format" } th { "Columns" } } }
            tbody {
                @for source in sources {
                    tr data-name=(source.name) {
                        td {
                            a href="#ksql-editor" data-ksql-sql={ "SELECT * FROM `" (source.name.replace('`', "``")) "` EMIT CHANGES;" }
                                title="Query its changes" { (source.name) }
                            @if source.windowed { " " span.tag { "windowed" } }
                        }
                        td { (source.topic) }
                        td { (source.key_format) }
                        td { (source.value_format) }
                        td {
                            @for (i, column) in source.columns.iter().enumerate() {
                                @if i > 0 { ", " }
                                code { (column.name) } " " span.muted { (column.sql_type) }
                                @if column.key { " " span.tag { "key" } }
                            }
                        }
                    }
                }
            }
        }
        @if sources.is_empty() { p.muted { "none" } }
    }
}

fn queries_table(
    queries: &Result<Vec<RunningQuery>, crate::error::UiError>,
    may_change: bool,
) -> Markup {
    let queries = match queries {
        Ok(queries) => queries,
        Err(error) => return error_box(&error.message),
    };
    html! {
        table.sortable #ksql-queries {
            thead { tr { th { "Id" } th { "State" } th { "Writes to" } th { "Statement" } th {} } }
            tbody {
                @for query in queries {
                    tr data-query-id=(query.id) {
                        td { code { (query.id) } }
                        td { span.tag { (query.state) } }
                        td { (query.sinks.join(", ")) }
                        td { code { (query.sql) } }
                        td.actions {
                            @if may_change {
                                button.small.danger type="button" data-terminate=(query.id) { "Terminate" }
                            }
                        }
                    }
                }
            }
        }
        @if queries.is_empty() { p.muted { "none" } }
    }
}
