use super::*;
use nns_api::governance::sns::{
    DeveloperDistribution, Duration, GlobalTimeOfDay, InitialTokenDistribution, LedgerParameters,
    NeuronBasketConstructionParameters as Basket, NeuronDistribution, SwapDistribution,
};

const ICP: u64 = 100_000_000;

fn tokens(e8s: u64) -> Option<Tokens> {
    Some(Tokens { e8s: Some(e8s) })
}

fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n, 0x5a])
}

pub fn proposal() -> CreateServiceNervousSystem {
    CreateServiceNervousSystem {
        name: Some("Project".into()),
        fallback_controller_principal_ids: vec![principal(1), principal(2)],
        ledger_parameters: Some(LedgerParameters {
            transaction_fee: tokens(10_000),
            token_symbol: Some("PRJ".into()),
            token_name: Some("Project token".into()),
            token_logo: None,
        }),
        initial_token_distribution: Some(InitialTokenDistribution {
            treasury_distribution: Some(SwapDistribution {
                total: tokens(5_000_000 * ICP),
            }),
            developer_distribution: Some(DeveloperDistribution {
                developer_neurons: vec![NeuronDistribution {
                    controller: Some(principal(3)),
                    stake: tokens(1_000_000 * ICP),
                    ..Default::default()
                }],
            }),
            swap_distribution: Some(SwapDistribution {
                total: tokens(1_000_000 * ICP),
            }),
        }),
        swap_parameters: Some(SwapParameters {
            minimum_participants: Some(2),
            neurons_fund_participation: Some(false),
            duration: Some(Duration {
                seconds: Some(7 * DAY),
            }),
            neuron_basket_construction_parameters: Some(Basket {
                dissolve_delay_interval: Some(Duration { seconds: Some(DAY) }),
                count: Some(3),
            }),
            minimum_direct_participation_icp: tokens(50 * ICP),
            maximum_direct_participation_icp: tokens(300 * ICP),
            minimum_participant_icp: tokens(ICP),
            maximum_participant_icp: tokens(120 * ICP),
            start_time: Some(GlobalTimeOfDay {
                seconds_after_utc_midnight: Some(12 * 3_600),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn a_complete_proposal_is_a_sale_request() {
    let request = validate(&proposal()).unwrap();
    assert_eq!(
        request.treasury,
        principal(1),
        "the first fallback controller"
    );
    assert_eq!(request.developers, vec![(principal(3), 1_000_000 * ICP)]);
    assert_eq!(
        (
            request.sale_tokens_e8s,
            request.treasury_e8s,
            request.basket_count
        ),
        (1_000_000 * ICP, 5_000_000 * ICP, 3)
    );
    assert_eq!(request.start_time_of_day_seconds, Some(12 * 3_600));
}

#[test]
fn each_rule_of_the_nns_refuses_its_case() {
    type Change = fn(&mut CreateServiceNervousSystem);
    let cases: Vec<(Change, &str)> = vec![
        (|p| p.fallback_controller_principal_ids.clear(), "fallback"),
        (
            |p| p.fallback_controller_principal_ids.push(principal(1)),
            "duplicates",
        ),
        (
            |p| p.dapp_canisters.push(Default::default()),
            "dapp_canisters",
        ),
        (
            |p| p.ledger_parameters.as_mut().unwrap().token_symbol = Some("IcP".into()),
            "symbol",
        ),
        (
            |p| p.ledger_parameters.as_mut().unwrap().token_symbol = Some("AB".into()),
            "3 to 10",
        ),
        (
            |p| p.ledger_parameters.as_mut().unwrap().token_name = Some("Internet Computer".into()),
            "ICP's",
        ),
        (
            |p| p.ledger_parameters.as_mut().unwrap().transaction_fee = None,
            "transaction_fee",
        ),
        (
            |p| p.swap_parameters.as_mut().unwrap().maximum_icp = tokens(1),
            "obsolete",
        ),
        (
            |p| {
                p.swap_parameters
                    .as_mut()
                    .unwrap()
                    .neurons_fund_participation = None
            },
            "neurons_fund_participation",
        ),
        (
            |p| p.swap_parameters.as_mut().unwrap().minimum_participant_icp = tokens(ICP / 1_000),
            "0.01 ICP",
        ),
        (
            |p| p.swap_parameters.as_mut().unwrap().maximum_participant_icp = tokens(400 * ICP),
            "exceeds maximum_direct",
        ),
        (
            |p| p.swap_parameters.as_mut().unwrap().minimum_participants = Some(1_000),
            "minimum_participants ×",
        ),
        (
            |p| {
                p.swap_parameters
                    .as_mut()
                    .unwrap()
                    .neuron_basket_construction_parameters
                    .as_mut()
                    .unwrap()
                    .count = Some(11)
            },
            "2 to 10",
        ),
        (
            |p| p.swap_parameters.as_mut().unwrap().duration = None,
            "duration",
        ),
        (
            |p| p.swap_parameters.as_mut().unwrap().confirmation_text = Some(String::new()),
            "confirmation_text",
        ),
        (
            |p| {
                p.swap_parameters.as_mut().unwrap().restricted_countries =
                    Some(nns_api::governance::sns::Countries {
                        iso_codes: vec!["usa".into()],
                    })
            },
            "alpha-2",
        ),
        (
            |p| {
                p.initial_token_distribution
                    .as_mut()
                    .unwrap()
                    .swap_distribution = Some(SwapDistribution { total: tokens(100) })
            },
            "too few tokens",
        ),
        (
            |p| {
                p.initial_token_distribution
                    .as_mut()
                    .unwrap()
                    .treasury_distribution = Some(SwapDistribution {
                    total: tokens(u64::MAX),
                })
            },
            "2^64",
        ),
    ];
    for (change, expected) in cases {
        let mut p = proposal();
        change(&mut p);
        let error = validate(&p).expect_err(expected);
        assert!(error.contains(expected), "{expected}: {error}");
    }
}

#[test]
fn a_sale_opens_at_its_time_of_day_more_than_a_day_after_adoption() {
    let day0 = 20_000 * DAY;
    let ten = day0 + 10 * 3_600;
    // Adopted at 10:00: at 12:00 the next day; at 09:00 two days later.
    assert_eq!(
        sale_window(ten, Some(12 * 3_600), 1, 100),
        (day0 + DAY + 12 * 3_600, day0 + DAY + 12 * 3_600 + 100)
    );
    assert_eq!(
        sale_window(ten, Some(9 * 3_600), 1, 100).0,
        day0 + 2 * DAY + 9 * 3_600
    );
    // Picked by the NNS: a quarter hour, more than a day ahead, the same
    // for the same proposal.
    let (start, _) = sale_window(ten, None, 7, 100);
    assert_eq!(start % 900, 0);
    assert!(start > ten + DAY && start <= ten + 2 * DAY + DAY);
    assert_eq!(sale_window(ten, None, 7, 100).0, start);
}

#[test]
fn the_token_ledger_mints_the_sale_the_treasury_and_the_developers() {
    let request = validate(&proposal()).unwrap();
    let sale = principal(9);
    let init = token_ledger_init(&request, sale, principal(8));
    let total: u64 = init
        .initial_balances
        .iter()
        .map(|(_, n)| u64::try_from(&n.0).unwrap())
        .sum();
    assert_eq!(total, 7_000_000 * ICP);
    assert_eq!(init.initial_balances[0].0, Account::from(sale));
    assert_eq!(init.minting_account.owner, sale);
    assert_ne!(init.minting_account, Account::from(sale));
    let ids = SaleIds {
        governance: principal(7),
        icp_ledger: principal(6),
        token_ledger: principal(5),
    };
    let sale_init = sale_init(&request, 42, (1_000, 2_000), &ids);
    assert_eq!(sale_init.sns_governance_canister_id, principal(1).to_text());
    assert_eq!(sale_init.sns_token_e8s, Some(1_000_000 * ICP));
    assert_eq!(sale_init.should_auto_finalize, Some(true));
    assert_eq!(sale_init.nns_proposal_id, Some(42));
}
