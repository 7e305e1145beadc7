//! Every reply of governance's queries and of `manage_neuron`, for each
//! command, decoded with the official NNS governance interface (the `.did`
//! in `@icp-sdk/canisters`) as the type, dynamically with `candid_parser`:
//! what a client of the real canister reads, not our own Rust types.

use candid::types::{Type, TypeEnv};
use candid::{Encode, Principal};
use candid_parser::IDLArgs;
use candid_parser::utils::CandidSource;
use integration_tests::env::Backend;
use integration_tests::nns::{ICP, NnsEnv, ONE_YEAR, configure, disburse_all, request, user};
use nns_api::governance::{
    By, ClaimOrRefresh, DisburseMaturity, DisburseToNeuron, Follow, FolloweesForTopic,
    GetPendingProposalsRequest, IncreaseDissolveDelay, ListNeurons, ListProposalInfoRequest,
    MakeProposalRequest, ManageNeuronCommandRequest as Command, Merge, Motion, NeuronId,
    NeuronIdOrSubaccount, Operation, ProposalActionRequest, ProposalId, RefreshVotingPower,
    RegisterVote, SetFollowing, SetVisibility, Spawn, Split, StakeMaturity, Vote,
    staking_subaccount,
};
use nns_api::ids::GOVERNANCE_CANISTER_ID;
use std::time::Duration;

struct Official {
    env: TypeEnv,
    service: Type,
}

impl Official {
    fn load() -> Option<Self> {
        let path = integration_tests::repo_root()
            .join("tests/js/node_modules/@icp-sdk/canisters/declarations/nns/governance.did");
        if !path.exists() {
            eprintln!(
                "skipped: {} is missing; run `npm ci --prefix tests/js`",
                path.display()
            );
            return None;
        }
        let (env, service) = CandidSource::File(&path).load().unwrap();
        Some(Self {
            env,
            service: service.expect("a service"),
        })
    }

    /// Decodes `reply` as the official return types of `method`.
    fn decode(&self, method: &str, reply: &[u8]) -> IDLArgs {
        let function = self.env.get_method(&self.service, method).unwrap();
        IDLArgs::from_bytes_with_types(reply, &self.env, &function.rets).unwrap_or_else(|e| {
            panic!("{method}'s reply does not decode as the official type: {e}")
        })
    }
}

struct Checked {
    official: Official,
    env: NnsEnv,
    checked: Vec<String>,
}

impl Checked {
    fn query(&mut self, caller: Principal, method: &str, arg: Vec<u8>) -> IDLArgs {
        let reply = self
            .env
            .pic
            .query_call(GOVERNANCE_CANISTER_ID, caller, method, arg)
            .unwrap_or_else(|e| panic!("{method}: {e:?}"));
        self.checked.push(method.to_string());
        self.official.decode(method, &reply)
    }

    /// `manage_neuron` with `command` on `neuron`, its reply decoded as the
    /// official `ManageNeuronResponse`; returns the reply as text.
    fn manage(&mut self, caller: Principal, neuron: Option<u64>, command: Command) -> String {
        let name = format!("{command:?}");
        let name = name.split(['(', ' ', '{']).next().unwrap().to_string();
        let arg = Encode!(&request(neuron, command)).unwrap();
        let reply = self
            .env
            .pic
            .update_call(GOVERNANCE_CANISTER_ID, caller, "manage_neuron", arg)
            .unwrap_or_else(|e| panic!("manage_neuron {name}: {e:?}"));
        let decoded = self.official.decode("manage_neuron", &reply);
        self.checked.push(format!("manage_neuron {name}"));
        decoded.to_string()
    }
}

#[test]
fn every_governance_reply_decodes_as_the_official_interface() {
    let Some(official) = Official::load() else {
        return;
    };
    let mut c = Checked {
        official,
        env: NnsEnv::new(Backend::Runtime),
        checked: vec![],
    };
    let (me, other) = (user(1), user(2));
    let a = c.env.locked_neuron(me, 1, 300 * ICP);
    let b = c.env.locked_neuron(other, 2, 50 * ICP);
    let merged = c.env.locked_neuron(me, 3, 30 * ICP);

    // manage_neuron, command by command.
    c.env.stake(me, 9, 3 * ICP);
    let claim = Command::ClaimOrRefresh(ClaimOrRefresh {
        by: Some(By::Memo(9)),
    });
    assert!(c.manage(me, None, claim).contains("refreshed_neuron_id"));
    let delay = IncreaseDissolveDelay {
        additional_dissolve_delay_seconds: 86_400,
    };
    c.manage(
        me,
        Some(a),
        configure(Operation::IncreaseDissolveDelay(delay)),
    );
    let public = SetVisibility {
        visibility: Some(2),
    };
    c.manage(me, Some(a), configure(Operation::SetVisibility(public)));
    c.manage(other, Some(b), configure(Operation::JoinCommunityFund {}));
    // Joined already: an `Error` reply.
    c.manage(other, Some(b), configure(Operation::JoinCommunityFund {}));
    let follow = Command::Follow(Follow {
        topic: 2,
        followees: vec![NeuronId { id: a }],
    });
    c.manage(other, Some(b), follow);
    let set_following = Command::SetFollowing(SetFollowing {
        topic_following: Some(vec![FolloweesForTopic {
            topic: Some(4),
            followees: Some(vec![NeuronId { id: a }]),
        }]),
    });
    c.manage(other, Some(b), set_following);
    let motion = motion_request();
    let made = c.manage(me, Some(a), Command::MakeProposal(Box::new(motion.clone())));
    assert!(made.contains("proposal_id"), "{made}");
    let open = c.manage(me, Some(merged), Command::MakeProposal(Box::new(motion)));
    let vote = Command::RegisterVote(RegisterVote {
        vote: Vote::Yes as i32,
        proposal: Some(ProposalId { id: 1 }),
    });
    c.manage(other, Some(b), vote);
    c.manage(
        me,
        Some(a),
        Command::RefreshVotingPower(RefreshVotingPower {}),
    );
    let split = Command::Split(Split {
        amount_e8s: 2 * ICP,
        memo: Some(77),
    });
    c.manage(me, Some(a), split);
    let merge = Command::Merge(Merge {
        source_neuron_id: Some(NeuronId { id: merged }),
    });
    // Refused (its proposal is open): an `Error` reply, decoded too.
    let refused = c.manage(me, Some(a), merge.clone());
    assert!(refused.contains("error_type"), "{refused} after {open}");
    // Rewards for the motion's voters, then maturity commands.
    c.env.pic.advance_time(Duration::from_secs(5 * 24 * 3600));
    for _ in 0..5 {
        c.env.pic.tick();
    }
    let stake = Command::StakeMaturity(StakeMaturity {
        percentage_to_stake: Some(10),
    });
    c.manage(me, Some(a), stake);
    let spawn = Command::Spawn(Spawn {
        percentage_to_spawn: Some(50),
        new_controller: None,
        nonce: Some(5),
    });
    c.manage(me, Some(a), spawn);
    let disburse_maturity = Command::DisburseMaturity(DisburseMaturity {
        percentage_to_disburse: 100,
        to_account: None,
        to_account_identifier: None,
    });
    c.manage(me, Some(a), disburse_maturity);
    let to_neuron = Command::DisburseToNeuron(DisburseToNeuron {
        dissolve_delay_seconds: ONE_YEAR,
        kyc_verified: true,
        amount_e8s: 2 * ICP,
        new_controller: Some(other),
        nonce: 3,
    });
    c.manage(me, Some(a), to_neuron);
    c.manage(me, Some(a), Command::MergeMaturity(candid::Reserved));
    let dissolved = c.env.dissolved_neuron(user(3), 4, 5 * ICP);
    c.manage(user(3), Some(dissolved), disburse_all());

    // Every query, as the controller and as a stranger.
    for caller in [me, Principal::anonymous()] {
        c.query(caller, "get_neuron_info", Encode!(&a).unwrap());
        let by = NeuronIdOrSubaccount::Subaccount(staking_subaccount(&me, 1).to_vec().into());
        c.query(
            caller,
            "get_neuron_info_by_id_or_subaccount",
            Encode!(&by).unwrap(),
        );
        c.query(caller, "get_full_neuron", Encode!(&a).unwrap());
        c.query(
            caller,
            "get_full_neuron_by_id_or_subaccount",
            Encode!(&by).unwrap(),
        );
        let list = ListNeurons {
            neuron_ids: vec![a, b, merged],
            include_neurons_readable_by_caller: true,
            include_empty_neurons_readable_by_caller: Some(true),
            include_public_neurons_in_full_neurons: Some(true),
            page_number: None,
            page_size: None,
            neuron_subaccounts: None,
        };
        c.query(caller, "list_neurons", Encode!(&list).unwrap());
        c.query(caller, "get_neuron_ids", Encode!().unwrap());
        c.query(caller, "get_proposal_info", Encode!(&1u64).unwrap());
        let proposals = ListProposalInfoRequest {
            include_reward_status: vec![],
            omit_large_fields: Some(true),
            before_proposal: None,
            limit: 0,
            exclude_topic: vec![],
            include_all_manage_neuron_proposals: None,
            include_status: vec![],
            return_self_describing_action: None,
        };
        c.query(caller, "list_proposals", Encode!(&proposals).unwrap());
        c.query(
            caller,
            "get_pending_proposals",
            Encode!(&None::<GetPendingProposalsRequest>).unwrap(),
        );
        c.query(caller, "get_latest_reward_event", Encode!().unwrap());
        c.query(
            caller,
            "get_network_economics_parameters",
            Encode!().unwrap(),
        );
        c.query(caller, "list_known_neurons", Encode!().unwrap());
        c.query(caller, "get_build_metadata", Encode!().unwrap());
        // Counted once a day by the proposal timer: there by now.
        let metrics = c
            .query(caller, "get_metrics", Encode!().unwrap())
            .to_string();
        assert!(metrics.contains("total_staked_e8s"), "{metrics}");
    }
    // The merge, once the source's proposal is decided: simulated first
    // (decoded too), then made; the simulation shows what the merge leaves.
    c.env.pic.advance_time(Duration::from_secs(5 * 24 * 3600));
    for _ in 0..3 {
        c.env.pic.tick();
    }
    let untouched = (c.env.neuron(a), c.env.neuron(merged));
    let simulate = Encode!(&request(Some(a), merge.clone())).unwrap();
    let simulated = c
        .env
        .pic
        .update_call(
            GOVERNANCE_CANISTER_ID,
            me,
            "simulate_manage_neuron",
            simulate,
        )
        .unwrap();
    c.official.decode("simulate_manage_neuron", &simulated);
    let simulated: nns_api::governance::ManageNeuronResponse =
        candid::decode_one(&simulated).unwrap();
    let before = c.env.neuron(a);
    assert_eq!(
        (before.clone(), c.env.neuron(merged)),
        untouched,
        "simulated only"
    );
    let merged_reply = c.manage(me, Some(a), merge);
    assert!(
        merged_reply.contains("target_neuron_info"),
        "{merged_reply}"
    );
    let after = c.env.neuron(a);
    let Some(nns_api::governance::ManageNeuronCommandResponse::Merge(simulated)) =
        simulated.command
    else {
        panic!("not a merge: {simulated:?}")
    };
    let target = simulated.target_neuron.unwrap();
    assert_eq!(
        target.cached_neuron_stake_e8s,
        after.cached_neuron_stake_e8s
    );
    assert_ne!(
        before.cached_neuron_stake_e8s,
        after.cached_neuron_stake_e8s
    );
    assert_eq!(target.dissolve_state, after.dissolve_state);
    // A known neuron's votes.
    let known = MakeProposalRequest {
        action: Some(ProposalActionRequest::RegisterKnownNeuron(
            nns_api::governance::KnownNeuron {
                id: Some(NeuronId { id: a }),
                known_neuron_data: Some(nns_api::governance::KnownNeuronData {
                    name: "Alpha".into(),
                    description: None,
                    links: None,
                }),
            },
        )),
        ..motion_request()
    };
    c.manage(me, Some(a), Command::MakeProposal(Box::new(known)));
    for _ in 0..3 {
        c.env.pic.tick();
    }
    let votes = nns_api::governance::ListNeuronVotesRequest {
        neuron_id: Some(NeuronId { id: a }),
        before_proposal: None,
        limit: None,
    };
    let listed = c.query(me, "list_neuron_votes", Encode!(&votes).unwrap());
    let text = listed.to_string();
    assert!(
        text.contains("Yes") && text.contains("proposal_id"),
        "{text}"
    );
    let commands: std::collections::BTreeSet<&str> = c
        .checked
        .iter()
        .filter_map(|m| m.strip_prefix("manage_neuron "))
        .collect();
    let every_command = [
        "ClaimOrRefresh",
        "Configure",
        "Disburse",
        "DisburseMaturity",
        "DisburseToNeuron",
        "Follow",
        "MakeProposal",
        "Merge",
        "MergeMaturity",
        "RefreshVotingPower",
        "RegisterVote",
        "SetFollowing",
        "Spawn",
        "Split",
        "StakeMaturity",
    ];
    assert_eq!(commands, every_command.into_iter().collect());
}

fn motion_request() -> MakeProposalRequest {
    MakeProposalRequest {
        url: String::new(),
        title: Some("Decode everything".into()),
        action: Some(ProposalActionRequest::Motion(Motion {
            motion_text: "Decode.".into(),
        })),
        summary: String::new(),
    }
}
