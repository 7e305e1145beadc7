//! The small certified trees the canisters publish: sorted labels, each
//! with one leaf value, e.g. `{last_block_hash; last_block_index}`. The root
//! hash goes to `ic0.certified_data_set`; the CBOR form is what clients
//! receive next to the certificate (IC interface specification, "Hash
//! trees"). Hashed and encoded by hand: the trees are tiny and fixed.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

fn domain_hash(domain: &str, parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    h.update([domain.len() as u8]);
    h.update(domain.as_bytes());
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// Root hash of the tree of `entries` (label, value), sorted by label.
pub fn root_hash(entries: &[(&[u8], &[u8])]) -> Hash {
    debug_assert!(entries.is_sorted_by_key(|(label, _)| *label));
    match entries {
        [] => domain_hash("ic-hashtree-empty", &[]),
        [(label, value)] => {
            let leaf = domain_hash("ic-hashtree-leaf", &[value]);
            domain_hash("ic-hashtree-labeled", &[label, &leaf])
        }
        _ => {
            let (left, right) = entries.split_at(entries.len() / 2);
            domain_hash("ic-hashtree-fork", &[&root_hash(left), &root_hash(right)])
        }
    }
}

/// The same tree, CBOR-encoded with the self-describe tag agents expect.
pub fn cbor(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = vec![0xd9, 0xd9, 0xf7];
    encode(&mut out, entries);
    out
}

fn encode(out: &mut Vec<u8>, entries: &[(&[u8], &[u8])]) {
    match entries {
        [] => out.extend_from_slice(&[0x81, 0x00]), // [0] = Empty
        [(label, value)] => {
            out.extend_from_slice(&[0x83, 0x02]); // [2, label, subtree] = Labeled
            bytes(out, label);
            out.extend_from_slice(&[0x82, 0x03]); // [3, value] = Leaf
            bytes(out, value);
        }
        _ => {
            let (left, right) = entries.split_at(entries.len() / 2);
            out.extend_from_slice(&[0x83, 0x01]); // [1, left, right] = Fork
            encode(out, left);
            encode(out, right);
        }
    }
}

/// A CBOR byte string (major type 2).
fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    let len = b.len();
    match len {
        0..=23 => out.push(0x40 | len as u8),
        24..=0xff => out.extend_from_slice(&[0x58, len as u8]),
        0x100..=0xffff => {
            out.push(0x59);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x5a);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_certification::{HashTree, LookupResult};

    fn decode(bytes: &[u8]) -> HashTree {
        serde_cbor::from_slice(bytes).expect("a CBOR hash tree")
    }

    #[test]
    fn encoded_trees_have_the_root_hash_that_is_certified() {
        let long = vec![7u8; 300];
        let cases: Vec<Vec<(&[u8], &[u8])>> = vec![
            vec![],
            vec![(b"a", b"1")],
            vec![(b"a", b"1"), (b"b", &long)],
            vec![(b"a", b""), (b"b", b"2"), (b"c", &[3; 40])],
        ];
        for entries in cases {
            let tree = decode(&cbor(&entries));
            assert_eq!(tree.digest(), root_hash(&entries), "{entries:?}");
            for (label, value) in &entries {
                assert_eq!(tree.lookup_path([*label]), LookupResult::Found(value));
            }
        }
    }
}
