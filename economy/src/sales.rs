//! Decentralization sales in the economy: projects ask the NNS to open a
//! sale of their token (a `CreateServiceNervousSystem` proposal the leader
//! makes and its followers adopt), the first matched by the Neurons' Fund
//! (some holders joined it), one with a minimum no one reaches; users buy
//! while a sale is open (some beyond a sale's maximum, which it refuses),
//! some pay after it closed and get their ICP back with
//! `error_refund_icp`; the sales finalize themselves. The figures come
//! from the sales, governance and the ledger.

use super::reconcile::Check;
use super::{E8S_PER_ICP, Economy, FEE_E8S};
use candid::{Encode, Principal};
use nns_api::AccountIdentifier;
use nns_api::governance::sns::{
    AddWasmRequest, CreateServiceNervousSystem, Duration as SnsDuration, InitialTokenDistribution,
    LedgerParameters, ListDeployedSnsesResponse, NeuronBasketConstructionParameters, SnsWasm,
    SwapDistribution, SwapParameters, Tokens, sns_canister_type,
};
use nns_api::governance::{ExecuteNnsFunction, ProposalActionRequest, nns_function};
use nns_api::ids::GOVERNANCE_CANISTER_ID;
use nns_api::swap::{
    Empty, ErrorRefundIcpRequest, ErrorRefundIcpResponse, GetDerivedStateResponse, GetInitResponse,
    GetLifecycleResponse, RefreshBuyerTokensRequest, RefreshBuyerTokensResponse, RefundResult,
};
use nns_harness::env::{query_candid, update_candid_as};

const OPEN: i32 = 2;
const COMMITTED: i32 = 3;
const ABORTED: i32 = 4;
/// At most this many sales in a run, one every four days from day 2, each
/// launched only if it can end before the run does.
const MAX_SALES: u32 = 3;

/// A project's sale, from its proposal on.
pub struct ProjectSale {
    pub proposal: u64,
    /// The project's treasury (its first fallback controller).
    pub treasury: Principal,
    pub neurons_fund: bool,
    /// Set once governance made it (read from `list_deployed_snses`).
    pub canister: Option<Principal>,
    pub late_payment: bool,
}

#[derive(Clone, Debug, Default)]
pub struct SaleActivity {
    pub launched: u64,
    pub participations: u64,
    pub refused_participations: u64,
    pub late_payments: u64,
    /// Participations beyond what the sale took (the rest refunded once
    /// the sale is over).
    pub over_maximum: u64,
    pub error_refunded_e8s: u64,
}

/// The sales' figures at the end, as the canisters report them.
#[derive(Clone, Debug, Default)]
pub struct SalesSummary {
    pub committed: u64,
    pub aborted: u64,
    pub open_or_pending: u64,
    /// ICP in the committed projects' treasuries.
    pub raised_e8s: u64,
    /// ICP given back by aborted sales (participations less fees) and by
    /// error refunds.
    pub refunded_e8s: u64,
    /// The Neurons' Fund's final participation in the committed sales.
    pub neurons_fund_e8s: u64,
}

fn tokens(e8s: u64) -> Option<Tokens> {
    Some(Tokens { e8s: Some(e8s) })
}

fn treasury(n: u32) -> Principal {
    Principal::from_slice(&[0x7e, n as u8, 0x5a, 0x01])
}

fn payment_account(sale: Principal, buyer: Principal) -> AccountIdentifier {
    AccountIdentifier::new(
        &sale,
        Some(&nns_api::account_identifier::principal_to_subaccount(
            &buyer,
        )),
    )
}

/// Project `n`'s sale: a third of its million tokens sold, the first
/// matched by the Fund, the second with a minimum no one reaches.
fn project(n: u32) -> CreateServiceNervousSystem {
    let fails = n == 1;
    CreateServiceNervousSystem {
        name: Some(format!("Project {n}")),
        description: Some("A project of the simulated economy".into()),
        url: Some("https://project.example".into()),
        fallback_controller_principal_ids: vec![treasury(n)],
        ledger_parameters: Some(LedgerParameters {
            transaction_fee: tokens(10_000),
            token_symbol: Some(format!("PRJ{n}")),
            token_name: Some(format!("Project {n} token")),
            token_logo: None,
        }),
        initial_token_distribution: Some(InitialTokenDistribution {
            treasury_distribution: Some(SwapDistribution {
                total: tokens(600_000 * E8S_PER_ICP),
            }),
            developer_distribution: None,
            swap_distribution: Some(SwapDistribution {
                total: tokens(400_000 * E8S_PER_ICP),
            }),
        }),
        swap_parameters: Some(SwapParameters {
            minimum_participants: Some(2),
            neurons_fund_participation: Some(n == 0),
            duration: Some(SnsDuration {
                seconds: Some(3 * super::DAY_SECONDS),
            }),
            neuron_basket_construction_parameters: Some(NeuronBasketConstructionParameters {
                dissolve_delay_interval: Some(SnsDuration {
                    seconds: Some(super::DAY_SECONDS),
                }),
                count: Some(3),
            }),
            minimum_direct_participation_icp: tokens(if fails {
                5_000_000 * E8S_PER_ICP
            } else {
                500 * E8S_PER_ICP
            }),
            maximum_direct_participation_icp: tokens(if fails {
                10_000_000 * E8S_PER_ICP
            } else {
                30_000 * E8S_PER_ICP
            }),
            minimum_participant_icp: tokens(10 * E8S_PER_ICP),
            maximum_participant_icp: tokens(5_000 * E8S_PER_ICP),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Economy {
    /// The sales' modules, by `AddSnsWasm` proposals of the leader (its
    /// followers adopt them; they execute on the first day's timers).
    pub(super) fn add_sale_modules(&mut self) -> Result<(), String> {
        use sha2::Digest;
        for (canister, canister_type) in [
            ("token-ledger", sns_canister_type::LEDGER),
            ("swap", sns_canister_type::SWAP),
        ] {
            let wasm = std::fs::read(nns_harness::wasm_gz_path(canister))
                .map_err(|e| format!("{canister}.wasm.gz: {e}"))?;
            let request = AddWasmRequest {
                hash: sha2::Sha256::digest(&wasm).to_vec().into(),
                wasm: Some(SnsWasm {
                    wasm: wasm.into(),
                    proposal_id: None,
                    canister_type,
                }),
            };
            let action = ProposalActionRequest::ExecuteNnsFunction(ExecuteNnsFunction {
                nns_function: nns_function::ADD_SNS_WASM,
                payload: Encode!(&request).unwrap().into(),
            });
            let leader = (self.leader, self.leader_neuron);
            self.propose(leader, action, &format!("Add the sales' {canister} module"))?;
        }
        Ok(())
    }

    /// A day of the sales: a new one proposed on its day, the canisters of
    /// those made found, buyers in the open ones, a late payment to each
    /// that is over (refunded at once).
    pub(super) fn sales_day(&mut self, day: u32) -> Result<(), String> {
        let n = self.sales.len() as u32;
        if n < MAX_SALES && day == 2 + 4 * n && day + 6 <= self.scenario.days {
            let leader = (self.leader, self.leader_neuron);
            let action = ProposalActionRequest::CreateServiceNervousSystem(Box::new(project(n)));
            let proposal = self.propose(leader, action, &format!("Sell a share of project {n}"))?;
            self.sales.push(ProjectSale {
                proposal,
                treasury: treasury(n),
                neurons_fund: n == 0,
                canister: None,
                late_payment: false,
            });
            self.sale_activity.launched += 1;
        }
        self.find_sale_canisters()?;
        for i in 0..self.sales.len() {
            let Some(sale) = self.sales[i].canister else {
                continue;
            };
            match self.lifecycle(sale)? {
                OPEN => self.buy(sale)?,
                COMMITTED | ABORTED if !self.sales[i].late_payment => {
                    self.sales[i].late_payment = true;
                    self.pay_late(sale)?;
                    self.refund_excess(sale)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Once `sale` is over and swept, what its over-the-maximum buyers put
    /// in beyond their participation comes back.
    fn refund_excess(&mut self, sale: Principal) -> Result<(), String> {
        let (over, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sales_over_maximum)
            .into_iter()
            .partition(|(s, _)| *s == sale);
        self.sales_over_maximum = rest;
        for (_, buyer) in over {
            let before = self.icp_balance(buyer)?;
            let request = ErrorRefundIcpRequest {
                source_principal_id: Some(buyer),
            };
            let (reply,): (ErrorRefundIcpResponse,) =
                update_candid_as(&mut self.env, sale, buyer, "error_refund_icp", (request,))
                    .map_err(|e| format!("error_refund_icp: {e}"))?;
            if let Some(RefundResult::Ok(_)) = reply.result {
                self.sale_activity.error_refunded_e8s += self.icp_balance(buyer)? - before;
            }
        }
        Ok(())
    }

    fn find_sale_canisters(&mut self) -> Result<(), String> {
        if self.sales.iter().all(|s| s.canister.is_some()) {
            return Ok(());
        }
        let (deployed,): (ListDeployedSnsesResponse,) = query_candid(
            &mut self.env,
            GOVERNANCE_CANISTER_ID,
            "list_deployed_snses",
            (Empty {},),
        )
        .map_err(|e| format!("list_deployed_snses: {e}"))?;
        for sale in deployed.instances.iter().filter_map(|d| d.swap_canister_id) {
            let (init,): (GetInitResponse,) =
                query_candid(&mut self.env, sale, "get_init", (Empty {},))
                    .map_err(|e| format!("get_init: {e}"))?;
            let proposal = init.init.and_then(|i| i.nns_proposal_id);
            if let Some(project) = self.sales.iter_mut().find(|s| Some(s.proposal) == proposal) {
                project.canister = Some(sale);
            }
        }
        Ok(())
    }

    fn lifecycle(&mut self, sale: Principal) -> Result<i32, String> {
        let (reply,): (GetLifecycleResponse,) =
            query_candid(&mut self.env, sale, "get_lifecycle", (Empty {},))
                .map_err(|e| format!("get_lifecycle: {e}"))?;
        Ok(reply.lifecycle.unwrap_or(0))
    }

    /// A buyer: one of the accounts that hold enough ICP to take part
    /// (the largest ones; the accounts are ordered by balance). Drawn from
    /// all accounts, at a million accounts almost none could pay a
    /// participation and every sale would abort for want of participants.
    fn sale_buyer(&mut self) -> Principal {
        const RICHEST: u64 = 2_000;
        let candidates = (self.users.len() as u64 - 1).min(RICHEST);
        self.users[self.rng.between(1, candidates) as usize]
    }

    /// A few users pay into their account of the sale and refresh; a
    /// participation beyond what the sale still takes is refused (the
    /// payment stays, refundable once the sale is over).
    fn buy(&mut self, sale: Principal) -> Result<(), String> {
        let buyers = self.rng.between(1, 3);
        for _ in 0..buyers {
            let buyer = self.sale_buyer();
            // One in five puts in more than a participant may (5 000 ICP):
            // the sale takes its maximum, the rest is refunded after.
            let e8s = if self.rng.chance(20) {
                6_000 * E8S_PER_ICP
            } else {
                self.rng.between(10, 3_000) * E8S_PER_ICP
            };
            if self
                .legacy_transfer(buyer, payment_account(sale, buyer), e8s, 0)
                .is_err()
            {
                continue;
            }
            let request = RefreshBuyerTokensRequest {
                buyer: String::new(),
                confirmation_text: None,
            };
            let refreshed: Result<(RefreshBuyerTokensResponse,), _> = update_candid_as(
                &mut self.env,
                sale,
                buyer,
                "refresh_buyer_tokens",
                (request,),
            );
            match refreshed {
                Ok((reply,)) => {
                    self.sale_activity.participations += 1;
                    if reply.icp_ledger_account_balance_e8s > reply.icp_accepted_participation_e8s {
                        self.sale_activity.over_maximum += 1;
                        self.sales_over_maximum.push((sale, buyer));
                    }
                }
                Err(_) => self.sale_activity.refused_participations += 1,
            }
        }
        Ok(())
    }

    /// A user pays after the sale closed; the refresh is refused and the
    /// payment comes back through `error_refund_icp`, less the fee.
    fn pay_late(&mut self, sale: Principal) -> Result<(), String> {
        let late = self.sale_buyer();
        let e8s = 20 * E8S_PER_ICP;
        if self
            .legacy_transfer(late, payment_account(sale, late), e8s, 0)
            .is_err()
        {
            return Ok(());
        }
        self.sale_activity.late_payments += 1;
        let request = RefreshBuyerTokensRequest {
            buyer: String::new(),
            confirmation_text: None,
        };
        let refused: Result<(RefreshBuyerTokensResponse,), _> = update_candid_as(
            &mut self.env,
            sale,
            late,
            "refresh_buyer_tokens",
            (request,),
        );
        if refused.is_ok() {
            return Err("a sale that is over took a participation".into());
        }
        let before = self.icp_balance(late)?;
        let request = ErrorRefundIcpRequest {
            source_principal_id: Some(late),
        };
        let (reply,): (ErrorRefundIcpResponse,) =
            update_candid_as(&mut self.env, sale, late, "error_refund_icp", (request,))
                .map_err(|e| format!("error_refund_icp: {e}"))?;
        match reply.result {
            Some(RefundResult::Ok(_)) => {
                // With what the payer put in beyond a participation, if any.
                let refunded = self.icp_balance(late)? - before;
                if refunded < e8s - FEE_E8S {
                    return Err(format!(
                        "a late payment of {e8s} e8s came back as {refunded}"
                    ));
                }
                self.sale_activity.error_refunded_e8s += refunded;
                Ok(())
            }
            other => Err(format!("a late payment was not refunded: {other:?}")),
        }
    }

    fn icp_balance(&mut self, owner: Principal) -> Result<u64, String> {
        let (balance,): (candid::Nat,) = query_candid(
            &mut self.env,
            nns_api::ids::LEDGER_CANISTER_ID,
            "icrc1_balance_of",
            (icrc_ledger_types::icrc1::account::Account::from(owner),),
        )
        .map_err(|e| format!("icrc1_balance_of: {e}"))?;
        u64::try_from(&balance.0).map_err(|e| e.to_string())
    }

    /// The sales' figures, with one check per finished sale: its
    /// treasury holds what the sale says it raised (each participation
    /// less the fee, and the Fund's ICP) — nothing if it aborted.
    pub fn sales_summary(&mut self) -> Result<(SalesSummary, Vec<Check>), String> {
        let mut summary = SalesSummary {
            refunded_e8s: self.sale_activity.error_refunded_e8s,
            ..SalesSummary::default()
        };
        let mut checks = Vec::new();
        for i in 0..self.sales.len() {
            let (treasury, canister) = (self.sales[i].treasury, self.sales[i].canister);
            let Some(sale) = canister else {
                summary.open_or_pending += 1;
                continue;
            };
            let lifecycle = self.lifecycle(sale)?;
            let (derived,): (GetDerivedStateResponse,) =
                query_candid(&mut self.env, sale, "get_derived_state", (Empty {},))
                    .map_err(|e| format!("get_derived_state: {e}"))?;
            let direct = derived.direct_participation_icp_e8s.unwrap_or(0);
            let participants = derived.direct_participant_count.unwrap_or(0);
            let fund = derived.neurons_fund_participation_icp_e8s.unwrap_or(0);
            let held = self.icp_balance(treasury)?;
            match lifecycle {
                COMMITTED => {
                    summary.committed += 1;
                    summary.raised_e8s += held;
                    summary.neurons_fund_e8s += fund;
                    checks.push(Check::new(
                        &format!(
                            "sale {}: treasury ICP = participations less fees + the Fund's",
                            i
                        ),
                        held,
                        direct - participants * FEE_E8S + fund,
                    ));
                }
                ABORTED => {
                    summary.aborted += 1;
                    summary.refunded_e8s += direct.saturating_sub(participants * FEE_E8S);
                    checks.push(Check::new(
                        &format!("sale {i}: an aborted sale's treasury holds nothing"),
                        held,
                        0u64,
                    ));
                }
                _ => summary.open_or_pending += 1,
            }
        }
        Ok((summary, checks))
    }
}
