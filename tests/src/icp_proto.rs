//! An independent reference for the real ICP ledger's protobuf messages
//! (`docs/icp-ledger-formats.md`), for checking the ledger canister's blocks
//! and protobuf endpoints.
//!
//! Nothing here is shared with the canister: the message definitions are the
//! real `.proto` files shipped by the npm package `@dfinity/nns-proto`
//! ([`NNS_PROTO_VERSION`], installed by `npm ci --prefix tests/js`), compiled
//! at test time by `protox` (pure Rust, no `protoc`), and messages are built
//! and read as `prost_reflect::DynamicMessage`s, whose encoding is prost's.
//! When the package is not installed, [`descriptors`] answers `None` and
//! tests skip themselves (see [`descriptors_or_skip`]).
//!
//! The Candid block type the ledger shows (`nns_api::ledger::CandidBlock`)
//! always carries a `created_at_time`: like the real ledger, it shows the
//! block's timestamp when the transaction had none. A protobuf block leaves
//! it out in that case, so the `…_with_created_at_time` functions take or
//! give the transaction's own `created_at_time` separately.

use nns_api::AccountIdentifier;
use nns_api::ledger::{CandidBlock, CandidOperation, CandidTransaction, TimeStamp, Tokens};
use prost_reflect::bytes::Bytes;
use prost_reflect::prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, MessageDescriptor, ReflectMessage, Value,
};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The protobuf package of `ledger.proto`.
pub const PACKAGE: &str = "ic_ledger.pb.v1";

/// The version of `@dfinity/nns-proto` that `tests/js/package.json` pins.
pub const NNS_PROTO_VERSION: &str = "2.0.4";

/// What a test prints when it skips itself for want of the npm package.
pub const SKIPPED: &str = "skipped: the npm package @dfinity/nns-proto is not installed \
     (tests/js/node_modules); run `npm ci --prefix tests/js`";

/// Where the installed package keeps `ledger.proto` and `base_types.proto`.
pub fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js/node_modules/@dfinity/nns-proto/dist/proto")
}

/// The messages of `ledger.proto` (and of what it imports), compiled once per
/// process; `None` when the npm package is not installed. Panics if the
/// installed package is another version than [`NNS_PROTO_VERSION`] or does
/// not compile.
pub fn descriptors() -> Option<DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(compile).clone()
}

/// [`descriptors`], printing [`SKIPPED`] when the package is not installed:
/// a test starts with `let Some(pool) = descriptors_or_skip() else { return };`.
pub fn descriptors_or_skip() -> Option<DescriptorPool> {
    let pool = descriptors();
    if pool.is_none() {
        eprintln!("{SKIPPED}");
    }
    pool
}

fn compile() -> Option<DescriptorPool> {
    let dir = proto_dir();
    if !dir.join("ledger.proto").is_file() {
        return None;
    }
    let manifest = dir.join("../../package.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    assert_eq!(
        manifest["version"].as_str(),
        Some(NNS_PROTO_VERSION),
        "tests/js/node_modules holds another @dfinity/nns-proto than package-lock.json pins; \
         run `npm ci --prefix tests/js`"
    );
    let mut compiler = protox::Compiler::new([&dir])
        .unwrap_or_else(|e| panic!("protox include path {}: {e:?}", dir.display()));
    compiler.include_imports(true);
    compiler
        .open_file("ledger.proto")
        .unwrap_or_else(|e| panic!("compiling {}/ledger.proto: {e:?}", dir.display()));
    Some(compiler.descriptor_pool())
}

/// A message type by its full name (`ic_ledger.pb.v1.SendRequest`); a name
/// without a package is looked up in [`PACKAGE`].
pub fn message_descriptor(pool: &DescriptorPool, message_name: &str) -> MessageDescriptor {
    pool.get_message_by_name(message_name)
        .or_else(|| pool.get_message_by_name(&format!("{PACKAGE}.{message_name}")))
        .unwrap_or_else(|| panic!("no message {message_name} in the compiled ledger.proto"))
}

/// An empty message of the named type, `fill`ed, in prost's encoding.
pub fn encode(
    pool: &DescriptorPool,
    message_full_name: &str,
    fill: impl FnOnce(&mut DynamicMessage),
) -> Vec<u8> {
    let mut message = DynamicMessage::new(message_descriptor(pool, message_full_name));
    fill(&mut message);
    message.encode_to_vec()
}

/// Decodes the named message; panics (showing the bytes) if they are not
/// one, or if they hold fields that the `.proto` does not define.
pub fn decode(pool: &DescriptorPool, message_full_name: &str, bytes: &[u8]) -> DynamicMessage {
    let message = DynamicMessage::decode(message_descriptor(pool, message_full_name), bytes)
        .unwrap_or_else(|e| panic!("not a {message_full_name}: {e}; bytes {}", hex(bytes)));
    assert_no_unknown_fields(&message, message_full_name);
    message
}

fn assert_no_unknown_fields(message: &DynamicMessage, path: &str) {
    if let Some(unknown) = message.unknown_fields().next() {
        panic!(
            "{path} ({}) holds field number {}, which ledger.proto does not define",
            message.descriptor().full_name(),
            unknown.number()
        );
    }
    for (field, value) in message.fields() {
        let values = match value {
            Value::List(values) => values.as_slice(),
            value => std::slice::from_ref(value),
        };
        for value in values {
            if let Value::Message(inner) = value {
                assert_no_unknown_fields(inner, &format!("{path}.{}", field.name()));
            }
        }
    }
}

fn field(message: &DynamicMessage, name: &str) -> FieldDescriptor {
    message
        .descriptor()
        .get_field_by_name(name)
        .unwrap_or_else(|| panic!("{} has no field {name}", message.descriptor().full_name()))
}

/// The sub-message in field `name`, created empty if unset: from then on the
/// field is present and is encoded even if nothing else is set in it (so
/// `sub(send, "amount");` writes `Tokens{e8s: 0}` as `1a 00`). In a oneof,
/// this unsets the oneof's other fields.
pub fn sub<'a>(message: &'a mut DynamicMessage, name: &str) -> &'a mut DynamicMessage {
    let field = field(message, name);
    let full_name = field.full_name().to_owned();
    message
        .get_field_mut(&field)
        .as_message_mut()
        .unwrap_or_else(|| panic!("{full_name} is not a singular message field"))
}

/// A new empty message appended to the repeated message field `name`.
pub fn push<'a>(message: &'a mut DynamicMessage, name: &str) -> &'a mut DynamicMessage {
    let field = field(message, name);
    let element = field
        .kind()
        .as_message()
        .cloned()
        .unwrap_or_else(|| panic!("{} is not a message field", field.full_name()));
    let full_name = field.full_name().to_owned();
    let list = message
        .get_field_mut(&field)
        .as_list_mut()
        .unwrap_or_else(|| panic!("{full_name} is not a repeated field"));
    list.push(Value::Message(DynamicMessage::new(element)));
    list.last_mut().and_then(Value::as_message_mut).unwrap()
}

/// Sets field `name` (a proto3 scalar set to its default value stays absent
/// from the encoding, as in prost). Panics on an unknown field or a value of
/// the wrong type.
pub fn set(message: &mut DynamicMessage, name: &str, value: Value) {
    let field = field(message, name);
    if let Err(e) = message.try_set_field(&field, value) {
        panic!("{}: {e}", field.full_name());
    }
}

/// The sub-message in field `name`, if present.
pub fn field_message(message: &DynamicMessage, name: &str) -> Option<DynamicMessage> {
    let field = field(message, name);
    message.has_field(&field).then(|| {
        message
            .get_field(&field)
            .as_message()
            .unwrap_or_else(|| panic!("{} is not a singular message field", field.full_name()))
            .clone()
    })
}

/// The sub-message in field `name`; panics if it is absent.
pub fn required_message(message: &DynamicMessage, name: &str) -> DynamicMessage {
    field_message(message, name).unwrap_or_else(|| {
        panic!(
            "{} lacks its field {name}: {message:?}",
            message.descriptor().full_name()
        )
    })
}

/// A `uint64` field (0 when absent).
pub fn field_u64(message: &DynamicMessage, name: &str) -> u64 {
    let field = field(message, name);
    message
        .get_field(&field)
        .as_u64()
        .unwrap_or_else(|| panic!("{} is not a uint64 field", field.full_name()))
}

/// A `bytes` field (empty when absent).
pub fn field_bytes(message: &DynamicMessage, name: &str) -> Vec<u8> {
    let field = field(message, name);
    message
        .get_field(&field)
        .as_bytes()
        .unwrap_or_else(|| panic!("{} is not a bytes field", field.full_name()))
        .to_vec()
}

/// The block hash: SHA-256 of the protobuf `Block` bytes.
pub fn block_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The real ledger's protobuf `Block` for a block shown in Candid, taking the
/// Candid `created_at_time` as the transaction's (see the module comment).
pub fn encode_block(pool: &DescriptorPool, block: &CandidBlock) -> Vec<u8> {
    encode_block_with_created_at_time(pool, block, Some(block.transaction.created_at_time))
}

/// The real ledger's protobuf `Block` for a block shown in Candid, whose
/// transaction was created at `created_at_time` (`None`: not given, left out
/// of the block); the Candid `created_at_time` is ignored.
pub fn encode_block_with_created_at_time(
    pool: &DescriptorPool,
    block: &CandidBlock,
    created_at_time: Option<TimeStamp>,
) -> Vec<u8> {
    encode(pool, "ic_ledger.pb.v1.Block", |message| {
        if let Some(parent_hash) = &block.parent_hash {
            set(
                sub(message, "parent_hash"),
                "hash",
                Value::Bytes(Bytes::copy_from_slice(parent_hash)),
            );
        }
        set_timestamp(message, "timestamp", block.timestamp);
        fill_transaction(
            sub(message, "transaction"),
            &block.transaction,
            created_at_time,
        );
    })
}

fn fill_transaction(
    message: &mut DynamicMessage,
    transaction: &CandidTransaction,
    created_at_time: Option<TimeStamp>,
) {
    let operation = transaction
        .operation
        .as_ref()
        .expect("a block's transaction has an operation");
    match operation {
        CandidOperation::Mint { to, amount } => {
            let mint = sub(message, "mint");
            set_account(mint, "to", to.as_bytes());
            set_tokens(mint, "amount", *amount);
        }
        CandidOperation::Burn {
            from,
            spender,
            amount,
        } => {
            let burn = sub(message, "burn");
            set_account(burn, "from", from.as_bytes());
            set_tokens(burn, "amount", *amount);
            if let Some(spender) = spender {
                set_account(burn, "spender", spender.as_bytes());
            }
        }
        CandidOperation::Transfer {
            from,
            to,
            amount,
            fee,
            spender,
        } => {
            let send = sub(message, "send");
            set_account(send, "from", from.as_bytes());
            set_account(send, "to", to.as_bytes());
            set_tokens(send, "amount", *amount);
            set_tokens(send, "max_fee", *fee);
            if let Some(spender) = spender {
                set_account(sub(send, "transfer_from"), "spender", spender);
            }
        }
        CandidOperation::Approve {
            from,
            spender,
            allowance_e8s: _,
            allowance,
            fee,
            expires_at,
            expected_allowance,
        } => {
            let send = sub(message, "send");
            set_account(send, "from", from.as_bytes());
            set_account(send, "to", spender.as_bytes());
            set_tokens(send, "amount", Tokens { e8s: 0 });
            set_tokens(send, "max_fee", *fee);
            let approve = sub(send, "approve");
            set_tokens(approve, "allowance", *allowance);
            if let Some(expires_at) = expires_at {
                set_timestamp(approve, "expires_at", *expires_at);
            }
            if let Some(expected_allowance) = expected_allowance {
                set_tokens(approve, "expected_allowance", *expected_allowance);
            }
        }
    }
    set(sub(message, "memo"), "memo", Value::U64(transaction.memo));
    if let Some(icrc1_memo) = &transaction.icrc1_memo {
        set(
            sub(message, "icrc1_memo"),
            "memo",
            Value::Bytes(Bytes::copy_from_slice(icrc1_memo)),
        );
    }
    if let Some(created_at_time) = created_at_time {
        set_timestamp(message, "created_at_time", created_at_time);
    }
}

fn set_account(message: &mut DynamicMessage, name: &str, bytes: &[u8]) {
    set(
        sub(message, name),
        "hash",
        Value::Bytes(Bytes::copy_from_slice(bytes)),
    );
}

fn set_tokens(message: &mut DynamicMessage, name: &str, tokens: Tokens) {
    set(sub(message, name), "e8s", Value::U64(tokens.e8s));
}

fn set_timestamp(message: &mut DynamicMessage, name: &str, time: TimeStamp) {
    set(
        sub(message, name),
        "timestamp_nanos",
        Value::U64(time.timestamp_nanos),
    );
}

/// The block in protobuf `bytes`, as the ledger shows it in Candid (a
/// transaction without `created_at_time` shows the block's timestamp).
/// Strict: panics on anything the real ledger's encoder never writes (an
/// unknown field, a missing `memo`, `timestamp`, operation field or fee, the
/// obsolete `created_at`, an account identifier that is not 32 bytes with a
/// valid checksum, a parent hash that is not 32 bytes, an approval whose
/// `amount` is not 0).
pub fn decode_block(pool: &DescriptorPool, bytes: &[u8]) -> CandidBlock {
    decode_block_with_created_at_time(pool, bytes).0
}

/// [`decode_block`], and the transaction's own `created_at_time` (`None`
/// when the block leaves it out).
pub fn decode_block_with_created_at_time(
    pool: &DescriptorPool,
    bytes: &[u8],
) -> (CandidBlock, Option<TimeStamp>) {
    let block = decode(pool, "ic_ledger.pb.v1.Block", bytes);
    let parent_hash = field_message(&block, "parent_hash").map(|hash| {
        let hash = field_bytes(&hash, "hash");
        assert_eq!(hash.len(), 32, "a parent hash has 32 bytes: {}", hex(&hash));
        ByteBuf::from(hash)
    });
    let timestamp = read_timestamp(&required_message(&block, "timestamp"));
    let transaction = required_message(&block, "transaction");
    let memo = field_u64(&required_message(&transaction, "memo"), "memo");
    let icrc1_memo = field_message(&transaction, "icrc1_memo")
        .map(|memo| ByteBuf::from(field_bytes(&memo, "memo")));
    assert!(
        field_message(&transaction, "created_at").is_none(),
        "the obsolete created_at is set: {transaction:?}"
    );
    let created_at_time =
        field_message(&transaction, "created_at_time").map(|time| read_timestamp(&time));
    let operation = read_operation(&transaction);
    let candid = CandidBlock {
        parent_hash,
        transaction: CandidTransaction {
            memo,
            icrc1_memo,
            operation: Some(operation),
            created_at_time: created_at_time.unwrap_or(timestamp),
        },
        timestamp,
    };
    (candid, created_at_time)
}

fn read_operation(transaction: &DynamicMessage) -> CandidOperation {
    if let Some(mint) = field_message(transaction, "mint") {
        return CandidOperation::Mint {
            to: read_account(&mint, "to"),
            amount: read_tokens(&required_message(&mint, "amount")),
        };
    }
    if let Some(burn) = field_message(transaction, "burn") {
        return CandidOperation::Burn {
            from: read_account(&burn, "from"),
            spender: field_message(&burn, "spender").map(|_| read_account(&burn, "spender")),
            amount: read_tokens(&required_message(&burn, "amount")),
        };
    }
    let send = field_message(transaction, "send")
        .unwrap_or_else(|| panic!("a transaction without an operation: {transaction:?}"));
    let from = read_account(&send, "from");
    let to = read_account(&send, "to");
    let amount = read_tokens(&required_message(&send, "amount"));
    let fee = read_tokens(&required_message(&send, "max_fee"));
    if let Some(approve) = field_message(&send, "approve") {
        assert_eq!(amount.e8s, 0, "an approval's amount is 0: {send:?}");
        let allowance = read_tokens(&required_message(&approve, "allowance"));
        return CandidOperation::Approve {
            from,
            spender: to,
            allowance_e8s: candid::Int::from(allowance.e8s),
            allowance,
            fee,
            expires_at: field_message(&approve, "expires_at").map(|time| read_timestamp(&time)),
            expected_allowance: field_message(&approve, "expected_allowance")
                .map(|tokens| read_tokens(&tokens)),
        };
    }
    let spender = field_message(&send, "transfer_from")
        .map(|transfer_from| ByteBuf::from(read_account(&transfer_from, "spender").as_bytes()));
    CandidOperation::Transfer {
        from,
        to,
        amount,
        fee,
        spender,
    }
}

/// An `AccountIdentifier` field: the 32-byte form, checksum (CRC-32 of the
/// 28-byte hash, big-endian) checked here, not by the project's code.
fn read_account(message: &DynamicMessage, name: &str) -> AccountIdentifier {
    let bytes = field_bytes(&required_message(message, name), "hash");
    let bytes: [u8; 32] = bytes.as_slice().try_into().unwrap_or_else(|_| {
        panic!(
            "{}.{name}: an account identifier of {} bytes, not 32: {}",
            message.descriptor().full_name(),
            bytes.len(),
            hex(&bytes)
        )
    });
    assert_eq!(
        crc32fast::hash(&bytes[4..]).to_be_bytes(),
        bytes[..4],
        "{}.{name}: bad account identifier checksum: {}",
        message.descriptor().full_name(),
        hex(&bytes)
    );
    AccountIdentifier::from_stored_bytes(bytes)
}

fn read_tokens(message: &DynamicMessage) -> Tokens {
    Tokens {
        e8s: field_u64(message, "e8s"),
    }
}

fn read_timestamp(message: &DynamicMessage) -> TimeStamp {
    TimeStamp {
        timestamp_nanos: field_u64(message, "timestamp_nanos"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> AccountIdentifier {
        let mut bytes = [n; 32];
        let checksum = crc32fast::hash(&bytes[4..]).to_be_bytes();
        bytes[..4].copy_from_slice(&checksum);
        AccountIdentifier::from_stored_bytes(bytes)
    }

    fn block(operation: CandidOperation) -> CandidBlock {
        CandidBlock {
            parent_hash: Some(ByteBuf::from(vec![0xab; 32])),
            transaction: CandidTransaction {
                memo: 0,
                icrc1_memo: None,
                operation: Some(operation),
                created_at_time: TimeStamp {
                    timestamp_nanos: 1_700_000_000_000_000_000,
                },
            },
            timestamp: TimeStamp {
                timestamp_nanos: 1_700_000_001_000_000_000,
            },
        }
    }

    /// Every operation, with and without its optional parts.
    fn sample_blocks() -> Vec<CandidBlock> {
        let tokens = |e8s| Tokens { e8s };
        let operations = vec![
            CandidOperation::Mint {
                to: account(1),
                amount: tokens(100_000_000),
            },
            CandidOperation::Mint {
                to: account(1),
                amount: tokens(0),
            },
            CandidOperation::Burn {
                from: account(2),
                spender: None,
                amount: tokens(5),
            },
            CandidOperation::Burn {
                from: account(2),
                spender: Some(account(3)),
                amount: tokens(5),
            },
            CandidOperation::Transfer {
                from: account(4),
                to: account(5),
                amount: tokens(7),
                fee: tokens(10_000),
                spender: None,
            },
            CandidOperation::Transfer {
                from: account(4),
                to: account(5),
                amount: tokens(0),
                fee: tokens(0),
                spender: Some(ByteBuf::from(account(6).as_bytes().to_vec())),
            },
            CandidOperation::Approve {
                from: account(7),
                spender: account(8),
                allowance_e8s: candid::Int::from(9u64),
                allowance: tokens(9),
                fee: tokens(10_000),
                expires_at: None,
                expected_allowance: None,
            },
            CandidOperation::Approve {
                from: account(7),
                spender: account(8),
                allowance_e8s: candid::Int::from(0u64),
                allowance: tokens(0),
                fee: tokens(10_000),
                expires_at: Some(TimeStamp { timestamp_nanos: 3 }),
                expected_allowance: Some(tokens(0)),
            },
        ];
        let mut blocks = Vec::new();
        for (i, operation) in operations.into_iter().enumerate() {
            let mut b = block(operation);
            if i % 2 == 0 {
                b.parent_hash = None;
                b.transaction.memo = u64::MAX - i as u64;
                b.transaction.icrc1_memo = Some(ByteBuf::from(vec![i as u8; 32]));
            }
            if i % 3 == 0 {
                b.transaction.icrc1_memo = Some(ByteBuf::from(Vec::new()));
            }
            blocks.push(b);
        }
        blocks
    }

    #[test]
    fn icp_proto_compiles_the_real_ledger_proto() {
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        // The field numbers of docs/icp-ledger-formats.md, as the .proto has them.
        let numbers = |message: &str| -> Vec<(String, u32)> {
            let mut fields: Vec<_> = message_descriptor(&pool, message)
                .fields()
                .map(|f| (f.name().to_owned(), f.number()))
                .collect();
            fields.sort_by_key(|(_, n)| *n);
            fields
        };
        let expect = |pairs: &[(&str, u32)]| -> Vec<(String, u32)> {
            pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
        };
        assert_eq!(
            numbers("Block"),
            expect(&[("parent_hash", 1), ("timestamp", 2), ("transaction", 3)])
        );
        assert_eq!(
            numbers("Transaction"),
            expect(&[
                ("burn", 1),
                ("mint", 2),
                ("send", 3),
                ("memo", 4),
                ("created_at", 5),
                ("created_at_time", 6),
                ("icrc1_memo", 7)
            ])
        );
        assert_eq!(
            numbers("Send"),
            expect(&[
                ("from", 1),
                ("to", 2),
                ("amount", 3),
                ("max_fee", 4),
                ("approve", 5),
                ("transfer_from", 6)
            ])
        );
        assert_eq!(
            numbers("Approve"),
            expect(&[
                ("allowance", 1),
                ("expires_at", 2),
                ("expected_allowance", 3)
            ])
        );
        assert_eq!(numbers("TransferFrom"), expect(&[("spender", 1)]));
        assert_eq!(numbers("Mint"), expect(&[("to", 2), ("amount", 3)]));
        assert_eq!(
            numbers("Burn"),
            expect(&[("from", 1), ("amount", 3), ("spender", 4)])
        );
        assert_eq!(numbers("AccountIdentifier"), expect(&[("hash", 1)]));
        assert_eq!(numbers("Hash"), expect(&[("hash", 1)]));
        assert_eq!(numbers("Icrc1Memo"), expect(&[("memo", 1)]));
        assert_eq!(numbers("EncodedBlock"), expect(&[("block", 1)]));
        for (message, field) in [
            ("Tokens", "e8s"),
            ("Memo", "memo"),
            ("TimeStamp", "timestamp_nanos"),
            ("BlockIndex", "height"),
        ] {
            assert_eq!(numbers(message), expect(&[(field, 1)]), "{message}");
        }
        let transaction = message_descriptor(&pool, "Transaction");
        let oneof = transaction.oneofs().next().unwrap();
        assert_eq!(oneof.name(), "transfer");
        assert_eq!(
            oneof.fields().map(|f| f.number()).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    /// prost-reflect writes a present sub-message whose fields are all
    /// default as an empty length-delimited field, as prost does.
    #[test]
    fn icp_proto_empty_tokens_is_written_as_present() {
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        let send = encode(&pool, "ic_ledger.pb.v1.Send", |send| {
            sub(send, "amount");
        });
        assert_eq!(send, [0x1a, 0x00]);
        let send = encode(&pool, "ic_ledger.pb.v1.Send", |send| {
            set(sub(send, "amount"), "e8s", Value::U64(0));
            set(sub(send, "max_fee"), "e8s", Value::U64(1));
        });
        assert_eq!(send, [0x1a, 0x00, 0x22, 0x02, 0x08, 0x01]);
        // An unset sub-message is not written at all; a zero scalar neither.
        assert!(encode(&pool, "ic_ledger.pb.v1.Send", |_| {}).is_empty());
        let tokens = encode(&pool, "ic_ledger.pb.v1.Tokens", |tokens| {
            set(tokens, "e8s", Value::U64(0));
        });
        assert!(tokens.is_empty());
        // Memo 0 is written as a present, empty `Memo` (field 4 of Transaction).
        let transaction = encode(&pool, "ic_ledger.pb.v1.Transaction", |transaction| {
            set(sub(transaction, "memo"), "memo", Value::U64(0));
        });
        assert_eq!(transaction, [0x22, 0x00]);
        // And decoding tells a present empty message from an absent one.
        let send = decode(&pool, "ic_ledger.pb.v1.Send", &[0x1a, 0x00]);
        assert_eq!(
            field_message(&send, "amount").map(|t| read_tokens(&t)),
            Some(Tokens { e8s: 0 })
        );
        assert!(field_message(&send, "max_fee").is_none());
    }

    /// A mint block written out by hand from the field numbers of
    /// docs/icp-ledger-formats.md, against the encoder.
    #[test]
    fn icp_proto_mint_block_bytes_by_hand() {
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        let to = account(9);
        let candid = CandidBlock {
            parent_hash: None,
            transaction: CandidTransaction {
                memo: 0,
                icrc1_memo: None,
                operation: Some(CandidOperation::Mint {
                    to,
                    amount: Tokens { e8s: 5 },
                }),
                created_at_time: TimeStamp { timestamp_nanos: 2 },
            },
            timestamp: TimeStamp { timestamp_nanos: 1 },
        };
        let expected = |with_created_at_time: bool| {
            let mut mint = vec![0x12, 0x22, 0x0a, 0x20]; // Mint.to (2): AccountIdentifier.hash (1)
            mint.extend_from_slice(to.as_bytes());
            mint.extend_from_slice(&[0x1a, 0x02, 0x08, 0x05]); // Mint.amount (3): e8s 5
            let mut transaction = vec![0x12, mint.len() as u8]; // Transaction.mint (2)
            transaction.extend_from_slice(&mint);
            transaction.extend_from_slice(&[0x22, 0x00]); // memo (4): 0, present
            if with_created_at_time {
                transaction.extend_from_slice(&[0x32, 0x02, 0x08, 0x02]); // created_at_time (6)
            }
            let mut block = vec![0x12, 0x02, 0x08, 0x01]; // Block.timestamp (2)
            block.extend_from_slice(&[0x1a, transaction.len() as u8]); // Block.transaction (3)
            block.extend_from_slice(&transaction);
            block
        };
        assert_eq!(expected(true).len(), 4 + 2 + 48);
        let bytes = encode_block(&pool, &candid);
        assert_eq!(hex(&bytes), hex(&expected(true)));
        assert_eq!(decode_block(&pool, &bytes), candid);
        // Without created_at_time, field 6 is left out…
        let bytes = encode_block_with_created_at_time(&pool, &candid, None);
        assert_eq!(hex(&bytes), hex(&expected(false)));
        // … and the Candid view shows the block's timestamp instead.
        let (decoded, created_at_time) = decode_block_with_created_at_time(&pool, &bytes);
        assert_eq!(created_at_time, None);
        assert_eq!(decoded.transaction.created_at_time, candid.timestamp);
    }

    /// The approval mapping: `send{from, to = spender, amount = Tokens{0},
    /// max_fee = fee, approve{allowance, expires_at?, expected_allowance?}}`.
    #[test]
    fn icp_proto_approve_is_a_send_with_zero_amount() {
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        let candid = sample_blocks().pop().unwrap();
        let CandidOperation::Approve {
            from, spender, fee, ..
        } = candid.transaction.operation.clone().unwrap()
        else {
            panic!("the last sample is an approval")
        };
        let block = decode(&pool, "Block", &encode_block(&pool, &candid));
        let transaction = required_message(&block, "transaction");
        let send = required_message(&transaction, "send");
        assert!(field_message(&transaction, "mint").is_none());
        assert_eq!(
            field_bytes(&required_message(&send, "from"), "hash"),
            from.as_bytes()
        );
        assert_eq!(
            field_bytes(&required_message(&send, "to"), "hash"),
            spender.as_bytes()
        );
        assert_eq!(
            read_tokens(&required_message(&send, "amount")),
            Tokens { e8s: 0 }
        );
        assert_eq!(read_tokens(&required_message(&send, "max_fee")), fee);
        assert!(field_message(&send, "transfer_from").is_none());
        let approve = required_message(&send, "approve");
        assert_eq!(
            read_tokens(&required_message(&approve, "allowance")),
            Tokens { e8s: 0 }
        );
        assert_eq!(
            read_timestamp(&required_message(&approve, "expires_at")),
            TimeStamp { timestamp_nanos: 3 }
        );
        assert_eq!(
            read_tokens(&required_message(&approve, "expected_allowance")),
            Tokens { e8s: 0 }
        );
        // The encoded send: from (1), to (2), amount (3) present and empty,
        // max_fee (4), approve (5) with three present empty-or-not fields.
        let send_bytes = send.encode_to_vec();
        assert_eq!(&send_bytes[..4], [0x0a, 0x22, 0x0a, 0x20]);
        assert_eq!(&send_bytes[36..40], [0x12, 0x22, 0x0a, 0x20]);
        assert_eq!(&send_bytes[72..74], [0x1a, 0x00]);
        assert_eq!(&send_bytes[74..79], [0x22, 0x03, 0x08, 0x90, 0x4e]);
        assert_eq!(
            &send_bytes[79..],
            [0x2a, 0x08, 0x0a, 0x00, 0x12, 0x02, 0x08, 0x03, 0x1a, 0x00]
        );
    }

    #[test]
    fn icp_proto_block_round_trip() {
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        let mut parent_hash = None;
        for candid in sample_blocks() {
            for created_at_time in [None, Some(candid.transaction.created_at_time)] {
                let bytes = encode_block_with_created_at_time(&pool, &candid, created_at_time);
                let (decoded, decoded_time) = decode_block_with_created_at_time(&pool, &bytes);
                assert_eq!(decoded_time, created_at_time);
                let mut expected = candid.clone();
                expected.transaction.created_at_time = created_at_time.unwrap_or(candid.timestamp);
                assert_eq!(decoded, expected);
                assert_eq!(
                    encode_block_with_created_at_time(&pool, &decoded, decoded_time),
                    bytes
                );
            }
            // A chain: each block's parent_hash is the previous block's hash.
            let mut chained = candid.clone();
            chained.parent_hash = parent_hash.map(|h: [u8; 32]| ByteBuf::from(h.to_vec()));
            let bytes = encode_block(&pool, &chained);
            assert_eq!(decode_block(&pool, &bytes), chained);
            parent_hash = Some(block_hash(&bytes));
        }
        assert_eq!(
            hex(&block_hash(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn icp_proto_decode_is_strict() {
        use std::panic::{AssertUnwindSafe, catch_unwind};
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        let candid = sample_blocks().remove(0);
        let bytes = encode_block(&pool, &candid);
        // An unknown field 9 (varint 1) appended to the block.
        let mut unknown = bytes.clone();
        unknown.extend_from_slice(&[0x48, 0x01]);
        assert!(catch_unwind(AssertUnwindSafe(|| decode_block(&pool, &unknown))).is_err());
        // A bad checksum in the mint's `to`.
        let mut bad = bytes.clone();
        let to = bad
            .windows(32)
            .position(|w| w == account(1).as_bytes())
            .unwrap();
        bad[to + 31] ^= 1;
        assert!(catch_unwind(AssertUnwindSafe(|| decode_block(&pool, &bad))).is_err());
    }

    #[test]
    fn icp_proto_generic_messages() {
        let Some(pool) = descriptors_or_skip() else {
            return;
        };
        let bytes = encode(&pool, "ic_ledger.pb.v1.TipOfChainResponse", |m| {
            set(
                sub(m, "certification"),
                "certification",
                Value::Bytes(Bytes::from_static(b"c")),
            );
            set(sub(m, "chain_length"), "height", Value::U64(300));
        });
        assert_eq!(
            bytes,
            [0x0a, 0x03, 0x0a, 0x01, b'c', 0x12, 0x03, 0x08, 0xac, 0x02]
        );
        let m = decode(&pool, "TipOfChainResponse", &bytes);
        assert_eq!(
            field_u64(&required_message(&m, "chain_length"), "height"),
            300
        );
        let bytes = encode(&pool, "IterBlocksResponse", |m| {
            set(
                push(m, "blocks"),
                "block",
                Value::Bytes(Bytes::from_static(b"x")),
            );
            push(m, "blocks");
        });
        assert_eq!(bytes, [0x0a, 0x03, 0x0a, 0x01, b'x', 0x0a, 0x00]);
    }
}
