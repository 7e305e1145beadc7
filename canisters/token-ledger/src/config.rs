//! The token's configuration: what the install argument sets and upgrades
//! change, checked as DFINITY's ICRC-1 ledger checks it, within what this
//! ledger supports (every block kept, no fee collector, memos of at most
//! the core's 32 bytes).

use candid::{CandidType, Deserialize, Nat, Principal};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;
use ledger_core::icrc::IcrcConfig;
use ledger_core::icrc::service::{
    ICRC1_URL, ICRC2_URL, ICRC3_URL, ICRC10_URL, ICRC103_URL, ICRC106_URL, IcrcToken,
    standard_metadata,
};
use nns_api::token_ledger::{
    ChangeFeeCollector, DEFAULT_DECIMALS, InitArgs, MAX_BLOCKS_PER_REQUEST, MAX_TAKE_ALLOWANCES,
    UpgradeArgs,
};

/// 24 hours and the permitted drift, as DFINITY's ledger.
pub const TRANSACTION_WINDOW_NANOS: u64 =
    24 * 60 * 60 * 1_000_000_000 + ledger_core::PERMITTED_DRIFT_NANOS;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub token_name: String,
    pub token_symbol: String,
    pub decimals: u8,
    pub transfer_fee: u64,
    pub minting_account: Account,
    /// Entries of the install argument's `metadata` other than the
    /// standard ones, which the ledger states itself.
    pub metadata: Vec<(String, MetadataValue)>,
    pub icrc2: bool,
    pub index_principal: Option<Principal>,
}

impl IcrcConfig for Config {
    type Amount = u64;

    fn minting_account(&self) -> Option<Account> {
        Some(self.minting_account)
    }

    fn fee(&self) -> u64 {
        self.transfer_fee
    }

    fn transaction_window_nanos(&self) -> u64 {
        TRANSACTION_WINDOW_NANOS
    }

    fn icrc2_enabled(&self) -> bool {
        self.icrc2
    }
}

impl IcrcToken for Config {
    fn token_name(&self) -> String {
        self.token_name.clone()
    }

    fn token_symbol(&self) -> String {
        self.token_symbol.clone()
    }

    fn decimals(&self) -> u8 {
        self.decimals
    }

    fn metadata(&self) -> Vec<(String, MetadataValue)> {
        let mut entries = standard_metadata(self);
        entries.extend(self.metadata.iter().cloned());
        if let Some(index) = self.index_principal {
            entries.push((
                "icrc106:index_principal".into(),
                MetadataValue::Text(index.to_text()),
            ));
        }
        entries
    }

    fn index_principal(&self) -> Option<Principal> {
        self.index_principal
    }

    fn max_blocks_per_request(&self) -> u64 {
        MAX_BLOCKS_PER_REQUEST
    }

    fn max_take_allowances(&self) -> u64 {
        MAX_TAKE_ALLOWANCES
    }

    fn supported_standards(&self) -> Vec<(&'static str, &'static str)> {
        let mut standards = vec![("ICRC-1", ICRC1_URL)];
        if self.icrc2 {
            standards.push(("ICRC-2", ICRC2_URL));
        }
        standards.extend([
            ("ICRC-3", ICRC3_URL),
            ("ICRC-10", ICRC10_URL),
            ("ICRC-103", ICRC103_URL),
            ("ICRC-106", ICRC106_URL),
        ]);
        standards
    }
}

/// Keys the ledger states itself; the install argument may not set them.
const STANDARD_KEYS: [&str; 6] = [
    "icrc1:decimals",
    "icrc1:name",
    "icrc1:symbol",
    "icrc1:fee",
    "icrc1:max_memo_length",
    "icrc106:index_principal",
];

fn amount_u64(n: &Nat, what: &str) -> Result<u64, String> {
    u64::try_from(&n.0).map_err(|_| format!("{what} {n} does not fit in 64 bits"))
}

fn check_memo_length(max_memo_length: Option<u16>) -> Result<(), String> {
    match max_memo_length {
        Some(n) if usize::from(n) != ledger_core::MAX_MEMO_BYTES => Err(format!(
            "max_memo_length {n} is not supported: memos are at most {} bytes on this ledger",
            ledger_core::MAX_MEMO_BYTES
        )),
        _ => Ok(()),
    }
}

fn check_metadata(metadata: &[(String, MetadataValue)]) -> Result<(), String> {
    match metadata
        .iter()
        .find(|(key, _)| STANDARD_KEYS.contains(&key.as_str()))
    {
        Some((key, _)) => Err(format!(
            "metadata key {key} is set by the ledger itself and cannot be given"
        )),
        None => Ok(()),
    }
}

impl Config {
    /// The configuration and initial balances an install argument asks for.
    pub fn from_init(args: &InitArgs) -> Result<(Self, Vec<(Account, u64)>), String> {
        if args.fee_collector_account.is_some() {
            return Err("fee_collector_account is not supported by this ledger".into());
        }
        check_memo_length(args.max_memo_length)?;
        check_metadata(&args.metadata)?;
        let config = Self {
            token_name: args.token_name.clone(),
            token_symbol: args.token_symbol.clone(),
            decimals: args.decimals.unwrap_or(DEFAULT_DECIMALS),
            transfer_fee: amount_u64(&args.transfer_fee, "transfer_fee")?,
            minting_account: args.minting_account,
            metadata: args.metadata.clone(),
            icrc2: args.feature_flags.is_none_or(|f| f.icrc2),
            index_principal: args.index_principal,
        };
        let balances = args
            .initial_balances
            .iter()
            .map(|(account, amount)| Ok((*account, amount_u64(amount, "initial balance")?)))
            .collect::<Result<Vec<_>, String>>()?;
        let mut supply = 0u64;
        for (_, amount) in &balances {
            supply = supply
                .checked_add(*amount)
                .ok_or("the initial balances add up to more than 2^64 - 1")?;
        }
        Ok((config, balances))
    }

    /// Sets each field the argument names; refuses what this ledger does
    /// not support, changing nothing then.
    pub fn apply_upgrade(&mut self, args: UpgradeArgs) -> Result<(), String> {
        if let Some(ChangeFeeCollector::SetTo(_)) = args.change_fee_collector {
            return Err("a fee collector is not supported by this ledger".into());
        }
        check_memo_length(args.max_memo_length)?;
        if let Some(metadata) = &args.metadata {
            check_metadata(metadata)?;
        }
        let transfer_fee = args
            .transfer_fee
            .as_ref()
            .map(|fee| amount_u64(fee, "transfer_fee"))
            .transpose()?;
        if let Some(metadata) = args.metadata {
            self.metadata = metadata;
        }
        if let Some(symbol) = args.token_symbol {
            self.token_symbol = symbol;
        }
        if let Some(name) = args.token_name {
            self.token_name = name;
        }
        if let Some(fee) = transfer_fee {
            self.transfer_fee = fee;
        }
        if let Some(flags) = args.feature_flags {
            self.icrc2 = flags.icrc2;
        }
        if let Some(index) = args.index_principal {
            self.index_principal = Some(index);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nns_api::token_ledger::FeatureFlags;

    fn account(n: u8) -> Account {
        Account::from(Principal::from_slice(&[n]))
    }

    fn init() -> InitArgs {
        InitArgs::new(
            "Project",
            "PRJ",
            10_000,
            account(1),
            vec![(account(2), 500), (account(3), 7)],
            Principal::anonymous(),
        )
    }

    #[test]
    fn an_install_argument_gives_the_token_and_its_balances() {
        let (config, balances) = Config::from_init(&init()).unwrap();
        assert_eq!(config.decimals, 8);
        assert_eq!(config.transfer_fee, 10_000);
        assert!(config.icrc2);
        assert_eq!(config.minting_account(), Some(account(1)));
        assert_eq!(balances, vec![(account(2), 500), (account(3), 7)]);
        let names: Vec<_> = config.metadata().into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, STANDARD_KEYS[..5]);
    }

    #[test]
    fn what_the_ledger_does_not_support_is_refused_at_install() {
        let mut args = init();
        args.fee_collector_account = Some(account(9));
        assert!(
            Config::from_init(&args)
                .unwrap_err()
                .contains("fee_collector")
        );
        let mut args = init();
        args.max_memo_length = Some(64);
        assert!(
            Config::from_init(&args)
                .unwrap_err()
                .contains("max_memo_length")
        );
        let mut args = init();
        args.metadata = vec![("icrc1:fee".into(), MetadataValue::Nat(1u8.into()))];
        assert!(Config::from_init(&args).unwrap_err().contains("icrc1:fee"));
        let mut args = init();
        args.initial_balances = vec![
            (account(2), Nat::from(u64::MAX)),
            (account(3), Nat::from(1u8)),
        ];
        assert!(Config::from_init(&args).unwrap_err().contains("2^64"));
        let mut args = init();
        args.transfer_fee = Nat::from(u128::MAX);
        assert!(Config::from_init(&args).unwrap_err().contains("64 bits"));
    }

    #[test]
    fn an_upgrade_changes_only_what_it_names_and_nothing_when_refused() {
        let (mut config, _) = Config::from_init(&init()).unwrap();
        let before = config.clone();
        config.apply_upgrade(UpgradeArgs::default()).unwrap();
        assert_eq!(config, before);
        let refused = UpgradeArgs {
            token_symbol: Some("NEW".into()),
            change_fee_collector: Some(ChangeFeeCollector::SetTo(account(5))),
            ..UpgradeArgs::default()
        };
        assert!(config.apply_upgrade(refused).is_err());
        assert_eq!(config, before);
        config
            .apply_upgrade(UpgradeArgs {
                token_symbol: Some("NEW".into()),
                transfer_fee: Some(Nat::from(20_000u32)),
                feature_flags: Some(FeatureFlags { icrc2: false }),
                ..UpgradeArgs::default()
            })
            .unwrap();
        assert_eq!(
            (
                config.token_symbol.as_str(),
                config.transfer_fee,
                config.icrc2
            ),
            ("NEW", 20_000, false)
        );
        assert!(
            !config
                .supported_standards()
                .iter()
                .any(|(n, _)| *n == "ICRC-2")
        );
    }
}
