//! The metrics page: an hour of throughput, request rate, produce latency and consumer
//! lag, drawn on the server as SVG from the scraped history; the page reloads itself at
//! each scrape.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, PreEscaped};

use crate::api::metrics::history;
use crate::auth::Caller;
use crate::cluster::CurrentCluster;
use crate::metrics::history::Series;
use crate::pages::layout::{error_box, Page};
use crate::server::AppState;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 160.0;

pub fn router() -> Router<AppState> {
    Router::new().route("/clusters/{cluster}/metrics", get(page))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    CurrentCluster(cluster): CurrentCluster,
) -> Markup {
    let page = Page::new(&state, &caller, cluster.name(), "/metrics", "Metrics");
    let body = match history(&state, cluster.name()) {
        Ok(history) if history.servers == 0 => html! {
            p.muted { "No metrics endpoints are configured for this cluster: list the servers' /metrics URLs in kafka.clusters.N.metrics.urls." }
            @for series in history.series.iter().filter(|s| s.name == "consumer_lag") { (chart(series)) }
            meta http-equiv="refresh" content=(history.interval_seconds);
        },
        Ok(history) => html! {
            p.muted #scrape-status {
                (history.servers_up) " of " (history.servers) " servers answered the last scrape, every "
                (history.interval_seconds) " s"
                @if let Some(leader) = history.quorum_leader { "; quorum leader " (leader) }
                @if let Some(error) = &history.last_error { " — " span.bad { (error) } }
            }
            div.charts { @for series in &history.series { (chart(series)) } }
            meta http-equiv="refresh" content=(history.interval_seconds);
        },
        Err(error) => error_box(&error.message),
    };
    page.render(body)
}

/// One series as a line chart with its latest value and its maximum.
fn chart(series: &Series) -> Markup {
    let latest = series.points.back().map(|(_, v)| *v);
    let max = series.points.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    html! {
        figure.chart data-series=(series.name) {
            figcaption {
                strong { (series.title) }
                " " span.muted { @match latest { Some(v) => (format_value(v, series.unit)), None => "waiting for two scrapes" } }
                @if let Some(span) = time_span(series) {
                    " " span.muted { "· max " (format_value(max, series.unit)) " · " (span) }
                }
            }
            (PreEscaped(svg(series, max)))
        }
    }
}

/// The SVG of a series scaled to its maximum over the hour shown.
fn svg(series: &Series, max: f64) -> String {
    let mut svg = format!(
        r##"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" height="{HEIGHT}" preserveAspectRatio="none" role="img" aria-label="{}"><rect width="{WIDTH}" height="{HEIGHT}" fill="#fff" stroke="#dde2e7"/>"##,
        series.title
    );
    if let (Some(first), Some(last)) = (series.points.front(), series.points.back()) {
        let span = (last.0 - first.0).max(1) as f64;
        let top = if max > 0.0 { max * 1.1 } else { 1.0 };
        let points: Vec<String> = series
            .points
            .iter()
            .map(|(at, value)| {
                let x = (at - first.0) as f64 / span * (WIDTH - 8.0) + 4.0;
                let y = HEIGHT - 4.0 - value / top * (HEIGHT - 24.0);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        svg.push_str(&format!(
            r##"<polyline fill="none" stroke="#0b6bcb" stroke-width="1.5" vector-effect="non-scaling-stroke" points="{}"/>"##,
            points.join(" "),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// "10:02–10:47 UTC": the times of the first and last point.
fn time_span(series: &Series) -> Option<String> {
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%H:%M").to_string())
    };
    let first = time(series.points.front()?.0)?;
    let last = time(series.points.back()?.0)?;
    Some(format!("{first}–{last} UTC"))
}

/// `1536.0, "B/s"` → "1.5 KiB/s"; other units with two decimals at most.
fn format_value(value: f64, unit: &str) -> String {
    if unit == "B/s" {
        return format!("{}/s", crate::pages::layout::bytes(Some(value as i64)));
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_drawn_within_its_box() {
        let series = Series {
            name: "bytes_in",
            title: "Bytes in per second",
            unit: "B/s",
            points: [(0, 0.0), (10_000, 2048.0), (20_000, 1024.0)].into(),
        };
        let drawn = svg(&series, 2048.0);
        assert!(drawn.contains("<polyline"), "{drawn}");
        assert!(drawn.contains("4.0,156.0"), "{drawn}");
        assert_eq!(time_span(&series).as_deref(), Some("00:00–00:00 UTC"));
        assert_eq!(format_value(2.5, "ms"), "2.50 ms");
        assert_eq!(format_value(3.0, "records"), "3 records");
    }
}
