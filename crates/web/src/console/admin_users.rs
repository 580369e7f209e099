//! Console users of the administrator's agency: list, create, unlock an
//! account locked by failed sign-ins, as `callward admin user
//! create|list|unlock` (the same parsers, `Username`, `Role`,
//! `NewPassword`; the same `permission_change` entries, written first).
//!
//! A user made here gets no TOTP secret: the console enrols one at the
//! user's first sign-in (as for the demo users), so no secret is ever
//! shown to the administrator. Only the administrator's own agency;
//! family users, bound to a prepaid account, stay with `callward admin user
//! create --role family --number N`.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::{Access, NewPassword, Operation};
use callward_core::{Role, Username};
use callward_store::StoreError;
use serde::Deserialize;

use super::admin::{Done, admin, admin_form, log_action, notice, store, yes_no};
use super::html::Html;
use super::layout::{csrf_field, page};
use super::{Peer, Signed, access, not_allowed, server_error};
use crate::AppState;
use crate::auth::now_ms;

const PATH: &str = "/console/admin/users";

/// Roles an administrator can give here (family needs a number: the CLI).
const ROLES: [Role; 6] = [
    Role::Admin,
    Role::Investigator,
    Role::Supervisor,
    Role::Auditor,
    Role::Attorney,
    Role::Operator,
];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UnlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
}

fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "created" => {
            Some("User created. They set up their authenticator app at their first sign-in.")
        }
        "unlocked" => Some("Account unlocked."),
        "not-locked" => Some("That account was not locked."),
        _ => None,
    }
}

/// The administrator, if `decide` allows managing the users of their agency.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to send, built at most once per request"
)]
fn may_manage_users(signed: &Signed) -> Result<(), Response> {
    match access(signed, Operation::ManageUsers, signed.auth.identity.agency) {
        Access::Deny(why) => Err(not_allowed(&signed.viewer, &format!("Not allowed: {why}."))),
        _ => Ok(()),
    }
}

/// `GET /console/admin/users`.
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let signed = match admin(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_manage_users(&signed) {
        return r;
    }
    let text = done.done.as_deref().and_then(done_text);
    render(&state, &signed, StatusCode::OK, text, None).await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice_text: Option<&str>,
    error: Option<&str>,
) -> Response {
    let store = match store(state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let agency = signed.auth.identity.agency;
    let users = match store.list_user_accounts().await {
        Ok(u) => u,
        Err(e) => return server_error(&e),
    };
    let mut b = Html::new();
    notice(&mut b, notice_text);
    b.raw("<div class=\"table-wrap\"><table id=\"users\"><thead><tr><th scope=\"col\">User</th><th scope=\"col\">Role</th><th scope=\"col\">Authenticator set up</th><th scope=\"col\">Locked</th><th scope=\"col\">Change</th></tr></thead><tbody>");
    for u in users.iter().filter(|u| u.agency == agency) {
        b.raw("<tr><td>")
            .text(u.user.username.as_str())
            .raw("</td><td>")
            .raw(u.user.role.as_str())
            .raw("</td><td>")
            .raw(yes_no(u.totp_enrolled))
            .raw("</td><td>")
            .raw(yes_no(u.locked))
            .raw("</td><td>");
        if u.locked {
            b.raw("<form class=\"inline\" method=\"post\" action=\"/console/admin/users/unlock\">");
            csrf_field(&mut b, &signed.viewer);
            b.raw("<input type=\"hidden\" name=\"username\" value=\"")
                .text(u.user.username.as_str())
                .raw("\"><button type=\"submit\">Unlock ")
                .text(u.user.username.as_str())
                .raw("</button></form>");
        }
        b.raw("</td></tr>");
    }
    b.raw("</tbody></table></div>");
    b.raw("<h2 id=\"create-h\">Create a user</h2><form class=\"stacked\" method=\"post\" action=\"/console/admin/users\" aria-labelledby=\"create-h\">");
    csrf_field(&mut b, &signed.viewer);
    b.raw("<label for=\"username\">User name</label><span class=\"hint\" id=\"username-hint\">Lowercase letters, digits, . _ -</span><input type=\"text\" id=\"username\" name=\"username\" required autocomplete=\"off\" aria-describedby=\"username-hint\"><label for=\"role\">Role</label><select id=\"role\" name=\"role\">");
    for r in ROLES {
        b.raw("<option value=\"")
            .raw(r.as_str())
            .raw("\">")
            .raw(r.as_str())
            .raw("</option>");
    }
    b.raw("</select><label for=\"password\">First password</label><span class=\"hint\" id=\"password-hint\">8 to 128 characters, not the user name. Give it to the user; the authenticator app is set up at their first sign-in.</span><input type=\"password\" id=\"password\" name=\"password\" required autocomplete=\"new-password\" aria-describedby=\"password-hint\"><p class=\"hint\">The user belongs to your agency. Family users are created with <code>callward admin user create --role family --number N</code>.</p><button type=\"submit\">Create user</button></form>");
    page(status, "Users", Some(&signed.viewer), error, &b)
}

/// `POST /console/admin/users`: `admin user create` in the own agency.
pub(crate) async fn create(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_manage_users(&signed) {
        return r;
    }
    let bad = |e: String| {
        let (state, signed) = (&state, &signed);
        async move { render(state, signed, StatusCode::BAD_REQUEST, None, Some(&e)).await }
    };
    let username = match Username::parse(&f.username) {
        Ok(u) => u,
        Err(e) => return bad(e.to_string()).await,
    };
    let role = match f.role.parse::<Role>() {
        Ok(Role::Family) => {
            return bad(
                "a family user is created with `admin user create --role family --number N`"
                    .to_owned(),
            )
            .await;
        }
        Ok(r) => r,
        Err(e) => return bad(e.to_string()).await,
    };
    let password = match NewPassword::parse(&f.password, username.as_str()) {
        Ok(p) => p,
        Err(e) => return bad(e.to_string()).await,
    };
    let hash = match crate::password::hash(password.expose()) {
        Ok(h) => h,
        Err(e) => return server_error(&e),
    };
    let agency = signed.auth.identity.agency;
    if let Err(r) = log_action(
        &state,
        &signed,
        Action::PermissionChange,
        ObjectKind::User,
        username.as_str(),
        &format!("create user, role {role}, agency {agency}"),
        from,
    )
    .await
    {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match store
        .create_account(&username, role, agency, &hash, None, now_ms())
        .await
    {
        Ok(u) => {
            tracing::info!(user = %u.username, role = %role, "user created (console)");
            Redirect::to(&format!("{PATH}?done=created")).into_response()
        }
        Err(e @ (StoreError::Conflict(_) | StoreError::Refused(_))) => bad(e.to_string()).await,
        Err(e) => server_error(&e),
    }
}

/// `POST /console/admin/users/unlock`: `admin user unlock`, own agency only.
pub(crate) async fn unlock(
    State(state): State<AppState>,
    Peer(from): Peer,
    headers: HeaderMap,
    Form(f): Form<UnlockForm>,
) -> Response {
    let signed = match admin_form(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = may_manage_users(&signed) {
        return r;
    }
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let user = match store.list_user_accounts().await {
        Ok(all) => all.into_iter().find(|u| {
            u.user.username.as_str() == f.username.trim() && u.agency == signed.auth.identity.agency
        }),
        Err(e) => return server_error(&e),
    };
    let Some(user) = user else {
        return render(
            &state,
            &signed,
            StatusCode::BAD_REQUEST,
            None,
            Some(&format!("no user named {}", f.username.trim())),
        )
        .await;
    };
    if let Err(r) = log_action(
        &state,
        &signed,
        Action::PermissionChange,
        ObjectKind::User,
        user.user.username.as_str(),
        "unlock",
        from,
    )
    .await
    {
        return r;
    }
    match store.unlock_account(user.user.id).await {
        Ok(was) => {
            tracing::info!(user = %user.user.username, "account unlocked (console)");
            Redirect::to(&format!(
                "{PATH}?done={}",
                if was { "unlocked" } else { "not-locked" }
            ))
            .into_response()
        }
        Err(e) => server_error(&e),
    }
}
