//! A Candid decoder driven by the message's own type table, for replies of
//! which a canister reads a few fields (a ledger block, a transfer result).
//!
//! `candid`'s serde decoder is generic over the Rust type, so each type it
//! decodes adds its own copy of the decoding machinery to the module: for
//! the ledger's block reply alone, tens of kilobytes. This reader is one
//! piece of code for every type. It reads the sender's type table, so any
//! type the sender chose works (fields in any order, extra fields, other
//! type-table layouts); the caller walks the value, reading the fields it
//! needs by name and skipping the rest. Anything malformed or of the wrong
//! type is an error, never a panic.

use crate::fast_candid::Reader;
use candid::Principal;

/// What a value's type is: a primitive (negative opcode) or an entry of the
/// message's type table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Primitive(i64),
    Table(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Opt(Type),
    Vec(Type),
    Record(Vec<(u32, Type)>),
    Variant(Vec<(u32, Type)>),
    Func,
    Service,
}

const NULL: i64 = -1;
const BOOL: i64 = -2;
const NAT: i64 = -3;
const INT: i64 = -4;
const NAT8: i64 = -5;
const NAT64: i64 = -8;
const TEXT: i64 = -15;
const RESERVED: i64 = -16;
const EMPTY: i64 = -17;
const PRINCIPAL: i64 = -24;

/// Nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: u32 = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, DecodeError>;

fn error<T>(what: &str) -> Result<T> {
    Err(DecodeError(format!("Candid: {what}")))
}

fn truncated<T>(r: Option<T>) -> Result<T> {
    r.map_or_else(|| error("message truncated or malformed"), Ok)
}

/// The hash Candid gives a field or variant name.
pub const fn field(name: &str) -> u32 {
    let bytes = name.as_bytes();
    let mut hash: u32 = 0;
    let mut i = 0;
    while i < bytes.len() {
        hash = hash.wrapping_mul(223).wrapping_add(bytes[i] as u32);
        i += 1;
    }
    hash
}

/// A position in a message's values, with its type table.
pub struct Cursor<'a, 't> {
    r: Reader<'a>,
    table: &'t [Entry],
    /// Values left to skip: bounds the work a message can cause (a vector
    /// of a million `null`s is a few bytes long).
    budget: u64,
    depth: u32,
}

/// Decodes the first argument of `message` with `read`, which receives the
/// argument's type; further arguments are skipped. The whole message must
/// be well formed.
pub fn decode_first<T>(
    message: &[u8],
    read: impl FnOnce(&mut Cursor<'_, '_>, Type) -> Result<T>,
) -> Result<T> {
    let mut r = Reader::new(truncated(message.strip_prefix(b"DIDL"))?);
    let table = read_table(&mut r)?;
    let count = truncated(r.leb_usize())?;
    let mut args = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        args.push(read_type(&mut r, table.len())?);
    }
    let Some((&first, rest)) = args.split_first() else {
        return error("the message has no value");
    };
    let mut cursor = Cursor {
        budget: 4 * message.len() as u64 + 1_000,
        r,
        table: &table,
        depth: 0,
    };
    let value = read(&mut cursor, first)?;
    for &ty in rest {
        cursor.skip(ty)?;
    }
    if !cursor.r.is_empty() {
        return error("trailing bytes after the values");
    }
    Ok(value)
}

fn read_type(r: &mut Reader, table_len: usize) -> Result<Type> {
    let code = truncated(r.sleb128())?;
    if code >= 0 {
        let index = code as usize;
        if index >= table_len {
            return error("type index out of range");
        }
        return Ok(Type::Table(index));
    }
    match code {
        EMPTY..=NULL | PRINCIPAL => Ok(Type::Primitive(code)),
        _ => error("unknown primitive type"),
    }
}

fn read_fields(r: &mut Reader, table_len: usize) -> Result<Vec<(u32, Type)>> {
    let count = truncated(r.leb_usize())?;
    let mut fields: Vec<(u32, Type)> = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let hash = truncated(r.leb128().and_then(|h| u32::try_from(h).ok()))?;
        if fields.last().is_some_and(|(last, _)| *last >= hash) {
            return error("field hashes out of order");
        }
        fields.push((hash, read_type(r, table_len)?));
    }
    Ok(fields)
}

fn read_table(r: &mut Reader) -> Result<Vec<Entry>> {
    let len = truncated(r.leb_usize())?;
    let mut table = Vec::with_capacity(len.min(256));
    for _ in 0..len {
        let entry = match truncated(r.sleb128())? {
            -18 => Entry::Opt(read_type(r, len)?),
            -19 => Entry::Vec(read_type(r, len)?),
            -20 => Entry::Record(read_fields(r, len)?),
            -21 => Entry::Variant(read_fields(r, len)?),
            -22 => {
                for _ in 0..2 {
                    for _ in 0..truncated(r.leb_usize())? {
                        read_type(r, len)?;
                    }
                }
                let annotations = truncated(r.leb_usize())?;
                truncated(r.take(annotations))?;
                Entry::Func
            }
            -23 => {
                for _ in 0..truncated(r.leb_usize())? {
                    truncated(r.blob())?;
                    read_type(r, len)?;
                }
                Entry::Service
            }
            _ => return error("unknown type constructor"),
        };
        table.push(entry);
    }
    Ok(table)
}

impl<'a, 't> Cursor<'a, 't> {
    fn entry(&self, ty: Type) -> Option<&'t Entry> {
        match ty {
            Type::Table(i) => Some(&self.table[i]),
            Type::Primitive(_) => None,
        }
    }

    fn expect_primitive(&self, ty: Type, code: i64, name: &str) -> Result<()> {
        if ty == Type::Primitive(code) {
            Ok(())
        } else {
            error(&format!("expected {name}"))
        }
    }

    pub fn nat64(&mut self, ty: Type) -> Result<u64> {
        self.expect_primitive(ty, NAT64, "nat64")?;
        truncated(self.r.nat64())
    }

    /// A `nat` that fits in 128 bits.
    pub fn nat(&mut self, ty: Type) -> Result<u128> {
        self.expect_primitive(ty, NAT, "nat")?;
        truncated(self.r.leb128())
    }

    pub fn text(&mut self, ty: Type) -> Result<&'a str> {
        self.expect_primitive(ty, TEXT, "text")?;
        let bytes = truncated(self.r.blob())?;
        std::str::from_utf8(bytes).or_else(|_| error("text is not UTF-8"))
    }

    pub fn principal(&mut self, ty: Type) -> Result<Principal> {
        self.expect_primitive(ty, PRINCIPAL, "principal")?;
        truncated(self.r.principal())
    }

    /// A `blob` (`vec nat8`).
    pub fn blob(&mut self, ty: Type) -> Result<&'a [u8]> {
        match self.entry(ty) {
            Some(Entry::Vec(Type::Primitive(NAT8))) => truncated(self.r.blob()),
            _ => error("expected blob"),
        }
    }

    /// An `opt` value. As Candid allows, a `null` or `reserved` type reads
    /// as absent and a value that is not an option as present.
    pub fn opt<T>(
        &mut self,
        ty: Type,
        read: impl FnOnce(&mut Self, Type) -> Result<T>,
    ) -> Result<Option<T>> {
        match (ty, self.entry(ty)) {
            (Type::Primitive(NULL | RESERVED), _) => Ok(None),
            (_, Some(Entry::Opt(inner))) => match truncated(self.r.byte())? {
                0 => Ok(None),
                1 => self.nested(|c| read(c, *inner)).map(Some),
                _ => error("bad option tag"),
            },
            _ => read(self, ty).map(Some),
        }
    }

    /// The elements of a `vec`, each given to `read` with its index.
    pub fn vec(
        &mut self,
        ty: Type,
        mut read: impl FnMut(&mut Self, usize, Type) -> Result<()>,
    ) -> Result<()> {
        let Some(Entry::Vec(element)) = self.entry(ty) else {
            return error("expected vec");
        };
        let len = truncated(self.r.leb_usize())?;
        for i in 0..len {
            self.spend()?;
            self.nested(|c| read(c, i, *element))?;
        }
        Ok(())
    }

    /// The fields of a `record`, in wire order, each given to `read` with
    /// its name's hash; `read` must read or skip each one.
    pub fn record(
        &mut self,
        ty: Type,
        mut read: impl FnMut(&mut Self, u32, Type) -> Result<()>,
    ) -> Result<()> {
        let Some(Entry::Record(fields)) = self.entry(ty) else {
            return error("expected record");
        };
        for &(hash, field_ty) in fields {
            self.nested(|c| read(c, hash, field_ty))?;
        }
        Ok(())
    }

    /// The one field of a `record` that the caller needs; the others are
    /// skipped.
    pub fn field<T>(
        &mut self,
        ty: Type,
        name: &str,
        read: impl FnOnce(&mut Self, Type) -> Result<T>,
    ) -> Result<T> {
        let wanted = field(name);
        let mut read = Some(read);
        let mut value = None;
        self.record(ty, |c, hash, ty| match read.take_if(|_| hash == wanted) {
            Some(read) => {
                value = Some(read(c, ty)?);
                Ok(())
            }
            None => c.skip(ty),
        })?;
        required(value, name)
    }

    /// A pair, as Candid encodes a tuple: `record { 0 : A; 1 : B }`.
    pub fn pair<A, B>(
        &mut self,
        ty: Type,
        first: impl FnOnce(&mut Self, Type) -> Result<A>,
        second: impl FnOnce(&mut Self, Type) -> Result<B>,
    ) -> Result<(A, B)> {
        let (mut first, mut second) = (Some(first), Some(second));
        let (mut a, mut b) = (None, None);
        self.record(ty, |c, hash, ty| {
            match (
                hash,
                first.take_if(|_| hash == 0),
                second.take_if(|_| hash == 1),
            ) {
                (_, Some(read), _) => a = Some(read(c, ty)?),
                (_, _, Some(read)) => b = Some(read(c, ty)?),
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        Ok((required(a, "0")?, required(b, "1")?))
    }

    /// Which case of a `variant` this is: its name's hash and its type.
    pub fn variant(&mut self, ty: Type) -> Result<(u32, Type)> {
        let Some(Entry::Variant(cases)) = self.entry(ty) else {
            return error("expected variant");
        };
        let index = truncated(self.r.leb_usize())?;
        cases
            .get(index)
            .copied()
            .map_or_else(|| error("variant index out of range"), Ok)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return error("values nested too deeply");
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn spend(&mut self) -> Result<()> {
        match self.budget.checked_sub(1) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => error("the message asks for too much work to skip"),
        }
    }

    /// Reads past a value of type `ty`.
    pub fn skip(&mut self, ty: Type) -> Result<()> {
        self.spend()?;
        let r = &mut self.r;
        let width = match ty {
            Type::Primitive(-5 | -9) => 1,
            Type::Primitive(-6 | -10) => 2,
            Type::Primitive(-7 | -11 | -13) => 4,
            Type::Primitive(-8 | -12 | -14) => 8,
            _ => 0,
        };
        if width > 0 {
            return truncated(r.take(width)).map(drop);
        }
        match ty {
            Type::Primitive(code) => match code {
                NULL | RESERVED => Ok(()),
                BOOL => match truncated(self.r.byte())? {
                    0 | 1 => Ok(()),
                    _ => error("bad bool"),
                },
                NAT | INT => truncated(self.r.leb_bytes()),
                TEXT => truncated(self.r.blob()).map(drop),
                PRINCIPAL => self.skip_reference(),
                _ => error("a value of type empty"),
            },
            Type::Table(i) => match &self.table[i] {
                Entry::Vec(Type::Primitive(NAT8)) => truncated(self.r.blob()).map(drop),
                Entry::Opt(_) => self.opt(ty, |c, inner| c.skip(inner)).map(drop),
                Entry::Vec(_) => self.vec(ty, |c, _, element| c.skip(element)),
                Entry::Record(_) => self.record(ty, |c, _, field| c.skip(field)),
                Entry::Variant(_) => {
                    let (_, case) = self.variant(ty)?;
                    self.nested(|c| c.skip(case))
                }
                // Transparent (1), then the service's principal and the
                // method name.
                Entry::Func => match truncated(self.r.byte())? {
                    1 => {
                        self.skip_reference()?;
                        truncated(self.r.blob()).map(drop)
                    }
                    _ => error("opaque reference"),
                },
                Entry::Service => self.skip_reference(),
            },
        }
    }

    /// A principal or service: only transparent references (tag 1) are
    /// valid values.
    fn skip_reference(&mut self) -> Result<()> {
        match truncated(self.r.byte())? {
            1 => truncated(self.r.blob()).map(drop),
            _ => error("opaque reference"),
        }
    }
}

/// A type this reader can read, for values kept in stable memory as Candid
/// (see `StoredCandid`).
pub trait ReadCandid: Sized {
    fn read(c: &mut Cursor, ty: Type) -> Result<Self>;
}

impl<T: ReadCandid> ReadCandid for Option<T> {
    fn read(c: &mut Cursor, ty: Type) -> Result<Self> {
        c.opt(ty, T::read)
    }
}

/// `variant { Ok : T; Err : E }`, as Candid encodes a `Result`.
pub fn read_result<T, E>(
    c: &mut Cursor,
    ty: Type,
    ok: impl FnOnce(&mut Cursor, Type) -> Result<T>,
    err: impl FnOnce(&mut Cursor, Type) -> Result<E>,
) -> Result<std::result::Result<T, E>> {
    const OK: u32 = field("Ok");
    const ERR: u32 = field("Err");
    match c.variant(ty)? {
        (OK, ty) => ok(c, ty).map(Ok),
        (ERR, ty) => err(c, ty).map(Err),
        _ => error("a result is Ok or Err"),
    }
}

/// An error for a value that is not what the reader expects.
pub fn unexpected<T>(what: &str) -> Result<T> {
    error(what)
}

/// A record's required field, or an error naming it.
pub fn required<T>(value: Option<T>, name: &str) -> Result<T> {
    value.map_or_else(|| error(&format!("missing field {name}")), Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{CandidType, Encode, Principal};

    #[test]
    fn field_hashes_are_candids() {
        assert_eq!(field("e8s"), candid::idl_hash("e8s"));
        assert_eq!(field("Ok"), candid::idl_hash("Ok"));
        assert_eq!(field(""), 0);
    }

    #[derive(CandidType)]
    struct Wide {
        name: String,
        amount: u64,
        extra: Vec<Option<Principal>>,
        nested: (u8, i32, f64, bool, candid::Int, candid::Nat),
        big: Vec<u8>,
        nulls: Vec<()>,
        callback: Callback,
    }

    candid::define_function!(Callback : (u64) -> (String) query);

    fn wide() -> Wide {
        Wide {
            name: "wide".into(),
            amount: 77,
            extra: vec![Some(Principal::anonymous()), None],
            nested: (
                1,
                -5,
                2.5,
                true,
                candid::Int::from(-300),
                candid::Nat::from(u128::MAX),
            ),
            big: vec![7; 300],
            nulls: vec![(); 3],
            callback: Callback::new(Principal::from_slice(&[1, 2]), "get_blocks".into()),
        }
    }

    /// Reads `amount` and `name`, skipping everything else.
    fn read_wide(bytes: &[u8]) -> Result<(u64, String)> {
        decode_first(bytes, |c, ty| {
            let (mut amount, mut name) = (None, None);
            c.record(ty, |c, hash, ty| {
                match hash {
                    h if h == field("amount") => amount = Some(c.nat64(ty)?),
                    h if h == field("name") => name = Some(c.text(ty)?.to_string()),
                    _ => c.skip(ty)?,
                }
                Ok(())
            })?;
            Ok((required(amount, "amount")?, required(name, "name")?))
        })
    }

    #[test]
    fn reads_the_fields_it_needs_and_skips_every_other_kind_of_value() {
        let bytes = Encode!(&wide(), &"second argument").unwrap();
        assert_eq!(read_wide(&bytes), Ok((77, "wide".into())));
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_an_error() {
        let bytes = Encode!(&wide()).unwrap();
        for len in 0..bytes.len() {
            assert!(read_wide(&bytes[..len]).is_err(), "truncated at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read_wide(&longer).is_err());
    }

    #[test]
    fn a_wrong_type_is_an_error_not_a_panic() {
        #[derive(CandidType)]
        struct Other {
            amount: String,
            name: String,
        }
        let bytes = Encode!(&Other {
            amount: "no".into(),
            name: "x".into()
        })
        .unwrap();
        assert!(read_wide(&bytes).unwrap_err().0.contains("expected nat64"));
        let missing = Encode!(&("just a tuple",)).unwrap();
        assert!(read_wide(&missing).is_err());
    }

    #[test]
    fn skipping_is_bounded_for_tiny_messages_that_describe_huge_values() {
        // DIDL, one type: vec null; one argument of it with 2^40 elements.
        let mut bytes = b"DIDL\x01\x6d\x7f\x01\x00".to_vec();
        bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
        let result = decode_first(&bytes, |c, ty| c.skip(ty));
        assert!(result.unwrap_err().0.contains("too much work"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        // type 0 = opt 0; the value: 100 "some" tags then "none".
        let mut bytes = b"DIDL\x01\x6e\x00\x01\x00".to_vec();
        bytes.extend(std::iter::repeat_n(1u8, 100));
        bytes.push(0);
        let result = decode_first(&bytes, |c, ty| c.skip(ty));
        assert!(result.unwrap_err().0.contains("nested too deeply"));
    }

    #[test]
    fn options_follow_candids_rules() {
        let read = |bytes: &[u8]| decode_first(bytes, |c, ty| c.opt(ty, |c, ty| c.nat64(ty)));
        assert_eq!(read(&Encode!(&Some(5u64)).unwrap()), Ok(Some(5)));
        assert_eq!(read(&Encode!(&None::<u64>).unwrap()), Ok(None));
        assert_eq!(read(&Encode!(&()).unwrap()), Ok(None));
        assert_eq!(read(&Encode!(&9u64).unwrap()), Ok(Some(9)));
    }
}
