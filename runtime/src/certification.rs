//! IC certificates: the runtime signs its state tree the way a subnet does,
//! so canisters get data certificates in non-replicated queries that clients
//! (agent-rs, agent-js) verify against [`root_key_der`].
//!
//! The signature is a BLS12-381 signature in the IC's scheme (signatures in
//! G1, public keys in G2) over `domain_sep("ic-state-root") ‖ root_hash`.
//! The key pair comes from a fixed seed: it certifies nothing outside this
//! runtime, and a fixed key lets a test pin it like the mainnet root key.

use ic_bls12_381::hash_to_curve::{ExpandMsgXmd, HashToCurve};
use ic_bls12_381::{G1Affine, G1Projective, G2Affine, Scalar};
use ic_certification::certificate::{Certificate, Delegation};
use ic_certification::hash_tree::{
    Hash, HashTree, empty, fork, fork_hash, label, labeled_hash, leaf, leaf_hash, pruned,
};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};
use std::sync::{Arc, OnceLock};

/// What the runtime's secret key is derived from.
pub(crate) const ROOT_KEY_SEED: &[u8] =
    b"ic-runtime: the root key of an in-process Internet Computer";

/// The DST of the IC's BLS signatures (hash to G1, "min-sig").
const SIGNATURE_DST: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";

/// The DER `SubjectPublicKeyInfo` header of a BLS12-381 G2 key
/// (algorithm OID 1.3.6.1.4.1.44668.5.3.1.2.1, curve OID 1.3.6.1.4.1.44668.5.3.2.1).
const DER_PREFIX: [u8; 37] = [
    0x30, 0x81, 0x82, 0x30, 0x1d, 0x06, 0x0d, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05,
    0x03, 0x01, 0x02, 0x01, 0x06, 0x0c, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xdc, 0x7c, 0x05, 0x03,
    0x02, 0x01, 0x03, 0x61, 0x00,
];

/// A subnet's threshold key, here one BLS12-381 key pair.
pub struct SubnetKey {
    secret: Scalar,
    /// The DER `SubjectPublicKeyInfo` of the compressed G2 point.
    public_der: Vec<u8>,
}

impl SubnetKey {
    /// The key pair derived from `seed`: the same seed, the same key, so
    /// that a network restarted from its state directory keeps its keys.
    pub fn derive(seed: &[u8]) -> Self {
        let wide: [u8; 64] = Sha512::digest(seed).into();
        let secret = Scalar::from_bytes_wide(&wide);
        let public = G2Affine::from(G2Affine::generator() * secret).to_compressed();
        Self {
            secret,
            public_der: [DER_PREFIX.as_slice(), &public].concat(),
        }
    }

    /// The key of the root subnet (the NNS), which clients pin.
    pub fn root() -> &'static Self {
        static KEY: OnceLock<SubnetKey> = OnceLock::new();
        KEY.get_or_init(|| Self::derive(ROOT_KEY_SEED))
    }

    /// The DER-encoded public key (133 bytes), as the state tree and
    /// `/api/v2/status` publish it.
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    /// The signature of a state tree whose root hash is `root_hash`.
    pub fn sign_state_root(&self, root_hash: &Hash) -> [u8; 48] {
        self.sign(&with_domain_separator("ic-state-root", root_hash))
    }

    /// A BLS signature (compressed G1 point) of `message`.
    fn sign(&self, message: &[u8]) -> [u8; 48] {
        let point = <G1Projective as HashToCurve<ExpandMsgXmd<Sha256>>>::hash_to_curve(
            message,
            SIGNATURE_DST,
        );
        G1Affine::from(point * self.secret).to_compressed()
    }
}

/// The root public key, DER-encoded as the IC publishes it (133 bytes).
pub fn root_key_der() -> Vec<u8> {
    SubnetKey::root().public_key_der().to_vec()
}

/// A node's Ed25519 key, with which it signs its answers to queries.
pub struct NodeKey {
    key: ed25519_dalek::SigningKey,
}

impl NodeKey {
    /// The DER header of an Ed25519 `SubjectPublicKeyInfo` (OID 1.3.101.112).
    const DER_PREFIX: [u8; 12] = [48, 42, 48, 5, 6, 3, 43, 101, 112, 3, 33, 0];

    pub fn derive(seed: &[u8]) -> Self {
        let secret: [u8; 32] = Sha256::digest(seed).into();
        Self {
            key: ed25519_dalek::SigningKey::from_bytes(&secret),
        }
    }

    /// The DER-encoded public key (44 bytes).
    pub fn public_key_der(&self) -> Vec<u8> {
        [
            Self::DER_PREFIX.as_slice(),
            self.key.verifying_key().as_bytes(),
        ]
        .concat()
    }

    /// The node's id: the self-authenticating principal of its key.
    pub fn node_id(&self) -> candid::Principal {
        candid::Principal::self_authenticating(self.public_key_der())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }
}

/// `domain_sep(s) ‖ data`: the length of `s` in one byte, `s`, then `data`.
pub fn with_domain_separator(separator: &str, data: &[u8]) -> Vec<u8> {
    let length = u8::try_from(separator.len()).expect("a short domain separator");
    [&[length], separator.as_bytes(), data].concat()
}

/// A certificate whose `tree` is signed by the root key, CBOR-encoded with
/// the self-describing tag as the IC encodes it.
fn signed_certificate(tree: HashTree<Vec<u8>>) -> Vec<u8> {
    let signature = SubnetKey::root().sign_state_root(&tree.digest());
    encode_certificate(tree, signature, None)
}

/// The CBOR certificate `{tree, signature, delegation?}`, with the
/// self-describing tag.
pub fn encode_certificate(
    tree: HashTree<Vec<u8>>,
    signature: [u8; 48],
    delegation: Option<Delegation<Vec<u8>>>,
) -> Vec<u8> {
    let certificate = Certificate {
        tree,
        signature: signature.to_vec(),
        delegation,
    };
    let mut serializer = serde_cbor::Serializer::new(Vec::new());
    serializer
        .self_describe()
        .expect("writing to a vector cannot fail");
    certificate
        .serialize(&mut serializer)
        .expect("a certificate encodes");
    serializer.into_inner()
}

/// Unsigned LEB128, the encoding of numbers in the state tree.
pub fn leb128(mut value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let low_bits = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(low_bits);
            return bytes;
        }
        bytes.push(low_bits | 0x80);
    }
}

/// A node of a witness: kept in full, or only its hash.
enum Witness {
    Kept(HashTree<Vec<u8>>),
    Pruned(Hash),
}

impl Witness {
    fn into_tree(self) -> HashTree<Vec<u8>> {
        match self {
            Self::Kept(tree) => tree,
            Self::Pruned(hash) => pruned(hash),
        }
    }
}

/// The labeled children, sorted by label, as a balanced tree of forks.
/// Forks with nothing kept below them collapse into one pruned node, as in
/// the IC's witnesses.
fn forest(mut children: Vec<Witness>) -> Witness {
    match children.len() {
        0 => Witness::Kept(empty()),
        1 => children.pop().expect("one child"),
        len => {
            let right = forest(children.split_off(len / 2));
            let left = forest(children);
            match (left, right) {
                (Witness::Pruned(left), Witness::Pruned(right)) => {
                    Witness::Pruned(fork_hash(&left, &right))
                }
                (left, right) => Witness::Kept(fork(left.into_tree(), right.into_tree())),
            }
        }
    }
}

/// A canister's subtree: `certified_data` (empty until the canister sets it).
fn canister_node(id: &[u8], certified_data: &[u8], kept: bool) -> Witness {
    if kept {
        Witness::Kept(label(
            id.to_vec(),
            label(b"certified_data".to_vec(), leaf(certified_data.to_vec())),
        ))
    } else {
        let data = labeled_hash(b"certified_data", &leaf_hash(certified_data));
        Witness::Pruned(labeled_hash(id, &data))
    }
}

/// The data certificate of one canister: the state tree (`canister/<id>/
/// certified_data` of every installed canister, and `time`) pruned to
/// `canister/<canister>/certified_data` and `time`. It is hashed and signed
/// on first use, so queries that never read it cost neither (hashing every
/// canister's entry took most of a small query's time).
#[derive(Clone)]
pub struct DataCertificate(Arc<Unsigned>);

struct Unsigned {
    canister: Vec<u8>,
    /// Each installed canister's id and certified data, by id's bytes.
    installed: Vec<(Vec<u8>, Vec<u8>)>,
    time_nanos: u64,
    encoded: OnceLock<Vec<u8>>,
}

impl DataCertificate {
    /// `installed` lists each installed canister's id and certified data.
    pub fn new<'a>(
        canister: &[u8],
        installed: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        time_nanos: u64,
    ) -> Self {
        let mut installed: Vec<(Vec<u8>, Vec<u8>)> = installed
            .into_iter()
            .map(|(id, data)| (id.to_vec(), data.to_vec()))
            .collect();
        // Labels are ordered by their bytes, not by how principals compare.
        installed.sort_unstable();
        Self(Arc::new(Unsigned {
            canister: canister.to_vec(),
            installed,
            time_nanos,
            encoded: OnceLock::new(),
        }))
    }

    fn tree(&self) -> HashTree<Vec<u8>> {
        let unsigned = &self.0;
        let canisters = unsigned
            .installed
            .iter()
            .map(|(id, data)| canister_node(id, data, *id == unsigned.canister))
            .collect();
        fork(
            label(b"canister".to_vec(), forest(canisters).into_tree()),
            label(b"time".to_vec(), leaf(leb128(unsigned.time_nanos))),
        )
    }

    /// The CBOR certificate `{tree, signature}`.
    pub fn bytes(&self) -> &[u8] {
        self.0
            .encoded
            .get_or_init(|| signed_certificate(self.tree()))
    }
}

impl std::fmt::Debug for DataCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataCertificate")
            .field("root_hash", &self.tree().digest())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_matches_the_specification_examples() {
        assert_eq!(leb128(0), [0x00]);
        assert_eq!(leb128(127), [0x7f]);
        assert_eq!(leb128(128), [0x80, 0x01]);
        assert_eq!(leb128(624_485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn domain_separator_is_prefixed_by_its_length() {
        assert_eq!(
            with_domain_separator("ic-state-root", b"x"),
            b"\x0dic-state-rootx"
        );
    }

    #[test]
    fn root_key_is_der_encoded_and_stable() {
        let der = root_key_der();
        assert_eq!(der.len(), 133);
        assert_eq!(der[..37], DER_PREFIX);
        assert_eq!(der, root_key_der());
    }
}
