use super::*;
use crate::config::Config;
use candid::Principal;
use ic_stable_structures::DefaultMemoryImpl;
use ic_stable_structures::memory_manager::MemoryManager;
use ledger_core::ledger::MAX_PRUNED_PER_CALL;
use nns_api::AccountIdentifier;
use nns_api::icp_block::{Hash, Operation};
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
        memo: Memos::default(),
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
        memo: Memos::default(),
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
            memo: Memos::icrc1(Some(vec![0; 33])),
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
        memo: Memos::icrc1(Some(vec![1])),
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
    let legacy = |memo| TransferRequest {
        memo: Memos {
            memo,
            icrc1_memo: None,
        },
        ..at(NOW)
    };
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
    // Each transaction walks a bounded batch of blocks (the first is the
    // initial mint, which has no entry), so the backlog drains in steps.
    ledger.transfer(send(1, 2, 1), later).unwrap();
    assert_eq!(
        ledger.dedup_entries(),
        250 - (MAX_PRUNED_PER_CALL as u64 - 1)
    );
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
        parent = Some(block.hash());
    }
    assert_eq!(ledger.last_block(), Some((2, parent.unwrap())));
}

#[test]
fn a_newer_layout_is_refused() {
    let mut ledger = ledger_with(&[]);
    let mut tip = *ledger.tip();
    tip.layout_version = LAYOUT_VERSION + 1;
    ledger.set_tip(tip);
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

/// A stand-in for a hash of layouts 1–4 (ICRC-3 value hashes, salted by
/// layout 1): anything but the real ledger's hash.
fn old_hash(hash: &Hash, salt: u8) -> Hash {
    nns_api::icp_block::sha256(&[&hash[..], &[salt]].concat())
}

/// Makes the ledger look as an earlier layout left it: the newest block's
/// hash as that layout made it (so the next block names it as its parent),
/// and the dedup entry of block `index` (if any) under that layout's key.
fn as_old_layout(ledger: &mut Ledger<DefaultMemoryImpl>, index: u64, salt: u8) {
    let block = ledger.block(index).unwrap();
    if block.transaction.created_at_time.is_some() {
        let hash = block.transaction.hash();
        let old = old_hash(&hash, salt);
        ledger.rekey_as_old_layout(&hash, old, index, block.timestamp);
    }
    let mut tip = *ledger.tip();
    tip.last_hash = old_hash(&tip.last_hash, salt);
    ledger.set_tip(tip);
}

/// Records an earlier layout's version, as that layout's last message left it.
fn mark_layout(ledger: &mut Ledger<DefaultMemoryImpl>, version: u32) {
    let mut tip = *ledger.tip();
    tip.layout_version = version;
    ledger.set_tip(tip);
}

/// What the canister does on upgrade, run to the end in chunks of `chunk`.
fn upgrade(memory: &DefaultMemoryImpl, chunk: usize) -> Ledger<DefaultMemoryImpl> {
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.check_layout().unwrap();
    ledger.start_migration();
    while !ledger.migrate(chunk) {
        assert!(!ledger.is_ready());
    }
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

/// `n` stamped payments made by an earlier layout; the memory is left as
/// after its last message.
fn paid_by_old_layout(memory: &DefaultMemoryImpl, n: u64) -> Vec<(TransferRequest, u64)> {
    let mut ledger = ledger_in(memory, &[(1, 1_000_000)]);
    as_old_layout(&mut ledger, 0, 1);
    let paid = (0..n)
        .map(|i| {
            let request = TransferRequest {
                created_at_time: Some(NOW + i),
                ..send(1, 2, 1)
            };
            let index = ledger.transfer(request.clone(), NOW + i).unwrap();
            as_old_layout(&mut ledger, index, (i % 16) as u8);
            (request, index)
        })
        .collect();
    mark_layout(&mut ledger, 1 + (n % 4) as u32);
    paid
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

/// Every block names the real ledger's hash of the block before it, and the
/// tip is the hash of the last.
fn assert_chained(ledger: &Ledger<DefaultMemoryImpl>) {
    let mut parent = None;
    for i in 0..ledger.chain_length() {
        let block = ledger.block(i).unwrap();
        assert_eq!(block.parent_hash, parent, "block {i}");
        parent = Some(block.hash());
    }
    assert_eq!(ledger.last_block().map(|(_, hash)| hash), parent);
}

#[test]
fn an_old_ledger_takes_the_real_ledgers_hashes_on_upgrade() {
    let memory = DefaultMemoryImpl::default();
    let paid = paid_by_old_layout(&memory, 20);
    let ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    assert!(ledger.block(5).unwrap().parent_hash != Some(ledger.block(4).unwrap().hash()));
    drop(ledger);

    let mut ledger = upgrade(&memory, 7);
    assert_eq!(ledger.tip().layout_version, LAYOUT_VERSION);
    assert!(ledger.is_ready());
    assert_chained(&ledger);
    assert_all_duplicates(&mut ledger, &paid);
    assert_eq!(ledger.dedup_entries(), 20, "one entry per payment");
    // New blocks chain on.
    ledger.transfer(send(1, 3, 1), NOW + HOUR).unwrap();
    assert_chained(&ledger);
    // Entries still leave with the window.
    ledger.transfer(send(1, 2, 1), NOW + 26 * HOUR).unwrap();
    assert_eq!(ledger.dedup_entries(), 0);
}

#[test]
fn an_upgrade_during_the_migration_refuses_older_builds_and_finishes_it() {
    let memory = DefaultMemoryImpl::default();
    let paid = paid_by_old_layout(&memory, 6);
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.start_migration();
    assert!(!ledger.migrate(4), "only partly migrated");
    assert!(!ledger.is_ready());
    drop(ledger);
    // Earlier builds (layouts 1–4) refuse a version above their own.
    let ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    assert_eq!(ledger.tip().layout_version, LAYOUT_VERSION - 1, "migrating");
    drop(ledger);
    // This build resumes and finishes; every retry stays a duplicate.
    let mut ledger = upgrade(&memory, 2);
    assert_chained(&ledger);
    assert_all_duplicates(&mut ledger, &paid);
    assert_eq!(ledger.dedup_entries(), 6);
}

#[test]
#[should_panic(expected = "not ready")]
fn a_migrating_ledger_takes_no_transaction() {
    let memory = DefaultMemoryImpl::default();
    paid_by_old_layout(&memory, 3);
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.start_migration();
    let _ = ledger.transfer(send(1, 2, 1), NOW + HOUR);
}

#[test]
fn a_current_ledger_needs_no_migration() {
    let memory = DefaultMemoryImpl::default();
    let mut ledger = ledger_in(&memory, &[(1, 1_000_000)]);
    ledger.transfer(send(1, 2, 1), NOW).unwrap();
    drop(ledger);
    let mut ledger = Ledger::open(&MemoryManager::init(memory.clone()));
    ledger.start_migration();
    assert!(ledger.is_ready());
    assert!(ledger.migrate(1));
    assert_eq!(ledger.rehashed_blocks(), 0);
    assert_chained(&ledger);
}

#[test]
fn a_payment_recorded_twice_by_layout_1_stays_deduplicated_by_the_first() {
    // Layout 1 took a request with an explicit fee and the same one without
    // it for two payments, under two keys; after the upgrade both have one.
    let memory = DefaultMemoryImpl::default();
    let mut ledger = ledger_in(&memory, &[(1, 1_000_000)]);
    let stamped = TransferRequest {
        created_at_time: Some(NOW),
        ..send(1, 2, 1)
    };
    let first = ledger.transfer(stamped.clone(), NOW).unwrap();
    as_old_layout(&mut ledger, first, 1);
    // The second payment went through only because the first was salted.
    let second_key = ledger.block(first).unwrap().transaction.hash();
    ledger.remove_dedup_entry(&second_key);
    let second = ledger.transfer(stamped.clone(), NOW + 1).unwrap();
    assert_eq!(second, first + 1);
    as_old_layout(&mut ledger, second, 4);
    mark_layout(&mut ledger, 1);
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
