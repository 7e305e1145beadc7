//! The cycles ledger's configuration: what the install argument sets and
//! upgrades change. The fee, the token and the transaction window are the
//! real cycles ledger's constants.

use candid::{CandidType, Deserialize, Principal};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use ledger_core::icrc::IcrcConfig;
use ledger_core::icrc::service::{
    ICRC1_URL, ICRC2_URL, ICRC3_URL, ICRC103_URL, ICRC106_URL, IcrcToken, standard_metadata,
};
use nns_api::cycles_ledger::{
    ChangeIndexId, DECIMALS, FEE, InitArgs, MAX_TAKE_ALLOWANCES, TOKEN_NAME, TOKEN_SYMBOL,
    UpgradeArgs,
};

/// The logo the real cycles ledger advertises.
const TOKEN_LOGO: &str = include_str!("logo.txt");

/// `GenericError` code of an account the ledger refuses (the real one's).
pub const DENIED_OWNER: u64 = 100_001;

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

impl IcrcToken for Config {
    fn token_name(&self) -> String {
        TOKEN_NAME.into()
    }

    fn token_symbol(&self) -> String {
        TOKEN_SYMBOL.into()
    }

    fn decimals(&self) -> u8 {
        DECIMALS
    }

    fn metadata(&self) -> Vec<(String, MetadataValue)> {
        let mut entries = standard_metadata(self);
        entries.push((
            "dfn:max_blocks_per_request".into(),
            MetadataValue::Nat(self.max_blocks_per_request.into()),
        ));
        entries.push((
            "icrc1:logo".into(),
            MetadataValue::Text(TOKEN_LOGO.trim().into()),
        ));
        if let Some(index) = self.index_id {
            entries.push((
                "icrc106:index_principal".into(),
                MetadataValue::Text(index.to_text()),
            ));
            entries.push((
                "dfn:index_id".into(),
                MetadataValue::Blob(index.as_slice().to_vec().into()),
            ));
        }
        entries
    }

    fn index_principal(&self) -> Option<Principal> {
        self.index_id
    }

    fn max_blocks_per_request(&self) -> u64 {
        self.max_blocks_per_request
    }

    fn max_take_allowances(&self) -> u64 {
        MAX_TAKE_ALLOWANCES
    }

    fn supported_standards(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("ICRC-1", ICRC1_URL),
            ("ICRC-2", ICRC2_URL),
            ("ICRC-3", ICRC3_URL),
            ("ICRC-103", ICRC103_URL),
            ("ICRC-106", ICRC106_URL),
        ]
    }

    /// The management canister cannot hold or move cycles here; the
    /// anonymous principal can, as on the real ledger.
    fn refused_owner(&self, owner: &Principal) -> Option<u64> {
        (*owner == Principal::management_canister()).then_some(DENIED_OWNER)
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
