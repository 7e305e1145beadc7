//! The CMC's state, all in stable memory.
//!
//! Stable memory layout (one `MemoryId` per structure; ids are never reused):
//!
//! ```text
//! MemoryManager
//! ├── 0  config         StableCell  Config
//! ├── 1  notifications  BTreeMap    block index → NotificationStatus
//! ├── 2  rates          StableCell  current rate and daily history (30 days)
//! ├── 3  totals         StableCell  cycles minted, ICP burned, purge horizon
//! ├── 4  limiter        StableCell  cycles minted per minute, last hour
//! └── 5  pending burns  BTreeMap    block index → ICP still to burn
//! ```

use crate::config::Config;
use crate::limiter::Limiter;
use crate::notifications::{Begin, NotificationStatus};
use crate::rates::Rates;
use candid::{CandidType, Deserialize};
use canister_common::StoredCandid;
use canister_common::candid_reader::{self, Cursor, ReadCandid, Type, field, required};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableBTreeMap, StableCell};
use nns_api::Subaccount;
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
    /// Blocks at or below this index are too old to be notified.
    pub last_purged_notification: u64,
}

/// ICP left in one of the CMC's subaccounts that must still be burned
/// (the burn call failed; it is retried).
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingBurn {
    pub subaccount: Subaccount,
    pub amount_e8s: u64,
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

impl ReadCandid for PendingBurn {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const SUBACCOUNT: u32 = field("subaccount");
        const AMOUNT: u32 = field("amount_e8s");
        let (mut subaccount, mut amount_e8s) = (None, None);
        c.record(ty, |c, hash, ty| {
            match hash {
                SUBACCOUNT => {
                    let bytes = c.blob(ty)?;
                    subaccount = Some(
                        <[u8; 32]>::try_from(bytes)
                            .or_else(|_| candid_reader::unexpected("a subaccount is 32 bytes"))?,
                    );
                }
                AMOUNT => amount_e8s = Some(c.nat64(ty)?),
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        Ok(PendingBurn {
            subaccount: required(subaccount, "subaccount")?,
            amount_e8s: required(amount_e8s, "amount_e8s")?,
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
    pending_burns: StableBTreeMap<u64, StoredCandid<PendingBurn>, VM<D>>,
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
        }
    }

    /// Install or replace the configuration (an upgrade argument replaces
    /// it, as on the real CMC); history and totals stay.
    pub fn configure(&mut self, config: Config) {
        if self.rates.get().0.is_none()
            && let Some(rate) = config.initial_rate
        {
            self.rates.set(StoredCandid(Some(Rates::new(rate))));
        }
        let mut totals = self.totals();
        totals.last_purged_notification = totals
            .last_purged_notification
            .max(config.last_purged_notification);
        self.totals.set(StoredCandid(totals));
        self.config.set(StoredCandid(Some(config)));
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

    pub fn rates(&self) -> Option<&Rates> {
        self.rates.get().0.as_ref()
    }

    pub fn set_rate(&mut self, rate: nns_api::cmc::IcpXdrConversionRate) -> Result<(), String> {
        let mut rates = match self.rates() {
            Some(rates) => rates.clone(),
            None => {
                let rates = Rates::new(rate);
                self.rates.set(StoredCandid(Some(rates)));
                return Ok(());
            }
        };
        rates.set(rate)?;
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
        let last_purged = self.totals.get().0.last_purged_notification;
        if block_index <= last_purged && last_purged > 0 {
            return Begin::TooOld { last_purged };
        }
        match self.notifications.get(&block_index).map(|c| c.0) {
            Some(NotificationStatus::Processing) => Begin::Processing,
            Some(status) => Begin::Finished(status),
            None => {
                self.notifications
                    .insert(block_index, StoredCandid(NotificationStatus::Processing));
                self.purge();
                Begin::Started
            }
        }
    }

    pub fn finish(&mut self, block_index: u64, status: NotificationStatus) {
        self.notifications.insert(block_index, StoredCandid(status));
    }

    /// Forgets an unfinished block, so that a later notify can retry it.
    pub fn abandon(&mut self, block_index: u64) {
        if let Some(StoredCandid(NotificationStatus::Processing)) =
            self.notifications.get(&block_index)
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
            if self.notifications.len() <= MAX_NOTIFICATIONS {
                break;
            }
            let Some((oldest, status)) = self.notifications.first_key_value() else {
                break;
            };
            if status.0 == NotificationStatus::Processing {
                break;
            }
            self.notifications.remove(&oldest);
            self.update_totals(|t| t.last_purged_notification = oldest);
        }
    }

    pub fn limiter(
        &mut self,
        f: impl FnOnce(&mut Limiter) -> Result<(), u128>,
    ) -> Result<(), u128> {
        let mut limiter = self.limiter.get().0.clone();
        let result = f(&mut limiter);
        self.limiter.set(StoredCandid(limiter));
        result
    }

    pub fn add_pending_burn(&mut self, block_index: u64, burn: PendingBurn) {
        self.pending_burns.insert(block_index, StoredCandid(burn));
    }

    pub fn remove_pending_burn(&mut self, block_index: u64) {
        self.pending_burns.remove(&block_index);
    }

    pub fn pending_burn(&self, block_index: u64) -> Option<PendingBurn> {
        self.pending_burns.get(&block_index).map(|c| c.0)
    }

    pub fn pending_burn_count(&self) -> u64 {
        self.pending_burns.len()
    }

    pub fn pending_burns(&self, max: usize) -> Vec<(u64, PendingBurn)> {
        self.pending_burns
            .iter()
            .take(max)
            .map(|e| {
                let (k, v) = e.into_pair();
                (k, v.0)
            })
            .collect()
    }
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
        let burn = PendingBurn {
            subaccount: [9; 32],
            amount_e8s: 123_456,
        };
        let bytes = candid::encode_one(burn).unwrap();
        assert_eq!(decode_first(&bytes, PendingBurn::read), Ok(burn));
    }

    fn cmc() -> Cmc<DefaultMemoryImpl> {
        let mut cmc = Cmc::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        cmc.configure(Config::from_init(None).unwrap());
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
    fn blocks_below_the_purge_horizon_are_too_old() {
        let mut cmc = Cmc::open(&MemoryManager::init(DefaultMemoryImpl::default()));
        cmc.configure(
            Config::from_init(Some(nns_api::cmc::CyclesCanisterInitPayload {
                last_purged_notification: Some(100),
                ..Default::default()
            }))
            .unwrap(),
        );
        assert_eq!(cmc.begin(100), Begin::TooOld { last_purged: 100 });
        assert_eq!(cmc.begin(101), Begin::Started);
    }
}
