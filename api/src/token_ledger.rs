//! Types of a project's token ledger: the install and upgrade arguments of
//! DFINITY's ICRC-1 ledger (`icrc_ledger.did`), which SNS ledgers are. The
//! ICRC-1/2/3/103 types are `icrc-ledger-types`'.

use candid::{CandidType, Deserialize, Nat, Principal};
use icrc_ledger_types::icrc::generic_metadata_value::MetadataValue;
use icrc_ledger_types::icrc1::account::Account;

/// The decimals when the install argument names none (DFINITY's default).
pub const DEFAULT_DECIMALS: u8 = 8;
/// The most blocks `icrc3_get_blocks` returns in one answer.
pub const MAX_BLOCKS_PER_REQUEST: u64 = 2_000;
/// The most allowances `icrc103_get_allowances` returns.
pub const MAX_TAKE_ALLOWANCES: u64 = 500;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum LedgerArg {
    Init(InitArgs),
    Upgrade(Option<UpgradeArgs>),
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureFlags {
    pub icrc2: bool,
}

/// Accepted as DFINITY's ledger takes it; this ledger keeps every block
/// and spawns no archives, so only its presence matters.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ArchiveOptions {
    pub num_blocks_to_archive: u64,
    pub max_transactions_per_response: Option<u64>,
    pub trigger_threshold: u64,
    pub max_message_size_bytes: Option<u64>,
    pub cycles_for_archive_creation: Option<u64>,
    pub node_max_memory_size_bytes: Option<u64>,
    pub controller_id: Principal,
    pub more_controller_ids: Option<Vec<Principal>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    pub minting_account: Account,
    pub fee_collector_account: Option<Account>,
    pub transfer_fee: Nat,
    pub decimals: Option<u8>,
    pub max_memo_length: Option<u16>,
    pub token_symbol: String,
    pub token_name: String,
    pub metadata: Vec<(String, MetadataValue)>,
    pub initial_balances: Vec<(Account, Nat)>,
    pub feature_flags: Option<FeatureFlags>,
    pub archive_options: ArchiveOptions,
    pub index_principal: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChangeFeeCollector {
    Unset,
    SetTo(Account),
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeArchiveOptions {
    pub num_blocks_to_archive: Option<u64>,
    pub max_transactions_per_response: Option<u64>,
    pub trigger_threshold: Option<u64>,
    pub max_message_size_bytes: Option<u64>,
    pub cycles_for_archive_creation: Option<u64>,
    pub node_max_memory_size_bytes: Option<u64>,
    pub controller_id: Option<Principal>,
    pub more_controller_ids: Option<Vec<Principal>>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeArgs {
    pub metadata: Option<Vec<(String, MetadataValue)>>,
    pub token_symbol: Option<String>,
    pub token_name: Option<String>,
    pub transfer_fee: Option<Nat>,
    pub change_fee_collector: Option<ChangeFeeCollector>,
    pub max_memo_length: Option<u16>,
    pub feature_flags: Option<FeatureFlags>,
    pub change_archive_options: Option<ChangeArchiveOptions>,
    pub index_principal: Option<Principal>,
}

impl InitArgs {
    /// A token with DFINITY's defaults: 8 decimals, ICRC-2 on, no index,
    /// the given balances minted at install.
    pub fn new(
        token_name: &str,
        token_symbol: &str,
        transfer_fee: u64,
        minting_account: Account,
        initial_balances: Vec<(Account, u64)>,
        controller: Principal,
    ) -> Self {
        Self {
            minting_account,
            fee_collector_account: None,
            transfer_fee: Nat::from(transfer_fee),
            decimals: None,
            max_memo_length: None,
            token_symbol: token_symbol.into(),
            token_name: token_name.into(),
            metadata: vec![],
            initial_balances: initial_balances
                .into_iter()
                .map(|(account, amount)| (account, Nat::from(amount)))
                .collect(),
            feature_flags: Some(FeatureFlags { icrc2: true }),
            archive_options: ArchiveOptions {
                num_blocks_to_archive: 1_000,
                max_transactions_per_response: None,
                trigger_threshold: 2_000,
                max_message_size_bytes: None,
                cycles_for_archive_creation: None,
                node_max_memory_size_bytes: None,
                controller_id: controller,
                more_controller_ids: None,
            },
            index_principal: None,
        }
    }
}
