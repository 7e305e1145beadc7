//! Stable-memory plumbing and Candid fast paths shared by the canisters.

pub mod calls;
pub mod candid_reader;
pub mod civil_date;
pub mod fast_candid;
pub mod hash_tree;
pub mod http;
pub mod ledger_client;
pub mod metrics;
pub mod streamed;

use candid::CandidType;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, StableCell, Storable};
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// Stores a value as its Candid encoding: for small, rarely written values
/// such as a canister's configuration, where schema evolution (new `opt`
/// fields) matters more than speed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candid<T>(pub T);

impl<T: CandidType + DeserializeOwned> Storable for Candid<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode_candid(&self.0))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode_candid(&self.0)
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Self(candid::decode_one(&bytes).expect("stable memory holds a value of this type"))
    }

    const BOUND: Bound = Bound::Unbounded;
}

fn encode_candid<T: CandidType>(value: &T) -> Vec<u8> {
    candid::encode_one(value).expect("a Candid value always encodes")
}

/// Stores a value as its Candid encoding, like [`Candid`], but reads it back
/// with [`candid_reader`]: one reader for every stored type instead of a
/// serde decoder for each, which keeps the module small. The bytes are the
/// same as `Candid`'s, so the two are interchangeable in stable memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredCandid<T>(pub T);

impl<T: CandidType + candid_reader::ReadCandid> Storable for StoredCandid<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode_candid(&self.0))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode_candid(&self.0)
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        match candid_reader::decode_first(&bytes, T::read) {
            Ok(value) => Self(value),
            Err(e) => panic!("stable memory holds a value of this type: {e}"),
        }
    }

    const BOUND: Bound = Bound::Unbounded;
}

/// A canister's configuration in a memory of its own: empty until install
/// sets it, then read on every call and rewritten whole on (rare) changes.
pub struct StableConfig<T: CandidType + DeserializeOwned, M: Memory>(
    StableCell<Candid<Option<T>>, M>,
);

impl<T: CandidType + DeserializeOwned + Clone, M: Memory> StableConfig<T, M> {
    pub fn init(memory: M) -> Self {
        Self(StableCell::init(memory, Candid(None)))
    }

    pub fn set(&mut self, config: T) {
        self.0.set(Candid(Some(config)));
    }

    /// Panics before install, which cannot happen in a canister: every
    /// endpoint runs after `canister_init`.
    pub fn get(&self) -> &T {
        self.0.get().0.as_ref().expect("the canister is installed")
    }

    pub fn update(&mut self, f: impl FnOnce(&mut T)) {
        let mut config = self.get().clone();
        f(&mut config);
        self.set(config);
    }
}

/// A unit test that the canister's interface, as generated from its
/// endpoints, equals its checked-in `.did` file (`$did`, relative to the
/// invoking file), and that the module's embedded `CANDID_INIT_ARGS` name
/// the file's init arguments. Invoked last in a canister's `lib.rs`.
#[macro_export]
macro_rules! candid_interface_test {
    ($did:literal $(, $type_in_scope:path)* $(,)?) => {
        #[cfg(test)]
        mod candid_interface {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[allow(unused_imports)]
                use $type_in_scope;
            )*

            ::candid::export_service!();

            #[test]
            fn did_file_matches_the_code() {
                $crate::assert_candid_interface(
                    &__export_service(),
                    include_str!($did),
                    CANDID_INIT_ARGS,
                );
            }
        }
    };
}

/// Checks, in a canister's unit tests, that the interface generated from the
/// code equals the checked-in `.did` file and that the `candid:args` text
/// embedded in the module names the `.did`'s init arguments.
#[cfg(feature = "testing")]
pub fn assert_candid_interface(generated: &str, did_file: &str, embedded_init_args: &[u8]) {
    use candid_parser::utils::{CandidSource, instantiate_candid, service_equal};

    if let Err(e) = service_equal(CandidSource::Text(generated), CandidSource::Text(did_file)) {
        panic!(
            "the .did file differs from the interface generated from the code: {e}\n\
             generated interface:\n{generated}"
        );
    }
    let (init_args, _) = instantiate_candid(CandidSource::Text(did_file)).expect("the .did parses");
    let expected = format!(
        "({})",
        init_args
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(
        std::str::from_utf8(embedded_init_args).unwrap(),
        expected,
        "the embedded candid:args must be the .did's init arguments"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::{StableCell, VectorMemory};

    #[test]
    fn a_config_survives_reopening_and_updates_in_place() {
        let memory = VectorMemory::default();
        let mut config = StableConfig::<(String, u64), _>::init(memory.clone());
        config.set(("fee".to_string(), 10_000));
        config.update(|c| c.1 += 1);
        let reopened = StableConfig::<(String, u64), _>::init(memory);
        assert_eq!(reopened.get(), &("fee".to_string(), 10_001));
    }

    #[test]
    fn a_cell_keeps_its_value_across_reopening() {
        let memory = VectorMemory::default();
        let mut cell = StableCell::init(memory.clone(), Candid(None::<(String, u64)>));
        cell.set(Candid(Some(("fee".to_string(), 10_000))));
        let reopened = StableCell::init(memory, Candid(None::<(String, u64)>));
        assert_eq!(reopened.get().0, Some(("fee".to_string(), 10_000)));
    }
}
