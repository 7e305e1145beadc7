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
