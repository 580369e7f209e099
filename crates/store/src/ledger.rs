//! What the store reports about money: the charge a stored call carries and
//! the result of checking the stored ledger against the core's rules.

use callward_core::ledger::TransactionId;
use callward_core::rating::Outcome;
use callward_core::{AccountId, Cents};

/// A call record as stored, with its charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargedCall {
    /// What the call cost (zero for free or unconnected calls).
    pub charge: Cents,
    /// Seconds billed.
    pub billed_seconds: u64,
    /// Why it cost that (`None` for a call never allowed: no rate).
    pub outcome: Option<Outcome>,
    /// The account charged, if anything was.
    pub payer: Option<AccountId>,
    /// The ledger transaction of the charge, if anything was charged.
    pub transaction: Option<TransactionId>,
    /// The dropped call this one continues, if it does.
    pub continuation_of: Option<String>,
}

/// The stored ledger, replayed through `callward_core::ledger::Ledger`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCheck {
    /// Transactions replayed.
    pub transactions: usize,
    /// Net money earned by calls (charges less refunds and reversals).
    pub call_revenue: Cents,
    /// The sum of `charge_cents` over stored call records.
    pub charged_calls: Cents,
}
