//! The money ledger: double entry, integer cents, append only.
//!
//! Every movement of money is a [`Transaction`] of [`Posting`]s that sum to
//! zero; a transaction that does not balance cannot be built. Entries are
//! never updated: a mistake is undone by a [`Kind::Reversal`] that posts the
//! opposite amounts and names what it reverses.
//!
//! Books: each customer account ([`Book::Account`]: a prepaid account held
//! by the called party, or a debit account held by the person in custody)
//! and three of the system's own: [`Book::Funding`] (money received),
//! [`Book::CallRevenue`] (money earned by calls) and [`Book::PaidOut`]
//! (money returned to holders). An account's balance is the sum of its
//! postings and is never negative.
//!
//! The kinds are the whole model: deposits (with a reference), call charges
//! (one per call id), call refunds, payouts of part of a balance, reversals
//! and closure with refund of the balance. There is no fee kind of any sort,
//! and nothing takes a balance for inactivity: money leaves an account only
//! for a call it paid for, or back to its holder.
//!
//! [`Ledger`] is the reference implementation of the rules, in memory; the
//! store keeps the same transactions in tables and can [`Ledger::replay`]
//! them to check it.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::ids::AccountId;
use crate::money::{Cents, CentsPerMinute};
use crate::number::E164Number;

/// A transaction's id, in posting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId(pub u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// A book money is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Book {
    /// A customer account; its sum is what the holder has.
    Account(AccountId),
    /// Money received from outside (deposits): runs negative by what came in.
    Funding,
    /// Money earned by calls.
    CallRevenue,
    /// Money returned to holders.
    PaidOut,
}

/// One line of a transaction: an amount to one book. Positive credits an
/// account (adds to what the holder has); negative debits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// The book.
    pub book: Book,
    /// The amount.
    pub amount: Cents,
}

/// Who recorded a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DepositChannel {
    /// A console administrator (their user name).
    Admin(String),
    /// The family's own page.
    FamilyPage,
}

/// A deposit's reference (a receipt or payment id): 1 to 64 printable
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    /// Checks a reference as typed.
    pub fn parse(input: &str) -> Result<Self, LedgerError> {
        let s = input.trim();
        if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
            return Err(LedgerError::BadReference);
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A call as charged: what the statement shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLine {
    /// The call's id; an id is charged at most once.
    pub call_id: String,
    /// The number called.
    pub number: Option<E164Number>,
    /// Seconds billed.
    pub billed_seconds: u64,
    /// The per-minute rate.
    pub rate: CentsPerMinute,
}

/// What a transaction is. There is no fee.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Money paid in.
    Deposit {
        /// The receipt or payment id.
        reference: Reference,
        /// Who recorded it.
        channel: DepositChannel,
    },
    /// A call paid for.
    CallCharge(CallLine),
    /// Part or all of a call's charge given back to the account.
    CallRefund {
        /// The call.
        call_id: String,
        /// Why (free text for the statement).
        reason: String,
    },
    /// Part of the balance returned to the holder on request.
    Payout {
        /// The payment's reference.
        reference: Reference,
    },
    /// Undoes an earlier transaction by posting its opposite.
    Reversal {
        /// What it reverses.
        of: TransactionId,
        /// Why.
        reason: String,
    },
    /// The account is closed and its whole balance returned to the holder.
    Closure,
}

impl Kind {
    /// A stable lowercase name (statements, storage).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Deposit { .. } => "deposit",
            Self::CallCharge(_) => "call",
            Self::CallRefund { .. } => "call_refund",
            Self::Payout { .. } => "payout",
            Self::Reversal { .. } => "reversal",
            Self::Closure => "closure",
        }
    }
}

/// One balanced, immutable movement of money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    id: TransactionId,
    at: Timestamp,
    kind: Kind,
    postings: Vec<Posting>,
}

impl Transaction {
    /// Builds a transaction from its postings, refusing one that does not
    /// balance (or is empty, or overflows).
    pub fn new(
        id: TransactionId,
        at: Timestamp,
        kind: Kind,
        postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        if postings.is_empty() {
            return Err(LedgerError::Unbalanced);
        }
        let sum = postings
            .iter()
            .try_fold(0i64, |acc, p| acc.checked_add(p.amount.0))
            .ok_or(LedgerError::Unbalanced)?;
        if sum != 0 {
            return Err(LedgerError::Unbalanced);
        }
        Ok(Self {
            id,
            at,
            kind,
            postings,
        })
    }

    /// Its id.
    pub fn id(&self) -> TransactionId {
        self.id
    }

    /// When it was posted.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// What it is.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// Its postings; they sum to zero.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// What it does to one book.
    pub fn effect_on(&self, book: Book) -> Cents {
        Cents(
            self.postings
                .iter()
                .filter(|p| p.book == book)
                .map(|p| p.amount.0)
                .sum(),
        )
    }

    /// The customer accounts it touches.
    fn accounts(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.postings.iter().filter_map(|p| match p.book {
            Book::Account(a) => Some(a),
            _ => None,
        })
    }
}

/// Why a transaction was refused. Nothing is posted when one is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Postings that do not sum to zero.
    #[error("the postings do not balance")]
    Unbalanced,
    /// A zero or negative amount where a positive one is needed.
    #[error("the amount must be more than zero")]
    NotPositive,
    /// A bad deposit or payout reference.
    #[error("a reference is 1 to 64 printable characters")]
    BadReference,
    /// The account would go below zero.
    #[error("account {account:?} holds {balance}, not {needed}")]
    InsufficientFunds {
        /// The account.
        account: AccountId,
        /// What it holds.
        balance: Cents,
        /// What was asked.
        needed: Cents,
    },
    /// The call was already charged.
    #[error("call {0} is already charged")]
    AlreadyCharged(String),
    /// A refund for a call never charged, or more than its net charge.
    #[error("call {0} has no charge left to refund")]
    NothingToRefund(String),
    /// The account is closed.
    #[error("account {0:?} is closed")]
    Closed(AccountId),
    /// No such transaction.
    #[error("no transaction {0}")]
    UnknownTransaction(TransactionId),
    /// The transaction was already reversed, or is itself a reversal or a
    /// closure.
    #[error("transaction {0} cannot be reversed")]
    NotReversible(TransactionId),
    /// A transaction out of order when replaying.
    #[error("transaction {0} is out of order")]
    OutOfOrder(TransactionId),
    /// A replayed transaction whose postings do not match its kind.
    #[error("transaction {0} does not match its kind")]
    Malformed(TransactionId),
    /// An amount so large a book would overflow.
    #[error("the amount is too large")]
    TooLarge,
}

/// The ledger and the rules every posting obeys.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    transactions: Vec<Transaction>,
    balances: HashMap<Book, i64>,
    closed: HashSet<AccountId>,
    /// Call id -> (charge transaction, net charged after refunds).
    charges: HashMap<String, (TransactionId, i64)>,
    reversed: HashSet<TransactionId>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a ledger from stored transactions, checking every rule
    /// again: a store whose rows break one is reported, not trusted.
    pub fn replay(
        transactions: impl IntoIterator<Item = Transaction>,
    ) -> Result<Self, LedgerError> {
        let mut ledger = Self::new();
        for tx in transactions {
            ledger.post(tx)?;
        }
        Ok(ledger)
    }

    /// Every transaction, in order.
    pub fn transactions(&self) -> &[Transaction] {
        &self.transactions
    }

    /// A book's balance.
    pub fn book_balance(&self, book: Book) -> Cents {
        Cents(self.balances.get(&book).copied().unwrap_or(0))
    }

    /// What an account holds.
    pub fn balance(&self, account: AccountId) -> Cents {
        self.book_balance(Book::Account(account))
    }

    /// Whether the account is closed.
    pub fn is_closed(&self, account: AccountId) -> bool {
        self.closed.contains(&account)
    }

    /// What a call costs now, after refunds and reversals.
    pub fn charged_for(&self, call_id: &str) -> Cents {
        Cents(self.charges.get(call_id).map_or(0, |(_, net)| *net))
    }

    fn next_id(&self) -> TransactionId {
        TransactionId(self.transactions.last().map_or(1, |t| t.id.0 + 1))
    }

    fn positive(amount: Cents) -> Result<(), LedgerError> {
        if amount.0 > 0 {
            Ok(())
        } else {
            Err(LedgerError::NotPositive)
        }
    }

    /// Records a deposit.
    pub fn deposit(
        &mut self,
        at: Timestamp,
        account: AccountId,
        amount: Cents,
        reference: Reference,
        channel: DepositChannel,
    ) -> Result<TransactionId, LedgerError> {
        Self::positive(amount)?;
        let tx = Transaction::new(
            self.next_id(),
            at,
            Kind::Deposit { reference, channel },
            vec![
                Posting {
                    book: Book::Funding,
                    amount: Cents(-amount.0),
                },
                Posting {
                    book: Book::Account(account),
                    amount,
                },
            ],
        )?;
        self.post(tx)
    }

    /// Charges a rated call. A call id is charged once; the account must
    /// hold the amount (rating already limits it to the balance).
    pub fn charge_call(
        &mut self,
        at: Timestamp,
        account: AccountId,
        call: CallLine,
        amount: Cents,
    ) -> Result<TransactionId, LedgerError> {
        Self::positive(amount)?;
        let tx = Transaction::new(
            self.next_id(),
            at,
            Kind::CallCharge(call),
            vec![
                Posting {
                    book: Book::Account(account),
                    amount: Cents(-amount.0),
                },
                Posting {
                    book: Book::CallRevenue,
                    amount,
                },
            ],
        )?;
        self.post(tx)
    }

    /// Gives back part or all of a call's charge to the account that paid.
    pub fn refund_call(
        &mut self,
        at: Timestamp,
        call_id: &str,
        amount: Cents,
        reason: &str,
    ) -> Result<TransactionId, LedgerError> {
        Self::positive(amount)?;
        let (charge_id, _) = self
            .charges
            .get(call_id)
            .copied()
            .ok_or_else(|| LedgerError::NothingToRefund(call_id.to_owned()))?;
        let account = self
            .find(charge_id)
            .and_then(|t| t.accounts().next())
            .ok_or(LedgerError::UnknownTransaction(charge_id))?;
        let tx = Transaction::new(
            self.next_id(),
            at,
            Kind::CallRefund {
                call_id: call_id.to_owned(),
                reason: reason.to_owned(),
            },
            vec![
                Posting {
                    book: Book::CallRevenue,
                    amount: Cents(-amount.0),
                },
                Posting {
                    book: Book::Account(account),
                    amount,
                },
            ],
        )?;
        self.post(tx)
    }

    /// Returns part of a balance to the holder.
    pub fn payout(
        &mut self,
        at: Timestamp,
        account: AccountId,
        amount: Cents,
        reference: Reference,
    ) -> Result<TransactionId, LedgerError> {
        Self::positive(amount)?;
        let tx = Transaction::new(
            self.next_id(),
            at,
            Kind::Payout { reference },
            vec![
                Posting {
                    book: Book::Account(account),
                    amount: Cents(-amount.0),
                },
                Posting {
                    book: Book::PaidOut,
                    amount,
                },
            ],
        )?;
        self.post(tx)
    }

    /// Reverses an earlier transaction (not a reversal, not a closure, not
    /// twice), provided no account goes below zero.
    pub fn reverse(
        &mut self,
        at: Timestamp,
        of: TransactionId,
        reason: &str,
    ) -> Result<TransactionId, LedgerError> {
        let original = self.find(of).ok_or(LedgerError::UnknownTransaction(of))?;
        let postings = original
            .postings
            .iter()
            .map(|p| Posting {
                book: p.book,
                amount: Cents(-p.amount.0),
            })
            .collect();
        let tx = Transaction::new(
            self.next_id(),
            at,
            Kind::Reversal {
                of,
                reason: reason.to_owned(),
            },
            postings,
        )?;
        self.post(tx)
    }

    /// Closes an account, returning its whole balance to the holder.
    /// Returns the transaction and the amount returned.
    pub fn close(
        &mut self,
        at: Timestamp,
        account: AccountId,
    ) -> Result<(TransactionId, Cents), LedgerError> {
        let balance = self.balance(account);
        let tx = Transaction::new(
            self.next_id(),
            at,
            Kind::Closure,
            vec![
                Posting {
                    book: Book::Account(account),
                    amount: Cents(-balance.0),
                },
                Posting {
                    book: Book::PaidOut,
                    amount: balance,
                },
            ],
        )?;
        Ok((self.post(tx)?, balance))
    }

    fn find(&self, id: TransactionId) -> Option<&Transaction> {
        // Ids are increasing, so a binary search finds it.
        self.transactions
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.transactions[i])
    }

    /// Checks a transaction against every rule and appends it. The helper
    /// methods build their transactions and call this; a store replaying
    /// its rows calls it directly.
    pub fn post(&mut self, tx: Transaction) -> Result<TransactionId, LedgerError> {
        if self
            .transactions
            .last()
            .is_some_and(|last| tx.id <= last.id)
        {
            return Err(LedgerError::OutOfOrder(tx.id));
        }
        // The postings must be the ones the kind implies: a charge takes
        // from one account and gives to call revenue, and so on.
        let shape_ok = self.check_shape(&tx)?;
        if !shape_ok {
            return Err(LedgerError::Malformed(tx.id));
        }
        // No book may overflow, however large the amounts handed in.
        let mut after = HashMap::with_capacity(tx.postings.len());
        for p in &tx.postings {
            let current = after
                .get(&p.book)
                .copied()
                .unwrap_or_else(|| self.book_balance(p.book).0);
            let next = current
                .checked_add(p.amount.0)
                .ok_or(LedgerError::TooLarge)?;
            after.insert(p.book, next);
        }
        for account in tx.accounts() {
            if self.closed.contains(&account) {
                return Err(LedgerError::Closed(account));
            }
            let balance = self.balance(account);
            let effect = tx.effect_on(Book::Account(account));
            if after.get(&Book::Account(account)).copied().unwrap_or(0) < 0 {
                return Err(LedgerError::InsufficientFunds {
                    account,
                    balance,
                    needed: Cents(-effect.0),
                });
            }
        }
        // Every check passed: apply.
        match &tx.kind {
            Kind::CallCharge(line) => {
                self.charges.insert(
                    line.call_id.clone(),
                    (tx.id, tx.effect_on(Book::CallRevenue).0),
                );
            }
            Kind::CallRefund { call_id, .. } => {
                if let Some((_, net)) = self.charges.get_mut(call_id) {
                    *net += tx.effect_on(Book::CallRevenue).0;
                }
            }
            Kind::Reversal { of, .. } => {
                self.reversed.insert(*of);
                let original = self.find(*of).map(|t| t.kind.clone());
                let delta = tx.effect_on(Book::CallRevenue).0;
                match original {
                    // A reversed charge frees the call id to be charged again.
                    Some(Kind::CallCharge(line)) => {
                        self.charges.remove(&line.call_id);
                    }
                    Some(Kind::CallRefund { call_id, .. }) => {
                        if let Some((_, net)) = self.charges.get_mut(&call_id) {
                            *net += delta;
                        }
                    }
                    _ => {}
                }
            }
            Kind::Closure => {
                self.closed.extend(tx.accounts());
            }
            Kind::Deposit { .. } | Kind::Payout { .. } => {}
        }
        self.balances.extend(after);
        let id = tx.id;
        self.transactions.push(tx);
        Ok(id)
    }

    /// Whether the postings fit the kind; errors for rule breaks that have
    /// their own error (double charge, refund without charge, reversal of
    /// the unreversible).
    fn check_shape(&self, tx: &Transaction) -> Result<bool, LedgerError> {
        let p = &tx.postings;
        let pair = |from: fn(&Book) -> bool, to: fn(&Book) -> bool| {
            p.len() == 2 && from(&p[0].book) && to(&p[1].book) && p[1].amount.0 > 0
        };
        let account = |b: &Book| matches!(b, Book::Account(_));
        Ok(match &tx.kind {
            Kind::Deposit { .. } => pair(|b| *b == Book::Funding, account),
            Kind::CallCharge(line) => {
                if self.charges.contains_key(&line.call_id) {
                    return Err(LedgerError::AlreadyCharged(line.call_id.clone()));
                }
                pair(account, |b| *b == Book::CallRevenue)
            }
            Kind::CallRefund { call_id, .. } => {
                let shape = pair(|b| *b == Book::CallRevenue, account);
                let Some((charge_id, net)) = self.charges.get(call_id).copied() else {
                    return Err(LedgerError::NothingToRefund(call_id.clone()));
                };
                let payer = self.find(charge_id).and_then(|t| t.accounts().next());
                if shape && (p[1].amount.0 > net || payer != Some(account_of(&p[1].book))) {
                    return Err(LedgerError::NothingToRefund(call_id.clone()));
                }
                shape
            }
            Kind::Payout { .. } => pair(account, |b| *b == Book::PaidOut),
            Kind::Closure => {
                p.len() == 2
                    && account(&p[0].book)
                    && p[1].book == Book::PaidOut
                    && p[1].amount.0 >= 0
                    // The whole balance, no less: nothing is kept back.
                    && p[1].amount == self.balance(account_of(&p[0].book))
            }
            Kind::Reversal { of, .. } => {
                let original = self.find(*of).ok_or(LedgerError::UnknownTransaction(*of))?;
                if self.reversed.contains(of)
                    || matches!(original.kind, Kind::Reversal { .. } | Kind::Closure)
                {
                    return Err(LedgerError::NotReversible(*of));
                }
                // A charge whose refunds are not all reversed first would
                // leave revenue negative for the call; refuse.
                if let Kind::CallCharge(line) = &original.kind
                    && self.charged_for(&line.call_id) != original.effect_on(Book::CallRevenue)
                {
                    return Err(LedgerError::NotReversible(*of));
                }
                original.postings.len() == p.len()
                    && original
                        .postings
                        .iter()
                        .zip(p)
                        .all(|(o, r)| o.book == r.book && o.amount.0 == -r.amount.0)
            }
        })
    }

    /// An account's statement, oldest first, with the running balance.
    pub fn statement(&self, account: AccountId, numbers: NumberDisplay) -> Vec<StatementRow> {
        let book = Book::Account(account);
        let mut balance = 0i64;
        self.transactions
            .iter()
            .filter(|t| t.postings.iter().any(|p| p.book == book))
            .map(|t| {
                let amount = t.effect_on(book);
                balance += amount.0;
                let (reference, call) = match &t.kind {
                    Kind::Deposit { reference, .. } | Kind::Payout { reference } => {
                        (reference.as_str().to_owned(), None)
                    }
                    Kind::CallCharge(line) => (line.call_id.clone(), Some(line)),
                    Kind::CallRefund { call_id, reason } => (format!("{call_id}: {reason}"), None),
                    Kind::Reversal { of, reason } => (format!("reverses {of}: {reason}"), None),
                    Kind::Closure => ("account closed, balance returned".to_owned(), None),
                };
                StatementRow {
                    at: t.at,
                    transaction: t.id,
                    kind: t.kind.name(),
                    reference,
                    number: call.and_then(|c| c.number.as_ref()).map(|n| match numbers {
                        NumberDisplay::Full => n.as_str().to_owned(),
                        NumberDisplay::Masked => n.masked(),
                    }),
                    billed: call.map(|c| Duration::from_secs(c.billed_seconds)),
                    rate: call.map(|c| c.rate),
                    amount,
                    balance: Cents(balance),
                    note: None,
                }
            })
            .collect()
    }
}

fn account_of(book: &Book) -> AccountId {
    match book {
        Book::Account(a) => *a,
        // Only called on books already matched as accounts.
        _ => AccountId(i64::MIN),
    }
}

/// Whether statements show numbers in full or masked (`+1******0001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberDisplay {
    /// In full (the account holder's own statement).
    Full,
    /// Masked.
    Masked,
}

/// One line of an account statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    /// When.
    pub at: Timestamp,
    /// The transaction.
    pub transaction: TransactionId,
    /// [`Kind::name`].
    pub kind: &'static str,
    /// The deposit reference, call id or reason.
    pub reference: String,
    /// The number called, for calls.
    pub number: Option<String>,
    /// Time billed, for calls.
    pub billed: Option<Duration>,
    /// Rate, for calls.
    pub rate: Option<CentsPerMinute>,
    /// The effect on the balance (negative for a charge).
    pub amount: Cents,
    /// The balance after it.
    pub balance: Cents,
    /// What the ledger does not know, added by whoever prints the statement
    /// from the call records: `balance used up` for a call cut when the
    /// money ran out.
    pub note: Option<String>,
}

/// The note on a statement's call line when the call was cut because the
/// paying balance ran out.
pub const NOTE_BALANCE_USED_UP: &str = "balance used up";

/// The CSV header of [`statement_csv`].
pub const STATEMENT_HEADER: &str =
    "date,transaction,type,reference,number,minutes,rate,charge,credit,balance,note";

/// Renders a statement as CSV (RFC 4180: CRLF line ends, fields quoted when
/// they hold a comma, quote or line break), dates in `tz`.
///
/// Text that came from people (references, reasons) and numbers are
/// neutralised against spreadsheet formulas: a field starting with `=`,
/// `+`, `-`, `@` or a tab gets a leading `'`.
pub fn statement_csv(rows: &[StatementRow], tz: &TimeZone) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(STATEMENT_HEADER);
    out.push_str("\r\n");
    for r in rows {
        let date =
            r.at.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string();
        let minutes = r
            .billed
            .map(|d| format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60))
            .unwrap_or_default();
        let rate = r.rate.map(|c| dollars(i64::from(c.0))).unwrap_or_default();
        let (charge, credit) = if r.amount.0 < 0 {
            (dollars(-r.amount.0), String::new())
        } else {
            (String::new(), dollars(r.amount.0))
        };
        let fields = [
            date,
            r.transaction.to_string(),
            r.kind.to_owned(),
            text_field(&r.reference),
            r.number.as_deref().map(text_field).unwrap_or_default(),
            minutes,
            rate,
            charge,
            credit,
            dollars(r.balance.0),
            r.note.as_deref().map(text_field).unwrap_or_default(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&quote(f));
        }
        out.push_str("\r\n");
    }
    out
}

/// Unsigned dollars with two decimals, no `$`, e.g. `10.00`.
fn dollars(cents: i64) -> String {
    let mut s = String::new();
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    // Writing to a String cannot fail.
    let _ = write!(s, "{sign}{}.{:02}", abs / 100, abs % 100);
    s
}

fn text_field(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const A: AccountId = AccountId(1);
    const B: AccountId = AccountId(2);

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_780_000_000 + secs).unwrap()
    }

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn line(id: &str, secs: u64, rate: u32) -> CallLine {
        CallLine {
            call_id: id.to_owned(),
            number: Some(E164Number::parse("+15551230001").unwrap()),
            billed_seconds: secs,
            rate: CentsPerMinute(rate),
        }
    }

    fn assert_invariants(l: &Ledger) {
        let mut total = 0i64;
        for tx in l.transactions() {
            let sum: i64 = tx.postings().iter().map(|p| p.amount.0).sum();
            assert_eq!(sum, 0, "{:?}", tx.id());
        }
        for (book, balance) in &l.balances {
            total += balance;
            if let Book::Account(_) = book {
                assert!(*balance >= 0, "{book:?} {balance}");
            }
        }
        assert_eq!(total, 0, "the books sum to zero");
        let replayed = Ledger::replay(l.transactions().iter().cloned()).unwrap();
        assert_eq!(replayed.balances, l.balances);
    }

    #[test]
    fn unbalanced_transactions_cannot_be_built() {
        let p = |book, amount| Posting {
            book,
            amount: Cents(amount),
        };
        let kind = Kind::Deposit {
            reference: r("x"),
            channel: DepositChannel::FamilyPage,
        };
        let id = TransactionId(1);
        assert_eq!(
            Transaction::new(
                id,
                t(0),
                kind.clone(),
                vec![p(Book::Funding, -100), p(Book::Account(A), 99)]
            ),
            Err(LedgerError::Unbalanced)
        );
        assert_eq!(
            Transaction::new(id, t(0), kind.clone(), vec![]),
            Err(LedgerError::Unbalanced)
        );
        assert_eq!(
            Transaction::new(
                id,
                t(0),
                kind.clone(),
                vec![
                    p(Book::Funding, i64::MAX),
                    p(Book::Account(A), 1),
                    p(Book::PaidOut, i64::MIN)
                ]
            ),
            Err(LedgerError::Unbalanced)
        );
        // Balanced but not a deposit's shape: refused when posted.
        let odd = Transaction::new(
            id,
            t(0),
            kind,
            vec![p(Book::CallRevenue, -100), p(Book::Account(A), 100)],
        )
        .unwrap();
        assert_eq!(Ledger::new().post(odd), Err(LedgerError::Malformed(id)));
    }

    #[test]
    fn deposits_charges_refunds_and_closure() {
        let mut l = Ledger::new();
        l.deposit(
            t(0),
            A,
            Cents(1000),
            r("rcpt-1"),
            DepositChannel::Admin("admin".into()),
        )
        .unwrap();
        assert_eq!(l.balance(A), Cents(1000));
        l.charge_call(t(60), A, line("c-1", 300, 6), Cents(30))
            .unwrap();
        assert_eq!(l.balance(A), Cents(970));
        assert_eq!(
            l.charge_call(t(61), A, line("c-1", 300, 6), Cents(30)),
            Err(LedgerError::AlreadyCharged("c-1".into()))
        );
        assert_eq!(
            l.charge_call(t(62), A, line("c-2", 100_000, 6), Cents(10_000)),
            Err(LedgerError::InsufficientFunds {
                account: A,
                balance: Cents(970),
                needed: Cents(10_000)
            })
        );
        assert_eq!(
            l.refund_call(t(70), "c-9", Cents(1), "?"),
            Err(LedgerError::NothingToRefund("c-9".into()))
        );
        assert_eq!(
            l.refund_call(t(70), "c-1", Cents(31), "?"),
            Err(LedgerError::NothingToRefund("c-1".into()))
        );
        l.refund_call(t(70), "c-1", Cents(10), "bad line").unwrap();
        assert_eq!(l.charged_for("c-1"), Cents(20));
        assert_eq!(l.balance(A), Cents(980));
        assert_eq!(
            l.deposit(t(80), A, Cents(0), r("z"), DepositChannel::FamilyPage),
            Err(LedgerError::NotPositive)
        );
        l.payout(t(85), A, Cents(80), r("check 12")).unwrap();
        let (_, returned) = l.close(t(90), A).unwrap();
        assert_eq!(returned, Cents(900));
        assert_eq!(l.balance(A), Cents(0));
        assert_eq!(l.book_balance(Book::PaidOut), Cents(980));
        assert_eq!(
            l.deposit(t(95), A, Cents(5), r("late"), DepositChannel::FamilyPage),
            Err(LedgerError::Closed(A))
        );
        assert_invariants(&l);
    }

    #[test]
    fn reversals_undo_and_are_never_edits() {
        let mut l = Ledger::new();
        let dep = l
            .deposit(t(0), A, Cents(500), r("r1"), DepositChannel::FamilyPage)
            .unwrap();
        let charge = l
            .charge_call(t(10), A, line("c-1", 60, 7), Cents(7))
            .unwrap();
        let rev = l.reverse(t(20), charge, "double-rated").unwrap();
        assert_eq!(l.balance(A), Cents(500));
        assert_eq!(l.charged_for("c-1"), Cents(0));
        // The original stays as it was; the reversal names it.
        assert_eq!(l.transactions()[1].effect_on(Book::Account(A)), Cents(-7));
        assert!(matches!(l.transactions()[2].kind(), Kind::Reversal { of, .. } if *of == charge));
        assert_eq!(
            l.reverse(t(21), charge, "again"),
            Err(LedgerError::NotReversible(charge))
        );
        assert_eq!(
            l.reverse(t(21), rev, "undo"),
            Err(LedgerError::NotReversible(rev))
        );
        assert_eq!(
            l.reverse(t(21), TransactionId(99), "?"),
            Err(LedgerError::UnknownTransaction(TransactionId(99)))
        );
        // Once reversed, the call may be charged correctly.
        l.charge_call(t(30), A, line("c-1", 60, 6), Cents(6))
            .unwrap();
        // A deposit already spent cannot be reversed into a negative balance.
        let c2 = l
            .charge_call(t(40), A, line("c-2", 4000, 7), Cents(466))
            .unwrap();
        assert!(matches!(
            l.reverse(t(50), dep, "chargeback"),
            Err(LedgerError::InsufficientFunds { .. })
        ));
        // A charge with a refund outstanding cannot be reversed until the refund is.
        let refund = l.refund_call(t(60), "c-2", Cents(6), "drop").unwrap();
        assert_eq!(
            l.reverse(t(61), c2, "x"),
            Err(LedgerError::NotReversible(c2))
        );
        l.reverse(t(62), refund, "refund in error").unwrap();
        l.reverse(t(63), c2, "x").unwrap();
        assert_eq!(l.charged_for("c-2"), Cents(0));
        assert_invariants(&l);
        // Closed accounts stay closed.
        let (close, _) = l.close(t(70), A).unwrap();
        assert_eq!(
            l.reverse(t(71), close, "reopen"),
            Err(LedgerError::NotReversible(close))
        );
    }

    #[test]
    fn replay_refuses_what_the_rules_refuse() {
        let mut l = Ledger::new();
        l.deposit(t(0), A, Cents(100), r("r"), DepositChannel::FamilyPage)
            .unwrap();
        l.charge_call(t(1), A, line("c-1", 60, 6), Cents(6))
            .unwrap();
        let first = l.transactions()[0].clone();
        assert!(matches!(
            Ledger::replay([first.clone(), first]),
            Err(LedgerError::OutOfOrder(_))
        ));
        let only_charge = vec![l.transactions()[1].clone()];
        assert!(matches!(
            Ledger::replay(only_charge),
            Err(LedgerError::InsufficientFunds { .. })
        ));
    }

    #[test]
    fn statement_rows_and_csv() {
        let mut l = Ledger::new();
        l.deposit(
            t(0),
            A,
            Cents(1000),
            r("=HYPERLINK(\"x\")"),
            DepositChannel::FamilyPage,
        )
        .unwrap();
        l.deposit(
            t(5),
            B,
            Cents(50),
            r("other account"),
            DepositChannel::FamilyPage,
        )
        .unwrap();
        l.charge_call(t(600), A, line("c-1", 245, 6), Cents(24))
            .unwrap();
        l.refund_call(t(700), "c-1", Cents(4), "line noise, agreed")
            .unwrap();
        let rows = l.statement(A, NumberDisplay::Masked);
        assert_eq!(rows.len(), 3, "only account A's transactions");
        assert_eq!(rows[1].number.as_deref(), Some("+1******0001"));
        assert_eq!(
            rows.iter().map(|r| r.balance.0).collect::<Vec<_>>(),
            [1000, 976, 980]
        );
        let full = l.statement(A, NumberDisplay::Full);
        assert_eq!(full[1].number.as_deref(), Some("+15551230001"));
        let csv = statement_csv(&rows, &TimeZone::UTC);
        let expected = [
            STATEMENT_HEADER,
            "2026-05-28T20:26:40+00:00,t1,deposit,\"'=HYPERLINK(\"\"x\"\")\",,,,,10.00,10.00,",
            "2026-05-28T20:36:40+00:00,t3,call,c-1,'+1******0001,4:05,0.06,0.24,,9.76,",
            "2026-05-28T20:38:20+00:00,t4,call_refund,\"c-1: line noise, agreed\",,,,,0.04,9.80,",
            "",
        ]
        .join("\r\n");
        assert_eq!(csv, expected);
        let mut cut = rows;
        cut[1].note = Some(NOTE_BALANCE_USED_UP.to_owned());
        assert!(statement_csv(&cut, &TimeZone::UTC).contains(",0.24,,9.76,balance used up\r\n"));
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a\nb"), "\"a\nb\"");
        assert_eq!(dollars(-5), "-0.05");
    }

    #[test]
    fn huge_amounts_are_refused_not_overflowed() {
        let mut l = Ledger::new();
        l.deposit(t(0), A, Cents(i64::MAX), r("a"), DepositChannel::FamilyPage)
            .unwrap();
        assert_eq!(
            l.deposit(t(1), B, Cents(2), r("b"), DepositChannel::FamilyPage),
            Err(LedgerError::TooLarge),
            "Funding would pass i64::MIN"
        );
        assert_eq!(l.balance(B), Cents(0));
        assert_invariants(&l);
    }

    #[test]
    fn references_are_checked() {
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("   ").is_err());
        assert!(Reference::parse(&"x".repeat(65)).is_err());
        assert!(Reference::parse("a\u{7}b").is_err());
        assert_eq!(Reference::parse(" ok-1 ").unwrap().as_str(), "ok-1");
    }

    /// A strict RFC 4180 reader, to check what the writer produces.
    fn read_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => {
                    assert!(c != '"' && c != '\n' && c != '\r', "bare {c:?} in {text:?}");
                    field.push(c);
                }
            }
        }
        assert!(
            field.is_empty() && record.is_empty() && !quoted,
            "unterminated: {text:?}"
        );
        records
    }

    proptest! {
        #[test]
        fn csv_fields_round_trip(reason in "[ -~\t\r\n\u{e9}\u{201c}]{0,40}") {
            let mut l = Ledger::new();
            l.deposit(t(0), A, Cents(100), r("d"), DepositChannel::FamilyPage).unwrap();
            l.charge_call(t(1), A, line("c-1", 60, 6), Cents(6)).unwrap();
            l.refund_call(t(2), "c-1", Cents(6), &reason).unwrap();
            let rows = l.statement(A, NumberDisplay::Full);
            let records = read_csv(&statement_csv(&rows, &TimeZone::UTC));
            prop_assert_eq!(records.len(), 4);
            prop_assert!(records.iter().all(|r| r.len() == 11));
            prop_assert_eq!(&records[3][3], &text_field(&format!("c-1: {reason}")));
            prop_assert_eq!(&records[2][4], "'+15551230001");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Deposit(bool, i64),
        Charge(bool, u8, i64),
        Refund(u8, i64),
        Payout(bool, i64),
        Reverse(usize),
        Close(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<bool>(), -10i64..5_000).prop_map(|(a, n)| Op::Deposit(a, n)),
            4 => (any::<bool>(), 0u8..8, -10i64..2_000).prop_map(|(a, c, n)| Op::Charge(a, c, n)),
            1 => (0u8..8, -10i64..500).prop_map(|(c, n)| Op::Refund(c, n)),
            1 => (any::<bool>(), -10i64..2_000).prop_map(|(a, n)| Op::Payout(a, n)),
            2 => (0usize..40).prop_map(Op::Reverse),
            1 => any::<bool>().prop_map(Op::Close),
        ]
    }

    proptest! {
        #[test]
        fn the_books_always_balance_and_no_account_goes_negative(ops in proptest::collection::vec(op(), 0..60)) {
            let mut l = Ledger::new();
            let acct = |a: bool| if a { A } else { B };
            for (i, o) in ops.into_iter().enumerate() {
                let at = t(i64::try_from(i).unwrap());
                let before: Vec<_> = [A, B].iter().map(|a| l.balance(*a)).collect();
                let count = l.transactions().len();
                let result = match o {
                    Op::Deposit(a, n) => l.deposit(at, acct(a), Cents(n), r("d"), DepositChannel::FamilyPage),
                    Op::Charge(a, c, n) => l.charge_call(at, acct(a), line(&format!("c-{c}"), 60, 6), Cents(n)),
                    Op::Refund(c, n) => l.refund_call(at, &format!("c-{c}"), Cents(n), "r"),
                    Op::Payout(a, n) => l.payout(at, acct(a), Cents(n), r("p")),
                    Op::Reverse(k) => {
                        let Some(target) = l.transactions().get(k).map(Transaction::id) else { continue };
                        let res = l.reverse(at, target, "r");
                        if res.is_ok() {
                            // A reversal restores every balance the original changed.
                            let original = l.transactions()[k].clone();
                            for a in [A, B] {
                                let before_a = before[usize::from(a == B)];
                                prop_assert_eq!(
                                    l.balance(a),
                                    Cents(before_a.0 - original.effect_on(Book::Account(a)).0)
                                );
                            }
                        }
                        res
                    }
                    Op::Close(a) => l.close(at, acct(a)).map(|(id, _)| id),
                };
                if result.is_err() {
                    // A refused transaction changes nothing.
                    prop_assert_eq!(l.transactions().len(), count);
                    for (a, b) in [A, B].iter().zip(&before) {
                        prop_assert_eq!(l.balance(*a), *b);
                    }
                }
                let mut total = 0;
                for tx in l.transactions() {
                    prop_assert_eq!(tx.postings().iter().map(|p| p.amount.0).sum::<i64>(), 0);
                }
                for (book, b) in &l.balances {
                    total += b;
                    if matches!(book, Book::Account(_)) {
                        prop_assert!(*b >= 0);
                    }
                }
                prop_assert_eq!(total, 0);
                // Call revenue is exactly what calls are charged now.
                let charged: i64 = (0..8).map(|c| l.charged_for(&format!("c-{c}")).0).sum();
                prop_assert_eq!(l.book_balance(Book::CallRevenue).0, charged);
            }
            for a in [A, B] {
                let rows = l.statement(a, NumberDisplay::Masked);
                prop_assert_eq!(rows.last().map_or(Cents(0), |r| r.balance), l.balance(a));
            }
            let replayed = Ledger::replay(l.transactions().iter().cloned()).unwrap();
            prop_assert_eq!(&replayed.balances, &l.balances);
        }
    }
}
