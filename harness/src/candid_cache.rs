//! Candid for clients that send and receive the same large types many
//! times (the main job's holders send `manage_neuron` thousands of times a
//! simulated day). candid recomputes a type and its type table on every
//! message: `IDLBuilder::new` clears its memo of types, so each
//! `manage_neuron` request (a type of hundreds of nodes, with every
//! proposal action) cost about a millisecond of type building and
//! comparison before a byte of its value was written — a third of the
//! main job's time at 100 000 neurons. Here each type's table (for
//! encoding) and type (for decoding) is computed once per thread.

use candid::types::{Type, TypeInner};
use candid::{CandidType, Deserialize};
use canister_common::fast_candid::KnownTypes;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    /// The encoder of each Rust type (one small value per type, kept for
    /// the life of the process).
    static ENCODERS: RefCell<HashMap<TypeId, &'static dyn Any>> = RefCell::new(HashMap::new());
    /// The Candid type of each Rust type that has no recursion (a
    /// recursive type refers to candid's own memo, which encoding clears).
    static TYPES: RefCell<HashMap<TypeId, Option<Type>>> = RefCell::new(HashMap::new());
}

/// `value` as a Candid message of one argument, the same bytes as
/// `candid::encode_one`, with the canisters' own encoder of known types.
pub fn encode_one<T: CandidType + 'static>(value: &T) -> Vec<u8> {
    let encoder: &'static dyn Any = ENCODERS.with(|encoders| {
        *encoders
            .borrow_mut()
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::leak(Box::new(KnownTypes::<T>::new())))
    });
    encoder
        .downcast_ref::<KnownTypes<T>>()
        .expect("an encoder is kept under its own type")
        .encode(value)
}

/// The one argument of a Candid message, as `candid::decode_one` decodes
/// it, with `T`'s type computed once.
pub fn decode_one<T>(bytes: &[u8]) -> candid::Result<T>
where
    T: CandidType + for<'de> Deserialize<'de> + 'static,
{
    candid::decode_one::<Typed<T>>(bytes).map(|typed| typed.0)
}

/// Decodes messages of one `T`, remembering the last few distinct
/// messages and their values: a client that receives the same reply
/// again (a vote's, a follow's: the same bytes every time) gets the value
/// back without candid parsing its type table again. At 100 000 neurons
/// the main job receives thousands of `manage_neuron` replies a simulated
/// day, more than half of them identical, each with the type table of
/// the whole response (neurons included): parsing it was a twelfth of
/// the day's time.
pub struct Memo<T> {
    /// Most recently used last.
    kept: Vec<(Vec<u8>, T)>,
}

impl<T> Memo<T> {
    /// Distinct messages kept.
    const CAPACITY: usize = 8;

    pub fn new() -> Self {
        Self { kept: Vec::new() }
    }
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Memo<T>
where
    T: CandidType + for<'de> Deserialize<'de> + Clone + 'static,
{
    /// `decode_one(bytes)`, from the memo when these bytes were decoded
    /// before; an error is not kept.
    pub fn decode_one(&mut self, bytes: &[u8]) -> candid::Result<T> {
        if let Some(at) = self.kept.iter().position(|(kept, _)| kept == bytes) {
            let entry = self.kept.remove(at);
            let value = entry.1.clone();
            self.kept.push(entry);
            return Ok(value);
        }
        let value: T = decode_one(bytes)?;
        if self.kept.len() == Self::CAPACITY {
            self.kept.remove(0);
        }
        self.kept.push((bytes.to_vec(), value.clone()));
        Ok(value)
    }
}

/// `T`, whose Candid type is looked up in [`TYPES`].
struct Typed<T>(T);

impl<T: CandidType + 'static> CandidType for Typed<T> {
    fn ty() -> Type {
        let cached = TYPES.with(|types| types.borrow().get(&TypeId::of::<T>()).cloned());
        match cached {
            Some(Some(ty)) => ty,
            Some(None) => T::ty(),
            None => {
                let ty = T::ty();
                let keep = (!refers_to_memo(&ty)).then(|| ty.clone());
                TYPES.with(|types| types.borrow_mut().insert(TypeId::of::<T>(), keep));
                ty
            }
        }
    }

    fn _ty() -> Type {
        T::ty()
    }

    fn idl_serialize<S: candid::types::Serializer>(&self, serializer: S) -> Result<(), S::Error> {
        self.0.idl_serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Typed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Typed)
    }
}

/// Whether `ty` refers to candid's memo of types (a recursive type's knot,
/// or a type it could not spell out), which does not outlive an encoding.
fn refers_to_memo(ty: &Type) -> bool {
    match ty.as_ref() {
        TypeInner::Knot(_) | TypeInner::Var(_) | TypeInner::Unknown => true,
        TypeInner::Opt(inner) | TypeInner::Vec(inner) => refers_to_memo(inner),
        TypeInner::Record(fields) | TypeInner::Variant(fields) => {
            fields.iter().any(|field| refers_to_memo(&field.ty))
        }
        TypeInner::Func(_) | TypeInner::Service(_) | TypeInner::Class(..) | TypeInner::Future => {
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nns_api::governance::{
        Account, By, ClaimOrRefresh, DisburseMaturity, ManageNeuronCommandRequest,
        ManageNeuronRequest, ManageNeuronResponse, NeuronId, NeuronIdOrSubaccount, ProposalId,
        RegisterVote,
    };

    fn requests() -> Vec<ManageNeuronRequest> {
        let neuron = Some(NeuronIdOrSubaccount::NeuronId(NeuronId { id: 7 }));
        let commands = [
            ManageNeuronCommandRequest::RegisterVote(RegisterVote {
                vote: 1,
                proposal: Some(ProposalId { id: 3 }),
            }),
            ManageNeuronCommandRequest::DisburseMaturity(DisburseMaturity {
                percentage_to_disburse: 100,
                to_account: Some(Account {
                    owner: Some(candid::Principal::anonymous()),
                    subaccount: None,
                }),
                to_account_identifier: None,
            }),
            ManageNeuronCommandRequest::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::NeuronIdOrSubaccount {}),
            }),
        ];
        commands
            .into_iter()
            .map(|command| ManageNeuronRequest {
                id: None,
                neuron_id_or_subaccount: neuron.clone(),
                command: Some(command),
            })
            .collect()
    }

    #[test]
    fn encodes_the_same_bytes_as_candid_for_every_value() {
        for _ in 0..2 {
            for request in requests() {
                assert_eq!(encode_one(&request), candid::encode_one(&request).unwrap());
            }
        }
    }

    #[test]
    fn decodes_what_candid_decodes_after_other_encodings_cleared_its_memo() {
        let response = ManageNeuronResponse { command: None };
        let bytes = candid::encode_one(&response).unwrap();
        for request in requests() {
            let _ = candid::encode_one(&request).unwrap();
            let decoded: ManageNeuronResponse = decode_one(&bytes).unwrap();
            assert_eq!(decoded, response);
            let bytes = candid::encode_one(&request).unwrap();
            let decoded: ManageNeuronRequest = decode_one(&bytes).unwrap();
            assert_eq!(decoded, request);
        }
    }

    #[test]
    fn the_memo_answers_what_candid_decodes_and_forgets_the_least_recent() {
        let responses: Vec<ManageNeuronResponse> = (0..12u64)
            .map(|amount| ManageNeuronResponse {
                command: Some(
                    nns_api::governance::ManageNeuronCommandResponse::DisburseMaturity(
                        nns_api::governance::DisburseMaturityResponse {
                            amount_disbursed_e8s: Some(amount),
                        },
                    ),
                ),
            })
            .collect();
        let mut memo = Memo::<ManageNeuronResponse>::new();
        for round in 0..3 {
            for response in &responses {
                let bytes = candid::encode_one(response).unwrap();
                assert_eq!(&memo.decode_one(&bytes).unwrap(), response, "round {round}");
            }
        }
        assert_eq!(memo.kept.len(), Memo::<ManageNeuronResponse>::CAPACITY);
        // The last eight are kept, most recent last.
        let last: Vec<_> = memo.kept.iter().map(|(_, value)| value.clone()).collect();
        assert_eq!(last, responses[4..]);
        assert!(memo.decode_one(b"DIDL\x00\x01\x7f").is_err());
        assert_eq!(memo.kept.len(), Memo::<ManageNeuronResponse>::CAPACITY);
        // A message received again is the most recent: the next new one
        // pushes out the least recent other.
        let again = candid::encode_one(&responses[4]).unwrap();
        assert_eq!(memo.decode_one(&again).unwrap(), responses[4]);
        assert_eq!(memo.kept.last().unwrap().0, again);
        memo.decode_one(&candid::encode_one(&responses[0]).unwrap())
            .unwrap();
        let kept: Vec<_> = memo.kept.iter().map(|(_, value)| value.clone()).collect();
        let mut expected = responses[6..].to_vec();
        expected.push(responses[4].clone());
        expected.push(responses[0].clone());
        assert_eq!(kept, expected, "responses[5] went, the least recently used");
    }

    #[test]
    fn a_recursive_type_is_not_kept() {
        #[derive(CandidType, Deserialize, PartialEq, Debug)]
        struct List {
            head: u8,
            tail: Option<Box<List>>,
        }
        let list = List {
            head: 1,
            tail: Some(Box::new(List {
                head: 2,
                tail: None,
            })),
        };
        let bytes = candid::encode_one(&list).unwrap();
        for _ in 0..2 {
            let _ = candid::encode_one(7u8).unwrap();
            assert_eq!(decode_one::<List>(&bytes).unwrap(), list);
        }
        assert!(TYPES.with(|t| t.borrow()[&TypeId::of::<List>()].is_none()));
    }
}
