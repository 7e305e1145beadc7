//! Decoding a large vector of an install argument one element at a time.
//! A wasm heap never shrinks: decoded whole, an argument of a million
//! initial balances or 100 000 genesis neurons leaves the heap hundreds of
//! megabytes larger for the canister's life. A `Streamed<T>` in a decoded
//! type has the interface type `vec T` and hands each element, as soon as
//! it is decoded, to the function given to [`decode_streaming`].

use candid::types::{Serializer, Type};
use candid::{CandidType, Deserialize};
use serde::de::{DeserializeOwned, Deserializer, Error as _, SeqAccess, Visitor};
use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;

/// Gets each element as it is decoded; its first error ends the decoding.
type Each = Box<dyn FnMut(Box<dyn Any>) -> Result<(), String>>;

thread_local! {
    static EACH: RefCell<Option<Each>> = const { RefCell::new(None) };
    /// The first error `EACH` returned: kept apart, so that no decoding
    /// rule (an `opt` that turns what fails into `null`) can lose it.
    static FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A `vec T` whose elements go to [`decode_streaming`]'s function.
pub struct Streamed<T>(PhantomData<T>);

impl<T: CandidType> CandidType for Streamed<T> {
    fn _ty() -> Type {
        Vec::<T>::ty()
    }

    fn idl_serialize<S: Serializer>(&self, serializer: S) -> Result<(), S::Error> {
        Vec::<T>::new().idl_serialize(serializer)
    }
}

impl<'de, T: DeserializeOwned + 'static> Deserialize<'de> for Streamed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Elements<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned + 'static> Visitor<'de> for Elements<T> {
            type Value = Streamed<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a vector")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let fail = |e: String| {
                    FAILURE.with(|f| {
                        f.borrow_mut().get_or_insert_with(|| e.clone());
                    });
                    A::Error::custom(e)
                };
                // An element that does not decode fails the whole: inside an
                // `opt`, candid would make the vector `null`, after the
                // elements before it were taken.
                while let Some(element) =
                    seq.next_element::<T>().map_err(|e| fail(e.to_string()))?
                {
                    EACH.with(|each| match each.borrow_mut().as_mut() {
                        Some(each) => each(Box::new(element)),
                        None => Err("an element decoded with nothing to take it".into()),
                    })
                    .map_err(fail)?;
                }
                Ok(Streamed(PhantomData))
            }
        }
        deserializer.deserialize_seq(Elements(PhantomData))
    }
}

/// Decodes `bytes` as one `A`, giving `each` the elements of its
/// `Streamed<T>` as they come; the first error of `each` ends it and is
/// returned as it was.
pub fn decode_streaming<A, T>(
    bytes: &[u8],
    mut each: impl FnMut(T) -> Result<(), String> + 'static,
) -> Result<A, String>
where
    A: CandidType + DeserializeOwned,
    T: 'static,
{
    let each: Each = Box::new(move |element: Box<dyn Any>| {
        let element = element
            .downcast::<T>()
            .map_err(|_| "an element of another type".to_string())?;
        each(*element)
    });
    EACH.with(|slot| *slot.borrow_mut() = Some(each));
    FAILURE.with(|f| *f.borrow_mut() = None);
    let decoded = candid::decode_one::<A>(bytes);
    EACH.with(|slot| *slot.borrow_mut() = None);
    if let Some(failure) = FAILURE.with(|f| f.borrow_mut().take()) {
        return Err(failure);
    }
    decoded.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[derive(CandidType, Deserialize, Clone, Debug, PartialEq)]
    struct Given {
        name: String,
        values: Option<Vec<(String, u64)>>,
    }

    #[derive(CandidType, Deserialize)]
    struct Values {
        values: Option<Streamed<(String, u64)>>,
    }

    fn given(count: u64) -> Vec<u8> {
        candid::encode_one(Given {
            name: "x".into(),
            values: Some((0..count).map(|i| (i.to_string(), i)).collect()),
        })
        .unwrap()
    }

    #[test]
    fn elements_come_one_at_a_time_in_order() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let into = seen.clone();
        decode_streaming::<Values, (String, u64)>(&given(5), move |(s, n)| {
            into.borrow_mut().push((s, n));
            Ok(())
        })
        .unwrap();
        let expected: Vec<_> = (0..5).map(|i: u64| (i.to_string(), i)).collect();
        assert_eq!(*seen.borrow(), expected);
    }

    #[test]
    fn the_first_refusal_ends_the_decoding_and_is_returned() {
        let seen = Rc::new(RefCell::new(0));
        let into = seen.clone();
        let e = decode_streaming::<Values, (String, u64)>(&given(5), move |(_, n)| {
            *into.borrow_mut() += 1;
            if n == 2 {
                Err("2 is refused".into())
            } else {
                Ok(())
            }
        })
        .err()
        .unwrap();
        assert_eq!(e, "2 is refused");
        assert_eq!(*seen.borrow(), 3);
    }

    /// An element of a type that does not match, after one that does:
    /// decoded whole, candid would give `null` for the `opt` and no error.
    #[test]
    fn an_element_that_does_not_decode_fails_the_whole() {
        #[derive(CandidType)]
        struct Wire {
            name: String,
            values: Option<Vec<(String, Vec<u64>)>>,
        }
        #[derive(CandidType, Deserialize)]
        struct Lists {
            values: Option<Streamed<(String, Vec<u8>)>>,
        }
        let bytes = candid::encode_one(Wire {
            name: "x".into(),
            values: Some(vec![("a".into(), vec![]), ("b".into(), vec![1])]),
        })
        .unwrap();
        let seen = Rc::new(RefCell::new(0));
        let into = seen.clone();
        let decoded = decode_streaming::<Lists, (String, Vec<u8>)>(&bytes, move |_| {
            *into.borrow_mut() += 1;
            Ok(())
        });
        assert!(decoded.is_err());
        assert_eq!(*seen.borrow(), 1);
    }

    #[test]
    fn the_interface_type_is_the_vector() {
        assert_eq!(Streamed::<(String, u64)>::ty(), Vec::<(String, u64)>::ty());
        let none = candid::encode_one(Given {
            name: "x".into(),
            values: None,
        })
        .unwrap();
        decode_streaming::<Values, (String, u64)>(&none, |_| Err("none expected".into())).unwrap();
    }
}
