//! Requests of the IC's HTTP interface: the CBOR envelope, its request id
//! and its authentication, as a replica checks them (the sender's
//! signature, delegation chains, `ingress_expiry`).
//!
//! The request id is the representation-independent hash of the content
//! *as sent*: it is computed over the decoded CBOR value, so that fields
//! this network does not know still count, as they do for the replica.

use candid::Principal;
use ic_transport_types::{EnvelopeContent, SignedDelegation};
use serde::Deserialize;
use serde_cbor::Value;
use sha2::{Digest, Sha256};

/// Why a request is refused before it reaches a canister: the HTTP status
/// and a plain-text message, as a replica answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            message: message.into(),
        }
    }
}

/// At most this many delegations in a chain, and targets in a delegation.
const MAX_DELEGATIONS: usize = 20;
const MAX_TARGETS: usize = 1_000;

/// A request whose signature checked out.
#[derive(Debug)]
pub struct Authenticated {
    pub content: EnvelopeContent,
    pub request_id: [u8; 32],
    /// Canisters the delegations allow, when they restrict them.
    pub targets: Option<Vec<Principal>>,
    /// `ingress_expiry` on the network's clock.
    pub expiry: u64,
}

/// The clocks a request may be dated by: the wall clock, by which most
/// clients sign, and the network's, which is ahead of it once time was
/// moved (agents that follow the network's certificates, as agent-js
/// does, sign by it then).
#[derive(Clone, Copy, Debug)]
pub struct Clocks {
    pub wall: u64,
    pub network: u64,
}

/// The replay guard: the id of every call taken, kept until neither clock
/// can take its `ingress_expiry` (as sent) again.
#[derive(Default)]
pub struct Seen {
    ids: std::collections::HashSet<[u8; 32]>,
    by_expiry: std::collections::BTreeSet<(u64, [u8; 32])>,
}

impl Seen {
    pub fn contains(&self, request_id: &[u8; 32]) -> bool {
        self.ids.contains(request_id)
    }

    pub fn insert(&mut self, request_id: [u8; 32], expiry_as_sent: u64) {
        if self.ids.insert(request_id) {
            self.by_expiry.insert((expiry_as_sent, request_id));
        }
    }

    /// Forgets the ids no clock can take now or later: those that expire
    /// before the wall clock (the network's is never behind it). An id past
    /// the network's clock but ahead of the wall clock's window is kept:
    /// the wall clock will reach it. Time moved far ahead makes ids of
    /// clients that sign by the network's clock stay until then: a few
    /// dozen bytes each, on a network for development.
    pub fn prune(&mut self, clocks: Clocks) {
        while let Some(&(expiry, id)) = self.by_expiry.first() {
            if expiry >= clocks.wall {
                break;
            }
            self.by_expiry.pop_first();
            self.ids.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    content: Value,
    #[serde(default, with = "serde_bytes")]
    sender_pubkey: Option<Vec<u8>>,
    #[serde(default, with = "serde_bytes")]
    sender_sig: Option<Vec<u8>>,
    #[serde(default)]
    sender_delegation: Option<Vec<SignedDelegation>>,
}

/// Decodes and authenticates a request body at the times of `clocks` (ns).
pub fn authenticate(body: &[u8], clocks: Clocks) -> Result<Authenticated, Refusal> {
    let now = clocks.wall;
    let envelope: RawEnvelope = serde_cbor::from_slice(body)
        .map_err(|e| Refusal::bad_request(format!("Failed to deserialize cbor request: {e}")))?;
    let request_id = representation_independent_hash(&envelope.content)
        .map_err(|e| Refusal::bad_request(format!("Could not compute the request id: {e}")))?;
    if let Value::Map(fields) = &envelope.content
        && fields.contains_key(&Value::Text("sender_info".into()))
    {
        // Its canister signature would have to be checked, and this
        // network checks no canister signatures.
        return Err(Refusal::bad_request(
            "Invalid sender info: canister-signed sender info is not supported by this network",
        ));
    }
    let content: EnvelopeContent = serde_cbor::value::from_value(envelope.content)
        .map_err(|e| Refusal::bad_request(format!("Malformed request: {e}")))?;
    let sender = *content.sender();
    // As the replica: anonymous queries and reads of the state skip the
    // expiry check; every call is checked.
    let dated = content.ingress_expiry();
    let expiry = if check_expiry(dated, clocks.network).is_ok() {
        dated
    } else {
        let checked = check_expiry(dated, now);
        if matches!(content, EnvelopeContent::Call { .. }) || sender != Principal::anonymous() {
            checked?;
        }
        dated.saturating_add(clocks.network.saturating_sub(now))
    };
    let targets = if sender == Principal::anonymous() {
        if envelope.sender_pubkey.is_some() || envelope.sender_sig.is_some() {
            return Err(Refusal::bad_request(
                "Signature is not allowed for the anonymous user.",
            ));
        }
        None
    } else {
        let (Some(public_key), Some(signature)) = (envelope.sender_pubkey, envelope.sender_sig)
        else {
            return Err(Refusal::bad_request(format!(
                "Missing signature from user: {sender}"
            )));
        };
        if Principal::self_authenticating(&public_key) != sender {
            return Err(Refusal::bad_request(format!(
                "The user id '{sender}' does not match the public key '{}'",
                hex(&public_key)
            )));
        }
        let delegations = envelope.sender_delegation.unwrap_or_default();
        let (signing_key, targets, queries_only) =
            check_delegations(public_key, &delegations, now)?;
        if queries_only && matches!(content, EnvelopeContent::Call { .. }) {
            return Err(Refusal::bad_request(
                "Invalid delegation: the delegation permits queries and read_state requests only",
            ));
        }
        let message = [b"\x0Aic-request".as_slice(), &request_id].concat();
        verify(&signing_key, &message, &signature).map_err(|e| {
            Refusal::bad_request(format!("Invalid signature: Invalid basic signature: {e}"))
        })?;
        targets
    };
    Ok(Authenticated {
        content,
        request_id,
        targets,
        expiry,
    })
}

/// How far ahead `ingress_expiry` may lie: 5 minutes, and the validator's
/// 30 s allowance for clocks that run ahead.
pub const EXPIRY_WINDOW_NANOS: u64 =
    crate::ic::certified_state::MAX_INGRESS_TTL_NANOS + 30 * 1_000_000_000;

/// `ingress_expiry` must lie from `now` to 5 minutes and 30 s ahead.
fn check_expiry(expiry: u64, now: u64) -> Result<(), Refusal> {
    let latest = now.saturating_add(EXPIRY_WINDOW_NANOS);
    if expiry < now || expiry > latest {
        return Err(Refusal::bad_request(format!(
            "Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: {now}, Maximum allowed expiry: {latest}, Provided expiry: {expiry}"
        )));
    }
    Ok(())
}

/// The key that signs, the canisters allowed, whether for queries only.
type DelegationChain = (Vec<u8>, Option<Vec<Principal>>, bool);

/// Follows the chain from the sender's key: each delegation signed by the
/// key before it, unexpired; returns the key that must sign the request,
/// the canisters every restricting delegation allows, and whether some
/// delegation permits queries only.
fn check_delegations(
    sender_key: Vec<u8>,
    delegations: &[SignedDelegation],
    now: u64,
) -> Result<DelegationChain, Refusal> {
    if delegations.len() > MAX_DELEGATIONS {
        return Err(Refusal::bad_request(format!(
            "Invalid delegation: Chain of delegations is too long: got {} delegations, but at most {MAX_DELEGATIONS} are allowed",
            delegations.len()
        )));
    }
    let mut key = sender_key;
    let mut targets: Option<Vec<Principal>> = None;
    let mut queries_only = false;
    for signed in delegations {
        let delegation = &signed.delegation;
        queries_only |=
            delegation.permissions == Some(ic_transport_types::DelegationPermissions::Queries);
        verify(&key, &delegation.signable(), &signed.signature).map_err(|e| {
            Refusal::bad_request(format!("Invalid delegation: Invalid basic signature: {e}"))
        })?;
        if delegation.expiration < now {
            return Err(Refusal::bad_request(format!(
                "Invalid delegation expiry: Specified sender delegation has expired: expiration {}, now {now}",
                delegation.expiration
            )));
        }
        if let Some(allowed) = &delegation.targets {
            if allowed.len() > MAX_TARGETS {
                return Err(Refusal::bad_request(format!(
                    "Invalid delegation: Delegation target error: expected at most {MAX_TARGETS} targets per delegation, but got {}",
                    allowed.len()
                )));
            }
            targets = Some(match targets {
                None => allowed.clone(),
                Some(previous) => previous
                    .into_iter()
                    .filter(|t| allowed.contains(t))
                    .collect(),
            });
        }
        key = delegation.pubkey.clone();
    }
    Ok((key, targets, queries_only))
}

/// Verifies `signature` of `message` by the DER-encoded `public_key`:
/// Ed25519, or ECDSA on secp256k1 or P-256 (over SHA-256 of the message).
fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), String> {
    use ed25519_dalek::pkcs8::DecodePublicKey as _;
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_der(public_key) {
        let signature = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|e| format!("malformed Ed25519 signature: {e}"))?;
        return key
            .verify_strict(message, &signature)
            .map_err(|_| "Ed25519 signature verification failed".to_string());
    }
    if let Ok(key) = k256::ecdsa::VerifyingKey::from_public_key_der(public_key) {
        use k256::ecdsa::signature::Verifier as _;
        let signature = k256::ecdsa::Signature::from_slice(signature)
            .map_err(|e| format!("malformed secp256k1 signature: {e}"))?;
        return key
            .verify(message, &signature)
            .map_err(|_| "ECDSA secp256k1 signature verification failed".to_string());
    }
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(public_key) {
        use p256::ecdsa::signature::Verifier as _;
        let signature = p256::ecdsa::Signature::from_slice(signature)
            .map_err(|e| format!("malformed P-256 signature: {e}"))?;
        return key
            .verify(message, &signature)
            .map_err(|_| "ECDSA P-256 signature verification failed".to_string());
    }
    Err(format!(
        "unsupported public key {}: only Ed25519, ECDSA secp256k1 and P-256 keys are accepted",
        hex(public_key)
    ))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The IC's representation-independent hash of a CBOR value: a map hashes
/// the sorted concatenation of its fields' (key hash ‖ value hash), a
/// byte or text string its bytes, a natural number its LEB128 encoding, an
/// array the concatenation of its elements' hashes.
pub fn representation_independent_hash(value: &Value) -> Result<[u8; 32], String> {
    Ok(match value {
        Value::Map(fields) => {
            let mut hashed = fields
                .iter()
                .map(|(key, value)| {
                    let Value::Text(key) = key else {
                        return Err("a map key that is not text".to_string());
                    };
                    Ok([
                        Sha256::digest(key.as_bytes()).to_vec(),
                        representation_independent_hash(value)?.to_vec(),
                    ]
                    .concat())
                })
                .collect::<Result<Vec<_>, _>>()?;
            hashed.sort_unstable();
            Sha256::digest(hashed.concat()).into()
        }
        Value::Bytes(bytes) => Sha256::digest(bytes).into(),
        Value::Text(text) => Sha256::digest(text.as_bytes()).into(),
        Value::Integer(n) => {
            let n = u64::try_from(*n).map_err(|_| format!("{n} is not a 64-bit natural"))?;
            Sha256::digest(crate::certification::leb128(n)).into()
        }
        Value::Array(elements) => {
            let hashes = elements
                .iter()
                .map(representation_independent_hash)
                .collect::<Result<Vec<_>, _>>()?;
            Sha256::digest(hashes.concat()).into()
        }
        Value::Tag(_, inner) => representation_independent_hash(inner)?,
        other => return Err(format!("a value the request id cannot hash: {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_transport_types::to_request_id;

    fn call(sender: Principal, expiry: u64) -> EnvelopeContent {
        EnvelopeContent::Call {
            nonce: Some(vec![1, 2, 3]),
            ingress_expiry: expiry,
            sender,
            canister_id: Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 1, 1]),
            method_name: "transfer".into(),
            arg: b"DIDL\x00\x00".to_vec(),
            sender_info: None,
        }
    }

    #[test]
    fn the_request_id_is_the_one_agents_compute() {
        let content = call(Principal::anonymous(), 1_700_000_000_000_000_000);
        let value = serde_cbor::value::to_value(&content).unwrap();
        assert_eq!(
            representation_independent_hash(&value).unwrap(),
            *to_request_id(&content).unwrap()
        );
    }

    #[test]
    fn the_spec_example_request_id() {
        // The interface specification's example: a call of "hello" with
        // argument "DIDL\x00\xFD*" to canister 00000000000004D2 by 0x04.
        let content = EnvelopeContent::Call {
            nonce: None,
            ingress_expiry: 1_685_570_400_000_000_000,
            sender: Principal::anonymous(),
            canister_id: Principal::from_slice(&[0, 0, 0, 0, 0, 0, 4, 0xD2]),
            method_name: "hello".into(),
            arg: b"DIDL\x00\xFD*".to_vec(),
            sender_info: None,
        };
        let value = serde_cbor::value::to_value(&content).unwrap();
        assert_eq!(
            hex(&representation_independent_hash(&value).unwrap()),
            "1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101"
        );
    }

    fn envelope(content: &EnvelopeContent, key: Option<&ed25519_dalek::SigningKey>) -> Vec<u8> {
        use ed25519_dalek::Signer;
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let id = to_request_id(content).unwrap();
        let (sender_pubkey, sender_sig) = match key {
            Some(key) => (
                Some(key.verifying_key().to_public_key_der().unwrap().to_vec()),
                Some(
                    key.sign(&[b"\x0Aic-request".as_slice(), id.as_slice()].concat())
                        .to_bytes()
                        .to_vec(),
                ),
            ),
            None => (None, None),
        };
        ic_transport_types::Envelope {
            content: std::borrow::Cow::Borrowed(content),
            sender_pubkey,
            sender_sig,
            sender_delegation: None,
        }
        .encode_bytes()
    }

    const NOW: u64 = 1_700_000_000_000_000_000;

    fn at(now: u64) -> Clocks {
        Clocks {
            wall: now,
            network: now,
        }
    }

    #[test]
    fn the_replay_guard_keeps_an_id_while_a_clock_could_take_it() {
        const S: u64 = 1_000_000_000;
        let mut seen = Seen::default();
        // The network's clock is an hour ahead. Two requests dated by the
        // wall clock, one by the network's.
        seen.insert([1; 32], NOW + 60 * S);
        seen.insert([3; 32], NOW + 100 * S);
        seen.insert([2; 32], NOW + 3_660 * S);
        let at = |wall| Clocks {
            wall,
            network: wall + 3_600 * S,
        };
        seen.prune(at(NOW + 30 * S));
        assert_eq!(seen.len(), 3);
        // The first is past the wall clock; the network's is past the
        // network's clock, but the wall clock will come within its window:
        // kept until the wall clock passes it.
        seen.prune(at(NOW + 61 * S));
        assert!(!seen.contains(&[1; 32]) && seen.contains(&[2; 32]));
        assert!(seen.contains(&[3; 32]));
        seen.prune(at(NOW + 101 * S));
        assert!(!seen.contains(&[3; 32]) && seen.contains(&[2; 32]));
        seen.prune(at(NOW + 3_661 * S));
        assert!(seen.is_empty());
    }

    /// Could a request with this expiry (as sent) still be taken?
    fn takeable(expiry: u64, clocks: Clocks) -> bool {
        check_expiry(expiry, clocks.wall).is_ok() || check_expiry(expiry, clocks.network).is_ok()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
        ))]
        /// Random calls, clock steps and jumps of the network's clock
        /// against a model that keeps every id: the guard never forgets an
        /// id that either clock could take now or later (no replay), and
        /// forgets every id that none can.
        #[test]
        fn the_replay_guard_forgets_only_what_no_clock_takes(
            steps in proptest::collection::vec((0u8..3, 0u64..400, 0u64..2), 1..60)
        ) {
            const S: u64 = 1_000_000_000;
            let mut clocks = Clocks { wall: NOW, network: NOW };
            let mut seen = Seen::default();
            let mut model: Vec<([u8; 32], u64)> = Vec::new();
            for (n, (kind, amount, dated_by_network)) in steps.into_iter().enumerate() {
                match kind {
                    // A call dated by one of the clocks, expiring up to 400 s on.
                    0 => {
                        let base = if dated_by_network == 1 { clocks.network } else { clocks.wall };
                        let expiry = base + amount * S;
                        if takeable(expiry, clocks) {
                            let mut id = [0u8; 32];
                            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
                            seen.insert(id, expiry);
                            model.push((id, expiry));
                        }
                    }
                    // Time passes on both clocks.
                    1 => {
                        clocks.wall += amount * S;
                        clocks.network += amount * S;
                    }
                    // The network's clock is moved ahead.
                    _ => clocks.network += amount * 60 * S,
                }
                seen.prune(clocks);
                for (id, expiry) in &model {
                    // Takeable now, or once the wall clock comes near it.
                    let could_be_taken = *expiry >= clocks.wall;
                    proptest::prop_assert_eq!(seen.contains(id), could_be_taken);
                    if takeable(*expiry, clocks) {
                        proptest::prop_assert!(seen.contains(id), "a takeable id was forgotten");
                    }
                }
            }
        }
    }

    #[test]
    fn a_request_dated_by_the_network_clock_ahead_is_taken() {
        let content = call(
            Principal::anonymous(),
            NOW + 3_600_000_000_000 + 60_000_000_000,
        );
        let body = envelope(&content, None);
        let ahead = Clocks {
            wall: NOW,
            network: NOW + 3_600_000_000_000,
        };
        let taken = authenticate(&body, ahead).unwrap();
        assert_eq!(taken.expiry, NOW + 3_660_000_000_000);
        // Dated by the wall clock: its expiry moves onto the network's.
        let by_wall = envelope(&call(Principal::anonymous(), NOW + 60_000_000_000), None);
        let taken = authenticate(&by_wall, ahead).unwrap();
        assert_eq!(taken.expiry, NOW + 3_660_000_000_000);
        // Neither.
        let stale = envelope(&call(Principal::anonymous(), NOW - 1), None);
        assert!(authenticate(&stale, ahead).is_err());
    }

    #[test]
    fn signed_anonymous_and_forged_requests() {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let sender =
            Principal::self_authenticating(key.verifying_key().to_public_key_der().unwrap());
        let signed = envelope(&call(sender, NOW + 60_000_000_000), Some(&key));
        assert!(authenticate(&signed, at(NOW)).is_ok());

        let anonymous = envelope(&call(Principal::anonymous(), NOW + 1), None);
        assert!(authenticate(&anonymous, at(NOW)).is_ok());

        // Someone else's key cannot speak for the sender.
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
        let forged = envelope(&call(sender, NOW + 1), Some(&other));
        assert_eq!(authenticate(&forged, at(NOW)).unwrap_err().status, 400);
        let unsigned = envelope(&call(sender, NOW + 1), None);
        assert!(
            authenticate(&unsigned, at(NOW))
                .unwrap_err()
                .message
                .contains("Missing signature")
        );
        // Expired, or too far ahead.
        let expired = envelope(&call(sender, NOW - 1), Some(&key));
        assert!(
            authenticate(&expired, at(NOW))
                .unwrap_err()
                .message
                .contains("ingress_expiry")
        );
        let far = envelope(&call(sender, NOW + 7 * 60_000_000_000), Some(&key));
        assert!(authenticate(&far, at(NOW)).is_err());
        assert!(authenticate(b"\x01\x02 not cbor", at(NOW)).is_err());
    }
}
