use super::*;
use crate::icrc3::block_value;
use candid::Principal;
use ic_stable_structures::DefaultMemoryImpl;
use nns_api::ledger::Tokens;

const FEE: u64 = 10_000;
const NOW: u64 = 1_700_000_000_000_000_000;
const HOUR: u64 = 3_600_000_000_000;

fn account(n: u8) -> AccountIdentifier {
    AccountIdentifier::new(&Principal::from_slice(&[n, 7]), None)
}

fn minter() -> AccountIdentifier {
    account(0)
}

fn config() -> Config {
    Config {
        minting_account: minter(),
        icrc1_minting_account: None,
        transfer_fee: Tokens::from_e8s(FEE),
        token_symbol: "ICP".into(),
        token_name: "Internet Computer".into(),
        transaction_window_nanos: 24 * HOUR,
        icrc2_enabled: true,
    }
}

fn ledger_with(balances: &[(u8, u64)]) -> Ledger<DefaultMemoryImpl> {
    let mut ledger = Ledger::open(&MemoryManager::init(DefaultMemoryImpl::default()));
    let initial: Vec<_> = balances
        .iter()
        .map(|(n, e8s)| (account(*n), *e8s))
        .collect();
    ledger.install(config(), &initial, NOW).unwrap();
    ledger
}

fn send(from: u8, to: u8, amount: u64) -> TransferRequest {
    TransferRequest {
        from: if from == 0 { minter() } else { account(from) },
        to: if to == 0 { minter() } else { account(to) },
        spender: None,
        amount,
        fee: None,
        memo: 0,
        icrc1_memo: None,
        created_at_time: None,
    }
}

fn approval(from: u8, spender: u8, allowance: u64) -> ApproveRequest {
    ApproveRequest {
        from: account(from),
        spender: account(spender),
        allowance,
        expected_allowance: None,
        expires_at: None,
        fee: None,
        icrc1_memo: None,
        created_at_time: None,
    }
}

#[test]
fn initial_balances_are_minted_as_blocks() {
    let ledger = ledger_with(&[(1, 500), (2, 700)]);
    assert_eq!(ledger.chain_length(), 2);
    assert_eq!(ledger.balance(&account(1)), 500);
    assert_eq!(ledger.tip().total_supply(), 1_200);
    assert!(matches!(
        ledger.block(1).unwrap().transaction.operation,
        Operation::Mint { amount: 700, .. }
    ));
}

#[test]
fn the_minting_account_cannot_receive_initial_balances() {
    let mut ledger = Ledger::open(&MemoryManager::init(DefaultMemoryImpl::default()));
    let err = ledger.install(config(), &[(minter(), 5)], NOW).unwrap_err();
    assert!(err.contains("minting account"));
}

#[test]
fn a_transfer_moves_the_amount_and_burns_the_fee() {
    let mut ledger = ledger_with(&[(1, 100_000)]);
    let index = ledger.transfer(send(1, 2, 30_000), NOW).unwrap();
    assert_eq!(index, 1);
    assert_eq!(ledger.balance(&account(1)), 60_000);
    assert_eq!(ledger.balance(&account(2)), 30_000);
    assert_eq!(ledger.tip().fees_burned, FEE);
    assert_eq!(ledger.tip().total_supply(), 90_000);
}

#[test]
fn an_emptied_account_is_removed() {
    let mut ledger = ledger_with(&[(1, 20_000)]);
    ledger.transfer(send(1, 2, 10_000), NOW).unwrap();
    assert_eq!(ledger.balance(&account(1)), 0);
    assert_eq!(ledger.number_of_accounts(), 1);
}

#[test]
fn refusals_change_nothing() {
    let mut ledger = ledger_with(&[(1, 100_000)]);
    let before = (
        ledger.chain_length(),
        *ledger.tip(),
        ledger.balance(&account(1)),
    );
    let cases = [
        (
            send(1, 2, 95_000),
            TxError::InsufficientFunds { balance: 100_000 },
        ),
        (
            TransferRequest {
                fee: Some(1),
                ..send(1, 2, 5)
            },
            TxError::BadFee { expected_fee: FEE },
        ),
        (
            send(1, 0, FEE - 1),
            TxError::BadBurn {
                min_burn_amount: FEE,
            },
        ),
        (
            TransferRequest {
                fee: Some(FEE),
                ..send(0, 2, 5)
            },
            TxError::BadFee { expected_fee: 0 },
        ),
        (
            TransferRequest {
                fee: Some(FEE),
                ..send(1, 0, FEE)
            },
            TxError::BadFee { expected_fee: 0 },
        ),
        (
            send(1, 2, u64::MAX),
            TxError::InsufficientFunds { balance: 100_000 },
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            ledger.transfer(request.clone(), NOW),
            Err(expected),
            "{request:?}"
        );
    }
    for request in [
        send(0, 0, 5),
        send(0, 2, u64::MAX),
        TransferRequest {
            icrc1_memo: Some(vec![0; 33]),
            ..send(1, 2, 5)
        },
    ] {
        assert!(
            matches!(
                ledger.transfer(request.clone(), NOW),
                Err(TxError::Generic { .. })
            ),
            "{request:?}"
        );
    }
    assert_eq!(
        (
            ledger.chain_length(),
            *ledger.tip(),
            ledger.balance(&account(1))
        ),
        before
    );
}

#[test]
fn mints_and_burns_change_the_supply() {
    let mut ledger = ledger_with(&[]);
    ledger.transfer(send(0, 1, 1_000_000), NOW).unwrap();
    ledger.transfer(send(1, 0, 400_000), NOW).unwrap();
    let tip = ledger.tip();
    assert_eq!(
        (tip.minted, tip.burned, tip.fees_burned),
        (1_000_000, 400_000, 0)
    );
    assert_eq!(ledger.balance(&account(1)), 600_000);
    assert_eq!(ledger.balance(&minter()), 0);
}

#[test]
fn deduplication_follows_the_window_and_drift() {
    let mut ledger = ledger_with(&[(1, 1_000_000)]);
    let at = |t| TransferRequest {
        created_at_time: Some(t),
        ..send(1, 2, 1)
    };
    let first = ledger.transfer(at(NOW), NOW).unwrap();
    assert_eq!(
        ledger.transfer(at(NOW), NOW + HOUR),
        Err(TxError::Duplicate {
            duplicate_of: first
        })
    );
    // A different memo is a different transaction.
    let other = TransferRequest {
        icrc1_memo: Some(vec![1]),
        ..at(NOW)
    };
    assert!(ledger.transfer(other, NOW + HOUR).is_ok());
    // Spelling out the fee changes nothing the block records: a duplicate.
    let explicit = TransferRequest {
        fee: Some(FEE),
        ..at(NOW)
    };
    assert_eq!(
        ledger.transfer(explicit, NOW + HOUR),
        Err(TxError::Duplicate {
            duplicate_of: first
        })
    );
    // Neither does a legacy memo of 0, but another legacy memo does.
    let legacy = |memo| TransferRequest { memo, ..at(NOW) };
    assert_eq!(
        ledger.transfer(legacy(0), NOW + HOUR),
        Err(TxError::Duplicate {
            duplicate_of: first
        })
    );
    assert!(ledger.transfer(legacy(1), NOW + HOUR).is_ok());
    // A transfer_from is another transaction, even by the owner.
    let own = TransferRequest {
        spender: Some(account(1)),
        ..at(NOW)
    };
    assert!(ledger.transfer(own, NOW + HOUR).is_ok());
    // Without created_at_time nothing is deduplicated.
    assert!(ledger.transfer(send(1, 2, 1), NOW).is_ok());
    assert!(ledger.transfer(send(1, 2, 1), NOW).is_ok());
    assert_eq!(
        ledger.transfer(at(NOW), NOW + 25 * HOUR),
        Err(TxError::TooOld)
    );
    assert_eq!(
        ledger.transfer(at(NOW + 2 * PERMITTED_DRIFT_NANOS), NOW),
        Err(TxError::CreatedInFuture { ledger_time: NOW })
    );
    assert!(
        ledger
            .transfer(at(NOW + PERMITTED_DRIFT_NANOS), NOW)
            .is_ok()
    );
}

#[test]
fn dedup_entries_are_pruned_after_the_window() {
    let mut ledger = ledger_with(&[(1, 1_000_000_000)]);
    for i in 0..250 {
        let request = TransferRequest {
            created_at_time: Some(NOW + i),
            ..send(1, 2, 1)
        };
        ledger.transfer(request, NOW + i).unwrap();
    }
    assert_eq!(ledger.dedup_entries(), 250);
    let later = NOW + 26 * HOUR;
    // Each transaction prunes a bounded batch, so the backlog drains in steps.
    ledger.transfer(send(1, 2, 1), later).unwrap();
    assert_eq!(ledger.dedup_entries(), 250 - MAX_PRUNED_PER_CALL as u64);
    ledger.transfer(send(1, 2, 1), later).unwrap();
    ledger.transfer(send(1, 2, 1), later).unwrap();
    assert_eq!(ledger.dedup_entries(), 0);
}

#[test]
fn approvals_allow_spending_up_to_the_allowance_including_the_fee() {
    let mut ledger = ledger_with(&[(1, 1_000_000)]);
    ledger.approve(approval(1, 2, 50_000), NOW).unwrap();
    assert_eq!(ledger.balance(&account(1)), 1_000_000 - FEE);
    let spend = |amount| TransferRequest {
        spender: Some(account(2)),
        ..send(1, 3, amount)
    };
    assert_eq!(
        ledger.transfer(spend(40_001), NOW),
        Err(TxError::InsufficientAllowance { allowance: 50_000 })
    );
    ledger.transfer(spend(40_000), NOW).unwrap();
    assert_eq!(ledger.allowance(&account(1), &account(2), NOW).amount, 0);
    assert_eq!(ledger.approvals(), 0);
    assert_eq!(ledger.balance(&account(3)), 40_000);
    assert_eq!(
        ledger.balance(&account(1)),
        1_000_000 - 3 * FEE - 40_000 + FEE
    );
}

#[test]
fn approval_rules() {
    let mut ledger = ledger_with(&[(1, 1_000_000), (4, 5)]);
    ledger.approve(approval(1, 2, 100), NOW).unwrap();
    let expecting = |expected| ApproveRequest {
        expected_allowance: Some(expected),
        ..approval(1, 2, 300)
    };
    assert_eq!(
        ledger.approve(expecting(99), NOW),
        Err(TxError::AllowanceChanged {
            current_allowance: 100
        })
    );
    ledger.approve(expecting(100), NOW).unwrap();
    assert_eq!(ledger.allowance(&account(1), &account(2), NOW).amount, 300);
    let expired = ApproveRequest {
        expires_at: Some(NOW),
        ..approval(1, 2, 1)
    };
    assert_eq!(
        ledger.approve(expired, NOW),
        Err(TxError::Expired { ledger_time: NOW })
    );
    assert!(matches!(
        ledger.approve(approval(1, 1, 1), NOW),
        Err(TxError::Generic {
            error_code: generic_error::SELF_APPROVAL,
            ..
        })
    ));
    assert_eq!(
        ledger.approve(approval(4, 2, 1), NOW),
        Err(TxError::InsufficientFunds { balance: 5 })
    );
    // Approving zero removes the approval.
    ledger.approve(approval(1, 2, 0), NOW).unwrap();
    assert_eq!(ledger.approvals(), 0);
}

#[test]
fn approval_refusals_come_in_the_real_ledgers_order() {
    let mut ledger = ledger_with(&[(1, 1_000_000), (4, 5)]);
    let broken = |from| ApproveRequest {
        expires_at: Some(NOW),
        expected_allowance: Some(7),
        ..approval(from, 2, 1)
    };
    // The fee first, then the expiry, then the expected allowance.
    assert_eq!(
        ledger.approve(broken(4), NOW),
        Err(TxError::InsufficientFunds { balance: 5 })
    );
    assert_eq!(
        ledger.approve(broken(1), NOW),
        Err(TxError::Expired { ledger_time: NOW })
    );
    assert_eq!(
        ledger.approve(
            ApproveRequest {
                expires_at: None,
                ..broken(1)
            },
            NOW
        ),
        Err(TxError::AllowanceChanged {
            current_allowance: 0
        })
    );
}

#[test]
fn zero_amounts_are_transactions_but_burns_of_nothing_are_not() {
    let mut ledger = ledger_with(&[(1, 100_000), (2, 300)]);
    ledger.transfer(send(1, 3, 0), NOW).unwrap();
    ledger.transfer(send(0, 3, 0), NOW).unwrap();
    assert_eq!(ledger.balance(&account(1)), 100_000 - FEE);
    assert_eq!(
        ledger.transfer(send(1, 0, 0), NOW),
        Err(TxError::BadBurn {
            min_burn_amount: FEE
        })
    );
    // Below the fee, the whole balance may be burned.
    assert_eq!(
        ledger.transfer(send(2, 0, 299), NOW),
        Err(TxError::BadBurn {
            min_burn_amount: 300
        })
    );
    ledger.transfer(send(2, 0, 300), NOW).unwrap();
    assert_eq!(ledger.balance(&account(2)), 0);
}

#[test]
fn expired_approvals_read_as_zero_and_are_pruned() {
    let mut ledger = ledger_with(&[(1, 1_000_000)]);
    let expiring = ApproveRequest {
        expires_at: Some(NOW + HOUR),
        ..approval(1, 2, 500)
    };
    ledger.approve(expiring, NOW).unwrap();
    assert_eq!(ledger.allowance(&account(1), &account(2), NOW).amount, 500);
    let later = NOW + HOUR;
    assert_eq!(ledger.allowance(&account(1), &account(2), later).amount, 0);
    let expecting_old = ApproveRequest {
        expected_allowance: Some(500),
        ..approval(1, 2, 7)
    };
    assert_eq!(
        ledger.approve(expecting_old, later),
        Err(TxError::AllowanceChanged {
            current_allowance: 0
        })
    );
    ledger.transfer(send(1, 3, 1), later).unwrap();
    assert_eq!(ledger.approvals(), 0);
}

#[test]
fn every_block_links_to_the_hash_of_its_parent() {
    let mut ledger = ledger_with(&[(1, 1_000_000)]);
    ledger.transfer(send(1, 2, 5), NOW).unwrap();
    ledger.approve(approval(1, 2, 5), NOW).unwrap();
    ledger.transfer(send(2, 0, FEE), NOW).unwrap_err();
    let mut parent = None;
    for i in 0..ledger.chain_length() {
        let block = ledger.block(i).unwrap();
        assert_eq!(block.parent_hash, parent);
        parent = Some(block_value(&block).hash());
    }
    assert_eq!(ledger.last_block(), Some((2, parent.unwrap())));
}

#[test]
fn a_newer_layout_is_refused() {
    let mut ledger = ledger_with(&[]);
    let mut tip = *ledger.tip();
    tip.layout_version = LAYOUT_VERSION + 1;
    ledger.tip.set(tip);
    assert!(ledger.check_layout().unwrap_err().contains("downgrade"));
}

/// A minimal model of what the ledger must compute.
#[derive(Default)]
struct Model {
    balances: std::collections::BTreeMap<u8, u64>,
    allowances: std::collections::BTreeMap<(u8, u8), u64>,
    minted: u64,
    burned: u64,
    fees: u64,
}

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_operations_agree_with_a_model() {
    const ACCOUNTS: u64 = 6;
    let mut ledger = ledger_with(&[]);
    let mut model = Model::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut now = NOW;
    let mut stamped = Vec::new();
    for _ in 0..5_000 {
        now += rng.below(HOUR);
        let a = 1 + rng.below(ACCOUNTS) as u8;
        let b = 1 + rng.below(ACCOUNTS) as u8;
        let amount = rng.below(300_000);
        let bal = |m: &Model, n: u8| m.balances.get(&n).copied().unwrap_or(0);
        match rng.below(6) {
            0 => {
                let ok = ledger.transfer(send(0, a, amount), now).is_ok();
                assert!(ok);
                if ok {
                    *model.balances.entry(a).or_default() += amount;
                    model.minted += amount;
                }
            }
            1 => {
                let ok = ledger.transfer(send(a, 0, amount), now).is_ok();
                let balance = bal(&model, a);
                assert_eq!(
                    ok,
                    amount >= FEE.min(balance) && amount > 0 && balance >= amount
                );
                if ok {
                    *model.balances.get_mut(&a).unwrap() -= amount;
                    model.burned += amount;
                }
            }
            2 => {
                let time = now - rng.below(2 * HOUR);
                let request = TransferRequest {
                    created_at_time: Some(time),
                    ..send(a, b, amount)
                };
                let result = ledger.transfer(request, now);
                let ok = bal(&model, a) >= amount + FEE;
                assert_eq!(result.is_ok(), ok, "{result:?}");
                if ok {
                    *model.balances.get_mut(&a).unwrap() -= amount + FEE;
                    *model.balances.entry(b).or_default() += amount;
                    model.fees += FEE;
                    stamped.push((a, b, amount, time));
                }
            }
            3 if a != b => {
                let ok = ledger.approve(approval(a, b, amount), now).is_ok();
                assert_eq!(ok, bal(&model, a) >= FEE);
                if ok {
                    *model.balances.get_mut(&a).unwrap() -= FEE;
                    model.fees += FEE;
                    model.allowances.insert((a, b), amount);
                }
            }
            4 if a != b => {
                let to = 1 + rng.below(ACCOUNTS) as u8;
                let request = TransferRequest {
                    spender: Some(account(b)),
                    ..send(a, to, amount)
                };
                let allowance = model.allowances.get(&(a, b)).copied().unwrap_or(0);
                let result = ledger.transfer(request, now);
                let ok = allowance >= amount + FEE && bal(&model, a) >= amount + FEE;
                assert_eq!(result.is_ok(), ok, "{result:?}");
                if ok {
                    *model.balances.get_mut(&a).unwrap() -= amount + FEE;
                    *model.balances.entry(to).or_default() += amount;
                    model.fees += FEE;
                    model.allowances.insert((a, b), allowance - amount - FEE);
                }
            }
            _ => {
                // Replay an earlier stamped transfer: a duplicate inside the
                // window, too old outside it.
                if let Some(&(a, b, amount, time)) = stamped.last() {
                    let request = TransferRequest {
                        created_at_time: Some(time),
                        ..send(a, b, amount)
                    };
                    let result = ledger.transfer(request, now);
                    if time + 24 * HOUR < now {
                        assert_eq!(result, Err(TxError::TooOld));
                    } else {
                        assert!(
                            matches!(result, Err(TxError::Duplicate { .. })),
                            "{result:?}"
                        );
                    }
                }
            }
        }
        for n in 1..=ACCOUNTS as u8 {
            assert_eq!(ledger.balance(&account(n)), bal(&model, n));
        }
        for ((a, b), allowance) in &model.allowances {
            assert_eq!(
                ledger.allowance(&account(*a), &account(*b), now).amount,
                *allowance
            );
        }
        let tip = ledger.tip();
        assert_eq!(
            (tip.minted, tip.burned, tip.fees_burned),
            (model.minted, model.burned, model.fees)
        );
        assert_eq!(
            tip.total_supply(),
            model.balances.values().sum::<u64>(),
            "supply = minted − burned − fees = Σ balances"
        );
    }
}

/// Layout 1 keyed a dedup entry by the transaction hash salted with what the
/// request spelled out (an explicit fee or all-zero subaccount). Rewrites the
/// entry of block `index` that way and marks the memory as layout 1.
fn write_as_layout_1(ledger: &mut Ledger<DefaultMemoryImpl>, index: u64, shape: u8) {
    let (queue_key, hash) = ledger
        .dedup_queue
        .iter()
        .find(|entry| entry.key()[8..] == index.to_be_bytes())
        .expect("a dedup entry for the block")
        .into_pair();
    let salted = layout_1_dedup_key(hash, shape);
    ledger.dedup.remove(&hash);
    ledger.dedup.insert(salted, index);
    ledger.dedup_queue.insert(queue_key, salted);
    let mut tip = *ledger.tip();
    tip.layout_version = 1;
    ledger.tip.set(tip);
}

/// What the canister does on upgrade, run to the end in chunks of `chunk`.
fn upgrade(memory: &DefaultMemoryImpl, chunk: usize) -> Ledger<DefaultMemoryImpl> {
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.check_layout().unwrap();
    ledger.start_dedup_migration();
    while !ledger.migrate_dedup(chunk) {}
    ledger
}

fn ledger_in(memory: &DefaultMemoryImpl, balances: &[(u8, u64)]) -> Ledger<DefaultMemoryImpl> {
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    let initial: Vec<_> = balances
        .iter()
        .map(|(n, e8s)| (account(*n), *e8s))
        .collect();
    ledger.install(config(), &initial, NOW).unwrap();
    ledger
}

#[test]
fn dedup_entries_of_layout_1_are_found_after_the_upgrade() {
    let memory = DefaultMemoryImpl::default();
    let mut ledger = ledger_in(&memory, &[(1, 1_000_000)]);
    let stamped = |t| TransferRequest {
        created_at_time: Some(t),
        ..send(1, 2, 1)
    };
    // Paid before the upgrade with the fee spelled out.
    let paid = ledger.transfer(stamped(NOW), NOW).unwrap();
    write_as_layout_1(&mut ledger, paid, 1);
    // Another payment, to an explicit default subaccount (shape 4).
    let other = ledger.transfer(stamped(NOW + 1), NOW + 1).unwrap();
    write_as_layout_1(&mut ledger, other, 4);
    drop(ledger);

    let mut ledger = upgrade(&memory, 1_000);
    assert_eq!(ledger.tip().layout_version, LAYOUT_VERSION);
    let retry = TransferRequest {
        fee: Some(FEE),
        ..stamped(NOW)
    };
    assert_eq!(
        ledger.transfer(retry, NOW + HOUR),
        Err(TxError::Duplicate { duplicate_of: paid })
    );
    assert_eq!(
        ledger.transfer(stamped(NOW + 1), NOW + HOUR),
        Err(TxError::Duplicate {
            duplicate_of: other
        })
    );
    // The old keys are gone: one entry per payment.
    assert_eq!(ledger.dedup_entries(), 2);
    // Entries still leave with the window.
    ledger.transfer(send(1, 2, 1), NOW + 26 * HOUR).unwrap();
    assert_eq!(ledger.dedup_entries(), 0);
}

#[test]
fn an_upgrade_during_the_migration_refuses_layout_1_and_finishes_it() {
    let memory = DefaultMemoryImpl::default();
    let paid = paid_by_layout_1(&memory, 6);
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.start_dedup_migration();
    assert!(!ledger.migrate_dedup(2), "only partly re-keyed");
    drop(ledger);
    // Earlier builds (layouts 1 and 2) refuse a version above their own.
    let ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    assert_eq!(ledger.tip().layout_version, 3);
    drop(ledger);
    // This build starts over and finishes; every retry stays a duplicate.
    let mut ledger = upgrade(&memory, 2);
    assert_eq!(ledger.tip().layout_version, LAYOUT_VERSION);
    assert_all_duplicates(&mut ledger, &paid);
    assert_eq!(ledger.dedup_entries(), 6);
}

#[test]
fn memory_of_layout_2_needs_no_re_keying() {
    let memory = DefaultMemoryImpl::default();
    let mut ledger = ledger_in(&memory, &[(1, 1_000_000)]);
    let mut tip = *ledger.tip();
    tip.layout_version = 2;
    ledger.tip.set(tip);
    drop(ledger);
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.start_dedup_migration();
    assert!(!ledger.dedup_migration_pending());
    assert_eq!(ledger.tip().layout_version, LAYOUT_VERSION);
}

/// `n` stamped payments, their dedup entries written as layout 1 wrote
/// them, in every shape layout 1 knew (none, fee, from, to, spender
/// subaccounts); the memory left as after layout 1's last message.
fn paid_by_layout_1(memory: &DefaultMemoryImpl, n: u64) -> Vec<(TransferRequest, u64)> {
    let mut ledger = ledger_in(memory, &[(1, 1_000_000)]);
    (0..n)
        .map(|i| {
            let request = TransferRequest {
                created_at_time: Some(NOW + i),
                ..send(1, 2, 1)
            };
            let index = ledger.transfer(request.clone(), NOW + i).unwrap();
            write_as_layout_1(&mut ledger, index, (i % 16) as u8);
            (request, index)
        })
        .collect()
}

fn assert_all_duplicates(ledger: &mut Ledger<DefaultMemoryImpl>, paid: &[(TransferRequest, u64)]) {
    for (request, index) in paid {
        assert_eq!(
            ledger.transfer(request.clone(), NOW + HOUR),
            Err(TxError::Duplicate {
                duplicate_of: *index
            })
        );
    }
}

#[test]
fn retries_are_deduplicated_while_the_migration_runs_in_chunks() {
    let memory = DefaultMemoryImpl::default();
    let mut paid = paid_by_layout_1(&memory, 10);
    let stamped = |t| TransferRequest {
        created_at_time: Some(t),
        ..send(1, 2, 1)
    };
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.start_dedup_migration();
    let mut steps = 0;
    loop {
        // Before, between and after chunks, every retry is a duplicate.
        assert_all_duplicates(&mut ledger, &paid);
        // A new stamped payment during the migration is accepted once.
        let fresh = stamped(NOW + HOUR + steps);
        let index = ledger.transfer(fresh.clone(), NOW + HOUR).unwrap();
        paid.push((fresh, index));
        if ledger.migrate_dedup(3) {
            break;
        }
        // Every earlier build would refuse the memory now.
        assert_eq!(ledger.tip().layout_version, 3);
        steps += 1;
    }
    assert_all_duplicates(&mut ledger, &paid);
    assert!(steps >= 3);
    assert_eq!(ledger.tip().layout_version, LAYOUT_VERSION);
    assert_eq!(ledger.dedup_entries(), paid.len() as u64);
}

#[test]
fn a_payment_recorded_twice_by_layout_1_stays_deduplicated_by_the_first() {
    // Layout 1 took a request with an explicit fee and the same one without
    // it for two payments; after the upgrade both have one key.
    let memory = DefaultMemoryImpl::default();
    let mut ledger = ledger_in(&memory, &[(1, 1_000_000)]);
    let stamped = TransferRequest {
        created_at_time: Some(NOW),
        ..send(1, 2, 1)
    };
    let first = ledger.transfer(stamped.clone(), NOW).unwrap();
    write_as_layout_1(&mut ledger, first, 1);
    let second = ledger.transfer(stamped.clone(), NOW + 1).unwrap();
    assert_eq!(second, first + 1);
    drop(ledger);

    let mut ledger = upgrade(&memory, 1);
    assert_eq!(
        ledger.transfer(stamped.clone(), NOW + HOUR),
        Err(TxError::Duplicate {
            duplicate_of: first
        })
    );
    assert_eq!(ledger.dedup_entries(), 1);
    // Pruning the first payment's entry ends deduplication only once the
    // request is too old anyway.
    let expiry = NOW + 24 * HOUR + PERMITTED_DRIFT_NANOS;
    ledger.transfer(send(1, 2, 1), expiry + 1).unwrap();
    assert_eq!(ledger.dedup_entries(), 0);
    assert_eq!(ledger.transfer(stamped, expiry + 1), Err(TxError::TooOld));
}
