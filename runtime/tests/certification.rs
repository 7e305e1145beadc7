//! Data certificates: a non-replicated query gets a certificate of the
//! canister's certified data and the time, signed by the root key the way
//! the IC signs it, which the IC's reference verifier accepts.

mod common;

use candid::Principal;
use common::install;
use ic_certification::{Certificate, HashTree, LookupResult};
use ic_runtime::PocketIc;
use ic_verify_bls_signature::verify_bls_signature;
use std::time::Duration;

/// `set` makes its argument the certified data; `certificate` (a query)
/// replies with `data_certificate_present` as one byte, then the
/// certificate if there is one. The update `certificate_in_update` does
/// the same, in a replicated execution.
const MODULE: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "certified_data_set" (func $certified_data_set (param i32 i32)))
  (import "ic0" "data_certificate_present" (func $present (result i32)))
  (import "ic0" "data_certificate_size" (func $size (result i32)))
  (import "ic0" "data_certificate_copy" (func $copy (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "canister_update set")
    (call $arg_copy (i32.const 0) (i32.const 0) (call $arg_size))
    (call $certified_data_set (i32.const 0) (call $arg_size))
    (call $reply))
  (func $reply_with_certificate
    (i32.store8 (i32.const 0) (call $present))
    (call $append (i32.const 0) (i32.const 1))
    (if (call $present)
      (then
        (call $copy (i32.const 1024) (i32.const 0) (call $size))
        (call $append (i32.const 1024) (call $size))))
    (call $reply))
  (func (export "canister_query certificate") (call $reply_with_certificate))
  (func (export "canister_update certificate_in_update") (call $reply_with_certificate))
)"#;

/// The CBOR self-describing tag the IC puts before a certificate.
const SELF_DESCRIBING_TAG: [u8; 3] = [0xd9, 0xd9, 0xf7];
const DER_PREFIX_LENGTH: usize = 37;

fn install_module(pic: &mut PocketIc) -> Principal {
    install(pic, wat::parse_str(MODULE).unwrap())
}

fn set_certified_data(pic: &mut PocketIc, canister: Principal, data: &[u8]) {
    pic.update_call(canister, Principal::anonymous(), "set", data.to_vec())
        .unwrap();
}

/// (`data_certificate_present`, the certificate's bytes) as the method saw them.
fn certificate_seen_by(reply: Result<Vec<u8>, ic_runtime::RejectResponse>) -> (u8, Vec<u8>) {
    let reply = reply.unwrap();
    (reply[0], reply[1..].to_vec())
}

fn query_certificate(pic: &mut PocketIc, canister: Principal) -> Vec<u8> {
    let (present, certificate) = certificate_seen_by(pic.query_call(
        canister,
        Principal::anonymous(),
        "certificate",
        vec![],
    ));
    assert_eq!(present, 1, "a non-replicated query has a certificate");
    certificate
}

fn parse(certificate: &[u8]) -> Certificate {
    serde_cbor::from_slice(certificate).expect("the certificate is CBOR")
}

/// Verifies as agent-rs does: the signature over `domain_sep("ic-state-root")
/// ‖ root hash`, with the BLS key inside the DER-encoded root key.
fn verify(certificate: &Certificate, root_key_der: &[u8]) -> Result<(), ()> {
    let mut message = b"\x0dic-state-root".to_vec();
    message.extend_from_slice(&certificate.tree.digest());
    verify_bls_signature(
        &certificate.signature,
        &message,
        &root_key_der[DER_PREFIX_LENGTH..],
    )
}

fn certified_data<'a>(tree: &'a HashTree, canister: Principal) -> LookupResult<'a> {
    tree.lookup_path([
        b"canister".as_slice(),
        canister.as_slice(),
        b"certified_data".as_slice(),
    ])
}

fn certified_time(tree: &HashTree) -> u64 {
    let LookupResult::Found(bytes) = tree.lookup_path([b"time".as_slice()]) else {
        panic!("the certificate has no time");
    };
    let mut value = 0u64;
    for (index, byte) in bytes.iter().enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * index);
    }
    value
}

#[test]
fn should_certify_the_certified_data_and_time_with_the_root_key() {
    let mut pic = PocketIc::new();
    let canister = install_module(&mut pic);
    let data = [7u8; 32];
    set_certified_data(&mut pic, canister, &data);

    let bytes = query_certificate(&mut pic, canister);
    assert_eq!(bytes[..3], SELF_DESCRIBING_TAG);
    let certificate = parse(&bytes);
    assert_eq!(
        certified_data(&certificate.tree, canister),
        LookupResult::Found(&data)
    );
    assert_eq!(
        certified_time(&certificate.tree),
        pic.get_time().as_nanos_since_unix_epoch()
    );
    assert!(certificate.delegation.is_none(), "signed by the root key");

    let root_key = pic.root_key().expect("the runtime has a root key");
    assert_eq!(root_key.len(), 133, "DER-encoded BLS12-381 G2 key");
    assert_eq!(verify(&certificate, &root_key), Ok(()));
}

#[test]
fn should_fail_verification_when_the_certificate_is_tampered_with() {
    let mut pic = PocketIc::new();
    let canister = install_module(&mut pic);
    let data = [7u8; 32];
    set_certified_data(&mut pic, canister, &data);
    let bytes = query_certificate(&mut pic, canister);
    let root_key = pic.root_key().unwrap();

    let mut forged_data = bytes.clone();
    let at = forged_data
        .windows(data.len())
        .position(|window| window == data)
        .expect("the certified data is in the certificate");
    forged_data[at] ^= 1;
    let forged = parse(&forged_data);
    assert_ne!(
        certified_data(&forged.tree, canister),
        LookupResult::Found(&data)
    );
    assert_eq!(verify(&forged, &root_key), Err(()));

    let mut forged_signature = parse(&bytes);
    forged_signature.signature[47] ^= 1;
    assert_eq!(verify(&forged_signature, &root_key), Err(()));

    let other_key = PocketIc::new().root_key().unwrap();
    assert_eq!(other_key, root_key, "the root key is fixed");
    let mut wrong_key = root_key.clone();
    wrong_key[DER_PREFIX_LENGTH..].copy_from_slice(&[0; 96]);
    assert_eq!(verify(&parse(&bytes), &wrong_key), Err(()));
}

#[test]
fn should_prune_other_canisters_from_the_certificate() {
    let mut pic = PocketIc::new();
    let first = install_module(&mut pic);
    let second = install_module(&mut pic);
    let third = install_module(&mut pic);
    set_certified_data(&mut pic, first, b"first");
    set_certified_data(&mut pic, second, b"second");
    set_certified_data(&mut pic, third, b"third");

    let certificate = parse(&query_certificate(&mut pic, second));
    assert_eq!(
        certified_data(&certificate.tree, second),
        LookupResult::Found(b"second")
    );
    for other in [first, third] {
        assert!(
            matches!(
                certified_data(&certificate.tree, other),
                LookupResult::Unknown
            ),
            "{other} is pruned"
        );
    }
    assert_eq!(verify(&certificate, &pic.root_key().unwrap()), Ok(()));
}

#[test]
fn should_give_a_certificate_of_empty_data_when_none_was_set() {
    let mut pic = PocketIc::new();
    let canister = install_module(&mut pic);
    let certificate = parse(&query_certificate(&mut pic, canister));
    assert_eq!(
        certified_data(&certificate.tree, canister),
        LookupResult::Found(b"")
    );
    assert_eq!(verify(&certificate, &pic.root_key().unwrap()), Ok(()));
}

#[test]
fn should_certify_the_latest_data_and_time() {
    let mut pic = PocketIc::new();
    let canister = install_module(&mut pic);
    set_certified_data(&mut pic, canister, b"before");
    pic.advance_time(Duration::from_secs(60));
    set_certified_data(&mut pic, canister, b"after");

    let certificate = parse(&query_certificate(&mut pic, canister));
    assert_eq!(
        certified_data(&certificate.tree, canister),
        LookupResult::Found(b"after")
    );
    assert_eq!(
        certified_time(&certificate.tree),
        pic.get_time().as_nanos_since_unix_epoch()
    );
    assert_eq!(verify(&certificate, &pic.root_key().unwrap()), Ok(()));
}

#[test]
fn should_have_no_certificate_in_replicated_executions() {
    let mut pic = PocketIc::new();
    let canister = install_module(&mut pic);
    set_certified_data(&mut pic, canister, b"data");
    let sender = Principal::anonymous();

    let in_update = pic.update_call(canister, sender, "certificate_in_update", vec![]);
    assert_eq!(certificate_seen_by(in_update), (0, vec![]));
    // Through an update call, a query runs replicated.
    let replicated_query = pic.update_call(canister, sender, "certificate", vec![]);
    assert_eq!(certificate_seen_by(replicated_query), (0, vec![]));
}
