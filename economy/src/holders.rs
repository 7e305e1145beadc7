//! The holders: neurons staked, configured and followed as on mainnet,
//! proposals made and voted on (directly and through following), maturity
//! disbursed and dissolved neurons paid out.

use crate::{
    DAY_SECONDS, E8S_PER_ICP, Economy, TOPIC_ALL, TOPIC_GOVERNANCE, TOPIC_SNS_AND_NEURONS_FUND,
};
use candid::{Encode, Principal};
use nns_api::cmc::{CyclesCanisterInitPayload, UpdateIcpXdrConversionRatePayload};
use nns_api::governance::{
    Disburse, DisburseMaturity, DissolveState, ExecuteNnsFunction, Followees, InstallCodeRequest,
    MakeProposalRequest, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, ManageNeuronRequest, ManageNeuronResponse, Motion,
    Neuron, NeuronId, NeuronIdOrSubaccount, ProposalActionRequest, ProposalId, RefreshVotingPower,
    RegisterVote, Vote, nns_function, staking_subaccount,
};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID};
use nns_harness::candid_cache;
use nns_harness::wasm_gz_path;

/// Holders that look at their neuron on one day, at most (about). An
/// assumption (no public figure): at 100 000 neurons a holder collecting its
/// maturity does so every 66 days. The ICP minted from maturity over a year
/// is nearly the same as with twice as many disbursements, each half as
/// large (2 % less, the last weeks' maturity still held), for half the
/// messages, which were most of a day's work.
const UPKEEP_PER_DAY: usize = 1_000;

/// Days between a holder's confirmations of its following. As on the NNS,
/// a neuron that has not voted itself, set its following or refreshed its
/// voting power for six months sees its deciding voting power fade, and
/// loses its following a month later; the NNS dapp asks holders to
/// confirm before. Assumed: every holder does, every five months.
const CONFIRM_FOLLOWING_EVERY_DAYS: usize = 150;

/// A simulated neuron: a cohort of mainnet's.
pub struct Holder {
    pub owner: Principal,
    pub neuron: u64,
    /// Dissolving from the start: disbursed when dissolved.
    pub dissolving: bool,
    /// Votes itself instead of following the leader.
    pub independent: bool,
    pub auto_stake: bool,
    pub disbursed: bool,
    /// Locked long enough to make proposals (six months).
    pub may_propose: bool,
}

/// How a neuron is set up at the start.
pub struct NeuronPlan {
    pub owner: Principal,
    pub stake_e8s: u64,
    pub delay_days: u64,
}

impl NeuronPlan {
    /// The neuron as governance starts with it (the init argument), and
    /// the holder behind it, set up as mainnet's are: most follow the
    /// leader (neuron 1) on every topic (catch-all, motions and SNS &
    /// Neurons' Fund), a share vote themselves; an eighth of the short ones
    /// dissolve, a fifth of the others lend their maturity to the Neurons'
    /// Fund, a third auto-stake it. `index` 0 is the leader, public as a
    /// followed neuron must be.
    pub fn genesis(
        &self,
        index: usize,
        direct_voter_percent: u64,
        rng: &mut crate::Rng,
        now: u64,
    ) -> (Neuron, Holder) {
        let id = index as u64 + 1;
        let h = index as u64;
        let leader = index == 0;
        let dissolving = !leader && self.delay_days < 365 && h % 8 == 7;
        let independent = !leader && !dissolving && rng.chance(direct_voter_percent);
        let auto_stake = h % 3 == 1;
        let delay = self.delay_days * DAY_SECONDS;
        let dissolve_state = if dissolving {
            DissolveState::WhenDissolvedTimestampSeconds(now + delay)
        } else {
            DissolveState::DissolveDelaySeconds(delay)
        };
        let followees = if leader || dissolving || independent {
            vec![]
        } else {
            [TOPIC_ALL, TOPIC_GOVERNANCE, TOPIC_SNS_AND_NEURONS_FUND]
                .into_iter()
                .map(|topic| {
                    let followees = vec![NeuronId { id: 1 }];
                    (topic, Followees { followees })
                })
                .collect()
        };
        let neuron = Neuron {
            id: Some(NeuronId { id }),
            controller: Some(self.owner),
            account: staking_subaccount(&self.owner, 0).to_vec().into(),
            cached_neuron_stake_e8s: self.stake_e8s,
            created_timestamp_seconds: now,
            aging_since_timestamp_seconds: now,
            dissolve_state: Some(dissolve_state),
            auto_stake_maturity: Some(auto_stake),
            followees,
            hot_keys: vec![crate::auditor()],
            visibility: Some(if leader { 2 } else { 1 }),
            joined_community_fund_timestamp_seconds: (!dissolving && h.is_multiple_of(5))
                .then_some(now),
            ..Neuron::default()
        };
        let holder = Holder {
            owner: self.owner,
            neuron: id,
            dissolving,
            independent,
            auto_stake,
            disbursed: false,
            may_propose: self.delay_days >= 183,
        };
        (neuron, holder)
    }
}

/// What a command to a neuron busy with a ledger operation gets.
const BUSY: &str = "manage_neuron refused: the neuron has a ledger operation in progress";

impl Economy {
    /// A `manage_neuron` call, with `None` when the neuron is busy with a
    /// ledger operation (a mint of its maturity, say): its owner tries
    /// another day.
    fn manage_unless_busy(
        &mut self,
        caller: Principal,
        request: ManageNeuronRequest,
    ) -> Result<Option<Reply>, String> {
        self.activity.messages += 1;
        // Thousands a simulated day: their large types are computed once,
        // and a reply received before is not decoded again.
        let reply = self
            .env
            .update_call(
                GOVERNANCE_CANISTER_ID,
                caller,
                "manage_neuron",
                candid_cache::encode_one(&request),
            )
            .map_err(|e| format!("manage_neuron: {e}"))?;
        // A reply that does not decode is governance's bug, not a refusal
        // a holder shrugs off.
        let response: ManageNeuronResponse = self
            .manage_replies
            .decode_one(&reply)
            .unwrap_or_else(|e| panic!("manage_neuron: cannot decode the reply: {e}"));
        match response.command {
            Some(Reply::Error(e))
                if e.error_type == nns_api::governance::ErrorType::LedgerUpdateOngoing as i32 =>
            {
                Ok(None)
            }
            Some(Reply::Error(e)) => Err(format!("manage_neuron refused: {}", e.error_message)),
            Some(reply) => Ok(Some(reply)),
            None => Err("manage_neuron answered no command".into()),
        }
    }

    /// A command to neuron `neuron` as `caller`; `None` when it is busy.
    fn command_unless_busy(
        &mut self,
        caller: Principal,
        neuron: u64,
        command: Command,
    ) -> Result<Option<Reply>, String> {
        self.manage_unless_busy(
            caller,
            ManageNeuronRequest {
                neuron_id_or_subaccount: Some(NeuronIdOrSubaccount::NeuronId(NeuronId {
                    id: neuron,
                })),
                command: Some(command),
                id: None,
            },
        )
    }

    pub(crate) fn command(
        &mut self,
        caller: Principal,
        neuron: u64,
        command: Command,
    ) -> Result<Reply, String> {
        self.command_unless_busy(caller, neuron, command)?
            .ok_or_else(|| BUSY.to_string())
    }

    pub(crate) fn propose(
        &mut self,
        proposer: (Principal, u64),
        action: ProposalActionRequest,
        title: &str,
    ) -> Result<u64, String> {
        let request = MakeProposalRequest {
            url: "https://forum.example/economy".into(),
            title: Some(title.into()),
            action: Some(action),
            summary: format!("{title}, proposed in the simulated economy."),
        };
        let Reply::MakeProposal(made) = self.command(
            proposer.0,
            proposer.1,
            Command::MakeProposal(Box::new(request)),
        )?
        else {
            return Err("a proposal answered another command".into());
        };
        self.activity.proposals_made += 1;
        Ok(made.proposal_id.ok_or("a proposal has an id")?.id)
    }

    pub(crate) fn vote(
        &mut self,
        voter: (Principal, u64),
        proposal: u64,
        vote: Vote,
    ) -> Result<(), String> {
        self.command(
            voter.0,
            voter.1,
            Command::RegisterVote(RegisterVote {
                vote: vote as i32,
                proposal: Some(ProposalId { id: proposal }),
            }),
        )
        .map(|_| ())
    }

    /// Each day the leader proposes the ICP/XDR rate (a small random walk
    /// around the calibrated rate, as mainnet's exchange-rate updates);
    /// once a week a holder proposes a motion that the leader, and so its
    /// followers, back or oppose, and the independents vote on; halfway,
    /// the leader proposes upgrading the CMC; on the first day, the first
    /// month of node-provider rewards (governance mints the next ones).
    pub(crate) fn propose_and_vote(&mut self, day: u32) -> Result<(), String> {
        let leader = (self.leader, self.leader_neuron);
        let target = self.scenario.calibration.xdr_permyriad_per_icp;
        let rate = self.snapshot_rate();
        // Drifts at most 2 % a day, pulled back towards the calibrated rate.
        let step = self.rng.between(0, 40) as i64 - 20;
        let pull = (target as i64 - rate as i64) / 10;
        let rate = ((rate as i64 * (1_000 + step) / 1_000) + pull).max(1) as u64;
        let payload = UpdateIcpXdrConversionRatePayload {
            data_source: "simulation".into(),
            timestamp_seconds: self.env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000,
            xdr_permyriad_per_icp: rate,
            reason: None,
        };
        let action = ProposalActionRequest::ExecuteNnsFunction(ExecuteNnsFunction {
            nns_function: nns_function::ICP_XDR_CONVERSION_RATE,
            payload: Encode!(&payload).unwrap().into(),
        });
        self.propose(leader, action, "Set the ICP/XDR rate")?;
        if day == 1 {
            let action = ProposalActionRequest::RewardNodeProviders(
                nns_api::governance::RewardNodeProviders {
                    use_registry_derived_rewards: Some(true),
                    rewards: vec![],
                },
            );
            self.propose(leader, action, "Reward node providers (the first month)")?;
        }
        if day % 7 == 3 {
            let proposers: Vec<usize> = (0..self.holders.len())
                .filter(|&i| self.holders[i].may_propose && !self.holders[i].dissolving)
                .collect();
            let proposer = if proposers.is_empty() {
                leader
            } else {
                let h = &self.holders
                    [proposers[self.rng.between(0, proposers.len() as u64 - 1) as usize]];
                (h.owner, h.neuron)
            };
            let action = ProposalActionRequest::Motion(Motion {
                motion_text: format!("Motion of day {day}"),
            });
            let id = self.propose(proposer, action, "A motion")?;
            let vote = if self.rng.chance(60) {
                Vote::Yes
            } else {
                Vote::No
            };
            if proposer != leader {
                self.vote(leader, id, vote)?;
            }
            self.independents_vote(id);
        }
        if day == self.scenario.days.div_ceil(2) {
            let wasm =
                std::fs::read(wasm_gz_path("cmc")).map_err(|e| format!("cmc.wasm.gz: {e}"))?;
            let action = ProposalActionRequest::InstallCode(InstallCodeRequest {
                canister_id: Some(CYCLES_MINTING_CANISTER_ID),
                install_mode: Some(3),
                wasm_module: Some(wasm.into()),
                arg: Some(Encode!(&None::<CyclesCanisterInitPayload>).unwrap().into()),
                skip_stopping_before_installing: None,
            });
            self.propose(leader, action, "Upgrade the cycles-minting canister")?;
        }
        Ok(())
    }

    /// About half the independent holders vote on `motion`, each its own way.
    fn independents_vote(&mut self, motion: u64) {
        for i in 0..self.holders.len() {
            let h = &self.holders[i];
            if !h.independent || h.dissolving || self.rng.chance(50) {
                continue;
            }
            let voter = (h.owner, h.neuron);
            let vote = if self.rng.chance(50) {
                Vote::Yes
            } else {
                Vote::No
            };
            // The proposer has voted already, and a decided motion takes no
            // more votes: those are refused, as they should be.
            if self.vote(voter, motion, vote).is_ok() {
                self.activity.direct_votes += 1;
            }
        }
    }

    /// The holders whose confirmation falls on `day` (a
    /// [`CONFIRM_FOLLOWING_EVERY_DAYS`]th of them, each on its own day)
    /// refresh their neurons' voting power. Without it, after seven months
    /// of the run no follower would vote and the rewards would go only to
    /// the few that vote themselves.
    pub(crate) fn confirm_following(&mut self, day: u32) -> Result<(), String> {
        for i in 0..self.holders.len() {
            let h = &self.holders[i];
            if h.disbursed || !(day as usize + i).is_multiple_of(CONFIRM_FOLLOWING_EVERY_DAYS) {
                continue;
            }
            let (owner, id) = (h.owner, h.neuron);
            let refresh = Command::RefreshVotingPower(RefreshVotingPower {});
            // Governance refreshes a neuron busy with a ledger operation
            // too; were it refused, the holder would confirm next time.
            if self.command_unless_busy(owner, id, refresh)?.is_some() {
                self.activity.voting_power_refreshes += 1;
            }
        }
        Ok(())
    }

    /// Each holder with something to do (maturity it does not stake, or a
    /// dissolving neuron) looks at its neuron once a week — or, with more
    /// than [`UPKEEP_PER_DAY`] × 7 of them, every `acting / UPKEEP_PER_DAY`
    /// days, so that a day's reads stay bounded (the maturity disbursed
    /// is the same, in fewer, larger disbursements): those without
    /// auto-stake disburse their maturity (minted a week later, as on the
    /// NNS), and dissolved neurons are disbursed.
    pub(crate) fn neuron_upkeep(&mut self, day: u32) -> Result<(), String> {
        let now = self.env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000;
        // A holder whose maturity is staked and whose neuron stays locked
        // has nothing to do: it is not read.
        let acting: Vec<usize> = (0..self.holders.len())
            .filter(|&i| {
                let h = &self.holders[i];
                !h.disbursed && (h.dissolving || !h.auto_stake)
            })
            .collect();
        let period = acting.len().div_ceil(UPKEEP_PER_DAY).max(7);
        // Keyed on the holder, not its place among those acting (which
        // shifts as neurons are disbursed): each keeps its day while the
        // period does. A day's holders are neighbours (a run of holders,
        // and so of neuron ids), so that their neurons share ballot pages
        // when read together.
        let holders = self.holders.len();
        let today: Vec<usize> = acting
            .into_iter()
            .filter(|&i| i * period / holders == day as usize % period)
            .collect();
        // Read together, as the auditor: a neuron's recent ballots cost a
        // ballot-page lookup per recent proposal when read alone, and
        // neighbouring neurons share the lookups.
        let neurons =
            self.neurons_by_id(today.iter().map(|&i| self.holders[i].neuron).collect())?;
        let by_id: std::collections::HashMap<u64, crate::NeuronView> = neurons
            .into_iter()
            .filter_map(|n| Some((n.id?.id, n)))
            .collect();
        for i in today {
            let (owner, id) = (self.holders[i].owner, self.holders[i].neuron);
            let neuron = by_id.get(&id).ok_or("a holder's neuron is listed")?;
            let dissolved = matches!(
                neuron.dissolve_state,
                Some(nns_api::governance::DissolveState::WhenDissolvedTimestampSeconds(t)) if t <= now
            );
            if self.holders[i].dissolving && dissolved {
                let disburse = Command::Disburse(Disburse {
                    to_account: None,
                    amount: None,
                });
                if self.command_unless_busy(owner, id, disburse)?.is_some() {
                    self.holders[i].disbursed = true;
                    self.activity.neurons_disbursed += 1;
                }
                continue;
            }
            // Governance wants 1 ICP even at the worst modulation (−5 %).
            let worst_e8s = u128::from(neuron.maturity_e8s_equivalent) * 95 / 100;
            // One disbursement at a time, as a wallet shows the one under
            // way: governance takes at most ten.
            let in_progress = neuron
                .maturity_disbursements_in_progress
                .as_ref()
                .is_some_and(|d| !d.is_empty());
            if !self.holders[i].auto_stake && !in_progress && worst_e8s >= u128::from(E8S_PER_ICP) {
                let disburse = Command::DisburseMaturity(DisburseMaturity {
                    percentage_to_disburse: 100,
                    to_account: None,
                    to_account_identifier: None,
                });
                if self.command_unless_busy(owner, id, disburse)?.is_some() {
                    self.activity.maturity_disbursements += 1;
                }
            }
        }
        Ok(())
    }
}
