use super::*;
use crate::config::Config;
use candid::Principal;
use ic_stable_structures::VectorMemory;
use ic_stable_structures::memory_manager::MemoryManager;

const NOW: u64 = 1_700_000_000_000_000_000;
const T: u128 = 1_000_000_000_000;

fn account(n: u8) -> Account {
    Account::from(Principal::from_slice(&[n, 1]))
}

fn ledger() -> Ledger<Cycles, VectorMemory> {
    let mut ledger = Ledger::open(&MemoryManager::init(VectorMemory::default()));
    let config = Config {
        max_blocks_per_request: 100,
        index_id: None,
    };
    ledger.install(config, &[], NOW).unwrap();
    ledger
}

fn supply(ledger: &Ledger<Cycles, VectorMemory>) -> u128 {
    ledger.tip().total_supply()
}

#[test]
fn a_deposit_mints_the_attached_cycles_less_the_fee() {
    let mut l = ledger();
    assert!(
        deposit(&mut l, account(1), None, FEE - 1, NOW)
            .unwrap_err()
            .contains("less than the cycles ledger fee")
    );
    assert!(
        deposit(&mut l, account(1), None, FEE, NOW)
            .unwrap_err()
            .contains("Cannot deposit 0 cycles")
    );
    assert_eq!(l.chain_length(), 0);
    let (block, balance) = deposit(&mut l, account(1), Some(vec![7]), T, NOW).unwrap();
    assert_eq!((block, balance, supply(&l)), (0, T - FEE, T - FEE));
    let mint = l.block(0).unwrap();
    assert_eq!(
        mint.transaction.fee,
        Some(FEE),
        "the deposit's mint records the fee kept"
    );
    assert_eq!(mint.effective_fee(), Some(0));
}

#[test]
fn a_burn_debits_amount_and_fee_before_the_call() {
    let mut l = ledger();
    deposit(&mut l, account(1), None, T + FEE, NOW).unwrap();
    let pay = Burn {
        from: account(1),
        spender: None,
        amount: T / 2,
        memo: withdraw_memo(&Principal::from_slice(&[9])),
        created_at_time: Some(NOW),
    };
    let burned = burn(&mut l, pay.clone(), NOW).unwrap();
    assert_eq!(l.balance(&account(1)), T - T / 2 - FEE);
    // The same request again is a duplicate of the burn.
    assert_eq!(
        burn(&mut l, pay, NOW),
        Err(TxError::Duplicate {
            duplicate_of: burned.block
        })
    );
    let too_much = Burn {
        from: account(1),
        spender: None,
        amount: T,
        memo: vec![],
        created_at_time: None,
    };
    assert!(matches!(
        burn(&mut l, too_much, NOW),
        Err(TxError::InsufficientFunds { .. })
    ));
}

#[test]
fn a_failed_call_is_refunded_less_a_fee_and_the_allowance_restored() {
    let mut l = ledger();
    deposit(&mut l, account(1), None, 10 * T, NOW).unwrap();
    let approve = ApproveRequest {
        from: account(1),
        spender: account(2),
        allowance: 5 * T,
        expected_allowance: None,
        expires_at: Some(NOW + 1_000),
        fee: None,
        memo: None,
        created_at_time: None,
    };
    l.approve(approve, NOW).unwrap();
    let before = l.balance(&account(1));
    let pay = Burn {
        from: account(1),
        spender: Some(account(2)),
        amount: 2 * T,
        memo: vec![],
        created_at_time: None,
    };
    let burned = burn(&mut l, pay.clone(), NOW).unwrap();
    assert_eq!(burned.allowance_expiry, Some(NOW + 1_000));
    assert_eq!(
        l.allowance(&account(1), &account(2), NOW).amount,
        3 * T - FEE
    );
    let refund = refund(&mut l, &pay, burned, 2 * T, PENALIZE_MEMO, NOW + 1);
    assert_eq!(refund.refund_block, Some(burned.block + 1));
    assert_eq!(refund.approval_refund_block, Some(burned.block + 2));
    // Three fees in all: the burn's, the refund's, the approval's.
    assert_eq!(l.balance(&account(1)), before - 3 * FEE);
    let allowance = l.allowance(&account(1), &account(2), NOW + 1);
    assert_eq!(allowance.amount, 3 * T - FEE + 2 * T - 2 * FEE);
    assert_eq!(allowance.expires_at, Some(NOW + 1_000));
}

#[test]
fn nothing_is_refunded_below_a_fee_and_no_allowance_after_its_expiry() {
    let mut l = ledger();
    deposit(&mut l, account(1), None, 10 * T, NOW).unwrap();
    let pay = Burn {
        from: account(1),
        spender: None,
        amount: FEE / 2,
        memo: vec![],
        created_at_time: None,
    };
    let burned = burn(&mut l, pay.clone(), NOW).unwrap();
    assert_eq!(
        refund(&mut l, &pay, burned, FEE / 2, PENALIZE_MEMO, NOW),
        Refund::default()
    );
    let pay = Burn {
        spender: Some(account(2)),
        amount: T,
        ..pay
    };
    let expired = Burned {
        block: burned.block,
        allowance_expiry: Some(NOW),
    };
    let refund = refund(&mut l, &pay, expired, T, REFUND_MEMO, NOW);
    assert!(refund.refund_block.is_some());
    assert_eq!(refund.approval_refund_block, None);
}

#[test]
fn the_withdraw_memo_is_a_cbor_array_of_the_receiver() {
    let canister = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    let mut expected = vec![0x81, 0x4a];
    expected.extend_from_slice(canister.as_slice());
    assert_eq!(withdraw_memo(&canister), expected);
    let user = Principal::from_slice(&[5; 29]);
    assert_eq!(&withdraw_memo(&user)[..3], &[0x81, 0x58, 29]);
}

mod model {
    //! Random deposits, transfers, approvals, spending by spenders,
    //! withdrawals and creations (each either delivered or failed and
    //! refunded) against a model of balances and of the cycles the canister
    //! holds: after every step every balance agrees, the supply is the sum of
    //! the balances, and the canister holds at least the supply, so every
    //! cycle on the ledger can be withdrawn.

    use super::*;
    use ledger_core::TransferRequest;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Step {
        Deposit {
            to: u8,
            cycles: u128,
        },
        Transfer {
            from: u8,
            to: u8,
            amount: u128,
        },
        Approve {
            from: u8,
            spender: u8,
            amount: u128,
        },
        /// A withdrawal or creation by `spender` (or the owner), delivered
        /// or refused by the callee (which returns `returned` of it).
        Spend {
            from: u8,
            spender: Option<u8>,
            amount: u128,
            delivered: bool,
            returned_percent: u8,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        let who = || 1u8..=3;
        let cycles = || prop_oneof![0..3 * FEE, FEE..50 * T];
        prop_oneof![
            (who(), cycles()).prop_map(|(to, cycles)| Step::Deposit { to, cycles }),
            (who(), who(), cycles()).prop_map(|(from, to, amount)| Step::Transfer {
                from,
                to,
                amount
            }),
            (who(), who(), cycles()).prop_map(|(from, spender, amount)| Step::Approve {
                from,
                spender,
                amount
            }),
            (
                who(),
                proptest::option::of(who()),
                cycles(),
                any::<bool>(),
                0u8..=100
            )
                .prop_map(|(from, spender, amount, delivered, returned_percent)| {
                    Step::Spend {
                        from,
                        spender,
                        amount,
                        delivered,
                        returned_percent,
                    }
                }),
        ]
    }

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(16)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn balances_supply_and_held_cycles_agree(steps in proptest::collection::vec(step(), 1..50)) {
            let mut l = ledger();
            // The cycles the canister holds for its accounts (and fees).
            let mut held: u128 = 0;
            let mut balances: BTreeMap<u8, u128> = BTreeMap::new();
            for (i, step) in steps.into_iter().enumerate() {
                let now = NOW + i as u64;
                match step {
                    Step::Deposit { to, cycles } => {
                        if deposit(&mut l, account(to), None, cycles, now).is_ok() {
                            held += cycles;
                            *balances.entry(to).or_default() += cycles - FEE;
                        }
                    }
                    Step::Transfer { from, to, amount } => {
                        let req = TransferRequest {
                            from: account(from),
                            to: account(to),
                            spender: None,
                            amount,
                            fee: None,
                            memo: None,
                            created_at_time: None,
                        };
                        if l.transfer(req, now).is_ok() {
                            *balances.get_mut(&from).unwrap() -= amount + FEE;
                            *balances.entry(to).or_default() += amount;
                        }
                    }
                    Step::Approve { from, spender, amount } => {
                        let req = ApproveRequest {
                            from: account(from),
                            spender: account(spender),
                            allowance: amount,
                            expected_allowance: None,
                            expires_at: None,
                            fee: None,
                            memo: None,
                            created_at_time: None,
                        };
                        if l.approve(req, now).is_ok() {
                            *balances.get_mut(&from).unwrap() -= FEE;
                        }
                    }
                    Step::Spend { from, spender, amount, delivered, returned_percent } => {
                        let pay = Burn {
                            from: account(from),
                            spender: spender.map(account),
                            amount,
                            memo: vec![],
                            created_at_time: None,
                        };
                        let before = l.balance(&account(from));
                        let Ok(burned) = burn(&mut l, pay.clone(), now) else {
                            continue;
                        };
                        prop_assert_eq!(l.balance(&account(from)), before - amount - FEE);
                        *balances.get_mut(&from).unwrap() -= amount + FEE;
                        held -= amount;
                        if !delivered {
                            let returned = amount * u128::from(returned_percent) / 100;
                            held += returned;
                            let refund = refund(&mut l, &pay, burned, returned, REFUND_MEMO, now);
                            if refund.refund_block.is_some() {
                                *balances.get_mut(&from).unwrap() += returned - FEE;
                            }
                            if refund.approval_refund_block.is_some() {
                                *balances.get_mut(&from).unwrap() -= FEE;
                            }
                        }
                    }
                }
                let mut total = 0;
                for (who, expected) in &balances {
                    prop_assert_eq!(l.balance(&account(*who)), *expected, "balance of {}", who);
                    total += expected;
                }
                prop_assert_eq!(supply(&l), total, "supply = Σ balances");
                prop_assert!(held >= total, "held {} < supply {}", held, total);
            }
        }
    }
}
