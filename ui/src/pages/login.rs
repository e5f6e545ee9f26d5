//! Signing in and out with the login form (`auth.type=LOGIN_FORM`): `GET /login` shows the
//! form, `POST /login` checks the password and starts a session, `POST /logout` ends it.
//! With open access both lead to the console's home page.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use crate::auth::{next, same_token, session, whole_seconds, SignInError};
use crate::error::UiError;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(page).post(sign_in))
        .route("/logout", post(sign_out))
}

/// The page to return to after signing in.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextPage {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    username: String,
    password: String,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignOutForm {
    csrf: String,
}

/// Where to go after signing in: `next` when it is a path of this console, else home.
fn destination(next: &str) -> String {
    next::safe(next).unwrap_or("/").to_string()
}

async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<NextPage>, QueryRejection>,
) -> Response {
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    if !state.access.login_required() || state.access.session(&headers).is_some() {
        return Redirect::to(&destination(&next)).into_response();
    }
    form_page("", &next, None).into_response()
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    if !state.access.login_required() {
        return Redirect::to("/").into_response();
    }
    let Ok(Form(form)) = form else {
        let message = "The sign-in form did not arrive whole; reload the page and try again.";
        return (StatusCode::BAD_REQUEST, form_page("", "", Some(message))).into_response();
    };
    match state.access.sign_in(&form.username, &form.password).await {
        Ok(user) => {
            if let Some((previous, _)) = state.access.session(&headers) {
                state.access.end_session(&previous);
            }
            let token = state.access.start_session(user);
            tracing::info!(target: "potok_ui::audit", user = user.username, "signed in");
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, destination(&form.next)),
                    (header::SET_COOKIE, session::set_cookie(&token)),
                ],
            )
                .into_response()
        }
        Err(SignInError::Wrong) => (
            StatusCode::UNAUTHORIZED,
            form_page(
                &form.username,
                &form.next,
                Some("Wrong username or password."),
            ),
        )
            .into_response(),
        Err(SignInError::Throttled(wait)) => {
            let seconds = whole_seconds(wait);
            let message =
                format!("Too many failed sign-ins for this user; try again in {seconds} seconds.");
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                form_page(&form.username, &form.next, Some(&message)),
            )
                .into_response()
        }
    }
}

/// Ends the session when the form carries its CSRF token (so another site cannot sign
/// people out), and goes to the sign-in page.
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Response {
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Some((token, session)) = state.access.session(&headers) {
        if !same_token(&csrf, &session.csrf_token) {
            return UiError::forbidden(
                "the sign-out form is stale; reload the page and sign out again",
            )
            .into_response();
        }
        state.access.end_session(&token);
        tracing::info!(target: "potok_ui::audit", user = session.username, "signed out");
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login".to_string()),
            (header::SET_COOKIE, session::clear_cookie()),
        ],
    )
        .into_response()
}

/// The sign-in form, with `error` above it after a failed attempt.
fn form_page(username: &str, next: &str, error: Option<&str>) -> Markup {
    let next = next::safe(next).unwrap_or("");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · Potok" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                header.top { span.brand { "Potok" } }
                main style="max-width: 360px; margin: 10vh auto 0;" {
                    h1 { "Sign in" }
                    @if let Some(error) = error {
                        div.error role="alert" { (error) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label {
                            "Username"
                            input type="text" name="username" value=(username)
                                autocomplete="username" required autofocus[username.is_empty()];
                        }
                        label {
                            "Password"
                            input type="password" name="password"
                                autocomplete="current-password" required autofocus[!username.is_empty()];
                        }
                        div.actions { button type="submit" { "Sign in" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_console_are_returned_to() {
        assert_eq!(
            destination("/clusters/a/topics?x=1"),
            "/clusters/a/topics?x=1"
        );
        assert_eq!(destination("//evil.example/"), "/");
        assert_eq!(destination("https://evil.example/"), "/");
        assert_eq!(destination(""), "/");
    }

    #[test]
    fn the_form_keeps_the_username_and_a_safe_next_page_only() {
        let page =
            form_page("ann<", "/clusters/a", Some("Wrong username or password.")).into_string();
        assert!(page.contains(r#"value="ann&lt;""#), "{page}");
        assert!(
            page.contains(r#"name="next" value="/clusters/a""#),
            "{page}"
        );
        assert!(page.contains("Wrong username or password."));
        assert!(
            !page.contains("/clusters/a/topics"),
            "no cluster navigation"
        );
        let evil = form_page("", "//evil.example", None).into_string();
        assert!(evil.contains(r#"name="next" value="""#), "{evil}");
    }
}
