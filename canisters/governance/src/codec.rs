//! A fast Candid path for the most frequent `manage_neuron` requests —
//! votes, following, claims, configuration, disbursing, disbursing
//! maturity and refreshing voting power — when they carry the type table
//! this workspace's own encoder writes (see `canister_common::fast_candid`). Any other
//! message goes through the general decoder, which costs about a million
//! instructions for this large type. Field and variant order comes from the
//! Rust types themselves, so it cannot drift from them; the tests check the
//! fast path against the general decoder.

use candid::CandidType;
use candid::types::{Label, TypeInner};
use canister_common::fast_candid::{KnownHeader, Reader, decode_one};
use nns_api::governance::{
    Account, AccountIdentifier, AddHotKey, Amount, By, ChangeAutoStakeMaturity, ClaimOrRefresh,
    ClaimOrRefreshNeuronFromAccount, Configure, Disburse, DisburseMaturity, Follow,
    IncreaseDissolveDelay, ManageNeuronCommandRequest as Command, ManageNeuronRequest, NeuronId,
    NeuronIdOrSubaccount, Operation, ProposalId, RefreshVotingPower, RegisterVote, RemoveHotKey,
    SetDissolveTimestamp,
};
use serde_bytes::ByteBuf;
use std::sync::OnceLock;

/// The field (or alternative) names of a record (or variant) type, in
/// Candid's wire order.
fn wire_order<T: CandidType>() -> Vec<String> {
    match T::ty().as_ref() {
        TypeInner::Record(fields) | TypeInner::Variant(fields) => fields
            .iter()
            .map(|f| match f.id.as_ref() {
                Label::Named(name) => name.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => vec![],
    }
}

struct Orders {
    request: Vec<String>,
    command: Vec<String>,
    neuron: Vec<String>,
    register_vote: Vec<String>,
    follow: Vec<String>,
    by: Vec<String>,
    memo_and_controller: Vec<String>,
    operation: Vec<String>,
    disburse: Vec<String>,
    disburse_maturity: Vec<String>,
    account: Vec<String>,
}

fn orders() -> &'static Orders {
    static ORDERS: OnceLock<Orders> = OnceLock::new();
    ORDERS.get_or_init(|| Orders {
        request: wire_order::<ManageNeuronRequest>(),
        command: wire_order::<Command>(),
        neuron: wire_order::<NeuronIdOrSubaccount>(),
        register_vote: wire_order::<RegisterVote>(),
        follow: wire_order::<Follow>(),
        by: wire_order::<By>(),
        memo_and_controller: wire_order::<ClaimOrRefreshNeuronFromAccount>(),
        operation: wire_order::<Operation>(),
        disburse: wire_order::<Disburse>(),
        disburse_maturity: wire_order::<DisburseMaturity>(),
        account: wire_order::<Account>(),
    })
}

fn neuron_id(r: &mut Reader) -> Option<NeuronId> {
    Some(NeuronId { id: r.nat64()? })
}

fn int32(r: &mut Reader) -> Option<i32> {
    Some(i32::from_le_bytes(r.take(4)?.try_into().ok()?))
}

fn alternative<'o>(r: &mut Reader, names: &'o [String]) -> Option<&'o str> {
    let index = usize::try_from(r.leb128()?).ok()?;
    names.get(index).map(String::as_str)
}

fn register_vote(r: &mut Reader) -> Option<RegisterVote> {
    let (mut vote, mut proposal) = (None, None);
    for field in &orders().register_vote {
        match field.as_str() {
            "vote" => vote = Some(int32(r)?),
            "proposal" => proposal = Some(r.opt(|r| Some(ProposalId { id: r.nat64()? }))?),
            _ => return None,
        }
    }
    Some(RegisterVote {
        vote: vote?,
        proposal: proposal?,
    })
}

fn follow(r: &mut Reader) -> Option<Follow> {
    let (mut topic, mut followees) = (None, None);
    for field in &orders().follow {
        match field.as_str() {
            "topic" => topic = Some(int32(r)?),
            "followees" => followees = Some(r.vec(neuron_id)?),
            _ => return None,
        }
    }
    Some(Follow {
        topic: topic?,
        followees: followees?,
    })
}

fn claim_or_refresh(r: &mut Reader) -> Option<ClaimOrRefresh> {
    // One field, `by`.
    let by = r.opt(|r| match alternative(r, &orders().by)? {
        "NeuronIdOrSubaccount" => Some(By::NeuronIdOrSubaccount {}),
        "Memo" => r.nat64().map(By::Memo),
        "MemoAndController" => {
            let (mut controller, mut memo) = (None, None);
            for field in &orders().memo_and_controller {
                match field.as_str() {
                    "controller" => controller = Some(r.opt(Reader::principal)?),
                    "memo" => memo = Some(r.nat64()?),
                    _ => return None,
                }
            }
            Some(By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
                controller: controller?,
                memo: memo?,
            }))
        }
        _ => None,
    })?;
    Some(ClaimOrRefresh { by })
}

fn operation(r: &mut Reader) -> Option<Operation> {
    Some(match alternative(r, &orders().operation)? {
        "IncreaseDissolveDelay" => Operation::IncreaseDissolveDelay(IncreaseDissolveDelay {
            additional_dissolve_delay_seconds: u32::from_le_bytes(r.take(4)?.try_into().ok()?),
        }),
        "SetDissolveTimestamp" => Operation::SetDissolveTimestamp(SetDissolveTimestamp {
            dissolve_timestamp_seconds: r.nat64()?,
        }),
        "StartDissolving" => Operation::StartDissolving {},
        "StopDissolving" => Operation::StopDissolving {},
        "AddHotKey" => Operation::AddHotKey(AddHotKey {
            new_hot_key: r.opt(Reader::principal)?,
        }),
        "RemoveHotKey" => Operation::RemoveHotKey(RemoveHotKey {
            hot_key_to_remove: r.opt(Reader::principal)?,
        }),
        "ChangeAutoStakeMaturity" => {
            let setting = match r.byte()? {
                0 => false,
                1 => true,
                _ => return None,
            };
            Operation::ChangeAutoStakeMaturity(ChangeAutoStakeMaturity {
                requested_setting_for_auto_stake_maturity: setting,
            })
        }
        _ => return None,
    })
}

fn disburse(r: &mut Reader) -> Option<Disburse> {
    let (mut to_account, mut amount) = (None, None);
    for field in &orders().disburse {
        match field.as_str() {
            "to_account" => to_account = Some(r.opt(account_identifier)?),
            "amount" => amount = Some(r.opt(|r| Some(Amount { e8s: r.nat64()? }))?),
            _ => return None,
        }
    }
    Some(Disburse {
        to_account: to_account?,
        amount: amount?,
    })
}

fn account_identifier(r: &mut Reader) -> Option<AccountIdentifier> {
    Some(AccountIdentifier {
        hash: ByteBuf::from(r.blob()?.to_vec()),
    })
}

fn account(r: &mut Reader) -> Option<Account> {
    let (mut owner, mut subaccount) = (None, None);
    for field in &orders().account {
        match field.as_str() {
            "owner" => owner = Some(r.opt(Reader::principal)?),
            "subaccount" => subaccount = Some(r.opt(|r| Some(ByteBuf::from(r.blob()?.to_vec())))?),
            _ => return None,
        }
    }
    Some(Account {
        owner: owner?,
        subaccount: subaccount?,
    })
}

fn disburse_maturity(r: &mut Reader) -> Option<DisburseMaturity> {
    let (mut percentage, mut to_account, mut to_account_identifier) = (None, None, None);
    for field in &orders().disburse_maturity {
        match field.as_str() {
            "percentage_to_disburse" => {
                percentage = Some(u32::from_le_bytes(r.take(4)?.try_into().ok()?))
            }
            "to_account" => to_account = Some(r.opt(account)?),
            "to_account_identifier" => to_account_identifier = Some(r.opt(account_identifier)?),
            _ => return None,
        }
    }
    Some(DisburseMaturity {
        percentage_to_disburse: percentage?,
        to_account: to_account?,
        to_account_identifier: to_account_identifier?,
    })
}

fn command(r: &mut Reader) -> Option<Command> {
    match alternative(r, &orders().command)? {
        "RegisterVote" => register_vote(r).map(Command::RegisterVote),
        "Follow" => follow(r).map(Command::Follow),
        "ClaimOrRefresh" => claim_or_refresh(r).map(Command::ClaimOrRefresh),
        // One field, `operation`.
        "Configure" => Some(Command::Configure(Configure {
            operation: r.opt(operation)?,
        })),
        "Disburse" => disburse(r).map(Command::Disburse),
        "DisburseMaturity" => disburse_maturity(r).map(Command::DisburseMaturity),
        // An empty record: no bytes. Every neuron confirms its following
        // at least every six months, or its voting power fades.
        "RefreshVotingPower" => Some(Command::RefreshVotingPower(RefreshVotingPower {})),
        // Everything else is rarer: the general decoder reads it.
        _ => None,
    }
}

fn request(r: &mut Reader) -> Option<ManageNeuronRequest> {
    let mut request = ManageNeuronRequest {
        neuron_id_or_subaccount: None,
        command: None,
        id: None,
    };
    for field in &orders().request {
        match field.as_str() {
            "id" => request.id = r.opt(neuron_id)?,
            "command" => request.command = r.opt(command)?,
            "neuron_id_or_subaccount" => {
                request.neuron_id_or_subaccount =
                    r.opt(|r| match alternative(r, &orders().neuron)? {
                        "NeuronId" => neuron_id(r).map(NeuronIdOrSubaccount::NeuronId),
                        "Subaccount" => Some(NeuronIdOrSubaccount::Subaccount(ByteBuf::from(
                            r.blob()?.to_vec(),
                        ))),
                        _ => None,
                    })?
            }
            _ => return None,
        }
    }
    Some(request)
}

static MANAGE_NEURON_REQUEST: KnownHeader = KnownHeader::new();

pub fn decode_manage_neuron(message: Vec<u8>) -> ManageNeuronRequest {
    decode_one(
        &message,
        &MANAGE_NEURON_REQUEST,
        || ManageNeuronRequest {
            neuron_id_or_subaccount: None,
            command: None,
            id: None,
        },
        request,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use canister_common::fast_candid::header_len;
    use nns_api::governance::Split;

    fn fast(message: &[u8]) -> Option<ManageNeuronRequest> {
        let values = MANAGE_NEURON_REQUEST.values(
            || {
                (ManageNeuronRequest {
                    neuron_id_or_subaccount: None,
                    command: None,
                    id: None,
                },)
            },
            message,
        )?;
        let mut r = values;
        let decoded = request(&mut r)?;
        r.is_empty().then_some(decoded)
    }

    fn requests() -> Vec<ManageNeuronRequest> {
        let commands = [
            None,
            Some(Command::RegisterVote(RegisterVote {
                vote: 2,
                proposal: Some(ProposalId { id: u64::MAX }),
            })),
            Some(Command::RegisterVote(RegisterVote {
                vote: -7,
                proposal: None,
            })),
            Some(Command::Follow(Follow {
                topic: 4,
                followees: vec![NeuronId { id: 1 }, NeuronId { id: 1 << 40 }],
            })),
            Some(Command::Follow(Follow {
                topic: 0,
                followees: vec![],
            })),
            Some(Command::ClaimOrRefresh(ClaimOrRefresh { by: None })),
            Some(Command::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::NeuronIdOrSubaccount {}),
            })),
            Some(Command::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::Memo(u64::MAX)),
            })),
            Some(Command::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
                    controller: Some(candid::Principal::from_slice(&[1; 29])),
                    memo: 3,
                })),
            })),
            Some(Command::ClaimOrRefresh(ClaimOrRefresh {
                by: Some(By::MemoAndController(ClaimOrRefreshNeuronFromAccount {
                    controller: None,
                    memo: 0,
                })),
            })),
            Some(Command::Configure(Configure { operation: None })),
            Some(Command::RefreshVotingPower(RefreshVotingPower {})),
            Some(Command::Disburse(Disburse {
                to_account: None,
                amount: None,
            })),
            Some(Command::Disburse(Disburse {
                to_account: Some(AccountIdentifier {
                    hash: ByteBuf::from(vec![5; 32]),
                }),
                amount: Some(Amount { e8s: 12 }),
            })),
            Some(Command::DisburseMaturity(DisburseMaturity {
                percentage_to_disburse: 100,
                to_account: None,
                to_account_identifier: None,
            })),
            Some(Command::DisburseMaturity(DisburseMaturity {
                percentage_to_disburse: u32::MAX,
                to_account: Some(Account {
                    owner: Some(candid::Principal::from_slice(&[2; 29])),
                    subaccount: Some(ByteBuf::from(vec![3; 32])),
                }),
                to_account_identifier: Some(AccountIdentifier {
                    hash: ByteBuf::from(vec![4; 32]),
                }),
            })),
            Some(Command::DisburseMaturity(DisburseMaturity {
                percentage_to_disburse: 0,
                to_account: Some(Account {
                    owner: None,
                    subaccount: None,
                }),
                to_account_identifier: None,
            })),
        ]
        .into_iter()
        .chain(operations().into_iter().map(|operation| {
            Some(Command::Configure(Configure {
                operation: Some(operation),
            }))
        }));
        let targets = [
            (None, None),
            (None, Some(NeuronId { id: 9 })),
            (
                Some(NeuronIdOrSubaccount::NeuronId(NeuronId { id: 3 })),
                None,
            ),
            (
                Some(NeuronIdOrSubaccount::Subaccount(ByteBuf::from(vec![7; 32]))),
                Some(NeuronId { id: 5 }),
            ),
        ];
        let mut all = vec![];
        for command in &commands.collect::<Vec<_>>() {
            for (which, id) in &targets {
                all.push(ManageNeuronRequest {
                    neuron_id_or_subaccount: which.clone(),
                    command: command.clone(),
                    id: *id,
                });
            }
        }
        all
    }

    fn operations() -> Vec<Operation> {
        let key = Some(candid::Principal::anonymous());
        vec![
            Operation::IncreaseDissolveDelay(IncreaseDissolveDelay {
                additional_dissolve_delay_seconds: u32::MAX,
            }),
            Operation::SetDissolveTimestamp(SetDissolveTimestamp {
                dissolve_timestamp_seconds: 1 << 33,
            }),
            Operation::StartDissolving {},
            Operation::StopDissolving {},
            Operation::AddHotKey(AddHotKey { new_hot_key: key }),
            Operation::AddHotKey(AddHotKey { new_hot_key: None }),
            Operation::RemoveHotKey(RemoveHotKey {
                hot_key_to_remove: key,
            }),
            Operation::ChangeAutoStakeMaturity(ChangeAutoStakeMaturity {
                requested_setting_for_auto_stake_maturity: true,
            }),
            Operation::ChangeAutoStakeMaturity(ChangeAutoStakeMaturity {
                requested_setting_for_auto_stake_maturity: false,
            }),
        ]
    }

    #[test]
    fn frequent_commands_decode_fast_and_like_the_general_decoder() {
        for r in requests() {
            let bytes = candid::encode_one(&r).unwrap();
            assert!(header_len(&bytes).is_some());
            assert_eq!(fast(&bytes).as_ref(), Some(&r), "the fast path reads {r:?}");
            assert_eq!(decode_manage_neuron(bytes), r);
        }
    }

    #[test]
    fn other_commands_and_other_encodings_take_the_general_decoder() {
        let split = ManageNeuronRequest {
            neuron_id_or_subaccount: None,
            command: Some(Command::Split(Split {
                amount_e8s: 5,
                memo: None,
            })),
            id: Some(NeuronId { id: 1 }),
        };
        let bytes = candid::encode_one(&split).unwrap();
        assert_eq!(fast(&bytes), None);
        assert_eq!(decode_manage_neuron(bytes), split);
        // A client with a smaller type table (only what it uses).
        #[derive(CandidType)]
        struct Minimal {
            id: Option<NeuronId>,
        }
        let bytes = candid::encode_one(Minimal {
            id: Some(NeuronId { id: 4 }),
        })
        .unwrap();
        assert_eq!(fast(&bytes), None);
        let decoded = decode_manage_neuron(bytes);
        assert_eq!(decoded.id, Some(NeuronId { id: 4 }));
        assert_eq!(decoded.command, None);
    }
}
