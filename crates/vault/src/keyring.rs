//! The keyring: the agency's key epochs, as the key directory's `keyring`
//! file lists them. Pure: it parses and prints that file and applies
//! rotation and shredding to it; [`crate::keydir`] does the file work.
//!
//! Every epoch is an X25519 key pair. The public halves (with their epoch
//! numbers and key ids) are all a writer gets ([`WriterKey`]); the private
//! halves stay in the key directory. Exactly one epoch is current (the one
//! new recordings are wrapped to); older ones are retired (still read) or
//! shredded (private key destroyed, kept here as a tombstone so a reader is
//! told "shredded", not "not found").

use std::fmt;

use crate::keys::{AgencyPublicKey, KeyId};

/// First line of the keyring file.
pub const KEYRING_HEADER: &str = "callward-keyring v1";

/// Where an epoch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochStatus {
    /// New recordings are wrapped to it.
    Current,
    /// Replaced by a later epoch; its recordings are still readable.
    Retired,
    /// Its private key was destroyed at this time (Unix seconds).
    Shredded {
        /// When, in Unix seconds.
        at_unix: i64,
    },
}

impl EpochStatus {
    /// `current`, `retired` or `shredded`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Retired => "retired",
            Self::Shredded { .. } => "shredded",
        }
    }
}

/// One key epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch {
    /// The epoch number (1, 2, ...), written into each recording's header.
    pub number: u32,
    /// Its public key.
    pub public: AgencyPublicKey,
    /// When it was created, in Unix seconds.
    pub created_unix: i64,
    /// Current, retired or shredded.
    pub status: EpochStatus,
}

impl Epoch {
    /// The key id of its public key (also in each recording's header).
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }
}

/// What a call server is given: the current epoch and its public key.
/// Enough to write recordings, never to read one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterKey {
    /// Epoch number for the recording header.
    pub epoch: u32,
    /// The key to wrap data keys to.
    pub public: AgencyPublicKey,
}

/// Why a keyring file or change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyringError {
    /// The file does not parse; says where.
    Corrupt(String),
    /// No such epoch.
    NoSuchEpoch(u32),
    /// The current epoch cannot be shredded: rotate first.
    ShredCurrent(u32),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Corrupt(why) => write!(f, "keyring file is corrupt: {why}"),
            Self::NoSuchEpoch(n) => write!(f, "there is no epoch {n}"),
            Self::ShredCurrent(n) => write!(
                f,
                "epoch {n} is the current epoch; rotate to a new one before shredding it"
            ),
        }
    }
}

impl std::error::Error for KeyringError {}

/// The agency's epochs and the hold and privilege-review public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    epochs: Vec<Epoch>,
    hold: AgencyPublicKey,
    review: AgencyPublicKey,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_public(s: &str) -> Option<AgencyPublicKey> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    AgencyPublicKey::from_bytes(&bytes).ok()
}

impl Keyring {
    /// A keyring with its first epoch (number 1, current).
    pub fn new(
        first: AgencyPublicKey,
        hold: AgencyPublicKey,
        review: AgencyPublicKey,
        now_unix: i64,
    ) -> Self {
        Self {
            epochs: vec![Epoch {
                number: 1,
                public: first,
                created_unix: now_unix,
                status: EpochStatus::Current,
            }],
            hold,
            review,
        }
    }

    /// Every epoch, oldest first.
    pub fn epochs(&self) -> &[Epoch] {
        &self.epochs
    }

    /// The epoch numbered `n`.
    pub fn epoch(&self, n: u32) -> Option<&Epoch> {
        self.epochs.iter().find(|e| e.number == n)
    }

    /// The current epoch. A parsed or built keyring always has exactly one.
    pub fn current(&self) -> &Epoch {
        // `parse` and every change keep exactly one current epoch; the last
        // epoch is a fallback that a valid keyring never reaches.
        self.epochs
            .iter()
            .find(|e| e.status == EpochStatus::Current)
            .unwrap_or_else(|| &self.epochs[self.epochs.len() - 1])
    }

    /// What a writer is given.
    pub fn writer_key(&self) -> WriterKey {
        let current = self.current();
        WriterKey {
            epoch: current.number,
            public: current.public.clone(),
        }
    }

    /// The legal-hold public key.
    pub fn hold_public(&self) -> &AgencyPublicKey {
        &self.hold
    }

    /// The privilege-review public key (sealing needs only this).
    pub fn review_public(&self) -> &AgencyPublicKey {
        &self.review
    }

    /// Adds a new current epoch (the previous one retires); returns its number.
    pub fn rotate(&mut self, public: AgencyPublicKey, now_unix: i64) -> u32 {
        let number = self.next_epoch();
        for e in &mut self.epochs {
            if e.status == EpochStatus::Current {
                e.status = EpochStatus::Retired;
            }
        }
        self.epochs.push(Epoch {
            number,
            public,
            created_unix: now_unix,
            status: EpochStatus::Current,
        });
        number
    }

    /// The number the next rotation will use.
    pub fn next_epoch(&self) -> u32 {
        self.epochs.iter().map(|e| e.number).max().unwrap_or(0) + 1
    }

    /// Marks epoch `n` shredded (a tombstone); returns whether it already was.
    pub fn mark_shredded(&mut self, n: u32, now_unix: i64) -> Result<bool, KeyringError> {
        let epoch = self
            .epochs
            .iter_mut()
            .find(|e| e.number == n)
            .ok_or(KeyringError::NoSuchEpoch(n))?;
        match epoch.status {
            EpochStatus::Current => Err(KeyringError::ShredCurrent(n)),
            EpochStatus::Shredded { .. } => Ok(true),
            EpochStatus::Retired => {
                epoch.status = EpochStatus::Shredded { at_unix: now_unix };
                Ok(false)
            }
        }
    }

    /// Retired epochs whose every recording is past a retention period of
    /// `retention_secs` at `now_unix`, oldest first: epoch N's recordings
    /// were started before epoch N + 1 was created, so N expires that long
    /// after its successor's creation. (A call running across a rotation
    /// ends at most its time limit later, which a retention of days or
    /// years absorbs.) Shredded epochs are not listed again.
    pub fn expired_epochs(&self, now_unix: i64, retention_secs: i64) -> Vec<u32> {
        let mut numbers: Vec<&Epoch> = self.epochs.iter().collect();
        numbers.sort_by_key(|e| e.number);
        numbers
            .windows(2)
            .filter(|pair| pair[0].status == EpochStatus::Retired)
            .filter(|pair| pair[1].created_unix.saturating_add(retention_secs.max(0)) <= now_unix)
            .map(|pair| pair[0].number)
            .collect()
    }

    /// The file text. Public keys only: the keyring is not secret.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{KEYRING_HEADER}\nhold {}\nreview {}\n",
            hex(&self.hold.to_bytes()),
            hex(&self.review.to_bytes())
        );
        for e in &self.epochs {
            let shredded = match e.status {
                EpochStatus::Shredded { at_unix } => at_unix.to_string(),
                _ => "-".to_owned(),
            };
            out.push_str(&format!(
                "epoch {} {} {} {} {}\n",
                e.number,
                e.status.name(),
                e.created_unix,
                shredded,
                hex(&e.public.to_bytes())
            ));
        }
        out
    }

    /// Parses the file text; refuses anything not exactly as written by
    /// [`Keyring::to_text`] (a keyring with no or two current epochs, a
    /// repeated epoch, a bad key).
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let corrupt = |line: usize, why: &str| KeyringError::Corrupt(format!("line {line}: {why}"));
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, KEYRING_HEADER)) => {}
            _ => return Err(corrupt(1, "not a callward keyring (bad first line)")),
        }
        let mut key_line = |name: &str| {
            let (n, line) = lines
                .next()
                .ok_or_else(|| KeyringError::Corrupt(format!("no {name} key")))?;
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(parse_public)
                .ok_or_else(|| corrupt(n, &format!("expected `{name} <public key hex>`")))
        };
        let hold = key_line("hold")?;
        let review = key_line("review")?;
        let mut epochs: Vec<Epoch> = Vec::new();
        for (n, line) in lines {
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            let ["epoch", number, status, created, shredded, public] = fields.as_slice() else {
                return Err(corrupt(n, "expected `epoch N STATUS CREATED SHREDDED KEY`"));
            };
            let number: u32 = number
                .parse()
                .ok()
                .filter(|&x| x > 0)
                .ok_or_else(|| corrupt(n, "bad epoch number"))?;
            let created_unix: i64 = created
                .parse()
                .map_err(|_| corrupt(n, "bad creation time"))?;
            let status = match (*status, *shredded) {
                ("current", "-") => EpochStatus::Current,
                ("retired", "-") => EpochStatus::Retired,
                ("shredded", at) => EpochStatus::Shredded {
                    at_unix: at.parse().map_err(|_| corrupt(n, "bad shred time"))?,
                },
                _ => return Err(corrupt(n, "bad status")),
            };
            let public = parse_public(public).ok_or_else(|| corrupt(n, "bad public key"))?;
            if epochs.iter().any(|e| e.number == number) {
                return Err(corrupt(n, "epoch listed twice"));
            }
            epochs.push(Epoch {
                number,
                public,
                created_unix,
                status,
            });
        }
        let current = epochs
            .iter()
            .filter(|e| e.status == EpochStatus::Current)
            .count();
        if current != 1 {
            return Err(KeyringError::Corrupt(format!(
                "{current} current epochs, expected exactly one"
            )));
        }
        Ok(Self {
            epochs,
            hold,
            review,
        })
    }
}
