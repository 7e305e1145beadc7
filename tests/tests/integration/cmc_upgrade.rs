//! Governance upgrades the CMC while a notification is in flight: as the
//! NNS root does, it stops the CMC first (the notification completes),
//! installs and starts it again, so that no block is left `Processing`.

use candid::{Decode, Encode, Nat};
use integration_tests::env::{Backend, query_candid};
use integration_tests::nns::{ICP, NnsEnv, user};
use integration_tests::{install_cmc, on_both_backends, wasm_gz_path};
use nns_api::AccountIdentifier;
use nns_api::account_identifier::principal_to_subaccount;
use nns_api::cmc::{
    CyclesCanisterInitPayload, MEMO_TOP_UP, NotifyError, NotifyTopUpArg, cycles_for_e8s,
};
use nns_api::governance::{
    InstallCodeRequest, MakeProposalRequest, ManageNeuronCommandRequest as Command,
    ManageNeuronCommandResponse as Reply, ProposalActionRequest, ProposalInfo, ProposalStatus,
};
use nns_api::ids::{CYCLES_MINTING_CANISTER_ID, GOVERNANCE_CANISTER_ID};

on_both_backends!(should_stop_the_cmc_before_upgrading_it_and_finish_notifications_in_flight);

const RATE: u64 = 35_000;

fn upgrade_proposal() -> MakeProposalRequest {
    let wasm = std::fs::read(wasm_gz_path("cmc")).unwrap();
    MakeProposalRequest {
        url: String::new(),
        title: Some("Upgrade the CMC".into()),
        action: Some(ProposalActionRequest::InstallCode(InstallCodeRequest {
            canister_id: Some(CYCLES_MINTING_CANISTER_ID),
            install_mode: Some(3),
            wasm_module: Some(wasm.into()),
            arg: Some(Encode!(&None::<CyclesCanisterInitPayload>).unwrap().into()),
            skip_stopping_before_installing: None,
        })),
        summary: String::new(),
    }
}

fn should_stop_the_cmc_before_upgrading_it_and_finish_notifications_in_flight(backend: Backend) {
    // The notification is submitted 0, 1, 2… rounds after the proposal is
    // adopted, so that one of them is in flight when the code changes.
    for delay in 0..4 {
        let mut nns = NnsEnv::new(backend);
        install_cmc(&mut nns.pic, RATE, None);
        // One neuron: its proposal is adopted at once.
        let neuron = nns.locked_neuron(user(1), 0, 40 * ICP);
        let app = nns.pic.create_canister();
        let block = nns.transfer_with_memo(
            user(2),
            AccountIdentifier::new(
                &CYCLES_MINTING_CANISTER_ID,
                Some(&principal_to_subaccount(&app)),
            ),
            ICP,
            MEMO_TOP_UP,
        );
        let reply = nns
            .manage(
                user(1),
                neuron,
                Command::MakeProposal(Box::new(upgrade_proposal())),
            )
            .unwrap();
        let Reply::MakeProposal(made) = reply else {
            panic!("{reply:?}")
        };
        let id = made.proposal_id.unwrap().id;
        for _ in 0..delay {
            nns.pic.tick();
        }
        let arg = Encode!(&NotifyTopUpArg {
            block_index: block,
            canister_id: app,
        })
        .unwrap();
        let answer = nns
            .pic
            .submit_call(CYCLES_MINTING_CANISTER_ID, user(2), "notify_top_up", arg)
            .and_then(|notify| nns.pic.await_call(notify))
            .map(|reply| Decode!(&reply, Result<Nat, NotifyError>).unwrap());
        for _ in 0..10 {
            nns.pic.tick();
        }
        let (info,): (Option<ProposalInfo>,) = query_candid(
            &mut nns.pic,
            GOVERNANCE_CANISTER_ID,
            "get_proposal_info",
            (id,),
        )
        .unwrap();
        let info = info.unwrap();
        assert_eq!(
            info.status,
            ProposalStatus::Executed as i32,
            "delay {delay}: {:?}",
            info.failure_reason
        );
        // Whatever the answer in flight, the block has a final status.
        let expected = Ok(Nat::from(cycles_for_e8s(ICP, RATE)));
        let again = integration_tests::env::update_candid_as::<_, (Result<Nat, NotifyError>,)>(
            &mut nns.pic,
            CYCLES_MINTING_CANISTER_ID,
            user(2),
            "notify_top_up",
            (NotifyTopUpArg {
                block_index: block,
                canister_id: app,
            },),
        )
        .unwrap()
        .0;
        assert_eq!(again, expected, "delay {delay}: first answer {answer:?}");
        // Submitted while the CMC was stopping, the call is turned away
        // untouched; otherwise it completes before the code changes.
        match answer {
            Ok(answer) => assert_eq!(answer, expected, "delay {delay}"),
            Err(reject) => assert!(
                reject.reject_message.contains("stopping")
                    || reject.reject_message.contains("stopped"),
                "delay {delay}: {reject}"
            ),
        }
    }
}
