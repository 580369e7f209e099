//! Signing in (password and code; TOTP enrolment on a first sign-in), the
//! idle-lock page and signing out, over [`crate::auth::Sessions`].

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::html::Html;
use super::layout::page;
use super::{
    Peer, cleared_cookie, cross_site, forbidden, server_error, session_cookie, session_token,
    sessions, signed_in,
};
use crate::AppState;
use crate::auth::{AuthError, Enrolment, LoginOutcome, NewSession, SignInError, now_ms};

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub(crate) struct EnrolForm {
    #[serde(default)]
    enrolment: String,
    #[serde(default)]
    uri: String,
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn sign_in_page(
    status: StatusCode,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let mut b = Html::new();
    if let Some(n) = notice {
        b.raw("<p class=\"notice\" role=\"status\">")
            .text(n)
            .raw("</p>");
    }
    b.raw("<form class=\"stacked\" method=\"post\" action=\"/console/sign-in\">")
        .raw("<label for=\"username\">User name</label>")
        .raw("<input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"")
        .text(username)
        .raw("\"")
        .raw(if username.is_empty() { " autofocus>" } else { ">" })
        .raw("<label for=\"password\">Password</label>")
        .raw("<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required")
        .raw(if username.is_empty() { ">" } else { " autofocus>" })
        .raw("<label for=\"code\">Code from your authenticator app")
        .raw("<span class=\"hint\" id=\"code-hint\">Six digits. Signing in for the first time? Leave it empty: you will set up the app next.</span></label>")
        .raw("<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" maxlength=\"6\" aria-describedby=\"code-hint\">")
        .raw("<button type=\"submit\">Sign in</button></form>");
    page(status, "Sign in", None, error, &b)
}

/// The base32 secret inside an `otpauth://` URI, for typing by hand.
fn secret_of(uri: &str) -> &str {
    uri.split_once('?')
        .map_or("", |(_, query)| query)
        .split('&')
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or("")
}

/// The secret in groups of four, easier to read and type.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn enrol_page(
    status: StatusCode,
    token: &str,
    uri: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let secret = secret_of(uri);
    let mut b = Html::new();
    b.raw("<p>Your password is right. Your role needs a second step: a six-digit code from an authenticator app on your phone. Set it up once now.</p>")
        .raw("<ol><li>In the app, add an account and choose to enter a key by hand (or paste the link below).</li>")
        .raw("<li>Account: <strong>")
        .text(username)
        .raw("</strong>. Key (time-based):</li></ol>")
        .raw("<p class=\"secret\" id=\"secret\" aria-label=\"Secret key\">")
        .text(&grouped(secret))
        .raw("</p><details><summary>Setup link (otpauth URI)</summary><p class=\"uri\" id=\"otpauth\">")
        .text(uri)
        .raw("</p></details>")
        .raw("<p>The key is shown only now. Keep it off shared screens.</p>")
        .raw("<form class=\"stacked\" method=\"post\" action=\"/console/enrol\">")
        .raw("<input type=\"hidden\" name=\"enrolment\" value=\"")
        .text(token)
        .raw("\"><input type=\"hidden\" name=\"uri\" value=\"")
        .text(uri)
        .raw("\"><label for=\"code\">Code the app shows now</label>")
        .raw("<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" maxlength=\"6\" required autofocus>")
        .raw("<button type=\"submit\">Confirm and sign in</button></form>");
    page(status, "Set up your authenticator app", None, error, &b)
}

/// What a person may be told about a failed sign-in, and its status.
fn refusal(e: &SignInError) -> Option<(StatusCode, String)> {
    if e.is_client_error() {
        let status = if matches!(e, SignInError::Busy) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNAUTHORIZED
        };
        Some((status, e.to_string()))
    } else {
        None
    }
}

fn signed_in_response(session: &NewSession) -> Response {
    (
        [(header::SET_COOKIE, session_cookie(&session.token))],
        Redirect::to("/console"),
    )
        .into_response()
}

pub(crate) async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Already signed in: nothing to do here.
    if let Some(token) = session_token(&headers) {
        let Ok(sessions) = sessions(&state) else {
            return sign_in_page(StatusCode::OK, "", None, None);
        };
        if sessions.authenticate(&token, now_ms()).await.is_ok() {
            return Redirect::to("/console").into_response();
        }
    }
    sign_in_page(StatusCode::OK, "", None, None)
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    if cross_site(&headers) {
        return forbidden(None);
    }
    let code = f.code.trim();
    let code = (!code.is_empty()).then_some(code);
    let sessions = match sessions(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = sessions
        .login(f.username.trim(), &f.password, code, from, now_ms())
        .await;
    match outcome {
        Ok(LoginOutcome::Session(session)) => signed_in_response(&session),
        Ok(LoginOutcome::EnrolmentRequired(Enrolment {
            token,
            otpauth_uri,
            identity,
            ..
        })) => enrol_page(
            StatusCode::OK,
            &token,
            &otpauth_uri,
            identity.user.username.as_str(),
            None,
        ),
        Err(e) => match refusal(&e) {
            Some((status, text)) => sign_in_page(status, f.username.trim(), Some(&text), None),
            None => server_error(&e),
        },
    }
}

pub(crate) async fn enrol(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<EnrolForm>,
) -> Response {
    if cross_site(&headers) {
        return forbidden(None);
    }
    let sessions = match sessions(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = sessions
        .confirm_enrolment(&f.enrolment, f.code.trim(), from, now_ms())
        .await;
    match result {
        Ok(session) => signed_in_response(&session),
        Err(SignInError::Refused) => {
            // The enrolment stays open for a few more tries: same key.
            let username = account_of(&f.uri);
            enrol_page(
                StatusCode::UNAUTHORIZED,
                &f.enrolment,
                &f.uri,
                &username,
                Some(
                    "That code is not right. Check the key in the app and the phone's clock, then type the code it shows now.",
                ),
            )
        }
        Err(e) => match refusal(&e) {
            Some((status, text)) => sign_in_page(status, "", Some(&text), None),
            None => server_error(&e),
        },
    }
}

/// The account name in an `otpauth://totp/ISSUER:NAME?...` URI.
fn account_of(uri: &str) -> String {
    let path = uri.split_once('?').map_or(uri, |(p, _)| p);
    let label = path.rsplit('/').next().unwrap_or("");
    let name = label.rsplit_once(':').map_or(label, |(_, n)| n);
    name.rsplit_once("%3A").map_or(name, |(_, n)| n).to_owned()
}

fn locked_page(status: StatusCode, error: Option<&str>) -> Response {
    let mut b = Html::new();
    b.raw("<p>This session was idle for 30 minutes and is locked. Enter your password to go on where you left off.</p>")
        .raw("<form class=\"stacked\" method=\"post\" action=\"/console/locked\">")
        .raw("<label for=\"password\">Password</label>")
        .raw("<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required autofocus>")
        .raw("<button type=\"submit\">Unlock</button></form>")
        .raw("<p><a href=\"/console/sign-in\">Sign in as someone else</a></p>");
    page(status, "Session locked", None, error, &b)
}

pub(crate) async fn locked(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = session_token(&headers) else {
        return Redirect::to("/console/sign-in").into_response();
    };
    let sessions = match sessions(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match sessions.authenticate(&token, now_ms()).await {
        Ok(_) => Redirect::to("/console").into_response(),
        Err(AuthError::IdleLocked) => locked_page(StatusCode::OK, None),
        Err(AuthError::Store(e)) => server_error(&e),
        Err(_) => Redirect::to("/console/sign-in").into_response(),
    }
}

pub(crate) async fn unlock(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    if cross_site(&headers) {
        return forbidden(None);
    }
    let Some(token) = session_token(&headers) else {
        return Redirect::to("/console/sign-in").into_response();
    };
    let sessions = match sessions(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match sessions.unlock(&token, &f.password, from, now_ms()).await {
        Ok(_) => Redirect::to("/console").into_response(),
        Err(e) => match refusal(&e) {
            Some((status, text)) => locked_page(status, Some(&text)),
            None => server_error(&e),
        },
    }
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !signed.auth.token.csrf_matches(&f.csrf) {
        return forbidden(Some(&signed.viewer));
    }
    let sessions = match sessions(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = sessions.logout(&signed.auth.token).await {
        return server_error(&e);
    }
    let mut response = sign_in_page(StatusCode::OK, "", None, Some("You are signed out."));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_and_account_come_out_of_the_uri() {
        let uri = "otpauth://totp/callward:admin?secret=JBSWY3DPEHPK3PXP&issuer=callward&algorithm=SHA1&digits=6&period=30";
        assert_eq!(secret_of(uri), "JBSWY3DPEHPK3PXP");
        assert_eq!(grouped(secret_of(uri)), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(account_of(uri), "admin");
        assert_eq!(account_of("otpauth://totp/callward%3Ainv?secret=A"), "inv");
        assert_eq!(secret_of("nonsense"), "");
    }
}
