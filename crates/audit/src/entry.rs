//! One access-log entry and its canonical byte encoding (format version 1,
//! written down in `docs/audit-log.md`).
//!
//! The encoding is what the tree hashes, so it must be unambiguous: fixed
//! field order, every variable field length-prefixed (u32 big-endian), enums
//! as one-byte codes, no optional padding, no trailing bytes. Each value has
//! exactly one encoding and [`Entry::decode`] accepts only that encoding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The encoding version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Longest text field accepted, in bytes (a search query or justification).
pub const MAX_FIELD_LEN: usize = 16 * 1024;

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// A record was opened or listed (call record, person).
    View,
    /// A recording was played.
    Listen,
    /// Data left the system (file export, bulk copy).
    Export,
    /// A search was run; the object id is the query.
    Search,
    /// A user signed in.
    Login,
    /// A sign-in failed.
    LoginFailed,
    /// A user's roles or permissions were changed.
    PermissionChange,
    /// A key was created, rotated, wrapped or destroyed.
    KeyChange,
    /// Recordings were sealed as privileged.
    PrivilegeSeal,
    /// A data key was released to decrypt a recording.
    KeyRelease,
    /// A request was refused by policy (quota, no open case, role); the
    /// justification says why.
    Refused,
    /// A supervisor's approval was asked for; the object is the approval.
    ApprovalRequest,
    /// A supervisor granted an approval.
    ApprovalGrant,
    /// A supervisor refused an approval.
    ApprovalRefuse,
    /// Something an auditor must look at (a quota refusal, an account
    /// locked by failed sign-ins); the justification says what.
    Alert,
    /// A case was opened; the justification is the case's.
    CaseOpen,
    /// A case was closed.
    CaseClose,
    /// An administrator created, changed or removed a facility, station,
    /// person, approved or blocked number, privileged registration or
    /// account; the justification says which (`create`, `update: fields`,
    /// `remove`, ...), never a PIN or a full phone number.
    AdminChange,
    /// An investigator listened live to a call in progress (the object is
    /// the call, by the id its record will have).
    Monitor,
}

impl Action {
    /// Every action, in code order.
    pub const ALL: [Self; 19] = [
        Self::View,
        Self::Listen,
        Self::Export,
        Self::Search,
        Self::Login,
        Self::LoginFailed,
        Self::PermissionChange,
        Self::KeyChange,
        Self::PrivilegeSeal,
        Self::KeyRelease,
        Self::Refused,
        Self::ApprovalRequest,
        Self::ApprovalGrant,
        Self::ApprovalRefuse,
        Self::Alert,
        Self::CaseOpen,
        Self::CaseClose,
        Self::AdminChange,
        Self::Monitor,
    ];

    /// The one-byte code in the encoding.
    pub fn code(self) -> u8 {
        match self {
            Self::View => 1,
            Self::Listen => 2,
            Self::Export => 3,
            Self::Search => 4,
            Self::Login => 5,
            Self::LoginFailed => 6,
            Self::PermissionChange => 7,
            Self::KeyChange => 8,
            Self::PrivilegeSeal => 9,
            Self::KeyRelease => 10,
            Self::Refused => 11,
            Self::ApprovalRequest => 12,
            Self::ApprovalGrant => 13,
            Self::ApprovalRefuse => 14,
            Self::Alert => 15,
            Self::CaseOpen => 16,
            Self::CaseClose => 17,
            Self::AdminChange => 18,
            Self::Monitor => 19,
        }
    }

    /// The action with this code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// What kind of thing the action touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// Nothing beyond the actor (a login): the object id is empty.
    None,
    /// A call detail record, by call id.
    CallRecord,
    /// A recording, by recording id.
    Recording,
    /// A search: the object id is the query text, as run.
    Query,
    /// A user account, by user name.
    User,
    /// A key, by key id.
    Key,
    /// A person in custody, by person id.
    Person,
    /// An investigation case, by case id.
    Case,
    /// A request for approval, by approval id.
    Approval,
    /// An agency, by agency id.
    Agency,
    /// A facility, by facility id.
    Facility,
    /// A station, by station id.
    Station,
    /// A person's approved number, by contact id.
    Contact,
    /// A blocked number, by block id.
    Block,
    /// A privileged (attorney) registration, by registration id.
    Privileged,
    /// A prepaid or debit account, by account id.
    Account,
}

impl ObjectKind {
    /// Every kind, in code order.
    pub const ALL: [Self; 16] = [
        Self::None,
        Self::CallRecord,
        Self::Recording,
        Self::Query,
        Self::User,
        Self::Key,
        Self::Person,
        Self::Case,
        Self::Approval,
        Self::Agency,
        Self::Facility,
        Self::Station,
        Self::Contact,
        Self::Block,
        Self::Privileged,
        Self::Account,
    ];

    /// The one-byte code in the encoding.
    pub fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::CallRecord => 1,
            Self::Recording => 2,
            Self::Query => 3,
            Self::User => 4,
            Self::Key => 5,
            Self::Person => 6,
            Self::Case => 7,
            Self::Approval => 8,
            Self::Agency => 9,
            Self::Facility => 10,
            Self::Station => 11,
            Self::Contact => 12,
            Self::Block => 13,
            Self::Privileged => 14,
            Self::Account => 15,
        }
    }

    /// The kind with this code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A UTC instant in hundredths of a second since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// From Unix seconds and hundredths (`centis` below 100).
    pub fn from_unix(seconds: u64, centis: u8) -> Option<Self> {
        if centis >= 100 {
            return None;
        }
        seconds
            .checked_mul(100)?
            .checked_add(u64::from(centis))
            .map(Self)
    }

    /// Hundredths of a second since the epoch.
    pub fn centis(self) -> u64 {
        self.0
    }
}

/// Where the request came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A network peer.
    Ip(IpAddr),
    /// On the server itself: a CLI run, a scheduled job; the text says which.
    Local(String),
}

/// One access-log entry: who did what to which object, for which case and
/// why, when and from where.
///
/// `Debug` leaves out the free text (a search query can hold a phone
/// number, a justification anything) and shows only its length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The acting user's name.
    pub user: String,
    /// The role the user acted in.
    pub role: String,
    /// The user's agency.
    pub agency: String,
    /// What was done.
    pub action: Action,
    /// What kind of object.
    pub object_kind: ObjectKind,
    /// Which object (for `Query`, the query text).
    pub object_id: String,
    /// The case the access was for; empty if none.
    pub case_id: String,
    /// The reason given.
    pub justification: String,
    /// When.
    pub time: Timestamp,
    /// From where.
    pub source: Source,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let object_id: &dyn std::fmt::Debug = match self.object_kind {
            ObjectKind::Query => &format_args!("<query, {} bytes>", self.object_id.len()),
            _ => &self.object_id,
        };
        f.debug_struct("Entry")
            .field("user", &self.user)
            .field("role", &self.role)
            .field("agency", &self.agency)
            .field("action", &self.action)
            .field("object_kind", &self.object_kind)
            .field("object_id", object_id)
            .field("case_id", &self.case_id)
            .field(
                "justification",
                &format_args!("<{} bytes>", self.justification.len()),
            )
            .field("time", &self.time)
            .field("source", &self.source)
            .finish()
    }
}

/// Why bytes are not an entry (or an entry cannot be encoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Empty input or a version this build does not read.
    #[error("unknown entry format version")]
    Version,
    /// The input ends inside a field.
    #[error("entry is truncated")]
    Truncated,
    /// A text field is longer than [`MAX_FIELD_LEN`].
    #[error("entry field too long")]
    TooLong,
    /// A text field is not UTF-8.
    #[error("entry field is not UTF-8")]
    NotUtf8,
    /// An action, object kind or source tag this version does not define.
    #[error("unknown code in entry")]
    UnknownCode,
    /// Bytes left over after the last field.
    #[error("trailing bytes after entry")]
    Trailing,
}

const SOURCE_IPV4: u8 = 4;
const SOURCE_IPV6: u8 = 6;
const SOURCE_LOCAL: u8 = 0x4c; // 'L'

impl Entry {
    /// The canonical encoding (what the log stores and hashes).
    ///
    /// Fails only if a text field exceeds [`MAX_FIELD_LEN`], which the
    /// decoder would refuse.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let mut out = Vec::with_capacity(64 + self.text_len());
        out.push(FORMAT_VERSION);
        put_str(&mut out, &self.user)?;
        put_str(&mut out, &self.role)?;
        put_str(&mut out, &self.agency)?;
        out.push(self.action.code());
        out.push(self.object_kind.code());
        put_str(&mut out, &self.object_id)?;
        put_str(&mut out, &self.case_id)?;
        put_str(&mut out, &self.justification)?;
        out.extend_from_slice(&self.time.0.to_be_bytes());
        match &self.source {
            Source::Ip(IpAddr::V4(a)) => {
                out.push(SOURCE_IPV4);
                out.extend_from_slice(&a.octets());
            }
            Source::Ip(IpAddr::V6(a)) => {
                out.push(SOURCE_IPV6);
                out.extend_from_slice(&a.octets());
            }
            Source::Local(s) => {
                out.push(SOURCE_LOCAL);
                put_str(&mut out, s)?;
            }
        }
        Ok(out)
    }

    fn text_len(&self) -> usize {
        self.user.len()
            + self.role.len()
            + self.agency.len()
            + self.object_id.len()
            + self.case_id.len()
            + self.justification.len()
    }

    /// Parses the canonical encoding; any other byte string is an error,
    /// never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let f = parse(bytes)?;
        Ok(Self {
            user: f.user.to_owned(),
            role: f.role.to_owned(),
            agency: f.agency.to_owned(),
            action: f.action,
            object_kind: f.object_kind,
            object_id: f.object_id.to_owned(),
            case_id: f.case_id.to_owned(),
            justification: f.justification.to_owned(),
            time: f.time,
            source: match f.source {
                SourceRef::Ip(ip) => Source::Ip(ip),
                SourceRef::Local(s) => Source::Local(s.to_owned()),
            },
        })
    }

    /// Whether `bytes` is a valid encoding ([`Self::decode`] without
    /// building the entry; what verification runs on every row).
    pub fn check(bytes: &[u8]) -> Result<(), EntryError> {
        parse(bytes).map(|_| ())
    }
}

enum SourceRef<'a> {
    Ip(IpAddr),
    Local(&'a str),
}

struct Fields<'a> {
    user: &'a str,
    role: &'a str,
    agency: &'a str,
    action: Action,
    object_kind: ObjectKind,
    object_id: &'a str,
    case_id: &'a str,
    justification: &'a str,
    time: Timestamp,
    source: SourceRef<'a>,
}

fn parse(bytes: &[u8]) -> Result<Fields<'_>, EntryError> {
    let mut r = Reader { rest: bytes };
    if r.byte().map_err(|_| EntryError::Version)? != FORMAT_VERSION {
        return Err(EntryError::Version);
    }
    let user = r.text()?;
    let role = r.text()?;
    let agency = r.text()?;
    let action = Action::from_code(r.byte()?).ok_or(EntryError::UnknownCode)?;
    let object_kind = ObjectKind::from_code(r.byte()?).ok_or(EntryError::UnknownCode)?;
    let object_id = r.text()?;
    let case_id = r.text()?;
    let justification = r.text()?;
    let time = Timestamp(u64::from_be_bytes(r.array()?));
    let source = match r.byte()? {
        SOURCE_IPV4 => SourceRef::Ip(IpAddr::V4(Ipv4Addr::from(r.array::<4>()?))),
        SOURCE_IPV6 => SourceRef::Ip(IpAddr::V6(Ipv6Addr::from(r.array::<16>()?))),
        SOURCE_LOCAL => SourceRef::Local(r.text()?),
        _ => return Err(EntryError::UnknownCode),
    };
    if !r.rest.is_empty() {
        return Err(EntryError::Trailing);
    }
    Ok(Fields {
        user,
        role,
        agency,
        action,
        object_kind,
        object_id,
        case_id,
        justification,
        time,
        source,
    })
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), EntryError> {
    if s.len() > MAX_FIELD_LEN {
        return Err(EntryError::TooLong);
    }
    // MAX_FIELD_LEN fits in a u32.
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        if self.rest.len() < n {
            return Err(EntryError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EntryError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn text(&mut self) -> Result<&'a str, EntryError> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        if len > MAX_FIELD_LEN {
            return Err(EntryError::TooLong);
        }
        std::str::from_utf8(self.take(len)?).map_err(|_| EntryError::NotUtf8)
    }
}
