//! The brokers page: each broker with its counts and size, and a broker's configs with the
//! dynamic ones editable.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use potok_client::admin::ConfigResource;

use crate::api::{brokers, topics};
use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::pages::layout::{bytes, error_box, Page};
use crate::pages::topics::config_table;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{cluster}/brokers", get(list_page))
        .route("/clusters/{cluster}/brokers/{broker}", get(broker_page))
}

async fn list_page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
) -> Markup {
    let page = Page::new(&state, &caller, cluster.name(), "/brokers", "Brokers");
    let body = match brokers::list(&cluster).await {
        Ok(list) => html! {
            table.sortable #brokers {
                thead { tr { th { "Id" } th { "Host" } th { "Rack" } th.num { "Leaders" } th.num { "Replicas" } th.num { "Log size" } th.num { "Free" } } }
                tbody {
                    @for b in &list {
                        tr {
                            td { a href={ "/clusters/" (cluster.name()) "/brokers/" (b.id) } { (b.id) } }
                            td { (b.host) ":" (b.port) }
                            td { (b.rack.as_deref().unwrap_or("–")) }
                            td.num { (b.leaders) }
                            td.num { (b.replicas) }
                            td.num data-sort=(b.log_size_bytes.unwrap_or(0)) { (bytes(b.log_size_bytes)) }
                            td.num data-sort=(b.usable_bytes.unwrap_or(0)) { (bytes(b.usable_bytes)) }
                        }
                    }
                }
            }
        },
        Err(error) => error_box(&error.message),
    };
    page.render(body)
}

async fn broker_page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
    Path((_, broker)): Path<(String, String)>,
) -> Markup {
    let title = format!("Broker {broker}");
    let page = Page::new(&state, &caller, cluster.name(), "/brokers", &title);
    let endpoint = format!("/api/clusters/{}/brokers/{broker}/configs", cluster.name());
    let body = match topics::configs(&cluster, ConfigResource::broker(&broker)).await {
        Ok(rows) => config_table(&rows, &endpoint, caller.may_change(&cluster), true),
        Err(error) => error_box(&error.message),
    };
    page.render(body)
}
