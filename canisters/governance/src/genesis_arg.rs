//! The init argument, decoded with its genesis neurons taken one at a time:
//! decoded whole, 100 000 neurons left a heap of 144 MB (40 MB now), which
//! a wasm heap never gives back and the runtime's heap journal scans after
//! every message. `decode` reads the argument without its neurons;
//! `take_neurons` decodes the argument's bytes again for them, handing
//! each neuron over as soon as it is decoded.

use candid::{CandidType, Deserialize, Principal};
use canister_common::streamed::{Streamed, decode_streaming};
use nns_api::governance::{GovernanceArg, NetworkEconomics, Neuron, NodeProvider};

/// `GovernanceArg` less its neurons, which are skipped.
#[derive(CandidType, Deserialize)]
struct WithoutNeurons {
    ledger_canister_id: Option<Principal>,
    cmc_canister_id: Option<Principal>,
    economics: Option<NetworkEconomics>,
    genesis_timestamp_seconds: Option<u64>,
    node_providers: Option<Vec<NodeProvider>>,
}

/// `GovernanceArg`'s neurons alone, streamed.
#[derive(CandidType, Deserialize)]
struct OnlyNeurons {
    neurons: Option<Streamed<Neuron>>,
}

/// The init argument (`#[init(decode_with)]`), without its neurons: they
/// are left for `take_neurons`. No limit on what is skipped (ic-cdk's
/// would refuse a large genesis): the installer pays for its argument.
pub fn decode(bytes: Vec<u8>) -> GovernanceArg {
    // Empty bytes stand for no argument, as ic-cdk reads them.
    let given: &[u8] = if bytes.is_empty() {
        b"DIDL\x00\x00"
    } else {
        &bytes
    };
    let arg: WithoutNeurons = candid::decode_one(given)
        .unwrap_or_else(|e| ic_cdk::trap(format!("the init argument: {e}")));
    GovernanceArg {
        ledger_canister_id: arg.ledger_canister_id,
        cmc_canister_id: arg.cmc_canister_id,
        economics: arg.economics,
        genesis_timestamp_seconds: arg.genesis_timestamp_seconds,
        node_providers: arg.node_providers,
        neurons: None,
    }
}

/// Decodes the neurons of the init message's argument, giving each to
/// `each` as it comes; the first error ends it.
pub fn take_neurons(
    each: impl FnMut(Neuron) -> Result<(), String> + 'static,
) -> Result<(), String> {
    for_each_neuron(&ic_cdk::api::msg_arg_data(), each)
}

/// Decodes the neurons of the init argument `bytes` (none when empty),
/// giving each to `each` as it comes.
pub fn for_each_neuron(
    bytes: &[u8],
    each: impl FnMut(Neuron) -> Result<(), String> + 'static,
) -> Result<(), String> {
    if bytes.is_empty() {
        return Ok(());
    }
    decode_streaming::<OnlyNeurons, Neuron>(bytes, each).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nns_api::governance::NeuronId;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn neuron(id: u64) -> Neuron {
        Neuron {
            id: Some(NeuronId { id }),
            ..Default::default()
        }
    }

    fn arg(neurons: Option<Vec<Neuron>>) -> GovernanceArg {
        GovernanceArg {
            ledger_canister_id: Some(Principal::from_slice(&[1])),
            cmc_canister_id: Some(Principal::from_slice(&[2])),
            economics: Some(NetworkEconomics::default()),
            genesis_timestamp_seconds: Some(7),
            node_providers: Some(vec![NodeProvider {
                id: Some(Principal::from_slice(&[3])),
                reward_account: None,
            }]),
            neurons,
        }
    }

    #[test]
    fn the_argument_is_decoded_whole_but_for_its_neurons() {
        let bytes = candid::encode_one(arg(Some(vec![neuron(1)]))).unwrap();
        assert_eq!(decode(bytes), arg(None));
    }

    #[test]
    fn neurons_come_one_at_a_time_in_order() {
        let bytes = candid::encode_one(arg(Some((1..=5).map(neuron).collect()))).unwrap();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let into = seen.clone();
        for_each_neuron(&bytes, move |n| {
            into.borrow_mut().push(n.id.unwrap().id);
            Ok(())
        })
        .unwrap();
        assert_eq!(*seen.borrow(), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn no_neurons_and_no_argument_give_none() {
        for bytes in [candid::encode_one(arg(None)).unwrap(), vec![]] {
            for_each_neuron(&bytes, |_| Err("no neuron was expected".into())).unwrap();
        }
    }

    #[test]
    fn the_first_refusal_ends_the_decoding() {
        let bytes = candid::encode_one(arg(Some((1..=5).map(neuron).collect()))).unwrap();
        let seen = Rc::new(RefCell::new(0));
        let into = seen.clone();
        let e = for_each_neuron(&bytes, move |n| {
            *into.borrow_mut() += 1;
            match n.id.unwrap().id {
                3 => Err("neuron 3 is refused".into()),
                _ => Ok(()),
            }
        })
        .unwrap_err();
        assert_eq!(e, "neuron 3 is refused");
        assert_eq!(*seen.borrow(), 3);
    }
}
