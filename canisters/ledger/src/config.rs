//! The ledger's configuration: validated from the install argument, kept in
//! stable memory, amended by upgrade arguments.

use candid::{CandidType, Deserialize};
use icrc_ledger_types::icrc1::account::Account;
use nns_api::AccountIdentifier;
use nns_api::ledger::{
    DEFAULT_TRANSACTION_WINDOW, DEFAULT_TRANSFER_FEE, InitArgs, Tokens, UpgradeArgs,
};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub minting_account: AccountIdentifier,
    pub icrc1_minting_account: Option<Account>,
    pub transfer_fee: Tokens,
    pub token_symbol: String,
    pub token_name: String,
    pub transaction_window_nanos: u64,
    pub icrc2_enabled: bool,
}

impl Config {
    pub fn from_init(args: InitArgs) -> Result<Self, String> {
        let minting_account = AccountIdentifier::from_hex(&args.minting_account)
            .map_err(|e| format!("minting_account: {e}"))?;
        if let Some(account) = &args.icrc1_minting_account {
            let derived = AccountIdentifier::new(&account.owner, account.subaccount.as_ref());
            if derived != minting_account {
                return Err(format!(
                    "icrc1_minting_account {account} is not the account {} named by minting_account",
                    derived
                ));
            }
        }
        let transaction_window_nanos = u64::try_from(
            args.transaction_window
                .unwrap_or(DEFAULT_TRANSACTION_WINDOW)
                .as_nanos(),
        )
        .map_err(|_| "transaction_window is too long".to_string())?;
        Ok(Self {
            minting_account,
            icrc1_minting_account: args.icrc1_minting_account,
            transfer_fee: args.transfer_fee.unwrap_or(DEFAULT_TRANSFER_FEE),
            token_symbol: args.token_symbol.unwrap_or_else(|| "ICP".to_string()),
            token_name: args
                .token_name
                .unwrap_or_else(|| "Internet Computer".to_string()),
            transaction_window_nanos,
            icrc2_enabled: args.feature_flags.is_none_or(|flags| flags.icrc2),
        })
    }

    /// Parses one of `initial_values`; each becomes a mint block at install.
    pub fn initial_balance(hex: &str, tokens: Tokens) -> Result<(AccountIdentifier, u64), String> {
        AccountIdentifier::from_hex(hex)
            .map(|account| (account, tokens.e8s))
            .map_err(|e| format!("initial_values: account {hex:?}: {e}"))
    }

    /// Applies an upgrade's arguments; an `icrc1_minting_account` that is
    /// not the minting account is refused, as by the real ledger.
    pub fn apply_upgrade(&mut self, args: UpgradeArgs) -> Result<(), String> {
        if let Some(account) = args.icrc1_minting_account {
            let derived = AccountIdentifier::new(&account.owner, account.subaccount.as_ref());
            if derived != self.minting_account {
                return Err(format!(
                    "icrc1_minting_account {account} is not the minting account {}",
                    self.minting_account
                ));
            }
            self.icrc1_minting_account = Some(account);
        }
        if let Some(flags) = args.feature_flags {
            self.icrc2_enabled = flags.icrc2;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use nns_api::ledger::{Duration, FeatureFlags};

    fn minter() -> Principal {
        nns_api::ids::GOVERNANCE_CANISTER_ID
    }

    fn init_args() -> InitArgs {
        InitArgs {
            minting_account: AccountIdentifier::new(&minter(), None).to_hex(),
            icrc1_minting_account: None,
            initial_values: vec![],
            transaction_window: None,
            transfer_fee: None,
            token_symbol: None,
            token_name: None,
            feature_flags: None,
        }
    }

    #[test]
    fn defaults_are_the_real_ledgers() {
        let config = Config::from_init(init_args()).unwrap();
        assert_eq!(config.transfer_fee, Tokens::from_e8s(10_000));
        assert_eq!(config.token_symbol, "ICP");
        assert_eq!(config.transaction_window_nanos, 24 * 3600 * 1_000_000_000);
        assert!(config.icrc2_enabled);
    }

    #[test]
    fn explicit_values_are_kept() {
        let config = Config::from_init(InitArgs {
            transaction_window: Some(Duration { secs: 60, nanos: 5 }),
            transfer_fee: Some(Tokens::from_e8s(7)),
            token_symbol: Some("LICP".into()),
            token_name: Some("Local ICP".into()),
            feature_flags: Some(FeatureFlags { icrc2: false }),
            ..init_args()
        })
        .unwrap();
        assert_eq!(config.transaction_window_nanos, 60_000_000_005);
        assert_eq!(config.transfer_fee.e8s, 7);
        assert_eq!(config.token_name, "Local ICP");
        assert!(!config.icrc2_enabled);
    }

    #[test]
    fn bad_minting_accounts_are_refused() {
        let bad_hex = Config::from_init(InitArgs {
            minting_account: "xyz".into(),
            ..init_args()
        });
        assert!(bad_hex.unwrap_err().contains("minting_account"));
        let mismatch = Config::from_init(InitArgs {
            icrc1_minting_account: Some(Account {
                owner: Principal::anonymous(),
                subaccount: None,
            }),
            ..init_args()
        });
        assert!(mismatch.unwrap_err().contains("icrc1_minting_account"));
        let matching = Config::from_init(InitArgs {
            icrc1_minting_account: Some(Account {
                owner: minter(),
                subaccount: None,
            }),
            ..init_args()
        });
        assert!(matching.is_ok());
    }

    #[test]
    fn initial_values_are_parsed_and_bad_accounts_refused() {
        let account = AccountIdentifier::new(&minter(), Some(&[1; 32]));
        let args = InitArgs {
            initial_values: vec![(account.to_hex(), Tokens::from_e8s(5))],
            ..init_args()
        };
        let parse = |args: &InitArgs| -> Result<Vec<_>, String> {
            args.initial_values
                .iter()
                .map(|(hex, tokens)| Config::initial_balance(hex, *tokens))
                .collect()
        };
        assert_eq!(parse(&args).unwrap(), vec![(account, 5)]);
        let mut bad = account.to_hex();
        bad.replace_range(0..2, if bad.starts_with("00") { "01" } else { "00" });
        let args = InitArgs {
            initial_values: vec![(bad, Tokens::from_e8s(5))],
            ..init_args()
        };
        assert!(parse(&args).unwrap_err().contains("checksum"));
    }

    #[test]
    fn upgrade_toggles_icrc2() {
        let mut config = Config::from_init(init_args()).unwrap();
        config
            .apply_upgrade(UpgradeArgs {
                feature_flags: Some(FeatureFlags { icrc2: false }),
                ..Default::default()
            })
            .unwrap();
        assert!(!config.icrc2_enabled);
        config.apply_upgrade(UpgradeArgs::default()).unwrap();
        assert!(!config.icrc2_enabled);
    }

    #[test]
    fn upgrade_sets_the_icrc1_minting_account_only_if_it_is_the_minting_account() {
        let mut config = Config::from_init(init_args()).unwrap();
        let other = Account::from(Principal::from_slice(&[7]));
        let refused = config.apply_upgrade(UpgradeArgs {
            icrc1_minting_account: Some(other),
            ..Default::default()
        });
        assert!(refused.is_err());
        config.icrc1_minting_account = None;
        config
            .apply_upgrade(UpgradeArgs {
                icrc1_minting_account: Some(Account::from(minter())),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(config.icrc1_minting_account, Some(Account::from(minter())));
    }
}
