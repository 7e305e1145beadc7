//! The core against a small model, on the test kind (128-bit amounts, no
//! minting account, burns that pay the fee): random operations, and after
//! each the ledger's answer and every balance, allowance and total checked.

use super::*;
use crate::test_kind::{TestConfig, TestKind, test_ledger};
use ic_stable_structures::VectorMemory;
use proptest::prelude::*;
use std::collections::BTreeMap;

const FEE: u128 = 100_000_000;
const NOW: u64 = 1_000_000_000_000;
const ACCOUNTS: u32 = 4;

#[derive(Clone, Debug)]
enum Op {
    Mint {
        to: u32,
        amount: u128,
    },
    Burn {
        from: u32,
        spender: Option<u32>,
        amount: u128,
    },
    Transfer {
        from: u32,
        to: u32,
        amount: u128,
    },
    Approve {
        from: u32,
        spender: u32,
        allowance: u128,
    },
    TransferFrom {
        spender: u32,
        from: u32,
        to: u32,
        amount: u128,
    },
    /// The last stamped transfer again.
    Replay,
}

fn amount() -> impl Strategy<Value = u128> {
    prop_oneof![
        0..3 * FEE,
        Just(u128::MAX - 1),
        (1u128 << 64)..(1u128 << 100)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let account = || 1..=ACCOUNTS;
    prop_oneof![
        (account(), amount()).prop_map(|(to, amount)| Op::Mint { to, amount }),
        (account(), proptest::option::of(account()), amount()).prop_map(
            |(from, spender, amount)| Op::Burn {
                from,
                spender,
                amount
            }
        ),
        (account(), account(), amount()).prop_map(|(from, to, amount)| Op::Transfer {
            from,
            to,
            amount
        }),
        (account(), account(), amount()).prop_map(|(from, spender, allowance)| Op::Approve {
            from,
            spender,
            allowance
        }),
        (account(), account(), account(), amount()).prop_map(|(spender, from, to, amount)| {
            Op::TransferFrom {
                spender,
                from,
                to,
                amount,
            }
        }),
        Just(Op::Replay),
    ]
}

#[derive(Default)]
struct Model {
    balances: BTreeMap<u32, u128>,
    allowances: BTreeMap<(u32, u32), u128>,
    minted: u128,
    burned: u128,
    fees: u128,
    blocks: u64,
}

impl Model {
    fn balance(&self, a: u32) -> u128 {
        self.balances.get(&a).copied().unwrap_or(0)
    }

    /// Debits `amount + fee`, through `spender`'s allowance when a third
    /// party spends; whether it could.
    fn debit(&mut self, from: u32, spender: Option<u32>, amount: u128, fee: u128) -> bool {
        let Some(total) = amount.checked_add(fee) else {
            return false;
        };
        let third_party = spender.filter(|s| *s != from);
        if let Some(s) = third_party
            && self.allowances.get(&(from, s)).copied().unwrap_or(0) < total
        {
            return false;
        }
        if self.balance(from) < total {
            return false;
        }
        if let Some(s) = third_party {
            let left = self.allowances[&(from, s)] - total;
            if left == 0 {
                self.allowances.remove(&(from, s));
            } else {
                self.allowances.insert((from, s), left);
            }
        }
        *self.balances.entry(from).or_default() -= total;
        self.fees += fee;
        true
    }

    fn credit(&mut self, to: u32, amount: u128) {
        *self.balances.entry(to).or_default() += amount;
    }
}

fn transfer(
    from: u32,
    to: u32,
    spender: Option<u32>,
    amount: u128,
    created_at_time: Option<u64>,
) -> TransferRequest<TestKind> {
    TransferRequest {
        from,
        to,
        spender,
        amount,
        fee: spender.map(|_| FEE),
        memo: vec![spender.map_or(0, |_| 2)],
        created_at_time,
    }
}

fn run(ops: Vec<Op>) {
    let mut ledger: Ledger<TestKind, VectorMemory> = test_ledger(TestConfig {
        minting_account: None,
        fee: FEE,
        window: 24 * 3_600_000_000_000,
    });
    let mut model = Model::default();
    let mut last_stamped: Option<(TransferRequest<TestKind>, bool)> = None;
    for (step, op) in ops.into_iter().enumerate() {
        let at = Some(NOW - step as u64);
        let (result, expected_ok) = match op {
            Op::Mint { to, amount } => {
                let ok = model.minted.checked_add(amount).is_some();
                if ok {
                    model.minted += amount;
                    model.credit(to, amount);
                }
                let req = SupplyChange {
                    account: to,
                    spender: None,
                    amount,
                    memo: vec![],
                    created_at_time: at,
                    recorded_fee: None,
                };
                (ledger.mint(req, NOW), ok)
            }
            Op::Burn {
                from,
                spender,
                amount,
            } => {
                // An owner may spend as its own spender (the test kind is ICRC-like).
                let ok = model.debit(from, spender, amount, FEE);
                if ok {
                    model.burned += amount;
                }
                let req = SupplyChange {
                    account: from,
                    spender,
                    amount,
                    memo: vec![1],
                    created_at_time: at,
                    recorded_fee: None,
                };
                (ledger.burn(req, NOW), ok)
            }
            Op::Transfer { from, to, amount } => {
                let ok = model.debit(from, None, amount, FEE);
                if ok {
                    model.credit(to, amount);
                }
                let req = transfer(from, to, None, amount, at);
                last_stamped = Some((req.clone(), ok));
                (ledger.transfer(req, NOW), ok)
            }
            Op::TransferFrom {
                spender,
                from,
                to,
                amount,
            } => {
                let ok = model.debit(from, Some(spender), amount, FEE);
                if ok {
                    model.credit(to, amount);
                }
                (
                    ledger.transfer(transfer(from, to, Some(spender), amount, at), NOW),
                    ok,
                )
            }
            Op::Approve {
                from,
                spender,
                allowance,
            } => {
                let ok = from != spender && model.balance(from) >= FEE;
                if ok {
                    model.debit(from, None, 0, FEE);
                    if allowance == 0 {
                        model.allowances.remove(&(from, spender));
                    } else {
                        model.allowances.insert((from, spender), allowance);
                    }
                }
                let req = ApproveRequest {
                    from,
                    spender,
                    allowance,
                    expected_allowance: None,
                    expires_at: None,
                    fee: None,
                    memo: vec![],
                    created_at_time: None,
                };
                (ledger.approve(req, NOW), ok)
            }
            Op::Replay => {
                let Some((req, went_through)) = last_stamped.clone() else {
                    continue;
                };
                let result = ledger.transfer(req, NOW);
                if went_through {
                    assert!(
                        matches!(result, Err(TxError::Duplicate { .. })),
                        "step {step}: a replay is a duplicate: {result:?}"
                    );
                }
                // A refused original may go through now; the model says.
                let Some((req, _)) = last_stamped.take() else {
                    unreachable!()
                };
                let ok = !went_through && model.debit(req.from, None, req.amount, FEE);
                if ok {
                    model.credit(req.to, req.amount);
                }
                (result, ok)
            }
        };
        assert_eq!(result.is_ok(), expected_ok, "step {step}: {result:?}");
        if let Ok(index) = result {
            assert_eq!(index, model.blocks, "blocks are numbered in order");
            model.blocks += 1;
        }
        assert_eq!(ledger.chain_length(), model.blocks);
        let tip = ledger.tip();
        assert_eq!(
            (tip.minted, tip.burned, tip.fees_burned),
            (model.minted, model.burned, model.fees)
        );
        let mut total = 0u128;
        for a in 1..=ACCOUNTS {
            assert_eq!(ledger.balance(&a), model.balance(a), "balance of {a}");
            total += model.balance(a);
            for s in 1..=ACCOUNTS {
                let allowance = model.allowances.get(&(a, s)).copied().unwrap_or(0);
                assert_eq!(ledger.allowance(&a, &s, NOW).amount, allowance);
            }
        }
        assert_eq!(tip.total_supply(), total, "supply = Σ balances");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: crate::test_kind::cases(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_core_agrees_with_its_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

/// Genesis credits take each account for new (one B-tree descent); one
/// named twice gets both amounts in its own balance.
#[test]
fn genesis_balances_of_one_account_add_up() {
    let mut ledger: Ledger<TestKind, VectorMemory> =
        Ledger::open(&MemoryManager::init(VectorMemory::default()));
    let config = TestConfig {
        minting_account: None,
        fee: FEE,
        window: 24 * 3_600_000_000_000,
    };
    // Account 2 takes account 1's place in the heap cache of slots, so
    // account 1's second credit finds it in the B-tree.
    let two = 1 + (1 << 16);
    ledger
        .install(config, &[(1, 5 * FEE), (two, 3 * FEE), (1, 2 * FEE)], NOW)
        .unwrap();
    assert_eq!(
        (ledger.balance(&1), ledger.balance(&two)),
        (7 * FEE, 3 * FEE)
    );
    assert_eq!(ledger.balances.known_accounts(), 2);
    assert_eq!(ledger.balances.funded_accounts(), 2);
    // Afterwards, credits look accounts up as before.
    let req = TransferRequest {
        from: 1,
        to: 3,
        spender: None,
        amount: FEE,
        fee: None,
        memo: vec![],
        created_at_time: None,
    };
    ledger.transfer(req, NOW).unwrap();
    assert_eq!((ledger.balance(&1), ledger.balance(&3)), (5 * FEE, FEE));
}
