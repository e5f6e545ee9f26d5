//! The dashboard: brokers online, the controller and the quorum's leader, topics and
//! partitions, the partitions in trouble and the byte rates, refreshed live over
//! Server-Sent Events (`dashboard.js`).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crate::api::overview::{live_overview, LiveOverview};
use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::pages::layout::{bytes, Page};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/clusters/{cluster}", get(page))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
) -> Markup {
    let page =
        Page::new(&state, &caller, cluster.name(), "", "Dashboard").with_scripts(&["dashboard.js"]);
    let live = live_overview(&state, &cluster).await;
    page.render(figures(&live))
}

/// The figures, with ids the live script fills in.
fn figures(live: &LiveOverview) -> Markup {
    let o = live.overview.as_ref();
    let number = |n: Option<usize>| n.map_or("–".to_string(), |n| n.to_string());
    let trouble = |n: Option<usize>| {
        if n.unwrap_or(0) > 0 {
            "figure bad"
        } else {
            "figure"
        }
    };
    let rate = |r: Option<f64>| {
        r.map_or("–".to_string(), |r| {
            format!("{}/s", bytes(Some(r as i64)))
        })
    };
    let figure = |id: &str, class: &str, value: String, label: &str| {
        html! { div class=(class) { span.value id=(id) { (value) } span.label { (label) } } }
    };
    html! {
        div.error #cluster-down role="alert" hidden[live.error.is_none()] {
            (live.error.as_deref().unwrap_or(""))
        }
        section.figures #overview data-live="overview" {
            (figure("brokers-online", "figure", number(o.map(|o| o.brokers_online.len())), "brokers online"))
            (figure("coordinators-up", "figure", live.coordinators_up.map_or("–".into(), |n| n.to_string()), "coordinators answering"))
            (figure("quorum-leader", "figure", live.quorum_leader.map_or("–".into(), |l| l.to_string()), "quorum leader"))
            (figure("controller", "figure", o.and_then(|o| o.controller).map_or("–".into(), |c| c.to_string()), "controller (as clients see it)"))
            (figure("topics", "figure", number(o.map(|o| o.topics)), "topics"))
            (figure("partitions", "figure", number(o.map(|o| o.partitions)), "partitions"))
            (figure("under-replicated", trouble(o.map(|o| o.under_replicated)), number(o.map(|o| o.under_replicated)), "under-replicated"))
            (figure("under-min-isr", trouble(o.map(|o| o.under_min_isr)), number(o.map(|o| o.under_min_isr)), "under min ISR"))
            (figure("offline", trouble(o.map(|o| o.offline)), number(o.map(|o| o.offline)), "offline partitions"))
            (figure("bytes-in", "figure", rate(live.bytes_in_per_sec), "bytes in"))
            (figure("bytes-out", "figure", rate(live.bytes_out_per_sec), "bytes out"))
        }
        p.muted { "Cluster id " code #cluster-id { (o.and_then(|o| o.cluster_id.as_deref()).unwrap_or("–")) } }
    }
}
