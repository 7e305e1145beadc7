//! The certified tip of an ICRC-3 chain: the canister's certified data is
//! the root hash of `{last_block_hash: hash, last_block_index: leb128}`.

use crate::icrc::value::leb128;
use crate::kind::Hash;
use canister_common::hash_tree;

const LAST_BLOCK_HASH: &[u8] = b"last_block_hash";
const LAST_BLOCK_INDEX: &[u8] = b"last_block_index";

fn with_entries<R>(tip: Option<(u64, Hash)>, f: impl FnOnce(&[(&[u8], &[u8])]) -> R) -> R {
    match tip {
        None => f(&[]),
        Some((index, hash)) => {
            let mut buf = [0; 19];
            let len = leb128(u128::from(index), &mut buf);
            // Sorted: "…hash" < "…index".
            f(&[(LAST_BLOCK_HASH, &hash), (LAST_BLOCK_INDEX, &buf[..len])])
        }
    }
}

/// The value for `ic0.certified_data_set`.
pub fn tip_root_hash(tip: Option<(u64, Hash)>) -> Hash {
    with_entries(tip, hash_tree::root_hash)
}

/// The tree clients receive with the certificate.
pub fn tip_tree_cbor(tip: Option<(u64, Hash)>) -> Vec<u8> {
    with_entries(tip, hash_tree::cbor)
}
