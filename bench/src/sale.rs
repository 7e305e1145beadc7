//! A decentralization sale of 1 000 buyers on the runtime with the real
//! ICP ledger and token ledger: the sale's instructions per
//! `refresh_buyer_tokens` (its update and the callback of its balance
//! read), and for the whole `finalize_swap` that sweeps every
//! participation to the treasury (all of its messages, and the largest).

use super::{FEE, user};
use crate::report::Figures;
use candid::{Encode, Principal};
use ic_runtime::{PocketIc, update_candid_as};
use icrc_ledger_types::icrc1::account::Account;
use nns_api::AccountIdentifier;
use nns_api::ids::LEDGER_CANISTER_ID;
use nns_api::ledger::{Memo, Tokens, TransferArgs, TransferError};
use nns_api::swap::{
    Empty, FinalizeSwapResponse, Init, NeuronBasketConstructionParameters,
    RefreshBuyerTokensRequest, RefreshBuyerTokensResponse,
};
use nns_harness::env::{Backend, TestEnv};
use nns_harness::{install_ledger, install_token_ledger, wasm_gz_path};
use std::time::Duration;

const BUYERS: u32 = 1_000;
const ICP: u64 = 100_000_000;

fn payment_account(sale: Principal, buyer: Principal) -> AccountIdentifier {
    AccountIdentifier::new(
        &sale,
        Some(&nns_api::account_identifier::principal_to_subaccount(
            &buyer,
        )),
    )
}

pub fn bench_sale(figures: &mut Figures) {
    let mut env = TestEnv::new(Backend::Runtime);
    install_ledger(&mut env, (0..BUYERS).map(|n| (user(n), 20 * ICP)));
    let sale = env.create_canister();
    let treasury = Principal::from_slice(&[0x7e, 0x5a, 2]);
    let tokens = 1_000_000 * ICP;
    let token = install_token_ledger(
        &mut env,
        nns_api::token_ledger::InitArgs::new(
            "Project",
            "PRJ",
            FEE,
            Account {
                owner: sale,
                subaccount: Some([1; 32]),
            },
            vec![(Account::from(sale), tokens)],
            sale,
        ),
    );
    let now = env.get_time().as_nanos_since_unix_epoch() / 1_000_000_000;
    let init = Init {
        nns_governance_canister_id: "rrkah-fqaaa-aaaaa-aaaaq-cai".into(),
        sns_governance_canister_id: treasury.to_text(),
        icp_ledger_canister_id: LEDGER_CANISTER_ID.to_text(),
        sns_ledger_canister_id: token.to_text(),
        transaction_fee_e8s: Some(FEE),
        swap_start_timestamp_seconds: Some(now + 100),
        swap_due_timestamp_seconds: Some(now + 100_000),
        min_participants: Some(2),
        min_direct_participation_icp_e8s: Some(100 * ICP),
        max_direct_participation_icp_e8s: Some(1_000_000 * ICP),
        min_participant_icp_e8s: Some(ICP),
        max_participant_icp_e8s: Some(100 * ICP),
        sns_token_e8s: Some(tokens),
        neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
            count: 3,
            dissolve_delay_interval_seconds: 86_400,
        }),
        should_auto_finalize: Some(false),
        ..Default::default()
    };
    let wasm = std::fs::read(wasm_gz_path("swap")).expect("scripts/build-canisters.sh has run");
    env.install_canister(sale, wasm, Encode!(&init).unwrap(), None);
    let mut pic: PocketIc = env.into_runtime();
    pic.advance_time(Duration::from_secs(200));
    pic.tick();
    pic.tick();

    let mut refresh_instructions = 0;
    for n in 0..BUYERS {
        let buyer = user(n);
        let args = TransferArgs {
            memo: Memo(0),
            amount: Tokens::from_e8s(10 * ICP),
            fee: Tokens::from_e8s(FEE),
            from_subaccount: None,
            to: payment_account(sale, buyer),
            created_at_time: None,
        };
        let (paid,): (Result<u64, TransferError>,) =
            update_candid_as(&mut pic, LEDGER_CANISTER_ID, buyer, "transfer", (args,)).unwrap();
        paid.unwrap();
        let before = pic.total_instructions(sale);
        let request = RefreshBuyerTokensRequest {
            buyer: String::new(),
            confirmation_text: None,
        };
        let (reply,): (RefreshBuyerTokensResponse,) =
            update_candid_as(&mut pic, sale, buyer, "refresh_buyer_tokens", (request,)).unwrap();
        assert_eq!(reply.icp_accepted_participation_e8s, 10 * ICP);
        refresh_instructions += pic.total_instructions(sale) - before;
    }

    // Committed at the deadline; then one finalize_swap sweeps all.
    pic.advance_time(Duration::from_secs(100_000));
    pic.tick();
    pic.tick();
    let before = pic.total_instructions(sale);
    let mut largest = 0;
    let id = pic
        .submit_call(sale, user(0), "finalize_swap", Encode!(&Empty {}).unwrap())
        .unwrap();
    let reply = loop {
        pic.tick();
        largest = largest.max(pic.last_execution_instructions(sale));
        if let Some(reply) = pic.ingress_status(id.clone()) {
            break reply;
        }
    };
    let response: FinalizeSwapResponse = candid::decode_one(&reply.unwrap()).unwrap();
    assert_eq!(response.error_message, None);
    assert_eq!(response.sweep_icp_result.map(|r| r.success), Some(BUYERS));
    let finalize_instructions = pic.total_instructions(sale) - before;
    let (treasury_balance,): (Tokens,) = ic_runtime::query_candid(
        &mut pic,
        LEDGER_CANISTER_ID,
        "account_balance",
        (nns_api::ledger::AccountBalanceArgs {
            account: AccountIdentifier::new(&treasury, None),
        },),
    )
    .unwrap();
    assert_eq!(
        treasury_balance.e8s,
        u64::from(BUYERS) * (10 * ICP - FEE),
        "every participation swept once"
    );

    figures.cost(
        "sale.refresh_buyer_tokens.instructions",
        "sale refresh_buyer_tokens (1 000 buyers)",
        refresh_instructions / u64::from(BUYERS),
        "instr",
        "",
    );
    figures.cost(
        "sale.finalize_swap_1000.instructions",
        "sale finalize_swap, 1 000 buyers, all messages",
        finalize_instructions,
        "instr",
        "",
    );
    figures.cost(
        "sale.finalize_swap_1000.largest_message",
        "sale finalize_swap, 1 000 buyers, largest message",
        largest,
        "instr",
        "limit 40 B",
    );
    figures.cost(
        "sale.swap_wasm_gz.bytes",
        "swap.wasm.gz",
        std::fs::metadata(wasm_gz_path("swap")).unwrap().len(),
        "bytes",
        "",
    );
    figures.cost(
        "sale.token_ledger_wasm_gz.bytes",
        "token-ledger.wasm.gz",
        std::fs::metadata(wasm_gz_path("token-ledger"))
            .unwrap()
            .len(),
        "bytes",
        "",
    );
}
