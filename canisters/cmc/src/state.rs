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
use canister_common::{Candid, StableConfig};
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

pub struct Cmc<D: Memory> {
    config: StableConfig<Config, VM<D>>,
    notifications: StableBTreeMap<u64, Candid<NotificationStatus>, VM<D>>,
    rates: StableCell<Candid<Option<Rates>>, VM<D>>,
    totals: StableCell<Candid<Totals>, VM<D>>,
    limiter: StableCell<Candid<Limiter>, VM<D>>,
    pending_burns: StableBTreeMap<u64, Candid<PendingBurn>, VM<D>>,
}

impl<D: Memory> Cmc<D> {
    pub fn open(manager: &MemoryManager<D>) -> Self {
        let memory = |id| manager.get(MemoryId::new(id));
        Self {
            config: StableConfig::init(memory(0)),
            notifications: StableBTreeMap::init(memory(1)),
            rates: StableCell::init(memory(2), Candid(None)),
            totals: StableCell::init(memory(3), Candid(Totals::default())),
            limiter: StableCell::init(memory(4), Candid(Limiter::default())),
            pending_burns: StableBTreeMap::init(memory(5)),
        }
    }

    /// Install or replace the configuration (an upgrade argument replaces
    /// it, as on the real CMC); history and totals stay.
    pub fn configure(&mut self, config: Config) {
        if self.rates.get().0.is_none()
            && let Some(rate) = config.initial_rate
        {
            self.rates.set(Candid(Some(Rates::new(rate))));
        }
        let mut totals = self.totals();
        totals.last_purged_notification = totals
            .last_purged_notification
            .max(config.last_purged_notification);
        self.totals.set(Candid(totals));
        self.config.set(config);
    }

    pub fn config(&self) -> &Config {
        self.config.get()
    }

    pub fn rates(&self) -> Option<&Rates> {
        self.rates.get().0.as_ref()
    }

    pub fn set_rate(&mut self, rate: nns_api::cmc::IcpXdrConversionRate) -> Result<(), String> {
        let mut rates = match self.rates() {
            Some(rates) => rates.clone(),
            None => {
                let rates = Rates::new(rate);
                self.rates.set(Candid(Some(rates)));
                return Ok(());
            }
        };
        rates.set(rate)?;
        self.rates.set(Candid(Some(rates)));
        Ok(())
    }

    pub fn totals(&self) -> Totals {
        self.totals.get().0.clone()
    }

    pub fn update_totals(&mut self, f: impl FnOnce(&mut Totals)) {
        let mut totals = self.totals();
        f(&mut totals);
        self.totals.set(Candid(totals));
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
                    .insert(block_index, Candid(NotificationStatus::Processing));
                self.purge();
                Begin::Started
            }
        }
    }

    pub fn finish(&mut self, block_index: u64, status: NotificationStatus) {
        self.notifications.insert(block_index, Candid(status));
    }

    /// Forgets an unfinished block, so that a later notify can retry it.
    pub fn abandon(&mut self, block_index: u64) {
        if let Some(Candid(NotificationStatus::Processing)) = self.notifications.get(&block_index) {
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
        self.limiter.set(Candid(limiter));
        result
    }

    pub fn add_pending_burn(&mut self, block_index: u64, burn: PendingBurn) {
        self.pending_burns.insert(block_index, Candid(burn));
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
    use nns_api::cmc::NotifyError;

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
