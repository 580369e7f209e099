//! Signing in from the command line, and what a signed-in person does
//! there: `callward session login`, `callward case open|close|list`,
//! `callward approval request|grant|refuse|list`, and the checks
//! `recording export --user` runs (case, privilege, quota, approval).
//!
//! The password and then the TOTP code are read from stdin, one a line,
//! never from flags (which `ps` shows). The rules are callward-core's
//! `auth` module; every sign-in, refusal and decision is appended to the
//! access log before it takes effect or anything is released
//! (`docs/access-control.md`).

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use callward_audit::{Action, Entry, ObjectKind, Source};
use callward_core::auth::{
    Access, AccessRequest, Actor, CaseStatus, Justification, Operation, check_decision, decide,
};
use callward_core::{AgencyId, ApprovalId, CallDetailRecord, CaseId, Name, User};
use callward_store::Release;
use clap::{Args, Subcommand};

use callward_web::auth::{Checked, Identity, check_credentials};

use crate::access_log::AccessLog;
use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;
use crate::local::Local;

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    callward_web::auth::now_ms()
}

/// A person signed in for one command.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub(crate) user: User,
    pub(crate) agency: AgencyId,
}

impl SignedIn {
    fn identity(&self) -> Identity {
        Identity {
            user: self.user.clone(),
            agency: self.agency,
        }
    }

    fn actor(&self) -> Actor {
        self.identity().actor()
    }

    /// An access-log entry for something this person did.
    pub(crate) fn entry(
        &self,
        action: Action,
        object_kind: ObjectKind,
        object_id: &str,
        case: Option<CaseId>,
        justification: &str,
        command: &str,
    ) -> Entry {
        self.identity().entry(
            action,
            object_kind,
            object_id,
            case,
            justification,
            Source::Local(format!("cli: callward {command}")),
        )
    }
}

/// Reads the password (first line) and the TOTP code (second line, may be absent).
fn read_credentials() -> anyhow::Result<(String, Option<String>)> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let password = lines
        .next()
        .transpose()
        .context("cannot read the password from stdin")?
        .unwrap_or_default();
    let password = password.trim_end_matches('\r').to_owned();
    if password.is_empty() {
        bail!("give the password on the first line of stdin (and the TOTP code on the second)");
    }
    let code = lines
        .next()
        .transpose()
        .context("cannot read the TOTP code from stdin")?
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    Ok((password, code))
}

/// Signs `username` in with the password and code on stdin, under the
/// login policy (TOTP, lockout; `callward_web::auth::check_credentials`);
/// logs the attempt whatever its outcome.
pub(crate) async fn sign_in(
    local: &Local,
    log: &mut AccessLog,
    username: &str,
    command: &str,
) -> anyhow::Result<SignedIn> {
    let (password, code) = read_credentials()?;
    let source = Source::Local(format!("cli: callward {command}"));
    let checked = check_credentials(
        &local.store,
        log.inner(),
        username,
        &password,
        code.as_deref(),
        &source,
        now_ms(),
    )
    .await?;
    match checked {
        Checked::SignedIn(identity) => Ok(SignedIn {
            user: identity.user,
            agency: identity.agency,
        }),
        Checked::EnrolmentRequired(identity) => {
            let name = identity.user.username.as_str();
            log.record(&identity.entry(
                Action::LoginFailed,
                ObjectKind::None,
                "",
                None,
                "TOTP not enrolled",
                source,
            ))
            .await?;
            bail!(
                "sign-in refused: {name} has no TOTP second factor enrolled; an administrator runs `callward admin user reset-totp {name}`"
            );
        }
        _ => bail!("sign-in refused: wrong user name, password or code"),
    }
}

/// Logs a refusal and fails with its reason.
async fn refuse(
    log: &mut AccessLog,
    who: &SignedIn,
    kind: ObjectKind,
    object: &str,
    case: Option<CaseId>,
    why: &str,
    command: &str,
) -> anyhow::Error {
    match log
        .record(&who.entry(Action::Refused, kind, object, case, why, command))
        .await
    {
        Ok(_) => anyhow::anyhow!("refused: {why}"),
        Err(e) => e,
    }
}

/// What `recording export --user` checks, for a person signed in (from
/// stdin, `sign_in`, or a session file), before anything is read: the
/// access decision (their agency against the call's, privilege, an open
/// case of theirs); the quota, with an approval if given. Refusals are
/// logged (a quota refusal with an alert); on success the release is
/// recorded and the export entry to append is returned.
#[allow(
    clippy::too_many_arguments,
    reason = "the export's flags, passed through as they are"
)]
pub(crate) async fn authorise_export(
    local: &Local,
    log: &mut AccessLog,
    who: &SignedIn,
    case: Option<i64>,
    approval: Option<i64>,
    call: &CallDetailRecord,
    recording: &str,
    reason: &str,
) -> anyhow::Result<Entry> {
    const CMD: &str = "recording export";
    let object_agency = local.store.facility_agency(call.facility_id).await?;
    let case = match case {
        Some(id) => Some(local.store.case(CaseId(id)).await?),
        None => None,
    };
    // A case of another agency counts as none.
    let status = case
        .as_ref()
        .filter(|c| c.agency == who.agency)
        .map_or(CaseStatus::None, callward_store::Case::status);
    let case_id = case.as_ref().map(|c| c.id);
    let access = decide(AccessRequest {
        op: Operation::Export,
        role: who.user.role,
        actor_agency: who.agency,
        object_agency,
        privileged: call.privileged,
        case: status,
    });
    if let Access::Deny(denied) = access {
        return Err(refuse(
            log,
            who,
            ObjectKind::Recording,
            recording,
            case_id,
            &denied.to_string(),
            CMD,
        )
        .await);
    }
    let Some(case_id) = case_id else {
        return Err(refuse(
            log,
            who,
            ObjectKind::Recording,
            recording,
            None,
            "no case",
            CMD,
        )
        .await);
    };
    let policy = local.store.agency(who.agency).await?.policy;
    let released = local
        .store
        .release(
            who.user.id,
            case_id,
            &[recording.to_owned()],
            policy,
            approval.map(ApprovalId),
            now_ms(),
        )
        .await;
    match released {
        Ok(Release::Done { approval, .. }) => {
            let why = match approval {
                Some(a) => format!("{reason} (approval {a})"),
                None => reason.to_owned(),
            };
            Ok(who.entry(
                Action::Export,
                ObjectKind::Recording,
                recording,
                Some(case_id),
                &why,
                CMD,
            ))
        }
        Ok(Release::NeedsApproval(need)) => {
            let why = need.to_string();
            log.record(&who.entry(
                Action::Refused,
                ObjectKind::Recording,
                recording,
                Some(case_id),
                &why,
                CMD,
            ))
            .await?;
            log.record(&who.entry(
                Action::Alert,
                ObjectKind::User,
                who.user.username.as_str(),
                Some(case_id),
                &format!("quota: {why}"),
                CMD,
            ))
            .await?;
            tracing::warn!(user = %who.user.username, "export refused over quota");
            bail!("refused: {why}; ask a supervisor (`callward approval request`)")
        }
        Err(e) => Err(refuse(
            log,
            who,
            ObjectKind::Recording,
            recording,
            Some(case_id),
            &e.to_string(),
            CMD,
        )
        .await),
    }
}

/// `callward session`.
#[derive(Debug, Args)]
pub(crate) struct SessionArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    key_dir: KeyDirArg,
    #[command(subcommand)]
    command: SessionCommand,
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Check a sign-in: password, then TOTP code, on stdin (logged; 5 failures lock).
    Login {
        /// The user name.
        #[arg(long)]
        user: String,
    },
}

/// `callward case`.
#[derive(Debug, Args)]
pub(crate) struct CaseArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// Who acts (password and TOTP code on stdin).
    #[arg(long, global = true)]
    user: Option<String>,
    #[command(subcommand)]
    command: CaseCommand,
}

#[derive(Debug, Subcommand)]
enum CaseCommand {
    /// Open a case: listening and export happen only inside one.
    Open {
        /// A short title.
        #[arg(long)]
        title: String,
        /// Why (at least 10 characters); kept with the case and logged.
        #[arg(long)]
        justification: String,
    },
    /// Close a case.
    Close {
        /// The case id.
        id: i64,
    },
    /// Your agency's cases.
    List,
}

/// `callward approval`.
#[derive(Debug, Args)]
pub(crate) struct ApprovalArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// Who acts (password and TOTP code on stdin).
    #[arg(long, global = true)]
    user: Option<String>,
    #[command(subcommand)]
    command: ApprovalCommand,
}

#[derive(Debug, Subcommand)]
enum ApprovalCommand {
    /// Ask a supervisor to let you release more recordings (over quota or bulk).
    Request {
        /// Recordings it should cover.
        #[arg(long)]
        count: u32,
        /// Why (at least 10 characters).
        #[arg(long)]
        reason: String,
    },
    /// Grant a request (supervisors of the same agency; never your own).
    Grant {
        /// The approval id.
        id: i64,
    },
    /// Refuse a request.
    Refuse {
        /// The approval id.
        id: i64,
    },
    /// Your agency's approvals.
    List,
}

fn need_user(user: Option<&str>) -> anyhow::Result<&str> {
    user.context("--user: who acts (password and TOTP code on stdin)")
}

/// Runs `callward session ...`.
pub(crate) async fn run_session(args: SessionArgs) -> anyhow::Result<()> {
    let SessionCommand::Login { user } = args.command;
    let local = Local::open_existing(&args.data_dir.data_dir).await?;
    let mut log = AccessLog::open(&local, &args.key_dir.key_dir).await?;
    let who = sign_in(&local, &mut log, &user, "session login").await?;
    crate::output::println(format_args!(
        "signed in as {} ({}, agency {})",
        who.user.username, who.user.role, who.agency
    ))?;
    Ok(())
}

/// Checks `op` for `who` on their own agency's objects; logs a refusal.
async fn require(
    log: &mut AccessLog,
    who: &SignedIn,
    op: Operation,
    case: CaseStatus,
    command: &str,
) -> anyhow::Result<()> {
    let access = decide(AccessRequest {
        op,
        role: who.user.role,
        actor_agency: who.agency,
        object_agency: who.agency,
        privileged: false,
        case,
    });
    match access {
        Access::Deny(d) => Err(refuse(
            log,
            who,
            ObjectKind::None,
            "",
            None,
            &d.to_string(),
            command,
        )
        .await),
        _ => Ok(()),
    }
}

/// Runs `callward case ...`.
pub(crate) async fn run_case(args: CaseArgs) -> anyhow::Result<()> {
    // Validate before opening anything.
    let parsed = match &args.command {
        CaseCommand::Open {
            title,
            justification,
        } => Some((
            Name::parse_field("case title", title)?,
            Justification::parse(justification)?,
        )),
        _ => None,
    };
    let user = need_user(args.user.as_deref())?;
    let local = Local::open_existing(&args.data_dir.data_dir).await?;
    let mut log = AccessLog::open(&local, &args.key_dir.key_dir).await?;
    let cmd = "case";
    let who = sign_in(&local, &mut log, user, cmd).await?;
    require(
        &mut log,
        &who,
        Operation::ManageCases,
        CaseStatus::None,
        cmd,
    )
    .await?;
    match args.command {
        CaseCommand::Open { .. } => {
            let Some((title, justification)) = parsed else {
                bail!("case open: nothing to open");
            };
            let case = local
                .store
                .open_case(who.agency, who.user.id, &title, &justification, now_ms())
                .await?;
            log.record(&who.entry(
                Action::CaseOpen,
                ObjectKind::Case,
                &case.id.to_string(),
                Some(case.id),
                justification.as_str(),
                "case open",
            ))
            .await?;
            crate::output::println(format_args!("case {} opened: {}", case.id, case.title))?;
        }
        CaseCommand::Close { id } => {
            let case = local.store.case(CaseId(id)).await?;
            if case.agency != who.agency {
                return Err(refuse(
                    &mut log,
                    &who,
                    ObjectKind::Case,
                    &id.to_string(),
                    None,
                    "another agency's case",
                    "case close",
                )
                .await);
            }
            log.record(&who.entry(
                Action::CaseClose,
                ObjectKind::Case,
                &id.to_string(),
                Some(case.id),
                "",
                "case close",
            ))
            .await?;
            local
                .store
                .close_case(case.id, who.user.id, now_ms())
                .await?;
            crate::output::println(format_args!("case {id} closed"))?;
        }
        CaseCommand::List => {
            for c in local.store.list_cases(who.agency).await? {
                let state = if c.closed_ms.is_some() {
                    "closed"
                } else {
                    "open"
                };
                crate::output::println(format_args!("{}\t{state}\t{}", c.id, c.title))?;
            }
        }
    }
    Ok(())
}

/// Runs `callward approval ...`.
pub(crate) async fn run_approval(args: ApprovalArgs) -> anyhow::Result<()> {
    let reason = match &args.command {
        ApprovalCommand::Request { reason, count } => {
            if *count == 0 {
                bail!("--count: at least 1");
            }
            Some(Justification::parse(reason)?)
        }
        _ => None,
    };
    let user = need_user(args.user.as_deref())?;
    let local = Local::open_existing(&args.data_dir.data_dir).await?;
    let mut log = AccessLog::open(&local, &args.key_dir.key_dir).await?;
    let cmd = "approval";
    let who = sign_in(&local, &mut log, user, cmd).await?;
    match args.command {
        ApprovalCommand::Request { count, .. } => {
            // Only those who may export ask to export more.
            // (As if inside a case: the role and agency are what matter here.)
            require(&mut log, &who, Operation::Export, CaseStatus::Open, cmd).await?;
            let Some(reason) = reason else {
                bail!("approval request: no reason");
            };
            let a = local
                .store
                .request_approval(who.user.id, who.agency, count, &reason, now_ms())
                .await?;
            log.record(&who.entry(
                Action::ApprovalRequest,
                ObjectKind::Approval,
                &a.id.to_string(),
                None,
                &format!("{count} recordings: {}", reason.as_str()),
                "approval request",
            ))
            .await?;
            crate::output::println(format_args!(
                "approval {} requested for {count} recordings; a supervisor of your agency decides",
                a.id
            ))?;
        }
        ApprovalCommand::Grant { id } | ApprovalCommand::Refuse { id } => {
            let grant = matches!(args.command, ApprovalCommand::Grant { .. });
            let command = if grant {
                "approval grant"
            } else {
                "approval refuse"
            };
            require(
                &mut log,
                &who,
                Operation::Approve,
                CaseStatus::None,
                command,
            )
            .await?;
            let approval = local.store.approval(ApprovalId(id)).await?;
            // Checked (two-person rule) and logged before it takes effect;
            // the store checks again in its transaction.
            if let Err(e) = check_decision(&approval, who.actor(), now_ms()) {
                return Err(refuse(
                    &mut log,
                    &who,
                    ObjectKind::Approval,
                    &id.to_string(),
                    None,
                    &e.to_string(),
                    command,
                )
                .await);
            }
            let action = if grant {
                Action::ApprovalGrant
            } else {
                Action::ApprovalRefuse
            };
            log.record(&who.entry(
                action,
                ObjectKind::Approval,
                &id.to_string(),
                None,
                &approval.reason,
                command,
            ))
            .await?;
            local
                .store
                .decide_approval(approval.id, who.actor(), grant, now_ms())
                .await?;
            crate::output::println(format_args!(
                "approval {id} {}",
                if grant { "granted" } else { "refused" }
            ))?;
        }
        ApprovalCommand::List => {
            for a in local.store.list_approvals(who.agency).await? {
                crate::output::println(format_args!(
                    "{}\t{}\t{}\t{} recordings\t{}",
                    a.id,
                    a.state.as_str(),
                    local.store.approval_requester(&a).await?,
                    a.count,
                    a.reason
                ))?;
            }
        }
    }
    Ok(())
}
