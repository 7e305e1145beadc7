//! The few protobuf wire-format pieces the ICP ledger's formats need: its
//! blocks, and the arguments and replies of its `*_pb` endpoints. Messages
//! are written field by field in tag order, as prost writes them, so that
//! hashes of the bytes agree with the real ledger's.
//!
//! Written by hand rather than with a protobuf crate, by measurement: the
//! same block encoding with `prost` 0.14 (derived messages, byte-identical
//! output) made the gzipped ledger 1 323 bytes larger and cost 1 000–2 000
//! instructions more per transaction (`icrc1_transfer` +3.0 %,
//! `icrc2_approve` +1.0 %, legacy `transfer` +0.7 %; `BENCH_ACCOUNTS=1000
//! scripts/bench.sh ledger`). The `*_pb` endpoints need a reader and writer
//! anyway, which this module also is.

/// Wire types this format uses.
const VARINT: u64 = 0;
const LENGTH_DELIMITED: u64 = 2;

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends protobuf fields to a buffer.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    /// A `uint64` field; proto3 leaves out zero.
    pub fn uint64(&mut self, field: u32, value: u64) -> &mut Self {
        if value != 0 {
            put_varint(self.out, (u64::from(field) << 3) | VARINT);
            put_varint(self.out, value);
        }
        self
    }

    /// A `bytes` field; proto3 leaves out empty bytes.
    pub fn bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        if !value.is_empty() {
            put_varint(self.out, (u64::from(field) << 3) | LENGTH_DELIMITED);
            put_varint(self.out, value.len() as u64);
            self.out.extend_from_slice(value);
        }
        self
    }

    /// A present sub-message, written by `body` (also when it writes
    /// nothing: presence is what distinguishes `Tokens{0}` from no tokens).
    pub fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) -> &mut Self {
        put_varint(self.out, (u64::from(field) << 3) | LENGTH_DELIMITED);
        let start = self.out.len();
        body(&mut Writer::new(self.out));
        let len = (self.out.len() - start) as u64;
        // Lengths are known only afterwards; most fit the one byte reserved
        // by writing the length in place, longer ones shift the body.
        if len < 0x80 {
            self.out.insert(start, len as u8);
        } else {
            let mut prefix = Vec::with_capacity(varint_len(len));
            put_varint(&mut prefix, len);
            self.out.splice(start..start, prefix);
        }
        self
    }

    /// `message(field, |m| m.uint64(1, value))`: the ICP formats wrap most
    /// numbers (tokens, memos, timestamps, block indices) in such a message.
    pub fn wrapped_uint64(&mut self, field: u32, value: u64) -> &mut Self {
        self.message(field, |m| {
            m.uint64(1, value);
        })
    }

    /// `message(field, |m| m.bytes(1, value))`: hashes, account identifiers,
    /// subaccounts and memos.
    pub fn wrapped_bytes(&mut self, field: u32, value: &[u8]) -> &mut Self {
        self.message(field, |m| {
            m.bytes(1, value);
        })
    }
}

/// Encodes one message.
pub fn encode(body: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    body(&mut Writer::new(&mut out));
    out
}

/// A field's value as the wire carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed protobuf: {}", self.0)
    }
}

fn error<T>(what: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(what.into()))
}

/// Reads the fields of one message, in wire order. Fixed-width fields (wire
/// types 1 and 5) are skipped: no ICP message this crate reads has them.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some((&byte, rest)) = self.bytes.split_first() else {
                return error("truncated varint");
            };
            self.bytes = rest;
            if shift == 63 && byte > 1 {
                return error("varint overflows 64 bits");
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        error("varint longer than 10 bytes")
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= self.bytes.len())
            .map_or_else(|| error("field runs past the end"), Ok)?;
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    /// The next field, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, DecodeError> {
        loop {
            if self.bytes.is_empty() {
                return Ok(None);
            }
            let key = self.varint()?;
            let field = u32::try_from(key >> 3)
                .ok()
                .filter(|f| *f != 0)
                .map_or_else(|| error("invalid field number"), Ok)?;
            let value = match key & 7 {
                VARINT => Value::Varint(self.varint()?),
                LENGTH_DELIMITED => {
                    let len = self.varint()?;
                    Value::Bytes(self.take(len)?)
                }
                1 => {
                    self.take(8)?;
                    continue;
                }
                5 => {
                    self.take(4)?;
                    continue;
                }
                other => return error(format!("unsupported wire type {other}")),
            };
            return Ok(Some((field, value)));
        }
    }
}

impl<'a> Value<'a> {
    pub fn as_u64(self) -> Result<u64, DecodeError> {
        match self {
            Value::Varint(v) => Ok(v),
            Value::Bytes(_) => error("expected a varint"),
        }
    }

    pub fn as_bytes(self) -> Result<&'a [u8], DecodeError> {
        match self {
            Value::Bytes(b) => Ok(b),
            Value::Varint(_) => error("expected length-delimited bytes"),
        }
    }

    /// Field 1 of a wrapper message (`Tokens`, `Memo`, `TimeStamp`,
    /// `BlockIndex`), 0 when absent, as proto3 reads it.
    pub fn wrapped_u64(self) -> Result<u64, DecodeError> {
        let mut value = 0;
        let mut fields = Reader::new(self.as_bytes()?);
        while let Some((field, v)) = fields.next_field()? {
            if field == 1 {
                value = v.as_u64()?;
            }
        }
        Ok(value)
    }

    /// Field 1 of a bytes wrapper (`Hash`, `AccountIdentifier`,
    /// `Subaccount`, `Icrc1Memo`), empty when absent.
    pub fn wrapped_bytes(self) -> Result<&'a [u8], DecodeError> {
        let mut value: &[u8] = &[];
        let mut fields = Reader::new(self.as_bytes()?);
        while let Some((field, v)) = fields.next_field()? {
            if field == 1 {
                value = v.as_bytes()?;
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value));
            assert_eq!(Reader::new(&out).varint(), Ok(value));
        }
        assert!(Reader::new(&[0xff; 10]).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn an_empty_sub_message_is_present_and_zero_scalars_are_not() {
        let bytes = encode(|w| {
            w.uint64(1, 0).wrapped_uint64(3, 0).bytes(4, &[]);
        });
        assert_eq!(bytes, [0x1a, 0x00]);
    }

    #[test]
    fn long_sub_messages_get_multi_byte_lengths() {
        let body = [7u8; 200];
        let bytes = encode(|w| {
            w.uint64(1, 5).wrapped_bytes(2, &body).uint64(3, 9);
        });
        // field 2: key, length 203 (2-byte varint), then the inner field.
        assert_eq!(&bytes[..4], &[0x08, 0x05, 0x12, 0xcb]);
        assert_eq!(bytes[4], 0x01);
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.next_field(), Ok(Some((1, Value::Varint(5)))));
        let (field, value) = reader.next_field().unwrap().unwrap();
        assert_eq!((field, value.wrapped_bytes()), (2, Ok(&body[..])));
        assert_eq!(reader.next_field(), Ok(Some((3, Value::Varint(9)))));
        assert_eq!(reader.next_field(), Ok(None));
    }

    #[test]
    fn truncated_and_malformed_input_is_an_error() {
        assert!(Reader::new(&[0x12, 0x05, 1, 2]).next_field().is_err());
        assert!(Reader::new(&[0x0b]).next_field().is_err()); // wire type 3
        assert!(Reader::new(&[0x00, 0x01]).next_field().is_err()); // field 0
        // Fixed-width fields are skipped.
        let mut reader = Reader::new(&[0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x02]);
        assert_eq!(reader.next_field(), Ok(Some((2, Value::Varint(2)))));
    }
}
