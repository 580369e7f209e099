//! `callward admin user ...` and `callward admin agency ...`: console
//! accounts and the agencies they belong to. Each change is appended to the
//! access log (the local operator, the object) before it takes effect, so
//! these commands need the key directory's log key (`keys init`).
//!
//! Passwords come from stdin (one line), never from flags; a new TOTP
//! secret is shown once, as an `otpauth://` URI, and never again.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use callward_audit::{Action, ObjectKind};
use callward_core::auth::login::requires_totp;
use callward_core::auth::totp::SECRET_LEN;
use callward_core::auth::{NewPassword, QuotaPolicy, TotpSecret};
use callward_core::{AgencyId, E164Number, FacilityId, Name, Role, Username};
use clap::Subcommand;

use crate::local::Local;

/// `callward admin user`.
#[derive(Debug, Subcommand)]
pub(crate) enum UserCmd {
    /// Create a console user; the password is read from stdin.
    Create {
        /// Login name (lowercase letters, digits, . _ -).
        username: String,
        /// admin, investigator, supervisor, auditor, attorney, operator or family.
        #[arg(long)]
        role: String,
        /// Agency id or exact name [default: 1, the default agency].
        #[arg(long, default_value = "1")]
        agency: String,
        /// Family only: the called party's number (E.164 or ten digits); its
        /// prepaid account is opened if there is none, then the user is bound to it.
        #[arg(long)]
        number: Option<String>,
    },
    /// List users: role, agency, locked, TOTP enrolled.
    List,
    /// Unlock an account locked by failed sign-ins.
    Unlock {
        /// The user name.
        username: String,
    },
    /// Give a user a new TOTP secret (shown once); the old one stops working.
    ResetTotp {
        /// The user name.
        username: String,
    },
    /// Change a user's role (ends their sessions).
    SetRole {
        /// The user name.
        username: String,
        /// The new role.
        role: String,
    },
}

/// `callward admin agency`.
#[derive(Debug, Subcommand)]
pub(crate) enum AgencyCmd {
    /// Create an agency.
    Create {
        /// Unique name.
        name: String,
    },
    /// List agencies with their quota and bulk limit.
    List,
    /// Set how many recordings a person may release in 24 hours, and in one export, without approval.
    SetQuota {
        /// Agency id or exact name.
        agency: String,
        /// Recordings a day (default 50).
        #[arg(long)]
        daily: u32,
        /// Recordings in one export (default 10).
        #[arg(long)]
        bulk: u32,
    },
    /// Move a facility (and its calls) to an agency.
    AssignFacility {
        /// Agency id or exact name.
        agency: String,
        /// Facility id.
        facility: i64,
    },
}

fn new_secret() -> anyhow::Result<TotpSecret> {
    let mut bytes = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for a TOTP secret: {e}"))?;
    Ok(TotpSecret::new(bytes)?)
}

fn read_password(username: &str) -> anyhow::Result<NewPassword> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let line = line.trim_end_matches(['\n', '\r']);
    Ok(NewPassword::parse(line, username)?)
}

async fn user_id(local: &Local, username: &str) -> anyhow::Result<callward_core::User> {
    Ok(local
        .store
        .user_account(username, 0)
        .await?
        .with_context(|| format!("no user named {username}"))?
        .user)
}

/// Runs `admin user ...`.
pub(crate) async fn user(
    cmd: UserCmd,
    dir: &std::path::Path,
    key_dir: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Create {
            username,
            role,
            agency,
            number,
        } => {
            let username = Username::parse(&username)?;
            let role: Role = role.parse()?;
            let number = family_number(role, number.as_deref())?;
            let password = read_password(username.as_str())?;
            let local = Local::open_existing(dir).await?;
            let agency = local.store.find_agency(&agency).await?;
            let hash = callward_web::password::hash(password.expose())?;
            let secret = if requires_totp(role) {
                Some(new_secret()?)
            } else {
                None
            };
            let bound = number
                .as_ref()
                .map(|n| format!(", bound to {}", n.masked()))
                .unwrap_or_default();
            crate::admin::log_action(
                &local,
                key_dir,
                Action::PermissionChange,
                ObjectKind::User,
                username.as_str(),
                &format!("create user, role {role}, agency {}{bound}", agency.id),
                "admin user create",
            )
            .await?;
            if let Some(number) = number {
                let family = local
                    .store
                    .create_family_user(
                        &username,
                        agency.id,
                        &hash,
                        &number,
                        crate::session_cli::now_ms(),
                    )
                    .await?;
                crate::output::println(format_args!(
                    "user {username} created: family, agency {} ({}), account {} of {}",
                    agency.id,
                    agency.name,
                    family.account_id,
                    number.masked()
                ))?;
                return Ok(());
            }
            let user = local
                .store
                .create_account(
                    &username,
                    role,
                    agency.id,
                    &hash,
                    secret.as_ref(),
                    crate::session_cli::now_ms(),
                )
                .await?;
            crate::output::println(format_args!(
                "user {} created: {role}, agency {} ({})",
                user.username, agency.id, agency.name
            ))?;
            if let Some(secret) = secret {
                print_enrolment(&secret, username.as_str())?;
            }
        }
        UserCmd::List => {
            let local = Local::open_existing(dir).await?;
            let users = local.store.list_user_accounts().await?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.user.id, "username": u.user.username, "role": u.user.role,
                            "agency": u.agency, "locked": u.locked, "totp_enrolled": u.totp_enrolled,
                        })
                    })
                    .collect();
                crate::output::println(format_args!("{}", serde_json::Value::Array(rows)))?;
            } else {
                for u in users {
                    crate::output::println(format_args!(
                        "{}\t{}\t{}\tagency {}{}{}",
                        u.user.id,
                        u.user.username,
                        u.user.role,
                        u.agency,
                        if u.locked { "\tLOCKED" } else { "" },
                        if u.totp_enrolled { "\ttotp" } else { "" },
                    ))?;
                }
            }
        }
        UserCmd::Unlock { username } => {
            let local = Local::open_existing(dir).await?;
            let user = user_id(&local, &username).await?;
            crate::admin::log_action(
                &local,
                key_dir,
                Action::PermissionChange,
                ObjectKind::User,
                user.username.as_str(),
                "unlock",
                "admin user unlock",
            )
            .await?;
            let was = local.store.unlock_account(user.id).await?;
            crate::output::println(format_args!(
                "{} {}",
                user.username,
                if was { "unlocked" } else { "was not locked" }
            ))?;
        }
        UserCmd::ResetTotp { username } => {
            let local = Local::open_existing(dir).await?;
            let user = user_id(&local, &username).await?;
            let secret = new_secret()?;
            crate::admin::log_action(
                &local,
                key_dir,
                Action::KeyChange,
                ObjectKind::User,
                user.username.as_str(),
                "new TOTP secret",
                "admin user reset-totp",
            )
            .await?;
            local.store.set_totp(user.id, Some(&secret)).await?;
            print_enrolment(&secret, user.username.as_str())?;
        }
        UserCmd::SetRole { username, role } => {
            let role: Role = role.parse()?;
            let local = Local::open_existing(dir).await?;
            let user = user_id(&local, &username).await?;
            if role == Role::Family || user.role == Role::Family {
                // A family user is bound to one account at creation, for good.
                bail!(
                    "a family user is created with `admin user create --role family --number N` and keeps that role"
                );
            }
            crate::admin::log_action(
                &local,
                key_dir,
                Action::PermissionChange,
                ObjectKind::User,
                user.username.as_str(),
                &format!("role {} -> {role}", user.role),
                "admin user set-role",
            )
            .await?;
            local.store.set_role(user.id, role).await?;
            let account = local.store.user_account(user.username.as_str(), 0).await?;
            let enrolled = account.is_some_and(|a| a.login.totp.is_some());
            crate::output::println(format_args!("{} is now {role}", user.username))?;
            if requires_totp(role) && !enrolled {
                let secret = new_secret()?;
                local.store.set_totp(user.id, Some(&secret)).await?;
                print_enrolment(&secret, user.username.as_str())?;
            }
        }
    }
    Ok(())
}

/// `--number` is required for a family user and refused for every other role.
fn family_number(role: Role, number: Option<&str>) -> anyhow::Result<Option<E164Number>> {
    match (role, number) {
        (Role::Family, Some(n)) => Ok(Some(
            E164Number::parse(n).map_err(|e| anyhow::anyhow!("--number: {e}"))?,
        )),
        (Role::Family, None) => {
            bail!("a family user needs --number, the called party's number it is bound to")
        }
        (_, Some(_)) => bail!("--number is only for --role family"),
        (_, None) => Ok(None),
    }
}

fn print_enrolment(secret: &TotpSecret, username: &str) -> anyhow::Result<()> {
    crate::output::println(format_args!(
        "TOTP (shown once; add it to an authenticator app now): {}",
        secret.otpauth_uri("callward", username)
    ))
}

/// Runs `admin agency ...`.
pub(crate) async fn agency(
    cmd: AgencyCmd,
    dir: &std::path::Path,
    key_dir: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    match cmd {
        AgencyCmd::Create { name } => {
            let name = Name::parse_field("agency name", &name)?;
            let local = Local::open_existing(dir).await?;
            crate::admin::log_action(
                &local,
                key_dir,
                Action::PermissionChange,
                ObjectKind::Agency,
                name.as_str(),
                "create agency",
                "admin agency create",
            )
            .await?;
            let a = local
                .store
                .create_agency(&name, crate::session_cli::now_ms())
                .await?;
            crate::output::println(format_args!("agency {} created: {}", a.id, a.name))?;
        }
        AgencyCmd::List => {
            let local = Local::open_existing(dir).await?;
            for a in local.store.list_agencies().await? {
                if json {
                    crate::output::println(format_args!(
                        "{}",
                        serde_json::json!({"id": a.id, "name": a.name.as_str(), "daily_quota": a.policy.daily, "bulk_limit": a.policy.bulk})
                    ))?;
                } else {
                    crate::output::println(format_args!(
                        "{}\t{}\t{} a day, {} at once",
                        a.id, a.name, a.policy.daily, a.policy.bulk
                    ))?;
                }
            }
        }
        AgencyCmd::SetQuota {
            agency,
            daily,
            bulk,
        } => {
            if bulk == 0 {
                bail!("--bulk: at least 1");
            }
            let local = Local::open_existing(dir).await?;
            let a = local.store.find_agency(&agency).await?;
            crate::admin::log_action(
                &local,
                key_dir,
                Action::PermissionChange,
                ObjectKind::Agency,
                &a.id.to_string(),
                &format!("quota {daily} a day, {bulk} at once"),
                "admin agency set-quota",
            )
            .await?;
            local
                .store
                .set_agency_policy(a.id, QuotaPolicy { daily, bulk })
                .await?;
            crate::output::println(format_args!(
                "agency {}: {daily} a day, {bulk} at once",
                a.id
            ))?;
        }
        AgencyCmd::AssignFacility { agency, facility } => {
            let local = Local::open_existing(dir).await?;
            let a = local.store.find_agency(&agency).await?;
            crate::admin::log_action(
                &local,
                key_dir,
                Action::PermissionChange,
                ObjectKind::Agency,
                &a.id.to_string(),
                &format!("facility {facility} assigned"),
                "admin agency assign-facility",
            )
            .await?;
            local
                .store
                .set_facility_agency(FacilityId(facility), a.id)
                .await?;
            crate::output::println(format_args!(
                "facility {facility} now belongs to agency {}",
                a.id
            ))?;
        }
    }
    Ok(())
}

/// The demo's agency: the default one, renamed.
pub(crate) async fn seed_demo_agency(local: &Local) -> anyhow::Result<()> {
    let name = Name::parse_field("agency name", "Demo County Sheriff")?;
    if local.store.agency(AgencyId(1)).await?.name != name {
        local.store.rename_agency(AgencyId(1), &name).await?;
    }
    Ok(())
}
