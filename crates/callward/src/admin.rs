//! `callward admin ...`: create, list, show, update and remove facilities,
//! stations, people, approved and blocked numbers, privileged registrations
//! and accounts, on the local data dir.
//!
//! Input is parsed into domain types before any state is opened, so bad
//! input changes nothing. Only `facility create` may create a data dir;
//! everything else needs one that exists. `--json` prints machine-readable
//! output for scripts. Full phone numbers and PINs are printed only where
//! the administrator asked for them (stdout), never logged.
//!
//! Every change is appended to the access log (action `admin change`, the
//! local operator, the object and what changed, never a PIN or a full
//! number) before it is made: if the log cannot be written, nothing
//! changes. The log key is `audit.key` in `--key-dir` (one flag for every
//! admin command); the command that creates the data dir (`facility
//! create`) also creates that key when it is absent, every other change
//! refuses without it.

use std::io::BufRead as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_core::facility::{
    parse_gateway, parse_max_calls_per_day, validate_max_call_minutes, validate_pin_length,
};
use callward_core::lists::validate_bar_number;
use callward_core::tariff::Tariffs;
use callward_core::{
    Account, AccountHolder, AccountId, BlockId, BlockScope, CallingHours, Cents, CentsPerMinute,
    Code, ContactId, E164Number, Facility, FacilityId, FacilityKind, FacilityRate,
    FacilityTimeZone, Language, Name, Person, PersonStatus, Pin, PrivilegedId, Station, UsState,
    Verification,
};
use callward_store::{
    FacilityUpdate, NewFacility, NewPerson, NewPrivileged, NewStation, PersonUpdate, StationUpdate,
    Store, StoreError,
};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::DataDirArg;
use crate::local::Local;

use callward_audit::{Action, ObjectKind};

/// `callward admin`.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The key directory whose `audit.key` signs the access log every change
    /// is written to first (`facility create` on a new data dir makes it).
    #[arg(long = "key-dir", value_name = "DIR", default_value = crate::keys::DEFAULT_KEY_DIR, global = true)]
    key_dir: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Jails and prisons, their calling rules and gateways.
    #[command(subcommand)]
    Facility(FacilityCmd),
    /// Inmate phones, identified by their SIP user.
    #[command(subcommand)]
    Station(StationCmd),
    /// People in custody and their PINs.
    #[command(subcommand)]
    Person(PersonCmd),
    /// A person's approved numbers.
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Blocked numbers: per person, per facility, or at the called party's request.
    #[command(subcommand)]
    Block(BlockCmd),
    /// The privileged (attorney) registry: never recorded or monitored.
    #[command(subcommand)]
    Privileged(PrivilegedCmd),
    /// Prepaid (called party) and debit (person in custody) accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Console users: create, list, unlock, reset TOTP, set role.
    #[command(subcommand)]
    User(crate::users::UserCmd),
    /// Agencies: facilities and users belong to one; quotas.
    #[command(subcommand)]
    Agency(crate::users::AgencyCmd),
}

impl AdminCommand {
    /// The group name, for the log span (never the arguments: they may hold PINs).
    fn name(&self) -> &'static str {
        match self {
            Self::Facility(_) => "facility",
            Self::Station(_) => "station",
            Self::Person(_) => "person",
            Self::Contact(_) => "contact",
            Self::Block(_) => "block",
            Self::Privileged(_) => "privileged",
            Self::Account(_) => "account",
            Self::User(_) => "user",
            Self::Agency(_) => "agency",
        }
    }
}

#[derive(Debug, Subcommand)]
enum FacilityCmd {
    /// Create a facility (creates the data dir if it does not exist).
    Create(FacilityCreate),
    /// List facilities.
    List,
    /// Show one facility.
    Show {
        /// Facility id or exact name.
        facility: String,
    },
    /// Change a facility's settings.
    Update(FacilityUpdateArgs),
    /// Remove a facility that has no stations or people left.
    Remove {
        /// Facility id or exact name.
        facility: String,
    },
}

#[derive(Debug, Args)]
struct FacilityCreate {
    /// Unique display name.
    #[arg(long)]
    name: String,
    /// prison or jail.
    #[arg(long)]
    kind: String,
    /// Average daily population (sets the FCC rate tier).
    #[arg(long = "adp", value_name = "N")]
    average_daily_population: u32,
    /// IANA time zone, e.g. America/Chicago.
    #[arg(long)]
    timezone: String,
    /// Address the station gateway sends SIP from (repeat for several).
    #[arg(long = "gateway", value_name = "IP", required = true)]
    gateways: Vec<String>,
    /// Calling hours in local time, HH:MM-HH:MM, or "always".
    #[arg(long, default_value = "07:00-22:00")]
    hours: String,
    /// Longest call in minutes.
    #[arg(long, default_value_t = 15)]
    max_call_minutes: u32,
    /// Most calls a person may start per local day.
    #[arg(long)]
    max_calls_per_day: Option<u32>,
    /// Let people call any number not blocked (default: approved numbers only).
    #[arg(long)]
    open_list: bool,
    /// Digits in a PIN.
    #[arg(long, default_value_t = 6)]
    pin_length: u8,
    /// Days recordings are kept before the expiry job deletes them (1 to 36500).
    #[arg(long, value_name = "N", default_value_t = callward_store::DEFAULT_RETENTION_DAYS)]
    retention_days: u32,
    #[command(flatten)]
    rate: RateArgs,
}

/// A facility's own rate (`docs/billing.md`): refused above the cap in
/// force for its tier today or under any later schedule loaded.
#[derive(Debug, Args)]
struct RateArgs {
    /// The facility's own per-minute audio rate in dollars, e.g. 0.05 (default:
    /// the cap in force for its tier); "none" to charge the cap again.
    #[arg(long, value_name = "DOLLARS")]
    rate: Option<String>,
    /// A per-minute facility-cost additive in dollars, where the tariff
    /// schedule allows one (needs --rate, or a rate already set); "none" to remove.
    #[arg(long, value_name = "DOLLARS")]
    facility_cost_additive: Option<String>,
    /// Rate-cap schedules to check the rate against [default: ./tariffs, else the source checkout's]
    #[arg(long, value_name = "DIR")]
    tariffs_dir: Option<PathBuf>,
}

/// What the rate flags ask for: `None` leaves a part as it is, `Some(None)`
/// removes it.
struct RateChange {
    audio: Option<Option<CentsPerMinute>>,
    additive: Option<Option<CentsPerMinute>>,
    tariffs: Option<Tariffs>,
}

impl RateArgs {
    /// Parses the flags and, if any is given, loads the tariffs: all before
    /// any state is opened.
    fn parse(&self) -> anyhow::Result<RateChange> {
        let cents =
            |name: &str, v: &Option<String>| -> anyhow::Result<Option<Option<CentsPerMinute>>> {
                let Some(v) = v.as_deref().map(str::trim) else {
                    return Ok(None);
                };
                if v == "none" {
                    return Ok(Some(None));
                }
                let c = flag(name, Cents::parse_dollars(v))?;
                let c = u32::try_from(c.0)
                    .ok()
                    .filter(|c| *c <= 100)
                    .ok_or_else(|| anyhow::anyhow!("--{name}: {v} is not a per-minute rate"))?;
                Ok(Some(Some(CentsPerMinute(c))))
            };
        let audio = cents("rate", &self.rate)?;
        let additive = cents("facility-cost-additive", &self.facility_cost_additive)?
            .map(|a| a.filter(|a| a.0 > 0));
        let tariffs = if audio.is_some() || additive.is_some() || self.tariffs_dir.is_some() {
            let dir = self
                .tariffs_dir
                .clone()
                .unwrap_or_else(crate::billing::default_tariffs_dir);
            Some(crate::billing::load_tariffs(&dir)?)
        } else {
            None
        };
        Ok(RateChange {
            audio,
            additive,
            tariffs,
        })
    }
}

impl RateChange {
    /// The rate after the change, for a facility whose rate is `current`.
    fn apply(&self, current: Option<FacilityRate>) -> anyhow::Result<Option<FacilityRate>> {
        let audio = match self.audio {
            Some(a) => a,
            None => current.map(|r| r.audio),
        };
        let additive = match self.additive {
            Some(a) => a,
            None => current.and_then(|r| r.facility_cost_additive),
        };
        match (audio, additive) {
            (None, Some(_)) => {
                bail!("--facility-cost-additive needs a rate: give --rate as well")
            }
            (None, None) => Ok(None),
            (Some(audio), additive) => Ok(Some(FacilityRate {
                audio,
                facility_cost_additive: additive,
            })),
        }
    }

    /// Refuses a rate above the cap in force for `kind` and `adp` on the
    /// facility's local date today, or under any later schedule loaded.
    fn check(
        &self,
        rate: Option<FacilityRate>,
        kind: FacilityKind,
        adp: u32,
        timezone: &FacilityTimeZone,
    ) -> anyhow::Result<()> {
        let (Some(rate), Some(tariffs)) = (rate, &self.tariffs) else {
            return Ok(());
        };
        let today = timezone.local_date(jiff::Timestamp::now());
        tariffs
            .check_facility_rate(kind, adp, today, rate)
            .map_err(|e| anyhow::anyhow!("--rate: {e}"))?;
        Ok(())
    }
}

#[derive(Debug, Args)]
struct FacilityUpdateArgs {
    /// Facility id or exact name.
    facility: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long = "adp", value_name = "N")]
    average_daily_population: Option<u32>,
    #[arg(long)]
    timezone: Option<String>,
    /// Replaces the gateway list (repeat for several).
    #[arg(long = "gateway", value_name = "IP")]
    gateways: Vec<String>,
    #[arg(long)]
    hours: Option<String>,
    #[arg(long)]
    max_call_minutes: Option<u32>,
    /// A number, or "none" to remove the limit.
    #[arg(long)]
    max_calls_per_day: Option<String>,
    /// true: approved numbers only; false: any number not blocked.
    #[arg(long)]
    approved_list: Option<bool>,
    /// Days recordings are kept before the expiry job deletes them (1 to 36500).
    #[arg(long, value_name = "N")]
    retention_days: Option<u32>,
    #[command(flatten)]
    rate: RateArgs,
}

#[derive(Debug, Subcommand)]
enum StationCmd {
    /// Add a station to a facility.
    Create {
        /// Facility id or exact name.
        #[arg(long)]
        facility: String,
        /// The SIP From user the phone sends, e.g. station-101.
        #[arg(long = "id")]
        code: String,
        /// Where it is.
        #[arg(long, default_value = "")]
        location: String,
        /// Never record or monitor calls from it (legal visit room).
        #[arg(long)]
        do_not_record: bool,
    },
    /// List stations.
    List {
        /// Only this facility's.
        #[arg(long)]
        facility: Option<String>,
    },
    /// Show one station.
    Show {
        /// Station id (SIP user).
        station: String,
    },
    /// Change a station.
    Update {
        /// Station id (SIP user).
        station: String,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        enabled: Option<bool>,
        #[arg(long)]
        do_not_record: Option<bool>,
    },
    /// Clear a station's PIN lock (failed PIN entries).
    Unlock {
        /// Station id (SIP user).
        station: String,
    },
    /// Remove a station.
    Remove {
        /// Station id (SIP user).
        station: String,
    },
}

/// How a PIN is given: on the command line, on stdin, or generated.
#[derive(Debug, Args)]
#[group(multiple = false)]
struct PinSource {
    /// The PIN (visible to other local users in the process list; prefer --pin-stdin).
    #[arg(long)]
    pin: Option<String>,
    /// Read the PIN from the first line of stdin.
    #[arg(long)]
    pin_stdin: bool,
    /// Generate a random PIN and print it once.
    #[arg(long)]
    generate_pin: bool,
}

#[derive(Debug, Subcommand)]
enum PersonCmd {
    /// Admit a person.
    Create {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        booking_id: String,
        #[arg(long)]
        name: String,
        /// en or es.
        #[arg(long, default_value = "en")]
        language: String,
        #[command(flatten)]
        pin: PinSource,
    },
    /// List people at a facility.
    List {
        #[arg(long)]
        facility: String,
    },
    /// Show one person.
    Show {
        #[arg(long)]
        facility: String,
        booking_id: String,
    },
    /// Change a person.
    Update {
        #[arg(long)]
        facility: String,
        booking_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        language: Option<String>,
        /// active, suspended or released.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        do_not_record: Option<bool>,
    },
    /// Set or reset a person's PIN.
    SetPin {
        #[arg(long)]
        facility: String,
        booking_id: String,
        #[command(flatten)]
        pin: PinSource,
    },
    /// Remove a person with their approved numbers and personal blocks.
    Remove {
        #[arg(long)]
        facility: String,
        booking_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ContactCmd {
    /// Approve a number for a person.
    Add {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        booking_id: String,
        #[arg(long)]
        number: String,
        /// Who answers ("Mother").
        #[arg(long, default_value = "")]
        label: String,
    },
    /// A person's approved numbers.
    List {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        booking_id: String,
    },
    /// Remove an approval by its id.
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
enum BlockCmd {
    /// Block a number: for one person (--booking-id), the whole facility, or
    /// as the called party's own request (--called-party).
    Add {
        #[arg(long)]
        facility: String,
        #[arg(long, conflicts_with = "called_party")]
        booking_id: Option<String>,
        #[arg(long)]
        called_party: bool,
        #[arg(long)]
        number: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Every list that concerns a facility.
    List {
        #[arg(long)]
        facility: String,
    },
    /// Remove an entry by its id.
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
enum PrivilegedCmd {
    /// Register an attorney's number (pending verification; already never recorded).
    Register {
        #[arg(long)]
        number: String,
        #[arg(long)]
        attorney: String,
        #[arg(long)]
        bar_number: String,
        /// Two-letter state of the bar, e.g. TX.
        #[arg(long)]
        bar_state: String,
    },
    /// The whole registry.
    List,
    /// Mark a registration verified (and seal earlier recordings of calls to it).
    Verify {
        id: i64,
        /// Who checked it (a console user name).
        #[arg(long)]
        by: String,
    },
    /// Mark a registration rejected (calls to it are recorded again).
    Reject {
        id: i64,
        #[arg(long)]
        by: String,
    },
    /// Remove a registration.
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
enum AccountCmd {
    /// Open a prepaid account for a number, or a debit account for a person.
    Open {
        /// Prepaid: the called party's number.
        #[arg(long, conflicts_with_all = ["facility", "booking_id"], required_unless_present = "booking_id")]
        number: Option<String>,
        /// Debit: the person's facility.
        #[arg(long, requires = "booking_id")]
        facility: Option<String>,
        /// Debit: the person's booking id.
        #[arg(long, requires = "facility")]
        booking_id: Option<String>,
    },
    /// All accounts.
    List,
    /// One account.
    Show { id: i64 },
    /// An account's statement: deposits and calls with the running balance.
    Statement(crate::billing::StatementArgs),
    /// Give back part or all of a call's charge to the account that paid it.
    Refund(crate::billing::RefundArgs),
    /// Close an account, returning its whole balance to the holder.
    Close { id: i64 },
    /// Check the ledger: every rule, every balance, revenue against call charges.
    Check,
    /// Record a deposit made through the payment processor.
    Deposit {
        id: i64,
        /// Dollars, e.g. 10.00.
        #[arg(long)]
        amount: String,
        /// The payment's reference.
        #[arg(long)]
        reference: String,
    },
}

/// Runs one admin command inside an `admin` span.
pub(crate) async fn run(args: AdminArgs) -> anyhow::Result<()> {
    use tracing::Instrument as _;
    let span = tracing::info_span!("admin", command = args.command.name());
    run_command(args).instrument(span).await
}

async fn run_command(args: AdminArgs) -> anyhow::Result<()> {
    let out = Output { json: args.json };
    let dir = args.data_dir.data_dir.as_path();
    let key_dir = args.key_dir.as_path();
    match args.command {
        AdminCommand::Facility(cmd) => facility(cmd, dir, key_dir, out).await,
        AdminCommand::Station(cmd) => station(cmd, dir, key_dir, out).await,
        AdminCommand::Person(cmd) => person(cmd, dir, key_dir, out).await,
        AdminCommand::Contact(cmd) => contact(cmd, dir, key_dir, out).await,
        AdminCommand::Block(cmd) => block(cmd, dir, key_dir, out).await,
        AdminCommand::Privileged(cmd) => privileged(cmd, dir, key_dir, out).await,
        AdminCommand::Account(cmd) => account(cmd, dir, key_dir, out).await,
        AdminCommand::User(cmd) => crate::users::user(cmd, dir, key_dir, out.json).await,
        AdminCommand::Agency(cmd) => crate::users::agency(cmd, dir, key_dir, out.json).await,
    }
}

/// Appends the local operator's change to the access log; the change may
/// be made only after this returns `Ok`.
pub(crate) async fn log_change(
    local: &Local,
    key_dir: &Path,
    kind: ObjectKind,
    object: &str,
    what: &str,
    command: &str,
) -> anyhow::Result<()> {
    log_action(
        local,
        key_dir,
        Action::AdminChange,
        kind,
        object,
        what,
        command,
    )
    .await
}

/// [`log_change`] with another action (user and agency changes are
/// permission changes).
pub(crate) async fn log_action(
    local: &Local,
    key_dir: &Path,
    action: Action,
    kind: ObjectKind,
    object: &str,
    what: &str,
    command: &str,
) -> anyhow::Result<()> {
    crate::access_log::record_local(
        local,
        key_dir,
        "admin changes",
        (action, kind, object, what, command),
    )
    .await?;
    Ok(())
}

/// `update: a, b` for the fields given.
fn updated(fields: &[(&str, bool)]) -> String {
    let names: Vec<&str> = fields
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
    if names.is_empty() {
        "update: nothing".to_owned()
    } else {
        format!("update: {}", names.join(", "))
    }
}

#[derive(Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    fn one<T: Serialize + Text>(self, value: &T) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            println!("{}", value.text());
        }
        Ok(())
    }

    fn many<T: Serialize + Text>(self, values: &[T]) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(values)?);
        } else {
            for v in values {
                println!("{}", v.text());
            }
        }
        Ok(())
    }

    fn done(self, what: &str) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::json!({ "ok": true, "done": what }));
        } else {
            println!("{what}");
        }
        Ok(())
    }
}

/// A human-readable rendering for text output.
trait Text {
    fn text(&self) -> String;
}

impl Text for Facility {
    fn text(&self) -> String {
        let gateways: Vec<String> = self.gateways.iter().map(ToString::to_string).collect();
        let mut text = format!(
            "facility {}: {} ({}, ADP {}, tier {}, cap {} c/min)\n  timezone {}, hours {}, max {} min/call, {} calls/day, {}, PIN {} digits\n  gateways {}",
            self.id,
            self.name,
            self.kind,
            self.average_daily_population,
            self.tier().as_str(),
            self.tier().audio_cap().0,
            self.timezone.name(),
            self.calling_hours,
            self.max_call_minutes,
            self.max_calls_per_day
                .map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
            if self.requires_approved_list {
                "approved numbers only"
            } else {
                "any number not blocked"
            },
            self.pin_length,
            gateways.join(", ")
        );
        match self.rate {
            None => text.push_str("\n  rate: the cap in force for its tier"),
            Some(r) => {
                text.push_str(&format!("\n  own rate {} c/min", r.audio.0));
                if let Some(add) = r.facility_cost_additive {
                    text.push_str(&format!(
                        " + {} c/min facility costs = {} c/min",
                        add.0,
                        r.per_minute().0
                    ));
                }
                text.push_str(" (never above the cap in force)");
            }
        }
        text
    }
}

impl Text for Station {
    fn text(&self) -> String {
        format!(
            "station {} (facility {}): {}{}{}",
            self.code,
            self.facility_id,
            if self.location.is_empty() {
                "-"
            } else {
                &self.location
            },
            if self.enabled { "" } else { ", disabled" },
            if self.do_not_record {
                ", do-not-record"
            } else {
                ""
            }
        )
    }
}

impl Text for Person {
    fn text(&self) -> String {
        format!(
            "person {} booking {} (facility {}): {}, {}, {}{}{}",
            self.id,
            self.booking_id,
            self.facility_id,
            self.name,
            self.language,
            self.status,
            if self.has_pin {
                ", PIN set"
            } else {
                ", no PIN"
            },
            if self.do_not_record {
                ", do-not-record"
            } else {
                ""
            }
        )
    }
}

impl Text for callward_core::ApprovedContact {
    fn text(&self) -> String {
        format!("contact {}: {} {}", self.id, self.number, self.label)
    }
}

impl Text for callward_core::BlockEntry {
    fn text(&self) -> String {
        let owner = match self.scope {
            BlockScope::Person(p) => format!("person {p}"),
            BlockScope::Facility(f) => format!("facility {f}"),
            BlockScope::CalledParty(f) => format!("called party, facility {f}"),
        };
        format!(
            "block {}: {} ({owner}) {}",
            self.id, self.number, self.reason
        )
    }
}

impl Text for callward_core::PrivilegedNumber {
    fn text(&self) -> String {
        format!(
            "privileged {}: {} {} (bar {} {}), {}{}",
            self.id,
            self.number,
            self.attorney_name,
            self.bar_state.as_str(),
            self.bar_number,
            self.verification,
            self.verified_by
                .as_ref()
                .map_or_else(String::new, |b| format!(" by {b}"))
        )
    }
}

impl Text for Account {
    fn text(&self) -> String {
        let holder = match &self.holder {
            AccountHolder::Prepaid(n) => format!("prepaid for {n}"),
            AccountHolder::Debit(p) => format!("debit of person {p}"),
        };
        format!("account {}: {holder}, balance {}", self.id, self.balance)
    }
}

/// Turns a domain parse error into one line naming the flag.
fn flag<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("--{name}: {e}"))
}

fn parse_number(name: &str, input: &str) -> anyhow::Result<E164Number> {
    flag(name, E164Number::parse(input))
}

async fn resolve_facility<S: Store>(store: &S, reference: &str) -> anyhow::Result<Facility> {
    let by_id = match reference.trim().parse::<i64>() {
        Ok(id) => match store.facility(FacilityId(id)).await {
            Ok(f) => Some(f),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    match by_id {
        Some(f) => Ok(f),
        None => store
            .facility_by_name(reference.trim())
            .await?
            .with_context(|| format!("unknown facility {:?}", reference.trim())),
    }
}

async fn resolve_station<S: Store>(store: &S, code: &str) -> anyhow::Result<Station> {
    store
        .station_by_code(code.trim())
        .await?
        .with_context(|| format!("unknown station {:?}", code.trim()))
}

async fn resolve_person<S: Store>(
    store: &S,
    facility: &str,
    booking_id: &str,
) -> anyhow::Result<(Facility, Person)> {
    let f = resolve_facility(store, facility).await?;
    let p = store
        .person_by_booking(f.id, booking_id.trim())
        .await?
        .with_context(|| {
            format!(
                "no person with booking id {:?} at {}",
                booking_id.trim(),
                f.name
            )
        })?;
    Ok((f, p))
}

fn opt<T, E: std::fmt::Display>(
    name: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> anyhow::Result<Option<T>> {
    value.map(|v| flag(name, parse(v))).transpose()
}

fn parse_gateways(values: &[String]) -> anyhow::Result<Vec<IpAddr>> {
    values
        .iter()
        .map(|g| flag("gateway", parse_gateway(g)))
        .collect()
}

async fn facility(cmd: FacilityCmd, dir: &Path, key_dir: &Path, out: Output) -> anyhow::Result<()> {
    match cmd {
        FacilityCmd::Create(a) => {
            // Everything is validated before the data dir is touched.
            let new = NewFacility {
                name: flag("name", Name::parse_field("name", &a.name))?,
                kind: flag("kind", a.kind.parse::<FacilityKind>())?,
                average_daily_population: a.average_daily_population,
                timezone: flag("timezone", FacilityTimeZone::parse(&a.timezone))?,
                gateways: parse_gateways(&a.gateways)?,
                calling_hours: flag("hours", CallingHours::parse(&a.hours))?,
                max_call_minutes: flag(
                    "max-call-minutes",
                    validate_max_call_minutes(a.max_call_minutes),
                )?,
                max_calls_per_day: a.max_calls_per_day,
                requires_approved_list: !a.open_list,
                pin_length: flag("pin-length", validate_pin_length(a.pin_length))?,
                rate: None,
            };
            let rate_change = a.rate.parse()?;
            let rate = rate_change.apply(None)?;
            rate_change.check(rate, new.kind, new.average_daily_population, &new.timezone)?;
            let new = NewFacility { rate, ..new };
            let retention = flag("retention-days", validate_retention_days(a.retention_days))?;
            let fresh = !dir.join(crate::local::DB_FILE).is_file();
            let local = Local::open_or_create(dir).await?;
            if fresh {
                // A new installation: its log starts with this entry.
                make_private_dir(key_dir)?;
                crate::audit_key::ensure(key_dir)?;
            }
            log_change(
                &local,
                key_dir,
                ObjectKind::Facility,
                new.name.as_str(),
                &format!(
                    "create: {} {}, ADP {}",
                    new.kind, new.name, new.average_daily_population
                ),
                "admin facility create",
            )
            .await?;
            let f = local.store.create_facility(new).await?;
            local.store.set_retention_days(f.id, retention).await?;
            tracing::info!(facility_id = %f.id, retention_days = retention, "facility created");
            facility_out(&local, out, &f).await
        }
        FacilityCmd::List => {
            let local = Local::open_existing(dir).await?;
            out.many(&local.store.list_facilities().await?)
        }
        FacilityCmd::Show { facility } => {
            let local = Local::open_existing(dir).await?;
            facility_out(
                &local,
                out,
                &resolve_facility(&local.store, &facility).await?,
            )
            .await
        }
        FacilityCmd::Update(a) => {
            let per_day = opt(
                "max-calls-per-day",
                a.max_calls_per_day.as_deref(),
                parse_max_calls_per_day,
            )?;
            let update = FacilityUpdate {
                name: opt("name", a.name.as_deref(), |s| Name::parse_field("name", s))?,
                kind: opt("kind", a.kind.as_deref(), str::parse::<FacilityKind>)?,
                average_daily_population: a.average_daily_population,
                timezone: opt("timezone", a.timezone.as_deref(), FacilityTimeZone::parse)?,
                gateways: if a.gateways.is_empty() {
                    None
                } else {
                    Some(parse_gateways(&a.gateways)?)
                },
                calling_hours: opt("hours", a.hours.as_deref(), CallingHours::parse)?,
                max_call_minutes: a
                    .max_call_minutes
                    .map(|m| flag("max-call-minutes", validate_max_call_minutes(m)))
                    .transpose()?,
                max_calls_per_day: per_day,
                requires_approved_list: a.approved_list,
                rate: None,
            };
            let mut rate_change = a.rate.parse()?;
            let retention = a
                .retention_days
                .map(|d| flag("retention-days", validate_retention_days(d)))
                .transpose()?;
            let local = Local::open_existing(dir).await?;
            let f = resolve_facility(&local.store, &a.facility).await?;
            let rate = rate_change.apply(f.rate)?;
            // A new kind or ADP can move the facility to a tier with a lower
            // cap: its own rate is checked again.
            if rate.is_some()
                && rate_change.tariffs.is_none()
                && (update.kind.is_some() || update.average_daily_population.is_some())
            {
                rate_change.tariffs = Some(crate::billing::load_tariffs(
                    &crate::billing::default_tariffs_dir(),
                )?);
            }
            rate_change.check(
                rate,
                update.kind.unwrap_or(f.kind),
                update
                    .average_daily_population
                    .unwrap_or(f.average_daily_population),
                update.timezone.as_ref().unwrap_or(&f.timezone),
            )?;
            let update = FacilityUpdate {
                rate: (rate != f.rate).then_some(rate),
                ..update
            };
            log_change(
                &local,
                key_dir,
                ObjectKind::Facility,
                &f.id.to_string(),
                &updated(&[
                    ("name", update.name.is_some()),
                    ("kind", update.kind.is_some()),
                    ("adp", update.average_daily_population.is_some()),
                    ("timezone", update.timezone.is_some()),
                    ("gateways", update.gateways.is_some()),
                    ("hours", update.calling_hours.is_some()),
                    ("max call minutes", update.max_call_minutes.is_some()),
                    ("max calls per day", update.max_calls_per_day.is_some()),
                    ("approved list", update.requires_approved_list.is_some()),
                    ("rate", update.rate.is_some()),
                    ("retention days", retention.is_some()),
                ]),
                "admin facility update",
            )
            .await?;
            let f = local.store.update_facility(f.id, update).await?;
            if let Some(days) = retention {
                local.store.set_retention_days(f.id, days).await?;
            }
            tracing::info!(facility_id = %f.id, "facility updated");
            facility_out(&local, out, &f).await
        }
        FacilityCmd::Remove { facility } => {
            let local = Local::open_existing(dir).await?;
            let f = resolve_facility(&local.store, &facility).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Facility,
                &f.id.to_string(),
                "remove",
                "admin facility remove",
            )
            .await?;
            local.store.remove_facility(f.id).await?;
            tracing::info!(facility_id = %f.id, "facility removed");
            out.done(&format!("removed facility {} ({})", f.id, f.name))
        }
    }
}

fn validate_retention_days(days: u32) -> Result<u32, &'static str> {
    if (1..=36_500).contains(&days) {
        Ok(days)
    } else {
        Err("must be 1 to 36500 days")
    }
}

/// A facility with its retention period.
async fn facility_out(local: &Local, out: Output, f: &Facility) -> anyhow::Result<()> {
    let days = local
        .store
        .retention_periods()
        .await?
        .into_iter()
        .find(|(id, _)| *id == f.id)
        .map_or(callward_store::DEFAULT_RETENTION_DAYS, |(_, d)| d);
    if out.json {
        let mut v = serde_json::to_value(f)?;
        v["retention_days"] = days.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}\n  recordings kept {days} days", f.text());
    }
    Ok(())
}

async fn station(cmd: StationCmd, dir: &Path, key_dir: &Path, out: Output) -> anyhow::Result<()> {
    match cmd {
        StationCmd::Create {
            facility,
            code,
            location,
            do_not_record,
        } => {
            let code = flag("id", Code::parse_field("station id", &code))?;
            let location = location.trim().to_owned();
            let local = Local::open_existing(dir).await?;
            let f = resolve_facility(&local.store, &facility).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Station,
                code.as_str(),
                &format!(
                    "create in facility {}{}",
                    f.id,
                    if do_not_record { ", do-not-record" } else { "" }
                ),
                "admin station create",
            )
            .await?;
            let s = local
                .store
                .create_station(NewStation {
                    facility_id: f.id,
                    code,
                    location,
                    do_not_record,
                })
                .await?;
            tracing::info!(station_id = %s.id, facility_id = %f.id, "station created");
            out.one(&s)
        }
        StationCmd::List { facility } => {
            let local = Local::open_existing(dir).await?;
            let f = match facility {
                Some(f) => Some(resolve_facility(&local.store, &f).await?.id),
                None => None,
            };
            out.many(&local.store.list_stations(f).await?)
        }
        StationCmd::Show { station } => {
            let local = Local::open_existing(dir).await?;
            out.one(&resolve_station(&local.store, &station).await?)
        }
        StationCmd::Update {
            station,
            location,
            enabled,
            do_not_record,
        } => {
            let local = Local::open_existing(dir).await?;
            let s = resolve_station(&local.store, &station).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Station,
                &s.id.to_string(),
                &updated(&[
                    ("location", location.is_some()),
                    ("enabled", enabled.is_some()),
                    ("do-not-record", do_not_record.is_some()),
                ]),
                "admin station update",
            )
            .await?;
            let s = local
                .store
                .update_station(
                    s.id,
                    StationUpdate {
                        location: location.map(|l| l.trim().to_owned()),
                        enabled,
                        do_not_record,
                    },
                )
                .await?;
            tracing::info!(station_id = %s.id, "station updated");
            out.one(&s)
        }
        StationCmd::Unlock { station } => {
            let local = Local::open_existing(dir).await?;
            let s = resolve_station(&local.store, &station).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Station,
                &s.id.to_string(),
                "unlock: clear failed PIN entries",
                "admin station unlock",
            )
            .await?;
            let cleared = local.store.clear_pin_failures(s.id).await?;
            tracing::info!(station_id = %s.id, cleared, "station PIN lock cleared");
            out.done(&format!(
                "cleared {cleared} failed PIN entr{} at {}",
                if cleared == 1 { "y" } else { "ies" },
                s.code
            ))
        }
        StationCmd::Remove { station } => {
            let local = Local::open_existing(dir).await?;
            let s = resolve_station(&local.store, &station).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Station,
                &s.id.to_string(),
                "remove",
                "admin station remove",
            )
            .await?;
            local.store.remove_station(s.id).await?;
            tracing::info!(station_id = %s.id, "station removed");
            out.done(&format!("removed station {}", s.code))
        }
    }
}

/// A PIN to set, validated for a facility, and whether it was generated
/// (and so must be shown once).
fn pin_from(source: &PinSource, facility: &Facility) -> anyhow::Result<Option<(Pin, bool)>> {
    let len = facility.pin_length;
    if let Some(p) = &source.pin {
        return Ok(Some((flag("pin", Pin::parse(p.trim(), len))?, false)));
    }
    if source.pin_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the PIN from stdin")?;
        return Ok(Some((
            flag("pin-stdin", Pin::parse(line.trim(), len))?,
            false,
        )));
    }
    if source.generate_pin {
        return Ok(Some((random_pin(len)?, true)));
    }
    Ok(None)
}

fn random_pin(len: u8) -> anyhow::Result<Pin> {
    Pin::generate(len, getrandom::fill).map_err(|e| anyhow::anyhow!("no randomness: {e}"))
}

#[derive(Serialize)]
struct PersonWithPin<'a> {
    #[serde(flatten)]
    person: &'a Person,
    pin: &'a str,
}

impl Text for PersonWithPin<'_> {
    fn text(&self) -> String {
        format!(
            "{}\n  PIN {} (shown once; give it to the person)",
            self.person.text(),
            self.pin
        )
    }
}

async fn person(cmd: PersonCmd, dir: &Path, key_dir: &Path, out: Output) -> anyhow::Result<()> {
    match cmd {
        PersonCmd::Create {
            facility,
            booking_id,
            name,
            language,
            pin,
        } => {
            let booking_id = flag("booking-id", Code::parse_field("booking id", &booking_id))?;
            let name = flag("name", Name::parse_field("name", &name))?;
            let language = flag("language", language.parse::<Language>())?;
            let local = Local::open_existing(dir).await?;
            let f = resolve_facility(&local.store, &facility).await?;
            let pin = pin_from(&pin, &f)?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Person,
                booking_id.as_str(),
                &format!(
                    "create in facility {}{}",
                    f.id,
                    if pin.is_some() { ", PIN set" } else { "" }
                ),
                "admin person create",
            )
            .await?;
            let p = local
                .store
                .create_person(NewPerson {
                    facility_id: f.id,
                    booking_id,
                    name,
                    language,
                    pin: pin.as_ref().map(|(p, _)| local.pin_key.digest(f.id, p)),
                })
                .await?;
            tracing::info!(person_id = %p.id, facility_id = %f.id, "person admitted");
            match pin {
                Some((pin, true)) => out.one(&PersonWithPin {
                    person: &p,
                    pin: pin.expose_secret(),
                }),
                _ => out.one(&p),
            }
        }
        PersonCmd::List { facility } => {
            let local = Local::open_existing(dir).await?;
            let f = resolve_facility(&local.store, &facility).await?;
            out.many(&local.store.list_people(f.id).await?)
        }
        PersonCmd::Show {
            facility,
            booking_id,
        } => {
            let local = Local::open_existing(dir).await?;
            out.one(
                &resolve_person(&local.store, &facility, &booking_id)
                    .await?
                    .1,
            )
        }
        PersonCmd::Update {
            facility,
            booking_id,
            name,
            language,
            status,
            do_not_record,
        } => {
            let update = PersonUpdate {
                name: opt("name", name.as_deref(), |s| Name::parse_field("name", s))?,
                language: opt("language", language.as_deref(), str::parse::<Language>)?,
                status: opt("status", status.as_deref(), str::parse::<PersonStatus>)?,
                do_not_record,
            };
            let local = Local::open_existing(dir).await?;
            let (_, p) = resolve_person(&local.store, &facility, &booking_id).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Person,
                &p.id.to_string(),
                &updated(&[
                    ("name", update.name.is_some()),
                    ("language", update.language.is_some()),
                    ("status", update.status.is_some()),
                    ("do-not-record", update.do_not_record.is_some()),
                ]),
                "admin person update",
            )
            .await?;
            let p = local.store.update_person(p.id, update).await?;
            tracing::info!(person_id = %p.id, "person updated");
            out.one(&p)
        }
        PersonCmd::SetPin {
            facility,
            booking_id,
            pin,
        } => {
            if pin.pin.is_none() && !pin.pin_stdin && !pin.generate_pin {
                bail!("give the PIN with --pin-stdin, --pin or --generate-pin");
            }
            let local = Local::open_existing(dir).await?;
            let (f, p) = resolve_person(&local.store, &facility, &booking_id).await?;
            let Some((pin, generated)) = pin_from(&pin, &f)? else {
                bail!("no PIN given");
            };
            log_change(
                &local,
                key_dir,
                ObjectKind::Person,
                &p.id.to_string(),
                "set PIN",
                "admin person set-pin",
            )
            .await?;
            local
                .store
                .set_pin(p.id, local.pin_key.digest(f.id, &pin))
                .await?;
            tracing::info!(person_id = %p.id, "PIN set");
            let p = local.store.person(p.id).await?;
            if generated {
                out.one(&PersonWithPin {
                    person: &p,
                    pin: pin.expose_secret(),
                })
            } else {
                out.done(&format!("PIN set for booking {}", p.booking_id))
            }
        }
        PersonCmd::Remove {
            facility,
            booking_id,
        } => {
            let local = Local::open_existing(dir).await?;
            let (_, p) = resolve_person(&local.store, &facility, &booking_id).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Person,
                &p.id.to_string(),
                "remove",
                "admin person remove",
            )
            .await?;
            local.store.remove_person(p.id).await?;
            tracing::info!(person_id = %p.id, "person removed");
            out.done(&format!("removed booking {}", p.booking_id))
        }
    }
}

async fn contact(cmd: ContactCmd, dir: &Path, key_dir: &Path, out: Output) -> anyhow::Result<()> {
    match cmd {
        ContactCmd::Add {
            facility,
            booking_id,
            number,
            label,
        } => {
            let number = parse_number("number", &number)?;
            let local = Local::open_existing(dir).await?;
            let (_, p) = resolve_person(&local.store, &facility, &booking_id).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Contact,
                &number.masked(),
                &format!("approve for person {}", p.id),
                "admin contact add",
            )
            .await?;
            let c = local
                .store
                .add_contact(p.id, number, label.trim().to_owned())
                .await?;
            tracing::info!(person_id = %p.id, number = %c.number.masked(), "number approved");
            out.one(&c)
        }
        ContactCmd::List {
            facility,
            booking_id,
        } => {
            let local = Local::open_existing(dir).await?;
            let (_, p) = resolve_person(&local.store, &facility, &booking_id).await?;
            out.many(&local.store.list_contacts(p.id).await?)
        }
        ContactCmd::Remove { id } => {
            let local = Local::open_existing(dir).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Contact,
                &id.to_string(),
                "remove",
                "admin contact remove",
            )
            .await?;
            local.store.remove_contact(ContactId(id)).await?;
            tracing::info!(contact_id = id, "approval removed");
            out.done(&format!("removed contact {id}"))
        }
    }
}

async fn block(cmd: BlockCmd, dir: &Path, key_dir: &Path, out: Output) -> anyhow::Result<()> {
    match cmd {
        BlockCmd::Add {
            facility,
            booking_id,
            called_party,
            number,
            reason,
        } => {
            let number = parse_number("number", &number)?;
            let local = Local::open_existing(dir).await?;
            let scope = match booking_id {
                Some(b) => {
                    BlockScope::Person(resolve_person(&local.store, &facility, &b).await?.1.id)
                }
                None => {
                    let f = resolve_facility(&local.store, &facility).await?;
                    if called_party {
                        BlockScope::CalledParty(f.id)
                    } else {
                        BlockScope::Facility(f.id)
                    }
                }
            };
            log_change(
                &local,
                key_dir,
                ObjectKind::Block,
                &number.masked(),
                &format!("block ({} list)", scope.kind()),
                "admin block add",
            )
            .await?;
            let b = local
                .store
                .add_block(
                    scope,
                    number,
                    reason.trim().to_owned(),
                    jiff::Timestamp::now(),
                )
                .await?;
            tracing::info!(block_id = %b.id, list = scope.kind(), number = %b.number.masked(), "number blocked");
            out.one(&b)
        }
        BlockCmd::List { facility } => {
            let local = Local::open_existing(dir).await?;
            let f = resolve_facility(&local.store, &facility).await?;
            out.many(&local.store.list_blocks(f.id).await?)
        }
        BlockCmd::Remove { id } => {
            let local = Local::open_existing(dir).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Block,
                &id.to_string(),
                "remove",
                "admin block remove",
            )
            .await?;
            local.store.remove_block(BlockId(id)).await?;
            tracing::info!(block_id = id, "block removed");
            out.done(&format!("removed block {id}"))
        }
    }
}

async fn privileged(
    cmd: PrivilegedCmd,
    dir: &Path,
    key_dir: &Path,
    out: Output,
) -> anyhow::Result<()> {
    match cmd {
        PrivilegedCmd::Register {
            number,
            attorney,
            bar_number,
            bar_state,
        } => {
            let new = NewPrivileged {
                number: parse_number("number", &number)?,
                attorney_name: flag("attorney", Name::parse_field("attorney name", &attorney))?,
                bar_number: flag("bar-number", validate_bar_number(&bar_number))?,
                bar_state: flag("bar-state", UsState::parse(&bar_state))?,
            };
            let local = Local::open_existing(dir).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Privileged,
                &new.number.masked(),
                &format!(
                    "register (bar {} {})",
                    new.bar_state.as_str(),
                    new.bar_number
                ),
                "admin privileged register",
            )
            .await?;
            let r = local
                .store
                .register_privileged(new, jiff::Timestamp::now())
                .await?;
            tracing::info!(privileged_id = %r.id, number = %r.number.masked(), "privileged number registered");
            let run = crate::privilege_seal::seal_recordings_of(&local, key_dir, &r, "cli").await?;
            privileged_out(out, &r, &run)
        }
        PrivilegedCmd::List => {
            let local = Local::open_existing(dir).await?;
            out.many(&local.store.list_privileged().await?)
        }
        PrivilegedCmd::Verify { id, by } => {
            set_verification(dir, key_dir, out, id, Verification::Verified, by).await
        }
        PrivilegedCmd::Reject { id, by } => {
            set_verification(dir, key_dir, out, id, Verification::Rejected, by).await
        }
        PrivilegedCmd::Remove { id } => {
            let local = Local::open_existing(dir).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Privileged,
                &id.to_string(),
                "remove",
                "admin privileged remove",
            )
            .await?;
            local.store.remove_privileged(PrivilegedId(id)).await?;
            tracing::info!(privileged_id = id, "privileged registration removed");
            out.done(&format!("removed privileged registration {id}"))
        }
    }
}

async fn set_verification(
    dir: &Path,
    key_dir: &Path,
    out: Output,
    id: i64,
    v: Verification,
    by: String,
) -> anyhow::Result<()> {
    let by = flag("by", callward_core::Username::parse(&by))?;
    let local = Local::open_existing(dir).await?;
    log_change(
        &local,
        key_dir,
        ObjectKind::Privileged,
        &id.to_string(),
        &format!("{v} by {}", by.as_str()),
        if v == Verification::Verified {
            "admin privileged verify"
        } else {
            "admin privileged reject"
        },
    )
    .await?;
    let r = local
        .store
        .set_verification(PrivilegedId(id), v, by.as_str().to_owned())
        .await?;
    tracing::info!(privileged_id = id, verification = %v, "privileged registration reviewed");
    match v {
        Verification::Verified if r.is_privileged() => {
            let run =
                crate::privilege_seal::seal_recordings_of(&local, key_dir, &r, by.as_str()).await?;
            privileged_out(out, &r, &run)
        }
        _ => out.one(&r),
    }
}

/// A registration and the sealing run it caused.
fn privileged_out(
    out: Output,
    r: &callward_core::PrivilegedNumber,
    run: &crate::privilege_seal::SealRun,
) -> anyhow::Result<()> {
    let e = &run.event;
    if out.json {
        let mut v = serde_json::to_value(r)?;
        v["privilege_seal"] = serde_json::json!({
            "id": e.id,
            "sealed": e.sealed,
            "already_sealed": e.already_sealed,
            "unreadable": e.unreadable,
            "missing": run.missing,
            "at": e.sealed_at.to_string(),
            "by": e.sealed_by,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}\n  sealed {} earlier recordings of calls to it for privilege review ({} already sealed, {} unreadable: epoch shredded, {} missing)",
            r.text(),
            e.sealed,
            e.already_sealed,
            e.unreadable,
            run.missing
        );
    }
    Ok(())
}

async fn account(cmd: AccountCmd, dir: &Path, key_dir: &Path, out: Output) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Open {
            number,
            facility,
            booking_id,
        } => {
            let number = number.map(|n| parse_number("number", &n)).transpose()?;
            let local = Local::open_existing(dir).await?;
            let holder = match (number, facility, booking_id) {
                (Some(n), _, _) => AccountHolder::Prepaid(n),
                (None, Some(f), Some(b)) => {
                    AccountHolder::Debit(resolve_person(&local.store, &f, &b).await?.1.id)
                }
                _ => bail!(
                    "give --number for a prepaid account, or --facility and --booking-id for a debit account"
                ),
            };
            let (object, what) = match &holder {
                AccountHolder::Prepaid(n) => (n.masked(), "open prepaid".to_owned()),
                AccountHolder::Debit(p) => (format!("person {p}"), "open debit".to_owned()),
            };
            log_change(
                &local,
                key_dir,
                ObjectKind::Account,
                &object,
                &what,
                "admin account open",
            )
            .await?;
            let a = local
                .store
                .open_account(holder, jiff::Timestamp::now())
                .await?;
            tracing::info!(account_id = %a.id, "account opened");
            out.one(&a)
        }
        AccountCmd::List => {
            let local = Local::open_existing(dir).await?;
            out.many(&local.store.list_accounts().await?)
        }
        AccountCmd::Show { id } => {
            let local = Local::open_existing(dir).await?;
            out.one(&local.store.account(AccountId(id)).await?)
        }
        AccountCmd::Statement(args) => crate::billing::statement(args, dir, out.json).await,
        AccountCmd::Refund(args) => out.one(&crate::billing::refund(args, dir, key_dir).await?),
        AccountCmd::Close { id } => crate::billing::close(id, dir, key_dir, out.json).await,
        AccountCmd::Check => crate::billing::check(dir, out.json).await,
        AccountCmd::Deposit {
            id,
            amount,
            reference,
        } => {
            let amount = flag("amount", Cents::parse_dollars(&amount))?;
            let reference = flag(
                "reference",
                callward_core::ledger::Reference::parse(&reference),
            )?
            .as_str()
            .to_owned();
            let local = Local::open_existing(dir).await?;
            log_change(
                &local,
                key_dir,
                ObjectKind::Account,
                &id.to_string(),
                &format!("deposit {amount}, reference {reference}"),
                "admin account deposit",
            )
            .await?;
            let a = local
                .store
                .deposit(AccountId(id), amount, reference, jiff::Timestamp::now())
                .await?;
            tracing::info!(account_id = %a.id, amount_cents = amount.0, "deposit recorded");
            out.one(&a)
        }
    }
}

/// Creates `path` (and parents) readable by the owner only, unless it exists.
fn make_private_dir(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("cannot create the key directory {}", path.display()))
}
