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
use nns_api::node_rewards::{
    GetNodeProvidersMonthlyXdrRewardsRequest, GetNodeProvidersMonthlyXdrRewardsResponse,
};
use std::cell::Cell;

type Result<T> = std::result::Result<T, GovernanceError>;

fn external(message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(ErrorType::External, message)
}

thread_local! {
    /// A month's minting is under way (between its awaits).
    static MINTING: Cell<bool> = const { Cell::new(false) };
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

/// The periodic task: mints the month's rewards once a month has passed
/// since the last.
pub async fn mint_if_due() {
    let last = state::most_recent_node_provider_rewards().map(|m| m.timestamp);
    if node_providers::is_time_to_mint(last, crate::manage::now_seconds())
        && let Err(e) = mint_monthly().await
    {
        ic_cdk::println!(
            "minting the month's node-provider rewards failed: {}",
            e.error_message
        );
    }
}

/// Reads the month's rewards, records them, then mints each (stamped, so
/// that no reward is minted twice). Errors before anything is recorded if
/// the inputs cannot be read; a mint that fails is logged and not retried.
pub async fn mint_monthly() -> Result<MonthlyNodeProviderRewards> {
    let Some(_lock) = MintingLock::take() else {
        return Err(GovernanceError::new(
            ErrorType::Unavailable,
            "node-provider rewards are being minted already",
        ));
    };
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
    state::record_node_provider_rewards(month.clone());
    let (ledger, maximum) = state::read_config(|c| {
        (
            c.ledger_canister_id,
            c.economics.maximum_node_provider_rewards_e8s,
        )
    });
    for (index, reward) in month.rewards.iter().enumerate() {
        if let Some(why) = node_providers::refusal(reward, maximum) {
            ic_cdk::println!(
                "node provider {:?} not rewarded: {why}",
                reward.node_provider
            );
            continue;
        }
        let Some(RewardMode::RewardToAccount(to)) = &reward.reward_mode else {
            continue;
        };
        let to = to
            .to_account
            .as_ref()
            .and_then(|a| AccountIdentifier::from_slice(&a.hash).ok());
        let Some(to) = to else {
            continue;
        };
        // Two providers paid the same amount to one account are still two
        // transactions: each stamp is the month's time plus the position.
        let stamp_nanos = month.timestamp * 1_000_000_000 + index as u64;
        let minted = ledger_client::transfer_at(
            ledger,
            None,
            to,
            reward.amount_e8s,
            0,
            month.timestamp,
            Some(stamp_nanos),
        )
        .await;
        match minted {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => ic_cdk::println!("rewarding {:?} failed: {e:?}", reward.node_provider),
            Err(e) => ic_cdk::println!("rewarding {:?} failed: {e}", reward.node_provider),
        }
    }
    Ok(month)
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
