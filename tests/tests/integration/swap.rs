//! The decentralization sale end to end with the real ICP ledger: the timer
//! opens it at its start time, participants take tickets, pay into their
//! account of the sale and refresh, and the timer commits it at its
//! deadline with its minimums met; every answer as the SNS swap gives it.

use candid::{Decode, Encode, Principal};
use integration_tests::env::{Backend, TestEnv, query_candid, update_candid_as};
use integration_tests::{install_ledger, on_both_backends, wasm_gz_path};
use nns_api::AccountIdentifier;
use nns_api::ids::LEDGER_CANISTER_ID;
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use nns_api::swap::{
    Empty, ErrorRefundIcpRequest, ErrorRefundIcpResponse, FinalizeSwapResponse,
    GetAutoFinalizationStatusResponse, GetBuyerStateRequest, GetBuyerStateResponse,
    GetDerivedStateResponse, GetLifecycleResponse, GetOpenTicketResponse, Init,
    ListDirectParticipantsRequest, ListDirectParticipantsResponse, ListSnsNeuronRecipesRequest,
    ListSnsNeuronRecipesResponse, NeuronBasketConstructionParameters, NewSaleTicketRequest,
    NewSaleTicketResponse, NewSaleTicketResult, OpenTicketResult, RefreshBuyerTokensRequest,
    RefreshBuyerTokensResponse, RefundResult,
};
use std::time::Duration;

on_both_backends!(
    should_open_take_participations_and_commit_on_the_timer,
    should_refund_every_participant_when_the_sale_aborts,
    should_resume_a_finalization_stopped_between_two_transfers,
    should_finalize_itself_once_when_made_to,
    should_release_each_basket_neuron_as_it_unlocks,
    should_answer_every_method_as_the_official_interface_decodes,
    should_stop_at_the_maximum_and_refund_the_excess,
    should_count_a_payment_once_under_concurrent_refreshes,
    should_let_only_the_sale_mint_the_project_token,
);

const ICP: u64 = 100_000_000;
const FEE: u64 = 10_000;

fn user(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x5a, 1])
}

/// Where `buyer` pays: the sale's account with the buyer's subaccount
/// (the principal's length, its bytes, zeros).
fn payment_account(sale: Principal, buyer: Principal) -> AccountIdentifier {
    AccountIdentifier::new(
        &sale,
        Some(&nns_api::account_identifier::principal_to_subaccount(
            &buyer,
        )),
    )
}

fn pay(pic: &mut TestEnv, sale: Principal, from: Principal, e8s: u64) {
    pic.advance_time(Duration::from_nanos(1));
    let args = TransferArgs {
        memo: Memo(0),
        amount: Tokens::from_e8s(e8s),
        fee: Tokens::from_e8s(FEE),
        from_subaccount: None,
        to: payment_account(sale, from),
        created_at_time: None,
    };
    let (result,): (Result<u64, TransferError>,) =
        update_candid_as(pic, LEDGER_CANISTER_ID, from, "transfer", (args,)).unwrap();
    result.expect("the payment goes through");
}

fn lifecycle(pic: &mut TestEnv, sale: Principal) -> i32 {
    let (reply,): (GetLifecycleResponse,) =
        query_candid(pic, sale, "get_lifecycle", (Empty {},)).unwrap();
    reply.lifecycle.expect("a lifecycle")
}

fn new_ticket(
    pic: &mut TestEnv,
    sale: Principal,
    caller: Principal,
    e8s: u64,
) -> NewSaleTicketResult {
    let request = NewSaleTicketRequest {
        subaccount: None,
        amount_icp_e8s: e8s,
    };
    let (reply,): (NewSaleTicketResponse,) =
        update_candid_as(pic, sale, caller, "new_sale_ticket", (request,)).unwrap();
    reply.result.expect("a result")
}

fn refresh(
    pic: &mut TestEnv,
    sale: Principal,
    caller: Principal,
    buyer: &str,
) -> Result<RefreshBuyerTokensResponse, String> {
    let request = RefreshBuyerTokensRequest {
        buyer: buyer.into(),
        confirmation_text: None,
    };
    update_candid_as(pic, sale, caller, "refresh_buyer_tokens", (request,))
        .map(|(reply,): (RefreshBuyerTokensResponse,)| reply)
        .map_err(|reject| reject.reject_message)
}

/// The project's treasury, where a committed sale's ICP goes.
fn treasury() -> Principal {
    Principal::from_slice(&[0x7e, 0x5a, 1])
}

fn balance(pic: &mut TestEnv, owner: Principal) -> u64 {
    let (tokens,): (Tokens,) = query_candid(
        pic,
        LEDGER_CANISTER_ID,
        "account_balance",
        (nns_api::ledger::AccountBalanceArgs {
            account: AccountIdentifier::new(&owner, None),
        },),
    )
    .unwrap();
    tokens.e8s
}

fn finalize(pic: &mut TestEnv, sale: Principal) -> FinalizeSwapResponse {
    let (reply,): (FinalizeSwapResponse,) =
        update_candid_as(pic, sale, user(9), "finalize_swap", (Empty {},)).unwrap();
    reply
}

fn error_refund(pic: &mut TestEnv, sale: Principal, source: Principal) -> RefundResult {
    let request = ErrorRefundIcpRequest {
        source_principal_id: Some(source),
    };
    let (reply,): (ErrorRefundIcpResponse,) =
        update_candid_as(pic, sale, user(9), "error_refund_icp", (request,)).unwrap();
    reply.result.expect("a result")
}

/// The ledger with three funded users, and a sale opening in 100 s and
/// due in 1 000 s, for at least two participants and 50 ICP.
fn setup(backend: Backend) -> (TestEnv, Principal) {
    setup_with(backend, None)
}

fn setup_with(backend: Backend, should_auto_finalize: Option<bool>) -> (TestEnv, Principal) {
    let (pic, sale, _) = setup_with_token(backend, should_auto_finalize);
    (pic, sale)
}

/// The sale's tokens on the project's token ledger: all of them minted to
/// the sale's default account at install (as an SNS's are to its swap);
/// the sale is also the minting account, through a subaccount of its own.
const TOKENS: u64 = 1_000_000 * ICP;
const TOKEN_FEE: u64 = 20_000;

/// As `setup_with`, and the project's token ledger the sale releases from.
fn setup_with_token(
    backend: Backend,
    should_auto_finalize: Option<bool>,
) -> (TestEnv, Principal, Principal) {
    use icrc_ledger_types::icrc1::account::Account;
    let mut pic = TestEnv::new(backend);
    let sale = pic.create_canister();
    let token = integration_tests::install_token_ledger(
        &mut pic,
        nns_api::token_ledger::InitArgs::new(
            "Project",
            "PRJ",
            TOKEN_FEE,
            Account {
                owner: sale,
                subaccount: Some([1; 32]),
            },
            vec![
                (Account::from(sale), TOKENS),
                (Account::from(treasury()), 5 * TOKENS),
            ],
            sale,
        ),
    );
    install_ledger(&mut pic, (1..=5).map(|n| (user(n), 100 * ICP)));
    let now = pic.get_time().as_nanos_since_unix_epoch() / 1_000_000_000;
    let init = Init {
        nns_governance_canister_id: "rrkah-fqaaa-aaaaa-aaaaq-cai".into(),
        sns_governance_canister_id: treasury().to_text(),
        icp_ledger_canister_id: LEDGER_CANISTER_ID.to_text(),
        sns_ledger_canister_id: token.to_text(),
        transaction_fee_e8s: Some(TOKEN_FEE),
        swap_start_timestamp_seconds: Some(now + 100),
        swap_due_timestamp_seconds: Some(now + 1_000),
        min_participants: Some(2),
        min_direct_participation_icp_e8s: Some(50 * ICP),
        max_direct_participation_icp_e8s: Some(300 * ICP),
        min_participant_icp_e8s: Some(ICP),
        max_participant_icp_e8s: Some(120 * ICP),
        sns_token_e8s: Some(TOKENS),
        neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
            count: 3,
            dissolve_delay_interval_seconds: 86_400,
        }),
        should_auto_finalize,
        ..Default::default()
    };
    let wasm = std::fs::read(wasm_gz_path("swap")).expect("scripts/build-canisters.sh has run");
    pic.install_canister(sale, wasm, Encode!(&init).unwrap(), None);
    (pic, sale, token)
}

fn token_balance(pic: &mut TestEnv, token: Principal, owner: Principal) -> u64 {
    let account = icrc_ledger_types::icrc1::account::Account::from(owner);
    let (balance,): (candid::Nat,) =
        query_candid(pic, token, "icrc1_balance_of", (account,)).unwrap();
    u64::try_from(&balance.0).unwrap()
}

fn should_open_take_participations_and_commit_on_the_timer(backend: Backend) {
    let (mut pic, sale) = setup(backend);

    // Adopted: no ticket before the start time.
    assert_eq!(lifecycle(&mut pic, sale), 5);
    let NewSaleTicketResult::Err(error) = new_ticket(&mut pic, sale, user(1), 10 * ICP) else {
        panic!("no ticket before the sale opens");
    };
    assert_eq!(error.error_type, 1, "SALE_NOT_OPEN");

    // The timer opens it at its start time.
    pic.advance_time(Duration::from_secs(120));
    pic.tick();
    pic.tick();
    assert_eq!(lifecycle(&mut pic, sale), 2, "Open");

    // A ticket, the payment, the refresh: accepted, the ticket used up.
    let NewSaleTicketResult::Ok(ok) = new_ticket(&mut pic, sale, user(1), 10 * ICP) else {
        panic!("a ticket once open");
    };
    assert_eq!(ok.ticket.expect("a ticket").amount_icp_e8s, 10 * ICP);
    pay(&mut pic, sale, user(1), 10 * ICP);
    let refreshed = refresh(&mut pic, sale, user(1), "").expect("the refresh is accepted");
    assert_eq!(refreshed.icp_accepted_participation_e8s, 10 * ICP);
    assert_eq!(refreshed.icp_ledger_account_balance_e8s, 10 * ICP);
    let (open,): (GetOpenTicketResponse,) = integration_tests::env::query_candid_as(
        &mut pic,
        sale,
        user(1),
        "get_open_ticket",
        (Empty {},),
    )
    .unwrap();
    assert_eq!(
        open.result,
        Some(OpenTicketResult::Ok(Default::default())),
        "the ticket is used up"
    );

    // Anyone may refresh for a participant; below the minimum is refused.
    pay(&mut pic, sale, user(2), 45 * ICP);
    let refreshed = refresh(&mut pic, sale, user(3), &user(2).to_text()).unwrap();
    assert_eq!(refreshed.icp_accepted_participation_e8s, 45 * ICP);
    pay(&mut pic, sale, user(3), ICP / 2);
    let refused = refresh(&mut pic, sale, user(3), "").unwrap_err();
    assert!(
        refused.contains("minimum required to participate"),
        "{refused}"
    );

    let (state,): (GetBuyerStateResponse,) = query_candid(
        &mut pic,
        sale,
        "get_buyer_state",
        (GetBuyerStateRequest {
            principal_id: Some(user(2)),
        },),
    )
    .unwrap();
    assert_eq!(
        state
            .buyer_state
            .and_then(|s| s.icp)
            .map(|icp| icp.amount_e8s),
        Some(45 * ICP)
    );
    let (listed,): (ListDirectParticipantsResponse,) = query_candid(
        &mut pic,
        sale,
        "list_direct_participants",
        (ListDirectParticipantsRequest {
            offset: None,
            limit: None,
        },),
    )
    .unwrap();
    let ids: Vec<Principal> = listed
        .participants
        .iter()
        .filter_map(|p| p.participant_id)
        .collect();
    assert_eq!(ids, [user(1), user(2)], "in order of first acceptance");
    let (derived,): (GetDerivedStateResponse,) =
        query_candid(&mut pic, sale, "get_derived_state", (Empty {},)).unwrap();
    assert_eq!(derived.direct_participation_icp_e8s, Some(55 * ICP));
    assert_eq!(derived.direct_participant_count, Some(2));

    // At the deadline, two participants and 55 ICP of 50: committed.
    pic.advance_time(Duration::from_secs(1_000));
    pic.tick();
    pic.tick();
    assert_eq!(lifecycle(&mut pic, sale), 3, "Committed");
    let NewSaleTicketResult::Err(error) = new_ticket(&mut pic, sale, user(3), 10 * ICP) else {
        panic!("no ticket once closed");
    };
    assert_eq!(error.error_type, 2, "SALE_CLOSED");
    let late = refresh(&mut pic, sale, user(3), "").unwrap_err();
    assert!(late.contains("OPEN state"), "{late}");

    // Finalized: each participation, less the fee, in the treasury; a
    // second finalization moves nothing more.
    let finalized = finalize(&mut pic, sale);
    assert_eq!(finalized.error_message, None);
    assert_eq!(
        finalized.sweep_icp_result.map(|r| (r.success, r.failure)),
        Some((2, 0))
    );
    assert_eq!(balance(&mut pic, treasury()), 55 * ICP - 2 * FEE);
    let again = finalize(&mut pic, sale);
    assert_eq!(again.sweep_icp_result.map(|r| r.success), Some(0));
    assert_eq!(balance(&mut pic, treasury()), 55 * ICP - 2 * FEE);

    // The refused participant's half ICP comes back, less the fee, once.
    let before = balance(&mut pic, user(3));
    assert!(matches!(
        error_refund(&mut pic, sale, user(3)),
        RefundResult::Ok(_)
    ));
    assert_eq!(balance(&mut pic, user(3)), before + ICP / 2 - FEE);
    let RefundResult::Err(empty) = error_refund(&mut pic, sale, user(3)) else {
        panic!("nothing left to refund");
    };
    assert_eq!(empty.error_type, Some(3));
}

fn should_refund_every_participant_when_the_sale_aborts(backend: Backend) {
    let (mut pic, sale) = setup(backend);
    pic.advance_time(Duration::from_secs(120));
    // The timer fires, then its task runs (ic-cdk-timers calls itself).
    pic.tick();
    pic.tick();
    pay(&mut pic, sale, user(1), 30 * ICP);
    refresh(&mut pic, sale, user(1), "").unwrap();
    // Not before the end.
    let RefundResult::Err(early) = error_refund(&mut pic, sale, user(1)) else {
        panic!("no refund while the sale runs");
    };
    assert_eq!(early.error_type, Some(2), "Precondition");
    let not_yet = finalize(&mut pic, sale);
    assert!(
        not_yet
            .error_message
            .unwrap()
            .contains("COMMITTED or ABORTED")
    );

    // One participant of the two needed: aborted at the deadline.
    pic.advance_time(Duration::from_secs(1_000));
    pic.tick();
    pic.tick();
    assert_eq!(lifecycle(&mut pic, sale), 4, "Aborted");
    let before = balance(&mut pic, user(1));
    let finalized = finalize(&mut pic, sale);
    assert_eq!(finalized.error_message, None);
    assert_eq!(
        balance(&mut pic, user(1)),
        before + 30 * ICP - FEE,
        "refunded, less the fee"
    );
    assert_eq!(balance(&mut pic, treasury()), 0, "nothing to the treasury");
}

/// Opens the sale (the timer fires, then its task runs: ic-cdk-timers calls
/// itself) and lets users 1 and 2 put in 30 and 40 ICP.
fn open_with_two_participants(pic: &mut TestEnv, sale: Principal) {
    pic.advance_time(Duration::from_secs(120));
    pic.tick();
    pic.tick();
    for (n, e8s) in [(1, 30 * ICP), (2, 40 * ICP)] {
        pay(pic, sale, user(n), e8s);
        refresh(pic, sale, user(n), "").unwrap();
    }
}

fn should_resume_a_finalization_stopped_between_two_transfers(backend: Backend) {
    let (mut pic, sale) = setup(backend);
    open_with_two_participants(&mut pic, sale);
    pic.advance_time(Duration::from_secs(1_000));
    pic.tick();
    pic.tick();
    assert_eq!(lifecycle(&mut pic, sale), 3, "Committed");

    // Round by round until the first participation reaches the treasury,
    // then the ledger stops: the second transfer fails.
    let call = pic
        .submit_call(sale, user(9), "finalize_swap", Encode!(&Empty {}).unwrap())
        .unwrap();
    let mut rounds = 0;
    while balance(&mut pic, treasury()) == 0 {
        pic.tick();
        rounds += 1;
        assert!(rounds < 20, "the first sweep never happened");
    }
    pic.stop_canister(LEDGER_CANISTER_ID, None).unwrap();
    let reply = Decode!(&pic.await_call(call).unwrap(), FinalizeSwapResponse).unwrap();
    assert!(reply.error_message.is_some(), "{reply:?}");
    assert_eq!(
        reply.sweep_icp_result.map(|r| (r.success, r.failure)),
        Some((1, 1))
    );

    // Once the ledger is back, a later finalization completes it; nothing
    // is paid twice.
    pic.start_canister(LEDGER_CANISTER_ID, None).unwrap();
    let resumed = finalize(&mut pic, sale);
    assert_eq!(resumed.error_message, None);
    assert_eq!(
        resumed.sweep_icp_result.map(|r| (r.success, r.failure)),
        Some((1, 0))
    );
    assert_eq!(balance(&mut pic, treasury()), 70 * ICP - 2 * FEE);
    assert_eq!(
        finalize(&mut pic, sale).sweep_icp_result.map(|r| r.success),
        Some(0)
    );
}

fn should_finalize_itself_once_when_made_to(backend: Backend) {
    let (mut pic, sale) = setup_with(backend, Some(true));
    open_with_two_participants(&mut pic, sale);
    let status = |pic: &mut TestEnv| {
        let (reply,): (GetAutoFinalizationStatusResponse,) =
            query_candid(pic, sale, "get_auto_finalization_status", (Empty {},)).unwrap();
        reply
    };
    assert_eq!(status(&mut pic).is_auto_finalize_enabled, Some(true));
    assert_eq!(
        status(&mut pic).has_auto_finalize_been_attempted,
        Some(false)
    );
    // The deadline passes: committed, then finalized by the timer alone.
    pic.advance_time(Duration::from_secs(1_000));
    for _ in 0..10 {
        pic.tick();
    }
    assert_eq!(lifecycle(&mut pic, sale), 3, "Committed");
    let auto = status(&mut pic);
    assert_eq!(auto.has_auto_finalize_been_attempted, Some(true));
    let response = auto.auto_finalize_swap_response.expect("the answer kept");
    assert_eq!(response.error_message, None);
    assert_eq!(response.sweep_icp_result.map(|r| r.success), Some(2));
    assert_eq!(balance(&mut pic, treasury()), 70 * ICP - 2 * FEE);
    // The participants' baskets: three neurons each, a day apart, the
    // tokens shared 30 : 40, listed in pages.
    let recipes = |pic: &mut TestEnv, offset: u64, limit: u32| {
        let request = ListSnsNeuronRecipesRequest {
            offset: Some(offset),
            limit: Some(limit),
        };
        let (reply,): (ListSnsNeuronRecipesResponse,) =
            query_candid(pic, sale, "list_sns_neuron_recipes", (request,)).unwrap();
        reply.sns_neuron_recipes
    };
    let all = recipes(&mut pic, 0, 100);
    assert_eq!(all.len(), 6);
    let amounts: Vec<u64> = all
        .iter()
        .filter_map(|r| r.sns.as_ref())
        .map(|a| a.amount_e8s)
        .collect();
    let tokens = 1_000_000 * ICP;
    assert_eq!(amounts[..3].iter().sum::<u64>(), tokens * 30 / 70);
    assert_eq!(amounts[3..].iter().sum::<u64>(), tokens * 40 / 70);
    let delays: Vec<u64> = all
        .iter()
        .filter_map(|r| r.neuron_attributes.as_ref())
        .map(|a| a.dissolve_delay_seconds)
        .collect();
    assert_eq!(delays, [0, 86_400, 172_800, 0, 86_400, 172_800]);
    assert_eq!(recipes(&mut pic, 2, 3), all[2..5].to_vec(), "a page");
    // Once only, and nothing left for a manual finalization.
    pic.advance_time(Duration::from_secs(600));
    for _ in 0..4 {
        pic.tick();
    }
    assert_eq!(
        finalize(&mut pic, sale)
            .sweep_icp_result
            .map(|r| (r.success, r.skipped)),
        Some((0, 2))
    );
    assert_eq!(balance(&mut pic, treasury()), 70 * ICP - 2 * FEE);
}

/// After the finalization, the timer releases each basket neuron's tokens
/// from the sale's account on the project's token ledger as its dissolve
/// delay passes (the sale's stand-in for SNS neurons): the neuron's tokens
/// less the token's fee, once, and nothing before its time.
fn should_release_each_basket_neuron_as_it_unlocks(backend: Backend) {
    let (mut pic, sale, token) = setup_with_token(backend, Some(true));
    open_with_two_participants(&mut pic, sale);
    pic.advance_time(Duration::from_secs(1_000));
    for _ in 0..10 {
        pic.tick();
    }
    assert_eq!(lifecycle(&mut pic, sale), 3, "Committed");
    let (reply,): (ListSnsNeuronRecipesResponse,) = query_candid(
        &mut pic,
        sale,
        "list_sns_neuron_recipes",
        (ListSnsNeuronRecipesRequest::default(),),
    )
    .unwrap();
    let amounts: Vec<u64> = reply
        .sns_neuron_recipes
        .iter()
        .filter_map(|r| r.sns.as_ref())
        .map(|a| a.amount_e8s)
        .collect();
    assert_eq!(amounts.len(), 6);
    let received = |n: usize| -> u64 {
        amounts[n * 3..n * 3 + 3]
            .iter()
            .map(|a| a - TOKEN_FEE)
            .sum()
    };
    let mut expected = [0u64; 2];
    for day in 0..3 {
        for (n, expected) in expected.iter_mut().enumerate() {
            *expected += amounts[n * 3 + day] - TOKEN_FEE;
        }
        // Ticks for the timer to see the unlock and the transfers to land.
        for _ in 0..6 {
            pic.tick();
        }
        assert_eq!(
            [
                token_balance(&mut pic, token, user(1)),
                token_balance(&mut pic, token, user(2))
            ],
            expected,
            "day {day}: the neurons unlocked so far, each less one fee"
        );
        // Not before the next neuron's delay; then a day later, it is due.
        pic.advance_time(Duration::from_secs(86_000));
        for _ in 0..3 {
            pic.tick();
        }
        assert_eq!(
            token_balance(&mut pic, token, user(1)),
            expected[0],
            "not early"
        );
        pic.advance_time(Duration::from_secs(400));
    }
    assert_eq!(expected, [received(0), received(1)]);
    // The sale kept what was not released (the rounding's change), and
    // the fees were burned.
    let released: u64 = amounts.iter().sum();
    assert_eq!(token_balance(&mut pic, token, sale), TOKENS - released);
    let (supply,): (candid::Nat,) =
        query_candid(&mut pic, token, "icrc1_total_supply", ()).unwrap();
    assert_eq!(supply, candid::Nat::from(6 * TOKENS - 6 * TOKEN_FEE));
    // Later ticks send nothing more.
    pic.advance_time(Duration::from_secs(10 * 86_400));
    for _ in 0..4 {
        pic.tick();
    }
    assert_eq!(
        [
            token_balance(&mut pic, token, user(1)),
            token_balance(&mut pic, token, user(2))
        ],
        expected
    );
}

/// The official `sns_swap.did` (in `@icp-sdk/canisters`), to decode
/// replies with as a client of the real swap does.
fn official_swap() -> Option<(candid::TypeEnv, candid::types::Type)> {
    let path = integration_tests::repo_root()
        .join("tests/js/node_modules/@icp-sdk/canisters/declarations/sns/swap.did");
    if !path.exists() {
        eprintln!(
            "skipped: {} is missing; run `npm ci --prefix tests/js`",
            path.display()
        );
        return None;
    }
    let (env, service) = candid_parser::utils::CandidSource::File(&path)
        .load()
        .unwrap();
    Some((env, service.expect("a service")))
}

/// A call by (update or query, method, argument), its reply as text.
type RawCall<'a> = dyn FnMut(&mut TestEnv, bool, &str, Vec<u8>) -> String + 'a;

/// Every method the sale offers, before it opens, while open, and after
/// its finalization, answers what the official interface decodes (with
/// `candid_parser`, the official types as the only types), errors included.
fn should_answer_every_method_as_the_official_interface_decodes(backend: Backend) {
    let Some((types, service)) = official_swap() else {
        return;
    };
    let (mut pic, sale, _) = setup_with_token(backend, Some(true));
    let mut decoded = std::collections::BTreeSet::new();
    let mut call = |pic: &mut TestEnv, update: bool, method: &str, arg: Vec<u8>| {
        let caller = user(1);
        let reply = if update {
            pic.update_call(sale, caller, method, arg)
        } else {
            pic.query_call(sale, caller, method, arg)
        }
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
        let function = types.get_method(&service, method).unwrap();
        let args = candid_parser::IDLArgs::from_bytes_with_types(&reply, &types, &function.rets)
            .unwrap_or_else(|e| {
                panic!("{method}'s reply does not decode as the official type: {e}")
            });
        decoded.insert(method.to_string());
        args.to_string()
    };
    let empty = || Encode!(&Empty {}).unwrap();
    let queries = |pic: &mut TestEnv, call: &mut RawCall| {
        for method in [
            "get_state",
            "get_derived_state",
            "get_lifecycle",
            "get_init",
            "get_sale_parameters",
            "get_open_ticket",
            "get_auto_finalization_status",
        ] {
            call(pic, false, method, empty());
        }
        call(pic, true, "get_buyers_total", empty());
        call(
            pic,
            false,
            "list_direct_participants",
            Encode!(&ListDirectParticipantsRequest::default()).unwrap(),
        );
        call(
            pic,
            false,
            "list_sns_neuron_recipes",
            Encode!(&ListSnsNeuronRecipesRequest::default()).unwrap(),
        );
        call(
            pic,
            false,
            "list_community_fund_participants",
            Encode!(&nns_api::swap::ListCommunityFundParticipantsRequest::default()).unwrap(),
        );
        call(
            pic,
            false,
            "get_buyer_state",
            Encode!(&GetBuyerStateRequest {
                principal_id: Some(user(1))
            })
            .unwrap(),
        )
    };
    // Adopted: errors of every kind.
    queries(&mut pic, &mut call);
    let ticket = |e8s: u64| {
        Encode!(&NewSaleTicketRequest {
            subaccount: None,
            amount_icp_e8s: e8s
        })
        .unwrap()
    };
    assert!(call(&mut pic, true, "new_sale_ticket", ticket(10 * ICP)).contains("Err"));
    assert!(call(&mut pic, true, "finalize_swap", empty()).contains("COMMITTED or ABORTED"));
    let refund = Encode!(&ErrorRefundIcpRequest {
        source_principal_id: Some(user(3))
    })
    .unwrap();
    assert!(call(&mut pic, true, "error_refund_icp", refund.clone()).contains("Err"));
    // Open: a ticket, a payment, its refresh, a ticket given up.
    pic.advance_time(Duration::from_secs(120));
    pic.tick();
    pic.tick();
    assert!(call(&mut pic, true, "new_sale_ticket", ticket(30 * ICP)).contains("Ok"));
    pay(&mut pic, sale, user(1), 30 * ICP);
    let refresh = Encode!(&RefreshBuyerTokensRequest {
        buyer: String::new(),
        confirmation_text: None
    })
    .unwrap();
    call(&mut pic, true, "refresh_buyer_tokens", refresh);
    assert!(call(&mut pic, true, "new_sale_ticket", ticket(ICP)).contains("Ok"));
    call(&mut pic, true, "notify_payment_failure", empty());
    pay(&mut pic, sale, user(2), 40 * ICP);
    refresh_as(&mut pic, sale, user(2));
    queries(&mut pic, &mut call);
    // Committed, finalized by the timer, the first neurons released.
    pay(&mut pic, sale, user(3), 2 * ICP);
    pic.advance_time(Duration::from_secs(1_000));
    for _ in 0..10 {
        pic.tick();
    }
    let state = queries(&mut pic, &mut call);
    assert!(state.contains("icp"), "{state}");
    let all = call(&mut pic, false, "get_state", empty());
    assert!(
        all.contains("neuron_recipes") && all.contains("lifecycle = 3"),
        "{all}"
    );
    // Decoded, not turned to null by Candid's rule for optional fields.
    for field in [
        "init",
        "params",
        "derived",
        "auto_finalize_swap_response",
        "swap",
    ] {
        assert!(!all.contains(&format!("{field} = null")), "{field}: {all}");
    }
    assert!(call(&mut pic, true, "error_refund_icp", refund).contains("Ok"));
    call(&mut pic, true, "finalize_swap", empty());
    // Every method in candid/swap.did was called and decoded.
    let ours =
        std::fs::read_to_string(integration_tests::repo_root().join("candid/swap.did")).unwrap();
    let offered: std::collections::BTreeSet<String> = ours
        .lines()
        .skip_while(|l| !l.starts_with("service"))
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter_map(|l| l.trim().split_once(" : ").map(|(name, _)| name.to_string()))
        .filter(|name| !name.starts_with("service"))
        .collect();
    assert_eq!(decoded, offered);
}

fn refresh_as(pic: &mut TestEnv, sale: Principal, buyer: Principal) {
    refresh(pic, sale, buyer, "").expect("the refresh is accepted");
}

/// Over-subscription: the refresh that reaches the sale's maximum takes
/// only the room left, the sale commits at once (before its deadline),
/// later buyers are turned away, and the excess comes back through
/// `error_refund_icp` after the finalization.
fn should_stop_at_the_maximum_and_refund_the_excess(backend: Backend) {
    let (mut pic, sale) = setup(backend);
    pic.advance_time(Duration::from_secs(120));
    pic.tick();
    pic.tick();
    for n in 1..=3 {
        pay(&mut pic, sale, user(n), 99 * ICP);
        refresh(&mut pic, sale, user(n), "").unwrap();
    }
    // 297 of 300 ICP taken: user 4's 50 ICP buys the last 3.
    pay(&mut pic, sale, user(4), 50 * ICP);
    let taken = refresh(&mut pic, sale, user(4), "").unwrap();
    assert_eq!(taken.icp_accepted_participation_e8s, 3 * ICP);
    assert_eq!(taken.icp_ledger_account_balance_e8s, 50 * ICP);
    // The next tick of the sale's timer, long before the deadline.
    pic.advance_time(Duration::from_secs(60));
    pic.tick();
    pic.tick();
    assert_eq!(lifecycle(&mut pic, sale), 3, "Committed at the maximum");
    let NewSaleTicketResult::Err(closed) = new_ticket(&mut pic, sale, user(5), ICP) else {
        panic!("no ticket once the sale is over");
    };
    assert_eq!(closed.error_type, 2, "SALE_CLOSED");
    pay(&mut pic, sale, user(5), 10 * ICP);
    assert!(refresh(&mut pic, sale, user(5), "").is_err());
    assert_eq!(finalize(&mut pic, sale).error_message, None);
    assert_eq!(balance(&mut pic, treasury()), 300 * ICP - 4 * FEE);
    // The excess and the late payment come back, less the fee, once.
    for (n, excess) in [(4, 47 * ICP), (5, 10 * ICP)] {
        let before = balance(&mut pic, user(n));
        let RefundResult::Ok(_) = error_refund(&mut pic, sale, user(n)) else {
            panic!("user {n}'s excess is refunded");
        };
        assert_eq!(balance(&mut pic, user(n)), before + excess - FEE);
        // A second refund finds nothing left to send.
        let _ = error_refund(&mut pic, sale, user(n));
        assert_eq!(balance(&mut pic, user(n)), before + excess - FEE, "once");
    }
}

/// Two refreshes of one payment in the same round (each reads the
/// ledger, then both apply): the payment counts once.
fn should_count_a_payment_once_under_concurrent_refreshes(backend: Backend) {
    let (mut pic, sale) = setup(backend);
    pic.advance_time(Duration::from_secs(120));
    pic.tick();
    pic.tick();
    pay(&mut pic, sale, user(1), 30 * ICP);
    let request = Encode!(&RefreshBuyerTokensRequest {
        buyer: user(1).to_text(),
        confirmation_text: None,
    })
    .unwrap();
    let calls: Vec<_> = [user(1), user(2), user(3)]
        .into_iter()
        .map(|caller| {
            pic.submit_call(sale, caller, "refresh_buyer_tokens", request.clone())
                .unwrap()
        })
        .collect();
    for call in calls {
        let reply = pic.await_call(call).unwrap();
        let reply = Decode!(&reply, RefreshBuyerTokensResponse).unwrap();
        assert_eq!(reply.icp_accepted_participation_e8s, 30 * ICP);
    }
    let (total,): (nns_api::swap::GetBuyersTotalResponse,) =
        update_candid_as(&mut pic, sale, user(9), "get_buyers_total", (Empty {},)).unwrap();
    assert_eq!(total.buyers_total, 30 * ICP, "counted once");
}

/// Only the sale mints the project's token: its minting account is a
/// subaccount of the sale; anyone else naming that subaccount spends an
/// account of their own (empty), and a transfer to the minting account
/// burns the sender's own tokens.
fn should_let_only_the_sale_mint_the_project_token(backend: Backend) {
    use icrc_ledger_types::icrc1::account::Account;
    use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError as IcrcError};
    let (mut pic, sale, token) = setup_with_token(backend, None);
    let supply = |pic: &mut TestEnv| {
        let (n,): (candid::Nat,) = query_candid(pic, token, "icrc1_total_supply", ()).unwrap();
        n
    };
    let before = supply(&mut pic);
    let minting = Account {
        owner: sale,
        subaccount: Some([1; 32]),
    };
    let (minter,): (Option<Account>,) =
        query_candid(&mut pic, token, "icrc1_minting_account", ()).unwrap();
    assert_eq!(minter, Some(minting));
    let mint = TransferArg {
        from_subaccount: Some([1; 32]),
        to: Account::from(user(1)),
        fee: None,
        created_at_time: None,
        memo: None,
        amount: candid::Nat::from(1_000 * ICP),
    };
    let (result,): (Result<candid::Nat, IcrcError>,) =
        update_candid_as(&mut pic, token, user(1), "icrc1_transfer", (mint,)).unwrap();
    assert!(
        matches!(result, Err(IcrcError::InsufficientFunds { .. })),
        "{result:?}"
    );
    assert_eq!(supply(&mut pic), before);
    assert_eq!(token_balance(&mut pic, token, user(1)), 0);
    // The treasury's tokens sent to the minting account are burned.
    let burn = TransferArg {
        from_subaccount: None,
        to: minting,
        fee: None,
        created_at_time: None,
        memo: None,
        amount: candid::Nat::from(ICP),
    };
    let (burned,): (Result<candid::Nat, IcrcError>,) =
        update_candid_as(&mut pic, token, treasury(), "icrc1_transfer", (burn,)).unwrap();
    burned.unwrap();
    assert_eq!(supply(&mut pic), before - candid::Nat::from(ICP));
}
