//! The cycles ledger's configuration: what the install argument sets and
//! upgrades change. The fee, the token and the transaction window are the
//! real cycles ledger's constants.

use candid::{CandidType, Deserialize, Principal};
use icrc_ledger_types::icrc1::account::Account;
use ledger_core::icrc::IcrcConfig;
use nns_api::cycles_ledger::{ChangeIndexId, FEE, InitArgs, UpgradeArgs};

/// 24 hours and the permitted drift: the real cycles ledger refuses a
/// transaction as too old only once `created_at_time + 24 h + 60 s < now`.
pub const TRANSACTION_WINDOW_NANOS: u64 =
    24 * 60 * 60 * 1_000_000_000 + ledger_core::PERMITTED_DRIFT_NANOS;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub max_blocks_per_request: u64,
    pub index_id: Option<Principal>,
}

impl IcrcConfig for Config {
    type Amount = u128;

    /// None: cycles are minted by deposits and burned by withdrawals and
    /// canister creations, never by transfers.
    fn minting_account(&self) -> Option<Account> {
        None
    }

    fn fee(&self) -> u128 {
        FEE
    }

    fn transaction_window_nanos(&self) -> u64 {
        TRANSACTION_WINDOW_NANOS
    }

    /// Every mint records the fee, as the real ledger's (whose block
    /// decoder requires it).
    fn recorded_mint_fee(&self) -> Option<u128> {
        Some(FEE)
    }
}

impl Config {
    pub fn from_init(args: &InitArgs) -> Self {
        Self {
            max_blocks_per_request: args.max_blocks_per_request,
            index_id: args.index_id,
        }
    }

    /// Sets each field the argument names.
    pub fn apply_upgrade(&mut self, args: UpgradeArgs) {
        if let Some(max) = args.max_blocks_per_request {
            self.max_blocks_per_request = max;
        }
        match args.change_index_id {
            None => {}
            Some(ChangeIndexId::Unset) => self.index_id = None,
            Some(ChangeIndexId::SetTo(id)) => self.index_id = Some(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_changes_only_what_it_names() {
        let index = Principal::from_slice(&[1]);
        let mut config = Config {
            max_blocks_per_request: 100,
            index_id: Some(index),
        };
        config.apply_upgrade(UpgradeArgs::default());
        assert_eq!(config.max_blocks_per_request, 100);
        assert_eq!(config.index_id, Some(index));
        config.apply_upgrade(UpgradeArgs {
            max_blocks_per_request: Some(7),
            change_index_id: Some(ChangeIndexId::Unset),
        });
        assert_eq!((config.max_blocks_per_request, config.index_id), (7, None));
    }
}
