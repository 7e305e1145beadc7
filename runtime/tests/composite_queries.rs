//! Composite queries: `query_call` runs the whole call graph of a
//! `canister_composite_query` method at once, non-replicated, and discards
//! everything it wrote; replicated, a composite query is refused.

mod common;

use candid::Principal;
use common::{as_reject as forward_reject, caller_wasm, forward, install};
use ic_runtime::{ErrorCode, PocketIc, RejectCode, RejectResponse};

/// `fan` (composite query) takes `flags: u8, burn: u64 LE, count: u8` and
/// `count` calls `callee length: u8, callee, method length: u8, method,
/// payload length: u16 LE, payload`. Flag 1 first makes it write: its tag
/// becomes "dirty", stable memory and heap grow by a page. Flag 2 attaches a
/// cycle to each call. It then loops `burn` times and makes the calls; once
/// every answer is in it replies `tag length: u8, tag` and, per answer in
/// order, `"Y", length: u16 LE, reply` or `"N", reject code, length: u16 LE,
/// reject message`. The update `set` sets the tag; the queries `value`
/// (the tag), `heap_pages`, `trap_q` (traps), `burn` (loops its u64 LE
/// argument times), `plain_call` (tries `call_new`), the update `upd`.
const FAN: &str = r#"(module
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
  (import "ic0" "msg_reject_msg_size" (func $reject_msg_size (result i32)))
  (import "ic0" "msg_reject_msg_copy" (func $reject_msg_copy (param i32 i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_data_append" (func $call_append (param i32 i32)))
  (import "ic0" "call_cycles_add128" (func $cycles_add (param i64 i64)))
  (import "ic0" "call_perform" (func $perform (result i32)))
  (import "ic0" "stable64_grow" (func $stable_grow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $stable_write (param i64 i64 i64)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  ;; heap: 0 tag length, 8..72 tag, 100 calls made, 104 answers in,
  ;; 108 results length, 200 "dirty", 4096 scratch, 8192 results, 16384 arg
  (data (i32.const 0) "\05")
  (data (i32.const 8) "clean")
  (data (i32.const 200) "dirty")
  (func $write_dirty
    (memory.copy (i32.const 8) (i32.const 200) (i32.const 5))
    (i32.store (i32.const 0) (i32.const 5))
    (drop (call $stable_grow (i64.const 1)))
    (call $stable_write (i64.const 0) (i64.const 200) (i64.const 5))
    (drop (memory.grow (i32.const 1))))
  (func $burn (param $i i64)
    (block $done (loop $again
      (br_if $done (i64.eqz (local.get $i)))
      (local.set $i (i64.sub (local.get $i) (i64.const 1)))
      (br $again))))
  (func (export "canister_composite_query fan")
    (local $p i32) (local $n i32) (local $clen i32) (local $mlen i32) (local $plen i32)
    (call $arg_copy (i32.const 16384) (i32.const 0) (call $arg_size))
    (if (i32.and (i32.load8_u (i32.const 16384)) (i32.const 1)) (then (call $write_dirty)))
    (call $burn (i64.load (i32.const 16385)))
    (local.set $n (i32.load8_u (i32.const 16393)))
    (i32.store (i32.const 100) (local.get $n))
    (i32.store (i32.const 104) (i32.const 0))
    (i32.store (i32.const 108) (i32.const 0))
    (local.set $p (i32.const 16394))
    (block $end (loop $each
      (br_if $end (i32.eqz (local.get $n)))
      (local.set $clen (i32.load8_u (local.get $p)))
      (local.set $mlen (i32.load8_u (i32.add (local.get $p) (i32.add (local.get $clen) (i32.const 1)))))
      (call $call_new
        (i32.add (local.get $p) (i32.const 1)) (local.get $clen)
        (i32.add (local.get $p) (i32.add (local.get $clen) (i32.const 2))) (local.get $mlen)
        (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
      (local.set $p (i32.add (local.get $p)
        (i32.add (i32.add (local.get $clen) (local.get $mlen)) (i32.const 2))))
      (local.set $plen (i32.load16_u (local.get $p)))
      (call $call_append (i32.add (local.get $p) (i32.const 2)) (local.get $plen))
      (if (i32.and (i32.load8_u (i32.const 16384)) (i32.const 2))
        (then (call $cycles_add (i64.const 0) (i64.const 1))))
      (if (call $perform) (then (call $trap (i32.const 0) (i32.const 0))))
      (local.set $p (i32.add (local.get $p) (i32.add (local.get $plen) (i32.const 2))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $each)))
    (if (i32.eqz (i32.load (i32.const 100))) (then (call $finish))))
  (func $results_end (result i32) (i32.add (i32.const 8192) (i32.load (i32.const 108))))
  (func $on_reply (param $env i32)
    (local $r i32)
    (local.set $r (call $results_end))
    (i32.store8 (local.get $r) (i32.const 89))
    (i32.store16 (i32.add (local.get $r) (i32.const 1)) (call $arg_size))
    (call $arg_copy (i32.add (local.get $r) (i32.const 3)) (i32.const 0) (call $arg_size))
    (i32.store (i32.const 108)
      (i32.add (i32.load (i32.const 108)) (i32.add (call $arg_size) (i32.const 3))))
    (call $answered))
  (func $on_reject (param $env i32)
    (local $r i32)
    (local.set $r (call $results_end))
    (i32.store8 (local.get $r) (i32.const 78))
    (i32.store8 (i32.add (local.get $r) (i32.const 1)) (call $reject_code))
    (i32.store16 (i32.add (local.get $r) (i32.const 2)) (call $reject_msg_size))
    (call $reject_msg_copy (i32.add (local.get $r) (i32.const 4)) (i32.const 0) (call $reject_msg_size))
    (i32.store (i32.const 108)
      (i32.add (i32.load (i32.const 108)) (i32.add (call $reject_msg_size) (i32.const 4))))
    (call $answered))
  (func $answered
    (i32.store (i32.const 104) (i32.add (i32.load (i32.const 104)) (i32.const 1)))
    (if (i32.eq (i32.load (i32.const 104)) (i32.load (i32.const 100))) (then (call $finish))))
  (func $finish
    (i32.store8 (i32.const 4096) (i32.load (i32.const 0)))
    (call $append (i32.const 4096) (i32.const 1))
    (call $append (i32.const 8) (i32.load (i32.const 0)))
    (call $append (i32.const 8192) (i32.load (i32.const 108)))
    (call $reply))
  (func (export "canister_update set")
    (i32.store (i32.const 0) (call $arg_size))
    (call $arg_copy (i32.const 8) (i32.const 0) (call $arg_size))
    (call $reply))
  (func (export "canister_query value")
    (call $append (i32.const 8) (i32.load (i32.const 0)))
    (call $reply))
  (func (export "canister_query heap_pages")
    (i32.store (i32.const 4096) (memory.size))
    (call $append (i32.const 4096) (i32.const 4))
    (call $reply))
  (func (export "canister_query trap_q") (call $trap (i32.const 200) (i32.const 5)))
  (func (export "canister_query burn")
    (call $arg_copy (i32.const 4096) (i32.const 0) (i32.const 8))
    (call $burn (i64.load (i32.const 4096)))
    (call $append (i32.const 200) (i32.const 1))
    (call $reply))
  (func (export "canister_query plain_call")
    (call $call_new (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (call $reply))
  (func (export "canister_update upd")
    (call $append (i32.const 200) (i32.const 1))
    (call $reply))
)"#;

/// One call `fan` makes.
struct Call<'a> {
    callee: Principal,
    method: &'a str,
    payload: Vec<u8>,
}

fn call(callee: Principal, method: &str) -> Call<'_> {
    Call {
        callee,
        method,
        payload: Vec::new(),
    }
}

/// The argument of `fan`.
fn fan_arg(flags: u8, burn: u64, calls: &[Call]) -> Vec<u8> {
    let mut arg = vec![flags];
    arg.extend_from_slice(&burn.to_le_bytes());
    arg.push(calls.len() as u8);
    for call in calls {
        arg.push(call.callee.as_slice().len() as u8);
        arg.extend_from_slice(call.callee.as_slice());
        arg.push(call.method.len() as u8);
        arg.extend_from_slice(call.method.as_bytes());
        arg.extend_from_slice(&(call.payload.len() as u16).to_le_bytes());
        arg.extend_from_slice(&call.payload);
    }
    arg
}

/// One answer `fan` got.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Reply(Vec<u8>),
    Reject(u8, String),
}

/// `fan`'s reply: its tag as its callbacks saw it, and the answers it got.
fn parse_fan(bytes: &[u8]) -> (String, Vec<Answer>) {
    let tag_len = bytes[0] as usize;
    let tag = String::from_utf8_lossy(&bytes[1..1 + tag_len]).into_owned();
    let mut rest = &bytes[1 + tag_len..];
    let mut answers = Vec::new();
    while !rest.is_empty() {
        let (answer, len) = match rest[0] {
            b'Y' => {
                let len = u16::from_le_bytes([rest[1], rest[2]]) as usize;
                (Answer::Reply(rest[3..3 + len].to_vec()), 3 + len)
            }
            b'N' => {
                let len = u16::from_le_bytes([rest[2], rest[3]]) as usize;
                let text = String::from_utf8_lossy(&rest[4..4 + len]).into_owned();
                (Answer::Reject(rest[1], text), 4 + len)
            }
            other => panic!("unexpected marker {other}"),
        };
        answers.push(answer);
        rest = &rest[len..];
    }
    (tag, answers)
}

fn setup(count: usize) -> (PocketIc, Vec<Principal>) {
    let mut pic = PocketIc::new();
    let ids = (0..count)
        .map(|_| install(&mut pic, wat::parse_str(FAN).unwrap()))
        .collect();
    (pic, ids)
}

fn query(
    pic: &mut PocketIc,
    id: Principal,
    method: &str,
    arg: Vec<u8>,
) -> Result<Vec<u8>, RejectResponse> {
    pic.query_call(id, Principal::anonymous(), method, arg)
}

fn set_tag(pic: &mut PocketIc, id: Principal, tag: &str) {
    pic.update_call(id, Principal::anonymous(), "set", tag.as_bytes().to_vec())
        .unwrap();
}

#[test]
fn should_reply_with_the_replies_of_two_other_canisters_queries() {
    let (mut pic, ids) = setup(3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    set_tag(&mut pic, b, "bee");
    set_tag(&mut pic, c, "sea");
    let arg = fan_arg(0, 0, &[call(b, "value"), call(c, "value")]);
    let (tag, answers) = parse_fan(&query(&mut pic, a, "fan", arg).unwrap());
    assert_eq!(tag, "clean");
    assert_eq!(
        answers,
        [
            Answer::Reply(b"bee".to_vec()),
            Answer::Reply(b"sea".to_vec())
        ]
    );
}

#[test]
fn should_run_the_reject_callback_when_a_callee_traps_or_is_an_update() {
    let (mut pic, ids) = setup(3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let missing = Principal::from_slice(&[9; 10]);
    let calls = [
        call(b, "trap_q"),
        call(c, "value"),
        call(c, "upd"),
        call(missing, "value"),
    ];
    let (_, answers) = parse_fan(&query(&mut pic, a, "fan", fan_arg(0, 0, &calls)).unwrap());
    let Answer::Reject(code, text) = &answers[0] else {
        panic!("{answers:?}")
    };
    assert_eq!(*code, RejectCode::CanisterError as u8);
    assert!(
        text.contains(&b.to_string()) && text.contains("'dirty'"),
        "{text}"
    );
    assert_eq!(answers[1], Answer::Reply(b"clean".to_vec()));
    // The IC looks up a composite query's callee among its queries only.
    let expected = format!("Error from Canister {c}: Canister has no query method 'upd'.");
    assert_eq!(
        answers[2],
        Answer::Reject(RejectCode::CanisterError as u8, expected)
    );
    let Answer::Reject(code, _) = &answers[3] else {
        panic!("{answers:?}")
    };
    assert_eq!(*code, RejectCode::DestinationInvalid as u8);
}

#[test]
fn should_see_its_own_writes_in_the_graph_and_keep_none_of_them() {
    let (mut pic, ids) = setup(3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    set_tag(&mut pic, c, "sea");
    let pages_before = query(&mut pic, a, "heap_pages", vec![]).unwrap();
    // a writes, then calls the composite query of b, which writes and calls c.
    let inner = fan_arg(1, 0, &[call(c, "value")]);
    let outer = [Call {
        callee: b,
        method: "fan",
        payload: inner,
    }];
    for _ in 0..2 {
        let (tag, answers) = parse_fan(&query(&mut pic, a, "fan", fan_arg(1, 0, &outer)).unwrap());
        assert_eq!(tag, "dirty", "a's callback sees a's write");
        let [Answer::Reply(b_reply)] = &answers[..] else {
            panic!("{answers:?}")
        };
        let (b_tag, b_answers) = parse_fan(b_reply);
        assert_eq!(b_tag, "dirty", "b's callback sees b's write");
        assert_eq!(b_answers, [Answer::Reply(b"sea".to_vec())]);
    }
    for id in [a, b] {
        assert_eq!(query(&mut pic, id, "value", vec![]).unwrap(), b"clean");
        assert!(
            pic.get_stable_memory(id).is_empty(),
            "stable memory is as before"
        );
        assert_eq!(
            query(&mut pic, id, "heap_pages", vec![]).unwrap(),
            pages_before
        );
    }
    // Re-entering a: its second execution writes, grows its heap and traps
    // (it attaches cycles); its first execution's writes are undone too.
    let reentry = fan_arg(3, 0, &[call(c, "value")]);
    let through_b = fan_arg(
        0,
        0,
        &[Call {
            callee: a,
            method: "fan",
            payload: reentry,
        }],
    );
    let arg = fan_arg(
        1,
        0,
        &[Call {
            callee: b,
            method: "fan",
            payload: through_b,
        }],
    );
    let (tag, answers) = parse_fan(&query(&mut pic, a, "fan", arg).unwrap());
    assert_eq!(tag, "dirty");
    let [Answer::Reply(b_reply)] = &answers[..] else {
        panic!("{answers:?}")
    };
    let (_, b_answers) = parse_fan(b_reply);
    let [Answer::Reject(code, text)] = &b_answers[..] else {
        panic!("{b_answers:?}")
    };
    assert_eq!(*code, RejectCode::CanisterError as u8);
    assert!(text.contains("call_cycles_add128"), "{text}");
    assert_eq!(query(&mut pic, a, "value", vec![]).unwrap(), b"clean");
    assert_eq!(
        query(&mut pic, a, "heap_pages", vec![]).unwrap(),
        pages_before
    );
    assert!(pic.get_stable_memory(a).is_empty());
    // The canisters work on as before.
    set_tag(&mut pic, a, "after");
    assert_eq!(query(&mut pic, a, "value", vec![]).unwrap(), b"after");
}

#[test]
fn should_trap_a_plain_query_that_makes_a_call() {
    let (mut pic, ids) = setup(1);
    let error = query(&mut pic, ids[0], "plain_call", vec![]).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterContractViolation);
    assert!(
        error.reject_message.contains("call_new")
            && error.reject_message.contains("non-replicated query"),
        "{error}"
    );
    // Nor may a composite query attach cycles to its calls.
    let (mut pic, ids) = setup(2);
    let arg = fan_arg(2, 0, &[call(ids[1], "value")]);
    let error = query(&mut pic, ids[0], "fan", arg).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::CanisterContractViolation);
    assert!(
        error.reject_message.contains("call_cycles_add128"),
        "{error}"
    );
}

#[test]
fn should_refuse_a_composite_query_in_replicated_mode() {
    let (mut pic, ids) = setup(2);
    let arg = fan_arg(0, 0, &[call(ids[1], "value")]);
    let error = pic
        .update_call(ids[0], Principal::anonymous(), "fan", arg.clone())
        .unwrap_err();
    assert_eq!(
        error.error_code,
        ErrorCode::CompositeQueryCalledInReplicatedMode
    );
    assert_eq!(error.error_code.to_string(), "IC0527");
    assert_eq!(error.reject_code, RejectCode::CanisterError);
    assert_eq!(
        error.reject_message,
        "Composite query cannot be called in replicated mode"
    );
    // From another canister's update method, too.
    let caller = install(&mut pic, caller_wasm());
    let reply = forward(&mut pic, caller, ids[0], "fan", &arg).unwrap();
    let (code, message) = forward_reject(&reply);
    assert_eq!(code, RejectCode::CanisterError as u8);
    assert_eq!(
        message,
        "Composite query cannot be called in replicated mode"
    );
}

#[test]
fn should_limit_the_depth_of_the_call_graph() {
    let (mut pic, ids) = setup(8);
    // ids[0] calls ids[1] … calls ids[depth], which answers.
    let nested = |depth: usize| {
        let mut arg = fan_arg(0, 0, &[]);
        for level in (1..=depth).rev() {
            let payload = arg;
            arg = fan_arg(
                0,
                0,
                &[Call {
                    callee: ids[level],
                    method: "fan",
                    payload,
                }],
            );
        }
        arg
    };
    assert!(query(&mut pic, ids[0], "fan", nested(6)).is_ok());
    let error = query(&mut pic, ids[0], "fan", nested(7)).unwrap_err();
    assert_eq!(error.error_code, ErrorCode::QueryCallGraphTooDeep);
    assert_eq!(
        error.reject_message,
        "Composite query calls exceeded the maximum call depth."
    );
}

#[test]
fn should_limit_the_instructions_of_the_whole_call_graph() {
    let (mut pic, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    // Calibrate: instructions of a replicated `burn` of a million rounds.
    let rounds = 1_000_000u64;
    pic.update_call(
        b,
        Principal::anonymous(),
        "burn",
        rounds.to_le_bytes().to_vec(),
    )
    .unwrap();
    let per_round = pic.last_execution_instructions(b) as f64 / rounds as f64;
    // Three fifths of a query's 5 B instructions, twice over.
    let burn = (3_000_000_000.0 / per_round) as u64;
    let burn_call = || Call {
        callee: b,
        method: "burn",
        payload: burn.to_le_bytes().to_vec(),
    };
    // Each alone fits in one query's limit.
    assert!(query(&mut pic, a, "fan", fan_arg(0, burn, &[])).is_ok());
    let (_, answers) =
        parse_fan(&query(&mut pic, a, "fan", fan_arg(0, 0, &[burn_call()])).unwrap());
    assert_eq!(answers, [Answer::Reply(b"d".to_vec())]);
    // Together they exceed what the graph may use.
    let error = query(&mut pic, a, "fan", fan_arg(0, burn, &[burn_call()])).unwrap_err();
    assert_eq!(
        error.error_code,
        ErrorCode::QueryCallGraphTotalInstructionLimitExceeded
    );
    assert_eq!(
        error.reject_message,
        "Composite query calls exceeded the instruction limit."
    );
}
