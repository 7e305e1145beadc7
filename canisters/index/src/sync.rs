//! What one sync step does with the ledger's answer, apart from the calls:
//! which blocks to append, whether to fetch from an archive first, and when
//! to ask again. The canister (lib.rs) makes the calls.

use nns_api::ledger::{GetBlocksArgs, QueryEncodedBlocksResponse};
use serde_bytes::ByteBuf;

/// Blocks asked for per call: the most the ledger (and an archive) answers.
pub const MAX_BLOCKS_PER_CALL: u64 = nns_api::ledger::MAX_BLOCKS_PER_RESPONSE;

/// What to ask the ledger's `query_encoded_blocks` for: blocks from `next`.
pub fn request(next: u64) -> GetBlocksArgs {
    GetBlocksArgs {
        start: next,
        length: MAX_BLOCKS_PER_CALL,
    }
}

/// The next step after the ledger's answer to [`request`]`(next)`.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Append these blocks, which start at `next`.
    Append(Vec<ByteBuf>),
    /// The blocks from `next` are in an archive: ask it for them (this
    /// ledger archives nothing; the real one does).
    FetchArchived {
        canister_id: candid::Principal,
        method: String,
        args: GetBlocksArgs,
    },
}

/// Checks that the answer continues the index at `next`. An answer that
/// does not is the ledger's fault, and asking again would get it again.
pub fn next_step(next: u64, reply: QueryEncodedBlocksResponse) -> Result<Step, String> {
    if reply.chain_length < next {
        return Err(format!(
            "the ledger's chain has {} blocks, fewer than the {next} indexed: it is not the \
             chain indexed (was the ledger reinstalled?)",
            reply.chain_length
        ));
    }
    // Ranges wholly before `next` are indexed already.
    let first_ahead = reply
        .archived_blocks
        .iter()
        .filter(|range| range.start.saturating_add(range.length) > next)
        .min_by_key(|range| range.start);
    if let Some(range) = first_ahead {
        if range.start > next {
            return Err(format!(
                "the ledger's archives start at block {}, but the next block to index is {next}",
                range.start
            ));
        }
        let remaining = range.start.saturating_add(range.length) - next;
        return Ok(Step::FetchArchived {
            canister_id: range.callback.canister_id,
            method: range.callback.method.clone(),
            args: GetBlocksArgs {
                start: next,
                length: remaining.min(MAX_BLOCKS_PER_CALL),
            },
        });
    }
    if reply.blocks.is_empty() {
        return Ok(Step::Append(vec![]));
    }
    if reply.first_block_index != next {
        return Err(format!(
            "asked the ledger for blocks from {next}, it answered blocks from {}",
            reply.first_block_index
        ));
    }
    Ok(Step::Append(truncated(reply.blocks)))
}

/// Keeps no more blocks than asked for: a message appends a bounded number.
pub fn truncated(mut blocks: Vec<ByteBuf>) -> Vec<ByteBuf> {
    blocks.truncate(MAX_BLOCKS_PER_CALL as usize);
    blocks
}

/// Whether to sync again at once: while blocks keep coming (the ledger's
/// chain is longer than the index, and this sync got some). Otherwise the
/// interval timer asks next, so that a failing or idle ledger is not asked
/// in a busy loop.
pub fn sync_again_at_once(appended: u64, num_blocks: u64, chain_length: u64) -> bool {
    appended > 0 && num_blocks < chain_length
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use icrc_ledger_types::icrc3::archive::QueryArchiveFn;
    use nns_api::ledger::ArchivedEncodedBlocksRange;

    fn reply(first: u64, blocks: usize, chain_length: u64) -> QueryEncodedBlocksResponse {
        QueryEncodedBlocksResponse {
            certificate: None,
            blocks: (0..blocks).map(|i| ByteBuf::from(vec![i as u8])).collect(),
            chain_length,
            first_block_index: first,
            archived_blocks: vec![],
        }
    }

    fn archived(start: u64, length: u64) -> ArchivedEncodedBlocksRange {
        ArchivedEncodedBlocksRange {
            callback: QueryArchiveFn::new(Principal::from_slice(&[9]), "get_encoded_blocks"),
            start,
            length,
        }
    }

    #[test]
    fn asks_for_the_most_blocks_the_ledger_answers_from_the_next_one() {
        assert_eq!(
            request(42),
            GetBlocksArgs {
                start: 42,
                length: 2_000
            }
        );
    }

    #[test]
    fn appends_the_blocks_that_continue_the_index() {
        assert_eq!(
            next_step(5, reply(5, 2, 7)),
            Ok(Step::Append(vec![
                ByteBuf::from(vec![0]),
                ByteBuf::from(vec![1])
            ]))
        );
        assert_eq!(next_step(7, reply(7, 0, 7)), Ok(Step::Append(vec![])));
        // A ledger with no blocks past the index may name any first index.
        assert_eq!(next_step(7, reply(0, 0, 7)), Ok(Step::Append(vec![])));
        assert_eq!(next_step(0, reply(0, 0, 0)), Ok(Step::Append(vec![])));
    }

    #[test]
    fn refuses_blocks_that_start_elsewhere() {
        let error = next_step(5, reply(4, 2, 7)).unwrap_err();
        assert!(
            error.contains("from 5") && error.contains("from 4"),
            "{error}"
        );
    }

    #[test]
    fn refuses_a_chain_shorter_than_the_index() {
        let error = next_step(7, reply(6, 0, 6)).unwrap_err();
        assert!(
            error.contains("has 6 blocks, fewer than the 7 indexed"),
            "{error}"
        );
    }

    #[test]
    fn keeps_at_most_a_calls_worth_of_blocks() {
        let Ok(Step::Append(blocks)) = next_step(0, reply(0, 2_100, 3_000)) else {
            panic!("blocks to append")
        };
        assert_eq!(blocks.len(), 2_000);
    }

    #[test]
    fn fetches_archived_blocks_first_a_calls_worth_at_a_time() {
        let mut answer = reply(10_000, 3, 10_003);
        answer.archived_blocks = vec![archived(5_000, 5_000), archived(0, 5_000)];
        assert_eq!(
            next_step(4_500, answer.clone()),
            Ok(Step::FetchArchived {
                canister_id: Principal::from_slice(&[9]),
                method: "get_encoded_blocks".into(),
                args: GetBlocksArgs {
                    start: 4_500,
                    length: 500
                },
            })
        );
        let Ok(Step::FetchArchived { args, .. }) = next_step(5_000, answer.clone()) else {
            panic!("the second archive")
        };
        assert_eq!(
            args,
            GetBlocksArgs {
                start: 5_000,
                length: 2_000
            }
        );
        answer.archived_blocks = vec![archived(3, 5)];
        let error = next_step(0, answer.clone()).unwrap_err();
        assert!(
            error.contains("start at block 3") && error.contains("is 0"),
            "{error}"
        );
    }

    #[test]
    fn ignores_archived_ranges_already_indexed() {
        let mut answer = reply(100, 2, 102);
        answer.archived_blocks = vec![archived(0, 100)];
        assert_eq!(
            next_step(100, answer),
            Ok(Step::Append(vec![
                ByteBuf::from(vec![0]),
                ByteBuf::from(vec![1])
            ]))
        );
    }

    #[test]
    fn syncs_again_at_once_only_while_blocks_keep_coming() {
        assert!(sync_again_at_once(2_000, 2_000, 5_000));
        assert!(!sync_again_at_once(10, 5_000, 5_000));
        assert!(!sync_again_at_once(0, 5_000, 5_000));
        // Nothing appended (e.g. an error): no busy loop.
        assert!(!sync_again_at_once(0, 10, 5_000));
    }
}
