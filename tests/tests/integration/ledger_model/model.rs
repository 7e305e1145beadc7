//! What the real ICP ledger answers, in memory: balances, allowances and
//! the transactions it has recorded. A transaction is what the ledger
//! stores (accounts as account identifiers, the effective fee, both memos,
//! `created_at_time`), and two requests with equal transactions are one
//! payment: the second is its duplicate while the window lasts.

use candid::Principal;
use nns_api::AccountIdentifier;
use nns_api::ids::GOVERNANCE_CANISTER_ID;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const FEE: u64 = 10_000;
pub const SECOND: u64 = 1_000_000_000;
/// The ledger's default deduplication window, 24 h.
pub const WINDOW: u64 = 24 * 3600 * SECOND;
/// How far in the future `created_at_time` may be.
pub const DRIFT: u64 = 60 * SECOND;

/// Whose account: one of the users, or governance (whose default account
/// is the minting account).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Who {
    User(u8),
    Minter,
}

impl Who {
    pub fn principal(self) -> Principal {
        match self {
            Who::User(n) => Principal::from_slice(&[n, 0x3d, 1]),
            Who::Minter => GOVERNANCE_CANISTER_ID,
        }
    }
}

/// How a subaccount is spelled: left out, the all-zero default spelled out
/// (the same account), or another subaccount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sub {
    Default,
    ExplicitZero,
    Other,
}

impl Sub {
    pub fn bytes(self) -> Option<[u8; 32]> {
        match self {
            Sub::Default => None,
            Sub::ExplicitZero => Some([0; 32]),
            Sub::Other => Some([1; 32]),
        }
    }

    /// The other spelling of the same subaccount, if it has one.
    pub fn respelled(self) -> Sub {
        match self {
            Sub::Default => Sub::ExplicitZero,
            Sub::ExplicitZero => Sub::Default,
            Sub::Other => Sub::Other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Acct {
    pub who: Who,
    pub sub: Sub,
}

impl Acct {
    pub fn id(self) -> AccountIdentifier {
        AccountIdentifier::new(&self.who.principal(), self.sub.bytes().as_ref())
    }

    pub fn icrc(self) -> icrc_ledger_types::icrc1::account::Account {
        icrc_ledger_types::icrc1::account::Account {
            owner: self.who.principal(),
            subaccount: self.sub.bytes(),
        }
    }

    /// The spelling without an explicit default subaccount.
    pub fn normalized(self) -> Acct {
        match self.sub {
            Sub::ExplicitZero => self.respelled(),
            _ => self,
        }
    }

    fn respelled(self) -> Acct {
        Acct {
            sub: self.sub.respelled(),
            ..self
        }
    }
}

pub fn minting_account() -> AccountIdentifier {
    AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None)
}

/// One request to the ledger, as sent. Times are absolute (ns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Icrc1 {
        caller: Who,
        from_sub: Sub,
        to: Acct,
        amount: u64,
        fee: Option<u64>,
        memo: Option<Vec<u8>>,
        created: Option<u64>,
    },
    Legacy {
        caller: Who,
        from_sub: Sub,
        to: Acct,
        amount: u64,
        fee: u64,
        memo: u64,
        created: Option<u64>,
    },
    TransferFrom {
        caller: Who,
        spender_sub: Sub,
        from: Acct,
        to: Acct,
        amount: u64,
        fee: Option<u64>,
        memo: Option<Vec<u8>>,
        created: Option<u64>,
    },
    Approve {
        caller: Who,
        from_sub: Sub,
        spender: Acct,
        amount: u64,
        expected: Option<u64>,
        expires_at: Option<u64>,
        fee: Option<u64>,
        memo: Option<Vec<u8>>,
        created: Option<u64>,
    },
}

/// Ways to send a request again in another form that means the same
/// transaction (or, for `owner_transfer_from`, one that does not).
#[derive(Clone, Copy, Debug, Default)]
pub struct Respelling {
    pub from_sub: bool,
    pub to_sub: bool,
    pub fee: bool,
    /// icrc1_transfer ↔ legacy transfer, where the memo allows it.
    pub other_endpoint: bool,
    /// icrc1_transfer ↔ the owner's own icrc2_transfer_from.
    pub owner_transfer_from: bool,
}

impl Call {
    /// The fee the ledger charges for what this call asks.
    fn effective_fee(caller: Who, from_sub: Sub, to: Acct) -> u64 {
        let from = Acct {
            who: caller,
            sub: from_sub,
        };
        if from.id() == minting_account() || to.id() == minting_account() {
            0
        } else {
            FEE
        }
    }

    /// This call sent again in another form.
    pub fn respelled(&self, how: Respelling) -> Call {
        let flip_fee = |fee: Option<u64>, effective: u64| match fee {
            None if how.fee => Some(effective),
            Some(f) if how.fee && f == effective => None,
            other => other,
        };
        let sub = |s: Sub, flip: bool| if flip { s.respelled() } else { s };
        let acct = |a: Acct, flip: bool| if flip { a.respelled() } else { a };
        match self.clone() {
            Call::Icrc1 {
                caller,
                from_sub,
                to,
                amount,
                fee,
                memo,
                created,
            } => {
                let effective = Self::effective_fee(caller, from_sub, to);
                if how.other_endpoint && memo.is_none() {
                    Call::Legacy {
                        caller,
                        from_sub: sub(from_sub, how.from_sub),
                        to: acct(to, how.to_sub),
                        amount,
                        fee: fee.unwrap_or(effective),
                        memo: 0,
                        created,
                    }
                } else if how.owner_transfer_from && caller != Who::Minter {
                    Call::TransferFrom {
                        caller,
                        spender_sub: from_sub,
                        from: Acct {
                            who: caller,
                            sub: sub(from_sub, how.from_sub),
                        },
                        to: acct(to, how.to_sub),
                        amount,
                        fee: flip_fee(fee, effective),
                        memo,
                        created,
                    }
                } else {
                    Call::Icrc1 {
                        caller,
                        from_sub: sub(from_sub, how.from_sub),
                        to: acct(to, how.to_sub),
                        amount,
                        fee: flip_fee(fee, effective),
                        memo,
                        created,
                    }
                }
            }
            Call::Legacy {
                caller,
                from_sub,
                to,
                amount,
                fee,
                memo,
                created,
            } => {
                if how.other_endpoint && memo == 0 {
                    Call::Icrc1 {
                        caller,
                        from_sub: sub(from_sub, how.from_sub),
                        to: acct(to, how.to_sub),
                        amount,
                        fee: (!how.fee).then_some(fee),
                        memo: None,
                        created,
                    }
                } else {
                    Call::Legacy {
                        caller,
                        from_sub: sub(from_sub, how.from_sub),
                        to: acct(to, how.to_sub),
                        amount,
                        fee,
                        memo,
                        created,
                    }
                }
            }
            Call::TransferFrom {
                caller,
                spender_sub,
                from,
                to,
                amount,
                fee,
                memo,
                created,
            } => {
                let effective = Self::effective_fee(from.who, from.sub, to);
                if how.owner_transfer_from
                    && from.who == caller
                    && from.id()
                        == (Acct {
                            who: caller,
                            sub: spender_sub,
                        })
                        .id()
                {
                    Call::Icrc1 {
                        caller,
                        from_sub: sub(from.sub, how.from_sub),
                        to: acct(to, how.to_sub),
                        amount,
                        fee: flip_fee(fee, effective),
                        memo,
                        created,
                    }
                } else {
                    Call::TransferFrom {
                        caller,
                        spender_sub: sub(spender_sub, how.from_sub),
                        from: acct(from, how.from_sub),
                        to: acct(to, how.to_sub),
                        amount,
                        fee: flip_fee(fee, effective),
                        memo,
                        created,
                    }
                }
            }
            Call::Approve {
                caller,
                from_sub,
                spender,
                amount,
                expected,
                expires_at,
                fee,
                memo,
                created,
            } => Call::Approve {
                caller,
                from_sub: sub(from_sub, how.from_sub),
                spender: acct(spender, how.to_sub),
                amount,
                expected,
                expires_at,
                fee: flip_fee(fee, FEE),
                memo,
                created,
            },
        }
    }
}

/// What the ledger answered, whatever the endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok(u64),
    BadFee(u64),
    BadBurn(u64),
    InsufficientFunds(u64),
    InsufficientAllowance(u64),
    AllowanceChanged(u64),
    Expired(u64),
    TooOld,
    /// The ledger's time, where the endpoint's error carries it.
    CreatedInFuture(Option<u64>),
    Duplicate(u64),
    /// The call was rejected (the canister trapped).
    Trap,
    /// An answer the real ledger never gives here.
    Other(String),
}

/// Operations and transactions are the ledger's block content (plain data;
/// equal transactions are duplicates of each other).
pub use nns_api::icp_block::{Operation, Transaction};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowance {
    pub amount: u64,
    pub expires_at: Option<u64>,
}

#[derive(Default)]
pub struct Model {
    pub balances: BTreeMap<AccountIdentifier, u64>,
    allowances: BTreeMap<(AccountIdentifier, AccountIdentifier), Allowance>,
    /// Every (account, spender) an approval was asked for, subaccounts in
    /// one spelling: the allowances to compare.
    pub approved_pairs: BTreeSet<(Acct, Acct)>,
    /// Transactions with a `created_at_time`, by the block that holds them.
    recorded: HashMap<Transaction, u64>,
    pub blocks: Vec<Transaction>,
}

impl Model {
    /// Initial balances are minted, one block each, as on the ledger.
    pub fn new(initial: &[(Acct, u64)]) -> Self {
        let mut model = Model::default();
        for (acct, amount) in initial {
            *model.balances.entry(acct.id()).or_default() += amount;
            model.blocks.push(Transaction {
                operation: Operation::Mint {
                    to: acct.id(),
                    amount: *amount,
                },
                memo: 0,
                icrc1_memo: None,
                created_at_time: None,
            });
        }
        model
    }

    pub fn balance(&self, account: &AccountIdentifier) -> u64 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    pub fn total_supply(&self) -> u64 {
        self.balances.values().sum()
    }

    /// The allowance as `icrc2_allowance` shows it at `now`.
    pub fn allowance(
        &self,
        from: &AccountIdentifier,
        spender: &AccountIdentifier,
        now: u64,
    ) -> Allowance {
        self.allowances
            .get(&(*from, *spender))
            .filter(|a| a.expires_at.is_none_or(|t| t > now))
            .copied()
            .unwrap_or_default()
    }

    /// Applies `call` at ledger time `now`; answers what the real ledger
    /// answers.
    pub fn call(&mut self, call: &Call, now: u64) -> Outcome {
        let minting = minting_account();
        match call.clone() {
            Call::Icrc1 {
                caller,
                from_sub,
                to,
                amount,
                fee,
                memo,
                created,
            } => {
                let from = Acct {
                    who: caller,
                    sub: from_sub,
                };
                let accounts = (from.id(), to.id(), None);
                self.execute_icrc(accounts, amount, fee, memo, created, now)
            }
            Call::TransferFrom {
                caller,
                spender_sub,
                from,
                to,
                amount,
                fee,
                memo,
                created,
            } => {
                let spender = Acct {
                    who: caller,
                    sub: spender_sub,
                };
                if from.id() == minting && to.id() != minting {
                    // "the minter account cannot delegate mints"
                    return Outcome::Trap;
                }
                let accounts = (from.id(), to.id(), Some(spender.id()));
                self.execute_icrc(accounts, amount, fee, memo, created, now)
            }
            Call::Legacy {
                caller,
                from_sub,
                to,
                amount,
                fee,
                memo,
                created,
            } => {
                let from = Acct {
                    who: caller,
                    sub: from_sub,
                }
                .id();
                let to = to.id();
                let operation = if from == minting {
                    if fee != 0 || to == minting {
                        return Outcome::Trap;
                    }
                    Operation::Mint { to, amount }
                } else if to == minting {
                    // The fee must be zero; a burn below min(fee, balance),
                    // or of nothing, is refused.
                    if fee != 0 || amount < FEE.min(self.balance(&from)) || amount == 0 {
                        return Outcome::Trap;
                    }
                    Operation::Burn {
                        from,
                        spender: None,
                        amount,
                    }
                } else {
                    if fee != FEE {
                        return Outcome::BadFee(FEE);
                    }
                    Operation::Transfer {
                        from,
                        to,
                        spender: None,
                        amount,
                        fee,
                    }
                };
                // Stamped with the ledger's time when the caller gave none.
                self.execute(
                    Transaction {
                        operation,
                        memo,
                        icrc1_memo: None,
                        created_at_time: Some(created.unwrap_or(now)),
                    },
                    now,
                    false,
                )
            }
            Call::Approve {
                caller,
                from_sub,
                spender,
                amount,
                expected,
                expires_at,
                fee,
                memo,
                created,
            } => {
                let from = Acct {
                    who: caller,
                    sub: from_sub,
                }
                .id();
                if caller == spender.who || from == minting {
                    return Outcome::Trap;
                }
                let owner = Acct {
                    who: caller,
                    sub: from_sub,
                };
                self.approved_pairs
                    .insert((owner.normalized(), spender.normalized()));
                if fee.is_some_and(|f| f != FEE) {
                    return Outcome::BadFee(FEE);
                }
                self.execute(
                    Transaction {
                        operation: Operation::Approve {
                            from,
                            spender: spender.id(),
                            allowance: amount,
                            expected_allowance: expected,
                            expires_at,
                            fee: FEE,
                        },
                        memo: 0,
                        icrc1_memo: memo,
                        created_at_time: created,
                    },
                    now,
                    true,
                )
            }
        }
    }

    /// The operation an ICRC-1/2 transfer makes, or its refusal.
    /// An ICRC transfer or transfer_from between `(from, to, spender)`.
    fn execute_icrc(
        &mut self,
        (from, to, spender): (
            AccountIdentifier,
            AccountIdentifier,
            Option<AccountIdentifier>,
        ),
        amount: u64,
        fee: Option<u64>,
        memo: Option<Vec<u8>>,
        created_at_time: Option<u64>,
        now: u64,
    ) -> Outcome {
        match self.icrc_operation(from, to, spender, amount, fee) {
            Ok(operation) => self.execute(
                Transaction {
                    operation,
                    memo: 0,
                    icrc1_memo: memo,
                    created_at_time,
                },
                now,
                true,
            ),
            Err(e) => e,
        }
    }

    fn icrc_operation(
        &self,
        from: AccountIdentifier,
        to: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        amount: u64,
        fee: Option<u64>,
    ) -> Result<Operation, Outcome> {
        let minting = minting_account();
        if to == minting {
            if fee.is_some_and(|f| f != 0) {
                return Err(Outcome::BadFee(0));
            }
            // The whole balance may be burned even when below the fee.
            let min_burn = FEE.min(self.balance(&from));
            if amount < min_burn {
                return Err(Outcome::BadBurn(min_burn));
            }
            if amount == 0 {
                return Err(Outcome::BadBurn(FEE));
            }
            Ok(Operation::Burn {
                from,
                spender,
                amount,
            })
        } else if from == minting {
            if fee.is_some_and(|f| f != 0) {
                return Err(Outcome::BadFee(0));
            }
            Ok(Operation::Mint { to, amount })
        } else {
            if fee.is_some_and(|f| f != FEE) {
                return Err(Outcome::BadFee(FEE));
            }
            Ok(Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee: FEE,
            })
        }
    }

    /// Time checks, deduplication, then the operation; records the block.
    fn execute(&mut self, tx: Transaction, now: u64, icrc: bool) -> Outcome {
        if let Some(created) = tx.created_at_time {
            if created + WINDOW < now {
                return Outcome::TooOld;
            }
            if created > now + DRIFT {
                return Outcome::CreatedInFuture(icrc.then_some(now));
            }
            if let Some(&index) = self.recorded.get(&tx) {
                return Outcome::Duplicate(index);
            }
        }
        if let Err(e) = self.apply(&tx.operation, now) {
            return e;
        }
        let index = self.blocks.len() as u64;
        if tx.created_at_time.is_some() {
            self.recorded.insert(tx.clone(), index);
        }
        self.blocks.push(tx);
        Outcome::Ok(index)
    }

    fn apply(&mut self, operation: &Operation, now: u64) -> Result<(), Outcome> {
        match *operation {
            Operation::Mint { to, amount } => {
                *self.balances.entry(to).or_default() += amount;
            }
            Operation::Burn {
                from,
                spender,
                amount,
            } => {
                // Unlike a transfer, an owner's burn through transfer_from
                // needs an allowance, which no one can grant themselves.
                if spender == Some(from) {
                    return Err(Outcome::InsufficientAllowance(0));
                }
                self.check_allowance(from, spender, amount, now)?;
                self.debit(from, amount)?;
                self.use_allowance(from, spender, amount, now);
            }
            Operation::Transfer {
                from,
                to,
                spender,
                amount,
                fee,
            } => {
                let third_party = spender.filter(|s| *s != from);
                self.check_allowance(from, third_party, amount + fee, now)?;
                self.debit(from, amount + fee)?;
                self.use_allowance(from, third_party, amount + fee, now);
                *self.balances.entry(to).or_default() += amount;
            }
            Operation::Approve {
                from,
                spender,
                allowance,
                expected_allowance,
                expires_at,
                fee,
            } => {
                let balance = self.balance(&from);
                if balance < fee {
                    return Err(Outcome::InsufficientFunds(balance));
                }
                if expires_at.is_some_and(|t| t <= now) {
                    return Err(Outcome::Expired(now));
                }
                let current = self.allowance(&from, &spender, now).amount;
                if expected_allowance.is_some_and(|e| e != current) {
                    return Err(Outcome::AllowanceChanged(current));
                }
                self.debit(from, fee)?;
                if allowance == 0 {
                    self.allowances.remove(&(from, spender));
                } else {
                    self.allowances.insert(
                        (from, spender),
                        Allowance {
                            amount: allowance,
                            expires_at,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    fn check_allowance(
        &self,
        from: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        needed: u64,
        now: u64,
    ) -> Result<(), Outcome> {
        if let Some(spender) = spender {
            let allowance = self.allowance(&from, &spender, now).amount;
            if allowance < needed {
                return Err(Outcome::InsufficientAllowance(allowance));
            }
        }
        Ok(())
    }

    fn use_allowance(
        &mut self,
        from: AccountIdentifier,
        spender: Option<AccountIdentifier>,
        used: u64,
        now: u64,
    ) {
        if let Some(spender) = spender {
            let left = self.allowance(&from, &spender, now);
            if left.amount == used {
                self.allowances.remove(&(from, spender));
            } else {
                self.allowances.insert(
                    (from, spender),
                    Allowance {
                        amount: left.amount - used,
                        ..left
                    },
                );
            }
        }
    }

    fn debit(&mut self, account: AccountIdentifier, amount: u64) -> Result<(), Outcome> {
        let balance = self.balance(&account);
        if balance < amount {
            return Err(Outcome::InsufficientFunds(balance));
        }
        if balance == amount {
            self.balances.remove(&account);
        } else {
            self.balances.insert(account, balance - amount);
        }
        Ok(())
    }
}
