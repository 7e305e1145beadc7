//! Amounts: ICP counts e8s in 64 bits, the cycles ledger counts cycles in
//! 128. The core needs only exact arithmetic and a fixed-size stored form.

use ic_stable_structures::Storable;
use std::fmt::Debug;

pub trait Amount: Copy + Ord + Eq + Debug + Default + Storable + 'static {
    const ZERO: Self;
    const MAX: Self;
    /// Bytes of the little-endian stored form.
    const BYTES: usize;

    fn checked_add(self, other: Self) -> Option<Self>;
    fn checked_sub(self, other: Self) -> Option<Self>;
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads `BYTES` bytes written by [`Self::write_le`].
    fn read_le(bytes: &[u8]) -> Self;
    fn to_u128(self) -> u128;
    /// `None` when the value does not fit.
    fn from_u128(n: u128) -> Option<Self>;
}

macro_rules! amount {
    ($t:ty) => {
        impl Amount for $t {
            const ZERO: Self = 0;
            const MAX: Self = <$t>::MAX;
            const BYTES: usize = std::mem::size_of::<$t>();

            fn checked_add(self, other: Self) -> Option<Self> {
                <$t>::checked_add(self, other)
            }

            fn checked_sub(self, other: Self) -> Option<Self> {
                <$t>::checked_sub(self, other)
            }

            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }

            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes[..Self::BYTES].try_into().expect("BYTES bytes"))
            }

            fn to_u128(self) -> u128 {
                self.into()
            }

            fn from_u128(n: u128) -> Option<Self> {
                n.try_into().ok()
            }
        }
    };
}

amount!(u64);
amount!(u128);
