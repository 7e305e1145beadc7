//! Does the economy add up? Each check sets two figures side by side that
//! different canisters, or a canister's counters and its own blocks, give
//! for the same thing.

use super::{Economy, observe::Snapshot};
use candid::Nat;
use icrc_ledger_types::icrc1::account::Account;
use nns_api::icp_block::{Block, Hash, Operation, sha256};
use nns_api::ids::{
    CYCLES_LEDGER_CANISTER_ID, CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID,
    INDEX_CANISTER_ID, LEDGER_CANISTER_ID,
};
use nns_api::index::Status as IndexStatus;
use nns_api::ledger::{GetBlocksArgs, QueryEncodedBlocksResponse};
use nns_harness::candid_cache;
use nns_harness::env::{Backend, query_candid};
use std::collections::BTreeSet;

/// Two figures that must be equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub what: String,
    pub left: i128,
    pub right: i128,
}

impl Check {
    pub(crate) fn new(what: &str, left: impl Into<i128>, right: impl Into<i128>) -> Self {
        Self {
            what: what.into(),
            left: left.into(),
            right: right.into(),
        }
    }

    pub fn holds(&self) -> bool {
        self.left == self.right
    }
}

/// What the ledger's blocks since the start add up to.
#[derive(Debug, Default)]
struct BlockSums {
    minted: u64,
    burned: u64,
    burned_by_cmc: u64,
    fees: u64,
}

/// Sums the blocks `from..to` as the index canister reads them (protobuf,
/// through `query_encoded_blocks`), counting as the CMC's the burns from
/// `cmc_accounts`; each block must name its predecessor's hash.
fn sum_blocks(
    economy: &mut Economy,
    from: u64,
    to: u64,
    cmc_accounts: &BTreeSet<[u8; 32]>,
) -> Result<BlockSums, String> {
    let mut sums = BlockSums::default();
    let mut next = from;
    let mut parent: Option<Hash> = None;
    while next < to {
        let args = GetBlocksArgs {
            start: next,
            length: to - next,
        };
        let (result,): (QueryEncodedBlocksResponse,) = query_candid(
            &mut economy.env,
            LEDGER_CANISTER_ID,
            "query_encoded_blocks",
            (args,),
        )
        .map_err(|e| format!("query_encoded_blocks: {e}"))?;
        if result.blocks.is_empty() {
            return Err(format!("the ledger returned no block from {next}"));
        }
        for bytes in &result.blocks {
            let block = Block::from_protobuf(bytes).map_err(|e| format!("block {next}: {e}"))?;
            if parent.is_some() && block.parent_hash != parent {
                return Err(format!("block {next} does not name its parent's hash"));
            }
            parent = Some(sha256(bytes));
            match block.transaction.operation {
                Operation::Mint { amount, .. } => sums.minted += amount,
                Operation::Burn { from, amount, .. } => {
                    sums.burned += amount;
                    if cmc_accounts.contains(from.as_bytes()) {
                        sums.burned_by_cmc += amount;
                    }
                }
                Operation::Transfer { fee, .. } | Operation::Approve { fee, .. } => {
                    sums.fees += fee
                }
            }
            next += 1;
        }
    }
    Ok(sums)
}

/// Every check from `start` to `end`; they all hold in a sound economy.
/// The ledger's balances of `accounts`, read as a wallet reads many: with
/// `icrc4_balance_of_batch`, as many at a time as the ledger answers.
fn ledger_balances(economy: &mut Economy, accounts: Vec<Account>) -> Result<Vec<u64>, String> {
    const BATCH: usize = 10_000;
    let mut balances = Vec::with_capacity(accounts.len());
    for batch in accounts.chunks(BATCH) {
        let args = nns_api::ledger::BalanceQueryArgs {
            accounts: batch.to_vec(),
        };
        let (answered,): (Vec<Nat>,) = query_candid(
            &mut economy.env,
            LEDGER_CANISTER_ID,
            "icrc4_balance_of_batch",
            (args,),
        )
        .map_err(|e| format!("icrc4_balance_of_batch: {e}"))?;
        if answered.len() != batch.len() {
            return Err(format!(
                "icrc4_balance_of_batch answered {} of {} accounts",
                answered.len(),
                batch.len()
            ));
        }
        for balance in answered {
            balances.push(u64::try_from(balance.0).map_err(|_| "a balance beyond 64 bits")?);
        }
    }
    Ok(balances)
}

/// A reply of one `nat64`, as the index's `icrc1_balance_of` answers: read
/// directly when it is the plain encoding (a million of them end the
/// mainnet run, and candid's decoder spent more on each than the query
/// did), else by candid, which takes any equivalent encoding.
fn nat64_reply(bytes: &[u8]) -> Result<u64, String> {
    match canister_common::fast_candid::plain_nat64(bytes) {
        Some(value) => Ok(value),
        None => candid::decode_one(bytes).map_err(|e| e.to_string()),
    }
}

pub fn reconcile(economy: &mut Economy, end: &Snapshot) -> Result<Vec<Check>, String> {
    reconcile_reporting(economy, end, &mut |_| {})
}

/// [`reconcile`], naming each part to `stage` as it begins (at a million
/// accounts the reconciliation takes minutes).
pub fn reconcile_reporting(
    economy: &mut Economy,
    end: &Snapshot,
    stage: &mut dyn FnMut(&'static str),
) -> Result<Vec<Check>, String> {
    let start = economy.start.clone();
    stage("the ledger's blocks");
    let mut checks = vec![];

    // The ledger's counters against its supply.
    let supply_change = i128::from(end.supply_e8s) - i128::from(start.supply_e8s);
    let counted = i128::from(end.ledger_minted_e8s - start.ledger_minted_e8s)
        - i128::from(end.ledger_burned_e8s - start.ledger_burned_e8s)
        - i128::from(end.ledger_fees_e8s - start.ledger_fees_e8s);
    checks.push(Check::new(
        "supply change = minted - burned - fees (ledger counters)",
        supply_change,
        counted,
    ));

    // The ledger's blocks against its counters and the CMC's.
    let mut cmc_accounts: BTreeSet<[u8; 32]> = BTreeSet::new();
    for app in economy.apps.iter() {
        for beneficiary in [app.canister, app.developer] {
            cmc_accounts.insert(*super::Economy::cmc_account(&beneficiary).as_bytes());
        }
    }
    let sums = sum_blocks(economy, start.blocks, end.blocks, &cmc_accounts)?;
    checks.push(Check::new(
        "minted in blocks = ledger's minted counter",
        sums.minted,
        end.ledger_minted_e8s - start.ledger_minted_e8s,
    ));
    checks.push(Check::new(
        "burned in blocks = ledger's burned counter",
        sums.burned,
        end.ledger_burned_e8s - start.ledger_burned_e8s,
    ));
    checks.push(Check::new(
        "fees in blocks = ledger's fee counter",
        sums.fees,
        end.ledger_fees_e8s - start.ledger_fees_e8s,
    ));
    checks.push(Check::new(
        "burned from CMC accounts in blocks = ICP the CMC burned",
        sums.burned_by_cmc,
        end.cmc_icp_burned_e8s - start.cmc_icp_burned_e8s,
    ));

    // Governance's neurons against the ledger's balances.
    stage("the neurons");
    let neurons = economy.neurons()?;
    let accounts = neurons
        .iter()
        .map(|neuron| {
            let subaccount: [u8; 32] = neuron
                .account
                .as_slice()
                .try_into()
                .map_err(|_| "a neuron's account is 32 bytes")?;
            Ok(Account {
                owner: GOVERNANCE_CANISTER_ID,
                subaccount: Some(subaccount),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let on_ledger: u64 = ledger_balances(economy, accounts)?.into_iter().sum();
    checks.push(Check::new(
        "neurons' stakes in governance = their accounts' balances on the ledger",
        neurons
            .iter()
            .map(|n| n.cached_neuron_stake_e8s)
            .sum::<u64>(),
        on_ledger,
    ));
    checks.push(Check::new(
        "governance's staked total = its neurons' stakes less fees owed",
        end.staked_e8s,
        neurons
            .iter()
            .map(|n| n.cached_neuron_stake_e8s.saturating_sub(n.neuron_fees_e8s))
            .sum::<u64>(),
    ));

    // The index canister, which follows the ledger's blocks on a timer,
    // against the ledger: once caught up, it holds every block and the same
    // balances. The ledger may still be taking blocks (governance mints a
    // backlog of disbursed maturity one transfer a round, up to a hundred
    // a run): the index is compared when it has caught up with them.
    stage("the index");
    let (mut synced, mut chain_length) = (0, 0);
    for _ in 0..3_000 {
        let (status,): (IndexStatus,) =
            query_candid(&mut economy.env, INDEX_CANISTER_ID, "status", ())
                .map_err(|e| format!("index status: {e}"))?;
        synced = status.num_blocks_synced;
        let (blocks,): (QueryEncodedBlocksResponse,) = query_candid(
            &mut economy.env,
            LEDGER_CANISTER_ID,
            "query_encoded_blocks",
            (GetBlocksArgs {
                start: 0,
                length: 0,
            },),
        )
        .map_err(|e| format!("query_encoded_blocks: {e}"))?;
        chain_length = blocks.chain_length;
        if synced == chain_length {
            break;
        }
        economy.env.advance_time(std::time::Duration::from_secs(1));
        economy.env.tick();
    }
    checks.push(Check::new(
        "blocks the index holds = the ledger's blocks",
        synced,
        chain_length,
    ));
    let users: Vec<Account> = economy.users.iter().map(|&u| Account::from(u)).collect();
    let on_ledger: u64 = ledger_balances(economy, users)?.into_iter().sum();
    let mut in_index = 0u64;
    for user in economy.users.clone() {
        let reply = economy
            .env
            .query_call(
                INDEX_CANISTER_ID,
                candid::Principal::anonymous(),
                "icrc1_balance_of",
                candid_cache::encode_one(&Account::from(user)),
            )
            .map_err(|e| format!("index icrc1_balance_of: {e}"))?;
        in_index += nat64_reply(&reply).map_err(|e| format!("index icrc1_balance_of: {e}"))?;
    }
    checks.push(Check::new(
        "users' balances in the index = on the ledger",
        in_index,
        on_ledger,
    ));

    // Cycles: what the CMC minted went to the apps, which hold or burned it.
    stage("cycles, node providers and sales");
    if economy.env.backend() == Backend::Runtime {
        let minted_by_runtime = economy
            .env
            .as_runtime()
            .cycles_minted(CYCLES_MINTING_CANISTER_ID);
        checks.push(Check::new(
            "cycles the CMC reports minted = cycles minted with mint_cycles128",
            end.cmc_cycles_minted as i128,
            minted_by_runtime as i128,
        ));
        let gained = |end: u128, start: u128| end as i128 - start as i128;
        checks.push(Check::new(
            "cycles minted = what the apps hold and burned, the cycles ledger and the CMC gained",
            gained(end.cmc_cycles_minted, start.cmc_cycles_minted),
            gained(
                end.app_cycles_balance + end.app_cycles_burned,
                start.app_cycles_balance + start.app_cycles_burned,
            ) + gained(end.cycles_ledger_cycles, start.cycles_ledger_cycles)
                + gained(end.cmc_cycles, start.cmc_cycles),
        ));
    }

    // The cycles ledger: its supply is its accounts', and it holds the
    // cycles behind it plus one fee per block (every deposit, withdrawal
    // and creation keeps or charges one; the run makes no other kind).
    let mut held_by_developers = 0u128;
    for app in economy.apps.iter().filter(|a| a.via_cycles_ledger) {
        let (balance,): (Nat,) = query_candid(
            &mut economy.env,
            CYCLES_LEDGER_CANISTER_ID,
            "icrc1_balance_of",
            (Account::from(app.developer),),
        )
        .map_err(|e| format!("cycles ledger icrc1_balance_of: {e}"))?;
        held_by_developers += u128::try_from(balance.0).expect("fits in 128 bits");
    }
    checks.push(Check::new(
        "cycles ledger supply = developers' balances on it",
        end.cycles_ledger_supply as i128,
        held_by_developers as i128,
    ));
    checks.push(Check::new(
        "cycles the cycles ledger gained = its supply's gain + a fee per block",
        end.cycles_ledger_cycles as i128 - start.cycles_ledger_cycles as i128,
        (end.cycles_ledger_supply as i128 - start.cycles_ledger_supply as i128)
            + i128::from(end.cycles_ledger_blocks - start.cycles_ledger_blocks)
                * nns_api::cycles_ledger::FEE as i128,
    ));
    // Node providers: what governance recorded for the months of the run
    // is what reached their accounts (they only receive).
    let (months,): (nns_api::governance::ListNodeProviderRewardsResponse,) = query_candid(
        &mut economy.env,
        GOVERNANCE_CANISTER_ID,
        "list_node_provider_rewards",
        (nns_api::governance::ListNodeProviderRewardsRequest {
            date_filter: Some(nns_api::governance::DateRangeFilter {
                start_timestamp_seconds: Some(start.time_seconds),
                end_timestamp_seconds: None,
            }),
        },),
    )
    .map_err(|e| format!("list_node_provider_rewards: {e}"))?;
    let recorded: u64 = months
        .rewards
        .iter()
        .flat_map(|m| {
            let maximum = m.maximum_node_provider_rewards_e8s.unwrap_or(u64::MAX);
            m.rewards
                .iter()
                .map(move |r| r.amount_e8s)
                .filter(move |&a| a <= maximum)
        })
        .sum();
    checks.push(Check::new(
        "ICP node providers received = the months' rewards governance recorded",
        end.node_provider_e8s - start.node_provider_e8s,
        recorded,
    ));
    // Each finished sale's treasury against what the sale says it raised.
    checks.extend(economy.sales_summary()?.1);
    Ok(checks)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_nat64_reply_reads_as_candid_reads_it() {
        for value in [0, 1, 255, u64::MAX] {
            let plain = candid::encode_one(value).unwrap();
            assert_eq!(super::nat64_reply(&plain), Ok(value));
        }
        // A type table the value does not use: candid reads it.
        let mut unused = b"DIDL\x01\x6e\x78\x01\x78".to_vec();
        unused.extend_from_slice(&9u64.to_le_bytes());
        assert_eq!(super::nat64_reply(&unused), Ok(9));
        // A value behind a type table (here an opt nat64): candid decides.
        let mut tabled = b"DIDL\x01\x6e\x78\x01\x00\x01".to_vec();
        tabled.extend_from_slice(&7u64.to_le_bytes());
        let decoded: Option<u64> = candid::decode_one(&tabled).unwrap();
        assert_eq!(decoded, Some(7));
        assert!(
            super::nat64_reply(&tabled).is_err(),
            "an opt is not a nat64"
        );
        assert!(super::nat64_reply(b"DIDL\x00\x01\x78\x01").is_err());
        assert!(super::nat64_reply(&candid::encode_one(7u32).unwrap()).is_err());
    }
}
