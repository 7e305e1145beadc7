//! The certified tip of the chain, as ICRC-3 defines it: the canister's
//! certified data is the root hash of the tree
//! `{last_block_hash: hash, last_block_index: leb128(index)}`.

use crate::block::Hash;
use crate::icrc3::leb128;
use canister_common::hash_tree;

const LAST_BLOCK_HASH: &[u8] = b"last_block_hash";
const LAST_BLOCK_INDEX: &[u8] = b"last_block_index";

fn with_entries<R>(tip: Option<(u64, Hash)>, f: impl FnOnce(&[(&[u8], &[u8])]) -> R) -> R {
    match tip {
        None => f(&[]),
        Some((index, hash)) => {
            let mut buf = [0; 10];
            let len = leb128(index, &mut buf);
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

#[cfg(test)]
mod tests {
    use super::*;
    use ic_certification::{HashTree, LookupResult};

    #[test]
    fn the_tree_holds_the_tip_under_the_standard_labels() {
        let tip = Some((624_485, [9; 32]));
        let tree: HashTree = serde_cbor::from_slice(&tip_tree_cbor(tip)).unwrap();
        assert_eq!(tree.digest(), tip_root_hash(tip));
        assert_eq!(
            tree.lookup_path([b"last_block_hash"]),
            LookupResult::Found(&[9; 32][..])
        );
        assert_eq!(
            tree.lookup_path([b"last_block_index"]),
            LookupResult::Found(&[0xe5, 0x8e, 0x26][..])
        );
    }
}
