//! A fast path for a canister's hottest Candid messages.
//!
//! The general decoder rebuilds and checks the message's type table on every
//! call, which costs more than the ledger's whole transfer logic. Most
//! messages, though, carry exactly the type table that this crate's own
//! encoder writes for the argument type (every Rust client, including the
//! other canisters here). For those the values are read directly by a
//! decoder written for the type; any other message — another client's type
//! table, extra fields, anything unexpected — goes through the general
//! decoder, so the fast path never changes what a message means. Tests check
//! each fast decoder against the general one.
//!
//! Replies of the successful case are built the same way: a cached prefix
//! (header and variant index) followed by the value.

use candid::utils::ArgumentEncoder;
use candid::{CandidType, Nat, Principal};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// Reads Candid values. Every method returns `None` on anything unexpected,
/// which sends the message to the general decoder.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// Reads past a LEB128 number of any length.
    pub fn leb_bytes(&mut self) -> Option<()> {
        while self.byte()? & 0x80 != 0 {}
        Some(())
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    pub fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// An unsigned LEB128 number that fits in `u128`.
    pub fn leb128(&mut self) -> Option<u128> {
        let mut value = 0u128;
        let mut shift = 0u32;
        loop {
            let byte = self.byte()?;
            let bits = u128::from(byte & 0x7f);
            if shift >= 128 || (shift > 121 && bits >> (128 - shift) != 0) {
                return None;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    }

    pub fn leb_usize(&mut self) -> Option<usize> {
        usize::try_from(self.leb128()?).ok()
    }

    pub fn sleb128(&mut self) -> Option<i64> {
        let mut value = 0i64;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            if shift >= 63 {
                return None;
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1 << shift;
                }
                return Some(value);
            }
        }
    }

    pub fn nat(&mut self) -> Option<Nat> {
        self.leb128().map(Nat::from)
    }

    pub fn nat64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length of a value (a blob's, a principal's, a vector's), in at
    /// most five bytes: candid refuses some longer encodings of a length
    /// (a `vec nat8`'s beyond nine bytes, a principal's beyond ten), and
    /// no message is long enough to need more than five, so anything
    /// longer goes to the general decoder, which decides.
    fn length(&mut self) -> Option<usize> {
        // Summed in 64 bits: a wasm32 `usize` would drop the top bits.
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
        None
    }

    pub fn blob(&mut self) -> Option<&'a [u8]> {
        let len = self.length()?;
        self.take(len)
    }

    /// A 32-byte blob, such as a subaccount.
    pub fn bytes32(&mut self) -> Option<[u8; 32]> {
        self.blob()?.try_into().ok()
    }

    pub fn principal(&mut self) -> Option<Principal> {
        // 1 = the principal is given by value (0 would be opaque).
        if self.byte()? != 1 {
            return None;
        }
        let bytes = self.blob()?;
        Principal::try_from_slice(bytes).ok()
    }

    pub fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.byte()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }

    /// A `vec` of values, each read by `read`.
    pub fn vec<T>(&mut self, mut read: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let len = self.length()?;
        // Each element takes at least one byte: a bound on what to reserve.
        let mut items = Vec::with_capacity(len.min(self.0.len()));
        for _ in 0..len {
            items.push(read(self)?);
        }
        Some(items)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a message's values begin: the length of its magic number, type
/// table and argument types. `None` for anything this reader does not know,
/// such as future type constructors.
pub fn header_len(message: &[u8]) -> Option<usize> {
    let mut r = Reader(message.strip_prefix(b"DIDL")?);
    let types = r.leb_usize()?;
    for _ in 0..types {
        match r.sleb128()? {
            // opt, vec
            -18 | -19 => {
                r.sleb128()?;
            }
            // record, variant
            -20 | -21 => {
                for _ in 0..r.leb_usize()? {
                    r.leb128()?;
                    r.sleb128()?;
                }
            }
            _ => return None,
        }
    }
    for _ in 0..r.leb_usize()? {
        r.sleb128()?;
    }
    Some(message.len() - r.0.len())
}

/// The header this crate's encoder writes for one argument type, computed
/// once from a sample value.
pub struct KnownHeader(OnceLock<Vec<u8>>);

impl KnownHeader {
    pub const fn new() -> Self {
        Self(OnceLock::new())
    }

    fn get<A: ArgumentEncoder>(&self, sample: impl FnOnce() -> A) -> &[u8] {
        self.0.get_or_init(|| {
            let bytes = candid::encode_args(sample()).expect("a sample always encodes");
            let len = header_len(&bytes).expect("this crate's own header parses");
            bytes[..len].to_vec()
        })
    }

    /// Computes the header now: a query's changes to the heap are
    /// discarded, so a header first computed by a query would be computed
    /// again by every query (see [`KnownTypes::prepare`]).
    pub fn prepare<A: ArgumentEncoder>(&self, sample: impl FnOnce() -> A) {
        self.get(sample);
    }

    /// The values of `message` when its header is the known one.
    pub fn values<'m, A: ArgumentEncoder>(
        &self,
        sample: impl FnOnce() -> A,
        message: &'m [u8],
    ) -> Option<Reader<'m>> {
        let values = message.strip_prefix(self.get(sample))?;
        Some(Reader(values))
    }
}

impl Default for KnownHeader {
    fn default() -> Self {
        Self::new()
    }
}

/// Decodes a one-argument message: the fast decoder when the header is
/// known and the values read cleanly to the end, the general decoder (with
/// the same skipping quota as ic-cdk's) otherwise. Panics, and so rejects
/// the call, with the general decoder's error on malformed input.
pub fn decode_one<T: CandidType + DeserializeOwned>(
    message: &[u8],
    header: &KnownHeader,
    sample: impl FnOnce() -> T,
    fast: impl FnOnce(&mut Reader) -> Option<T>,
) -> T {
    let decoded = header.values(|| (sample(),), message).and_then(|mut r| {
        let value = fast(&mut r)?;
        r.is_empty().then_some(value)
    });
    decoded.unwrap_or_else(|| decode_one_general(message))
}

fn decode_one_general<T: CandidType + DeserializeOwned>(message: &[u8]) -> T {
    let mut config = candid::DecoderConfig::new();
    config.set_skipping_quota(10_000);
    let (value,) = candid::utils::decode_args_with_config(message, &config)
        .unwrap_or_else(|e| panic!("failed to decode the call's argument: {e}"));
    value
}

/// Encodes `Ok(n)` of a `variant { Ok : nat; Err : E }` reply from a cached
/// prefix; errors, rare by comparison, take the general encoder.
pub fn encode_nat_result<E: CandidType>(result: Result<Nat, E>, prefix: &KnownReply) -> Vec<u8> {
    match result {
        Ok(n) => {
            let prefix = prefix.get(|| candid::encode_one(Ok::<Nat, E>(Nat::from(0u8))), 1);
            let mut out = prefix.to_vec();
            n.encode(&mut out).expect("writing to a vector cannot fail");
            out
        }
        Err(e) => candid::encode_one(Err::<Nat, E>(e)).expect("a reply always encodes"),
    }
}

/// Like [`encode_nat_result`] for `variant { Ok : nat64; Err : E }`.
pub fn encode_nat64_result<E: CandidType>(result: Result<u64, E>, prefix: &KnownReply) -> Vec<u8> {
    match result {
        Ok(n) => {
            let prefix = prefix.get(|| candid::encode_one(Ok::<u64, E>(0)), 8);
            let mut out = prefix.to_vec();
            out.extend_from_slice(&n.to_le_bytes());
            out
        }
        Err(e) => candid::encode_one(Err::<u64, E>(e)).expect("a reply always encodes"),
    }
}

/// Encodes one-argument messages of type `T` with the type table computed
/// once: for a large type (many records and variants), building the table
/// costs far more than writing the value. The bytes are exactly those of
/// `candid::encode_one`.
pub struct KnownTypes<T>(OnceLock<Vec<u8>>, PhantomData<fn(&T)>);

impl<T: CandidType> KnownTypes<T> {
    pub const fn new() -> Self {
        Self(OnceLock::new(), PhantomData)
    }

    /// Computes the type table now. A query's changes to the heap are
    /// discarded, so a table first computed by a query would be computed
    /// again by every query: canisters prepare their query replies' tables
    /// when installed or upgraded.
    pub fn prepare(&self) {
        self.header();
    }

    fn header(&self) -> &[u8] {
        self.0.get_or_init(|| {
            // As `IDLBuilder::new` does, so that the table is the same.
            candid::types::internal::env_clear();
            let mut types = candid::ser::TypeSerialize::new();
            types
                .push_type(&T::ty())
                .expect("a Rust type has a type table");
            types.serialize().expect("a type table serializes");
            [b"DIDL".as_slice(), types.get_result()].concat()
        })
    }

    pub fn encode(&self, value: &T) -> Vec<u8> {
        let header = self.header();
        let mut values = candid::ser::ValueSerializer::new();
        value
            .idl_serialize(&mut values)
            .expect("a value serializes as its own type");
        [header, values.get_result()].concat()
    }
}

impl<T: CandidType> Default for KnownTypes<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A reply of one `nat64`, byte for byte as `candid::encode_one` writes it
/// (no type table; the argument type is nat64, -8). The balance queries
/// answer with it: building the reply through candid's serializer cost
/// about a tenth of such a query.
pub fn encode_nat64(n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(NAT64_HEADER.len() + 8);
    out.extend_from_slice(NAT64_HEADER);
    out.extend_from_slice(&n.to_le_bytes());
    out
}

/// The header of [`encode_nat64`]'s messages.
const NAT64_HEADER: &[u8] = b"DIDL\x00\x01\x78";

/// The value of a message exactly as [`encode_nat64`] writes it; `None`
/// for any other bytes (a client then asks candid, which also takes the
/// equivalent encodings).
pub fn plain_nat64(message: &[u8]) -> Option<u64> {
    let value = message.strip_prefix(NAT64_HEADER)?;
    Some(u64::from_le_bytes(value.try_into().ok()?))
}

/// The bytes of a reply before its final value, computed once.
pub struct KnownReply(OnceLock<Vec<u8>>);

impl KnownReply {
    pub const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// `sample` encodes a reply whose last `value_len` bytes are the value.
    fn get(&self, sample: impl FnOnce() -> candid::Result<Vec<u8>>, value_len: usize) -> &[u8] {
        self.0.get_or_init(|| {
            let mut bytes = sample().expect("a sample always encodes");
            bytes.truncate(bytes.len() - value_len);
            bytes
        })
    }
}

impl Default for KnownReply {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{Deserialize, Encode};

    #[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
    struct Sample {
        owner: Principal,
        amount: Nat,
        memo: Option<Vec<u8>>,
        time: u64,
    }

    static HEADER: KnownHeader = KnownHeader::new();

    #[test]
    fn long_encodings_of_a_length_go_to_the_general_decoder() {
        // 3 in five bytes is read; in six it is left to candid.
        let five = [0x83, 0x80, 0x80, 0x80, 0x00, 7, 7, 7];
        assert_eq!(Reader::new(&five).blob(), Some(&[7u8, 7, 7][..]));
        let six = [0x83, 0x80, 0x80, 0x80, 0x80, 0x00, 7, 7, 7];
        assert_eq!(Reader::new(&six).blob(), None);
        let mut principal = vec![
            1, 0x9d, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        principal.extend([3; 29]);
        assert_eq!(Reader::new(&principal).principal(), None);
    }

    #[test]
    fn nat64_replies_are_candids_bytes() {
        for n in [0, 1, 127, 128, u64::MAX] {
            assert_eq!(encode_nat64(n), candid::encode_one(n).unwrap());
            assert_eq!(candid::decode_one::<u64>(&encode_nat64(n)).unwrap(), n);
        }
    }

    fn sample() -> Sample {
        Sample {
            owner: Principal::anonymous(),
            amount: Nat::from(0u8),
            memo: None,
            time: 0,
        }
    }

    /// Fields in Candid's order: by hash of the name.
    fn fast(r: &mut Reader) -> Option<Sample> {
        let mut names = ["owner", "amount", "memo", "time"];
        names.sort_by_key(|n| candid::idl_hash(n));
        let (mut owner, mut amount, mut memo, mut time) = (None, None, None, None);
        for name in names {
            match name {
                "owner" => owner = Some(r.principal()?),
                "amount" => amount = Some(r.nat()?),
                "memo" => memo = Some(r.opt(|r| r.blob().map(<[u8]>::to_vec))?),
                _ => time = Some(r.nat64()?),
            }
        }
        Some(Sample {
            owner: owner?,
            amount: amount?,
            memo: memo?,
            time: time?,
        })
    }

    #[test]
    fn known_messages_decode_like_the_general_decoder() {
        let values = [
            sample(),
            Sample {
                owner: Principal::from_slice(&[7; 29]),
                amount: Nat::from(u128::MAX),
                memo: Some(vec![1; 32]),
                time: u64::MAX,
            },
        ];
        for value in values {
            let bytes = Encode!(&value).unwrap();
            assert!(HEADER.values(|| (sample(),), &bytes).is_some());
            assert_eq!(decode_one(&bytes, &HEADER, sample, fast), value);
            let mut r = HEADER.values(|| (sample(),), &bytes).unwrap();
            assert_eq!(fast(&mut r), Some(value));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn other_type_tables_take_the_general_decoder() {
        #[derive(CandidType)]
        struct Wider {
            owner: Principal,
            amount: Nat,
            memo: Option<Vec<u8>>,
            time: u64,
            extra: String,
        }
        let bytes = Encode!(&Wider {
            owner: Principal::anonymous(),
            amount: Nat::from(5u8),
            memo: None,
            time: 9,
            extra: "ignored".into(),
        })
        .unwrap();
        assert!(HEADER.values(|| (sample(),), &bytes).is_none());
        let decoded = decode_one(&bytes, &HEADER, sample, fast);
        assert_eq!(decoded.amount, Nat::from(5u8));
    }

    #[test]
    #[should_panic(expected = "failed to decode")]
    fn malformed_messages_are_refused() {
        let mut bytes = Encode!(&sample()).unwrap();
        bytes.truncate(bytes.len() - 1);
        decode_one(&bytes, &HEADER, sample, fast);
    }

    #[test]
    fn huge_numbers_are_left_to_the_general_decoder() {
        let mut r = Reader(&[0xff; 20]);
        assert_eq!(r.leb128(), None);
        let mut r = Reader(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(r.leb128(), Some(u128::from(u64::MAX)));
    }

    #[test]
    fn cached_replies_equal_the_general_encoding() {
        static REPLY: KnownReply = KnownReply::new();
        static REPLY64: KnownReply = KnownReply::new();
        for n in [0u64, 1, 300, u64::MAX] {
            assert_eq!(
                encode_nat_result::<String>(Ok(Nat::from(n)), &REPLY),
                Encode!(&Ok::<Nat, String>(Nat::from(n))).unwrap()
            );
            assert_eq!(
                encode_nat64_result::<String>(Ok(n), &REPLY64),
                Encode!(&Ok::<u64, String>(n)).unwrap()
            );
        }
        assert_eq!(
            encode_nat_result::<String>(Err("no".into()), &REPLY),
            Encode!(&Err::<Nat, String>("no".into())).unwrap()
        );
    }
}

#[cfg(test)]
mod known_types_tests {
    use super::*;
    use candid::Deserialize;

    #[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
    enum Reply {
        Error { message: String, code: i32 },
        Done(Option<Box<Reply>>),
        Listed(Vec<(u64, Option<Principal>)>),
    }

    static REPLY: KnownTypes<Reply> = KnownTypes::new();

    #[test]
    fn cached_type_tables_encode_exactly_as_candid_does() {
        let values = [
            Reply::Error {
                message: "no".into(),
                code: 3,
            },
            Reply::Done(Some(Box::new(Reply::Listed(vec![
                (1, None),
                (2, Some(Principal::anonymous())),
            ])))),
            Reply::Done(None),
        ];
        for value in values {
            // Other types encoded in between must not disturb the cache.
            candid::encode_one(Some(7u8)).unwrap();
            let bytes = REPLY.encode(&value);
            assert_eq!(bytes, candid::encode_one(&value).unwrap());
            assert_eq!(candid::decode_one::<Reply>(&bytes).unwrap(), value);
        }
    }
}

/// For decoders' tests: `value` encodes to a message that the general
/// decoder and `decode` both read back as `value`, through the fast path.
#[cfg(feature = "testing")]
pub fn assert_fast_decoder<T>(
    value: T,
    decode: fn(Vec<u8>) -> T,
    header: &KnownHeader,
    sample: fn() -> T,
) where
    T: CandidType + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = candid::encode_one(&value).unwrap();
    let general: T = candid::decode_one(&bytes).unwrap();
    assert_eq!(general, value);
    assert_eq!(decode(bytes.clone()), value);
    assert!(
        header.values(|| (sample(),), &bytes).is_some(),
        "the fast path applies"
    );
}
