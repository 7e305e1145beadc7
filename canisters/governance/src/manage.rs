//! `manage_neuron` and the mints that come due: the checks and state changes
//! are [`Governance`](crate::governance::Governance)'s; this module makes the
//! ledger calls between them. Each `await` follows a committed `begin_*`,
//! and the neurons involved stay locked until the command is over, even if
//! a callback traps (the lock guard is dropped by the call's cleanup).

use crate::governance::Governance;
use crate::governance::{BalanceRead, Transfer};
use crate::neuron::Destination;
use crate::state::{self, Memory};
use candid::Principal;
use canister_common::ledger_client::{self, CallFailure};
use nns_api::AccountIdentifier;
use nns_api::governance::{
    ClaimOrRefreshResponse, DisburseMaturityResponse, DisburseResponse, Empty, ErrorType,
    GovernanceError, MakeProposalResponse, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, ManageNeuronRequest, NeuronId, NeuronIdOrSubaccount,
    ProposalId, RefreshVotingPowerResponse, SetFollowingResponse, SpawnResponse,
    StakeMaturityResponse, Vote,
};
use std::cell::Cell;

type Result<T> = std::result::Result<T, GovernanceError>;

fn error(kind: ErrorType, message: impl Into<String>) -> GovernanceError {
    GovernanceError::new(kind, message)
}

pub fn now_seconds() -> u64 {
    ic_cdk::api::time() / 1_000_000_000
}

/// Unlocks neurons when dropped: when the command returns, or when the
/// future is dropped because a callback trapped.
struct Unlock(Vec<u64>);

impl Drop for Unlock {
    fn drop(&mut self) {
        state::mutate(|g| self.0.iter().for_each(|&id| g.unlock(id)));
    }
}

/// Releases a balance read's lock when dropped, as [`Unlock`] does.
struct EndRead(BalanceRead);

impl Drop for EndRead {
    fn drop(&mut self) {
        state::mutate(|g| g.end_read(&self.0));
    }
}

/// How a ledger transfer ended.
enum Sent {
    Done(u64),
    /// The ledger certainly moved nothing: undo the committed effect.
    Failed(GovernanceError),
    /// The ledger may have moved the ICP: keep the committed effect (the
    /// neuron shows less than its account holds until a refresh).
    Unknown(GovernanceError),
}

async fn send(transfer: Transfer, memo: u64) -> Sent {
    let ledger = state::read_config(|c| c.ledger_canister_id);
    let result = ledger_client::transfer(
        ledger,
        transfer.from_subaccount,
        transfer.to,
        transfer.amount_e8s,
        transfer.fee_e8s,
        memo,
    )
    .await;
    match result {
        Ok(Ok(block)) => Sent::Done(block),
        Ok(Err(e)) => Sent::Failed(error(
            ErrorType::External,
            format!("the ledger refused the transfer: {e:?}"),
        )),
        Err(failure) if failure.may_have_acted => Sent::Unknown(external(failure)),
        Err(failure) => Sent::Failed(external(failure)),
    }
}

/// Makes `transfer`; if the ledger certainly moved nothing, applies `undo`
/// to give back what the command committed.
pub(crate) async fn send_or_undo(
    transfer: Transfer,
    memo: u64,
    undo: impl FnOnce(&mut Governance<Memory>),
) -> Result<u64> {
    match send(transfer, memo).await {
        Sent::Done(block) => Ok(block),
        Sent::Failed(e) => {
            state::mutate(undo);
            Err(e)
        }
        Sent::Unknown(e) => Err(e),
    }
}

fn external(failure: CallFailure) -> GovernanceError {
    error(
        ErrorType::External,
        format!("the ledger call failed: {failure}"),
    )
}

/// The neuron a request names, by `neuron_id_or_subaccount` or `id`.
fn named_neuron(request: &ManageNeuronRequest) -> Result<u64> {
    let by_field = match &request.neuron_id_or_subaccount {
        None => None,
        Some(NeuronIdOrSubaccount::NeuronId(id)) => Some(id.id),
        Some(NeuronIdOrSubaccount::Subaccount(bytes)) => {
            let subaccount: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                error(
                    ErrorType::InvalidCommand,
                    format!("a subaccount has 32 bytes, not {}", bytes.len()),
                )
            })?;
            Some(
                state::read(|g| g.neurons().id_by_subaccount(&subaccount))
                    .ok_or_else(|| error(ErrorType::NotFound, "no neuron has that subaccount"))?,
            )
        }
    };
    match (by_field, request.id) {
        (Some(a), Some(b)) if a != b.id => Err(error(
            ErrorType::InvalidCommand,
            "`id` and `neuron_id_or_subaccount` name different neurons",
        )),
        (Some(id), _) | (None, Some(NeuronId { id })) => Ok(id),
        (None, None) => Err(error(ErrorType::InvalidCommand, "no neuron named")),
    }
}

fn account_identifier(hash: &[u8]) -> Result<AccountIdentifier> {
    AccountIdentifier::from_slice(hash).map_err(|e| {
        error(
            ErrorType::InvalidCommand,
            format!("bad account identifier: {e:?}"),
        )
    })
}

/// `simulate_manage_neuron`: what a `Merge` would leave, computed by
/// committing it and undoing it within this one message (no ledger call,
/// nothing changed); every other command is refused, as on the NNS. The
/// merge's own checks apply (controller of both, no open proposal).
pub fn simulate_manage_neuron(caller: Principal, request: ManageNeuronRequest) -> Result<Reply> {
    let Some(Command::Merge(merge)) = &request.command else {
        return Err(error(
            ErrorType::InvalidCommand,
            "Simulating manage_neuron is not supported for this request type",
        ));
    };
    let target = named_neuron(&request)?;
    let source = merge
        .source_neuron_id
        .ok_or_else(|| error(ErrorType::InvalidCommand, "no source neuron"))?
        .id;
    let now = now_seconds();
    let economics = state::read_config(|c| c.economics.clone());
    state::mutate(|g| {
        let plan = g.begin_merge(&caller, target, source, economics.transaction_fee_e8s, now)?;
        let rules = crate::economics::VotingPowerRules::of(&economics);
        let after = crate::views::merge_response(g, target, source, &rules, now);
        g.undo_merge(&plan);
        g.unlock(target);
        g.unlock(source);
        Ok(Reply::Merge(Box::new(after?)))
    })
}

pub async fn manage_neuron(caller: Principal, mut request: ManageNeuronRequest) -> Result<Reply> {
    let command = request
        .command
        .take()
        .ok_or_else(|| error(ErrorType::InvalidCommand, "no command"))?;
    let now = now_seconds();
    let economics = state::read_config(|c| c.economics.clone());
    let fee = economics.transaction_fee_e8s;
    match command {
        Command::ClaimOrRefresh(c) => {
            use nns_api::governance::By;
            let read = match c.by {
                Some(By::MemoAndController(m)) => state::mutate(|g| {
                    g.begin_claim_or_refresh(m.controller.unwrap_or(caller), m.memo, now)
                })?,
                Some(By::Memo(memo)) => {
                    state::mutate(|g| g.begin_claim_or_refresh(caller, memo, now))?
                }
                Some(By::NeuronIdOrSubaccount {}) => {
                    let id = named_neuron(&request)?;
                    state::mutate(|g| g.begin_refresh(id))?
                }
                None => return Err(error(ErrorType::InvalidCommand, "`by` is missing")),
            };
            let id = claim_or_refresh(read).await?;
            Ok(Reply::ClaimOrRefresh(ClaimOrRefreshResponse {
                refreshed_neuron_id: Some(NeuronId { id }),
            }))
        }
        Command::Configure(c) => {
            let id = named_neuron(&request)?;
            let operation = c
                .operation
                .ok_or_else(|| error(ErrorType::InvalidCommand, "no operation"))?;
            state::mutate(|g| g.configure(&caller, id, operation, &economics, now))?;
            Ok(Reply::Configure(Empty {}))
        }
        Command::Follow(f) => {
            let id = named_neuron(&request)?;
            let followees = f.followees.iter().map(|n| n.id).collect();
            state::mutate(|g| g.follow(&caller, id, f.topic, followees, now))?;
            Ok(Reply::Follow(Empty {}))
        }
        Command::SetFollowing(f) => {
            let id = named_neuron(&request)?;
            let topics = f
                .topic_following
                .unwrap_or_default()
                .into_iter()
                .map(|t| {
                    let topic = t
                        .topic
                        .ok_or_else(|| error(ErrorType::InvalidCommand, "a topic is missing"))?;
                    let followees = t
                        .followees
                        .unwrap_or_default()
                        .iter()
                        .map(|n| n.id)
                        .collect();
                    Ok((topic, followees))
                })
                .collect::<Result<Vec<_>>>()?;
            state::mutate(|g| g.set_following(&caller, id, topics, now))?;
            Ok(Reply::SetFollowing(SetFollowingResponse {}))
        }
        Command::RefreshVotingPower(_) => {
            let id = named_neuron(&request)?;
            state::mutate(|g| g.refresh_voting_power(&caller, id, now))?;
            Ok(Reply::RefreshVotingPower(RefreshVotingPowerResponse {}))
        }
        Command::StakeMaturity(s) => {
            let id = named_neuron(&request)?;
            let (maturity_e8s, staked_maturity_e8s) =
                state::mutate(|g| g.stake_maturity(&caller, id, s.percentage_to_stake))?;
            Ok(Reply::StakeMaturity(StakeMaturityResponse {
                maturity_e8s,
                staked_maturity_e8s,
            }))
        }
        Command::Spawn(s) => {
            let id = named_neuron(&request)?;
            let child = state::mutate(|g| g.spawn(&caller, id, s, &economics, now))?;
            Ok(Reply::Spawn(SpawnResponse {
                created_neuron_id: Some(NeuronId { id: child }),
            }))
        }
        Command::DisburseMaturity(d) => {
            let id = named_neuron(&request)?;
            let destination = match (d.to_account, d.to_account_identifier) {
                (Some(_), Some(_)) => {
                    return Err(error(
                        ErrorType::InvalidCommand,
                        "give `to_account` or `to_account_identifier`, not both",
                    ));
                }
                (Some(account), None) => {
                    let owner = account.owner.ok_or_else(|| {
                        error(ErrorType::InvalidCommand, "`to_account` has no owner")
                    })?;
                    let subaccount = account
                        .subaccount
                        .map(|s| <[u8; 32]>::try_from(s.as_slice()))
                        .transpose()
                        .map_err(|_| {
                            error(ErrorType::InvalidCommand, "a subaccount has 32 bytes")
                        })?;
                    Some(Destination::Account { owner, subaccount })
                }
                (None, Some(identifier)) => Some(Destination::AccountIdentifier(
                    *account_identifier(&identifier.hash)?.as_bytes(),
                )),
                (None, None) => None,
            };
            let amount = state::mutate(|g| {
                g.disburse_maturity(&caller, id, d.percentage_to_disburse, destination, now)
            })?;
            Ok(Reply::DisburseMaturity(DisburseMaturityResponse {
                amount_disbursed_e8s: Some(amount),
            }))
        }
        Command::Disburse(d) => {
            let id = named_neuron(&request)?;
            let to = match d.to_account {
                Some(account) => account_identifier(&account.hash)?,
                None => AccountIdentifier::new(&caller, None),
            };
            let amount = d.amount.map(|a| a.e8s);
            let plan = state::mutate(|g| g.begin_disburse(&caller, id, to, amount, fee, now))?;
            let _unlock = Unlock(vec![id]);
            if let Some(burn) = plan.burn_fees {
                send_or_undo(burn, now, |g| g.undo_disburse_burn(&plan)).await?;
            }
            let block = send_or_undo(plan.payout, now, |g| g.undo_disburse_payout(&plan)).await?;
            Ok(Reply::Disburse(DisburseResponse {
                transfer_block_height: block,
            }))
        }
        Command::Split(s) => {
            let id = named_neuron(&request)?;
            let plan = state::mutate(|g| {
                g.begin_split(&caller, id, s.amount_e8s, s.memo, &economics, now)
            })?;
            let _unlock = Unlock(vec![plan.parent_id, plan.child_id]);
            send_or_undo(plan.transfer, now, |g| g.undo_split(&plan)).await?;
            Ok(Reply::Split(SpawnResponse {
                created_neuron_id: Some(NeuronId { id: plan.child_id }),
            }))
        }
        Command::MakeProposal(proposal) => {
            let proposer = named_neuron(&request)?;
            let config = state::read_config(crate::config::Config::clone);
            let body = crate::execution::validate(*proposal, &config)?;
            let (id, outcome) =
                state::mutate(|g| g.make_proposal(&caller, proposer, body, &economics, now))?;
            let outcome = finish_cascade(id, outcome).await;
            execute_if_adopted(id, outcome);
            Ok(Reply::MakeProposal(MakeProposalResponse {
                message: None,
                proposal_id: Some(ProposalId { id }),
            }))
        }
        Command::MergeMaturity(_) => Err(error(
            ErrorType::InvalidCommand,
            "MergeMaturity is retired, as on the NNS: use StakeMaturity",
        )),
        Command::DisburseToNeuron(d) => {
            let id = named_neuron(&request)?;
            let plan =
                state::mutate(|g| g.begin_disburse_to_neuron(&caller, id, d, &economics, now))?;
            let _unlock = Unlock(vec![plan.parent_id, plan.child_id]);
            send_or_undo(plan.transfer, now, |g| g.undo_split(&plan)).await?;
            state::mutate(|g| g.finish_disburse_to_neuron(&plan));
            Ok(Reply::DisburseToNeuron(SpawnResponse {
                created_neuron_id: Some(NeuronId { id: plan.child_id }),
            }))
        }
        Command::RegisterVote(v) => {
            let id = named_neuron(&request)?;
            let proposal = v
                .proposal
                .ok_or_else(|| error(ErrorType::InvalidCommand, "no proposal named"))?
                .id;
            let vote = Vote::from_i32(v.vote)
                .ok_or_else(|| error(ErrorType::InvalidCommand, "vote yes (1) or no (2)"))?;
            let outcome = state::mutate(|g| g.register_vote(&caller, id, proposal, vote, now))?;
            let outcome = finish_cascade(proposal, outcome).await;
            execute_if_adopted(proposal, outcome);
            Ok(Reply::RegisterVote(Empty {}))
        }
        Command::Merge(m) => {
            let target = named_neuron(&request)?;
            let source = m
                .source_neuron_id
                .ok_or_else(|| error(ErrorType::InvalidCommand, "no source neuron"))?
                .id;
            let plan = state::mutate(|g| g.begin_merge(&caller, target, source, fee, now))?;
            let _unlock = Unlock(vec![target, source]);
            if let Some(burn) = plan.burn_fees {
                send_or_undo(burn, now, |g| g.undo_merge(&plan)).await?;
            }
            if let Some(transfer) = plan.transfer {
                send_or_undo(transfer, now, |g| g.undo_merge_transfer(&plan)).await?;
            }
            let rules = crate::economics::VotingPowerRules::of(&economics);
            let response =
                state::read(|g| crate::views::merge_response(g, target, source, &rules, now))?;
            Ok(Reply::Merge(Box::new(response)))
        }
    }
}

/// The votes that follow a vote are cast a bounded amount per message (see
/// `Governance::continue_cascade`): while some are left for `proposal`, a
/// call to this canister ends the message, and its answer, a new message,
/// goes on. As on the NNS, the command answers once every vote is cast.
/// Each message commits what it cast; the periodic [`continue_cascades`]
/// finishes a cascade this loop could not.
async fn finish_cascade(
    proposal: u64,
    mut outcome: crate::proposals::Outcome,
) -> crate::proposals::Outcome {
    use ic_cdk::call::{Call, CallFailed};
    while state::read(|g| g.proposals.cascade_pending(proposal)) {
        // No such method: the call is answered by a reject, in a new message.
        let yielded =
            Call::bounded_wait(ic_cdk::api::canister_self(), "__vote_cascade_yield").await;
        if let Err(CallFailed::CallPerformFailed(_)) = yielded {
            // Still the same message: the timer finishes the cascade.
            break;
        }
        outcome = state::mutate(|g| g.continue_cascade(proposal, now_seconds()));
    }
    outcome
}

/// Goes on with the vote cascades left, one bounded message at a time.
pub async fn continue_cascades() {
    let now = now_seconds();
    let more = state::mutate(|g| match g.proposals.some_pending_cascade() {
        Some(proposal) => {
            g.continue_cascade(proposal, now);
            g.proposals.some_pending_cascade().is_some()
        }
        None => false,
    });
    if more {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, continue_cascades());
    }
}

/// An adopted proposal is executed in a message of its own, right away,
/// unless its execution has begun already.
fn execute_if_adopted(id: u64, outcome: crate::proposals::Outcome) {
    if outcome == crate::proposals::Outcome::Adopted && state::read(|g| g.awaits_execution(id)) {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, crate::execution::execute(id));
    }
}

/// Reads the staking account's balance and claims or refreshes with it.
async fn claim_or_refresh(read: BalanceRead) -> Result<u64> {
    let _unlock = EndRead(read);
    let ledger = state::read_config(|c| c.ledger_canister_id);
    let account = AccountIdentifier::new(&ic_cdk::api::canister_self(), Some(&read.subaccount));
    match ledger_client::account_balance(ledger, account).await {
        Ok(balance) => {
            let economics = state::read_config(|c| c.economics.clone());
            state::mutate(|g| g.finish_claim_or_refresh(read, balance, &economics, now_seconds()))
        }
        Err(failure) => {
            state::mutate(|g| g.abort_claim_or_refresh(read));
            Err(external(failure))
        }
    }
}

pub async fn claim_or_refresh_from_account(
    caller: Principal,
    controller: Option<Principal>,
    memo: u64,
) -> Result<u64> {
    let read = state::mutate(|g| {
        g.begin_claim_or_refresh(controller.unwrap_or(caller), memo, now_seconds())
    })?;
    claim_or_refresh(read).await
}

/// How long a failed mint waits before it is tried again.
pub const MINT_RETRY_SECONDS: u64 = 60;
/// Mints made per timer run; when more are due, the next run follows at
/// once (in a message of its own) rather than a minute later.
const MINTS_PER_RUN: usize = 100;

thread_local! {
    static MINTING: Cell<bool> = const { Cell::new(false) };
}

/// Mints the spawns and maturity disbursements that are due, one at a time,
/// each taken (and committed) just before it is sent.
pub async fn mint_due_maturity() {
    if MINTING.with(|m| m.replace(true)) {
        return;
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            MINTING.with(|m| m.set(false));
        }
    }
    let _done = Done;
    // Minted with a fresh modulation: read it first when a day old (or
    // never read, as right after an upgrade).
    if state::read(|g| {
        g.maturity_modulation_due(now_seconds()) && g.next_due().is_some_and(|t| t <= now_seconds())
    }) {
        crate::execution::refresh_maturity_modulation().await;
    }
    let mut made = 0;
    while made < MINTS_PER_RUN {
        let now = now_seconds();
        let Some(mint) = state::mutate(|g| g.take_next_due_mint(now)) else {
            break;
        };
        made += 1;
        let _unlock = Unlock(vec![mint.neuron_id()]);
        // A mint whose outcome is unknown counts as made: never mint twice.
        let retry_at = now + MINT_RETRY_SECONDS;
        let _ = send_or_undo(mint.transfer(), now, |g| {
            g.undo_maturity_mint(&mint, retry_at)
        })
        .await;
    }
    // A backlog (a day of disbursements finalized together) drains without
    // waiting a minute per hundred. Only after a full run: when the due
    // mints left are of neurons busy with another ledger call (or put back
    // to retry), the next run is the timer's, not a loop of empty ones.
    if made == MINTS_PER_RUN && state::read(|g| g.next_due().is_some_and(|t| t <= now_seconds())) {
        ic_cdk_timers::set_timer(std::time::Duration::ZERO, mint_due_maturity());
    }
}
