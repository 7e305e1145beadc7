//! A sale's participation, in stable memory: who put in how much, the open
//! tickets, the totals and the lifecycle — with the SNS swap's checks and
//! error codes. Ledger calls are the canister's: a refresh is checked
//! before it reads the participant's balance and applied after, checked
//! again (the sale may have ended meanwhile).

use crate::lifecycle::{Lifecycle, Standing, Terms};
use crate::participation::{AllowedRange, Bounds, RefreshRefused, refreshed, ticket_amount};
use candid::Principal;
use ic_stable_structures::storable::{Blob, Bound, Storable};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use std::borrow::Cow;

/// The most neurons direct participants' baskets may make (the swap's
/// `MAX_NEURONS_FOR_DIRECT_PARTICIPANTS`).
pub const MAX_NEURONS_FOR_DIRECT_PARTICIPANTS: u64 = 100_000;

type Key = Blob<29>;

fn key(principal: &Principal) -> Key {
    Key::try_from(principal.as_slice()).expect("a principal has at most 29 bytes")
}

/// What a sale is: its end's terms, the participation bounds, the basket
/// size (for the neuron cap) and the confirmation text participants must
/// send, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub terms: Terms,
    pub bounds: Bounds,
    /// Basket neurons per participant (2 to 10), and the step between
    /// their dissolve delays.
    pub basket_count: u64,
    pub basket_interval_seconds: u64,
    /// The project's tokens sold, shared among participants in proportion
    /// to their ICP.
    pub tokens_e8s: u64,
    pub confirmation_text: Option<String>,
}

/// The smallest per-participant minimum (0.01 ICP), as the NNS requires.
pub const MIN_PARTICIPANT_LOWER_BOUND_E8S: u64 = 1_000_000;
/// The most direct participation a sale may take (1 B ICP).
pub const MAX_DIRECT_PARTICIPATION_E8S: u64 = 1_000_000_000 * 100_000_000;
/// Basket sizes the NNS allows.
pub const BASKET_COUNTS: std::ops::RangeInclusive<u64> = 2..=10;
/// The longest confirmation text, in characters.
pub const MAX_CONFIRMATION_TEXT_CHARS: usize = 1_000;

impl Rules {
    /// The NNS's checks of a sale's parameters (`docs/sns-swap.md` §6)
    /// that this sale relies on.
    pub fn validate(&self) -> Result<(), String> {
        let Self {
            terms,
            bounds,
            basket_count,
            basket_interval_seconds,
            confirmation_text,
            ..
        } = self;
        let checks: [(bool, &str); 10] = [
            (
                terms.max_direct_e8s == bounds.max_direct_e8s,
                "the sale's maximum is one number",
            ),
            (
                bounds.min_participant_e8s >= MIN_PARTICIPANT_LOWER_BOUND_E8S,
                "the minimum participation is at least 0.01 ICP",
            ),
            (
                bounds.max_participant_e8s >= bounds.min_participant_e8s,
                "the maximum participation is at least the minimum",
            ),
            (
                bounds.max_participant_e8s <= bounds.max_direct_e8s,
                "the maximum participation is at most the sale's maximum",
            ),
            (
                terms.min_direct_e8s > 0 && terms.max_direct_e8s >= terms.min_direct_e8s,
                "the sale's maximum is at least its minimum, which is positive",
            ),
            (
                terms.max_direct_e8s <= MAX_DIRECT_PARTICIPATION_E8S,
                "the sale's maximum is at most 1 B ICP",
            ),
            (
                terms.min_participants > 0
                    && u128::from(terms.min_participants) * u128::from(bounds.min_participant_e8s)
                        <= u128::from(terms.max_direct_e8s),
                "the minimum participants can each put in the minimum",
            ),
            (
                BASKET_COUNTS.contains(basket_count) && *basket_interval_seconds > 0,
                "a basket has 2 to 10 neurons, their delays a positive step apart",
            ),
            (
                terms.due_at_seconds >= terms.open_at_seconds,
                "the sale ends after it opens",
            ),
            (
                confirmation_text.as_ref().is_none_or(|text| {
                    (1..=MAX_CONFIRMATION_TEXT_CHARS).contains(&text.chars().count())
                }),
                "a confirmation text has 1 to 1 000 characters",
            ),
        ];
        match checks.iter().find(|(holds, _)| !holds) {
            Some((_, rule)) => Err(format!("invalid sale parameters: {rule}")),
            None => Ok(()),
        }
    }
}

impl Storable for Rules {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        let Self {
            terms,
            bounds,
            basket_count,
            basket_interval_seconds,
            tokens_e8s,
            confirmation_text,
        } = self;
        let mut bytes = Vec::new();
        for value in [
            terms.open_at_seconds,
            terms.due_at_seconds,
            u64::from(terms.min_participants),
            terms.min_direct_e8s,
            terms.max_direct_e8s,
            bounds.min_participant_e8s,
            bounds.max_participant_e8s,
            bounds.max_direct_e8s,
            basket_count,
            basket_interval_seconds,
            tokens_e8s,
        ] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        if let Some(text) = confirmation_text {
            bytes.extend_from_slice(text.as_bytes());
        }
        bytes
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at =
            |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        Self {
            terms: Terms {
                open_at_seconds: u64_at(0),
                due_at_seconds: u64_at(1),
                min_participants: u64_at(2) as u32,
                min_direct_e8s: u64_at(3),
                max_direct_e8s: u64_at(4),
            },
            bounds: Bounds {
                min_participant_e8s: u64_at(5),
                max_participant_e8s: u64_at(6),
                max_direct_e8s: u64_at(7),
            },
            basket_count: u64_at(8),
            basket_interval_seconds: u64_at(9),
            tokens_e8s: u64_at(10),
            confirmation_text: (bytes.len() > 88)
                .then(|| String::from_utf8_lossy(&bytes[88..]).into_owned()),
        }
    }
    const BOUND: Bound = Bound::Unbounded;
}

/// Where a participant's ICP stands at finalization: swept (to the
/// treasury on commit, back to them on abort) exactly once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sweep {
    #[default]
    Pending,
    /// The transfer was sent, stamped `created_at_nanos`, and its answer
    /// is not known yet. It is sent again only as the very same
    /// transaction (same stamp), which the ledger deduplicates.
    InFlight {
        created_at_nanos: u64,
    },
    Done {
        block: u64,
        at_seconds: u64,
    },
}

/// A participant's standing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Buyer {
    /// Their place among participants, in order of first acceptance.
    pub index: u64,
    pub accepted_e8s: u64,
    pub icp: Sweep,
    /// Their basket neurons whose tokens were released (bit i: neuron i).
    pub released: u16,
    /// Those being released now (transfer sent, not answered).
    pub releasing: u16,
    /// The stamp (`created_at_time`) of the releases in flight: a release
    /// is sent again only as the same transaction, which the token ledger
    /// deduplicates. 0 when none is in flight.
    pub release_stamp_nanos: u64,
    /// Releases in flight that may have been made: a sending of them went
    /// unanswered. A later refusal of the same transaction says nothing
    /// of the first sending, so they stay in flight until the ledger
    /// answers.
    pub uncertain: u16,
    /// Releases whose outcome can no longer be learnt: sent, unanswered,
    /// and too old to be sent again as the same transaction. Never sent
    /// again (that could pay twice); `get_state` shows them.
    pub unresolved: u16,
}

impl Buyer {
    pub fn release_bits(&self) -> crate::releases::ReleaseBits {
        crate::releases::ReleaseBits {
            released: self.released,
            releasing: self.releasing,
            stamp_nanos: self.release_stamp_nanos,
            uncertain: self.uncertain,
            unresolved: self.unresolved,
        }
    }

    pub fn set_release_bits(&mut self, bits: crate::releases::ReleaseBits) {
        self.released = bits.released;
        self.releasing = bits.releasing;
        self.release_stamp_nanos = bits.stamp_nanos;
        self.uncertain = bits.uncertain;
        self.unresolved = bits.unresolved;
    }
}

impl Storable for Buyer {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        let (tag, first, second) = match self.icp {
            Sweep::Pending => (0u8, 0, 0),
            Sweep::InFlight { created_at_nanos } => (1, created_at_nanos, 0),
            Sweep::Done { block, at_seconds } => (2, block, at_seconds),
        };
        let mut bytes = [
            self.index.to_le_bytes(),
            self.accepted_e8s.to_le_bytes(),
            first.to_le_bytes(),
            second.to_le_bytes(),
        ]
        .concat();
        bytes.push(tag);
        bytes.extend_from_slice(&self.released.to_le_bytes());
        bytes.extend_from_slice(&self.releasing.to_le_bytes());
        bytes.extend_from_slice(&self.release_stamp_nanos.to_le_bytes());
        bytes.extend_from_slice(&self.uncertain.to_le_bytes());
        bytes.extend_from_slice(&self.unresolved.to_le_bytes());
        bytes
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let u16_at = |i: usize| match bytes.get(i..i + 2) {
            Some(two) => u16::from_le_bytes([two[0], two[1]]),
            None => 0,
        };
        Self {
            index: u64_at(0),
            accepted_e8s: u64_at(8),
            icp: match bytes[32] {
                0 => Sweep::Pending,
                1 => Sweep::InFlight {
                    created_at_nanos: u64_at(16),
                },
                _ => Sweep::Done {
                    block: u64_at(16),
                    at_seconds: u64_at(24),
                },
            },
            released: u16::from_le_bytes([bytes[33], bytes[34]]),
            releasing: u16::from_le_bytes([bytes[35], bytes[36]]),
            // Absent from records written before releases were stamped.
            release_stamp_nanos: if bytes.len() >= 45 { u64_at(37) } else { 0 },
            uncertain: u16_at(45),
            unresolved: u16_at(47),
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 49,
        is_fixed_size: true,
    };
}

/// The ICP ledger's fee, which each sweep and refund pays from the amount.
pub const ICP_FEE_E8S: u64 = 10_000;

/// A participant's announced payment: what a refresh must find at least.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub ticket_id: u64,
    pub amount_e8s: u64,
    pub creation_time_nanos: u64,
    pub subaccount: Option<[u8; 32]>,
}

impl Storable for Ticket {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        let mut bytes = [
            self.ticket_id.to_le_bytes(),
            self.amount_e8s.to_le_bytes(),
            self.creation_time_nanos.to_le_bytes(),
        ]
        .concat();
        if let Some(subaccount) = self.subaccount {
            bytes.extend_from_slice(&subaccount);
        }
        bytes
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        Self {
            ticket_id: u64_at(0),
            amount_e8s: u64_at(8),
            creation_time_nanos: u64_at(16),
            subaccount: bytes.get(24..56).map(|s| s.try_into().expect("32 bytes")),
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 56,
        is_fixed_size: false,
    };
}

/// `new_sale_ticket`'s error types, with the swap's numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketError {
    SaleNotOpen,
    SaleClosed,
    TicketExists(Ticket),
    InvalidUserAmount(AllowedRange),
    InvalidSubaccount,
    InvalidPrincipal,
}

impl TicketError {
    pub fn code(&self) -> i32 {
        match self {
            Self::SaleNotOpen => 1,
            Self::SaleClosed => 2,
            Self::TicketExists(_) => 3,
            Self::InvalidUserAmount(_) => 4,
            Self::InvalidSubaccount => 5,
            Self::InvalidPrincipal => 6,
        }
    }
}

/// What a refresh accepted, and what the participant's account held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refreshed {
    pub accepted_e8s: u64,
    pub balance_e8s: u64,
}

/// The sale's participation state.
pub struct Sale<M: Memory> {
    /// Fixed when the sale is made, kept in stable memory.
    rules: Rules,
    /// The sale's totals and stage; saved to `progress_cell` by every
    /// method that changes them.
    progress: Progress,
    progress_cell: StableCell<Progress, M>,
    buyers: StableBTreeMap<Key, Buyer, M>,
    /// Participants by `Buyer::index`, to list them in order.
    order: StableBTreeMap<u64, Key, M>,
    tickets: StableBTreeMap<Key, Ticket, M>,
    /// The Neurons' Fund's neurons, by NNS neuron id, once settled.
    fund: StableBTreeMap<u64, FundNeuron, M>,
}

/// A sale's totals and stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub lifecycle: Lifecycle,
    pub direct_e8s: u64,
    pub next_ticket_id: u64,
    /// When the sale committed or aborted.
    pub ended_at_seconds: u64,
    /// The Neurons' Fund's final participation, counted in the total that
    /// shares out the tokens.
    pub neurons_fund_e8s: u64,
    /// Participants whose ICP was swept.
    pub swept: u64,
    /// Whether the token shares are fixed (the Fund's participation
    /// settled, every participation swept): releases wait for it.
    pub shares_fixed: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            lifecycle: Lifecycle::Unspecified,
            direct_e8s: 0,
            next_ticket_id: 0,
            ended_at_seconds: 0,
            neurons_fund_e8s: 0,
            swept: 0,
            shares_fixed: false,
        }
    }
}

impl Storable for Progress {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        let mut bytes = (self.lifecycle as i32).to_le_bytes().to_vec();
        for value in [
            self.direct_e8s,
            self.next_ticket_id,
            self.ended_at_seconds,
            self.neurons_fund_e8s,
            self.swept,
        ] {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        bytes.push(u8::from(self.shares_fixed));
        bytes
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let lifecycle = i32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
        Self {
            lifecycle: Lifecycle::from_i32(lifecycle).unwrap_or(Lifecycle::Unspecified),
            direct_e8s: u64_at(4),
            next_ticket_id: u64_at(12),
            ended_at_seconds: u64_at(20),
            neurons_fund_e8s: u64_at(28),
            swept: u64_at(36),
            shares_fixed: bytes[44] != 0,
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 45,
        is_fixed_size: true,
    };
}

/// The stable memories a sale keeps its state in, one per structure.
pub struct Memories<M> {
    pub rules: M,
    pub progress: M,
    pub buyers: M,
    pub order: M,
    pub tickets: M,
    pub fund: M,
}

impl<M: Memory> Sale<M> {
    /// The sale kept in `memories`: as it was saved (after an upgrade; the
    /// rules, when given, must be the saved ones), or a new one, adopted by
    /// the NNS, with `rules` (validated) when they hold none.
    pub fn open(rules: Option<Rules>, memories: Memories<M>) -> Result<Self, String> {
        let progress_cell = StableCell::init(memories.progress, Progress::default());
        let mut progress = *progress_cell.get();
        let rules = if progress.lifecycle == Lifecycle::Unspecified {
            let rules = rules.ok_or("a new sale needs its parameters")?;
            rules.validate()?;
            StableCell::init(memories.rules, rules.clone()).set(rules.clone());
            progress.lifecycle = Lifecycle::Adopted;
            rules
        } else {
            let saved =
                StableCell::init(memories.rules, Rules::from_bytes(Cow::Owned(vec![0; 88])))
                    .get()
                    .clone();
            if rules.as_ref().is_some_and(|given| *given != saved) {
                return Err("a sale's parameters cannot change once it exists".into());
            }
            saved
        };
        let mut sale = Self {
            rules,
            progress,
            progress_cell,
            buyers: StableBTreeMap::init(memories.buyers),
            order: StableBTreeMap::init(memories.order),
            tickets: StableBTreeMap::init(memories.tickets),
            fund: StableBTreeMap::init(memories.fund),
        };
        sale.save();
        Ok(sale)
    }

    fn save(&mut self) {
        self.progress_cell.set(self.progress);
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    pub fn lifecycle(&self) -> Lifecycle {
        self.progress.lifecycle
    }

    /// Fixes the token shares of a committed sale, once: the Neurons'
    /// Fund's settled participation `neurons_fund_e8s` joins the direct
    /// participation in the total that shares out the tokens. Only after
    /// every participation was swept; releases wait for it.
    pub fn fix_token_shares(&mut self, neurons_fund_e8s: u64) -> Result<(), String> {
        if self.progress.lifecycle != Lifecycle::Committed || !self.icp_swept() {
            return Err("the token shares are fixed once a committed sale's ICP is swept".into());
        }
        if self.progress.shares_fixed {
            return Err("the token shares are already fixed".into());
        }
        self.progress.neurons_fund_e8s = neurons_fund_e8s;
        self.progress.shares_fixed = true;
        self.save();
        Ok(())
    }

    pub fn standing(&self) -> Standing {
        Standing {
            participants: self.buyers.len(),
            direct_e8s: self.progress.direct_e8s,
        }
    }

    pub fn buyer(&self, principal: &Principal) -> Option<Buyer> {
        self.buyers.get(&key(principal))
    }

    /// Participants in order of first acceptance, from `offset`.
    pub fn participants(&self, offset: u64, limit: usize) -> Vec<(Principal, Buyer)> {
        self.order
            .range(offset..)
            .take(limit)
            .map(|entry| {
                let key = entry.value();
                let principal = Principal::from_slice(key.as_slice());
                let buyer = self.buyers.get(&key).expect("indexed participants exist");
                (principal, buyer)
            })
            .collect()
    }

    /// Up to `scan` participants' places and keys, from `from_index` on.
    fn page(&self, from_index: u64, scan: usize) -> Vec<(u64, Key)> {
        self.order
            .range(from_index..)
            .take(scan)
            .map(|entry| (*entry.key(), entry.value()))
            .collect()
    }

    pub fn ticket(&self, principal: &Principal) -> Option<Ticket> {
        self.tickets.get(&key(principal))
    }

    pub fn tickets(&self) -> u64 {
        self.tickets.len()
    }

    /// One tick of the timer at `now_seconds`: the lifecycle's next step, if any.
    pub fn tick(&mut self, now_seconds: u64) -> Option<Lifecycle> {
        let next = self
            .rules
            .terms
            .next(self.progress.lifecycle, now_seconds, self.standing())?;
        self.progress.lifecycle = next;
        if next.is_over() {
            self.progress.ended_at_seconds = now_seconds;
        }
        self.save();
        Some(next)
    }

    /// `new_sale_ticket`: checks in the swap's order.
    pub fn new_ticket(
        &mut self,
        caller: Principal,
        amount_e8s: u64,
        subaccount: Option<&[u8]>,
        now_nanos: u64,
    ) -> Result<Ticket, TicketError> {
        if self.progress.lifecycle.is_before_open() {
            return Err(TicketError::SaleNotOpen);
        }
        if self.progress.lifecycle.is_over() {
            return Err(TicketError::SaleClosed);
        }
        if self.progress.lifecycle != Lifecycle::Open {
            return Err(TicketError::SaleNotOpen);
        }
        if caller == Principal::anonymous() {
            return Err(TicketError::InvalidPrincipal);
        }
        let subaccount = subaccount
            .map(|bytes| <[u8; 32]>::try_from(bytes).map_err(|_| TicketError::InvalidSubaccount))
            .transpose()?;
        if let Some(existing) = self.ticket(&caller) {
            return Err(TicketError::TicketExists(existing));
        }
        let current = self.buyer(&caller).map_or(0, |b| b.accepted_e8s);
        let amount_e8s = ticket_amount(
            self.rules.bounds,
            self.progress.direct_e8s,
            current,
            amount_e8s,
        )
        .map_err(TicketError::InvalidUserAmount)?;
        let ticket = Ticket {
            ticket_id: self.progress.next_ticket_id,
            amount_e8s,
            creation_time_nanos: now_nanos,
            subaccount,
        };
        self.progress.next_ticket_id += 1;
        self.save();
        self.tickets.insert(key(&caller), ticket.clone());
        Ok(ticket)
    }

    /// Once the sale is over its tickets serve nothing: removes up to
    /// `limit` of them (a timer's bounded share of the work); how many.
    pub fn purge_tickets(&mut self, limit: usize) -> usize {
        if !self.progress.lifecycle.is_over() {
            return 0;
        }
        let keys: Vec<Key> = self
            .tickets
            .iter()
            .take(limit)
            .map(|entry| *entry.key())
            .collect();
        for key in &keys {
            self.tickets.remove(key);
        }
        keys.len()
    }

    /// `notify_payment_failure`: the caller's ticket, removed.
    pub fn cancel_ticket(&mut self, caller: &Principal) -> Option<Ticket> {
        self.tickets.remove(&key(caller))
    }

    /// `refresh_buyer_tokens` before reading the participant's balance: the
    /// sale is open, has room, and the confirmation text is the sale's.
    pub fn check_refresh(&self, confirmation_text: Option<&str>) -> Result<(), String> {
        self.check_open("before awaiting ICP ledger response")?;
        match (self.rules.confirmation_text.as_deref(), confirmation_text) {
            (Some(expected), Some(given)) if expected == given => Ok(()),
            (Some(_), Some(_)) => {
                Err("The value of `confirmation_text` does not match the sale's.".into())
            }
            (Some(_), None) => Err("No value provided for `confirmation_text`.".into()),
            (None, Some(_)) => Err("Found a value for `confirmation_text`, expected none.".into()),
            (None, None) => Ok(()),
        }
    }

    fn check_open(&self, when: &str) -> Result<(), String> {
        if self.progress.lifecycle != Lifecycle::Open {
            return Err(format!(
                "Participation is possible only when the Swap is in the OPEN state. Current state is {:?} ({when}).",
                self.progress.lifecycle
            ));
        }
        if self.progress.direct_e8s >= self.rules.bounds.max_direct_e8s {
            return Err(format!(
                "The ICP target for this token swap has already been reached ({when})."
            ));
        }
        Ok(())
    }

    /// `refresh_buyer_tokens` after reading `balance_e8s` in `buyer`'s
    /// account of the sale: the participation grows to what the rules
    /// accept; a ticket for more than the new payment refuses it.
    pub fn apply_refresh(
        &mut self,
        buyer: Principal,
        balance_e8s: u64,
    ) -> Result<Refreshed, String> {
        self.check_open("after awaiting ICP ledger response")?;
        check_participant(&buyer)?;
        let cap = MAX_NEURONS_FOR_DIRECT_PARTICIPANTS;
        if (self.buyers.len() + 1).saturating_mul(self.rules.basket_count) > cap {
            return Err(format!(
                "The swap has reached the maximum number of participants ({} neurons).",
                cap
            ));
        }
        let existing = self.buyer(&buyer);
        let before = existing.map_or(0, |b| b.accepted_e8s);
        let after = refreshed(
            self.rules.bounds,
            self.progress.direct_e8s,
            before,
            balance_e8s,
        )
        .map_err(|refused| match refused {
            RefreshRefused::BelowMinimum { balance_e8s } => format!(
                "Amount transferred: {balance_e8s}; minimum required to participate: {}",
                self.rules.bounds.min_participant_e8s
            ),
            RefreshRefused::NoRoom => {
                "The participation would be below the minimum with the room left in the sale."
                    .into()
            }
        })?;
        if after == before {
            return Ok(Refreshed {
                accepted_e8s: before,
                balance_e8s,
            });
        }
        let new_payment = balance_e8s - before;
        if let Some(ticket) = self.ticket(&buyer) {
            if ticket.amount_e8s > new_payment {
                return Err(format!(
                    "The available balance to be topped up ({new_payment}) by the buyer is smaller than the amount requested ({}).",
                    ticket.amount_e8s
                ));
            }
            self.tickets.remove(&key(&buyer));
        }
        let index = match existing {
            Some(buyer) => buyer.index,
            None => {
                let index = self.buyers.len();
                self.order.insert(index, key(&buyer));
                index
            }
        };
        self.buyers.insert(
            key(&buyer),
            Buyer {
                index,
                accepted_e8s: after,
                ..existing.unwrap_or_default()
            },
        );
        self.progress.direct_e8s += after - before;
        self.save();
        Ok(Refreshed {
            accepted_e8s: after,
            balance_e8s,
        })
    }
}

/// A ledger call's outcome, as the canister learned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Made (or found made: the ledger's `Duplicate`), at this block.
    Done(u64),
    /// Refused, nothing moved by this sending: to send again as the same
    /// transaction (another sending of it may still be on its way).
    Failed,
    /// Refused as too old to deduplicate, and found not made: no sending
    /// of it can ever be made now, so a new transaction may be stamped.
    Expired,
    /// Not known (no answer): it stays in flight; the next finalization
    /// sends the very same transaction (same `created_at_time` and memo),
    /// which the ledger deduplicates.
    Unknown,
}

/// One ICP transfer the finalization makes: `amount_e8s` (the fee
/// already taken off) from `buyer`'s account of the sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcpSweep {
    pub buyer: Principal,
    pub amount_e8s: u64,
    /// The transfer's `created_at_time`: the same for every sending of it.
    pub created_at_nanos: u64,
}

impl<M: Memory> Sale<M> {
    /// Participants whose ICP is still to sweep: those pending, marked in
    /// flight stamped `now_nanos`, and those left in flight by an earlier
    /// finalization (its answer lost: a trap, an upgrade), to be sent again
    /// with their stamp. Only once the sale is over. Looks at most at `scan`
    /// participants from `from_index` on and returns at most `limit`
    /// sweeps, with the index to go on from (so that one message's work is
    /// bounded however many participants there are). Finalizations must
    /// not overlap (the canister runs one at a time).
    pub fn begin_icp_sweeps(
        &mut self,
        from_index: u64,
        scan: usize,
        limit: usize,
        now_nanos: u64,
    ) -> (Vec<IcpSweep>, u64) {
        let mut sweeps = Vec::new();
        let mut next = from_index;
        if !self.progress.lifecycle.is_over() {
            return (sweeps, next);
        }
        let candidates = self.page(from_index, scan);
        for (index, key) in candidates {
            if sweeps.len() >= limit {
                break;
            }
            next = index + 1;
            let mut buyer = self.buyers.get(&key).expect("indexed participants exist");
            let created_at_nanos = match buyer.icp {
                Sweep::Done { .. } => continue,
                Sweep::InFlight { created_at_nanos } => created_at_nanos,
                Sweep::Pending => {
                    buyer.icp = Sweep::InFlight {
                        created_at_nanos: now_nanos,
                    };
                    self.buyers.insert(key, buyer);
                    now_nanos
                }
            };
            sweeps.push(IcpSweep {
                buyer: Principal::from_slice(key.as_slice()),
                amount_e8s: buyer.accepted_e8s - ICP_FEE_E8S,
                created_at_nanos,
            });
        }
        (sweeps, next)
    }

    /// The ledger's answer to a sweep, at `now_seconds`.
    pub fn end_icp_sweep(&mut self, buyer: &Principal, outcome: Outcome, now_seconds: u64) {
        let in_flight = |b: &Buyer| matches!(b.icp, Sweep::InFlight { .. });
        if let Some(mut record) = self.buyer(buyer).filter(in_flight) {
            record.icp = match outcome {
                Outcome::Done(block) => {
                    self.progress.swept += 1;
                    self.save();
                    Sweep::Done {
                        block,
                        at_seconds: now_seconds,
                    }
                }
                Outcome::Expired => Sweep::Pending,
                Outcome::Failed | Outcome::Unknown => return,
            };
            self.buyers.insert(key(buyer), record);
        }
    }

    /// Whether every participant's ICP was swept (participations are at
    /// least the minimum, 0.01 ICP or more, so each can pay the fee).
    pub fn icp_swept(&self) -> bool {
        self.progress.swept == self.buyers.len()
    }
}

/// The sale's ICP ledger subaccount where `principal` pays: its length,
/// then its bytes, then zeros (the SNS swap's `principal_to_subaccount`).
pub fn buyer_subaccount(principal: &Principal) -> [u8; 32] {
    nns_api::account_identifier::principal_to_subaccount(principal)
}

/// A participant is a principal with a subaccount of its own: not the
/// anonymous one, and not the empty one (whose subaccount would be the
/// sale's default account).
pub fn check_participant(principal: &Principal) -> Result<(), String> {
    if *principal == Principal::anonymous() || principal.as_slice().is_empty() {
        return Err(format!("{principal} cannot participate in a sale"));
    }
    Ok(())
}

/// `error_refund_icp`'s error types, with the swap's numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundError {
    InvalidRequest(String),
    Precondition(String),
    External(String),
}

impl RefundError {
    pub fn code(&self) -> i32 {
        match self {
            Self::InvalidRequest(_) => 1,
            Self::Precondition(_) => 2,
            Self::External(_) => 3,
        }
    }
}

impl<M: Memory> Sale<M> {
    /// `error_refund_icp` before reading `source`'s account of the sale:
    /// only once the sale is over, and for a participant only once their
    /// participation was swept (what remains is ICP the sale did not take).
    pub fn check_error_refund(&self, source: &Principal) -> Result<(), RefundError> {
        check_participant(source).map_err(RefundError::InvalidRequest)?;
        if !self.progress.lifecycle.is_over() {
            return Err(RefundError::Precondition(format!(
                "Error refunds can only be performed when the swap is ABORTED or COMMITTED. Current state is {:?}.",
                self.progress.lifecycle
            )));
        }
        match self.buyer(source) {
            Some(buyer) if !matches!(buyer.icp, Sweep::Done { .. }) && buyer.accepted_e8s > ICP_FEE_E8S => {
                Err(RefundError::Precondition(
                    "ICP cannot be refunded as principal has participated in the swap and the participation has not yet been swept. Finalize the swap first.".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// What an error refund sends for `balance_e8s` in the account: all of it
/// but the fee, or nothing when the fee would take it all.
pub fn error_refund_amount(balance_e8s: u64) -> Option<u64> {
    balance_e8s
        .checked_sub(ICP_FEE_E8S)
        .filter(|amount| *amount > 0)
}

/// One basket neuron's tokens released to its participant: a transfer
/// from the sale's account on the project's token ledger, paying the
/// token's fee out of the neuron's tokens (as the SNS swap sends each
/// neuron's stake), with the neuron's memo, stamped for deduplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// The participant; for a Fund neuron, its controller.
    pub buyer: Principal,
    /// The Neurons' Fund neuron released for, if any: then the tokens go
    /// to the controller's subaccount named by the neuron's id.
    pub fund_neuron: Option<u64>,
    pub neuron: u16,
    /// What the participant receives: the neuron's tokens less the fee.
    pub amount_e8s: u64,
    pub memo: u64,
    pub created_at_nanos: u64,
}

/// What a pass of releases found: the releases to send, the participant
/// index to go on from, and whether unlocked neurons were held back behind
/// releases in flight (another pass is due once those are answered).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleasePass {
    pub releases: Vec<Release>,
    pub next: u64,
    pub held_back: bool,
}

/// The first basket neuron's memo (the SNS swap's
/// `NEURON_BASKET_MEMO_RANGE_START`); neuron i has memo start + i.
pub const NEURON_BASKET_MEMO_START: u64 = 1_000_000;

impl<M: Memory> Sale<M> {
    /// A participant's basket: their share of the tokens, split into the
    /// sale's neurons with increasing dissolve delays.
    pub fn basket_of(&self, buyer: &Buyer) -> Vec<crate::basket::BasketNeuron> {
        self.basket_for(buyer.accepted_e8s)
    }

    /// The basket bought by `icp_e8s` of the sale's total participation.
    fn basket_for(&self, icp_e8s: u64) -> Vec<crate::basket::BasketNeuron> {
        // Both at most 1 B ICP (validated; the Fund matches at most one for
        // one), so the sum fits.
        let total = self
            .progress
            .direct_e8s
            .saturating_add(self.progress.neurons_fund_e8s);
        let tokens = crate::basket::tokens_for(icp_e8s, self.rules.tokens_e8s, total);
        crate::basket::basket(
            tokens,
            self.rules.basket_count,
            self.rules.basket_interval_seconds,
        )
    }

    /// Releases to send: those a trap, an upgrade or a lost answer left
    /// in flight, again as the same transactions; else the basket neurons
    /// whose delay has passed at `now_nanos` (counted from the sale's
    /// commitment) and that are not released yet, marked in flight and
    /// stamped `now_nanos` (see `releases`). Only for a committed sale
    /// whose shares are fixed. Looks at most at `scan` participants from
    /// `from_index` on, returns at most `limit` releases (a participant's
    /// go together) and the index to go on from.
    pub fn begin_releases(
        &mut self,
        now_nanos: u64,
        token_fee_e8s: u64,
        from_index: u64,
        scan: usize,
        limit: usize,
    ) -> ReleasePass {
        let mut pass = ReleasePass {
            releases: Vec::new(),
            next: from_index,
            held_back: false,
        };
        if self.progress.lifecycle != Lifecycle::Committed || !self.progress.shares_fixed {
            return pass;
        }
        for (index, key) in self.page(from_index, scan) {
            let mut buyer = self.buyers.get(&key).expect("indexed participants exist");
            let basket = self.basket_of(&buyer);
            let mut bits = buyer.release_bits();
            let due = crate::releases::due(
                &bits,
                &basket,
                self.progress.ended_at_seconds,
                now_nanos / 1_000_000_000,
            );
            pass.held_back |= due.held_back;
            if pass.releases.len() + due.neurons.len() > limit && !pass.releases.is_empty() {
                break;
            }
            pass.next = index + 1;
            if due.neurons.is_empty() {
                continue;
            }
            let principal = Principal::from_slice(key.as_slice());
            for (neuron, amount_e8s) in
                crate::releases::begin(&mut bits, &due, now_nanos, token_fee_e8s)
            {
                pass.releases.push(Release {
                    buyer: principal,
                    fund_neuron: None,
                    neuron,
                    amount_e8s,
                    memo: NEURON_BASKET_MEMO_START + u64::from(neuron),
                    created_at_nanos: bits.stamp_nanos,
                });
            }
            buyer.set_release_bits(bits);
            self.buyers.insert(key, buyer);
        }
        pass
    }

    /// The token ledger's answer to a release. `Expired` (too old to be
    /// sent again as the same transaction) leaves it unresolved for good;
    /// a refusal of a release that may have been made keeps it in flight.
    pub fn end_release(&mut self, buyer: &Principal, neuron: u16, outcome: Outcome) {
        let Some(mut record) = self.buyer(buyer) else {
            return;
        };
        let mut bits = record.release_bits();
        if crate::releases::end(&mut bits, neuron, outcome) {
            record.set_release_bits(bits);
            self.buyers.insert(key(buyer), record);
        }
    }

    /// Records the Neurons' Fund's neurons and their final amounts, as
    /// governance settled them; once, before the shares are fixed.
    pub fn add_fund_neurons(&mut self, neurons: &[(u64, Principal, u64)]) -> Result<(), String> {
        if self.progress.shares_fixed {
            return Err("the token shares are already fixed".into());
        }
        for &(id, controller, amount_e8s) in neurons {
            // NNS neuron ids are never 0; a 0 would name the controller's
            // main account, where its own basket goes.
            if id != 0 && amount_e8s > 0 && !self.fund.contains_key(&id) {
                self.fund.insert(
                    id,
                    FundNeuron {
                        controller,
                        amount_e8s,
                        bits: crate::releases::ReleaseBits::default(),
                    },
                );
            }
        }
        Ok(())
    }

    pub fn fund_neurons(&self, from_id: u64, limit: usize) -> Vec<(u64, FundNeuron)> {
        self.fund
            .range(from_id..)
            .take(limit)
            .map(|entry| (*entry.key(), entry.value()))
            .collect()
    }

    /// A Fund neuron's basket: its share of the tokens, as a participant's.
    pub fn fund_basket(&self, neuron: &FundNeuron) -> Vec<crate::basket::BasketNeuron> {
        self.basket_for(neuron.amount_e8s)
    }

    /// As [`Sale::begin_releases`], for the Neurons' Fund's neurons (from
    /// neuron id `from_id`; `next` is the id to go on from). Each release
    /// goes to the Fund neuron's controller, in a subaccount named by the
    /// NNS neuron's id.
    pub fn begin_fund_releases(
        &mut self,
        now_nanos: u64,
        token_fee_e8s: u64,
        from_id: u64,
        scan: usize,
        limit: usize,
    ) -> ReleasePass {
        let mut pass = ReleasePass {
            releases: Vec::new(),
            next: from_id,
            held_back: false,
        };
        if self.progress.lifecycle != Lifecycle::Committed || !self.progress.shares_fixed {
            return pass;
        }
        for (id, mut neuron) in self.fund_neurons(from_id, scan) {
            let basket = self.fund_basket(&neuron);
            let due = crate::releases::due(
                &neuron.bits,
                &basket,
                self.progress.ended_at_seconds,
                now_nanos / 1_000_000_000,
            );
            pass.held_back |= due.held_back;
            if pass.releases.len() + due.neurons.len() > limit && !pass.releases.is_empty() {
                break;
            }
            pass.next = id.saturating_add(1);
            if due.neurons.is_empty() {
                continue;
            }
            for (basket_neuron, amount_e8s) in
                crate::releases::begin(&mut neuron.bits, &due, now_nanos, token_fee_e8s)
            {
                pass.releases.push(Release {
                    buyer: neuron.controller,
                    fund_neuron: Some(id),
                    neuron: basket_neuron,
                    amount_e8s,
                    memo: NEURON_BASKET_MEMO_START + u64::from(basket_neuron),
                    created_at_nanos: neuron.bits.stamp_nanos,
                });
            }
            self.fund.insert(id, neuron);
        }
        pass
    }

    pub fn end_fund_release(&mut self, id: u64, neuron: u16, outcome: Outcome) {
        let Some(mut record) = self.fund.get(&id) else {
            return;
        };
        if crate::releases::end(&mut record.bits, neuron, outcome) {
            self.fund.insert(id, record);
        }
    }
}

/// A Neurons' Fund neuron's part in the sale, as governance settled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundNeuron {
    pub controller: Principal,
    pub amount_e8s: u64,
    pub bits: crate::releases::ReleaseBits,
}

impl Storable for FundNeuron {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }
    fn into_bytes(self) -> Vec<u8> {
        let principal = self.controller.as_slice();
        let mut bytes = vec![principal.len() as u8];
        bytes.extend_from_slice(principal);
        bytes.resize(30, 0);
        bytes.extend_from_slice(&self.amount_e8s.to_le_bytes());
        bytes.extend_from_slice(&self.bits.released.to_le_bytes());
        bytes.extend_from_slice(&self.bits.releasing.to_le_bytes());
        bytes.extend_from_slice(&self.bits.stamp_nanos.to_le_bytes());
        bytes.extend_from_slice(&self.bits.uncertain.to_le_bytes());
        bytes.extend_from_slice(&self.bits.unresolved.to_le_bytes());
        bytes
    }
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let len = usize::from(bytes[0]);
        Self {
            controller: Principal::from_slice(&bytes[1..1 + len]),
            amount_e8s: u64_at(30),
            bits: crate::releases::ReleaseBits {
                released: u16_at(38),
                releasing: u16_at(40),
                stamp_nanos: u64_at(42),
                uncertain: u16_at(50),
                unresolved: u16_at(52),
            },
        }
    }
    const BOUND: Bound = Bound::Bounded {
        max_size: 54,
        is_fixed_size: true,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;
    use proptest::prelude::*;

    const ICP: u64 = 100_000_000;

    fn rules() -> Rules {
        Rules {
            terms: Terms {
                open_at_seconds: 100,
                due_at_seconds: 1_000,
                min_participants: 2,
                min_direct_e8s: 50 * ICP,
                max_direct_e8s: 300 * ICP,
            },
            bounds: Bounds {
                min_participant_e8s: ICP,
                max_participant_e8s: 120 * ICP,
                max_direct_e8s: 300 * ICP,
            },
            basket_count: 3,
            basket_interval_seconds: 100,
            tokens_e8s: 1_000_000 * ICP,
            confirmation_text: None,
        }
    }

    fn memories() -> Memories<VectorMemory> {
        Memories {
            rules: VectorMemory::default(),
            progress: VectorMemory::default(),
            buyers: VectorMemory::default(),
            order: VectorMemory::default(),
            tickets: VectorMemory::default(),
            fund: VectorMemory::default(),
        }
    }

    fn sale(rules: Rules) -> Sale<VectorMemory> {
        Sale::open(Some(rules), memories()).expect("valid rules")
    }

    fn principal(n: u8) -> Principal {
        Principal::from_slice(&[n, 1])
    }

    #[test]
    fn tickets_only_while_open_and_one_at_a_time() {
        let mut sale = sale(rules());
        assert_eq!(
            sale.new_ticket(principal(1), ICP, None, 0),
            Err(TicketError::SaleNotOpen)
        );
        sale.tick(100);
        assert_eq!(
            sale.new_ticket(Principal::anonymous(), ICP, None, 0),
            Err(TicketError::InvalidPrincipal)
        );
        assert_eq!(
            sale.new_ticket(principal(1), ICP, Some(&[0; 31]), 0),
            Err(TicketError::InvalidSubaccount)
        );
        let ticket = sale.new_ticket(principal(1), 5 * ICP, None, 7).unwrap();
        assert_eq!((ticket.ticket_id, ticket.amount_e8s), (0, 5 * ICP));
        assert_eq!(
            sale.new_ticket(principal(1), ICP, None, 0),
            Err(TicketError::TicketExists(ticket.clone()))
        );
        assert_eq!(sale.cancel_ticket(&principal(1)), Some(ticket));
        assert!(matches!(
            sale.new_ticket(principal(1), ICP / 2, None, 0),
            Err(TicketError::InvalidUserAmount(_))
        ));
        sale.tick(1_000);
        assert_eq!(sale.lifecycle(), Lifecycle::Aborted);
        assert_eq!(
            sale.new_ticket(principal(1), ICP, None, 0),
            Err(TicketError::SaleClosed)
        );
        assert_eq!(TicketError::SaleClosed.code(), 2);
    }

    #[test]
    fn tickets_are_purged_in_batches_once_the_sale_is_over() {
        let mut sale = sale(rules());
        sale.tick(100);
        for n in 0..5 {
            sale.new_ticket(principal(n), ICP, None, 0).unwrap();
        }
        assert_eq!(sale.purge_tickets(10), 0, "not while open");
        sale.tick(1_000);
        assert_eq!(sale.purge_tickets(3), 3);
        assert_eq!(sale.purge_tickets(3), 2);
        assert_eq!(sale.tickets(), 0);
    }

    #[test]
    fn a_ticket_larger_than_the_payment_refuses_the_refresh() {
        let mut sale = sale(rules());
        sale.tick(100);
        sale.new_ticket(principal(1), 10 * ICP, None, 0).unwrap();
        assert!(
            sale.apply_refresh(principal(1), 5 * ICP)
                .unwrap_err()
                .contains("smaller than the amount requested")
        );
        assert_eq!(
            sale.apply_refresh(principal(1), 10 * ICP),
            Ok(Refreshed {
                accepted_e8s: 10 * ICP,
                balance_e8s: 10 * ICP
            })
        );
        assert_eq!(sale.ticket(&principal(1)), None, "the ticket is used up");
    }

    #[test]
    fn the_confirmation_text_must_be_the_sales() {
        let mut sale = sale(Rules {
            confirmation_text: Some("I agree".into()),
            ..rules()
        });
        sale.tick(100);
        assert!(
            sale.check_refresh(None)
                .unwrap_err()
                .contains("No value provided")
        );
        assert!(sale.check_refresh(Some("I do")).is_err());
        assert_eq!(sale.check_refresh(Some("I agree")), Ok(()));
        let plain = self::sale(rules());
        assert!(plain.check_refresh(Some("I agree")).is_err());
    }

    #[derive(Clone, Debug)]
    enum Step {
        Tick(u64),
        Pay(u8, u64),
        Ticket(u8, u64),
        Cancel(u8),
        /// A refresh's first half: checked, the balance read.
        BeginRefresh(u8),
        /// A pending refresh's second half, after the ledger answered: other
        /// steps (ticks, other refreshes) may have run meanwhile.
        FinishRefresh(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => (0u64..200).prop_map(Step::Tick),
            1 => (0u8..5, 0u64..150 * ICP).prop_map(|(who, e8s)| Step::Pay(who, e8s)),
            1 => (0u8..5, 0u64..150 * ICP).prop_map(|(who, e8s)| Step::Ticket(who, e8s)),
            1 => (0u8..5).prop_map(Step::Cancel),
            2 => (0u8..5).prop_map(Step::BeginRefresh),
            2 => (0usize..4).prop_map(Step::FinishRefresh),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128)
        ))]
        /// Random payments, tickets, refreshes and ticks against a model of
        /// the ledger balances: after every step the total is the sum of
        /// the participations (refreshes interleaved across their ledger
        /// read), no one has more accepted than they paid or
        /// than the maximum, the sale never passes its maximum, a ticket
        /// exists only while the sale is open, nothing changes once it is
        /// over, and it commits only with its minimums met.
        #[test]
        fn participation_keeps_its_invariants(steps in proptest::collection::vec(step(), 1..80)) {
            let mut sale = sale(rules());
            let mut paid = [0u64; 5];
            let mut now = 0;
            let mut over_at: Option<Vec<u64>> = None;
            let mut pending: Vec<(u8, u64)> = Vec::new();
            for step in steps {
                match step {
                    Step::Tick(seconds) => { now += seconds; sale.tick(now); }
                    Step::Pay(who, e8s) => paid[who as usize] += e8s,
                    Step::Ticket(who, e8s) => { let _ = sale.new_ticket(principal(who), e8s, None, now); }
                    Step::Cancel(who) => { sale.cancel_ticket(&principal(who)); }
                    Step::BeginRefresh(who) => {
                        if sale.check_refresh(None).is_ok() {
                            pending.push((who, paid[who as usize]));
                        }
                    }
                    Step::FinishRefresh(k) if !pending.is_empty() => {
                        let (who, balance) = pending.remove(k % pending.len());
                        let before = sale.buyer(&principal(who)).map_or(0, |b| b.accepted_e8s);
                        if let Ok(refreshed) = sale.apply_refresh(principal(who), balance) {
                            prop_assert!(refreshed.accepted_e8s >= before);
                        }
                    }
                    Step::FinishRefresh(_) => {}
                }
                let accepted: Vec<u64> = (0..5).map(|n| sale.buyer(&principal(n)).map_or(0, |b| b.accepted_e8s)).collect();
                prop_assert_eq!(sale.progress().direct_e8s, accepted.iter().sum::<u64>());
                prop_assert!(sale.progress().direct_e8s <= 300 * ICP);
                for n in 0..5 {
                    prop_assert!(accepted[n] <= paid[n]);
                    prop_assert!(accepted[n] <= 120 * ICP);
                }
                if sale.lifecycle() != Lifecycle::Open {
                    prop_assert!(sale.lifecycle().is_over() || sale.tickets() == 0);
                }
                if sale.lifecycle() == Lifecycle::Committed {
                    prop_assert!(sale.rules().terms.is_met(sale.standing()));
                }
                if sale.lifecycle().is_over() {
                    match &over_at {
                        None => over_at = Some(accepted.clone()),
                        Some(frozen) => prop_assert_eq!(frozen, &accepted, "nothing changes once over"),
                    }
                }
                let listed: Vec<Principal> = sale.participants(0, 10).into_iter().map(|(p, _)| p).collect();
                prop_assert_eq!(listed.len() as u64, sale.standing().participants);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128)
        ))]
        /// Finalization's sweeps begun in batches, answered in any order,
        /// some refused, some made with the answer lost (sent again by the
        /// next finalization as the same transaction): each participant's
        /// ICP is paid out exactly once, and all of it in the end.
        #[test]
        fn each_participation_is_swept_exactly_once(
            amounts in proptest::collection::vec(ICP..120 * ICP, 2..8),
            answers in proptest::collection::vec((0usize..8, 0u8..4, 1usize..4), 1..60),
        ) {
            let mut sale = sale(rules());
            sale.tick(100);
            for (n, amount) in amounts.iter().enumerate() {
                // Past the sale's maximum, a refresh accepts part or nothing.
                let _ = sale.apply_refresh(principal(n as u8), *amount);
            }
            sale.tick(1_000);
            prop_assert!(sale.lifecycle().is_over());
            // The ledger: a transfer is made once per (account, stamp); the
            // same transaction again is a duplicate of it.
            type Made = std::collections::BTreeMap<(Principal, u64), u64>;
            type Paid = std::collections::BTreeMap<Principal, u64>;
            let mut made = Made::new();
            let mut paid = Paid::new();
            fn send(made: &mut Made, paid: &mut Paid, sweep: &IcpSweep) -> u64 {
                let next = made.len() as u64;
                *made.entry((sweep.buyer, sweep.created_at_nanos)).or_insert_with(|| {
                    *paid.entry(sweep.buyer).or_default() += sweep.amount_e8s;
                    next
                })
            }
            let mut in_flight: Vec<IcpSweep> = Vec::new();
            let mut now = 7;
            for (pick, answer, batch) in answers {
                // A finalization goes through all participants in batches;
                // what an earlier one left in flight is sent again.
                now += 1;
                let mut from = 0;
                loop {
                    let (sweeps, next) = sale.begin_icp_sweeps(from, 2, batch, now);
                    in_flight.extend(sweeps);
                    if next == from { break; }
                    from = next;
                }
                if in_flight.is_empty() { continue; }
                let sweep = in_flight.remove(pick % in_flight.len());
                match answer {
                    // Made (or a duplicate of the one made).
                    0 => { let block = send(&mut made, &mut paid, &sweep); sale.end_icp_sweep(&sweep.buyer, Outcome::Done(block), 0); }
                    // Made, but the answer lost.
                    1 => { send(&mut made, &mut paid, &sweep); sale.end_icp_sweep(&sweep.buyer, Outcome::Unknown, 0); }
                    // Refused (this sending made nothing; the same transaction
                    // made before would be answered as a duplicate).
                    2 => match made.get(&(sweep.buyer, sweep.created_at_nanos)) {
                        Some(block) => sale.end_icp_sweep(&sweep.buyer, Outcome::Done(*block), 0),
                        None => sale.end_icp_sweep(&sweep.buyer, Outcome::Failed, 0),
                    },
                    // Too old, and not made: no sending of it can be made
                    // any more (the model drops the others on their way).
                    _ => if !made.contains_key(&(sweep.buyer, sweep.created_at_nanos)) {
                        in_flight.retain(|other| (other.buyer, other.created_at_nanos) != (sweep.buyer, sweep.created_at_nanos));
                        sale.end_icp_sweep(&sweep.buyer, Outcome::Expired, 0);
                    },
                }
                for (buyer, total) in &paid {
                    let accepted = sale.buyer(buyer).unwrap().accepted_e8s;
                    prop_assert_eq!(*total, accepted - ICP_FEE_E8S, "paid once, never twice");
                }
            }
            // Then every sending is answered, and finalizations run to the end.
            loop {
                let (batch, _) = sale.begin_icp_sweeps(0, usize::MAX, usize::MAX, now + 1);
                if batch.is_empty() { break; }
                for sweep in batch {
                    let block = send(&mut made, &mut paid, &sweep);
                    sale.end_icp_sweep(&sweep.buyer, Outcome::Done(block), 0);
                }
            }
            prop_assert!(sale.icp_swept());
            for (buyer, record) in sale.participants(0, usize::MAX) {
                prop_assert_eq!(paid.get(&buyer).copied(), Some(record.accepted_e8s - ICP_FEE_E8S));
            }
            prop_assert_eq!(paid.len() as u64, sale.standing().participants);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128)
        ))]
        /// Passes of releases as time passes (one at a time, as the
        /// canister's lock makes them), each release answered at random:
        /// made (or a duplicate), refused before the ledger, made with the
        /// answer lost, lost before the ledger, or not answered at all (a
        /// trap in the callback, an upgrade), made or not. The ledger deduplicates by the transaction (participant,
        /// memo, stamp, amount), as an ICRC ledger does. No basket neuron
        /// is sent before its delay, and once the longest delay passed and
        /// passes ran until none is left, each participant received each
        /// neuron's tokens less one fee, exactly once.
        #[test]
        fn each_basket_neuron_is_released_once_and_on_time(
            amounts in proptest::collection::vec(ICP..120 * ICP, 2..6),
            passes in proptest::collection::vec(
                (0u64..80, 0u64..3, 1usize..5, proptest::collection::vec(0u8..6, 8)), 1..40),
            fund in 0u64..300 * ICP,
            fee in prop_oneof![Just(0u64), Just(10_000u64), Just(100_001 * ICP)],
        ) {
            let mut sale = sale(rules());
            sale.tick(100);
            for (n, amount) in amounts.iter().enumerate() {
                let _ = sale.apply_refresh(principal(n as u8), *amount);
            }
            sale.tick(1_000);
            prop_assume!(sale.lifecycle() == Lifecycle::Committed);
            let (sweeps, _) = sale.begin_icp_sweeps(0, usize::MAX, usize::MAX, 7);
            for (n, sweep) in sweeps.iter().enumerate() {
                sale.end_icp_sweep(&sweep.buyer, Outcome::Done(n as u64), 0);
            }
            sale.fix_token_shares(fund).unwrap();
            let ended = sale.progress().ended_at_seconds;
            let mut now = ended;
            let mut made = std::collections::BTreeSet::new();
            let mut received: std::collections::BTreeMap<(Principal, u16), u64> = Default::default();
            let mut send = |release: &Release| {
                if made.insert((release.buyer, release.memo, release.created_at_nanos, release.amount_e8s)) {
                    *received.entry((release.buyer, release.neuron)).or_default() += release.amount_e8s;
                }
            };
            for (wait, from, limit, answers) in passes {
                now += wait;
                let due = sale.begin_releases(now * 1_000_000_000, fee, from, 2, limit).releases;
                for (release, answer) in due.iter().zip(answers.iter().cycle()) {
                    let delay = u64::from(release.neuron) * 100;
                    prop_assert!(ended + delay <= now, "not before its delay");
                    // Delivered and answered (made, or a duplicate of a
                    // sending made: done either way); refused before the
                    // ledger; delivered with the answer lost; lost on the way.
                    // The callback trapped, or an upgrade came: no answer
                    // is recorded at all, made or not.
                    let outcome = match answer {
                        0 => { send(release); Outcome::Done(0) }
                        1 => Outcome::Failed,
                        2 => { send(release); Outcome::Unknown }
                        3 => Outcome::Unknown,
                        4 => { send(release); continue }
                        _ => continue,
                    };
                    sale.end_release(&release.buyer, release.neuron, outcome);
                }
            }
            loop {
                let batch = sale.begin_releases(u64::MAX, fee, 0, usize::MAX, 10).releases;
                if batch.is_empty() { break; }
                for release in batch {
                    send(&release);
                    sale.end_release(&release.buyer, release.neuron, Outcome::Done(0));
                }
            }
            let mut total = 0;
            for (principal, buyer) in sale.participants(0, usize::MAX) {
                prop_assert_eq!(
                    (buyer.releasing, buyer.uncertain, buyer.unresolved, buyer.release_stamp_nanos),
                    (0, 0, 0, 0)
                );
                for (neuron, part) in sale.basket_of(&buyer).into_iter().enumerate() {
                    let got = received.get(&(principal, neuron as u16)).copied().unwrap_or(0);
                    prop_assert_eq!(got, part.amount_e8s.saturating_sub(fee), "once, and all of it but the fee");
                    total += part.amount_e8s;
                }
            }
            prop_assert!(total <= sale.rules().tokens_e8s);
        }
    }

    #[test]
    fn the_funds_neurons_get_baskets_released_as_participants_do() {
        let mut sale = sale(rules());
        sale.tick(100);
        sale.apply_refresh(principal(1), 60 * ICP).unwrap();
        sale.apply_refresh(principal(2), 40 * ICP).unwrap();
        sale.tick(1_000);
        let (sweeps, _) = sale.begin_icp_sweeps(0, 10, 10, 7);
        for (n, sweep) in sweeps.iter().enumerate() {
            sale.end_icp_sweep(&sweep.buyer, Outcome::Done(n as u64), 0);
        }
        // The Fund: 100 ICP over two neurons of one controller.
        let controller = principal(9);
        let fund = [(7, controller, 70 * ICP), (8, controller, 30 * ICP)];
        sale.add_fund_neurons(&fund).unwrap();
        sale.fix_token_shares(100 * ICP).unwrap();
        assert!(
            sale.add_fund_neurons(&fund).is_err(),
            "once the shares are fixed"
        );
        // Half of the tokens are the Fund's: 35 % and 15 % of them.
        let neurons = sale.fund_neurons(0, 10);
        let tokens: Vec<u64> = neurons
            .iter()
            .map(|(_, n)| sale.fund_basket(n).iter().map(|b| b.amount_e8s).sum())
            .collect();
        assert_eq!(tokens, vec![350_000 * ICP, 150_000 * ICP]);
        let ended = sale.progress().ended_at_seconds * 1_000_000_000;
        let pass = sale.begin_fund_releases(ended, 10_000, 0, 10, 10);
        assert_eq!(pass.releases.len(), 2, "the first neuron of each basket");
        assert_eq!(pass.next, 9);
        let first = pass.releases[0];
        assert_eq!((first.fund_neuron, first.buyer), (Some(7), controller));
        let basket = sale.fund_basket(&neurons[0].1);
        assert_eq!(first.amount_e8s, basket[0].amount_e8s - 10_000);
        sale.end_fund_release(7, 0, Outcome::Done(1));
        sale.end_fund_release(8, 0, Outcome::Failed);
        let again = sale.begin_fund_releases(ended, 10_000, 0, 10, 10);
        assert_eq!(again.releases.len(), 1, "the refused one, again");
        assert_eq!(again.releases[0].fund_neuron, Some(8));
        // The participants' baskets are unaffected by the Fund's records.
        assert_eq!(
            sale.begin_releases(ended, 10_000, 0, 10, 10).releases.len(),
            2
        );
    }

    #[test]
    fn a_buyers_subaccount_is_its_length_and_bytes() {
        let subaccount = buyer_subaccount(&Principal::from_slice(&[7, 8, 9]));
        assert_eq!(&subaccount[..4], &[3, 7, 8, 9]);
        assert!(subaccount[4..].iter().all(|b| *b == 0));
        let longest = Principal::from_slice(&[0xAB; 29]);
        assert_eq!(buyer_subaccount(&longest)[0], 29);
    }

    #[test]
    fn error_refunds_only_after_the_end_and_after_the_sweep() {
        let mut sale = sale(rules());
        sale.tick(100);
        sale.apply_refresh(principal(1), 60 * ICP).unwrap();
        let early = sale.check_error_refund(&principal(2)).unwrap_err();
        assert_eq!(early.code(), 2);
        sale.tick(1_000);
        assert_eq!(
            sale.lifecycle(),
            Lifecycle::Aborted,
            "one participant of two"
        );
        assert_eq!(
            sale.check_error_refund(&principal(2)),
            Ok(()),
            "a stranger's payment"
        );
        assert_eq!(
            sale.check_error_refund(&principal(1)).unwrap_err().code(),
            2
        );
        let (sweep, _) = sale.begin_icp_sweeps(0, 10, 10, 7);
        sale.end_icp_sweep(&sweep[0].buyer, Outcome::Done(3), 0);
        assert_eq!(
            sale.check_error_refund(&principal(1)),
            Ok(()),
            "the rest, after the sweep"
        );
        assert_eq!(error_refund_amount(ICP_FEE_E8S), None);
        assert_eq!(error_refund_amount(ICP_FEE_E8S + 5), Some(5));
    }

    #[test]
    fn a_sale_reopened_over_its_memories_is_the_same_sale() {
        let memories = memories();
        let shared = || Memories {
            rules: memories.rules.clone(),
            progress: memories.progress.clone(),
            buyers: memories.buyers.clone(),
            order: memories.order.clone(),
            tickets: memories.tickets.clone(),
            fund: memories.fund.clone(),
        };
        let mut sale = Sale::open(Some(rules()), shared()).unwrap();
        sale.tick(100);
        sale.new_ticket(principal(2), 3 * ICP, None, 9).unwrap();
        sale.apply_refresh(principal(1), 60 * ICP).unwrap();
        let before = sale.progress();
        // As after an upgrade: the same memories, a new instance.
        let reopened = Sale::open(None, shared()).unwrap();
        assert_eq!(reopened.progress(), before);
        assert_eq!(reopened.rules(), &rules());
        assert_eq!(reopened.lifecycle(), Lifecycle::Open);
        assert_eq!(
            reopened.buyer(&principal(1)).map(|b| b.accepted_e8s),
            Some(60 * ICP)
        );
        assert_eq!(
            reopened.ticket(&principal(2)).map(|t| t.amount_e8s),
            Some(3 * ICP)
        );
        assert_eq!(reopened.progress().next_ticket_id, 1);
        // Its parameters are fixed: the same ones are accepted, others refused.
        assert!(Sale::open(Some(rules()), shared()).is_ok());
        let changed = Rules {
            basket_count: 4,
            ..rules()
        };
        assert!(Sale::open(Some(changed), shared()).is_err());
        let text = Rules {
            confirmation_text: Some("I agree".into()),
            ..rules()
        };
        let fresh = Sale::open(Some(text.clone()), self::memories()).unwrap();
        assert_eq!(
            fresh.rules(),
            &text,
            "a confirmation text survives the round trip"
        );
    }

    #[test]
    fn parameters_outside_the_nns_bounds_are_refused() {
        let refused = |rules: Rules| Sale::open(Some(rules), self::memories()).err().unwrap();
        let base = rules();
        assert!(
            refused(Rules {
                basket_count: 11,
                ..base.clone()
            })
            .contains("basket")
        );
        assert!(
            refused(Rules {
                basket_count: 1,
                ..base.clone()
            })
            .contains("basket")
        );
        let bounds = Bounds {
            min_participant_e8s: 10_000,
            ..base.bounds
        };
        assert!(
            refused(Rules {
                bounds,
                ..base.clone()
            })
            .contains("0.01 ICP")
        );
        let bounds = Bounds {
            max_direct_e8s: 400 * ICP,
            ..base.bounds
        };
        assert!(
            refused(Rules {
                bounds,
                ..base.clone()
            })
            .contains("one number")
        );
        let bounds = Bounds {
            max_participant_e8s: 301 * ICP,
            ..base.bounds
        };
        assert!(
            refused(Rules {
                bounds,
                ..base.clone()
            })
            .contains("at most the sale's maximum")
        );
        assert!(
            refused(Rules {
                confirmation_text: Some(String::new()),
                ..base.clone()
            })
            .contains("confirmation")
        );
        assert!(
            Sale::<VectorMemory>::open(None, self::memories()).is_err(),
            "a new sale needs parameters"
        );
    }

    #[test]
    fn neither_the_anonymous_nor_the_empty_principal_participates() {
        let mut sale = sale(rules());
        sale.tick(100);
        for principal in [Principal::anonymous(), Principal::management_canister()] {
            assert!(sale.apply_refresh(principal, 5 * ICP).is_err());
        }
        sale.tick(1_000);
        let refused = sale
            .check_error_refund(&Principal::management_canister())
            .unwrap_err();
        assert_eq!(
            refused.code(),
            1,
            "its subaccount is the sale's own account"
        );
    }

    #[test]
    fn releases_wait_for_the_shares_and_an_unknown_outcome_stays_in_flight() {
        let mut sale = sale(rules());
        sale.tick(100);
        sale.apply_refresh(principal(1), 60 * ICP).unwrap();
        sale.apply_refresh(principal(2), 40 * ICP).unwrap();
        sale.tick(1_000);
        assert_eq!(sale.lifecycle(), Lifecycle::Committed);
        assert!(
            sale.begin_releases(u64::MAX, 0, 0, 10, 10)
                .releases
                .is_empty(),
            "not before the shares are fixed"
        );
        assert!(
            sale.fix_token_shares(0).is_err(),
            "not before the ICP is swept"
        );
        let (sweeps, _) = sale.begin_icp_sweeps(0, 10, 10, 7);
        sale.end_icp_sweep(&sweeps[0].buyer, Outcome::Unknown, 0);
        let (again, _) = sale.begin_icp_sweeps(0, 10, 10, 99);
        assert_eq!(
            again[0], sweeps[0],
            "in flight: sent again as the same transaction"
        );
        sale.end_icp_sweep(&sweeps[0].buyer, Outcome::Done(1), 0);
        sale.end_icp_sweep(&sweeps[1].buyer, Outcome::Done(2), 0);
        sale.fix_token_shares(100 * ICP).unwrap();
        assert!(sale.fix_token_shares(0).is_err(), "once");
        // 60 of 200 ICP (the Fund's 100 included): 30 % of the tokens.
        let buyer = sale.buyer(&principal(1)).unwrap();
        let tokens: u64 = sale.basket_of(&buyer).iter().map(|n| n.amount_e8s).sum();
        assert_eq!(tokens, 300_000 * ICP);
        let ended_nanos = sale.progress().ended_at_seconds * 1_000_000_000;
        let releases = sale.begin_releases(ended_nanos, 10_000, 0, 10, 10).releases;
        assert_eq!(
            releases.len(),
            2,
            "the first neuron of each basket is due at once"
        );
        assert!(
            releases
                .iter()
                .all(|r| r.created_at_nanos == ended_nanos && r.memo == 1_000_000)
        );
        // The first answer is lost, the second is a refusal: the lost one is
        // sent again as the same transaction, even later; the refused one
        // with a new stamp.
        sale.end_release(&releases[0].buyer, 0, Outcome::Unknown);
        sale.end_release(&releases[1].buyer, 0, Outcome::Failed);
        let later = ended_nanos + 5_000_000_000;
        let again = sale.begin_releases(later, 10_000, 0, 10, 10).releases;
        assert_eq!(again[0], releases[0]);
        assert_eq!(again[1].created_at_nanos, later);
        // Too old to be sent again: unresolved, never sent again.
        sale.end_release(&again[0].buyer, 0, Outcome::Expired);
        sale.end_release(&again[1].buyer, 0, Outcome::Done(5));
        let none = sale.begin_releases(later, 10_000, 0, 10, 10).releases;
        assert!(none.is_empty());
        // A step on, the second neurons unlock; one of them waits behind a
        // release left in flight, and the pass says so.
        let day = later + 100 * 1_000_000_000;
        let first = sale.begin_releases(day, 10_000, 0, 10, 10);
        assert_eq!(first.releases.len(), 2);
        assert!(!first.held_back);
        sale.end_release(&first.releases[0].buyer, 1, Outcome::Unknown);
        sale.end_release(&first.releases[1].buyer, 1, Outcome::Done(6));
        let two_days = day + 100 * 1_000_000_000;
        let pass = sale.begin_releases(two_days, 10_000, 0, 10, 10);
        assert!(pass.held_back, "the first participant's third neuron waits");
        assert_eq!(pass.releases.len(), 2, "the resend, and the second's third");
        assert_eq!(pass.releases[0], first.releases[0]);
        assert_eq!(sale.buyer(&releases[0].buyer).unwrap().unresolved, 1);
    }
}
