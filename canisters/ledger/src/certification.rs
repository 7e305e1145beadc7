//! The certified tip of the chain, as ICRC-3 defines it: the canister's
//! certified data is the root hash of the tree
//! `{last_block_hash: hash, last_block_index: leb128(index)}`.
//! The tree is small and fixed, so it is hashed and CBOR-encoded by hand.

use crate::block::Hash;
use crate::icrc3::leb128;
use sha2::{Digest, Sha256};

const LAST_BLOCK_HASH: &[u8] = b"last_block_hash";
const LAST_BLOCK_INDEX: &[u8] = b"last_block_index";

fn domain_hash(domain: &str, parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    h.update([domain.len() as u8]);
    h.update(domain.as_bytes());
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

fn leaf(value: &[u8]) -> Hash {
    domain_hash("ic-hashtree-leaf", &[value])
}

fn labeled(label: &[u8], subtree: Hash) -> Hash {
    domain_hash("ic-hashtree-labeled", &[label, &subtree])
}

fn fork(left: Hash, right: Hash) -> Hash {
    domain_hash("ic-hashtree-fork", &[&left, &right])
}

/// The value for `ic0.certified_data_set`.
pub fn tip_root_hash(tip: Option<(u64, Hash)>) -> Hash {
    match tip {
        None => domain_hash("ic-hashtree-empty", &[]),
        Some((index, hash)) => {
            let mut buf = [0; 10];
            let len = leb128(index, &mut buf);
            // Labels in a tree are sorted: "…hash" < "…index".
            fork(
                labeled(LAST_BLOCK_HASH, leaf(&hash)),
                labeled(LAST_BLOCK_INDEX, leaf(&buf[..len])),
            )
        }
    }
}

/// The tree, CBOR-encoded with the self-describe tag as agents expect.
pub fn tip_tree_cbor(tip: Option<(u64, Hash)>) -> Vec<u8> {
    let mut out = vec![0xd9, 0xd9, 0xf7];
    match tip {
        None => {
            out.push(0x81); // [0] = Empty
            out.push(0x00);
        }
        Some((index, hash)) => {
            let mut buf = [0; 10];
            let len = leb128(index, &mut buf);
            out.extend_from_slice(&[0x83, 0x01]); // [1, l, r] = Fork
            labeled_leaf_cbor(&mut out, LAST_BLOCK_HASH, &hash);
            labeled_leaf_cbor(&mut out, LAST_BLOCK_INDEX, &buf[..len]);
        }
    }
    out
}

fn labeled_leaf_cbor(out: &mut Vec<u8>, label: &[u8], value: &[u8]) {
    out.extend_from_slice(&[0x83, 0x02]); // [2, label, subtree] = Labeled
    cbor_bytes(out, label);
    out.extend_from_slice(&[0x82, 0x03]); // [3, value] = Leaf
    cbor_bytes(out, value);
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Major type 2; every string here is shorter than 256 bytes.
    match bytes.len() {
        len @ 0..=23 => out.push(0x40 | len as u8),
        len => {
            out.push(0x58);
            out.push(u8::try_from(len).expect("short byte strings only"));
        }
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_certification::HashTree;

    fn decode(bytes: &[u8]) -> HashTree {
        serde_cbor::from_slice(bytes).expect("a CBOR hash tree")
    }

    #[test]
    fn the_encoded_tree_has_the_root_hash_that_is_certified() {
        for tip in [
            None,
            Some((0, [1; 32])),
            Some((300, [2; 32])),
            Some((u64::MAX, [3; 32])),
        ] {
            let tree = decode(&tip_tree_cbor(tip));
            assert_eq!(tree.digest(), tip_root_hash(tip), "{tip:?}");
        }
    }

    #[test]
    fn the_tree_holds_the_tip_under_the_standard_labels() {
        let tree = decode(&tip_tree_cbor(Some((624_485, [9; 32]))));
        assert_eq!(
            tree.lookup_path([b"last_block_hash"]),
            ic_certification::LookupResult::Found(&[9; 32][..])
        );
        assert_eq!(
            tree.lookup_path([b"last_block_index"]),
            ic_certification::LookupResult::Found(&[0xe5, 0x8e, 0x26][..])
        );
    }
}
