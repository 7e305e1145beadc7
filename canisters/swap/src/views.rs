//! Between the swap's Candid types and the sale: the install argument read
//! into the sale's rules, and the sale's state shown as the swap shows it.

use crate::lifecycle::Terms;
use crate::participation::Bounds;
use crate::sale::{Buyer, Rules, Sale, Sweep, Ticket, TicketError, buyer_subaccount};
use candid::Principal;
use ic_stable_structures::Memory;
use nns_api::swap::{
    BuyerState, DirectInvestment, GetDerivedStateResponse, GetLifecycleResponse, Icrc1Account,
    Init, InvalidUserAmount, Investor, NeuronAttributes, NeuronBasketConstructionParameters,
    NewSaleTicketErr, Params, SnsNeuronRecipe, TransferableAmount,
};

/// The sale's rules from the swap's install argument; the fields a sale
/// made by an NNS proposal always has are required.
pub fn rules_of(init: &Init) -> Result<Rules, String> {
    fn required<T: Copy>(value: Option<T>, name: &str) -> Result<T, String> {
        value.ok_or_else(|| format!("Init.{name} is required"))
    }
    let basket = init
        .neuron_basket_construction_parameters
        .as_ref()
        .ok_or("Init.neuron_basket_construction_parameters is required")?;
    required(init.transaction_fee_e8s, "transaction_fee_e8s")?;
    let max_direct_e8s = required(
        init.max_direct_participation_icp_e8s,
        "max_direct_participation_icp_e8s",
    )?;
    if init.min_icp_e8s.is_some() || init.max_icp_e8s.is_some() {
        return Err("Init.min_icp_e8s and Init.max_icp_e8s are obsolete and must be unset".into());
    }
    for id in [
        &init.nns_governance_canister_id,
        &init.icp_ledger_canister_id,
        &init.sns_ledger_canister_id,
        &init.sns_governance_canister_id,
    ] {
        Principal::from_text(id).map_err(|e| format!("Init: canister id {id:?}: {e}"))?;
    }
    let rules = Rules {
        terms: Terms {
            open_at_seconds: required(
                init.swap_start_timestamp_seconds,
                "swap_start_timestamp_seconds",
            )?,
            due_at_seconds: required(
                init.swap_due_timestamp_seconds,
                "swap_due_timestamp_seconds",
            )?,
            min_participants: required(init.min_participants, "min_participants")?,
            min_direct_e8s: required(
                init.min_direct_participation_icp_e8s,
                "min_direct_participation_icp_e8s",
            )?,
            max_direct_e8s,
        },
        bounds: Bounds {
            min_participant_e8s: required(init.min_participant_icp_e8s, "min_participant_icp_e8s")?,
            max_participant_e8s: required(init.max_participant_icp_e8s, "max_participant_icp_e8s")?,
            max_direct_e8s,
        },
        basket_count: basket.count,
        basket_interval_seconds: basket.dissolve_delay_interval_seconds,
        tokens_e8s: required(init.sns_token_e8s, "sns_token_e8s")?,
        confirmation_text: init.confirmation_text.clone(),
    };
    rules.validate()?;
    Ok(rules)
}

/// The project's treasury, where a committed sale's ICP goes: the sale's
/// `sns_governance_canister_id` (the project has no SNS governance; the
/// proposal that opens the sale names the treasury there).
pub fn treasury(init: &Init) -> Result<Principal, String> {
    Principal::from_text(&init.sns_governance_canister_id)
        .map_err(|e| format!("Init.sns_governance_canister_id (the treasury): {e}"))
}

/// A participant as `get_buyer_state` shows them: the ICP accepted, and
/// the sweep's progress.
pub fn buyer_state(buyer: &Buyer) -> BuyerState {
    let (transferred, fee, started, succeeded) = match buyer.icp {
        Sweep::Done { at_seconds, .. } => (
            Some(buyer.accepted_e8s - crate::sale::ICP_FEE_E8S),
            Some(crate::sale::ICP_FEE_E8S),
            at_seconds,
            at_seconds,
        ),
        Sweep::InFlight { created_at_nanos } => {
            (Some(0), Some(0), created_at_nanos / 1_000_000_000, 0)
        }
        Sweep::Pending => (Some(0), Some(0), 0, 0),
    };
    BuyerState {
        icp: Some(TransferableAmount {
            amount_e8s: buyer.accepted_e8s,
            transfer_start_timestamp_seconds: started,
            transfer_success_timestamp_seconds: succeeded,
            amount_transferred_e8s: transferred,
            transfer_fee_paid_e8s: fee,
        }),
        has_created_neuron_recipes: Some(false),
    }
}

/// A ticket as the swap shows it: the buyer's account of the sale.
pub fn ticket(owner: Principal, ticket: &Ticket) -> nns_api::swap::Ticket {
    nns_api::swap::Ticket {
        creation_time: ticket.creation_time_nanos,
        ticket_id: ticket.ticket_id,
        account: Some(Icrc1Account {
            owner: Some(owner),
            subaccount: ticket
                .subaccount
                .map(|s| serde_bytes::ByteBuf::from(s.to_vec())),
        }),
        amount_icp_e8s: ticket.amount_e8s,
    }
}

/// `new_sale_ticket`'s error record.
pub fn ticket_error(owner: Principal, error: &TicketError) -> NewSaleTicketErr {
    NewSaleTicketErr {
        error_type: error.code(),
        invalid_user_amount: match error {
            TicketError::InvalidUserAmount(range) => Some(InvalidUserAmount {
                min_amount_icp_e8s_included: range.min_e8s,
                max_amount_icp_e8s_included: range.max_e8s,
            }),
            _ => None,
        },
        existing_ticket: match error {
            TicketError::TicketExists(existing) => Some(ticket(owner, existing)),
            _ => None,
        },
    }
}

pub fn lifecycle<M: Memory>(sale: &Sale<M>) -> GetLifecycleResponse {
    let progress = sale.progress();
    GetLifecycleResponse {
        lifecycle: Some(progress.lifecycle as i32),
        decentralization_sale_open_timestamp_seconds: Some(sale.rules().terms.open_at_seconds),
        decentralization_swap_termination_timestamp_seconds: (progress.ended_at_seconds > 0)
            .then_some(progress.ended_at_seconds),
    }
}

pub fn derived_state<M: Memory>(sale: &Sale<M>) -> GetDerivedStateResponse {
    let progress = sale.progress();
    let total = progress
        .direct_e8s
        .saturating_add(progress.neurons_fund_e8s);
    GetDerivedStateResponse {
        buyer_total_icp_e8s: Some(total),
        direct_participant_count: Some(sale.standing().participants),
        direct_participation_icp_e8s: Some(progress.direct_e8s),
        neurons_fund_participation_icp_e8s: Some(progress.neurons_fund_e8s),
        cf_participant_count: Some(0),
        cf_neuron_count: Some(0),
        sns_tokens_per_icp: Some(if total == 0 {
            0.0
        } else {
            sale.rules().tokens_e8s as f64 / total as f64
        }),
    }
}

/// The settlement step's answer in `finalize_swap`: the Fund's final
/// participation and its neurons.
pub fn settled(
    total_e8s: u64,
    (_, neurons): (u64, u64),
) -> nns_api::swap::SettleNeuronsFundParticipationResult {
    use nns_api::swap::{SettleNeuronsFundParticipationResult, SettlePossibility, SettledOk};
    SettleNeuronsFundParticipationResult {
        possibility: Some(SettlePossibility::Ok(SettledOk {
            neurons_fund_participation_icp_e8s: Some(total_e8s),
            neurons_fund_neurons_count: Some(neurons),
        })),
    }
}

pub fn settle_failed(message: &str) -> nns_api::swap::SettleNeuronsFundParticipationResult {
    use nns_api::swap::{SettleError, SettleNeuronsFundParticipationResult, SettlePossibility};
    SettleNeuronsFundParticipationResult {
        possibility: Some(SettlePossibility::Err(SettleError {
            message: Some(message.into()),
        })),
    }
}

/// `get_state`'s derived part: as `get_derived_state`, the price in 32
/// bits as the swap gives it there.
pub fn derived<M: Memory>(sale: &Sale<M>) -> nns_api::swap::DerivedState {
    let d = derived_state(sale);
    nns_api::swap::DerivedState {
        sns_tokens_per_icp: d.sns_tokens_per_icp.unwrap_or(0.0) as f32,
        buyer_total_icp_e8s: d.buyer_total_icp_e8s.unwrap_or(0),
        cf_participant_count: d.cf_participant_count,
        neurons_fund_participation_icp_e8s: d.neurons_fund_participation_icp_e8s,
        direct_participation_icp_e8s: d.direct_participation_icp_e8s,
        direct_participant_count: d.direct_participant_count,
        cf_neuron_count: d.cf_neuron_count,
    }
}

/// The most participants (and their recipes) `get_state` shows: the swap
/// shows every one, which no reply holds for a large sale; the rest are
/// paged by `list_direct_participants` and `list_sns_neuron_recipes`.
pub const GET_STATE_MAX_BUYERS: usize = 1_000;

/// What `get_state` shows besides the sale's own state: the install
/// argument, the lock, the automatic finalization's attempt and answer.
pub struct Context {
    pub init: Init,
    pub finalizing: bool,
    pub auto_attempted: bool,
    pub auto_response: Option<nns_api::swap::FinalizeSwapResponse>,
}

/// `get_state`: the sale as the swap's `Swap` record (the first
/// `GET_STATE_MAX_BUYERS` participants) and its derived state.
pub fn state<M: Memory>(sale: &Sale<M>, context: Context) -> nns_api::swap::GetStateResponse {
    let progress = sale.progress();
    let life = lifecycle(sale);
    let buyers = sale.participants(0, GET_STATE_MAX_BUYERS);
    let fee = context.init.transaction_fee_e8s.unwrap_or(0);
    let recipes_shown = GET_STATE_MAX_BUYERS * sale.rules().basket_count as usize;
    nns_api::swap::GetStateResponse {
        swap: Some(nns_api::swap::Swap {
            lifecycle: progress.lifecycle as i32,
            init: Some(context.init.clone()),
            params: Some(sale_parameters(sale.rules())),
            buyers: buyers
                .iter()
                .map(|(principal, buyer)| (principal.to_text(), buyer_state(buyer)))
                .collect(),
            neuron_recipes: neuron_recipes(sale, fee, 0, recipes_shown),
            cf_participants: Vec::new(),
            next_ticket_id: Some(progress.next_ticket_id),
            decentralization_sale_open_timestamp_seconds: life
                .decentralization_sale_open_timestamp_seconds,
            decentralization_swap_termination_timestamp_seconds: life
                .decentralization_swap_termination_timestamp_seconds,
            finalize_swap_in_progress: Some(context.finalizing),
            already_tried_to_auto_finalize: Some(context.auto_attempted),
            auto_finalize_swap_response: context.auto_response,
            neurons_fund_participation_icp_e8s: Some(progress.neurons_fund_e8s),
            direct_participation_icp_e8s: Some(progress.direct_e8s),
            open_sns_token_swap_proposal_id: context.init.nns_proposal_id,
        }),
        derived: Some(derived(sale)),
    }
}

/// `get_sale_parameters`: the sale's rules as the swap's `Params` (the
/// obsolete totals equal the direct participation's bounds: the Neurons'
/// Fund takes no part yet).
pub fn sale_parameters(rules: &Rules) -> Params {
    Params {
        min_participant_icp_e8s: rules.bounds.min_participant_e8s,
        max_participant_icp_e8s: rules.bounds.max_participant_e8s,
        neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
            count: rules.basket_count,
            dissolve_delay_interval_seconds: rules.basket_interval_seconds,
        }),
        min_icp_e8s: rules.terms.min_direct_e8s,
        max_icp_e8s: rules.terms.max_direct_e8s,
        min_direct_participation_icp_e8s: Some(rules.terms.min_direct_e8s),
        max_direct_participation_icp_e8s: Some(rules.terms.max_direct_e8s),
        swap_due_timestamp_seconds: rules.terms.due_at_seconds,
        min_participants: rules.terms.min_participants,
        sns_token_e8s: rules.tokens_e8s,
        sale_delay_seconds: None,
    }
}

/// `list_sns_neuron_recipes`: once the token shares are fixed, each
/// participant's basket neurons in order, then each Neurons' Fund neuron's
/// (by NNS neuron id), `limit` of them from the `offset`-th.
pub fn neuron_recipes<M: Memory>(
    sale: &Sale<M>,
    token_fee_e8s: u64,
    offset: u64,
    limit: usize,
) -> Vec<SnsNeuronRecipe> {
    if !sale.progress().shares_fixed || limit == 0 {
        return Vec::new();
    }
    let count = sale.rules().basket_count.max(1);
    let mut recipes = Vec::new();
    // The participants' baskets first, then the Fund neurons'.
    let direct_recipes = sale.standing().participants.saturating_mul(count);
    if offset < direct_recipes {
        let mut skip = offset % count;
        for (principal, buyer) in
            sale.participants(offset / count, limit.div_ceil(count as usize) + 1)
        {
            let investor = Investor::Direct(DirectInvestment {
                buyer_principal: principal.to_text(),
            });
            let basket = sale.basket_of(&buyer);
            let bits = buyer.release_bits();
            if page_into(
                &mut recipes,
                &mut skip,
                limit,
                basket_recipes(&basket, &bits, token_fee_e8s, &investor),
            ) {
                return recipes;
            }
        }
    }
    let fund_offset = offset.saturating_sub(direct_recipes);
    let mut skip = fund_offset % count;
    let first = usize::try_from(fund_offset / count).unwrap_or(usize::MAX);
    let wanted = first.saturating_add(limit.div_ceil(count as usize) + 1);
    for (id, neuron) in sale.fund_neurons(0, wanted).into_iter().skip(first) {
        if recipes.len() == limit {
            break;
        }
        let investor = Investor::CommunityFund(nns_api::swap::CfInvestment {
            controller: Some(neuron.controller),
            hotkey_principal: neuron.controller.to_text(),
            hotkeys: None,
            nns_neuron_id: id,
        });
        let basket = sale.fund_basket(&neuron);
        if page_into(
            &mut recipes,
            &mut skip,
            limit,
            basket_recipes(&basket, &neuron.bits, token_fee_e8s, &investor),
        ) {
            return recipes;
        }
    }
    recipes
}

/// Appends `items` to `page` after skipping `skip` of them, up to `limit`;
/// true once the page is full.
fn page_into<T>(page: &mut Vec<T>, skip: &mut u64, limit: usize, items: Vec<T>) -> bool {
    for item in items {
        if *skip > 0 {
            *skip -= 1;
            continue;
        }
        if page.len() == limit {
            return true;
        }
        page.push(item);
    }
    false
}

/// A basket's recipes: each neuron's tokens, transferred (less the fee)
/// once released; Success once released, Failed when its release can no
/// longer be learnt, Pending before.
fn basket_recipes(
    basket: &[crate::basket::BasketNeuron],
    bits: &crate::releases::ReleaseBits,
    token_fee_e8s: u64,
    investor: &Investor,
) -> Vec<SnsNeuronRecipe> {
    basket
        .iter()
        .enumerate()
        .map(|(neuron, part)| {
            let released = bits.released & (1 << neuron) != 0;
            let unresolved = bits.unresolved & (1 << neuron) != 0;
            let fee_paid = if released && part.amount_e8s > token_fee_e8s {
                token_fee_e8s
            } else {
                0
            };
            SnsNeuronRecipe {
                sns: Some(TransferableAmount {
                    amount_e8s: part.amount_e8s,
                    amount_transferred_e8s: Some(if released {
                        part.amount_e8s - fee_paid
                    } else {
                        0
                    }),
                    transfer_fee_paid_e8s: Some(fee_paid),
                    transfer_start_timestamp_seconds: 0,
                    transfer_success_timestamp_seconds: 0,
                }),
                claimed_status: Some(if released {
                    2
                } else if unresolved {
                    3
                } else {
                    1
                }),
                neuron_attributes: Some(NeuronAttributes {
                    dissolve_delay_seconds: part.dissolve_delay_seconds,
                    memo: crate::sale::NEURON_BASKET_MEMO_START + neuron as u64,
                    followees: Vec::new(),
                }),
                investor: Some(investor.clone()),
            }
        })
        .collect()
}

/// The ICP ledger account where `buyer` pays: the sale's, with the
/// buyer's subaccount.
pub fn payment_account(sale_id: Principal, buyer: &Principal) -> nns_api::AccountIdentifier {
    nns_api::AccountIdentifier::new(&sale_id, Some(&buyer_subaccount(buyer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICP: u64 = 100_000_000;

    pub fn init() -> Init {
        Init {
            nns_governance_canister_id: "rrkah-fqaaa-aaaaa-aaaaq-cai".into(),
            icp_ledger_canister_id: "ryjl3-tyaaa-aaaaa-aaaba-cai".into(),
            sns_ledger_canister_id: "aaaaa-aa".into(),
            transaction_fee_e8s: Some(10_000),
            sns_governance_canister_id: "aaaaa-aa".into(),
            swap_start_timestamp_seconds: Some(100),
            swap_due_timestamp_seconds: Some(1_000),
            min_participants: Some(2),
            min_direct_participation_icp_e8s: Some(50 * ICP),
            max_direct_participation_icp_e8s: Some(300 * ICP),
            min_participant_icp_e8s: Some(ICP),
            max_participant_icp_e8s: Some(120 * ICP),
            sns_token_e8s: Some(1_000_000 * ICP),
            neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
                count: 3,
                dissolve_delay_interval_seconds: 100,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn an_nns_made_init_reads_into_valid_rules() {
        let rules = rules_of(&init()).unwrap();
        assert_eq!(rules.terms.max_direct_e8s, 300 * ICP);
        assert_eq!(rules.bounds.max_direct_e8s, 300 * ICP);
        assert_eq!(rules.basket_count, 3);
    }

    #[test]
    fn a_missing_or_obsolete_field_is_refused_by_name() {
        let error = rules_of(&Init {
            sns_token_e8s: None,
            ..init()
        })
        .unwrap_err();
        assert!(error.contains("sns_token_e8s"), "{error}");
        let error = rules_of(&Init {
            max_icp_e8s: Some(5),
            ..init()
        })
        .unwrap_err();
        assert!(error.contains("obsolete"), "{error}");
        let error = rules_of(&Init {
            icp_ledger_canister_id: "nope".into(),
            ..init()
        })
        .unwrap_err();
        assert!(error.contains("canister id"), "{error}");
        let basket = NeuronBasketConstructionParameters {
            count: 1,
            dissolve_delay_interval_seconds: 1,
        };
        let error = rules_of(&Init {
            neuron_basket_construction_parameters: Some(basket),
            ..init()
        })
        .unwrap_err();
        assert!(error.contains("basket"), "{error}");
    }
}
