//! How neurons look through the interface: the full `Neuron` for its
//! controller and hot keys, the public `NeuronInfo` for everyone, and
//! `list_neurons` paging.

use crate::economics::VotingPowerRules;
use crate::governance::Governance;
use crate::neuron::{Destination, DissolveState, Neuron};
use crate::proposals::ProposalState;
use candid::Principal;
use ic_stable_structures::Memory;
use nns_api::governance as api;
use nns_api::governance::{
    NetworkEconomics, NeuronState, ProposalRewardStatus, ProposalStatus, Vote,
};
use serde_bytes::ByteBuf;

/// The most neurons one `list_neurons` page holds, as on the NNS.
pub const MAX_LIST_NEURONS_RESULTS: u64 = 500;

pub fn state(neuron: &Neuron, now: u64) -> NeuronState {
    if neuron.is_spawning() {
        NeuronState::Spawning
    } else if neuron.is_dissolving(now) {
        NeuronState::Dissolving
    } else if neuron.is_dissolved(now) {
        NeuronState::Dissolved
    } else {
        NeuronState::NotDissolving
    }
}

fn dissolve_state(state: DissolveState) -> api::DissolveState {
    match state {
        DissolveState::DissolveDelaySeconds(d) => api::DissolveState::DissolveDelaySeconds(d),
        DissolveState::WhenDissolvedTimestampSeconds(t) => {
            api::DissolveState::WhenDissolvedTimestampSeconds(t)
        }
    }
}

pub fn full_neuron(
    neuron: &Neuron,
    extras: Extras,
    rules: &VotingPowerRules,
    now: u64,
) -> api::Neuron {
    let Extras {
        known,
        recent_ballots,
        public,
    } = extras;
    let power = neuron.voting_power(now, rules);
    api::Neuron {
        id: Some(api::NeuronId { id: neuron.id }),
        controller: Some(neuron.controller),
        hot_keys: neuron.hot_keys.clone(),
        account: ByteBuf::from(neuron.subaccount.to_vec()),
        cached_neuron_stake_e8s: neuron.cached_neuron_stake_e8s,
        neuron_fees_e8s: neuron.neuron_fees_e8s,
        created_timestamp_seconds: neuron.created_timestamp_seconds,
        aging_since_timestamp_seconds: neuron.aging_since_timestamp_seconds,
        dissolve_state: Some(dissolve_state(neuron.dissolve_state)),
        maturity_e8s_equivalent: neuron.maturity_e8s_equivalent,
        staked_maturity_e8s_equivalent: (neuron.staked_maturity_e8s_equivalent > 0)
            .then_some(neuron.staked_maturity_e8s_equivalent),
        auto_stake_maturity: neuron.auto_stake_maturity.then_some(true),
        followees: neuron
            .followees
            .iter()
            .map(|(topic, ids)| {
                let followees = ids.iter().map(|&id| api::NeuronId { id }).collect();
                (*topic, api::Followees { followees })
            })
            .collect(),
        recent_ballots,
        kyc_verified: true,
        not_for_profit: false,
        neuron_type: None,
        spawn_at_timestamp_seconds: neuron.spawn_at_timestamp_seconds,
        voting_power_refreshed_timestamp_seconds: Some(
            neuron.voting_power_refreshed_timestamp_seconds,
        ),
        deciding_voting_power: Some(power.deciding),
        potential_voting_power: Some(power.potential),
        eight_year_gang_bonus_base_e8s: gang_base(neuron),
        visibility: shown_visibility(neuron, public),
        joined_community_fund_timestamp_seconds: neuron.joined_community_fund_timestamp_seconds,
        known_neuron_data: known,
        maturity_disbursements_in_progress: Some(
            neuron
                .maturity_disbursements
                .iter()
                .map(|d| {
                    let (account, identifier) = match d.destination {
                        Destination::Account { owner, subaccount } => (
                            Some(api::Account {
                                owner: Some(owner),
                                subaccount: subaccount.map(|s| ByteBuf::from(s.to_vec())),
                            }),
                            None,
                        ),
                        Destination::AccountIdentifier(bytes) => (
                            None,
                            Some(api::AccountIdentifier {
                                hash: ByteBuf::from(bytes.to_vec()),
                            }),
                        ),
                    };
                    api::MaturityDisbursement {
                        amount_e8s: Some(d.amount_e8s),
                        timestamp_of_disbursement_seconds: Some(d.disbursed_at_seconds),
                        finalize_disbursement_timestamp_seconds: Some(d.finalize_at_seconds),
                        account_to_disburse_to: account,
                        account_identifier_to_disburse_to: identifier,
                    }
                })
                .collect(),
        ),
    }
}

/// What a neuron's views show beside the neuron itself.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    pub known: Option<api::KnownNeuronData>,
    pub recent_ballots: Vec<api::BallotInfo>,
    /// Public by its choice or as a known neuron.
    pub public: bool,
}

/// A merge's reply: both neurons, in full and as their public view, as
/// they are now (after the merge, or its simulation).
pub fn merge_response<M: Memory>(
    governance: &Governance<M>,
    target: u64,
    source: u64,
    rules: &VotingPowerRules,
    now: u64,
) -> Result<api::MergeResponse, api::GovernanceError> {
    let views = |id| {
        governance.neuron(id).map(|n| {
            let extras = extras(governance, &n);
            (
                full_neuron(&n, extras.clone(), rules, now),
                neuron_info(&n, extras, true, rules, now),
            )
        })
    };
    let (target_neuron, target_info) = views(target)?;
    let (source_neuron, source_info) = views(source)?;
    Ok(api::MergeResponse {
        target_neuron: Some(target_neuron),
        source_neuron: Some(source_neuron),
        target_neuron_info: Some(target_info),
        source_neuron_info: Some(source_info),
    })
}

/// The extras of a neuron shown alone: its known-neuron data too.
pub fn extras<M: Memory>(governance: &Governance<M>, neuron: &Neuron) -> Extras {
    Extras {
        known: governance.known_neuron(neuron.id),
        ..listed_extras(
            governance,
            neuron,
            &governance.recent_proposals(),
            &mut Default::default(),
        )
    }
}

/// The extras of a neuron in a listing (no known-neuron data, as the NNS),
/// its ballots read among `recent` proposals, which the listing reads once,
/// through `cursor` (the listing goes by ascending id).
fn listed_extras<M: Memory>(
    governance: &Governance<M>,
    neuron: &Neuron,
    recent: &[u64],
    cursor: &mut crate::ballots::PageCursor,
) -> Extras {
    Extras {
        known: None,
        recent_ballots: governance.recent_ballots(neuron.id, recent, cursor),
        public: governance.is_public(neuron),
    }
}

/// The visibility a view reports: public as a known neuron, else its own.
fn shown_visibility(neuron: &Neuron, public: bool) -> Option<i32> {
    Some(if public {
        crate::neuron::VISIBILITY_PUBLIC
    } else {
        neuron.visibility
    })
}

/// The public view of a neuron. A stranger (`in_full` false: not its
/// controller or a hot key) sees neither the recent ballots of a private
/// neuron nor when it joined the Neurons' Fund, as on the NNS.
pub fn neuron_info(
    neuron: &Neuron,
    extras: Extras,
    in_full: bool,
    rules: &VotingPowerRules,
    now: u64,
) -> api::NeuronInfo {
    let shown = in_full || extras.public;
    let Extras {
        known,
        recent_ballots,
        public,
    } = extras;
    let power = neuron.voting_power(now, rules);
    let deciding = power.deciding;
    api::NeuronInfo {
        id: Some(api::NeuronId { id: neuron.id }),
        dissolve_delay_seconds: neuron.dissolve_delay_seconds(now),
        recent_ballots: if shown { recent_ballots } else { vec![] },
        neuron_type: None,
        created_timestamp_seconds: neuron.created_timestamp_seconds,
        state: state(neuron, now) as i32,
        stake_e8s: neuron.minted_stake_e8s(),
        retrieved_at_timestamp_seconds: now,
        age_seconds: neuron.age_seconds(now),
        voting_power: deciding,
        voting_power_refreshed_timestamp_seconds: Some(
            neuron.voting_power_refreshed_timestamp_seconds,
        ),
        deciding_voting_power: Some(deciding),
        potential_voting_power: Some(power.potential),
        staked_maturity_e8s_equivalent: (neuron.staked_maturity_e8s_equivalent > 0)
            .then_some(neuron.staked_maturity_e8s_equivalent),
        eight_year_gang_bonus_base_e8s: gang_base(neuron),
        visibility: shown_visibility(neuron, public),
        joined_community_fund_timestamp_seconds: neuron
            .joined_community_fund_timestamp_seconds
            .filter(|_| shown),
        known_neuron_data: known,
    }
}

fn gang_base(neuron: &Neuron) -> Option<u64> {
    (neuron.eight_year_gang_bonus_base_e8s > 0).then_some(neuron.eight_year_gang_bonus_base_e8s)
}

/// `list_neurons`: the neurons asked for by id or subaccount, plus (if
/// asked) those the caller controls or holds a hot key of, one page of them
/// in id order; full neurons only for those the caller may read (and, if
/// asked, the public ones).
pub fn list_neurons<M: Memory>(
    governance: &Governance<M>,
    caller: &Principal,
    request: &api::ListNeurons,
    economics: &NetworkEconomics,
    now: u64,
) -> api::ListNeuronsResponse {
    let store = governance.neurons();
    let page_size = request
        .page_size
        .unwrap_or(MAX_LIST_NEURONS_RESULTS)
        .clamp(1, MAX_LIST_NEURONS_RESULTS);
    let page = request.page_number.unwrap_or(0);
    let first = page.saturating_mul(page_size);
    let include_empty = request
        .include_empty_neurons_readable_by_caller
        .unwrap_or(false);
    let explicit = explicit_ids(store, request);
    let own = request.include_neurons_readable_by_caller;
    // The caller's neurons are read from the index in order and merged with
    // the requested ones: a page reads the index only up to its own end
    // (empty neurons listed under the caller included, when they are left
    // out), and the total comes from the counts, not from a full scan.
    let listed = || {
        own.then(|| store.ids_listed_under(caller, include_empty))
            .into_iter()
            .flatten()
    };
    let total = match store.counts_of(caller).filter(|_| own) {
        Some((listed, holding)) => {
            let not_listed = explicit
                .iter()
                .filter(|&&id| !store.lists(caller, id, include_empty))
                .count() as u64;
            (if include_empty { listed } else { holding }) + not_listed
        }
        // Without the caller's neurons, or while the counts are being built.
        None => merge_sorted(explicit.iter().copied(), listed()).count() as u64,
    };
    let skip = usize::try_from(first).unwrap_or(usize::MAX);
    let ids: Vec<u64> = merge_sorted(explicit.iter().copied(), listed())
        .skip(skip)
        .take(page_size as usize)
        .collect();
    let mut response = api::ListNeuronsResponse {
        neuron_infos: vec![],
        full_neurons: vec![],
        total_pages_available: Some(total.div_ceil(page_size)),
    };
    let rules = VotingPowerRules::of(economics);
    let recent = governance.recent_proposals();
    let mut cursor = crate::ballots::PageCursor::default();
    for id in ids {
        let Some(neuron) = store.get(id) else {
            continue;
        };
        // As the NNS: known neurons' data only from the single-neuron
        // queries (and `list_known_neurons`).
        let authorized = neuron.is_authorized_to_vote(caller);
        let shown = listed_extras(governance, &neuron, &recent, &mut cursor);
        response.neuron_infos.push((
            id,
            neuron_info(&neuron, shown.clone(), authorized, &rules, now),
        ));
        // Public neurons in full too, when asked, as on the NNS.
        let public_asked =
            shown.public && request.include_public_neurons_in_full_neurons == Some(true);
        if authorized || public_asked {
            response
                .full_neurons
                .push(full_neuron(&neuron, shown, &rules, now));
        }
    }
    response
}

/// The ids a listing names (by id or by subaccount), in order, without
/// repeats; bounded by the request's size.
fn explicit_ids<M: Memory>(
    store: &crate::neuron_store::NeuronStore<M>,
    request: &api::ListNeurons,
) -> Vec<u64> {
    let mut ids: Vec<u64> = request.neuron_ids.clone();
    for s in request.neuron_subaccounts.iter().flatten() {
        if let Some(id) = <[u8; 32]>::try_from(s.subaccount.as_slice())
            .ok()
            .and_then(|s| store.id_by_subaccount(&s))
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The union of two ascending sequences, ascending, without repeats.
fn merge_sorted(
    a: impl Iterator<Item = u64>,
    b: impl Iterator<Item = u64>,
) -> impl Iterator<Item = u64> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek().copied(), b.peek().copied()) {
        (Some(x), Some(y)) if x == y => {
            b.next();
            a.next()
        }
        (Some(x), Some(y)) if x < y => a.next(),
        (Some(_), Some(_)) | (None, _) => b.next(),
        (Some(_), None) => a.next(),
    })
}

/// The most proposals one `list_proposals` reply holds.
pub const MAX_LIST_PROPOSALS: u32 = 100;

fn proposal_status(s: &ProposalState) -> ProposalStatus {
    if !s.is_decided() {
        ProposalStatus::Open
    } else if !s.adopted {
        ProposalStatus::Rejected
    } else if s.executed_seconds != 0 {
        ProposalStatus::Executed
    } else if s.failed_seconds != 0 {
        ProposalStatus::Failed
    } else {
        ProposalStatus::Adopted
    }
}

fn reward_status(s: &ProposalState, now: u64) -> ProposalRewardStatus {
    if s.reward_event_round != 0 {
        ProposalRewardStatus::Settled
    } else if now < s.deadline_seconds {
        ProposalRewardStatus::AcceptVotes
    } else {
        ProposalRewardStatus::ReadyToSettle
    }
}

/// A proposal as `get_proposal_info` shows it, with the ballots of the
/// caller's own neurons (all ballots would be one per neuron).
pub fn proposal_info<M: Memory>(
    governance: &Governance<M>,
    id: u64,
    caller: &Principal,
    now: u64,
    omit_large_fields: bool,
) -> Option<api::ProposalInfo> {
    let state = governance.proposals.state(id)?;
    let body = governance.proposals.body(id)?;
    let mut proposal = body.proposal;
    if let (true, Some(api::Action::ExecuteNnsFunction(f))) =
        (omit_large_fields, proposal.action.as_mut())
        && f.payload.len() > EXECUTE_NNS_FUNCTION_PAYLOAD_LISTING_BYTES_MAX
    {
        f.payload = ByteBuf::new();
    }
    let ballots = governance
        .neurons()
        .ids_of(caller, None, MAX_LIST_NEURONS_RESULTS as usize)
        .into_iter()
        .filter_map(|neuron| {
            let b = governance.proposals.ballots.get(id, neuron)?;
            Some((
                neuron,
                api::Ballot {
                    vote: b.vote,
                    voting_power: b.voting_power,
                },
            ))
        })
        .collect();
    Some(api::ProposalInfo {
        id: Some(api::ProposalId { id }),
        proposer: Some(api::NeuronId { id: state.proposer }),
        proposal: Some(Box::new(proposal)),
        topic: state.topic,
        status: proposal_status(&state) as i32,
        reward_status: reward_status(&state, now) as i32,
        ballots,
        latest_tally: Some(state.tally()),
        proposal_timestamp_seconds: state.created_seconds,
        deadline_timestamp_seconds: Some(state.deadline_seconds),
        decided_timestamp_seconds: state.decided_seconds,
        executed_timestamp_seconds: state.executed_seconds,
        failed_timestamp_seconds: state.failed_seconds,
        failure_reason: body.failure_reason,
        reject_cost_e8s: state.reject_cost_e8s,
        reward_event_round: state.reward_event_round,
        total_potential_voting_power: Some(state.total_potential_voting_power),
    })
}

/// As on the NNS, replies that list proposals leave out `ExecuteNnsFunction`
/// payloads above this size (`get_proposal_info` shows them in full).
pub const EXECUTE_NNS_FUNCTION_PAYLOAD_LISTING_BYTES_MAX: usize = 1_000;

/// What the proposals of one listing may add up to, encoded: below the
/// IC's 2 MiB limit for replies to other canisters (3 MiB for ingress).
/// A proposal is at most ~45 KB once its payload is left out (title,
/// summary, url, motion text at their limits) plus its caller's ballots.
pub const MAX_LISTING_BYTES: usize = 1_500_000;

/// A bound on the encoded size of `info` (fields and Candid overhead).
pub fn encoded_size_bound(info: &api::ProposalInfo) -> usize {
    let proposal = info.proposal.as_deref().map_or(0, |p| {
        let action = match &p.action {
            Some(api::Action::Motion(m)) => m.motion_text.len(),
            Some(api::Action::ExecuteNnsFunction(f)) => f.payload.len(),
            Some(api::Action::InstallCode(_)) => 200,
            Some(api::Action::ManageNetworkEconomics(_)) => 200,
            Some(api::Action::RewardNodeProvider(_)) => 200,
            Some(api::Action::AddOrRemoveNodeProvider(_)) => 200,
            Some(api::Action::RewardNodeProviders(r)) => 200 + 200 * r.rewards.len(),
            // Name, description and links at their limits.
            Some(api::Action::RegisterKnownNeuron(_)) => 4_500,
            Some(api::Action::DeregisterKnownNeuron(_)) => 50,
            // Its texts and logo (bounded at submission) and numbers.
            Some(api::Action::CreateServiceNervousSystem(c)) => {
                candid::encode_one(c).map_or(0, |bytes| bytes.len())
            }
            None => 0,
        };
        p.title.as_ref().map_or(0, String::len) + p.summary.len() + p.url.len() + action
    });
    let failure = info
        .failure_reason
        .as_ref()
        .map_or(0, |e| e.error_message.len());
    // Per ballot: a neuron id, a vote and a voting power, with tags.
    512 + proposal + failure + 32 * info.ballots.len()
}

/// Keeps the leading proposals that fit in [`MAX_LISTING_BYTES`] (at
/// least one): the caller pages on from the last one it got.
fn within_reply_limit(infos: impl Iterator<Item = api::ProposalInfo>) -> Vec<api::ProposalInfo> {
    let mut total = 0;
    let mut kept = vec![];
    for info in infos {
        total += encoded_size_bound(&info);
        if total > MAX_LISTING_BYTES && !kept.is_empty() {
            break;
        }
        kept.push(info);
    }
    kept
}

/// `list_proposals`: newest first, before `before_proposal`, filtered by
/// topic, status and reward status, at most `limit` (≤ 100) and no more
/// than fit in a reply; large payloads left out, as on the NNS.
pub fn list_proposals<M: Memory>(
    governance: &Governance<M>,
    caller: &Principal,
    request: &api::ListProposalInfoRequest,
    now: u64,
) -> api::ListProposalInfoResponse {
    let before = request.before_proposal.map_or(u64::MAX, |p| p.id);
    // As the NNS: 0 (or more than the maximum) means the maximum.
    let limit = match request.limit {
        0 => MAX_LIST_PROPOSALS,
        n => n.min(MAX_LIST_PROPOSALS),
    } as usize;
    let infos = governance
        .proposals
        .states
        .range(..before)
        .rev()
        .filter(|e| {
            let s = e.value();
            !request.exclude_topic.contains(&s.topic)
                && (request.include_status.is_empty()
                    || request
                        .include_status
                        .contains(&(proposal_status(&s) as i32)))
                && (request.include_reward_status.is_empty()
                    || request
                        .include_reward_status
                        .contains(&(reward_status(&s, now) as i32)))
        })
        .take(limit)
        .filter_map(|e| proposal_info(governance, *e.key(), caller, now, true));
    api::ListProposalInfoResponse {
        proposal_info: within_reply_limit(infos),
    }
}

/// The proposals still open for a decision, oldest first, as many as fit
/// in a reply; large payloads left out, as on the NNS.
pub fn pending_proposals<M: Memory>(
    governance: &Governance<M>,
    caller: &Principal,
    now: u64,
) -> Vec<api::ProposalInfo> {
    let infos = governance
        .proposals
        .unfinished()
        .into_iter()
        .filter(|id| {
            governance
                .proposals
                .state(*id)
                .is_some_and(|s| !s.is_decided())
        })
        .filter_map(|id| proposal_info(governance, id, caller, now, true));
    within_reply_limit(infos)
}

/// The most ids `get_neuron_ids` returns: its reply stays far below the
/// IC's reply limits, and its cost bounded, however many neurons name the
/// caller as a hot key (anyone may add any principal as a hot key).
pub const MAX_NEURON_IDS: usize = 50_000;

/// `get_neuron_ids`: the neurons the caller controls or holds a hot key
/// of, in id order, at most [`MAX_NEURON_IDS`] (`list_neurons` pages
/// through all of them).
pub fn neuron_ids<M: Memory>(governance: &Governance<M>, caller: &Principal) -> Vec<u64> {
    governance.neurons().ids_of(caller, None, MAX_NEURON_IDS)
}

/// The most votes `list_neuron_votes` returns at once, as the NNS.
pub const MAX_NEURON_VOTES: u64 = 500;

/// `list_neuron_votes`: a known neuron's votes, newest proposal first,
/// before `before` (a page token), at most `limit` (≤ 500): its ballots on
/// the proposals still kept, abstentions (`Unspecified`) on those decided.
/// As on the NNS, only known neurons' votes are listed.
pub fn list_neuron_votes<M: Memory>(
    governance: &Governance<M>,
    request: &nns_api::governance::ListNeuronVotesRequest,
) -> nns_api::governance::ListNeuronVotesResponse {
    use nns_api::governance::{
        ErrorType, GovernanceError, ListNeuronVotesResponse, NeuronVote, NeuronVotes, ProposalId,
        RecordedVote,
    };
    let refuse = |message: &str| {
        ListNeuronVotesResponse::Err(GovernanceError::new(ErrorType::PreconditionFailed, message))
    };
    let Some(neuron) = request.neuron_id.map(|n| n.id) else {
        return refuse("Neuron ID is required");
    };
    if governance.known_neuron(neuron).is_none() {
        return refuse("Neuron is not a known neuron");
    }
    let limit = request
        .limit
        .filter(|l| *l > 0)
        .unwrap_or(MAX_NEURON_VOTES)
        .min(MAX_NEURON_VOTES) as usize;
    let before = request.before_proposal.map_or(u64::MAX, |p| p.id);
    let proposals = &governance.proposals;
    let votes: Vec<NeuronVote> = proposals
        .states
        .range(..before)
        .rev()
        .filter_map(|entry| {
            let id = *entry.key();
            let ballot = proposals.ballots.get(id, neuron)?;
            let vote = match Vote::from_i32(ballot.vote)? {
                Vote::Yes => RecordedVote::Yes,
                Vote::No => RecordedVote::No,
                Vote::Unspecified if entry.value().is_decided() => RecordedVote::Unspecified,
                Vote::Unspecified => return None,
            };
            Some(NeuronVote {
                proposal_id: Some(ProposalId { id }),
                vote: Some(vote),
            })
        })
        .take(limit)
        .collect();
    let oldest_kept = proposals.states.first_key_value().map(|(id, _)| id);
    ListNeuronVotesResponse::Ok(NeuronVotes {
        votes: Some(votes),
        all_finalized_before_proposal: oldest_kept.map(|id| ProposalId { id }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::Governance;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    fn ids(response: &api::ListNeuronsResponse) -> Vec<u64> {
        response.neuron_infos.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn get_neuron_ids_is_bounded_however_many_neurons_name_the_caller() {
        let mut g = Governance::for_tests();
        let victim = p(9);
        for id in 1..=MAX_NEURON_IDS as u64 + 10 {
            let mut n = Neuron::new(id, p(1), id_subaccount(id), 100, 0);
            n.hot_keys.push(victim);
            g.insert_for_tests(n);
        }
        let ids = neuron_ids(&g, &victim);
        assert_eq!(ids.len(), MAX_NEURON_IDS);
        assert_eq!(ids[0], 1);
    }

    #[test]
    fn merging_keeps_order_and_drops_repeats() {
        let merged: Vec<u64> =
            merge_sorted([1, 3, 5, 9].into_iter(), [2, 3, 4, 9, 10].into_iter()).collect();
        assert_eq!(merged, vec![1, 2, 3, 4, 5, 9, 10]);
        assert_eq!(merge_sorted([].into_iter(), [7].into_iter()).count(), 1);
    }

    #[test]
    fn a_listing_of_named_and_own_neurons_pages_their_union() {
        let mut g = Governance::for_tests();
        let (owner, other) = (p(1), p(2));
        for id in 1..=10 {
            let controller = if id % 2 == 0 { owner } else { other };
            g.insert_for_tests(Neuron::new(id, controller, id_subaccount(id), 100, 0));
        }
        // 2, 4, 6, 8, 10 are the owner's; 3 and 4 are named as well.
        let request = |page: u64| api::ListNeurons {
            neuron_ids: vec![4, 3, 4],
            include_neurons_readable_by_caller: true,
            page_size: Some(3),
            page_number: Some(page),
            ..Default::default()
        };
        let economics = NetworkEconomics::default();
        let first = list_neurons(&g, &owner, &request(0), &economics, 0);
        let second = list_neurons(&g, &owner, &request(1), &economics, 0);
        assert_eq!(ids(&first), vec![2, 3, 4]);
        assert_eq!(ids(&second), vec![6, 8, 10]);
        assert_eq!(first.total_pages_available, Some(2));
        // Only the owner's neurons are shown in full.
        assert_eq!(first.full_neurons.len(), 2);
    }

    fn id_subaccount(id: u64) -> [u8; 32] {
        let mut s = [0; 32];
        s[..8].copy_from_slice(&id.to_be_bytes());
        s
    }

    #[test]
    fn listings_leave_out_large_payloads_and_stop_before_the_reply_limit() {
        let big = |k: u64| api::ProposalInfo {
            id: Some(api::ProposalId { id: k }),
            proposal: Some(Box::new(api::Proposal {
                url: String::new(),
                title: Some("t".into()),
                summary: "s".repeat(30_000),
                action: None,
            })),
            proposer: None,
            topic: 4,
            status: 1,
            reward_status: 1,
            ballots: vec![],
            latest_tally: None,
            proposal_timestamp_seconds: 0,
            deadline_timestamp_seconds: None,
            decided_timestamp_seconds: 0,
            executed_timestamp_seconds: 0,
            failed_timestamp_seconds: 0,
            failure_reason: None,
            reject_cost_e8s: 0,
            reward_event_round: 0,
            total_potential_voting_power: None,
        };
        let kept = within_reply_limit((0..100).map(big));
        assert!(kept.len() < 100 && !kept.is_empty());
        let size: usize = kept.iter().map(encoded_size_bound).sum();
        assert!(size <= MAX_LISTING_BYTES);
        let encoded = candid::encode_one(&kept).unwrap();
        assert!(encoded.len() <= size, "the bound bounds");
    }

    #[test]
    fn counted_pages_are_the_pages_of_the_full_listing() {
        let mut g = Governance::for_tests();
        for id in 1..=25u64 {
            let stake = if id % 3 == 0 { 0 } else { 100 };
            let owner = if id % 5 == 0 { p(2) } else { p(1) };
            g.insert_for_tests(Neuron::new(id, owner, [id as u8; 32], stake, 0));
        }
        let economics = NetworkEconomics::default();
        for include_empty in [false, true] {
            for page_size in [1, 4, 7, 100] {
                for page in 0..8 {
                    let request = api::ListNeurons {
                        neuron_ids: vec![],
                        include_neurons_readable_by_caller: true,
                        include_empty_neurons_readable_by_caller: Some(include_empty),
                        include_public_neurons_in_full_neurons: None,
                        page_number: Some(page),
                        page_size: Some(page_size),
                        neuron_subaccounts: None,
                    };
                    let counted = list_neurons(&g, &p(1), &request, &economics, 0);
                    // Naming one of the caller's own neurons changes nothing but
                    // takes the path that reads the whole index.
                    let full_request = api::ListNeurons {
                        neuron_ids: vec![1],
                        ..request
                    };
                    let full = list_neurons(&g, &p(1), &full_request, &economics, 0);
                    assert_eq!(
                        ids(&counted),
                        ids(&full),
                        "{include_empty} {page_size} {page}"
                    );
                    assert_eq!(counted.total_pages_available, full.total_pages_available);
                    assert_eq!(counted.full_neurons, full.full_neurons);
                }
            }
        }
    }
}
