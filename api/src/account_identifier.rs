//! The ICP ledger's account identifier: `CRC32(h) ‖ h` with
//! `h = SHA-224("\x0Aaccount-id" ‖ principal ‖ subaccount)`.

use candid::Principal;
use sha2::{Digest, Sha224};
use std::fmt;

/// A 32-byte subaccount; the default account uses all zeros.
pub type Subaccount = [u8; 32];

/// The 32-byte wire form of an ICP account (4-byte big-endian CRC32 of the
/// 28-byte hash, then the hash).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountIdentifier([u8; 32]);

/// Why a byte string or hex text is not an account identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountIdentifierError {
    /// Not 32 bytes (or not 64 hex characters).
    BadLength(usize),
    /// Not hexadecimal.
    NotHex,
    /// The leading CRC32 does not match the hash.
    BadChecksum,
}

impl fmt::Display for AccountIdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength(n) => write!(f, "an account identifier has 32 bytes, not {n}"),
            Self::NotHex => write!(f, "an account identifier in text is 64 hexadecimal digits"),
            Self::BadChecksum => write!(f, "the account identifier's checksum does not match"),
        }
    }
}

impl std::error::Error for AccountIdentifierError {}

impl AccountIdentifier {
    pub fn new(owner: &Principal, subaccount: Option<&Subaccount>) -> Self {
        let mut hasher = Sha224::new();
        hasher.update(b"\x0Aaccount-id");
        hasher.update(owner.as_slice());
        hasher.update(subaccount.unwrap_or(&[0; 32]));
        let hash: [u8; 28] = hasher.finalize().into();
        let mut bytes = [0; 32];
        bytes[..4].copy_from_slice(&crc32fast::hash(&hash).to_be_bytes());
        bytes[4..].copy_from_slice(&hash);
        Self(bytes)
    }

    /// Parses the 32-byte wire form, checking the checksum.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AccountIdentifierError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| AccountIdentifierError::BadLength(bytes.len()))?;
        if crc32fast::hash(&bytes[4..]).to_be_bytes() != bytes[..4] {
            return Err(AccountIdentifierError::BadChecksum);
        }
        Ok(Self(bytes))
    }

    /// As the real ledger reads an identifier at its protobuf and text
    /// edges: the 32-byte form (checksum checked) or the bare 28-byte hash,
    /// to which the checksum is added.
    pub fn from_slice_or_hash(bytes: &[u8]) -> Result<Self, AccountIdentifierError> {
        let Ok(hash) = <[u8; 28]>::try_from(bytes) else {
            return Self::from_slice(bytes);
        };
        let mut full = [0; 32];
        full[..4].copy_from_slice(&crc32fast::hash(&hash).to_be_bytes());
        full[4..].copy_from_slice(&hash);
        Ok(Self(full))
    }

    /// [`Self::from_hex`], or 56 hex digits of the bare hash.
    pub fn from_hex_or_hash(text: &str) -> Result<Self, AccountIdentifierError> {
        if text.len() != 56 {
            return Self::from_hex(text);
        }
        let bytes = hex::decode(text).map_err(|_| AccountIdentifierError::NotHex)?;
        Self::from_slice_or_hash(&bytes)
    }

    /// Parses the 64-hex-digit text form, checking the checksum.
    pub fn from_hex(text: &str) -> Result<Self, AccountIdentifierError> {
        if text.len() != 64 {
            return Err(AccountIdentifierError::BadLength(text.len() / 2));
        }
        let bytes = hex::decode(text).map_err(|_| AccountIdentifierError::NotHex)?;
        Self::from_slice(&bytes)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Rebuilds an identifier from bytes that [`Self::as_bytes`] produced
    /// earlier (e.g. read back from a canister's own storage), skipping the
    /// checksum test that untrusted input must pass.
    pub const fn from_stored_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for AccountIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AccountIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountIdentifier({self})")
    }
}

/// The subaccount the CMC and others derive from a principal:
/// `[len, principal bytes…, zero padding]`.
pub fn principal_to_subaccount(principal: &Principal) -> Subaccount {
    let bytes = principal.as_slice();
    let mut subaccount = [0; 32];
    subaccount[0] = bytes.len() as u8;
    subaccount[1..=bytes.len()].copy_from_slice(bytes);
    subaccount
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_default_account_matches_the_ledger() {
        // The ICP ledger's account of the anonymous principal.
        let id = AccountIdentifier::new(&Principal::anonymous(), None);
        assert_eq!(
            id.to_hex(),
            "1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79"
        );
    }

    #[test]
    fn the_bare_hash_is_read_at_the_edges_as_the_real_ledger_reads_it() {
        let id = AccountIdentifier::new(&Principal::anonymous(), None);
        let hash = &id.as_bytes()[4..];
        assert_eq!(AccountIdentifier::from_slice_or_hash(hash), Ok(id));
        assert_eq!(AccountIdentifier::from_slice_or_hash(id.as_bytes()), Ok(id));
        assert_eq!(
            AccountIdentifier::from_hex_or_hash(&hex::encode(hash)),
            Ok(id)
        );
        assert_eq!(AccountIdentifier::from_hex_or_hash(&id.to_hex()), Ok(id));
        // The strict forms still want all 32 bytes.
        assert!(AccountIdentifier::from_slice(hash).is_err());
        assert!(AccountIdentifier::from_hex(&hex::encode(hash)).is_err());
        assert!(AccountIdentifier::from_slice_or_hash(&hash[1..]).is_err());
    }

    #[test]
    fn zero_subaccount_equals_no_subaccount() {
        let owner = Principal::from_slice(&[1, 2, 3]);
        assert_eq!(
            AccountIdentifier::new(&owner, None),
            AccountIdentifier::new(&owner, Some(&[0; 32]))
        );
        assert_ne!(
            AccountIdentifier::new(&owner, None),
            AccountIdentifier::new(&owner, Some(&[1; 32]))
        );
    }

    #[test]
    fn hex_round_trips_and_checksum_is_checked() {
        let id = AccountIdentifier::new(&Principal::from_slice(&[9; 29]), Some(&[7; 32]));
        assert_eq!(AccountIdentifier::from_hex(&id.to_hex()), Ok(id));
        let mut corrupted = *id.as_bytes();
        corrupted[31] ^= 1;
        assert_eq!(
            AccountIdentifier::from_slice(&corrupted),
            Err(AccountIdentifierError::BadChecksum)
        );
        assert_eq!(
            AccountIdentifier::from_hex("00"),
            Err(AccountIdentifierError::BadLength(1))
        );
        assert_eq!(
            AccountIdentifier::from_hex(&"zz".repeat(32)),
            Err(AccountIdentifierError::NotHex)
        );
    }

    #[test]
    fn principal_subaccount_has_length_prefix() {
        let p = Principal::from_slice(&[5; 10]);
        let s = principal_to_subaccount(&p);
        assert_eq!(s[0], 10);
        assert_eq!(&s[1..11], &[5; 10]);
        assert!(s[11..].iter().all(|&b| b == 0));
    }
}

// On the wire an account identifier is a `blob` of 32 bytes, checksum included.
impl candid::CandidType for AccountIdentifier {
    fn _ty() -> candid::types::Type {
        <serde_bytes::ByteBuf as candid::CandidType>::_ty()
    }

    fn idl_serialize<S: candid::types::Serializer>(&self, serializer: S) -> Result<(), S::Error> {
        serializer.serialize_blob(&self.0)
    }
}

impl serde::Serialize for AccountIdentifier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for AccountIdentifier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
        Self::from_slice(&bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod candid_tests {
    use super::*;

    #[test]
    fn candid_form_is_a_checked_blob() {
        let id = AccountIdentifier::new(&Principal::anonymous(), None);
        let bytes = candid::encode_one(id).unwrap();
        assert_eq!(
            bytes,
            candid::encode_one(serde_bytes::ByteBuf::from(id.as_bytes().to_vec())).unwrap()
        );
        assert_eq!(candid::decode_one::<AccountIdentifier>(&bytes).unwrap(), id);
        let short = candid::encode_one(serde_bytes::ByteBuf::from(vec![0u8; 31])).unwrap();
        assert!(candid::decode_one::<AccountIdentifier>(&short).is_err());
    }
}
