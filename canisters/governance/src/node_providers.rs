//! Node providers and their monthly rewards, as on the NNS. Providers are
//! added and removed by `AddOrRemoveNodeProvider` proposals and may change
//! their own reward account. Once a month (1/12 of a year after the last
//! rewards; the first month by a `RewardNodeProviders` proposal with
//! `use_registry_derived_rewards`) governance asks the node-rewards canister
//! what each provider earned in XDR, converts it at the CMC's 30-day
//! average rate (never below the economics' minimum rate), and mints it to
//! each provider's reward account.
//!
//! One difference from the NNS, for safety: the month is recorded, with
//! each payable reward owed, before any ICP is minted, and each payment is
//! stamped (`created_at_time` = the month's time plus the reward's
//! position), so an upgrade or a trap in the middle never pays a reward
//! twice, and a payment that failed is tried again on the next run of the
//! task (for a day, while the ledger still recognises a duplicate). The
//! NNS records the month after its mints and never tries a failed one
//! again.

use candid::Principal;
use canister_common::civil_date;
use nns_api::AccountIdentifier;
use nns_api::governance::{
    Change, DateRangeFilter, DateUtc, ErrorType, GovernanceError, MonthlyNodeProviderRewards,
    NodeProvider, RewardMode, RewardNodeProvider, RewardToAccount, XdrConversionRate,
};

type Result<T> = std::result::Result<T, GovernanceError>;

/// 1/12 of a year of 365.25 days, as the NNS.
pub const NODE_PROVIDER_REWARD_PERIOD_SECONDS: u64 = 2_629_800;
/// `list_node_provider_rewards` answers at most this many months.
pub const MAX_LIST_NODE_PROVIDER_REWARDS_RESULTS: usize = 24;
/// Governance keeps at most this many providers (mainnet has about 150):
/// the list is read whole by every month's rewards, and a listing of 24
/// months of this many (~180 bytes a reward) stays under a reply's 2 MiB.
pub const MAX_NODE_PROVIDERS: usize = 300;
/// `NetworkEconomics::minimum_icp_xdr_rate` is in XDR cents; rates are in
/// 10^-4 XDR.
pub const ICP_XDR_RATE_TO_BASIS_POINT_MULTIPLIER: u64 = 100;
const E8S_PER_ICP: u128 = 100_000_000;
const ONE_DAY_SECONDS: u64 = 86_400;

fn error(kind: ErrorType, message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(kind, message)
}

fn invalid(message: impl Into<String>) -> GovernanceError {
    error(ErrorType::InvalidProposal, message)
}

/// A reward account must be a valid account identifier (32 bytes, its
/// checksum right).
pub fn check_reward_account(account: &nns_api::governance::AccountIdentifier) -> Result<()> {
    AccountIdentifier::from_slice(&account.hash)
        .map(|_| ())
        .map_err(|e| {
            error(
                ErrorType::InvalidCommand,
                format!("The account_identifier field is invalid: {e:?}"),
            )
        })
}

/// What `AddOrRemoveNodeProvider` may carry: a change naming a provider,
/// with a valid reward account when one is added. Whether the provider is
/// (not yet) known is checked against the list at submission and again at
/// execution.
pub fn validate_change(change: Option<&Change>) -> Result<&NodeProvider> {
    let (provider, adding) = match change {
        Some(Change::ToAdd(p)) => (p, true),
        Some(Change::ToRemove(p)) => (p, false),
        None => return Err(invalid("AddOrRemoveNodeProvider must have a change field")),
    };
    match provider.id {
        None => Err(invalid(
            "AddOrRemoveNodeProvider must have a node provider id",
        )),
        Some(id) if id == Principal::anonymous() => {
            Err(invalid("a node provider cannot be the anonymous principal"))
        }
        Some(_) => {
            if let (true, Some(account)) = (adding, &provider.reward_account) {
                check_reward_account(account).map_err(|e| invalid(e.error_message))?;
            }
            Ok(provider)
        }
    }
}

/// The change against the providers known now (`known` tells whether an id
/// is): an added one must be new, a removed one known, as on the NNS.
pub fn check_change_against(
    change: &Change,
    known: impl Fn(&Principal) -> bool,
    count: usize,
    error_type: ErrorType,
) -> Result<()> {
    match change {
        Change::ToAdd(p) => {
            let id = p.id.expect("validated");
            if known(&id) {
                return Err(error(
                    error_type,
                    format!("NodeProvider with id {id} already exists"),
                ));
            }
            if count >= MAX_NODE_PROVIDERS {
                return Err(error(
                    error_type,
                    format!("at most {MAX_NODE_PROVIDERS} node providers"),
                ));
            }
        }
        Change::ToRemove(p) => {
            let id = p.id.expect("validated");
            if !known(&id) {
                return Err(error(
                    error_type,
                    format!(
                        "AddOrRemoveNodeProvider ToRemove must target an existing Node Provider but targeted {id}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The providers of the install argument: each with an id and a valid
/// reward account if any, none twice, at most [`MAX_NODE_PROVIDERS`].
pub fn initial(providers: Vec<NodeProvider>) -> std::result::Result<Vec<NodeProvider>, String> {
    if providers.len() > MAX_NODE_PROVIDERS {
        return Err(format!("at most {MAX_NODE_PROVIDERS} node providers"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &providers {
        let change = Change::ToAdd(p.clone());
        validate_change(Some(&change)).map_err(|e| e.error_message)?;
        let id = p.id.expect("validated");
        if !seen.insert(id) {
            return Err(format!("node provider {id} is named twice"));
        }
    }
    Ok(providers)
}

/// Whether a month has passed since the last rewards (never before the
/// first: a proposal starts the clock).
pub fn is_time_to_mint(most_recent: Option<u64>, now: u64) -> bool {
    most_recent.is_some_and(|t| now.saturating_sub(t) >= NODE_PROVIDER_REWARD_PERIOD_SECONDS)
}

/// A provider's month in e8s: its XDR over the rate (both in 10^-4 XDR).
pub fn reward_e8s(xdr_permyriad: u64, xdr_permyriad_per_icp: u64) -> u64 {
    let e8s = u128::from(xdr_permyriad) * E8S_PER_ICP / u128::from(xdr_permyriad_per_icp.max(1));
    u64::try_from(e8s).unwrap_or(u64::MAX)
}

/// Where a provider's rewards go: its reward account, or its principal's
/// main account.
pub fn reward_account_of(provider: &NodeProvider) -> nns_api::governance::AccountIdentifier {
    provider.reward_account.clone().unwrap_or_else(|| {
        let id = provider.id.expect("providers in the list have ids");
        nns_api::governance::AccountIdentifier {
            hash: AccountIdentifier::new(&id, None).as_bytes().to_vec().into(),
        }
    })
}

/// The inputs of a month's rewards, as read from the node-rewards canister
/// and the CMC.
pub struct MonthInputs {
    pub now: u64,
    /// The end date of the last rewards, if they had one.
    pub previous_end: Option<DateUtc>,
    pub previous_timestamp: Option<u64>,
    pub xdr_permyriad_by_provider: Vec<(Principal, u64)>,
    pub registry_version: Option<u64>,
    pub average_rate: XdrConversionRate,
    /// `minimum_icp_xdr_rate`, in XDR cents.
    pub minimum_icp_xdr_rate: u64,
    pub maximum_node_provider_rewards_e8s: u64,
}

/// The month's rewards for `providers` (those governance knows; others the
/// node-rewards canister names are left out, and a known provider it does
/// not name gets 0), at the average rate or the minimum, whichever is
/// higher.
pub fn monthly_rewards(
    providers: Vec<NodeProvider>,
    inputs: &MonthInputs,
) -> MonthlyNodeProviderRewards {
    let minimum = inputs
        .minimum_icp_xdr_rate
        .saturating_mul(ICP_XDR_RATE_TO_BASIS_POINT_MULTIPLIER);
    let rate = inputs
        .average_rate
        .xdr_permyriad_per_icp
        .unwrap_or(0)
        .max(minimum);
    let rewards = providers
        .iter()
        .map(|p| {
            let xdr = inputs
                .xdr_permyriad_by_provider
                .iter()
                .find(|(id, _)| Some(*id) == p.id)
                .map_or(0, |(_, xdr)| *xdr);
            RewardNodeProvider {
                node_provider: Some(p.clone()),
                reward_mode: Some(RewardMode::RewardToAccount(RewardToAccount {
                    to_account: Some(reward_account_of(p)),
                })),
                amount_e8s: reward_e8s(xdr, rate),
            }
        })
        .collect();
    let start = match (inputs.previous_end, inputs.previous_timestamp) {
        (Some(end), _) => date_of(days_of(end) * ONE_DAY_SECONDS + ONE_DAY_SECONDS),
        (None, Some(t)) => date_of(t),
        (None, None) => date_of(
            inputs
                .now
                .saturating_sub(NODE_PROVIDER_REWARD_PERIOD_SECONDS),
        ),
    };
    MonthlyNodeProviderRewards {
        minimum_xdr_permyriad_per_icp: Some(minimum),
        registry_version: inputs.registry_version,
        algorithm_version: None,
        node_providers: providers,
        timestamp: inputs.now,
        start_date: Some(start),
        end_date: Some(date_of(inputs.now.saturating_sub(ONE_DAY_SECONDS))),
        rewards,
        xdr_conversion_rate: Some(XdrConversionRate {
            xdr_permyriad_per_icp: Some(rate),
            timestamp_seconds: inputs.average_rate.timestamp_seconds,
        }),
        maximum_node_provider_rewards_e8s: Some(inputs.maximum_node_provider_rewards_e8s),
    }
}

/// Why a reward is not minted, if it is not: nothing to pay, or more than
/// one provider may get in a month (as the NNS refuses it).
pub fn refusal(reward: &RewardNodeProvider, maximum_e8s: u64) -> Option<String> {
    if reward.amount_e8s == 0 {
        return Some("nothing to pay".into());
    }
    (reward.amount_e8s > maximum_e8s).then(|| {
        format!(
            "the reward {} e8s is greater than the maximum {maximum_e8s} e8s",
            reward.amount_e8s
        )
    })
}

/// The months within `filter`, newest first, at most
/// [`MAX_LIST_NODE_PROVIDER_REWARDS_RESULTS`].
pub fn within<'a>(
    months: impl DoubleEndedIterator<Item = &'a MonthlyNodeProviderRewards>,
    filter: Option<DateRangeFilter>,
) -> Vec<MonthlyNodeProviderRewards> {
    let filter = filter.unwrap_or_default();
    let start = filter.start_timestamp_seconds.unwrap_or(0);
    let end = filter.end_timestamp_seconds.unwrap_or(u64::MAX);
    months
        .rev()
        .filter(|m| (start..=end).contains(&m.timestamp))
        .take(MAX_LIST_NODE_PROVIDER_REWARDS_RESULTS)
        .cloned()
        .collect()
}

/// The UTC date of a time in seconds since the epoch.
pub fn date_of(seconds: u64) -> DateUtc {
    let (year, month, day) = civil_date::from_days((seconds / ONE_DAY_SECONDS) as i64);
    DateUtc {
        year: year as u32,
        month,
        day,
    }
}

/// Days since the epoch of a date (the inverse of [`date_of`]).
pub fn days_of(date: DateUtc) -> u64 {
    civil_date::to_days(i64::from(date.year), date.month, date.day).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(n: u8) -> NodeProvider {
        NodeProvider {
            id: Some(Principal::from_slice(&[n; 29])),
            reward_account: None,
        }
    }

    fn inputs(xdr: Vec<(Principal, u64)>, average: u64) -> MonthInputs {
        MonthInputs {
            now: 1_796_083_200,
            previous_end: None,
            previous_timestamp: None,
            xdr_permyriad_by_provider: xdr,
            registry_version: Some(3),
            average_rate: XdrConversionRate {
                xdr_permyriad_per_icp: Some(average),
                timestamp_seconds: Some(1_796_000_000),
            },
            minimum_icp_xdr_rate: 100,
            maximum_node_provider_rewards_e8s: 1_000_000 * 100_000_000,
        }
    }

    #[test]
    fn a_month_converts_xdr_at_the_average_rate_but_never_below_the_minimum() {
        let (a, b, c) = (provider(1), provider(2), provider(3));
        let xdr = vec![
            (a.id.unwrap(), 30_000 * 10_000),
            (b.id.unwrap(), 873 * 10_000),
            // Unknown to governance: left out.
            (Principal::from_slice(&[9; 29]), 5_000 * 10_000),
        ];
        let month = monthly_rewards(vec![a.clone(), b, c], &inputs(xdr.clone(), 20_000));
        let amounts: Vec<u64> = month.rewards.iter().map(|r| r.amount_e8s).collect();
        // 30 000 XDR at 2 XDR/ICP = 15 000 ICP; 873 XDR = 436.5 ICP; 0.
        assert_eq!(amounts, vec![15_000 * 100_000_000, 43_650_000_000, 0]);
        assert_eq!(month.rewards.len(), 3);
        assert_eq!(
            month.xdr_conversion_rate.unwrap().xdr_permyriad_per_icp,
            Some(20_000)
        );
        assert_eq!(month.minimum_xdr_permyriad_per_icp, Some(10_000));
        // Below the minimum (1 XDR): converted at the minimum.
        let cheap = monthly_rewards(vec![a.clone()], &inputs(xdr, 4_000));
        assert_eq!(cheap.rewards[0].amount_e8s, 30_000 * 100_000_000);
        // Paid to the principal's main account without a reward account.
        let Some(RewardMode::RewardToAccount(to)) = &cheap.rewards[0].reward_mode else {
            panic!("to an account");
        };
        assert_eq!(
            to.to_account.as_ref().unwrap().hash.as_ref(),
            AccountIdentifier::new(&a.id.unwrap(), None)
                .as_bytes()
                .to_vec()
        );
    }

    #[test]
    fn initial_providers_are_checked() {
        assert!(initial(vec![provider(1), provider(2)]).is_ok());
        assert!(
            initial(vec![provider(1), provider(1)])
                .unwrap_err()
                .contains("twice")
        );
        let no_id = NodeProvider {
            id: None,
            reward_account: None,
        };
        assert!(initial(vec![no_id]).is_err());
    }

    #[test]
    fn the_clock_starts_with_the_first_rewards_and_ticks_monthly() {
        assert!(!is_time_to_mint(None, u64::MAX));
        assert!(!is_time_to_mint(
            Some(100),
            100 + NODE_PROVIDER_REWARD_PERIOD_SECONDS - 1
        ));
        assert!(is_time_to_mint(
            Some(100),
            100 + NODE_PROVIDER_REWARD_PERIOD_SECONDS
        ));
    }

    #[test]
    fn rewards_above_the_maximum_or_of_nothing_are_not_minted() {
        let reward = |amount_e8s| RewardNodeProvider {
            node_provider: Some(provider(1)),
            reward_mode: None,
            amount_e8s,
        };
        assert!(refusal(&reward(0), 10).is_some());
        assert!(
            refusal(&reward(11), 10)
                .unwrap()
                .contains("greater than the maximum")
        );
        assert!(refusal(&reward(10), 10).is_none());
    }

    #[test]
    fn changes_need_an_identified_provider_and_a_valid_account() {
        assert!(validate_change(None).is_err());
        let no_id = Change::ToAdd(NodeProvider {
            id: None,
            reward_account: None,
        });
        assert!(validate_change(Some(&no_id)).is_err());
        let bad = NodeProvider {
            reward_account: Some(nns_api::governance::AccountIdentifier {
                hash: vec![0; 32].into(),
            }),
            ..provider(1)
        };
        let e = validate_change(Some(&Change::ToAdd(bad.clone()))).unwrap_err();
        assert_eq!(e.error_type, ErrorType::InvalidProposal as i32);
        // A removal names the provider; its account does not matter.
        assert!(validate_change(Some(&Change::ToRemove(bad))).is_ok());
        let add = Change::ToAdd(provider(1));
        let remove = Change::ToRemove(provider(1));
        let known = |_: &Principal| true;
        let unknown = |_: &Principal| false;
        let precondition = ErrorType::PreconditionFailed;
        assert!(check_change_against(&add, known, 1, precondition).is_err());
        assert!(check_change_against(&add, unknown, 1, precondition).is_ok());
        assert!(check_change_against(&add, unknown, MAX_NODE_PROVIDERS, precondition).is_err());
        let e = check_change_against(&remove, unknown, 1, precondition).unwrap_err();
        assert!(
            e.error_message
                .contains("must target an existing Node Provider")
        );
        assert!(check_change_against(&remove, known, 1, precondition).is_ok());
    }

    #[test]
    fn dates_round_trip_and_months_follow_each_other() {
        // 2026-12-01 00:00 UTC.
        assert_eq!(
            date_of(1_796_083_200),
            DateUtc {
                year: 2026,
                month: 12,
                day: 1
            }
        );
        assert_eq!(
            date_of(951_782_400),
            DateUtc {
                year: 2000,
                month: 2,
                day: 29
            }
        );
        for day in (0..40_000u64).step_by(37) {
            assert_eq!(days_of(date_of(day * ONE_DAY_SECONDS)), day);
        }
        let mut next = inputs(vec![], 20_000);
        next.previous_end = Some(DateUtc {
            year: 2026,
            month: 10,
            day: 31,
        });
        let month = monthly_rewards(vec![], &next);
        // From the day after the last month's end to yesterday.
        assert_eq!(
            month.start_date,
            Some(DateUtc {
                year: 2026,
                month: 11,
                day: 1
            })
        );
        assert_eq!(
            month.end_date,
            Some(DateUtc {
                year: 2026,
                month: 11,
                day: 30
            })
        );
    }

    #[test]
    fn listings_are_newest_first_within_the_filter_and_bounded() {
        let months: Vec<MonthlyNodeProviderRewards> = (0..30u64)
            .map(|i| {
                monthly_rewards(
                    vec![],
                    &MonthInputs {
                        now: 1_000 + i,
                        ..inputs(vec![], 1)
                    },
                )
            })
            .collect();
        let all = within(months.iter(), None);
        assert_eq!(all.len(), MAX_LIST_NODE_PROVIDER_REWARDS_RESULTS);
        assert_eq!(all[0].timestamp, 1_029);
        let some = within(
            months.iter(),
            Some(DateRangeFilter {
                start_timestamp_seconds: Some(1_003),
                end_timestamp_seconds: Some(1_005),
            }),
        );
        let times: Vec<u64> = some.iter().map(|m| m.timestamp).collect();
        assert_eq!(times, vec![1_005, 1_004, 1_003]);
    }
}
