//! The prompts the call flow plays, named by the file stems of their audio
//! (`prompts/<language>/<name>.*`), identical in every language.

use std::fmt;

use crate::authorize::DenyReason;

/// Every [`DenyReason`], in declaration order: one `denied_<code>` prompt each.
pub const DENY_REASONS: [DenyReason; 15] = DenyReason::ALL;

const NUM_NAMES: [&str; 101] = [
    "num_0", "num_1", "num_2", "num_3", "num_4", "num_5", "num_6", "num_7", "num_8", "num_9",
    "num_10", "num_11", "num_12", "num_13", "num_14", "num_15", "num_16", "num_17", "num_18",
    "num_19", "num_20", "num_21", "num_22", "num_23", "num_24", "num_25", "num_26", "num_27",
    "num_28", "num_29", "num_30", "num_31", "num_32", "num_33", "num_34", "num_35", "num_36",
    "num_37", "num_38", "num_39", "num_40", "num_41", "num_42", "num_43", "num_44", "num_45",
    "num_46", "num_47", "num_48", "num_49", "num_50", "num_51", "num_52", "num_53", "num_54",
    "num_55", "num_56", "num_57", "num_58", "num_59", "num_60", "num_61", "num_62", "num_63",
    "num_64", "num_65", "num_66", "num_67", "num_68", "num_69", "num_70", "num_71", "num_72",
    "num_73", "num_74", "num_75", "num_76", "num_77", "num_78", "num_79", "num_80", "num_81",
    "num_82", "num_83", "num_84", "num_85", "num_86", "num_87", "num_88", "num_89", "num_90",
    "num_91", "num_92", "num_93", "num_94", "num_95", "num_96", "num_97", "num_98", "num_99",
    "num_100",
];

const HUNDREDS_NAMES: [&str; 9] = [
    "hundreds_1",
    "hundreds_2",
    "hundreds_3",
    "hundreds_4",
    "hundreds_5",
    "hundreds_6",
    "hundreds_7",
    "hundreds_8",
    "hundreds_9",
];

/// A number from 0 to 100, spoken by one prompt (`num_0` … `num_100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpokenNumber(u8);

impl SpokenNumber {
    /// The largest number one prompt speaks.
    pub const MAX: u8 = 100;

    /// `n` if it is at most [`Self::MAX`].
    pub const fn new(n: u8) -> Option<Self> {
        if n <= Self::MAX { Some(Self(n)) } else { None }
    }

    /// The number.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// A count of hundreds from 1 to 9, spoken by one prompt (`hundreds_1` …
/// `hundreds_9`: "two hundred", "doscientos").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hundreds(u8);

impl Hundreds {
    /// `n` hundreds, if `n` is 1 to 9.
    pub const fn new(n: u8) -> Option<Self> {
        if n >= 1 && n <= 9 {
            Some(Self(n))
        } else {
            None
        }
    }

    /// The count.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// One prompt. [`Prompt::name`] is its file stem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prompt {
    /// `pin_prompt`: enter your PIN, then pound.
    PinPrompt,
    /// `pin_invalid`: that PIN is not valid.
    PinInvalid,
    /// `pin_locked`: too many wrong PINs at this phone; try later.
    PinLocked,
    /// `number_prompt`: enter the number, then pound.
    NumberPrompt,
    /// `number_invalid`: that number is not valid.
    NumberInvalid,
    /// `denied_<code>`: why the call may not be placed.
    Denied(DenyReason),
    /// `you_have`: "you have" (before the minutes available).
    YouHave,
    /// `num_N`: a number from 0 to 100.
    Number(SpokenNumber),
    /// `hundreds_N`: N hundred, for 101 to 999 (followed by `num_` of the
    /// rest unless it is 0).
    Hundreds(Hundreds),
    /// `hundred`: the word alone (English only reads `num_k hundred` right;
    /// the flow uses [`Prompt::Hundreds`]).
    Hundred,
    /// `minutes`.
    Minutes,
    /// `minute`.
    Minute,
    /// `please_wait`: please wait while your call is connected.
    PleaseWait,
    /// `busy`: the line is busy.
    Busy,
    /// `no_answer`: there was no answer.
    NoAnswer,
    /// `call_failed`: the call could not be completed.
    CallFailed,
    /// `not_accepted`: the called party did not accept the call.
    NotAccepted,
    /// `refused`: the called party refused the call.
    Refused,
    /// `one_minute_warning`: one minute left.
    OneMinuteWarning,
    /// `time_limit`: the time limit has been reached.
    TimeLimit,
    /// `balance_warning`: the prepaid balance is about to run out, one
    /// minute left (instead of [`Prompt::OneMinuteWarning`] when the money
    /// is the limit).
    BalanceWarning,
    /// `balance_spent`: the balance for this call is used up (instead of
    /// [`Prompt::TimeLimit`] when the money is the limit).
    BalanceSpent,
    /// `goodbye`.
    Goodbye,
    /// `notice_intro`: "This is a call from an incarcerated person at".
    NoticeIntro,
    /// `facility_name`: stands for the facility's own name prompt, which the
    /// driver resolves.
    FacilityName,
    /// `notice_recorded`: this call is recorded and may be monitored.
    NoticeRecorded,
    /// `notice_not_recorded`: this call is not recorded or monitored.
    NoticeNotRecorded,
    /// `notice_choices`: press 1 to accept, 2 to refuse, 9 to block calls
    /// from this facility.
    NoticeChoices,
    /// `block_confirm`: press 9 again to confirm the block, any other key to
    /// go back.
    BlockConfirm,
    /// `blocked_confirmed`: calls from this facility are now blocked.
    BlockedConfirmed,
    /// `connected`: you are connected.
    Connected,
}

impl Prompt {
    /// The file stem of the prompt's audio, the same in every language.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PinPrompt => "pin_prompt",
            Self::PinInvalid => "pin_invalid",
            Self::PinLocked => "pin_locked",
            Self::NumberPrompt => "number_prompt",
            Self::NumberInvalid => "number_invalid",
            Self::Denied(reason) => denied_name(reason),
            Self::YouHave => "you_have",
            Self::Number(n) => NUM_NAMES[n.0 as usize],
            Self::Hundreds(h) => HUNDREDS_NAMES[(h.0 - 1) as usize],
            Self::Hundred => "hundred",
            Self::Minutes => "minutes",
            Self::Minute => "minute",
            Self::PleaseWait => "please_wait",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::CallFailed => "call_failed",
            Self::NotAccepted => "not_accepted",
            Self::Refused => "refused",
            Self::OneMinuteWarning => "one_minute_warning",
            Self::TimeLimit => "time_limit",
            Self::BalanceWarning => "balance_warning",
            Self::BalanceSpent => "balance_spent",
            Self::Goodbye => "goodbye",
            Self::NoticeIntro => "notice_intro",
            Self::FacilityName => "facility_name",
            Self::NoticeRecorded => "notice_recorded",
            Self::NoticeNotRecorded => "notice_not_recorded",
            Self::NoticeChoices => "notice_choices",
            Self::BlockConfirm => "block_confirm",
            Self::BlockedConfirmed => "blocked_confirmed",
            Self::Connected => "connected",
        }
    }

    /// Every prompt the flow can play, each once: what must exist under
    /// `prompts/<language>/`.
    pub fn catalogue() -> Vec<Self> {
        let mut all = vec![
            Self::PinPrompt,
            Self::PinInvalid,
            Self::PinLocked,
            Self::NumberPrompt,
            Self::NumberInvalid,
        ];
        all.extend(DENY_REASONS.map(Self::Denied));
        all.push(Self::YouHave);
        all.extend(
            (0..=SpokenNumber::MAX)
                .filter_map(SpokenNumber::new)
                .map(Self::Number),
        );
        all.extend((1..=9).filter_map(Hundreds::new).map(Self::Hundreds));
        all.extend([
            Self::Hundred,
            Self::Minutes,
            Self::Minute,
            Self::PleaseWait,
            Self::Busy,
            Self::NoAnswer,
            Self::CallFailed,
            Self::NotAccepted,
            Self::Refused,
            Self::OneMinuteWarning,
            Self::TimeLimit,
            Self::BalanceWarning,
            Self::BalanceSpent,
            Self::Goodbye,
            Self::NoticeIntro,
            Self::FacilityName,
            Self::NoticeRecorded,
            Self::NoticeNotRecorded,
            Self::NoticeChoices,
            Self::BlockConfirm,
            Self::BlockedConfirmed,
            Self::Connected,
        ]);
        all
    }

    /// "you have N minutes": [`Prompt::YouHave`], the whole minutes of
    /// `seconds` spoken (at most 999), then `minute` or `minutes`.
    pub fn minutes_available(seconds: u64) -> Vec<Self> {
        let minutes = (seconds / 60).min(999);
        let mut out = vec![Self::YouHave];
        out.extend(Self::spoken(minutes));
        out.push(if minutes == 1 {
            Self::Minute
        } else {
            Self::Minutes
        });
        out
    }

    /// The prompts saying `n` (0 to 999; larger is said as 999): `num_<n>`
    /// up to 100, else `hundreds_<n / 100>` and `num_<n % 100>` unless that
    /// is 0. Right in English and Spanish.
    pub fn spoken(n: u64) -> Vec<Self> {
        let n = u16::try_from(n.min(999)).unwrap_or(999);
        let num = |k: u16| {
            u8::try_from(k)
                .ok()
                .and_then(SpokenNumber::new)
                .map(Self::Number)
        };
        if n <= u16::from(SpokenNumber::MAX) {
            return num(n).into_iter().collect();
        }
        let hundreds = u8::try_from(n / 100)
            .ok()
            .and_then(Hundreds::new)
            .map(Self::Hundreds);
        let rest = if n % 100 == 0 { None } else { num(n % 100) };
        hundreds.into_iter().chain(rest).collect()
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Exhaustive on purpose: a new [`DenyReason`] must come with its prompt.
const fn denied_name(reason: DenyReason) -> &'static str {
    match reason {
        DenyReason::UnknownStation => "denied_unknown_station",
        DenyReason::StationNotAdmitted => "denied_station_not_admitted",
        DenyReason::StationDisabled => "denied_station_disabled",
        DenyReason::PinLocked => "denied_pin_locked",
        DenyReason::UnknownPin => "denied_unknown_pin",
        DenyReason::PersonNotActive => "denied_person_not_active",
        DenyReason::AlreadyOnCall => "denied_already_on_call",
        DenyReason::OutsideCallingHours => "denied_outside_calling_hours",
        DenyReason::DailyLimitReached => "denied_daily_limit_reached",
        DenyReason::BlockedByPerson => "denied_blocked_by_person",
        DenyReason::BlockedByFacility => "denied_blocked_by_facility",
        DenyReason::BlockedByCalledParty => "denied_blocked_by_called_party",
        DenyReason::NotApproved => "denied_not_approved",
        DenyReason::NoAccount => "denied_no_account",
        DenyReason::InsufficientBalance => "denied_insufficient_balance",
    }
}
