//! The month's node-provider rewards, read and minted: the calls to the
//! node-rewards canister, the CMC and the ledger around the plain rules of
//! [`crate::node_providers`].

use crate::config::Config;
use crate::node_providers::{self, MonthInputs};
use crate::state;
use canister_common::ledger_client;
use ic_cdk::call::Call;
use nns_api::AccountIdentifier;
use nns_api::governance::{
    ErrorType, GovernanceError, MonthlyNodeProviderRewards, RewardMode, XdrConversionRate,
};
use nns_api::ids::NODE_REWARDS_CANISTER_ID;
use nns_api::ledger::TransferError;
use nns_api::node_rewards::{
    GetNodeProvidersMonthlyXdrRewardsRequest, GetNodeProvidersMonthlyXdrRewardsResponse,
};
use std::cell::Cell;

type Result<T> = std::result::Result<T, GovernanceError>;

fn external(message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(ErrorType::External, message)
}

thread_local! {
    /// A month's minting or a payment of what is owed is under way
    /// (between its awaits).
    static MINTING: Cell<bool> = const { Cell::new(false) };
    /// A read for `get_monthly_node_provider_rewards` is under way.
    static READING: Cell<bool> = const { Cell::new(false) };
}

/// Held while a month is read and minted; released when dropped, also
/// when a callback traps and the future is dropped.
struct MintingLock;

impl MintingLock {
    fn take() -> Option<Self> {
        (!MINTING.replace(true)).then_some(Self)
    }
}

impl Drop for MintingLock {
    fn drop(&mut self) {
        MINTING.set(false);
    }
}

/// The periodic task: pays what is still owed of earlier months, then the
/// month's rewards once a month has passed since the last.
pub async fn mint_if_due() {
    let Some(lock) = MintingLock::take() else {
        return;
    };
    pay_owed(crate::manage::now_seconds()).await;
    let last = state::most_recent_node_provider_rewards().map(|m| m.timestamp);
    if node_providers::is_time_to_mint(last, crate::manage::now_seconds())
        && let Err(e) = mint_month(lock).await
    {
        ic_cdk::println!(
            "minting the month's node-provider rewards failed: {}",
            e.error_message
        );
    }
}

/// Reads the month's rewards, records them with each payable reward owed,
/// then pays what is owed. Errors before anything is recorded if the inputs
/// cannot be read or a month was recorded less than a month ago.
pub async fn mint_monthly() -> Result<MonthlyNodeProviderRewards> {
    let Some(lock) = MintingLock::take() else {
        return Err(GovernanceError::new(
            ErrorType::Unavailable,
            "node-provider rewards are being minted already",
        ));
    };
    mint_month(lock).await
}

async fn mint_month(_lock: MintingLock) -> Result<MonthlyNodeProviderRewards> {
    let month = read_month().await?;
    // No await between the check and the record: one month, once.
    let last = state::most_recent_node_provider_rewards().map(|m| m.timestamp);
    if last.is_some_and(|t| {
        month.timestamp.saturating_sub(t) < node_providers::NODE_PROVIDER_REWARD_PERIOD_SECONDS
    }) {
        return Err(GovernanceError::new(
            ErrorType::PreconditionFailed,
            "the month's node-provider rewards were minted already",
        ));
    }
    let maximum = state::read_config(|c| c.economics.maximum_node_provider_rewards_e8s);
    let owed: Vec<u32> = month
        .rewards
        .iter()
        .enumerate()
        .filter_map(
            |(index, reward)| match node_providers::refusal(reward, maximum) {
                Some(why) => {
                    ic_cdk::println!(
                        "node provider {:?} not rewarded: {why}",
                        reward.node_provider
                    );
                    None
                }
                None => Some(index as u32),
            },
        )
        .collect();
    state::record_node_provider_rewards(month.clone(), &owed);
    pay_owed(month.timestamp).await;
    Ok(month)
}

/// Pays the rewards still owed: each stamped with its month's time plus its
/// position, so that a payment made but not known to be (an answer lost, a
/// trap, an upgrade) is a duplicate the ledger refuses when sent again. A
/// reward is owed until the ledger took it, its provider was removed, or
/// its stamp is too old for the ledger to tell a duplicate (a day).
async fn pay_owed(now: u64) {
    let ledger = state::read_config(|c| c.ledger_canister_id);
    for (timestamp, index) in state::owed_node_provider_rewards() {
        let reward = state::node_provider_reward(timestamp, index);
        let provider = reward
            .as_ref()
            .and_then(|r| r.node_provider.as_ref())
            .and_then(|p| p.id);
        let to = reward.as_ref().and_then(|r| match &r.reward_mode {
            Some(RewardMode::RewardToAccount(to)) => to
                .to_account
                .as_ref()
                .and_then(|a| AccountIdentifier::from_slice(&a.hash).ok()),
            _ => None,
        });
        let (Some(reward), Some(provider), Some(to)) = (reward, provider, to) else {
            state::settle_node_provider_reward(timestamp, index);
            continue;
        };
        if state::node_provider(&provider).is_none() {
            ic_cdk::println!("node provider {provider} was removed: its reward is not paid");
            state::settle_node_provider_reward(timestamp, index);
            continue;
        }
        if now.saturating_sub(timestamp) > OWED_FOR_SECONDS {
            ic_cdk::println!(
                "the reward of node provider {provider} for the month of {timestamp} could not be paid within a day"
            );
            state::settle_node_provider_reward(timestamp, index);
            continue;
        }
        let stamp_nanos = timestamp * 1_000_000_000 + u64::from(index);
        let minted = ledger_client::transfer_at(
            ledger,
            None,
            to,
            reward.amount_e8s,
            0,
            timestamp,
            Some(stamp_nanos),
        )
        .await;
        match minted {
            Ok(Ok(_)) | Ok(Err(TransferError::TxDuplicate { .. })) => {
                state::settle_node_provider_reward(timestamp, index)
            }
            // Left owed: tried again on the next run of the task.
            Ok(Err(e)) => ic_cdk::println!("rewarding {provider} failed: {e:?}"),
            Err(e) => ic_cdk::println!("rewarding {provider} failed: {e}"),
        }
    }
}

/// How long a reward is tried again: less than the ledger's day of
/// deduplication, so that a payment sent again is always recognised.
const OWED_FOR_SECONDS: u64 = 23 * 60 * 60;

/// `get_monthly_node_provider_rewards`: the month as it would be minted now,
/// one read at a time (anyone may ask, and each read makes two calls).
pub async fn preview_month() -> Result<MonthlyNodeProviderRewards> {
    if READING.replace(true) {
        return Err(GovernanceError::new(
            ErrorType::Unavailable,
            "the month's node-provider rewards are being read already; try again",
        ));
    }
    struct Reading;
    impl Drop for Reading {
        fn drop(&mut self) {
            READING.set(false);
        }
    }
    let _reading = Reading;
    read_month().await
}

/// The month's rewards as they would be minted now: what the node-rewards
/// canister says each provider earned, at the CMC's 30-day average rate.
pub async fn read_month() -> Result<MonthlyNodeProviderRewards> {
    let config = state::read_config(Config::clone);
    let reply = Call::unbounded_wait(
        NODE_REWARDS_CANISTER_ID,
        "get_node_providers_monthly_xdr_rewards",
    )
    .with_arg(GetNodeProvidersMonthlyXdrRewardsRequest::default())
    .await
    .map_err(|e| external(format!("the node-rewards canister: {e}")))?;
    let answer: GetNodeProvidersMonthlyXdrRewardsResponse = reply
        .candid()
        .map_err(|e| external(format!("the node-rewards canister: {e}")))?;
    let rewards = match (answer.rewards, answer.error) {
        (_, Some(e)) => return Err(external(format!("the node-rewards canister: {e}"))),
        (None, None) => return Err(external("the node-rewards canister sent no rewards")),
        (Some(r), None) if r.registry_version.is_none() => {
            return Err(external(
                "the node-rewards canister named no registry version",
            ));
        }
        (Some(r), None) => r,
    };
    let reply = Call::unbounded_wait(
        config.cmc_canister_id,
        "get_average_icp_xdr_conversion_rate",
    )
    .await
    .map_err(|e| external(format!("the CMC's average rate: {e}")))?;
    let rate: nns_api::cmc::IcpXdrConversionRateResponse = reply
        .candid()
        .map_err(|e| external(format!("the CMC's average rate: {e}")))?;
    let previous = state::most_recent_node_provider_rewards();
    let inputs = MonthInputs {
        now: crate::manage::now_seconds(),
        previous_end: previous.as_ref().and_then(|p| p.end_date),
        previous_timestamp: previous.as_ref().map(|p| p.timestamp),
        xdr_permyriad_by_provider: rewards.rewards,
        registry_version: rewards.registry_version,
        average_rate: XdrConversionRate {
            xdr_permyriad_per_icp: Some(rate.data.xdr_permyriad_per_icp),
            timestamp_seconds: Some(rate.data.timestamp_seconds),
        },
        minimum_icp_xdr_rate: config.economics.minimum_icp_xdr_rate,
        maximum_node_provider_rewards_e8s: config.economics.maximum_node_provider_rewards_e8s,
    };
    Ok(node_providers::monthly_rewards(
        state::node_providers(),
        &inputs,
    ))
}
