//! The CMC's state, all in stable memory.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  config         StableCell  Config
//! ├── 1  notifications  BTreeMap    block index → NotificationStatus
//! ├── 2  rates          StableCell  current rate, first rate of each day, average
//! ├── 3  totals         StableCell  cycles minted, ICP burned, purge horizon
//! ├── 4  limiter        StableCell  cycles minted per minute, last hour
//! ├── 5  pending burns  BTreeMap    block index → ICP still to burn
//! ├── 6  refunds        BTreeMap    block index → refund still to send
//! └── 7  subnets        StableCell  where canisters are created (see subnets.rs)
//! ```

use crate::config::Config;
use crate::limiter::Limiter;
use crate::notifications::{Begin, NotificationStatus};
use crate::rates::Rates;
use crate::subnets::Subnets;
use candid::{CandidType, Deserialize};
use canister_common::candid_reader::{self, Cursor, ReadCandid, Type, field, required};
use canister_common::{Candid, StoredCandid};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, StableCell, Storable};
use nns_api::cmc::{CyclesCanisterInitPayload, DEFAULT_ICP_XDR_CONVERSION_RATE};
use nns_api::ledger::TransferError;
use nns_api::{AccountIdentifier, Subaccount};
use std::cell::RefCell;

/// Notifications remembered; older ones are purged and become too old.
pub const MAX_NOTIFICATIONS: u64 = 1_000_000;
/// Purged per notify call, so that no call does unbounded work.
const MAX_PURGED_PER_CALL: usize = 100;

type VM<D> = VirtualMemory<D>;

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Cycles minted and delivered to canisters.
    pub cycles_minted: u128,
    /// ICP burned after conversion into cycles (and fees kept on refunds).
    pub icp_burned_e8s: u64,
    pub icp_refunded_e8s: u64,
    pub top_ups: u64,
    pub canisters_created: u64,
    /// Blocks at or below this index are too old to be notified (block 0
    /// too, as on the real CMC; it is a mint on any ledger).
    pub last_purged_notification: u64,
}

/// A transfer out of one of the CMC's subaccounts that must happen once:
/// a burn of ICP converted into cycles (or of fees kept), or a refund.
///
/// Every attempt sends the same transaction — memo the block index,
/// `created_at_time` fixed when the transfer was recorded — so that the
/// ledger answers a repeat with `TxDuplicate` instead of moving the ICP
/// twice out of a subaccount that may hold other payments.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingTransfer {
    pub subaccount: Subaccount,
    pub amount_e8s: u64,
    /// Nanoseconds; 0 for a burn recorded before stamps existed.
    pub created_at_time: u64,
    /// Attempts in flight or whose outcome is unknown (the ledger may have
    /// made them): while there are any, a stamp that grew too old for the
    /// ledger's deduplication is not renewed, nor a refund re-priced.
    pub unconfirmed_attempts: u64,
    /// `None` for a burn (to the minting account, fee 0); for a refund, its
    /// [`Refund`]: the account (32 bytes), the fee (8 bytes, little-endian)
    /// and the answer (Candid). A burn's record stays cheap to encode.
    pub refund: Option<serde_bytes::ByteBuf>,
}

/// Where a refund goes, and what the notification answers once it is made
/// (`Refunded`, its refund block filled in then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub to: AccountIdentifier,
    pub fee_e8s: u64,
    pub answer: NotificationStatus,
}

impl PendingTransfer {
    pub fn refund(
        subaccount: Subaccount,
        amount_e8s: u64,
        now_nanos: u64,
        refund: &Refund,
    ) -> Self {
        let mut encoded = refund.to.as_bytes().to_vec();
        encoded.extend_from_slice(&refund.fee_e8s.to_le_bytes());
        encoded.extend_from_slice(&candid::encode_one(&refund.answer).expect("a status encodes"));
        Self {
            refund: Some(serde_bytes::ByteBuf::from(encoded)),
            ..Self::burn(subaccount, amount_e8s, now_nanos)
        }
    }

    /// The refund's details; `None` for a burn.
    pub fn details(&self) -> Option<Refund> {
        let bytes = self.refund.as_ref()?;
        let to = AccountIdentifier::from_slice(bytes.get(..32)?).ok()?;
        let fee_e8s = u64::from_le_bytes(bytes.get(32..40)?.try_into().ok()?);
        let answer = candid_reader::decode_first(&bytes[40..], NotificationStatus::read).ok()?;
        Some(Refund {
            to,
            fee_e8s,
            answer,
        })
    }

    /// What the ledger's refusal of an attempt at `sent` changes in this
    /// transfer (the same, as it is now, the attempt no longer counted): a
    /// stamp the ledger finds too old (or ahead) is renewed, a refund whose
    /// fee changed is re-priced. Only when no other attempt is counted (in
    /// flight, or of unknown outcome) and nothing changed the transfer
    /// meanwhile (compare and set): another attempt may have been made, and
    /// a changed transfer would then be made a second time.
    pub fn after_refusal(
        &mut self,
        sent: &PendingTransfer,
        refusal: &TransferError,
        now_nanos: u64,
    ) {
        let unchanged = self.created_at_time == sent.created_at_time
            && self.amount_e8s == sent.amount_e8s
            && self.unconfirmed_attempts == 0;
        if !unchanged {
            return;
        }
        match refusal {
            TransferError::TxTooOld { .. } | TransferError::TxCreatedInFuture => {
                self.created_at_time = now_nanos
            }
            TransferError::BadFee { expected_fee } => *self = self.repriced(expected_fee.e8s),
            _ => {}
        }
    }

    /// The same refund at the ledger's new fee: the e8s that leave the
    /// subaccount (amount and fee) stay the same. A refund the new fee
    /// would consume becomes one of nothing (amount 0), which is final
    /// without a transfer, as a refund of nothing is from the start; its
    /// dust stays in the subaccount. A burn is left as it is.
    pub fn repriced(&self, fee_e8s: u64) -> Self {
        let Some(mut details) = self.details() else {
            return self.clone();
        };
        let total = self.amount_e8s.saturating_add(details.fee_e8s);
        if total <= fee_e8s {
            details.fee_e8s = total;
            return Self {
                unconfirmed_attempts: self.unconfirmed_attempts,
                ..Self::refund(self.subaccount, 0, self.created_at_time, &details)
            };
        }
        details.fee_e8s = fee_e8s;
        Self {
            unconfirmed_attempts: self.unconfirmed_attempts,
            ..Self::refund(
                self.subaccount,
                total - fee_e8s,
                self.created_at_time,
                &details,
            )
        }
    }

    pub fn burn(subaccount: Subaccount, amount_e8s: u64, now_nanos: u64) -> Self {
        Self {
            subaccount,
            amount_e8s,
            created_at_time: now_nanos,
            unconfirmed_attempts: 0,
            refund: None,
        }
    }
}

/// What a payment was notified for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    TopUp,
    CreateCanister,
    MintCycles,
}

impl ReadCandid for Totals {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const CYCLES_MINTED: u32 = field("cycles_minted");
        const ICP_BURNED: u32 = field("icp_burned_e8s");
        const ICP_REFUNDED: u32 = field("icp_refunded_e8s");
        const TOP_UPS: u32 = field("top_ups");
        const CANISTERS_CREATED: u32 = field("canisters_created");
        const LAST_PURGED: u32 = field("last_purged_notification");
        let mut t = Totals::default();
        c.record(ty, |c, hash, ty| {
            match hash {
                CYCLES_MINTED => t.cycles_minted = c.nat(ty)?,
                ICP_BURNED => t.icp_burned_e8s = c.nat64(ty)?,
                ICP_REFUNDED => t.icp_refunded_e8s = c.nat64(ty)?,
                TOP_UPS => t.top_ups = c.nat64(ty)?,
                CANISTERS_CREATED => t.canisters_created = c.nat64(ty)?,
                LAST_PURGED => t.last_purged_notification = c.nat64(ty)?,
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        Ok(t)
    }
}

impl ReadCandid for PendingTransfer {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const SUBACCOUNT: u32 = field("subaccount");
        const AMOUNT: u32 = field("amount_e8s");
        const CREATED_AT: u32 = field("created_at_time");
        const UNCONFIRMED: u32 = field("unconfirmed_attempts");
        const REFUND: u32 = field("refund");
        let (mut subaccount, mut amount_e8s, mut refund) = (None, None, None);
        let (mut created_at_time, mut unconfirmed_attempts) = (0, 0);
        c.record(ty, |c, hash, ty| {
            match hash {
                SUBACCOUNT => {
                    subaccount = Some(
                        <[u8; 32]>::try_from(c.blob(ty)?)
                            .or_else(|_| candid_reader::unexpected("a subaccount is 32 bytes"))?,
                    )
                }
                AMOUNT => amount_e8s = Some(c.nat64(ty)?),
                CREATED_AT => created_at_time = c.nat64(ty)?,
                UNCONFIRMED => unconfirmed_attempts = c.nat64(ty)?,
                REFUND => {
                    refund = c.opt(ty, |c, ty| Ok(serde_bytes::ByteBuf::from(c.blob(ty)?)))?
                }
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        Ok(PendingTransfer {
            subaccount: required(subaccount, "subaccount")?,
            amount_e8s: required(amount_e8s, "amount_e8s")?,
            created_at_time,
            unconfirmed_attempts,
            refund,
        })
    }
}

pub struct Cmc<D: Memory> {
    /// Empty until install sets it.
    config: StableCell<StoredCandid<Option<Config>>, VM<D>>,
    notifications: StableBTreeMap<u64, StoredCandid<NotificationStatus>, VM<D>>,
    rates: StableCell<StoredCandid<Option<Rates>>, VM<D>>,
    totals: StableCell<StoredCandid<Totals>, VM<D>>,
    limiter: StableCell<StoredCandid<Limiter>, VM<D>>,
    pending_burns: StableBTreeMap<u64, StoredCandid<PendingTransfer>, VM<D>>,
    refunds: StableBTreeMap<u64, StoredCandid<PendingTransfer>, VM<D>>,
    subnets: StableCell<Candid<Subnets>, VM<D>>,
    /// [`MAX_NOTIFICATIONS`]; smaller in tests.
    notification_limit: u64,
}

impl<D: Memory> Cmc<D> {
    pub fn open(manager: &MemoryManager<D>) -> Self {
        let memory = |id| manager.get(MemoryId::new(id));
        Self {
            config: StableCell::init(memory(0), StoredCandid(None)),
            notifications: StableBTreeMap::init(memory(1)),
            rates: StableCell::init(memory(2), StoredCandid(None)),
            totals: StableCell::init(memory(3), StoredCandid(Totals::default())),
            limiter: StableCell::init(memory(4), StoredCandid(Limiter::default())),
            pending_burns: StableBTreeMap::init(memory(5)),
            refunds: StableBTreeMap::init(memory(6)),
            subnets: StableCell::init(memory(7), Candid(Subnets::default())),
            notification_limit: MAX_NOTIFICATIONS,
        }
    }

    /// Installs the configuration: its rate, or the real CMC's default,
    /// and its purge horizon.
    pub fn install(&mut self, config: Config) {
        let rate = config
            .initial_rate
            .unwrap_or(DEFAULT_ICP_XDR_CONVERSION_RATE);
        self.rates.set(StoredCandid(Some(Rates::new(rate))));
        self.update_totals(|t| {
            t.last_purged_notification = t
                .last_purged_notification
                .max(config.last_purged_notification)
        });
        self.config.set(StoredCandid(Some(config)));
    }

    /// Applies an upgrade argument (see [`Config::upgraded`]); history and
    /// totals stay. A CMC installed without a rate by an earlier module
    /// takes the default one, as if installed now.
    pub fn upgrade(&mut self, payload: Option<CyclesCanisterInitPayload>) -> Result<(), String> {
        let config = self.config().upgraded(payload)?;
        self.config.set(StoredCandid(Some(config)));
        if self.rates.get().0.is_none() {
            let rates = Rates::new(DEFAULT_ICP_XDR_CONVERSION_RATE);
            self.rates.set(StoredCandid(Some(rates)));
        }
        Ok(())
    }

    /// Panics before install, which cannot happen in a canister: every
    /// endpoint runs after `canister_init`.
    pub fn config(&self) -> &Config {
        self.config
            .get()
            .0
            .as_ref()
            .expect("the canister is installed")
    }

    pub fn subnets(&self) -> &Subnets {
        &self.subnets.get().0
    }

    /// Changes the subnet lists if `f` accepts the change.
    pub fn update_subnets(
        &mut self,
        f: impl FnOnce(&mut Subnets) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut subnets = self.subnets.get().0.clone();
        f(&mut subnets)?;
        self.subnets.set(Candid(subnets));
        Ok(())
    }

    /// Panics before install, like [`Self::config`]: install and upgrade
    /// always leave rates.
    pub fn rates(&self) -> &Rates {
        self.rates
            .get()
            .0
            .as_ref()
            .expect("install and upgrade set the rates")
    }

    /// A rate from governance: positive, newer than the current one and
    /// not far ahead of the clock (see [`Rates::set`]).
    pub fn set_rate(
        &mut self,
        rate: nns_api::cmc::IcpXdrConversionRate,
        now_seconds: u64,
    ) -> Result<(), String> {
        let mut rates = self.rates().clone();
        rates.set(rate, now_seconds)?;
        self.rates.set(StoredCandid(Some(rates)));
        Ok(())
    }

    pub fn totals(&self) -> Totals {
        self.totals.get().0.clone()
    }

    pub fn update_totals(&mut self, f: impl FnOnce(&mut Totals)) {
        let mut totals = self.totals();
        f(&mut totals);
        self.totals.set(StoredCandid(totals));
    }

    /// Starts work on a block unless it is in flight, finished or too old.
    pub fn begin(&mut self, block_index: u64) -> Begin {
        if let Some(too_old) = self.too_old(block_index) {
            return too_old;
        }
        match self.notifications.get(&block_index).map(|c| c.0) {
            Some(NotificationStatus::Processing) if self.refunds.contains_key(&block_index) => {
                Begin::Refunding
            }
            Some(NotificationStatus::Processing) => Begin::Processing,
            Some(status) => Begin::Finished(status),
            None => {
                // Room is made first, so the purge never takes the block
                // begun here; a block it leaves below the horizon is too old.
                self.purge();
                if let Some(too_old) = self.too_old(block_index) {
                    return too_old;
                }
                self.notifications
                    .insert(block_index, StoredCandid(NotificationStatus::Processing));
                Begin::Started
            }
        }
    }

    /// As on the real CMC: a block at or below the purge horizon is too
    /// old, and the answer names the oldest block that is not.
    fn too_old(&self, block_index: u64) -> Option<Begin> {
        let last_purged = self.totals.get().0.last_purged_notification;
        (block_index <= last_purged).then(|| Begin::TooOld {
            oldest_notifiable: last_purged.saturating_add(1),
        })
    }

    pub fn finish(&mut self, block_index: u64, status: NotificationStatus) {
        self.notifications.insert(block_index, StoredCandid(status));
    }

    /// Forgets an unfinished block, so that a later notify can retry it;
    /// never one whose refund is under way.
    pub fn abandon(&mut self, block_index: u64) {
        if let Some(StoredCandid(NotificationStatus::Processing)) =
            self.notifications.get(&block_index)
            && !self.refunds.contains_key(&block_index)
        {
            self.notifications.remove(&block_index);
        }
    }

    pub fn status(&self, block_index: u64) -> Option<NotificationStatus> {
        self.notifications.get(&block_index).map(|c| c.0)
    }

    pub fn notifications(&self) -> u64 {
        self.notifications.len()
    }

    fn purge(&mut self) {
        for _ in 0..MAX_PURGED_PER_CALL {
            if self.notifications.len() < self.notification_limit {
                break;
            }
            // Even a block still in flight: below the horizon it is too
            // old for any other notify, and what its call records is purged
            // in turn.
            let Some(oldest) = self.notifications.first_key_value().map(|(k, _)| k) else {
                break;
            };
            self.notifications.remove(&oldest);
            self.update_totals(|t| {
                t.last_purged_notification = t.last_purged_notification.max(oldest)
            });
        }
    }

    pub fn limiter<R>(&mut self, f: impl FnOnce(&mut Limiter) -> R) -> R {
        let mut limiter = self.limiter.get().0.clone();
        let result = f(&mut limiter);
        self.limiter.set(StoredCandid(limiter));
        result
    }

    pub fn add_pending_burn(&mut self, block_index: u64, burn: PendingTransfer) {
        self.pending_burns.insert(block_index, StoredCandid(burn));
    }

    /// Whether a burn was pending (and is no longer).
    pub fn remove_pending_burn(&mut self, block_index: u64) -> bool {
        self.pending_burns.remove(&block_index).is_some()
    }

    pub fn pending_burn(&self, block_index: u64) -> Option<PendingTransfer> {
        self.pending_burns.get(&block_index).map(|c| c.0)
    }

    pub fn pending_burn_count(&self) -> u64 {
        self.pending_burns.len()
    }

    /// Up to `max` blocks with a burn pending, from block `from` on and
    /// then from the first: successive calls go round all of them.
    pub fn pending_burns_from(&self, from: u64, max: usize) -> Vec<u64> {
        round_robin(&self.pending_burns, from, max)
    }

    /// `refund.refund` is `Some`.
    pub fn add_refund(&mut self, block_index: u64, refund: PendingTransfer) {
        self.refunds.insert(block_index, StoredCandid(refund));
    }

    pub fn refund(&self, block_index: u64) -> Option<PendingTransfer> {
        self.refunds.get(&block_index).map(|c| c.0)
    }

    /// Records a refund the ledger made: the block's final status, its
    /// totals, the pending entry gone.
    pub fn refunded(&mut self, block_index: u64, status: NotificationStatus) {
        if let Some(refund) = self.refund(block_index) {
            self.refunds.remove(&block_index);
            self.update_totals(|t| t.icp_refunded_e8s += refund.amount_e8s);
            self.finish(block_index, status);
        }
    }

    /// Finishes a refund of nothing (see [`PendingTransfer::repriced`])
    /// with `status`; nothing is counted as refunded.
    pub fn refund_of_nothing(&mut self, block_index: u64, status: NotificationStatus) {
        if self.refund(block_index).is_some_and(|r| r.amount_e8s == 0) {
            self.refunds.remove(&block_index);
            self.finish(block_index, status);
        }
    }

    /// Whether an attempt at the block's refund is in flight or of unknown
    /// outcome.
    pub fn refund_attempt_counted(&self, block_index: u64) -> bool {
        self.refund(block_index)
            .is_some_and(|r| r.unconfirmed_attempts > 0)
    }

    pub fn refund_count(&self) -> u64 {
        self.refunds.len()
    }

    pub fn refunds_from(&self, from: u64, max: usize) -> Vec<u64> {
        round_robin(&self.refunds, from, max)
    }
}

fn round_robin<V: Storable, M: Memory>(
    map: &StableBTreeMap<u64, V, M>,
    from: u64,
    max: usize,
) -> Vec<u64> {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let mut keys: Vec<u64> = map
        .keys_range((Included(from), Unbounded))
        .take(max)
        .collect();
    if keys.len() < max {
        let more = max - keys.len();
        keys.extend(map.keys_range((Unbounded, Excluded(from))).take(more));
    }
    keys
}

thread_local! {
    static CMC: RefCell<Cmc<DefaultMemoryImpl>> = RefCell::new(Cmc::open(
        &MemoryManager::init(DefaultMemoryImpl::default()),
    ));
}

pub fn read<R>(f: impl FnOnce(&Cmc<DefaultMemoryImpl>) -> R) -> R {
    CMC.with(|c| f(&c.borrow()))
}

pub fn mutate<R>(f: impl FnOnce(&mut Cmc<DefaultMemoryImpl>) -> R) -> R {
    CMC.with(|c| f(&mut c.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use canister_common::candid_reader::decode_first;
    use nns_api::cmc::NotifyError;
    use nns_api::ledger::Tokens;

    #[test]
    fn only_a_lone_attempt_at_an_unchanged_transfer_renews_its_stamp() {
        let too_old = TransferError::TxTooOld {
            allowed_window_nanos: 0,
        };
        let sent = PendingTransfer::burn([1; 32], 50_000, 100);
        let mut p = sent.clone();
        p.after_refusal(&sent, &too_old, 900);
        assert_eq!(p.created_at_time, 900, "renewed");
        // A late refusal of the attempt with the old stamp changes nothing:
        // the transfer under the new stamp may have been made.
        p.after_refusal(&sent, &too_old, 950);
        assert_eq!(p.created_at_time, 900);
        // Another attempt counted (in flight, or of unknown outcome, e.g.
        // trapped after the ledger made it): no renewal.
        let mut q = sent.clone();
        q.unconfirmed_attempts = 1;
        let counted = q.clone();
        q.after_refusal(&sent, &too_old, 900);
        assert_eq!(q, counted);
        // Other refusals leave the stamp.
        let insufficient = TransferError::InsufficientFunds {
            balance: Tokens { e8s: 0 },
        };
        let before = p.clone();
        p.after_refusal(&before, &insufficient, 1_000);
        assert_eq!(p, before);
    }

    #[test]
    fn a_repriced_refund_moves_the_same_e8s() {
        let details = Refund {
            to: AccountIdentifier::new(&candid::Principal::anonymous(), None),
            fee_e8s: 10_000,
            answer: NotificationStatus::NotifiedTopUp(Err(NotifyError::Refunded {
                reason: "r".into(),
                block_index: None,
            })),
        };
        let refund = PendingTransfer::refund([9; 32], 90_000, 5, &details);
        let dearer = refund.repriced(30_000);
        assert_eq!(dearer.amount_e8s, 70_000);
        assert_eq!(dearer.details().unwrap().fee_e8s, 30_000);
        assert_eq!(dearer.details().unwrap().answer, details.answer);
        assert_eq!(dearer.created_at_time, 5);
        assert_eq!(refund.repriced(5_000).amount_e8s, 95_000);
        // A fee that would take it all leaves a refund of nothing.
        let consumed = refund.repriced(100_000);
        assert_eq!(consumed.amount_e8s, 0);
        assert_eq!(consumed.details().unwrap().fee_e8s, 100_000);
        assert_eq!(consumed.details().unwrap().answer, details.answer);
        // A burn is left as it is.
        let burn = PendingTransfer::burn([9; 32], 90_000, 5);
        assert_eq!(burn.repriced(1), burn);
    }

    #[test]
    fn totals_and_pending_burns_read_back_as_candid_wrote_them() {
        let totals = Totals {
            cycles_minted: u128::MAX,
            icp_burned_e8s: 1,
            icp_refunded_e8s: 2,
            top_ups: 3,
            canisters_created: 4,
            last_purged_notification: u64::MAX,
        };
        let bytes = candid::encode_one(&totals).unwrap();
        assert_eq!(decode_first(&bytes, Totals::read), Ok(totals));
        let burn = PendingTransfer {
            subaccount: [9; 32],
            amount_e8s: 123_456,
            created_at_time: u64::MAX,
            unconfirmed_attempts: 2,
            refund: None,
        };
        let details = Refund {
            to: AccountIdentifier::new(&candid::Principal::anonymous(), None),
            fee_e8s: 10_000,
            answer: NotificationStatus::NotifiedCreateCanister(Err(NotifyError::Refunded {
                reason: "no such canister".into(),
                block_index: None,
            })),
        };
        let refund = PendingTransfer::refund([9; 32], 123_456, 5, &details);
        assert_eq!(refund.details(), Some(details));
        assert_eq!(burn.details(), None);
        for pending in [burn, refund] {
            let bytes = candid::encode_one(&pending).unwrap();
            assert_eq!(decode_first(&bytes, PendingTransfer::read), Ok(pending));
        }
        // A burn stored before stamps existed reads with none.
        #[derive(candid::CandidType)]
        struct OldBurn {
            subaccount: Vec<u8>,
            amount_e8s: u64,
        }
        let old = candid::encode_one(OldBurn {
            subaccount: vec![1; 32],
            amount_e8s: 5,
        })
        .unwrap();
        assert_eq!(
            decode_first(&old, PendingTransfer::read),
            Ok(PendingTransfer::burn([1; 32], 5, 0))
        );
    }

    fn cmc() -> Cmc<DefaultMemoryImpl> {
        let mut cmc = Cmc::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        cmc.install(Config::from_init(None).unwrap());
        cmc
    }

    #[test]
    fn a_block_is_processed_once_and_its_result_kept() {
        let mut cmc = cmc();
        assert_eq!(cmc.begin(7), Begin::Started);
        assert_eq!(cmc.begin(7), Begin::Processing);
        let done = NotificationStatus::NotifiedTopUp(Ok(5u8.into()));
        cmc.finish(7, done.clone());
        assert_eq!(cmc.begin(7), Begin::Finished(done.clone()));
        // Abandoning only forgets unfinished work.
        cmc.abandon(7);
        assert_eq!(cmc.status(7), Some(done));
        assert_eq!(cmc.begin(8), Begin::Started);
        cmc.abandon(8);
        assert_eq!(cmc.begin(8), Begin::Started);
    }

    #[test]
    fn a_block_used_for_one_operation_cannot_serve_another() {
        let top_up = NotificationStatus::NotifiedTopUp(Ok(5u8.into()));
        assert!(matches!(
            top_up.create_canister_result(),
            Err(NotifyError::InvalidTransaction(_))
        ));
    }

    #[test]
    fn retries_take_turns_over_every_pending_transfer() {
        let mut cmc = cmc();
        for block in 0..120 {
            cmc.add_pending_burn(block * 3, PendingTransfer::burn([1; 32], 10_000, 1));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut next = 0;
        for _ in 0..3 {
            let batch = cmc.pending_burns_from(next, 50);
            assert_eq!(batch.len(), 50);
            next = batch.last().unwrap() + 1;
            seen.extend(batch);
        }
        assert_eq!(seen.len(), 120, "three runs of 50 reach all 120");
    }

    #[test]
    fn a_block_with_a_refund_pending_is_neither_forgotten_nor_held() {
        let mut cmc = cmc();
        assert_eq!(cmc.begin(9), Begin::Started);
        let details = Refund {
            to: AccountIdentifier::new(&candid::Principal::anonymous(), None),
            fee_e8s: 10_000,
            answer: NotificationStatus::Processing,
        };
        let refund = PendingTransfer::refund([2; 32], 50_000, 1, &details);
        cmc.add_refund(9, refund);
        cmc.abandon(9);
        assert_eq!(cmc.begin(9), Begin::Refunding);
        let done = NotificationStatus::NotifiedTopUp(Err(NotifyError::Refunded {
            reason: "no such canister".into(),
            block_index: Some(4),
        }));
        cmc.refunded(9, done.clone());
        assert_eq!(cmc.begin(9), Begin::Finished(done));
        assert_eq!(cmc.totals().icp_refunded_e8s, 50_000);
        assert_eq!(cmc.refund_count(), 0);
    }

    #[test]
    fn the_purge_makes_room_first_and_never_takes_the_block_begun() {
        let mut cmc = cmc();
        cmc.notification_limit = 3;
        let done = NotificationStatus::NotifiedTopUp(Ok(5u8.into()));
        for block in [10, 11, 12] {
            assert_eq!(cmc.begin(block), Begin::Started);
            cmc.finish(block, done.clone());
        }
        // An older block than all kept ones: the purge takes 10 to make
        // room, which puts 5 below the horizon, so it is refused rather
        // than begun and then purged (it would be notifiable again).
        assert_eq!(
            cmc.begin(5),
            Begin::TooOld {
                oldest_notifiable: 11
            }
        );
        assert_eq!(cmc.status(5), None);
        // Newer ones are begun and kept; the oldest makes room when full.
        assert_eq!(cmc.begin(13), Begin::Started);
        assert_eq!(cmc.status(11), Some(done));
        assert_eq!(cmc.begin(14), Begin::Started);
        assert_eq!(cmc.status(14), Some(NotificationStatus::Processing));
        assert_eq!(cmc.status(11), None);
        assert_eq!(cmc.notifications(), 3);
        assert_eq!(
            cmc.begin(11),
            Begin::TooOld {
                oldest_notifiable: 12
            }
        );
    }

    #[test]
    fn blocks_at_or_below_the_purge_horizon_are_too_old() {
        let mut cmc = Cmc::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        cmc.install(
            Config::from_init(Some(CyclesCanisterInitPayload {
                last_purged_notification: Some(100),
                ..Default::default()
            }))
            .unwrap(),
        );
        let too_old = Begin::TooOld {
            oldest_notifiable: 101,
        };
        assert_eq!(cmc.begin(0), too_old);
        assert_eq!(cmc.begin(100), too_old);
        assert_eq!(cmc.begin(101), Begin::Started);
        // With no horizon set, block 0 is at it, as on the real CMC.
        assert_eq!(
            self::cmc().begin(0),
            Begin::TooOld {
                oldest_notifiable: 1
            }
        );
        assert_eq!(self::cmc().begin(1), Begin::Started);
    }

    #[test]
    fn install_sets_the_given_rate_or_the_default() {
        assert_eq!(cmc().rates(), &Rates::new(DEFAULT_ICP_XDR_CONVERSION_RATE));
        let given = nns_api::cmc::IcpXdrConversionRate {
            timestamp_seconds: 1_700_000_000,
            xdr_permyriad_per_icp: 35_000,
        };
        let mut cmc = Cmc::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        cmc.install(
            Config::from_init(Some(CyclesCanisterInitPayload {
                exchange_rate: Some(given),
                ..Default::default()
            }))
            .unwrap(),
        );
        assert_eq!(cmc.rates(), &Rates::new(given));
    }

    #[test]
    fn an_upgrade_keeps_the_wiring_and_history_and_gives_a_rateless_cmc_the_default() {
        let memory = DefaultMemoryImpl::default();
        let mut cmc = Cmc::open(&MemoryManager::init(memory.clone()));
        cmc.install(Config::from_init(None).unwrap());
        cmc.finish(7, NotificationStatus::NotifiedTopUp(Ok(5u8.into())));
        let installed = cmc.config().clone();
        // As an earlier module left a CMC installed without a rate.
        cmc.rates.set(StoredCandid(None));
        drop(cmc);
        let mut cmc = Cmc::open(&MemoryManager::init(memory));
        let payload = CyclesCanisterInitPayload {
            ledger_canister_id: Some(candid::Principal::anonymous()),
            last_purged_notification: Some(1_000),
            cycles_limit_per_hour: Some(candid::Nat::from(9u8)),
            ..Default::default()
        };
        cmc.upgrade(Some(payload)).unwrap();
        assert_eq!(
            cmc.config().ledger_canister_id,
            installed.ledger_canister_id
        );
        assert_eq!(cmc.config().cycles_limit_per_hour, 9);
        assert_eq!(cmc.totals().last_purged_notification, 0);
        assert!(matches!(cmc.begin(7), Begin::Finished(_)));
        assert_eq!(cmc.rates(), &Rates::new(DEFAULT_ICP_XDR_CONVERSION_RATE));
        // A rate set stays across the next upgrade.
        let rate = nns_api::cmc::IcpXdrConversionRate {
            timestamp_seconds: 1_700_000_000,
            xdr_permyriad_per_icp: 35_000,
        };
        cmc.set_rate(rate, 1_700_000_000).unwrap();
        cmc.upgrade(None).unwrap();
        assert_eq!(cmc.rates().current, rate);
    }
}
