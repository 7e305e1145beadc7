use super::*;
use candid::Principal;
use ic_stable_structures::VectorMemory;
use nns_api::icp_block::Transaction as BlockTransaction;
use nns_api::index::Operation as IndexOperation;
use serde_bytes::ByteBuf;

pub const FEE: u64 = 10_000;

pub fn owner(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xab])
}

pub fn account(n: u8) -> AccountIdentifier {
    AccountIdentifier::new(&owner(n), None)
}

pub fn empty_index() -> Index<VectorMemory> {
    Index::open(&MemoryManager::init(VectorMemory::default()))
}

/// A hash-chained run of blocks, as a ledger makes them.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    pub blocks: Vec<Block>,
}

impl Chain {
    pub fn push(&mut self, operation: Operation) -> &mut Self {
        let index = self.blocks.len() as u64;
        self.blocks.push(Block {
            parent_hash: self.blocks.last().map(Block::hash),
            transaction: BlockTransaction {
                operation,
                memo: index,
                icrc1_memo: None,
                created_at_time: None,
            },
            timestamp: 1_700_000_000_000_000_000 + index,
        });
        self
    }

    pub fn mint(&mut self, to: u8, amount: u64) -> &mut Self {
        self.push(Operation::Mint {
            to: account(to),
            amount,
        })
    }

    pub fn burn(&mut self, from: u8, amount: u64) -> &mut Self {
        self.push(Operation::Burn {
            from: account(from),
            spender: None,
            amount,
        })
    }

    pub fn transfer(&mut self, from: u8, to: u8, amount: u64) -> &mut Self {
        self.push(Operation::Transfer {
            from: account(from),
            to: account(to),
            spender: None,
            amount,
            fee: FEE,
        })
    }

    pub fn transfer_from(&mut self, from: u8, to: u8, spender: u8, amount: u64) -> &mut Self {
        self.push(Operation::Transfer {
            from: account(from),
            to: account(to),
            spender: Some(account(spender)),
            amount,
            fee: FEE,
        })
    }

    pub fn approve(&mut self, from: u8, spender: u8, allowance: u64) -> &mut Self {
        self.push(Operation::Approve {
            from: account(from),
            spender: account(spender),
            allowance,
            expected_allowance: None,
            expires_at: None,
            fee: FEE,
        })
    }

    pub fn encoded(&self) -> Vec<ByteBuf> {
        self.blocks
            .iter()
            .map(|b| ByteBuf::from(b.to_protobuf()))
            .collect()
    }
}

fn ids(index: &Index<VectorMemory>, n: u8, start: Option<u64>, max: usize) -> Vec<u64> {
    index.account_block_ids(&account(n), start, max)
}

#[test]
fn applies_mints_transfers_approvals_and_burns_as_the_ledger() {
    let mut chain = Chain::default();
    chain
        .mint(1, 1_000_000) // 0
        .transfer(1, 2, 300_000) // 1: 1 pays 300 000 + fee
        .approve(2, 3, 50_000) // 2: 2 pays the fee
        .transfer_from(2, 4, 3, 40_000) // 3: 2 pays 40 000 + fee
        .burn(4, 15_000); // 4: no fee
    let mut index = empty_index();
    index.append_blocks(&chain.encoded()).unwrap();

    assert_eq!(index.num_blocks(), 5);
    assert_eq!(index.balance(&account(1)), 1_000_000 - 300_000 - FEE);
    assert_eq!(index.balance(&account(2)), 300_000 - FEE - 40_000 - FEE);
    assert_eq!(index.balance(&account(3)), 0);
    assert_eq!(index.balance(&account(4)), 40_000 - 15_000);
    assert_eq!(index.funded_accounts(), 3);

    assert_eq!(ids(&index, 1, None, 10), vec![1, 0]);
    assert_eq!(ids(&index, 2, None, 10), vec![3, 2, 1]);
    // The spender sees its approval, not the transfer it made from it.
    assert_eq!(ids(&index, 3, None, 10), vec![2]);
    assert_eq!(ids(&index, 4, None, 10), vec![4, 3]);
    assert_eq!(index.history_entries(), 8);
}

#[test]
fn a_transfer_to_oneself_costs_the_fee_and_shows_once() {
    let mut chain = Chain::default();
    chain.mint(1, 100_000).transfer(1, 1, 60_000);
    let mut index = empty_index();
    index.append_blocks(&chain.encoded()).unwrap();
    assert_eq!(index.balance(&account(1)), 100_000 - FEE);
    assert_eq!(ids(&index, 1, None, 10), vec![1, 0]);
}

#[test]
fn an_emptied_account_leaves_the_balances() {
    let mut chain = Chain::default();
    chain.mint(1, 50_000).burn(1, 50_000);
    let mut index = empty_index();
    index.append_blocks(&chain.encoded()).unwrap();
    assert_eq!(index.balance(&account(1)), 0);
    assert_eq!(index.funded_accounts(), 0);
    assert_eq!(ids(&index, 1, None, 10), vec![1, 0]);
}

#[test]
fn pages_an_accounts_history_newest_first_before_start() {
    let mut chain = Chain::default();
    for i in 0..10 {
        // Account 1 is in the even blocks, account 2 in the odd ones.
        chain.mint(1 + (i % 2), 1_000);
    }
    let mut index = empty_index();
    index.append_blocks(&chain.encoded()).unwrap();

    assert_eq!(ids(&index, 1, None, 3), vec![8, 6, 4]);
    assert_eq!(ids(&index, 1, Some(4), 3), vec![2, 0]);
    assert_eq!(ids(&index, 1, Some(5), 1), vec![4]);
    assert_eq!(ids(&index, 1, Some(0), 3), Vec::<u64>::new());
    assert_eq!(ids(&index, 1, Some(u64::MAX), 100), vec![8, 6, 4, 2, 0]);
    assert_eq!(ids(&index, 2, Some(1), 3), Vec::<u64>::new());
    assert_eq!(ids(&index, 3, None, 3), Vec::<u64>::new());
    assert_eq!(index.oldest_block_id(&account(1)), Some(0));
    assert_eq!(index.oldest_block_id(&account(2)), Some(1));
    assert_eq!(index.oldest_block_id(&account(3)), None);

    let page = index.account_transactions(&account(2), Some(9), 2);
    assert_eq!(page.balance, 5_000);
    assert_eq!(page.oldest_tx_id, Some(1));
    let page_ids: Vec<u64> = page.transactions.iter().map(|t| t.id).collect();
    assert_eq!(page_ids, vec![7, 5]);
    let shown = &page.transactions[0].transaction;
    assert_eq!(shown, &Transaction::from(&chain.blocks[7]));
    assert_eq!(
        shown.operation,
        IndexOperation::Mint {
            to: account(2).to_hex(),
            amount: nns_api::ledger::Tokens::from_e8s(1_000)
        }
    );
    assert_eq!(
        shown.timestamp.map(|t| t.timestamp_nanos),
        Some(chain.blocks[7].timestamp)
    );
}

#[test]
fn serves_the_blocks_exactly_as_received() {
    let mut chain = Chain::default();
    chain.mint(1, 10).mint(2, 20).mint(3, 30);
    let mut index = empty_index();
    index.append_blocks(&chain.encoded()).unwrap();
    let encoded: Vec<Vec<u8>> = chain.encoded().into_iter().map(|b| b.into_vec()).collect();
    assert_eq!(index.encoded_blocks(0, 10), encoded);
    assert_eq!(index.encoded_blocks(1, 1), encoded[1..2]);
    assert!(index.encoded_blocks(3, 10).is_empty());
    assert!(index.encoded_blocks(u64::MAX, u64::MAX).is_empty());
    assert_eq!(index.block(2), Some(chain.blocks[2].clone()));
    assert_eq!(index.block(3), None);
}

#[test]
fn checks_the_chain_across_batches() {
    let mut chain = Chain::default();
    for i in 0..6 {
        chain.mint(i, 100);
    }
    let encoded = chain.encoded();
    let mut index = empty_index();
    index.append_blocks(&encoded[..2]).unwrap();
    index.append_blocks(&encoded[2..3]).unwrap();
    index.append_blocks::<ByteBuf>(&[]).unwrap();
    index.append_blocks(&encoded[3..]).unwrap();
    assert_eq!(index.num_blocks(), 6);
    // The same blocks again do not continue the chain.
    assert!(matches!(
        index.append_blocks(&encoded[..1]),
        Err(BlockError::BrokenChain { index: 6, .. })
    ));
}

/// Everything an account-level query can see, to show that a refused
/// block changed nothing.
fn snapshot(index: &Index<VectorMemory>) -> Vec<(u64, Vec<u64>, Option<u64>)> {
    (0..8)
        .map(|n| {
            (
                index.balance(&account(n)),
                ids(index, n, None, 100),
                index.oldest_block_id(&account(n)),
            )
        })
        .collect()
}

#[test]
fn stops_at_a_block_that_breaks_the_chain_and_keeps_the_ones_before() {
    let mut chain = Chain::default();
    chain.mint(1, 100).mint(2, 100).mint(3, 100);
    let mut forged = chain.blocks[2].clone();
    forged.parent_hash = Some([7; 32]);
    let mut blocks = chain.encoded();
    blocks[2] = ByteBuf::from(forged.to_protobuf());

    let mut index = empty_index();
    let error = index.append_blocks(&blocks).unwrap_err();
    assert_eq!(
        error,
        BlockError::BrokenChain {
            index: 2,
            expected: Some(chain.blocks[1].hash()),
            found: Some([7; 32]),
        }
    );
    assert!(error.to_string().contains("block 2 breaks the hash chain"));
    assert_eq!(index.num_blocks(), 2);
    assert_eq!(index.balance(&account(3)), 0);
    assert_eq!(index.oldest_block_id(&account(3)), None);

    // The genuine block still continues the chain.
    index.append_blocks(&chain.encoded()[2..]).unwrap();
    assert_eq!(index.balance(&account(3)), 100);
}

#[test]
fn refuses_a_first_block_with_a_parent_and_a_later_one_without() {
    let mut chain = Chain::default();
    chain.mint(1, 100).mint(2, 100);
    let mut index = empty_index();
    assert!(matches!(
        index.append_blocks(&chain.encoded()[1..]),
        Err(BlockError::BrokenChain {
            index: 0,
            expected: None,
            found: Some(_)
        })
    ));
    let mut orphan = chain.blocks[1].clone();
    orphan.parent_hash = None;
    index.append_blocks(&chain.encoded()[..1]).unwrap();
    assert!(matches!(
        index.append_blocks(&[orphan.to_protobuf()]),
        Err(BlockError::BrokenChain {
            index: 1,
            found: None,
            ..
        })
    ));
    assert_eq!(index.num_blocks(), 1);
}

#[test]
fn refuses_bytes_that_are_no_block() {
    let mut index = empty_index();
    let error = index.append_blocks(&[vec![0xff, 0xff]]).unwrap_err();
    assert!(matches!(error, BlockError::Undecodable { index: 0, .. }));
    assert!(error.to_string().starts_with("block 0 does not decode"));
    assert_eq!(index.num_blocks(), 0);
}

#[test]
fn refuses_a_block_that_overdraws_an_account_and_writes_nothing_of_it() {
    let mut chain = Chain::default();
    chain.mint(1, 100_000).mint(2, 5).transfer(1, 2, 95_000);
    let mut index = empty_index();
    let before = {
        let mut prefix = empty_index();
        prefix.append_blocks(&chain.encoded()[..2]).unwrap();
        snapshot(&prefix)
    };
    let error = index.append_blocks(&chain.encoded()).unwrap_err();
    assert_eq!(
        error,
        BlockError::Overdrawn {
            index: 2,
            account: account(1),
            balance: 100_000,
            debit: 105_000,
        }
    );
    assert!(error.to_string().contains("takes 105000 e8s"));
    assert_eq!(index.num_blocks(), 2);
    assert_eq!(snapshot(&index), before);

    // An approval's fee and a burn overdraw too.
    let mut chain = Chain::default();
    chain.mint(1, FEE - 1).approve(1, 2, 5);
    assert!(matches!(
        empty_index().append_blocks(&chain.encoded()),
        Err(BlockError::Overdrawn { index: 1, .. })
    ));
    let mut chain = Chain::default();
    chain.mint(1, 10).burn(1, 11);
    assert!(matches!(
        empty_index().append_blocks(&chain.encoded()),
        Err(BlockError::Overdrawn { index: 1, .. })
    ));
}

#[test]
fn refuses_a_block_that_overflows_a_balance() {
    let mut chain = Chain::default();
    chain.mint(1, u64::MAX).mint(1, 1);
    let mut index = empty_index();
    assert!(matches!(
        index.append_blocks(&chain.encoded()),
        Err(BlockError::Overflow { index: 1, .. })
    ));
    assert_eq!(index.balance(&account(1)), u64::MAX);
}

#[test]
fn keeps_everything_when_reopened_as_after_an_upgrade() {
    let memory = VectorMemory::default();
    let mut chain = Chain::default();
    chain.mint(1, 100_000).transfer(1, 2, 50_000);
    {
        let mut index = Index::open(&MemoryManager::init(memory.clone()));
        index.append_blocks(&chain.encoded()).unwrap();
        index.stop_sync("the ledger forked".into());
    }
    let mut index = Index::open(&MemoryManager::init(memory));
    assert_eq!(index.num_blocks(), 2);
    assert_eq!(index.balance(&account(2)), 50_000);
    assert_eq!(ids(&index, 1, None, 10), vec![1, 0]);
    assert_eq!(index.sync_stop(), Some("the ledger forked"));
    // The chain goes on from the stored tip.
    chain.transfer(2, 1, 500);
    index.append_blocks(&chain.encoded()[2..]).unwrap();
    assert_eq!(index.balance(&account(1)), 100_000 - 50_000 - FEE + 500);
    assert_eq!(index.balance(&account(2)), 50_000 - 500 - FEE);
    index.resume_sync();
    assert_eq!(index.sync_stop(), None);
}

// ---- Model-based property test ----

mod model {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::collections::BTreeMap;

    const ACCOUNTS: u8 = 5;

    /// What a case asks of the ledger; the model keeps those the ledger
    /// would carry out as blocks.
    #[derive(Clone, Debug)]
    enum Request {
        Mint {
            to: u8,
            amount: u64,
        },
        Burn {
            from: u8,
            amount: u64,
        },
        Transfer {
            from: u8,
            to: u8,
            amount: u64,
        },
        TransferFrom {
            from: u8,
            to: u8,
            spender: u8,
            amount: u64,
        },
        Approve {
            from: u8,
            spender: u8,
            allowance: u64,
        },
    }

    /// How the blocks reach the index: in batches of this many, the index
    /// reopened (an upgrade) or handed a forged block in between.
    #[derive(Clone, Debug)]
    enum Delivery {
        Batch(usize),
        Reopen,
        Forged,
    }

    fn request() -> impl Strategy<Value = Request> {
        let who = 0..ACCOUNTS;
        let amount = prop_oneof![0..100_000u64, Just(FEE), 0..10_000_000u64];
        prop_oneof![
            (who.clone(), 0..10_000_000u64).prop_map(|(to, amount)| Request::Mint { to, amount }),
            (who.clone(), amount.clone()).prop_map(|(from, amount)| Request::Burn { from, amount }),
            (who.clone(), who.clone(), amount.clone())
                .prop_map(|(from, to, amount)| Request::Transfer { from, to, amount }),
            (who.clone(), who.clone(), who.clone(), amount.clone()).prop_map(
                |(from, to, spender, amount)| Request::TransferFrom {
                    from,
                    to,
                    spender,
                    amount
                }
            ),
            (who.clone(), who, amount).prop_map(|(from, spender, allowance)| Request::Approve {
                from,
                spender,
                allowance
            }),
        ]
    }

    fn delivery() -> impl Strategy<Value = Delivery> {
        prop_oneof![
            6 => (1..16usize).prop_map(Delivery::Batch),
            1 => Just(Delivery::Reopen),
            1 => Just(Delivery::Forged),
        ]
    }

    /// The ledger's rules, simply: balances, and the blocks each account
    /// shows in its history, per block.
    #[derive(Default)]
    struct Model {
        chain: Chain,
        /// After each block: every account's balance.
        balances: Vec<BTreeMap<u8, u64>>,
        /// Per account, the blocks it shows, oldest first.
        histories: BTreeMap<u8, Vec<u64>>,
    }

    impl Model {
        fn carry_out(&mut self, request: &Request) {
            let mut balances = self.balances.last().cloned().unwrap_or_default();
            let mut debit = |n: u8, amount: u64| -> bool {
                let balance = balances.entry(n).or_default();
                match balance.checked_sub(amount) {
                    Some(after) => {
                        *balance = after;
                        true
                    }
                    None => false,
                }
            };
            let (shown, ok) = match *request {
                Request::Mint { to, .. } => (vec![to], true),
                Request::Burn { from, amount } => (vec![from], debit(from, amount)),
                Request::Transfer { from, to, amount } => {
                    (vec![from, to], debit(from, amount.saturating_add(FEE)))
                }
                Request::TransferFrom {
                    from, to, amount, ..
                } => (vec![from, to], debit(from, amount.saturating_add(FEE))),
                Request::Approve { from, spender, .. } => (vec![from, spender], debit(from, FEE)),
            };
            if !ok {
                return; // The ledger refuses it: no block.
            }
            match *request {
                Request::Mint { to, amount } => *balances.entry(to).or_default() += amount,
                Request::Transfer { to, amount, .. } | Request::TransferFrom { to, amount, .. } => {
                    *balances.entry(to).or_default() += amount
                }
                _ => {}
            }
            let index = self.chain.blocks.len() as u64;
            for n in shown {
                let history = self.histories.entry(n).or_default();
                if history.last() != Some(&index) {
                    history.push(index);
                }
            }
            match *request {
                Request::Mint { to, amount } => self.chain.mint(to, amount),
                Request::Burn { from, amount } => self.chain.burn(from, amount),
                Request::Transfer { from, to, amount } => self.chain.transfer(from, to, amount),
                Request::TransferFrom {
                    from,
                    to,
                    spender,
                    amount,
                } => self.chain.transfer_from(from, to, spender, amount),
                Request::Approve {
                    from,
                    spender,
                    allowance,
                } => self.chain.approve(from, spender, allowance),
            };
            self.balances.push(balances);
        }
    }

    /// Pages through the account's history `page` at a time, as a client
    /// does, following each page's last id.
    fn paged_history(index: &Index<VectorMemory>, n: u8, page: usize) -> Vec<u64> {
        let mut all = vec![];
        let mut start = None;
        loop {
            let response = index.account_transactions(&account(n), start, page);
            let ids: Vec<u64> = response.transactions.iter().map(|t| t.id).collect();
            assert!(ids.len() <= page);
            all.extend(&ids);
            match ids.last() {
                Some(&last) if ids.len() == page => start = Some(last),
                _ => return all,
            }
        }
    }

    fn check(index: &Index<VectorMemory>, model: &Model, page: usize) -> Result<(), TestCaseError> {
        let synced = index.num_blocks();
        let tip = usize::try_from(synced).unwrap();
        let encoded: Vec<Vec<u8>> = model.chain.encoded()[..tip]
            .iter()
            .map(|b| b.to_vec())
            .collect();
        prop_assert_eq!(index.encoded_blocks(0, synced), encoded);
        for n in 0..ACCOUNTS {
            let balance = tip
                .checked_sub(1)
                .and_then(|last| model.balances[last].get(&n).copied())
                .unwrap_or(0);
            prop_assert_eq!(index.balance(&account(n)), balance, "account {}", n);
            let mut history: Vec<u64> = model
                .histories
                .get(&n)
                .map(|h| h.iter().copied().filter(|&i| i < synced).collect())
                .unwrap_or_default();
            prop_assert_eq!(index.oldest_block_id(&account(n)), history.first().copied());
            history.reverse();
            prop_assert_eq!(paged_history(index, n, page), history, "account {}", n);
        }
        Ok(())
    }

    fn run_case(
        requests: &[Request],
        deliveries: &[Delivery],
        page: usize,
    ) -> Result<(), TestCaseError> {
        let mut model = Model::default();
        for request in requests {
            model.carry_out(request);
        }
        let blocks = model.chain.encoded();
        let memory = VectorMemory::default();
        let mut index = Index::open(&MemoryManager::init(memory.clone()));
        let mut next = 0;
        for delivery in deliveries {
            match delivery {
                Delivery::Batch(size) => {
                    let end = (next + size).min(blocks.len());
                    prop_assert_eq!(index.append_blocks(&blocks[next..end]), Ok(()));
                    next = end;
                }
                Delivery::Reopen => index = Index::open(&MemoryManager::init(memory.clone())),
                Delivery::Forged => {
                    // A block that would be next but names another parent.
                    let mut forged = Chain::default();
                    forged.mint(0, 1);
                    forged.blocks[0].parent_hash = Some([next as u8; 32]);
                    let refused = index.append_blocks(&forged.encoded());
                    let is_broken_chain = matches!(refused, Err(BlockError::BrokenChain { .. }));
                    prop_assert!(is_broken_chain);
                }
            }
            check(&index, &model, page)?;
        }
        // Whatever is left arrives in one last batch.
        prop_assert_eq!(index.append_blocks(&blocks[next..]), Ok(()));
        check(&index, &model, page)
    }

    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .map(|v| v.parse().expect("PROPTEST_CASES is a number"))
            .unwrap_or(64)
    }

    /// Random requests made into blocks by the model's ledger rules, fed to
    /// the index in random batches with reopenings and forged blocks in
    /// between: after every delivery the index's blocks, balances and paged
    /// histories equal the model's for the blocks delivered so far.
    /// 64 cases by default; `PROPTEST_CASES` asks for more.
    #[test]
    fn index_matches_its_model_under_random_blocks_and_deliveries() {
        let config = Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        };
        let strategy = (
            prop::collection::vec(request(), 0..60),
            prop::collection::vec(delivery(), 1..20),
            1..12usize,
        );
        TestRunner::new(config)
            .run(&strategy, |(requests, deliveries, page)| {
                run_case(&requests, &deliveries, page)
            })
            .unwrap();
    }
}
