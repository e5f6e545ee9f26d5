//! The frame every page shares: the cluster menu, the navigation, who is signed in, and the
//! tokens the scripts read (`<meta name="csrf-token">`, `<meta name="cluster">`).

use maud::{html, Markup, DOCTYPE};

use crate::auth::Caller;
use crate::server::AppState;

/// The sections of a cluster, in the navigation's order: path under the cluster, title.
const SECTIONS: &[(&str, &str)] = &[
    ("", "Dashboard"),
    ("/brokers", "Brokers"),
    ("/topics", "Topics"),
    ("/consumer-groups", "Consumer groups"),
    ("/ksql", "ksql"),
    ("/metrics", "Metrics"),
];

/// A page of `cluster`'s `section` ("/topics"), titled `title`, with `body` as its content
/// and `scripts` (asset names such as "messages.js") loaded after the shared one.
pub struct Page<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    cluster: &'a str,
    section: &'a str,
    title: &'a str,
    scripts: &'a [&'a str],
}

impl<'a> Page<'a> {
    /// A page of `cluster`'s `section`, with only the shared script.
    pub fn new(
        state: &'a AppState,
        caller: &'a Caller,
        cluster: &'a str,
        section: &'a str,
        title: &'a str,
    ) -> Page<'a> {
        Page {
            state,
            caller,
            cluster,
            section,
            title,
            scripts: &[],
        }
    }

    /// The page's own scripts, loaded after the shared one.
    pub fn with_scripts(self, scripts: &'a [&'a str]) -> Page<'a> {
        Page { scripts, ..self }
    }

    pub fn render(&self, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="csrf-token" content=(self.caller.csrf_token);
                    meta name="cluster" content=(self.cluster);
                    title { (self.title) " · " (self.cluster) " · Potok" }
                    link rel="stylesheet" href="/assets/style.css";
                    script src="/assets/app.js" defer {}
                    @for script in self.scripts {
                        script src={ "/assets/" (script) } defer {}
                    }
                }
                body data-section=(self.section) {
                    header.top {
                        a.brand href="/" { "Potok" }
                        nav {
                            @for (path, name) in SECTIONS {
                                a href={ "/clusters/" (self.cluster) (path) }
                                    class=[(*path == self.section).then_some("current")] { (name) }
                            }
                        }
                        div.who {
                            select #cluster-menu aria-label="Cluster" {
                                @for cluster in self.state.clusters.all() {
                                    option value=(cluster.name()) selected[cluster.name() == self.cluster] {
                                        (cluster.name())
                                    }
                                }
                            }
                            @if let Some(user) = &self.caller.username {
                                span.user { (user) " (" (role_name(self.caller)) ")" }
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(self.caller.csrf_token);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    main {
                        h1 { (self.title) }
                        div #flash.flash hidden {}
                        (body)
                    }
                }
            }
        }
    }
}

fn role_name(caller: &Caller) -> &'static str {
    match caller.role {
        crate::config::Role::Admin => "admin",
        crate::config::Role::Viewer => "viewer",
    }
}

/// A whole page for a request that has no page to show (an unknown cluster), with the
/// error's status.
pub fn error_page(error: &crate::error::UiError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Potok" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                header.top { a.brand href="/" { "Potok" } }
                main {
                    h1 { "Nothing here" }
                    (error_box(&error.message))
                    p { a href="/" { "Back to the first cluster" } }
                }
            }
        }
    };
    (error.status, page).into_response()
}

/// An error shown in place of a page's content, in the user's terms.
pub fn error_box(message: &str) -> Markup {
    html! { div.error role="alert" { (message) } }
}

/// `1536` → "1.5 KiB".
pub fn bytes(n: Option<i64>) -> String {
    let Some(n) = n else { return "–".into() };
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A count, or a dash when unknown.
pub fn count(n: Option<i64>) -> String {
    n.map_or_else(|| "–".into(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(Some(0)), "0 B");
        assert_eq!(bytes(Some(1536)), "1.5 KiB");
        assert_eq!(bytes(Some(3 * 1024 * 1024 * 1024)), "3.0 GiB");
        assert_eq!(bytes(None), "–");
    }
}
